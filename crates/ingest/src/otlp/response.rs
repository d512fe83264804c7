//! `ExportMetricsServiceResponse` bodies. The OTLP/HTTP spec answers success with HTTP 200 and this
//! message in the request's encoding; `partial_success` is set only when something was refused
//! (or, with 0 rejected points, to carry a warning), and then the client must not retry.
//! Failures (4xx, 5xx) carry a `google.rpc.Status` in the same encoding.

use prost::Message;

use super::proto::{ExportMetricsPartialSuccess, ExportMetricsServiceResponse, Status};

fn response(rejected_points: i64, message: &str) -> ExportMetricsServiceResponse {
    let partial_success =
        (rejected_points != 0 || !message.is_empty()).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: rejected_points,
            error_message: message.to_owned(),
        });
    ExportMetricsServiceResponse { partial_success }
}

/// The binary protobuf response (`Content-Type: application/x-protobuf`).
pub fn response_protobuf(rejected_points: i64, message: &str) -> Vec<u8> {
    response(rejected_points, message).encode_to_vec()
}

/// The OTLP/JSON response (`Content-Type: application/json`): lowerCamelCase keys, the 64-bit
/// count as a decimal string, fields at their default value left out (`{}` on full success).
pub fn response_json(rejected_points: i64, message: &str) -> Vec<u8> {
    let mut body = serde_json::Map::new();
    if let Some(partial) = response(rejected_points, message).partial_success {
        let mut fields = serde_json::Map::new();
        if partial.rejected_data_points != 0 {
            let count = partial.rejected_data_points.to_string();
            fields.insert("rejectedDataPoints".into(), count.into());
        }
        if !partial.error_message.is_empty() {
            fields.insert("errorMessage".into(), partial.error_message.into());
        }
        body.insert("partialSuccess".into(), fields.into());
    }
    serde_json::Value::Object(body).to_string().into_bytes()
}

/// The body of a failed request (`google.rpc.Status`), binary protobuf. `code` is the gRPC code
/// matching the HTTP status, as OTLP/HTTP asks.
pub fn status_protobuf(code: i32, message: &str) -> Vec<u8> {
    Status {
        code,
        message: message.to_owned(),
    }
    .encode_to_vec()
}

/// The body of a failed request (`google.rpc.Status`), OTLP/JSON.
pub fn status_json(code: i32, message: &str) -> Vec<u8> {
    serde_json::json!({ "code": code, "message": message })
        .to_string()
        .into_bytes()
}
