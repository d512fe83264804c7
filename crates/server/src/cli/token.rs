//! `tidemark token create|list|revoke`: on a running server (`--url`, `--token`: an admin
//! token) or offline on its storage (`--data-dir`...). Only a token's hash is stored; `create`
//! prints the token once.

use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;
use tidemark_storage::tsdb::{Permissions, TokenId};

use super::{AdminArgs, Target, open_offline, refused};
use crate::admin::{TokenSpec, create_token, list_tokens, revoke_token, token_json};
use crate::config::parse_duration;

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for some databases (or an admin token) and print it (shown once).
    Create(CreateArgs),
    /// List tokens: ids, names, databases, permissions, creation and expiry (never secrets).
    List(ListArgs),
    /// Revoke a token by id: every node refuses it within 2 s.
    Revoke(RevokeArgs),
}

/// `token create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A database the token is for; repeat (or separate by commas) for several.
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "admin",
        conflicts_with = "admin"
    )]
    pub db: Vec<String>,
    /// An admin token: every database, and the operations spanning them (administration,
    /// tiering passes).
    #[arg(long)]
    pub admin: bool,
    /// Allow queries.
    #[arg(long)]
    pub read: bool,
    /// Allow writes.
    #[arg(long)]
    pub write: bool,
    /// A name for people.
    #[arg(long, default_value = "")]
    pub name: String,
    /// The token stops working this long after creation, e.g. `30d`.
    #[arg(long, value_name = "DURATION")]
    pub expiry: Option<String>,
    /// Offline: create the data directory if it does not exist yet (else it is refused).
    #[arg(long)]
    pub init: bool,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// `token list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// `token revoke` arguments.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's id (from `token list`, or printed by `token create`).
    #[arg(long)]
    pub id: String,
    /// Where: a running server or its storage.
    #[command(flatten)]
    pub target: AdminArgs,
}

/// Runs a token command.
pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args).await,
        TokenCommand::List(args) => list(args).await,
        TokenCommand::Revoke(args) => revoke(args).await,
    }
}

fn spec(args: &CreateArgs) -> anyhow::Result<TokenSpec> {
    // Neither flag means both: a token nobody can use is never what was meant.
    let both = !args.read && !args.write;
    let expires_in: Option<Duration> = match &args.expiry {
        Some(text) => Some(parse_duration("--expiry", text)?),
        None => None,
    };
    Ok(TokenSpec {
        name: args.name.clone(),
        databases: args.db.clone(),
        permissions: Permissions {
            read: args.read || both,
            write: args.write || both,
        },
        admin: args.admin,
        expires_in,
    })
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let spec = spec(&args)?;
    let (secret, answer) = match args.target.target()? {
        Target::Online(server) => {
            let mut permissions = Vec::new();
            if spec.permissions.read {
                permissions.push("read");
            }
            if spec.permissions.write {
                permissions.push("write");
            }
            let mut body = json!({"name": spec.name, "admin": spec.admin});
            if !spec.admin {
                body["databases"] = json!(spec.databases);
                body["permissions"] = json!(permissions);
            }
            if let Some(expires_in) = spec.expires_in {
                body["expiry_secs"] = json!(expires_in.as_secs());
            }
            let answer = server
                .call(Method::POST, "/api/v3/configure/token", &[], Some(body))
                .await?;
            let secret = answer["token"].as_str().unwrap_or_default().to_owned();
            (secret, answer)
        }
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, args.init).await?;
            let layout = config.layout();
            let (secret, grant) =
                crate::with_db!(&storage, db => create_token(db, &layout, &spec).await)
                    .map_err(refused)?;
            (secret, token_json(&grant))
        }
    };
    let scope = if spec.admin {
        "every database (admin)".to_owned()
    } else {
        format!("database(s) {}", spec.databases.join(", "))
    };
    eprintln!(
        "token {} for {scope} (shown once; store it now):",
        answer["id"].as_str().unwrap_or_default()
    );
    println!("{secret}");
    Ok(())
}

fn time(seconds: Option<i64>) -> String {
    seconds
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .map_or("-".to_owned(), |at| {
            at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        })
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let tokens: Vec<serde_json::Value> = match args.target.target()? {
        Target::Online(server) => {
            let answer = server
                .call(
                    Method::GET,
                    "/api/v3/configure/token",
                    &[("format", "json")],
                    None,
                )
                .await?;
            answer.as_array().cloned().unwrap_or_default()
        }
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            let grants = crate::with_db!(&storage, db => list_tokens(db, &layout).await)?;
            grants.iter().map(token_json).collect()
        }
    };
    if args.json {
        println!("{}", serde_json::Value::Array(tokens));
        return Ok(());
    }
    println!(
        "{:<16}  {:<20}  {:<24}  {:<10}  {:<20}  EXPIRES",
        "ID", "NAME", "DATABASES", "ACCESS", "CREATED"
    );
    for token in &tokens {
        let databases = if token["admin"].as_bool() == Some(true) {
            "(admin: all)".to_owned()
        } else {
            token["databases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let access = token["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|name| name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut expires = time(token["expires_at"].as_i64());
        if token["expired"].as_bool() == Some(true) {
            expires.push_str(" (expired)");
        }
        println!(
            "{:<16}  {:<20}  {:<24}  {:<10}  {:<20}  {expires}",
            token["id"].as_str().unwrap_or_default(),
            token["name"].as_str().unwrap_or_default(),
            databases,
            access,
            time(token["created_at"].as_i64()),
        );
    }
    Ok(())
}

async fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let id: TokenId = args
        .id
        .parse()
        .map_err(|error: String| anyhow::anyhow!(error))?;
    match args.target.target()? {
        Target::Online(server) => {
            let id_text = id.to_string();
            server
                .call(
                    Method::DELETE,
                    "/api/v3/configure/token",
                    &[("id", id_text.as_str())],
                    None,
                )
                .await?;
        }
        Target::Offline(store) => {
            let (config, storage) = open_offline(&store, false).await?;
            let layout = config.layout();
            crate::with_db!(&storage, db => revoke_token(db, &layout, id).await)
                .map_err(refused)?;
        }
    }
    eprintln!(
        "revoked token {id}: every node refuses it within {} s",
        crate::auth::CACHE_TTL.as_secs()
    );
    Ok(())
}
