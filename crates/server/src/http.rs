//! The HTTP surface of the listener: health, the line protocol write endpoints, InfluxDB 1.x
//! compatibility, SQL (`/api/v3/query_sql`), the read-back path, Prometheus remote_write and
//! HTTP query API, OpenTelemetry's OTLP/HTTP metrics, and the engine's own `/metrics`. Flight
//! SQL shares the listener (see `listener`).

use std::time::Duration;

use axum::Router;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use tidemark_storage::{KvDatabase, KvError, KvTransaction};

/// How long a health check may wait on storage before reporting failure.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// A key inside the root subspace that is never written: reading it exercises a transaction.
const HEALTH_PROBE_KEY: &[u8] = b"\x02tm\x00\x02health\x00";

use crate::influx::{v1, write};
use crate::prometheus::{api as prom_api, remote_write};
use crate::state::AppState;
use crate::{admin, metrics, otlp, points, sql, tier};

/// Builds the router.
pub fn router<D: KvDatabase>(state: Arc<AppState<D>>) -> Router {
    Router::new()
        .route("/health", get(health::<D>))
        .route("/api/v1/health", get(health::<D>))
        .route("/ping", get(v1::ping).head(v1::ping).post(v1::ping))
        .route("/write", post(write::write_v1::<D>))
        .route("/api/v2/write", post(write::write_v2::<D>))
        .route("/api/v3/write_lp", post(write::write_v3::<D>))
        .route("/query", get(v1::query::<D>).post(v1::query::<D>))
        .route("/api/v0/points", get(points::points::<D>))
        .route("/metrics", get(metrics::render::<D>))
        .route("/api/v1/write", post(remote_write::write::<D>))
        .route("/v1/metrics", post(otlp::metrics::<D>))
        .route("/otlp/v1/metrics", post(otlp::metrics::<D>))
        .route("/api/v1/otlp/v1/metrics", post(otlp::metrics::<D>))
        .route(
            "/api/v1/query",
            get(prom_api::query::<D>).post(prom_api::query::<D>),
        )
        .route(
            "/api/v1/query_range",
            get(prom_api::query_range::<D>).post(prom_api::query_range::<D>),
        )
        .route(
            "/api/v1/series",
            get(prom_api::series::<D>).post(prom_api::series::<D>),
        )
        .route(
            "/api/v1/labels",
            get(prom_api::labels::<D>).post(prom_api::labels::<D>),
        )
        .route(
            "/api/v1/label/{name}/values",
            get(prom_api::label_values::<D>),
        )
        .route("/api/v1/metadata", get(prom_api::metadata::<D>))
        .route("/api/v1/status/buildinfo", get(prom_api::buildinfo::<D>))
        .route(
            "/api/v1/query_exemplars",
            get(prom_api::query_exemplars).post(prom_api::query_exemplars),
        )
        .route("/api/v1/rules", get(prom_api::rules))
        .route("/api/v1/alerts", get(prom_api::alerts))
        .route("/api/v0/tier/run", post(tier::run::<D>))
        .route("/api/v0/tier/status", get(tier::status::<D>))
        .route(
            "/api/v3/query_sql",
            get(sql::http::query_sql::<D>).post(sql::http::query_sql::<D>),
        )
        .merge(crate::console::router::<D>())
        .merge(admin::routes::<D>())
        // Handlers read their bodies themselves, bounded (`crate::body`), after checking the
        // token; this bounds any extractor that buffers a body on its own.
        .layer(DefaultBodyLimit::max(state.bodies.max_query_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::loopback::guard::<D>,
        ))
        .with_state(state)
}

async fn probe_storage<D: KvDatabase>(db: &D) -> Result<(), KvError> {
    let tx = db.create_transaction()?;
    tx.get(HEALTH_PROBE_KEY, true).await?;
    Ok(())
}

/// InfluxDB-compatible health: 200 with `"status":"pass"` when storage answers a read.
async fn health<D: KvDatabase>(State(state): State<Arc<AppState<D>>>) -> Response {
    let verdict = match tokio::time::timeout(HEALTH_TIMEOUT, probe_storage(&state.db)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("storage did not answer within {HEALTH_TIMEOUT:?}")),
    };
    let version = env!("CARGO_PKG_VERSION");
    match verdict {
        Ok(()) => Json(json!({
            "name": "tidemark",
            "message": "ready for queries and writes",
            "status": "pass",
            "checks": [],
            "version": version,
        }))
        .into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "health check failed");
            let body = json!({
                "name": "tidemark",
                "message": reason,
                "status": "fail",
                "checks": [],
                "version": version,
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
