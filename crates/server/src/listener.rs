//! One listener for HTTP/1.1, h2c and (optionally) TLS, with gRPC routed by content type.
//!
//! Grafana's InfluxDB SQL data source dials Flight SQL at the host and port of its HTTP URL, so
//! the REST API and the gRPC services must share a port: every connection is served by hyper's
//! automatic HTTP/1.1-or-HTTP/2 builder, and each request goes to the Flight service when its
//! content type is `application/grpc*`, to the REST router otherwise. With a certificate
//! configured, connections are TLS with ALPN offering `h2` and `http/1.1`.

mod activity;

use activity::{Activity, InFlight, Watched, idle};

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, header};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tower::Service;

/// Open connections get this long to finish their requests after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A TLS handshake that takes longer than this is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bounds of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Open connections at most; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (HTTP/1.1).
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 4_096,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(360),
            max_concurrent_streams: 256,
        }
    }
}

/// Largest HTTP/1.1 request head (request line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest HTTP/2 header list.
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;
/// HTTP/2 pings keep a quiet connection (a long query, a Flight stream waiting for its first
/// batch) from counting as idle, and find dead peers.
const H2_KEEPALIVE: Duration = Duration::from_secs(20);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("cannot read {what} from {path}: {reason}")]
    Pem {
        /// Certificate or key.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("invalid TLS certificate or key: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

/// Builds the TLS acceptor from PEM files (certificate chain, private key).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let pem_error = |what, path: &Path, reason: String| TlsError::Pem {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|error| pem_error("certificates", cert, error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error("certificates", cert, error.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error(
            "certificates",
            cert,
            "no certificate found".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| pem_error("the private key", key, error.to_string()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Routes gRPC requests to `grpc` and everything else to `http`.
#[derive(Debug, Clone)]
struct Dispatch<G> {
    http: axum::Router,
    grpc: G,
}

fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/grpc"))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<G, B> Service<Request<hyper::body::Incoming>> for Dispatch<G>
where
    G: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    G::Future: Send,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<hyper::body::Incoming>) -> Self::Future {
        if is_grpc(&request) {
            let mut grpc = self.grpc.clone();
            Box::pin(async move {
                let response = grpc.call(request.map(Body::new)).await?;
                Ok(response.map(Body::new))
            })
        } else {
            let mut http = self.http.clone();
            Box::pin(async move { http.call(request).await })
        }
    }
}

/// Serves `http` and `grpc` on `listener` until `shutdown` resolves, then drains connections.
///
/// Every connection is bounded: at most `limits.max_connections` are open (one more is closed
/// on accept, counted in `/metrics`), HTTP/1.1 headers must arrive within
/// `header_read_timeout`, HTTP/2 streams and headers are capped, and a connection that moves no
/// byte for `idle_timeout` while no request is in flight is closed. Slow clients therefore cannot hold descriptors.
pub async fn serve<G, B>(
    listener: TcpListener,
    http: axum::Router,
    grpc: G,
    tls: Option<TlsAcceptor>,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) where
    G: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    G::Future: Send,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let dispatch = Dispatch { http, grpc };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        // Large Flight results stream faster when HTTP/2 flow control follows the bandwidth.
        .adaptive_window(true)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .keep_alive_interval(H2_KEEPALIVE)
        .keep_alive_timeout(H2_KEEPALIVE);
    warn_if_descriptors_are_short(limits.max_connections);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics::counter!("tidemark_limit_refusals_total", "limit" => "connections")
                .increment(1);
            tracing::debug!(%peer, "connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = TowerToHyperService::new(InFlight::new(dispatch.clone(), &activity));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let stream = Watched {
                inner: stream,
                activity: Arc::clone(&activity),
            };
            let served = async {
                match tls {
                    None => {
                        let connection =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    Some(acceptor) => {
                        let handshake =
                            tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                                .await;
                        let stream = match handshake {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                                return Ok(());
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return Ok(());
                            }
                        };
                        let connection =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                }
            };
            let result = tokio::select! {
                result = served => result,
                () = idle(activity, idle_timeout) => {
                    tracing::debug!(%peer, "closing an idle connection");
                    Ok(())
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
        }
    }
}

/// Warns when the process may run out of file descriptors before the connection limit (the
/// soft `ulimit -n`, read from `/proc/self/limits`, no system call needed).
fn warn_if_descriptors_are_short(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(soft) = soft
        && soft < max_connections + 256
    {
        tracing::warn!(
            descriptors = soft,
            max_connections,
            "the open-file limit is below http.max_connections plus room for storage; raise \
             `ulimit -n` or lower http.max_connections"
        );
    }
}
