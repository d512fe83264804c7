//! The ingest benchmark: the same TSBS cpu-only data written to Tidemark and, side by side, to
//! VictoriaMetrics (when the Debian package `victoria-metrics` is installed), each started fresh
//! on 127.0.0.1 by this harness. Reports lines/s, field values/s, bytes per field value on disk
//! once each has flushed and stopped, and peak RSS.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::tsbs;

/// `ingest` arguments.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    data: tsbs::DataArgs,
    /// Lines per request.
    #[arg(long, default_value_t = 5_000)]
    batch_lines: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Write to an already running endpoint instead (a full write URL, e.g.
    /// `http://127.0.0.1:8181/api/v2/write?bucket=bench`).
    #[arg(long)]
    url: Option<String>,
    #[command(flatten)]
    servers: ServersArgs,
}

/// Which servers a side-by-side benchmark starts, and where their data goes.
#[derive(Debug, Args)]
pub(crate) struct ServersArgs {
    /// Skip VictoriaMetrics even when it is installed.
    #[arg(long)]
    pub(crate) no_vm: bool,
    /// Directory for the servers' data.
    #[arg(long, default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The tidemark binary [default: next to this one].
    #[arg(long)]
    pub(crate) tidemark_bin: Option<PathBuf>,
}

pub(crate) struct Loaded {
    pub(crate) lines: usize,
    pub(crate) elapsed: Duration,
}

/// Sends every batch over `connections` concurrent connections; fails on any non-2xx.
pub(crate) async fn load(
    url: &str,
    batches: Arc<Vec<String>>,
    connections: usize,
) -> anyhow::Result<Loaded> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (url, batches, next) = (url.to_owned(), Arc::clone(&batches), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(batch) = batches.get(index) else {
                    break;
                };
                let response = client.post(&url).body(batch.clone()).send().await?;
                if !response.status().is_success() {
                    let status = response.status();
                    anyhow::bail!(
                        "{url} answered {status}: {}",
                        response.text().await.unwrap_or_default()
                    );
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let lines = batches.iter().map(|batch| batch.lines().count()).sum();
    Ok(Loaded {
        lines,
        elapsed: started.elapsed(),
    })
}

/// The headers of a remote_write 1.0 request, as Prometheus sends them.
pub(crate) const REMOTE_WRITE_1_HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// Sends every body (with `headers`) over `connections` connections; fails on any non-2xx; returns the time.
pub(crate) async fn send_bodies(
    url: &str,
    headers: &'static [(&'static str, &'static str)],
    bodies: Arc<Vec<Vec<u8>>>,
    connections: usize,
) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, bodies, next) = (url.to_owned(), Arc::clone(&bodies), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let mut request = client.post(&url).body(body.clone());
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let response = request.send().await?;
                if !response.status().is_success() {
                    anyhow::bail!("{url}: {} {}", response.status(), response.text().await?);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A server process started for one run; killed if the run fails.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    child: Child,
    pub(crate) data: PathBuf,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) async fn wait_ready(&self, path: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(format!("{}{path}", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{} did not become ready", self.name)
    }

    /// Starts a new peak for [`Self::peak_rss_bytes`] (writing 5 to `clear_refs` resets the
    /// kernel's high-water mark).
    pub(crate) fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    pub(crate) fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    }

    /// Stops the server gracefully (SIGINT, which both servers treat as a clean shutdown).
    pub(crate) fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()?;
        for _ in 0..600 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("{} did not stop", self.name)
    }
}

/// Bytes a directory occupies on disk (allocated blocks: fjall preallocates its journal).
pub(crate) fn dir_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |meta| meta.blocks() * 512),
            Err(_) => 0,
        })
        .sum()
}

/// The tidemark binary: the given one, or the one next to this benchmark.
pub(crate) fn tidemark_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    match given {
        Some(path) => Ok(path.to_path_buf()),
        None => Ok(std::env::current_exe()?.with_file_name("tidemark")),
    }
}

