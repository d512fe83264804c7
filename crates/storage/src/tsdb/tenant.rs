//! Tenants (a tenant is a database) and the hashed tokens that grant access to them.

use sha2::{Digest, Sha256};

use super::Layout;
use crate::error::KvResult;
use crate::keys::{pack, unpack};
use crate::kv::{AtomicOp, KvTransaction, RangeRequest};

/// A tenant's numeric id: the first element of every key of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u64);

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// May query.
    pub read: bool,
    /// May write.
    pub write: bool,
}

/// A token's grant: one database and some permissions there, or (admin) every database and
/// the operations that span them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The database (tenant name) the token is for; empty for an admin token.
    pub database: String,
    /// What it may do there.
    pub permissions: Permissions,
    /// An admin token: every database, read and write, and cross-tenant operations (tiering
    /// passes, token and database administration).
    pub admin: bool,
}

impl TokenGrant {
    /// The grant of an admin token.
    pub fn admin() -> Self {
        Self {
            database: String::new(),
            permissions: Permissions {
                read: true,
                write: true,
            },
            admin: true,
        }
    }

    fn encode(&self) -> Vec<u8> {
        pack(&(
            self.database.as_str(),
            self.permissions.read,
            self.permissions.write,
            self.admin,
        ))
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        // Grants written before admin tokens existed have three elements.
        if let Ok((database, read, write)) = unpack::<(String, bool, bool)>(bytes) {
            return Some(Self {
                database,
                permissions: Permissions { read, write },
                admin: false,
            });
        }
        let (database, read, write, admin): (String, bool, bool, bool) = unpack(bytes).ok()?;
        Some(Self {
            database,
            permissions: Permissions { read, write },
            admin,
        })
    }
}

/// SHA-256 of a token: only this is stored, so a leaked database does not leak tokens.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Layout {
    /// Looks a tenant up by name.
    pub async fn tenant_id<T: KvTransaction>(
        &self,
        tx: &T,
        name: &str,
    ) -> KvResult<Option<TenantId>> {
        let record = tx.get(&self.tenant(name), false).await?;
        Ok(record
            .and_then(|bytes| unpack::<(u64,)>(&bytes).ok())
            .map(|(id,)| TenantId(id)))
    }

    /// Returns the tenant's id, creating the tenant if it does not exist.
    ///
    /// Concurrent creators of the same name conflict on the name's key; the retry finds the
    /// record the winner wrote.
    pub async fn create_tenant<T: KvTransaction>(&self, tx: &T, name: &str) -> KvResult<TenantId> {
        if let Some(id) = self.tenant_id(tx, name).await? {
            return Ok(id);
        }
        let sequence = tx.get(&self.tenant_sequence(), false).await?;
        let last = sequence
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
            .map_or(0, u64::from_le_bytes);
        let id = TenantId(last + 1);
        tx.atomic_op(&self.tenant_sequence(), &1u64.to_le_bytes(), AtomicOp::Add);
        tx.set(&self.tenant(name), &pack(&(id.0,)));
        Ok(id)
    }

    /// Lists tenants by name.
    pub async fn list_tenants<T: KvTransaction>(
        &self,
        tx: &T,
    ) -> KvResult<Vec<(String, TenantId)>> {
        let (begin, end) = self.tenants();
        let rows = tx
            .get_range_all(&RangeRequest::new(begin, end), true)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, value)| {
                let (_, name): (String, String) = self.root.unpack(&key).ok()?;
                let (id,): (u64,) = unpack(&value).ok()?;
                Some((name, TenantId(id)))
            })
            .collect())
    }

    /// Stores a token grant under the token's hash.
    pub fn put_token<T: KvTransaction>(&self, tx: &T, token: &str, grant: &TokenGrant) {
        tx.set(&self.token(&hash_token(token)), &grant.encode());
    }

    /// Looks a presented token up.
    pub async fn token_grant<T: KvTransaction>(
        &self,
        tx: &T,
        token: &str,
    ) -> KvResult<Option<TokenGrant>> {
        let record = tx.get(&self.token(&hash_token(token)), true).await?;
        Ok(record.as_deref().and_then(TokenGrant::decode))
    }

    /// True when at least one token exists (then every request must present one).
    pub async fn any_token<T: KvTransaction>(&self, tx: &T) -> KvResult<bool> {
        let (begin, end) = self.tokens();
        let chunk = tx
            .get_range(&RangeRequest::new(begin, end).limit(1), 1, true)
            .await?;
        Ok(!chunk.kvs.is_empty())
    }
}

