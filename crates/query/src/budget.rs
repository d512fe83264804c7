//! What one query may cost, and the account of what it spent.
//!
//! Every query API (SQL, Flight SQL, PromQL, the Prometheus metadata calls) runs under a
//! [`Budget`]: a deadline the server sets (a client may ask for less, never for more), a
//! cancellation flag (set when the client goes away or the deadline passes), and for PromQL the
//! samples, series and steps it may load or compute. Long loops call [`Budget::tick`], which is
//! cheap enough per step and looks at the clock only every few thousand calls, so even a
//! synchronous evaluation stops soon after its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Server-side bounds on one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deadline of a query whose client names none.
    pub default_timeout: Duration,
    /// The longest deadline a client may ask for (`timeout` parameter).
    pub max_timeout: Duration,
    /// Longest query text (SQL, PromQL, `match[]`), in bytes.
    pub max_query_bytes: usize,
    /// Deepest nesting of a PromQL expression (parentheses, calls, operators).
    pub max_expression_depth: usize,
    /// Most samples one PromQL query may load (selector samples and subquery points).
    pub max_samples: u64,
    /// Most series one selector (or metadata call) may select.
    pub max_series: u64,
    /// Most evaluation steps of one PromQL node (a range query or a subquery).
    pub max_steps: u64,
    /// Queries one database may run at once; more wait for `queue_timeout`, then get 429.
    pub max_concurrent_per_database: usize,
    /// Queries the node runs at once, over all databases.
    pub max_concurrent: usize,
    /// How long a query waits for a slot before it is refused.
    pub queue_timeout: Duration,
    /// Most bytes a growing scalar function (`repeat`, `lpad`, `concat`, ...) may produce per
    /// batch.
    pub max_function_output_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(120),
            max_timeout: Duration::from_secs(600),
            max_query_bytes: 256 * 1024,
            max_expression_depth: 128,
            max_samples: 50_000_000,
            max_series: 1_000_000,
            max_steps: 1_000_000,
            max_concurrent_per_database: 8,
            max_concurrent: 64,
            queue_timeout: Duration::from_secs(10),
            max_function_output_bytes: 64 << 20,
        }
    }
}

impl QueryLimits {
    /// The deadline of a query: the client's `timeout` if it gave one, capped at the maximum.
    pub fn timeout(&self, requested: Option<Duration>) -> Duration {
        requested
            .unwrap_or(self.default_timeout)
            .min(self.max_timeout)
    }
}

/// Why a budget stopped a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Exhausted {
    /// The deadline passed.
    #[error("query timed out after {0:?} (the server's limit; see query.max_timeout)")]
    Deadline(Duration),
    /// The client went away.
    #[error("query cancelled")]
    Cancelled,
    /// A count limit was reached.
    #[error("{what} limit of {limit} exceeded ({setting})")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// The setting that raises it.
        setting: &'static str,
    },
}

/// The account of one query.
#[derive(Debug)]
pub struct Budget {
    started: Instant,
    timeout: Duration,
    cancelled: AtomicBool,
    ticks: AtomicU32,
    samples: AtomicU64,
    limits: Arc<QueryLimits>,
}

/// Clock reads happen once per this many ticks.
const TICKS_PER_CHECK: u32 = 4_096;

impl Budget {
    /// A budget starting now.
    pub fn new(limits: Arc<QueryLimits>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            timeout,
            cancelled: AtomicBool::new(false),
            ticks: AtomicU32::new(0),
            samples: AtomicU64::new(0),
            limits,
        })
    }

    /// A budget that never runs out (tests and internal evaluations).
    pub fn unlimited() -> Arc<Self> {
        let limits = QueryLimits {
            max_samples: u64::MAX,
            max_series: u64::MAX,
            max_steps: u64::MAX,
            ..QueryLimits::default()
        };
        Self::new(Arc::new(limits), Duration::from_secs(u32::MAX as u64))
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// When the query must be done.
    pub fn deadline(&self) -> Instant {
        self.started + self.timeout
    }

    /// The time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline().saturating_duration_since(Instant::now())
    }

    /// Stops the query at its next check (the client went away).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Fails once the query is cancelled or past its deadline.
    pub fn check(&self) -> Result<(), Exhausted> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Exhausted::Cancelled);
        }
        if self.started.elapsed() >= self.timeout {
            self.cancel();
            return Err(Exhausted::Deadline(self.timeout));
        }
        Ok(())
    }

    /// A step of a long loop: sees a cancellation at once (one atomic load), and reads the
    /// clock for the deadline every few thousand calls.
    pub fn tick(&self) -> Result<(), Exhausted> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Exhausted::Cancelled);
        }
        if self
            .ticks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(TICKS_PER_CHECK)
        {
            return self.check();
        }
        Ok(())
    }

    /// Counts `count` samples loaded; fails past the limit.
    pub fn add_samples(&self, count: u64) -> Result<(), Exhausted> {
        let total = self
            .samples
            .fetch_add(count, Ordering::Relaxed)
            .saturating_add(count);
        if total > self.limits.max_samples {
            self.cancel();
            return Err(Exhausted::Limit {
                what: "samples",
                limit: self.limits.max_samples,
                setting: "query.max_samples",
            });
        }
        self.check()
    }

    /// Fails when `count` series exceed the per-selector limit.
    pub fn check_series(&self, count: u64) -> Result<(), Exhausted> {
        if count > self.limits.max_series {
            return Err(Exhausted::Limit {
                what: "series",
                limit: self.limits.max_series,
                setting: "query.max_series",
            });
        }
        Ok(())
    }

    /// Fails when a node would evaluate more than the step limit.
    pub fn check_steps(&self, count: u64) -> Result<(), Exhausted> {
        if count > self.limits.max_steps {
            return Err(Exhausted::Limit {
                what: "steps",
                limit: self.limits.max_steps,
                setting: "query.max_steps",
            });
        }
        Ok(())
    }

    /// Samples counted so far.
    pub fn samples(&self) -> u64 {
        self.samples.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_counts_and_cancellation_stop_a_query() {
        let limits = Arc::new(QueryLimits {
            max_samples: 10,
            ..QueryLimits::default()
        });
        let budget = Budget::new(limits.clone(), Duration::from_secs(60));
        assert!(budget.add_samples(10).is_ok());
        assert!(matches!(
            budget.add_samples(1),
            Err(Exhausted::Limit {
                what: "samples",
                ..
            })
        ));
        let budget = Budget::new(limits.clone(), Duration::ZERO);
        assert!(matches!(budget.check(), Err(Exhausted::Deadline(_))));
        let budget = Budget::new(limits, Duration::from_secs(60));
        budget.cancel();
        assert_eq!(budget.tick(), Err(Exhausted::Cancelled));
    }

    #[test]
    fn clients_never_get_more_than_the_maximum() {
        let limits = QueryLimits::default();
        assert_eq!(limits.timeout(None), limits.default_timeout);
        assert_eq!(
            limits.timeout(Some(Duration::from_secs(86_400))),
            limits.max_timeout
        );
        assert_eq!(
            limits.timeout(Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
    }
}
