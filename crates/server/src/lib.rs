//! `tidemark-server` builds the `tidemark` binary: one typed configuration, logging, the HTTP
//! listener, and the wiring of every tier.
//!
//! It depends on `tidemark-storage` for the KV layer, `tidemark-ingest` for writes,
//! `tidemark-query` for SQL and PromQL (served here over HTTP, Arrow Flight SQL and the
//! Prometheus API on one port) and `tidemark-tiering` for compaction, tiering and retention.
//! Nothing depends on it.

pub mod admin;
pub mod api_error;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod console;
pub mod http;
pub mod influx;
pub mod listener;
pub mod loopback;
pub mod metrics;
pub mod otlp;
pub mod points;
pub mod prometheus;
pub mod serve;
pub mod sql;
pub mod state;
pub mod storage;
pub mod tier;
