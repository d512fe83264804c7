//! The cold tier, side by side: bytes per field value hot (after compaction), cold (the Parquet
//! files `tidemark tier run` writes) and in VictoriaMetrics for the same TSBS data; and a
//! month-long SQL aggregate (daily sum per host) over the cold tier through Tidemark next to
//! DuckDB scanning the very same Parquet files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::ingest::{
    ServersArgs, compact_settle, dir_bytes, load, start_tidemark, start_victoria_metrics,
    tidemark_binary,
};
use crate::tsbs;

/// `cold` arguments.
#[derive(Debug, Args)]
pub(crate) struct ColdArgs {
    /// Hosts.
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// Days of data (one row per host every 10 s).
    #[arg(long, default_value_t = 30)]
    days: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs of the aggregate on each engine (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Keep the data directory (its path is printed) for looking at the files afterwards.
    #[arg(long)]
    keep: bool,
    /// Python with `duckdb` installed [default: a virtual environment created in DIR].
    #[arg(long)]
    python: Option<PathBuf>,
    #[command(flatten)]
    servers: ServersArgs,
}

const DUCKDB: &str = "duckdb==2.0.0";
const SQL: &str = "SELECT hostname, date_bin(INTERVAL '1 day', time) AS day, \
                   sum(usage_user) AS total FROM cpu GROUP BY hostname, day \
                   ORDER BY hostname, day";

/// One day of data as request bodies of about 5,000 lines.
pub(crate) fn day_batches(generator: &mut tsbs::CpuOnly) -> Vec<String> {
    let mut batches = Vec::new();
    let mut current = String::new();
    for row in 0..8_640 {
        generator.next_rows(&mut current);
        if (row + 1) % 50 == 0 {
            batches.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

async fn load_days(args: &ColdArgs, url: &str) -> anyhow::Result<f64> {
    let mut generator = tsbs::CpuOnly::new(args.hosts, args.seed, tsbs::DEFAULT_START_NANOS);
    let started = Instant::now();
    for _ in 0..args.days {
        load(url, Arc::new(day_batches(&mut generator)), 4).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn run_tidemark_cli(binary: &Path, args: &[&str], data: &Path) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()?;
    if !output.status.success() {
        anyhow::bail!(
            "tidemark {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn files_bytes(dir: &Path, extension: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_bytes(&path, extension)
            } else if path.extension().is_some_and(|ext| ext == extension) {
                entry.metadata().map_or(0, |meta| meta.len())
            } else {
                0
            }
        })
        .sum()
}

fn python_with_duckdb(args: &ColdArgs) -> anyhow::Result<PathBuf> {
    if let Some(python) = &args.python {
        return Ok(python.clone());
    }
    let venv = args.servers.dir.join(".bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?;
        anyhow::ensure!(status.success(), "python3 -m venv failed");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            DUCKDB,
        ])
        .status()?;
    anyhow::ensure!(status.success(), "pip install {DUCKDB} failed");
    Ok(python)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub(crate) async fn run(args: ColdArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.servers.dir)?;
    let mut scratch = tempfile::tempdir_in(&args.servers.dir)?;
    if args.keep {
        scratch.disable_cleanup(true);
        println!("data kept in {}", scratch.path().display());
    }
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    let data = scratch.path().join("tidemark");
    let values = (args.hosts * args.days * 8_640 * tsbs::FIELDS.len()) as f64;

    let mut server = start_tidemark(&binary, &data)?;
    server.wait_ready("/health").await?;
    let seconds = load_days(&args, &format!("{}/api/v2/write?bucket=bench", server.base)).await?;
    server.stop()?;
    println!(
        "tidemark: loaded {} days x {} hosts in {seconds:.1} s",
        args.days, args.hosts
    );
    compact_settle(&binary, &data)?;
    let hot = dir_bytes(&data.join("kv").join("keyspaces"));
    let started = Instant::now();
    let tiered = Command::new(&binary)
        .args(["tier", "run", "--data-dir"])
        .arg(&data)
        .output()?;
    anyhow::ensure!(
        tiered.status.success(),
        "tier run: {}",
        String::from_utf8_lossy(&tiered.stderr)
    );
    let tier_seconds = started.elapsed().as_secs_f64();
    let cold = files_bytes(&data.join("cold"), "parquet");
    println!("tidemark tier run: {tier_seconds:.1} s");
    println!(
        "{}",
        run_tidemark_cli(&binary, &["tier", "status"], &data)?.trim()
    );

    let mut vm_bytes = None;
    if !args.servers.no_vm
        && let Some(mut vm) = start_victoria_metrics(scratch.path())?
    {
        vm.wait_ready("/health").await?;
        load_days(&args, &format!("{}/write", vm.base)).await?;
        reqwest::get(format!("{}/internal/force_flush", vm.base)).await?;
        vm.stop()?;
        vm_bytes = Some(dir_bytes(&vm.data));
    }
    println!(
        "bytes per field value, {} hosts x {} days ({values} values):",
        args.hosts, args.days
    );
    println!(
        "  tidemark hot (compacted, settled tables): {:.3}",
        hot as f64 / values
    );
    println!(
        "  tidemark cold (Parquet files):            {:.3}",
        cold as f64 / values
    );
    if let Some(vm) = vm_bytes {
        println!(
            "  victoria-metrics (data directory):        {:.3}",
            vm as f64 / values
        );
        println!(
            "  cold / victoria-metrics:                  {:.2}x",
            cold as f64 / vm as f64
        );
    }

    // The aggregate, over cold data only (everything is older than the hot retention).
    let mut server = start_tidemark(&binary, &data)?;
    server.wait_ready("/health").await?;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v3/query_sql", server.base);
    let query = [("db", "bench"), ("q", SQL), ("format", "json")];
    let mut tidemark_rows: Vec<serde_json::Value> = Vec::new();
    let mut tidemark_ms = Vec::new();
    for run in 0..=args.runs {
        let started = Instant::now();
        let response = client.get(&url).query(&query).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "query failed: {}",
            response.text().await?
        );
        tidemark_rows = response.json().await?;
        if run > 0 {
            tidemark_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    server.stop()?;
    let python = python_with_duckdb(&args)?;
    let glob = data.join("cold").join("**").join("*.parquet");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/duckdb_daily_sum.py");
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let output = Command::new(&python)
        .arg(&script)
        .arg(glob.to_string_lossy().as_ref())
        .arg(args.runs.to_string())
        .arg(threads.to_string())
        .output()
        .context("running the DuckDB script")?;
    anyhow::ensure!(
        output.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let duckdb: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let duckdb_rows = duckdb["rows"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(
        duckdb_rows.len() == tidemark_rows.len(),
        "row counts differ: DuckDB {} vs Tidemark {}",
        duckdb_rows.len(),
        tidemark_rows.len()
    );
    for (ours, theirs) in tidemark_rows.iter().zip(&duckdb_rows) {
        let (a, b) = (
            ours["total"].as_f64().unwrap_or(f64::NAN),
            theirs[2].as_f64().unwrap_or(f64::NAN),
        );
        anyhow::ensure!(
            ours["hostname"] == theirs[0] && (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "results differ: {ours} vs {theirs}"
        );
    }
    let duckdb_ms: Vec<f64> = duckdb["runs_ms"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|ms| ms.as_f64()).collect())
        .unwrap_or_default();
    let (ours, theirs) = (median(tidemark_ms), median(duckdb_ms));
    println!(
        "daily sum per host over {} days of cold data ({} result rows, equal on both):",
        args.days,
        tidemark_rows.len()
    );
    println!("  tidemark (HTTP, JSON):        median {ours:.1} ms");
    println!(
        "  duckdb {} (in-process):    median {theirs:.1} ms",
        duckdb["version"].as_str().unwrap_or("?")
    );
    println!("  tidemark / duckdb:            {:.2}x", ours / theirs);
    Ok(())
}
