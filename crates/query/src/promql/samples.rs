//! The samples of selected series, read straight from both tiers into `(ms, f64)` vectors: the
//! series' lanes of `crate::read` (the SQL scan's reader, so the dedup rule, read windows and
//! the cold tier behave the same), without DataFusion and without a row per label set.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Schema};
use futures::TryStreamExt;
use tidemark_storage::block::{Block, ColumnValues};
use tidemark_storage::cold::ColdSlice;
use tidemark_storage::tsdb::{FieldType, SeriesId, SeriesKey, TenantId, bucket_start};
use tidemark_storage::{KvDatabase, KvTransaction, RangeRequest, ReadWindow};

use super::value::PromError;
use crate::budget::Budget;
use crate::cold::{ColdScan, Combined, cold_span, read_index};
use crate::error::QueryError;
use crate::predicate::TimeRange;
use crate::read::lane;
use crate::spec::{OutputColumn, ScanSpec, Shared};

const NANOS_PER_MILLI: i64 = 1_000_000;

/// The nanosecond times whose millisecond is in `[start_ms, end_ms]`: a millisecond holds
/// every nanosecond time that floors to it.
fn nanos_range(start_ms: i64, end_ms: i64) -> TimeRange {
    TimeRange {
        start: start_ms.saturating_mul(NANOS_PER_MILLI),
        end: end_ms
            .saturating_mul(NANOS_PER_MILLI)
            .saturating_add(NANOS_PER_MILLI - 1),
    }
}

/// One measurement's part of a selection.
#[derive(Debug)]
pub(super) struct MeasurementRead {
    pub(super) measurement: String,
    /// The measurement's tag keys (the read loads each series' key for its labels).
    pub(super) tags: Vec<String>,
    /// The fields to read and their types.
    pub(super) fields: Vec<(String, FieldType)>,
    pub(super) series: Vec<SeriesId>,
}

/// A series read: its key and, per field of the read (in order), its samples in time order,
/// one per millisecond (the latest row of a millisecond wins, as sub-millisecond points share
/// a Prometheus timestamp).
pub(super) type SeriesSamples = (Arc<SeriesKey>, Vec<Vec<(i64, f64)>>);

/// Reads the samples of `read`'s series with times (ms) in `[start_ms, end_ms]`, in the
/// engine's lanes, counting every sample against `budget` as it arrives.
pub(super) async fn read_samples<D: KvDatabase>(
    shared: &Arc<Shared<D>>,
    tenant: TenantId,
    read: MeasurementRead,
    (start_ms, end_ms): (i64, i64),
    budget: &Arc<Budget>,
) -> Result<Vec<SeriesSamples>, PromError> {
    if read.series.is_empty() || read.fields.is_empty() {
        return Ok(Vec::new());
    }
    let mut columns = vec![OutputColumn::Time];
    // A tag column makes the lane load the series' key.
    columns.extend(read.tags.iter().take(1).cloned().map(OutputColumn::Tag));
    columns.extend(
        read.fields
            .iter()
            .map(|(name, kind)| OutputColumn::Field(name.clone(), *kind)),
    );
    let spec = Arc::new(ScanSpec {
        tenant,
        measurement: read.measurement.clone(),
        cold: shared
            .cold
            .clone()
            .map(|store| Arc::new(ColdScan::new(store, shared.footers.clone()))),
        schema: Arc::new(Schema::empty()),
        columns,
        time: nanos_range(start_ms, end_ms),
        batch_size: 8192,
    });
    let lanes = shared.lanes.clamp(1, read.series.len());
    let mut assigned: Vec<Vec<SeriesId>> = vec![Vec::new(); lanes];
    for (index, series) in read.series.iter().enumerate() {
        assigned[index % lanes].push(*series);
    }
    let fields: Arc<Vec<String>> = Arc::new(read.fields.into_iter().map(|(f, _)| f).collect());
    // Each lane is a task of its own, so decoding runs on every core of the query runtime.
    let tasks: Vec<_> = assigned
        .into_iter()
        .map(|series| {
            let (shared, spec, fields) = (shared.clone(), spec.clone(), fields.clone());
            let budget = Arc::clone(budget);
            tokio::spawn(read_lane(shared, spec, series, fields, budget))
        })
        .collect();
    // Aborted when this future is dropped (the query was cancelled or failed elsewhere).
    let _abort = AbortOnDrop(tasks.iter().map(|task| task.abort_handle()).collect());
    let mut found = Vec::new();
    for task in tasks {
        let lane = task
            .await
            .map_err(|error| PromError::Internal(format!("a read task failed: {error}")))??;
        found.extend(lane);
    }
    Ok(found)
}

