//! Read-only transaction windows for long scans.
//!
//! FDB refuses reads from a transaction older than 5 s (`transaction_too_old`), so a scan that
//! may run longer reads through a [`ReadWindow`]: one transaction at a time, replaced once it is
//! [`MAX_WINDOW_AGE`] old or after a retryable error. Callers decide where a window may change
//! (the query service only between whole buckets of a series), so no unit they read straddles
//! two read versions.

use std::time::{Duration, Instant};

use crate::error::{KvError, KvResult};
use crate::kv::{KeyValue, KvDatabase, KvTransaction, RangeRequest, TxOption};
use crate::retry::{TxError, TxFuture};

/// A window is replaced after this long, well inside FDB's 5 s read horizon.
pub const MAX_WINDOW_AGE: Duration = Duration::from_secs(2);
/// Retryable errors tolerated in a row before a read gives up.
pub const MAX_READ_RETRIES: u32 = 20;

/// How long to wait before retry number `attempt` (from 1) of a read: 2 ms doubling up to
/// 250 ms. Shorter than FDB's commit backoff, because a failed read usually only means the
/// window aged out or a storage server lagged for a moment; it still spreads retries out so a
/// struggling cluster is not hammered (20 attempts wait about 3.5 s in all).
pub fn read_backoff(attempt: u32) -> Duration {
    let millis = 2u64.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    Duration::from_millis(millis.min(250))
}

/// The current read-only transaction of a scan.
#[derive(Debug)]
pub struct ReadWindow<D: KvDatabase> {
    db: D,
    current: Option<(D::Tx, Instant)>,
    renewals: u64,
    generation: u64,
    timeout: Option<Duration>,
}

impl<D: KvDatabase> ReadWindow<D> {
    /// A window that opens its first transaction on first use.
    pub fn new(db: D) -> Self {
        Self {
            db,
            current: None,
            renewals: 0,
            generation: 0,
            timeout: None,
        }
    }

    /// A window whose every transaction fails with `transaction_timed_out` (1031, not retried)
    /// once it waited `timeout`: reads on behalf of a client that must hear back (a write) are
    /// bounded even while the cluster is unreachable.
    pub fn with_timeout(db: D, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..Self::new(db)
        }
    }

    /// The transaction to read from, renewed first when it is too old.
    pub fn tx(&mut self) -> KvResult<&D::Tx> {
        let stale = self
            .current
            .as_ref()
            .is_none_or(|(_, opened)| opened.elapsed() >= MAX_WINDOW_AGE);
        if stale {
            if self.current.is_some() {
                self.renewals += 1;
            }
            let tx = self.db.create_transaction()?;
            if let Some(timeout) = self.timeout {
                tx.set_option(TxOption::Timeout(timeout))?;
            }
            self.current = Some((tx, Instant::now()));
            self.generation += 1;
        }
        match &self.current {
            Some((tx, _)) => Ok(tx),
            None => Err(KvError::internal("read window without a transaction")),
        }
    }

    /// The transaction [`tx`](Self::tx) last returned, without renewing it.
    pub fn current(&self) -> KvResult<&D::Tx> {
        match &self.current {
            Some((tx, _)) => Ok(tx),
            None => Err(KvError::internal("read window without a transaction")),
        }
    }

    /// Counts the transactions this window opened: a change means a new read version.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True when the next [`tx`](Self::tx) will open a new transaction.
    pub fn will_renew(&self) -> bool {
        self.current
            .as_ref()
            .is_none_or(|(_, opened)| opened.elapsed() >= MAX_WINDOW_AGE)
    }

    /// Drops the current transaction (after an error), so the next read opens a new one.
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    /// How many times a transaction was replaced because of its age.
    pub fn renewals(&self) -> u64 {
        self.renewals
    }

    /// Runs the read `body` in the window's transaction. A retryable error (FDB's 1007, 1037,
    /// ...) drops the transaction and runs `body` again in a new one after [`read_backoff`], up
    /// to [`MAX_READ_RETRIES`] times in a row; any other error is returned at once.
    ///
    /// This is the one place reads retry: every reader outside a committing transaction goes
    /// through it (commits retry in [`crate::run`]).
    pub async fn read<T, E, F>(&mut self, mut body: F) -> Result<T, E>
    where
        E: TxError,
        F: for<'a> FnMut(&'a D::Tx) -> TxFuture<'a, Result<T, E>>,
    {
        let mut attempts = 0;
        loop {
            let result = body(self.tx()?).await;
            match result {
                Err(error)
                    if error.kv_error().is_some_and(KvError::is_retryable)
                        && attempts < MAX_READ_RETRIES =>
                {
                    attempts += 1;
                    self.invalidate();
                    tokio::time::sleep(read_backoff(attempts)).await;
                }
                other => return other,
            }
        }
    }

    /// Reads a whole range at one read version (snapshot), retrying retryable errors in a new
    /// transaction from the start of the range.
    pub async fn read_range(&mut self, request: &RangeRequest) -> KvResult<Vec<KeyValue>> {
        self.read(|tx| {
            let request = request.clone();
            Box::pin(async move { tx.get_range_all(&request, true).await })
        })
        .await
    }

    /// Reads a range too large for one transaction, page by page, each page at the read version
    /// of the window it was read in. Only for ranges whose keys never change once written
    /// (postings, series records): a later page may come from a later version.
    pub async fn read_append_only(
        &mut self,
        request: &RangeRequest,
        mut visit: impl FnMut(KeyValue),
    ) -> KvResult<()> {
        let mut next = Some(request.clone());
        let mut iteration = 1;
        while let Some(page) = next {
            let chunk = self
                .read(|tx| {
                    let page = page.clone();
                    Box::pin(async move { tx.get_range(&page, iteration, true).await })
                })
                .await?;
            next = page.next_page(&chunk);
            iteration += 1;
            chunk.kvs.into_iter().for_each(&mut visit);
        }
        Ok(())
    }
}
