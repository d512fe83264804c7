//! The engine's own health at `GET /metrics`, in the Prometheus text format.
//!
//! Every crate records through the `metrics` facade (ingest: commits; tiering: compaction and
//! tiering passes; this crate: requests and queries); `metrics-exporter-prometheus` keeps the
//! values and renders them. Process gauges are read from `/proc` at scrape time.

mod families;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tidemark_storage::KvDatabase;

use crate::api_error::{ApiError, ErrorKind};
use crate::config::MetricsAuth;
use crate::state::AppState;

/// Latency buckets in seconds: 0.5 ms to 60 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static STARTED: OnceLock<f64> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls reuse it).
pub fn install() -> Option<PrometheusHandle> {
    STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    });
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            families::register();
            metrics::gauge!("tidemark_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .clone()
}

/// Resident memory from `/proc/self/statm` (pages × page size), where Linux provides it.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `GET /metrics`; with `http.metrics_auth = "token"` (the default) it takes a valid token
/// once authentication is on, like every other endpoint but `/health` and `/ping`.
pub async fn render<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = check_auth(&state, &headers).await {
        return error.into_response();
    }
    let Some(handle) = install() else {
        return ApiError::new(ErrorKind::Internal, "the metrics recorder is not installed")
            .into_response();
    };
    handle.run_upkeep();
    let mut text = handle.render();
    if let Some(bytes) = resident_bytes() {
        text.push_str(&format!(
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes {bytes}\n"
        ));
    }
    if let Some(started) = STARTED.get() {
        text.push_str(&format!(
            "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds {started}\n"
        ));
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The rule of `/metrics` and `/api/v1/status/buildinfo` (`http.metrics_auth`): open to
/// anyone who reaches the listener, or a valid token (any database's, or an admin token) once
/// authentication is on.
pub async fn check_auth<D: KvDatabase>(
    state: &AppState<D>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    match state.metrics_auth {
        MetricsAuth::Open => Ok(()),
        MetricsAuth::Token => state.auth.authenticate(headers, None).await.map(|_| ()),
    }
}

/// Which ingest protocol a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestProtocol {
    /// InfluxDB line protocol (v1, v2, v3 endpoints).
    LineProtocol,
    /// Prometheus remote_write 1.0.
    RemoteWrite,
    /// Prometheus remote_write 2.0.
    RemoteWriteV2,
    /// OpenTelemetry OTLP/HTTP metrics.
    Otlp,
}

impl IngestProtocol {
    fn label(self) -> &'static str {
        match self {
            Self::LineProtocol => "line_protocol",
            Self::RemoteWrite => "remote_write",
            Self::RemoteWriteV2 => "remote_write_v2",
            Self::Otlp => "otlp",
        }
    }
}

/// Records one write request: its outcome, what was written and what was refused.
pub fn record_ingest(
    protocol: IngestProtocol,
    result: Result<(), &ApiError>,
    points: usize,
    values: usize,
    rejected: usize,
) {
    let outcome = match result {
        Ok(()) => "ok",
        Err(_) if points > 0 => "partial",
        Err(error) if error.kind.status().is_client_error() => "rejected",
        Err(_) => "error",
    };
    let protocol = protocol.label();
    metrics::counter!("tidemark_ingest_requests_total", "protocol" => protocol, "outcome" => outcome)
        .increment(1);
    metrics::counter!("tidemark_ingest_points_total", "protocol" => protocol)
        .increment(points as u64);
    metrics::counter!("tidemark_ingest_values_total", "protocol" => protocol)
        .increment(values as u64);
    metrics::counter!("tidemark_ingest_rejected_points_total", "protocol" => protocol)
        .increment(rejected as u64);
}

/// Which query API ran a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryApi {
    /// `/api/v3/query_sql`.
    Sql,
    /// InfluxQL on `/query`.
    InfluxQl,
    /// Arrow Flight SQL.
    FlightSql,
    /// The Prometheus HTTP API.
    PromQl,
}

impl QueryApi {
    fn label(self) -> &'static str {
        match self {
            Self::Sql => "sql",
            Self::InfluxQl => "influxql",
            Self::FlightSql => "flight_sql",
            Self::PromQl => "promql",
        }
    }
}

/// Records one query's latency and whether it failed.
pub fn record_query(api: QueryApi, elapsed: Duration, failed: bool) {
    let api = api.label();
    metrics::histogram!("tidemark_query_duration_seconds", "api" => api)
        .record(elapsed.as_secs_f64());
    if failed {
        metrics::counter!("tidemark_query_errors_total", "api" => api).increment(1);
    }
}
