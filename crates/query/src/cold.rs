//! Reading the cold tier inside a scan, and merging it under the hot tier.
//!
//! Tiering registers a file before it clears the hot keys the file holds, so at any one read
//! version every value is in hot storage or in an indexed file. A scan lane therefore reads the
//! cold index in every transaction of its read window, before the data keys it reads there;
//! when the index changed since the step began, the step is read again (see
//! [`crate::scan`]). The files a step uses are then fetched outside the transaction: footers
//! once per scan, and per series only the projected column chunks of the row groups whose
//! series-id statistics name it. Files leave the bucket only after a grace period, so a file
//! the index named a moment ago is still there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tidemark_storage::block::Block;
use tidemark_storage::cold::{ColdFileEntry, ColdFileReader, ColdSlice, ColdStore, DecodedRows};
use tidemark_storage::tsdb::{Layout, SeriesId, TenantId, merge_blocks};
use tidemark_storage::{KvResult, KvTransaction};

use crate::error::{QueryError, QueryResult};
use crate::predicate::TimeRange;

/// Parsed footers of cold files, shared by every scan of an engine. Files never change once
/// written (a new version is a new path), so an entry never goes stale; the cache is emptied
/// when it reaches [`FOOTERS_CACHED`] entries.
#[derive(Debug, Default)]
pub(crate) struct FooterCache {
    readers: Mutex<HashMap<String, Arc<ColdFileReader>>>,
}

/// Footers kept at most (each a few kilobytes of parsed metadata).
const FOOTERS_CACHED: usize = 4_096;

/// The cold side of one scan.
#[derive(Debug)]
pub(crate) struct ColdScan {
    pub(crate) store: ColdStore,
    footers: Arc<FooterCache>,
}

impl ColdScan {
    pub(crate) fn new(store: ColdStore, footers: Arc<FooterCache>) -> Self {
        Self { store, footers }
    }

    async fn reader(&self, entry: &ColdFileEntry) -> QueryResult<Arc<ColdFileReader>> {
        if let Some(reader) = self.lock().get(&entry.path) {
            return Ok(reader.clone());
        }
        let reader = ColdFileReader::open_remote(&self.store, &entry.path, entry.bytes)
            .await
            .map_err(|error| cold_error(entry, error))?;
        let reader = Arc::new(reader);
        let mut cache = self.lock();
        if cache.len() >= FOOTERS_CACHED {
            cache.clear();
        }
        cache.insert(entry.path.clone(), reader.clone());
        Ok(reader)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ColdFileReader>>> {
        self.footers
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn cold_error(entry: &ColdFileEntry, error: tidemark_storage::cold::ColdError) -> QueryError {
    QueryError::Cold(format!("reading {}: {error}", entry.path))
}

/// A lane's view of the cold index, and the row groups it decoded last per file.
#[derive(Debug, Default)]
pub(crate) struct LaneCold {
    /// The window generation the index was read in (0: never).
    pub(crate) generation: u64,
    /// The index entries overlapping the scan's time range.
    pub(crate) index: Arc<Vec<ColdFileEntry>>,
    decoded: HashMap<String, (Vec<usize>, Arc<DecodedRows>)>,
}

/// The index entries of the scanned measurement overlapping the scan's time range, read in `tx`.
pub(crate) async fn read_index<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    tenant: TenantId,
    measurement: &str,
    time: TimeRange,
) -> KvResult<Vec<ColdFileEntry>> {
    let mut entries = layout
        .cold_files(tx, tenant, measurement, time.end, true)
        .await?;
    entries.retain(|entry| entry.overlaps(time.start, time.end));
    // Older files first: where two files hold a value, the newer one wins.
    entries.sort_by_key(|entry| entry.created);
    Ok(entries)
}

/// The time span of the indexed files that may hold `series`, if any.
pub(crate) fn cold_span(index: &[ColdFileEntry], series: SeriesId) -> Option<(i64, i64)> {
    index
        .iter()
        .filter(|entry| entry.may_hold(series))
        .map(|entry| entry.time_range)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// The cold rows of `series` in `[start, end]` from the files of `index`, oldest file first.
pub(crate) async fn cold_slices(
    cold: &ColdScan,
    lane: &mut LaneCold,
    index: &[ColdFileEntry],
    wanted: &(dyn Fn(&str) -> bool + Sync),
    series: SeriesId,
    (start, end): (i64, i64),
) -> QueryResult<Vec<ColdSlice>> {
    let mut slices = Vec::new();
    for entry in index {
        if !entry.may_hold(series) || !entry.overlaps(start, end) {
            continue;
        }
        let reader = cold.reader(entry).await?;
        let groups = reader.groups_of(series);
        if groups.is_empty() {
            continue;
        }
        let decoded = match lane.decoded.get(&entry.path) {
            Some((cached, rows)) if *cached == groups => rows.clone(),
            _ => {
                let rows = reader
                    .decode_remote(&cold.store, &entry.path, &groups, wanted, false)
                    .await
                    .map_err(|error| cold_error(entry, error))?;
                let rows = Arc::new(rows);
                lane.decoded
                    .insert(entry.path.clone(), (groups, rows.clone()));
                rows
            }
        };
        let slice = decoded.series_slice(series, start, end);
        if slice.rows() > 0 {
            slices.push(slice);
        }
    }
    Ok(slices)
}

/// A series' rows for one step: Arrow slices of cold files as they are, or merged blocks.
#[derive(Debug)]
pub(crate) enum Combined {
    Slices(Vec<ColdSlice>),
    Blocks(Vec<Block>),
}

/// Puts a series' cold rows under its hot buckets: one value per field and time, hot wins.
/// Cold rows alone, from files disjoint in time (one per partition, the normal case), pass
/// through as zero-copy slices, in time order.
pub(crate) fn combine(cold: Vec<ColdSlice>, hot: Vec<Block>, (start, end): (i64, i64)) -> Combined {
    if cold.is_empty() {
        return Combined::Blocks(hot);
    }
    let mut by_time: Vec<&ColdSlice> = cold.iter().collect();
    by_time.sort_by_key(|slice| slice.times.value(0));
    let disjoint = by_time
        .windows(2)
        .all(|pair| pair[0].times.value(pair[0].rows() - 1) < pair[1].times.value(0));
    if hot.is_empty() && disjoint {
        return Combined::Slices(by_time.into_iter().cloned().collect());
    }
    // Overlapping rows: merged in index order (oldest file first), then hot on top.
    let blocks = cold.iter().map(ColdSlice::to_block).chain(hot);
    Combined::Blocks(vec![merge_blocks(blocks, start, end)])
}
