//! The TOML file of `tidemark serve --config`: every key optional, so a file sets only what it
//! changes; unknown keys are refused.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::StorageBackend;
use super::limits::{FileHttp, FileIngest, FileQuery};
use super::protocols::{FileOtlp, FileRemoteWrite};

/// The configuration file: every key optional, so a file sets only what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) version: Option<u32>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) listen: Option<SocketAddr>,
    pub(super) log_level: Option<String>,
    pub(super) max_request_bytes: Option<usize>,
    pub(super) create_databases: Option<bool>,
    pub(super) default_database: Option<String>,
    pub(super) compaction_seal_after_seconds: Option<u64>,
    pub(super) query_memory_bytes: Option<usize>,
    pub(super) admin_token_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) storage: FileStorage,
    #[serde(default)]
    pub(super) tls: FileTls,
    #[serde(default)]
    pub(super) tiering: FileTiering,
    #[serde(default)]
    pub(super) object_store: FileObjectStore,
    #[serde(default)]
    pub(super) ingest: FileIngest,
    #[serde(default)]
    pub(super) query: FileQuery,
    #[serde(default)]
    pub(super) http: FileHttp,
    #[serde(default)]
    pub(super) otlp: FileOtlp,
    #[serde(default)]
    pub(super) remote_write: FileRemoteWrite,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTiering {
    pub(super) hot_retention: Option<String>,
    pub(super) retention: Option<String>,
    pub(super) interval: Option<String>,
    pub(super) partition: Option<String>,
    pub(super) grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileObjectStore {
    pub(super) url: Option<String>,
    pub(super) endpoint: Option<String>,
    pub(super) region: Option<String>,
    pub(super) access_key_id: Option<String>,
    pub(super) secret_access_key: Option<String>,
    pub(super) path_style: Option<bool>,
    pub(super) allow_http: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTls {
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileStorage {
    pub(super) backend: Option<StorageBackend>,
    pub(super) fdb_cluster_file: Option<PathBuf>,
    pub(super) root: Option<String>,
}
