//! `tidemark-tiering` will own background data movement: compaction of hot blocks into chunks,
//! tiering of cold partitions to Parquet on object storage, and retention. It depends on
//! `tidemark-storage`; `server` runs its jobs and `bench` measures them.
//!
//! Nothing is here yet: compaction and tiering arrive with their own issue.
