//! The limits sections of the configuration (`[ingest]`, `[query]`, `[http]`): every bound
//! on what a request may cost, as a flag, a `TIDEMARK_*` variable and a file key.
//!
//! Generated from one table by `.ci/gen-limits.py` (kept with the CI scripts), so the flags,
//! variables, file keys and defaults cannot drift apart; `docs/configuration.md` lists them,
//! and a test checks that every flag is documented there.

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{ConfigError, MetricsAuth, parse_duration};

/// `[ingest]` flags. Bounds on what one write may contain, and the writer's memory.
#[derive(Debug, Clone, Default, Args)]
pub struct IngestArgs {
    /// Longest measurement, tag (label) or field name, in bytes [default: 512].
    #[arg(
        long = "ingest-max-name-bytes",
        env = "TIDEMARK_INGEST_MAX_NAME_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_name_bytes: Option<usize>,
    /// Longest tag (label) value, in bytes [default: 4096].
    #[arg(
        long = "ingest-max-tag-value-bytes",
        env = "TIDEMARK_INGEST_MAX_TAG_VALUE_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_tag_value_bytes: Option<usize>,
    /// Most tags (labels) one series may have [default: 64].
    #[arg(
        long = "ingest-max-tags-per-series",
        env = "TIDEMARK_INGEST_MAX_TAGS_PER_SERIES",
        value_name = "N"
    )]
    pub ingest_max_tags_per_series: Option<usize>,
    /// Longest series key (measurement and every tag), in bytes [default: 65536].
    #[arg(
        long = "ingest-max-series-key-bytes",
        env = "TIDEMARK_INGEST_MAX_SERIES_KEY_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_series_key_bytes: Option<usize>,
    /// Most fields one line may carry [default: 1000].
    #[arg(
        long = "ingest-max-fields-per-line",
        env = "TIDEMARK_INGEST_MAX_FIELDS_PER_LINE",
        value_name = "N"
    )]
    pub ingest_max_fields_per_line: Option<usize>,
    /// Longest string field value, in bytes [default: 65536].
    #[arg(
        long = "ingest-max-string-field-bytes",
        env = "TIDEMARK_INGEST_MAX_STRING_FIELD_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_string_field_bytes: Option<usize>,
    /// Most columns (tags and fields) a measurement may have [default: 1000].
    #[arg(
        long = "ingest-max-columns-per-measurement",
        env = "TIDEMARK_INGEST_MAX_COLUMNS_PER_MEASUREMENT",
        value_name = "N"
    )]
    pub ingest_max_columns_per_measurement: Option<usize>,
    /// Longest Idempotency-Key header, in bytes [default: 256].
    #[arg(
        long = "ingest-max-idempotency-key-bytes",
        env = "TIDEMARK_INGEST_MAX_IDEMPOTENCY_KEY_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_idempotency_key_bytes: Option<usize>,
    /// Memory of writes being prepared, queued or committed; more gets 503 [default: 268435456].
    #[arg(
        long = "ingest-max-queue-bytes",
        env = "TIDEMARK_INGEST_MAX_QUEUE_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_max_queue_bytes: Option<usize>,
    /// Memory of the writer's cache of series ids [default: 134217728].
    #[arg(
        long = "ingest-series-cache-bytes",
        env = "TIDEMARK_INGEST_SERIES_CACHE_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_series_cache_bytes: Option<usize>,
    /// Memory of the writer's cache of databases and columns [default: 33554432].
    #[arg(
        long = "ingest-catalog-cache-bytes",
        env = "TIDEMARK_INGEST_CATALOG_CACHE_BYTES",
        value_name = "BYTES"
    )]
    pub ingest_catalog_cache_bytes: Option<usize>,
    /// How long one write may wait on storage (retries and an unreachable cluster included) before it gets 503 [default: 30s].
    #[arg(
        long = "ingest-write-timeout",
        env = "TIDEMARK_INGEST_WRITE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub ingest_write_timeout: Option<String>,
}

