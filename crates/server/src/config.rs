//! The one typed configuration of `tidemark serve`.
//!
//! Precedence, highest first: command-line flags, `TIDEMARK_*` environment variables, the TOML
//! file given by `--config`, built-in defaults. Clap resolves flag-over-env; this module lays the
//! result over the file and the defaults. No other module reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

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
         not configured; create a token first (`tidemark token create --db NAME`) or listen on a \
         loopback address (e.g. 127.0.0.1:8181)"
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

/// `tidemark serve` flags. Every flag also reads a `TIDEMARK_*` variable.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "TIDEMARK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded storage and local object store [default: ./data].
    #[arg(long, env = "TIDEMARK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the listener serving HTTP and gRPC (Flight SQL) [default: 127.0.0.1:8181].
    #[arg(long, env = "TIDEMARK_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Log filter, e.g. `info` or `tidemark=debug,info` [default: info].
    #[arg(long, env = "TIDEMARK_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Storage backend of the hot tier [default: embedded].
    #[arg(long, env = "TIDEMARK_STORAGE", value_enum)]
    pub storage: Option<StorageBackend>,
    /// FDB cluster file, for `--storage fdb` [default: FDB's default cluster file].
    #[arg(long, env = "TIDEMARK_FDB_CLUSTER_FILE", value_name = "FILE")]
    pub fdb_cluster_file: Option<PathBuf>,
    /// Largest write body in bytes, before and after gzip decompression [default: 10485760].
    #[arg(long, env = "TIDEMARK_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Compact a bucket's blocks once the bucket ended this many seconds ago [default: 600].
    #[arg(
        long,
        env = "TIDEMARK_COMPACTION_SEAL_AFTER_SECONDS",
        value_name = "SECONDS"
    )]
    pub compaction_seal_after_seconds: Option<u64>,
    /// Create a database on its first write [default: true].
    #[arg(long, env = "TIDEMARK_CREATE_DATABASES", value_name = "BOOL")]
    pub create_databases: Option<bool>,
    /// Database of Prometheus requests (remote_write, the query API) that name none, by `db`
    /// parameter or token [default: prometheus].
    #[arg(long, env = "TIDEMARK_DEFAULT_DATABASE", value_name = "NAME")]
    pub default_database: Option<String>,
    /// PEM certificate chain: with `--tls-key`, the listener speaks TLS (HTTP/1.1 and h2).
    #[arg(long, env = "TIDEMARK_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "TIDEMARK_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Memory all running queries may hold for sorts, joins and aggregations [default: 4294967296].
    #[arg(long, env = "TIDEMARK_QUERY_MEMORY_BYTES", value_name = "BYTES")]
    pub query_memory_bytes: Option<usize>,
    /// Data older than this moves to the cold tier, e.g. `7d`, `36h` [default: 7d].
    #[arg(long, env = "TIDEMARK_HOT_RETENTION", value_name = "DURATION")]
    pub hot_retention: Option<String>,
    /// Data older than this is deleted from both tiers, e.g. `400d` [default: keep forever].
    #[arg(long, env = "TIDEMARK_RETENTION", value_name = "DURATION")]
    pub retention: Option<String>,
    /// Time between background tiering passes [default: 10m].
    #[arg(long, env = "TIDEMARK_TIER_INTERVAL", value_name = "DURATION")]
    pub tier_interval: Option<String>,
    /// Length of a cold partition, whole hours [default: 1d].
    #[arg(long, env = "TIDEMARK_TIER_PARTITION", value_name = "DURATION")]
    pub tier_partition: Option<String>,
    /// Objects out of the cold index are deleted after this long [default: 1h].
    #[arg(long, env = "TIDEMARK_TIER_GRACE", value_name = "DURATION")]
    pub tier_grace: Option<String>,
    /// Object store of the cold tier: `s3://bucket/prefix` or a directory [default: DATA_DIR/cold].
    #[arg(long, env = "TIDEMARK_OBJECT_STORE", value_name = "URL")]
    pub object_store: Option<String>,
    /// S3 endpoint, for S3-compatible stores.
    #[arg(long, env = "TIDEMARK_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1].
    #[arg(long, env = "TIDEMARK_S3_REGION")]
    pub s3_region: Option<String>,
    /// S3 access key id [default: the AWS environment].
    #[arg(long, env = "TIDEMARK_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key [default: the AWS environment].
    #[arg(long, env = "TIDEMARK_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Path-style S3 requests (`endpoint/bucket/key`) [default: true].
    #[arg(long, env = "TIDEMARK_S3_PATH_STYLE", value_name = "BOOL")]
    pub s3_path_style: Option<bool>,
    /// Allow an `http://` S3 endpoint [default: false].
    #[arg(long, env = "TIDEMARK_S3_ALLOW_HTTP", value_name = "BOOL")]
    pub s3_allow_http: Option<bool>,
    /// Test hook: a tiering pass stops forever at this step.
    #[arg(long, env = "TIDEMARK_TIER_PAUSE_AT", hide = true)]
    pub tier_pause_at: Option<String>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// The configuration file: every key optional, so a file sets only what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    version: Option<u32>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log_level: Option<String>,
    max_request_bytes: Option<usize>,
    create_databases: Option<bool>,
    default_database: Option<String>,
    compaction_seal_after_seconds: Option<u64>,
    query_memory_bytes: Option<usize>,
    #[serde(default)]
    storage: FileStorage,
    #[serde(default)]
    tls: FileTls,
    #[serde(default)]
    tiering: FileTiering,
    #[serde(default)]
    object_store: FileObjectStore,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTiering {
    hot_retention: Option<String>,
    retention: Option<String>,
    interval: Option<String>,
    partition: Option<String>,
    grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileObjectStore {
    url: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    path_style: Option<bool>,
    allow_http: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStorage {
    backend: Option<StorageBackend>,
    fdb_cluster_file: Option<PathBuf>,
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
    /// Storage settings.
    pub storage: StorageConfig,
    /// TLS of the listener (plaintext when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Tiering and retention.
    pub tiering: TieringSettings,
    /// The cold tier's object store.
    pub object_store: ObjectStoreSettings,
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
}

impl Config {
    /// Resolves flags and environment (already merged by clap) over the file and the defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let config = Self {
            version: CONFIG_VERSION,
            data_dir: pick(args.data_dir.clone(), file.data_dir, || {
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
            storage: StorageConfig {
                backend: pick(args.storage, file.storage.backend, StorageBackend::default),
                fdb_cluster_file: args
                    .fdb_cluster_file
                    .clone()
                    .or(file.storage.fdb_cluster_file),
            },
        };
        config.tiering_config()?;
        Ok(config)
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
        Ok(tidemark_tiering::TieringConfig {
            hot_retention: parse_duration("tiering.hot_retention", &settings.hot_retention)?,
            retention: match &settings.retention {
                Some(text) => Some(parse_duration("tiering.retention", text)?),
                None => None,
            },
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

/// Parses `7d`, `36h`, `10m`, `30s` or a number of seconds.
pub fn parse_duration(key: &'static str, text: &str) -> Result<std::time::Duration, ConfigError> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(count) if seconds > 0 && !number.is_empty() => Ok(std::time::Duration::from_secs(
            count.saturating_mul(seconds),
        )),
        _ => Err(ConfigError::Invalid {
            key,
            message: format!("{text:?} is not a duration like 7d, 36h, 10m or 30s"),
        }),
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
mod tests {
    use super::*;

    fn write_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("k", "7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(parse_duration("k", "36h").unwrap().as_secs(), 36 * 3_600);
        assert_eq!(parse_duration("k", "90").unwrap().as_secs(), 90);
        let error = parse_duration("tiering.grace", "1 fortnight")
            .unwrap_err()
            .to_string();
        assert!(error.contains("tiering.grace"), "{error}");
        assert!(parse_duration("k", "d").is_err());
    }

    #[test]
    fn defaults_apply_without_flags_or_file() {
        let config = Config::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8181");
        assert_eq!(config.storage.backend, StorageBackend::Embedded);
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let file =
            write_file("version = 1\ndata_dir = \"/from/file\"\nlisten = \"127.0.0.1:9000\"\n");
        let args = ServeArgs {
            config: Some(file.path().to_path_buf()),
            listen: Some("127.0.0.1:9999".parse().unwrap()),
            ..ServeArgs::default()
        };
        let config = Config::resolve(&args).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));
        assert_eq!(config.log_level, "info");
    }

    #[test]
    fn unknown_keys_and_versions_are_rejected_with_the_file_named() {
        let file = write_file("listen_addr = \"127.0.0.1:1\"\n");
        let args = ServeArgs {
            config: Some(file.path().to_path_buf()),
            ..ServeArgs::default()
        };
        let error = Config::resolve(&args).unwrap_err().to_string();
        assert!(error.contains("listen_addr"), "{error}");
        let file = write_file("version = 2\n");
        let args = ServeArgs {
            config: Some(file.path().to_path_buf()),
            ..ServeArgs::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(ConfigError::Version { found: 2, .. })
        ));
    }

    #[test]
    fn the_example_file_is_valid_and_tls_needs_both_files() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/tidemark.example.toml"
        );
        let args = ServeArgs {
            config: Some(PathBuf::from(example)),
            ..ServeArgs::default()
        };
        let config = Config::resolve(&args).unwrap();
        assert_eq!(config.query_memory_bytes, 4 << 30);
        assert!(config.tls.is_none());
        let file = write_file("[tls]\ncert = \"/c.pem\"\n");
        let args = ServeArgs {
            config: Some(file.path().to_path_buf()),
            ..ServeArgs::default()
        };
        assert!(matches!(
            Config::resolve(&args),
            Err(ConfigError::HalfTls("certificate"))
        ));
        let args = ServeArgs {
            config: Some(file.path().to_path_buf()),
            tls_key: Some(PathBuf::from("/k.pem")),
            ..ServeArgs::default()
        };
        let tls = Config::resolve(&args).unwrap().tls.unwrap();
        assert_eq!(
            (tls.cert.to_str(), tls.key.to_str()),
            (Some("/c.pem"), Some("/k.pem"))
        );
    }

    #[test]
    fn only_loopback_is_allowed_without_auth() {
        let mut config = Config::resolve(&ServeArgs::default()).unwrap();
        assert!(config.check_exposure(false).is_ok());
        config.listen = "[::1]:8181".parse().unwrap();
        assert!(config.check_exposure(false).is_ok());
        config.listen = "0.0.0.0:8181".parse().unwrap();
        assert!(matches!(
            config.check_exposure(false),
            Err(ConfigError::InsecureListen(_))
        ));
        assert!(config.check_exposure(true).is_ok(), "a token makes it safe");
    }
}
