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
/// Bound parameters larger than this are refused (one row of values).
pub(crate) const MAX_PARAMETER_BYTES: usize = 1 << 20;
/// IPC messages in bound parameters at most (a schema, dictionaries, one batch).
const MAX_PARAMETER_MESSAGES: usize = 64;

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
        check_ipc_stream(&bytes).map_err(invalid)?;
        let mut reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)
            .map_err(|error| invalid(error.to_string()))?;
        match reader.next() {
            Some(batch) => Ok(Some(batch.map_err(|error| invalid(error.to_string()))?)),
            None => Ok(None),
        }
    }
}

/// Checks that an Arrow IPC stream's messages lie within `bytes`: every length prefix and every
/// message's declared body length. The IPC reader allocates a message's body length before it
/// reads it, so an unchecked stream whose header claims a huge body would make it allocate
/// that much (and abort the process); a checked stream is at most `bytes` long.
pub(crate) fn check_ipc_stream(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() > MAX_PARAMETER_BYTES {
        return Err(format!(
            "bound parameters of {} bytes exceed the limit of {MAX_PARAMETER_BYTES}",
            bytes.len()
        ));
    }
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let mut offset = 0;
    for _ in 0..MAX_PARAMETER_MESSAGES {
        let Some(mut length) = word(offset) else {
            // Ended without an end-of-stream marker: what was read is all there is.
            return Ok(());
        };
        offset += 4;
        if length == u32::MAX {
            length = word(offset).ok_or("truncated IPC message length")?;
            offset += 4;
        }
        if length == 0 {
            return Ok(());
        }
        let end = offset
            .checked_add(length as usize)
            .filter(|end| *end <= bytes.len())
            .ok_or("an IPC message is longer than the parameters")?;
        let message = arrow::ipc::root_as_message(&bytes[offset..end])
            .map_err(|error| format!("invalid IPC message: {error}"))?;
        let body = usize::try_from(message.bodyLength())
            .map_err(|_| "an IPC message declares a negative body length".to_owned())?;
        offset = end
            .checked_add(body)
            .filter(|end| *end <= bytes.len())
            .ok_or("an IPC message declares a body longer than the parameters")?;
    }
    Err(format!(
        "bound parameters hold more than {MAX_PARAMETER_MESSAGES} IPC messages"
    ))
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

    #[test]
    fn parameters_declaring_a_huge_body_are_refused_before_reading() {
        let mut handle = StatementHandle::new(Some("db".into()), "SELECT $1".into());
        let schema = Arc::new(Schema::new(vec![Field::new("$1", DataType::Int64, true)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![7]))]).unwrap();
        handle.bind(vec![batch]).unwrap();
        let encoded = handle.parameters.clone().unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .unwrap();
        assert!(check_ipc_stream(&bytes).is_ok());
        // Find the record batch message and claim a body of 2^62 bytes in it.
        let body_length = find_body_length(&bytes).expect("a record batch message");
        bytes[body_length..body_length + 8].copy_from_slice(&(1i64 << 62).to_le_bytes());
        let error = check_ipc_stream(&bytes).unwrap_err();
        assert!(error.contains("body"), "{error}");
        handle.parameters = Some(base64::engine::general_purpose::STANDARD.encode(&bytes));
        assert!(handle.parameters().is_err());
    }

    /// The offset of the second message's body length field (the batch after the schema).
    fn find_body_length(bytes: &[u8]) -> Option<usize> {
        let mut offset = 0;
        let mut seen = 0;
        while offset + 8 <= bytes.len() {
            let length =
                u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().ok()?) as usize;
            if length == 0 {
                return None;
            }
            let message =
                arrow::ipc::root_as_message(&bytes[offset + 8..offset + 8 + length]).ok()?;
            let body = message.bodyLength();
            if seen == 1 {
                // Locate the 8 little-endian bytes of bodyLength inside the flatbuffer.
                let wanted = body.to_le_bytes();
                let start = offset + 8;
                return bytes[start..start + length]
                    .windows(8)
                    .position(|window| window == wanted)
                    .map(|at| start + at);
            }
            seen += 1;
            offset += 8 + length + body as usize;
        }
        None
    }
}
