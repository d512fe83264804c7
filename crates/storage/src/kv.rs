//! The FDB-shaped transactional key-value interface every backend implements.
//!
//! The surface follows `foundationdb` 0.11 so the FDB backend is a thin adapter: transactions
//! take `&self` (interior mutability, as FDB's client does), writes never fail at the call site
//! (an invalid write poisons the transaction and the error surfaces at the next read or at
//! commit, like FDB's deferred errors), and `commit` consumes the transaction.

use std::future::Future;
use std::time::Duration;

use crate::error::{KvError, KvResult};

/// An owned key-value pair.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// FDB's atomic mutation types (`MutationType`), with their exact byte-level semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// Little-endian integer addition.
    Add,
    /// Bitwise AND (absent value: stores the parameter, FDB's `AndV2`).
    BitAnd,
    /// Bitwise OR.
    BitOr,
    /// Bitwise XOR.
    BitXor,
    /// Appends unless the result would exceed the value size limit (then silently does nothing).
    AppendIfFits,
    /// Unsigned little-endian maximum.
    Max,
    /// Unsigned little-endian minimum (absent value: stores the parameter, FDB's `MinV2`).
    Min,
    /// Lexicographic maximum.
    ByteMax,
    /// Lexicographic minimum.
    ByteMin,
    /// Clears the key if its value equals the parameter.
    CompareAndClear,
    /// Sets a key whose bytes contain the commit versionstamp at the offset in its last 4 bytes.
    SetVersionstampedKey,
    /// Sets a value whose bytes contain the commit versionstamp at the offset in its last 4 bytes.
    SetVersionstampedValue,
}

/// FDB's streaming modes: they only change how many rows a `get_range` batch returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamingMode {
    /// Return as much as possible per batch.
    WantAll,
    /// Start small and grow with the `iteration` counter.
    #[default]
    Iterator,
    /// Return exactly `limit` rows (a limit is required).
    Exact,
    /// Small batches.
    Small,
    /// Medium batches.
    Medium,
    /// Large batches.
    Large,
    /// Batches for a caller that consumes the whole range serially.
    Serial,
}

/// A range read: `[begin, end)` with FDB's `first_greater_or_equal` selectors on both ends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeRequest {
    /// First key of the range (inclusive).
    pub begin: Vec<u8>,
    /// End of the range (exclusive).
    pub end: Vec<u8>,
    /// Maximum number of rows in this batch.
    pub limit: Option<usize>,
    /// Soft cap on the bytes (keys plus values) of this batch.
    pub target_bytes: Option<usize>,
    /// Batch sizing hint.
    pub mode: StreamingMode,
    /// Read from the end of the range backwards.
    pub reverse: bool,
}

impl RangeRequest {
    /// Creates a forward request over `[begin, end)` with no limit.
    pub fn new(begin: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self {
            begin: begin.into(),
            end: end.into(),
            ..Self::default()
        }
    }

    /// Sets the row limit.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the byte target.
    pub fn target_bytes(mut self, bytes: usize) -> Self {
        self.target_bytes = Some(bytes);
        self
    }

    /// Sets the streaming mode.
    pub fn mode(mut self, mode: StreamingMode) -> Self {
        self.mode = mode;
        self
    }

    /// Reads backwards from the end.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Narrows the request to what remains after a batch, or `None` when the range is done.
    ///
    /// Paging continues from the first key after the last one returned (never by offset, which
    /// FDB documents as O(offset)).
    pub fn next_page(&self, chunk: &RangeChunk) -> Option<Self> {
        if !chunk.more {
            return None;
        }
        let (last_key, _) = chunk.kvs.last()?;
        let mut next = self.clone();
        if let Some(limit) = next.limit.as_mut() {
            *limit = limit
                .checked_sub(chunk.kvs.len())
                .filter(|left| *left > 0)?;
        }
        if self.reverse {
            next.end = last_key.clone();
        } else {
            next.begin = crate::keys::key_after(last_key);
        }
        Some(next)
    }
}

/// One batch of a range read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeChunk {
    /// The rows, in key order (descending for a reverse read).
    pub kvs: Vec<KeyValue>,
    /// True when the range may hold more rows past this batch.
    pub more: bool,
}

/// Whether an explicit conflict range is a read or a write conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// Makes this transaction fail if another commits a write in the range first.
    Read,
    /// Makes transactions that read the range fail when this one commits first.
    Write,
}

