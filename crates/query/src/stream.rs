//! A running SQL query's results, produced on the query runtime and read by whoever serves
//! them.
//!
//! The DataFusion stream is driven by a task on the query runtime and its batches cross over
//! through a small channel, so a slow client holds back the query (backpressure) without
//! holding a query worker busy, and the task stops at the query's deadline or as soon as the
//! reader goes away.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::{Stream, StreamExt};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::budget::Budget;
use crate::error::{QueryError, QueryResult};
use crate::runtime::{CancelOnDrop, Permits};
use crate::system::{QueryRecord, lock};

/// Batches in flight between the query task and the reader.
const CHANNEL_BATCHES: usize = 2;

/// A running query's results.
pub struct QueryStream {
    /// The schema every batch has.
    pub schema: SchemaRef,
    batches: mpsc::Receiver<QueryResult<RecordBatch>>,
    record: Arc<Mutex<QueryRecord>>,
    _cancel: CancelOnDrop,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl QueryStream {
    /// Drives the stream `start` produces on `runtime` until it ends, the deadline of `budget`
    /// passes, or the returned reader is dropped; `permits` are held until then.
    pub(crate) fn spawn(
        runtime: &Handle,
        schema: SchemaRef,
        budget: Arc<Budget>,
        permits: Permits,
        record: Arc<Mutex<QueryRecord>>,
        start: impl Future<Output = QueryResult<SendableRecordBatchStream>> + Send + 'static,
    ) -> Self {
        let (sender, batches) = mpsc::channel(CHANNEL_BATCHES);
        let deadline = tokio::time::Instant::from_std(budget.deadline());
        let watched = Arc::clone(&budget);
        let task = runtime.spawn(async move {
            let _permits = permits;
            let timed_out = || -> QueryError {
                watched
                    .check()
                    .err()
                    .map_or_else(|| QueryError::Timeout("query timed out".into()), Into::into)
            };
            let mut stream = match tokio::time::timeout_at(deadline, start).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
                Err(_) => {
                    let _ = sender.send(Err(timed_out())).await;
                    return;
                }
            };
            loop {
                let item = match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(Some(item)) => item.map_err(QueryError::from),
                    Ok(None) => return,
                    Err(_) => Err(timed_out()),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Self {
            schema,
            batches,
            record,
            _cancel: CancelOnDrop::new(budget, task.abort_handle()),
        }
    }
}

impl Stream for QueryStream {
    type Item = QueryResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.batches.poll_recv(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => lock(&self.record).add_rows(batch.num_rows()),
            Poll::Ready(Some(Err(error))) => lock(&self.record).finish(Some(error.to_string())),
            Poll::Ready(None) => lock(&self.record).finish(None),
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        lock(&self.record).finish(Some("cancelled".into()));
    }
}
