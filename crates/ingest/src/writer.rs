//! The group-commit writer: requests that arrive while earlier commits are in flight are merged
//! into one transaction, with one block per series (and bucket), and each request is
//! acknowledged only after that transaction is durably committed.
//!
//! Per request, in the transaction: resolve the database (created on first write unless
//! configured otherwise), replay the request if its idempotency key is already recorded, check
//! every field's type against the catalog (first writes record it), resolve series ids (first
//! sight writes the series record and postings), then append its rows to the group's blocks.
//! The transaction also records each idempotency key and a group marker; a retry after
//! `commit_unknown_result` finds the marker and returns the first attempt's outcome instead of
//! writing twice. Catalog and series knowledge is cached only after a commit succeeds, so the
//! steady-state write path does no reads at all.

mod blocks;
mod cache;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidemark_storage::keys::pack;
use tidemark_storage::tsdb::{FieldType, Layout, SchemaError, TenantId, now_nanos};
use tidemark_storage::{KvDatabase, KvTransaction, MaybeCommitted, RunOptions, run};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{IngestError, LineError};
use crate::lp::Point;
use blocks::GroupBlocks;
use cache::{Cache, Learned};

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Most points merged into one transaction (keeps it well under FDB's 10 MB and 5 s).
    pub max_group_points: usize,
    /// Transactions committing at once.
    pub max_in_flight: usize,
    /// Requests waiting for a group; beyond this, writes are refused as overloaded.
    pub queue_depth: usize,
    /// Create a database on its first write.
    pub create_databases: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            max_group_points: 50_000,
            max_in_flight: 4,
            queue_depth: 4_096,
            create_databases: true,
        }
    }
}

/// One request's points.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// Database (tenant) name.
    pub database: String,
    /// The parsed points.
    pub points: Vec<Point>,
    /// Optional client-chosen key: a repeated request with the same key is not written again.
    pub idempotency_key: Option<String>,
}

/// What happened to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Points written durably.
    pub written: usize,
    /// Lines refused at commit (field type conflicts); their `original` is empty.
    pub rejected: Vec<LineError>,
    /// The idempotency key was already recorded: nothing was written this time.
    pub replayed: bool,
}

type Reply = oneshot::Sender<Result<WriteOutcome, IngestError>>;

struct Pending {
    request: WriteRequest,
    reply: Reply,
}

/// Counters of a writer, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub groups: AtomicU64,
    /// Requests acknowledged.
    pub requests: AtomicU64,
    /// Points written.
    pub points: AtomicU64,
    /// Groups that failed.
    pub failed_groups: AtomicU64,
}

/// Handle to the group-commit writer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    queue: mpsc::Sender<Pending>,
    stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer's task on the current Tokio runtime.
    pub fn start<D: KvDatabase>(db: D, layout: Layout, config: WriterConfig) -> Self {
        let (queue, receiver) = mpsc::channel(config.queue_depth.max(1));
        let stats = Arc::new(WriterStats::default());
        tokio::spawn(form_groups(
            db,
            Arc::new(layout),
            config,
            receiver,
            Arc::clone(&stats),
        ));
        Self { queue, stats }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Writes a request; returns once its points are durable (or refused).
    pub async fn write(&self, request: WriteRequest) -> Result<WriteOutcome, IngestError> {
        if request.points.is_empty() && request.idempotency_key.is_none() {
            return Ok(WriteOutcome::default());
        }
        let (reply, outcome) = oneshot::channel();
        self.queue
            .try_send(Pending { request, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => IngestError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => IngestError::ShuttingDown,
            })?;
        outcome.await.map_err(|_| IngestError::ShuttingDown)?
    }
}

