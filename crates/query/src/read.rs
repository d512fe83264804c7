//! Reading selected series from both tiers, a span of buckets at a time.
//!
//! A lane reads its series one after another through its own [`ReadWindow`]. A series is read
//! a span of buckets at a time; every bucket is read whole at one read version and merged under
//! the dedup rule, and a window is replaced only between buckets (a bucket cut by a failed or
//! expired transaction is re-read from its start). So a read never hits FDB's 5 s limit and never
//! skips or repeats a row.
//!
//! With a cold tier, every transaction of a lane's window first reads the cold index; a step
//! (a span of one series' buckets) is read under one index, re-read whole if the index changed
//! under it, and its cold rows are merged under its hot buckets (`crate::cold`). The SQL tables
//! turn steps into record batches (`crate::scan`), PromQL into samples (`crate::promql`).

use std::sync::Arc;

use futures::stream;
use tidemark_storage::block::Block;
use tidemark_storage::tsdb::{Layout, SeriesId, SeriesKey, bucket_start, merge_blocks};
use tidemark_storage::{KvDatabase, KvTransaction, RangeRequest, ReadWindow};

use crate::cold::{Combined, LaneCold, cold_slices, cold_span, combine, read_index};
use crate::error::{QueryError, QueryResult};
use crate::predicate::TimeRange;
use crate::spec::{ScanSpec, Shared};

/// Buckets (holding data) read per step of a series: bounds a lane's memory to a week of one
/// series when every hour has data. Steps follow the stored keys, so empty time costs nothing.
const BUCKETS_PER_STEP: usize = 24 * 7;
/// Retryable storage errors (or window changes inside a bucket) tolerated in a row.
const MAX_RETRIES: u32 = 20;

/// Where a lane is: the series it is reading and the next bucket of it.
struct Cursor {
    series: SeriesId,
    key: Option<Arc<SeriesKey>>,
    next_bucket: i64,
}

struct LaneState<D: KvDatabase> {
    window: ReadWindow<D>,
    pending: std::vec::IntoIter<SeriesId>,
    cursor: Option<Cursor>,
    cold: LaneCold,
}

/// What one step of a series read: merged hot buckets, where the next step starts, and the
/// cold index every bucket of the step was read under.
struct Step {
    blocks: Vec<Block>,
    next_bucket: Option<i64>,
    index: Arc<Vec<tidemark_storage::cold::ColdFileEntry>>,
}

/// A step over cold data covers at most this much time, bounding a lane's memory.
const MAX_COLD_STEP: i64 = 7 * 24 * tidemark_storage::tsdb::BUCKET_NANOS;

/// One step of a series: its rows in a span of time (both tiers combined, the dedup rule
/// applied), and its key when the spec wants tags.
#[derive(Debug)]
pub(crate) struct SeriesStep {
    pub(crate) series: SeriesId,
    pub(crate) key: Option<Arc<SeriesKey>>,
    pub(crate) rows: Combined,
}

