//! The one retry loop every transaction in Tidemark goes through.
//!
//! It differs from `foundationdb::Database::run` on purpose: `commit_unknown_result` (and every
//! other maybe-committed error) is retried only when the caller declares the transaction
//! idempotent, because retrying a non-idempotent transaction after an unknown result can apply
//! it twice. Callers that are not idempotent get the error and decide.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::error::{KvError, code};
use crate::kv::{CommitFailed, KvDatabase, KvTransaction, TxOption};

/// A boxed future borrowing the transaction, as `run` closures return.
pub type TxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// True on the attempts after one whose commit may have succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaybeCommitted(pub bool);

/// How `run` retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOptions {
    /// The transaction can be applied twice without harm, so maybe-committed errors are retried.
    pub idempotent: bool,
    /// Give up after this many retries.
    pub retry_limit: Option<u32>,
    /// Give up once this much time has passed since the first attempt: FDB's timeout option
    /// (`transaction_timed_out`, 1031, even while waiting for an unreachable cluster), and
    /// checked between attempts.
    pub timeout: Option<Duration>,
    /// Run at batch priority (background work).
    pub batch_priority: bool,
}

impl RunOptions {
    /// Options for an idempotent transaction.
    pub fn idempotent() -> Self {
        Self {
            idempotent: true,
            ..Self::default()
        }
    }
}

/// Errors a `run` closure may return: the KV error inside, if any, decides retrying.
pub trait TxError: From<KvError> {
    /// The KV error this error wraps, if it is one.
    fn kv_error(&self) -> Option<&KvError>;
}

impl TxError for KvError {
    fn kv_error(&self) -> Option<&KvError> {
        Some(self)
    }
}

/// Runs `body` in a transaction and commits it, retrying retryable errors.
///
/// `body` may run several times; each attempt sees a fresh transaction. Errors of the body that
/// are not KV errors are returned at once.
pub async fn run<D, T, E, F>(db: &D, options: RunOptions, body: F) -> Result<T, E>
where
    D: KvDatabase,
    E: TxError,
    F: for<'a> Fn(&'a D::Tx, MaybeCommitted) -> TxFuture<'a, Result<T, E>>,
{
    let started = Instant::now();
    let mut tx = db.create_transaction()?;
    // The deadline also bounds a single wait: with the cluster unreachable, reads and commits
    // would otherwise wait for it forever. FDB (API 610+) and the embedded backend keep the
    // option, and its start, across `on_error`.
    if let Some(limit) = options.timeout {
        tx.set_option(TxOption::Timeout(limit))?;
    }
    apply_options(&tx, options)?;
    let mut maybe_committed = MaybeCommitted(false);
    loop {
        let error = match body(&tx, maybe_committed).await {
            Ok(value) => match tx.commit().await {
                Ok(_) => return Ok(value),
                Err(CommitFailed { error, tx: failed }) => {
                    tx = failed;
                    error
                }
            },
            Err(error) => match error.kv_error() {
                Some(kv) => kv.clone(),
                None => return Err(error),
            },
        };
        let give_up = (error.is_maybe_committed() && !options.idempotent)
            || options
                .timeout
                .is_some_and(|limit| started.elapsed() >= limit);
        if give_up {
            return Err(error.into());
        }
        maybe_committed = MaybeCommitted(maybe_committed.0 || error.is_maybe_committed());
        tracing::trace!(code = error.code(), "retrying transaction");
        tx = tx.on_error(error).await?;
        apply_options(&tx, options)?;
    }
}

fn apply_options<X: KvTransaction>(tx: &X, options: RunOptions) -> Result<(), KvError> {
    if let Some(limit) = options.retry_limit {
        tx.set_option(TxOption::RetryLimit(limit))?;
    }
    if options.batch_priority {
        tx.set_option(TxOption::PriorityBatch)?;
    }
    Ok(())
}

/// True when `error` says the transaction certainly did not commit.
pub fn certainly_not_committed(error: &KvError) -> bool {
    error.is_retryable_not_committed() || error.code() == code::TRANSACTION_TIMED_OUT
}
