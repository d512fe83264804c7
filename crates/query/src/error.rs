//! The query service's error type.
//!
//! Storage errors keep their FDB code all the way up (a query that hit `transaction_too_old`
//! or a retryable conflict must surface as "retry", not as an opaque string); DataFusion's
//! errors are sorted into the user's mistakes and ours.

use datafusion::error::DataFusionError;
use tidemark_storage::KvError;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The SQL is invalid: syntax, unknown table or column, type mismatch, bad parameter.
    #[error("{0}")]
    Invalid(String),
    /// The statement is valid SQL that this service does not run (DDL, DML, `SET`, ...).
    #[error("{0}")]
    Unsupported(String),
    /// The database does not exist.
    #[error("database {0:?} not found")]
    DatabaseNotFound(String),
    /// The query needs more memory, samples or series than it may use.
    #[error("query exceeded its resources: {0}")]
    ResourcesExhausted(String),
    /// The query ran past its deadline (or its client went away).
    #[error("{0}")]
    Timeout(String),
    /// Too many queries are running; retry later.
    #[error("{0}")]
    Busy(String),
    /// Storage failed (kept typed: it may be retryable).
    #[error("storage error: {0}")]
    Storage(#[from] KvError),
    /// A stored block could not be decoded.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The object store holding cold data failed or returned a file that fails its checks.
    #[error("cold tier: {0}")]
    Cold(String),
    /// Writing the result in the requested format failed.
    #[error("cannot encode the result: {0}")]
    Encode(String),
    /// Anything else inside the engine.
    #[error("internal query error: {0}")]
    Internal(String),
}

impl QueryError {
    /// True when the same query may succeed if retried (storage was briefly unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Storage(error) if error.is_retryable())
    }
}

impl tidemark_storage::TxError for QueryError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            _ => None,
        }
    }
}

impl From<DataFusionError> for QueryError {
    fn from(error: DataFusionError) -> Self {
        match error {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                Self::from(*inner)
            }
            DataFusionError::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
                Ok(inner) => Self::from(inner),
                Err(shared) => Self::Internal(shared.to_string()),
            },
            DataFusionError::External(external) => match external.downcast::<QueryError>() {
                Ok(ours) => *ours,
                Err(external) => match external.downcast::<KvError>() {
                    Ok(kv) => Self::Storage(*kv),
                    Err(other) => Self::Internal(other.to_string()),
                },
            },
            DataFusionError::SQL(..)
            | DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::Configuration(_) => Self::Invalid(strip_prefix(error)),
            DataFusionError::NotImplemented(_) => Self::Unsupported(strip_prefix(error)),
            DataFusionError::ResourcesExhausted(_) => Self::ResourcesExhausted(strip_prefix(error)),
            DataFusionError::ArrowError(..) | DataFusionError::Execution(_) => {
                // Casts of user input (e.g. a malformed timestamp literal) fail at execution.
                Self::Invalid(strip_prefix(error))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<QueryError> for DataFusionError {
    fn from(error: QueryError) -> Self {
        DataFusionError::External(Box::new(error))
    }
}

/// DataFusion's messages without the internal error-kind prefix, for the user.
fn strip_prefix(error: DataFusionError) -> String {
    error.strip_backtrace()
}

/// Shorthand for query results.
pub type QueryResult<T> = Result<T, QueryError>;
