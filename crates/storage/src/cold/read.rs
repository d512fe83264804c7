//! Reading cold files: the footer once, then only the row groups and columns a reader needs.
//!
//! Decoded rows stay Arrow arrays, so a query over cold data alone hands out zero-copy slices
//! of them (`DecodedRows::series_slice`); conversion to [`Block`]s happens only where cold rows
//! are merged with hot ones or rewritten by tiering.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, TimestampNanosecondArray};
use arrow::datatypes::{
    DataType, Decimal128Type, Field, Float64Type, Int64Type, SchemaRef, TimestampNanosecondType,
    UInt64Type,
};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::file::statistics::Statistics;

use super::file::{SERIES_COLUMN, SeriesRows, TIME_COLUMN};
use super::{ColdError, ColdStore};
use crate::block::{Block, Column, ColumnValues};
use crate::tsdb::SeriesId;

/// Tail bytes fetched on open; a bigger footer costs a second, exact fetch.
const FOOTER_FETCH: u64 = 64 * 1024;

/// An opened cold file: its parsed footer and the byte ranges of it held in memory.
#[derive(Debug, Clone)]
pub struct ColdFileReader {
    data: SparseFile,
    metadata: ArrowReaderMetadata,
    /// `(min, max)` series id of each row group.
    groups: Vec<(u64, u64)>,
}

impl ColdFileReader {
    /// Parses the footer of a whole file held in memory.
    pub fn open(bytes: Bytes) -> Result<Self, ColdError> {
        let len = bytes.len() as u64;
        Self::from_data(SparseFile {
            len,
            pieces: vec![(0, bytes)],
        })
    }

    /// Fetches and parses only the footer of a stored file of `size` bytes; row groups are
    /// fetched by [`decode_remote`](Self::decode_remote), only the projected columns. The
    /// reader keeps the parsed footer only, so it is cheap to cache.
    pub async fn open_remote(store: &ColdStore, path: &str, size: u64) -> Result<Self, ColdError> {
        let from = size.saturating_sub(FOOTER_FETCH);
        let mut tail = store.get_range(path, from..size).await?;
        let mut start = from;
        // The last 8 bytes: the footer's length (u32, little endian) and the magic `PAR1`.
        if tail.len() >= 8 {
            let length_bytes: [u8; 4] = tail[tail.len() - 8..tail.len() - 4]
                .try_into()
                .unwrap_or_default();
            let needed = u64::from(u32::from_le_bytes(length_bytes)) + 8;
            if needed > tail.len() as u64 && needed <= size {
                start = size - needed;
                tail = store.get_range(path, start..size).await?;
            }
        }
        let mut reader = Self::from_data(SparseFile {
            len: size,
            pieces: vec![(start, tail)],
        })?;
        reader.data.pieces.clear();
        Ok(reader)
    }

    fn from_data(data: SparseFile) -> Result<Self, ColdError> {
        let metadata = ArrowReaderMetadata::load(&data, Default::default())?;
        let series_index = metadata
            .schema()
            .index_of(SERIES_COLUMN)
            .map_err(|_| ColdError::Corrupt("cold file without a series_id column".into()))?;
        let groups = metadata
            .metadata()
            .row_groups()
            .iter()
            .map(|group| match group.column(series_index).statistics() {
                // Unsigned statistics are stored in the INT64 physical type's bits.
                Some(Statistics::Int64(stats)) => match (stats.min_opt(), stats.max_opt()) {
                    (Some(min), Some(max)) => (*min as u64, *max as u64),
                    _ => (0, u64::MAX),
                },
                _ => (0, u64::MAX),
            })
            .collect();
        Ok(Self {
            data,
            metadata,
            groups,
        })
    }

    /// The file's Arrow schema.
    pub fn schema(&self) -> &SchemaRef {
        self.metadata.schema()
    }

    /// Number of row groups.
    pub fn row_groups(&self) -> usize {
        self.groups.len()
    }

