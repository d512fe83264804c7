//! Whether a record fits FDB's limits before it is written.
//!
//! A key over 10,000 bytes or a value over 100,000 bytes fails the whole transaction (2102,
//! 2103), and with it every other request of its write group. The write path therefore asks
//! here, once per new series, field or idempotency key, and refuses only the offending line.

use super::{Layout, SeriesId, SeriesKey, TenantId};
use crate::keys::{MAX_KEY_BYTES, MAX_VALUE_BYTES};

/// The series id whose tuple encoding is longest (ids are hashes: any value can occur).
const WIDEST_SERIES: SeriesId = SeriesId(u64::MAX);

fn key_fits(what: &str, key: &[u8]) -> Result<(), String> {
    if key.len() > MAX_KEY_BYTES {
        return Err(format!(
            "{what} is too long: its index key would take {} bytes, the storage limit is \
             {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    Ok(())
}

impl Layout {
    /// Checks that every record a new series writes fits: the series record (a value), the
    /// measurement-wide posting, and per tag its posting and catalog key.
    pub fn check_series_fits(&self, tenant: TenantId, key: &SeriesKey) -> Result<(), String> {
        let canonical = key.canonical().len();
        if canonical > MAX_VALUE_BYTES {
            return Err(format!(
                "series key is {canonical} bytes; the storage limit is {MAX_VALUE_BYTES}"
            ));
        }
        key_fits(
            "measurement name",
            &self.posting(tenant, &key.measurement, ("", ""), WIDEST_SERIES),
        )?;
        for (tag, value) in &key.tags {
            key_fits(
                &format!("tag {tag:?}"),
                &self.posting(tenant, &key.measurement, (tag, value), WIDEST_SERIES),
            )?;
            key_fits(
                &format!("tag key {tag:?}"),
                &self.catalog_tag(tenant, &key.measurement, tag),
            )?;
        }
        Ok(())
    }

    /// Checks that a field's catalog key fits.
    pub fn check_field_fits(
        &self,
        tenant: TenantId,
        measurement: &str,
        field: &str,
    ) -> Result<(), String> {
        key_fits(
            &format!("field {field:?}"),
            &self.catalog_field(tenant, measurement, field),
        )
    }

    /// Checks that an idempotency record's key fits.
    pub fn check_idempotency_key_fits(
        &self,
        tenant: TenantId,
        request_key: &str,
    ) -> Result<(), String> {
        key_fits(
            "the idempotency key",
            &self.idempotency(tenant, request_key),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_past_the_kv_limits_are_named() {
        let layout = Layout::default();
        let tenant = TenantId(7);
        let fits = SeriesKey::new("cpu", vec![("host".into(), "a".repeat(9_000))]);
        assert!(layout.check_series_fits(tenant, &fits).is_ok());
        let long_value = SeriesKey::new("cpu", vec![("host".into(), "a".repeat(10_001))]);
        let error = layout.check_series_fits(tenant, &long_value).unwrap_err();
        assert!(error.contains("tag \"host\""), "{error}");
        let long_name = SeriesKey::new("m".repeat(10_000), Vec::new());
        assert!(layout.check_series_fits(tenant, &long_name).is_err());
        let many: Vec<(String, String)> = (0..30)
            .map(|i| (format!("k{i}"), "v".repeat(4_000)))
            .collect();
        let wide = SeriesKey::new("cpu", many);
        let error = layout.check_series_fits(tenant, &wide).unwrap_err();
        assert!(error.contains("series key"), "{error}");
        assert!(layout.check_field_fits(tenant, "cpu", "usage").is_ok());
        assert!(
            layout
                .check_field_fits(tenant, "cpu", &"f".repeat(10_000))
                .is_err()
        );
        assert!(layout.check_idempotency_key_fits(tenant, "abc").is_ok());
        assert!(
            layout
                .check_idempotency_key_fits(tenant, &"k".repeat(10_000))
                .is_err()
        );
    }
}
