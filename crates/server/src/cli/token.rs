//! `tidemark token create`: mints a token, stores only its hash, prints it once.

use clap::{Args, Subcommand};
use rand::RngCore;
use tidemark_storage::tsdb::{Permissions, TokenGrant};
use tidemark_storage::{KvTransaction, RunOptions, run};

use crate::config::{Config, ServeArgs, StorageArgs};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for one database and print it (it cannot be shown again).
    Create(CreateArgs),
}

/// `token create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The database the token is for (not with `--admin`).
    #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
    pub db: Option<String>,
    /// An admin token: every database, and the operations spanning them (tiering passes,
    /// administration).
    #[arg(long)]
    pub admin: bool,
    /// Allow queries.
    #[arg(long)]
    pub read: bool,
    /// Allow writes.
    #[arg(long)]
    pub write: bool,
    /// The server's storage (with the embedded backend, the server must be stopped).
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Creates the token in the data directory's storage and returns it.
pub async fn create(args: CreateArgs) -> anyhow::Result<String> {
    let config = Config::resolve(&ServeArgs {
        store: args.storage.clone(),
        ..ServeArgs::default()
    })?;
    let storage = crate::storage::open(&config).await?;
    // Neither flag means both: a token nobody can use is never what was meant.
    let permissions = if args.read || args.write {
        Permissions {
            read: args.read,
            write: args.write,
        }
    } else {
        Permissions {
            read: true,
            write: true,
        }
    };
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    let token = format!(
        "tmk_{}",
        secret
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    );
    let grant = match &args.db {
        Some(database) if !args.admin => {
            TokenGrant::for_databases(vec![database.clone()], permissions)
        }
        _ => TokenGrant::admin(),
    };
    let layout = config.layout();
    let stored = token.clone();
    crate::with_db!(&storage, db => run(db, RunOptions::idempotent(), move |tx, _| {
        let layout = layout.clone();
        let grant = grant.clone();
        let token = stored.clone();
        Box::pin(async move {
            layout.put_token(tx, &token, &grant);
            tx.get_read_version().await.map(|_| ())
        })
    })
    .await?);
    Ok(token)
}
