//! The values PromQL evaluates to, the error kinds it reports, and the source of raw samples
//! the evaluator reads from.

use std::future::Future;

use promql_parser::label::Matchers;

use crate::budget::{Budget, Exhausted};

/// The metric name label.
pub const METRIC_NAME: &str = "__name__";

/// A series' labels, sorted by name, unique names, `__name__` included when the series has one.
pub type Labels = Vec<(String, String)>;

/// One raw or computed series: labels and samples (milliseconds since the epoch, value),
/// sorted by time, at most one sample per timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Sorted labels.
    pub labels: Labels,
    /// `(time_ms, value)` in ascending time.
    pub samples: Vec<(i64, f64)>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// Sorted labels.
    pub labels: Labels,
    /// Evaluation time in milliseconds.
    pub time_ms: i64,
    /// The value.
    pub value: f64,
}

/// The result of a query, as the Prometheus HTTP API reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `resultType: "scalar"`: time in ms and value.
    Scalar(i64, f64),
    /// `resultType: "string"`.
    String(i64, String),
    /// `resultType: "vector"` (instant queries).
    Vector(Vec<InstantSample>),
    /// `resultType: "matrix"` (range queries, and range-vector instant queries).
    Matrix(Vec<Series>),
}

/// Why a PromQL request failed; each kind is one Prometheus `errorType`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PromError {
    /// The query or a parameter is malformed (`bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// The query is valid but cannot be evaluated (`execution`, 422), e.g. many-to-many
    /// matching, duplicate series after dropping the name, too many points.
    #[error("{0}")]
    Execution(String),
    /// Storage could not answer (`unavailable`, 503); retryable.
    #[error("{0}")]
    Unavailable(String),
    /// The database does not exist (`not_found`, 404).
    #[error("{0}")]
    NotFound(String),
    /// The query ran past its deadline (`timeout`, 503).
    #[error("{0}")]
    Timeout(String),
    /// Too many queries are running (429); retry later.
    #[error("{0}")]
    Busy(String),
    /// Anything else (`internal`, 500).
    #[error("{0}")]
    Internal(String),
}

impl PromError {
    /// The Prometheus API's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::BadData(_) => "bad_data",
            Self::Execution(_) => "execution",
            Self::NotFound(_) => "not_found",
            Self::Unavailable(_) | Self::Busy(_) => "unavailable",
            Self::Timeout(_) => "timeout",
            Self::Internal(_) => "internal",
        }
    }
}

/// Where the evaluator's raw samples come from: storage in the service, a vector in tests.
pub trait SeriesSource: Sync {
    /// Every series whose labels satisfy `matchers` (a bare metric name arrives as an
    /// equality matcher on `__name__`), with its samples whose time `t` satisfies
    /// `start_ms <= t <= end_ms`. Series with no sample in the range may be omitted.
    ///
    /// The source counts the samples it loads against `budget` as it loads them (so a
    /// selection too large fails before it is all in memory) and stops at its deadline.
    fn select(
        &self,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
        budget: &Budget,
    ) -> impl Future<Output = Result<Vec<Series>, PromError>> + Send;
}

impl From<Exhausted> for PromError {
    fn from(exhausted: Exhausted) -> Self {
        match exhausted {
            Exhausted::Deadline(_) | Exhausted::Cancelled => Self::Timeout(exhausted.to_string()),
            Exhausted::Limit { .. } => Self::Execution(exhausted.to_string()),
        }
    }
}
