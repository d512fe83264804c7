//! `tidemark-ingest` owns the write path: parsing line protocol with per-line errors ([`lp`]),
//! decoding Prometheus remote_write 1.0 and 2.0 ([`remote_write`], [`remote_write_v2`]) and
//! OpenTelemetry's OTLP metrics ([`otlp`]) into the same series-major rows ([`batch`]), within
//! the bounds of [`limits`]; and the group-commit [`writer`] that merges
//! concurrent requests into one short transaction, writes one block per series, and
//! acknowledges only durable commits.
//!
//! It depends on `tidemark-storage` (the KV trait and the time-series layout) only. `server`
//! mounts it behind the HTTP write endpoints; `bench` drives it.

pub mod batch;
pub mod error;
pub mod limits;
pub mod lp;
pub mod otlp;
pub mod remote_write;
pub mod remote_write_v2;
pub mod writer;

pub use batch::{SeriesRows, WriteBatch};
pub use error::{IngestError, LineError};
pub use limits::IngestLimits;
pub use lp::{Precision, parse_lines};
pub use writer::{
    CacheBudgets, WriteOutcome, WriteRequest, Writer, WriterConfig, WriterStats, validate_database,
};
