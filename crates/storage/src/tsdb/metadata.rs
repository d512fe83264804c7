//! Prometheus metric metadata (type, help, unit), as remote_write senders report it, kept per
//! tenant so `/api/v1/metadata` can answer Grafana's editor.

use super::{Layout, TenantId};
use crate::error::KvResult;
use crate::keys::{pack, unpack};
use crate::kv::{KeyValue, KvTransaction, RangeRequest};

/// One metric family's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `summary`, ...
    pub kind: String,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

impl Layout {
    /// `(tid, "meta", metric)` → `(kind, help, unit)`.
    fn metric_metadata_key(&self, tenant: TenantId, metric: &str) -> Vec<u8> {
        self.root().pack(&(tenant.0, "meta", metric))
    }

    /// Records a metric's metadata (the latest report wins). Blind writes: no conflicts.
    pub fn put_metric_metadata<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        metric: &str,
        metadata: &MetricMetadata,
    ) {
        let value = pack(&(
            metadata.kind.as_str(),
            metadata.help.as_str(),
            metadata.unit.as_str(),
        ));
        tx.set(&self.metric_metadata_key(tenant, metric), &value);
    }

    /// Every metric's metadata, by metric name (a snapshot read).
    pub async fn metric_metadata<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
    ) -> KvResult<Vec<(String, MetricMetadata)>> {
        let (begin, end) = self.root().subspace(&(tenant.0, "meta")).range();
        let rows: Vec<KeyValue> = tx
            .get_range_all(&RangeRequest::new(begin, end), true)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let (_, _, metric): (u64, String, String) = self.root().unpack(&row.0).ok()?;
                let (kind, help, unit): (String, String, String) = unpack(&row.1).ok()?;
                Some((metric, MetricMetadata { kind, help, unit }))
            })
            .collect())
    }
}
