//! `tidemark compact`: one compaction pass over a stopped server's data directory.

use std::time::Duration;

use clap::Args;
use tidemark_storage::KvDatabase;
use tidemark_tiering::{CompactionConfig, CompactionStats, Coordinator, Job, compact_sealed};

use crate::config::{Config, ServeArgs, StorageArgs};

/// `compact` arguments.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The server's storage (with the embedded backend, the server must be stopped).
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Compact buckets that ended at least this many seconds ago.
    #[arg(long, default_value_t = 600)]
    pub seal_after_seconds: u64,
    /// Afterwards, flush and fully compact the storage engine so disk usage reflects live data.
    #[arg(long)]
    pub settle: bool,
}

/// One pass under the compaction lease, as a server's pass takes it (other nodes may share
/// this storage).
async fn compact_once<D: KvDatabase>(
    db: &D,
    config: &Config,
    compaction: &CompactionConfig,
) -> anyhow::Result<CompactionStats> {
    let layout = config.layout();
    let coordinator = Coordinator::new();
    let guard = coordinator
        .begin(db, &layout, Job::Compaction)
        .await
        .map_err(|busy| anyhow::anyhow!("cannot start a compaction pass: {busy}"))?;
    let stats = compact_sealed(db, &layout, compaction).await;
    guard.release().await;
    Ok(stats?)
}

/// Runs one pass; returns its statistics.
pub async fn compact(args: CompactArgs) -> anyhow::Result<CompactionStats> {
    let config = Config::resolve(&ServeArgs {
        store: args.storage.clone(),
        ..ServeArgs::default()
    })?;
    let storage = crate::storage::open(&config).await?;
    let compaction = CompactionConfig {
        seal_after: Duration::from_secs(args.seal_after_seconds),
        ..CompactionConfig::default()
    };
    let stats = crate::with_db!(&storage, db => compact_once(db, &config, &compaction).await?);
    if args.settle {
        match &storage {
            crate::storage::Storage::Embedded(db) => db.settle_storage()?,
            #[cfg(feature = "fdb")]
            crate::storage::Storage::Fdb(_) => {
                tracing::warn!("--settle applies to the embedded storage engine only")
            }
        }
    }
    Ok(stats)
}
