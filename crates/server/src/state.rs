//! What every handler shares.

use tidemark_ingest::Writer;
use tidemark_query::QueryEngine;
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::Layout;

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
}

impl<D: KvDatabase> AppState<D> {
    /// Assembles the state.
    pub fn new(
        db: D,
        writer: Writer,
        auth: Auth<D>,
        query: QueryEngine<D>,
        max_request_bytes: usize,
        create_databases: bool,
    ) -> Self {
        Self {
            db,
            layout: Layout::default(),
            writer,
            auth,
            query,
            max_request_bytes,
            create_databases,
        }
    }
}
