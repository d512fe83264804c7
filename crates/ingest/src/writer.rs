//! The group-commit writer: requests that arrive while earlier commits are in flight are merged
//! into one transaction, with one block per series (and bucket), and each request is
//! acknowledged only after that transaction is durably committed.
//!
//! A request is first prepared on its caller's task ([`prepare`]): its tenant, field types and
//! series ids come from bounded caches, and what they lack is read from or written to the
//! catalog in index transactions of its own. The prepared request (split into parts when it is
//! big, so no transaction nears FDB's limits) then joins a group. A group's transaction writes
//! blind versionstamped blocks, the idempotency keys of its requests (a repeated key is replayed,
//! not written again), and a group marker: a retry after `commit_unknown_result` finds the
//! marker and returns the first attempt's outcome instead of writing twice.
//!
//! One request's fault stays its own: sizes are checked before grouping, and a group that fails
//! for a reason retrying cannot fix is retried request by request, so only the offender fails.

mod blocks;
mod cache;
mod prepare;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tidemark_storage::keys::pack;
use tidemark_storage::tsdb::{DataPoint, FieldType, Layout, TenantId, now_nanos};
use tidemark_storage::{KvDatabase, KvTransaction, MaybeCommitted, RunOptions, run};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::batch::SeriesRows;
use crate::error::{IngestError, LineError};
use crate::limits::{IngestLimits, refused};
use blocks::GroupBlocks;
pub use cache::CacheBudgets;
use cache::Caches;
use prepare::{Context, Prepared, prepare};

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Most field values merged into one transaction (keeps it well under FDB's 10 MB and 5 s).
    pub max_group_points: usize,
    /// Most bytes (of rows in memory, an upper bound of what is stored) in one transaction.
    pub max_group_bytes: usize,
    /// Transactions committing at once.
    pub max_in_flight: usize,
    /// Parts waiting for a group; beyond this, writes are refused as overloaded.
    pub queue_depth: usize,
    /// Bytes of requests being prepared, waiting or committing; beyond this, writes are
    /// refused as overloaded (503, retried by every agent).
    pub max_queue_bytes: usize,
    /// Create a database on its first write.
    pub create_databases: bool,
    /// How long one write may wait on storage (retries and an unreachable cluster included)
    /// before it fails as unavailable (503, retried by agents).
    pub write_timeout: Duration,
    /// Bounds on what a write may contain.
    pub limits: IngestLimits,
    /// Budgets of the writer's caches.
    pub caches: CacheBudgets,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_group_points: 50_000,
            max_group_bytes: 4 << 20,
            max_in_flight: 4,
            queue_depth: 4_096,
            max_queue_bytes: 256 << 20,
            create_databases: true,
            write_timeout: Duration::from_secs(30),
            limits: IngestLimits::default(),
            caches: CacheBudgets::default(),
        }
    }
}

/// One request's rows.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// Database (tenant) name.
    pub database: String,
    /// The rows, by series.
    pub series: Vec<SeriesRows>,
    /// Optional client-chosen key: a repeated request with the same key is not written again.
    pub idempotency_key: Option<String>,
}

/// What happened to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Points (rows) written durably.
    pub written: usize,
    /// Lines refused after parsing (field type conflicts, limits); their `original` is empty.
    pub rejected: Vec<LineError>,
    /// The idempotency key was already recorded: nothing was written this time.
    pub replayed: bool,
}

/// Counters of a writer, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub groups: AtomicU64,
    /// Request parts acknowledged.
    pub requests: AtomicU64,
    /// Points written.
    pub points: AtomicU64,
    /// Groups that failed.
    pub failed_groups: AtomicU64,
}

type PartResult = Result<PartOutcome, IngestError>;

/// What one part's commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PartOutcome {
    written: usize,
    replayed: bool,
}

/// A prepared part of a request, as it waits for and joins a group.
struct Part {
    prepared: Prepared,
    /// Record the idempotency key with this part (the last one of its request).
    record_key: bool,
    bytes: usize,
}

struct Pending {
    part: Part,
    reply: oneshot::Sender<PartResult>,
}

