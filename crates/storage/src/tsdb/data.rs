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

    /// The dedup rule stated row by row: per time and field, the last present value in write
    /// order.
    fn reference_merge(blocks: &[Block], start: i64, end: i64) -> Vec<(i64, Vec<(String, f64)>)> {
        let mut rows: BTreeMap<i64, BTreeMap<String, f64>> = BTreeMap::new();
        for block in blocks {
            for (row, time) in block.timestamps.iter().enumerate() {
                if *time < start || *time > end {
                    continue;
                }
                let fields = rows.entry(*time).or_default();
                for column in &block.columns {
                    if let ColumnValues::F64(values) = &column.values
                        && let Some(value) = values[row]
                    {
                        fields.insert(column.name.clone(), value);
                    }
                }
            }
        }
        rows.into_iter()
            .map(|(time, fields)| (time, fields.into_iter().collect()))
            .collect()
    }

    fn flatten(block: &Block) -> Vec<(i64, Vec<(String, f64)>)> {
        block
            .timestamps
            .iter()
            .enumerate()
            .map(|(row, time)| {
                let fields = block
                    .columns
                    .iter()
                    .filter_map(|column| match &column.values {
                        ColumnValues::F64(values) => values[row].map(|v| (column.name.clone(), v)),
                        _ => None,
                    })
                    .collect();
                (*time, fields)
            })
            .collect()
    }

    fn arbitrary_block() -> impl proptest::strategy::Strategy<Value = Block> {
        use proptest::prelude::*;
        proptest::collection::vec(
            (
                0i64..40,
                proptest::option::of(0.0f64..9.0),
                proptest::option::of(0.0f64..9.0),
            ),
            0..30,
        )
        .prop_map(|rows| Block {
            timestamps: rows.iter().map(|row| row.0).collect(),
            columns: vec![
                Column {
                    name: "a".into(),
                    values: ColumnValues::F64(rows.iter().map(|row| row.1).collect()),
                },
                Column {
                    name: "b".into(),
                    values: ColumnValues::F64(rows.iter().map(|row| row.2).collect()),
                },
            ],
        })
    }

    proptest::proptest! {
        #[test]
        fn merge_keeps_the_latest_present_value_per_field_and_time(
            blocks in proptest::collection::vec(arbitrary_block(), 1..5),
            start in 0i64..20,
            width in 0i64..40,
        ) {
            let end = start + width;
            let merged = merge_blocks(blocks.clone(), start, end);
            proptest::prop_assert!(is_strictly_increasing(&merged.timestamps));
            let mut got = flatten(&merged);
            // Rows whose fields are all absent carry no value; the reference has them too.
            got.retain(|(_, fields)| !fields.is_empty());
            let mut expected = reference_merge(&blocks, start, end);
            expected.retain(|(_, fields)| !fields.is_empty());
            proptest::prop_assert_eq!(got, expected);
        }
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
/// write wins. The result is sorted by time and holds only `start <= time <= end`.
///
/// Works column by column over a sorted row index instead of per-row maps: the query path runs
/// this for every bucket it reads, so it must cost little more than a copy.
pub fn merge_blocks(blocks: impl IntoIterator<Item = Block>, start: i64, end: i64) -> Block {
    let blocks: Vec<Block> = blocks.into_iter().collect();
    if let [only] = blocks.as_slice()
        && is_strictly_increasing(&only.timestamps)
    {
        let from = only.timestamps.partition_point(|time| *time < start);
        let to = only.timestamps.partition_point(|time| *time <= end);
        if from == 0 && to == only.rows() {
            return blocks.into_iter().next().unwrap_or_default();
        }
        return only.slice(from..to);
    }
    // (time, block, row) in write order; a stable sort by time keeps later writes later.
    let mut rows: Vec<(i64, u32, u32)> = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        for (row, time) in block.timestamps.iter().enumerate() {
            if (start..=end).contains(time) {
                rows.push((*time, index as u32, row as u32));
            }
        }
    }
    if !rows.windows(2).all(|pair| pair[0].0 < pair[1].0) {
        rows.sort_by_key(|row| row.0);
    }
    // Each group of equal times becomes one output row.
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut timestamps = Vec::new();
    for (position, row) in rows.iter().enumerate() {
        if timestamps.last() == Some(&row.0) {
            if let Some(group) = groups.last_mut() {
                group.end = position + 1;
            }
        } else {
            timestamps.push(row.0);
            groups.push(position..position + 1);
        }
    }
    let mut names: BTreeMap<&str, &ColumnValues> = BTreeMap::new();
    for block in &blocks {
        for column in &block.columns {
            names.entry(column.name.as_str()).or_insert(&column.values);
        }
    }
    let columns = names
        .into_iter()
        .map(|(name, shape)| {
            let sources: Vec<Option<&ColumnValues>> = blocks
                .iter()
                .map(|block| {
                    block
                        .columns
                        .iter()
                        .find(|column| column.name == name)
                        .map(|column| &column.values)
                })
                .collect();
            Column {
                name: name.to_owned(),
                values: gather_column(shape, &sources, &rows, &groups),
            }
        })
        .collect();
    Block {
        timestamps,
        columns,
    }
}

fn is_strictly_increasing(times: &[i64]) -> bool {
    times.windows(2).all(|pair| pair[0] < pair[1])
}

/// One output column of a merge, typed like `shape`: per group, the last present value.
fn gather_column(
    shape: &ColumnValues,
    sources: &[Option<&ColumnValues>],
    rows: &[(i64, u32, u32)],
    groups: &[std::ops::Range<usize>],
) -> ColumnValues {
    macro_rules! gather {
        ($variant:ident) => {{
            let typed: Vec<Option<&[Option<_>]>> = sources
                .iter()
                .map(|source| match source {
                    Some(ColumnValues::$variant(values)) => Some(values.as_slice()),
                    _ => None,
                })
                .collect();
            ColumnValues::$variant(gather_values(&typed, rows, groups))
        }};
    }
    match shape {
        ColumnValues::F64(_) => gather!(F64),
        ColumnValues::I64(_) => gather!(I64),
        ColumnValues::U64(_) => gather!(U64),
        ColumnValues::Bool(_) => gather!(Bool),
        ColumnValues::Str(_) => gather!(Str),
    }
}

fn gather_values<T: Clone>(
    sources: &[Option<&[Option<T>]>],
    rows: &[(i64, u32, u32)],
    groups: &[std::ops::Range<usize>],
) -> Vec<Option<T>> {
    groups
        .iter()
        .map(|group| {
            rows[group.clone()]
                .iter()
                .rev()
                .find_map(|(_, block, row)| {
                    sources[*block as usize].and_then(|values| values[*row as usize].clone())
                })
        })
        .collect()
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