/// Aborts the tasks it holds when dropped.
struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

async fn read_lane<D: KvDatabase>(
    shared: Arc<Shared<D>>,
    spec: Arc<ScanSpec>,
    series: Vec<SeriesId>,
    fields: Arc<Vec<String>>,
    budget: Arc<Budget>,
) -> Result<Vec<SeriesSamples>, PromError> {
    let mut found: HashMap<SeriesId, SeriesSamples> = HashMap::new();
    let mut steps = std::pin::pin!(lane(shared, spec, series));
    while let Some(step) = steps.try_next().await? {
        let (_, samples) = found.entry(step.series).or_insert_with(|| {
            // Without tags the lane loads no key: the series has no labels but its name.
            let key = step.key.clone().unwrap_or_else(|| {
                Arc::new(SeriesKey {
                    measurement: String::new(),
                    tags: Vec::new(),
                })
            });
            (key, vec![Vec::new(); fields.len()])
        });
        let loaded = append_samples(&fields, &step.rows, samples)?;
        budget.add_samples(loaded)?;
    }
    Ok(found.into_values().collect())
}

/// Appends a step's rows to the per-field samples; returns how many samples it added.
fn append_samples(
    fields: &[String],
    rows: &Combined,
    samples: &mut [Vec<(i64, f64)>],
) -> Result<u64, PromError> {
    let mut added = 0u64;
    for (field, out) in fields.iter().zip(samples.iter_mut()) {
        let before = out.len();
        match rows {
            Combined::Blocks(blocks) => {
                for block in blocks {
                    append_block(block, field, out);
                }
            }
            Combined::Slices(slices) => {
                for slice in slices {
                    append_slice(slice, field, out)?;
                }
            }
        }
        added += out.len().saturating_sub(before) as u64;
    }
    Ok(added)
}

/// Pushes a sample, keeping one per millisecond (the latest).
fn push(out: &mut Vec<(i64, f64)>, nanos: i64, value: f64) {
    let millis = nanos.div_euclid(NANOS_PER_MILLI);
    match out.last_mut() {
        Some(last) if last.0 == millis => last.1 = value,
        _ => out.push((millis, value)),
    }
}

fn append_block(block: &Block, field: &str, out: &mut Vec<(i64, f64)>) {
    let Some(column) = block.columns.iter().find(|column| column.name == field) else {
        return;
    };
    macro_rules! each {
        ($values:expr, $convert:expr) => {
            for (time, value) in block.timestamps.iter().zip($values) {
                if let Some(value) = value {
                    push(out, *time, $convert(*value));
                }
            }
        };
    }
    match &column.values {
        ColumnValues::F64(values) => each!(values, |v: f64| v),
        ColumnValues::I64(values) => each!(values, |v: i64| v as f64),
        ColumnValues::U64(values) => each!(values, |v: u64| v as f64),
        ColumnValues::Bool(values) => each!(values, |v: bool| f64::from(u8::from(v))),
        // String fields are no metrics.
        ColumnValues::Str(_) => {}
    }
}

