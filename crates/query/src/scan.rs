//! Reading the hot tier of selected series as Arrow record batches.
//!
//! A scan partition owns some series and reads them in a few concurrent lanes, each lane with
//! its own [`ReadWindow`]. A series is read a span of buckets at a time; every bucket is read
//! whole at one read version and merged under the dedup rule, and a window is replaced only
//! between buckets (a bucket cut by a failed or expired transaction is re-read from its start).
//! So a scan never hits FDB's 5 s limit and never skips or repeats a row.
//!
//! With a cold tier, every transaction of a lane's window first reads the cold index; a step
//! (a span of one series' buckets) is read under one index, re-read whole if the index changed
//! under it, and its cold rows are merged under its hot buckets (`crate::cold`).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, DictionaryArray, Float64Builder, Int32Array, Int64Builder,
    RecordBatch, RecordBatchOptions, StringArray, StringBuilder, TimestampNanosecondArray,
    UInt64Builder,
};
use datafusion::arrow::datatypes::{Int32Type, SchemaRef};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::{StreamExt, TryStreamExt, stream};
use tidemark_storage::block::{Block, ColumnValues};
use tidemark_storage::tsdb::{
    FieldType, Layout, SeriesId, SeriesKey, TenantId, bucket_start, merge_blocks,
};
use tidemark_storage::{KvDatabase, KvTransaction, RangeRequest, ReadWindow};

use crate::cold::{
    ColdScan, Combined, LaneCold, cold_slices, cold_span, combine, read_index, slice_batches,
};
use crate::error::{QueryError, QueryResult};
use crate::predicate::TimeRange;
use crate::select::SeriesCache;

/// Buckets (holding data) read per step of a series: bounds a lane's memory to a week of one
/// series when every hour has data. Steps follow the stored keys, so empty time costs nothing.
const BUCKETS_PER_STEP: usize = 24 * 7;
/// Retryable storage errors (or window changes inside a bucket) tolerated in a row.
const MAX_RETRIES: u32 = 20;

/// What the engine shares with every scan.
pub(crate) struct Shared<D> {
    pub(crate) db: D,
    pub(crate) layout: Layout,
    pub(crate) series: SeriesCache,
    /// Concurrent series reads per scan partition.
    pub(crate) lanes: usize,
    /// The cold tier's object store, if any.
    pub(crate) cold: Option<tidemark_storage::cold::ColdStore>,
    /// Parsed footers of cold files.
    pub(crate) footers: Arc<crate::cold::FooterCache>,
}

impl<D> std::fmt::Debug for Shared<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

/// One output column of a scan.
#[derive(Debug, Clone)]
pub(crate) enum OutputColumn {
    Time,
    Tag(String),
    Field(String, FieldType),
}

/// What a scan reads, shared by its partitions.
#[derive(Debug)]
pub(crate) struct ScanSpec {
    pub(crate) tenant: TenantId,
    pub(crate) measurement: String,
    /// The cold tier, when the engine has one.
    pub(crate) cold: Option<Arc<ColdScan>>,
    pub(crate) schema: SchemaRef,
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) time: TimeRange,
    pub(crate) batch_size: usize,
}

impl ScanSpec {
    pub(crate) fn wants_field(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|column| matches!(column, OutputColumn::Field(field, _) if field == name))
    }

    fn wants_tags(&self) -> bool {
        self.columns
            .iter()
            .any(|column| matches!(column, OutputColumn::Tag(_)))
    }
}

/// The series of one scan partition.
pub(crate) struct SeriesPartition<D> {
    pub(crate) shared: Arc<Shared<D>>,
    pub(crate) spec: Arc<ScanSpec>,
    pub(crate) series: Vec<SeriesId>,
}

impl<D> std::fmt::Debug for SeriesPartition<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesPartition")
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> PartitionStream for SeriesPartition<D> {
    fn schema(&self) -> &SchemaRef {
        &self.spec.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let lanes = self.shared.lanes.clamp(1, self.series.len().max(1));
        let mut assigned: Vec<Vec<SeriesId>> = vec![Vec::new(); lanes];
        for (index, series) in self.series.iter().enumerate() {
            assigned[index % lanes].push(*series);
        }
        let streams = assigned.into_iter().map(|series| {
            lane(self.shared.clone(), self.spec.clone(), series)
                .map_ok(|batches| stream::iter(batches.into_iter().map(Ok::<_, QueryError>)))
                .try_flatten()
                .boxed()
        });
        let merged = stream::select_all(streams).map_err(Into::into);
        Box::pin(RecordBatchStreamAdapter::new(
            self.spec.schema.clone(),
            merged,
        ))
    }
}

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

