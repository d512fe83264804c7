//! `tidemark-ingest` will own the write path: parsing line protocol and remote_write, validating
//! points, and the group-commit writer that turns requests into per-series blocks in one
//! transaction. It depends on `tidemark-storage` only; `server` and `bench` use it.
//!
//! Nothing is here yet: the write path arrives with the line protocol ingest issue.
