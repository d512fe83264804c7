//! The Prometheus HTTP API as Grafana's Prometheus data source uses it: instant and range
//! queries, series, labels, label values, metadata, build info, and the empty answers Grafana
//! probes for (exemplars, rules, alerts).
//!
//! The database is the `db` parameter, else the token's own database, else the configured
//! default; reading it needs a read token whenever authentication is on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tidemark_query::QueryError;
use tidemark_query::promql::EvalParams;
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::MetricMetadata;

use crate::api_error::{ApiError, Dialect};
use crate::auth::{Access, database_for};
use crate::body::read_query_body;
use crate::metrics::{QueryApi, record_query};
use crate::prometheus::format::{
    PromParams, bad_data, parse_duration, parse_time, query_data, series_data,
};
use crate::state::AppState;

/// Prometheus's default lookback for instant selectors.
const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Prometheus's default `evaluation_interval`, the step of subqueries that name none.
const DEFAULT_SUBQUERY_STEP_MS: i64 = 60 * 1000;
/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;
/// Start and end of `series`/`labels` requests that give none: all time.
const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 + 1;
const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 - 1;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn success(data: &str) -> Response {
    let mut response = format!("{{\"status\":\"success\",\"data\":{data}}}").into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn prometheus_error(error: ApiError) -> Response {
    error.dialect(Dialect::Prometheus).into_response()
}

/// The envelope of a handler's outcome: `data` on success, the error envelope otherwise.
fn respond(result: Result<String, ApiError>) -> Response {
    result.map_or_else(prometheus_error, |data| success(&data))
}

/// A request's parameters (query string, then the form body) and the database it reads. The
/// token is checked before the body is read; the database (which the body may name) after.
async fn request<D: KvDatabase>(
    state: &AppState<D>,
    headers: &HeaderMap,
    raw: Option<&str>,
    body: Body,
) -> Result<(PromParams, String), ApiError> {
    let grant = state.auth.authenticate(headers, None).await?;
    let form = read_query_body(body, headers, &state.bodies).await?;
    let params = PromParams::new(raw, &form);
    let database = database_for(grant.as_ref(), params.get("db"), Access::Read)?
        .unwrap_or_else(|| state.default_database.clone());
    Ok((params, database))
}

fn optional_time(params: &PromParams, name: &str, default: i64) -> Result<i64, ApiError> {
    params
        .get(name)
        .map_or(Ok(default), |text| parse_time(name, text))
}

/// The lookback and the client's `timeout` (the engine caps it at the server's maximum).
fn base_params(params: &PromParams) -> Result<(i64, Option<Duration>), ApiError> {
    let lookback_ms = match params.get("lookback_delta") {
        Some(text) => parse_duration("lookback_delta", text)?,
        None => DEFAULT_LOOKBACK_MS,
    };
    let timeout = match params.get("timeout") {
        Some(text) => Some(Duration::from_millis(
            u64::try_from(parse_duration("timeout", text)?.max(1)).unwrap_or(u64::MAX),
        )),
        None => None,
    };
    Ok((lookback_ms, timeout))
}

async fn evaluate<D: KvDatabase>(
    state: &AppState<D>,
    database: &str,
    params: &PromParams,
    eval: EvalParams,
    timeout: Option<Duration>,
) -> Result<String, ApiError> {
    let query = params
        .get("query")
        .ok_or_else(|| bad_data("invalid parameter \"query\": missing query"))?;
    let started = Instant::now();
    let result = state
        .query
        .promql(database, query, &eval, timeout)
        .await
        .map_err(ApiError::from);
    record_query(QueryApi::PromQl, started.elapsed(), result.is_err());
    Ok(query_data(&result?))
}

/// `GET|POST /api/v1/query`.
pub async fn query<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), body).await?;
        let time = optional_time(&params, "time", now_ms())?;
        let (lookback_ms, timeout) = base_params(&params)?;
        let eval = EvalParams {
            start_ms: time,
            end_ms: time,
            step_ms: 1,
            lookback_ms,
            default_subquery_step_ms: DEFAULT_SUBQUERY_STEP_MS,
            instant: true,
        };
        evaluate(&state, &database, &params, eval, timeout).await
    }
    .await;
    respond(result)
}

