//! The time-series data layer over the KV trait: tenants, tokens, the measurement catalog,
//! series records and postings, data blocks and idempotency records, all under the root
//! subspace with the layout of `docs/storage.md`.
//!
//! Series identity is a 64-bit hash of the canonical series key, so stateless ingest nodes agree
//! on ids without coordinating; the series record detects collisions and resolves them by
//! probing the next id. Index records (series, postings, catalog) are written once, on first
//! sight; data blocks are blind versionstamped writes that never conflict.

mod catalog;
mod data;
mod fit;
mod lease;
mod metadata;
mod series;
mod tenant;
mod token;

pub use catalog::{FieldType, MeasurementSchema, SchemaError};
pub use data::{
    BUCKET_NANOS, DataPoint, absent_column, bucket_start, merge_blocks, now_nanos, push_value,
    read_series,
};
pub use lease::LeaseState;
pub use metadata::MetricMetadata;
pub use series::{SeriesId, SeriesKey};
pub use tenant::{InvalidRetention, RetentionSettings, TenantId};
pub use token::{Permissions, TokenGrant, TokenId, hash_token, now_secs};

use crate::keys::{Bytes, Subspace, Versionstamp};

/// The keys of the data layer, under one root subspace.
#[derive(Debug, Clone)]
pub struct Layout {
    root: Subspace,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            root: crate::keys::root(),
        }
    }
}

impl Layout {
    /// A layout under `root` (tests isolate themselves with their own root).
    pub fn with_root(root: Subspace) -> Self {
        Self { root }
    }

    /// A layout under the root subspace `(name,)` (see [`crate::keys::named_root`]).
    pub fn named(name: &str) -> Self {
        Self::with_root(crate::keys::named_root(name))
    }

    /// `("tenant", name)` → tenant record.
    pub fn tenant(&self, name: &str) -> Vec<u8> {
        self.root.pack(&("tenant", name))
    }

