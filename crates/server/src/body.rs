//! Reading request bodies within bounds: a size limit checked against the declared length and
//! while streaming (never buffering past it), a deadline for the whole body, and gzip inflated
//! only up to the same limit. Every handler reads its body here, after authentication.

use std::io::Read;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use futures::StreamExt;

use crate::api_error::{ApiError, ErrorKind};

/// The bounds of request bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest write body, before and after decompression.
    pub max_write_bytes: usize,
    /// Largest query body (SQL JSON, PromQL and InfluxQL forms).
    pub max_query_bytes: usize,
    /// Time a client has to send a whole body.
    pub timeout: Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_write_bytes: 10 << 20,
            max_query_bytes: 1 << 20,
            timeout: Duration::from_secs(60),
        }
    }
}

pub(crate) fn too_large(limit: usize) -> ApiError {
    metrics::counter!("tidemark_limit_refusals_total", "limit" => "body_bytes").increment(1);
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        format!("request body is larger than the limit of {limit} bytes; nothing was written"),
    )
}

/// Reads the body as sent, refusing more than `limit` bytes or a body slower than `timeout`.
pub(crate) async fn read_raw(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let read = async {
        let mut raw = Vec::with_capacity(declared.unwrap_or(0));
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| {
                ApiError::invalid(format!("cannot read the request body: {error}"))
            })?;
            if raw.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            raw.extend_from_slice(&chunk);
        }
        Ok(raw)
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| {
        metrics::counter!("tidemark_limit_refusals_total", "limit" => "body_timeout").increment(1);
        ApiError::new(
            ErrorKind::RequestTimeout,
            format!("the request body did not arrive within {timeout:?} (http.body_timeout)"),
        )
    })?
}

/// Reads a query request's body (bounded by the query body limit).
pub(crate) async fn read_query_body(
    body: Body,
    headers: &HeaderMap,
    limits: &BodyLimits,
) -> Result<Vec<u8>, ApiError> {
    read_raw(body, headers, limits.max_query_bytes, limits.timeout).await
}

/// Reads a write body, decompressing gzip, refusing more than the write limit before or after
/// decompression.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limits: &BodyLimits,
) -> Result<Vec<u8>, ApiError> {
    let limit = limits.max_write_bytes;
    let raw = read_raw(body, headers, limit, limits.timeout).await?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => {
            let mut decoded = Vec::new();
            let mut decoder =
                flate2::read::MultiGzDecoder::new(raw.as_slice()).take(limit as u64 + 1);
            decoder
                .read_to_end(&mut decoded)
                .map_err(|error| ApiError::invalid(format!("invalid gzip body: {error}")))?;
            if decoded.len() > limit {
                return Err(too_large(limit));
            }
            Ok(decoded)
        }
        other => Err(ApiError::invalid(format!(
            "unsupported Content-Encoding {other:?} (use gzip or identity)"
        ))),
    }
}

/// Bodies at least this large are decoded off the async runtime.
const BLOCKING_DECODE_BYTES: usize = 64 * 1024;

/// Runs `decode` over a body of `bytes` bytes: inline when small, on the blocking pool when it
/// could hold the runtime's thread for long (async code must not block for more than about
/// 500 µs).
pub(crate) async fn decode_off_runtime<T: Send + 'static>(
    bytes: usize,
    decode: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if bytes < BLOCKING_DECODE_BYTES {
        return Ok(decode());
    }
    tokio::task::spawn_blocking(decode).await.map_err(|error| {
        ApiError::new(ErrorKind::Internal, format!("decoder task failed: {error}"))
    })
}