    /// The row groups that may hold `series`.
    pub fn groups_of(&self, series: SeriesId) -> Vec<usize> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, (min, max))| (*min..=*max).contains(&series.0))
            .map(|(index, _)| index)
            .collect()
    }

    fn projection(&self, wanted: &dyn Fn(&str) -> bool, with_tags: bool) -> Vec<usize> {
        self.metadata
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| {
                let name = field.name().as_str();
                name == SERIES_COLUMN
                    || name == TIME_COLUMN
                    || if is_tag(field) {
                        with_tags
                    } else {
                        wanted(name)
                    }
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Decodes row groups held in memory, with the fields `wanted` accepts (and tags when
    /// `with_tags`).
    pub fn decode(
        &self,
        groups: &[usize],
        wanted: impl Fn(&str) -> bool,
        with_tags: bool,
    ) -> Result<DecodedRows, ColdError> {
        let keep = self.projection(&wanted, with_tags);
        self.decode_from(self.data.clone(), groups, keep)
    }

    /// Fetches the projected column chunks of row groups from the store, then decodes them.
    pub async fn decode_remote(
        &self,
        store: &ColdStore,
        path: &str,
        groups: &[usize],
        wanted: impl Fn(&str) -> bool,
        with_tags: bool,
    ) -> Result<DecodedRows, ColdError> {
        let keep = self.projection(&wanted, with_tags);
        let leaves = self.metadata.parquet_schema().num_columns();
        // Top-level fields map to Parquet leaves one to one here (no nested types).
        let ranges: Vec<Range<u64>> = groups
            .iter()
            .filter_map(|group| self.metadata.metadata().row_groups().get(*group))
            .flat_map(|group| {
                keep.iter().filter(|leaf| **leaf < leaves).map(move |leaf| {
                    let (start, length) = group.column(*leaf).byte_range();
                    start..start + length
                })
            })
            .filter(|range| !self.data.covers(range))
            .collect();
        let mut data = self.data.clone();
        if !ranges.is_empty() {
            let fetched = store.get_ranges(path, &ranges).await?;
            data.pieces
                .extend(ranges.iter().map(|range| range.start).zip(fetched));
        }
        self.decode_from(data, groups, keep)
    }

    fn decode_from(
        &self,
        data: SparseFile,
        groups: &[usize],
        keep: Vec<usize>,
    ) -> Result<DecodedRows, ColdError> {
        let row_groups = self.metadata.metadata().row_groups();
        if groups.iter().any(|group| *group >= row_groups.len()) {
            return Err(ColdError::Corrupt("row group out of range".into()));
        }
        let rows: usize = groups
            .iter()
            .map(|group| row_groups[*group].num_rows().max(0) as usize)
            .sum();
        let mask = ProjectionMask::roots(self.metadata.parquet_schema(), keep);
        // One batch for all the rows, so the arrays need no concatenation.
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(data, self.metadata.clone())
                .with_row_groups(groups.to_vec())
                .with_projection(mask)
                .with_batch_size(rows.max(1))
                .build()?;
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(self.metadata.schema().clone()),
            1 => batches.into_iter().next().unwrap_or_else(|| unreachable!()),
            _ => arrow::compute::concat_batches(&batches[0].schema(), &batches)?,
        };
        DecodedRows::new(&batch)
    }
}

fn is_tag(field: &Field) -> bool {
    matches!(field.data_type(), DataType::Dictionary(..))
}

fn wrong(column: &str) -> ColdError {
    ColdError::Corrupt(format!("cold file column {column} has an unexpected type"))
}

/// Decoded rows of a cold file, sorted by series id then time, as Arrow arrays.
#[derive(Debug, Clone)]
pub struct DecodedRows {
    series: Vec<u64>,
    times: TimestampNanosecondArray,
    /// Tag columns (only when asked for), as strings.
    tags: Vec<(String, ArrayRef)>,
    /// Field columns, each in the type the field was written as.
    fields: Vec<(String, ArrayRef)>,
}

/// The rows of one series from one file, as zero-copy Arrow slices.
#[derive(Debug, Clone)]
pub struct ColdSlice {
    /// Timestamps (ns, UTC).
    pub times: TimestampNanosecondArray,
    /// Fields present in the file, by name.
    pub fields: Vec<(String, ArrayRef)>,
}

impl ColdSlice {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.times.len()
    }

    /// The slice as a block (where it must merge with hot data).
    pub fn to_block(&self) -> Block {
        Block {
            timestamps: self.times.values().to_vec(),
            columns: self
                .fields
                .iter()
                .filter_map(|(name, array)| {
                    Some(Column {
                        name: name.clone(),
                        values: column_values(array)?,
                    })
                })
                .collect(),
        }
    }
}

