//! `tidemark-server` builds the `tidemark` binary: one typed configuration, logging, the HTTP
//! listener, and the wiring of every tier.
//!
//! It depends on `tidemark-storage` for the KV layer and (as they arrive) on `tidemark-ingest`,
//! `tidemark-query` and `tidemark-tiering`. Nothing depends on it.

pub mod config;
pub mod http;
pub mod serve;
