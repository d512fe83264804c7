//! Leases: which node runs a background job (a compaction or tiering pass) right now.
//!
//! Many nodes share one KV store; each runs the background loops, and a lease makes one of
//! them do the work at a time. A lease is `("lease", job)` → `(holder, expires_ns)`, taken or
//! renewed in a transaction that reads it serializably, so two nodes racing for it conflict and
//! one wins. Expiry uses each node's wall clock, so skewed clocks can let two holders overlap
//! briefly: leases save duplicate work, they are not what keeps data safe (compaction's
//! serializable reads and tiering's index check are).

use std::time::Duration;

use super::{Layout, now_nanos};
use crate::error::KvError;
use crate::keys::{pack, unpack};
use crate::kv::{KvDatabase, KvTransaction};
use crate::retry::{RunOptions, run};

/// The holder of a lease and when it lapses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// The node holding it.
    pub holder: String,
    /// When it lapses unless renewed (ns since the epoch).
    pub expires: i64,
}

impl Layout {
    fn lease_key(&self, job: &str) -> Vec<u8> {
        self.root().pack(&("lease", job))
    }

    /// Takes the lease of `job` for `holder` for `ttl`, or renews it if `holder` has it.
    /// Returns `None` on success, or the other node's lease when it still holds it.
    pub async fn acquire_lease<D: KvDatabase>(
        &self,
        db: &D,
        job: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<LeaseState>, KvError> {
        let key = self.lease_key(job);
        let ttl = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        let holder = holder.to_owned();
        run(db, RunOptions::idempotent(), move |tx, _| {
            let (key, holder) = (key.clone(), holder.clone());
            Box::pin(async move {
                let now = now_nanos();
                if let Some(current) = tx.get(&key, false).await?.as_deref().and_then(decode)
                    && current.holder != holder
                    && current.expires > now
                {
                    return Ok(Some(current));
                }
                tx.set(&key, &pack(&(holder.as_str(), now.saturating_add(ttl))));
                Ok(None)
            })
        })
        .await
    }

    /// Clears every lease. Only for storage this process holds alone (the embedded backend's
    /// directory lock): every lease in it belongs to a process that is gone, and waiting for
    /// them to lapse would only hold this one off.
    pub async fn clear_leases<D: KvDatabase>(&self, db: &D) -> Result<(), KvError> {
        let (begin, end) = self.root().subspace(&("lease",)).range();
        run(db, RunOptions::idempotent(), move |tx, _| {
            let (begin, end) = (begin.clone(), end.clone());
            Box::pin(async move {
                tx.clear_range(&begin, &end);
                Ok(())
            })
        })
        .await
    }

    /// Gives the lease up if `holder` has it (another node may take it at once).
    pub async fn release_lease<D: KvDatabase>(
        &self,
        db: &D,
        job: &str,
        holder: &str,
    ) -> Result<(), KvError> {
        let key = self.lease_key(job);
        let holder = holder.to_owned();
        run(db, RunOptions::idempotent(), move |tx, _| {
            let (key, holder) = (key.clone(), holder.clone());
            Box::pin(async move {
                let current = tx.get(&key, false).await?;
                if current
                    .as_deref()
                    .and_then(decode)
                    .is_some_and(|current| current.holder == holder)
                {
                    tx.clear(&key);
                }
                Ok(())
            })
        })
        .await
    }
}

fn decode(bytes: &[u8]) -> Option<LeaseState> {
    let (holder, expires): (String, i64) = unpack(bytes).ok()?;
    Some(LeaseState { holder, expires })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmbeddedKv, EmbeddedOptions};

    #[tokio::test]
    async fn one_holder_at_a_time_until_release_or_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let layout = Layout::default();
        let long = Duration::from_secs(60);
        assert_eq!(layout.acquire_lease(&db, "tier", "a", long).await, Ok(None));
        assert_eq!(layout.acquire_lease(&db, "tier", "a", long).await, Ok(None));
        let held = layout.acquire_lease(&db, "tier", "b", long).await.unwrap();
        assert_eq!(held.map(|lease| lease.holder).as_deref(), Some("a"));
        assert_eq!(
            layout.acquire_lease(&db, "compact", "b", long).await,
            Ok(None),
            "jobs are independent"
        );
        layout.release_lease(&db, "tier", "b").await.unwrap();
        assert!(
            layout
                .acquire_lease(&db, "tier", "b", long)
                .await
                .unwrap()
                .is_some()
        );
        layout.release_lease(&db, "tier", "a").await.unwrap();
        assert_eq!(
            layout.acquire_lease(&db, "tier", "b", Duration::ZERO).await,
            Ok(None)
        );
        // An expired lease is anyone's.
        assert_eq!(layout.acquire_lease(&db, "tier", "a", long).await, Ok(None));
    }
}
