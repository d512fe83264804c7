//! The blocks of one write group: one per (tenant, series, bucket), split only when a block
//! would exceed the KV value limit.

use std::collections::BTreeMap;

use tidemark_storage::block::{Block, Column, ColumnValues};
use tidemark_storage::keys::MAX_VALUE_BYTES;
use tidemark_storage::tsdb::{DataPoint, Layout, SeriesId, TenantId, bucket_start};
use tidemark_storage::{AtomicOp, KvTransaction};

use crate::lp::Point;

/// Encoded blocks stay below this, leaving room under FDB's 100,000-byte value limit.
const MAX_BLOCK_BYTES: usize = MAX_VALUE_BYTES - 10_000;

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

fn slice(block: &Block, rows: std::ops::Range<usize>) -> Block {
    let columns = block
        .columns
        .iter()
        .map(|column| {
            let values = match &column.values {
                ColumnValues::F64(v) => ColumnValues::F64(v[rows.clone()].to_vec()),
                ColumnValues::I64(v) => ColumnValues::I64(v[rows.clone()].to_vec()),
                ColumnValues::U64(v) => ColumnValues::U64(v[rows.clone()].to_vec()),
                ColumnValues::Bool(v) => ColumnValues::Bool(v[rows.clone()].to_vec()),
                ColumnValues::Str(v) => ColumnValues::Str(v[rows.clone()].to_vec()),
            };
            Column {
                name: column.name.clone(),
                values,
            }
        })
        .collect();
    Block {
        timestamps: block.timestamps[rows].to_vec(),
        columns,
    }
}

/// Encodes a block, halving it until every part fits a value.
fn encode_parts(block: &Block, parts: &mut Vec<Vec<u8>>) {
    let encoded = block.encode();
    if encoded.len() <= MAX_BLOCK_BYTES || block.rows() <= 1 {
        parts.push(encoded);
        return;
    }
    let middle = block.rows() / 2;
    encode_parts(&slice(block, 0..middle), parts);
    encode_parts(&slice(block, middle..block.rows()), parts);
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

    /// Writes every block as a blind, versionstamped key.
    pub(super) fn write<T: KvTransaction>(&self, tx: &T, layout: &Layout) {
        for ((tenant, series, bucket), block) in &self.blocks {
            let mut parts = Vec::new();
            encode_parts(block, &mut parts);
            for (part, bytes) in parts.iter().enumerate() {
                let key = layout.data_stamped(*tenant, *series, *bucket, part as u16);
                tx.atomic_op(&key, bytes, AtomicOp::SetVersionstampedKey);
            }
        }
    }
}
