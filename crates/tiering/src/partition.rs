//! Moving one partition (one measurement, one time range) to the cold tier.
//!
//! 1. Read the hot data of the partition's series, one series at a time, each series' day at
//!    one read version, remembering the last key read in every bucket.
//! 2. Merge it over the partition's current files (hot is newer than cold), sort by series and
//!    time, and write new files (unique paths) to the object store.
//! 3. In one transaction: check the partition's index entries are still the ones merged (else
//!    another node did the work; our objects become orphans for the collector), register the
//!    new files and retire the old ones.
//! 4. Clear the hot keys that were read, in transactions of bounded size: per series and
//!    bucket, from the bucket's first key through the last key read. A block written later has
//!    a later versionstamp, sorts after that key, and stays.
//!
//! A crash between any two steps loses nothing: before 3 the objects are orphans and the hot
//! data is intact; after 3 data is in both tiers until 4 finishes, and a later pass merges the
//! leftover hot keys into a new file version.

use std::collections::BTreeMap;

use tidemark_storage::block::Block;
use tidemark_storage::cold::store::checksum_of;
use tidemark_storage::cold::{ColdFileEntry, ColdFileReader, SeriesRows, encode_file};
use tidemark_storage::keys::key_after;
use tidemark_storage::tsdb::{Layout, SeriesId, TenantId, merge_blocks, now_nanos};
use tidemark_storage::{
    KvDatabase, KvResult, KvTransaction, RangeRequest, ReadWindow, RunOptions, run,
};

use crate::error::TieringError;
use crate::pass::{TierEvent, TierStats, TierStep, Tierer};
use crate::txn::{clear_ranges, read};

/// Clear ranges per transaction (each a few hundred bytes of mutation).
const CLEARS_PER_TRANSACTION: usize = 2_000;

/// One partition to move.
#[derive(Debug)]
pub(crate) struct PartitionJob<'a> {
    pub(crate) database: &'a str,
    pub(crate) tenant: TenantId,
    pub(crate) measurement: &'a str,
    pub(crate) partition: (i64, i64),
    /// Series with hot data in the partition, sorted.
    pub(crate) series: &'a [SeriesId],
}

/// The hot keys read for one series and bucket: clear `[begin, last]`.
struct ReadRange {
    begin: Vec<u8>,
    last: Vec<u8>,
}

pub(crate) async fn tier_partition<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    job: &PartitionJob<'_>,
    stats: &mut TierStats,
    report: &(dyn Fn(TierEvent) + Send + Sync),
) -> Result<(), TieringError> {
    let layout = tierer.layout;
    let (tenant, measurement, start) = (job.tenant, job.measurement.to_string(), job.partition.0);
    let existing = read(tierer.db, |tx| {
        let (layout, measurement) = (layout.clone(), measurement.clone());
        Box::pin(async move {
            Ok(partition_files(tx, &layout, tenant, &measurement, start, true).await?)
        })
    })
    .await?;
    let mut rows = read_cold(tierer, &existing).await?;
    let (hot, ranges) = read_hot(tierer, job).await?;
    let mut window = ReadWindow::new(tierer.db.clone());
    for (series, block) in hot {
        match rows.get_mut(&series) {
            Some(cold) => merge_newer(cold, block),
            None => {
                let key = series_tags(tierer, &mut window, job, series).await?;
                rows.insert(
                    series,
                    SeriesRows {
                        series,
                        tags: key,
                        block,
                    },
                );
            }
        }
    }
    let rows: Vec<SeriesRows> = rows
        .into_values()
        .filter(|rows| rows.block.rows() > 0)
        .collect();
    let created = now_nanos();
    let mut entries = Vec::new();
    // Encoding is CPU-bound (zstd): off the async workers, so ingest and queries keep running.
    let (measurement, max_rows) = (job.measurement.to_string(), tierer.config.max_file_rows);
    let files = tokio::task::spawn_blocking(move || {
        split_files(&rows, max_rows)
            .into_iter()
            .map(|group| encode_file(&measurement, group))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|error| TieringError::Corrupt(format!("encoding task failed: {error}")))??;
    for file in files {
        let file_id = format!("{:032x}", rand_id());
        let path =
            tierer
                .store
                .object_path(job.tenant.0, job.measurement, job.partition.0, &file_id)?;
        tierer.store.put(&path, file.bytes.clone()).await?;
        entries.push(ColdFileEntry {
            measurement: job.measurement.to_string(),
            partition: job.partition,
            file_id,
            path,
            time_range: file.time_range,
            series_range: file.series_range,
            rows: file.rows,
            values: file.values,
            bytes: file.bytes.len() as u64,
            checksum: checksum_of(&file.bytes),
            created,
        });
    }
    tierer.maybe_pause(TierStep::AfterPut, report).await;
    if !register(tierer, job, &existing, &entries, created).await? {
        tracing::info!(
            measurement = job.measurement,
            partition = job.partition.0,
            "partition changed by another tierer; leaving its objects to the collector"
        );
        return Ok(());
    }
    tierer.maybe_pause(TierStep::AfterRegister, report).await;
    clear_hot(tierer, &ranges, report).await?;
    stats.partitions += 1;
    stats.files_written += entries.len() as u64;
    stats.files_retired += existing.len() as u64;
    stats.rows += entries.iter().map(|entry| entry.rows).sum::<u64>();
    let bytes = entries.iter().map(|entry| entry.bytes).sum::<u64>();
    stats.bytes += bytes;
    report(TierEvent::Partition {
        database: job.database.to_string(),
        measurement: job.measurement.to_string(),
        start: job.partition.0,
        series: job.series.len(),
        rows: entries.iter().map(|entry| entry.rows).sum(),
        bytes,
        replaced: existing.len(),
    });
    Ok(())
}

/// Puts `newer` over a series' rows under the dedup rule (newer values win).
fn merge_newer(rows: &mut SeriesRows, newer: Block) {
    let older = std::mem::take(&mut rows.block);
    rows.block = merge_blocks([older, newer], i64::MIN, i64::MAX);
}

fn rand_id() -> u128 {
    rand::random()
}

/// The rows of the partition's current files, by series.
async fn read_cold<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    files: &[ColdFileEntry],
) -> Result<BTreeMap<SeriesId, SeriesRows>, TieringError> {
    let mut rows: BTreeMap<SeriesId, SeriesRows> = BTreeMap::new();
    let mut files = files.to_vec();
    // Older files first, so a newer file's values win where two overlap.
    files.sort_by_key(|entry| entry.created);
    for entry in files {
        let bytes = tierer
            .store
            .get_checked(&entry.path, entry.bytes, entry.checksum)
            .await?;
        let reader = ColdFileReader::open(bytes)?;
        let groups: Vec<usize> = (0..reader.row_groups()).collect();
        for series in reader.decode(&groups, |_| true, true)?.into_series() {
            match rows.get_mut(&series.series) {
                Some(existing) => merge_newer(existing, series.block),
                None => {
                    rows.insert(series.series, series);
                }
            }
        }
    }
    Ok(rows)
}

