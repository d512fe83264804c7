//! `POST /api/v1/write`: Prometheus remote_write 1.0 and 2.0, told apart by the content type
//! (`application/x-protobuf;proto=io.prometheus.write.v2.Request` is 2.0; no `proto`, or
//! `proto=prometheus.WriteRequest`, is 1.0; any other message gets 415).
//!
//! The status codes follow the sender's retry rules: 2xx only after a durable commit; 4xx
//! (never retried) for bodies and series that can never be written, after the good series of
//! the same request are committed; 5xx when the whole request may be retried, which is safe
//! because a retried sample lands on the same series and timestamp and replaces itself. 2.0
//! responses also say what was written (`X-Prometheus-Remote-Write-*-Written`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tidemark_ingest::remote_write::{self, RemoteWriteError, WriteRequestProto};
use tidemark_ingest::{WriteBatch, WriteRequest, remote_write_v2};
use tidemark_storage::tsdb::MetricMetadata;
use tidemark_storage::{KvDatabase, RunOptions, run};

use crate::api_error::{ApiError, Dialect, ErrorKind};
use crate::auth::Access;
use crate::body::{decode_off_runtime, read_raw, too_large};
use crate::metrics::{IngestProtocol, record_ingest};
use crate::state::AppState;

/// The 2.0 message's name, as the content type carries it.
const V2_PROTO: &str = "io.prometheus.write.v2.Request";
/// Metadata entries per transaction (each at most a name and a help text of bounded size).
const METADATA_PER_TRANSACTION: usize = 500;
/// Help texts longer than this are cut (at a character boundary) before they are stored.
const MAX_HELP_BYTES: usize = 4096;

/// Which remote_write a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn header(self) -> &'static str {
        match self {
            Self::V1 => "0.1.0",
            Self::V2 => "2.0.0",
        }
    }

    fn protocol(self) -> IngestProtocol {
        match self {
            Self::V1 => IngestProtocol::RemoteWrite,
            Self::V2 => IngestProtocol::RemoteWriteV2,
        }
    }
}

/// What a request wrote, for 2.0's response headers.
#[derive(Debug, Default, Clone, Copy)]
struct Written {
    samples: usize,
    histograms: usize,
    exemplars: usize,
}

/// A decoded request of either version.
struct Decoded {
    batch: WriteBatch,
    metadata: Vec<(String, MetricMetadata)>,
    /// Exemplars of each series of `batch.series` (2.0; empty for 1.0, which drops them).
    exemplars: Vec<usize>,
}

/// `POST /api/v1/write?db=`.
pub async fn write<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let version = version_of(&headers);
    let shown = *version.as_ref().unwrap_or(&Version::V1);
    let mut written = Written::default();
    let result = match version {
        Ok(version) => receive(&state, &params, &headers, body, version, &mut written).await,
        Err(error) => Err(error),
    };
    let mut response = match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.dialect(Dialect::Text).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-prometheus-remote-write-version",
        HeaderValue::from_static(shown.header()),
    );
    if shown == Version::V2 {
        for (name, count) in [
            ("x-prometheus-remote-write-samples-written", written.samples),
            (
                "x-prometheus-remote-write-histograms-written",
                written.histograms,
            ),
            (
                "x-prometheus-remote-write-exemplars-written",
                written.exemplars,
            ),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(count));
        }
    }
    response
}

/// The version a request's content type names; 415 for a message this receiver lacks or a
/// body that is not Snappy-compressed.
fn version_of(headers: &HeaderMap) -> Result<Version, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-protobuf");
    let proto = content_type
        .split(';')
        .skip(1)
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proto"))
        .map(|(_, value)| value.trim().trim_matches('"'));
    let version = match proto {
        None | Some("prometheus.WriteRequest") => Version::V1,
        Some(V2_PROTO) => Version::V2,
        Some(other) => {
            let shown: String = other.chars().take(64).collect();
            return Err(ApiError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "unsupported remote_write message {shown:?}; this receiver accepts \
                     prometheus.WriteRequest (1.0) and {V2_PROTO} (2.0)"
                ),
            ));
        }
    };
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
    Ok(version)
}

fn decode_error(error: RemoteWriteError, limit: usize) -> ApiError {
    match error {
        RemoteWriteError::TooLarge { .. } => too_large(limit),
        RemoteWriteError::Expands { .. } => {
            ApiError::new(ErrorKind::PayloadTooLarge, error.to_string())
        }
        other => ApiError::invalid(other.to_string()),
    }
}

async fn decode<D: KvDatabase>(
    state: &AppState<D>,
    raw: Vec<u8>,
    version: Version,
) -> Result<Decoded, ApiError> {
    let limit = state.bodies.max_write_bytes;
    match version {
        Version::V1 => {
            let request = remote_write::decode_request(&raw, limit)
                .map_err(|error| decode_error(error, limit))?;
            let metadata = metadata_of(&request);
            let names = state.push.names;
            let decoded = remote_write::to_batch_with(request, state.writer.limits(), names);
            Ok(Decoded {
                batch: decoded.batch,
                metadata,
                exemplars: Vec::new(),
            })
        }
        Version::V2 => {
            let limits = state.writer.limits().clone();
            let (names, budget) = (state.push.names, state.push.max_decoded_bytes);
            let decoded = decode_off_runtime(raw.len(), move || {
                let request = remote_write_v2::decode_request(&raw, limit)?;
                remote_write_v2::to_batch(&request, &limits, names, budget)
            })
            .await?
            .map_err(|error| decode_error(error, limit))?;
            Ok(Decoded {
                batch: decoded.batch,
                metadata: decoded.metadata,
                exemplars: decoded.exemplars,
            })
        }
    }
}

