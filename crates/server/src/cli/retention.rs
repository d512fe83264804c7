//! `tidemark retention --db NAME [--hot D] [--total D]`: a database's own retention, stored in
//! its tenant settings and honoured by every tiering pass (over the server-wide defaults).
//! Like tokens, it is set on a stopped server's data directory.

use std::path::PathBuf;

use clap::Args;
use tidemark_storage::tsdb::{Layout, RetentionSettings};
use tidemark_storage::{KvError, RunOptions, run};

use crate::config::{Config, ServeArgs, parse_duration};

/// `retention` arguments.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The database.
    #[arg(long)]
    pub db: String,
    /// How long its data stays hot, e.g. `3d` (`default`: the server's setting).
    #[arg(long)]
    pub hot: Option<String>,
    /// How long its data is kept at all, e.g. `400d` (`default`: the server's setting).
    #[arg(long)]
    pub total: Option<String>,
    /// Data directory of the (stopped) server [default: ./data].
    #[arg(long, env = "TIDEMARK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn nanos(key: &'static str, text: Option<&str>, old: Option<i64>) -> anyhow::Result<Option<i64>> {
    Ok(match text {
        None => old,
        Some("default") => None,
        Some(text) => Some(parse_duration(key, text)?.as_nanos().min(i64::MAX as u128) as i64),
    })
}

/// Updates the database's retention and returns the settings now stored.
pub async fn set(args: RetentionArgs) -> anyhow::Result<RetentionSettings> {
    let config = Config::resolve(&ServeArgs {
        data_dir: args.data_dir.clone(),
        ..ServeArgs::default()
    })?;
    let db = crate::serve::open_embedded(&config)?;
    let layout = Layout::default();
    let tenant = run(&db, RunOptions::idempotent(), |tx, _| {
        let (layout, name) = (layout.clone(), args.db.clone());
        Box::pin(async move { layout.tenant_id(tx, &name).await })
    })
    .await?
    .ok_or_else(|| anyhow::anyhow!("database {:?} not found", args.db))?;
    let old = run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.retention(tx, tenant).await })
    })
    .await?;
    let settings = RetentionSettings {
        hot_nanos: nanos("--hot", args.hot.as_deref(), old.hot_nanos)?,
        total_nanos: nanos("--total", args.total.as_deref(), old.total_nanos)?,
    };
    run(&db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move {
            layout.set_retention(tx, tenant, settings);
            Ok::<_, KvError>(())
        })
    })
    .await?;
    Ok(settings)
}
