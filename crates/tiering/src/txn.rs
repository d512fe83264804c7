//! The transaction helpers of background passes: reads retried in a new transaction, range
//! clears, and duration arithmetic. Leaves of the crate: they import no orchestrator.

use std::time::Duration;

use tidemark_storage::{KvDatabase, KvTransaction, RunOptions, TxError, TxFuture, run};

use crate::error::TieringError;

/// A duration in nanoseconds, saturating at `i64::MAX` (about 292 years).
pub fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// Runs a read-only body in a transaction, retried in a new one after a retryable error (the
/// reads a pass makes outside its writing transactions).
pub(crate) async fn read_as<D, T, E, F>(db: &D, body: F) -> Result<T, E>
where
    D: KvDatabase,
    E: TxError,
    F: for<'a> Fn(&'a D::Tx) -> TxFuture<'a, Result<T, E>>,
{
    run(db, RunOptions::idempotent(), |tx, _| body(tx)).await
}

/// Clears `[begin, end)` ranges in one transaction.
pub(crate) async fn clear_ranges<D: KvDatabase>(
    db: &D,
    options: RunOptions,
    clears: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(), TieringError> {
    run(db, options, |tx, _| {
        let clears = clears.clone();
        Box::pin(async move {
            for (begin, end) in &clears {
                tx.clear_range(begin, end);
            }
            Ok(())
        })
    })
    .await
}

/// [`read_as`] for the tiering error.
pub(crate) async fn read<D, T, F>(db: &D, body: F) -> Result<T, TieringError>
where
    D: KvDatabase,
    F: for<'a> Fn(&'a D::Tx) -> TxFuture<'a, Result<T, TieringError>>,
{
    read_as(db, body).await
}
