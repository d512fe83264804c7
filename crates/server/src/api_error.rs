//! The one user-facing error type, and its mapping to HTTP and gRPC status codes.
//!
//! Every handler, HTTP or Flight SQL, reports failures as an [`ApiError`]: a kind (which fixes
//! the HTTP status and the gRPC code), a message that names what was wrong, and for writes the
//! rejected lines. How an HTTP body looks depends on which API the client speaks (InfluxDB v1, v2
//! or v3), so rendering takes the [`Dialect`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tidemark_ingest::{IngestError, LineError};
use tidemark_query::QueryError;
use tidemark_query::promql::PromError;
use tidemark_storage::KvError;

/// What kind of failure, independent of protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or its content is invalid (400).
    InvalidArgument,
    /// No credentials, or unknown credentials (401).
    Unauthenticated,
    /// Valid credentials without the needed permission (403).
    PermissionDenied,
    /// The database or resource does not exist (404).
    NotFound,
    /// The request conflicts with work in progress (409), e.g. a tiering pass already running.
    Conflict,
    /// The body did not arrive in time (408).
    RequestTimeout,
    /// The body is larger than allowed (413).
    PayloadTooLarge,
    /// The body's content type or encoding is not supported (415).
    UnsupportedMediaType,
    /// The request is well-formed but cannot be carried out as asked (422): PromQL's
    /// `execution` errors such as many-to-many matching.
    Unprocessable,
    /// The request needs more than its share of memory or time (429; retrying as is won't help).
    ResourceExhausted,
    /// The server is overloaded or storage is briefly unavailable: retry (503 + Retry-After).
    Unavailable,
    /// The query ran past its deadline (503, gRPC `DEADLINE_EXCEEDED`, Prometheus `timeout`).
    Timeout,
    /// Anything else (500); details go to the log, not the client.
    Internal,
}

impl ErrorKind {
    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidArgument => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The gRPC code of this kind.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument | Self::Unprocessable | Self::UnsupportedMediaType => {
                tonic::Code::InvalidArgument
            }
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::PermissionDenied => tonic::Code::PermissionDenied,
            Self::NotFound => tonic::Code::NotFound,
            Self::Conflict => tonic::Code::Aborted,
            Self::PayloadTooLarge | Self::ResourceExhausted => tonic::Code::ResourceExhausted,
            Self::RequestTimeout => tonic::Code::DeadlineExceeded,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Timeout => tonic::Code::DeadlineExceeded,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// The Prometheus HTTP API's `errorType` of this kind.
    fn prometheus_type(self) -> &'static str {
        match self {
            Self::InvalidArgument
            | Self::PayloadTooLarge
            | Self::UnsupportedMediaType
            | Self::RequestTimeout => "bad_data",
            Self::Unauthenticated => "unauthorized",
            Self::PermissionDenied => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "execution",
            Self::Unprocessable | Self::ResourceExhausted => "execution",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }

    fn v2_code(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid",
            Self::Unauthenticated => "unauthorized",
            Self::PermissionDenied => "forbidden",
            Self::NotFound => "not found",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "request too large",
            Self::RequestTimeout => "request timeout",
            Self::UnsupportedMediaType => "unsupported media type",
            Self::Unprocessable => "unprocessable entity",
            Self::ResourceExhausted => "too many requests",
            Self::Unavailable | Self::Timeout => "unavailable",
            Self::Internal => "internal error",
        }
    }
}

/// Which API's error shape the client expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// InfluxDB 1.x: `{"error": "..."}`.
    V1,
    /// InfluxDB 2: `{"code": "...", "message": "..."}`.
    V2,
    /// InfluxDB 3: `{"error": "...", "data": ...}`.
    V3,
    /// The Prometheus HTTP API: `{"status": "error", "errorType": "...", "error": "..."}`.
    Prometheus,
    /// Prometheus remote_write: plain text, which the sender logs (its first KiB).
    Text,
}

/// At most this many rejected lines are listed in a response.
const MAX_LISTED_LINES: usize = 100;