/// Reads a lane's series in order, one span of each at a time, in one [`ReadWindow`].
pub(crate) fn lane<D: KvDatabase>(
    shared: Arc<Shared<D>>,
    spec: Arc<ScanSpec>,
    series: Vec<SeriesId>,
) -> impl futures::Stream<Item = QueryResult<SeriesStep>> + Send {
    let state = LaneState {
        window: ReadWindow::new(shared.db.clone()),
        pending: series.into_iter(),
        cursor: None,
        cold: LaneCold::default(),
    };
    stream::try_unfold(state, move |mut state| {
        let shared = shared.clone();
        let spec = spec.clone();
        async move {
            let last_bucket = bucket_start(spec.time.end);
            loop {
                let mut cursor = match state.cursor.take() {
                    Some(cursor) => cursor,
                    None => match state.pending.next() {
                        Some(series) => Cursor {
                            series,
                            key: None,
                            next_bucket: bucket_start(spec.time.start),
                        },
                        None => return Ok(None),
                    },
                };
                // Bound a step by time where cold files may hold this series (only over their
                // time span: unbounded queries must not walk empty centuries week by week).
                let step_last =
                    match cold_span(&state.cold.index, cursor.series) {
                        Some((first, last)) if cursor.next_bucket <= last => {
                            let from = cursor.next_bucket.max(bucket_start(first));
                            last_bucket.min(from.saturating_add(
                                MAX_COLD_STEP - tidemark_storage::tsdb::BUCKET_NANOS,
                            ))
                        }
                        _ => last_bucket,
                    };
                let step = read_buckets(
                    &mut state.window,
                    &mut state.cold,
                    &shared.layout,
                    &spec,
                    cursor.series,
                    (cursor.next_bucket, step_last),
                )
                .await?;
                let next_bucket = match step.next_bucket {
                    None if step_last < last_bucket => {
                        Some(step_last + tidemark_storage::tsdb::BUCKET_NANOS)
                    }
                    other => other,
                };
                let span = (
                    cursor.next_bucket.max(spec.time.start),
                    next_bucket.map_or(spec.time.end, |next| (next - 1).min(spec.time.end)),
                );
                let slices = match &spec.cold {
                    Some(cold) if cold_span(&step.index, cursor.series).is_some() => {
                        cold_slices(
                            cold,
                            &mut state.cold,
                            &step.index,
                            &|name: &str| spec.wants_field(name),
                            cursor.series,
                            span,
                        )
                        .await?
                    }
                    _ => Vec::new(),
                };
                let rows = match combine(slices, step.blocks, span) {
                    Combined::Blocks(blocks) if blocks.iter().all(|block| block.rows() == 0) => {
                        None
                    }
                    Combined::Slices(slices) if slices.is_empty() => None,
                    other => Some(other),
                };
                if let Some(next_bucket) = next_bucket {
                    state.cursor = Some(Cursor {
                        next_bucket,
                        ..cursor_clone(&cursor)
                    });
                }
                let Some(rows) = rows else {
                    continue;
                };
                if spec.wants_tags() && cursor.key.is_none() {
                    let key = series_key(&shared, &spec, &mut state.window, cursor.series).await?;
                    cursor.key = Some(key.clone());
                    if let Some(next) = state.cursor.as_mut() {
                        next.key = Some(key);
                    }
                }
                let step = SeriesStep {
                    series: cursor.series,
                    key: cursor.key.clone(),
                    rows,
                };
                return Ok(Some((step, state)));
            }
        }
    })
}

fn cursor_clone(cursor: &Cursor) -> Cursor {
    Cursor {
        series: cursor.series,
        key: cursor.key.clone(),
        next_bucket: cursor.next_bucket,
    }
}

async fn series_key<D: KvDatabase>(
    shared: &Shared<D>,
    spec: &ScanSpec,
    window: &mut ReadWindow<D>,
    series: SeriesId,
) -> QueryResult<Arc<SeriesKey>> {
    shared
        .series
        .key(window, &shared.layout, spec.tenant, series)
        .await
}

