//! The blocks of one write group: one per (tenant, series, bucket), split only when a block
//! would exceed the KV value limit.

use std::collections::BTreeMap;

use tidemark_storage::block::{Block, Column, MAX_BLOCK_BYTES};
use tidemark_storage::tsdb::{Layout, SeriesId, TenantId, absent_column, bucket_start, push_value};
use tidemark_storage::{AtomicOp, KvTransaction};

use crate::lp::Point;

#[derive(Debug, Default)]
pub(super) struct GroupBlocks {
    blocks: BTreeMap<(TenantId, SeriesId, i64), Block>,
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
                    values: absent_column(value, rows),
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
            push_value(&mut column.values, value);
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
