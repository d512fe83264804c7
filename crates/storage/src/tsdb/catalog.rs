//! The measurement catalog: tag keys and field types, one key each, written on first sight.
//!
//! One key per field (rather than one schema value per measurement) means two ingest nodes that
//! add different fields to a measurement never conflict; two that add the same field with
//! different types do, and the loser retries and rejects its lines.

use std::collections::{BTreeMap, BTreeSet};

use super::{Layout, TenantId};
use crate::error::KvResult;
use crate::kv::{KvTransaction, RangeRequest};

/// A field's type, fixed by the first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldType {
    /// 64-bit float.
    Float,
    /// Signed 64-bit integer.
    Integer,
    /// Unsigned 64-bit integer.
    UInteger,
    /// UTF-8 string.
    String,
    /// Boolean.
    Boolean,
}

impl FieldType {
    /// The stored tag byte.
    pub fn tag(self) -> u8 {
        match self {
            Self::Float => 0,
            Self::Integer => 1,
            Self::UInteger => 2,
            Self::String => 3,
            Self::Boolean => 4,
        }
    }

    /// Parses a stored tag byte.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Float,
            1 => Self::Integer,
            2 => Self::UInteger,
            3 => Self::String,
            4 => Self::Boolean,
            _ => return None,
        })
    }

    /// The name users see in errors (line protocol's names).
    pub fn name(self) -> &'static str {
        match self {
            Self::Float => "float",
            Self::Integer => "integer",
            Self::UInteger => "unsigned integer",
            Self::String => "string",
            Self::Boolean => "boolean",
        }
    }
}

/// A field was written with a type other than the one the catalog holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "field type conflict: field `{field}` of measurement `{measurement}` is {existing}, got {attempted}"
)]
pub struct SchemaError {
    /// Measurement.
    pub measurement: String,
    /// Field.
    pub field: String,
    /// Type in the catalog.
    pub existing: &'static str,
    /// Type of the rejected write.
    pub attempted: &'static str,
}

/// What the catalog knows of one measurement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasurementSchema {
    /// Tag keys.
    pub tags: BTreeSet<String>,
    /// Fields and their types.
    pub fields: BTreeMap<String, FieldType>,
}

impl Layout {
    /// Reads a field's type (a serializable read: concurrent first writes conflict).
    pub async fn field_type<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        measurement: &str,
        field: &str,
    ) -> KvResult<Option<FieldType>> {
        let value = tx
            .get(&self.catalog_field(tenant, measurement, field), false)
            .await?;
        Ok(value
            .and_then(|bytes| bytes.first().copied())
            .and_then(FieldType::from_tag))
    }

    /// Records a field's type.
    pub fn set_field_type<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        measurement: &str,
        field: &str,
        kind: FieldType,
    ) {
        tx.set(
            &self.catalog_field(tenant, measurement, field),
            &[kind.tag()],
        );
    }

    /// Records a tag key (a blind, idempotent write).
    pub fn add_tag_key<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        measurement: &str,
        tag: &str,
    ) {
        tx.set(&self.catalog_tag(tenant, measurement, tag), b"");
    }

    /// Reads every measurement's schema of a tenant.
    pub async fn schemas<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
    ) -> KvResult<BTreeMap<String, MeasurementSchema>> {
        let (begin, end) = self.catalog(tenant);
        let rows = tx
            .get_range_all(&RangeRequest::new(begin, end), true)
            .await?;
        Ok(self.decode_catalog(rows))
    }

    /// Reads one measurement's schema (empty when the measurement is unknown).
    pub async fn measurement_schema<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        measurement: &str,
    ) -> KvResult<MeasurementSchema> {
        let (begin, end) = self.catalog_measurement(tenant, measurement);
        let rows = tx
            .get_range_all(&RangeRequest::new(begin, end), true)
            .await?;
        Ok(self
            .decode_catalog(rows)
            .remove(measurement)
            .unwrap_or_default())
    }

    fn decode_catalog(
        &self,
        rows: Vec<crate::kv::KeyValue>,
    ) -> BTreeMap<String, MeasurementSchema> {
        let mut schemas: BTreeMap<String, MeasurementSchema> = BTreeMap::new();
        for (key, value) in rows {
            let Ok((_, _, measurement, kind, name)) =
                self.root
                    .unpack::<(u64, String, String, String, String)>(&key)
            else {
                continue;
            };
            let schema = schemas.entry(measurement).or_default();
            match kind.as_str() {
                "t" => {
                    schema.tags.insert(name);
                }
                "f" => {
                    if let Some(field_type) = value.first().copied().and_then(FieldType::from_tag) {
                        schema.fields.insert(name, field_type);
                    }
                }
                _ => {}
            }
        }
        schemas
    }
}
