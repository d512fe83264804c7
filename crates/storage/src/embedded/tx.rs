//! Embedded transactions: reads against a pinned snapshot merged with the transaction's own
//! writes, conflict ranges recorded exactly as FDB's client records them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fjall::Readable;
use rand::Rng;
use tokio::sync::oneshot;

use super::commit::{CommitRequest, Mutation};
use super::overlay::{Lookup, MergedRange, Overlay, resolve_pending};
use super::{Inner, ReadView, lock, storage_error};
use crate::error::{KvError, KvResult, code};
use crate::keys::{
    self, MAX_KEY_BYTES, MAX_TRANSACTION_BYTES, MAX_VALUE_BYTES, SYSTEM_KEYSPACE_BEGIN,
};
use crate::kv::{
    AtomicOp, CommitFailed, Committed, ConflictKind, KeyValue, KvTransaction, RangeChunk,
    RangeRequest, StreamingMode, TxOption,
};
use crate::ranges::{self, KeyRange};

/// FDB's `MAX_WRITE_TRANSACTION_LIFE_VERSIONS` at a million versions per second.
pub(super) const MAX_TRANSACTION_AGE: Duration = Duration::from_secs(5);
/// Batch byte targets of the `Iterator` streaming mode by iteration (FDB's `fdb_c.cpp`).
const ITERATION_PROGRESSION: [usize; 11] = [
    256, 1000, 4096, 6144, 9216, 13824, 20736, 31104, 46656, 69984, 80000,
];
/// Cap of one batch when the mode sets no byte limit (FDB's storage servers cap replies too).
const UNLIMITED_BATCH_BYTES: usize = 1 << 20;
/// Bytes FDB charges per mutation and per conflict range on top of their keys and values.
const MUTATION_OVERHEAD: u64 = 24;
const CONFLICT_RANGE_OVERHEAD: u64 = 16;
const INITIAL_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A transaction of the embedded backend.
pub struct EmbeddedTx {
    inner: Arc<Inner>,
    state: Mutex<TxState>,
}

impl std::fmt::Debug for EmbeddedTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedTx").finish_non_exhaustive()
    }
}

/// Options that survive `on_error`, as in FDB since API 610.
#[derive(Clone, Copy)]
struct Persistent {
    created: Instant,
    timeout: Option<Duration>,
    retry_limit: Option<u32>,
    retries: u32,
    backoff: Duration,
}

struct TxState {
    persistent: Persistent,
    view: Option<ReadView>,
    size_limit: u64,
    skip_next_write_conflict: bool,
    deferred: Option<KvError>,
    /// Read-your-writes view, built from `mutations` only when a read needs it: write-only
    /// transactions (all of ingest) never pay for it.
    overlay: Overlay,
    /// How many of `mutations` the overlay reflects.
    overlay_synced: usize,
    mutations: Vec<Mutation>,
    read_conflicts: Vec<KeyRange>,
    write_conflicts: Vec<KeyRange>,
    size: u64,
    stamp_waiters: Vec<oneshot::Sender<KvResult<[u8; 10]>>>,
}

impl TxState {
    fn new(persistent: Persistent) -> Self {
        Self {
            persistent,
            view: None,
            size_limit: MAX_TRANSACTION_BYTES,
            skip_next_write_conflict: false,
            deferred: None,
            overlay: Overlay::default(),
            overlay_synced: 0,
            mutations: Vec::new(),
            read_conflicts: Vec::new(),
            write_conflicts: Vec::new(),
            size: 0,
            stamp_waiters: Vec::new(),
        }
    }

    /// Errors every operation must report first: an earlier invalid write, the timeout option.
    fn check_usable(&self) -> KvResult<()> {
        if let Some(error) = &self.deferred {
            return Err(error.clone());
        }
        if let Some(timeout) = self.persistent.timeout
            && self.persistent.created.elapsed() >= timeout
        {
            return Err(KvError::from_code(code::TRANSACTION_TIMED_OUT));
        }
        Ok(())
    }

    fn defer(&mut self, error: ErrorCodeOnly) {
        if self.deferred.is_none() {
            self.deferred = Some(KvError::from_code(error.0));
        }
    }

    fn add_read_conflict(&mut self, range: KeyRange) {
        if range.is_empty() {
            return;
        }
        self.size += range.expected_size() + CONFLICT_RANGE_OVERHEAD;
        self.read_conflicts.push(range);
    }

