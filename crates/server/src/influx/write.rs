//! The line protocol write endpoints: InfluxDB v1 `/write`, v2 `/api/v2/write` and v3
//! `/api/v3/write_lp`, one implementation with three parameter sets and error dialects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_ingest::{LineError, WriteBatch, WriteRequest};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::now_nanos;

use crate::api_error::{ApiError, Dialect, ErrorKind};
use crate::auth::Access;
use crate::body::read_body;
use crate::metrics::{IngestProtocol, record_ingest};
use crate::state::AppState;

type Params = Query<HashMap<String, String>>;

/// Bodies at least this large are parsed off the async runtime.
const BLOCKING_PARSE_BYTES: usize = 64 * 1024;

/// How one request is to be written.
struct WriteSpec {
    dialect: Dialect,
    database: Option<String>,
    precision: Result<Precision, String>,
    accept_partial: bool,
    query_token: Option<String>,
}

fn precision_param(
    params: &HashMap<String, String>,
    default: Precision,
) -> Result<Precision, String> {
    match params.get("precision").map(String::as_str) {
        None | Some("") => Ok(default),
        Some(value) => Precision::parse(value),
    }
}

/// `POST /write?db=&rp=&precision=&p=` (InfluxDB 1.x).
pub async fn write_v1<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let database = params.get("db").filter(|db| !db.is_empty()).map(|db| {
        match params.get("rp").map(String::as_str) {
            None | Some("" | "autogen" | "default") => db.clone(),
            Some(rp) => format!("{db}/{rp}"),
        }
    });
    let spec = WriteSpec {
        dialect: Dialect::V1,
        database,
        precision: precision_param(&params, Precision::Nanosecond),
        accept_partial: true,
        query_token: params.get("p").cloned(),
    };
    write(&state, spec, &headers, body).await
}

/// `POST /api/v2/write?bucket=&org=&precision=` (InfluxDB 2).
pub async fn write_v2<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let spec = WriteSpec {
        dialect: Dialect::V2,
        database: params
            .get("bucket")
            .filter(|bucket| !bucket.is_empty())
            .cloned(),
        precision: precision_param(&params, Precision::Nanosecond),
        accept_partial: true,
        query_token: None,
    };
    write(&state, spec, &headers, body).await
}

/// `POST /api/v3/write_lp?db=&precision=&accept_partial=` (InfluxDB 3).
pub async fn write_v3<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let accept_partial = match params.get("accept_partial").map(String::as_str) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::invalid(format!(
            "invalid accept_partial {other:?} (use true or false)"
        ))),
    }?;
    let spec = WriteSpec {
        dialect: Dialect::V3,
        database: params.get("db").filter(|db| !db.is_empty()).cloned(),
        precision: precision_param(&params, Precision::Auto),
        accept_partial,
        query_token: None,
    };
    write(&state, spec, &headers, body).await
}

async fn write<D: KvDatabase>(
    state: &AppState<D>,
    spec: WriteSpec,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let dialect = spec.dialect;
    let result = write_inner(state, spec, headers, body).await;
    if let Err(error) = &result
        && error.written == 0
    {
        // Partial writes were recorded with their counts; this is a request that wrote nothing.
        record_ingest(
            IngestProtocol::LineProtocol,
            Err(error),
            0,
            0,
            error.lines.len(),
        );
    }
    result.map_err(|error| error.dialect(dialect))
}

async fn write_inner<D: KvDatabase>(
    state: &AppState<D>,
    spec: WriteSpec,
    headers: &HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let database = spec.database.ok_or_else(|| {
        ApiError::invalid(match spec.dialect {
            Dialect::V1 => "database is required (query parameter db)",
            Dialect::V2 => "missing bucket value (query parameter bucket)",
            _ => "missing db (query parameter db)",
        })
    })?;
    let precision = spec.precision.map_err(ApiError::invalid)?;
    state
        .auth
        .authorize(
            headers,
            spec.query_token.as_deref(),
            &database,
            Access::Write,
        )
        .await?;
    let body = read_body(body, headers, &state.bodies).await?;
    let now = now_nanos();
    let limits = state.writer.limits().clone();
    let parsed = if body.len() >= BLOCKING_PARSE_BYTES {
        let body = Arc::new(body);
        let shared = Arc::clone(&body);
        let parsed =
            tokio::task::spawn_blocking(move || parse_lines(&shared, precision, now, &limits))
                .await
                .map_err(|error| {
                    ApiError::new(ErrorKind::Internal, format!("parser task failed: {error}"))
                })?;
        (
            Arc::try_unwrap(body).unwrap_or_else(|shared| shared.to_vec()),
            parsed,
        )
    } else {
        let parsed = parse_lines(&body, precision, now, &limits);
        (body, parsed)
    };
    let (body, WriteBatch { series, mut errors }) = parsed;
    if !errors.is_empty() && !spec.accept_partial {
        let mut error = ApiError::invalid(
            "line protocol parsing failed; nothing was written (accept_partial=false)",
        );
        error.lines = errors;
        return Err(error);
    }
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    let values: usize = series.iter().map(tidemark_ingest::SeriesRows::values).sum();
    let outcome = state
        .writer
        .write(WriteRequest {
            database,
            series,
            idempotency_key,
        })
        .await?;
    let written = outcome.written;
    errors.extend(fill_originals(outcome.rejected, &body));
    if errors.is_empty() {
        record_ingest(IngestProtocol::LineProtocol, Ok(()), written, values, 0);
        return Ok(StatusCode::NO_CONTENT);
    }
    errors.sort_by_key(|error| error.line);
    let mut error = ApiError::invalid("partial write of line protocol occurred");
    error.written = written;
    error.lines = errors;
    if written > 0 {
        // Values of refused points are not subtracted: commit-time refusals are rare and
        // their field counts are not reported back by the writer.
        record_ingest(
            IngestProtocol::LineProtocol,
            Err(&error),
            written,
            values,
            error.lines.len(),
        );
    }
    Err(error)
}

/// Writer rejections carry only line numbers; add the lines' text.
fn fill_originals(mut rejected: Vec<LineError>, body: &[u8]) -> Vec<LineError> {
    if rejected.is_empty() {
        return rejected;
    }
    let lines: Vec<&[u8]> = body.split(|byte| *byte == b'\n').collect();
    for error in &mut rejected {
        if let Some(line) = lines.get(error.line.saturating_sub(1)) {
            error.original = String::from_utf8_lossy(line).chars().take(256).collect();
        }
    }
    rejected
}
