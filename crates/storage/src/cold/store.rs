//! Object storage for cold files, through the `object_store` crate: a local directory (the
//! default, inside the data directory) or an S3-compatible bucket.
//!
//! Every write is checked: the object is read back by `head` and its size compared, and the
//! index records size and xxh3-64 checksum, which every fetch verifies. Object paths are unique
//! per attempt, so a retried put never overwrites a registered file.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::ColdError;

/// Where cold files go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectStoreConfig {
    /// `s3://bucket/prefix`, `file:///dir`, a plain directory path, or `None` for `cold/`
    /// inside the data directory.
    pub url: Option<String>,
    /// S3 endpoint (for S3-compatible stores such as MinIO or moto).
    pub endpoint: Option<String>,
    /// S3 region.
    pub region: Option<String>,
    /// S3 access key id (else the standard AWS environment and instance credentials).
    pub access_key_id: Option<String>,
    /// S3 secret access key.
    pub secret_access_key: Option<String>,
    /// Address the bucket in the path (`endpoint/bucket/key`) rather than the host name; what
    /// most S3-compatible servers want.
    pub path_style: bool,
    /// Allow `http://` endpoints.
    pub allow_http: bool,
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Path relative to the store's prefix.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification (ns since the epoch).
    pub modified: i64,
}

/// The cold tier's object store, rooted at a prefix.
#[derive(Debug, Clone)]
pub struct ColdStore {
    pub(super) inner: Arc<dyn ObjectStore>,
    pub(super) prefix: Path,
    description: String,
    /// The deployment that claimed the prefix ([`ColdStore::claim`]); new objects and the
    /// collector's listing live under `d<id>/`.
    pub(super) deployment: Option<Arc<str>>,
}