    fn add_write_conflict(&mut self, range: KeyRange) {
        if std::mem::take(&mut self.skip_next_write_conflict) || range.is_empty() {
            return;
        }
        self.size += range.expected_size() + CONFLICT_RANGE_OVERHEAD;
        self.write_conflicts.push(range);
    }

    /// Brings the read-your-writes overlay up to date with the mutation log.
    fn sync_overlay(&mut self) {
        for mutation in &self.mutations[self.overlay_synced..] {
            match mutation {
                Mutation::Set(key, value) => self.overlay.set(key, Some(value.clone())),
                Mutation::Clear(key) => self.overlay.set(key, None),
                Mutation::ClearRange(range) => self.overlay.clear_range(range),
                // Recorded as unreadable when written: the range depends on the read version then.
                Mutation::Atomic(_, _, AtomicOp::SetVersionstampedKey) => {}
                Mutation::Atomic(key, _, AtomicOp::SetVersionstampedValue) => {
                    self.overlay.mark_unreadable_key(key);
                }
                Mutation::Atomic(key, param, op) => self.overlay.atomic(key, *op, param),
            }
        }
        self.overlay_synced = self.mutations.len();
    }

    /// Records a read conflict on `range` minus what this transaction wrote independently.
    fn add_read_conflict_except_own(&mut self, range: KeyRange) {
        self.sync_overlay();
        let own = self.overlay.independent_writes_in(&range);
        for piece in ranges::subtract(range, &own) {
            self.add_read_conflict(piece);
        }
    }
}

struct ErrorCodeOnly(i32);

fn validate_write_key(key: &[u8]) -> Result<(), ErrorCodeOnly> {
    if key >= SYSTEM_KEYSPACE_BEGIN {
        return Err(ErrorCodeOnly(code::KEY_OUTSIDE_LEGAL_RANGE));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ErrorCodeOnly(code::KEY_TOO_LARGE));
    }
    Ok(())
}

fn validate_value(value: &[u8]) -> Result<(), ErrorCodeOnly> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(ErrorCodeOnly(code::VALUE_TOO_LARGE));
    }
    Ok(())
}

fn validate_read_range(begin: &[u8], end: &[u8]) -> KvResult<()> {
    if begin > SYSTEM_KEYSPACE_BEGIN || end > SYSTEM_KEYSPACE_BEGIN {
        return Err(KvError::from_code(code::KEY_OUTSIDE_LEGAL_RANGE));
    }
    Ok(())
}

fn batch_byte_limit(request: &RangeRequest, iteration: u32) -> KvResult<usize> {
    let mode_bytes = match request.mode {
        StreamingMode::WantAll | StreamingMode::Exact => None,
        StreamingMode::Iterator => {
            let step = (iteration.max(1) as usize).min(ITERATION_PROGRESSION.len());
            Some(ITERATION_PROGRESSION[step - 1])
        }
        StreamingMode::Small => Some(256),
        StreamingMode::Medium => Some(1000),
        StreamingMode::Large => Some(4096),
        StreamingMode::Serial => Some(80_000),
    };
    if request.mode == StreamingMode::Exact && request.limit.unwrap_or(0) == 0 {
        return Err(KvError::from_code(code::EXACT_MODE_WITHOUT_LIMITS));
    }
    let target = request.target_bytes.filter(|bytes| *bytes > 0);
    Ok(match (mode_bytes, target) {
        (Some(mode), Some(target)) => mode.min(target),
        (Some(mode), None) => mode,
        (None, Some(target)) => target,
        (None, None) => UNLIMITED_BATCH_BYTES,
    })
}

impl EmbeddedTx {
    pub(super) fn new(inner: Arc<Inner>) -> Self {
        let persistent = Persistent {
            created: Instant::now(),
            timeout: None,
            retry_limit: None,
            retries: 0,
            backoff: INITIAL_BACKOFF,
        };
        Self {
            inner,
            state: Mutex::new(TxState::new(persistent)),
        }
    }

    /// Runs `read` with the read view, acquiring it on first use and enforcing the 5 s limit.
    fn with_view<T>(&self, read: impl FnOnce(&mut TxState) -> KvResult<T>) -> KvResult<T> {
        let mut state = lock(&self.state);
        state.check_usable()?;
        if state.view.is_none() {
            state.view = Some(self.inner.acquire_read_view());
        }
        if state
            .view
            .as_ref()
            .is_some_and(|view| view.acquired.elapsed() > MAX_TRANSACTION_AGE)
        {
            return Err(KvError::from_code(code::TRANSACTION_TOO_OLD));
        }
        state.sync_overlay();
        read(&mut state)
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>, record: impl FnOnce(&mut TxState)) {
        let mut state = lock(&self.state);
        if let Err(error) = validate_write_key(key).and(value.map_or(Ok(()), validate_value)) {
            state.defer(error);
            return;
        }
        record(&mut state);
    }

