//! End-to-end tests of the real `tidemark` binary.

mod api;
mod auth;
mod cli;
mod clients;
mod crash;
mod fdb_faults;
mod harness;
mod hostile;
mod lifecycle;
mod nodes;
mod otlp;
mod prom;
mod prometheus;
mod promql_oracle;
mod promql_queries;
mod query;
mod remote_write_v2;
mod tiering;
mod writes;

pub(crate) use harness::TestServer;