async fn form_groups<D: KvDatabase>(
    db: D,
    layout: Arc<Layout>,
    config: WriterConfig,
    mut receiver: mpsc::Receiver<Pending>,
    stats: Arc<WriterStats>,
) {
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let cache = Arc::new(Cache::default());
    while let Some(first) = receiver.recv().await {
        // Waiting for a commit slot first lets requests pile up into the next group.
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let mut points = first.request.points.len();
        let mut group = vec![first];
        while points < config.max_group_points {
            match receiver.try_recv() {
                Ok(next) => {
                    points += next.request.points.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let db = db.clone();
        let layout = Arc::clone(&layout);
        let cache = Arc::clone(&cache);
        let create = config.create_databases;
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            commit_group(db, layout, cache, group, create, &stats).await;
            drop(permit);
        });
    }
}

/// The data one group's transaction attempts share.
struct Group {
    requests: Vec<WriteRequest>,
    id: u128,
    hour: i64,
    create_databases: bool,
    /// The outcome of the last attempt, returned as is if a retry finds the group committed.
    last_attempt: Mutex<Option<Vec<Result<WriteOutcome, IngestError>>>>,
}

struct Attempt {
    outcomes: Vec<Result<WriteOutcome, IngestError>>,
    learned: Learned,
}

const HOUR_NANOS: i64 = 3_600_000_000_000;
/// Commit markers older than this many hours are cleared.
const MARKER_HOURS: i64 = 3;

async fn commit_group<D: KvDatabase>(
    db: D,
    layout: Arc<Layout>,
    cache: Arc<Cache>,
    pending: Vec<Pending>,
    create: bool,
    stats: &WriterStats,
) {
    let (requests, replies): (Vec<WriteRequest>, Vec<Reply>) = pending
        .into_iter()
        .map(|pending| (pending.request, pending.reply))
        .unzip();
    let now = now_nanos();
    let group = Arc::new(Group {
        requests,
        id: rand::random(),
        hour: now - now.rem_euclid(HOUR_NANOS),
        create_databases: create,
        last_attempt: Mutex::new(None),
    });
    let started = std::time::Instant::now();
    let result = run(
        &db,
        RunOptions {
            idempotent: true,
            timeout: Some(Duration::from_secs(30)),
            ..RunOptions::default()
        },
        {
            let group = Arc::clone(&group);
            let layout = Arc::clone(&layout);
            let cache = Arc::clone(&cache);
            move |tx, maybe_committed| {
                let group = Arc::clone(&group);
                let layout = Arc::clone(&layout);
                let cache = Arc::clone(&cache);
                Box::pin(async move { attempt(tx, &group, &layout, &cache, maybe_committed).await })
            }
        },
    )
    .await;
    // Includes retries: the latency a writer's caller waits for its acknowledgement.
    metrics::histogram!("tidemark_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    match result {
        Ok(attempt) => {
            cache.learn(attempt.learned);
            metrics::counter!("tidemark_commit_groups_total").increment(1);
            stats.groups.fetch_add(1, Ordering::Relaxed);
            stats
                .requests
                .fetch_add(replies.len() as u64, Ordering::Relaxed);
            let points: usize = attempt
                .outcomes
                .iter()
                .flatten()
                .map(|outcome| outcome.written)
                .sum();
            stats.points.fetch_add(points as u64, Ordering::Relaxed);
            for (reply, outcome) in replies.into_iter().zip(attempt.outcomes) {
                let _ = reply.send(outcome);
            }
        }
        Err(error) => {
            tracing::warn!(%error, requests = replies.len(), "write group failed");
            metrics::counter!("tidemark_commit_failures_total").increment(1);
            stats.failed_groups.fetch_add(1, Ordering::Relaxed);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

async fn attempt<T: KvTransaction>(
    tx: &T,
    group: &Group,
    layout: &Layout,
    cache: &Cache,
    maybe_committed: MaybeCommitted,
) -> Result<Attempt, IngestError> {
    let marker = layout.commit_marker(group.hour, group.id);
    if maybe_committed.0 && tx.get(&marker, false).await?.is_some() {
        // The earlier attempt committed; its outcome stands.
        let outcomes = lock(&group.last_attempt).take().unwrap_or_default();
        return Ok(Attempt {
            outcomes,
            learned: Learned::default(),
        });
    }
    let mut learned = Learned::default();
    let mut blocks = GroupBlocks::default();
    let mut outcomes = Vec::with_capacity(group.requests.len());
    for request in &group.requests {
        let outcome = write_request(
            tx,
            layout,
            cache,
            &mut learned,
            &mut blocks,
            request,
            group.create_databases,
        )
        .await?;
        outcomes.push(outcome);
    }
    blocks.write(tx, layout);
    tx.set(&marker, b"");
    if group.id.is_multiple_of(64) {
        // Now and then, clear markers old enough that no retry can still look for them.
        let (begin, end) = layout.commit_markers_before(group.hour - MARKER_HOURS * HOUR_NANOS);
        tx.clear_range(&begin, &end);
    }
    *lock(&group.last_attempt) = Some(outcomes.clone());
    Ok(Attempt { outcomes, learned })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn field_type(value: &tidemark_storage::tsdb::DataPoint) -> FieldType {
    use tidemark_storage::tsdb::DataPoint;
    match value {
        DataPoint::F64(_) => FieldType::Float,
        DataPoint::I64(_) => FieldType::Integer,
        DataPoint::U64(_) => FieldType::UInteger,
        DataPoint::Bool(_) => FieldType::Boolean,
        DataPoint::Str(_) => FieldType::String,
    }
}

/// Checks a database name: it becomes a tenant name, so keep it printable and bounded.
fn validate_database(name: &str) -> Result<(), IngestError> {
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

async fn resolve_tenant<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    cache: &Cache,
    learned: &mut Learned,
    name: &str,
    create: bool,
) -> Result<Option<TenantId>, IngestError> {
    if let Some(id) = cache
        .tenant(name)
        .or_else(|| learned.tenants.get(name).copied())
    {
        return Ok(Some(id));
    }
    validate_database(name)?;
    let id = if create {
        Some(layout.create_tenant(tx, name).await?)
    } else {
        layout.tenant_id(tx, name).await?
    };
    if let Some(id) = id {
        learned.tenants.insert(name.to_owned(), id);
    }
    Ok(id)
}

/// Checks a point's fields against the catalog through `learned` and storage: the path for
/// fields this writer has not confirmed yet. Returns the first conflicting field and its type.
async fn slow_field_check<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    cache: &Cache,
    learned: &mut Learned,
    tenant: TenantId,
    point: &Point,
    types: &[FieldType],
) -> Result<Option<(usize, Option<FieldType>)>, IngestError> {
    let measurement = &point.series.measurement;
    for (index, ((field, _), wanted)) in point.fields.iter().zip(types).enumerate() {
        let cached = cache
            .field(tenant, measurement, field)
            .or_else(|| learned.field(tenant, measurement, field));
        let known = match cached {
            Some(known) => known,
            None => {
                let stored = layout.field_type(tx, tenant, measurement, field).await?;
                let known = stored.unwrap_or_else(|| {
                    layout.set_field_type(tx, tenant, measurement, field, *wanted);
                    *wanted
                });
                learned.add_field(tenant, measurement, field, known);
                known
            }
        };
        if known != *wanted {
            return Ok(Some((index, Some(known))));
        }
    }
    Ok(None)
}

async fn write_request<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    cache: &Cache,
    learned: &mut Learned,
    blocks: &mut GroupBlocks,
    request: &WriteRequest,
    create: bool,
) -> Result<Result<WriteOutcome, IngestError>, IngestError> {
    let tenant = match resolve_tenant(tx, layout, cache, learned, &request.database, create).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return Ok(Err(IngestError::DatabaseNotFound(request.database.clone()))),
        Err(IngestError::InvalidDatabase(name, reason)) => {
            return Ok(Err(IngestError::InvalidDatabase(name, reason)));
        }
        Err(other) => return Err(other),
    };
    if let Some(key) = &request.idempotency_key
        && let Some(record) = tx.get(&layout.idempotency(tenant, key), false).await?
    {
        let written =
            tidemark_storage::keys::unpack::<(u64,)>(&record).map_or(0, |(count,)| count as usize);
        return Ok(Ok(WriteOutcome {
            written,
            rejected: Vec::new(),
            replayed: true,
        }));
    }
    let mut outcome = WriteOutcome::default();
    'points: for point in &request.points {
        let types: Vec<FieldType> = point
            .fields
            .iter()
            .map(|(_, value)| field_type(value))
            .collect();
        let measurement = &point.series.measurement;
        // Fast path: every field confirmed by an earlier commit, checked under one lock.
        let conflict = match cache.check_fields_of(tenant, measurement, &point.fields, &types) {
            Some(None) => None,
            Some(Some(index)) => Some((
                index,
                cache.field(tenant, measurement, &point.fields[index].0),
            )),
            None => slow_field_check(tx, layout, cache, learned, tenant, point, &types).await?,
        };
        if let Some((index, existing)) = conflict {
            let conflict = SchemaError {
                measurement: measurement.clone(),
                field: point.fields[index].0.clone(),
                existing: existing.map_or("another type", FieldType::name),
                attempted: types[index].name(),
            };
            outcome.rejected.push(LineError {
                line: point.line,
                message: conflict.to_string(),
                original: String::new(),
            });
            continue 'points;
        }
        let series = match cache
            .series(tenant, &point.series)
            .or_else(|| learned.series.get(&(tenant, point.series.clone())).copied())
        {
            Some(series) => series,
            None => {
                let (series, _) = layout.resolve_series(tx, tenant, &point.series).await?;
                learned
                    .series
                    .insert((tenant, point.series.clone()), series);
                series
            }
        };
        blocks.append(tenant, series, point);
        outcome.written += 1;
    }
    if let Some(key) = &request.idempotency_key {
        tx.set(
            &layout.idempotency(tenant, key),
            &pack(&(outcome.written as u64,)),
        );
    }
    Ok(Ok(outcome))
}
