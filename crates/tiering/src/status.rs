//! What `tidemark tier status` shows per tenant.

use tidemark_storage::tsdb::Layout;
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use crate::error::TieringError;
use crate::pass::TieringConfig;
use crate::txn::read;

/// One tenant's tiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantStatus {
    /// Database name.
    pub database: String,
    /// Bytes of hot data keys and values.
    pub hot_bytes: u64,
    /// Hot data keys (blocks and chunks).
    pub hot_keys: u64,
    /// Start of the oldest partition with hot data (ns), if any.
    pub oldest_hot_partition: Option<i64>,
    /// Indexed cold files.
    pub cold_files: u64,
    /// Their bytes.
    pub cold_bytes: u64,
    /// Their rows.
    pub cold_rows: u64,
    /// Start of the oldest cold partition (ns), if any.
    pub oldest_cold_partition: Option<i64>,
}

/// The status of every tenant (or only of `only`); `progress` is told each tenant's name before
/// it is scanned.
///
/// Hot bytes come from reading every data key of the tenant (in read windows, so the total is
/// not from one read version): this is the slow part on a big store.
pub async fn tier_status<D: KvDatabase>(
    db: &D,
    layout: &Layout,
    config: &TieringConfig,
    only: Option<&str>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Vec<TenantStatus>, TieringError> {
    let tenants = read(db, |tx| {
        let layout = layout.clone();
        Box::pin(async move { Ok(layout.list_tenants(tx).await?) })
    })
    .await?;
    let mut out = Vec::new();
    for (database, tenant) in tenants {
        if only.is_some_and(|only| only != database) {
            continue;
        }
        progress(&database);
        let mut status = TenantStatus {
            database,
            hot_bytes: 0,
            hot_keys: 0,
            oldest_hot_partition: None,
            cold_files: 0,
            cold_bytes: 0,
            cold_rows: 0,
            oldest_cold_partition: None,
        };
        let mut window = ReadWindow::new(db.clone());
        let (begin, end) = layout.tenant_data(tenant);
        let mut oldest = i64::MAX;
        window
            .read_append_only(&RangeRequest::new(begin, end), |(key, value)| {
                status.hot_bytes += (key.len() + value.len()) as u64;
                status.hot_keys += 1;
                if let Some((_, bucket)) = layout.data_entry(&key) {
                    oldest = oldest.min(bucket);
                }
            })
            .await?;
        status.oldest_hot_partition = (oldest != i64::MAX).then(|| config.partition_start(oldest));
        let files = read(db, |tx| {
            let layout = layout.clone();
            Box::pin(async move { Ok(layout.tenant_cold_files(tx, tenant, true).await?) })
        })
        .await?;
        for entry in files {
            status.cold_files += 1;
            status.cold_bytes += entry.bytes;
            status.cold_rows += entry.rows;
            let start = entry.partition.0;
            status.oldest_cold_partition = Some(
                status
                    .oldest_cold_partition
                    .map_or(start, |old| old.min(start)),
            );
        }
        out.push(status);
    }
    Ok(out)
}
