//! Every metric family of `/metrics`, with its help text, registered at start-up at zero: every
//! family has `# HELP` and `# TYPE` lines and series from the first scrape, so dashboards are
//! not empty until a family's first event (a tiering pass comes only every `tiering.interval`).
//!
//! The crates record through the `metrics` facade by name; a family recorded anywhere must be
//! listed here (the `/metrics` test fails on a family without help text).

use super::{IngestProtocol, QueryApi};

/// How a family is rendered.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A family without labels, or whose label sets are registered separately below.
const FAMILIES: &[(&str, Kind, &str)] = &[
    (
        "tidemark_build_info",
        Kind::Gauge,
        "Always 1; the version label is the build's version.",
    ),
    (
        "tidemark_ingest_requests_total",
        Kind::Counter,
        "Write requests by protocol and outcome (ok, partial, rejected, error).",
    ),
    (
        "tidemark_ingest_points_total",
        Kind::Counter,
        "Points written, by protocol.",
    ),
    (
        "tidemark_ingest_values_total",
        Kind::Counter,
        "Field values written, by protocol.",
    ),
    (
        "tidemark_ingest_rejected_points_total",
        Kind::Counter,
        "Lines or series refused by validation, by protocol.",
    ),
    (
        "tidemark_query_duration_seconds",
        Kind::Histogram,
        "Query latency until the response starts, by API.",
    ),
    (
        "tidemark_query_errors_total",
        Kind::Counter,
        "Failed queries, by API.",
    ),
    (
        "tidemark_limit_refusals_total",
        Kind::Counter,
        "Requests, lines or connections refused by a configured limit, by limit.",
    ),
    (
        "tidemark_commit_duration_seconds",
        Kind::Histogram,
        "Latency of the writer's group-commit transactions.",
    ),
    (
        "tidemark_commit_groups_total",
        Kind::Counter,
        "Group-commit transactions committed.",
    ),
    (
        "tidemark_commit_failures_total",
        Kind::Counter,
        "Group-commit transactions that failed.",
    ),
    (
        "tidemark_compaction_passes_total",
        Kind::Counter,
        "Compaction passes finished.",
    ),
    (
        "tidemark_compaction_chunks_written_total",
        Kind::Counter,
        "Chunks written by compaction.",
    ),
    (
        "tidemark_compaction_backlog",
        Kind::Gauge,
        "Sealed buckets the last compaction pass found waiting.",
    ),
    (
        "tidemark_tiering_passes_total",
        Kind::Counter,
        "Tiering passes finished.",
    ),
    (
        "tidemark_tiering_files_written_total",
        Kind::Counter,
        "Parquet files written to the cold tier.",
    ),
    (
        "tidemark_tiering_bytes_written_total",
        Kind::Counter,
        "Bytes written to the cold tier.",
    ),
    (
        "tidemark_tiering_backlog_partitions",
        Kind::Gauge,
        "Partitions past hot retention the last tiering pass found still hot.",
    ),
    (
        "tidemark_tiering_last_pass_timestamp_seconds",
        Kind::Gauge,
        "When the last tiering pass finished (Unix seconds; 0 before the first).",
    ),
    (
        "tidemark_background_failures_total",
        Kind::Counter,
        "Failed units of background work (compaction, tiering), by task and unit.",
    ),
];

/// Every limit `tidemark_limit_refusals_total` counts (the `limit` label).
const LIMITS: &[&str] = &[
    "name_bytes",
    "tag_value_bytes",
    "tags_per_series",
    "series_key_bytes",
    "fields_per_line",
    "string_field_bytes",
    "columns_per_measurement",
    "idempotency_key_bytes",
    "writer_queue_bytes",
    "body_bytes",
    "body_timeout",
    "connections",
    "loopback_only",
    "query_bytes",
    "expression_depth",
    "duration",
    "concurrent_queries",
    "function_output_bytes",
];

const PROTOCOLS: [IngestProtocol; 4] = [
    IngestProtocol::LineProtocol,
    IngestProtocol::RemoteWrite,
    IngestProtocol::RemoteWriteV2,
    IngestProtocol::Otlp,
];
const OUTCOMES: [&str; 4] = ["ok", "partial", "rejected", "error"];
const APIS: [QueryApi; 4] = [
    QueryApi::Sql,
    QueryApi::InfluxQl,
    QueryApi::FlightSql,
    QueryApi::PromQl,
];

/// Describes every family and registers its series at zero. Runs once, right after the
/// recorder is installed and before anything records.
pub(super) fn register() {
    for (name, kind, help) in FAMILIES {
        let (name, help) = (*name, *help);
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
    for name in [
        "tidemark_commit_groups_total",
        "tidemark_commit_failures_total",
        "tidemark_compaction_passes_total",
        "tidemark_compaction_chunks_written_total",
        "tidemark_tiering_passes_total",
        "tidemark_tiering_files_written_total",
        "tidemark_tiering_bytes_written_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    for name in [
        "tidemark_compaction_backlog",
        "tidemark_tiering_backlog_partitions",
        "tidemark_tiering_last_pass_timestamp_seconds",
    ] {
        metrics::gauge!(name).set(0.0);
    }
    // Registering a histogram (the registry keeps it) renders its buckets at zero.
    let _ = metrics::histogram!("tidemark_commit_duration_seconds");
    for protocol in PROTOCOLS.map(IngestProtocol::label) {
        for outcome in OUTCOMES {
            metrics::counter!("tidemark_ingest_requests_total", "protocol" => protocol, "outcome" => outcome)
                .increment(0);
        }
        for name in [
            "tidemark_ingest_points_total",
            "tidemark_ingest_values_total",
            "tidemark_ingest_rejected_points_total",
        ] {
            metrics::counter!(name, "protocol" => protocol).increment(0);
        }
    }
    for api in APIS.map(QueryApi::label) {
        let _ = metrics::histogram!("tidemark_query_duration_seconds", "api" => api);
        metrics::counter!("tidemark_query_errors_total", "api" => api).increment(0);
    }
    for limit in LIMITS {
        metrics::counter!("tidemark_limit_refusals_total", "limit" => *limit).increment(0);
    }
    for task in ["compaction", "tiering"] {
        metrics::counter!("tidemark_background_failures_total", "task" => task, "unit" => "pass")
            .increment(0);
    }
}
