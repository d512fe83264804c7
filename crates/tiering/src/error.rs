//! The errors of tiering passes.

use tidemark_storage::cold::ColdError;
use tidemark_storage::{KvError, TxError};

/// Why a tiering pass failed.
#[derive(Debug, thiserror::Error)]
pub enum TieringError {
    /// Storage failed.
    #[error("storage failed during tiering: {0}")]
    Storage(#[from] KvError),
    /// The object store or the file codec failed.
    #[error("cold tier: {0}")]
    Cold(#[from] ColdError),
    /// Stored data does not decode.
    #[error("corrupt data while tiering: {0}")]
    Corrupt(String),
}

impl TxError for TieringError {
    fn kv_error(&self) -> Option<&KvError> {
        match self {
            Self::Storage(error) => Some(error),
            _ => None,
        }
    }
}
