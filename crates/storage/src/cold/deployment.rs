//! Which deployment an object store prefix belongs to.
//!
//! Tiering's garbage collector deletes objects no index entry names. Pointed at a prefix that
//! other software (or another Tidemark deployment) also writes to, that would destroy their
//! data. So a deployment has an id (created once, kept in the KV store), writes its objects
//! under `d<id>/` only, collects only there, and claims its prefix with a marker object: a
//! prefix whose marker names another deployment, or that holds objects nobody claimed, is
//! refused at start-up.
//!
//! A deployment has one object store: once it claimed one, an unmarked (new, empty) store is
//! refused too. Otherwise nodes sharing a cluster but configured with different stores (each
//! its own local directory, say) would each tier into a store the others cannot read.

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{ColdError, ColdStore};
use crate::kv::{KvDatabase, KvTransaction, RangeRequest};
use crate::retry::{RunOptions, run};
use crate::tsdb::Layout;

/// The marker object at the root of a claimed prefix; its content is the deployment id.
pub const MARKER: &str = "tidemark-deployment";

impl Layout {
    /// `("deployment",)` → this deployment's id (hex), shared by every node of one KV store.
    fn deployment_key(&self) -> Vec<u8> {
        self.root().pack(&("deployment",))
    }

    /// `("deployment", "store")` → the description of the object store the deployment claimed
    /// first (set once a store carries the marker).
    fn claimed_store_key(&self) -> Vec<u8> {
        self.root().pack(&("deployment", "store"))
    }
}

/// The store this deployment claimed, if any.
async fn claimed_store<D: KvDatabase>(
    db: &D,
    layout: &Layout,
) -> Result<Option<String>, ColdError> {
    let tx = db.create_transaction()?;
    let value = tx.get(&layout.claimed_store_key(), false).await?;
    Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// Records that the deployment's objects live in `store` (kept if already recorded).
async fn record_claim<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    store: &str,
) -> Result<(), ColdError> {
    let (key, store) = (layout.claimed_store_key(), store.to_owned());
    run(db, RunOptions::idempotent(), move |tx, _| {
        let (key, store) = (key.clone(), store.clone());
        Box::pin(async move {
            if tx.get(&key, false).await?.is_none() {
                tx.set(&key, store.as_bytes());
            }
            Ok::<_, crate::KvError>(())
        })
    })
    .await?;
    Ok(())
}

/// This deployment's id, created on first use (one per KV store, so every node agrees).
pub async fn deployment_id<D: KvDatabase>(db: &D, layout: &Layout) -> Result<String, ColdError> {
    let key = layout.deployment_key();
    let fresh = format!("{:016x}", rand::random::<u64>());
    let id = run(db, RunOptions::idempotent(), move |tx, _| {
        let (key, fresh) = (key.clone(), fresh.clone());
        Box::pin(async move {
            // A serializable read: two nodes creating the id at once conflict, and the retry
            // finds the winner's.
            if let Some(existing) = tx.get(&key, false).await? {
                return Ok::<_, crate::KvError>(String::from_utf8_lossy(&existing).into_owned());
            }
            tx.set(&key, fresh.as_bytes());
            Ok(fresh)
        })
    })
    .await?;
    Ok(id)
}

