//! `tidemark compact`: one compaction pass over a stopped server's data directory.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tidemark_storage::tsdb::Layout;
use tidemark_tiering::{CompactionConfig, CompactionStats, compact_sealed};

use crate::config::{Config, ServeArgs};

/// `compact` arguments.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Data directory of the (stopped) server [default: ./data].
    #[arg(long, env = "TIDEMARK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Compact buckets that ended at least this many seconds ago.
    #[arg(long, default_value_t = 600)]
    pub seal_after_seconds: u64,
    /// Afterwards, flush and fully compact the storage engine so disk usage reflects live data.
    #[arg(long)]
    pub settle: bool,
}

/// Runs one pass; returns its statistics.
pub async fn compact(args: CompactArgs) -> anyhow::Result<CompactionStats> {
    let config = Config::resolve(&ServeArgs {
        data_dir: args.data_dir.clone(),
        ..ServeArgs::default()
    })?;
    let db = crate::serve::open_embedded(&config)?;
    let compaction = CompactionConfig {
        seal_after: Duration::from_secs(args.seal_after_seconds),
        ..CompactionConfig::default()
    };
    let stats = compact_sealed(&db, &Layout::default(), &compaction).await?;
    if args.settle {
        db.settle_storage()?;
    }
    Ok(stats)
}