/// Starts `tidemark serve` on a free port with its data in `data`.
pub(crate) fn start_tidemark(binary: &Path, data: &Path) -> anyhow::Result<Server> {
    start_tidemark_with(binary, data, &[])
}

/// [`start_tidemark`] with more flags (another storage backend, say).
pub(crate) fn start_tidemark_with(
    binary: &Path,
    data: &Path,
    extra: &[String],
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let data = data.to_path_buf();
    let child = Command::new(binary)
        .args([
            "serve",
            "--log-level",
            "warn",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (build it with cargo build --release)",
                binary.display()
            )
        })?;
    Ok(Server {
        name: "tidemark",
        child,
        data,
        base: format!("http://127.0.0.1:{port}"),
    })
}

pub(crate) fn start_victoria_metrics(scratch: &Path) -> anyhow::Result<Option<Server>> {
    let Ok(binary) = which("victoria-metrics") else {
        eprintln!(
            "NOTICE: victoria-metrics is not installed (apt-get install victoria-metrics); running Tidemark alone"
        );
        return Ok(None);
    };
    let port = free_port()?;
    let data = scratch.join("victoria-metrics");
    let child = Command::new(binary)
        .arg(format!("-storageDataPath={}", data.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-loggerLevel=ERROR")
        // TSBS data starts in 2016; the default one-month retention would silently drop it.
        .arg("-retentionPeriod=100y")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Some(Server {
        name: "victoria-metrics",
        child,
        data,
        base: format!("http://127.0.0.1:{port}"),
    }))
}

pub(crate) fn which(program: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| anyhow::anyhow!("{program} not found"))
}

struct Row {
    name: &'static str,
    loaded: Loaded,
    disk_bytes: u64,
    peak_rss: u64,
    /// Disk bytes once compaction has merged everything and the LSM tree settled.
    settled_bytes: Option<u64>,
}

async fn run_server(
    mut server: Server,
    ready: &str,
    write_path: &str,
    flush: Option<&str>,
    batches: Arc<Vec<String>>,
    connections: usize,
) -> anyhow::Result<Row> {
    server.wait_ready(ready).await?;
    let loaded = load(
        &format!("{}{write_path}", server.base),
        batches,
        connections,
    )
    .await?;
    if let Some(flush) = flush {
        reqwest::Client::new()
            .get(format!("{}{flush}", server.base))
            .send()
            .await?;
    }
    let peak_rss = server.peak_rss_bytes();
    server.stop()?;
    Ok(Row {
        name: server.name,
        disk_bytes: dir_bytes(&server.data),
        loaded,
        peak_rss,
        settled_bytes: None,
    })
}

/// Runs `tidemark compact --settle` on the stopped server's data and measures the result.
fn settle_tidemark(args: &IngestArgs, row: &mut Row, data: &Path) -> anyhow::Result<()> {
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    compact_settle(&binary, data)?;
    // Tables only: the write-ahead journal left beside them is bounded (64 MiB) and is dropped
    // when it rotates, whatever the data size; it is reported on its own.
    let tables = dir_bytes(&data.join("kv").join("keyspaces"));
    println!(
        "tidemark settled: {:.1} MB of tables, {:.1} MB of write-ahead journal",
        tables as f64 / 1e6,
        dir_bytes(data).saturating_sub(tables) as f64 / 1e6
    );
    row.settled_bytes = Some(tables);
    Ok(())
}

