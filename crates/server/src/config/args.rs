//! The flags of `tidemark serve`; each also reads a `TIDEMARK_*` variable (clap resolves
//! flag over variable).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::StorageBackend;
use super::limits::{HttpArgs, IngestArgs, QueryArgs};
use super::protocols::ProtocolArgs;

/// Where the data lives: the flags of `serve` that every command opening storage itself
/// (`token`, `compact`, `retention`, `tier` without `--url`) shares.
#[derive(Debug, Clone, Default, Args)]
pub struct StorageArgs {
    /// TOML configuration file.
    #[arg(long, env = "TIDEMARK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded storage and local object store [default: ./data].
    #[arg(long, env = "TIDEMARK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Storage backend of the hot tier [default: embedded].
    #[arg(long, env = "TIDEMARK_STORAGE", value_enum)]
    pub storage: Option<StorageBackend>,
    /// FDB cluster file, for `--storage fdb` [default: FDB's default cluster file].
    #[arg(long, env = "TIDEMARK_FDB_CLUSTER_FILE", value_name = "FILE")]
    pub fdb_cluster_file: Option<PathBuf>,
    /// Name of the root subspace holding every key; deployments sharing one FDB cluster each
    /// need their own [default: tm].
    #[arg(long, env = "TIDEMARK_STORAGE_ROOT", value_name = "NAME")]
    pub storage_root: Option<String>,
}

/// `tidemark serve` flags. Every flag also reads a `TIDEMARK_*` variable.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StorageArgs,
    /// Address of the listener serving HTTP and gRPC (Flight SQL) [default: 127.0.0.1:8181].
    #[arg(long, env = "TIDEMARK_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Log filter, e.g. `info` or `tidemark=debug,info` [default: info].
    #[arg(long, env = "TIDEMARK_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
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
    /// File holding the first admin token: stored (its hash) at start when no admin token
    /// exists yet.
    #[arg(long, env = "TIDEMARK_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
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
    /// `[ingest]` limits.
    #[command(flatten)]
    pub ingest: IngestArgs,
    /// `[query]` limits.
    #[command(flatten)]
    pub query: QueryArgs,
    /// `[http]` limits.
    #[command(flatten)]
    pub http: HttpArgs,
    /// `[otlp]` and `[remote_write]` settings.
    #[command(flatten)]
    pub protocols: ProtocolArgs,
}
