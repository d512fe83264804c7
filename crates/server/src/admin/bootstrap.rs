//! The first admin token, from a file given to `serve` (`admin_token_file`,
//! `--admin-token-file`, `TIDEMARK_ADMIN_TOKEN_FILE`): the file holds the token; at start, when
//! no admin token exists yet, its hash is stored as one. Starting again with the same file
//! changes nothing. Once admin tokens exist the file is not needed (and is ignored, with a
//! warning, if it names another token): so revoking the file's token online is not undone by a
//! restart while another admin token remains.

use std::path::Path;

use anyhow::Context;
use tidemark_storage::tsdb::{Layout, TokenGrant};
use tidemark_storage::{KvDatabase, KvError, RunOptions, run};

/// Shortest token the file may hold.
const MIN_TOKEN_CHARS: usize = 16;
/// The name the stored token gets.
const NAME: &str = "admin-token-file";

/// What the file led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Its token was stored as an admin token.
    Stored,
    /// Its token already is an admin token.
    Present,
    /// Its token exists but is not an admin token.
    NotAdmin,
    /// Other admin tokens exist; the file's token was not added.
    Ignored,
}

/// Reads the token in `path` and, when no admin token exists yet, stores its hash as one.
pub async fn admin_token_file<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    path: &Path,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
    let token = text.trim();
    if token.chars().count() < MIN_TOKEN_CHARS
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        anyhow::bail!(
            "the admin token file {} must hold one token of at least {MIN_TOKEN_CHARS} \
             characters without spaces (e.g. made by `openssl rand -hex 24`)",
            path.display()
        );
    }
    let outcome = run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, token) = (layout.clone(), token.to_owned());
        Box::pin(async move {
            if let Some(grant) = layout.token_grant(tx, &token).await? {
                return Ok(if grant.admin {
                    Outcome::Present
                } else {
                    Outcome::NotAdmin
                });
            }
            let tokens = layout.list_tokens(tx).await?;
            if tokens.iter().any(|(_, grant)| grant.admin) {
                return Ok(Outcome::Ignored);
            }
            let mut grant = TokenGrant::admin();
            grant.name = NAME.to_owned();
            layout.put_token(tx, &token, &grant);
            Ok::<_, KvError>(Outcome::Stored)
        })
    })
    .await?;
    let file = path.display().to_string();
    match outcome {
        Outcome::Stored => tracing::info!(%file, "stored the admin token of the admin token file"),
        Outcome::Present => tracing::debug!(%file, "the admin token file's token exists"),
        Outcome::NotAdmin => anyhow::bail!(
            "the token in the admin token file {file} exists but is not an admin token"
        ),
        Outcome::Ignored => tracing::warn!(
            %file,
            "admin tokens exist already; the admin token file's token was not added (create \
             more with `tidemark token create --admin`)"
        ),
    }
    Ok(())
}
