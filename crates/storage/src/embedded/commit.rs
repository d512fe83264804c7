//! The commit thread: FDB's commit proxy and resolver, in one thread.
//!
//! Requests that arrive while a group is being written form the next group. For each request in
//! arrival order: check its age, resolve its read-conflict ranges against the write-conflict
//! ranges of every commit newer than its read version (including earlier requests of the same
//! group), then apply its mutations to the group's view of the newest state. The whole group is
//! one fjall batch with one fsync; only after it is durable are versions published and commits
//! acknowledged.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, mpsc};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use fjall::{Database, Keyspace, PersistMode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;

use super::tx::MAX_TRANSACTION_AGE;
use super::{
    EmbeddedOptions, FaultConfig, LAST_VERSION_KEY, ReadView, Shared, lock, storage_error,
};
use crate::atomic;
use crate::error::{KvError, KvResult, code};
use crate::keys;
use crate::kv::AtomicOp;
use crate::ranges::{self, KeyRange};

/// Most bytes of mutations merged into one group (each transaction is at most 10 MB).
const MAX_GROUP_BYTES: u64 = 32 * 1024 * 1024;

/// One buffered write, applied in order at commit.
#[derive(Debug, Clone)]
pub(super) enum Mutation {
    Set(Vec<u8>, Vec<u8>),
    Clear(Vec<u8>),
    ClearRange(KeyRange),
    Atomic(Vec<u8>, Vec<u8>, AtomicOp),
}

pub(super) struct CommitRequest {
    pub(super) view: ReadView,
    pub(super) read_conflicts: Vec<KeyRange>,
    pub(super) write_conflicts: Vec<KeyRange>,
    pub(super) mutations: Vec<Mutation>,
    pub(super) bytes: u64,
    pub(super) reply: oneshot::Sender<KvResult<CommitOutcome>>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct CommitOutcome {
    pub(super) version: i64,
    pub(super) versionstamp: [u8; 10],
}

/// The write-conflict ranges of one committed group.
struct HistoryEntry {
    version: i64,
    writes: Vec<KeyRange>,
    committed_at: Instant,
}

enum Fault {
    None,
    Retryable(i32),
    UnknownApplied,
    UnknownNotApplied,
}

struct Faults {
    config: FaultConfig,
    rng: StdRng,
}

impl Faults {
    fn roll(&mut self) -> Fault {
        let draw: f64 = self.rng.random();
        let config = self.config;
        if draw < config.retryable {
            let codes = [
                code::NOT_COMMITTED,
                code::TRANSACTION_TOO_OLD,
                code::PROCESS_BEHIND,
            ];
            return Fault::Retryable(codes[self.rng.random_range(0..codes.len())]);
        }
        if draw < config.retryable + config.unknown_applied {
            return Fault::UnknownApplied;
        }
        if draw < config.retryable + config.unknown_applied + config.unknown_not_applied {
            return Fault::UnknownNotApplied;
        }
        Fault::None
    }
}

pub(super) struct Committer {
    db: Database,
    data: Keyspace,
    meta: Keyspace,
    shared: Arc<Shared>,
    last_version: i64,
    history: VecDeque<HistoryEntry>,
    /// Transactions with a read version below this may have lost history: too old.
    oldest_resolvable: i64,
    sync: bool,
    max_group: usize,
    faults: Option<Faults>,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or(0)
}

/// The group's view of the newest state: its own writes over what is durable.
struct GroupState<'a> {
    data: &'a Keyspace,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl GroupState<'_> {
    fn latest(&self, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        if let Some(value) = self.writes.get(key) {
            return Ok(value.clone());
        }
        self.data
            .get(key)
            .map(|value| value.map(|bytes| bytes.to_vec()))
            .map_err(|error| storage_error("commit read failed", error))
    }

    fn clear_range(&mut self, range: &KeyRange) -> KvResult<()> {
        for guard in self
            .data
            .range(range.begin.as_slice()..range.end.as_slice())
        {
            let key = guard
                .key()
                .map_err(|error| storage_error("commit scan failed", error))?;
            self.writes.insert(key.to_vec(), None);
        }
        for (_, value) in self
            .writes
            .range_mut(range.begin.clone()..range.end.clone())
        {
            *value = None;
        }
        Ok(())
    }

    fn apply(&mut self, mutations: Vec<Mutation>, stamp: &[u8; 10]) -> KvResult<()> {
        for mutation in mutations {
            match mutation {
                Mutation::Set(key, value) => {
                    self.writes.insert(key, Some(value));
                }
                Mutation::Clear(key) => {
                    self.writes.insert(key, None);
                }
                Mutation::ClearRange(range) => self.clear_range(&range)?,
                Mutation::Atomic(key, param, AtomicOp::SetVersionstampedKey) => {
                    let key = keys::fill_versionstamp(&key, stamp)
                        .ok_or_else(|| KvError::from_code(code::CLIENT_INVALID_OPERATION))?;
                    self.writes.insert(key, Some(param));
                }
                Mutation::Atomic(key, param, AtomicOp::SetVersionstampedValue) => {
                    let value = keys::fill_versionstamp(&param, stamp)
                        .ok_or_else(|| KvError::from_code(code::CLIENT_INVALID_OPERATION))?;
                    self.writes.insert(key, Some(value));
                }
                Mutation::Atomic(key, param, op) => {
                    let current = self.latest(&key)?;
                    let next = atomic::apply(op, current.as_deref(), &param);
                    self.writes.insert(key, next);
                }
            }
        }
        Ok(())
    }
}

impl Committer {
    pub(super) fn new(
        db: Database,
        data: Keyspace,
        meta: Keyspace,
        shared: Arc<Shared>,
        last_version: i64,
        options: &EmbeddedOptions,
    ) -> Self {
        Self {
            db,
            data,
            meta,
            shared,
            last_version,
            history: VecDeque::new(),
            oldest_resolvable: last_version,
            sync: options.sync,
            max_group: options.max_group_transactions.max(1),
            faults: options.faults.map(|config| Faults {
                config,
                rng: StdRng::seed_from_u64(config.seed),
            }),
        }
    }

