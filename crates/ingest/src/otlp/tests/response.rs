use crate::otlp::proto::ExportMetricsServiceResponse;
use crate::otlp::{response_json, response_protobuf};
use prost::Message;

#[test]
fn success_is_empty_and_partial_success_round_trips() {
    assert!(response_protobuf(0, "").is_empty());
    assert_eq!(response_json(0, ""), b"{}");
    let bytes = response_protobuf(3, "metric \"x\": bad");
    let decoded = ExportMetricsServiceResponse::decode(bytes.as_slice()).unwrap();
    let partial = decoded.partial_success.unwrap();
    assert_eq!(partial.rejected_data_points, 3);
    assert_eq!(partial.error_message, "metric \"x\": bad");
    let json: serde_json::Value = serde_json::from_slice(&response_json(3, "bad")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "bad"}})
    );
    let warning: serde_json::Value = serde_json::from_slice(&response_json(0, "note")).unwrap();
    assert_eq!(
        warning,
        serde_json::json!({"partialSuccess": {"errorMessage": "note"}})
    );
}
