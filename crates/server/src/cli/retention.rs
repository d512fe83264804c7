//! `tidemark retention --db NAME [--hot D] [--total D]`: a database's own retention, stored in
//! its tenant settings and honoured by every tiering pass (over the server-wide defaults).
//! Like tokens, it is set on a stopped server's data directory.

use clap::Args;
use tidemark_storage::tsdb::RetentionSettings;
use tidemark_storage::{KvError, RunOptions, run};

use crate::config::{Config, ServeArgs, StorageArgs, parse_duration};

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
    /// The server's storage (with the embedded backend, the server must be stopped).
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// A flag's change: `None` keeps the stored value, `Some(None)` restores the server default.
fn change(key: &'static str, text: Option<&str>) -> anyhow::Result<Option<Option<i64>>> {
    Ok(match text {
        None => None,
        Some("default") => Some(None),
        Some(text) => Some(Some(tidemark_tiering::nanos(parse_duration(key, text)?))),
    })
}

/// Updates the database's retention and returns the settings now stored.
pub async fn set(args: RetentionArgs) -> anyhow::Result<RetentionSettings> {
    let config = Config::resolve(&ServeArgs {
        store: args.storage.clone(),
        ..ServeArgs::default()
    })?;
    let storage = crate::storage::open(&config).await?;
    let layout = config.layout();
    let hot = change("--hot", args.hot.as_deref())?;
    let total = change("--total", args.total.as_deref())?;
    // Read-modify-write in one transaction: the setting not given keeps its stored value.
    let settings = crate::with_db!(&storage, db => run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, name) = (layout.clone(), args.db.clone());
        Box::pin(async move {
            let Some(tenant) = layout.tenant_id(tx, &name).await? else {
                return Ok(None);
            };
            let old = layout.retention(tx, tenant).await?;
            let settings = RetentionSettings {
                hot_nanos: hot.unwrap_or(old.hot_nanos),
                total_nanos: total.unwrap_or(old.total_nanos),
            };
            layout.set_retention(tx, tenant, settings);
            Ok::<_, KvError>(Some(settings))
        })
    })
    .await?)
    .ok_or_else(|| anyhow::anyhow!("database {:?} not found", args.db))?;
    Ok(settings)
}
