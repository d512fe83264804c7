//! Where queries run, and how many at once.
//!
//! Queries run on a Tokio runtime of their own, separate from the one that accepts
//! connections and takes writes: a CPU-heavy evaluation holds a query worker, never the
//! threads that answer `/health`, read request bodies or commit writes. Admission bounds how
//! many queries run at once per database and in all; a query that finds no slot waits for
//! `queue_timeout`, then is refused (429 / `RESOURCE_EXHAUSTED`), so one tenant cannot occupy
//! every core. Every query runs under its [`Budget`]: at its deadline the work is cancelled
//! (the flag stops synchronous loops, aborting the task stops everything awaiting), and the
//! same happens when the caller drops the query (the client went away).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::runtime::{Handle, Runtime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::budget::{Budget, Exhausted, QueryLimits};
use crate::error::QueryError;

/// Stack of a query worker: evaluation recursion is bounded by the expression depth limit, with
/// room to spare.
const QUERY_THREAD_STACK: usize = 16 << 20;

/// The dedicated query runtime.
pub(crate) struct QueryRuntime {
    runtime: Mutex<Option<Runtime>>,
    handle: Handle,
}

impl std::fmt::Debug for QueryRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryRuntime").finish_non_exhaustive()
    }
}

impl QueryRuntime {
    /// A runtime with `threads` workers.
    pub(crate) fn new(threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("tidemark-query")
            .thread_stack_size(QUERY_THREAD_STACK)
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Self {
            runtime: Mutex::new(Some(runtime)),
            handle,
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        // The engine may be dropped inside another runtime, where a blocking shutdown panics.
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
        }
    }
}

/// Slots of one running query.
#[derive(Debug)]
pub(crate) struct Permits {
    _database: OwnedSemaphorePermit,
    _all: OwnedSemaphorePermit,
}

/// Query slots, per database and in all.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: Arc<QueryLimits>,
    all: Arc<Semaphore>,
    per_database: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Databases whose slot counters are kept before idle ones are forgotten.
const TRACKED_DATABASES: usize = 10_000;

impl Admission {
    pub(crate) fn new(limits: Arc<QueryLimits>) -> Self {
        Self {
            all: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
            limits,
            per_database: Mutex::new(HashMap::new()),
        }
    }

    fn database_slots(&self, database: &str) -> Arc<Semaphore> {
        let mut slots = self
            .per_database
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= TRACKED_DATABASES && !slots.contains_key(database) {
            let full = self.limits.max_concurrent_per_database.max(1);
            slots.retain(|_, slot| slot.available_permits() < full);
        }
        let limit = self.limits.max_concurrent_per_database.max(1);
        Arc::clone(
            slots
                .entry(database.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(limit))),
        )
    }

    /// Waits up to `queue_timeout` for a slot of `database` and one of the node.
    pub(crate) async fn admit(&self, database: &str) -> Result<Permits, QueryError> {
        let busy = || {
            metrics::counter!("tidemark_limit_refusals_total", "limit" => "concurrent_queries")
                .increment(1);
            QueryError::Busy(format!(
                "too many queries running for database {database:?} \
                 (query.max_concurrent_per_database = {}, query.max_concurrent = {}); retry later",
                self.limits.max_concurrent_per_database, self.limits.max_concurrent
            ))
        };
        let wait = self.limits.queue_timeout;
        let slots = self.database_slots(database);
        let database_permit = tokio::time::timeout(wait, slots.acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let all = tokio::time::timeout(wait, Arc::clone(&self.all).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        Ok(Permits {
            _database: database_permit,
            _all: all,
        })
    }
}

/// Cancels a query's work when dropped before it finished.
pub(crate) struct CancelOnDrop {
    budget: Arc<Budget>,
    abort: AbortHandle,
    armed: bool,
}

impl CancelOnDrop {
    pub(crate) fn new(budget: Arc<Budget>, abort: AbortHandle) -> Self {
        Self {
            budget,
            abort,
            armed: true,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.budget.cancel();
            self.abort.abort();
        }
    }
}

impl From<Exhausted> for QueryError {
    fn from(exhausted: Exhausted) -> Self {
        match exhausted {
            Exhausted::Deadline(_) | Exhausted::Cancelled => Self::Timeout(exhausted.to_string()),
            Exhausted::Limit { .. } => Self::ResourcesExhausted(exhausted.to_string()),
        }
    }
}

/// Runs `work` on the query runtime under `budget`: its output, or the budget's error once the
/// deadline passes. Dropping the returned future cancels the work.
pub(crate) async fn run_budgeted<T, W>(
    handle: &Handle,
    budget: Arc<Budget>,
    work: W,
) -> Result<T, QueryError>
where
    T: Send + 'static,
    W: Future<Output = Result<T, QueryError>> + Send + 'static,
{
    let task = handle.spawn(work);
    let mut guard = CancelOnDrop::new(Arc::clone(&budget), task.abort_handle());
    let outcome = tokio::time::timeout(budget.remaining(), task).await;
    match outcome {
        Ok(Ok(result)) => {
            guard.disarm();
            result
        }
        Ok(Err(join)) if join.is_panic() => {
            guard.disarm();
            let message = panic_message(join.into_panic());
            tracing::error!(%message, "a query panicked");
            Err(QueryError::Internal(format!("the query failed: {message}")))
        }
        Ok(Err(_)) => Err(Exhausted::Cancelled.into()),
        Err(_) => Err(budget.check().err().map_or_else(
            || {
                QueryError::Timeout(format!(
                    "query timed out after {:?}",
                    budget.limits().max_timeout
                ))
            },
            QueryError::from,
        )),
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_database_gets_its_slots_and_then_waits_then_is_refused() {
        let limits = Arc::new(QueryLimits {
            max_concurrent_per_database: 1,
            queue_timeout: Duration::from_millis(50),
            ..QueryLimits::default()
        });
        let admission = Admission::new(limits);
        let held = admission.admit("a").await.unwrap();
        assert!(matches!(
            admission.admit("a").await,
            Err(QueryError::Busy(_))
        ));
        assert!(
            admission.admit("b").await.is_ok(),
            "other databases are not held up"
        );
        drop(held);
        assert!(admission.admit("a").await.is_ok());
    }

    #[tokio::test]
    async fn deadlines_stop_synchronous_work_and_panics_stay_inside() {
        let runtime = QueryRuntime::new(1).unwrap();
        let limits = Arc::new(QueryLimits::default());
        let budget = Budget::new(limits.clone(), Duration::from_millis(100));
        let looping = Arc::clone(&budget);
        let started = std::time::Instant::now();
        let result: Result<(), QueryError> = run_budgeted(runtime.handle(), budget, async move {
            loop {
                // A synchronous loop that only the budget's flag can stop.
                looping.tick()?;
            }
        })
        .await;
        assert!(matches!(result, Err(QueryError::Timeout(_))), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let budget = Budget::new(limits, Duration::from_secs(5));
        let result: Result<(), QueryError> = run_budgeted(runtime.handle(), budget, async move {
            panic!("boom");
        })
        .await;
        assert!(matches!(result, Err(QueryError::Internal(message)) if message.contains("boom")));
    }
}