impl DecodedRows {
    fn new(batch: &RecordBatch) -> Result<Self, ColdError> {
        let schema = batch.schema();
        let mut series = None;
        let mut times = None;
        let (mut tags, mut fields) = (Vec::new(), Vec::new());
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            let name = field.name().as_str();
            if name == SERIES_COLUMN {
                let ids = array
                    .as_primitive_opt::<UInt64Type>()
                    .ok_or_else(|| wrong(name))?;
                series = Some(ids.values().to_vec());
            } else if name == TIME_COLUMN {
                let values = array
                    .as_primitive_opt::<TimestampNanosecondType>()
                    .ok_or_else(|| wrong(name))?;
                times = Some(values.clone().with_timezone("UTC"));
            } else if is_tag(field) {
                tags.push((
                    name.to_string(),
                    arrow::compute::cast(array, &DataType::Utf8)?,
                ));
            } else {
                fields.push((name.to_string(), field_array(field, array)?));
            }
        }
        let series = series.ok_or_else(|| wrong(SERIES_COLUMN))?;
        let times = times.ok_or_else(|| wrong(TIME_COLUMN))?;
        if series.len() != times.len() {
            return Err(ColdError::Corrupt(
                "cold file columns differ in length".into(),
            ));
        }
        Ok(Self {
            series,
            times,
            tags,
            fields,
        })
    }

    /// Row range of one series with `start <= time <= end`. A file not written by Tidemark may
    /// be unsorted: the bounds stay ordered and in range whatever the binary searches return,
    /// so such a file gives wrong rows, never a panic.
    fn range_of(&self, series: SeriesId, start: i64, end: i64) -> Range<usize> {
        let from = self.series.partition_point(|id| *id < series.0);
        let to = self.series.partition_point(|id| *id <= series.0).max(from);
        let times = &self.times.values()[from..to];
        let first = from + times.partition_point(|time| *time < start);
        let last = (from + times.partition_point(|time| *time <= end)).max(first);
        first..last
    }

    /// The rows of one series with `start <= time <= end`, zero-copy.
    pub fn series_slice(&self, series: SeriesId, start: i64, end: i64) -> ColdSlice {
        let range = self.range_of(series, start, end);
        let length = range.end - range.start;
        ColdSlice {
            times: self.times.slice(range.start, length),
            fields: self
                .fields
                .iter()
                .map(|(name, array)| (name.clone(), array.slice(range.start, length)))
                .collect(),
        }
    }

    /// The same rows as a block.
    pub fn series_block(&self, series: SeriesId, start: i64, end: i64) -> Block {
        self.series_slice(series, start, end).to_block()
    }

    /// Splits the rows into one [`SeriesRows`] per series (tags taken from its first row).
    pub fn into_series(self) -> Vec<SeriesRows> {
        let rows = self.series.len();
        let mut out = Vec::new();
        let mut from = 0;
        while from < rows {
            let id = self.series[from];
            let to = self.series[from..]
                .iter()
                .position(|other| *other != id)
                .map_or(rows, |offset| from + offset);
            let tags = self
                .tags
                .iter()
                .filter_map(|(name, values)| {
                    let values = values.as_string_opt::<i32>()?;
                    (!values.is_null(from)).then(|| (name.clone(), values.value(from).to_string()))
                })
                .collect();
            let slice = ColdSlice {
                times: self.times.slice(from, to - from),
                fields: self
                    .fields
                    .iter()
                    .map(|(name, array)| (name.clone(), array.slice(from, to - from)))
                    .collect(),
            };
            out.push(SeriesRows {
                series: SeriesId(id),
                tags,
                block: slice.to_block(),
            });
            from = to;
        }
        out
    }
}

/// A field column in the type it was written as: decimal-stored floats become f64 again, by
/// the same division the encoder's exactness check used.
fn field_array(field: &Field, array: &ArrayRef) -> Result<ArrayRef, ColdError> {
    let name = field.name();
    Ok(match field.data_type() {
        DataType::Decimal128(_, scale) => {
            let factor = 10f64.powi(i32::from(*scale));
            let decimals = array
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(|| wrong(name))?;
            let floats = decimals.unary::<_, Float64Type>(|value| value as f64 / factor);
            Arc::new(floats)
        }
        DataType::Float64
        | DataType::Int64
        | DataType::UInt64
        | DataType::Boolean
        | DataType::Utf8 => array.clone(),
        _ => return Err(wrong(name)),
    })
}

fn column_values(array: &ArrayRef) -> Option<ColumnValues> {
    Some(match array.data_type() {
        DataType::Float64 => {
            ColumnValues::F64(array.as_primitive_opt::<Float64Type>()?.iter().collect())
        }
        DataType::Int64 => {
            ColumnValues::I64(array.as_primitive_opt::<Int64Type>()?.iter().collect())
        }
        DataType::UInt64 => {
            ColumnValues::U64(array.as_primitive_opt::<UInt64Type>()?.iter().collect())
        }
        DataType::Boolean => ColumnValues::Bool(array.as_boolean_opt()?.iter().collect()),
        DataType::Utf8 => ColumnValues::Str(
            array
                .as_string_opt::<i32>()?
                .iter()
                .map(|value| value.map(str::to_string))
                .collect(),
        ),
        _ => return None,
    })
}

/// Some byte ranges of a file of known length: what the Parquet reader may read.
#[derive(Debug, Clone)]
struct SparseFile {
    len: u64,
    pieces: Vec<(u64, Bytes)>,
}

impl SparseFile {
    fn covers(&self, range: &Range<u64>) -> bool {
        self.piece(range.start, range.end - range.start).is_some()
    }

    fn piece(&self, start: u64, length: u64) -> Option<Bytes> {
        self.pieces.iter().find_map(|(offset, bytes)| {
            let from = start.checked_sub(*offset)?;
            let to = from.checked_add(length)?;
            (to <= bytes.len() as u64).then(|| bytes.slice(from as usize..to as usize))
        })
    }
}

impl parquet::file::reader::Length for SparseFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl parquet::file::reader::ChunkReader for SparseFile {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        self.pieces
            .iter()
            .find_map(|(offset, bytes)| {
                let from = start.checked_sub(*offset)?;
                (from < bytes.len() as u64).then(|| bytes.slice(from as usize..).reader())
            })
            .ok_or_else(|| {
                parquet::errors::ParquetError::General(format!("byte {start} not fetched"))
            })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.piece(start, length as u64).ok_or_else(|| {
            parquet::errors::ParquetError::General(format!("bytes {start}+{length} not fetched"))
        })
    }
}
