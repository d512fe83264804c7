//! What one write may contain: every name, value and count a client sends is bounded, and a
//! line (or remote_write series) past a bound is refused on its own with a message naming the
//! bound, while the rest of the request is written.
//!
//! The defaults keep every index record inside FDB's key and value limits
//! ([`IngestLimits::check`] refuses settings that would not), so no single line can make a
//! whole commit group fail.

use tidemark_storage::keys::{MAX_KEY_BYTES, MAX_VALUE_BYTES};

/// Bounds on the content of writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestLimits {
    /// Longest measurement name, tag (label) name or field name, in bytes.
    pub max_name_bytes: usize,
    /// Longest tag (label) value, in bytes.
    pub max_tag_value_bytes: usize,
    /// Most tags (labels) one series may have.
    pub max_tags_per_series: usize,
    /// Longest series key (measurement and every tag), in bytes.
    pub max_series_key_bytes: usize,
    /// Most fields one line may carry.
    pub max_fields_per_line: usize,
    /// Longest string field value, in bytes (InfluxDB's documented 64 KiB).
    pub max_string_field_bytes: usize,
    /// Most columns (tags and fields) one measurement may have; a line that would add one more
    /// is refused.
    pub max_columns_per_measurement: usize,
    /// Longest `Idempotency-Key` header.
    pub max_idempotency_key_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_name_bytes: 512,
            max_tag_value_bytes: 4_096,
            max_tags_per_series: 64,
            max_series_key_bytes: 65_536,
            max_fields_per_line: 1_000,
            max_string_field_bytes: 64 * 1024,
            max_columns_per_measurement: 1_000,
            max_idempotency_key_bytes: 256,
        }
    }
}

/// Bytes an index key spends besides the names and values in it (tuple framing, tenant and
/// series ids, subspace prefixes), with room to spare.
const INDEX_KEY_OVERHEAD: usize = 128;

impl IngestLimits {
    /// Refuses settings under which a valid series could still overflow a KV limit (a posting
    /// key holds a measurement, a tag name and a tag value; the series record holds the key).
    pub fn check(&self) -> Result<(), String> {
        let posting = 2 * self.max_name_bytes + self.max_tag_value_bytes + INDEX_KEY_OVERHEAD;
        if posting > MAX_KEY_BYTES {
            return Err(format!(
                "two names ({} bytes each) and a tag value ({} bytes) must fit a storage key of \
                 {MAX_KEY_BYTES} bytes; lower max_name_bytes or max_tag_value_bytes",
                self.max_name_bytes, self.max_tag_value_bytes
            ));
        }
        if self.max_series_key_bytes + INDEX_KEY_OVERHEAD > MAX_VALUE_BYTES {
            return Err(format!(
                "max_series_key_bytes must stay below {} (a series record is one storage value)",
                MAX_VALUE_BYTES - INDEX_KEY_OVERHEAD
            ));
        }
        if self.max_idempotency_key_bytes + INDEX_KEY_OVERHEAD > MAX_KEY_BYTES {
            return Err("max_idempotency_key_bytes must fit a storage key".into());
        }
        let zero = [
            ("max_name_bytes", self.max_name_bytes),
            ("max_tag_value_bytes", self.max_tag_value_bytes),
            ("max_fields_per_line", self.max_fields_per_line),
            (
                "max_columns_per_measurement",
                self.max_columns_per_measurement,
            ),
        ];
        if let Some((name, _)) = zero.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        Ok(())
    }

    /// Checks one name (measurement, tag or field).
    pub fn name(&self, what: &str, name: &str) -> Result<(), String> {
        if name.len() > self.max_name_bytes {
            refused("name_bytes");
            return Err(format!(
                "{what} is {} bytes long; the limit is {} (max_name_bytes)",
                name.len(),
                self.max_name_bytes
            ));
        }
        Ok(())
    }

    /// Checks a series' tags: their count, each name and value, and the key's total size.
    pub fn series<'a>(
        &self,
        measurement: &str,
        tags: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), String> {
        self.name("measurement", measurement)?;
        if tags.len() > self.max_tags_per_series {
            refused("tags_per_series");
            return Err(format!(
                "the series has {} tags; the limit is {} (max_tags_per_series)",
                tags.len(),
                self.max_tags_per_series
            ));
        }
        let mut total = measurement.len();
        for (key, value) in tags {
            self.name("tag key", key)?;
            if value.len() > self.max_tag_value_bytes {
                refused("tag_value_bytes");
                return Err(format!(
                    "the value of tag {key:?} is {} bytes long; the limit is {} \
                     (max_tag_value_bytes)",
                    value.len(),
                    self.max_tag_value_bytes
                ));
            }
            total += key.len() + value.len() + 2;
        }
        if total > self.max_series_key_bytes {
            refused("series_key_bytes");
            return Err(format!(
                "the series key is {total} bytes long; the limit is {} (max_series_key_bytes)",
                self.max_series_key_bytes
            ));
        }
        Ok(())
    }
}

/// Counts a write refused by a limit in `/metrics`, as `tidemark_limit_refusals_total{limit}`.
pub fn refused(limit: &'static str) {
    metrics::counter!("tidemark_limit_refusals_total", "limit" => limit).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_fit_the_storage_limits_and_bad_settings_are_named() {
        assert_eq!(IngestLimits::default().check(), Ok(()));
        let too_wide = IngestLimits {
            max_tag_value_bytes: 9_800,
            ..IngestLimits::default()
        };
        assert!(
            too_wide
                .check()
                .unwrap_err()
                .contains("max_tag_value_bytes")
        );
        let zero = IngestLimits {
            max_fields_per_line: 0,
            ..IngestLimits::default()
        };
        assert!(zero.check().unwrap_err().contains("max_fields_per_line"));
    }

    #[test]
    fn series_bounds_name_what_was_too_big() {
        let limits = IngestLimits::default();
        let long = "v".repeat(4_097);
        let error = limits
            .series("cpu", [("host", long.as_str())].into_iter())
            .unwrap_err();
        assert!(
            error.contains("tag \"host\"") && error.contains("4097"),
            "{error}"
        );
        let tags: Vec<(String, String)> = (0..65).map(|i| (format!("k{i}"), "v".into())).collect();
        let error = limits
            .series("cpu", tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap_err();
        assert!(error.contains("65 tags"), "{error}");
        assert!(limits.series("cpu", [("host", "a")].into_iter()).is_ok());
    }
}
