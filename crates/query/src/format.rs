//! Query results as bytes: the formats of InfluxDB 3's `/api/v3/query_sql`.
//!
//! `json` is one array of row objects keyed by column name (nulls omitted, integers written
//! exactly, u64 included), `jsonl` one object per line, `csv` with a header, `parquet` a whole
//! file, `pretty` ASCII tables. Every format streams: a parquet file is emitted one row group at
//! a time, and `pretty` prints a table per [`PRETTY_CHUNK_ROWS`] rows (each sized to its own
//! rows), so no result is ever held whole in memory.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::pretty::pretty_format_batches;
use futures::{Stream, StreamExt, stream};
use parquet::arrow::ArrowWriter;

use crate::error::{QueryError, QueryResult};
use crate::stream::QueryStream;

/// Rows per table of the `pretty` format.
pub const PRETTY_CHUNK_ROWS: usize = 1_000;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// A JSON array of objects.
    Json,
    /// Newline-delimited JSON objects.
    JsonLines,
    /// CSV with a header row.
    Csv,
    /// A Parquet file.
    Parquet,
    /// A human-readable table.
    Pretty,
}

impl FromStr for ResultFormat {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "json" => Self::Json,
            "jsonl" => Self::JsonLines,
            "csv" => Self::Csv,
            "parquet" => Self::Parquet,
            "pretty" => Self::Pretty,
            other => {
                return Err(QueryError::Invalid(format!(
                    "unknown format {other:?}: expected json, jsonl, csv, parquet or pretty"
                )));
            }
        })
    }
}

impl ResultFormat {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::JsonLines => "application/jsonl",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Parquet => "application/vnd.apache.parquet",
            Self::Pretty => "text/plain; charset=utf-8",
        }
    }
}

/// The schema with dictionary columns as their plain value type (what clients expect to see).
pub fn hydrated_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Dictionary(_, value) => field.as_ref().clone().with_data_type(*value.clone()),
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The batch with dictionary columns cast to their plain value type.
pub fn hydrate(batch: &RecordBatch) -> QueryResult<RecordBatch> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|field| matches!(field.data_type(), DataType::Dictionary(..)))
    {
        return Ok(batch.clone());
    }
    let schema = hydrated_schema(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| cast(column, field.data_type()))
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(|error| QueryError::Encode(error.to_string()))?;
    let options =
        datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|error| QueryError::Encode(error.to_string()))
}

/// One ASCII table of `batches`.
fn table(batches: &[RecordBatch]) -> QueryResult<Vec<u8>> {
    let table = pretty_format_batches(batches).map_err(encode_error)?;
    Ok(format!("{table}\n").into_bytes())
}

fn encode_error(error: impl std::fmt::Display) -> QueryError {
    QueryError::Encode(error.to_string())
}

/// Encodes the results; errors from the query come through as stream items.
pub fn encode(
    format: ResultFormat,
    results: QueryStream,
) -> impl Stream<Item = QueryResult<Vec<u8>>> + Send {
    let schema = hydrated_schema(&results.schema);
    let state = Encoder::new(format, schema);
    let batches = results.map(Some).chain(stream::iter([None]));
    batches
        .scan(Some(state), |state, item| {
            let output = match (state.as_mut(), item) {
                (None, _) => return futures::future::ready(None),
                (Some(encoder), Some(Ok(batch))) => hydrate(&batch).and_then(|b| encoder.batch(&b)),
                (Some(_), Some(Err(error))) => {
                    *state = None;
                    Err(error)
                }
                (Some(_), None) => state.take().map_or(Ok(Vec::new()), Encoder::finish),
            };
            futures::future::ready(Some(output))
        })
        .filter(|chunk| futures::future::ready(!matches!(chunk, Ok(bytes) if bytes.is_empty())))
}

enum Encoder {
    Json(datafusion::arrow::json::ArrayWriter<Vec<u8>>),
    JsonLines(datafusion::arrow::json::LineDelimitedWriter<Vec<u8>>),
    Csv {
        header_written: bool,
    },
    Parquet(Box<ArrowWriter<Vec<u8>>>),
    Pretty {
        pending: Vec<RecordBatch>,
        rows: usize,
        emitted: bool,
        schema: SchemaRef,
    },
    Failed(String),
}

impl Encoder {
    fn new(format: ResultFormat, schema: SchemaRef) -> Self {
        match format {
            ResultFormat::Json => Self::Json(datafusion::arrow::json::ArrayWriter::new(Vec::new())),
            ResultFormat::JsonLines => {
                Self::JsonLines(datafusion::arrow::json::LineDelimitedWriter::new(Vec::new()))
            }
            ResultFormat::Csv => Self::Csv {
                header_written: false,
            },
            ResultFormat::Parquet => match ArrowWriter::try_new(Vec::new(), schema, None) {
                Ok(writer) => Self::Parquet(Box::new(writer)),
                Err(error) => Self::Failed(error.to_string()),
            },
            ResultFormat::Pretty => Self::Pretty {
                pending: Vec::new(),
                rows: 0,
                emitted: false,
                schema,
            },
        }
    }

    fn batch(&mut self, batch: &RecordBatch) -> QueryResult<Vec<u8>> {
        match self {
            Self::Json(writer) => {
                writer.write(batch).map_err(encode_error)?;
                Ok(std::mem::take(writer.get_mut()))
            }
            Self::JsonLines(writer) => {
                writer.write(batch).map_err(encode_error)?;
                Ok(std::mem::take(writer.get_mut()))
            }
            Self::Csv { header_written } => {
                let mut out = Vec::new();
                let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(!*header_written)
                    .build(&mut out);
                writer.write(batch).map_err(encode_error)?;
                drop(writer);
                *header_written = true;
                Ok(out)
            }
            Self::Parquet(writer) => {
                writer.write(batch).map_err(encode_error)?;
                if writer.in_progress_rows() >= 1 << 20 {
                    writer.flush().map_err(encode_error)?;
                }
                Ok(std::mem::take(writer.inner_mut()))
            }
            Self::Pretty {
                pending,
                rows,
                emitted,
                ..
            } => {
                pending.push(batch.clone());
                *rows += batch.num_rows();
                if *rows < PRETTY_CHUNK_ROWS {
                    return Ok(Vec::new());
                }
                *rows = 0;
                *emitted = true;
                table(&std::mem::take(pending))
            }
            Self::Failed(error) => Err(QueryError::Encode(error.clone())),
        }
    }

    fn finish(self) -> QueryResult<Vec<u8>> {
        match self {
            Self::Json(mut writer) => {
                writer.finish().map_err(encode_error)?;
                Ok(writer.into_inner())
            }
            Self::JsonLines(mut writer) => {
                writer.finish().map_err(encode_error)?;
                Ok(writer.into_inner())
            }
            Self::Csv { .. } => Ok(Vec::new()),
            Self::Parquet(writer) => writer.into_inner().map_err(encode_error),
            Self::Pretty {
                pending,
                emitted,
                schema,
                ..
            } => match (pending.is_empty(), emitted) {
                (false, _) => table(&pending),
                (true, false) => table(&[RecordBatch::new_empty(schema)]),
                (true, true) => Ok(Vec::new()),
            },
            Self::Failed(error) => Err(QueryError::Encode(error)),
        }
    }
}
