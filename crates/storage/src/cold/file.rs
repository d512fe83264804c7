//! The cold file format: one Parquet file holds the rows of some series of one measurement over
//! one time partition, sorted by series id and then time.
//!
//! Columns, in order: `series_id` (u64), the tags (sorted by name, dictionary-encoded strings),
//! the fields (sorted by name, typed as written) and `time` (ns, UTC). The file is readable by
//! any Parquet tool (DuckDB, pyarrow) without Tidemark.
//!
//! Row groups end at a series boundary once they hold [`ROW_GROUP_ROWS`] rows, so the
//! `series_id` statistics of a row group name few series and a query for one series decodes
//! little else. Float columns whose values all carry at most [`MAX_DECIMAL_SCALE`] decimals are
//! stored as `DECIMAL(18, s)` on INT64 with delta encoding: lossless (see [`decimal_scale`]),
//! about a third of the bytes of plain doubles on metrics data, and exact to sum. Such a column
//! carries the field metadata `tidemark.type = float` and is read back as the f64 that was
//! written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    StringDictionaryBuilder, TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::ColdError;
use crate::block::{Block, Column, ColumnValues};
use crate::tsdb::SeriesId;

/// The series id column.
pub const SERIES_COLUMN: &str = "series_id";
/// The time column.
pub const TIME_COLUMN: &str = "time";
/// Field metadata key marking a column stored in another physical type than it was written.
pub const TYPE_METADATA: &str = "tidemark.type";
/// A row group is closed at the first series boundary after this many rows.
pub const ROW_GROUP_ROWS: usize = 8_192;
/// Most decimals a float column may carry to be stored as a decimal.
pub const MAX_DECIMAL_SCALE: u32 = 9;
/// The decimal precision used: the most an INT64 holds.
const DECIMAL_PRECISION: u8 = 18;

/// The rows of one series for a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRows {
    /// The series id.
    pub series: SeriesId,
    /// Its tags (the measurement is the file's).
    pub tags: Vec<(String, String)>,
    /// Its rows, sorted by time, one per timestamp.
    pub block: Block,
}

/// A file ready to upload, with the facts the cold index records.
#[derive(Debug, Clone)]
pub struct EncodedFile {
    /// The Parquet bytes.
    pub bytes: Bytes,
    /// Rows.
    pub rows: u64,
    /// Present field values.
    pub values: u64,
    /// Smallest and largest timestamp.
    pub time_range: (i64, i64),
    /// Smallest and largest series id.
    pub series_range: (u64, u64),
}