/// Reads a lane's series one span at a time, yielding the batches of each span.
fn lane<D: KvDatabase>(
    shared: Arc<Shared<D>>,
    spec: Arc<ScanSpec>,
    series: Vec<SeriesId>,
) -> impl futures::Stream<Item = QueryResult<Vec<RecordBatch>>> + Send {
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
                            &spec,
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
                let batches = match rows {
                    Combined::Blocks(blocks) => to_batches(&spec, cursor.key.as_deref(), &blocks)?,
                    Combined::Slices(slices) => {
                        slice_batches(&spec, cursor.key.as_deref(), &slices)?
                    }
                };
                return Ok(Some((batches, state)));
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
                true => Some(read_index(tx, layout, spec).await?),
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

/// Converts a series' merged blocks to batches of at most `batch_size` rows.
fn to_batches(
    spec: &ScanSpec,
    key: Option<&SeriesKey>,
    blocks: &[Block],
) -> QueryResult<Vec<RecordBatch>> {
    let rows: usize = blocks.iter().map(Block::rows).sum();
    let columns: Vec<ArrayRef> = spec
        .columns
        .iter()
        .map(|column| match column {
            OutputColumn::Time => time_array(blocks, rows),
            OutputColumn::Tag(name) => tag_array(tag_value(key, name), rows),
            OutputColumn::Field(name, kind) => field_array(blocks, name, *kind, rows),
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch = RecordBatch::try_new_with_options(spec.schema.clone(), columns, &options)
        .map_err(|error| QueryError::Internal(format!("building a batch: {error}")))?;
    let size = spec.batch_size.max(1);
    Ok((0..rows)
        .step_by(size)
        .map(|offset| batch.slice(offset, size.min(rows - offset)))
        .collect())
}

fn time_array(blocks: &[Block], rows: usize) -> ArrayRef {
    let mut times = Vec::with_capacity(rows);
    for block in blocks {
        times.extend_from_slice(&block.timestamps);
    }
    Arc::new(TimestampNanosecondArray::from(times).with_timezone(crate::table::TIME_ZONE))
}

/// The value of tag `name` in a series key (none when the series lacks the tag).
pub(crate) fn tag_value<'a>(key: Option<&'a SeriesKey>, name: &str) -> Option<&'a str> {
    key?.tags
        .iter()
        .find(|(tag, _)| tag == name)
        .map(|(_, value)| value.as_str())
}

pub(crate) fn tag_array(value: Option<&str>, rows: usize) -> ArrayRef {
    let (keys, values) = match value {
        Some(value) => (
            Int32Array::from(vec![0; rows]),
            StringArray::from(vec![value]),
        ),
        None => (
            Int32Array::new_null(rows),
            StringArray::from(Vec::<&str>::new()),
        ),
    };
    Arc::new(DictionaryArray::<Int32Type>::new(keys, Arc::new(values)))
}

/// One field over the blocks; rows of blocks without the field (or, never for stored data,
/// with another type) are null.
fn field_array(blocks: &[Block], name: &str, kind: FieldType, rows: usize) -> ArrayRef {
    macro_rules! build {
        ($builder:ty, $variant:ident) => {{
            let mut builder = <$builder>::with_capacity(rows);
            for block in blocks {
                let column = block.columns.iter().find(|column| column.name == name);
                match column.map(|column| &column.values) {
                    Some(ColumnValues::$variant(values)) => {
                        for value in values {
                            builder.append_option(*value);
                        }
                    }
                    _ => builder.append_nulls(block.rows()),
                }
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    match kind {
        FieldType::Float => build!(Float64Builder, F64),
        FieldType::Integer => build!(Int64Builder, I64),
        FieldType::UInteger => build!(UInt64Builder, U64),
        FieldType::Boolean => build!(BooleanBuilder, Bool),
        FieldType::String => {
            let mut builder = StringBuilder::with_capacity(rows, rows * 8);
            for block in blocks {
                let column = block.columns.iter().find(|column| column.name == name);
                match column.map(|column| &column.values) {
                    Some(ColumnValues::Str(values)) => {
                        for value in values {
                            builder.append_option(value.as_deref());
                        }
                    }
                    _ => {
                        for _ in 0..block.rows() {
                            builder.append_null();
                        }
                    }
                }
            }
            Arc::new(builder.finish())
        }
    }
}