/// Reads the buckets of a series starting in `[first, last]`, at most [`BUCKETS_PER_STEP`] of
/// them: one merged block per bucket holding rows in the time range, and the first bucket left
/// for the next step (none when the series is done).
async fn read_buckets<D: KvDatabase>(
    window: &mut ReadWindow<D>,
    cold: &mut LaneCold,
    layout: &Layout,
    spec: &ScanSpec,
    series: SeriesId,
    (first, last): (i64, i64),
) -> QueryResult<Step> {
    let (begin, end) = layout.data_range(spec.tenant, series, first, last);
    let step_begin = begin.clone();
    let mut step_index = cold.index.clone();
    let mut buckets_seen = 0;
    let wanted = |name: &str| spec.wants_field(name);
    let mut request = RangeRequest::new(begin, end);
    let mut iteration = 1;
    let mut merged = Vec::new();
    let mut bucket: Option<(i64, Vec<Block>)> = None;
    let mut failures = 0;
    loop {
        let restart = window.will_renew();
        let result = async {
            window.tx()?;
            let generation = window.generation();
            let tx = window.current()?;
            let index = match spec.cold.is_some() && generation != cold.generation {
                true => {
                    Some(read_index(tx, layout, spec.tenant, &spec.measurement, spec.time).await?)
                }
                false => None,
            };
            let chunk = tx.get_range(&request, iteration, true).await?;
            Ok::<_, tidemark_storage::KvError>((generation, index, chunk))
        }
        .await;
        let result = match result {
            Ok((generation, Some(index), chunk)) => {
                cold.generation = generation;
                if *cold.index != index {
                    cold.index = Arc::new(index);
                }
                if *step_index != *cold.index {
                    step_index = cold.index.clone();
                    if !merged.is_empty() || bucket.is_some() {
                        // The index changed under this step: read the step again under the
                        // new index, so no value is missed between the tiers.
                        merged.clear();
                        bucket = None;
                        buckets_seen = 0;
                        request.begin = step_begin.clone();
                        iteration = 1;
                        failures += 1;
                        if failures > MAX_RETRIES {
                            return Err(QueryError::ResourcesExhausted(format!(
                                "the cold index of {} kept changing during the scan",
                                spec.measurement
                            )));
                        }
                        continue;
                    }
                }
                Ok(chunk)
            }
            Ok((_, None, chunk)) => Ok(chunk),
            Err(error) => Err(error),
        };
        let chunk = match result {
            Ok(chunk) if !restart || bucket.is_none() => chunk,
            Ok(_) if failures < MAX_RETRIES => {
                // The window changed inside a bucket: read that bucket again, whole.
                failures += 1;
                if restart_bucket(layout, spec, series, &mut bucket, &mut request) {
                    // It is counted again when its first key comes back.
                    buckets_seen -= 1;
                }
                iteration = 1;
                continue;
            }
            Ok(_) => {
                return Err(QueryError::ResourcesExhausted(format!(
                    "series {} has a bucket too large to read in one transaction",
                    series.0
                )));
            }
            Err(error) if error.is_retryable() && failures < MAX_RETRIES => {
                failures += 1;
                window.invalidate();
                if restart_bucket(layout, spec, series, &mut bucket, &mut request) {
                    // It is counted again when its first key comes back.
                    buckets_seen -= 1;
                }
                iteration = 1;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        failures = 0;
        let next = request.next_page(&chunk);
        for (key, value) in chunk.kvs {
            let key_bucket = layout
                .data_bucket(&key)
                .ok_or_else(|| QueryError::Corrupt(format!("undecodable data key {key:02x?}")))?;
            if bucket
                .as_ref()
                .is_none_or(|(current, _)| *current != key_bucket)
            {
                flush(&mut bucket, spec.time, &mut merged);
                if buckets_seen == BUCKETS_PER_STEP {
                    return Ok(Step {
                        blocks: merged,
                        next_bucket: Some(key_bucket),
                        index: step_index,
                    });
                }
                buckets_seen += 1;
                bucket = Some((key_bucket, Vec::new()));
            }
            let block = Block::decode_projected(&value, wanted).map_err(|error| {
                QueryError::Corrupt(format!("block of series {}: {error}", series.0))
            })?;
            if let Some((_, blocks)) = bucket.as_mut() {
                blocks.push(block);
            }
        }
        match next {
            Some(next) => {
                request = next;
                iteration += 1;
            }
            None => break,
        }
    }
    flush(&mut bucket, spec.time, &mut merged);
    Ok(Step {
        blocks: merged,
        next_bucket: None,
        index: step_index,
    })
}

/// Points the request back at the start of the bucket being read and forgets its blocks.
fn restart_bucket(
    layout: &Layout,
    spec: &ScanSpec,
    series: SeriesId,
    bucket: &mut Option<(i64, Vec<Block>)>,
    request: &mut RangeRequest,
) -> bool {
    match bucket.take() {
        Some((start, _)) => {
            request.begin = layout.data_range(spec.tenant, series, start, start).0;
            true
        }
        None => false,
    }
}

fn flush(bucket: &mut Option<(i64, Vec<Block>)>, time: TimeRange, merged: &mut Vec<Block>) {
    if let Some((_, blocks)) = bucket.take() {
        let block = merge_blocks(blocks, time.start, time.end);
        if block.rows() > 0 {
            merged.push(block);
        }
    }
}
