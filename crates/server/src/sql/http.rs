//! `GET|POST /api/v3/query_sql`: SQL over HTTP, InfluxDB 3 compatible.
//!
//! Parameters come from the query string (`db`, `q`, `format`) or, for POST, from a JSON body
//! with the same keys. The result streams in the requested format; the first chunk is computed
//! before the status line is sent, so planning errors and errors of the first batches get a
//! proper status and JSON body instead of a cut-off 200.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use tidemark_query::format::encode;
use tidemark_query::{QueryKind, ResultFormat};
use tidemark_storage::KvDatabase;

use crate::api_error::{ApiError, Dialect};
use crate::auth::{Access, database_for};
use crate::body::read_query_body;
use crate::metrics::QueryApi;
use crate::state::AppState;

/// The request's parameters, from the query string or a JSON body.
#[derive(Debug, Default, Deserialize)]
struct SqlRequest {
    db: Option<String>,
    q: Option<String>,
    format: Option<String>,
}

fn parse_request(
    method: &Method,
    params: HashMap<String, String>,
    body: &[u8],
) -> Result<SqlRequest, ApiError> {
    let mut request = SqlRequest {
        db: params.get("db").cloned(),
        q: params.get("q").cloned(),
        format: params.get("format").cloned(),
    };
    if method == Method::POST && !body.iter().all(u8::is_ascii_whitespace) {
        let json: SqlRequest = serde_json::from_slice(body).map_err(|error| {
            ApiError::invalid(format!(
                "the body must be JSON with keys db, q and format: {error}"
            ))
        })?;
        request.db = json.db.or(request.db);
        request.q = json.q.or(request.q);
        request.format = json.format.or(request.format);
    }
    Ok(request)
}

/// The handler.
pub async fn query_sql<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    method: Method,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let result = run(&state, &method, params, &headers, body).await;
    // Until the response starts: results stream after this.
    crate::metrics::record_query(QueryApi::Sql, started.elapsed(), result.is_err());
    match result {
        Ok(response) => response,
        Err(error) => error.dialect(Dialect::V3).into_response(),
    }
}

async fn run<D: KvDatabase>(
    state: &AppState<D>,
    method: &Method,
    params: HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Authenticate before reading anything of the body.
    let grant = state.auth.authenticate(headers, None).await?;
    let body = read_query_body(body, headers, &state.bodies).await?;
    let request = parse_request(method, params, &body)?;
    let sql = request
        .q
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("missing q (the SQL query)"))?;
    let format: ResultFormat = request.format.as_deref().unwrap_or("json").parse()?;
    let requested = request.db.filter(|db| !db.is_empty());
    let database = database_for(grant.as_ref(), requested.as_deref(), Access::Read)?;
    let results = state
        .query
        .query(database.as_deref(), &sql, QueryKind::Http, None)
        .await?;
    let mut chunks = Box::pin(encode(format, results));
    let first = chunks.next().await.transpose()?;
    let rest = chunks.map_err(|error| {
        tracing::warn!(%error, "query failed after its response started");
        error
    });
    let body = futures::stream::iter(first.map(Ok)).chain(rest);
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_override_query_parameters() {
        let params = HashMap::from([("db".to_owned(), "a".to_owned())]);
        let request = parse_request(&Method::POST, params, br#"{"q":"SELECT 1"}"#).unwrap();
        assert_eq!(request.db.as_deref(), Some("a"));
        assert_eq!(request.q.as_deref(), Some("SELECT 1"));
        let error = parse_request(&Method::POST, HashMap::new(), b"q=1").unwrap_err();
        assert!(error.message.contains("JSON"), "{}", error.message);
        let get = parse_request(&Method::GET, HashMap::new(), b"ignored").unwrap();
        assert!(get.q.is_none());
    }

    proptest::proptest! {
        #[test]
        fn untrusted_bodies_never_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let _ = parse_request(&Method::POST, HashMap::new(), &body);
        }
    }
}
