//! The FoundationDB backend: a thin adapter from [`KvTransaction`] to the `foundationdb` crate.
//!
//! Every FDB error keeps its code (never its string), so retry decisions above this layer are
//! FDB's own. Builds need libclang (bindgen) and link against `libfdb_c`; the workspace's default
//! build never enables this module, CI keeps it compiling with `cargo check --features fdb`.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use foundationdb::options::{
    ConflictRangeType, MutationType, StreamingMode as FdbMode, TransactionOption,
};
use foundationdb::{FdbError, KeySelector, RangeOption, Transaction, TransactionCommitError};

use crate::error::{KvError, KvResult, code};
use crate::kv::{
    AtomicOp, CommitFailed, Committed, ConflictKind, KvDatabase, KvTransaction, RangeChunk,
    RangeRequest, StreamingMode, TxOption,
};

/// Keeps FDB's client network thread running; drop it just before the process exits.
pub type NetworkGuard = foundationdb::api::NetworkAutoStop;

/// Starts FDB's client network thread. Call once per process, before [`FdbKv::open`].
///
/// # Safety
/// The returned guard must be dropped before the process exits, and this must not be called
/// twice in one process (FDB's client allows one network per process).
pub unsafe fn start_network() -> NetworkGuard {
    // SAFETY: the caller upholds FDB's once-per-process and drop-before-exit rules.
    unsafe { foundationdb::boot() }
}

/// How often FDB's own client-side fault injection ("client buggify") fires: with it, requests
/// fail the way a troubled cluster makes them fail, `commit_unknown_result` (for commits that
/// did and did not apply) among them. For tests of the layers above; never in a server.
#[derive(Debug, Clone, Copy)]
pub struct ClientFaults {
    /// Percent of the client's fault sections that are active in this process.
    pub activated_percent: i32,
    /// Percent of the times an active section runs that it fires.
    pub fired_percent: i32,
}

/// [`start_network`] with FDB's client fault injection enabled.
///
/// # Safety
/// As [`start_network`].
pub unsafe fn start_network_with_faults(faults: ClientFaults) -> KvResult<NetworkGuard> {
    use foundationdb::options::NetworkOption;
    let builder = foundationdb::api::FdbApiBuilder::default()
        .build()
        .map_err(kv_error)?
        .set_option(NetworkOption::ClientBuggifyEnable)
        .and_then(|builder| {
            builder.set_option(NetworkOption::ClientBuggifySectionActivatedProbability(
                faults.activated_percent,
            ))
        })
        .and_then(|builder| {
            builder.set_option(NetworkOption::ClientBuggifySectionFiredProbability(
                faults.fired_percent,
            ))
        })
        .map_err(kv_error)?;
    // SAFETY: the caller upholds FDB's once-per-process and drop-before-exit rules.
    unsafe { builder.boot() }.map_err(kv_error)
}

fn kv_error(error: FdbError) -> KvError {
    KvError::from_code(error.code())
}

/// A handle to an FDB cluster.
#[derive(Clone)]
pub struct FdbKv {
    db: Arc<foundationdb::Database>,
}

impl std::fmt::Debug for FdbKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdbKv").finish_non_exhaustive()
    }
}

impl FdbKv {
    /// Connects through a cluster file (`None`: FDB's default cluster file).
    pub fn open(cluster_file: Option<&str>) -> KvResult<Self> {
        let db = foundationdb::Database::new(cluster_file).map_err(kv_error)?;
        Ok(Self { db: Arc::new(db) })
    }
}

impl KvDatabase for FdbKv {
    type Tx = FdbTx;

    fn create_transaction(&self) -> KvResult<FdbTx> {
        let tx = self.db.create_trx().map_err(kv_error)?;
        Ok(FdbTx {
            state: TxState::Live(tx),
        })
    }
}

enum TxState {
    Live(Transaction),
    /// A failed commit keeps FDB's handle so `on_error` continues FDB's backoff sequence.
    Failed(TransactionCommitError),
}

/// A transaction on an FDB cluster.
pub struct FdbTx {
    state: TxState,
}

impl std::fmt::Debug for FdbTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdbTx").finish_non_exhaustive()
    }
}

impl FdbTx {
    fn live(&self) -> KvResult<&Transaction> {
        match &self.state {
            TxState::Live(tx) => Ok(tx),
            // A transaction whose commit failed is only good for `on_error`.
            TxState::Failed(_) => Err(KvError::from_code(code::USED_DURING_COMMIT)),
        }
    }
}

fn mutation_type(op: AtomicOp) -> MutationType {
    match op {
        AtomicOp::Add => MutationType::Add,
        AtomicOp::BitAnd => MutationType::BitAnd,
        AtomicOp::BitOr => MutationType::BitOr,
        AtomicOp::BitXor => MutationType::BitXor,
        AtomicOp::AppendIfFits => MutationType::AppendIfFits,
        AtomicOp::Max => MutationType::Max,
        AtomicOp::Min => MutationType::Min,
        AtomicOp::ByteMax => MutationType::ByteMax,
        AtomicOp::ByteMin => MutationType::ByteMin,
        AtomicOp::CompareAndClear => MutationType::CompareAndClear,
        AtomicOp::SetVersionstampedKey => MutationType::SetVersionstampedKey,
        AtomicOp::SetVersionstampedValue => MutationType::SetVersionstampedValue,
    }
}

