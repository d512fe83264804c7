//! The HTTP surface of one listener. Today: `/health`. Ingest, query and the Prometheus API
//! mount their routes here as they arrive.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use tidemark_storage::{KvDatabase, KvError, KvTransaction};

/// How long a health check may wait on storage before reporting failure.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// A key inside the root subspace that is never written: reading it exercises a transaction.
const HEALTH_PROBE_KEY: &[u8] = b"\x02tm\x00\x02health\x00";

/// Builds the router over a storage handle.
pub fn router<D: KvDatabase>(db: D) -> Router {
    Router::new()
        .route("/health", get(health::<D>))
        .with_state(db)
}

async fn probe_storage<D: KvDatabase>(db: &D) -> Result<(), KvError> {
    let tx = db.create_transaction()?;
    tx.get(HEALTH_PROBE_KEY, true).await?;
    Ok(())
}

/// InfluxDB-compatible health: 200 with `"status":"pass"` when storage answers a read.
async fn health<D: KvDatabase>(State(db): State<D>) -> Response {
    let verdict = match tokio::time::timeout(HEALTH_TIMEOUT, probe_storage(&db)).await {
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