/// The hot data of the job's series in the partition, merged per bucket, and the key ranges
/// read. Each series' partition is read at one read version.
async fn read_hot<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    job: &PartitionJob<'_>,
) -> Result<(Vec<(SeriesId, Block)>, Vec<ReadRange>), TieringError> {
    let layout = tierer.layout;
    let mut window = ReadWindow::new(tierer.db.clone());
    let first_bucket = job.partition.0;
    let last_bucket = job
        .partition
        .1
        .saturating_sub(tidemark_storage::tsdb::BUCKET_NANOS);
    let mut blocks = Vec::new();
    let mut ranges = Vec::new();
    for series in job.series {
        let (begin, end) = layout.data_range(job.tenant, *series, first_bucket, last_bucket);
        let kvs = window.read_range(&RangeRequest::new(begin, end)).await?;
        let mut merged = Vec::new();
        let mut bucket: Option<(i64, Vec<Block>, Vec<u8>)> = None;
        for (key, value) in kvs {
            let (_, key_bucket) = layout
                .data_entry(&key)
                .ok_or_else(|| TieringError::Corrupt(format!("undecodable data key {key:02x?}")))?;
            let block = Block::decode(&value).map_err(|error| {
                TieringError::Corrupt(format!("block of series {:#x}: {error}", series.0))
            })?;
            match bucket.as_mut() {
                Some((current, blocks, last)) if *current == key_bucket => {
                    blocks.push(block);
                    *last = key;
                }
                _ => {
                    finish_bucket(
                        layout,
                        job,
                        *series,
                        bucket.take(),
                        &mut merged,
                        &mut ranges,
                    );
                    bucket = Some((key_bucket, vec![block], key));
                }
            }
        }
        finish_bucket(layout, job, *series, bucket, &mut merged, &mut ranges);
        if !merged.is_empty() {
            // Buckets are disjoint and in time order: this concatenates (one block is returned
            // as it is).
            blocks.push((*series, merge_blocks(merged, i64::MIN, i64::MAX)));
        }
    }
    Ok((blocks, ranges))
}

fn finish_bucket(
    layout: &Layout,
    job: &PartitionJob<'_>,
    series: SeriesId,
    bucket: Option<(i64, Vec<Block>, Vec<u8>)>,
    merged: &mut Vec<Block>,
    ranges: &mut Vec<ReadRange>,
) {
    if let Some((start, blocks, last)) = bucket {
        merged.push(merge_blocks(blocks, i64::MIN, i64::MAX));
        ranges.push(ReadRange {
            begin: layout.data_range(job.tenant, series, start, start).0,
            last,
        });
    }
}