    pub(super) fn run(mut self, requests: mpsc::Receiver<CommitRequest>) {
        while let Ok(first) = requests.recv() {
            let mut bytes = first.bytes;
            let mut group = vec![first];
            while group.len() < self.max_group && bytes < MAX_GROUP_BYTES {
                match requests.try_recv() {
                    Ok(request) => {
                        bytes += request.bytes;
                        group.push(request);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
        tracing::debug!("commit thread stopped");
    }

    fn conflicts(&self, request: &CommitRequest, group_writes: &[KeyRange]) -> bool {
        if request.read_conflicts.is_empty() {
            return false;
        }
        let newer = self
            .history
            .iter()
            .rev()
            .take_while(|entry| entry.version > request.view.version)
            .map(|entry| entry.writes.as_slice())
            .chain(std::iter::once(group_writes));
        for writes in newer {
            if request
                .read_conflicts
                .iter()
                .any(|read| ranges::any_intersects(writes, read))
            {
                return true;
            }
        }
        false
    }

    fn commit_group(&mut self, group: Vec<CommitRequest>) {
        let version = (self.last_version + 1).max(now_micros());
        let mut state = GroupState {
            data: &self.data,
            writes: BTreeMap::new(),
        };
        let mut group_writes: Vec<KeyRange> = Vec::new();
        let mut accepted = Vec::with_capacity(group.len());
        let mut batch_index: u16 = 0;
        for request in group {
            let verdict = if request.view.acquired.elapsed() > MAX_TRANSACTION_AGE
                || request.view.version < self.oldest_resolvable
            {
                Err(code::TRANSACTION_TOO_OLD)
            } else if self.conflicts(&request, &group_writes) {
                Err(code::NOT_COMMITTED)
            } else {
                Ok(())
            };
            if let Err(error_code) = verdict {
                let _ = request.reply.send(Err(KvError::from_code(error_code)));
                continue;
            }
            let fault = self.faults.as_mut().map_or(Fault::None, Faults::roll);
            match fault {
                Fault::Retryable(error_code) => {
                    let _ = request.reply.send(Err(KvError::from_code(error_code)));
                    continue;
                }
                Fault::UnknownNotApplied => {
                    let _ = request
                        .reply
                        .send(Err(KvError::from_code(code::COMMIT_UNKNOWN_RESULT)));
                    continue;
                }
                Fault::None | Fault::UnknownApplied => {}
            }
            let mut stamp = [0u8; 10];
            stamp[..8].copy_from_slice(&version.to_be_bytes());
            stamp[8..].copy_from_slice(&batch_index.to_be_bytes());
            batch_index = batch_index.wrapping_add(1);
            let CommitRequest {
                view,
                write_conflicts,
                mutations,
                reply,
                ..
            } = request;
            if let Err(error) = state.apply(mutations, &stamp) {
                let _ = reply.send(Err(error));
                continue;
            }
            group_writes.extend(write_conflicts);
            group_writes = ranges::coalesce(group_writes);
            let unknown = matches!(fault, Fault::UnknownApplied);
            accepted.push((reply, stamp, unknown, view));
        }
        if accepted.is_empty() {
            return;
        }
        let writes = std::mem::take(&mut state.writes);
        if let Err(error) = self.write_durably(writes, version) {
            tracing::error!(%error, "embedded commit failed; the group's outcome is unknown");
            for (reply, ..) in accepted {
                let _ = reply.send(Err(error.clone()));
            }
            return;
        }
        self.last_version = version;
        {
            let mut published = lock(&self.shared.published);
            published.version = version;
            published.seqno = self.db.visible_seqno();
        }
        self.history.push_back(HistoryEntry {
            version,
            writes: group_writes,
            committed_at: Instant::now(),
        });
        self.prune_history();
        for (reply, versionstamp, unknown, _view) in accepted {
            let outcome = if unknown {
                Err(KvError::from_code(code::COMMIT_UNKNOWN_RESULT))
            } else {
                Ok(CommitOutcome {
                    version,
                    versionstamp,
                })
            };
            let _ = reply.send(outcome);
        }
    }

    fn write_durably(
        &self,
        writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
        version: i64,
    ) -> KvResult<()> {
        let mut batch = self.db.batch();
        for (key, value) in writes {
            match value {
                Some(value) => batch.insert(&self.data, key, value),
                None => batch.remove(&self.data, key),
            }
        }
        batch.insert(&self.meta, LAST_VERSION_KEY, version.to_be_bytes().to_vec());
        let mode = if self.sync {
            PersistMode::SyncData
        } else {
            PersistMode::Buffer
        };
        batch
            .durability(Some(mode))
            .commit()
            .map_err(|error| storage_error("durable write failed", error))
    }

    /// Drops history no live transaction can conflict with: older than every live reader, or
    /// older than the 5 s transaction lifetime (whose readers are rejected as too old).
    fn prune_history(&mut self) {
        let oldest_reader = lock(&self.shared.live_readers).keys().next().copied();
        while let Some(entry) = self.history.front() {
            let unneeded = oldest_reader.is_none_or(|reader| entry.version <= reader);
            let expired = entry.committed_at.elapsed() > MAX_TRANSACTION_AGE;
            if !(unneeded || expired) {
                break;
            }
            if expired && !unneeded {
                self.oldest_resolvable = self.oldest_resolvable.max(entry.version);
            }
            self.history.pop_front();
        }
    }
}
