//! Tiering passes: move partitions older than the hot retention to Parquet on object storage,
//! expire data past the total retention, and collect objects no index entry names.
//!
//! A pass, per tenant: retention first ([`crate::retention`]), then per measurement, the
//! partitions (one day by default) that hold hot data older than the hot cutoff, oldest first
//! ([`crate::partition`] moves one), then garbage collection. Finding those partitions costs
//! one limited range read per series: each series' first data key before the cutoff names the
//! next partition it has data in.

use std::collections::BTreeMap;
use std::time::Duration;

use tidemark_storage::cold::{ColdError, ColdStore};
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId, now_nanos};
use tidemark_storage::{
    KvDatabase, KvError, KvTransaction, RangeRequest, ReadWindow, RunOptions, TxError, TxFuture,
    run,
};

use crate::partition::{PartitionJob, tier_partition};
use crate::retention::{collect_garbage, expire};

/// Nanoseconds per day.
pub const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// Why a tiering pass failed.
#[derive(Debug, thiserror::Error)]
pub enum TieringError {
    /// Storage failed.
    #[error("storage failed during tiering: {0}")]
    Storage(#[from] KvError),
    /// The object store or the file codec failed.
    #[error("cold tier: {0}")]
    Cold(#[from] ColdError),
    /// Stored data does not decode.
    #[error("corrupt data while tiering: {0}")]
    Corrupt(String),
}

impl TxError for TieringError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            _ => None,
        }
    }
}

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
        }
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX` (about 292 years).
pub fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

impl TieringConfig {
    pub(crate) fn partition_nanos(&self) -> i64 {
        (nanos(self.partition) / BUCKET_NANOS).max(1) * BUCKET_NANOS
    }

    /// The start of the partition holding `time`.
    pub fn partition_start(&self, time: i64) -> i64 {
        let length = self.partition_nanos();
        time.div_euclid(length) * length
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
    /// Runs one pass over every tenant, reporting progress to `report`.
    pub async fn run_pass(
        &self,
        report: &(dyn Fn(TierEvent) + Send + Sync),
    ) -> Result<TierStats, TieringError> {
        let tenants = read(self.db, |tx| {
            let layout = self.layout.clone();
            Box::pin(async move { Ok(layout.list_tenants(tx).await?) })
        })
        .await?;
        let mut stats = TierStats::default();
        for (name, tenant) in &tenants {
            self.pass_tenant(name, *tenant, &mut stats, report).await?;
        }
        collect_garbage(self, &tenants, &mut stats, report).await?;
        crate::metrics::record_tiering(&stats);
        Ok(stats)
    }

    async fn pass_tenant(
        &self,
        name: &str,
        tenant: TenantId,
        stats: &mut TierStats,
        report: &(dyn Fn(TierEvent) + Send + Sync),
    ) -> Result<(), TieringError> {
        let now = now_nanos();
        let (settings, schemas) = read(self.db, |tx| {
            let layout = self.layout.clone();
            Box::pin(async move {
                Ok((
                    layout.retention(tx, tenant).await?,
                    layout.schemas(tx, tenant).await?,
                ))
            })
        })
        .await?;
        let hot = settings
            .hot_nanos
            .unwrap_or(nanos(self.config.hot_retention));
        let total = settings
            .total_nanos
            .or_else(|| self.config.retention.map(nanos));
        if let Some(total) = total {
            expire(self, name, tenant, now.saturating_sub(total), stats, report).await?;
        }
        // Only whole partitions that ended before the hot cutoff move.
        let cutoff = self.config.partition_start(now.saturating_sub(hot));
        for measurement in schemas.keys() {
            let mut next = self
                .first_partitions(tenant, measurement, None, cutoff)
                .await?;
            while let Some((start, series)) = next.pop_first() {
                let end = start + self.config.partition_nanos();
                let job = PartitionJob {
                    database: name,
                    tenant,
                    measurement,
                    partition: (start, end),
                    series: &series,
                };
                tier_partition(self, &job, stats, report).await?;
                let later = self
                    .first_partitions(tenant, measurement, Some((&series, end)), cutoff)
                    .await?;
                for (start, mut more) in later {
                    next.entry(start).or_default().append(&mut more);
                }
            }
        }
        Ok(())
    }

    /// For each series (of `only`, else of the measurement), the partition of its first data
    /// key from `only`'s time (else the beginning) to `cutoff`; series grouped by partition.
    async fn first_partitions(
        &self,
        tenant: TenantId,
        measurement: &str,
        only: Option<(&[SeriesId], i64)>,
        cutoff: i64,
    ) -> Result<BTreeMap<i64, Vec<SeriesId>>, TieringError> {
        let mut window = ReadWindow::new(self.db.clone());
        let (series, from) = match only {
            Some((series, from)) => (series.to_vec(), from),
            None => (
                self.measurement_series(&mut window, tenant, measurement)
                    .await?,
                i64::MIN,
            ),
        };
        let mut found: BTreeMap<i64, Vec<SeriesId>> = BTreeMap::new();
        if from >= cutoff {
            return Ok(found);
        }
        let last_bucket = cutoff - BUCKET_NANOS;
        for id in series {
            let (begin, end) = self.layout.data_range(tenant, id, from, last_bucket);
            let rows = window
                .read_range(&RangeRequest::new(begin, end).limit(1))
                .await?;
            if let Some((key, _)) = rows.first() {
                let (_, bucket) = self.layout.data_entry(key).ok_or_else(|| {
                    TieringError::Corrupt(format!("undecodable data key {key:02x?}"))
                })?;
                found
                    .entry(self.config.partition_start(bucket))
                    .or_default()
                    .push(id);
            }
        }
        Ok(found)
    }

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

    /// Stops forever when the test hook names `step`.
    pub(crate) async fn maybe_pause(
        &self,
        step: TierStep,
        report: &(dyn Fn(TierEvent) + Send + Sync),
    ) {
        if self.config.pause_at == Some(step) {
            report(TierEvent::Paused(step));
            tracing::warn!(step = step.name(), "tiering paused by the test hook");
            std::future::pending::<()>().await;
        }
    }
}

/// Runs a read-only body in a transaction, retried in a new one after a retryable error (the
/// reads a pass makes outside its writing transactions).
pub(crate) async fn read_as<D, T, E, F>(db: &D, body: F) -> Result<T, E>
where
    D: KvDatabase,
    E: TxError,
    F: for<'a> Fn(&'a D::Tx) -> TxFuture<'a, Result<T, E>>,
{
    run(db, RunOptions::idempotent(), |tx, _| body(tx)).await
}

/// Clears `[begin, end)` ranges in one transaction.
pub(crate) async fn clear_ranges<D: KvDatabase>(
    db: &D,
    options: RunOptions,
    clears: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(), TieringError> {
    run(db, options, |tx, _| {
        let clears = clears.clone();
        Box::pin(async move {
            for (begin, end) in &clears {
                tx.clear_range(begin, end);
            }
            Ok(())
        })
    })
    .await
}

/// [`read_as`] for the tiering error.
pub(crate) async fn read<D, T, F>(db: &D, body: F) -> Result<T, TieringError>
where
    D: KvDatabase,
    F: for<'a> Fn(&'a D::Tx) -> TxFuture<'a, Result<T, TieringError>>,
{
    read_as(db, body).await
}

/// Runs passes forever, `config.interval` apart; errors are logged and retried.
pub async fn run_tiering_loop<D: KvDatabase>(
    db: D,
    layout: Layout,
    store: ColdStore,
    config: TieringConfig,
) {
    loop {
        tokio::time::sleep(config.interval).await;
        let tierer = Tierer {
            db: &db,
            layout: &layout,
            store: &store,
            config: &config,
        };
        match tierer
            .run_pass(&|event| tracing::debug!(?event, "tiering"))
            .await
        {
            Ok(stats) if stats != TierStats::default() => {
                tracing::info!(?stats, "tiering pass");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "tiering pass failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_whole_hours_and_floor_negative_times() {
        let config = TieringConfig::default();
        assert_eq!(config.partition_start(DAY_NANOS + 5), DAY_NANOS);
        assert_eq!(config.partition_start(-1), -DAY_NANOS);
        let odd = TieringConfig {
            partition: Duration::from_secs(5_400),
            ..TieringConfig::default()
        };
        // 90 minutes round down to whole buckets (one hour).
        assert_eq!(odd.partition_nanos(), BUCKET_NANOS);
    }

    #[test]
    fn steps_round_trip_their_names() {
        for step in [
            TierStep::AfterPut,
            TierStep::AfterRegister,
            TierStep::MidClear,
        ] {
            assert_eq!(TierStep::parse(step.name()), Some(step));
        }
        assert_eq!(TierStep::parse("later"), None);
    }
}