/// A failed request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind, which fixes the status code.
    pub kind: ErrorKind,
    /// What went wrong, for the client.
    pub message: String,
    /// Rejected lines of a write.
    pub lines: Vec<LineError>,
    /// Points written despite the rejected lines (partial writes).
    pub written: usize,
    /// The protocol dialect of the response body.
    pub dialect: Dialect,
}

impl ApiError {
    /// Creates an error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            lines: Vec::new(),
            written: 0,
            dialect: Dialect::V3,
        }
    }

    /// A 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Sets the body dialect.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    fn line_summary(&self) -> String {
        // remote_write numbers time series, not lines.
        let unit = if self.dialect == Dialect::Text {
            "series"
        } else {
            "line"
        };
        let listed: Vec<String> = self
            .lines
            .iter()
            .take(MAX_LISTED_LINES)
            .map(|line| {
                format!(
                    "{unit} {}: {} ({:?})",
                    line.line, line.message, line.original
                )
            })
            .collect();
        let more = self.lines.len().saturating_sub(MAX_LISTED_LINES);
        let suffix = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        format!("{}{suffix}", listed.join("; "))
    }

    fn text(&self) -> String {
        if self.lines.is_empty() {
            self.message.clone()
        } else {
            format!(
                "{} ({} samples written); rejected series: {}",
                self.message,
                self.written,
                self.line_summary()
            )
        }
    }

    fn body(&self) -> serde_json::Value {
        match self.dialect {
            Dialect::V1 if self.lines.is_empty() => json!({ "error": self.message }),
            Dialect::V1 => json!({
                "error": format!("partial write: {} dropped={}", self.line_summary(), self.lines.len())
            }),
            Dialect::V2 => {
                let message = if self.lines.is_empty() {
                    self.message.clone()
                } else {
                    format!(
                        "partial write error ({} written): {}",
                        self.written,
                        self.line_summary()
                    )
                };
                let mut body = json!({ "code": self.kind.v2_code(), "message": message });
                if let Some(first) = self.lines.first() {
                    body["line"] = json!(first.line);
                }
                body
            }
            Dialect::Prometheus => json!({
                "status": "error",
                "errorType": self.kind.prometheus_type(),
                "error": self.message,
            }),
            Dialect::Text => json!(self.text()),
            Dialect::V3 if self.lines.is_empty() => json!({ "error": self.message }),
            Dialect::V3 => {
                let data: Vec<serde_json::Value> = self
                    .lines
                    .iter()
                    .take(MAX_LISTED_LINES)
                    .map(|line| {
                        json!({
                            "error_message": line.message,
                            "line_number": line.line,
                            "original_line": line.original,
                        })
                    })
                    .collect();
                json!({ "error": self.message, "data": data })
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.kind == ErrorKind::Internal {
            tracing::error!(message = %self.message, "internal error");
        }
        let status = self.kind.status();
        // `X-Influxdb-Error` carries the body's message, as InfluxDB 1.x sends it.
        let (mut response, headline) = if self.dialect == Dialect::Text {
            let text = self.text();
            ((status, text.clone()).into_response(), text)
        } else {
            let body = self.body();
            let headline = body["error"]
                .as_str()
                .or_else(|| body["message"].as_str())
                .unwrap_or(&self.message)
                .to_owned();
            ((status, axum::Json(body)).into_response(), headline)
        };
        let headers = response.headers_mut();
        if self.kind == ErrorKind::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.kind == ErrorKind::Unauthenticated {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tidemark\""),
            );
        }
        // Header values are visible ASCII: anything else is escaped (`\u{e9}`, `\n`).
        let short: String = headline
            .chars()
            .take(1024)
            .flat_map(|c| match c {
                ' '..='~' => vec![c],
                other => other.escape_default().collect(),
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&short) {
            headers.insert("x-influxdb-error", value);
        }
        response
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        if error.kind == ErrorKind::Internal {
            tracing::error!(message = %error.message, "internal error");
        }
        tonic::Status::new(error.kind.grpc_code(), error.message)
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(_) | QueryError::Unsupported(_) => Self::invalid(error.to_string()),
            QueryError::DatabaseNotFound(_) => Self::new(ErrorKind::NotFound, error.to_string()),
            QueryError::ResourcesExhausted(_) | QueryError::Busy(_) => {
                Self::new(ErrorKind::ResourceExhausted, error.to_string())
            }
            QueryError::Timeout(_) => Self::new(ErrorKind::Timeout, error.to_string()),
            QueryError::Storage(kv) => kv.into(),
            QueryError::Cold(_) => Self::new(ErrorKind::Unavailable, error.to_string()),
            QueryError::Corrupt(_) | QueryError::Encode(_) | QueryError::Internal(_) => {
                Self::new(ErrorKind::Internal, error.to_string())
            }
        }
    }
}