    fn snapshot_get(&self, state: &TxState, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let view = state
            .view
            .as_ref()
            .ok_or_else(|| KvError::internal("no read view"))?;
        view.snapshot
            .get(&self.inner.data, key)
            .map(|value| value.map(|bytes| bytes.to_vec()))
            .map_err(|error| storage_error("read failed", error))
    }

    fn read_range(
        &self,
        state: &mut TxState,
        request: &RangeRequest,
        iteration: u32,
        snapshot: bool,
    ) -> KvResult<RangeChunk> {
        validate_read_range(&request.begin, &request.end)?;
        let byte_limit = batch_byte_limit(request, iteration)?;
        let row_limit = request
            .limit
            .filter(|limit| *limit > 0)
            .unwrap_or(usize::MAX);
        let range = KeyRange::new(request.begin.clone(), request.end.clone());
        if range.is_empty() {
            return Ok(RangeChunk::default());
        }
        state.overlay.check_readable(&range)?;
        let (kvs, more) = {
            let view = state
                .view
                .as_ref()
                .ok_or_else(|| KvError::internal("no read view"))?;
            let data = &self.inner.data;
            let iter = view
                .snapshot
                .range(data, range.begin.as_slice()..range.end.as_slice());
            let base: Box<dyn Iterator<Item = fjall::Guard>> = if request.reverse {
                Box::new(iter.rev())
            } else {
                Box::new(iter)
            };
            let base = base.map(|guard| {
                guard
                    .into_inner()
                    .map(|(key, value)| (key.to_vec(), value.to_vec()))
                    .map_err(|error| storage_error("range read failed", error))
            });
            let read_base = |key: &[u8]| -> KvResult<Option<Vec<u8>>> {
                view.snapshot
                    .get(data, key)
                    .map(|value| value.map(|bytes| bytes.to_vec()))
                    .map_err(|error| storage_error("read failed", error))
            };
            let mut merged =
                MergedRange::new(base, &state.overlay, &range, request.reverse, &read_base);
            let mut kvs: Vec<KeyValue> = Vec::new();
            let mut bytes = 0usize;
            while kvs.len() < row_limit && bytes < byte_limit {
                match merged.next() {
                    Some(row) => {
                        let row = row?;
                        bytes += row.0.len() + row.1.len();
                        kvs.push(row);
                    }
                    None => break,
                }
            }
            let more = match merged.next() {
                Some(row) => row.map(|_| true)?,
                None => false,
            };
            (kvs, more)
        };
        if !snapshot {
            // FDB records the whole range when it was exhausted, and only up to the last row
            // returned when a limit stopped the read (`ReadYourWrites.cpp`, addConflictRange).
            let conflict = match (more, kvs.last()) {
                (true, Some((last, _))) if request.reverse => {
                    KeyRange::new(last.clone(), range.end.clone())
                }
                (true, Some((last, _))) => {
                    KeyRange::new(range.begin.clone(), keys::key_after(last))
                }
                _ => range,
            };
            state.add_read_conflict_except_own(conflict);
        }
        Ok(RangeChunk { kvs, more })
    }

    fn take_commit_request(
        &self,
        reply: oneshot::Sender<KvResult<super::commit::CommitOutcome>>,
    ) -> KvResult<Option<CommitRequest>> {
        let mut state = lock(&self.state);
        state.check_usable()?;
        if state.mutations.is_empty() && state.write_conflicts.is_empty() {
            for waiter in state.stamp_waiters.drain(..) {
                let _ = waiter.send(Err(KvError::from_code(code::NO_COMMIT_VERSION)));
            }
            return Ok(None);
        }
        if state.size > state.size_limit {
            return Err(KvError::from_code(code::TRANSACTION_TOO_LARGE));
        }
        let view = match state.view.take() {
            Some(view) => view,
            None => self.inner.acquire_read_view(),
        };
        if view.acquired.elapsed() > MAX_TRANSACTION_AGE {
            return Err(KvError::from_code(code::TRANSACTION_TOO_OLD));
        }
        Ok(Some(CommitRequest {
            view,
            read_conflicts: ranges::coalesce(std::mem::take(&mut state.read_conflicts)),
            write_conflicts: ranges::coalesce(std::mem::take(&mut state.write_conflicts)),
            mutations: std::mem::take(&mut state.mutations),
            bytes: state.size,
            reply,
        }))
    }

