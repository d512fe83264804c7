//! The blocks of one write group: one per (tenant, series, bucket), split only when a block
//! would exceed the KV value limit.

use std::collections::BTreeMap;

use tidemark_storage::block::{Block, Column, ColumnValues, MAX_BLOCK_BYTES};
use tidemark_storage::tsdb::{DataPoint, Layout, SeriesId, TenantId, bucket_start};
use tidemark_storage::{AtomicOp, KvTransaction};

use crate::lp::Point;

#[derive(Debug, Default)]
pub(super) struct GroupBlocks {
    blocks: BTreeMap<(TenantId, SeriesId, i64), Block>,
}

fn empty_column(value: &DataPoint, rows: usize) -> ColumnValues {
    match value {
        DataPoint::F64(_) => ColumnValues::F64(vec![None; rows]),
        DataPoint::I64(_) => ColumnValues::I64(vec![None; rows]),
        DataPoint::U64(_) => ColumnValues::U64(vec![None; rows]),
        DataPoint::Bool(_) => ColumnValues::Bool(vec![None; rows]),
        DataPoint::Str(_) => ColumnValues::Str(vec![None; rows]),
    }
}

/// Appends `value` (or an absent value) to a column; the catalog check guarantees the type.
fn push(column: &mut ColumnValues, value: Option<&DataPoint>) {
    match (column, value) {
        (ColumnValues::F64(v), Some(DataPoint::F64(x))) => v.push(Some(*x)),
        (ColumnValues::I64(v), Some(DataPoint::I64(x))) => v.push(Some(*x)),
        (ColumnValues::U64(v), Some(DataPoint::U64(x))) => v.push(Some(*x)),
        (ColumnValues::Bool(v), Some(DataPoint::Bool(x))) => v.push(Some(*x)),
        (ColumnValues::Str(v), Some(DataPoint::Str(x))) => v.push(Some(x.clone())),
        (ColumnValues::F64(v), _) => v.push(None),
        (ColumnValues::I64(v), _) => v.push(None),
        (ColumnValues::U64(v), _) => v.push(None),
        (ColumnValues::Bool(v), _) => v.push(None),
        (ColumnValues::Str(v), _) => v.push(None),
    }
}

impl GroupBlocks {
    /// Adds a point's row to its series' block.
    pub(super) fn append(&mut self, tenant: TenantId, series: SeriesId, point: &Point) {
        let block = self
            .blocks
            .entry((tenant, series, bucket_start(point.time)))
            .or_default();
        let rows = block.rows();
        for (name, value) in &point.fields {
            if !block.columns.iter().any(|column| &column.name == name) {
                block.columns.push(Column {
                    name: name.clone(),
                    values: empty_column(value, rows),
                });
            }
        }
        block.timestamps.push(point.time);
        for column in &mut block.columns {
            let value = point
                .fields
                .iter()
                .find(|(name, _)| name == &column.name)
                .map(|(_, value)| value);
            push(&mut column.values, value);
        }
    }

    /// Writes every block as a blind, versionstamped key, and marks its bucket for compaction.
    pub(super) fn write<T: KvTransaction>(&self, tx: &T, layout: &Layout) {
        for ((tenant, series, bucket), block) in &self.blocks {
            tx.set(&layout.dirty(*tenant, *bucket, *series), b"");
            for (part, bytes) in block.encode_parts(MAX_BLOCK_BYTES).iter().enumerate() {
                let key = layout.data_stamped(*tenant, *series, *bucket, part as u16);
                tx.atomic_op(&key, bytes, AtomicOp::SetVersionstampedKey);
            }
        }
    }
}
