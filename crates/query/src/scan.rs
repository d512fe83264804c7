//! Reading the hot tier of selected series as Arrow record batches.
//!
//! A scan partition owns some series and reads them in a few concurrent lanes, each lane with
//! its own [`ReadWindow`]. A series is read a span of buckets at a time; every bucket is read
//! whole at one read version and merged under the dedup rule, and a window is replaced only
//! between buckets (a bucket cut by a failed or expired transaction is re-read from its start).
//! So a scan never hits FDB's 5 s limit and never skips or repeats a row.

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
    pub(crate) schema: SchemaRef,
    pub(crate) columns: Vec<OutputColumn>,
    pub(crate) time: TimeRange,
    pub(crate) batch_size: usize,
}

impl ScanSpec {
    fn wants_field(&self, name: &str) -> bool {
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
}

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
                let (blocks, next_bucket) = read_buckets(
                    &mut state.window,
                    &shared.layout,
                    &spec,
                    cursor.series,
                    (cursor.next_bucket, last_bucket),
                )
                .await?;
                if let Some(next_bucket) = next_bucket {
                    state.cursor = Some(Cursor {
                        next_bucket,
                        ..cursor_clone(&cursor)
                    });
                }
                if blocks.iter().all(|block| block.rows() == 0) {
                    continue;
                }
                if spec.wants_tags() && cursor.key.is_none() {
                    let key = series_key(&shared, &spec, &mut state.window, cursor.series).await?;
                    cursor.key = Some(key.clone());
                    if let Some(next) = state.cursor.as_mut() {
                        next.key = Some(key);
                    }
                }
                let batches = to_batches(&spec, cursor.key.as_deref(), &blocks)?;
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
    let mut attempts = 0;
    loop {
        match shared
            .series
            .key(window, &shared.layout, spec.tenant, series)
            .await
        {
            Err(error) if error.is_retryable() && attempts < MAX_RETRIES => {
                attempts += 1;
                window.invalidate();
            }
            other => return other,
        }
    }
}

/// Reads the buckets of a series starting in `[first, last]`, at most [`BUCKETS_PER_STEP`] of
/// them: one merged block per bucket holding rows in the time range, and the first bucket left
/// for the next step (none when the series is done).
async fn read_buckets<D: KvDatabase>(
    window: &mut ReadWindow<D>,
    layout: &Layout,
    spec: &ScanSpec,
    series: SeriesId,
    (first, last): (i64, i64),
) -> QueryResult<(Vec<Block>, Option<i64>)> {
    let (begin, end) = layout.data_range(spec.tenant, series, first, last);
    let mut buckets_seen = 0;
    let wanted = |name: &str| spec.wants_field(name);
    let mut request = RangeRequest::new(begin, end);
    let mut iteration = 1;
    let mut merged = Vec::new();
    let mut bucket: Option<(i64, Vec<Block>)> = None;
    let mut failures = 0;
    loop {
        let restart = window.will_renew();
        let result = match window.tx() {
            Ok(tx) => tx.get_range(&request, iteration, true).await,
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
                    return Ok((merged, Some(key_bucket)));
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
    Ok((merged, None))
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
            OutputColumn::Tag(name) => {
                let value = key.and_then(|key| {
                    key.tags
                        .iter()
                        .find(|(tag, _)| tag == name)
                        .map(|(_, value)| value.as_str())
                });
                tag_array(value, rows)
            }
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

fn tag_array(value: Option<&str>, rows: usize) -> ArrayRef {
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
