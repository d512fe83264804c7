//! The console's two JSON endpoints, answered from the catalog and the series index.
//!
//! - `GET /api/v0/console/databases`: the databases the caller may read (every database without
//!   authentication or with an admin token, the token's own otherwise). One range read of the
//!   tenant list, where tier status would read every data key.
//! - `GET /api/v0/console/cardinality?db=<db>[&measurement=<m>][&top=<n>]`: series per
//!   measurement; with `measurement`, its series and, per tag key, the number of distinct values
//!   and the `top` values (default 10) with the most series. Counts are exact: each is the
//!   number of postings in the index (one key per series and tag value), which SQL or the
//!   Prometheus API could only give by listing every series. One request reads at most
//!   [`MAX_POSTINGS`] postings; past that the answer says `"truncated": true` and its counts are
//!   lower bounds.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;
use tidemark_storage::tsdb::{Layout, TenantId};
use tidemark_storage::{KvDatabase, KvError, RangeRequest, ReadWindow};

use crate::api_error::{ApiError, ErrorKind};
use crate::auth::{Access, database_for};
use crate::state::AppState;

/// Postings one cardinality request reads at most (about 40 bytes each in the index).
pub(crate) const MAX_POSTINGS: usize = 2_000_000;
/// Top values per tag key when the request names no `top`.
const DEFAULT_TOP: usize = 10;
/// Most top values a request may ask for.
const MAX_TOP: usize = 1_000;

/// `GET /api/v0/console/databases`.
pub(crate) async fn databases<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    headers: HeaderMap,
) -> Response {
    let grant = match state.auth.authenticate(&headers, None).await {
        Ok(grant) => grant,
        Err(error) => return error.into_response(),
    };
    let names = match grant {
        Some(grant) if !grant.admin => grant.databases,
        _ => match state.query.database_names().await {
            Ok(names) => names,
            Err(error) => return ApiError::from(error).into_response(),
        },
    };
    Json(json!({ "databases": names })).into_response()
}

/// The parameters of a cardinality request.
#[derive(Debug, Deserialize)]
pub(crate) struct CardinalityRequest {
    db: Option<String>,
    measurement: Option<String>,
    top: Option<usize>,
}

/// `GET /api/v0/console/cardinality`.
pub(crate) async fn cardinality<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(request): Query<CardinalityRequest>,
    headers: HeaderMap,
) -> Response {
    match answer(&state, &request, &headers).await {
        Ok(body) => Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn answer<D: KvDatabase>(
    state: &AppState<D>,
    request: &CardinalityRequest,
    headers: &HeaderMap,
) -> Result<serde_json::Value, ApiError> {
    let grant = state.auth.authenticate(headers, None).await?;
    let requested = request.db.as_deref().filter(|db| !db.is_empty());
    let database = database_for(grant.as_ref(), requested, Access::Read)?
        .ok_or_else(|| ApiError::invalid("missing db (the database)"))?;
    let top = request.top.unwrap_or(DEFAULT_TOP).min(MAX_TOP);
    let tx = state.db.create_transaction()?;
    let tenant = state
        .layout
        .tenant_id(&tx, &database)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                format!("database {database:?} not found"),
            )
        })?;
    let mut counter = PostingCounter::new(state.db.clone(), &state.layout, tenant);
    match request.measurement.as_deref() {
        None => {
            let schemas = state.layout.schemas(&tx, tenant).await?;
            let mut measurements = Vec::with_capacity(schemas.len());
            for name in schemas.keys() {
                let series = counter.series(name).await?;
                measurements.push((name.clone(), series));
            }
            measurements.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let listed: Vec<_> = measurements
                .iter()
                .map(|(name, series)| json!({ "measurement": name, "series": series }))
                .collect();
            Ok(json!({
                "database": database,
                "measurements": listed,
                "truncated": counter.truncated,
            }))
        }
        Some(measurement) => {
            let schema = state
                .layout
                .measurement_schema(&tx, tenant, measurement)
                .await?;
            if schema.tags.is_empty() && schema.fields.is_empty() {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!("measurement {measurement:?} not found in database {database:?}"),
                ));
            }
            let series = counter.series(measurement).await?;
            let mut tags = Vec::with_capacity(schema.tags.len());
            for key in &schema.tags {
                let values = counter.values(measurement, key).await?;
                tags.push(tag_json(key, values, top));
            }
            Ok(json!({
                "database": database,
                "measurement": measurement,
                "series": series,
                "tags": tags,
                "truncated": counter.truncated,
            }))
        }
    }
}

/// A tag key's distinct values and its `top` values by series, most first (ties by value).
pub(crate) fn tag_json(key: &str, values: HashMap<String, u64>, top: usize) -> serde_json::Value {
    let distinct = values.len();
    let series: u64 = values.values().sum();
    let mut ranked: Vec<(String, u64)> = values.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    let listed: Vec<_> = ranked
        .into_iter()
        .map(|(value, series)| json!({ "value": value, "series": series }))
        .collect();
    json!({ "key": key, "values": distinct, "series": series, "top": listed })
}

/// Counts postings within one request's budget.
struct PostingCounter<'a, D: KvDatabase> {
    window: ReadWindow<D>,
    layout: &'a Layout,
    tenant: TenantId,
    left: usize,
    truncated: bool,
}

impl<'a, D: KvDatabase> PostingCounter<'a, D> {
    fn new(db: D, layout: &'a Layout, tenant: TenantId) -> Self {
        Self {
            window: ReadWindow::new(db),
            layout,
            tenant,
            left: MAX_POSTINGS,
            truncated: false,
        }
    }

    /// Reads the postings of `(begin, end)` within the budget, visiting each key.
    async fn read(
        &mut self,
        (begin, end): (Vec<u8>, Vec<u8>),
        mut visit: impl FnMut(&[u8]),
    ) -> Result<(), KvError> {
        if self.left == 0 {
            self.truncated = true;
            return Ok(());
        }
        // One more than the budget tells a full range from a cut one.
        let request = RangeRequest::new(begin, end).limit(self.left + 1);
        let budget = self.left;
        let mut read = 0usize;
        self.window
            .read_append_only(&request, |(key, _)| {
                read += 1;
                if read <= budget {
                    visit(&key);
                }
            })
            .await?;
        if read > self.left {
            self.truncated = true;
        }
        self.left = self.left.saturating_sub(read);
        Ok(())
    }

    /// Series of a measurement: its postings without a tag.
    async fn series(&mut self, measurement: &str) -> Result<u64, KvError> {
        let range = self.layout.postings(self.tenant, measurement, ("", ""));
        let mut count = 0u64;
        self.read(range, |_| count += 1).await?;
        Ok(count)
    }

    /// Series per value of one tag key.
    async fn values(
        &mut self,
        measurement: &str,
        key: &str,
    ) -> Result<HashMap<String, u64>, KvError> {
        let range = self.layout.tag_postings(self.tenant, measurement, key);
        let layout = self.layout;
        let mut values: HashMap<String, u64> = HashMap::new();
        self.read(range, |posting| {
            if let Some((value, _)) = layout.posting_entry(posting) {
                *values.entry(value).or_default() += 1;
            }
        })
        .await?;
        Ok(values)
    }
}