async fn receive<D: KvDatabase>(
    state: &AppState<D>,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
    version: Version,
    written: &mut Written,
) -> Result<(), ApiError> {
    let protocol = version.protocol();
    let requested = params.get("db").filter(|db| !db.is_empty());
    let database = state
        .auth
        .resolve_database(headers, None, requested.map(String::as_str), Access::Write)
        .await?
        .unwrap_or_else(|| state.default_database.clone());
    let limit = state.bodies.max_write_bytes;
    let raw = read_raw(body, headers, limit, state.bodies.timeout).await?;
    let decoded = match decode(state, raw, version).await {
        Ok(decoded) => decoded,
        Err(error) => {
            record_ingest(protocol, Err(&error), 0, 0, 0);
            return Err(error);
        }
    };
    let mut errors = decoded.batch.errors;
    let series = decoded.batch.series;
    let submitted: usize = series.iter().map(tidemark_ingest::SeriesRows::rows).sum();
    let exemplars: Vec<(usize, usize)> = series
        .iter()
        .map(|rows| rows.lines.of(0))
        .zip(decoded.exemplars)
        .collect();
    let outcome = if series.is_empty() {
        None
    } else {
        let request = WriteRequest {
            database: database.clone(),
            series,
            idempotency_key: None,
        };
        match state.writer.write(request).await {
            Ok(outcome) => Some(outcome),
            Err(error) => {
                let error = ApiError::from(error);
                record_ingest(protocol, Err(&error), 0, 0, submitted);
                return Err(error);
            }
        }
    };
    store_metadata(state, &database, decoded.metadata).await?;
    let written_rows = outcome.as_ref().map_or(0, |outcome| outcome.written);
    if let Some(outcome) = outcome {
        errors.extend(outcome.rejected);
    }
    // Exemplars count as written with their series (accepted, not stored); native histograms
    // are refused.
    let refused_at_commit = |line: usize| errors.iter().any(|error| error.line == line);
    *written = Written {
        samples: written_rows,
        histograms: 0,
        exemplars: exemplars
            .iter()
            .filter(|(line, _)| !refused_at_commit(*line))
            .map(|(_, count)| count)
            .sum(),
    };
    if errors.is_empty() {
        record_ingest(protocol, Ok(()), written_rows, written_rows, 0);
        return Ok(());
    }
    errors.sort_by_key(|error| error.line);
    errors.dedup_by_key(|error| error.line);
    let mut error = ApiError::invalid(format!(
        "{} series refused; the request's other series were written",
        errors.len()
    ));
    error.written = written_rows;
    error.lines = errors;
    record_ingest(
        protocol,
        Err(&error),
        written_rows,
        written_rows,
        submitted.saturating_sub(written_rows),
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

/// Cuts a text to at most `limit` bytes at a character boundary.
fn truncated(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Records metadata (remote_write 1.0 and 2.0, OTLP) in short transactions of their own. A
/// database that does not exist yet gets none: metadata alone does not create databases
/// (Prometheus sends it before any sample). Names past the name limit are skipped, help texts
/// are cut to 4 KiB, so every record fits the storage limits.
pub(crate) async fn store_metadata<D: KvDatabase>(
    state: &AppState<D>,
    database: &str,
    metadata: Vec<(String, MetricMetadata)>,
) -> Result<(), ApiError> {
    let max_name = state.writer.limits().max_name_bytes;
    let metadata: Vec<(String, MetricMetadata)> = metadata
        .into_iter()
        .filter(|(metric, _)| !metric.is_empty() && metric.len() <= max_name)
        .map(|(metric, mut entry)| {
            entry.help = truncated(entry.help, MAX_HELP_BYTES);
            entry.unit = truncated(entry.unit, max_name);
            entry.kind = truncated(entry.kind, max_name);
            (metric, entry)
        })
        .collect();
    for chunk in metadata.chunks(METADATA_PER_TRANSACTION) {
        let layout = state.layout.clone();
        let database = database.to_owned();
        let chunk = chunk.to_vec();
        run(&state.db, RunOptions::idempotent(), move |tx, _| {
            let layout = layout.clone();
            let database = database.clone();
            let chunk = chunk.clone();
            Box::pin(async move {
                let Some(tenant) = layout.tenant_id(tx, &database).await? else {
                    return Ok::<(), tidemark_storage::KvError>(());
                };
                for (metric, entry) in &chunk {
                    layout.put_metric_metadata(tx, tenant, metric, entry);
                }
                Ok(())
            })
        })
        .await
        .map_err(ApiError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
