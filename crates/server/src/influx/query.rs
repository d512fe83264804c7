//! `GET|POST /query` with InfluxQL: parameters from the query string or a form body (`q`,
//! `db`, `rp`, `epoch`, `pretty`, `chunked`, `chunk_size`, `u`/`p`), one result per
//! `;`-separated statement, in 1.x JSON or CSV.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tidemark_query::influxql::ast::{Statement, Target};
use tidemark_query::influxql::{StatementContext, StatementResult, statement_database};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::TokenGrant;

use super::into;
use super::response::{Epoch, csv, json, json_chunks};
use crate::api_error::{ApiError, Dialect};
use crate::auth::{Access, database_for};
use crate::state::AppState;

/// Rows per chunk when `chunked=true` names no `chunk_size` (InfluxDB's default).
const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// The request's parameters: the query string wins over the form body.
#[derive(Debug)]
pub struct Params<'a> {
    /// Query string parameters.
    pub query: &'a HashMap<String, String>,
    /// Form body parameters.
    pub form: &'a HashMap<String, String>,
}

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .or_else(|| self.form.get(name))
            .map(String::as_str)
    }
}

/// Runs the InfluxQL of a `/query` request whose statements are already parsed.
pub async fn run<D: KvDatabase>(
    state: &AppState<D>,
    params: &Params<'_>,
    headers: &HeaderMap,
    statements: Vec<Statement>,
) -> Result<Response, ApiError> {
    let v1 = |error: ApiError| error.dialect(Dialect::V1);
    let epoch = Epoch::parse(params.get("epoch")).map_err(|e| v1(ApiError::invalid(e)))?;
    let grant = state
        .auth
        .authenticate(headers, params.get("p"))
        .await
        .map_err(v1)?;
    let requested = params.get("db").filter(|db| !db.is_empty());
    // Every statement's database is authorised before any runs (and SELECT INTO's target
    // for writing).
    for statement in &statements {
        if let Some(database) = statement_database(statement, requested) {
            let access = match statement {
                Statement::CreateDatabase(_) => Access::Write,
                _ => Access::Read,
            };
            database_for(grant.as_ref(), Some(database), access).map_err(v1)?;
        }
        if let Some((_, target_database)) = into_target(statement, requested) {
            database_for(grant.as_ref(), Some(target_database), Access::Write).map_err(v1)?;
        }
    }
    let visible = visible_databases(grant.as_ref());
    let now = now_nanos();
    let mut results = Vec::with_capacity(statements.len());
    for statement in &statements {
        let result = match statement {
            Statement::CreateDatabase(create) => {
                match super::create_database(state, &create.name).await {
                    Ok(()) => StatementResult::default(),
                    Err(error) => StatementResult::error(error.message),
                }
            }
            statement => {
                let context = StatementContext {
                    database: requested,
                    now,
                    visible: visible.as_deref(),
                };
                match (statement, into_target(statement, requested)) {
                    (Statement::Select(select), Some((target, target_database))) => {
                        into::select_into(state, select, target, target_database, context).await
                    }
                    _ => state.query.influxql_statement(statement, context).await,
                }
            }
        };
        results.push(result);
    }
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/csv") || accept.contains("text/csv"));
    if wants_csv {
        let body = csv(&results, epoch).map_err(|e| v1(ApiError::invalid(e)))?;
        return Ok(with_type(body, "application/csv"));
    }
    let chunked = params.get("chunked").is_some_and(|v| v == "true");
    let body = if chunked {
        let size = params
            .get("chunk_size")
            .and_then(|size| size.parse().ok())
            .filter(|size| *size > 0)
            .unwrap_or(DEFAULT_CHUNK_SIZE);
        json_chunks(&results, epoch, size)
    } else if params.get("pretty").is_some_and(|v| v == "true") {
        pretty(&json(&results, epoch))
    } else {
        json(&results, epoch)
    };
    Ok(with_type(body, "application/json"))
}

/// A SELECT INTO's target and the database it writes to (the target's, else the one the
/// statement reads).
fn into_target<'a>(
    statement: &'a Statement,
    requested: Option<&'a str>,
) -> Option<(&'a Target, &'a str)> {
    let Statement::Select(select) = statement else {
        return None;
    };
    let target = select.target.as_ref()?;
    let database = target
        .database
        .as_deref()
        .or_else(|| statement_database(statement, requested))?;
    Some((target, database))
}

/// The databases `SHOW DATABASES` lists for a caller: all without auth or for an admin.
fn visible_databases(grant: Option<&TokenGrant>) -> Option<Vec<String>> {
    match grant {
        Some(grant) if !grant.admin => Some(grant.databases.clone()),
        _ => None,
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as i64)
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Indents a JSON document (`pretty=true`).
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| text.to_owned())
}

/// The 1.x answer to a query that does not parse: 400 with `{"error": ...}`.
pub fn parse_error(message: String) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = (StatusCode::BAD_REQUEST, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
