//! `tidemark query --db D "SQL"`: run SQL on a running server and print the result.

use clap::Args;
use futures::StreamExt;
use std::io::Write;

use super::ServerArgs;

/// `query` arguments.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Database (optional when the token grants one).
    #[arg(long)]
    pub db: Option<String>,
    /// Output format: pretty, json, jsonl, csv or parquet.
    #[arg(long, default_value = "pretty")]
    pub format: String,
    /// The SQL statement.
    pub sql: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs the query and copies the response body to stdout as it arrives.
pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let mut query = vec![("q", args.sql.clone()), ("format", args.format.clone())];
    if let Some(db) = &args.db {
        query.push(("db", db.clone()));
    }
    let response = args.server.get("/api/v3/query_sql", &query).await?;
    let mut body = response.bytes_stream();
    let mut stdout = std::io::stdout().lock();
    while let Some(chunk) = body.next().await {
        stdout.write_all(&chunk?)?;
    }
    stdout.flush()?;
    Ok(())
}
