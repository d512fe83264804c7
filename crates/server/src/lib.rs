//! `tidemark-server` builds the `tidemark` binary: one typed configuration, logging, the HTTP
//! listener, and the wiring of every tier.
//!
//! It depends on `tidemark-storage` for the KV layer, `tidemark-ingest` for writes,
//! `tidemark-query` for SQL (served here over HTTP and Arrow Flight SQL on one port) and
//! `tidemark-tiering` for compaction, tiering and retention. Nothing depends on it.

pub mod api_error;
pub mod auth;
pub mod cli;
pub mod config;
pub mod flight;
pub mod http;
pub mod listener;
pub mod points;
pub mod serve;
pub mod sql;
pub mod state;
pub mod tier;
pub mod v1;
pub mod write;
