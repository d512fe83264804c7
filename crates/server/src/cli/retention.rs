//! `tidemark retention --db NAME [--hot D] [--total D]`: a database's own retention, stored in
//! its tenant settings and honoured by every tiering pass (over the server-wide defaults). On a
//! running server (`--url`, `--token`: an admin token) or offline on its storage
//! (`--data-dir`...).

use clap::Args;
use reqwest::Method;
use serde_json::json;
use tidemark_storage::tsdb::RetentionSettings;

use super::{AdminArgs, Target, open_offline, refused};
use crate::admin::{RetentionChange, set_retention};
use crate::config::parse_duration;

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
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// A setting of the server's answer (a duration, or `null` for the default) in nanoseconds.
fn answered(value: &serde_json::Value) -> anyhow::Result<Option<i64>> {
    match value.as_str() {
        None => Ok(None),
        Some(text) => Ok(Some(tidemark_tiering::nanos(parse_duration(
            "retention",
            text,
        )?))),
    }
}

/// Updates the database's retention and returns the settings now stored.
pub async fn set(args: RetentionArgs) -> anyhow::Result<RetentionSettings> {
    let change =
        RetentionChange::parse(args.hot.as_deref(), args.total.as_deref()).map_err(refused)?;
    match args.target.target()? {
        Target::Online(server) => {
            let mut body = json!({"db": args.db});
            if let Some(hot) = &args.hot {
                body["hot_retention"] = json!(hot);
            }
            if let Some(total) = &args.total {
                body["retention_period"] = json!(total);
            }
            let answer = server
                .call(
                    Method::PUT,
                    "/api/v3/configure/database/retention",
                    &[],
                    Some(body),
                )
                .await?;
            Ok(RetentionSettings {
                hot_nanos: answered(&answer["hot_retention"])?,
                total_nanos: answered(&answer["retention_period"])?,
            })
        }
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            crate::with_db!(&storage, db => set_retention(db, &layout, &args.db, change).await)
                .map_err(refused)
        }
    }
}
