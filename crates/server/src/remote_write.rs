//! `POST /api/v1/write`: Prometheus remote_write 1.0.
//!
//! The status codes follow the sender's retry rules: 2xx only after a durable commit; 4xx
//! (never retried) for bodies and series that can never be written, after the good series of
//! the same request are committed; 5xx when the whole request may be retried, which is safe
//! because a retried sample lands on the same series and timestamp and replaces itself.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tidemark_ingest::WriteRequest;
use tidemark_ingest::remote_write::{self, RemoteWriteError, WriteRequestProto};
use tidemark_storage::tsdb::MetricMetadata;
use tidemark_storage::{KvDatabase, RunOptions, run};

use crate::api_error::{ApiError, Dialect, ErrorKind};
use crate::auth::Access;
use crate::body::{read_raw, too_large};
use crate::metrics::{IngestProtocol, record_ingest};
use crate::state::AppState;

/// The remote_write version this receiver speaks.
const VERSION: &str = "0.1.0";

/// `POST /api/v1/write?db=`.
pub async fn write<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = receive(&state, &params, &headers, body).await;
    let mut response = match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.dialect(Dialect::Text).into_response(),
    };
    response.headers_mut().insert(
        "x-prometheus-remote-write-version",
        HeaderValue::from_static(VERSION),
    );
    response
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-protobuf");
    // remote_write 2.0 names its message in the content type; 1.0 sends it bare (or as
    // `proto=prometheus.WriteRequest`). The 2.0 spec asks for 415 on what a receiver lacks.
    if content_type.contains("io.prometheus.write.v2") {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "remote_write 2.0 (io.prometheus.write.v2.Request) is not supported; send 1.0",
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("snappy");
    if !encoding.eq_ignore_ascii_case("snappy") {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            format!("unsupported Content-Encoding {encoding:?}; remote_write bodies are snappy"),
        ));
    }
    Ok(())
}

async fn receive<D: KvDatabase>(
    state: &AppState<D>,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), ApiError> {
    check_content_type(headers)?;
    let requested = params.get("db").filter(|db| !db.is_empty());
    let database = state
        .auth
        .resolve_database(headers, None, requested.map(String::as_str), Access::Write)
        .await?
        .unwrap_or_else(|| state.default_database.clone());
    let limit = state.bodies.max_write_bytes;
    let raw = read_raw(body, headers, limit, state.bodies.timeout).await?;
    let request = remote_write::decode_request(&raw, limit).map_err(|error| match error {
        RemoteWriteError::TooLarge { .. } => too_large(limit),
        other => ApiError::invalid(other.to_string()),
    });
    let request = match request {
        Ok(request) => request,
        Err(error) => {
            record_ingest(IngestProtocol::RemoteWrite, Err(&error), 0, 0, 0);
            return Err(error);
        }
    };
    let metadata = metadata_of(&request);
    let decoded = remote_write::to_batch(request, state.writer.limits());
    let mut errors = decoded.batch.errors;
    let series = decoded.batch.series;
    let submitted: usize = series.iter().map(tidemark_ingest::SeriesRows::rows).sum();
    let outcome = if series.is_empty() {
        None
    } else {
        let written = state
            .writer
            .write(WriteRequest {
                database: database.clone(),
                series,
                idempotency_key: None,
            })
            .await;
        match written {
            Ok(outcome) => Some(outcome),
            Err(error) => {
                let error = ApiError::from(error);
                record_ingest(IngestProtocol::RemoteWrite, Err(&error), 0, 0, submitted);
                return Err(error);
            }
        }
    };
    if !metadata.is_empty() {
        store_metadata(state, &database, &metadata).await?;
    }
    let written = outcome.as_ref().map_or(0, |outcome| outcome.written);
    if let Some(outcome) = outcome {
        errors.extend(outcome.rejected);
    }
    if errors.is_empty() {
        record_ingest(IngestProtocol::RemoteWrite, Ok(()), written, written, 0);
        return Ok(());
    }
    errors.sort_by_key(|error| error.line);
    errors.dedup_by_key(|error| error.line);
    let mut error = ApiError::invalid(format!(
        "{} series refused; the request's other series were written",
        errors.len()
    ));
    error.written = written;
    error.lines = errors;
    record_ingest(
        IngestProtocol::RemoteWrite,
        Err(&error),
        written,
        written,
        submitted.saturating_sub(written),
    );
    Err(error)
}

fn metadata_of(request: &WriteRequestProto) -> Vec<(String, MetricMetadata)> {
    request
        .metadata
        .iter()
        .filter(|entry| !entry.metric_family_name.is_empty())
        .map(|entry| {
            (
                entry.metric_family_name.clone(),
                MetricMetadata {
                    kind: entry.type_name().to_owned(),
                    help: entry.help.clone(),
                    unit: entry.unit.clone(),
                },
            )
        })
        .collect()
}

/// Records metadata in its own short transaction. A database that does not exist yet gets
/// none: metadata alone does not create databases (Prometheus sends it before any sample).
async fn store_metadata<D: KvDatabase>(
    state: &AppState<D>,
    database: &str,
    metadata: &[(String, MetricMetadata)],
) -> Result<(), ApiError> {
    let layout = state.layout.clone();
    let database = database.to_owned();
    let metadata = metadata.to_vec();
    run(&state.db, RunOptions::idempotent(), move |tx, _| {
        let layout = layout.clone();
        let database = database.clone();
        let metadata = metadata.clone();
        Box::pin(async move {
            let Some(tenant) = layout.tenant_id(tx, &database).await? else {
                return Ok::<(), tidemark_storage::KvError>(());
            };
            for (metric, entry) in &metadata {
                layout.put_metric_metadata(tx, tenant, metric, entry);
            }
            Ok(())
        })
    })
    .await
    .map_err(ApiError::from)
}