    fn notify_stamp_waiters(&self, outcome: &KvResult<[u8; 10]>) {
        let waiters = std::mem::take(&mut lock(&self.state).stamp_waiters);
        for waiter in waiters {
            let _ = waiter.send(outcome.clone());
        }
    }
}

impl KvTransaction for EmbeddedTx {
    fn set_option(&self, option: TxOption) -> KvResult<()> {
        let mut state = lock(&self.state);
        match option {
            TxOption::Timeout(timeout) => {
                state.persistent.timeout = (!timeout.is_zero()).then_some(timeout);
            }
            TxOption::RetryLimit(limit) => state.persistent.retry_limit = Some(limit),
            TxOption::SizeLimit(limit) => {
                if !(32..=MAX_TRANSACTION_BYTES).contains(&u64::from(limit)) {
                    return Err(KvError::from_code(code::INVALID_OPTION_VALUE));
                }
                state.size_limit = u64::from(limit);
            }
            TxOption::NextWriteNoWriteConflictRange => state.skip_next_write_conflict = true,
            // One commit thread serves every priority; batch priority changes nothing here.
            TxOption::PriorityBatch => {}
        }
        Ok(())
    }

    async fn get_read_version(&self) -> KvResult<i64> {
        self.with_view(|state| Ok(state.view.as_ref().map_or(0, |view| view.version)))
    }

    async fn get(&self, key: &[u8], snapshot: bool) -> KvResult<Option<Vec<u8>>> {
        self.with_view(|state| {
            if key >= SYSTEM_KEYSPACE_BEGIN {
                return Err(KvError::from_code(code::KEY_OUTSIDE_LEGAL_RANGE));
            }
            if key.len() > MAX_KEY_BYTES {
                // FDB: no key in the database is longer than the key limit.
                return Ok(None);
            }
            let value = match state.overlay.lookup(key) {
                Lookup::Known(value) => return Ok(value),
                Lookup::Unreadable => return Err(KvError::from_code(code::ACCESSED_UNREADABLE)),
                Lookup::Pending(ops) => {
                    let ops = ops.to_vec();
                    resolve_pending(self.snapshot_get(state, key)?, &ops)
                }
                Lookup::Base => self.snapshot_get(state, key)?,
            };
            if !snapshot {
                state.add_read_conflict(KeyRange::single(key));
            }
            Ok(value)
        })
    }

    async fn get_range(
        &self,
        request: &RangeRequest,
        iteration: u32,
        snapshot: bool,
    ) -> KvResult<RangeChunk> {
        self.inner.read_fault()?;
        self.with_view(|state| self.read_range(state, request, iteration, snapshot))
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        self.write(key, Some(value), |state| {
            state.size += (2 * key.len() + 1 + value.len()) as u64 + MUTATION_OVERHEAD;
            state
                .mutations
                .push(Mutation::Set(key.to_vec(), value.to_vec()));
            state.add_write_conflict(KeyRange::single(key));
        });
    }

    fn clear(&self, key: &[u8]) {
        self.write(key, None, |state| {
            state.size += (2 * key.len() + 1) as u64 + MUTATION_OVERHEAD;
            state.mutations.push(Mutation::Clear(key.to_vec()));
            state.add_write_conflict(KeyRange::single(key));
        });
    }

    fn clear_range(&self, begin: &[u8], end: &[u8]) {
        let mut state = lock(&self.state);
        if begin > end {
            state.defer(ErrorCodeOnly(code::INVERTED_RANGE));
            return;
        }
        if begin > SYSTEM_KEYSPACE_BEGIN || end > SYSTEM_KEYSPACE_BEGIN {
            state.defer(ErrorCodeOnly(code::KEY_OUTSIDE_LEGAL_RANGE));
            return;
        }
        let range = KeyRange::new(begin, end);
        if range.is_empty() {
            return;
        }
        state.size += range.expected_size() + MUTATION_OVERHEAD;
        state.mutations.push(Mutation::ClearRange(range.clone()));
        state.add_write_conflict(range);
    }

