//! Errors of the write path.

use tidemark_storage::KvError;

/// A rejected line: its number (1-based, counting every physical line of the body), why, and
/// the line itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the request body.
    pub line: usize,
    /// Why the line was rejected.
    pub message: String,
    /// The line as sent.
    pub original: String,
}

/// Why a write request failed as a whole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The database does not exist and may not be created by writes.
    #[error("database not found: {0:?}")]
    DatabaseNotFound(String),
    /// The database name is not acceptable.
    #[error("invalid database name {0:?}: {1}")]
    InvalidDatabase(String, &'static str),
    /// The request is invalid as a whole (e.g. its idempotency key).
    #[error("{0}")]
    Invalid(String),
    /// The request is larger than the writer could ever take.
    #[error("{0}")]
    TooLarge(String),
    /// The writer's queue is full: the caller should retry later.
    #[error("ingest is overloaded; retry later")]
    Overloaded,
    /// The writer is shutting down.
    #[error("ingest is shutting down")]
    ShuttingDown,
    /// Storage failed; the code says whether the write may have happened.
    #[error("storage failed: {0}")]
    Storage(#[from] KvError),
}

impl IngestError {
    /// True for a storage error that retrying the same transaction could fix, or that says
    /// storage did not answer in time (retrying at once would wait as long again).
    pub fn is_retryable_storage(&self) -> bool {
        matches!(self, Self::Storage(error) if error.is_retryable() || error.is_timed_out())
    }
}

impl tidemark_storage::TxError for IngestError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            _ => None,
        }
    }
}