/// True when the KV store indexes cold files written before deployments had ids (objects
/// directly under `t<tenant>/`): such a prefix is this deployment's own.
async fn has_cold_index<D: KvDatabase>(db: &D, layout: &Layout) -> Result<bool, ColdError> {
    let tx = db.create_transaction()?;
    for (_, tenant) in layout.list_tenants(&tx).await? {
        let (begin, end) = layout.cold_tenant(tenant);
        let chunk = tx
            .get_range(&RangeRequest::new(begin, end).limit(1), 1, true)
            .await?;
        if !chunk.kvs.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

impl ColdStore {
    /// Claims the store's prefix for this KV store's deployment and returns the store scoped to
    /// it: new objects go under `d<id>/`, and listing (garbage collection) sees only those.
    ///
    /// Refuses a prefix whose marker names another deployment, and an unmarked prefix that
    /// holds objects, unless they are this deployment's own from before deployments had ids.
    pub async fn claim<D: KvDatabase>(
        mut self,
        db: &D,
        layout: &Layout,
    ) -> Result<ColdStore, ColdError> {
        let id = deployment_id(db, layout).await?;
        let marker = self.full(MARKER)?;
        if let Some(owner) = self.read_marker(&marker).await? {
            let store = self.owned_by(&id, owner)?;
            record_claim(db, layout, store.description()).await?;
            return Ok(store);
        }
        if let Some(first) = claimed_store(db, layout).await? {
            return Err(ColdError::Config(format!(
                "this deployment's cold tier lives in another object store ({first}, marked \
                 {MARKER}); {} has no marker. Every node sharing the storage must use the same \
                 object store; to move the cold tier, copy every object (the marker included) \
                 to the new store first",
                self.description()
            )));
        }
        let foreign = self.unclaimed_entries().await?;
        let legacy = !foreign.is_empty()
            && foreign.iter().all(|entry| is_legacy_tenant_dir(entry))
            && has_cold_index(db, layout).await?;
        if !foreign.is_empty() && !legacy {
            let examples: Vec<&str> = foreign.iter().take(3).map(String::as_str).collect();
            return Err(ColdError::Config(format!(
                "the object store {} holds objects this deployment did not write ({}); \
                 refusing to use it, since tiering deletes objects it does not know. Point the \
                 object store at an empty prefix",
                self.description(),
                examples.join(", ")
            )));
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let payload = PutPayload::from_bytes(Bytes::from(id.clone().into_bytes()));
        match self.inner.put_opts(&marker, payload, options).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        // Read it back: a deployment that claimed the prefix at the same moment wins alone.
        let owner = self.read_marker(&marker).await?.unwrap_or_default();
        self.deployment = Some(id.clone().into());
        let store = self.owned_by(&id, owner)?;
        record_claim(db, layout, store.description()).await?;
        Ok(store)
    }

    fn owned_by(mut self, id: &str, owner: String) -> Result<ColdStore, ColdError> {
        if owner.trim() != id {
            return Err(ColdError::Config(format!(
                "the object store {} belongs to Tidemark deployment {}, not to this one ({id}); \
                 two deployments must not share a prefix",
                self.description(),
                owner.trim()
            )));
        }
        self.deployment = Some(id.into());
        Ok(self)
    }

    async fn read_marker(&self, marker: &Path) -> Result<Option<String>, ColdError> {
        match self.inner.get(marker).await {
            Ok(result) => Ok(Some(
                String::from_utf8_lossy(&result.bytes().await?).into_owned(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The top-level entries of the prefix other than the marker (directories end in `/`).
    async fn unclaimed_entries(&self) -> Result<Vec<String>, ColdError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let listing = self.inner.list_with_delimiter(prefix).await?;
        let relative = |path: &Path| -> String {
            match path.prefix_match(&self.prefix) {
                Some(parts) => Path::from_iter(parts).to_string(),
                None => path.to_string(),
            }
        };
        Ok(listing
            .common_prefixes
            .iter()
            .map(|dir| format!("{}/", relative(dir)))
            .chain(
                listing
                    .objects
                    .iter()
                    .map(|object| relative(&object.location)),
            )
            .filter(|entry| entry != MARKER)
            .collect())
    }
}

/// `t<number>/`: a tenant directory of the layout before deployment ids.
fn is_legacy_tenant_dir(entry: &str) -> bool {
    entry
        .strip_prefix('t')
        .and_then(|rest| rest.strip_suffix('/'))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cold::ObjectStoreConfig;
    use crate::{EmbeddedKv, EmbeddedOptions};

    fn kv(dir: &std::path::Path) -> EmbeddedKv {
        EmbeddedKv::open(dir, EmbeddedOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn a_prefix_is_claimed_once_and_foreign_objects_are_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let layout = Layout::default();
        let first = kv(&scratch.path().join("kv1"));
        let second = kv(&scratch.path().join("kv2"));
        let config = ObjectStoreConfig {
            url: Some(scratch.path().join("bucket").display().to_string()),
            ..ObjectStoreConfig::default()
        };
        let open = || ColdStore::open(&config, scratch.path()).unwrap();
        let claimed = open().claim(&first, &layout).await.unwrap();
        let id = deployment_id(&first, &layout).await.unwrap();
        let path = claimed.object_path(1, "cpu", 0, "f").unwrap();
        assert!(path.starts_with(&format!("d{id}/t1/")), "{path}");
        // The same deployment claims it again; another is refused, naming the owner.
        open().claim(&first, &layout).await.unwrap();
        let error = open()
            .claim(&second, &layout)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&id), "{error}");
        // The first deployment may not start over in a second, empty store: its files are in
        // the first (nodes configured with different stores could not read each other's).
        let elsewhere = ObjectStoreConfig {
            url: Some(scratch.path().join("elsewhere").display().to_string()),
            ..ObjectStoreConfig::default()
        };
        let error = ColdStore::open(&elsewhere, scratch.path())
            .unwrap()
            .claim(&first, &layout)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("another object store"), "{error}");
        open().claim(&first, &layout).await.unwrap();
        // An unmarked prefix holding someone else's files is refused.
        let foreign = ObjectStoreConfig {
            url: Some(scratch.path().join("shared").display().to_string()),
            ..ObjectStoreConfig::default()
        };
        let store = ColdStore::open(&foreign, scratch.path()).unwrap();
        store
            .put("backups/db.tar", Bytes::from_static(b"x"))
            .await
            .unwrap();
        let error = store.claim(&second, &layout).await.unwrap_err().to_string();
        assert!(error.contains("backups/"), "{error}");
    }

    #[test]
    fn legacy_tenant_directories_are_recognised() {
        assert!(is_legacy_tenant_dir("t12/"));
        assert!(!is_legacy_tenant_dir("t/"));
        assert!(!is_legacy_tenant_dir("tmp/"));
        assert!(!is_legacy_tenant_dir("t1"));
    }
}