/// The `[ingest]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileIngest {
    max_name_bytes: Option<usize>,
    max_tag_value_bytes: Option<usize>,
    max_tags_per_series: Option<usize>,
    max_series_key_bytes: Option<usize>,
    max_fields_per_line: Option<usize>,
    max_string_field_bytes: Option<usize>,
    max_columns_per_measurement: Option<usize>,
    max_idempotency_key_bytes: Option<usize>,
    max_queue_bytes: Option<usize>,
    series_cache_bytes: Option<usize>,
    catalog_cache_bytes: Option<usize>,
    write_timeout: Option<String>,
}

/// The effective `[ingest]` settings. Bounds on what one write may contain, and the writer's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestSettings {
    /// Longest measurement, tag (label) or field name, in bytes.
    pub max_name_bytes: usize,
    /// Longest tag (label) value, in bytes.
    pub max_tag_value_bytes: usize,
    /// Most tags (labels) one series may have.
    pub max_tags_per_series: usize,
    /// Longest series key (measurement and every tag), in bytes.
    pub max_series_key_bytes: usize,
    /// Most fields one line may carry.
    pub max_fields_per_line: usize,
    /// Longest string field value, in bytes.
    pub max_string_field_bytes: usize,
    /// Most columns (tags and fields) a measurement may have.
    pub max_columns_per_measurement: usize,
    /// Longest Idempotency-Key header, in bytes.
    pub max_idempotency_key_bytes: usize,
    /// Memory of writes being prepared, queued or committed; more gets 503.
    pub max_queue_bytes: usize,
    /// Memory of the writer's cache of series ids.
    pub series_cache_bytes: usize,
    /// Memory of the writer's cache of databases and columns.
    pub catalog_cache_bytes: usize,
    /// How long one write may wait on storage (retries and an unreachable cluster included) before it gets 503.
    pub write_timeout: String,
}

impl IngestSettings {
    /// Flags and environment over the file over the defaults.
    pub(super) fn resolve(args: &IngestArgs, file: FileIngest) -> Result<Self, ConfigError> {
        let settings = Self {
            max_name_bytes: args
                .ingest_max_name_bytes
                .or(file.max_name_bytes)
                .unwrap_or(512),
            max_tag_value_bytes: args
                .ingest_max_tag_value_bytes
                .or(file.max_tag_value_bytes)
                .unwrap_or(4_096),
            max_tags_per_series: args
                .ingest_max_tags_per_series
                .or(file.max_tags_per_series)
                .unwrap_or(64),
            max_series_key_bytes: args
                .ingest_max_series_key_bytes
                .or(file.max_series_key_bytes)
                .unwrap_or(65_536),
            max_fields_per_line: args
                .ingest_max_fields_per_line
                .or(file.max_fields_per_line)
                .unwrap_or(1_000),
            max_string_field_bytes: args
                .ingest_max_string_field_bytes
                .or(file.max_string_field_bytes)
                .unwrap_or(65_536),
            max_columns_per_measurement: args
                .ingest_max_columns_per_measurement
                .or(file.max_columns_per_measurement)
                .unwrap_or(1_000),
            max_idempotency_key_bytes: args
                .ingest_max_idempotency_key_bytes
                .or(file.max_idempotency_key_bytes)
                .unwrap_or(256),
            max_queue_bytes: args
                .ingest_max_queue_bytes
                .or(file.max_queue_bytes)
                .unwrap_or(268_435_456),
            series_cache_bytes: args
                .ingest_series_cache_bytes
                .or(file.series_cache_bytes)
                .unwrap_or(134_217_728),
            catalog_cache_bytes: args
                .ingest_catalog_cache_bytes
                .or(file.catalog_cache_bytes)
                .unwrap_or(33_554_432),
            write_timeout: args
                .ingest_write_timeout
                .clone()
                .or(file.write_timeout)
                .unwrap_or_else(|| "30s".into()),
        };
        parse_duration("ingest.write_timeout", &settings.write_timeout)?;
        Ok(settings)
    }
}