/// `GET|POST /api/v1/query_range`.
pub async fn query_range<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), body).await?;
        let required = |name: &str| {
            params
                .get(name)
                .ok_or_else(|| bad_data(format!("invalid parameter {name:?}: missing {name}")))
        };
        let start = parse_time("start", required("start")?)?;
        let end = parse_time("end", required("end")?)?;
        if end < start {
            return Err(bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        let step = parse_duration("step", required("step")?)?;
        if step <= 0 {
            return Err(bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are \
                 not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_POINTS {
            return Err(bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the \
                 query resolution (?step=XX)",
            ));
        }
        let (lookback_ms, timeout) = base_params(&params)?;
        let eval = EvalParams {
            start_ms: start,
            end_ms: end,
            step_ms: step,
            lookback_ms,
            default_subquery_step_ms: DEFAULT_SUBQUERY_STEP_MS,
            instant: false,
        };
        evaluate(&state, &database, &params, eval, timeout).await
    }
    .await;
    respond(result)
}

fn range_params(params: &PromParams) -> Result<(i64, i64, Option<usize>), ApiError> {
    let start = optional_time(params, "start", MIN_TIME_MS)?;
    let end = optional_time(params, "end", MAX_TIME_MS)?;
    let limit = match params.get("limit") {
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            bad_data(format!(
                "invalid parameter \"limit\": cannot parse {text:?}"
            ))
        })?),
        None => None,
    };
    // `limit=0` means no limit, as in Prometheus.
    Ok((start, end, limit.filter(|limit| *limit > 0)))
}

fn truncate<T>(mut items: Vec<T>, limit: Option<usize>) -> Vec<T> {
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    items
}

/// `GET|POST /api/v1/series`.
pub async fn series<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), body).await?;
        let selectors = params.all("match[]");
        if selectors.is_empty() {
            return Err(bad_data("no match[] parameter provided"));
        }
        let (start, end, limit) = range_params(&params)?;
        let sets = state
            .query
            .prom_series(&database, &selectors, start, end)
            .await?;
        Ok(series_data(&truncate(sets, limit)))
    }
    .await;
    respond(result)
}

fn string_list(items: &[String]) -> String {
    serde_json::Value::from(items).to_string()
}

/// `GET|POST /api/v1/labels`.
pub async fn labels<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), body).await?;
        let (start, end, limit) = range_params(&params)?;
        let names = state
            .query
            .prom_label_names(&database, &params.all("match[]"), start, end)
            .await?;
        Ok(string_list(&truncate(names, limit)))
    }
    .await;
    respond(result)
}

/// `GET /api/v1/label/{name}/values`.
pub async fn label_values<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), Body::empty()).await?;
        // Grafana escapes label names that are not valid identifiers as `U__...`; ours always
        // are, so only plain names are looked up.
        let (start, end, limit) = range_params(&params)?;
        let values = state
            .query
            .prom_label_values(&database, &name, &params.all("match[]"), start, end)
            .await?;
        Ok(string_list(&truncate(values, limit)))
    }
    .await;
    respond(result)
}

/// Every metric's metadata in `database`: none for the default database before its first
/// write, `not_found` for any other database that does not exist (as PromQL answers).
async fn read_metadata<D: KvDatabase>(
    state: &AppState<D>,
    database: &str,
) -> Result<Vec<(String, MetricMetadata)>, ApiError> {
    let tx = state.db.create_transaction()?;
    let Some(tenant) = state.layout.tenant_id(&tx, database).await? else {
        if database == state.default_database {
            return Ok(Vec::new());
        }
        return Err(QueryError::DatabaseNotFound(database.to_owned()).into());
    };
    Ok(state.layout.metric_metadata(&tx, tenant).await?)
}

/// `GET /api/v1/metadata`: what remote_write senders reported about their metrics.
pub async fn metadata<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (params, database) = request(&state, &headers, raw.as_deref(), Body::empty()).await?;
        let limit = params
            .get("limit")
            .and_then(|text| text.parse::<i64>().ok());
        let entries = read_metadata(&state, &database).await?;
        let mut data = serde_json::Map::new();
        for (metric, entry) in entries {
            if params.get("metric").is_some_and(|wanted| wanted != metric) {
                continue;
            }
            if limit.is_some_and(|limit| limit >= 0 && data.len() as i64 >= limit) {
                break;
            }
            data.insert(
                metric,
                serde_json::json!([{ "type": entry.kind, "help": entry.help, "unit": entry.unit }]),
            );
        }
        Ok::<_, ApiError>(serde_json::Value::Object(data).to_string())
    }
    .await;
    respond(result)
}

/// `GET /api/v1/status/buildinfo`. The version is the Prometheus API level served (Grafana
/// picks its request style from it); Tidemark's own version is in `revision`. Who may read it
/// follows `http.metrics_auth`, as for `/metrics`.
pub async fn buildinfo<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = crate::metrics::check_auth(&state, &headers).await {
        return prometheus_error(error);
    }
    let data = serde_json::json!({
        "version": "3.0.0",
        "revision": format!("tidemark-{}", env!("CARGO_PKG_VERSION")),
        "branch": "tidemark",
        "buildUser": "tidemark",
        "buildDate": "",
        "goVersion": "none (Rust)",
    });
    success(&data.to_string())
}

/// `GET|POST /api/v1/query_exemplars`: exemplars are not stored, so there are none.
pub async fn query_exemplars() -> Response {
    success("[]")
}

/// `GET /api/v1/rules`: Tidemark evaluates no recording or alerting rules.
pub async fn rules() -> Response {
    success("{\"groups\":[]}")
}

/// `GET /api/v1/alerts`.
pub async fn alerts() -> Response {
    success("{\"alerts\":[]}")
}
