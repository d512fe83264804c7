//! What the writer knows without reading: tenants, field types and series ids confirmed by
//! committed transactions. Nested maps so lookups borrow the point's strings.

use std::sync::RwLock;

use foldhash::HashMap;

use tidemark_storage::tsdb::{DataPoint, FieldType, SeriesId, SeriesKey, TenantId};

type Fields = HashMap<TenantId, HashMap<String, HashMap<String, FieldType>>>;
type Series = HashMap<TenantId, HashMap<SeriesKey, SeriesId>>;

/// Knowledge shared by every group of one writer.
#[derive(Debug, Default)]
pub(super) struct Cache {
    tenants: RwLock<HashMap<String, TenantId>>,
    fields: RwLock<Fields>,
    series: RwLock<Series>,
}

/// Knowledge gained by one transaction attempt, kept only if it commits.
#[derive(Debug, Default)]
pub(super) struct Learned {
    pub(super) tenants: HashMap<String, TenantId>,
    fields: Fields,
    pub(super) series: HashMap<(TenantId, SeriesKey), SeriesId>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lookup_field(
    fields: &Fields,
    tenant: TenantId,
    measurement: &str,
    field: &str,
) -> Option<FieldType> {
    fields.get(&tenant)?.get(measurement)?.get(field).copied()
}

impl Learned {
    pub(super) fn field(
        &self,
        tenant: TenantId,
        measurement: &str,
        field: &str,
    ) -> Option<FieldType> {
        lookup_field(&self.fields, tenant, measurement, field)
    }

    pub(super) fn add_field(
        &mut self,
        tenant: TenantId,
        measurement: &str,
        field: &str,
        kind: FieldType,
    ) {
        self.fields
            .entry(tenant)
            .or_default()
            .entry(measurement.to_owned())
            .or_default()
            .insert(field.to_owned(), kind);
    }
}

impl Cache {
    pub(super) fn tenant(&self, name: &str) -> Option<TenantId> {
        read(&self.tenants).get(name).copied()
    }

    pub(super) fn field(
        &self,
        tenant: TenantId,
        measurement: &str,
        field: &str,
    ) -> Option<FieldType> {
        lookup_field(&read(&self.fields), tenant, measurement, field)
    }

    /// Checks every field of a point under one lock: `Some(None)` when all are known with the
    /// given types, `Some(Some(index))` at the first known conflicting field, `None` when some
    /// field is unknown (the caller then takes the slow path).
    pub(super) fn check_fields_of(
        &self,
        tenant: TenantId,
        measurement: &str,
        fields: &[(String, DataPoint)],
        wanted: &[FieldType],
    ) -> Option<Option<usize>> {
        let known = read(&self.fields);
        let types = known.get(&tenant)?.get(measurement)?;
        for (index, ((name, _), wanted)) in fields.iter().zip(wanted).enumerate() {
            match types.get(name) {
                Some(existing) if existing == wanted => {}
                Some(_) => return Some(Some(index)),
                None => return None,
            }
        }
        Some(None)
    }

    pub(super) fn series(&self, tenant: TenantId, key: &SeriesKey) -> Option<SeriesId> {
        read(&self.series).get(&tenant)?.get(key).copied()
    }

    /// Keeps what a committed transaction confirmed.
    pub(super) fn learn(&self, learned: Learned) {
        if !learned.tenants.is_empty() {
            write(&self.tenants).extend(learned.tenants);
        }
        if !learned.fields.is_empty() {
            let mut fields = write(&self.fields);
            for (tenant, measurements) in learned.fields {
                let known = fields.entry(tenant).or_default();
                for (measurement, types) in measurements {
                    known.entry(measurement).or_default().extend(types);
                }
            }
        }
        if !learned.series.is_empty() {
            let mut series = write(&self.series);
            for ((tenant, key), id) in learned.series {
                series.entry(tenant).or_default().insert(key, id);
            }
        }
    }
}
