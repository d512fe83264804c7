//! Retention and garbage collection of the cold tier.
//!
//! Expiry takes whole cold files out of the index (their partition ended before the cutoff)
//! and clears whole hot buckets that ended before it, with range clears per series. Objects
//! leave the bucket only after the grace period: retired files once they have been out of the
//! index that long, orphans (written by a pass that died before registering them) once they are
//! that old. The object listing is taken before the index is read, so an object registered
//! while the collector runs is never taken for an orphan.

use std::collections::HashSet;

use tidemark_storage::tsdb::{BUCKET_NANOS, TenantId, bucket_start, now_nanos};
use tidemark_storage::{KvDatabase, ReadWindow, RunOptions, run};

use crate::error::TieringError;
use crate::pass::{TierEvent, TierStats, Tierer};
use crate::txn::{clear_ranges, nanos, read};

/// Series whose hot ranges one transaction clears.
const SERIES_PER_TRANSACTION: usize = 1_000;

pub(crate) async fn expire<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    database: &str,
    tenant: TenantId,
    cutoff: i64,
    stats: &mut TierStats,
    report: &(dyn Fn(TierEvent) + Send + Sync),
) -> Result<(), TieringError> {
    let layout = tierer.layout;
    let now = now_nanos();
    let options = RunOptions::idempotent();
    let files = run(tierer.db, options, |tx, _| {
        let layout = layout.clone();
        Box::pin(async move {
            let expired: Vec<_> = layout
                .tenant_cold_files(tx, tenant, false)
                .await?
                .into_iter()
                .filter(|entry| entry.partition.1 <= cutoff)
                .collect();
            for entry in &expired {
                layout.retire_cold_file(tx, tenant, entry, now);
            }
            Ok::<_, TieringError>(expired.len())
        })
    })
    .await?;
    stats.files_retired += files as u64;
    // Whole buckets that ended at or before the cutoff.
    let last_bucket = bucket_start(cutoff).saturating_sub(BUCKET_NANOS);
    let schemas = read(tierer.db, |tx| {
        let layout = layout.clone();
        Box::pin(async move { Ok(layout.schemas(tx, tenant).await?) })
    })
    .await?;
    let mut window = ReadWindow::new(tierer.db.clone());
    let mut series = Vec::new();
    for measurement in schemas.keys() {
        series.extend(
            tierer
                .measurement_series(&mut window, tenant, measurement)
                .await?,
        );
    }
    for batch in series.chunks(SERIES_PER_TRANSACTION) {
        let clears = batch
            .iter()
            .map(|id| layout.data_range(tenant, *id, i64::MIN, last_bucket))
            .collect();
        clear_ranges(tierer.db, options, clears).await?;
    }
    report(TierEvent::Expired {
        database: database.to_string(),
        files,
        series: series.len(),
    });
    Ok(())
}

pub(crate) async fn collect_garbage<D: KvDatabase>(
    tierer: &Tierer<'_, D>,
    tenants: &[(String, TenantId)],
    stats: &mut TierStats,
    report: &(dyn Fn(TierEvent) + Send + Sync),
) -> Result<(), TieringError> {
    let layout = tierer.layout;
    let grace = nanos(tierer.config.grace);
    let horizon = now_nanos().saturating_sub(grace);
    // List first: anything registered after this listing is in the index read below.
    let objects = tierer.store.list().await?;
    let mut known = HashSet::new();
    for (_, tenant) in tenants {
        let tenant = *tenant;
        let paths: Vec<String> = read(tierer.db, |tx| {
            let layout = layout.clone();
            Box::pin(async move {
                let indexed = layout.tenant_cold_files(tx, tenant, true).await?;
                let retired = layout.retired_files(tx, tenant, i64::MAX).await?;
                Ok(indexed
                    .into_iter()
                    .map(|entry| entry.path)
                    .chain(retired.into_iter().map(|file| file.path))
                    .collect())
            })
        })
        .await?;
        known.extend(paths);
    }
    for object in objects {
        if object.modified <= horizon && !known.contains(&object.path) {
            tierer.store.delete(&object.path).await?;
            stats.objects_deleted += 1;
            report(TierEvent::Deleted {
                path: object.path,
                orphan: true,
            });
        }
    }
    for (_, tenant) in tenants {
        let tenant_id = *tenant;
        let retired = read(tierer.db, |tx| {
            let layout = layout.clone();
            Box::pin(async move { Ok(layout.retired_files(tx, tenant_id, horizon).await?) })
        })
        .await?;
        for file in retired {
            tierer.store.delete(&file.path).await?;
            let tenant = *tenant;
            run(tierer.db, RunOptions::idempotent(), |tx, _| {
                let file = file.clone();
                let layout = layout.clone();
                Box::pin(async move {
                    layout.forget_retired(tx, tenant, &file);
                    Ok::<_, TieringError>(())
                })
            })
            .await?;
            stats.objects_deleted += 1;
            report(TierEvent::Deleted {
                path: file.path,
                orphan: false,
            });
        }
    }
    Ok(())
}
