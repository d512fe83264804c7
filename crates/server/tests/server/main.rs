//! End-to-end tests of the real `tidemark` binary.

mod admin;
mod api;
mod auth;
mod cli;
mod clients;
mod console;
mod crash;
mod fdb_faults;
mod harness;
mod hostile;
mod influxdb1;
mod influxql;
mod influxql_oracle;
mod influxql_queries;
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
