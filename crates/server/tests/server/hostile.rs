//! The hostile-client suite: every input of issue 11 sent to the real binary, started under an
//! address-space cap (`prlimit --as`), while a watchdog checks that `/health` answers within
//! 2 s throughout, that resident memory stays bounded, and that another tenant's writes and
//! queries keep succeeding.

mod background;
mod connections;
mod flight;
mod push;
mod queries;
mod writes;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::TestServer;

/// The address-space cap: room for the runtime's reservations (thread stacks, allocator
/// arenas) and for the default query memory, far below what any of the attacks would allocate
/// if a bound were missing.
pub(crate) const ADDRESS_SPACE: u64 = 8 << 30;
/// Resident memory the server may reach during an attack.
pub(crate) const MAX_RSS: u64 = 1 << 30;

/// Flags that make the suite's deadlines short.
pub(crate) const QUICK: &[&str] = &[
    "--query-default-timeout",
    "3s",
    "--query-max-timeout",
    "5s",
    "--http-header-read-timeout",
    "2s",
    "--http-body-timeout",
    "5s",
    "--http-idle-timeout",
    "90s",
];

/// Starts a capped server with the quick deadlines and `extra` flags (which override them).
pub(crate) fn start(extra: &[&str]) -> TestServer {
    let mut flags: Vec<&str> = Vec::new();
    for pair in QUICK.chunks(2) {
        if !extra.contains(&pair[0]) {
            flags.extend_from_slice(pair);
        }
    }
    flags.extend_from_slice(extra);
    TestServer::start_capped(ADDRESS_SPACE, &flags)
}

/// What the watchdog saw.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) health_checks: usize,
    pub(crate) slow_or_failed_health: Vec<String>,
    pub(crate) peak_rss: u64,
    pub(crate) good_rounds: usize,
    pub(crate) good_failures: Vec<String>,
}

/// Watches a server while an attack runs.
pub(crate) struct Watchdog {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Report>,
}

fn resident_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

impl Watchdog {
    /// Starts watching: `/health` every 200 ms, resident memory, and every second a write and a
    /// query of database `good` (with `token` when the server has tokens).
    pub(crate) fn start(server: &TestServer, token: Option<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (base, pid, flag) = (server.url(""), server.pid(), Arc::clone(&stop));
        let task = tokio::spawn(async move {
            // The server closes a keep-alive connection that stays idle for its header read
            // timeout (2 s here); reusing one that old would race with that close.
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .pool_idle_timeout(Duration::from_millis(1_500))
                .build()
                .unwrap();
            let mut report = Report::default();
            let mut round = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let health = client.get(format!("{base}/health")).send().await;
                report.health_checks += 1;
                // Every body is read to its end: reqwest then keeps the connection for the next
                // request, as an agent would, instead of dialling anew while a test has taken
                // every connection slot.
                match health {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.bytes().await;
                    }
                    Ok(response) => report
                        .slow_or_failed_health
                        .push(format!("status {}", response.status())),
                    Err(error) => report
                        .slow_or_failed_health
                        .push(format!("after {:?}: {error:?}", started.elapsed())),
                }
                report.peak_rss = report.peak_rss.max(resident_bytes(pid));
                round += 1;
                if round.is_multiple_of(5) {
                    good_round(&client, &base, token.as_deref(), round, &mut report).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            report
        });
        Self { stop, task }
    }

    /// Stops watching and checks what was seen.
    pub(crate) async fn finish(self, what: &str) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let report = self.task.await.unwrap();
        assert!(
            report.slow_or_failed_health.is_empty(),
            "{what}: /health failed or took more than 2 s: {:?}",
            report.slow_or_failed_health
        );
        assert!(
            report.peak_rss < MAX_RSS,
            "{what}: resident memory reached {} bytes",
            report.peak_rss
        );
        assert!(
            report.good_failures.is_empty(),
            "{what}: another tenant's requests failed: {:?}",
            report.good_failures
        );
        assert!(report.health_checks > 0);
        report
    }
}

/// One write and one query of database `good`.
async fn good_round(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    round: u64,
    report: &mut Report,
) {
    let with_token = |request: reqwest::RequestBuilder| match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let write = with_token(client.post(format!("{base}/api/v3/write_lp?db=good")))
        .body(format!("g,n=a v={round} {round}"))
        .send()
        .await;
    match write {
        Ok(response) if response.status() == 204 => {
            let _ = response.bytes().await;
        }
        Ok(response) => report.good_failures.push(format!(
            "write: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        )),
        Err(error) => report.good_failures.push(format!("write: {error}")),
    }
    let query = with_token(client.get(format!("{base}/api/v3/query_sql")))
        .query(&[("db", "good"), ("q", "SELECT count(*) AS n FROM g")])
        .send()
        .await;
    match query {
        Ok(response) if response.status() == 200 => {
            let _ = response.bytes().await;
            report.good_rounds += 1;
        }
        Ok(response) => report.good_failures.push(format!(
            "query: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        )),
        Err(error) => report.good_failures.push(format!("query: {error}")),
    }
}

/// The server's `/metrics` count of refusals by `limit`.
pub(crate) async fn refusals(server: &TestServer, limit: &str) -> f64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("tidemark_limit_refusals_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}
