//! What every handler shares.

use tidemark_ingest::Writer;
use tidemark_query::QueryEngine;
use tidemark_storage::KvDatabase;
use tidemark_storage::cold::ColdStore;
use tidemark_storage::tsdb::Layout;
use tidemark_tiering::TieringConfig;

use crate::auth::Auth;

/// The state behind the router.
#[derive(Debug)]
pub struct AppState<D> {
    /// Storage.
    pub db: D,
    /// Key layout.
    pub layout: Layout,
    /// The group-commit writer.
    pub writer: Writer,
    /// Token authentication.
    pub auth: Auth<D>,
    /// The SQL engine.
    pub query: QueryEngine<D>,
    /// Largest accepted request body, before and after decompression.
    pub max_request_bytes: usize,
    /// Databases are created by their first write (also through `CREATE DATABASE`).
    pub create_databases: bool,
    /// Database of Prometheus requests that name none.
    pub default_database: String,
    /// The cold tier's object store.
    pub cold_store: ColdStore,
    /// Tiering settings (for on-demand passes).
    pub tiering: TieringConfig,
}

/// The options of [`AppState::new`] beyond the services.
#[derive(Debug, Clone)]
pub struct StateOptions {
    /// Largest accepted request body.
    pub max_request_bytes: usize,
    /// Databases are created by their first write.
    pub create_databases: bool,
    /// Database of Prometheus requests that name none.
    pub default_database: String,
    /// The cold tier's object store.
    pub cold_store: ColdStore,
    /// Tiering settings.
    pub tiering: TieringConfig,
}

impl<D: KvDatabase> AppState<D> {
    /// Assembles the state.
    pub fn new(
        db: D,
        writer: Writer,
        auth: Auth<D>,
        query: QueryEngine<D>,
        options: StateOptions,
    ) -> Self {
        Self {
            db,
            layout: Layout::default(),
            writer,
            auth,
            query,
            max_request_bytes: options.max_request_bytes,
            create_databases: options.create_databases,
            default_database: options.default_database,
            cold_store: options.cold_store,
            tiering: options.tiering,
        }
    }
}
