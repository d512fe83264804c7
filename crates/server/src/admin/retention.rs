//! A database's own retention (`PUT /api/v3/configure/database/retention`, `tidemark
//! retention`): the tenant settings every tiering pass honours over the server-wide
//! `tiering.hot_retention` and `tiering.retention`. Online and offline write the same record.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Json;
use serde::Deserialize;
use serde_json::json;
use tidemark_storage::tsdb::{Layout, RetentionSettings};
use tidemark_storage::{KvDatabase, KvError, RunOptions, run};

use super::{admin_json, format_duration};
use crate::api_error::{ApiError, ErrorKind};
use crate::config::parse_duration;
use crate::state::AppState;

/// A change to a database's retention: per setting, `None` keeps what is stored, `Some(None)`
/// restores the server's default, `Some(Some(ns))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionChange {
    /// How long data stays hot.
    pub hot: Option<Option<i64>>,
    /// How long data is kept at all.
    pub total: Option<Option<i64>>,
}

impl RetentionChange {
    /// Reads `3d`-style durations, or `default` (the server's setting); absent keeps the
    /// stored value.
    pub fn parse(hot: Option<&str>, total: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self {
            hot: change("hot_retention", hot)?,
            total: change("retention_period", total)?,
        })
    }

    /// The settings after this change of `old`.
    pub fn apply(self, old: RetentionSettings) -> RetentionSettings {
        RetentionSettings {
            hot_nanos: self.hot.unwrap_or(old.hot_nanos),
            total_nanos: self.total.unwrap_or(old.total_nanos),
        }
    }
}

fn change(key: &'static str, text: Option<&str>) -> Result<Option<Option<i64>>, ApiError> {
    Ok(match text {
        None => None,
        Some("default") => Some(None),
        Some(text) => {
            let duration =
                parse_duration(key, text).map_err(|error| ApiError::invalid(error.to_string()))?;
            Some(Some(tidemark_tiering::nanos(duration)))
        }
    })
}

/// Changes the retention of `database` (read-modify-write in one transaction, so the setting
/// not changed keeps its stored value) and returns the settings now stored.
pub async fn set_retention<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    database: &str,
    change: RetentionChange,
) -> Result<RetentionSettings, ApiError> {
    let settings = run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, name) = (layout.clone(), database.to_owned());
        Box::pin(async move {
            let Some(tenant) = layout.tenant_id(tx, &name).await? else {
                return Ok(None);
            };
            let settings = change.apply(layout.retention(tx, tenant).await?);
            // Hot longer than total is refused, whichever of the two this change sets.
            if settings.check().is_ok() {
                layout.set_retention(tx, tenant, settings);
            }
            Ok::<_, KvError>(Some(settings))
        })
    })
    .await?;
    let settings = settings.ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            format!("database {database:?} not found"),
        )
    })?;
    settings
        .check()
        .map_err(|error| ApiError::invalid(error.to_string()))?;
    Ok(settings)
}

/// The settings as JSON: each a duration, or `null` for the server's default.
pub(super) fn retention_json(settings: RetentionSettings) -> serde_json::Value {
    json!({
        "hot_retention": settings.hot_nanos.map(format_duration),
        "retention_period": settings.total_nanos.map(format_duration),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetentionBody {
    db: String,
    hot_retention: Option<String>,
    retention_period: Option<String>,
}

/// `PUT|POST /api/v3/configure/database/retention` with `{"db", "hot_retention"?,
/// "retention_period"?}`: answers the settings now stored.
pub(super) async fn set<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request: RetentionBody = admin_json(&state, &headers, body).await?;
    let change = RetentionChange::parse(
        request.hot_retention.as_deref(),
        request.retention_period.as_deref(),
    )?;
    let settings = set_retention(&state.db, &state.layout, &request.db, change).await?;
    let mut answer = retention_json(settings);
    answer["db"] = json!(request.db);
    Ok(Json(answer))
}
