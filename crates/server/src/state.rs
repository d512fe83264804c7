//! What every handler shares.

use std::sync::Arc;
use tidemark_ingest::Writer;
use tidemark_ingest::otlp::OtlpOptions;
use tidemark_ingest::remote_write::NameValidation;
use tidemark_query::QueryEngine;
use tidemark_storage::KvDatabase;
use tidemark_storage::cold::ColdStore;
use tidemark_storage::tsdb::Layout;

use tidemark_tiering::{Coordinator, TieringConfig};

use crate::auth::Auth;
use crate::body::BodyLimits;
use crate::config::MetricsAuth;

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
    /// Bounds of request bodies.
    pub bodies: BodyLimits,
    /// Databases are created by their first write (also through `CREATE DATABASE`).
    pub create_databases: bool,
    /// Database of Prometheus requests that name none.
    pub default_database: String,
    /// The cold tier's object store.
    pub cold_store: ColdStore,
    /// Tiering settings (for on-demand passes).
    pub tiering: TieringConfig,
    /// Who runs background passes (one at a time per job, across nodes).
    pub coordinator: Arc<Coordinator>,
    /// How remote_write 2.0 and OTLP requests decode.
    pub push: PushOptions,
    /// Who may read `/metrics` and `/api/v1/status/buildinfo`.
    pub metrics_auth: MetricsAuth,
}

/// How the Prometheus-shaped push protocols decode (`[otlp]`, `[remote_write]`).
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// OTLP name translation and resource attribute promotion.
    pub otlp: OtlpOptions,
    /// Metric and label name rules of remote_write.
    pub names: NameValidation,
    /// Memory one decoded remote_write 2.0 or OTLP request may take; more gets 413.
    pub max_decoded_bytes: usize,
}

/// The options of [`AppState::new`] beyond the services.
#[derive(Debug, Clone)]
pub struct StateOptions {
    /// Bounds of request bodies.
    pub bodies: BodyLimits,
    /// Databases are created by their first write.
    pub create_databases: bool,
    /// Database of Prometheus requests that name none.
    pub default_database: String,
    /// The cold tier's object store.
    pub cold_store: ColdStore,
    /// Tiering settings.
    pub tiering: TieringConfig,
    /// Who runs background passes.
    pub coordinator: Arc<Coordinator>,
    /// The key layout (the configured root subspace).
    pub layout: Layout,
    /// How remote_write 2.0 and OTLP requests decode.
    pub push: PushOptions,
    /// Who may read `/metrics` and `/api/v1/status/buildinfo`.
    pub metrics_auth: MetricsAuth,
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
            layout: options.layout,
            writer,
            auth,
            query,
            bodies: options.bodies,
            create_databases: options.create_databases,
            default_database: options.default_database,
            cold_store: options.cold_store,
            tiering: options.tiering,
            coordinator: options.coordinator,
            push: options.push,
            metrics_auth: options.metrics_auth,
        }
    }
}
