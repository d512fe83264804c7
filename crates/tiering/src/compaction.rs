//! Compaction: one chunk per (series, bucket) instead of one block per write group.
//!
//! Ingest marks every bucket it writes dirty (`(tid, "x", bucket, sid)`). A pass takes the dirty
//! buckets that are sealed (ended at least `seal_after` ago) and, per bucket, in one transaction:
//! reads its blocks (a serializable range read), merges them under the dedup rule (one value per
//! field and time, latest write wins), clears them, writes the chunk, and clears the marker.
//!
//! The chunk is written at the key of the newest block it consumed, not at a new versionstamp:
//! every block written later sorts after it and still wins, so a pass that stops early (byte
//! budget) never lets old values override newer ones. A late write that lands while a
//! compaction reads conflicts with that read, so the compaction retries and includes it; it is
//! never lost. Compactions run at batch priority, one bucket at a time.

use std::time::Duration;

use tidemark_storage::block::{Block, MAX_BLOCK_BYTES};
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId, merge_blocks, now_nanos};
use tidemark_storage::{
    KvDatabase, KvError, KvTransaction, RangeRequest, RunOptions, StreamingMode, TxOption, run,
};

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
}

impl tidemark_storage::TxError for CompactionError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            Self::Corrupt { .. } => None,
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
        // Nothing to gain (and no keys to place the parts at).
        return Ok(stats);
    }
    // The parts take the keys of the newest consumed blocks, keeping their place in write order.
    let keep_from = chunk.kvs.len() - parts.len();
    for (key, _) in &chunk.kvs[..keep_from] {
        tx.clear(key);
    }
    for ((key, _), part) in chunk.kvs[keep_from..].iter().zip(&parts) {
        stats.bytes_written += part.len() as u64;
        tx.set(key, part);
    }
    stats.blocks_consumed = chunk.kvs.len() as u64;
    stats.chunks_written = parts.len() as u64;
    Ok(stats)
}

/// Compacts every sealed dirty bucket of every tenant once.
pub async fn compact_sealed<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    config: &CompactionConfig,
) -> Result<CompactionStats, CompactionError> {
    let sealed_before = now_nanos()
        .saturating_sub(config.seal_after.as_nanos() as i64)
        .saturating_sub(BUCKET_NANOS);
    let tenants = crate::tier::read_as(db, |tx| {
        let layout = layout.clone();
        Box::pin(async move { Ok::<_, CompactionError>(layout.list_tenants(tx).await?) })
    })
    .await?;
    let mut stats = CompactionStats::default();
    for (name, tenant) in tenants {
        let (mut begin, end) = layout.dirty_before(tenant, sealed_before.saturating_add(1));
        loop {
            let request = RangeRequest::new(begin.clone(), end.clone()).limit(MARKERS_PER_PAGE);
            let page = crate::tier::read_as(db, |tx| {
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
                _ => break,
            }
        }
        tracing::debug!(database = %name, ?stats, "compaction pass over tenant done");
    }
    crate::metrics::record_compaction(&stats);
    Ok(stats)
}

/// Runs compaction passes forever, `config.interval` apart; errors are logged and retried.
pub async fn run_compaction_loop<D: KvDatabase>(db: D, layout: Layout, config: CompactionConfig) {
    loop {
        match compact_sealed(&db, &layout, &config).await {
            Ok(stats) if stats.blocks_consumed > 0 => {
                tracing::info!(
                    buckets = stats.buckets,
                    blocks = stats.blocks_consumed,
                    chunks = stats.chunks_written,
                    bytes_read = stats.bytes_read,
                    bytes_written = stats.bytes_written,
                    "compaction pass"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "compaction pass failed"),
        }
        tokio::time::sleep(config.interval).await;
    }
}
