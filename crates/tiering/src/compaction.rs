//! Compaction: one chunk per (series, bucket) instead of one block per write group.
//!
//! Ingest marks every bucket it writes dirty (`(tid, "x", bucket, sid)`). A pass takes the dirty
//! buckets that are sealed (ended at least `seal_after` ago) and, per bucket, in one transaction:
//! reads its blocks (a serializable range read), merges them under the dedup rule (one value per
//! field and time, latest write wins), clears them, writes the chunk, and clears the marker.
//!
//! The chunk is written right after the key of the newest block it consumed (that block's
//! versionstamp extended by a part number), not at a new versionstamp: every block written
//! later sorts after it and still wins, so a pass that stops early (byte budget) never lets old
//! values override newer ones, and a tiering pass clearing up to the last key it read never
//! clears a chunk holding data it did not read. A late write that lands while a
//! compaction reads conflicts with that read, so the compaction retries and includes it; it is
//! never lost. Compactions run at batch priority, one bucket at a time.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tidemark_storage::block::{Block, MAX_BLOCK_BYTES};
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId, merge_blocks, now_nanos};
use tidemark_storage::{
    KvDatabase, KvError, KvTransaction, RangeRequest, RunOptions, StreamingMode, TxOption, run,
};

use crate::supervise::{Coordinator, Job, panic_message, record_failure, run_supervised};

/// Bytes of blocks one compaction transaction reads at most (well under FDB's 10 MB).
const MAX_READ_BYTES: usize = 4 * 1024 * 1024;
/// Dirty markers handled per listing transaction.
const MARKERS_PER_PAGE: usize = 1_000;

/// Why compaction failed.
#[derive(Debug, thiserror::Error)]
pub enum CompactionError {
    /// Storage failed.
    #[error("storage failed during compaction: {0}")]
    Storage(#[from] KvError),
    /// A stored block does not decode.
    #[error("corrupt block in tenant {tenant} series {series:#x} bucket {bucket}: {reason}")]
    Corrupt {
        /// Tenant id.
        tenant: u64,
        /// Series id.
        series: u64,
        /// Bucket start.
        bucket: i64,
        /// The decoder's complaint.
        reason: String,
    },
    /// A tenant's compaction panicked (a bug; the tenant is skipped this pass).
    #[error("compaction panicked: {0}")]
    Panicked(String),
}

impl tidemark_storage::TxError for CompactionError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            Self::Corrupt { .. } | Self::Panicked(_) => None,
        }
    }
}

/// When and how much to compact.
#[derive(Debug, Clone)]
pub struct CompactionConfig {
    /// A bucket is compacted once it ended this long ago (late data can still arrive; it is
    /// compacted by a later pass).
    pub seal_after: Duration,
    /// Time between passes of the background loop.
    pub interval: Duration,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            seal_after: Duration::from_secs(10 * 60),
            interval: Duration::from_secs(10),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionStats {
    /// Buckets examined.
    pub buckets: u64,
    /// Blocks merged away.
    pub blocks_consumed: u64,
    /// Chunks written.
    pub chunks_written: u64,
    /// Bytes of blocks read.
    pub bytes_read: u64,
    /// Bytes of chunks written.
    pub bytes_written: u64,
}

impl CompactionStats {
    fn add(&mut self, other: CompactionStats) {
        self.buckets += other.buckets;
        self.blocks_consumed += other.blocks_consumed;
        self.chunks_written += other.chunks_written;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
    }
}

/// Compacts one bucket of one series; returns what it did.
pub async fn compact_bucket<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    tenant: TenantId,
    series: SeriesId,
    bucket: i64,
) -> Result<CompactionStats, CompactionError> {
    let options = RunOptions {
        idempotent: true,
        batch_priority: true,
        ..RunOptions::default()
    };
    run(db, options, |tx, _| {
        let layout = layout.clone();
        Box::pin(async move { compact_in(tx, &layout, tenant, series, bucket).await })
    })
    .await
}

