//! `tidemark dump` and `tidemark count`: read a series back through a running server.

use clap::Args;

use super::ServerArgs;

/// `dump`/`count` arguments.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Database.
    #[arg(long)]
    pub db: String,
    /// A whole series in line protocol syntax: the measurement and all of its tags, e.g.
    /// `cpu,host=a`.
    #[arg(long)]
    pub series: String,
    /// First time (ns since the epoch, inclusive).
    #[arg(long)]
    pub start: Option<i64>,
    /// Last time (ns since the epoch, inclusive).
    #[arg(long)]
    pub end: Option<i64>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Fetches the series' points as the server's JSON.
pub async fn fetch(args: &DumpArgs) -> anyhow::Result<serde_json::Value> {
    let mut query = vec![("db", args.db.clone()), ("series", args.series.clone())];
    if let Some(start) = args.start {
        query.push(("start", start.to_string()));
    }
    if let Some(end) = args.end {
        query.push(("end", end.to_string()));
    }
    let response = args.server.get("/api/v0/points", &query).await?;
    Ok(response.json().await?)
}
