//! OTLP/HTTP bodies: which encoding a request uses (its `Content-Type`), and the success,
//! partial-success and failure bodies in that encoding.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tidemark_ingest::otlp;

use crate::api_error::{ApiError, ErrorKind};

/// The two encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl Encoding {
    /// The request's encoding; a request without a content type is taken for protobuf, any
    /// other type gets 415.
    pub(super) fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(value) = headers.get(header::CONTENT_TYPE) else {
            return Ok(Self::Protobuf);
        };
        let media = value
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Self::Protobuf),
            "application/json" => Ok(Self::Json),
            _ => {
                let shown: String = media.chars().take(64).collect();
                Err(ApiError::new(
                    ErrorKind::UnsupportedMediaType,
                    format!(
                        "unsupported Content-Type {shown:?}; OTLP/HTTP bodies are \
                         application/x-protobuf or application/json"
                    ),
                ))
            }
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        })
    }
}

/// 200 with an `ExportMetricsServiceResponse`; `partial_success` when points were refused.
pub(super) fn success(encoding: Encoding, rejected_points: u64, message: &str) -> Response {
    let rejected = i64::try_from(rejected_points).unwrap_or(i64::MAX);
    let body = match encoding {
        Encoding::Protobuf => otlp::response_protobuf(rejected, message),
        Encoding::Json => otlp::response_json(rejected, message),
    };
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, encoding.content_type());
    response
}

/// The error's status (mapped in `api_error`, with its headers such as `Retry-After`) and a
/// `google.rpc.Status` body in the request's encoding.
pub(super) fn failure(encoding: Encoding, error: ApiError) -> Response {
    let code = error.kind.grpc_code() as i32;
    // Internal details are logged by `into_response`, not sent.
    let message = match error.kind {
        ErrorKind::Internal => "internal error".to_owned(),
        _ => error.message.clone(),
    };
    let body = match encoding {
        Encoding::Protobuf => otlp::status_protobuf(code, &message),
        Encoding::Json => otlp::status_json(code, &message),
    };
    let mut response = error.into_response();
    *response.body_mut() = Body::from(body);
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_TYPE, encoding.content_type());
    response
}
