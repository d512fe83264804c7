//! The one typed configuration of `tidemark serve`.
//!
//! Precedence, highest first: command-line flags, `TIDEMARK_*` environment variables, the TOML
//! file given by `--config`, built-in defaults. Clap resolves flag-over-env; this module lays the
//! result over the file and the defaults. No other module reads the environment.

mod args;
mod client;
mod file;
mod limits;
mod protocols;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

pub use args::{ServeArgs, StorageArgs};
pub use client::server_url;
use file::FileConfig;
pub use limits::{HttpArgs, HttpSettings, IngestArgs, IngestSettings, QueryArgs, QuerySettings};
pub use protocols::{OtlpSettings, ProtocolArgs, RemoteWriteSettings};

/// The configuration file format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// Errors in assembling the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for this schema.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// The file declares a format version this build does not know.
    #[error("config file {path} has version {found}; this build reads version {CONFIG_VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// Only one of the TLS certificate and key is configured.
    #[error("TLS needs both a certificate and a key; only the {0} is configured")]
    HalfTls(&'static str),
    /// The listen address is not on loopback and no authentication is configured.
    #[error(
        "refusing to listen on {0}: it is reachable beyond this machine and authentication is \
         not configured; create a token first (`tidemark token create --admin --data-dir DIR`, or \
         `--admin-token-file FILE`) or listen on a loopback address (e.g. 127.0.0.1:8181)"
    )]
    InsecureListen(SocketAddr),
    /// A setting has a value this build cannot use.
    #[error("invalid {key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// Which storage backend holds the hot tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// fjall plus Tidemark's FDB-style resolver, inside this process (no server needed).
    #[default]
    Embedded,
    /// A FoundationDB cluster (needs a build with the `fdb` feature and libfdb_c).
    Fdb,
}

/// Who may read the engine's own metrics (`/metrics`) and `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MetricsAuth {
    /// Anyone who reaches the listener (a scraper without credentials).
    Open,
    /// Once authentication is on, a valid token of any database, or an admin token.
    Token,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Format version.
    pub version: u32,
    /// Directory of the embedded storage and local object store.
    pub data_dir: PathBuf,
    /// Listener address.
    pub listen: SocketAddr,
    /// Log filter.
    pub log_level: String,
    /// Largest write body, before and after decompression.
    pub max_request_bytes: usize,
    /// Databases are created by their first write.
    pub create_databases: bool,
    /// Database of Prometheus requests that name none.
    pub default_database: String,
    /// Seconds after a bucket's end before compaction merges its blocks.
    pub compaction_seal_after_seconds: u64,
    /// Memory all running queries may hold.
    pub query_memory_bytes: usize,
    /// File holding the first admin token, stored at start when no admin token exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Storage settings.
    pub storage: StorageConfig,
    /// TLS of the listener (plaintext when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Tiering and retention.
    pub tiering: TieringSettings,
    /// The cold tier's object store.
    pub object_store: ObjectStoreSettings,
    /// Bounds on writes.
    pub ingest: IngestSettings,
    /// Bounds on queries.
    pub query: QuerySettings,
    /// Bounds of the listener and of request bodies.
    pub http: HttpSettings,
    /// OTLP metrics translation.
    pub otlp: OtlpSettings,
    /// remote_write name rules.
    pub remote_write: RemoteWriteSettings,
}

/// Tiering and retention, as durations like `7d`, `36h`, `10m`, `30s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TieringSettings {
    /// Data older than this moves to the cold tier.
    pub hot_retention: String,
    /// Data older than this is deleted (absent: kept forever).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    /// Time between background passes.
    pub interval: String,
    /// Length of a cold partition.
    pub partition: String,
    /// Delay before objects out of the index are deleted.
    pub grace: String,
    /// Test hook (never in files).
    #[serde(skip)]
    pub pause_at: Option<String>,
}

/// The cold tier's object store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectStoreSettings {
    /// `s3://bucket/prefix` or a directory (absent: `cold/` in the data directory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// S3 endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// S3 region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// S3 access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// S3 secret access key (never printed).
    #[serde(skip)]
    pub secret_access_key: Option<String>,
    /// Path-style requests.
    pub path_style: bool,
    /// Allow `http://` endpoints.
    pub allow_http: bool,
}

/// TLS files of the listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Storage settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageConfig {
    /// Hot-tier backend.
    pub backend: StorageBackend,
    /// FDB cluster file (FDB's default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fdb_cluster_file: Option<PathBuf>,
    /// Name of the root subspace of every key.
    pub root: String,
}

