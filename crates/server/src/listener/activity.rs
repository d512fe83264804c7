//! When a connection is idle: no byte moved either way for a while, and no request of it in
//! flight. A request whose handler takes longer than the idle timeout (a large write on a slow
//! cluster, a long query before its first row) is not idle; its connection stays open.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::Service;

/// A connection's last activity (ms since the connection opened) and its requests in flight,
/// shared between its I/O, its service and the watchdog that closes it when idle.
#[derive(Debug)]
pub(super) struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.opened.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// How long nothing happened: zero while a request is in flight.
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let now = self.opened.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// Resolves once `activity` has been idle for `limit`.
pub(super) async fn idle(activity: Arc<Activity>, limit: Duration) {
    loop {
        let quiet = activity.idle_for();
        if quiet >= limit {
            return;
        }
        tokio::time::sleep(limit - quiet).await;
    }
}

/// A stream that records when bytes last moved either way.
pub(super) struct Watched<S> {
    pub(super) inner: S,
    pub(super) activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connection's service that counts its requests in flight until their response head is
/// ready (a streaming body then moves bytes, which [`Watched`] sees).
#[derive(Debug, Clone)]
pub(super) struct InFlight<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> InFlight<S> {
    pub(super) fn new(inner: S, activity: &Arc<Activity>) -> Self {
        Self {
            inner,
            activity: Arc::clone(activity),
        }
    }
}

/// One request in flight; dropped when its handler finishes or is cancelled.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // Touch first: the quiet time starts when the request ends, not when it began.
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, R> Service<R> for InFlight<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let busy = Busy::new(&self.activity);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            drop(busy);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_in_flight_keeps_the_connection_open() {
        let activity = Arc::new(Activity::new());
        let mut service = InFlight::new(
            tower::service_fn(|duration: Duration| async move {
                tokio::time::sleep(duration).await;
                Ok::<_, std::convert::Infallible>(())
            }),
            &activity,
        );
        let limit = Duration::from_millis(300);
        let slow = tokio::spawn(service.call(Duration::from_millis(1_200)));
        let watchdog = tokio::spawn(idle(Arc::clone(&activity), limit));
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(!watchdog.is_finished(), "closed while a request ran");
        slow.await.unwrap().unwrap();
        let ended = Instant::now();
        watchdog.await.unwrap();
        assert!(
            ended.elapsed() >= limit - Duration::from_millis(20),
            "the quiet time starts when the request ends: {:?}",
            ended.elapsed()
        );
    }
}
