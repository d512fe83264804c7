//! PromQL over Tidemark's tables: the parser is `promql-parser`; evaluation follows
//! Prometheus 3.x (see `docs/promql.md` for every deliberate difference).
//!
//! [`eval::evaluate`] is a pure function of an expression, the evaluation times and a
//! [`SeriesSource`]; the service's source (`fetch`) maps metric names onto measurements and
//! fields and reads hot and cold data through the SQL engine.

mod aggregate;
mod api;
mod binary;
mod bounds;
mod eval;
mod fetch;
mod functions;
mod grid;
mod histogram;
mod metrics;
mod num;
mod postings;
mod range_fns;
mod samples;
mod selector;
#[cfg(test)]
mod tests;
pub mod value;
mod windows;

pub use api::parse_selector;
pub use bounds::{check_expression, parse_expression};
pub use eval::evaluate;
pub use grid::EvalParams;
pub use metrics::metric_name;
pub use value::{InstantSample, Labels, METRIC_NAME, PromError, QueryValue, Series, SeriesSource};
