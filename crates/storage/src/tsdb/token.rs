//! Tokens: only a token's SHA-256 is stored, under `("token", hash)`, so a presented token is
//! one get. The grant record says which databases the token may read or write (or that it is an
//! admin token), when it was created and when it expires. `("token_id", id)` → hash indexes the
//! records by id, so a token can be revoked by the id listings show (and listing is one range
//! read of `("token", ..)`: the records carry their ids).
//!
//! Records written before ids, names, several databases and expiry existed (a three- or
//! four-element tuple) still decode: one database, no name, no expiry, and an id derived from the
//! hash (never the hash itself), found by a scan when it is not in the index.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::Layout;
use crate::error::KvResult;
use crate::keys::{Bytes, pack, unpack};
use crate::kv::{KvTransaction, RangeRequest};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// May query.
    pub read: bool,
    /// May write.
    pub write: bool,
}

/// A token's identifier: shown by listings and used to revoke it. It says nothing about the
/// secret: random for new tokens, derived from a domain-separated hash of the stored hash for
/// records older than ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub u64);

impl TokenId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The id of a record written before ids existed.
    fn legacy(hash: &[u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"tidemark token id\0");
        hasher.update(hash);
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self(u64::from_be_bytes(first))
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for TokenId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 16 {
            return Err(format!("{text:?} is not a token id (16 hex digits)"));
        }
        u64::from_str_radix(text, 16)
            .map(Self)
            .map_err(|_| format!("{text:?} is not a token id (16 hex digits)"))
    }
}

/// A token's grant: some databases and what it may do there, or (admin) every database and
/// the operations that span them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token's id.
    pub id: TokenId,
    /// A name for people (may be empty; not unique).
    pub name: String,
    /// The databases (tenant names) the token is for; empty for an admin token.
    pub databases: Vec<String>,
    /// What it may do there.
    pub permissions: Permissions,
    /// An admin token: every database, read and write, and cross-tenant operations (tiering
    /// passes, token and database administration).
    pub admin: bool,
    /// When it was created (Unix seconds); unknown for records older than this field.
    pub created_at: Option<i64>,
    /// When it stops working (Unix seconds); never when absent.
    pub expires_at: Option<i64>,
}

/// The leading element of a grant record with ids (older records start with a string).
const GRANT_FORMAT: i64 = 2;

/// A grant record as stored: format, id, name, databases, read, write, admin, created, expires.
type GrantRecord = (
    i64,
    u64,
    String,
    Vec<String>,
    bool,
    bool,
    bool,
    Option<i64>,
    Option<i64>,
);

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

impl TokenGrant {
    /// A new admin token's grant.
    pub fn admin() -> Self {
        Self {
            id: TokenId::random(),
            name: String::new(),
            databases: Vec::new(),
            permissions: Permissions {
                read: true,
                write: true,
            },
            admin: true,
            created_at: Some(now_secs()),
            expires_at: None,
        }
    }

    /// A new token's grant for `databases`.
    pub fn for_databases(databases: Vec<String>, permissions: Permissions) -> Self {
        Self {
            id: TokenId::random(),
            name: String::new(),
            databases,
            permissions,
            admin: false,
            created_at: Some(now_secs()),
            expires_at: None,
        }
    }

    /// True when the grant covers `database` (an admin token covers every one).
    pub fn covers(&self, database: &str) -> bool {
        self.admin || self.databases.iter().any(|granted| granted == database)
    }

    /// True when the token has expired at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        pack(&(
            GRANT_FORMAT,
            self.id.0,
            self.name.as_str(),
            self.databases.as_slice(),
            self.permissions.read,
            self.permissions.write,
            self.admin,
            self.created_at,
            self.expires_at,
        ))
    }

    /// Decodes a record stored under `hash`, in any format this or an earlier build wrote.
    pub fn decode(bytes: &[u8], hash: &[u8; 32]) -> Option<Self> {
        if let Ok(record) = unpack::<GrantRecord>(bytes) {
            let (format, id, name, databases, read, write, admin, created_at, expires_at) = record;
            return (format == GRANT_FORMAT).then_some(Self {
                id: TokenId(id),
                name,
                databases,
                permissions: Permissions { read, write },
                admin,
                created_at,
                expires_at,
            });
        }
        // Before ids: `(database, read, write)`, then `(database, read, write, admin)` with an
        // empty database for admin tokens.
        let (database, read, write, admin) = match unpack::<(String, bool, bool)>(bytes) {
            Ok((database, read, write)) => (database, read, write, false),
            Err(_) => unpack::<(String, bool, bool, bool)>(bytes).ok()?,
        };
        let databases = if admin || database.is_empty() {
            Vec::new()
        } else {
            vec![database]
        };
        Some(Self {
            id: TokenId::legacy(hash),
            name: String::new(),
            databases,
            permissions: Permissions { read, write },
            admin,
            created_at: None,
            expires_at: None,
        })
    }
}

