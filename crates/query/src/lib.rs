//! `tidemark-query` owns the query service: DataFusion over the stored series, with one table
//! per measurement of a tenant, time and tag filters pushed into the scan, the `system` tables,
//! and the encodings of query results.
//!
//! It reads storage only through `tidemark-storage` (postings, series records and data blocks
//! through the KV trait) and is the only crate that depends on DataFusion. `server` puts it
//! behind Arrow Flight SQL and HTTP (`/api/v3/query_sql`); `bench` measures it.

mod batches;
pub mod budget;
mod cold;
mod engine;
mod error;
pub mod format;
mod guard;
pub mod influxql;
mod predicate;
pub mod promql;
mod read;
mod runtime;
mod scan;
mod schema;
mod select;
mod session;
mod spec;
mod stream;
mod system;
mod table;

pub use budget::{Budget, QueryLimits};
pub use engine::{
    CATALOG, Prepared, QueryConfig, QueryEngine, QueryKind, SYSTEM_SCHEMA, TableInfo,
};
pub use error::{QueryError, QueryResult};
pub use format::ResultFormat;
pub use predicate::TIME_COLUMN;
pub use schema::{TIME_ZONE, field_data_type, tag_data_type, time_data_type};
pub use stream::QueryStream;