/// Encodes series (sorted by id, each sorted by time) as one cold file.
pub fn encode_file(measurement: &str, series: &[SeriesRows]) -> Result<EncodedFile, ColdError> {
    let tag_names: BTreeSet<&str> = series
        .iter()
        .flat_map(|rows| rows.tags.iter().map(|(name, _)| name.as_str()))
        .collect();
    let mut field_kinds: BTreeMap<&str, &ColumnValues> = BTreeMap::new();
    for rows in series {
        for column in &rows.block.columns {
            field_kinds
                .entry(column.name.as_str())
                .or_insert(&column.values);
        }
    }
    let mut scales = BTreeMap::new();
    for name in field_kinds.keys() {
        if let ColumnValues::F64(_) = field_kinds[name] {
            let values = series.iter().flat_map(|rows| {
                rows.block
                    .columns
                    .iter()
                    .filter(move |column| column.name == *name)
                    .flat_map(|column| match &column.values {
                        ColumnValues::F64(values) => values.as_slice(),
                        _ => &[],
                    })
                    .flatten()
                    .copied()
            });
            if let Some(scale) = decimal_scale(values) {
                scales.insert(*name, scale);
            }
        }
    }
    let mut fields = vec![Field::new(SERIES_COLUMN, DataType::UInt64, false)];
    for tag in &tag_names {
        fields.push(Field::new(
            *tag,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ));
    }
    for (name, kind) in &field_kinds {
        let field = match (kind, scales.get(name)) {
            (ColumnValues::F64(_), Some(scale)) => Field::new(
                *name,
                DataType::Decimal128(DECIMAL_PRECISION, *scale as i8),
                true,
            )
            .with_metadata([(TYPE_METADATA.to_string(), "float".to_string())].into()),
            (ColumnValues::F64(_), None) => Field::new(*name, DataType::Float64, true),
            (ColumnValues::I64(_), _) => Field::new(*name, DataType::Int64, true),
            (ColumnValues::U64(_), _) => Field::new(*name, DataType::UInt64, true),
            (ColumnValues::Bool(_), _) => Field::new(*name, DataType::Boolean, true),
            (ColumnValues::Str(_), _) => Field::new(*name, DataType::Utf8, true),
        };
        fields.push(field);
    }
    fields.push(Field::new(
        TIME_COLUMN,
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        false,
    ));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let props = writer_properties(measurement, &schema);
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props))?;
    let mut summary = EncodedFile {
        bytes: Bytes::new(),
        rows: 0,
        values: 0,
        time_range: (i64::MAX, i64::MIN),
        series_range: (u64::MAX, u64::MIN),
    };
    let mut group_start = 0;
    let mut group_rows = 0;
    for (index, rows) in series.iter().enumerate() {
        group_rows += rows.block.rows();
        summary.rows += rows.block.rows() as u64;
        summary.values += rows.block.field_values() as u64;
        if let (Some(first), Some(last)) =
            (rows.block.timestamps.first(), rows.block.timestamps.last())
        {
            summary.time_range.0 = summary.time_range.0.min(*first);
            summary.time_range.1 = summary.time_range.1.max(*last);
        }
        summary.series_range.0 = summary.series_range.0.min(rows.series.0);
        summary.series_range.1 = summary.series_range.1.max(rows.series.0);
        if group_rows >= ROW_GROUP_ROWS || index + 1 == series.len() {
            let batch = to_batch(&schema, &series[group_start..=index], &scales)?;
            writer.write(&batch)?;
            writer.flush()?;
            group_start = index + 1;
            group_rows = 0;
        }
    }
    writer.close()?;
    summary.bytes = Bytes::from(out);
    Ok(summary)
}

fn writer_properties(measurement: &str, schema: &Schema) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        // Row groups are cut by `encode_file` at series boundaries; this only caps a huge series.
        .set_max_row_group_row_count(Some(1 << 20))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "tidemark.measurement".to_string(),
            measurement.to_string(),
        )]));
    for field in schema.fields() {
        let delta = matches!(
            field.data_type(),
            DataType::Int64 | DataType::UInt64 | DataType::Decimal128(..) | DataType::Timestamp(..)
        ) && field.name() != SERIES_COLUMN;
        if delta {
            let path = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
        }
    }
    builder.build()
}

/// The smallest number of decimals `s <= MAX_DECIMAL_SCALE` with which every value is exactly
/// `i / 10^s` for an integer `|i| < 2^53`, or `None`.
///
/// Lossless because IEEE division is correctly rounded: `i` and `10^s` are exact doubles, so
/// `i as f64 / 10^s` is the double nearest to the decimal, which is the value that was parsed
/// from it. The check compares bits, so `-0.0`, NaN and infinities never qualify.
pub fn decimal_scale(values: impl IntoIterator<Item = f64>) -> Option<u32> {
    let mut scale = 0;
    let mut any = false;
    for value in values {
        any = true;
        while !fits_scale(value, scale) {
            scale += 1;
            if scale > MAX_DECIMAL_SCALE {
                return None;
            }
        }
    }
    any.then_some(scale)
}

fn fits_scale(value: f64, scale: u32) -> bool {
    let factor = 10f64.powi(scale as i32);
    let scaled = (value * factor).round();
    // Through the integer, as the reader sees it (so -0.0, which becomes 0, does not qualify).
    scaled.abs() < (1u64 << 53) as f64
        && ((scaled as i64) as f64 / factor).to_bits() == value.to_bits()
}

