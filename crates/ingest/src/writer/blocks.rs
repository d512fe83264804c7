//! The blocks of one write group: per (tenant, series, bucket) the rows every request of the
//! group brought, in request order, encoded as blocks of bounded size.
//!
//! Rows arrive sparse (per column: values and the rows they belong to); a stored block is
//! dense (per column one slot per row). Building a block materialises rows × columns slots, so
//! blocks are cut to at most [`MAX_CELLS`] of them: a request whose lines each bring a new
//! field costs memory in proportion to its values, never to the square of its lines.

use std::collections::BTreeMap;
use std::collections::HashMap;

use tidemark_storage::block::{Block, Column, ColumnValues, MAX_BLOCK_BYTES};
use tidemark_storage::tsdb::{Layout, SeriesId, TenantId, bucket_start};
use tidemark_storage::{AtomicOp, KvTransaction};

use crate::batch::{ColumnData, SeriesRows};

/// Most slots (rows × columns) one block is built with before it is cut.
pub(super) const MAX_CELLS: usize = 1 << 20;

/// Rows of one request's series that fall in one bucket.
struct Slice<'g> {
    rows: &'g SeriesRows,
    /// The selected rows, ascending.
    selected: Vec<u32>,
}

#[derive(Default)]
pub(super) struct GroupBlocks<'g> {
    buckets: BTreeMap<(TenantId, SeriesId, i64), Vec<Slice<'g>>>,
}

impl<'g> GroupBlocks<'g> {
    /// Adds a series' rows, split by bucket.
    pub(super) fn add(&mut self, tenant: TenantId, series: SeriesId, rows: &'g SeriesRows) {
        let mut by_bucket: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (row, time) in rows.times.iter().enumerate() {
            by_bucket
                .entry(bucket_start(*time))
                .or_default()
                .push(row as u32);
        }
        for (bucket, selected) in by_bucket {
            self.buckets
                .entry((tenant, series, bucket))
                .or_default()
                .push(Slice { rows, selected });
        }
    }

    /// Writes every bucket's blocks as blind versionstamped keys, and marks the bucket for
    /// compaction.
    pub(super) fn write<T: KvTransaction>(&self, tx: &T, layout: &Layout) {
        for ((tenant, series, bucket), slices) in &self.buckets {
            tx.set(&layout.dirty(*tenant, *bucket, *series), b"");
            let mut part: u16 = 0;
            for block in build_blocks(slices) {
                for bytes in block.encode_parts(MAX_BLOCK_BYTES) {
                    let key = layout.data_stamped(*tenant, *series, *bucket, part);
                    tx.atomic_op(&key, &bytes, AtomicOp::SetVersionstampedKey);
                    part = part.wrapping_add(1);
                }
            }
        }
    }
}

/// One unit of block building: rows `range` of a slice's selection.
struct Unit<'s, 'g> {
    slice: &'s Slice<'g>,
    range: std::ops::Range<usize>,
}

