//! `tidemark-server` builds the `tidemark` binary: one typed configuration, logging, the HTTP
//! listener, and the wiring of every tier.
//!
//! It depends on `tidemark-storage` for the KV layer and (as they arrive) on `tidemark-ingest`,
//! `tidemark-query` and `tidemark-tiering`. Nothing depends on it.

pub mod api_error;
pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod points;
pub mod serve;
pub mod state;
pub mod v1;
pub mod write;
