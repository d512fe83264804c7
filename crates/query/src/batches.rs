//! Arrow record batches of a series' rows, for the SQL tables: merged hot blocks converted, and
//! cold slices passed through without copying their values.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanBuilder, DictionaryArray, Float64Builder, Int32Array, Int64Builder,
    RecordBatch, RecordBatchOptions, StringArray, StringBuilder, TimestampNanosecondArray,
    UInt64Builder, new_null_array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::Int32Type;
use tidemark_storage::block::{Block, ColumnValues};
use tidemark_storage::cold::ColdSlice;
use tidemark_storage::tsdb::{FieldType, SeriesKey};

use crate::error::{QueryError, QueryResult};
use crate::spec::{OutputColumn, ScanSpec};

/// Converts a series' merged blocks to batches of at most `batch_size` rows.
pub(crate) fn to_batches(
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
    Arc::new(TimestampNanosecondArray::from(times).with_timezone(crate::schema::TIME_ZONE))
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

/// Output batches straight from cold slices (no copy of the field values).
pub(crate) fn slice_batches(
    spec: &ScanSpec,
    key: Option<&SeriesKey>,
    slices: &[ColdSlice],
) -> QueryResult<Vec<RecordBatch>> {
    let size = spec.batch_size.max(1);
    let mut out = Vec::new();
    for slice in slices {
        let rows = slice.rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(spec.columns.len());
        for (column, field) in spec.columns.iter().zip(spec.schema.fields()) {
            let array: ArrayRef = match column {
                OutputColumn::Time => Arc::new(slice.times.clone()),
                OutputColumn::Tag(name) => tag_array(tag_value(key, name), rows),
                OutputColumn::Field(name, _) => {
                    match slice
                        .fields
                        .iter()
                        .find(|(field_name, _)| field_name == name)
                    {
                        Some((_, array)) if array.data_type() == field.data_type() => array.clone(),
                        Some((_, array)) => cast(array, field.data_type()).map_err(|error| {
                            QueryError::Corrupt(format!("cold column {name}: {error}"))
                        })?,
                        None => new_null_array(field.data_type(), rows),
                    }
                }
            };
            columns.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(spec.schema.clone(), columns, &options)
            .map_err(|error| QueryError::Internal(format!("building a batch: {error}")))?;
        out.extend(
            (0..rows)
                .step_by(size)
                .map(|offset| batch.slice(offset, size.min(rows - offset))),
        );
    }
    Ok(out)
}