/// The slices of one bucket as blocks of at most [`MAX_CELLS`] slots each.
fn build_blocks(slices: &[Slice<'_>]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut units: Vec<Unit<'_, '_>> = Vec::new();
    let mut rows = 0;
    let mut columns: Vec<&str> = Vec::new();
    for slice in slices {
        let width = slice.rows.columns.len().max(1);
        let step = (MAX_CELLS / width).max(1);
        let mut start = 0;
        while start < slice.selected.len() {
            let end = (start + step).min(slice.selected.len());
            let new_columns = slice
                .rows
                .columns
                .iter()
                .filter(|column| !columns.contains(&column.name.as_str()))
                .count();
            let cells = (rows + end - start) * (columns.len() + new_columns).max(1);
            if !units.is_empty() && cells > MAX_CELLS {
                blocks.push(materialise(&units, rows));
                units.clear();
                rows = 0;
                columns.clear();
            }
            for column in &slice.rows.columns {
                if !columns.contains(&column.name.as_str()) {
                    columns.push(&column.name);
                }
            }
            rows += end - start;
            units.push(Unit {
                slice,
                range: start..end,
            });
            start = end;
        }
    }
    if !units.is_empty() {
        blocks.push(materialise(&units, rows));
    }
    blocks
}

/// Builds one dense block from units holding `total` rows.
fn materialise(units: &[Unit<'_, '_>], total: usize) -> Block {
    let mut timestamps = Vec::with_capacity(total);
    let mut columns: Vec<Column> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for unit in units {
        let base = timestamps.len();
        let selected = &unit.slice.selected[unit.range.clone()];
        let source = unit.slice.rows;
        timestamps.extend(selected.iter().map(|row| source.times[*row as usize]));
        // Source row → output row, for the rows of this unit.
        let mut position: HashMap<u32, usize> = HashMap::with_capacity(selected.len());
        let contiguous = selected.windows(2).all(|pair| pair[1] == pair[0] + 1);
        if !contiguous {
            position.extend(
                selected
                    .iter()
                    .enumerate()
                    .map(|(at, row)| (*row, base + at)),
            );
        }
        let first = selected.first().copied().unwrap_or(0);
        let last = selected.last().copied().unwrap_or(0);
        let out_row = |row: u32| -> Option<usize> {
            if row < first || row > last {
                return None;
            }
            if contiguous {
                return Some(base + (row - first) as usize);
            }
            position.get(&row).copied()
        };
        for column in &source.columns {
            let mut slot = index.get(column.name.as_str()).copied();
            for value_index in 0..column.values.len() {
                let Some(out) = out_row(column.row_of(value_index) as u32) else {
                    continue;
                };
                // Columns are created by their first value: a column without a value in
                // these rows is not stored in this block at all.
                let at = *slot.get_or_insert_with(|| {
                    columns.push(Column {
                        name: column.name.clone(),
                        values: absent(&column.values, total),
                    });
                    index.insert(column.name.as_str(), columns.len() - 1);
                    columns.len() - 1
                });
                place(&mut columns[at].values, out, &column.values, value_index);
            }
        }
    }
    Block {
        timestamps,
        columns,
    }
}

/// A column of `rows` absent values of the type of `data`.
fn absent(data: &ColumnData, rows: usize) -> ColumnValues {
    match data {
        ColumnData::F64(_) => ColumnValues::F64(vec![None; rows]),
        ColumnData::I64(_) => ColumnValues::I64(vec![None; rows]),
        ColumnData::U64(_) => ColumnValues::U64(vec![None; rows]),
        ColumnData::Bool(_) => ColumnValues::Bool(vec![None; rows]),
        ColumnData::Str(_) => ColumnValues::Str(vec![None; rows]),
    }
}

/// Sets `target[row]` to value `index` of `source` (same type: the catalog fixes it).
fn place(target: &mut ColumnValues, row: usize, source: &ColumnData, index: usize) {
    match (target, source) {
        (ColumnValues::F64(out), ColumnData::F64(values)) => out[row] = Some(values[index]),
        (ColumnValues::I64(out), ColumnData::I64(values)) => out[row] = Some(values[index]),
        (ColumnValues::U64(out), ColumnData::U64(values)) => out[row] = Some(values[index]),
        (ColumnValues::Bool(out), ColumnData::Bool(values)) => out[row] = Some(values[index]),
        (ColumnValues::Str(out), ColumnData::Str(values)) => {
            out[row] = Some(values[index].clone());
        }
        _ => debug_assert!(false, "a column changed type within a series"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::SeriesIdentity;
    use tidemark_storage::tsdb::{DataPoint, SeriesKey};

    fn series(lines: &[(i64, &[(&str, f64)])]) -> SeriesRows {
        let key = SeriesKey::new("m", vec![]);
        let mut rows = SeriesRows::new(key, SeriesIdentity::of([&b"m"[..]]), 1);
        for (time, fields) in lines {
            let mut fields: Vec<(&str, DataPoint)> = fields
                .iter()
                .map(|(name, value)| (*name, DataPoint::F64(*value)))
                .collect();
            rows.push_row(1, *time, &mut fields).unwrap();
        }
        rows
    }

    #[test]
    fn sparse_rows_become_dense_blocks_split_by_bucket() {
        let hour = 3_600_000_000_000;
        let rows = series(&[
            (1, &[("a", 1.0)]),
            (2, &[("b", 2.0)]),
            (hour + 1, &[("a", 3.0)]),
        ]);
        let mut group = GroupBlocks::default();
        group.add(TenantId(1), SeriesId(9), &rows);
        assert_eq!(group.buckets.len(), 2);
        let first = build_blocks(&group.buckets[&(TenantId(1), SeriesId(9), 0)]);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].timestamps, vec![1, 2]);
        assert_eq!(
            first[0].columns[0].values,
            ColumnValues::F64(vec![Some(1.0), None])
        );
        assert_eq!(
            first[0].columns[1].values,
            ColumnValues::F64(vec![None, Some(2.0)])
        );
        let second = build_blocks(&group.buckets[&(TenantId(1), SeriesId(9), hour)]);
        assert_eq!(second[0].timestamps, vec![hour + 1]);
        assert_eq!(second[0].columns.len(), 1, "only the columns of its rows");
    }

    #[test]
    fn a_wide_sparse_series_is_cut_into_bounded_blocks() {
        // 3,000 lines, each with its own field: 3,000 × 3,000 slots if built as one block.
        let names: Vec<String> = (0..3_000).map(|i| format!("f{i}")).collect();
        let key = SeriesKey::new("m", vec![]);
        let mut rows = SeriesRows::new(key, SeriesIdentity::of([&b"m"[..]]), 1);
        for (time, name) in names.iter().enumerate() {
            let mut fields = vec![(name.as_str(), DataPoint::F64(1.0))];
            rows.push_row(1, time as i64, &mut fields).unwrap();
        }
        let mut group = GroupBlocks::default();
        group.add(TenantId(1), SeriesId(1), &rows);
        let blocks = build_blocks(&group.buckets[&(TenantId(1), SeriesId(1), 0)]);
        assert!(blocks.len() > 1);
        let mut total = 0;
        for block in &blocks {
            assert!(block.rows() * block.columns.len() <= MAX_CELLS);
            total += block.field_values();
        }
        assert_eq!(total, 3_000, "every value is in exactly one block");
    }
}
