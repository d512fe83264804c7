//! Administration: databases, tokens and per-database retention, online through InfluxDB 3's
//! `/api/v3/configure/...` shapes and offline through the same operations on storage
//! (`tidemark token|database|retention --data-dir`). See `docs/admin.md`.
//!
//! Once authentication is on, every endpoint here needs an admin token: 401 without a valid
//! token, 403 with a tenant token. Before any token exists the server listens on loopback only
//! and, like every other endpoint, these are open to this machine (that is how a first token
//! can be created online).

mod bootstrap;
mod database;
mod retention;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::routing::{get, put};
use serde::de::DeserializeOwned;
use tidemark_storage::KvDatabase;

pub use bootstrap::admin_token_file;
pub(crate) use database::spawn_reclaim;
pub use database::{
    DatabaseInfo, Deleted, create_database, database_json, delete_database, list_databases,
    reclaim_dropped,
};
pub use retention::{RetentionChange, set_retention};
pub use token::{TokenSpec, create_token, list_tokens, revoke_token, token_json};

use crate::api_error::ApiError;
use crate::body::read_query_body;
use crate::state::AppState;

/// The admin endpoints, to merge into the server's router.
pub fn routes<D: KvDatabase>() -> Router<Arc<AppState<D>>> {
    Router::new()
        .route(
            "/api/v3/configure/database",
            get(database::list::<D>)
                .post(database::create::<D>)
                .delete(database::delete::<D>),
        )
        .route(
            "/api/v3/configure/database/retention",
            put(retention::set::<D>).post(retention::set::<D>),
        )
        .route(
            "/api/v3/configure/token",
            get(token::list::<D>)
                .post(token::create::<D>)
                .delete(token::revoke::<D>),
        )
}

/// Checks the admin token, then reads (bounded like a query body) and parses the JSON body: an
/// unauthenticated client cannot make the server buffer anything.
async fn admin_json<D: KvDatabase, T: DeserializeOwned>(
    state: &AppState<D>,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    state.auth.authorize_admin(headers, None).await?;
    let bytes = read_query_body(body, headers, &state.bodies).await?;
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::invalid(format!("invalid JSON body: {error}")))
}

/// Refuses a `format` other than JSON (the only one these listings have).
fn json_format(format: Option<&String>) -> Result<(), ApiError> {
    match format.map(String::as_str) {
        None | Some("json") => Ok(()),
        Some(other) => Err(ApiError::invalid(format!(
            "unsupported format {other:?}: only format=json is supported"
        ))),
    }
}

/// A duration in nanoseconds as the largest unit that divides it: `3d`, `36h`, `90m`, `45s`,
/// `500ms` (the forms `parse_duration` reads).
pub fn format_duration(nanos: i64) -> String {
    const UNITS: [(i64, &str); 5] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    for (size, unit) in UNITS {
        if nanos != 0 && nanos % size == 0 {
            return format!("{}{unit}", nanos / size);
        }
    }
    format!("{}ms", nanos / 1_000_000)
}

#[cfg(test)]
mod tests;