    fn atomic_op(&self, key: &[u8], param: &[u8], op: AtomicOp) {
        let mut state = lock(&self.state);
        let stamped_key = op == AtomicOp::SetVersionstampedKey;
        let checked_key = if stamped_key {
            keys::split_versionstamp_param(key).map(|(body, _)| body)
        } else {
            Some(key)
        };
        let stamped_param = op == AtomicOp::SetVersionstampedValue;
        let checked_param = if stamped_param {
            keys::split_versionstamp_param(param).map(|(body, _)| body)
        } else {
            Some(param)
        };
        let (Some(checked_key), Some(checked_param)) = (checked_key, checked_param) else {
            state.defer(ErrorCodeOnly(code::CLIENT_INVALID_OPERATION));
            return;
        };
        if let Err(error) = validate_write_key(checked_key).and(validate_value(checked_param)) {
            state.defer(error);
            return;
        }
        state.size += (2 * key.len() + 1 + param.len()) as u64 + MUTATION_OVERHEAD;
        match op {
            AtomicOp::SetVersionstampedKey => {
                let read_version = state.view.as_ref().map_or(0, |view| view.version);
                if let Some((begin, end)) = keys::versionstamp_key_conflict_range(key, read_version)
                {
                    let range = KeyRange::new(begin, end);
                    state.overlay.mark_unreadable_range(range.clone());
                    state.add_write_conflict(range);
                }
            }
            _ => state.add_write_conflict(KeyRange::single(key)),
        }
        state
            .mutations
            .push(Mutation::Atomic(key.to_vec(), param.to_vec(), op));
    }

    fn add_conflict_range(&self, begin: &[u8], end: &[u8], kind: ConflictKind) -> KvResult<()> {
        if begin > end {
            return Err(KvError::from_code(code::INVERTED_RANGE));
        }
        if begin > SYSTEM_KEYSPACE_BEGIN || end > SYSTEM_KEYSPACE_BEGIN {
            return Err(KvError::from_code(code::KEY_OUTSIDE_LEGAL_RANGE));
        }
        let mut state = lock(&self.state);
        let range = KeyRange::new(begin, end);
        match kind {
            // An explicit read conflict counts as a read of the range, so keys this transaction
            // already wrote independently are exempt (FDB developer guide, "Conflict ranges").
            ConflictKind::Read => state.add_read_conflict_except_own(range),
            ConflictKind::Write => {
                state.skip_next_write_conflict = false;
                state.add_write_conflict(range);
            }
        }
        Ok(())
    }

    fn get_versionstamp(&self) -> impl Future<Output = KvResult<[u8; 10]>> + Send + 'static {
        let (sender, receiver) = oneshot::channel();
        lock(&self.state).stamp_waiters.push(sender);
        async move {
            receiver
                .await
                .unwrap_or_else(|_| Err(KvError::from_code(code::TRANSACTION_CANCELLED)))
        }
    }

    async fn get_approximate_size(&self) -> KvResult<u64> {
        let state = lock(&self.state);
        state.check_usable()?;
        Ok(state.size)
    }

    async fn commit(self) -> Result<Committed, CommitFailed<Self>> {
        let (reply, outcome) = oneshot::channel();
        let request = match self.take_commit_request(reply) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(Committed { version: -1 }),
            Err(error) => {
                self.notify_stamp_waiters(&Err(error.clone()));
                return Err(CommitFailed { error, tx: self });
            }
        };
        let outcome = match self.inner.submit(request) {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(KvError::internal("commit thread dropped the commit"))),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(done) => {
                self.notify_stamp_waiters(&Ok(done.versionstamp));
                Ok(Committed {
                    version: done.version,
                })
            }
            Err(error) => {
                self.notify_stamp_waiters(&Err(error.clone()));
                Err(CommitFailed { error, tx: self })
            }
        }
    }

    async fn on_error(self, error: KvError) -> KvResult<Self> {
        let mut persistent = lock(&self.state).persistent;
        if !error.is_retryable() {
            return Err(error);
        }
        if persistent
            .retry_limit
            .is_some_and(|limit| persistent.retries >= limit)
        {
            return Err(error);
        }
        // Jittered exponential backoff, as FDB's on_error does.
        let delay = persistent
            .backoff
            .mul_f64(rand::rng().random_range(0.5..1.0));
        tokio::time::sleep(delay).await;
        persistent.retries += 1;
        persistent.backoff = (persistent.backoff * 2).min(MAX_BACKOFF);
        *lock(&self.state) = TxState::new(persistent);
        Ok(self)
    }
}
