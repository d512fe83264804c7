//! Tiering on a running server: `POST /api/v0/tier/run` runs one pass and streams its progress
//! as JSON lines; `GET /api/v0/tier/status` reports each database's tiers. Both are what
//! `tidemark tier run|status --url` call. With authentication on, a token with write
//! permission may start a pass (a pass moves every database's cold data, as the background
//! loop does), and status shows only the token's database.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Response};
use futures::StreamExt;
use serde_json::json;
use tidemark_storage::KvDatabase;
use tidemark_tiering::{TierEvent, TierStats, Tierer, tier_status};

use crate::api_error::{ApiError, ErrorKind};
use crate::state::AppState;

/// A tiering event as one JSON object.
pub fn event_json(event: &TierEvent) -> serde_json::Value {
    match event {
        TierEvent::Partition {
            database,
            measurement,
            start,
            series,
            rows,
            bytes,
            replaced,
        } => json!({"event": "partition", "database": database, "measurement": measurement,
            "start": start, "series": series, "rows": rows, "bytes": bytes, "replaced": replaced}),
        TierEvent::Expired {
            database,
            files,
            series,
        } => json!({"event": "expired", "database": database, "files": files, "series": series}),
        TierEvent::Deleted { path, orphan } => {
            json!({"event": "deleted", "path": path, "orphan": orphan})
        }
        TierEvent::Paused(step) => json!({"event": "paused", "step": step.name()}),
    }
}

/// A pass's statistics as one JSON object.
pub fn stats_json(stats: &TierStats) -> serde_json::Value {
    json!({"event": "done", "partitions": stats.partitions, "files_written": stats.files_written,
        "rows": stats.rows, "bytes": stats.bytes, "files_retired": stats.files_retired,
        "objects_deleted": stats.objects_deleted})
}

async fn writer_grant<D: KvDatabase>(
    state: &AppState<D>,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    if !state.auth.required().await? {
        return Ok(None);
    }
    let grant = state.auth.presented_grant(headers, None).await?;
    if !grant.permissions.write {
        return Err(ApiError::new(
            ErrorKind::PermissionDenied,
            "tiering needs a token with write permission",
        ));
    }
    Ok(Some(grant.database))
}

/// `POST /api/v0/tier/run`.
pub async fn run<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = writer_grant(&state, &headers).await {
        return error.into_response();
    }
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    tokio::spawn(async move {
        let tierer = Tierer {
            db: &state.db,
            layout: &state.layout,
            store: &state.cold_store,
            config: &state.tiering,
        };
        let events = sender.clone();
        let report = move |event: TierEvent| {
            let _ = events.send(event_json(&event));
        };
        let last = match tierer.run_pass(&report).await {
            Ok(stats) => stats_json(&stats),
            Err(error) => json!({"event": "error", "error": error.to_string()}),
        };
        let _ = sender.send(last);
    });
    let lines = json_lines(receiver);
    (
        [(header::CONTENT_TYPE, "application/jsonl")],
        Body::from_stream(lines),
    )
        .into_response()
}

fn json_lines(
    receiver: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        let value = receiver.recv().await?;
        Some((Ok(format!("{value}\n")), receiver))
    })
    .boxed()
}

/// `GET /api/v0/tier/status`.
pub async fn status<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    let only = match writer_grant(&state, &headers).await {
        Ok(only) => only,
        Err(error) => return error.into_response(),
    };
    match tier_status(&state.db, &state.layout, &state.tiering, &|_| {}).await {
        Ok(mut tenants) => {
            if let Some(database) = only {
                tenants.retain(|tenant| tenant.database == database);
            }
            Json(json!({"databases": tenants, "object_store": state.cold_store.description()}))
                .into_response()
        }
        Err(error) => ApiError::new(ErrorKind::Internal, error.to_string()).into_response(),
    }
}
