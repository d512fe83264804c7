//! The embedded backend: fjall for durable ordered storage, plus an FDB-style resolver.
//!
//! fjall stores exactly the FDB key bytes in one keyspace and gives MVCC snapshots and atomic,
//! fsynced write batches. Concurrency control is ours, because fjall's optimistic transactions
//! cannot express snapshot reads, range clears, conflict-free atomic ops, manual conflict ranges
//! or versionstamps (see `docs/storage.md`). A single commit thread resolves and applies
//! transactions in groups, one fsync per group, the way FDB's commit proxies batch commits.

mod commit;
mod overlay;
mod tx;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, Snapshot};

use crate::error::{KvError, KvResult};
use crate::kv::KvDatabase;

pub use tx::EmbeddedTx;

const DATA_KEYSPACE: &str = "kv";
const META_KEYSPACE: &str = "meta";
const LAST_VERSION_KEY: &[u8] = b"last_committed_version";

/// Probabilities of injected failures at commit, drawn from a seeded RNG.
///
/// Each commit rolls once: a retryable failure (`not_committed`, `transaction_too_old` or
/// `process_behind`, nothing applied), `commit_unknown_result` after durably applying, or
/// `commit_unknown_result` without applying. This surfaces idempotency bugs that FDB only
/// produces under failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Seed of the fault RNG, so a failing run can be replayed.
    pub seed: u64,
    /// Probability of a retryable, not-committed failure.
    pub retryable: f64,
    /// Probability of `commit_unknown_result` after the commit was applied.
    pub unknown_applied: f64,
    /// Probability of `commit_unknown_result` without applying.
    pub unknown_not_applied: f64,
    /// Probability that a range read fails with `transaction_too_old` (as an FDB read past the
    /// 5 s horizon or on a lagging storage server would), so long scans exercise their restarts.
    pub read_retryable: f64,
}

/// Options of the embedded backend.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedOptions {
    /// fsync every commit group before acknowledging it (FDB's durability). Turning this off
    /// makes acknowledged commits survive only a process crash, not a machine crash: it is not
    /// FDB behaviour and exists for benchmarks that want to isolate CPU costs.
    pub sync: bool,
    /// Injected failures, for tests.
    pub faults: Option<FaultConfig>,
    /// Most transactions resolved and written in one group.
    pub max_group_transactions: usize,
    /// fjall block cache size.
    pub cache_bytes: u64,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            sync: true,
            faults: None,
            max_group_transactions: 1024,
            cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A handle to an embedded database directory. Cheap to clone; one process owns a directory.
#[derive(Clone, Debug)]
pub struct EmbeddedKv {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Database,
    data: Keyspace,
    shared: Arc<Shared>,
    commits: Mutex<Option<mpsc::Sender<commit::CommitRequest>>>,
    committer: Mutex<Option<JoinHandle<()>>>,
    /// Injected range-read failures: probability and the seeded generator.
    read_faults: Option<(f64, Mutex<rand::rngs::StdRng>)>,
}

