use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use prost::Message;
use tidemark_ingest::otlp::proto::{ExportMetricsServiceResponse, Status};

use super::reply::{self, Encoding};
use crate::api_error::{ApiError, ErrorKind};

fn content_type(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
    headers
}

async fn body(response: axum::response::Response) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec()
}

#[test]
fn the_content_type_chooses_the_encoding() {
    assert_eq!(Encoding::of(&HeaderMap::new()).unwrap(), Encoding::Protobuf);
    assert_eq!(
        Encoding::of(&content_type("application/x-protobuf")).unwrap(),
        Encoding::Protobuf
    );
    assert_eq!(
        Encoding::of(&content_type("Application/JSON; charset=utf-8")).unwrap(),
        Encoding::Json
    );
    let refused = Encoding::of(&content_type("text/plain")).unwrap_err();
    assert_eq!(refused.kind, ErrorKind::UnsupportedMediaType);
}

#[tokio::test]
async fn partial_success_and_failures_speak_the_request_encoding() {
    let response = reply::success(Encoding::Protobuf, 3, "metric \"x\": refused");
    assert_eq!(response.status(), StatusCode::OK);
    let decoded = ExportMetricsServiceResponse::decode(body(response).await.as_slice()).unwrap();
    assert_eq!(decoded.partial_success.unwrap().rejected_data_points, 3);

    let response = reply::success(Encoding::Json, 0, "");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(body(response).await, b"{}");

    let busy = ApiError::new(ErrorKind::Unavailable, "ingest is overloaded; retry later");
    let response = reply::failure(Encoding::Protobuf, busy);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let status = Status::decode(body(response).await.as_slice()).unwrap();
    assert_eq!(status.code, tonic::Code::Unavailable as i32);
    assert!(status.message.contains("overloaded"));

    let hidden = ApiError::new(ErrorKind::Internal, "storage failed: secret detail");
    let response = reply::failure(Encoding::Json, hidden);
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).unwrap();
    assert_eq!(json["message"], "internal error");
}