    /// The range of every tenant record.
    pub fn tenants(&self) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&("tenant",)).range()
    }

    /// The counter that allocates tenant ids.
    pub fn tenant_sequence(&self) -> Vec<u8> {
        self.root.pack(&("tenant_seq",))
    }

    /// `("token", sha256(token))` → grant.
    pub fn token(&self, hash: &[u8; 32]) -> Vec<u8> {
        self.root.pack(&("token", Bytes::from(&hash[..])))
    }

    /// The range of every token grant.
    pub fn tokens(&self) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&("token",)).range()
    }

    /// `("token_id", id)` → the token's hash: the index that revokes by id.
    pub fn token_index(&self, id: TokenId) -> Vec<u8> {
        self.root.pack(&("token_id", id.0))
    }

    /// `("dropped", tid)` → name: a deleted tenant whose keys are still being cleared.
    pub fn dropped_tenant(&self, tenant: TenantId) -> Vec<u8> {
        self.root.pack(&("dropped", tenant.0))
    }

    /// The range of every deleted tenant still being cleared.
    pub fn dropped_tenants(&self) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&("dropped",)).range()
    }

    /// Every key of a tenant: data, index, catalog, settings, cold index (its whole
    /// `(tid, ..)` subspace).
    pub fn tenant_keys(&self, tenant: TenantId) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&(tenant.0,)).range()
    }

    /// `(tid, "m", measurement, "f", field)` → field type.
    pub fn catalog_field(&self, tenant: TenantId, measurement: &str, field: &str) -> Vec<u8> {
        self.root.pack(&(tenant.0, "m", measurement, "f", field))
    }

    /// `(tid, "m", measurement, "t", tag_key)` → empty.
    pub fn catalog_tag(&self, tenant: TenantId, measurement: &str, tag: &str) -> Vec<u8> {
        self.root.pack(&(tenant.0, "m", measurement, "t", tag))
    }

    /// The catalog of one measurement.
    pub fn catalog_measurement(&self, tenant: TenantId, measurement: &str) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&(tenant.0, "m", measurement)).range()
    }

    /// The catalog of a tenant.
    pub fn catalog(&self, tenant: TenantId) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&(tenant.0, "m")).range()
    }

    /// `(tid, "s", series_id)` → canonical series key.
    pub fn series(&self, tenant: TenantId, series: SeriesId) -> Vec<u8> {
        self.root.pack(&(tenant.0, "s", series.0))
    }

    /// `(tid, "p", measurement, tag_key, tag_value, series_id)` → empty. The posting with an empty
    /// tag key and value lists every series of the measurement (line protocol has no empty keys).
    pub fn posting(
        &self,
        tenant: TenantId,
        measurement: &str,
        tag: (&str, &str),
        series: SeriesId,
    ) -> Vec<u8> {
        self.root
            .pack(&(tenant.0, "p", measurement, tag.0, tag.1, series.0))
    }

    /// The postings of one tag value (or, with `("", "")`, of the whole measurement).
    pub fn postings(
        &self,
        tenant: TenantId,
        measurement: &str,
        tag: (&str, &str),
    ) -> (Vec<u8>, Vec<u8>) {
        self.root
            .subspace(&(tenant.0, "p", measurement, tag.0, tag.1))
            .range()
    }

    /// The postings of every value of one tag key.
    pub fn tag_postings(
        &self,
        tenant: TenantId,
        measurement: &str,
        tag: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        self.root
            .subspace(&(tenant.0, "p", measurement, tag))
            .range()
    }

    /// The postings of every value of one tag key that starts with `prefix`: tuple-encoded
    /// strings keep byte order and escape only `\x00`, so the encoded prefix (without the
    /// string's terminator) prefixes exactly the encodings of the values that start with it.
    pub fn tag_prefix_postings(
        &self,
        tenant: TenantId,
        measurement: &str,
        tag: &str,
        prefix: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let mut begin = self
            .root
            .subspace(&(tenant.0, "p", measurement, tag))
            .pack(&(prefix,));
        begin.pop();
        let mut end = begin.clone();
        end.push(0xff);
        (begin, end)
    }

    /// Decodes the tag value and series id of a posting key.
    pub fn posting_entry(&self, key: &[u8]) -> Option<(String, SeriesId)> {
        let (_, _, _, _, value, series): (u64, String, String, String, String, u64) =
            self.root.unpack(key).ok()?;
        Some((value, SeriesId(series)))
    }

    /// Decodes the series id at the end of a posting key.
    pub fn posting_series(&self, key: &[u8]) -> Option<SeriesId> {
        let (_, _, _, _, _, series): (u64, String, String, String, String, u64) =
            self.root.unpack(key).ok()?;
        Some(SeriesId(series))
    }

    /// `(tid, "d", series_id, bucket_start, versionstamp)`: a versionstamped-key parameter.
    /// `part` (the versionstamp's user version) tells apart blocks of one series and bucket
    /// written by the same transaction.
    pub fn data_stamped(
        &self,
        tenant: TenantId,
        series: SeriesId,
        bucket: i64,
        part: u16,
    ) -> Vec<u8> {
        self.root.pack_with_versionstamp(&(
            tenant.0,
            "d",
            series.0,
            bucket,
            Versionstamp::incomplete(part),
        ))
    }

    /// `("commit", hour, group_id)`: marks that a write group committed, so a retry after
    /// `commit_unknown_result` can tell. Markers are cleared after a few hours.
    pub fn commit_marker(&self, hour: i64, group: u128) -> Vec<u8> {
        self.root
            .pack(&("commit", hour, Bytes::from(&group.to_be_bytes()[..])))
    }

    /// Every commit marker of hours before `hour`.
    pub fn commit_markers_before(&self, hour: i64) -> (Vec<u8>, Vec<u8>) {
        let begin = self.root.subspace(&("commit",)).range().0;
        let end = self.root.pack(&("commit", hour));
        (begin, end)
    }

    /// The data keys of one series with bucket starts in `[first_bucket, last_bucket]`.
    pub fn data_range(
        &self,
        tenant: TenantId,
        series: SeriesId,
        first_bucket: i64,
        last_bucket: i64,
    ) -> (Vec<u8>, Vec<u8>) {
        let begin = self
            .root
            .subspace(&(tenant.0, "d", series.0, first_bucket))
            .range()
            .0;
        let end = self
            .root
            .subspace(&(tenant.0, "d", series.0, last_bucket))
            .range()
            .1;
        (begin, end)
    }

    /// The bucket start of a data key.
    pub fn data_bucket(&self, key: &[u8]) -> Option<i64> {
        self.data_entry(key).map(|(_, bucket)| bucket)
    }

    /// `(tid, "x", bucket_start, series_id)` → empty: the bucket has blocks to compact.
    pub fn dirty(&self, tenant: TenantId, bucket: i64, series: SeriesId) -> Vec<u8> {
        self.root.pack(&(tenant.0, "x", bucket, series.0))
    }

    /// The dirty markers of buckets starting before `bucket`.
    pub fn dirty_before(&self, tenant: TenantId, bucket: i64) -> (Vec<u8>, Vec<u8>) {
        let begin = self.root.subspace(&(tenant.0, "x")).range().0;
        let end = self.root.pack(&(tenant.0, "x", bucket));
        (begin, end)
    }

    /// Decodes a dirty marker's bucket and series.
    pub fn dirty_entry(&self, key: &[u8]) -> Option<(i64, SeriesId)> {
        let (_, _, bucket, series): (u64, String, i64, u64) = self.root.unpack(key).ok()?;
        Some((bucket, SeriesId(series)))
    }

    /// `(tid, "w", request_key)` → commit record of an idempotent write.
    pub fn idempotency(&self, tenant: TenantId, request_key: &str) -> Vec<u8> {
        self.root.pack(&(tenant.0, "w", request_key))
    }

    /// The root subspace.
    pub fn root(&self) -> &Subspace {
        &self.root
    }

    /// `(tid, "c", measurement, partition_start, file_id)` → a cold file's index entry.
    pub fn cold_file(
        &self,
        tenant: TenantId,
        measurement: &str,
        partition_start: i64,
        file_id: &str,
    ) -> Vec<u8> {
        self.root
            .pack(&(tenant.0, "c", measurement, partition_start, file_id))
    }

    /// Decodes a cold index key: tenant, measurement, partition start, file id.
    pub fn cold_file_key(&self, key: &[u8]) -> Option<(u64, String, i64, String)> {
        let (tenant, _, measurement, start, file_id): (u64, String, String, i64, String) =
            self.root.unpack(key).ok()?;
        Some((tenant, measurement, start, file_id))
    }

    /// The cold index entries of a measurement with partitions starting at or before `until`.
    pub fn cold_files_until(
        &self,
        tenant: TenantId,
        measurement: &str,
        until: i64,
    ) -> (Vec<u8>, Vec<u8>) {
        let begin = self.root.subspace(&(tenant.0, "c", measurement)).range().0;
        let end = self
            .root
            .subspace(&(tenant.0, "c", measurement, until))
            .range()
            .1;
        (begin, end)
    }

    /// Every cold index entry of a tenant.
    pub fn cold_tenant(&self, tenant: TenantId) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&(tenant.0, "c")).range()
    }

    /// `(tid, "r", retired_at, path)` → empty: an object out of the index, to delete.
    pub fn retired(&self, tenant: TenantId, retired_at: i64, path: &str) -> Vec<u8> {
        self.root.pack(&(tenant.0, "r", retired_at, path))
    }

    /// The retired records of a tenant retired before `before`.
    pub fn retired_before(&self, tenant: TenantId, before: i64) -> (Vec<u8>, Vec<u8>) {
        let begin = self.root.subspace(&(tenant.0, "r")).range().0;
        let end = self.root.pack(&(tenant.0, "r", before));
        (begin, end)
    }

    /// `(tid, "cfg", "retention")` → `(hot_ns, total_ns)`: the tenant's retention settings.
    pub fn retention_settings(&self, tenant: TenantId) -> Vec<u8> {
        self.root.pack(&(tenant.0, "cfg", "retention"))
    }

    /// Every data key of a tenant.
    pub fn tenant_data(&self, tenant: TenantId) -> (Vec<u8>, Vec<u8>) {
        self.root.subspace(&(tenant.0, "d")).range()
    }

    /// Decodes the series and bucket of a data key: a block's
    /// `(tid, "d", sid, bucket, versionstamp)` or a compacted part's
    /// `(tid, "d", sid, bucket, versionstamp, part)`.
    pub fn data_entry(&self, key: &[u8]) -> Option<(SeriesId, i64)> {
        if let Ok((_, _, series, bucket, _)) = self
            .root
            .unpack::<(u64, String, u64, i64, Versionstamp)>(key)
        {
            return Some((SeriesId(series), bucket));
        }
        let (_, _, series, bucket, _, _): (u64, String, u64, i64, Versionstamp, i64) =
            self.root.unpack(key).ok()?;
        Some((SeriesId(series), bucket))
    }

    /// The key of compacted part `index` of a merge whose newest consumed key is `newest`.
    ///
    /// Parts sort strictly after every key they consumed and before any later block: the
    /// versionstamp of `newest` extended by a part number (one past `newest`'s own part number
    /// when it is a part itself). A reader that saw keys up to some `k` (tiering, before it
    /// clears `[.., k]`) therefore never loses a part holding data written after `k`: such a
    /// part consumed a key past `k` and sorts after it.
    pub fn data_part_after(&self, newest: &[u8], index: u16) -> Option<Vec<u8>> {
        let (tenant, series, bucket, stamp, first_part) =
            if let Ok((tenant, _, series, bucket, stamp)) =
                self.root
                    .unpack::<(u64, String, u64, i64, Versionstamp)>(newest)
            {
                (tenant, series, bucket, stamp, 0)
            } else {
                let (tenant, _, series, bucket, stamp, part): (
                    u64,
                    String,
                    u64,
                    i64,
                    Versionstamp,
                    i64,
                ) = self.root.unpack(newest).ok()?;
                (tenant, series, bucket, stamp, part.checked_add(1)?)
            };
        let part = first_part.checked_add(i64::from(index))?;
        Some(self.root.pack(&(tenant, "d", series, bucket, stamp, part)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_prefix_range_holds_exactly_the_values_with_that_prefix() {
        let layout = Layout::named("t");
        let tenant = TenantId(7);
        for prefix in ["api-", "a", "x\u{0}y", "é"] {
            let (begin, end) = layout.tag_prefix_postings(tenant, "m", "path", prefix);
            for value in [
                "api-", "api-1", "api", "apj", "a", "b", "", "x\u{0}y", "x\u{0}yz", "x", "é1", "f",
            ] {
                let key = layout.posting(tenant, "m", ("path", value), SeriesId(1));
                let inside = begin.as_slice() <= key.as_slice() && key.as_slice() < end.as_slice();
                assert_eq!(inside, value.starts_with(prefix), "{prefix:?} / {value:?}");
            }
            // Other tags and measurements stay outside.
            let other = layout.posting(tenant, "m", ("pathx", prefix), SeriesId(1));
            assert!(!(begin <= other && other < end));
        }
    }
}
