//! Token authentication: who may read or write which database.
//!
//! Authentication is required once any token exists, and always when the server listens beyond
//! loopback. A token is looked up by its SHA-256 (only hashes are stored) and grants some
//! databases, read and/or write, until it expires (or every database: an admin token). Lookups
//! are cached for [`CACHE_TTL`] so the write path does not read storage per request; expiry is
//! checked on every request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use tidemark_storage::cache::BoundedCache;
use tidemark_storage::tsdb::{Layout, TokenGrant, hash_token, now_secs};
use tidemark_storage::{KvDatabase, KvError, KvTransaction, TxOption};

use crate::api_error::{ApiError, ErrorKind};

/// How long a token lookup (hit or miss) and the "any token exists" answer are trusted: a
/// revoked token stops working on every node within this long.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Memory of the cache of valid tokens.
const GRANT_CACHE_BYTES: usize = 4 << 20;
/// Longest a token lookup waits on storage: every request waits on it (whether tokens exist is
/// re-read every `CACHE_TTL`), so with the cluster unreachable requests get 503 this soon.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Memory of the cache of unknown tokens, kept apart: a flood of random tokens evicts only
/// other unknown tokens, never the valid ones clients are using.
const MISS_CACHE_BYTES: usize = 1 << 20;

/// Token hash → (grant, when it was looked up).
type Grants = BoundedCache<[u8; 32], (TokenGrant, Instant)>;
/// Token hash → when it was found unknown.
type Misses = BoundedCache<[u8; 32], Instant>;

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Query.
    Read,
    /// Write.
    Write,
}

/// The authenticator of one server.
#[derive(Debug)]
pub struct Auth<D> {
    db: D,
    layout: Layout,
    always_required: bool,
    tokens_exist: AtomicBool,
    checked_at: Mutex<Option<Instant>>,
    grants: Grants,
    misses: Misses,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Extracts the token from `Authorization: Bearer|Token <t>`, `Basic base64(user:<t>)`, or the
/// v1 `p` query parameter.
pub fn presented_token(
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let Some(header) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(query_token
            .filter(|token| !token.is_empty())
            .map(str::to_owned));
    };
    let header = header.to_str().map_err(|_| {
        ApiError::new(
            ErrorKind::Unauthenticated,
            "the Authorization header is not ASCII",
        )
    })?;
    let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
    let credentials = credentials.trim();
    match scheme {
        "Bearer" | "Token" | "bearer" | "token" if !credentials.is_empty() => {
            Ok(Some(credentials.to_owned()))
        }
        "Basic" | "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorKind::Unauthenticated,
                        "the Basic credentials are not valid base64",
                    )
                })?;
            let token = decoded
                .split_once(':')
                .map_or(decoded.as_str(), |(_, password)| password);
            Ok(Some(token.to_owned()))
        }
        _ => Err(ApiError::new(
            ErrorKind::Unauthenticated,
            "the Authorization header is malformed; supported schemes are Bearer, Token and Basic",
        )),
    }
}

impl<D: KvDatabase> Auth<D> {
    /// Creates the authenticator; `always_required` when listening beyond loopback.
    pub fn new(db: D, layout: Layout, always_required: bool) -> Self {
        Self {
            db,
            layout,
            always_required,
            tokens_exist: AtomicBool::new(false),
            checked_at: Mutex::new(None),
            grants: BoundedCache::new(GRANT_CACHE_BYTES, |_, (grant, _)| {
                let databases: usize = grant.databases.iter().map(|name| name.len() + 24).sum();
                96 + grant.name.len() + databases
            }),
            misses: BoundedCache::new(MISS_CACHE_BYTES, |_, _| 48),
        }
    }

    /// A transaction for a token lookup, bounded so that an unreachable cluster answers the
    /// request 503 (transaction_timed_out) instead of holding it.
    fn read_transaction(&self) -> Result<D::Tx, KvError> {
        let tx = self.db.create_transaction()?;
        tx.set_option(TxOption::Timeout(LOOKUP_TIMEOUT))?;
        Ok(tx)
    }

    pub(crate) async fn required(&self) -> Result<bool, KvError> {
        if self.always_required {
            return Ok(true);
        }
        let fresh = lock(&self.checked_at).is_some_and(|at| at.elapsed() < CACHE_TTL);
        if !fresh {
            let tx = self.read_transaction()?;
            let exists = self.layout.any_token(&tx).await?;
            self.tokens_exist.store(exists, Ordering::Relaxed);
            *lock(&self.checked_at) = Some(Instant::now());
        }
        Ok(self.tokens_exist.load(Ordering::Relaxed))
    }

