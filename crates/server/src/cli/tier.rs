//! `tidemark tier run|status`: one tiering pass, or each database's tiers, either on a stopped
//! server's data directory (the default) or, with `--url`, through a running server.

use std::io::Write;

use clap::{Args, Subcommand};
use futures::StreamExt;
use tidemark_storage::KvDatabase;
use tidemark_tiering::{Coordinator, Job, TenantStatus, TierEvent, Tierer, tier_status};

use crate::config::{Config, ServeArgs};
use crate::tier::{event_json, stats_json};

/// `tier` subcommands.
#[derive(Debug, Subcommand)]
pub enum TierCommand {
    /// Run one tiering pass now (retention, moving old partitions, garbage collection).
    Run(TierArgs),
    /// Show each database's hot and cold data.
    Status(TierArgs),
}

/// Where to tier: a data directory (with the server's settings) or a running server.
#[derive(Debug, Args)]
pub struct TierArgs {
    /// Talk to the running server at this URL instead of opening the data directory.
    #[arg(long, env = "TIDEMARK_URL")]
    pub url: Option<String>,
    /// Token for `--url`.
    #[arg(long, env = "TIDEMARK_TOKEN")]
    pub token: Option<String>,
    /// The server's settings (data directory, object store, retention).
    #[command(flatten)]
    pub serve: ServeArgs,
}

fn print_event(line: &serde_json::Value) {
    let text = match line.get("event").and_then(|event| event.as_str()) {
        Some("partition") => format!(
            "moved {}.{} partition {}: {} series, {} rows, {} bytes, replaced {} file(s)",
            line["database"].as_str().unwrap_or_default(),
            line["measurement"].as_str().unwrap_or_default(),
            format_time(line["start"].as_i64().unwrap_or_default()),
            line["series"],
            line["rows"],
            line["bytes"],
            line["replaced"]
        ),
        Some("expired") => format!(
            "expired {}: {} cold file(s), hot ranges of {} series",
            line["database"].as_str().unwrap_or_default(),
            line["files"],
            line["series"]
        ),
        Some("deleted") => format!(
            "deleted {}{}",
            line["path"].as_str().unwrap_or_default(),
            if line["orphan"].as_bool() == Some(true) {
                " (orphan)"
            } else {
                ""
            }
        ),
        Some("done") => format!(
            "done: {} partition(s), {} file(s) written, {} rows, {} bytes, {} file(s) retired, {} object(s) deleted",
            line["partitions"],
            line["files_written"],
            line["rows"],
            line["bytes"],
            line["files_retired"],
            line["objects_deleted"]
        ),
        _ => line.to_string(),
    };
    eprintln!("{text}");
}

fn format_time(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%dT%H:%MZ")
        .to_string()
}

/// `tidemark tier run`.
pub async fn run(args: TierArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.url {
        let server = super::ServerArgs {
            url: Some(url.clone()),
            config: None,
            token: args.token.clone(),
        };
        let endpoint = format!("{}/api/v0/tier/run", url.trim_end_matches('/'));
        let response = server
            .request(reqwest::Client::new().post(endpoint))
            .send()
            .await?;
        if !response.status().is_success() {
            anyhow::bail!("{}", super::error_message(response).await);
        }
        let mut body = response.bytes_stream();
        let mut pending = Vec::new();
        while let Some(chunk) = body.next().await {
            pending.extend_from_slice(&chunk?);
            while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let value: serde_json::Value = serde_json::from_slice(&line)?;
                if value["event"] == "error" {
                    anyhow::bail!("tiering failed: {}", value["error"]);
                }
                print_event(&value);
            }
        }
        return Ok(());
    }
    let config = Config::resolve(&args.serve)?;
    let storage = crate::storage::open(&config).await?;
    crate::with_db!(&storage, db => pass(db, &config).await)
}

async fn pass<D: KvDatabase>(db: &D, config: &Config) -> anyhow::Result<()> {
    let store = crate::serve::open_cold_store(config, db).await?;
    let tiering = config.tiering_config()?;
    let tierer = Tierer {
        db,
        layout: &config.layout(),
        store: &store,
        config: &tiering,
    };
    // Other nodes may share this storage (FDB): take the tiering lease like a server's pass.
    let coordinator = Coordinator::new();
    let guard = coordinator
        .begin(db, tierer.layout, Job::Tiering)
        .await
        .map_err(|busy| anyhow::anyhow!("cannot start a tiering pass: {busy}"))?;
    let report = |event: TierEvent| print_event(&event_json(&event));
    let stats = tierer.run_pass(&report).await;
    guard.release().await;
    print_event(&stats_json(&stats?));
    Ok(())
}

async fn local_status<D: KvDatabase>(
    db: &D,
    config: &Config,
) -> anyhow::Result<(Vec<TenantStatus>, String)> {
    let store = crate::serve::open_cold_store(config, db).await?;
    let progress = |database: &str| eprintln!("scanning {database}...");
    let tiering = config.tiering_config()?;
    Ok((
        tier_status(db, &config.layout(), &tiering, None, &progress).await?,
        store.description().to_string(),
    ))
}

/// `tidemark tier status`.
pub async fn status(args: TierArgs) -> anyhow::Result<()> {
    let (tenants, store): (Vec<TenantStatus>, String) = if let Some(url) = &args.url {
        let server = super::ServerArgs {
            url: Some(url.clone()),
            config: None,
            token: args.token.clone(),
        };
        let body: serde_json::Value = server.get("/api/v0/tier/status", &[]).await?.json().await?;
        (
            serde_json::from_value(body["databases"].clone())?,
            body["object_store"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    } else {
        let config = Config::resolve(&args.serve)?;
        let storage = crate::storage::open(&config).await?;
        crate::with_db!(&storage, db => local_status(db, &config).await?)
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "object store: {store}")?;
    writeln!(
        stdout,
        "{:<24} {:>14} {:>10} {:>10} {:>14} {:<18} {:<18}",
        "database",
        "hot bytes",
        "hot keys",
        "cold files",
        "cold bytes",
        "oldest hot",
        "oldest cold"
    )?;
    for tenant in tenants {
        let time = |nanos: Option<i64>| nanos.map_or("-".to_string(), format_time);
        writeln!(
            stdout,
            "{:<24} {:>14} {:>10} {:>10} {:>14} {:<18} {:<18}",
            tenant.database,
            tenant.hot_bytes,
            tenant.hot_keys,
            tenant.cold_files,
            tenant.cold_bytes,
            time(tenant.oldest_hot_partition),
            time(tenant.oldest_cold_partition)
        )?;
    }
    Ok(())
}