/// `[query]` flags. Bounds on what one query may cost, and how many run at once.
#[derive(Debug, Clone, Default, Args)]
pub struct QueryArgs {
    /// Deadline of a query whose client names none [default: 60s].
    #[arg(
        long = "query-default-timeout",
        env = "TIDEMARK_QUERY_DEFAULT_TIMEOUT",
        value_name = "DURATION"
    )]
    pub query_default_timeout: Option<String>,
    /// Longest deadline a client may ask for (PromQL `timeout`) [default: 5m].
    #[arg(
        long = "query-max-timeout",
        env = "TIDEMARK_QUERY_MAX_TIMEOUT",
        value_name = "DURATION"
    )]
    pub query_max_timeout: Option<String>,
    /// Longest query text (SQL, PromQL, match[]), in bytes [default: 262144].
    #[arg(
        long = "query-max-query-bytes",
        env = "TIDEMARK_QUERY_MAX_QUERY_BYTES",
        value_name = "BYTES"
    )]
    pub query_max_query_bytes: Option<usize>,
    /// Deepest PromQL bracket nesting (8 times as many operators) [default: 128].
    #[arg(
        long = "query-max-expression-depth",
        env = "TIDEMARK_QUERY_MAX_EXPRESSION_DEPTH",
        value_name = "N"
    )]
    pub query_max_expression_depth: Option<usize>,
    /// Most samples (and subquery points) one PromQL query may load [default: 50000000].
    #[arg(
        long = "query-max-samples",
        env = "TIDEMARK_QUERY_MAX_SAMPLES",
        value_name = "N"
    )]
    pub query_max_samples: Option<u64>,
    /// Most series one selector or metadata call may select [default: 1000000].
    #[arg(
        long = "query-max-series",
        env = "TIDEMARK_QUERY_MAX_SERIES",
        value_name = "N"
    )]
    pub query_max_series: Option<u64>,
    /// Most evaluation steps of one PromQL node (range query or subquery) [default: 1000000].
    #[arg(
        long = "query-max-steps",
        env = "TIDEMARK_QUERY_MAX_STEPS",
        value_name = "N"
    )]
    pub query_max_steps: Option<u64>,
    /// Queries one database may run at once; more wait, then get 429 [default: 8].
    #[arg(
        long = "query-max-concurrent-per-database",
        env = "TIDEMARK_QUERY_MAX_CONCURRENT_PER_DATABASE",
        value_name = "N"
    )]
    pub query_max_concurrent_per_database: Option<usize>,
    /// Queries the node runs at once over all databases [default: 64].
    #[arg(
        long = "query-max-concurrent",
        env = "TIDEMARK_QUERY_MAX_CONCURRENT",
        value_name = "N"
    )]
    pub query_max_concurrent: Option<usize>,
    /// How long a query waits for a slot before it is refused [default: 10s].
    #[arg(
        long = "query-queue-timeout",
        env = "TIDEMARK_QUERY_QUEUE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub query_queue_timeout: Option<String>,
    /// Most bytes a growing scalar function (repeat, lpad, concat, ...) may produce per batch [default: 67108864].
    #[arg(
        long = "query-max-function-output-bytes",
        env = "TIDEMARK_QUERY_MAX_FUNCTION_OUTPUT_BYTES",
        value_name = "BYTES"
    )]
    pub query_max_function_output_bytes: Option<usize>,
    /// Worker threads of the query runtime (0: one per core) [default: 0].
    #[arg(
        long = "query-threads",
        env = "TIDEMARK_QUERY_THREADS",
        value_name = "N"
    )]
    pub query_threads: Option<usize>,
}

/// The `[query]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileQuery {
    default_timeout: Option<String>,
    max_timeout: Option<String>,
    max_query_bytes: Option<usize>,
    max_expression_depth: Option<usize>,
    max_samples: Option<u64>,
    max_series: Option<u64>,
    max_steps: Option<u64>,
    max_concurrent_per_database: Option<usize>,
    max_concurrent: Option<usize>,
    queue_timeout: Option<String>,
    max_function_output_bytes: Option<usize>,
    threads: Option<usize>,
}