async fn compact_in<T: KvTransaction>(
    tx: &T,
    layout: &Layout,
    tenant: TenantId,
    series: SeriesId,
    bucket: i64,
) -> Result<CompactionStats, CompactionError> {
    let (begin, end) = layout.data_range(tenant, series, bucket, bucket);
    let request = RangeRequest::new(begin, end)
        .mode(StreamingMode::WantAll)
        .target_bytes(MAX_READ_BYTES);
    // One batch: a serializable read, so a block committed meanwhile aborts and retries us.
    let chunk = tx.get_range(&request, 1, false).await?;
    let mut stats = CompactionStats {
        buckets: 1,
        ..CompactionStats::default()
    };
    if !chunk.more {
        tx.clear(&layout.dirty(tenant, bucket, series));
    }
    if chunk.kvs.len() < 2 {
        return Ok(stats);
    }
    let mut blocks = Vec::with_capacity(chunk.kvs.len());
    for (_, value) in &chunk.kvs {
        stats.bytes_read += value.len() as u64;
        let block = Block::decode(value).map_err(|error| CompactionError::Corrupt {
            tenant: tenant.0,
            series: series.0,
            bucket,
            reason: error.to_string(),
        })?;
        blocks.push(block);
    }
    let merged = merge_blocks(blocks, i64::MIN, i64::MAX);
    let parts = merged.encode_parts(MAX_BLOCK_BYTES);
    if parts.len() >= chunk.kvs.len() {
        // Nothing to gain.
        return Ok(stats);
    }
    let Some((newest, _)) = chunk.kvs.last() else {
        return Ok(stats);
    };
    // The parts go right after the newest consumed key (see `Layout::data_part_after`): later
    // blocks still sort after them, and a tiering pass that read up to some consumed key and
    // clears up to it never clears a part holding data it did not read.
    let mut part_keys = Vec::with_capacity(parts.len());
    for index in 0..parts.len() {
        let key = u16::try_from(index)
            .ok()
            .and_then(|index| layout.data_part_after(newest, index))
            .ok_or_else(|| CompactionError::Corrupt {
                tenant: tenant.0,
                series: series.0,
                bucket,
                reason: format!("cannot place part {index} after key {newest:02x?}"),
            })?;
        part_keys.push(key);
    }
    for (key, _) in &chunk.kvs {
        tx.clear(key);
    }
    for (key, part) in part_keys.iter().zip(&parts) {
        stats.bytes_written += part.len() as u64;
        tx.set(key, part);
    }
    stats.blocks_consumed = chunk.kvs.len() as u64;
    stats.chunks_written = parts.len() as u64;
    Ok(stats)
}

/// Compacts every sealed dirty bucket of every tenant once. A tenant whose compaction fails
/// (or panics) is logged, counted and skipped; the others are still compacted, and the error
/// of the first failure is returned after all of them.
pub async fn compact_sealed<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    config: &CompactionConfig,
) -> Result<CompactionStats, CompactionError> {
    let sealed_before = now_nanos()
        .saturating_sub(i64::try_from(config.seal_after.as_nanos()).unwrap_or(i64::MAX))
        .saturating_sub(BUCKET_NANOS);
    let tenants = crate::txn::read_as(db, |tx| {
        let layout = layout.clone();
        Box::pin(async move { Ok::<_, CompactionError>(layout.list_tenants(tx).await?) })
    })
    .await?;
    let mut stats = CompactionStats::default();
    let mut first_failure = None;
    for (name, tenant) in tenants {
        let outcome = AssertUnwindSafe(compact_tenant(db, layout, tenant, sealed_before))
            .catch_unwind()
            .await;
        let failure = match outcome {
            Ok(Ok(tenant_stats)) => {
                stats.add(tenant_stats);
                tracing::debug!(database = %name, ?tenant_stats, "compaction pass over tenant done");
                continue;
            }
            Ok(Err(error)) => error,
            Err(panic) => CompactionError::Panicked(panic_message(panic.as_ref())),
        };
        tracing::warn!(database = %name, error = %failure, "compaction skipped a tenant");
        record_failure("compaction", "tenant");
        first_failure.get_or_insert(failure);
    }
    crate::metrics::record_compaction(&stats);
    match first_failure {
        Some(error) => Err(error),
        None => Ok(stats),
    }
}

async fn compact_tenant<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    tenant: TenantId,
    sealed_before: i64,
) -> Result<CompactionStats, CompactionError> {
    let mut stats = CompactionStats::default();
    let (mut begin, end) = layout.dirty_before(tenant, sealed_before.saturating_add(1));
    loop {
        let request = RangeRequest::new(begin.clone(), end.clone()).limit(MARKERS_PER_PAGE);
        let page = crate::txn::read_as(db, |tx| {
            let request = request.clone();
            Box::pin(async move {
                tx.set_option(TxOption::PriorityBatch)?;
                Ok::<_, CompactionError>(tx.get_range(&request, 1, true).await?)
            })
        })
        .await?;
        for (key, _) in &page.kvs {
            let Some((bucket, series)) = layout.dirty_entry(key) else {
                continue;
            };
            stats.add(compact_bucket(db, layout, tenant, series, bucket).await?);
            // Let ingest and queries run between buckets.
            tokio::task::yield_now().await;
        }
        match page.kvs.last() {
            Some((last, _)) if page.more => begin = tidemark_storage::keys::key_after(last),
            _ => return Ok(stats),
        }
    }
}

/// Runs compaction passes forever, `config.interval` apart, on one node of the cluster at a
/// time; failures and panics are logged, counted and retried with backoff.
pub async fn run_compaction_loop<D: KvDatabase>(
    coordinator: Arc<Coordinator>,
    db: D,
    layout: Layout,
    config: CompactionConfig,
) {
    let interval = config.interval;
    run_supervised(
        coordinator,
        db.clone(),
        layout.clone(),
        Job::Compaction,
        interval,
        move || {
            let (db, layout, config) = (db.clone(), layout.clone(), config.clone());
            async move {
                let stats = compact_sealed(&db, &layout, &config)
                    .await
                    .map_err(|error| error.to_string())?;
                if stats.blocks_consumed > 0 {
                    tracing::info!(
                        buckets = stats.buckets,
                        blocks = stats.blocks_consumed,
                        chunks = stats.chunks_written,
                        bytes_read = stats.bytes_read,
                        bytes_written = stats.bytes_written,
                        "compaction pass"
                    );
                }
                Ok(())
            }
        },
    )
    .await;
}
