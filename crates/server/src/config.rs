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
    /// PEM certificate chain: with `--tls-key`, the listener speaks TLS (HTTP/1.1 and h2).
    #[arg(long, env = "TIDEMARK_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "TIDEMARK_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Memory all running queries may hold for sorts, joins and aggregations [default: 4294967296].
    #[arg(long, env = "TIDEMARK_QUERY_MEMORY_BYTES", value_name = "BYTES")]
    pub query_memory_bytes: Option<usize>,
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
    compaction_seal_after_seconds: Option<u64>,
    query_memory_bytes: Option<usize>,
    #[serde(default)]
    storage: FileStorage,
    #[serde(default)]
    tls: FileTls,
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
    /// Seconds after a bucket's end before compaction merges its blocks.
    pub compaction_seal_after_seconds: u64,
    /// Memory all running queries may hold.
    pub query_memory_bytes: usize,
    /// Storage settings.
    pub storage: StorageConfig,
    /// TLS of the listener (plaintext when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
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
            storage: StorageConfig {
                backend: pick(args.storage, file.storage.backend, StorageBackend::default),
                fdb_cluster_file: args
                    .fdb_cluster_file
                    .clone()
                    .or(file.storage.fdb_cluster_file),
            },
        };
        Ok(config)
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