impl Inner {
    /// Rolls for an injected read failure.
    fn read_fault(&self) -> KvResult<()> {
        if let Some((probability, rng)) = &self.read_faults {
            use rand::Rng;
            if lock(rng).random::<f64>() < *probability {
                return Err(KvError::from_code(crate::error::code::TRANSACTION_TOO_OLD));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedKv")
            .field("path", &self.path)
            .finish()
    }
}

/// State shared by transactions and the commit thread.
#[derive(Debug, Default)]
struct Shared {
    published: Mutex<Published>,
    /// Read versions of live transactions (version → count), so resolver history older than
    /// every live reader can be dropped.
    live_readers: Mutex<BTreeMap<i64, usize>>,
}

/// The newest durable commit, and the fjall sequence number at which it became visible.
#[derive(Debug, Default, Clone, Copy)]
struct Published {
    version: i64,
    seqno: u64,
}

/// A transaction's read version and the matching storage snapshot.
struct ReadView {
    version: i64,
    snapshot: Snapshot,
    acquired: std::time::Instant,
    _lease: ReaderLease,
}

/// Keeps a read version registered while a transaction may still commit against it.
struct ReaderLease {
    shared: Arc<Shared>,
    version: i64,
}

impl Drop for ReaderLease {
    fn drop(&mut self) {
        let mut readers = lock(&self.shared.live_readers);
        if let Some(count) = readers.get_mut(&self.version) {
            *count -= 1;
            if *count == 0 {
                readers.remove(&self.version);
            }
        }
    }
}

fn storage_error(context: &str, error: impl std::fmt::Display) -> KvError {
    KvError::internal(format!("{context}: {error}"))
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves its data consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EmbeddedKv {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: impl AsRef<Path>, options: EmbeddedOptions) -> KvResult<Self> {
        let path = path.as_ref().to_path_buf();
        let db = Database::builder(&path)
            .cache_size(options.cache_bytes)
            // fjall's minimum: the write-ahead journal is dropped only when it rotates, so its
            // cap bounds the disk it takes beyond the tables (fjall's default is 512 MiB).
            .max_journaling_size(64 * 1024 * 1024)
            .open()
            .map_err(|error| storage_error("cannot open embedded database", error))?;
        let data = db
            .keyspace(DATA_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|error| storage_error("cannot open data keyspace", error))?;
        let meta = db
            .keyspace(META_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|error| storage_error("cannot open meta keyspace", error))?;
        let last_version = match meta
            .get(LAST_VERSION_KEY)
            .map_err(|error| storage_error("cannot read last version", error))?
        {
            Some(bytes) => i64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| KvError::internal("corrupt last version record"))?,
            ),
            None => 0,
        };
        let shared = Arc::new(Shared::default());
        *lock(&shared.published) = Published {
            version: last_version,
            seqno: db.visible_seqno(),
        };
        let (sender, receiver) = mpsc::channel();
        let committer = commit::Committer::new(
            db.clone(),
            data.clone(),
            meta,
            Arc::clone(&shared),
            last_version,
            &options,
        );
        let handle = std::thread::Builder::new()
            .name("tidemark-commit".into())
            .spawn(move || committer.run(receiver))
            .map_err(|error| storage_error("cannot start commit thread", error))?;
        tracing::debug!(path = %path.display(), last_version, "opened embedded kv");
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                db,
                data,
                shared,
                commits: Mutex::new(Some(sender)),
                committer: Mutex::new(Some(handle)),
                read_faults: options
                    .faults
                    .filter(|faults| faults.read_retryable > 0.0)
                    .map(|faults| {
                        use rand::SeedableRng;
                        let rng = rand::rngs::StdRng::seed_from_u64(faults.seed ^ 0x5eed);
                        (faults.read_retryable, Mutex::new(rng))
                    }),
            }),
        })
    }

    /// The directory this database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Flushes memtables and fully compacts the LSM tree, so disk usage reflects live data only
    /// (tombstones of cleared keys dropped). Slow; for tools and benchmarks, not the hot path.
    pub fn settle_storage(&self) -> KvResult<()> {
        let meta = self
            .inner
            .db
            .keyspace(META_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(|error| storage_error("cannot open meta keyspace", error))?;
        // A journal is dropped only once every keyspace with writes in it is flushed, and every
        // commit writes the meta keyspace too.
        for keyspace in [&self.inner.data, &meta] {
            keyspace
                .rotate_memtable_and_wait()
                .map_err(|error| storage_error("cannot flush storage", error))?;
        }
        self.inner
            .data
            .major_compact()
            .map_err(|error| storage_error("cannot compact storage", error))
    }

    /// Bytes the database occupies on disk.
    pub fn disk_bytes(&self) -> KvResult<u64> {
        self.inner
            .db
            .disk_space()
            .map_err(|error| storage_error("cannot measure disk space", error))
    }
}

impl Inner {
    /// Pins a read version and a snapshot that shows exactly the commits up to it.
    fn acquire_read_view(self: &Arc<Self>) -> ReadView {
        // The commit thread makes a batch visible a moment before it publishes the version;
        // wait out that window so the snapshot never holds writes newer than the read version.
        // Should anything else ever move fjall's sequence number, give up waiting: a snapshot
        // newer than its read version can only cause extra conflicts, never missed ones.
        for attempt in 0u32.. {
            let published = lock(&self.shared.published);
            let snapshot = self.db.snapshot();
            if snapshot.seqno() == published.seqno || attempt >= 10_000 {
                let version = published.version;
                *lock(&self.shared.live_readers).entry(version).or_default() += 1;
                drop(published);
                return ReadView {
                    version,
                    snapshot,
                    acquired: std::time::Instant::now(),
                    _lease: ReaderLease {
                        shared: Arc::clone(&self.shared),
                        version,
                    },
                };
            }
            drop(published);
            std::thread::yield_now();
        }
        unreachable!("the loop returns at the latest on its last attempt")
    }

    fn submit(&self, request: commit::CommitRequest) -> KvResult<()> {
        let commits = lock(&self.commits);
        let sender = commits
            .as_ref()
            .ok_or_else(|| KvError::internal("embedded database is closed"))?;
        sender
            .send(request)
            .map_err(|_| KvError::internal("commit thread stopped"))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the commit thread after its current group; joining it makes
        // sure the directory is released before anyone reopens it.
        lock(&self.commits).take();
        if let Some(handle) = lock(&self.committer).take() {
            let _ = handle.join();
        }
    }
}

impl KvDatabase for EmbeddedKv {
    type Tx = EmbeddedTx;

    fn create_transaction(&self) -> KvResult<EmbeddedTx> {
        Ok(EmbeddedTx::new(Arc::clone(&self.inner)))
    }
}