fn to_batch(
    schema: &SchemaRef,
    series: &[SeriesRows],
    scales: &BTreeMap<&str, u32>,
) -> Result<RecordBatch, ColdError> {
    let rows: usize = series.iter().map(|rows| rows.block.rows()).sum();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let array: ArrayRef = if name == SERIES_COLUMN {
            let ids = series
                .iter()
                .flat_map(|rows| std::iter::repeat_n(rows.series.0, rows.block.rows()));
            Arc::new(UInt64Array::from_iter_values(ids))
        } else if name == TIME_COLUMN {
            let times = series
                .iter()
                .flat_map(|rows| rows.block.timestamps.iter().copied());
            Arc::new(TimestampNanosecondArray::from_iter_values(times).with_timezone("UTC"))
        } else if matches!(field.data_type(), DataType::Dictionary(..)) {
            let mut builder = StringDictionaryBuilder::<Int32Type>::new();
            for rows in series {
                let value = rows
                    .tags
                    .iter()
                    .find(|(tag, _)| tag == name)
                    .map(|(_, value)| value.as_str());
                for _ in 0..rows.block.rows() {
                    builder.append_option(value);
                }
            }
            Arc::new(builder.finish())
        } else {
            field_array(
                series,
                name,
                field.data_type(),
                scales.get(name).copied(),
                rows,
            )?
        };
        columns.push(array);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn field_array(
    series: &[SeriesRows],
    name: &str,
    data_type: &DataType,
    scale: Option<u32>,
    rows: usize,
) -> Result<ArrayRef, ColdError> {
    macro_rules! collect {
        ($variant:ident, $map:expr) => {{
            let mut out = Vec::with_capacity(rows);
            for rows in series {
                match rows.block.columns.iter().find(|column| column.name == name) {
                    Some(Column {
                        values: ColumnValues::$variant(values),
                        ..
                    }) => out.extend(values.iter().map(|value| value.clone().map($map))),
                    _ => out.extend(std::iter::repeat_n(None, rows.block.rows())),
                }
            }
            out
        }};
    }
    Ok(match (data_type, scale) {
        (DataType::Decimal128(precision, scale_i8), Some(scale)) => {
            let factor = 10f64.powi(scale as i32);
            let values = collect!(F64, |value: f64| (value * factor).round() as i128);
            Arc::new(Decimal128Array::from(values).with_precision_and_scale(*precision, *scale_i8)?)
        }
        (DataType::Float64, _) => Arc::new(Float64Array::from(collect!(F64, |v: f64| v))),
        (DataType::Int64, _) => Arc::new(Int64Array::from(collect!(I64, |v: i64| v))),
        (DataType::UInt64, _) => Arc::new(UInt64Array::from(collect!(U64, |v: u64| v))),
        (DataType::Boolean, _) => Arc::new(BooleanArray::from(collect!(Bool, |v: bool| v))),
        (DataType::Utf8, _) => Arc::new(StringArray::from(collect!(Str, |v: String| v))),
        (other, _) => {
            return Err(ColdError::Corrupt(format!(
                "no cold encoding for column {name} of type {other}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cold::{ColdFileReader, ColdStore};
    use parquet::basic::Type as PhysicalType;

    fn series(
        id: u64,
        host: &str,
        times: std::ops::Range<i64>,
        value: impl Fn(i64) -> f64,
    ) -> SeriesRows {
        let timestamps: Vec<i64> = times.collect();
        let usage = timestamps.iter().map(|t| Some(value(*t))).collect();
        let count = timestamps
            .iter()
            .map(|t| (t % 3 != 0).then_some(*t))
            .collect();
        SeriesRows {
            series: SeriesId(id),
            tags: vec![("host".into(), host.into())],
            block: Block {
                timestamps,
                columns: vec![
                    Column {
                        name: "count".into(),
                        values: ColumnValues::I64(count),
                    },
                    Column {
                        name: "usage".into(),
                        values: ColumnValues::F64(usage),
                    },
                ],
            },
        }
    }

    #[test]
    fn decimal_scale_is_exact() {
        assert_eq!(decimal_scale([1.0, 2.0, -7.0]), Some(0));
        assert_eq!(decimal_scale([12.34, 0.1, 99.99]), Some(2));
        assert_eq!(decimal_scale([0.1 + 0.2]), None);
        assert_eq!(decimal_scale([-0.0]), None);
        assert_eq!(decimal_scale([f64::NAN]), None);
        assert_eq!(decimal_scale([1e300]), None);
        assert_eq!(decimal_scale(std::iter::empty()), None);
    }

    #[test]
    fn files_round_trip_with_decimal_floats_and_unsigned_series_ids() {
        let big = u64::MAX - 5;
        let rows = vec![
            series(7, "a", 0..10_000, |t| (t % 1000) as f64 / 100.0),
            series(1 << 40, "b", 5..9_000, |t| t as f64 * 0.25),
            series(big, "c", 100..200, |t| -(t as f64) / 10.0),
        ];
        let file = encode_file("cpu", &rows).unwrap();
        assert_eq!(file.rows, 10_000 + 8_995 + 100);
        assert_eq!(file.series_range, (7, big));
        let reader = ColdFileReader::open(file.bytes.clone()).unwrap();
        // Groups end at series boundaries once they reach ROW_GROUP_ROWS.
        assert_eq!(reader.row_groups(), 3);
        assert_eq!(reader.groups_of(SeriesId(7)), vec![0]);
        assert_eq!(reader.groups_of(SeriesId(big)), vec![2]);
        let usage = reader.schema().field_with_name("usage").unwrap();
        assert_eq!(usage.data_type(), &DataType::Decimal128(18, 2));
        let metadata = parquet::arrow::arrow_reader::ArrowReaderMetadata::load(
            &file.bytes,
            Default::default(),
        )
        .unwrap();
        let parquet_usage = metadata
            .parquet_schema()
            .columns()
            .iter()
            .find(|column| column.name() == "usage")
            .unwrap()
            .physical_type();
        assert_eq!(parquet_usage, PhysicalType::INT64);
        let all = reader.decode(&[0, 1, 2], |_| true, true).unwrap();
        assert_eq!(all.into_series(), rows);
        let one = reader
            .decode(
                &reader.groups_of(SeriesId(big)),
                |name| name == "usage",
                false,
            )
            .unwrap();
        let block = one.series_block(SeriesId(big), 150, 160);
        assert_eq!(block.timestamps, (150..=160).collect::<Vec<_>>());
        assert_eq!(block.columns.len(), 1);
        assert_eq!(
            block.columns[0].values,
            ColumnValues::F64((150..=160).map(|t| Some(-(t as f64) / 10.0)).collect())
        );
    }

    #[tokio::test]
    async fn remote_reads_fetch_the_footer_and_projected_chunks_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = ColdStore::local(dir.path()).unwrap();
        let rows = vec![
            series(1, "a", 0..9_000, |t| t as f64),
            series(2, "b", 0..9_000, |t| t as f64 / 4.0),
        ];
        let file = encode_file("cpu", &rows).unwrap();
        store.put("f.parquet", file.bytes.clone()).await.unwrap();
        let reader = ColdFileReader::open_remote(&store, "f.parquet", file.bytes.len() as u64)
            .await
            .unwrap();
        let groups = reader.groups_of(SeriesId(2));
        assert_eq!(groups, vec![1]);
        let decoded = reader
            .decode_remote(&store, "f.parquet", &groups, |name| name == "usage", false)
            .await
            .unwrap();
        let block = decoded.series_block(SeriesId(2), 0, i64::MAX);
        assert_eq!(block.rows(), 9_000);
        assert_eq!(block.columns.len(), 1);
        assert_eq!(block.columns[0].values, rows[1].block.columns[1].values);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A damaged object (flipped, truncated or extended bytes) fails to open or decodes to
        /// something; it never panics.
        #[test]
        fn damaged_files_never_panic(
            flips in proptest::collection::vec((0usize..100_000, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..100_000,
        ) {
            let rows = vec![
                series(3, "a", 0..300, |t| t as f64 / 4.0),
                series(9, "b", 0..300, |t| (t as f64).sqrt()),
            ];
            let mut bytes = encode_file("m", &rows).unwrap().bytes.to_vec();
            for (at, value) in flips {
                let at = at % bytes.len();
                bytes[at] ^= value;
            }
            bytes.truncate(bytes.len() - cut % 64);
            if let Ok(reader) = ColdFileReader::open(bytes.into()) {
                let groups: Vec<usize> = (0..reader.row_groups()).collect();
                if let Ok(decoded) = reader.decode(&groups, |_| true, true) {
                    let _ = decoded.series_block(SeriesId(3), 0, 100);
                    let _ = decoded.into_series();
                }
            }
        }
    }

    #[test]
    fn floats_with_many_decimals_stay_doubles() {
        let rows = vec![series(1, "a", 0..100, |t| (t as f64).sqrt())];
        let file = encode_file("m", &rows).unwrap();
        let reader = ColdFileReader::open(file.bytes).unwrap();
        assert_eq!(
            reader
                .schema()
                .field_with_name("usage")
                .unwrap()
                .data_type(),
            &DataType::Float64
        );
        assert_eq!(
            reader.decode(&[0], |_| true, true).unwrap().into_series(),
            rows
        );
    }
}
