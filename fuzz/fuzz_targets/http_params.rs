//! The small parsers behind the HTTP API read untrusted input too: the v1 `/query` form body,
//! its `CREATE DATABASE` statement, and the `Authorization` header. None may panic.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use tidemark_server::auth::presented_token;
use tidemark_server::influx::v1::{create_database_name, url_form};

fuzz_target!(|input: &[u8]| {
    let form = url_form(input);
    if let Some(statement) = form.get("q") {
        let _ = create_database_name(statement);
    }
    let _ = create_database_name(&String::from_utf8_lossy(input));
    if let Ok(value) = HeaderValue::from_bytes(input) {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        let _ = presented_token(&headers, None);
    }
});
