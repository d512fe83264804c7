//! `tidemark-storage` owns everything Tidemark keeps: the FDB-shaped transactional key-value
//! layer (one trait, [`kv::KvTransaction`]), its two backends, the key encoding and the shared
//! retry loop.
//!
//! The embedded backend ([`EmbeddedKv`], the default) stores data in fjall and resolves
//! conflicts with its own FDB-style resolver; the FDB backend (`fdb` feature) adapts the
//! `foundationdb` crate. Both speak FDB error codes and FDB's transaction semantics, so code
//! that passes on one holds on the other.
//!
//! It depends on fjall, `foundationdb-tuple` and (optionally) `foundationdb`, and on nothing
//! else of Tidemark. The cold tier (Parquet files on object storage through `object_store`, and
//! their index) lives in [`cold`]. `ingest`, `query` and `tiering` depend on it; only this crate talks to
//! FDB, fjall and object storage.

pub mod atomic;
pub mod block;
pub mod cache;
pub mod cold;
pub mod embedded;
pub mod error;
#[cfg(feature = "fdb")]
pub mod fdb;
pub mod keys;
pub mod kv;
pub mod ranges;
pub mod retry;
pub mod tsdb;
pub mod window;

pub use embedded::{EmbeddedKv, EmbeddedOptions, FaultConfig};
pub use error::{KvError, KvResult};
pub use kv::{
    AtomicOp, CommitFailed, Committed, ConflictKind, KeyValue, KvDatabase, KvTransaction,
    RangeChunk, RangeRequest, StreamingMode, TxOption,
};
pub use retry::{MaybeCommitted, RunOptions, TxError, TxFuture, run};
pub use window::ReadWindow;
