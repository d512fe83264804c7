//! Tiering passes: move partitions older than the hot retention to Parquet on object storage,
//! expire data past the total retention, and collect objects no index entry names.
//!
//! A pass, per tenant: retention first ([`crate::retention`]), then per measurement, the
//! partitions (one day by default) that hold hot data older than the hot cutoff, oldest first
//! ([`crate::partition`] moves one), then garbage collection. Finding those partitions costs
//! one limited range read per series: each series' first data key before the cutoff names the
//! next partition it has data in.
//!
//! One tenant's or partition's fault is its own: a failing (or panicking) tenant, partition or
//! collection is logged, counted in `/metrics` and skipped, and the pass goes on with the
//! others; the next pass tries it again.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tidemark_storage::cold::ColdStore;
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId, now_nanos};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use crate::error::TieringError;
use crate::partition::{PartitionJob, tier_partition};
use crate::pass::{TierEvent, TierStats, Tierer, TieringConfig};
use crate::retention::{collect_garbage, expire};
use crate::supervise::{Coordinator, Job, panic_message, record_failure, run_supervised};
use crate::txn::{nanos, read};

impl<D: KvDatabase> Tierer<'_, D> {
    /// Runs one pass over every tenant, reporting progress to `report`. Fails only when the
    /// tenants cannot be listed; everything else that fails is skipped and counted in
    /// [`TierStats::failures`].
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
            let outcome = AssertUnwindSafe(self.pass_tenant(name, *tenant, &mut stats, report))
                .catch_unwind()
                .await;
            self.skip_failed("tenant", name, outcome, &mut stats);
        }
        let outcome = AssertUnwindSafe(collect_garbage(self, &tenants, &mut stats, report))
            .catch_unwind()
            .await;
        self.skip_failed("garbage collection", "", outcome, &mut stats);
        crate::metrics::record_tiering(&stats);
        Ok(stats)
    }

    /// Logs and counts a failed (or panicked) unit of a pass.
    fn skip_failed(
        &self,
        what: &'static str,
        name: &str,
        outcome: std::thread::Result<Result<(), TieringError>>,
        stats: &mut TierStats,
    ) {
        let message = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        tracing::warn!(unit = what, name, error = %message, "tiering skipped a failed unit");
        record_failure("tiering", what);
        stats.failures += 1;
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
                let end = self.config.partition_end(start);
                let job = PartitionJob {
                    database: name,
                    tenant,
                    measurement,
                    partition: (start, end),
                    series: &series,
                };
                let outcome = AssertUnwindSafe(tier_partition(self, &job, stats, report))
                    .catch_unwind()
                    .await;
                self.skip_failed(
                    "partition",
                    &format!("{name}/{measurement}@{start}"),
                    outcome,
                    stats,
                );
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
        let last_bucket = cutoff.saturating_sub(BUCKET_NANOS);
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
}

/// Runs tiering passes forever, `config.interval` apart, on one node of the cluster at a time;
/// failures and panics are logged, counted and retried with backoff.
pub async fn run_tiering_loop<D: KvDatabase>(
    coordinator: Arc<Coordinator>,
    db: D,
    layout: Layout,
    store: ColdStore,
    config: TieringConfig,
) {
    let interval = config.interval;
    run_supervised(
        coordinator,
        db.clone(),
        layout.clone(),
        Job::Tiering,
        interval,
        move || {
            let (db, layout, store, config) =
                (db.clone(), layout.clone(), store.clone(), config.clone());
            async move {
                let tierer = Tierer {
                    db: &db,
                    layout: &layout,
                    store: &store,
                    config: &config,
                };
                let stats = tierer
                    .run_pass(&|event| tracing::debug!(?event, "tiering"))
                    .await
                    .map_err(|error| error.to_string())?;
                if stats != TierStats::default() {
                    tracing::info!(?stats, "tiering pass");
                }
                Ok(())
            }
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::pass::{DAY_NANOS, TierStep, TieringConfig};

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
        assert_eq!(odd.partition_nanos(), super::BUCKET_NANOS);
    }

    #[test]
    fn partition_arithmetic_saturates_at_the_ends_of_time() {
        let config = TieringConfig::default();
        assert_eq!(config.partition_start(i64::MIN), i64::MIN);
        assert_eq!(config.partition_end(i64::MAX - 1), i64::MAX);
        assert_eq!(config.partition_start(i64::MAX) % DAY_NANOS, 0);
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
