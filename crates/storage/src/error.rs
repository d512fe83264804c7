//! FDB error codes and their retry classification, shared by every backend.
//!
//! Both backends report failures as FDB error codes so the retry loop, the ingest tier and the
//! tests reason about one set of numbers. The classification mirrors `fdb_error_predicate` in
//! FDB's C client: `maybe_committed` ⊂ `retryable`.

use std::fmt;

/// An FDB error code (`fdb_error_t`).
pub type ErrorCode = i32;

/// The FDB error codes Tidemark produces or interprets, named as in FDB's `error_definitions.h`.
pub mod code {
    use super::ErrorCode;

    /// The transaction's read version is too old (more than 5 s of versions).
    pub const TRANSACTION_TOO_OLD: ErrorCode = 1007;
    /// The requested read version is ahead of the storage servers.
    pub const FUTURE_VERSION: ErrorCode = 1009;
    /// The transaction conflicted with another and was not committed.
    pub const NOT_COMMITTED: ErrorCode = 1020;
    /// The commit may or may not have happened; it is no longer in flight.
    pub const COMMIT_UNKNOWN_RESULT: ErrorCode = 1021;
    /// The transaction was cancelled.
    pub const TRANSACTION_CANCELLED: ErrorCode = 1025;
    /// The transaction's timeout option elapsed.
    pub const TRANSACTION_TIMED_OUT: ErrorCode = 1031;
    /// A read touched a key written with a versionstamp in the same transaction.
    pub const ACCESSED_UNREADABLE: ErrorCode = 1036;
    /// A storage server fell behind.
    pub const PROCESS_BEHIND: ErrorCode = 1037;
    /// The database is locked.
    pub const DATABASE_LOCKED: ErrorCode = 1038;
    /// The cluster changed version while the commit was in flight.
    pub const CLUSTER_VERSION_CHANGED: ErrorCode = 1039;
    /// The operation was cancelled.
    pub const OPERATION_CANCELLED: ErrorCode = 1101;
    /// The client used the API incorrectly (e.g. a bad versionstamp offset).
    pub const CLIENT_INVALID_OPERATION: ErrorCode = 2000;
    /// A key is outside the legal range (`\xff` and above is the system keyspace).
    pub const KEY_OUTSIDE_LEGAL_RANGE: ErrorCode = 2004;
    /// A range's begin is after its end.
    pub const INVERTED_RANGE: ErrorCode = 2005;
    /// The transaction was used after its commit failed, other than through `on_error`.
    pub const USED_DURING_COMMIT: ErrorCode = 2017;
    /// An option value is invalid.
    pub const INVALID_OPTION_VALUE: ErrorCode = 2006;
    /// `get_versionstamp` on a transaction that committed no writes.
    pub const NO_COMMIT_VERSION: ErrorCode = 2021;
    /// `Exact` streaming mode was used without a row limit.
    pub const EXACT_MODE_WITHOUT_LIMITS: ErrorCode = 2210;
    /// The transaction's affected data exceeds the size limit (10,000,000 bytes by default).
    pub const TRANSACTION_TOO_LARGE: ErrorCode = 2101;
    /// A key exceeds 10,000 bytes.
    pub const KEY_TOO_LARGE: ErrorCode = 2102;
    /// A value exceeds 100,000 bytes.
    pub const VALUE_TOO_LARGE: ErrorCode = 2103;
    /// An internal error (embedded backend: the storage engine failed; never retried).
    pub const INTERNAL_ERROR: ErrorCode = 4100;
}

/// An error from the KV layer: always an FDB error code, plus context for backend I/O failures.
///
/// The code is kept as a number, never stringified away, so callers can ask [`KvError::is_retryable`]
/// and [`KvError::is_maybe_committed`] after the error crossed any number of layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError {
    code: ErrorCode,
    detail: Option<String>,
}

impl KvError {
    /// Creates an error from an FDB error code.
    pub fn from_code(code: ErrorCode) -> Self {
        Self { code, detail: None }
    }