/// A tenant's own retention settings; `None` means the server's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionSettings {
    /// How long data stays in hot storage before tiering moves it (ns).
    pub hot_nanos: Option<i64>,
    /// How long data is kept at all (ns); data older than this is deleted from both tiers.
    pub total_nanos: Option<i64>,
}

/// Retention settings that contradict each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "hot retention {} is longer than the total retention {}: data would be deleted before it \
     leaves the hot tier; make the hot retention at most the total",
    show_nanos(*hot_nanos),
    show_nanos(*total_nanos)
)]
pub struct InvalidRetention {
    /// The hot retention (ns).
    pub hot_nanos: i64,
    /// The total retention (ns).
    pub total_nanos: i64,
}

impl RetentionSettings {
    /// The one rule every retention setting follows, server-wide or per database: data stays
    /// hot at most as long as it is kept at all. Unset values (the server's default) pass.
    pub fn check(&self) -> Result<(), InvalidRetention> {
        match (self.hot_nanos, self.total_nanos) {
            (Some(hot_nanos), Some(total_nanos)) if hot_nanos > total_nanos => {
                Err(InvalidRetention {
                    hot_nanos,
                    total_nanos,
                })
            }
            _ => Ok(()),
        }
    }
}

/// A duration in the largest unit that divides it (`7d`, `36h`, `90s`, `1500ms`).
fn show_nanos(nanos: i64) -> String {
    const UNITS: [(i64, &str); 5] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    UNITS
        .iter()
        .find(|(size, _)| nanos % size == 0)
        .map_or_else(
            || format!("{nanos}ns"),
            |(size, unit)| format!("{}{unit}", nanos / size),
        )
}

impl Layout {
    /// Reads a tenant's retention settings.
    pub async fn retention<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: super::TenantId,
    ) -> KvResult<RetentionSettings> {
        let Some(value) = tx.get(&self.retention_settings(tenant), true).await? else {
            return Ok(RetentionSettings::default());
        };
        let (hot, total): (i64, i64) = unpack(&value).map_err(|_| {
            crate::KvError::internal(format!("undecodable retention of tenant {}", tenant.0))
        })?;
        let some = |nanos: i64| (nanos >= 0).then_some(nanos);
        Ok(RetentionSettings {
            hot_nanos: some(hot),
            total_nanos: some(total),
        })
    }

    /// Stores a tenant's retention settings.
    pub fn set_retention<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: super::TenantId,
        settings: RetentionSettings,
    ) {
        let value = pack(&(
            settings.hot_nanos.unwrap_or(-1),
            settings.total_nanos.unwrap_or(-1),
        ));
        tx.set(&self.retention_settings(tenant), &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000_000;

    #[test]
    fn hot_retention_may_not_outlast_the_total() {
        let settings = |hot: Option<i64>, total: Option<i64>| RetentionSettings {
            hot_nanos: hot,
            total_nanos: total,
        };
        assert!(settings(Some(7 * DAY), Some(7 * DAY)).check().is_ok());
        assert!(settings(Some(30 * DAY), None).check().is_ok());
        assert!(settings(None, Some(DAY)).check().is_ok());
        let error = settings(Some(30 * DAY), Some(7 * DAY)).check().unwrap_err();
        assert_eq!(
            error.to_string(),
            "hot retention 30d is longer than the total retention 7d: data would be deleted \
             before it leaves the hot tier; make the hot retention at most the total"
        );
        assert_eq!(show_nanos(DAY / 24 * 36), "36h");
        assert_eq!(show_nanos(1_500_000_000), "1500ms");
    }
}
