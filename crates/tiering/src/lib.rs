//! `tidemark-tiering` owns background data movement: [`compaction`] (merging the small blocks
//! ingest writes into one compressed chunk per series and hour), tiering (moving partitions
//! older than the hot retention to Parquet files on object storage, [`tier`] and
//! [`partition`]), retention and garbage collection of the cold tier ([`retention`]), and the
//! per-tenant summary `tidemark tier status` prints ([`status`]).
//!
//! It depends on `tidemark-storage` only (which owns the KV store, the object store and the
//! cold file format); `server` runs compaction and tiering in the background and on demand
//! (`tidemark compact`, `tidemark tier run`), and `bench` measures them.

pub mod compaction;
mod error;
mod metrics;
mod partition;
pub mod pass;
mod retention;
pub mod status;
pub mod supervise;
pub mod tier;
mod txn;

pub use compaction::{
    CompactionConfig, CompactionError, CompactionStats, compact_bucket, compact_sealed,
    run_compaction_loop,
};
pub use error::TieringError;
pub use pass::{DAY_NANOS, StepHook, TierEvent, TierStats, TierStep, Tierer, TieringConfig};
pub use status::{TenantStatus, tier_status};
pub use supervise::{Busy, Coordinator, Job, JobGuard};
pub use tier::run_tiering_loop;
pub use txn::nanos;