impl ColdStore {
    /// Opens the store `config` names; `data_dir` holds the default local directory. A local
    /// directory that is the data directory, contains it, or lies inside its KV store is
    /// refused: the collector would treat the database's own files as stray objects.
    pub fn open(config: &ObjectStoreConfig, data_dir: &std::path::Path) -> Result<Self, ColdError> {
        let url = config.url.as_deref().unwrap_or("").trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            return Self::s3(config, rest);
        }
        let dir = match url.strip_prefix("file://") {
            Some(path) => PathBuf::from(path),
            None if url.is_empty() => data_dir.join("cold"),
            None if url.contains("://") => {
                return Err(ColdError::Config(format!(
                    "unsupported object store URL {url:?}: use s3://bucket/prefix or a directory"
                )));
            }
            None => PathBuf::from(url),
        };
        let store = Self::local(&dir)?;
        check_no_overlap(&dir, data_dir)?;
        Ok(store)
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, ColdError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            ColdError::Config(format!("cannot create {}: {error}", dir.display()))
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Self {
            inner: Arc::new(store),
            prefix: Path::default(),
            description: format!("directory {}", dir.display()),
            deployment: None,
        })
    }

    fn s3(config: &ObjectStoreConfig, bucket_and_prefix: &str) -> Result<Self, ColdError> {
        let (bucket, prefix) = bucket_and_prefix
            .split_once('/')
            .unwrap_or((bucket_and_prefix, ""));
        if bucket.is_empty() {
            return Err(ColdError::Config("s3:// URL without a bucket".into()));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        builder = builder.with_region(config.region.as_deref().unwrap_or("us-east-1"));
        if let Some(key) = &config.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        Ok(Self {
            inner: Arc::new(builder.build()?),
            prefix: Path::from(prefix.trim_matches('/')),
            description: format!("s3://{bucket}/{}", prefix.trim_matches('/')),
            deployment: None,
        })
    }

    /// Where the store is, for logs and status.
    pub fn description(&self) -> &str {
        &self.description
    }

    pub(super) fn full(&self, path: &str) -> Result<Path, ColdError> {
        let full = if self.prefix.as_ref().is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        };
        Path::parse(full)
            .map_err(|error| ColdError::Corrupt(format!("object path {path:?}: {error}")))
    }

    /// Writes an object and checks its stored size.
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<(), ColdError> {
        let location = self.full(path)?;
        let size = bytes.len() as u64;
        self.inner
            .put(&location, PutPayload::from_bytes(bytes))
            .await?;
        let stored = self.inner.head(&location).await?;
        if stored.size != size {
            return Err(ColdError::Check {
                path: path.to_string(),
                reason: format!("wrote {size} bytes, the store holds {}", stored.size),
            });
        }
        Ok(())
    }

    /// Fetches an object and checks it against the size and checksum the index recorded.
    pub async fn get_checked(
        &self,
        path: &str,
        size: u64,
        checksum: u64,
    ) -> Result<Bytes, ColdError> {
        let bytes = self.inner.get(&self.full(path)?).await?.bytes().await?;
        if bytes.len() as u64 != size {
            return Err(ColdError::Check {
                path: path.to_string(),
                reason: format!("expected {size} bytes, got {}", bytes.len()),
            });
        }
        let found = checksum_of(&bytes);
        if found != checksum {
            return Err(ColdError::Check {
                path: path.to_string(),
                reason: format!("checksum {found:016x}, the index recorded {checksum:016x}"),
            });
        }
        Ok(bytes)
    }

    /// Fetches a byte range of an object.
    pub async fn get_range(
        &self,
        path: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, ColdError> {
        Ok(self.inner.get_range(&self.full(path)?, range).await?)
    }

    /// Fetches several byte ranges of an object (the store coalesces nearby ones).
    pub async fn get_ranges(
        &self,
        path: &str,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<Bytes>, ColdError> {
        Ok(self.inner.get_ranges(&self.full(path)?, ranges).await?)
    }

    /// Deletes an object; a missing object is not an error (deletes are retried).
    pub async fn delete(&self, path: &str) -> Result<(), ColdError> {
        match self.inner.delete(&self.full(path)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The deployment this store was claimed for.
    fn deployment(&self) -> Result<&str, ColdError> {
        self.deployment.as_deref().ok_or_else(|| {
            ColdError::Config("the object store was not claimed by a deployment".into())
        })
    }

    /// The object path of a new cold file:
    /// `d{deployment}/t{tenant}/{measurement}/{partition day}/{file_id}.parquet`, the
    /// measurement reduced to a short, portable directory name (see [`measurement_dir`]).
    pub fn object_path(
        &self,
        tenant: u64,
        measurement: &str,
        partition_start: i64,
        file_id: &str,
    ) -> Result<String, ColdError> {
        let parts = [
            format!("d{}", self.deployment()?),
            format!("t{tenant}"),
            measurement_dir(measurement),
            chrono_free_date(partition_start),
            format!("{file_id}.parquet"),
        ];
        Ok(Path::from_iter(
            parts
                .iter()
                .map(|part| object_store::path::PathPart::from(part.as_str())),
        )
        .to_string())
    }

    /// Lists every object this deployment wrote (under `d<id>/`), never anything else.
    pub async fn list(&self) -> Result<Vec<ObjectInfo>, ColdError> {
        let own = self.full(&format!("d{}", self.deployment()?))?;
        let objects: Vec<_> = self.inner.list(Some(&own)).try_collect().await?;
        Ok(objects
            .into_iter()
            .map(|meta| {
                let relative: Vec<_> = match meta.location.prefix_match(&self.prefix) {
                    Some(parts) => parts.collect(),
                    None => meta.location.parts().collect(),
                };
                ObjectInfo {
                    path: Path::from_iter(relative).to_string(),
                    size: meta.size,
                    modified: meta.last_modified.timestamp_nanos_opt().unwrap_or(i64::MAX),
                }
            })
            .collect())
    }
}

/// The checksum recorded for every cold object.
pub fn checksum_of(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// A measurement as one directory name: its letters, digits, `_`, `-` and `.` (at most 48),
/// then `-` and 8 hex digits of its hash. Names of any length or alphabet map to short, portable
/// names (a local filesystem refuses names over 255 bytes), and distinct measurements whose
/// readable parts coincide stay apart.
pub fn measurement_dir(measurement: &str) -> String {
    let readable: String = measurement
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(48)
        .collect();
    let readable = readable.trim_start_matches('.');
    let hash = xxhash_rust::xxh3::xxh3_64(measurement.as_bytes()) as u32;
    format!("{readable}-{hash:08x}")
}

/// Refuses a local object store directory that overlaps the data directory.
fn check_no_overlap(store: &std::path::Path, data_dir: &std::path::Path) -> Result<(), ColdError> {
    let canonical =
        |path: &std::path::Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let store = canonical(store);
    let data = canonical(data_dir);
    let kv = data.join("kv");
    if store == data || data.starts_with(&store) || store.starts_with(&kv) {
        return Err(ColdError::Config(format!(
            "the object store directory {} overlaps the data directory {}; use a directory \
             of its own (the default is <data_dir>/cold)",
            store.display(),
            data.display()
        )));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH` of a timestamp, without a calendar library: days since the epoch to a civil
/// date (Howard Hinnant's algorithm).
fn chrono_free_date(nanos: i64) -> String {
    let seconds = nanos.div_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let hour = seconds.rem_euclid(86_400) / 3_600;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths_name_the_partition_day() {
        let mut store = ColdStore::local(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(store.object_path(3, "cpu", 0, "ab12").is_err(), "unclaimed");
        store.deployment = Some("9f".into());
        // 2024-03-01T00:00:00Z
        let path = store
            .object_path(3, "cpu load", 1_709_251_200_000_000_000, "ab12")
            .unwrap();
        let dir = measurement_dir("cpu load");
        assert_eq!(path, format!("d9f/t3/{dir}/2024-03-01T00/ab12.parquet"));
        assert!(dir.starts_with("cpuload-"), "{dir}");
        assert_eq!(chrono_free_date(0), "1970-01-01T00");
        assert_eq!(chrono_free_date(-1), "1969-12-31T23");
        assert_eq!(chrono_free_date(i64::MIN), "1677-09-21T00");
    }

    #[test]
    fn measurement_directories_are_short_and_distinct() {
        let long = "m".repeat(300);
        assert!(measurement_dir(&long).len() <= 57);
        assert_ne!(measurement_dir("a/b"), measurement_dir("ab"));
        assert!(!measurement_dir("..").starts_with('.'));
        assert!(measurement_dir("ü").starts_with('-'));
    }

    #[test]
    fn stores_overlapping_the_data_directory_are_refused() {
        let data = tempfile::tempdir().unwrap();
        let url = |path: &std::path::Path| ObjectStoreConfig {
            url: Some(path.display().to_string()),
            ..ObjectStoreConfig::default()
        };
        assert!(ColdStore::open(&ObjectStoreConfig::default(), data.path()).is_ok());
        assert!(ColdStore::open(&url(data.path()), data.path()).is_err());
        assert!(ColdStore::open(&url(&data.path().join("kv/x")), data.path()).is_err());
        let parent = data.path().parent().unwrap();
        assert!(ColdStore::open(&url(parent), data.path()).is_err());
    }

    #[tokio::test]
    async fn local_store_round_trips_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ColdStore::open(&ObjectStoreConfig::default(), dir.path()).unwrap();
        store.deployment = Some("1".into());
        let bytes = Bytes::from_static(b"parquet bytes");
        store.put("d1/t1/m/x.parquet", bytes.clone()).await.unwrap();
        store.put("other/y", bytes.clone()).await.unwrap();
        let sum = checksum_of(&bytes);
        let back = store
            .get_checked("d1/t1/m/x.parquet", bytes.len() as u64, sum)
            .await
            .unwrap();
        assert_eq!(back, bytes);
        let wrong = store
            .get_checked("d1/t1/m/x.parquet", bytes.len() as u64, sum ^ 1)
            .await;
        assert!(matches!(wrong, Err(ColdError::Check { .. })));
        let listed = store.list().await.unwrap();
        assert_eq!(
            listed.len(),
            1,
            "only this deployment's objects: {listed:?}"
        );
        assert_eq!(listed[0].path, "d1/t1/m/x.parquet");
        store.delete("d1/t1/m/x.parquet").await.unwrap();
        store.delete("d1/t1/m/x.parquet").await.unwrap();
        assert!(store.list().await.unwrap().is_empty());
    }
}