/// The writer's work that depends on the storage backend, behind one object so [`Writer`]
/// stays a plain handle.
trait Core: Send + Sync {
    fn prepare(&self, request: WriteRequest) -> BoxFuture<'_, Result<Prepared, IngestError>>;
    /// Forgets the cached id of a database found deleted at commit.
    fn forget_tenant(&self, name: &str);
}

struct Backend<D> {
    db: D,
    layout: Arc<Layout>,
    caches: Arc<Caches>,
    config: WriterConfig,
}

impl<D: KvDatabase> Core for Backend<D> {
    fn prepare(&self, request: WriteRequest) -> BoxFuture<'_, Result<Prepared, IngestError>> {
        Box::pin(async move {
            let context = Context {
                db: &self.db,
                layout: &self.layout,
                caches: &self.caches,
                limits: &self.config.limits,
                create_databases: self.config.create_databases,
                timeout: self.config.write_timeout,
            };
            prepare(&context, request).await
        })
    }

    fn forget_tenant(&self, name: &str) {
        self.caches.forget_tenant(name);
    }
}

/// Handle to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Pending>,
    stats: Arc<WriterStats>,
    core: Arc<dyn Core>,
    budget: Arc<Semaphore>,
    config: Arc<WriterConfig>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The queue budget counts kibibytes (a semaphore counts in `u32`).
fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl Writer {
    /// Starts the writer's task on the current Tokio runtime.
    pub fn start<D: KvDatabase>(db: D, layout: Layout, config: WriterConfig) -> Self {
        let (queue, receiver) = mpsc::channel(config.queue_depth.max(1));
        let stats = Arc::new(WriterStats::default());
        let layout = Arc::new(layout);
        let caches = Arc::new(Caches::new(config.caches));
        tokio::spawn(form_groups(
            db.clone(),
            Arc::clone(&layout),
            config.clone(),
            receiver,
            Arc::clone(&stats),
        ));
        let budget = Arc::new(Semaphore::new(kib(config.max_queue_bytes).max(1) as usize));
        Self {
            queue,
            stats,
            core: Arc::new(Backend {
                db,
                layout,
                caches,
                config: config.clone(),
            }),
            budget,
            config: Arc::new(config),
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Forgets what this writer knows of `database`'s id (it was deleted): the next write
    /// reads the name again. Other nodes notice within a couple of seconds on their own.
    pub fn forget_database(&self, database: &str) {
        self.core.forget_tenant(database);
    }

    /// The bounds writes are checked against.
    pub fn limits(&self) -> &IngestLimits {
        &self.config.limits
    }

    /// Writes a request; returns once its points are durable (or refused).
    pub async fn write(&self, request: WriteRequest) -> Result<WriteOutcome, IngestError> {
        if request.series.is_empty() && request.idempotency_key.is_none() {
            return Ok(WriteOutcome::default());
        }
        let bytes: usize = request.series.iter().map(SeriesRows::memory_bytes).sum();
        let _permit = self.admit(bytes)?;
        let prepared = self.core.prepare(request).await?;
        let mut outcome = WriteOutcome {
            rejected: prepared.rejected.clone(),
            ..WriteOutcome::default()
        };
        let parts = split(
            prepared,
            self.config.max_group_points,
            self.config.max_group_bytes,
        );
        // Parts commit one after the other: the last one records the idempotency key, so a
        // recorded key means every part is durable.
        for part in parts {
            let (reply, result) = oneshot::channel();
            self.queue
                .try_send(Pending { part, reply })
                .map_err(|error| match error {
                    mpsc::error::TrySendError::Full(_) => IngestError::Overloaded,
                    mpsc::error::TrySendError::Closed(_) => IngestError::ShuttingDown,
                })?;
            let done = match result.await.map_err(|_| IngestError::ShuttingDown)? {
                Ok(done) => done,
                Err(error) => {
                    if let IngestError::DatabaseNotFound(name) = &error {
                        // Deleted since its id was cached: the next write looks it up again.
                        self.core.forget_tenant(name);
                    }
                    return Err(error);
                }
            };
            outcome.written += done.written;
            if done.replayed {
                outcome.replayed = true;
                break;
            }
        }
        Ok(outcome)
    }

    /// Reserves room for a request of `bytes` in the writer's memory budget.
    fn admit(&self, bytes: usize) -> Result<OwnedSemaphorePermit, IngestError> {
        let wanted = kib(bytes).max(1);
        if wanted as usize > self.budget_size() {
            refused("writer_queue_bytes");
            return Err(IngestError::TooLarge(format!(
                "the request needs {bytes} bytes of writer memory; the budget is {} \
                 (max_queue_bytes)",
                self.config.max_queue_bytes
            )));
        }
        Arc::clone(&self.budget)
            .try_acquire_many_owned(wanted)
            .map_err(|_| {
                refused("writer_queue_bytes");
                IngestError::Overloaded
            })
    }

    fn budget_size(&self) -> usize {
        kib(self.config.max_queue_bytes).max(1) as usize
    }
}

/// What a series' rows cost a transaction, in bytes: their values, plus a key, a block header
/// and a dirty marker for each bucket they fall in (a request whose rows are years apart
/// writes a block per row).
const BUCKET_COST: usize = 256;

fn transaction_cost(rows: &SeriesRows) -> usize {
    let mut buckets: Vec<i64> = rows
        .times
        .iter()
        .map(|time| tidemark_storage::tsdb::bucket_start(*time))
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    rows.memory_bytes() + buckets.len() * BUCKET_COST
}

/// Splits a prepared request into parts of at most `max_values` field values and `max_bytes`
/// bytes of transaction cost (a series bigger than a part is cut by rows); the last part
/// records the key.
fn split(prepared: Prepared, max_values: usize, max_bytes: usize) -> Vec<Part> {
    let Prepared {
        tenant,
        database,
        series,
        idempotency_key,
        ..
    } = prepared;
    let new_part = || Prepared {
        tenant,
        database: database.clone(),
        series: Vec::new(),
        rejected: Vec::new(),
        idempotency_key: idempotency_key.clone(),
    };
    let mut parts = Vec::new();
    let mut current = new_part();
    let (mut values, mut bytes) = (0, 0);
    for (id, rows) in series {
        for piece in cut(rows, max_values.max(1), max_bytes.max(1)) {
            let (piece_values, piece_bytes) = (piece.values(), transaction_cost(&piece));
            if !current.series.is_empty()
                && (values + piece_values > max_values || bytes + piece_bytes > max_bytes)
            {
                parts.push(Part {
                    prepared: std::mem::replace(&mut current, new_part()),
                    record_key: false,
                    bytes,
                });
                (values, bytes) = (0, 0);
            }
            values += piece_values;
            bytes += piece_bytes;
            current.series.push((id, piece));
        }
    }
    parts.push(Part {
        prepared: current,
        record_key: true,
        bytes,
    });
    parts
}

/// One series' rows in pieces of at most `max_values` values and about `max_bytes` bytes.
fn cut(rows: SeriesRows, max_values: usize, max_bytes: usize) -> Vec<SeriesRows> {
    let (values, bytes, count) = (rows.values(), transaction_cost(&rows), rows.rows());
    if (values <= max_values && bytes <= max_bytes) || count <= 1 {
        return vec![rows];
    }
    let pieces = (values.div_ceil(max_values))
        .max(bytes.div_ceil(max_bytes))
        .max(2);
    let per_piece = count.div_ceil(pieces).max(1);
    (0..count)
        .step_by(per_piece)
        .map(|start| rows.retain_rows(|row| (start..start + per_piece).contains(&row)))
        .collect()
}

async fn form_groups<D: KvDatabase>(
    db: D,
    layout: Arc<Layout>,
    config: WriterConfig,
    mut receiver: mpsc::Receiver<Pending>,
    stats: Arc<WriterStats>,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    while let Some(first) = receiver.recv().await {
        // Waiting for a commit slot first lets requests pile up into the next group.
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let mut values = first.part.prepared.points();
        let mut bytes = first.part.bytes;
        let mut group = vec![first];
        while values < config.max_group_points && bytes < config.max_group_bytes {
            match receiver.try_recv() {
                Ok(next) => {
                    values += next.part.prepared.points();
                    bytes += next.part.bytes;
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let db = db.clone();
        let layout = Arc::clone(&layout);
        let stats = Arc::clone(&stats);
        let timeout = config.write_timeout;
        tokio::spawn(async move {
            commit_group(db, layout, group, &stats, timeout).await;
            drop(permit);
        });
    }
}

/// The data one group's transaction attempts share.
struct Group {
    parts: Vec<Part>,
    id: u128,
    hour: i64,
    /// The outcome of the last attempt, returned as is if a retry finds the group committed.
    last_attempt: Mutex<Option<Vec<PartOutcome>>>,
}

const HOUR_NANOS: i64 = 3_600_000_000_000;
/// Commit markers older than this many hours are cleared.
const MARKER_HOURS: i64 = 3;

async fn commit_group<D: KvDatabase>(
    db: D,
    layout: Arc<Layout>,
    pending: Vec<Pending>,
    stats: &WriterStats,
    timeout: Duration,
) {
    let (parts, replies): (Vec<Part>, Vec<_>) = pending
        .into_iter()
        .map(|pending| (pending.part, pending.reply))
        .unzip();
    let group = Arc::new(Group {
        parts,
        id: rand::random(),
        hour: {
            let now = now_nanos();
            now - now.rem_euclid(HOUR_NANOS)
        },
        last_attempt: Mutex::new(None),
    });
    let started = std::time::Instant::now();
    let result = commit(&db, &layout, &group, timeout).await;
    // Includes retries: the latency a writer's caller waits for its acknowledgement.
    metrics::histogram!("tidemark_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    let outcomes: Vec<PartResult> = match result {
        Ok(outcomes) => {
            metrics::counter!("tidemark_commit_groups_total").increment(1);
            stats.groups.fetch_add(1, Ordering::Relaxed);
            outcomes.into_iter().map(Ok).collect()
        }
        Err(error) if group.parts.len() > 1 && !error.is_retryable_storage() => {
            // Something in the group cannot commit; find it by committing each part alone.
            tracing::warn!(%error, parts = group.parts.len(), "write group failed; committing its requests one by one");
            let mut singles = Vec::with_capacity(group.parts.len());
            for index in 0..group.parts.len() {
                singles.push(commit_one(&db, &layout, &group, index, stats, timeout).await);
            }
            singles
        }
        Err(error) => {
            tracing::warn!(%error, parts = group.parts.len(), "write group failed");
            metrics::counter!("tidemark_commit_failures_total").increment(1);
            stats.failed_groups.fetch_add(1, Ordering::Relaxed);
            vec![Err(error); group.parts.len()]
        }
    };
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        if let Ok(done) = &outcome {
            stats.requests.fetch_add(1, Ordering::Relaxed);
            stats
                .points
                .fetch_add(done.written as u64, Ordering::Relaxed);
        }
        let _ = reply.send(outcome);
    }
}

/// Commits part `index` of a failed group as a group of its own.
async fn commit_one<D: KvDatabase>(
    db: &D,
    layout: &Arc<Layout>,
    group: &Group,
    index: usize,
    stats: &WriterStats,
    timeout: Duration,
) -> PartResult {
    let part = &group.parts[index];
    let alone = Arc::new(Group {
        parts: vec![Part {
            prepared: Prepared {
                tenant: part.prepared.tenant,
                database: part.prepared.database.clone(),
                series: part.prepared.series.clone(),
                rejected: Vec::new(),
                idempotency_key: part.prepared.idempotency_key.clone(),
            },
            record_key: part.record_key,
            bytes: part.bytes,
        }],
        id: rand::random(),
        hour: group.hour,
        last_attempt: Mutex::new(None),
    });
    match commit(db, layout, &alone, timeout).await {
        Ok(mut outcomes) => {
            stats.groups.fetch_add(1, Ordering::Relaxed);
            Ok(outcomes.pop().unwrap_or_default())
        }
        Err(error) => {
            tracing::warn!(%error, "write request failed");
            metrics::counter!("tidemark_commit_failures_total").increment(1);
            stats.failed_groups.fetch_add(1, Ordering::Relaxed);
            Err(error)
        }
    }
}

async fn commit<D: KvDatabase>(
    db: &D,
    layout: &Arc<Layout>,
    group: &Arc<Group>,
    timeout: Duration,
) -> Result<Vec<PartOutcome>, IngestError> {
    run(
        db,
        RunOptions {
            idempotent: true,
            timeout: Some(timeout),
            ..RunOptions::default()
        },
        |tx, maybe_committed| {
            let (group, layout) = (Arc::clone(group), Arc::clone(layout));
            Box::pin(async move { attempt(tx, &group, &layout, maybe_committed).await })
        },
    )
    .await
}

async fn attempt<T: KvTransaction>(
    tx: &T,
    group: &Group,
    layout: &Layout,
    maybe_committed: MaybeCommitted,
) -> Result<Vec<PartOutcome>, IngestError> {
    let marker = layout.commit_marker(group.hour, group.id);
    if maybe_committed.0 && tx.get(&marker, false).await?.is_some() {
        // The earlier attempt committed; its outcome stands.
        return Ok(lock(&group.last_attempt).take().unwrap_or_default());
    }
    check_tenants(tx, group, layout).await?;
    let mut blocks = GroupBlocks::default();
    let mut outcomes = Vec::with_capacity(group.parts.len());
    for part in &group.parts {
        let prepared = &part.prepared;
        if let Some(key) = &prepared.idempotency_key
            && let Some(record) = tx
                .get(&layout.idempotency(prepared.tenant, key), false)
                .await?
        {
            // What the first attempt wrote, as it recorded it.
            let written = tidemark_storage::keys::unpack::<(u64,)>(&record)
                .map_or(0, |(count,)| count as usize);
            outcomes.push(PartOutcome {
                written,
                replayed: true,
            });
            continue;
        }
        for (series, rows) in &prepared.series {
            blocks.add(prepared.tenant, *series, rows);
        }
        let written = prepared.points();
        if part.record_key
            && let Some(key) = &prepared.idempotency_key
        {
            tx.set(
                &layout.idempotency(prepared.tenant, key),
                &pack(&(written as u64,)),
            );
        }
        outcomes.push(PartOutcome {
            written,
            replayed: false,
        });
    }
    blocks.write(tx, layout);
    tx.set(&marker, b"");
    if group.id.is_multiple_of(64) {
        // Now and then, clear markers old enough that no retry can still look for them.
        let (begin, end) = layout.commit_markers_before(group.hour - MARKER_HOURS * HOUR_NANOS);
        tx.clear_range(&begin, &end);
    }
    *lock(&group.last_attempt) = Some(outcomes.clone());
    Ok(outcomes)
}

/// Checks that every database of the group still names the tenant id its requests were
/// prepared with: a database deleted (and maybe created again) since this node cached its id
/// must not get writes under the dead id. One read per database of the group; a delete that
/// commits meanwhile conflicts with it, and the retry finds the database gone.
async fn check_tenants<T: KvTransaction>(
    tx: &T,
    group: &Group,
    layout: &Layout,
) -> Result<(), IngestError> {
    let mut databases: Vec<(TenantId, &str)> = Vec::new();
    for part in &group.parts {
        let prepared = &part.prepared;
        if !databases
            .iter()
            .any(|(tenant, _)| *tenant == prepared.tenant)
        {
            databases.push((prepared.tenant, &prepared.database));
        }
    }
    let found = futures::future::try_join_all(
        databases
            .iter()
            .map(|(_, database)| layout.tenant_id(tx, database)),
    )
    .await?;
    for ((tenant, database), found) in databases.iter().zip(found) {
        if found != Some(*tenant) {
            return Err(IngestError::DatabaseNotFound((*database).to_owned()));
        }
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The catalog type of a value.
pub(crate) fn field_type(value: &DataPoint) -> FieldType {
    match value {
        DataPoint::F64(_) => FieldType::Float,
        DataPoint::I64(_) => FieldType::Integer,
        DataPoint::U64(_) => FieldType::UInteger,
        DataPoint::Bool(_) => FieldType::Boolean,
        DataPoint::Str(_) => FieldType::String,
    }
}

/// Checks a database name: it becomes a tenant name, so keep it printable and bounded.
pub fn validate_database(name: &str) -> Result<(), IngestError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 256 {
        "it is longer than 256 bytes"
    } else if name.chars().any(char::is_control) {
        "it contains control characters"
    } else {
        return Ok(());
    };
    Err(IngestError::InvalidDatabase(name.to_owned(), reason))
}