/// The effective `[query]` settings. Bounds on what one query may cost, and how many run at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuerySettings {
    /// Deadline of a query whose client names none.
    pub default_timeout: String,
    /// Longest deadline a client may ask for (PromQL `timeout`).
    pub max_timeout: String,
    /// Longest query text (SQL, PromQL, match[]), in bytes.
    pub max_query_bytes: usize,
    /// Deepest PromQL bracket nesting (8 times as many operators).
    pub max_expression_depth: usize,
    /// Most samples (and subquery points) one PromQL query may load.
    pub max_samples: u64,
    /// Most series one selector or metadata call may select.
    pub max_series: u64,
    /// Most evaluation steps of one PromQL node (range query or subquery).
    pub max_steps: u64,
    /// Queries one database may run at once; more wait, then get 429.
    pub max_concurrent_per_database: usize,
    /// Queries the node runs at once over all databases.
    pub max_concurrent: usize,
    /// How long a query waits for a slot before it is refused.
    pub queue_timeout: String,
    /// Most bytes a growing scalar function (repeat, lpad, concat, ...) may produce per batch.
    pub max_function_output_bytes: usize,
    /// Worker threads of the query runtime (0: one per core).
    pub threads: usize,
}

impl QuerySettings {
    /// Flags and environment over the file over the defaults.
    pub(super) fn resolve(args: &QueryArgs, file: FileQuery) -> Result<Self, ConfigError> {
        let settings = Self {
            default_timeout: args
                .query_default_timeout
                .clone()
                .or(file.default_timeout)
                .unwrap_or_else(|| "60s".into()),
            max_timeout: args
                .query_max_timeout
                .clone()
                .or(file.max_timeout)
                .unwrap_or_else(|| "5m".into()),
            max_query_bytes: args
                .query_max_query_bytes
                .or(file.max_query_bytes)
                .unwrap_or(262_144),
            max_expression_depth: args
                .query_max_expression_depth
                .or(file.max_expression_depth)
                .unwrap_or(128),
            max_samples: args
                .query_max_samples
                .or(file.max_samples)
                .unwrap_or(50_000_000),
            max_series: args
                .query_max_series
                .or(file.max_series)
                .unwrap_or(1_000_000),
            max_steps: args.query_max_steps.or(file.max_steps).unwrap_or(1_000_000),
            max_concurrent_per_database: args
                .query_max_concurrent_per_database
                .or(file.max_concurrent_per_database)
                .unwrap_or(8),
            max_concurrent: args
                .query_max_concurrent
                .or(file.max_concurrent)
                .unwrap_or(64),
            queue_timeout: args
                .query_queue_timeout
                .clone()
                .or(file.queue_timeout)
                .unwrap_or_else(|| "10s".into()),
            max_function_output_bytes: args
                .query_max_function_output_bytes
                .or(file.max_function_output_bytes)
                .unwrap_or(67_108_864),
            threads: args.query_threads.or(file.threads).unwrap_or(0),
        };
        parse_duration("query.default_timeout", &settings.default_timeout)?;
        parse_duration("query.max_timeout", &settings.max_timeout)?;
        parse_duration("query.queue_timeout", &settings.queue_timeout)?;
        Ok(settings)
    }
}

