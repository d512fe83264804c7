//! `tidemark database create|list|delete`: on a running server (`--url`, `--token`: an admin
//! token) or offline on its storage (`--data-dir`...).

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;
use tidemark_tiering::Coordinator;

use super::{AdminArgs, Target, open_offline, refused};
use crate::admin::{
    RetentionChange, create_database, database_json, delete_database, list_databases,
    reclaim_dropped,
};

/// Database commands.
#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Create a database (names as writes accept them).
    Create(CreateArgs),
    /// List databases with their own retention.
    List(ListArgs),
    /// Delete a database: its data, and the tokens for it alone.
    Delete(DeleteArgs),
}

/// `database create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The database.
    #[arg(long)]
    pub db: String,
    /// How long its data stays hot, e.g. `3d` [default: the server's setting].
    #[arg(long, value_name = "DURATION")]
    pub hot: Option<String>,
    /// How long its data is kept at all, e.g. `400d` [default: the server's setting].
    #[arg(long, value_name = "DURATION")]
    pub total: Option<String>,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// `database list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// `database delete` arguments.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The database.
    #[arg(long)]
    pub db: String,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// Runs a database command.
pub async fn run(command: DatabaseCommand) -> anyhow::Result<()> {
    match command {
        DatabaseCommand::Create(args) => create(args).await,
        DatabaseCommand::List(args) => list(args).await,
        DatabaseCommand::Delete(args) => delete(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    match args.target.target()? {
        Target::Online(server) => {
            let mut body = json!({"db": args.db});
            if let Some(hot) = &args.hot {
                body["hot_retention"] = json!(hot);
            }
            if let Some(total) = &args.total {
                body["retention_period"] = json!(total);
            }
            server
                .call(Method::POST, "/api/v3/configure/database", &[], Some(body))
                .await?;
        }
        Target::Offline(store) => {
            let change = RetentionChange::parse(args.hot.as_deref(), args.total.as_deref())
                .map_err(refused)?;
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            crate::with_db!(&storage, db => create_database(db, &layout, &args.db, change).await)
                .map_err(refused)?;
        }
    }
    eprintln!("created database {:?}", args.db);
    Ok(())
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let databases: Vec<serde_json::Value> = match args.target.target()? {
        Target::Online(server) => server
            .call(
                Method::GET,
                "/api/v3/configure/database",
                &[("format", "json")],
                None,
            )
            .await?
            .as_array()
            .cloned()
            .unwrap_or_default(),
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            let databases = crate::with_db!(&storage, db => list_databases(db, &layout).await)?;
            databases.iter().map(database_json).collect()
        }
    };
    if args.json {
        println!("{}", serde_json::Value::Array(databases));
        return Ok(());
    }
    println!("{:<32}  {:<14}  RETENTION", "DATABASE", "HOT");
    let setting = |value: &serde_json::Value| value.as_str().unwrap_or("default").to_owned();
    for database in &databases {
        println!(
            "{:<32}  {:<14}  {}",
            database["iox::database"].as_str().unwrap_or_default(),
            setting(&database["hot_retention"]),
            setting(&database["retention_period"]),
        );
    }
    Ok(())
}

async fn delete(args: DeleteArgs) -> anyhow::Result<()> {
    match args.target.target()? {
        Target::Online(server) => {
            let answer = server
                .call(
                    Method::DELETE,
                    "/api/v3/configure/database",
                    &[("db", args.db.as_str())],
                    None,
                )
                .await?;
            eprintln!(
                "deleted database {:?} ({} token(s) revoked); the server clears its data in the \
                 background",
                args.db, answer["tokens_revoked"]
            );
        }
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            let coordinator = Coordinator::new();
            let deleted = crate::with_db!(&storage, db => {
                let deleted = delete_database(db, &layout, &args.db).await.map_err(refused)?;
                eprintln!("clearing the data of {:?} (waits for running compaction or tiering passes)", args.db);
                reclaim_dropped(db, &layout, &coordinator).await?;
                deleted
            });
            eprintln!(
                "deleted database {:?} ({} token(s) revoked) and its data",
                args.db, deleted.tokens_revoked
            );
        }
    }
    Ok(())
}
