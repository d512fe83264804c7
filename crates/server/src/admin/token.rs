//! Tokens: create (the secret is shown once), list (never the secret, nor its hash), revoke
//! (`/api/v3/configure/token`, `tidemark token`).
//!
//! A revoked token stops working on every node within [`crate::auth::CACHE_TTL`] (2 s): that
//! is how long a node trusts a token lookup it cached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use tidemark_storage::tsdb::{Layout, Permissions, TokenGrant, TokenId, now_secs};
use tidemark_storage::{KvDatabase, KvError, RunOptions, run};

use super::{admin_json, json_format};
use crate::api_error::{ApiError, ErrorKind};
use crate::state::AppState;

/// Longest token name, in bytes.
const MAX_NAME_BYTES: usize = 256;
/// Most databases one token may grant.
const MAX_DATABASES: usize = 1_000;

/// What a new token may do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenSpec {
    /// A name for people.
    pub name: String,
    /// The databases it grants (none for an admin token).
    pub databases: Vec<String>,
    /// What it may do there.
    pub permissions: Permissions,
    /// An admin token.
    pub admin: bool,
    /// It stops working this long after creation.
    pub expires_in: Option<Duration>,
}

impl TokenSpec {
    /// The grant of a token made to this spec, or why it cannot be made.
    fn grant(&self) -> Result<TokenGrant, ApiError> {
        if self.name.len() > MAX_NAME_BYTES || self.name.chars().any(char::is_control) {
            return Err(ApiError::invalid(format!(
                "the token name must be at most {MAX_NAME_BYTES} bytes without control characters"
            )));
        }
        let mut grant = if self.admin {
            if !self.databases.is_empty() {
                return Err(ApiError::invalid(
                    "an admin token grants every database: give databases or admin, not both",
                ));
            }
            TokenGrant::admin()
        } else {
            if self.databases.is_empty() {
                return Err(ApiError::invalid(
                    "a token needs at least one database (or admin)",
                ));
            }
            if self.databases.len() > MAX_DATABASES {
                return Err(ApiError::invalid(format!(
                    "a token may grant at most {MAX_DATABASES} databases"
                )));
            }
            if !self.permissions.read && !self.permissions.write {
                return Err(ApiError::invalid(
                    "a token needs a permission: read, write or both",
                ));
            }
            let mut databases = Vec::with_capacity(self.databases.len());
            for database in &self.databases {
                tidemark_ingest::validate_database(database)?;
                if !databases.contains(database) {
                    databases.push(database.clone());
                }
            }
            TokenGrant::for_databases(databases, self.permissions)
        };
        grant.name = self.name.clone();
        if let Some(expires_in) = self.expires_in {
            let seconds = i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX);
            if seconds == 0 {
                return Err(ApiError::invalid("the expiry must be at least one second"));
            }
            grant.expires_at = Some(grant.created_at.unwrap_or_default().saturating_add(seconds));
        }
        Ok(grant)
    }
}

/// A new secret: `tmk_` and 48 hex digits (192 random bits).
pub(crate) fn mint_secret() -> String {
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    let hex: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("tmk_{hex}")
}

/// Creates a token to `spec`; returns the secret (shown once: only its hash is stored) and the
/// grant.
pub async fn create_token<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    spec: &TokenSpec,
) -> Result<(String, TokenGrant), ApiError> {
    let grant = spec.grant()?;
    let secret = mint_secret();
    run(db, RunOptions::idempotent(), |tx, _| {
        let (layout, grant, secret) = (layout.clone(), grant.clone(), secret.clone());
        Box::pin(async move {
            layout.put_token(tx, &secret, &grant);
            Ok::<_, KvError>(())
        })
    })
    .await?;
    Ok((secret, grant))
}

/// Every token, oldest first (records from before creation times first).
pub async fn list_tokens<D: KvDatabase>(
    db: &D,
    layout: &Layout,
) -> Result<Vec<TokenGrant>, KvError> {
    let mut grants: Vec<TokenGrant> = run(db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.list_tokens(tx).await })
    })
    .await?
    .into_iter()
    .map(|(_, grant)| grant)
    .collect();
    grants.sort_by_key(|grant| (grant.created_at, grant.id));
    Ok(grants)
}

/// Revokes the token with `id` (404 when there is none); returns what it granted.
pub async fn revoke_token<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    id: TokenId,
) -> Result<TokenGrant, ApiError> {
    let revoked = run(db, RunOptions::idempotent(), |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { layout.revoke_token(tx, id).await })
    })
    .await?;
    revoked.ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no token has id {id}")))
}

/// A token as listings show it: never the secret, nor its hash.
pub fn token_json(grant: &TokenGrant) -> serde_json::Value {
    let mut permissions = Vec::new();
    if grant.permissions.read {
        permissions.push("read");
    }
    if grant.permissions.write {
        permissions.push("write");
    }
    json!({
        "id": grant.id.to_string(),
        "name": grant.name,
        "admin": grant.admin,
        "databases": grant.databases,
        "permissions": permissions,
        "created_at": grant.created_at,
        "expires_at": grant.expires_at,
        "expired": grant.expired(now_secs()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    databases: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
    expiry_secs: Option<u64>,
    #[serde(default)]
    admin: bool,
}

fn permissions(names: &[String]) -> Result<Permissions, ApiError> {
    let mut permissions = Permissions::default();
    for name in names {
        match name.as_str() {
            "read" => permissions.read = true,
            "write" => permissions.write = true,
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown permission {other:?}: use \"read\" and/or \"write\""
                )));
            }
        }
    }
    Ok(permissions)
}

/// `POST /api/v3/configure/token` with `{"name"?, "databases", "permissions", "expiry_secs"?}`
/// or `{"name"?, "admin": true, "expiry_secs"?}`: 201 with the token (shown this once) and its
/// id.
pub(super) async fn create<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: CreateBody = admin_json(&state, &headers, body).await?;
    let spec = TokenSpec {
        name: request.name,
        databases: request.databases,
        permissions: if request.admin {
            Permissions::default()
        } else {
            permissions(&request.permissions)?
        },
        admin: request.admin,
        expires_in: request.expiry_secs.map(Duration::from_secs),
    };
    let (secret, grant) = create_token(&state.db, &state.layout, &spec).await?;
    let mut answer = token_json(&grant);
    answer["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /api/v3/configure/token?format=json`: every token, without secrets.
pub(super) async fn list<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.auth.authorize_admin(&headers, None).await?;
    json_format(params.get("format"))?;
    let grants = list_tokens(&state.db, &state.layout).await?;
    Ok(Json(grants.iter().map(token_json).collect()))
}

/// `DELETE /api/v3/configure/token?id=ID`: revokes a token.
pub(super) async fn revoke<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.auth.authorize_admin(&headers, None).await?;
    let id: TokenId = params
        .get("id")
        .ok_or_else(|| ApiError::invalid("missing id (the token to revoke)"))?
        .parse()
        .map_err(ApiError::invalid)?;
    let grant = revoke_token(&state.db, &state.layout, id).await?;
    Ok(Json(json!({
        "revoked": grant.id.to_string(),
        "takes_effect_within_secs": crate::auth::CACHE_TTL.as_secs(),
    })))
}