/// `[http]` flags. Bounds of the listener and of request bodies.
#[derive(Debug, Clone, Default, Args)]
pub struct HttpArgs {
    /// Open connections at most; further ones are closed at once [default: 4096].
    #[arg(
        long = "http-max-connections",
        env = "TIDEMARK_HTTP_MAX_CONNECTIONS",
        value_name = "N"
    )]
    pub http_max_connections: Option<usize>,
    /// Time a client has to send a request's headers [default: 10s].
    #[arg(
        long = "http-header-read-timeout",
        env = "TIDEMARK_HTTP_HEADER_READ_TIMEOUT",
        value_name = "DURATION"
    )]
    pub http_header_read_timeout: Option<String>,
    /// A connection with no bytes read or written for this long is closed [default: 6m].
    #[arg(
        long = "http-idle-timeout",
        env = "TIDEMARK_HTTP_IDLE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub http_idle_timeout: Option<String>,
    /// Time a client has to send a request body [default: 60s].
    #[arg(
        long = "http-body-timeout",
        env = "TIDEMARK_HTTP_BODY_TIMEOUT",
        value_name = "DURATION"
    )]
    pub http_body_timeout: Option<String>,
    /// Largest body of a query request (SQL, PromQL, InfluxQL); 413 above [default: 1048576].
    #[arg(
        long = "http-max-query-body-bytes",
        env = "TIDEMARK_HTTP_MAX_QUERY_BODY_BYTES",
        value_name = "BYTES"
    )]
    pub http_max_query_body_bytes: Option<usize>,
    /// Largest incoming Flight SQL message (statements, tickets, bound parameters) [default: 16777216].
    #[arg(
        long = "http-max-flight-message-bytes",
        env = "TIDEMARK_HTTP_MAX_FLIGHT_MESSAGE_BYTES",
        value_name = "BYTES"
    )]
    pub http_max_flight_message_bytes: Option<usize>,
    /// HTTP/2 (and Flight SQL) requests one connection may have open at once [default: 256].
    #[arg(
        long = "http-max-concurrent-streams",
        env = "TIDEMARK_HTTP_MAX_CONCURRENT_STREAMS",
        value_name = "N"
    )]
    pub http_max_concurrent_streams: Option<u32>,
    /// Who may read `/metrics` and `/api/v1/status/buildinfo`: `token` (a valid token, once authentication is on) or `open` (anyone) [default: token].
    #[arg(
        long = "http-metrics-auth",
        env = "TIDEMARK_HTTP_METRICS_AUTH",
        value_name = "MODE"
    )]
    pub http_metrics_auth: Option<MetricsAuth>,
}

/// The `[http]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileHttp {
    max_connections: Option<usize>,
    header_read_timeout: Option<String>,
    idle_timeout: Option<String>,
    body_timeout: Option<String>,
    max_query_body_bytes: Option<usize>,
    max_flight_message_bytes: Option<usize>,
    max_concurrent_streams: Option<u32>,
    metrics_auth: Option<MetricsAuth>,
}

/// The effective `[http]` settings. Bounds of the listener and of request bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpSettings {
    /// Open connections at most; further ones are closed at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: String,
    /// A connection with no bytes read or written for this long is closed.
    pub idle_timeout: String,
    /// Time a client has to send a request body.
    pub body_timeout: String,
    /// Largest body of a query request (SQL, PromQL, InfluxQL); 413 above.
    pub max_query_body_bytes: usize,
    /// Largest incoming Flight SQL message (statements, tickets, bound parameters).
    pub max_flight_message_bytes: usize,
    /// HTTP/2 (and Flight SQL) requests one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Who may read `/metrics` and `/api/v1/status/buildinfo`: `token` (a valid token, once authentication is on) or `open` (anyone).
    pub metrics_auth: MetricsAuth,
}

impl HttpSettings {
    /// Flags and environment over the file over the defaults.
    pub(super) fn resolve(args: &HttpArgs, file: FileHttp) -> Result<Self, ConfigError> {
        let settings = Self {
            max_connections: args
                .http_max_connections
                .or(file.max_connections)
                .unwrap_or(4_096),
            header_read_timeout: args
                .http_header_read_timeout
                .clone()
                .or(file.header_read_timeout)
                .unwrap_or_else(|| "10s".into()),
            idle_timeout: args
                .http_idle_timeout
                .clone()
                .or(file.idle_timeout)
                .unwrap_or_else(|| "6m".into()),
            body_timeout: args
                .http_body_timeout
                .clone()
                .or(file.body_timeout)
                .unwrap_or_else(|| "60s".into()),
            max_query_body_bytes: args
                .http_max_query_body_bytes
                .or(file.max_query_body_bytes)
                .unwrap_or(1_048_576),
            max_flight_message_bytes: args
                .http_max_flight_message_bytes
                .or(file.max_flight_message_bytes)
                .unwrap_or(16_777_216),
            max_concurrent_streams: args
                .http_max_concurrent_streams
                .or(file.max_concurrent_streams)
                .unwrap_or(256),
            metrics_auth: args
                .http_metrics_auth
                .or(file.metrics_auth)
                .unwrap_or(MetricsAuth::Token),
        };
        parse_duration("http.header_read_timeout", &settings.header_read_timeout)?;
        parse_duration("http.idle_timeout", &settings.idle_timeout)?;
        parse_duration("http.body_timeout", &settings.body_timeout)?;
        Ok(settings)
    }
}
