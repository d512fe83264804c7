//! Data blocks of a series: where they go, and reading them back under the dedup rule.

use std::collections::BTreeMap;

use super::{Layout, SeriesId, TenantId};
use crate::block::{Block, Column, ColumnValues};
use crate::error::{KvError, KvResult};
use crate::kv::{KvTransaction, RangeRequest, StreamingMode};

/// Width of a data bucket: blocks of one series are keyed by the hour they start in.
pub const BUCKET_NANOS: i64 = 3_600_000_000_000;

/// The wall clock in nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as i64)
}

/// The start of the bucket holding `time`. The lowest bucket saturates at `i64::MIN` (its true
/// start is below the representable range); the function stays monotonic.
pub fn bucket_start(time: i64) -> i64 {
    time.div_euclid(BUCKET_NANOS).saturating_mul(BUCKET_NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_whole_timestamp_range() {
        assert_eq!(bucket_start(0), 0);
        assert_eq!(bucket_start(BUCKET_NANOS + 5), BUCKET_NANOS);
        assert_eq!(bucket_start(-1), -BUCKET_NANOS);
        assert_eq!(bucket_start(i64::MIN), i64::MIN);
        assert_eq!(bucket_start(i64::MAX), i64::MAX - i64::MAX % BUCKET_NANOS);
        assert!(bucket_start(i64::MIN + BUCKET_NANOS * 2) > i64::MIN);
    }
}

/// One field value of one point.
#[derive(Debug, Clone, PartialEq)]
pub enum DataPoint {
    /// Float.
    F64(f64),
    /// Integer.
    I64(i64),
    /// Unsigned integer.
    U64(u64),
    /// Boolean.
    Bool(bool),
    /// String.
    Str(String),
}

fn value_at(values: &ColumnValues, row: usize) -> Option<DataPoint> {
    match values {
        ColumnValues::F64(v) => v[row].map(DataPoint::F64),
        ColumnValues::I64(v) => v[row].map(DataPoint::I64),
        ColumnValues::U64(v) => v[row].map(DataPoint::U64),
        ColumnValues::Bool(v) => v[row].map(DataPoint::Bool),
        ColumnValues::Str(v) => v[row].clone().map(DataPoint::Str),
    }
}

/// A column of `rows` absent values of the type of `value`.
pub fn absent_column(value: &DataPoint, rows: usize) -> ColumnValues {
    match value {
        DataPoint::F64(_) => ColumnValues::F64(vec![None; rows]),
        DataPoint::I64(_) => ColumnValues::I64(vec![None; rows]),
        DataPoint::U64(_) => ColumnValues::U64(vec![None; rows]),
        DataPoint::Bool(_) => ColumnValues::Bool(vec![None; rows]),
        DataPoint::Str(_) => ColumnValues::Str(vec![None; rows]),
    }
}

fn empty_like(values: &ColumnValues) -> ColumnValues {
    match values {
        ColumnValues::F64(_) => ColumnValues::F64(Vec::new()),
        ColumnValues::I64(_) => ColumnValues::I64(Vec::new()),
        ColumnValues::U64(_) => ColumnValues::U64(Vec::new()),
        ColumnValues::Bool(_) => ColumnValues::Bool(Vec::new()),
        ColumnValues::Str(_) => ColumnValues::Str(Vec::new()),
    }
}

/// Appends `value` to a column, or an absent value when it is `None` or of another type (the
/// catalog keeps a field's type fixed, so that does not happen for stored data).
pub fn push_value(values: &mut ColumnValues, value: Option<&DataPoint>) {
    match (values, value) {
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

/// Merges blocks in write order under the dedup rule: one value per (field, time), the latest
/// write wins. The result is sorted by time.
pub fn merge_blocks(blocks: impl IntoIterator<Item = Block>, start: i64, end: i64) -> Block {
    let mut rows: BTreeMap<i64, BTreeMap<String, DataPoint>> = BTreeMap::new();
    let mut shapes: BTreeMap<String, ColumnValues> = BTreeMap::new();
    for block in blocks {
        for column in &block.columns {
            shapes
                .entry(column.name.clone())
                .or_insert_with(|| empty_like(&column.values));
        }
        for (row, time) in block.timestamps.iter().enumerate() {
            if *time < start || *time > end {
                continue;
            }
            let fields = rows.entry(*time).or_default();
            for column in &block.columns {
                if let Some(value) = value_at(&column.values, row) {
                    fields.insert(column.name.clone(), value);
                }
            }
        }
    }
    let mut columns: Vec<Column> = shapes
        .into_iter()
        .map(|(name, values)| Column { name, values })
        .collect();
    let mut timestamps = Vec::with_capacity(rows.len());
    for (time, fields) in rows {
        timestamps.push(time);
        for column in &mut columns {
            push_value(&mut column.values, fields.get(&column.name));
        }
    }
    Block {
        timestamps,
        columns,
    }
}

/// Reads a series' points with `start <= time <= end` in one transaction, deduplicated.
pub async fn read_series<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    tenant: TenantId,
    series: SeriesId,
    start: i64,
    end: i64,
) -> KvResult<Block> {
    let (begin, stop) = layout.data_range(tenant, series, bucket_start(start), bucket_start(end));
    let request = RangeRequest::new(begin, stop).mode(StreamingMode::WantAll);
    let rows = tx.get_range_all(&request, true).await?;
    let mut blocks = Vec::with_capacity(rows.len());
    for (key, value) in rows {
        let block = Block::decode(&value).map_err(|error| {
            KvError::internal(format!("corrupt block at key {key:02x?}: {error}"))
        })?;
        blocks.push(block);
    }
    Ok(merge_blocks(blocks, start, end))
}
