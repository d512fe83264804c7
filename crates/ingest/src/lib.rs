//! `tidemark-ingest` owns the write path: parsing line protocol into points with per-line
//! errors ([`lp`]), decoding Prometheus remote_write requests into the same points
//! ([`remote_write`]), and the group-commit [`writer`] that merges concurrent requests into one
//! short transaction, writes one block per series, and acknowledges only durable commits.
//!
//! It depends on `tidemark-storage` (the KV trait and the time-series layout) only. `server`
//! mounts it behind the HTTP write endpoints; `bench` drives it.

pub mod error;
pub mod lp;
pub mod remote_write;
pub mod writer;

pub use error::{IngestError, LineError};
pub use lp::{ParsedBatch, Point, Precision, parse_lines};
pub use writer::{WriteOutcome, WriteRequest, Writer, WriterConfig, WriterStats};