impl Config {
    /// Resolves flags and environment (already merged by clap) over the file and the defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.store.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let config = Self {
            version: CONFIG_VERSION,
            data_dir: pick(args.store.data_dir.clone(), file.data_dir, || {
                PathBuf::from("./data")
            }),
            listen: pick(args.listen, file.listen, || {
                SocketAddr::from(([127, 0, 0, 1], 8181))
            }),
            log_level: pick(args.log_level.clone(), file.log_level, || "info".to_owned()),
            max_request_bytes: pick(args.max_request_bytes, file.max_request_bytes, || {
                10 * 1024 * 1024
            }),
            create_databases: pick(args.create_databases, file.create_databases, || true),
            default_database: pick(args.default_database.clone(), file.default_database, || {
                "prometheus".to_owned()
            }),
            compaction_seal_after_seconds: pick(
                args.compaction_seal_after_seconds,
                file.compaction_seal_after_seconds,
                || 600,
            ),
            query_memory_bytes: pick(args.query_memory_bytes, file.query_memory_bytes, || 4 << 30),
            admin_token_file: args.admin_token_file.clone().or(file.admin_token_file),
            tls: match (
                args.tls_cert.clone().or(file.tls.cert),
                args.tls_key.clone().or(file.tls.key),
            ) {
                (Some(cert), Some(key)) => Some(TlsConfig { cert, key }),
                (None, None) => None,
                (Some(_), None) => return Err(ConfigError::HalfTls("certificate")),
                (None, Some(_)) => return Err(ConfigError::HalfTls("key")),
            },
            tiering: TieringSettings {
                hot_retention: pick(
                    args.hot_retention.clone(),
                    file.tiering.hot_retention,
                    || "7d".into(),
                ),
                retention: args.retention.clone().or(file.tiering.retention),
                interval: pick(args.tier_interval.clone(), file.tiering.interval, || {
                    "10m".into()
                }),
                partition: pick(args.tier_partition.clone(), file.tiering.partition, || {
                    "1d".into()
                }),
                grace: pick(args.tier_grace.clone(), file.tiering.grace, || "1h".into()),
                pause_at: args.tier_pause_at.clone(),
            },
            object_store: ObjectStoreSettings {
                url: args.object_store.clone().or(file.object_store.url),
                endpoint: args.s3_endpoint.clone().or(file.object_store.endpoint),
                region: args.s3_region.clone().or(file.object_store.region),
                access_key_id: args
                    .s3_access_key_id
                    .clone()
                    .or(file.object_store.access_key_id),
                secret_access_key: args
                    .s3_secret_access_key
                    .clone()
                    .or(file.object_store.secret_access_key),
                path_style: pick(args.s3_path_style, file.object_store.path_style, || true),
                allow_http: pick(args.s3_allow_http, file.object_store.allow_http, || false),
            },
            ingest: IngestSettings::resolve(&args.ingest, file.ingest)?,
            query: QuerySettings::resolve(&args.query, file.query)?,
            http: HttpSettings::resolve(&args.http, file.http)?,
            otlp: OtlpSettings::resolve(&args.protocols, file.otlp)?,
            remote_write: RemoteWriteSettings::resolve(&args.protocols, file.remote_write),
            storage: StorageConfig {
                backend: pick(
                    args.store.storage,
                    file.storage.backend,
                    StorageBackend::default,
                ),
                fdb_cluster_file: args
                    .store
                    .fdb_cluster_file
                    .clone()
                    .or(file.storage.fdb_cluster_file),
                root: pick(args.store.storage_root.clone(), file.storage.root, || {
                    tidemark_storage::keys::DEFAULT_ROOT.to_owned()
                }),
            },
        };
        config.check_storage_root()?;
        config.tiering_config()?;
        config.writer_config()?;
        config.query_limits()?;
        config.listener_limits()?;
        config.body_limits()?;
        Ok(config)
    }

    /// The key layout: everything under the root subspace `(storage.root,)`.
    pub fn layout(&self) -> tidemark_storage::tsdb::Layout {
        tidemark_storage::tsdb::Layout::named(&self.storage.root)
    }

    fn check_storage_root(&self) -> Result<(), ConfigError> {
        let root = &self.storage.root;
        if root.is_empty() || root.len() > 64 || root.chars().any(|c| c.is_control()) {
            return Err(ConfigError::Invalid {
                key: "storage.root",
                message: format!("{root:?}: 1 to 64 bytes without control characters"),
            });
        }
        Ok(())
    }

    /// The writer's settings, with the `[ingest]` bounds (refused when they could not keep
    /// every record inside the storage limits).
    pub fn writer_config(&self) -> Result<tidemark_ingest::WriterConfig, ConfigError> {
        let ingest = &self.ingest;
        let limits = tidemark_ingest::IngestLimits {
            max_name_bytes: ingest.max_name_bytes,
            max_tag_value_bytes: ingest.max_tag_value_bytes,
            max_tags_per_series: ingest.max_tags_per_series,
            max_series_key_bytes: ingest.max_series_key_bytes,
            max_fields_per_line: ingest.max_fields_per_line,
            max_string_field_bytes: ingest.max_string_field_bytes,
            max_columns_per_measurement: ingest.max_columns_per_measurement,
            max_idempotency_key_bytes: ingest.max_idempotency_key_bytes,
        };
        limits.check().map_err(|message| ConfigError::Invalid {
            key: "ingest",
            message,
        })?;
        Ok(tidemark_ingest::WriterConfig {
            create_databases: self.create_databases,
            max_queue_bytes: ingest.max_queue_bytes,
            write_timeout: parse_duration("ingest.write_timeout", &ingest.write_timeout)?,
            limits,
            caches: tidemark_ingest::CacheBudgets {
                series_bytes: ingest.series_cache_bytes,
                catalog_bytes: ingest.catalog_cache_bytes,
            },
            ..tidemark_ingest::WriterConfig::default()
        })
    }

    /// How the Prometheus-shaped push protocols (remote_write 2.0, OTLP) decode: translation,
    /// name rules, and how much memory one decoded request may take (the writer's queue, which
    /// could never hold more).
    pub fn push_options(&self) -> Result<crate::state::PushOptions, ConfigError> {
        Ok(crate::state::PushOptions {
            otlp: self.otlp.options()?,
            names: self.remote_write.names(),
            max_decoded_bytes: self.ingest.max_queue_bytes,
        })
    }

    /// The bounds of the listener.
    pub fn listener_limits(&self) -> Result<crate::listener::ListenerLimits, ConfigError> {
        let http = &self.http;
        Ok(crate::listener::ListenerLimits {
            max_connections: http.max_connections.max(1),
            header_read_timeout: parse_duration(
                "http.header_read_timeout",
                &http.header_read_timeout,
            )?,
            idle_timeout: parse_duration("http.idle_timeout", &http.idle_timeout)?,
            max_concurrent_streams: http.max_concurrent_streams.max(1),
        })
    }

    /// The bounds of request bodies.
    pub fn body_limits(&self) -> Result<crate::body::BodyLimits, ConfigError> {
        Ok(crate::body::BodyLimits {
            max_write_bytes: self.max_request_bytes,
            max_query_bytes: self.http.max_query_body_bytes,
            timeout: parse_duration("http.body_timeout", &self.http.body_timeout)?,
        })
    }

    /// The `[query]` bounds as the engine takes them.
    pub fn query_limits(&self) -> Result<tidemark_query::QueryLimits, ConfigError> {
        let query = &self.query;
        let limits = tidemark_query::QueryLimits {
            default_timeout: parse_duration("query.default_timeout", &query.default_timeout)?,
            max_timeout: parse_duration("query.max_timeout", &query.max_timeout)?,
            max_query_bytes: query.max_query_bytes,
            max_expression_depth: query.max_expression_depth,
            max_samples: query.max_samples,
            max_series: query.max_series,
            max_steps: query.max_steps,
            max_concurrent_per_database: query.max_concurrent_per_database,
            max_concurrent: query.max_concurrent,
            queue_timeout: parse_duration("query.queue_timeout", &query.queue_timeout)?,
            max_function_output_bytes: query.max_function_output_bytes,
        };
        if limits.default_timeout > limits.max_timeout {
            return Err(ConfigError::Invalid {
                key: "query.default_timeout",
                message: "is longer than query.max_timeout".into(),
            });
        }
        Ok(limits)
    }

    /// The engine's settings: the `[query]` bounds, memory, threads and the cold tier.
    pub fn query_config(
        &self,
        cold_store: Option<tidemark_storage::cold::ColdStore>,
    ) -> Result<tidemark_query::QueryConfig, ConfigError> {
        let defaults = tidemark_query::QueryConfig::default();
        Ok(tidemark_query::QueryConfig {
            memory_limit_bytes: self.query_memory_bytes,
            threads: match self.query.threads {
                0 => defaults.threads,
                threads => threads,
            },
            limits: self.query_limits()?,
            cold_store,
            implicit_database: Some(self.default_database.clone()),
            ..defaults
        })
    }

    /// The tiering settings as the tiering crate takes them.
    pub fn tiering_config(&self) -> Result<tidemark_tiering::TieringConfig, ConfigError> {
        let settings = &self.tiering;
        let partition = parse_duration("tiering.partition", &settings.partition)?;
        if partition.as_secs() < 3_600 || partition.as_secs() % 3_600 != 0 {
            return Err(ConfigError::Invalid {
                key: "tiering.partition",
                message: format!("{:?} is not a whole number of hours", settings.partition),
            });
        }
        let pause_at = match &settings.pause_at {
            Some(step) => Some(tidemark_tiering::TierStep::parse(step).ok_or(
                ConfigError::Invalid {
                    key: "tier_pause_at",
                    message: format!("unknown step {step:?}"),
                },
            )?),
            None => None,
        };
        let hot_retention = parse_duration("tiering.hot_retention", &settings.hot_retention)?;
        let retention = match &settings.retention {
            Some(text) => Some(parse_duration("tiering.retention", text)?),
            None => None,
        };
        tidemark_storage::tsdb::RetentionSettings {
            hot_nanos: Some(tidemark_tiering::nanos(hot_retention)),
            total_nanos: retention.map(tidemark_tiering::nanos),
        }
        .check()
        .map_err(|error| ConfigError::Invalid {
            key: "tiering.hot_retention",
            message: error.to_string(),
        })?;
        Ok(tidemark_tiering::TieringConfig {
            hot_retention,
            retention,
            partition,
            grace: parse_duration("tiering.grace", &settings.grace)?,
            interval: parse_duration("tiering.interval", &settings.interval)?,
            pause_at,
            ..tidemark_tiering::TieringConfig::default()
        })
    }

    /// The object store settings as storage takes them.
    pub fn object_store_config(&self) -> tidemark_storage::cold::ObjectStoreConfig {
        let settings = &self.object_store;
        tidemark_storage::cold::ObjectStoreConfig {
            url: settings.url.clone(),
            endpoint: settings.endpoint.clone(),
            region: settings.region.clone(),
            access_key_id: settings.access_key_id.clone(),
            secret_access_key: settings.secret_access_key.clone(),
            path_style: settings.path_style,
            allow_http: settings.allow_http,
        }
    }

    /// Refuses configurations that would expose data: beyond loopback, authentication must be
    /// configured, which means at least one token exists.
    pub fn check_exposure(&self, tokens_exist: bool) -> Result<(), ConfigError> {
        if self.listen.ip().is_loopback() || tokens_exist {
            return Ok(());
        }
        Err(ConfigError::InsecureListen(self.listen))
    }

    /// The effective configuration as TOML, in the file format.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|error| format!("# cannot render config: {error}\n"))
    }
}

