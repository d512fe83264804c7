//! `GET /api/v0/points`: the minimal read-back path until the query service exists. Returns a
//! series' points in a time range, deduplicated (latest write wins), as JSON.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Json;
use serde_json::{Value, json};
use tidemark_storage::KvDatabase;
use tidemark_storage::block::ColumnValues;
use tidemark_storage::tsdb::{SeriesKey, read_series};

use crate::api_error::{ApiError, ErrorKind};
use crate::auth::Access;
use crate::state::AppState;

/// Parses a series in line protocol syntax: `measurement,tag=value,...`.
pub fn parse_series(text: &str) -> Result<SeriesKey, String> {
    tidemark_ingest::lp::parse_series_key(text, &tidemark_ingest::IngestLimits::default())
}

fn time_param(params: &HashMap<String, String>, name: &str, default: i64) -> Result<i64, ApiError> {
    params.get(name).map_or(Ok(default), |value| {
        value.parse().map_err(|_| {
            ApiError::invalid(format!(
                "invalid {name} {value:?}: expected nanoseconds since the epoch"
            ))
        })
    })
}

fn json_value(values: &ColumnValues, row: usize) -> Option<Value> {
    match values {
        ColumnValues::F64(v) => v[row].map(|x| json!(x)),
        ColumnValues::I64(v) => v[row].map(|x| json!(x)),
        ColumnValues::U64(v) => v[row].map(|x| json!(x)),
        ColumnValues::Bool(v) => v[row].map(|x| json!(x)),
        ColumnValues::Str(v) => v[row].as_ref().map(|x| json!(x)),
    }
}

/// Why a series that does not exist was likely named wrong: it lacks tag keys that its
/// measurement has (e.g. a bare measurement name, `cpu`, where series are `cpu,host=a`).
fn missing_tags(
    text: &str,
    series: &SeriesKey,
    measurement_tags: &BTreeSet<String>,
) -> Option<String> {
    let lacks_some = measurement_tags
        .iter()
        .any(|tag| !series.tags.iter().any(|(given, _)| given == tag));
    if !lacks_some {
        return None;
    }
    let keys: Vec<&str> = measurement_tags.iter().map(String::as_str).collect();
    let example: String = keys.iter().map(|tag| format!(",{tag}=...")).collect();
    Some(format!(
        "no series {text:?}: a series is a measurement with all of its tags, e.g. `{}{example}` \
         (measurement `{}` has tag keys {})",
        series.measurement,
        series.measurement,
        keys.join(", ")
    ))
}

/// `GET /api/v0/points?db=&series=&start=&end=`.
pub async fn points<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let database = params
        .get("db")
        .ok_or_else(|| ApiError::invalid("missing db (query parameter db)"))?;
    let series_text = params.get("series").ok_or_else(|| {
        ApiError::invalid("missing series (query parameter series, e.g. cpu,host=a)")
    })?;
    let series = parse_series(series_text).map_err(ApiError::invalid)?;
    let start = time_param(&params, "start", i64::MIN)?;
    let end = time_param(&params, "end", i64::MAX)?;
    state
        .auth
        .authorize(&headers, None, database, Access::Read)
        .await?;
    let tx = state.db.create_transaction()?;
    let tenant = state
        .layout
        .tenant_id(&tx, database)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("database not found: {database:?}"),
            )
        })?;
    let Some(id) = state.layout.find_series(&tx, tenant, &series).await? else {
        let schema = state
            .layout
            .measurement_schema(&tx, tenant, &series.measurement)
            .await?;
        if let Some(message) = missing_tags(series_text, &series, &schema.tags) {
            return Err(ApiError::new(ErrorKind::NotFound, message));
        }
        return Ok(Json(
            json!({ "series": series_text, "count": 0, "points": [] }),
        ));
    };
    let block = read_series(&tx, &state.layout, tenant, id, start, end).await?;
    let rows: Vec<Value> = (0..block.rows())
        .map(|row| {
            let fields: serde_json::Map<String, Value> = block
                .columns
                .iter()
                .filter_map(|column| {
                    json_value(&column.values, row).map(|value| (column.name.clone(), value))
                })
                .collect();
            json!({ "time": block.timestamps[row], "fields": fields })
        })
        .collect();
    Ok(Json(
        json!({ "series": series_text, "count": rows.len(), "points": rows }),
    ))
}