/// Per-transaction options (FDB's `TransactionOption`, the subset Tidemark uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOption {
    /// Cancel the transaction with `transaction_timed_out` (1031) after this long.
    Timeout(Duration),
    /// Give up retrying in `on_error` after this many retries.
    RetryLimit(u32),
    /// Lower the affected-data limit below 10,000,000 bytes.
    SizeLimit(u32),
    /// The next write adds no write-conflict range.
    NextWriteNoWriteConflictRange,
    /// Run at batch priority (background work such as compaction).
    PriorityBatch,
}

/// A successful commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The commit version, or -1 for a read-only transaction (as FDB reports it).
    pub version: i64,
}

/// A failed commit: the error and the transaction, to be passed to [`KvTransaction::on_error`].
#[derive(Debug)]
pub struct CommitFailed<T> {
    /// Why the commit failed.
    pub error: KvError,
    /// The transaction, reusable after `on_error`.
    pub tx: T,
}

/// A database handle of one backend.
pub trait KvDatabase: Clone + Send + Sync + 'static {
    /// The backend's transaction type.
    type Tx: KvTransaction;

    /// Starts a new transaction.
    fn create_transaction(&self) -> KvResult<Self::Tx>;
}

/// A transaction with FDB semantics.
///
/// Reads record read-conflict ranges unless `snapshot` is true; writes record write-conflict
/// ranges. Reads see the transaction's own earlier writes.
pub trait KvTransaction: Send + Sync + Sized + 'static {
    /// Sets a transaction option.
    fn set_option(&self, option: TxOption) -> KvResult<()>;

    /// Returns the read version, acquiring it if this is the first operation.
    fn get_read_version(&self) -> impl Future<Output = KvResult<i64>> + Send;

    /// Reads one key.
    fn get(
        &self,
        key: &[u8],
        snapshot: bool,
    ) -> impl Future<Output = KvResult<Option<Vec<u8>>>> + Send;

    /// Reads one batch of a range. `iteration` starts at 1 and grows batches in `Iterator` mode.
    fn get_range(
        &self,
        request: &RangeRequest,
        iteration: u32,
        snapshot: bool,
    ) -> impl Future<Output = KvResult<RangeChunk>> + Send;

    /// Sets a key.
    fn set(&self, key: &[u8], value: &[u8]);

    /// Clears a key.
    fn clear(&self, key: &[u8]);

    /// Clears every key in `[begin, end)`, including keys this transaction wrote.
    fn clear_range(&self, begin: &[u8], end: &[u8]);

    /// Applies an atomic mutation at commit time, without a read conflict.
    fn atomic_op(&self, key: &[u8], param: &[u8], op: AtomicOp);

    /// Adds an explicit conflict range.
    fn add_conflict_range(&self, begin: &[u8], end: &[u8], kind: ConflictKind) -> KvResult<()>;

    /// Returns a future for the 10-byte versionstamp of this transaction's commit.
    ///
    /// Call before `commit`; it resolves after a successful commit and fails for read-only
    /// transactions.
    fn get_versionstamp(&self) -> impl Future<Output = KvResult<[u8; 10]>> + Send + 'static;

    /// Returns FDB's estimate of the affected data so far (checked against the size limit).
    fn get_approximate_size(&self) -> impl Future<Output = KvResult<u64>> + Send;

    /// Commits the transaction.
    fn commit(self) -> impl Future<Output = Result<Committed, CommitFailed<Self>>> + Send;

    /// Handles an error: backs off and returns the reset transaction if it is retryable, or the
    /// error otherwise (also once the retry limit is reached).
    fn on_error(self, error: KvError) -> impl Future<Output = KvResult<Self>> + Send;

    /// Adds a read-conflict range covering exactly `key`.
    fn add_read_conflict_key(&self, key: &[u8]) -> KvResult<()> {
        self.add_conflict_range(key, &crate::keys::key_after(key), ConflictKind::Read)
    }

    /// Adds a write-conflict range covering exactly `key`.
    fn add_write_conflict_key(&self, key: &[u8]) -> KvResult<()> {
        self.add_conflict_range(key, &crate::keys::key_after(key), ConflictKind::Write)
    }

    /// Reads a whole range, paging across batches within this transaction.
    fn get_range_all(
        &self,
        request: &RangeRequest,
        snapshot: bool,
    ) -> impl Future<Output = KvResult<Vec<KeyValue>>> + Send {
        async move {
            let mut rows = Vec::new();
            let mut next = Some(request.clone());
            let mut iteration = 1;
            while let Some(page) = next {
                let chunk = self.get_range(&page, iteration, snapshot).await?;
                next = page.next_page(&chunk);
                rows.extend(chunk.kvs);
                iteration += 1;
            }
            Ok(rows)
        }
    }
}