async fn series_tags<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    window: &mut ReadWindow<D>,
    job: &PartitionJob<'_>,
    series: SeriesId,
) -> Result<Vec<(String, String)>, TieringError> {
    let key = tierer.layout.series(job.tenant, series);
    let rows = window
        .read_range(&RangeRequest::new(key.clone(), key_after(&key)))
        .await?;
    let record = rows
        .first()
        .map(|(_, value)| value.as_slice())
        .unwrap_or_default();
    let key = tidemark_storage::tsdb::SeriesKey::from_canonical(record).ok_or_else(|| {
        TieringError::Corrupt(format!(
            "series {:#x} has data but no series record",
            series.0
        ))
    })?;
    Ok(key.tags)
}

/// Consecutive runs of series of at most `max_rows` rows each (a bigger series gets its own).
fn split_files(rows: &[SeriesRows], max_rows: usize) -> Vec<&[SeriesRows]> {
    let mut files = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (index, series) in rows.iter().enumerate() {
        if count > 0 && count + series.block.rows() > max_rows {
            files.push(&rows[start..index]);
            start = index;
            count = 0;
        }
        count += series.block.rows();
    }
    if start < rows.len() {
        files.push(&rows[start..]);
    }
    files
}

/// The index entries of the partition starting at `start`.
async fn partition_files<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    tenant: TenantId,
    measurement: &str,
    start: i64,
    snapshot: bool,
) -> KvResult<Vec<ColdFileEntry>> {
    let mut files = layout
        .cold_files(tx, tenant, measurement, start, snapshot)
        .await?;
    files.retain(|entry| entry.partition.0 == start);
    Ok(files)
}

/// Swaps the partition's index entries; false when they are no longer `existing`.
async fn register<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    job: &PartitionJob<'_>,
    existing: &[ColdFileEntry],
    entries: &[ColdFileEntry],
    now: i64,
) -> Result<bool, TieringError> {
    let options = RunOptions::idempotent();
    let (tenant, measurement, start) = (job.tenant, job.measurement.to_string(), job.partition.0);
    run(tierer.db, options, |tx, _| {
        let layout = tierer.layout.clone();
        let measurement = measurement.clone();
        let existing = existing.to_vec();
        let entries = entries.to_vec();
        Box::pin(async move {
            // Serializable: a concurrent swap of the same partition aborts one of the two.
            let current = partition_files(tx, &layout, tenant, &measurement, start, false).await?;
            let ours =
                |entry: &ColdFileEntry| entries.iter().any(|new| new.file_id == entry.file_id);
            if current.iter().all(ours) && !current.is_empty() {
                // A retry after an unknown commit result that did commit.
                return Ok(true);
            }
            if current != existing {
                return Ok(false);
            }
            for old in &existing {
                layout.retire_cold_file(tx, tenant, old, now);
            }
            for entry in &entries {
                layout.register_cold_file(tx, tenant, entry);
            }
            Ok::<_, TieringError>(true)
        })
    })
    .await
}

async fn clear_hot<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    ranges: &[ReadRange],
    report: &(dyn Fn(TierEvent) + Send + Sync),
) -> Result<(), TieringError> {
    let options = RunOptions {
        batch_priority: true,
        ..RunOptions::idempotent()
    };
    // The test hook stops halfway, so it needs at least two transactions.
    let per_transaction = match tierer.config.pause_at {
        Some(TierStep::MidClear) => ranges.len().div_ceil(2).max(1),
        _ => CLEARS_PER_TRANSACTION,
    };
    for (index, batch) in ranges.chunks(per_transaction).enumerate() {
        if index == 1 {
            tierer.maybe_pause(TierStep::MidClear, report).await;
        }
        let clears = batch
            .iter()
            .map(|range| (range.begin.clone(), key_after(&range.last)))
            .collect();
        clear_ranges(tierer.db, options, clears).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_storage::block::{Block, Column, ColumnValues};

    fn rows(series: u64, count: usize) -> SeriesRows {
        SeriesRows {
            series: SeriesId(series),
            tags: vec![],
            block: Block {
                timestamps: (0..count as i64).collect(),
                columns: vec![Column {
                    name: "v".into(),
                    values: ColumnValues::F64(vec![Some(1.0); count]),
                }],
            },
        }
    }

    #[test]
    fn files_split_at_series_boundaries_under_the_row_cap() {
        let all = vec![rows(1, 40), rows(2, 40), rows(3, 100), rows(4, 10)];
        let sizes: Vec<Vec<u64>> = split_files(&all, 90)
            .iter()
            .map(|group| group.iter().map(|rows| rows.series.0).collect())
            .collect();
        // A series bigger than the cap gets a file of its own; none is ever cut.
        assert_eq!(sizes, vec![vec![1, 2], vec![3], vec![4]]);
        assert!(split_files(&[], 90).is_empty());
    }
}
