//! `tidemark-bench`: workload benchmarks for Tidemark, run from the command line.
//!
//! Each subcommand generates its data deterministically, drives the real component, and prints
//! one result line per measurement with the parameters that produced it. Results are recorded
//! in `docs/benchmarks.md`. This crate may depend on every other crate; nothing depends on it.

mod backends;
mod codec;
mod cold;
mod ingest;
mod kv;
mod otlp;
mod prom;
mod prom_calls;
mod query;
mod tsbs;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tidemark workload benchmarks.
#[derive(Debug, Parser)]
#[command(name = "tidemark-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Durable commit throughput of the embedded KV backend.
    #[command(subcommand)]
    Kv(kv::KvBench),
    /// Line protocol ingest: TSBS cpu-only data into Tidemark and VictoriaMetrics side by side.
    Ingest(ingest::IngestArgs),
    /// Bytes per field value of the block codec on TSBS cpu-only data.
    Codec(codec::CodecArgs),
    /// TSBS query types: SQL on Tidemark next to MetricsQL on VictoriaMetrics, same data.
    Query(query::QueryArgs),
    /// Prometheus: remote_write ingest and dashboard range queries, next to VictoriaMetrics.
    Prom(prom::PromArgs),
    /// Push ingest: remote_write 1.0, remote_write 2.0 and OTLP/HTTP on the same TSBS samples.
    Otlp(otlp::OtlpArgs),
    /// The same ingest and dashboard queries on the embedded backend and on FoundationDB.
    Backends(backends::BackendsArgs),
    /// Cold tier: bytes per value (hot, cold, VictoriaMetrics) and a month-long aggregate
    /// against DuckDB on the same Parquet files.
    Cold(cold::ColdArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Kv(bench) => runtime.block_on(kv::run(bench)),
        Command::Ingest(args) => runtime.block_on(ingest::run(args)),
        Command::Codec(args) => codec::run(args),
        Command::Query(args) => runtime.block_on(query::run(args)),
        Command::Cold(args) => runtime.block_on(cold::run(args)),
        Command::Prom(args) => runtime.block_on(prom::run(args)),
        Command::Backends(args) => runtime.block_on(backends::run(args)),
        Command::Otlp(args) => runtime.block_on(otlp::run(args)),
    }
}