/// Parses `7d`, `36h`, `10m`, `30s`, `500ms` or `2w`: every duration setting, from a flag, the
/// environment or the file, goes through here. A bare number is refused rather than guessed at
/// (seconds? days?), with a message asking for the unit.
pub fn parse_duration(key: &'static str, text: &str) -> Result<std::time::Duration, ConfigError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let millis: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => 0,
    };
    let invalid = |message: String| ConfigError::Invalid { key, message };
    if unit.is_empty() && !number.is_empty() {
        return Err(invalid(format!(
            "{text}: a duration needs a unit, such as {text}d or {text}s"
        )));
    }
    match number.parse::<u64>() {
        Ok(count) if millis > 0 => Ok(std::time::Duration::from_millis(
            count.saturating_mul(millis),
        )),
        _ => Err(invalid(format!(
            "{text:?} is not a duration like 7d, 36h, 10m, 30s or 500ms"
        ))),
    }
}

fn pick<T>(flag_or_env: Option<T>, file: Option<T>, default: impl FnOnce() -> T) -> T {
    flag_or_env.or(file).unwrap_or_else(default)
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: FileConfig = toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    match file.version {
        Some(CONFIG_VERSION) | None => Ok(file),
        Some(found) => Err(ConfigError::Version {
            path: path.to_path_buf(),
            found,
        }),
    }
}

#[cfg(test)]
mod tests;
