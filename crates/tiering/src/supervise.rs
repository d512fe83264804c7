//! Running background jobs (compaction and tiering passes): one pass of a job at a time, on
//! one node of the cluster at a time, surviving errors and panics with backoff.
//!
//! Within a process a mutex per job serialises the background loop and on-demand passes
//! (`POST /api/v0/tier/run`); across nodes a lease in the KV store does
//! ([`tidemark_storage::tsdb::Layout::acquire_lease`]). Passes are safe to overlap (their
//! transactions check what they change), so both only save duplicate work.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tidemark_storage::tsdb::{Layout, LeaseState};
use tidemark_storage::{KvDatabase, KvError};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The longest wait between attempts after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How long a lease lasts unless renewed: a node that dies mid-pass blocks the job for at most
/// this long.
const LEASE: Duration = Duration::from_secs(60);
/// A running pass renews its lease this often.
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// A background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Compaction passes.
    Compaction,
    /// Tiering passes (with retention and garbage collection).
    Tiering,
}

impl Job {
    /// The job's name in leases, logs and `/metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Compaction => "compaction",
            Self::Tiering => "tiering",
        }
    }
}

/// Why a pass could not start.
#[derive(Debug, thiserror::Error)]
pub enum Busy {
    /// Another pass of the job runs in this process.
    #[error("a {0} pass is already running on this node")]
    Local(&'static str),
    /// Another node holds the job's lease.
    #[error("node {} runs {job} passes (its lease lapses at {} ns unless renewed)", .lease.holder, .lease.expires)]
    Remote {
        /// The job.
        job: &'static str,
        /// The other node's lease.
        lease: LeaseState,
    },
    /// The lease could not be read or written.
    #[error("cannot take the {0} lease: {1}")]
    Storage(&'static str, KvError),
}

/// Who runs which job: this node's identity and its per-job locks.
#[derive(Debug)]
pub struct Coordinator {
    node: String,
    compaction: Arc<Mutex<()>>,
    tiering: Arc<Mutex<()>>,
}

/// Held while a pass runs: it renews the job's lease, and dropping it releases the lease and
/// lets the next pass of the job start (on this node or another).
#[derive(Debug)]
pub struct JobGuard {
    _local: OwnedMutexGuard<()>,
    stop: tokio::sync::oneshot::Sender<()>,
    lease: tokio::task::JoinHandle<()>,
}

impl JobGuard {
    /// Ends the pass and waits until the lease is released: a process about to exit (`tidemark
    /// tier run`) calls this, or its lease would hold other nodes off until it lapses.
    pub async fn release(self) {
        let Self {
            _local,
            stop,
            lease,
        } = self;
        drop(stop);
        let _ = lease.await;
    }
}

impl Coordinator {
    /// A coordinator with a fresh node identity.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            node: format!("node-{:016x}", rand::random::<u64>()),
            compaction: Arc::default(),
            tiering: Arc::default(),
        })
    }

    /// This node's identity in leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Starts a pass of `job` if none runs on this node and no other node holds its lease.
    /// The lease is renewed while the returned guard lives and released when it is dropped.
    pub async fn begin<D: KvDatabase>(
        &self,
        db: &D,
        layout: &Layout,
        job: Job,
    ) -> Result<JobGuard, Busy> {
        let lock = match job {
            Job::Compaction => &self.compaction,
            Job::Tiering => &self.tiering,
        };
        let local = Arc::clone(lock)
            .try_lock_owned()
            .map_err(|_| Busy::Local(job.name()))?;
        match layout
            .acquire_lease(db, job.name(), &self.node, LEASE)
            .await
        {
            Ok(None) => {}
            Ok(Some(lease)) => {
                return Err(Busy::Remote {
                    job: job.name(),
                    lease,
                });
            }
            Err(error) => return Err(Busy::Storage(job.name(), error)),
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (db, layout, node) = (db.clone(), layout.clone(), self.node.clone());
        let lease = tokio::spawn(async move {
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(RENEW_EVERY) => {
                        if let Err(error) = layout.acquire_lease(&db, job.name(), &node, LEASE).await {
                            tracing::warn!(job = job.name(), %error, "cannot renew a lease");
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            if let Err(error) = layout.release_lease(&db, job.name(), &node).await {
                tracing::warn!(job = job.name(), %error, "cannot release a lease; it lapses by itself");
            }
        });
        Ok(JobGuard {
            _local: local,
            stop,
            lease,
        })
    }
}

/// Counts a failed unit of background work in `/metrics`.
pub(crate) fn record_failure(task: &'static str, unit: &'static str) {
    metrics::counter!("tidemark_background_failures_total", "task" => task, "unit" => unit)
        .increment(1);
}

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The wait before the next attempt after `failures` failures in a row.
fn backoff(interval: Duration, failures: u32) -> Duration {
    interval
        .saturating_mul(1 << failures.min(10))
        .min(MAX_BACKOFF.max(interval))
}

/// Runs `pass` every `interval` forever, while this node may (see [`Coordinator::begin`]). A
/// pass that fails or panics is logged and counted, and the next one waits longer.
pub(crate) async fn run_supervised<D, F, Fut>(
    coordinator: Arc<Coordinator>,
    db: D,
    layout: Layout,
    job: Job,
    interval: Duration,
    mut pass: F,
) where
    D: KvDatabase,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut failures = 0;
    loop {
        tokio::time::sleep(backoff(interval, failures)).await;
        let guard = match coordinator.begin(&db, &layout, job).await {
            Ok(guard) => guard,
            Err(busy) => {
                tracing::debug!(job = job.name(), reason = %busy, "skipping a pass");
                continue;
            }
        };
        let outcome = AssertUnwindSafe(pass()).catch_unwind().await;
        drop(guard);
        let message = match outcome {
            Ok(Ok(())) => {
                failures = 0;
                continue;
            }
            Ok(Err(message)) => message,
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        failures += 1;
        record_failure(job.name(), "pass");
        tracing::warn!(job = job.name(), failures, error = %message, "background pass failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap() {
        let interval = Duration::from_secs(10);
        assert_eq!(backoff(interval, 0), interval);
        assert_eq!(backoff(interval, 2), Duration::from_secs(40));
        assert_eq!(backoff(interval, 30), MAX_BACKOFF);
        let long = Duration::from_secs(3_600);
        assert_eq!(backoff(long, 3), long, "never shorter than the interval");
    }

    #[tokio::test]
    async fn one_pass_per_job_on_a_node() {
        let dir = tempfile::tempdir().unwrap();
        let db = tidemark_storage::EmbeddedKv::open(
            dir.path(),
            tidemark_storage::EmbeddedOptions::default(),
        )
        .unwrap();
        let layout = Layout::default();
        let first = Coordinator::new();
        let second = Coordinator::new();
        let guard = first.begin(&db, &layout, Job::Tiering).await.unwrap();
        assert!(matches!(
            first.begin(&db, &layout, Job::Tiering).await,
            Err(Busy::Local("tiering"))
        ));
        assert!(first.begin(&db, &layout, Job::Compaction).await.is_ok());
        let other = second.begin(&db, &layout, Job::Tiering).await;
        assert!(
            matches!(&other, Err(Busy::Remote { lease, .. }) if lease.holder == first.node()),
            "{other:?}"
        );
        // Dropping the guard releases the lease: the other node may run the next pass.
        drop(guard);
        let mut taken = false;
        for _ in 0..100 {
            if second.begin(&db, &layout, Job::Tiering).await.is_ok() {
                taken = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(taken, "the released lease was taken over");
    }
}
