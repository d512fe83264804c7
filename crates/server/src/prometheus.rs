//! The Prometheus family: remote_write 1.0 and 2.0 (`remote_write`), the HTTP query API with
//! PromQL (`api`) and its parameters and JSON (`format`).

pub mod api;
pub mod format;
pub mod remote_write;