impl From<PromError> for ApiError {
    fn from(error: PromError) -> Self {
        let kind = match error {
            PromError::BadData(_) => ErrorKind::InvalidArgument,
            PromError::Execution(_) => ErrorKind::Unprocessable,
            PromError::NotFound(_) => ErrorKind::NotFound,
            PromError::Unavailable(_) => ErrorKind::Unavailable,
            PromError::Timeout(_) => ErrorKind::Timeout,
            PromError::Busy(_) => ErrorKind::ResourceExhausted,
            PromError::Internal(_) => ErrorKind::Internal,
        };
        Self::new(kind, error.to_string()).dialect(Dialect::Prometheus)
    }
}

impl From<KvError> for ApiError {
    fn from(error: KvError) -> Self {
        if error.is_retryable() {
            Self::new(
                ErrorKind::Unavailable,
                format!("storage is busy ({error}); retry"),
            )
        } else if error.is_timed_out() {
            // A deadline of ours passed while storage was unreachable or kept failing: the
            // request may be retried as is (writes are idempotent per point).
            Self::new(
                ErrorKind::Unavailable,
                format!("storage did not answer in time ({error}); retry"),
            )
        } else {
            Self::new(ErrorKind::Internal, format!("storage failed: {error}"))
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::DatabaseNotFound(name) => {
                Self::new(ErrorKind::NotFound, format!("database not found: {name:?}"))
            }
            IngestError::InvalidDatabase(..) | IngestError::Invalid(_) => {
                Self::invalid(error.to_string())
            }
            IngestError::TooLarge(_) => Self::new(ErrorKind::PayloadTooLarge, error.to_string()),
            IngestError::Overloaded | IngestError::ShuttingDown => {
                Self::new(ErrorKind::Unavailable, error.to_string())
            }
            IngestError::Storage(kv) => kv.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses_in_one_place() {
        let overloaded = ApiError::from(IngestError::Overloaded).into_response();
        assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(overloaded.headers()[header::RETRY_AFTER], "1");
        let busy = ApiError::from(KvError::from_code(
            tidemark_storage::error::code::NOT_COMMITTED,
        ));
        assert_eq!(busy.kind, ErrorKind::Unavailable);
        let broken = ApiError::from(KvError::from_code(
            tidemark_storage::error::code::KEY_TOO_LARGE,
        ));
        assert_eq!(broken.kind, ErrorKind::Internal);
        let missing = ApiError::from(IngestError::DatabaseNotFound("x".into())).into_response();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let unauthenticated = ApiError::new(ErrorKind::Unauthenticated, "no").into_response();
        assert!(
            unauthenticated
                .headers()
                .contains_key(header::WWW_AUTHENTICATE)
        );
        let status = tonic::Status::from(ApiError::from(QueryError::DatabaseNotFound("x".into())));
        assert_eq!(status.code(), tonic::Code::NotFound);
        let status = tonic::Status::from(ApiError::from(QueryError::Storage(KvError::from_code(
            tidemark_storage::error::code::TRANSACTION_TOO_OLD,
        ))));
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let invalid = ApiError::from(QueryError::Invalid("bad".into())).into_response();
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::new(ErrorKind::PayloadTooLarge, "big")
                .kind
                .status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
