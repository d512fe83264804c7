//! InfluxDB 1.x compatibility beyond writes: `/ping`, and `/query` (InfluxQL, run by
//! `crate::influx::query`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tidemark_storage::KvDatabase;

use crate::api_error::{ApiError, Dialect};
use crate::body::read_query_body;
use crate::metrics::QueryApi;
use crate::state::AppState;

/// `GET|HEAD /ping`: 204 with the version headers InfluxDB clients look for.
pub async fn ping() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "x-influxdb-version",
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    headers.insert("x-influxdb-build", HeaderValue::from_static("tidemark"));
    response
}

/// `GET|POST /query?q=...` (or `q` in a form body): InfluxQL, see `crate::influx::query`.
pub async fn query<D: KvDatabase>(
    State(state): State<Arc<AppState<D>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    // The token may be in the form body (`p`), so the body is read first, within the query
    // body bounds.
    let body = read_query_body(body, &headers, &state.bodies)
        .await
        .map_err(|error| error.dialect(Dialect::V1))?;
    let form: HashMap<String, String> = url_form(&body);
    let text = params.get("q").or_else(|| form.get("q")).ok_or_else(|| {
        ApiError::invalid("missing required parameter \"q\"").dialect(Dialect::V1)
    })?;
    let statements = match tidemark_query::influxql::parse(text) {
        Ok(statements) => statements,
        Err(message) => return Ok(crate::influx::query::parse_error(message)),
    };
    let params = crate::influx::query::Params {
        query: &params,
        form: &form,
    };
    let result = crate::influx::query::run(&state, &params, &headers, statements).await;
    crate::metrics::record_query(QueryApi::InfluxQl, started.elapsed(), result.is_err());
    result
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn url_form(body: &[u8]) -> HashMap<String, String> {
    std::str::from_utf8(body)
        .ok()
        .map(|text| {
            text.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(key, value)| (percent_decode(key), percent_decode(value)))
                .collect()
        })
        .unwrap_or_default()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text; malformed escapes are kept literally.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = match (bytes[index], bytes.get(index + 1), bytes.get(index + 2)) {
            (b'%', Some(high), Some(low)) => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match (bytes[index], escaped) {
            (_, Some((high, low))) => {
                out.push(high << 4 | low);
                index += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                index += 1;
            }
            (byte, None) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn untrusted_statements_and_forms_never_panic(text in "\\PC{0,40}", bytes in prop::collection::vec(any::<u8>(), 0..60)) {
            let _ = url_form(&bytes);
            let _ = percent_decode(&text);
        }

        #[test]
        fn percent_encoding_round_trips(text in "\\PC{0,30}") {
            let encoded: String = text.bytes().map(|byte| format!("%{byte:02X}")).collect();
            prop_assert_eq!(percent_decode(&encoded), text);
        }
    }

    #[test]
    fn form_bodies_decode() {
        assert_eq!(
            percent_decode("CREATE+DATABASE+%22telegraf%22"),
            "CREATE DATABASE \"telegraf\""
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
