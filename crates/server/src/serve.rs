//! `tidemark serve`: open storage, bind the listener, serve until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use tidemark_ingest::Writer;
use tidemark_storage::tsdb::Layout;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, KvDatabase};
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::config::{Config, ConfigError, StorageBackend};
use crate::flight::TidemarkFlightSql;
use crate::state::{AppState, StateOptions};
use crate::{http, listener};
use arrow_flight::flight_service_server::FlightServiceServer;
use tidemark_query::QueryEngine;

/// Opens the embedded storage of a data directory.
pub fn open_embedded(config: &Config) -> anyhow::Result<EmbeddedKv> {
    let path = config.data_dir.join("kv");
    std::fs::create_dir_all(&path)
        .with_context(|| format!("cannot create data directory {}", path.display()))?;
    EmbeddedKv::open(&path, EmbeddedOptions::default()).with_context(|| {
        format!(
            "cannot open embedded storage in {} (is another tidemark using this data directory?)",
            path.display()
        )
    })
}

/// Opens the cold tier's object store and claims it for the deployment of `db` (refusing a
/// store that holds someone else's objects; see `tidemark_storage::cold::deployment`).
pub async fn open_cold_store<D: KvDatabase>(
    config: &Config,
    db: &D,
) -> anyhow::Result<tidemark_storage::cold::ColdStore> {
    let store =
        tidemark_storage::cold::ColdStore::open(&config.object_store_config(), &config.data_dir)
            .context("cannot open the object store of the cold tier")?
            .claim(db, &Layout::default())
            .await
            .context("cannot use the object store of the cold tier")?;
    tracing::info!(store = store.description(), "cold tier");
    Ok(store)
}

/// Runs the server with a resolved configuration.
pub async fn run(config: Config) -> anyhow::Result<()> {
    match config.storage.backend {
        StorageBackend::Embedded => {
            // A fresh data directory holds no token: refuse before creating anything.
            if !config.data_dir.join("kv").exists() {
                config.check_exposure(false)?;
            }
            let db = open_embedded(&config)?;
            tracing::info!(path = %config.data_dir.join("kv").display(), "opened embedded storage");
            serve(db, &config).await
        }
        StorageBackend::Fdb => serve_fdb(&config).await,
    }
}

#[cfg(feature = "fdb")]
async fn serve_fdb(config: &Config) -> anyhow::Result<()> {
    // SAFETY: booted once, here; the guard lives until serving ends, just before exit.
    let _network = unsafe { tidemark_storage::fdb::start_network() };
    let cluster_file = config
        .storage
        .fdb_cluster_file
        .as_ref()
        .map(|path| path.to_string_lossy().into_owned());
    let db = tidemark_storage::fdb::FdbKv::open(cluster_file.as_deref())
        .context("cannot connect to FoundationDB")?;
    serve(db, config).await
}

#[cfg(not(feature = "fdb"))]
async fn serve_fdb(_config: &Config) -> anyhow::Result<()> {
    anyhow::bail!(
        "this tidemark was built without FoundationDB support; rebuild with `--features fdb` \
         (needs libclang and libfdb_c) or use `--storage embedded`"
    )
}

async fn tokens_exist<D: KvDatabase>(db: &D) -> anyhow::Result<bool> {
    let tx = db.create_transaction()?;
    Ok(Layout::default().any_token(&tx).await?)
}

async fn serve<D: KvDatabase>(db: D, config: &Config) -> anyhow::Result<()> {
    let exposed = !config.listen.ip().is_loopback();
    config
        .check_exposure(tokens_exist(&db).await?)
        .map_err(|error: ConfigError| anyhow::anyhow!(error))?;
    let writer = Writer::start(db.clone(), Layout::default(), config.writer_config()?);
    let compaction = tidemark_tiering::CompactionConfig {
        seal_after: std::time::Duration::from_secs(config.compaction_seal_after_seconds),
        ..tidemark_tiering::CompactionConfig::default()
    };
    let coordinator = tidemark_tiering::Coordinator::new();
    tokio::spawn(tidemark_tiering::run_compaction_loop(
        coordinator.clone(),
        db.clone(),
        Layout::default(),
        compaction,
    ));
    let tiering = config.tiering_config()?;
    let cold_store = open_cold_store(config, &db).await?;
    tokio::spawn(tidemark_tiering::run_tiering_loop(
        coordinator.clone(),
        db.clone(),
        Layout::default(),
        cold_store.clone(),
        tiering.clone(),
    ));
    let auth = Auth::new(db.clone(), Layout::default(), exposed);
    let query = QueryEngine::new(
        db.clone(),
        Layout::default(),
        config.query_config(Some(cold_store.clone()))?,
    )?;
    // Before anything records: the engine's `/metrics` start counting from here.
    crate::metrics::install();
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