fn streaming_mode(mode: StreamingMode) -> FdbMode {
    match mode {
        StreamingMode::WantAll => FdbMode::WantAll,
        StreamingMode::Iterator => FdbMode::Iterator,
        StreamingMode::Exact => FdbMode::Exact,
        StreamingMode::Small => FdbMode::Small,
        StreamingMode::Medium => FdbMode::Medium,
        StreamingMode::Large => FdbMode::Large,
        StreamingMode::Serial => FdbMode::Serial,
    }
}

fn millis(duration: std::time::Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

impl KvTransaction for FdbTx {
    fn set_option(&self, option: TxOption) -> KvResult<()> {
        let option = match option {
            TxOption::Timeout(timeout) => TransactionOption::Timeout(millis(timeout)),
            TxOption::RetryLimit(limit) => {
                TransactionOption::RetryLimit(i32::try_from(limit).unwrap_or(i32::MAX))
            }
            TxOption::SizeLimit(limit) => TransactionOption::SizeLimit(
                i32::try_from(limit).map_err(|_| KvError::from_code(code::INVALID_OPTION_VALUE))?,
            ),
            TxOption::NextWriteNoWriteConflictRange => {
                TransactionOption::NextWriteNoWriteConflictRange
            }
            TxOption::PriorityBatch => TransactionOption::PriorityBatch,
        };
        self.live()?.set_option(option).map_err(kv_error)
    }

    async fn get_read_version(&self) -> KvResult<i64> {
        self.live()?.get_read_version().await.map_err(kv_error)
    }

    async fn get(&self, key: &[u8], snapshot: bool) -> KvResult<Option<Vec<u8>>> {
        let value = self.live()?.get(key, snapshot).await.map_err(kv_error)?;
        Ok(value.map(|bytes| bytes.to_vec()))
    }

    async fn get_range(
        &self,
        request: &RangeRequest,
        iteration: u32,
        snapshot: bool,
    ) -> KvResult<RangeChunk> {
        let option = RangeOption {
            begin: KeySelector::first_greater_or_equal(Cow::Owned(request.begin.clone())),
            end: KeySelector::first_greater_or_equal(Cow::Owned(request.end.clone())),
            limit: request.limit,
            target_bytes: request.target_bytes.unwrap_or(0),
            mode: streaming_mode(request.mode),
            reverse: request.reverse,
            ..RangeOption::default()
        };
        let iteration = usize::try_from(iteration.max(1)).unwrap_or(1);
        let values = self
            .live()?
            .get_range(&option, iteration, snapshot)
            .await
            .map_err(kv_error)?;
        let kvs = values
            .iter()
            .map(|kv| (kv.key().to_vec(), kv.value().to_vec()))
            .collect();
        Ok(RangeChunk {
            kvs,
            more: values.more(),
        })
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        if let Ok(tx) = self.live() {
            tx.set(key, value);
        }
    }

    fn clear(&self, key: &[u8]) {
        if let Ok(tx) = self.live() {
            tx.clear(key);
        }
    }

    fn clear_range(&self, begin: &[u8], end: &[u8]) {
        if let Ok(tx) = self.live() {
            tx.clear_range(begin, end);
        }
    }

    fn atomic_op(&self, key: &[u8], param: &[u8], op: AtomicOp) {
        if let Ok(tx) = self.live() {
            tx.atomic_op(key, param, mutation_type(op));
        }
    }

    fn add_conflict_range(&self, begin: &[u8], end: &[u8], kind: ConflictKind) -> KvResult<()> {
        let kind = match kind {
            ConflictKind::Read => ConflictRangeType::Read,
            ConflictKind::Write => ConflictRangeType::Write,
        };
        self.live()?
            .add_conflict_range(begin, end, kind)
            .map_err(kv_error)
    }

    fn get_versionstamp(&self) -> impl Future<Output = KvResult<[u8; 10]>> + Send + 'static {
        let pending = self.live().map(Transaction::get_versionstamp);
        async move {
            let stamp = pending?.await.map_err(kv_error)?;
            <[u8; 10]>::try_from(&stamp[..])
                .map_err(|_| KvError::internal("versionstamp is not 10 bytes"))
        }
    }

    async fn get_approximate_size(&self) -> KvResult<u64> {
        let size = self
            .live()?
            .get_approximate_size()
            .await
            .map_err(kv_error)?;
        Ok(u64::try_from(size).unwrap_or(0))
    }

    async fn commit(self) -> Result<Committed, CommitFailed<Self>> {
        let tx = match self.state {
            TxState::Live(tx) => tx,
            failed @ TxState::Failed(_) => {
                return Err(CommitFailed {
                    error: KvError::from_code(code::USED_DURING_COMMIT),
                    tx: FdbTx { state: failed },
                });
            }
        };
        match tx.commit().await {
            Ok(committed) => {
                let version = committed.committed_version().map_err(kv_error);
                Ok(Committed {
                    version: version.unwrap_or(-1),
                })
            }
            Err(failed) => Err(CommitFailed {
                error: KvError::from_code(failed.code()),
                tx: FdbTx {
                    state: TxState::Failed(failed),
                },
            }),
        }
    }

    async fn on_error(self, error: KvError) -> KvResult<Self> {
        let tx = match self.state {
            TxState::Live(tx) => tx.on_error(FdbError::from_code(error.code())).await,
            TxState::Failed(failed) => failed.on_error().await,
        };
        let tx = tx.map_err(kv_error)?;
        Ok(FdbTx {
            state: TxState::Live(tx),
        })
    }
}
