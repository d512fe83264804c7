//! The InfluxDB family: the line protocol write endpoints of v1, v2 and v3 (`write`), `/ping`
//! and `/query` (`v1`), InfluxQL (`query`), `SELECT INTO` (`into`) and the 1.x response
//! encodings (`response`).

pub mod into;
pub mod query;
pub mod response;
pub mod v1;
pub mod write;

use tidemark_storage::{KvDatabase, RunOptions, run};

use crate::api_error::ApiError;
use crate::state::AppState;

/// `CREATE DATABASE`: creates the tenant when the server creates databases on request.
pub async fn create_database<D: KvDatabase>(
    state: &AppState<D>,
    name: &str,
) -> Result<(), ApiError> {
    if !state.create_databases {
        return Ok(());
    }
    let layout = state.layout.clone();
    let database = name.to_owned();
    run(&state.db, RunOptions::idempotent(), move |tx, _| {
        let layout = layout.clone();
        let database = database.clone();
        Box::pin(async move { layout.create_tenant(tx, &database).await.map(|_| ()) })
    })
    .await
    .map_err(ApiError::from)
}
