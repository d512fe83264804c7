//! `POST /v1/metrics` (also `/otlp/v1/metrics`, and Prometheus's `/api/v1/otlp/v1/metrics`):
//! OpenTelemetry metrics over OTLP/HTTP, in binary protobuf (`application/x-protobuf`) or
//! OTLP/JSON (`application/json`), plain or gzip.
//!
//! Metrics are translated into Prometheus series as Prometheus's own OTLP receiver does
//! (`tidemark_ingest::otlp`) and written through the same group-commit writer as every other
//! protocol, so durability (200 only after the commit), tenancy and limits are those of
//! remote_write. The database is the `db` parameter, else the `X-Tidemark-Database` header, else
//! the token's, else `default_database`.
//!
//! Answers follow OTLP/HTTP: 200 with an `ExportMetricsServiceResponse` in the request's
//! encoding, whose `partial_success` counts and names the data points refused (the sender must
//! not retry them); 4xx and 5xx with a `google.rpc.Status`; 503 (with `Retry-After`) and 429 are
//! the codes OTLP senders retry.

mod reply;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tidemark_ingest::WriteRequest;
use tidemark_ingest::otlp::{self, OtlpBatch, OtlpError, Rejected};
use tidemark_storage::KvDatabase;

use crate::api_error::{ApiError, ErrorKind};
use crate::auth::Access;
use crate::body::{decode_off_runtime, read_body};
use crate::metrics::{IngestProtocol, record_ingest};
use crate::prometheus::remote_write::store_metadata;
use crate::state::AppState;
use reply::Encoding;

/// The header naming the database, for senders that cannot add a query parameter.
const DATABASE_HEADER: &str = "x-tidemark-database";
/// At most this many refusals are spelled out in a partial-success message.
const LISTED_REFUSALS: usize = 20;

/// `POST /v1/metrics?db=`.
pub async fn metrics<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let encoding = match Encoding::of(&headers) {
        Ok(encoding) => encoding,
        Err(error) => return reply::failure(Encoding::Protobuf, error),
    };
    match receive(&state, &params, &headers, body, encoding).await {
        Ok(batch) => {
            let message = batch.rejection_summary(LISTED_REFUSALS);
            reply::success(encoding, batch.rejected_points(), &message)
        }
        Err(error) => reply::failure(encoding, error),
    }
}

fn decode_error(error: OtlpError) -> ApiError {
    match error {
        OtlpError::TooLarge { .. } => ApiError::new(ErrorKind::PayloadTooLarge, error.to_string()),
        OtlpError::Protobuf(_) | OtlpError::Json(_) => ApiError::invalid(error.to_string()),
    }
}

async fn receive<D: KvDatabase>(
    state: &AppState<D>,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<OtlpBatch, ApiError> {
    let from_header = headers
        .get(DATABASE_HEADER)
        .and_then(|value| value.to_str().ok());
    let requested = params
        .get("db")
        .map(String::as_str)
        .or(from_header)
        .filter(|db| !db.is_empty());
    let database = state
        .auth
        .resolve_database(headers, None, requested, Access::Write)
        .await?
        .unwrap_or_else(|| state.default_database.clone());
    let body = read_body(body, headers, &state.bodies).await?;
    let options = state.push.otlp.clone();
    let limits = state.writer.limits().clone();
    let budget = state.push.max_decoded_bytes;
    let translated = decode_off_runtime(body.len(), move || {
        let request = match encoding {
            Encoding::Protobuf => otlp::decode_protobuf(&body)?,
            Encoding::Json => otlp::decode_json(&body)?,
        };
        otlp::translate(&request, &options, &limits, budget)
    })
    .await?
    .map_err(decode_error);
    let mut batch = match translated {
        Ok(batch) => batch,
        Err(error) => {
            record_ingest(IngestProtocol::Otlp, Err(&error), 0, 0, 0);
            return Err(error);
        }
    };
    let series = std::mem::take(&mut batch.batch.series);
    let rows: Vec<usize> = series
        .iter()
        .map(tidemark_ingest::SeriesRows::rows)
        .collect();
    let submitted: usize = rows.iter().sum();
    let mut written = 0;
    if !series.is_empty() {
        let request = WriteRequest {
            database: database.clone(),
            series,
            idempotency_key: None,
        };
        let outcome = match state.writer.write(request).await {
            Ok(outcome) => outcome,
            Err(error) => {
                let error = ApiError::from(error);
                record_ingest(IngestProtocol::Otlp, Err(&error), 0, 0, submitted);
                return Err(error);
            }
        };
        written = outcome.written;
        // Refusals at commit time (a field type conflict, a column limit) name their series by
        // number; say where it came from.
        for refused in outcome.rejected {
            let index = refused.line.saturating_sub(1);
            batch.rejected.push(Rejected {
                origin: batch.origins.get(index).cloned().unwrap_or_default(),
                reason: refused.message,
                points: rows.get(index).copied().unwrap_or(0) as u64,
            });
        }
    }
    store_metadata(state, &database, std::mem::take(&mut batch.metadata)).await?;
    let refused = batch.rejected_points() as usize;
    let result = if batch.rejected.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("some data points were refused"))
    };
    record_ingest(
        IngestProtocol::Otlp,
        result.as_ref().map(|_| ()),
        written,
        written,
        refused,
    );
    Ok(batch)
}

#[cfg(test)]
mod tests;
