//! SQL: over HTTP (`http`, `/api/v3/query_sql`) and over Arrow Flight SQL (`flight`), on one
//! listener.

pub mod flight;
pub mod http;
