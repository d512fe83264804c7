//! Durable commit throughput of the embedded backend: big batches, and many small concurrent
//! transactions (where group commit matters), each fsynced before it is acknowledged.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, KvDatabase, KvTransaction};

/// The KV benchmarks.
#[derive(Debug, Subcommand)]
pub(crate) enum KvBench {
    /// Sequential transactions of many keys each: keys per second.
    Batch(BatchArgs),
    /// Many writers committing one small transaction at a time: transactions per second.
    Small(SmallArgs),
}

#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Directory for the database (a fresh temporary directory inside it is used).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
}

#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    #[command(flatten)]
    common: Common,
    /// Transactions to commit.
    #[arg(long, default_value_t = 200)]
    batches: usize,
    /// Keys written by each transaction.
    #[arg(long, default_value_t = 5_000)]
    keys_per_batch: usize,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
}

#[derive(Debug, Args)]
pub(crate) struct SmallArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent writers.
    #[arg(long, default_value_t = 64)]
    writers: usize,
    /// Transactions in total.
    #[arg(long, default_value_t = 50_000)]
    transactions: usize,
    /// Also run with group commit disabled (one fsync per transaction) for comparison.
    #[arg(long)]
    compare_ungrouped: bool,
}

pub(crate) async fn run(bench: KvBench) -> anyhow::Result<()> {
    match bench {
        KvBench::Batch(args) => batch(args).await,
        KvBench::Small(args) => {
            small(&args, EmbeddedOptions::default(), "grouped").await?;
            if args.compare_ungrouped {
                let ungrouped = EmbeddedOptions {
                    max_group_transactions: 1,
                    ..EmbeddedOptions::default()
                };
                small(&args, ungrouped, "ungrouped").await?;
            }
            Ok(())
        }
    }
}

/// A 24-byte key shaped like Tidemark's data keys: writer, then a big-endian sequence.
fn key(writer: usize, sequence: usize) -> Vec<u8> {
    let mut key = b"tm\x00d".to_vec();
    key.extend((writer as u64).to_be_bytes());
    key.extend((sequence as u64).to_be_bytes());
    key.extend([0u8; 4]);
    key
}

fn value(seed: usize, bytes: usize) -> Vec<u8> {
    // Deterministic, not all-equal (so compression does not flatter the numbers).
    (0..bytes)
        .map(|index| (seed.wrapping_mul(31) ^ index.wrapping_mul(7)) as u8)
        .collect()
}

fn open(
    common: &Common,
    options: EmbeddedOptions,
) -> anyhow::Result<(tempfile::TempDir, EmbeddedKv)> {
    let scratch = tempfile::tempdir_in(&common.dir)
        .with_context(|| format!("cannot create a directory in {}", common.dir.display()))?;
    let db = EmbeddedKv::open(scratch.path(), options)?;
    Ok((scratch, db))
}

async fn batch(args: BatchArgs) -> anyhow::Result<()> {
    let (_scratch, db) = open(&args.common, EmbeddedOptions::default())?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.concurrency.max(1) {
        let db = db.clone();
        let batches: Vec<usize> = (worker..args.batches)
            .step_by(args.concurrency.max(1))
            .collect();
        let keys = args.keys_per_batch;
        let value_bytes = args.common.value_bytes;
        workers.push(tokio::spawn(async move {
            for batch in batches {
                let tx = db.create_transaction()?;
                for index in 0..keys {
                    tx.set(&key(batch, index), &value(index, value_bytes));
                }
                tx.commit().await.map_err(|failed| failed.error)?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let elapsed = started.elapsed();
    let keys = args.batches * args.keys_per_batch;
    println!(
        "kv batch: {keys} keys in {} transactions of {} keys ({} B values, {} in flight): \
         {:.3} s, {:.0} keys/s, {:.1} MB/s of values",
        args.batches,
        args.keys_per_batch,
        args.common.value_bytes,
        args.concurrency,
        elapsed.as_secs_f64(),
        keys as f64 / elapsed.as_secs_f64(),
        (keys * args.common.value_bytes) as f64 / elapsed.as_secs_f64() / 1e6,
    );
    Ok(())
}

async fn small(args: &SmallArgs, options: EmbeddedOptions, label: &str) -> anyhow::Result<()> {
    let (_scratch, db) = open(&args.common, options)?;
    let writers = args.writers.max(1);
    let per_writer = args.transactions / writers;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let db = db.clone();
        let value_bytes = args.common.value_bytes;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_writer);
            for sequence in 0..per_writer {
                let begun = Instant::now();
                let tx = db.create_transaction()?;
                tx.set(&key(writer, sequence), &value(sequence, value_bytes));
                tx.commit().await.map_err(|failed| failed.error)?;
                latencies.push(begun.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "kv small ({label}): {} transactions of 1 key ({} B value) from {writers} writers: \
         {:.3} s, {:.0} transactions/s, latency p50 {:?} p99 {:?}",
        latencies.len(),
        args.common.value_bytes,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.5),
        percentile(0.99),
    );
    Ok(())
}
