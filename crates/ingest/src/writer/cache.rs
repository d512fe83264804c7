//! What the writer knows without reading: tenants, each measurement's columns, and series ids,
//! all confirmed by committed transactions. Every cache is bounded by bytes (a stream of new
//! databases, measurements or series evicts old entries instead of growing memory).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidemark_storage::cache::BoundedCache;
use tidemark_storage::tsdb::{FieldType, MeasurementSchema, SeriesId, TenantId};

use crate::batch::SeriesIdentity;

/// A measurement's columns as the catalog holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Columns {
    pub(super) fields: HashMap<String, FieldType>,
    pub(super) tags: HashSet<String>,
}

impl Columns {
    pub(super) fn count(&self) -> usize {
        self.fields.len() + self.tags.len()
    }

    fn bytes(&self) -> usize {
        let fields: usize = self.fields.keys().map(|name| name.len() + 40).sum();
        let tags: usize = self.tags.iter().map(|name| name.len() + 32).sum();
        fields + tags
    }
}

impl From<MeasurementSchema> for Columns {
    fn from(schema: MeasurementSchema) -> Self {
        Self {
            fields: schema.fields.into_iter().collect(),
            tags: schema.tags.into_iter().collect(),
        }
    }
}

/// The budgets of the writer's caches, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudgets {
    /// Series ids by series identity.
    pub series_bytes: usize,
    /// Columns by measurement, and tenant ids by name.
    pub catalog_bytes: usize,
}

impl Default for CacheBudgets {
    fn default() -> Self {
        Self {
            series_bytes: 128 << 20,
            catalog_bytes: 32 << 20,
        }
    }
}

/// How long a tenant id is used without reading the name again: a database deleted (and
/// maybe created again) elsewhere is noticed this soon, as tokens are by auth. (Writes under a
/// stale id are refused at commit in any case; this bounds how long that can happen.)
const TENANT_TTL: Duration = Duration::from_secs(2);

/// Knowledge shared by every request of one writer.
#[derive(Debug)]
pub(super) struct Caches {
    tenants: BoundedCache<String, (TenantId, Instant)>,
    measurements: BoundedCache<(TenantId, String), Arc<Columns>>,
    series: BoundedCache<(TenantId, SeriesIdentity), SeriesId>,
}

impl Caches {
    pub(super) fn new(budgets: CacheBudgets) -> Self {
        Self {
            tenants: BoundedCache::new(budgets.catalog_bytes / 16, |name, _| name.len() + 24),
            measurements: BoundedCache::new(budgets.catalog_bytes, |(_, name), columns| {
                name.len() + 16 + columns.bytes()
            }),
            series: BoundedCache::new(budgets.series_bytes, |_, _| 32),
        }
    }

    pub(super) fn tenant(&self, name: &str) -> Option<TenantId> {
        self.tenants
            .get(name)
            .filter(|(_, learned)| learned.elapsed() < TENANT_TTL)
            .map(|(id, _)| id)
    }

    pub(super) fn learn_tenant(&self, name: &str, id: TenantId) {
        self.tenants.insert(name.to_owned(), (id, Instant::now()));
    }

    /// Forgets a tenant id found stale (the database was deleted, maybe created again).
    pub(super) fn forget_tenant(&self, name: &str) {
        self.tenants.remove(name);
    }

    pub(super) fn columns(&self, tenant: TenantId, measurement: &str) -> Option<Arc<Columns>> {
        self.measurements.get(&(tenant, measurement.to_owned()))
    }

    pub(super) fn learn_columns(&self, tenant: TenantId, measurement: &str, columns: Columns) {
        self.measurements
            .insert((tenant, measurement.to_owned()), Arc::new(columns));
    }

    pub(super) fn series(&self, tenant: TenantId, identity: SeriesIdentity) -> Option<SeriesId> {
        self.series.get(&(tenant, identity))
    }

    pub(super) fn learn_series(&self, tenant: TenantId, identity: SeriesIdentity, id: SeriesId) {
        self.series.insert((tenant, identity), id);
    }
}
