//! Databases: list, create and delete (`/api/v3/configure/database`, `tidemark database`).
//!
//! Deleting a database takes its name out, and with it every token for it alone (tokens for
//! several databases lose it), in one transaction: from its commit no request reaches the
//! database, and one created later under the name is new and empty (tenant ids are never
//! reused). Writers re-read a database's id every 2 s, and a write under a stale id is refused
//! at commit (404; `tidemark_ingest::Writer`): so for up to 2 s after a delete, a write to the
//! name on another node may be refused instead of creating the database anew. The database's keys are then cleared in bounded transactions once
//! no compaction or tiering pass runs (a pass that started before the delete could still write
//! under the old id); a node that stops first leaves the rest to the next start of any node.
//! Its cold objects, out of the cold index once the keys are cleared, are deleted by the
//! garbage collection of the first tiering pass after `tiering.grace`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;
use tidemark_storage::tsdb::{Layout, RetentionSettings, TenantId};
use tidemark_storage::{KvDatabase, KvError, RunOptions, run};
use tidemark_tiering::{Busy, Coordinator, Job, JobGuard};

use super::retention::{RetentionChange, retention_json};
use super::{admin_json, json_format};
use crate::api_error::{ApiError, ErrorKind};
use crate::state::AppState;

/// Keys one clearing transaction reads and clears, at most.
const CLEAR_KEYS: usize = 1_000;
/// Bytes (keys and values) one clearing transaction reads, about.
const CLEAR_BYTES: usize = 4 << 20;
/// Pause between attempts to find no compaction or tiering pass running.
const PASS_WAIT: Duration = Duration::from_secs(2);

/// A database and its own retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// Its name.
    pub name: String,
    /// Its retention settings (`None`: the server's default).
    pub retention: RetentionSettings,
}

/// A database as JSON: InfluxDB 3's `iox::database` column, and its retention.
pub fn database_json(database: &DatabaseInfo) -> serde_json::Value {
    let mut value = retention_json(database.retention);
    value["iox::database"] = json!(database.name);
    value
}

/// Every database, by name, with its retention (one read version).
pub async fn list_databases<D: KvDatabase>(
    db: &D,
    layout: &Layout,
) -> Result<Vec<DatabaseInfo>, KvError> {
    run(db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move {
            let mut databases = Vec::new();
            for (name, tenant) in layout.list_tenants(tx).await? {
                let retention = layout.retention(tx, tenant).await?;
                databases.push(DatabaseInfo { name, retention });
            }
            Ok::<_, KvError>(databases)
        })
    })
    .await
}

/// Creates a database with a name writes accept (409 when it exists) and the given retention.
pub async fn create_database<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    name: &str,
    retention: RetentionChange,
) -> Result<DatabaseInfo, ApiError> {
    tidemark_ingest::validate_database(name)?;
    retention
        .apply(RetentionSettings::default())
        .check()
        .map_err(|error| ApiError::invalid(error.to_string()))?;
    let created = run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, name) = (layout.clone(), name.to_owned());
        Box::pin(async move {
            if layout.tenant_id(tx, &name).await?.is_some() {
                return Ok(None);
            }
            let tenant = layout.create_tenant(tx, &name).await?;
            let settings = retention.apply(RetentionSettings::default());
            if settings != RetentionSettings::default() {
                layout.set_retention(tx, tenant, settings);
            }
            Ok::<_, KvError>(Some(settings))
        })
    })
    .await?;
    let retention = created.ok_or_else(|| {
        ApiError::new(
            ErrorKind::Conflict,
            format!("database {name:?} already exists"),
        )
    })?;
    Ok(DatabaseInfo {
        name: name.to_owned(),
        retention,
    })
}

/// What deleting a database did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// The id its keys live under (being cleared).
    pub tenant: TenantId,
    /// Tokens revoked because they were for this database alone.
    pub tokens_revoked: usize,
}

/// Deletes a database (404 when there is none): its name and its tokens at once; its keys are
/// cleared by [`reclaim_dropped`].
pub async fn delete_database<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    name: &str,
) -> Result<Deleted, ApiError> {
    let deleted = run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, name) = (layout.clone(), name.to_owned());
        Box::pin(async move {
            let Some(tenant) = layout.drop_tenant(tx, &name).await? else {
                return Ok(None);
            };
            let tokens_revoked = layout.forget_database_in_tokens(tx, &name).await?;
            Ok::<_, KvError>(Some(Deleted {
                tenant,
                tokens_revoked,
            }))
        })
    })
    .await?;
    deleted
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("database {name:?} not found")))
}

