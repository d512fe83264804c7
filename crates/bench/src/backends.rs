//! The same workload on the embedded backend and on FoundationDB, side by side in one run:
//! TSBS cpu-only line protocol ingest, one compaction pass, then the dashboard queries (the TSBS
//! SQL query types and the Prometheus dashboard's range queries) on the loaded data.
//!
//! FoundationDB here is whatever cluster the cluster file names (in our runs one `fdbserver`
//! process on the same machine, sharing its cores with Tidemark and the load generator).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::ingest::{Server, load, start_tidemark_with, tidemark_binary};
use crate::prom_calls::{QUERIES, range_query};
use crate::query::{Generator, QUERY_TYPES, summary, timed};
use crate::tsbs::{self, DEFAULT_START_NANOS, DataArgs, INTERVAL_NANOS};

/// `tidemark-bench backends`.
#[derive(Debug, Args)]
pub(crate) struct BackendsArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Cluster file of the FoundationDB cluster to run against.
    #[arg(long)]
    fdb_cluster_file: PathBuf,
    /// A tidemark binary built with `--features tidemark-server/fdb`.
    #[arg(long)]
    tidemark_fdb_bin: PathBuf,
    /// The tidemark binary of the embedded run [default: next to this one].
    #[arg(long)]
    tidemark_bin: Option<PathBuf>,
    /// Directory for the servers' data.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Concurrent write connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Timed runs of each query (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    iterations: usize,
}

/// One backend's side: how to start and compact it.
struct Side {
    name: &'static str,
    binary: PathBuf,
    data: PathBuf,
    /// Flags selecting the backend, for `serve` and `compact` alike.
    storage: Vec<String>,
}

impl Side {
    fn start(&self) -> anyhow::Result<Server> {
        start_tidemark_with(&self.binary, &self.data, &self.storage)
    }

    /// One offline compaction pass over every bucket (the server is stopped).
    fn compact(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let output = Command::new(&self.binary)
            .args(["compact", "--seal-after-seconds", "0", "--data-dir"])
            .arg(&self.data)
            .args(&self.storage)
            .output()?;
        if !output.status.success() {
            anyhow::bail!(
                "{}: tidemark compact failed: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(started.elapsed())
    }
}

/// What one side measured.
#[derive(Default)]
struct Measured {
    lines_per_second: f64,
    peak_rss: u64,
    compaction: Duration,
    /// Median latency (ms) per query, in the order of [`queries`].
    medians: Vec<f64>,
}

async fn measure(side: &Side, args: &BackendsArgs) -> anyhow::Result<Measured> {
    let rows_per_host = args.data.hours * 360;
    let batches = Arc::new(tsbs::batches(
        args.data.hosts,
        args.data.seed,
        rows_per_host,
        5_000,
    ));
    let mut measured = Measured::default();
    let mut server = side.start()?;
    server.wait_ready("/health").await?;
    let loaded = load(
        &format!("{}/api/v2/write?bucket=bench", server.base),
        batches,
        args.connections,
    )
    .await?;
    measured.lines_per_second = loaded.lines as f64 / loaded.elapsed.as_secs_f64();
    measured.peak_rss = server.peak_rss_bytes();
    server.stop()?;
    drop(server);
    measured.compaction = side.compact()?;
    let server = side.start()?;
    server.wait_ready("/health").await?;

    let client = reqwest::Client::new();
    let data_end = DEFAULT_START_NANOS + rows_per_host as i64 * INTERVAL_NANOS;
    for kind in QUERY_TYPES {
        let mut generator = Generator {
            rng: StdRng::seed_from_u64(args.data.seed ^ 0x9e37_79b9),
            hosts: args.data.hosts,
            data_end,
        };
        let mut runs = Vec::new();
        for iteration in 0..=args.iterations {
            let instance = generator.instance(kind);
            let request = client
                .get(format!("{}/api/v3/query_sql", server.base))
                .query(&[("db", "bench"), ("q", instance.sql.as_str())]);
            let (elapsed, _) = timed(request).await?;
            if iteration > 0 {
                runs.push(elapsed);
            }
        }
        measured.medians.push(summary(runs).1);
    }
    let end_seconds = data_end / 1_000_000_000;
    for query in &QUERIES {
        let mut runs = Vec::new();
        for iteration in 0..=args.iterations {
            let url = format!("{}/api/v1/query_range?db=bench", server.base);
            let (elapsed, _) = range_query(&client, &url, query, end_seconds).await?;
            if iteration > 0 {
                runs.push(elapsed);
            }
        }
        measured.medians.push(summary(runs).1);
    }
    Ok(measured)
}

/// The names of the measured queries, in the order [`measure`] records them.
fn queries() -> Vec<String> {
    let sql = QUERY_TYPES.iter().map(|kind| format!("sql {kind}"));
    let promql = QUERIES.iter().map(|query| {
        format!(
            "promql {} ({} h, step {} s)",
            query.expr, query.hours, query.step_seconds
        )
    });
    sql.chain(promql).collect()
}

fn scratch_root(dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    std::fs::create_dir_all(dir)?;
    Ok(tempfile::tempdir_in(dir)?)
}

pub(crate) async fn run(args: BackendsArgs) -> anyhow::Result<()> {
    let scratch = scratch_root(&args.dir)?;
    let root = format!("bench-{:016x}", rand::random::<u64>());
    let sides = [
        Side {
            name: "embedded",
            binary: tidemark_binary(args.tidemark_bin.as_deref())?,
            data: scratch.path().join("embedded"),
            storage: Vec::new(),
        },
        Side {
            name: "fdb",
            binary: args.tidemark_fdb_bin.clone(),
            data: scratch.path().join("fdb"),
            storage: vec![
                "--storage".into(),
                "fdb".into(),
                "--fdb-cluster-file".into(),
                args.fdb_cluster_file.display().to_string(),
                "--storage-root".into(),
                root,
            ],
        },
    ];
    println!(
        "data: {} hosts x {} h of TSBS cpu-only (seed {}), {} write connections; queries: median \
         of {} runs after one warm-up",
        args.data.hosts, args.data.hours, args.data.seed, args.connections, args.iterations
    );
    let mut results = Vec::new();
    for side in &sides {
        let measured = measure(side, &args).await?;
        println!(
            "{}: {:.0} lines/s, peak RSS {:.0} MB, compaction {:.1} s",
            side.name,
            measured.lines_per_second,
            measured.peak_rss as f64 / 1e6,
            measured.compaction.as_secs_f64()
        );
        results.push(measured);
    }
    let [embedded, fdb] = results.as_slice() else {
        unreachable!("two sides");
    };
    println!(
        "{:<64} {:>12} {:>12} {:>10}",
        "measure", "embedded", "fdb", "fdb/emb"
    );
    let row = |name: &str, a: f64, b: f64| {
        println!("{name:<64} {a:>12.2} {b:>12.2} {:>9.2}x", b / a);
    };
    row(
        "ingest lines/s",
        embedded.lines_per_second,
        fdb.lines_per_second,
    );
    row(
        "compaction s",
        embedded.compaction.as_secs_f64(),
        fdb.compaction.as_secs_f64(),
    );
    for (index, name) in queries().iter().enumerate() {
        row(
            &format!("{name} ms"),
            embedded.medians[index],
            fdb.medians[index],
        );
    }
    Ok(())
}
