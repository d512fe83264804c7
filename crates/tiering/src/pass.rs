//! What a tiering pass is made of, shared by the orchestrator ([`crate::tier`]) and the steps
//! it runs ([`crate::partition`], [`crate::retention`]): the settings, the events and
//! statistics it reports, and the context every step reads.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tidemark_storage::cold::ColdStore;
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use crate::error::TieringError;
use crate::txn::nanos;

/// Nanoseconds per day.
pub const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// The steps of moving one partition, in order; tests stop a pass at each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TierStep {
    /// The partition's files are in the object store, not yet in the index.
    AfterPut,
    /// The files are in the index; hot data not yet cleared.
    AfterRegister,
    /// Some of the hot data is cleared.
    MidClear,
}

impl TierStep {
    /// Parses `after_put`, `after_register` or `mid_clear`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "after_put" => Self::AfterPut,
            "after_register" => Self::AfterRegister,
            "mid_clear" => Self::MidClear,
            _ => return None,
        })
    }

    /// The name [`parse`](Self::parse) accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::AfterPut => "after_put",
            Self::AfterRegister => "after_register",
            Self::MidClear => "mid_clear",
        }
    }
}

/// A test hook awaited at each step of a partition (tests force interleavings with it).
#[derive(Clone)]
pub struct StepHook(pub Arc<dyn Fn(TierStep) -> BoxFuture<'static, ()> + Send + Sync>);

impl std::fmt::Debug for StepHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepHook")
    }
}

/// How tiering behaves.
#[derive(Debug, Clone)]
pub struct TieringConfig {
    /// Data older than this moves to the cold tier (a tenant's own setting overrides it).
    pub hot_retention: Duration,
    /// Data older than this is deleted from both tiers; `None` keeps it forever.
    pub retention: Option<Duration>,
    /// Length of a cold partition (a whole number of hours).
    pub partition: Duration,
    /// Objects out of the index are deleted only this long after they left it (or, for objects
    /// never registered, after they were written), so running queries can still read them.
    pub grace: Duration,
    /// Rows per cold file at most (a partition with more is split at series boundaries).
    pub max_file_rows: usize,
    /// Time between passes of the background loop.
    pub interval: Duration,
    /// Test hook: stop forever at this step of the first partition.
    pub pause_at: Option<TierStep>,
    /// Test hook: awaited at every step of every partition, before `pause_at` is honoured.
    pub hook: Option<StepHook>,
}

impl Default for TieringConfig {
    fn default() -> Self {
        Self {
            hot_retention: Duration::from_secs(7 * 86_400),
            retention: None,
            partition: Duration::from_secs(86_400),
            grace: Duration::from_secs(3_600),
            max_file_rows: 2_000_000,
            interval: Duration::from_secs(600),
            pause_at: None,
            hook: None,
        }
    }
}

impl TieringConfig {
    pub(crate) fn partition_nanos(&self) -> i64 {
        (nanos(self.partition) / BUCKET_NANOS).max(1) * BUCKET_NANOS
    }

    /// The start of the partition holding `time`. The lowest partition saturates at
    /// `i64::MIN` (its true start is below the representable range), like buckets do.
    pub fn partition_start(&self, time: i64) -> i64 {
        let length = self.partition_nanos();
        time.div_euclid(length).saturating_mul(length)
    }

    /// The end (exclusive) of the partition starting at `start`.
    pub fn partition_end(&self, start: i64) -> i64 {
        start.saturating_add(self.partition_nanos())
    }
}

/// What a pass reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum TierEvent {
    /// A partition moved (or was re-merged with late data).
    Partition {
        /// Database name.
        database: String,
        /// Measurement.
        measurement: String,
        /// Partition start (ns).
        start: i64,
        /// Series with hot data moved.
        series: usize,
        /// Rows in the new files.
        rows: u64,
        /// Bytes of the new files.
        bytes: u64,
        /// Files it replaced.
        replaced: usize,
    },
    /// Data past the total retention was deleted.
    Expired {
        /// Database name.
        database: String,
        /// Cold files taken out of the index.
        files: usize,
        /// Series whose hot ranges were cleared.
        series: usize,
    },
    /// An object was deleted (retired after its grace period, or never registered).
    Deleted {
        /// Object path.
        path: String,
        /// True for an object no index entry ever named.
        orphan: bool,
    },
    /// The pass stopped at a test hook.
    Paused(TierStep),
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Partitions moved or re-merged.
    pub partitions: u64,
    /// Files written.
    pub files_written: u64,
    /// Rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Files taken out of the index (replaced or expired).
    pub files_retired: u64,
    /// Objects deleted.
    pub objects_deleted: u64,
    /// Tenants, partitions or collections that failed and were skipped (logged and counted in
    /// `/metrics`; the next pass tries them again).
    pub failures: u64,
}

/// Everything a pass needs.
#[derive(Debug)]
pub struct Tierer<'a, D> {
    /// The KV store.
    pub db: &'a D,
    /// The key layout.
    pub layout: &'a Layout,
    /// The object store.
    pub store: &'a ColdStore,
    /// Settings.
    pub config: &'a TieringConfig,
}

impl<D: KvDatabase> Tierer<'_, D> {
    pub(crate) async fn measurement_series(
        &self,
        window: &mut ReadWindow<D>,
        tenant: TenantId,
        measurement: &str,
    ) -> Result<Vec<SeriesId>, TieringError> {
        let (begin, end) = self.layout.postings(tenant, measurement, ("", ""));
        let mut series = Vec::new();
        window
            .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                if let Some(id) = self.layout.posting_series(&key) {
                    series.push(id);
                }
            })
            .await?;
        series.sort_unstable();
        Ok(series)
    }

    /// Runs the test hooks of `step`: the in-process hook, then (forever) the pause.
    pub(crate) async fn maybe_pause(
        &self,
        step: TierStep,
        report: &(dyn Fn(TierEvent) + Send + Sync),
    ) {
        if let Some(hook) = &self.config.hook {
            (hook.0)(step).await;
        }
        if self.config.pause_at == Some(step) {
            report(TierEvent::Paused(step));
            tracing::warn!(step = step.name(), "tiering paused by the test hook");
            std::future::pending::<()>().await;
        }
    }
}
