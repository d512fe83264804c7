//! Self-contained statement handles: the database, the SQL and any bound parameters, encoded
//! in the ticket or prepared-statement handle itself.
//!
//! A handle is not secret and not trusted: whoever presents one is authorized again against the
//! database it names.

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tonic::Status;

/// Handles larger than this are refused (a statement plus one row of parameters is far less).
const MAX_HANDLE_BYTES: usize = 4 << 20;

/// A statement as a ticket or prepared-statement handle carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementHandle {
    #[serde(rename = "db")]
    /// The database the statement runs against.
    pub database: Option<String>,
    /// The SQL.
    pub sql: String,
    /// One row of parameter values, as an Arrow IPC stream in base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parameters: Option<String>,
}

impl StatementHandle {
    /// A statement without parameters.
    pub fn new(database: Option<String>, sql: String) -> Self {
        Self {
            database,
            sql,
            parameters: None,
        }
    }

    /// The handle's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Status> {
        serde_json::to_vec(self).map_err(|error| Status::internal(error.to_string()))
    }

    /// Parses a handle a client sent back.
    pub fn decode(bytes: &[u8]) -> Result<Self, Status> {
        if bytes.len() > MAX_HANDLE_BYTES {
            return Err(Status::invalid_argument("statement handle too large"));
        }
        serde_json::from_slice(bytes).map_err(|error| {
            Status::invalid_argument(format!("not a statement handle of this server: {error}"))
        })
    }

    /// Records the parameter values bound through `DoPut` (the last row sent wins).
    pub fn bind(&mut self, batches: Vec<RecordBatch>) -> Result<(), Status> {
        let Some(batch) = batches.into_iter().rev().find(|batch| batch.num_rows() > 0) else {
            self.parameters = None;
            return Ok(());
        };
        let row = batch.slice(batch.num_rows() - 1, 1);
        let mut buffer = Vec::new();
        let mut writer = StreamWriter::try_new(&mut buffer, &row.schema())
            .map_err(|error| Status::internal(error.to_string()))?;
        writer
            .write(&row)
            .and_then(|()| writer.finish())
            .map_err(|error| Status::internal(error.to_string()))?;
        drop(writer);
        self.parameters = Some(base64::engine::general_purpose::STANDARD.encode(buffer));
        Ok(())
    }

    /// The bound parameter row, if any.
    pub fn parameters(&self) -> Result<Option<RecordBatch>, Status> {
        let Some(encoded) = &self.parameters else {
            return Ok(None);
        };
        let invalid = |error: String| Status::invalid_argument(format!("bad parameters: {error}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|error| invalid(error.to_string()))?;
        let mut reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .map_err(|error| invalid(error.to_string()))?;
        match reader.next() {
            Some(batch) => Ok(Some(batch.map_err(|error| invalid(error.to_string()))?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn handles_round_trip_with_bound_parameters() {
        let mut handle = StatementHandle::new(Some("db".into()), "SELECT $1, $2".into());
        let schema = Arc::new(Schema::new(vec![
            Field::new("$1", DataType::Int64, true),
            Field::new("$2", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 7])),
                Arc::new(StringArray::from(vec!["a", "b"])),
            ],
        )
        .unwrap();
        handle.bind(vec![batch]).unwrap();
        let decoded = StatementHandle::decode(&handle.encode().unwrap()).unwrap();
        assert_eq!(decoded, handle);
        let row = decoded.parameters().unwrap().unwrap();
        assert_eq!(row.num_rows(), 1);
        let value = row.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(value.value(0), 7);
        assert!(StatementHandle::decode(b"\x0a\x03abc").is_err());
    }
}