    async fn grant(&self, token: &str) -> Result<Option<TokenGrant>, KvError> {
        let hash = hash_token(token);
        if let Some((grant, at)) = self.grants.get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some(grant));
        }
        if let Some(at) = self.misses.get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(None);
        }
        let tx = self.read_transaction()?;
        let grant = self.layout.token_grant(&tx, token).await?;
        match &grant {
            Some(grant) => self.grants.insert(hash, (grant.clone(), Instant::now())),
            None => self.misses.insert(hash, Instant::now()),
        }
        Ok(grant)
    }

    /// The grant of the token a request presents (401 without one, or with an unknown or
    /// expired one).
    pub(crate) async fn presented_grant(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<TokenGrant, ApiError> {
        let token = presented_token(headers, query_token)?.ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unauthenticated,
                "a token is required: send `Authorization: Bearer <token>`",
            )
        })?;
        let grant = self
            .grant(&token)
            .await?
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, "the token is not valid"))?;
        if grant.expired(now_secs()) {
            return Err(ApiError::new(
                ErrorKind::Unauthenticated,
                "the token has expired",
            ));
        }
        Ok(grant)
    }

    /// The grant of the request's token when authentication is on (401 without a valid
    /// token), `None` when it is off. Handlers call this before reading a request's body, so
    /// an unauthenticated client cannot make the server buffer anything.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Option<TokenGrant>, ApiError> {
        if !self.required().await? {
            return Ok(None);
        }
        Ok(Some(self.presented_grant(headers, query_token).await?))
    }

    /// Checks that the request may do `access` on `database`.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
        database: &str,
        access: Access,
    ) -> Result<(), ApiError> {
        let grant = self.authenticate(headers, query_token).await?;
        database_for(grant.as_ref(), Some(database), access).map(|_| ())
    }

    /// Checks that the request carries an admin token (when authentication is on).
    pub async fn authorize_admin(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<(), ApiError> {
        match self.authenticate(headers, query_token).await? {
            None => Ok(()),
            Some(grant) if grant.admin => Ok(()),
            Some(_) => Err(ApiError::new(
                ErrorKind::PermissionDenied,
                "this needs an admin token (`tidemark token create --admin`)",
            )),
        }
    }
}

/// The database a request with `grant` may use for `access`: the requested one when the grant
/// covers it; with none requested, the grant's database when it grants exactly one (a token
/// granting several must be told which). Without authentication (`grant` is `None`) any
/// requested database, or none.
pub fn database_for(
    grant: Option<&TokenGrant>,
    requested: Option<&str>,
    access: Access,
) -> Result<Option<String>, ApiError> {
    let Some(grant) = grant else {
        return Ok(requested.map(str::to_owned));
    };
    match requested {
        Some(database) if grant.covers(database) => {
            permitted(grant, access, database)?;
            Ok(Some(database.to_owned()))
        }
        Some(database) => Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!("the token is not valid for database {database:?}"),
        )),
        None if grant.admin => Ok(None),
        None => match grant.databases.as_slice() {
            [only] => {
                permitted(grant, access, only)?;
                Ok(Some(only.clone()))
            }
            _ => Err(ApiError::invalid(
                "the token grants several databases: name one (the db parameter or the \
                 database header)",
            )),
        },
    }
}

/// Refuses a grant without the permission `access` needs on `database`.
fn permitted(grant: &TokenGrant, access: Access, database: &str) -> Result<(), ApiError> {
    let (allowed, what) = match access {
        Access::Read => (grant.permissions.read, "read"),
        Access::Write => (grant.permissions.write, "write"),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::PermissionDenied,
            format!("the token may not {what} database {database:?}"),
        ))
    }
}

impl<D: KvDatabase> Auth<D> {
    /// The database a query runs against: the requested one once the token may read it, or,
    /// with none requested, the token's database when it grants exactly one.
    /// Without authentication and without a request, no database.
    pub async fn query_database(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
        requested: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        self.resolve_database(headers, query_token, requested, Access::Read)
            .await
    }

    /// As [`Self::query_database`], for `access`.
    pub async fn resolve_database(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
        requested: Option<&str>,
        access: Access,
    ) -> Result<Option<String>, ApiError> {
        let grant = self.authenticate(headers, query_token).await?;
        database_for(grant.as_ref(), requested, access)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn with_authorization(value: &[u8]) -> Option<HeaderMap> {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_bytes(value).ok()?,
        );
        Some(headers)
    }

    #[test]
    fn every_accepted_scheme_yields_the_token() {
        for header in ["Bearer abc", "Token abc", "Basic dXNlcjphYmM="] {
            let headers = with_authorization(header.as_bytes()).unwrap();
            assert_eq!(
                presented_token(&headers, None).unwrap().as_deref(),
                Some("abc"),
                "{header}"
            );
        }
        assert_eq!(
            presented_token(&HeaderMap::new(), Some("p"))
                .unwrap()
                .as_deref(),
            Some("p")
        );
        assert!(presented_token(&with_authorization(b"Digest x").unwrap(), None).is_err());
        assert!(presented_token(&with_authorization(b"Basic !!!").unwrap(), None).is_err());
    }

    #[test]
    fn a_grant_covers_exactly_its_databases() {
        use tidemark_storage::tsdb::Permissions;
        let read_only = Permissions {
            read: true,
            write: false,
        };
        let two = TokenGrant::for_databases(vec!["a".into(), "b".into()], read_only);
        for database in ["a", "b"] {
            assert_eq!(
                database_for(Some(&two), Some(database), Access::Read).unwrap(),
                Some(database.to_owned())
            );
        }
        let denied = |requested, access| {
            database_for(Some(&two), requested, access)
                .unwrap_err()
                .kind
        };
        assert_eq!(denied(Some("c"), Access::Read), ErrorKind::PermissionDenied);
        assert_eq!(
            denied(Some("a"), Access::Write),
            ErrorKind::PermissionDenied
        );
        // Several databases and none named: the request must say which.
        assert_eq!(denied(None, Access::Read), ErrorKind::InvalidArgument);
        let one = TokenGrant::for_databases(vec!["a".into()], read_only);
        assert_eq!(
            database_for(Some(&one), None, Access::Read).unwrap(),
            Some("a".to_owned())
        );
        let admin = TokenGrant::admin();
        assert_eq!(
            database_for(Some(&admin), None, Access::Write).unwrap(),
            None
        );
        assert_eq!(
            database_for(Some(&admin), Some("z"), Access::Write).unwrap(),
            Some("z".to_owned())
        );
    }

    proptest! {
        #[test]
        fn untrusted_headers_never_panic(value in prop::collection::vec(any::<u8>(), 0..80)) {
            if let Some(headers) = with_authorization(&value) {
                let _ = presented_token(&headers, None);
            }
        }
    }
}
