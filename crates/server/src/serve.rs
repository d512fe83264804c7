//! `tidemark serve`: open storage, bind the listener, serve until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use tidemark_ingest::Writer;
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::Layout;
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::config::{Config, ConfigError, StorageBackend};
use crate::sql::flight::TidemarkFlightSql;
use crate::state::{AppState, StateOptions};
use crate::{http, listener};
use arrow_flight::flight_service_server::FlightServiceServer;
use tidemark_query::QueryEngine;

/// Opens the cold tier's object store and claims it for the deployment of `db` (refusing a
/// store that holds someone else's objects; see `tidemark_storage::cold::deployment`).
pub async fn open_cold_store<D: KvDatabase>(
    config: &Config,
    db: &D,
) -> anyhow::Result<tidemark_storage::cold::ColdStore> {
    let store =
        tidemark_storage::cold::ColdStore::open(&config.object_store_config(), &config.data_dir)
            .context("cannot open the object store of the cold tier")?
            .claim(db, &config.layout())
            .await
            .context("cannot use the object store of the cold tier")?;
    tracing::info!(store = store.description(), "cold tier");
    Ok(store)
}

/// Runs the server with a resolved configuration.
pub async fn run(config: Config) -> anyhow::Result<()> {
    // A fresh embedded data directory holds no token (but the admin token file's, stored at
    // start): refuse before creating anything.
    if config.storage.backend == StorageBackend::Embedded && !config.data_dir.join("kv").exists() {
        config.check_exposure(config.admin_token_file.is_some())?;
    }
    let storage = crate::storage::open(&config).await?;
    crate::with_db!(storage, db => serve(db, &config).await)
}

async fn tokens_exist<D: KvDatabase>(db: &D, layout: &Layout) -> anyhow::Result<bool> {
    let tx = db.create_transaction()?;
    Ok(layout.any_token(&tx).await?)
}

async fn serve<D: KvDatabase>(db: D, config: &Config) -> anyhow::Result<()> {
    // Before anything records (the background loops start below): the engine's `/metrics`
    // count from here.
    crate::metrics::install();
    let exposed = !config.listen.ip().is_loopback();
    let layout = config.layout();
    if let Some(path) = &config.admin_token_file {
        crate::admin::admin_token_file(&db, &layout, path).await?;
    }
    config
        .check_exposure(tokens_exist(&db, &layout).await?)
        .map_err(|error: ConfigError| anyhow::anyhow!(error))?;
    let writer = Writer::start(db.clone(), layout.clone(), config.writer_config()?);
    let compaction = tidemark_tiering::CompactionConfig {
        seal_after: std::time::Duration::from_secs(config.compaction_seal_after_seconds),
        ..tidemark_tiering::CompactionConfig::default()
    };
    let coordinator = tidemark_tiering::Coordinator::new();
    // Databases deleted while a node stopped before clearing their keys.
    crate::admin::spawn_reclaim(db.clone(), layout.clone(), coordinator.clone());
    tokio::spawn(tidemark_tiering::run_compaction_loop(
        coordinator.clone(),
        db.clone(),
        layout.clone(),
        compaction,
    ));
    let tiering = config.tiering_config()?;
    let cold_store = open_cold_store(config, &db).await?;
    tokio::spawn(tidemark_tiering::run_tiering_loop(
        coordinator.clone(),
        db.clone(),
        layout.clone(),
        cold_store.clone(),
        tiering.clone(),
    ));
    let auth = Auth::new(db.clone(), layout.clone(), exposed);
    let query = QueryEngine::new(
        db.clone(),
        layout.clone(),
        config.query_config(Some(cold_store.clone()))?,
    )?;
    let state = Arc::new(AppState::new(
        db,
        writer,
        auth,
        query,
        StateOptions {
            bodies: config.body_limits()?,
            create_databases: config.create_databases,
            default_database: config.default_database.clone(),
            cold_store,
            tiering,
            coordinator,
            layout,
            push: config.push_options()?,
            metrics_auth: config.http.metrics_auth,
        },
    ));
    let tls = match &config.tls {
        Some(tls) => Some(listener::tls_acceptor(&tls.cert, &tls.key)?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr().context("listener has no address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%scheme, %addr, "listening");
    let flight = FlightServiceServer::new(TidemarkFlightSql::new(state.clone()))
        .max_decoding_message_size(config.http.max_flight_message_bytes);
    listener::serve(
        listener,
        http::router(state),
        flight,
        tls,
        config.listener_limits()?,
        shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
