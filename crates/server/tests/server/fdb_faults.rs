//! FoundationDB itself failing under a running Tidemark: `fdbserver` is SIGKILLed during
//! sustained ingest and restarted. Writers get 503 with `Retry-After` while it is down (never a
//! 500, never a hang past the write timeout), and afterwards every acknowledged point is there
//! exactly once.
//!
//! Needs its own cluster, so it runs only with `TIDEMARK_TEST_STORAGE=fdb` and
//! `TIDEMARK_FDB_DIR` (the folder holding FoundationDB's `start.sh`, `bin/` and `lib/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::TestServer;
use crate::harness::on_fdb;

/// A one-process cluster of this test's own, from `start.sh`.
struct Cluster {
    fdb_dir: PathBuf,
    dir: PathBuf,
    cluster_file: PathBuf,
    pid: u32,
    restarted: Option<Child>,
}

impl Cluster {
    fn start(fdb_dir: &Path, dir: &Path) -> Self {
        let output = Command::new(fdb_dir.join("start.sh"))
            .arg(dir)
            .output()
            .expect("run start.sh");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let mut lines = text.lines();
        let cluster_file = PathBuf::from(lines.next().expect("cluster file"));
        let pid = lines.next().expect("pid").trim().parse().expect("pid");
        Self {
            fdb_dir: fdb_dir.to_path_buf(),
            dir: dir.to_path_buf(),
            cluster_file,
            pid,
            restarted: None,
        }
    }

    fn kill(&mut self) {
        Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status()
            .unwrap();
        if let Some(mut child) = self.restarted.take() {
            let _ = child.wait();
        }
    }

    /// Starts `fdbserver` again with the arguments `start.sh` gave it.
    fn restart(&mut self) {
        let text = std::fs::read_to_string(&self.cluster_file).unwrap();
        let address = text.trim().rsplit('@').next().unwrap().to_owned();
        let child = Command::new(self.fdb_dir.join("bin/fdbserver"))
            .arg("-C")
            .arg(&self.cluster_file)
            .args(["-p", &address, "-d"])
            .arg(self.dir.join("data"))
            .arg("-L")
            .arg(self.dir.join("logs"))
            .env("LD_LIBRARY_PATH", self.fdb_dir.join("lib"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart fdbserver");
        self.pid = child.id();
        self.restarted = Some(child);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one writer saw.
#[derive(Debug, Default)]
struct Writer {
    /// Batches acknowledged, in order (each 50 points, a batch number's own timestamps).
    acked: Vec<i64>,
    /// Every other answer: status (0 for a transport error) → count.
    refusals: BTreeMap<u16, u32>,
    /// 503s without `Retry-After`.
    without_retry_after: u32,
    /// The longest a request took.
    slowest: Duration,
}

const POINTS_PER_BATCH: i64 = 50;

/// Writes batches of `series` until `stop`, each batch retried until it is acknowledged, as
/// an agent does.
async fn write_until(url: String, series: usize, base: i64, stop: Arc<AtomicBool>) -> Writer {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut seen = Writer::default();
    let mut batch = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let body: String = (0..POINTS_PER_BATCH)
            .map(|i| {
                let time = base + batch * POINTS_PER_BATCH + i;
                format!("load,writer=w{series} seq={batch}i,i={i}i {time}\n")
            })
            .collect();
        let started = Instant::now();
        let response = client.post(&url).body(body).send().await;
        seen.slowest = seen.slowest.max(started.elapsed());
        match response {
            Ok(response) if response.status() == 204 => {
                seen.acked.push(batch);
                batch += 1;
            }
            Ok(response) => {
                let status = response.status().as_u16();
                if status == 503 && response.headers().get("retry-after").is_none() {
                    seen.without_retry_after += 1;
                }
                *seen.refusals.entry(status).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(_) => {
                *seen.refusals.entry(0).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fdbserver_killed_and_restarted_during_ingest_loses_nothing() {
    let fdb_dir = std::env::var_os("TIDEMARK_FDB_DIR").map(PathBuf::from);
    let Some(fdb_dir) = fdb_dir.filter(|_| on_fdb()) else {
        eprintln!(
            "NOTICE: needs TIDEMARK_TEST_STORAGE=fdb and TIDEMARK_FDB_DIR; skipping \
             fdbserver_killed_and_restarted_during_ingest_loses_nothing"
        );
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(&fdb_dir, &scratch.path().join("fdb"));
    let server = TestServer::start_in(
        &scratch.path().join("data"),
        &[
            "--fdb-cluster-file",
            cluster.cluster_file.to_str().unwrap(),
            "--ingest-write-timeout",
            "3s",
        ],
    );
    let base = crate::tiering::now() - 3_600_000_000_000;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|series| {
            let url = server.url("/api/v3/write_lp?db=faults&precision=nanosecond");
            tokio::spawn(write_until(url, series, base, Arc::clone(&stop)))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.kill();
    // Down longer than the write timeout: writers must hear 503s, not wait.
    tokio::time::sleep(Duration::from_secs(8)).await;
    cluster.restart();
    // Up again: writes resume; give them a few seconds of acknowledged traffic.
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for writer in writers {
        seen.push(writer.await.unwrap());
    }

    for (series, writer) in seen.iter().enumerate() {
        eprintln!(
            "writer {series}: {} batches acknowledged, refusals {:?}, slowest {:?}",
            writer.acked.len(),
            writer.refusals,
            writer.slowest
        );
        assert!(
            writer.refusals.keys().all(|status| *status == 503),
            "only 503 while FDB is down: {:?}",
            writer.refusals
        );
        assert!(writer.refusals.get(&503).is_some_and(|n| *n > 0));
        assert_eq!(writer.without_retry_after, 0, "every 503 says Retry-After");
        assert!(
            writer.slowest < Duration::from_secs(10),
            "bounded by the write timeout: {:?}",
            writer.slowest
        );
        let batches = i64::try_from(writer.acked.len()).unwrap();
        assert!(batches > 10, "writes resumed after the restart");
        // Every acknowledged point exactly once (a batch is retried until acknowledged, so
        // the points are those of batches 0..acked, each at its own timestamp).
        let sql = format!(
            "SELECT count(*) AS n, count(DISTINCT time) AS distinct_times, \
             max(seq) AS last FROM load WHERE writer = 'w{series}'"
        );
        let (status, rows) = server.sql(Some("faults"), &sql, None).await;
        assert_eq!(status, 200, "{rows}");
        let row = &rows[0];
        let stored = row["n"].as_i64().unwrap();
        assert_eq!(row["distinct_times"].as_i64().unwrap(), stored, "{row}");
        // A batch refused at the end (its answer lost) may have landed: at most one more.
        assert!(
            stored == batches * POINTS_PER_BATCH || stored == (batches + 1) * POINTS_PER_BATCH,
            "writer {series}: {stored} points stored, {batches} batches acknowledged"
        );
    }
}