fn append_slice(
    slice: &ColdSlice,
    field: &str,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), PromError> {
    let Some((_, array)) = slice.fields.iter().find(|(name, _)| name == field) else {
        return Ok(());
    };
    if matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
        return Ok(());
    }
    let values = cast(array, &DataType::Float64)
        .map_err(|error| QueryError::Corrupt(format!("cold column {field}: {error}")))?;
    let values = values.as_primitive::<Float64Type>();
    for row in 0..slice.rows() {
        if values.is_valid(row) {
            push(out, slice.times.value(row), values.value(row));
        }
    }
    Ok(())
}

/// Which series of one measurement hold data in a time range, for the metadata endpoints,
/// without reading samples: the first hot block in the buckets the range touches (and which
/// fields it has), or a cold file that may hold the series over the range (then every field).
/// Like Prometheus's block-granular metadata, a series with data in a bucket the range touches
/// but not in the range itself counts as present.
pub(super) struct Presence<D: KvDatabase> {
    window: ReadWindow<D>,
    layout: tidemark_storage::tsdb::Layout,
    tenant: TenantId,
    buckets: (i64, i64),
    index: Vec<tidemark_storage::cold::ColdFileEntry>,
}

/// Series checked per transaction (one one-row read each).
pub(super) const PRESENCE_CHUNK: usize = 256;

impl<D: KvDatabase> Presence<D> {
    pub(super) async fn open(
        shared: &Shared<D>,
        tenant: TenantId,
        measurement: &str,
        (start_ms, end_ms): (i64, i64),
    ) -> Result<Self, PromError> {
        let time = nanos_range(start_ms, end_ms);
        let layout = shared.layout.clone();
        let mut window = ReadWindow::new(shared.db.clone());
        let index = match shared.cold {
            Some(_) => {
                window
                    .read(|tx| {
                        let (layout, measurement) = (layout.clone(), measurement.to_owned());
                        Box::pin(async move {
                            Ok::<_, QueryError>(
                                read_index(tx, &layout, tenant, &measurement, time).await?,
                            )
                        })
                    })
                    .await?
            }
            None => Vec::new(),
        };
        Ok(Self {
            window,
            layout,
            tenant,
            buckets: (bucket_start(time.start), bucket_start(time.end)),
            index,
        })
    }

    /// For each of `series` (at most [`PRESENCE_CHUNK`]), none when it holds no data in the
    /// range, else which of `fields` it holds.
    pub(super) async fn check(
        &mut self,
        series: &[SeriesId],
        fields: &[String],
    ) -> Result<Vec<Option<Vec<bool>>>, PromError> {
        let (tenant, (first, last)) = (self.tenant, self.buckets);
        let layout = &self.layout;
        let blocks = self
            .window
            .read(|tx| {
                let (layout, series) = (layout.clone(), series.to_vec());
                Box::pin(async move {
                    let mut found = Vec::with_capacity(series.len());
                    for series in &series {
                        let (begin, end) = layout.data_range(tenant, *series, first, last);
                        let request = RangeRequest::new(begin, end).limit(1);
                        let rows = tx.get_range(&request, 1, true).await?;
                        found.push(rows.kvs.into_iter().next().map(|(_, value)| value));
                    }
                    Ok::<_, QueryError>(found)
                })
            })
            .await?;
        let mut present = Vec::with_capacity(series.len());
        for (series, block) in series.iter().zip(blocks) {
            present.push(if cold_span(&self.index, *series).is_some() {
                Some(vec![true; fields.len()])
            } else if let Some(block) = block {
                Some(block_fields(&block, fields, *series)?)
            } else {
                None
            });
        }
        Ok(present)
    }
}

fn block_fields(block: &[u8], fields: &[String], series: SeriesId) -> Result<Vec<bool>, PromError> {
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let block = Block::decode_projected(block, |name| fields.iter().any(|field| field == name))
        .map_err(|error| QueryError::Corrupt(format!("block of series {}: {error}", series.0)))?;
    Ok(fields
        .iter()
        .map(|field| block.columns.iter().any(|column| column.name == *field))
        .collect())
}
