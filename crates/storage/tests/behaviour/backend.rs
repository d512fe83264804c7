use tidemark_storage::embedded::{EmbeddedKv, EmbeddedOptions, FaultConfig};
use tidemark_storage::{Committed, KvDatabase, KvError, KvResult, KvTransaction};

/// A backend under test: how to open it, reopen it and (where possible) inject faults.
pub(crate) trait Backend: Sized + Send + Sync + 'static {
    type Db: KvDatabase;
    /// Prepares an isolated database, or `None` (after a notice) when it cannot run here.
    fn start(case: &str) -> Option<Self>;
    fn open(&self) -> Self::Db;
    /// A handle whose commits fail as configured, or `None` when the backend cannot inject.
    fn open_with_faults(&self, faults: FaultConfig) -> Option<Self::Db>;
    /// Where the embedded database lives, for the child-process durability test.
    fn directory(&self) -> Option<&std::path::Path>;
    /// Key prefix isolating this case from others sharing the database.
    fn prefix(&self) -> &[u8];
    /// Reads at a read version older than 5 s may still succeed: FDB's client answers keys the
    /// transaction already read from its cache, and a storage server keeps old versions until
    /// it has made newer ones durable, so under load it serves them a while longer. Commits of
    /// such transactions always fail. The embedded backend fails every such read, the side of
    /// FDB's behaviour that code must already handle.
    const LENIENT_OLD_READS: bool = false;
}

pub(crate) struct Embedded {
    dir: tempfile::TempDir,
}

impl Backend for Embedded {
    type Db = EmbeddedKv;

    fn start(_case: &str) -> Option<Self> {
        Some(Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        })
    }

    fn open(&self) -> EmbeddedKv {
        EmbeddedKv::open(self.dir.path(), EmbeddedOptions::default()).expect("open embedded kv")
    }

    fn open_with_faults(&self, faults: FaultConfig) -> Option<EmbeddedKv> {
        let options = EmbeddedOptions {
            faults: Some(faults),
            ..EmbeddedOptions::default()
        };
        // A directory of its own: the case's plain handle keeps the main one open.
        let path = self.dir.path().join("faulty");
        Some(EmbeddedKv::open(path, options).expect("open embedded kv"))
    }

    fn directory(&self) -> Option<&std::path::Path> {
        Some(self.dir.path())
    }

    fn prefix(&self) -> &[u8] {
        b"t/"
    }
}

#[cfg(feature = "fdb")]
pub(crate) struct Fdb {
    prefix: Vec<u8>,
}

#[cfg(feature = "fdb")]
impl Backend for Fdb {
    type Db = tidemark_storage::fdb::FdbKv;

    const LENIENT_OLD_READS: bool = true;

    fn start(case: &str) -> Option<Self> {
        let Ok(cluster_file) = std::env::var("FDB_CLUSTER_FILE") else {
            // CI sets TIDEMARK_REQUIRE_FDB=1: there a missing cluster fails instead of skipping.
            assert!(
                std::env::var("TIDEMARK_REQUIRE_FDB").as_deref() != Ok("1"),
                "FDB_CLUSTER_FILE is not set but TIDEMARK_REQUIRE_FDB=1 (case {case})"
            );
            eprintln!("NOTICE: FDB_CLUSTER_FILE is not set; skipping FDB case {case}");
            return None;
        };
        static NETWORK: std::sync::Once = std::sync::Once::new();
        NETWORK.call_once(|| {
            // SAFETY: booted once per test process; the guard is leaked because the network must
            // outlive every test and the process exits right after them.
            std::mem::forget(unsafe { tidemark_storage::fdb::start_network() });
        });
        let _ = cluster_file;
        let nonce: u64 = rand::random();
        Some(Self {
            prefix: format!("tidemark-test/{case}/{nonce:016x}/").into_bytes(),
        })
    }

    fn open(&self) -> Self::Db {
        let cluster_file = std::env::var("FDB_CLUSTER_FILE").ok();
        tidemark_storage::fdb::FdbKv::open(cluster_file.as_deref()).expect("open fdb")
    }

    fn open_with_faults(&self, _faults: FaultConfig) -> Option<Self::Db> {
        None
    }

    fn directory(&self) -> Option<&std::path::Path> {
        None
    }

    fn prefix(&self) -> &[u8] {
        &self.prefix
    }
}

/// One case's context: the backend, an open handle and key helpers.
pub(crate) struct Ctx<B: Backend> {
    pub(crate) backend: B,
    pub(crate) db: B::Db,
}

impl<B: Backend> Ctx<B> {
    pub(crate) fn start(case: &str) -> Option<Self> {
        let backend = B::start(case)?;
        let db = backend.open();
        Some(Self { backend, db })
    }

    /// The isolated key for `name`.
    pub(crate) fn key(&self, name: &str) -> Vec<u8> {
        [self.backend.prefix(), name.as_bytes()].concat()
    }

    pub(crate) fn tx(&self) -> <B::Db as KvDatabase>::Tx {
        self.db.create_transaction().expect("create transaction")
    }

    /// Sets keys in one committed transaction.
    pub(crate) async fn put(&self, pairs: &[(&str, &[u8])]) {
        let tx = self.tx();
        for (name, value) in pairs {
            tx.set(&self.key(name), value);
        }
        commit(tx).await.expect("seed commit");
    }

    /// Reads a key in a fresh transaction.
    pub(crate) async fn read(&self, name: &str) -> Option<Vec<u8>> {
        self.tx().get(&self.key(name), false).await.expect("read")
    }
}

/// Commits, reducing the failure to its error.
pub(crate) async fn commit<T: KvTransaction>(tx: T) -> KvResult<Committed> {
    tx.commit().await.map_err(|failed| failed.error)
}

/// Asserts that `result` failed with FDB error `code`.
#[track_caller]
pub(crate) fn assert_code<T: std::fmt::Debug>(result: Result<T, KvError>, code: i32) {
    match result {
        Err(error) => assert_eq!(error.code(), code, "expected error {code}, got {error}"),
        Ok(value) => panic!("expected error {code}, got success {value:?}"),
    }
}
