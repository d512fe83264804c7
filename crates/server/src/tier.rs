//! Tiering on a running server: `POST /api/v0/tier/run` runs one pass and streams its progress
//! as JSON lines; `GET /api/v0/tier/status` reports each database's tiers. Both are what
//! `tidemark tier run|status --url` call. With authentication on, only an admin token may
//! start a pass (a pass moves every database's cold data, as the background loop does), and a
//! tenant token's status shows only the databases it grants.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Response};
use futures::StreamExt;
use serde_json::json;
use tidemark_storage::KvDatabase;
use tidemark_tiering::{Busy, Job, TierEvent, TierStats, Tierer, tier_status};

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
        "objects_deleted": stats.objects_deleted, "failures": stats.failures})
}

/// `POST /api/v0/tier/run`: one pass over every database, so it needs an admin token (when
/// authentication is on). One pass runs at a time, on this node and across the cluster (409
/// otherwise), and the pass stops when the client goes away.
pub async fn run<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = state.auth.authorize_admin(&headers, None).await {
        return error.into_response();
    }
    let guard = match state
        .coordinator
        .begin(&state.db, &state.layout, Job::Tiering)
        .await
    {
        Ok(guard) => guard,
        Err(Busy::Storage(_, error)) => return ApiError::from(error).into_response(),
        Err(busy) => {
            return ApiError::new(ErrorKind::Conflict, busy.to_string()).into_response();
        }
    };
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let task = tokio::spawn(async move {
        let _guard = guard;
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
    let lines = json_lines(receiver, AbortOnDrop(task.abort_handle()));
    (
        [(header::CONTENT_TYPE, "application/jsonl")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// Aborts a pass when the response carrying its progress is dropped (the client went away).
/// Passes are safe to stop at any point: what they did is committed, the rest is redone.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn json_lines(
    receiver: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    abort: AbortOnDrop,
) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>> {
    futures::stream::unfold((receiver, abort), |(mut receiver, abort)| async move {
        let value = receiver.recv().await?;
        Some((Ok(format!("{value}\n")), (receiver, abort)))
    })
    .boxed()
}

/// `GET /api/v0/tier/status`: every database for an admin token (or without
/// authentication), the databases it grants for a tenant token.
pub async fn status<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    // A tenant token sees the databases it grants, an admin token (or no authentication) all.
    let only: Option<Vec<String>> = match state.auth.authenticate(&headers, None).await {
        Ok(Some(grant)) if !grant.admin => Some(grant.databases),
        Ok(_) => None,
        Err(error) => return error.into_response(),
    };
    let status = match &only {
        None => tier_status(&state.db, &state.layout, &state.tiering, None, &|_| {}).await,
        Some(databases) => {
            let mut all = Vec::new();
            let mut failed = None;
            for database in databases {
                match tier_status(
                    &state.db,
                    &state.layout,
                    &state.tiering,
                    Some(database),
                    &|_| {},
                )
                .await
                {
                    Ok(found) => all.extend(found),
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            failed.map_or(Ok(all), Err)
        }
    };
    match status {
        Ok(tenants) => {
            Json(json!({"databases": tenants, "object_store": state.cold_store.description()}))
                .into_response()
        }
        Err(error) => ApiError::new(ErrorKind::Internal, error.to_string()).into_response(),
    }
}