/// Compacts every bucket of a stopped server's data directory and settles its LSM tree.
pub(crate) fn compact_settle(binary: &Path, data: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let output = Command::new(binary)
        .args([
            "compact",
            "--seal-after-seconds",
            "0",
            "--settle",
            "--data-dir",
        ])
        .arg(data)
        .output()?;
    if !output.status.success() {
        anyhow::bail!(
            "tidemark compact failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!(
        "tidemark compact: {} ({:.1} s)",
        String::from_utf8_lossy(&output.stdout).trim(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let rows_per_host = args.data.hours * 360;
    let generated = Instant::now();
    let batches = Arc::new(tsbs::batches(
        args.data.hosts,
        args.data.seed,
        rows_per_host,
        args.batch_lines,
    ));
    let bytes: usize = batches.iter().map(String::len).sum();
    println!(
        "data: {} hosts x {} h = {} lines, {} field values, {:.1} MB of line protocol in {} requests (generated in {:.1} s, seed {})",
        args.data.hosts,
        args.data.hours,
        args.data.hosts * rows_per_host,
        args.data.hosts * rows_per_host * tsbs::FIELDS.len(),
        bytes as f64 / 1e6,
        batches.len(),
        generated.elapsed().as_secs_f64(),
        args.data.seed,
    );
    if let Some(url) = &args.url {
        let loaded = load(url, batches, args.connections).await?;
        print_rate("endpoint", &loaded);
        return Ok(());
    }
    std::fs::create_dir_all(&args.servers.dir)?;
    let scratch = tempfile::tempdir_in(&args.servers.dir)?;
    let mut rows = Vec::new();
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    let tidemark = start_tidemark(&binary, &scratch.path().join("tidemark"))?;
    let tidemark_data = tidemark.data.clone();
    let mut row = run_server(
        tidemark,
        "/health",
        "/api/v2/write?bucket=bench",
        None,
        Arc::clone(&batches),
        args.connections,
    )
    .await?;
    settle_tidemark(&args, &mut row, &tidemark_data)?;
    rows.push(row);
    if !args.servers.no_vm
        && let Some(vm) = start_victoria_metrics(scratch.path())?
    {
        rows.push(
            run_server(
                vm,
                "/health",
                "/write",
                Some("/internal/force_flush"),
                Arc::clone(&batches),
                args.connections,
            )
            .await?,
        );
    }
    let values = (args.data.hosts * rows_per_host * tsbs::FIELDS.len()) as f64;
    println!(
        "{:<18} {:>12} {:>14} {:>10} {:>14} {:>16} {:>12}",
        "server", "lines/s", "values/s", "seconds", "bytes/value", "settled tables", "peak RSS MB"
    );
    for row in &rows {
        let seconds = row.loaded.elapsed.as_secs_f64();
        let settled = row.settled_bytes.unwrap_or(row.disk_bytes);
        println!(
            "{:<18} {:>12.0} {:>14.0} {:>10.2} {:>14.2} {:>16.2} {:>12.1}",
            row.name,
            row.loaded.lines as f64 / seconds,
            values / seconds,
            seconds,
            row.disk_bytes as f64 / values,
            settled as f64 / values,
            row.peak_rss as f64 / 1e6,
        );
    }
    if let [tidemark, vm] = rows.as_slice() {
        println!(
            "ratio tidemark/victoria-metrics: ingest rate {:.2}x, bytes per value {:.2}x (settled {:.2}x), peak RSS {:.2}x",
            vm.loaded.elapsed.as_secs_f64() / tidemark.loaded.elapsed.as_secs_f64(),
            tidemark.disk_bytes as f64 / vm.disk_bytes.max(1) as f64,
            tidemark.settled_bytes.unwrap_or(tidemark.disk_bytes) as f64
                / vm.disk_bytes.max(1) as f64,
            tidemark.peak_rss as f64 / vm.peak_rss.max(1) as f64,
        );
    }
    Ok(())
}

fn print_rate(name: &str, loaded: &Loaded) {
    let seconds = loaded.elapsed.as_secs_f64();
    println!(
        "{name}: {} lines in {seconds:.2} s: {:.0} lines/s, {:.0} field values/s",
        loaded.lines,
        loaded.lines as f64 / seconds,
        loaded.lines as f64 * tsbs::FIELDS.len() as f64 / seconds
    );
}
