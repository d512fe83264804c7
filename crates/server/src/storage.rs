//! Opens the configured hot-tier storage, for `serve` and for the commands that work on storage
//! directly (`token`, `compact`, `retention`, `tier`).
//!
//! Code over storage is generic in `KvDatabase`; [`Storage`] holds whichever backend the
//! configuration names and [`with_db!`](crate::with_db) runs one generic body on it.

use anyhow::Context;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions};

use crate::config::{Config, StorageBackend};

/// The opened hot-tier storage.
#[derive(Debug)]
pub enum Storage {
    /// fjall in `<data_dir>/kv`, owned by this process.
    Embedded(EmbeddedKv),
    /// A FoundationDB cluster.
    #[cfg(feature = "fdb")]
    Fdb(tidemark_storage::fdb::FdbKv),
}

/// Runs `$body` with `$db` bound to the storage's database, whichever backend it is.
#[macro_export]
macro_rules! with_db {
    ($storage:expr, $db:ident => $body:expr) => {
        match $storage {
            $crate::storage::Storage::Embedded($db) => $body,
            #[cfg(feature = "fdb")]
            $crate::storage::Storage::Fdb($db) => $body,
        }
    };
}

/// Opens the storage `config` names.
pub async fn open(config: &Config) -> anyhow::Result<Storage> {
    match config.storage.backend {
        StorageBackend::Embedded => {
            let db = open_embedded(config)?;
            // The directory lock makes this process the store's only user: leases left in it
            // belong to a process that is gone (killed mid-pass), not to a live node.
            config
                .layout()
                .clear_leases(&db)
                .await
                .context("cannot clear the leases of earlier processes")?;
            Ok(Storage::Embedded(db))
        }
        StorageBackend::Fdb => open_fdb(config),
    }
}

/// Opens the embedded storage of a data directory.
pub fn open_embedded(config: &Config) -> anyhow::Result<EmbeddedKv> {
    let path = config.data_dir.join("kv");
    std::fs::create_dir_all(&path)
        .with_context(|| format!("cannot create data directory {}", path.display()))?;
    let db = EmbeddedKv::open(&path, EmbeddedOptions::default()).with_context(|| {
        format!(
            "cannot open embedded storage in {} (is another tidemark using this data directory?)",
            path.display()
        )
    })?;
    tracing::info!(path = %path.display(), "opened embedded storage");
    Ok(db)
}

#[cfg(feature = "fdb")]
fn open_fdb(config: &Config) -> anyhow::Result<Storage> {
    network::start();
    let cluster_file = config
        .storage
        .fdb_cluster_file
        .as_ref()
        .map(|path| path.to_string_lossy().into_owned());
    let db = tidemark_storage::fdb::FdbKv::open(cluster_file.as_deref())
        .context("cannot connect to FoundationDB")?;
    tracing::info!(
        cluster_file = cluster_file.as_deref().unwrap_or("(FDB's default)"),
        root = %config.storage.root,
        "opened FoundationDB"
    );
    Ok(Storage::Fdb(db))
}

#[cfg(not(feature = "fdb"))]
fn open_fdb(_config: &Config) -> anyhow::Result<Storage> {
    anyhow::bail!(
        "this tidemark was built without FoundationDB support; rebuild with `--features fdb` \
         (needs libclang and libfdb_c) or use `--storage embedded`"
    )
}

/// Stops FDB's client network thread, if this process started it, when dropped. `main` holds
/// one for its whole run and drops it after the async runtime (and every database handle in
/// it) is gone, as FDB's client requires.
#[must_use = "dropping it at once stops FoundationDB's network for the rest of the process"]
#[derive(Debug)]
pub struct NetworkScope(());

impl NetworkScope {
    /// The scope of `main`.
    pub fn new() -> Self {
        Self(())
    }
}

impl Default for NetworkScope {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NetworkScope {
    fn drop(&mut self) {
        #[cfg(feature = "fdb")]
        network::stop();
    }
}

#[cfg(feature = "fdb")]
mod network {
    use std::sync::Mutex;

    use tidemark_storage::fdb::NetworkGuard;

    /// FDB allows one client network per process, started once and never restarted: the
    /// first open starts it, [`super::NetworkScope`] stops it.
    static NETWORK: Mutex<Option<NetworkGuard>> = Mutex::new(None);
    static STARTED: std::sync::Once = std::sync::Once::new();

    pub(super) fn start() {
        STARTED.call_once(|| {
            // SAFETY: `Once` makes this the process's only boot; the guard is dropped by
            // `NetworkScope` before `main` returns.
            let guard = unsafe { tidemark_storage::fdb::start_network() };
            *NETWORK.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(guard);
        });
    }

    pub(super) fn stop() {
        let guard = NETWORK
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        drop(guard);
    }
}