/// SHA-256 of a token: only this is stored, so a leaked database does not leak tokens.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Layout {
    /// Stores a new token: its grant under its hash, and the id index.
    pub fn put_token<T: KvTransaction>(&self, tx: &T, token: &str, grant: &TokenGrant) {
        self.store_grant(tx, &hash_token(token), grant);
    }

    /// Stores (or rewrites) the grant under `hash`, with its index entry.
    pub fn store_grant<T: KvTransaction>(&self, tx: &T, hash: &[u8; 32], grant: &TokenGrant) {
        tx.set(&self.token(hash), &grant.encode());
        tx.set(&self.token_index(grant.id), hash);
    }

    /// Looks a presented token up.
    pub async fn token_grant<T: KvTransaction>(
        &self,
        tx: &T,
        token: &str,
    ) -> KvResult<Option<TokenGrant>> {
        let hash = hash_token(token);
        let record = tx.get(&self.token(&hash), true).await?;
        Ok(record
            .as_deref()
            .and_then(|bytes| TokenGrant::decode(bytes, &hash)))
    }

    /// Every token's grant with its hash (records no build can decode are left out: they
    /// authenticate nobody).
    pub async fn list_tokens<T: KvTransaction>(
        &self,
        tx: &T,
    ) -> KvResult<Vec<([u8; 32], TokenGrant)>> {
        let (begin, end) = self.tokens();
        let rows = tx
            .get_range_all(&RangeRequest::new(begin, end), false)
            .await?;
        let mut grants = Vec::with_capacity(rows.len());
        for (key, value) in rows {
            let Ok((_, hash)) = self.root.unpack::<(String, Bytes<'_>)>(&key) else {
                continue;
            };
            let Ok(hash) = <[u8; 32]>::try_from(hash.as_ref()) else {
                continue;
            };
            if let Some(grant) = TokenGrant::decode(&value, &hash) {
                grants.push((hash, grant));
            }
        }
        Ok(grants)
    }

    /// The hash and grant of the token with `id`: one get through the index, or for a record
    /// older than ids, a scan of every token.
    pub async fn token_by_id<T: KvTransaction>(
        &self,
        tx: &T,
        id: TokenId,
    ) -> KvResult<Option<([u8; 32], TokenGrant)>> {
        if let Some(hash) = tx.get(&self.token_index(id), false).await?
            && let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice())
            && let Some(record) = tx.get(&self.token(&hash), false).await?
            && let Some(grant) = TokenGrant::decode(&record, &hash)
        {
            return Ok(Some((hash, grant)));
        }
        Ok(self
            .list_tokens(tx)
            .await?
            .into_iter()
            .find(|(_, grant)| grant.id == id))
    }

    /// Revokes the token with `id`; returns its grant, or `None` when there is no such token.
    pub async fn revoke_token<T: KvTransaction>(
        &self,
        tx: &T,
        id: TokenId,
    ) -> KvResult<Option<TokenGrant>> {
        let Some((hash, grant)) = self.token_by_id(tx, id).await? else {
            return Ok(None);
        };
        tx.clear(&self.token(&hash));
        tx.clear(&self.token_index(id));
        Ok(Some(grant))
    }

    /// Takes `database` out of every token: a token for it alone is revoked, a token for
    /// several keeps the others. Admin tokens are untouched. Returns how many were revoked.
    pub async fn forget_database_in_tokens<T: KvTransaction>(
        &self,
        tx: &T,
        database: &str,
    ) -> KvResult<usize> {
        let mut revoked = 0;
        for (hash, mut grant) in self.list_tokens(tx).await? {
            if grant.admin || !grant.databases.iter().any(|name| name == database) {
                continue;
            }
            grant.databases.retain(|name| name != database);
            if grant.databases.is_empty() {
                tx.clear(&self.token(&hash));
                tx.clear(&self.token_index(grant.id));
                revoked += 1;
            } else {
                self.store_grant(tx, &hash, &grant);
            }
        }
        Ok(revoked)
    }

    /// True when at least one token exists (then every request must present one).
    pub async fn any_token<T: KvTransaction>(&self, tx: &T) -> KvResult<bool> {
        let (begin, end) = self.tokens();
        let chunk = tx
            .get_range(&RangeRequest::new(begin, end).limit(1), 1, true)
            .await?;
        Ok(!chunk.kvs.is_empty())
    }

    /// True when the grant stored for `token` exists.
    pub async fn token_exists<T: KvTransaction>(&self, tx: &T, token: &str) -> KvResult<bool> {
        let key = self.token(&hash_token(token));
        Ok(tx.get(&key, false).await?.is_some())
    }
}

#[cfg(test)]
mod tests;