    /// Creates an internal error that carries a description of the backend failure.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            code: code::INTERNAL_ERROR,
            detail: Some(detail.into()),
        }
    }

    /// Returns the FDB error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Returns true when the transaction may have committed (1021, 1039).
    pub fn is_maybe_committed(&self) -> bool {
        matches!(
            self.code,
            code::COMMIT_UNKNOWN_RESULT | code::CLUSTER_VERSION_CHANGED
        )
    }

    /// Returns true when the transaction certainly did not commit and may be retried.
    pub fn is_retryable_not_committed(&self) -> bool {
        matches!(
            self.code,
            code::NOT_COMMITTED
                | code::TRANSACTION_TOO_OLD
                | code::FUTURE_VERSION
                | code::PROCESS_BEHIND
                | code::DATABASE_LOCKED
                | 1042 // grv_proxy_memory_limit_exceeded
                | 1043 // commit_proxy_memory_limit_exceeded
                | 1051 // batch_transaction_throttled
                | 1213 // tag_throttled
                | 1223 // proxy_tag_throttled
        )
    }

    /// Returns true when a transaction's retryable errors (or an unreachable cluster) outlasted
    /// its deadline; a commit in flight at that moment may have applied.
    pub fn is_timed_out(&self) -> bool {
        self.code == code::TRANSACTION_TIMED_OUT
    }

    /// Returns true when FDB's `on_error` would retry this error (includes maybe-committed).
    pub fn is_retryable(&self) -> bool {
        self.is_maybe_committed() || self.is_retryable_not_committed()
    }

    /// Returns FDB's name for the code.
    pub fn name(&self) -> &'static str {
        match self.code {
            code::TRANSACTION_TOO_OLD => "transaction_too_old",
            code::FUTURE_VERSION => "future_version",
            code::NOT_COMMITTED => "not_committed",
            code::COMMIT_UNKNOWN_RESULT => "commit_unknown_result",
            code::TRANSACTION_CANCELLED => "transaction_cancelled",
            code::TRANSACTION_TIMED_OUT => "transaction_timed_out",
            code::ACCESSED_UNREADABLE => "accessed_unreadable",
            code::PROCESS_BEHIND => "process_behind",
            code::DATABASE_LOCKED => "database_locked",
            code::CLUSTER_VERSION_CHANGED => "cluster_version_changed",
            code::OPERATION_CANCELLED => "operation_cancelled",
            code::CLIENT_INVALID_OPERATION => "client_invalid_operation",
            code::KEY_OUTSIDE_LEGAL_RANGE => "key_outside_legal_range",
            code::INVERTED_RANGE => "inverted_range",
            code::INVALID_OPTION_VALUE => "invalid_option_value",
            code::USED_DURING_COMMIT => "used_during_commit",
            code::NO_COMMIT_VERSION => "no_commit_version",
            code::EXACT_MODE_WITHOUT_LIMITS => "exact_mode_without_limits",
            code::TRANSACTION_TOO_LARGE => "transaction_too_large",
            code::KEY_TOO_LARGE => "key_too_large",
            code::VALUE_TOO_LARGE => "value_too_large",
            code::INTERNAL_ERROR => "internal_error",
            _ => "unknown_error",
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fdb error {} ({})", self.code, self.name())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KvError {}

/// Shorthand for results of KV operations.
pub type KvResult<T> = Result<T, KvError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_matches_fdb_c() {
        let unknown = KvError::from_code(code::COMMIT_UNKNOWN_RESULT);
        assert!(unknown.is_retryable() && unknown.is_maybe_committed());
        assert!(!unknown.is_retryable_not_committed());
        let conflict = KvError::from_code(code::NOT_COMMITTED);
        assert!(conflict.is_retryable() && !conflict.is_maybe_committed());
        for fatal in [
            code::TRANSACTION_TIMED_OUT,
            code::TRANSACTION_TOO_LARGE,
            code::KEY_TOO_LARGE,
            code::OPERATION_CANCELLED,
            code::INTERNAL_ERROR,
        ] {
            assert!(!KvError::from_code(fatal).is_retryable(), "{fatal}");
        }
        assert_eq!(
            KvError::from_code(code::TRANSACTION_TOO_OLD).to_string(),
            "fdb error 1007 (transaction_too_old)"
        );
    }
}
