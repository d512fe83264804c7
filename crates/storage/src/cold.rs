//! The cold tier: Parquet files on object storage ([`file`], [`store`]) and the cold index in
//! the KV store that says which files hold which data.
//!
//! Index keys are `(tid, "c", measurement, partition_start, file_id)`; a file leaves the index
//! before its object is deleted, through a retired record `(tid, "r", retired_at, path)` that
//! the collector honours only after a grace period, so a query that read the index just before
//! can still fetch the file. The invariant that makes tiering safe for readers: at every read
//! version, each stored value is in hot storage or in an indexed file (or both; the dedup rule
//! makes hot win). Tiering registers a file before it clears the hot keys the file holds.

pub mod deployment;
pub mod file;
pub mod read;
pub mod store;

use crate::error::KvResult;
use crate::keys::{Bytes as TupleBytes, pack, unpack};
use crate::kv::{KvTransaction, RangeRequest, StreamingMode};
use crate::tsdb::{Layout, TenantId};

pub use file::{EncodedFile, SeriesRows, decimal_scale, encode_file};
pub use read::{ColdFileReader, ColdSlice, DecodedRows};
pub use store::{ColdStore, ObjectInfo, ObjectStoreConfig};

/// Why a cold-tier operation failed (KV errors are reported by the caller's own enum).
#[derive(Debug, thiserror::Error)]
pub enum ColdError {
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Parquet encoding or decoding failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A fetched object is not what the index recorded.
    #[error("object {path} failed its check: {reason}")]
    Check {
        /// The object path.
        path: String,
        /// What differed.
        reason: String,
    },
    /// Stored data does not decode.
    #[error("corrupt cold data: {0}")]
    Corrupt(String),
    /// The object store configuration is unusable.
    #[error("object store configuration: {0}")]
    Config(String),
    /// The KV store failed (claiming a prefix reads and writes the deployment id).
    #[error("storage: {0}")]
    Kv(#[from] crate::KvError),
}

/// One file of the cold index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdFileEntry {
    /// The measurement whose rows it holds.
    pub measurement: String,
    /// The partition it belongs to: `[start, end)` in ns.
    pub partition: (i64, i64),
    /// Unique id (hex).
    pub file_id: String,
    /// Object path relative to the store's prefix.
    pub path: String,
    /// Smallest and largest timestamp in the file.
    pub time_range: (i64, i64),
    /// Smallest and largest series id in the file.
    pub series_range: (u64, u64),
    /// Rows.
    pub rows: u64,
    /// Present field values.
    pub values: u64,
    /// Object size in bytes.
    pub bytes: u64,
    /// xxh3-64 of the object's bytes.
    pub checksum: u64,
    /// When it was written (ns).
    pub created: i64,
}

impl ColdFileEntry {
    /// True when the file's series range includes `series`.
    pub fn may_hold(&self, series: crate::tsdb::SeriesId) -> bool {
        (self.series_range.0..=self.series_range.1).contains(&series.0)
    }

    /// True when the file's rows may fall in `[start, end]`.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.time_range.1 >= start && self.time_range.0 <= end
    }

    fn key(&self, layout: &Layout, tenant: TenantId) -> Vec<u8> {
        layout.cold_file(tenant, &self.measurement, self.partition.0, &self.file_id)
    }

    fn encode(&self) -> Vec<u8> {
        pack(&(
            (self.path.as_str(), self.partition.1, self.created),
            (self.time_range.0, self.time_range.1),
            (
                TupleBytes::from(&self.series_range.0.to_be_bytes()[..]),
                TupleBytes::from(&self.series_range.1.to_be_bytes()[..]),
            ),
            (self.rows, self.values, self.bytes),
            TupleBytes::from(&self.checksum.to_be_bytes()[..]),
        ))
    }

    fn decode(layout: &Layout, key: &[u8], value: &[u8]) -> Option<Self> {
        let (_, measurement, start, file_id) = layout.cold_file_key(key)?;
        type Value = (
            (String, i64, i64),
            (i64, i64),
            (Vec<u8>, Vec<u8>),
            (u64, u64, u64),
            Vec<u8>,
        );
        let ((path, end, created), time_range, (min, max), (rows, values, bytes), checksum): Value =
            unpack(value).ok()?;
        let u64_of = |bytes: &[u8]| Some(u64::from_be_bytes(bytes.try_into().ok()?));
        Some(Self {
            measurement,
            partition: (start, end),
            file_id,
            path,
            time_range,
            series_range: (u64_of(&min)?, u64_of(&max)?),
            rows,
            values,
            bytes,
            checksum: u64_of(&checksum)?,
            created,
        })
    }
}

/// A file taken out of the index, waiting for its grace period before deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredFile {
    /// When it left the index (ns).
    pub retired_at: i64,
    /// Object path relative to the store's prefix.
    pub path: String,
}

impl Layout {
    /// Registers a file in the cold index.
    pub fn register_cold_file<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        entry: &ColdFileEntry,
    ) {
        tx.set(&entry.key(self, tenant), &entry.encode());
    }

    /// Takes a file out of the index and queues its object for deletion.
    pub fn retire_cold_file<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        entry: &ColdFileEntry,
        now: i64,
    ) {
        tx.clear(&entry.key(self, tenant));
        tx.set(&self.retired(tenant, now, &entry.path), &[]);
    }

    /// The indexed files of a measurement whose partitions start at or before `until`.
    pub async fn cold_files<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        measurement: &str,
        until: i64,
        snapshot: bool,
    ) -> KvResult<Vec<ColdFileEntry>> {
        let (begin, end) = self.cold_files_until(tenant, measurement, until);
        // One round trip: scans read this in every transaction of their read windows.
        let request = RangeRequest::new(begin, end).mode(StreamingMode::WantAll);
        self.decode_cold(tx.get_range_all(&request, snapshot).await?)
    }

    /// Every indexed file of a tenant.
    pub async fn tenant_cold_files<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        snapshot: bool,
    ) -> KvResult<Vec<ColdFileEntry>> {
        let (begin, end) = self.cold_tenant(tenant);
        // One round trip: scans read this in every transaction of their read windows.
        let request = RangeRequest::new(begin, end).mode(StreamingMode::WantAll);
        self.decode_cold(tx.get_range_all(&request, snapshot).await?)
    }

    fn decode_cold(&self, rows: Vec<crate::kv::KeyValue>) -> KvResult<Vec<ColdFileEntry>> {
        rows.iter()
            .map(|(key, value)| {
                ColdFileEntry::decode(self, key, value).ok_or_else(|| {
                    crate::KvError::internal(format!("undecodable cold index entry {key:02x?}"))
                })
            })
            .collect()
    }

    /// Retired files of a tenant retired before `before`.
    pub async fn retired_files<T: KvTransaction>(
        &self,
        tx: &T,
        tenant: TenantId,
        before: i64,
    ) -> KvResult<Vec<RetiredFile>> {
        let (begin, end) = self.retired_before(tenant, before);
        let rows = tx
            .get_range_all(
                &RangeRequest::new(begin, end).mode(StreamingMode::WantAll),
                true,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|(key, _)| {
                let (_, _, retired_at, path): (u64, String, i64, String) =
                    self.root().unpack(key).ok()?;
                Some(RetiredFile { retired_at, path })
            })
            .collect())
    }

    /// Forgets a retired file once its object is deleted.
    pub fn forget_retired<T: KvTransaction>(&self, tx: &T, tenant: TenantId, file: &RetiredFile) {
        tx.clear(&self.retired(tenant, file.retired_at, &file.path));
    }
}
