//! `tidemark-tiering` owns background data movement. Today that is [`compaction`]: merging the
//! small blocks ingest writes into one compressed chunk per series and hour, under the dedup
//! rule. Tiering cold partitions to Parquet on object storage and retention arrive with issue 5.
//!
//! It depends on `tidemark-storage` only; `server` runs compaction in the background and as
//! `tidemark compact`, and `bench` measures it.

pub mod compaction;

pub use compaction::{
    CompactionConfig, CompactionError, CompactionStats, compact_bucket, compact_sealed,
    run_compaction_loop,
};