/// Takes the compaction and tiering jobs (cluster-wide leases), waiting while a pass runs: a
/// pass that listed a deleted database before the delete may still write under its id, so its
/// keys are cleared only when none runs.
async fn quiet_passes<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    coordinator: &Coordinator,
) -> Result<(JobGuard, JobGuard), KvError> {
    loop {
        let busy = match coordinator.begin(db, layout, Job::Tiering).await {
            Ok(tiering) => match coordinator.begin(db, layout, Job::Compaction).await {
                Ok(compaction) => return Ok((tiering, compaction)),
                Err(busy) => {
                    tiering.release().await;
                    busy
                }
            },
            Err(busy) => busy,
        };
        if let Busy::Storage(_, error) = busy {
            return Err(error);
        }
        tracing::debug!(%busy, "deleted databases wait for the running pass");
        tokio::time::sleep(PASS_WAIT).await;
    }
}

/// Clears the keys of every deleted database, in transactions of at most [`CLEAR_KEYS`] keys,
/// once no compaction or tiering pass runs. Returns how many databases it finished.
pub async fn reclaim_dropped<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    coordinator: &Coordinator,
) -> Result<usize, KvError> {
    let pending = run(db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.dropped_tenants_pending(tx).await })
    })
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let (tiering, compaction) = quiet_passes(db, layout, coordinator).await?;
    let mut result = Ok(0);
    for tenant in &pending {
        loop {
            let step = run(db, RunOptions::idempotent(), |tx, _| {
                let layout = layout.clone();
                let tenant = *tenant;
                Box::pin(async move {
                    layout
                        .clear_dropped_keys(tx, tenant, CLEAR_KEYS, CLEAR_BYTES)
                        .await
                })
            })
            .await;
            match step {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        if result.is_err() {
            break;
        }
        tracing::info!(tenant = tenant.0, "cleared the keys of a deleted database");
        result = result.map(|done| done + 1);
    }
    tiering.release().await;
    compaction.release().await;
    result
}

/// Clears deleted databases' keys in the background, logging the outcome.
pub(crate) fn spawn_reclaim<D: KvDatabase>(db: D, layout: Layout, coordinator: Arc<Coordinator>) {
    tokio::spawn(async move {
        if let Err(error) = reclaim_dropped(&db, &layout, &coordinator).await {
            tracing::warn!(%error, "cannot clear deleted databases yet; the next start retries");
        }
    });
}

/// `GET /api/v3/configure/database?format=json`: every database with its retention.
pub(super) async fn list<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.auth.authorize_admin(&headers, None).await?;
    json_format(params.get("format"))?;
    let databases = list_databases(&state.db, &state.layout).await?;
    Ok(Json(databases.iter().map(database_json).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    db: String,
    hot_retention: Option<String>,
    retention_period: Option<String>,
}

/// `POST /api/v3/configure/database` with `{"db", "hot_retention"?, "retention_period"?}`.
pub(super) async fn create<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: CreateBody = admin_json(&state, &headers, body).await?;
    let retention = RetentionChange::parse(
        request.hot_retention.as_deref(),
        request.retention_period.as_deref(),
    )?;
    let created = create_database(&state.db, &state.layout, &request.db, retention).await?;
    Ok((StatusCode::CREATED, Json(database_json(&created))).into_response())
}

/// `DELETE /api/v3/configure/database?db=NAME`.
pub(super) async fn delete<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.auth.authorize_admin(&headers, None).await?;
    let name = params
        .get("db")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ApiError::invalid("missing db (the database to delete)"))?;
    let deleted = delete_database(&state.db, &state.layout, name).await?;
    state.writer.forget_database(name);
    spawn_reclaim(
        state.db.clone(),
        state.layout.clone(),
        state.coordinator.clone(),
    );
    Ok(Json(json!({
        "deleted": name,
        "tokens_revoked": deleted.tokens_revoked,
    })))
}
