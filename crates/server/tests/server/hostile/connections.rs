//! Connections and bodies built to hold descriptors or memory: huge bodies without a token,
//! headers sent a byte at a time, more connections than allowed, and requests from other
//! origins to a server without tokens.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Watchdog, refusals, start};
use crate::TestServer;

/// A body stream of `total` bytes in 1 MiB chunks, generated as it is sent.
fn endless(total: u64) -> reqwest::Body {
    let chunk = axum::body::Bytes::from(vec![b'x'; 1 << 20]);
    let chunks = total / (1 << 20);
    reqwest::Body::wrap_stream(futures::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_refused_before_they_are_buffered() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = crate::auth::create_token(&data_dir, "good", &[]);
    let server = TestServer::start_capped_in(super::ADDRESS_SPACE, &data_dir, super::QUICK);
    let watch = Watchdog::start(&server, Some(token.clone()));
    // 3 GB to a query endpoint without a token: 401 as soon as the headers are in.
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(server.url("/api/v3/query_sql"))
        .header("Content-Type", "application/json")
        .body(endless(3 << 30))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 401);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // With a token, the query body is bounded at 1 MiB: 413 (the server may answer and close
    // before the client has sent it all).
    let response = reqwest::Client::new()
        .post(server.url("/api/v3/query_sql"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 8 << 20])
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    // A body that trickles in: 408 once the body deadline passes.
    let trickle = reqwest::Body::wrap_stream(futures::stream::unfold(0, |sent| async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        (sent < 60).then(|| {
            (
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"x")),
                sent + 1,
            )
        })
    }));
    let response = reqwest::Client::new()
        .post(server.url("/api/v3/write_lp?db=good"))
        .bearer_auth(&token)
        .body(trickle)
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 408);
    }
    // Random tokens do not push the valid one out of the cache.
    for _ in 0..2_000 {
        let response = reqwest::Client::new()
            .get(server.url("/api/v3/query_sql?db=good&q=SELECT+1"))
            .bearer_auth(format!("tmk_{:032x}", rand_token()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let (status, body) = server.sql(Some("good"), "SELECT 1", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    watch.finish("bodies").await;
}

fn rand_token() -> u128 {
    use std::time::SystemTime;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Opens a connection and sends the start of a request, a byte at a time, until closed.
async fn slowloris(addr: std::net::SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    for byte in b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .cycle()
        .take(400)
    {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut buffer = [0u8; 512];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buffer)).await
        {
            return Some(started.elapsed());
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_connections_do_not_hold_the_server() {
    let server = start(&["--http-max-connections", "64"]);
    let watch = Watchdog::start(&server, None);
    // 40 clients sending headers a byte every 100 ms: each is closed after the 2 s header
    // deadline, while /health (the watchdog) keeps answering.
    let addr = server.addr();
    let slow: Vec<_> = (0..40).map(|_| tokio::spawn(slowloris(addr))).collect();
    for task in slow {
        let closed_after = task
            .await
            .unwrap()
            .expect("the server closed the slow connection");
        assert!(closed_after < Duration::from_secs(10), "{closed_after:?}");
    }
    // 200 idle connections against a cap of 64: the surplus is closed on accept.
    let mut open = Vec::new();
    for _ in 0..200 {
        if let Ok(stream) = TcpStream::connect(addr).await {
            open.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut closed = 0;
    for stream in &mut open {
        let mut buffer = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buffer)).await
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 100,
        "only {closed} of 200 connections were refused"
    );
    drop(open);
    assert!(refusals(&server, "connections").await >= 100.0);
    watch.finish("slow connections").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_only_this_machine_is_served() {
    let server = start(&[]);
    let post = |host: Option<&str>, origin: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(server.url("/api/v3/write_lp?db=x"))
            .header("Content-Type", "text/plain")
            .body("m v=1 1");
        if let Some(host) = host {
            request = request.header("Host", host);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send()
    };
    // DNS rebinding: a foreign host name resolving to 127.0.0.1.
    let response = post(Some("attacker.example:8181"), None).await.unwrap();
    assert_eq!(response.status(), 403);
    // A page of another origin posting text/plain (no preflight needed).
    let response = post(None, Some("https://attacker.example")).await.unwrap();
    assert_eq!(response.status(), 403);
    // The machine's own clients and pages.
    assert_eq!(post(None, None).await.unwrap().status(), 204);
    assert_eq!(
        post(Some("localhost:8181"), Some("http://localhost:3000"))
            .await
            .unwrap()
            .status(),
        204
    );
}
