//! Tenants (a tenant is a database): their ids, deletion, and their retention settings.

use super::Layout;
use crate::error::KvResult;
use crate::keys::{pack, unpack};
use crate::kv::{AtomicOp, KvTransaction, RangeRequest};

/// A tenant's numeric id: the first element of every key of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u64);

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

    /// Deletes a tenant's name record and marks its id dropped, so nothing can reach its keys
    /// any more; [`Self::clear_dropped_keys`] then clears them in bounded steps. Returns the id,
    /// or `None` when there is no such tenant. Ids are never reused: a tenant created later
    /// under the same name gets a new one.
    pub async fn drop_tenant<T: KvTransaction>(
        &self,
        tx: &T,
        name: &str,
    ) -> KvResult<Option<TenantId>> {
        let Some(id) = self.tenant_id(tx, name).await? else {
            return Ok(None);
        };
        tx.clear(&self.tenant(name));
        tx.set(&self.dropped_tenant(id), &pack(&(name,)));
        Ok(Some(id))
    }

    /// The dropped tenants whose keys are still being cleared.
    pub async fn dropped_tenants_pending<T: KvTransaction>(
        &self,
        tx: &T,
    ) -> KvResult<Vec<TenantId>> {
        let (begin, end) = self.dropped_tenants();
        let rows = tx
            .get_range_all(&RangeRequest::new(begin, end), true)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, _)| {
                let (_, id): (String, u64) = self.root.unpack(&key).ok()?;
                Some(TenantId(id))
            })
            .collect())
    }

    /// Clears up to `max_keys` keys (and about `max_bytes`) of a dropped tenant; once none is
    /// left, forgets that it was dropped. Returns true when the tenant is gone entirely.
    pub async fn clear_dropped_keys<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        max_keys: usize,
        max_bytes: usize,
    ) -> KvResult<bool> {
        let (begin, end) = self.tenant_keys(tenant);
        let request = RangeRequest::new(begin.clone(), end)
            .limit(max_keys.max(1))
            .target_bytes(max_bytes);
        let chunk = tx.get_range(&request, 1, true).await?;
        let Some((last, _)) = chunk.kvs.last() else {
            tx.clear(&self.dropped_tenant(tenant));
            return Ok(true);
        };
        tx.clear_range(&begin, &crate::keys::key_after(last));
        Ok(false)
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
mod tests;
