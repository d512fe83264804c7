//! `tidemark`: the time-series engine's one binary. See the `tidemark_server` library.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tidemark_server::cli::{compact, database, dump, import, query, retention, tier, token};
use tracing_subscriber::EnvFilter;

/// Tidemark: time-series ingestion and query over FoundationDB-shaped storage.
#[derive(Debug, Parser)]
#[command(name = "tidemark", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server.
    Serve(tidemark_server::config::ServeArgs),
    /// Manage tokens: on a running server (`--url`) or offline on its storage (`--data-dir`).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Manage databases: on a running server (`--url`) or offline on its storage (`--data-dir`).
    #[command(subcommand)]
    Database(database::DatabaseCommand),
    /// Import a line protocol file (plain or gzip) into a running server.
    Write(import::WriteArgs),
    /// Print a series' points (one JSON object per line).
    Dump(dump::DumpArgs),
    /// Print how many points a series has in a time range.
    Count(dump::DumpArgs),
    /// Run one compaction pass over a stopped server's data directory.
    Compact(compact::CompactArgs),
    /// Run SQL on a running server and print the result.
    Query(query::QueryArgs),
    /// Set a database's own retention: on a running server (`--url`) or offline (`--data-dir`).
    Retention(retention::RetentionArgs),
    /// Tier cold partitions to object storage, or show the tiers.
    #[command(subcommand)]
    Tier(tier::TierCommand),
}

fn init_logging(filter: &str) {
    // fjall's LSM tree logs every flush at info; keep it quiet unless asked for by name.
    let mut directives = filter.to_owned();
    for noisy in ["lsm_tree", "fjall"] {
        if !filter.contains(noisy) {
            directives.push_str(&format!(",{noisy}=warn"));
        }
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|error| {
        eprintln!("invalid log filter {filter:?} ({error}); using \"info\"");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tidemark")
        .build()?)
}

/// Whether an error is stdout's reader having gone away (`tidemark query ... | head`): the
/// output nobody reads any more is not a failure.
fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:?}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Declared before every runtime, so dropped after them: FoundationDB's network (if a command
    // opened FDB) stops only once no database handle is left.
    let _network = tidemark_server::storage::NetworkScope::new();
    match cli.command {
        Command::Serve(args) => {
            let config = tidemark_server::config::Config::resolve(&args)?;
            if args.print_config {
                print!("{}", config.to_toml());
                return Ok(());
            }
            init_logging(&config.log_level);
            runtime()?.block_on(tidemark_server::serve::run(config))
        }
        Command::Token(command) => runtime()?.block_on(token::run(command)),
        Command::Database(command) => runtime()?.block_on(database::run(command)),
        Command::Write(args) => runtime()?.block_on(import::write(args)),
        Command::Dump(args) => {
            let points = runtime()?.block_on(dump::fetch(&args))?;
            let mut stdout = std::io::stdout().lock();
            for point in points["points"].as_array().into_iter().flatten() {
                writeln!(stdout, "{point}")?;
            }
            Ok(())
        }
        Command::Query(args) => runtime()?.block_on(query::run(args)),
        Command::Retention(args) => {
            let days = |nanos: Option<i64>| {
                nanos.map_or("server default".to_string(), |n| {
                    format!("{:.2} days", n as f64 / 86_400e9)
                })
            };
            let settings = runtime()?.block_on(retention::set(args))?;
            println!(
                "hot: {}, total: {}",
                days(settings.hot_nanos),
                days(settings.total_nanos)
            );
            Ok(())
        }
        Command::Tier(tier::TierCommand::Run(args)) => runtime()?.block_on(tier::run(args)),
        Command::Tier(tier::TierCommand::Status(args)) => runtime()?.block_on(tier::status(args)),
        Command::Compact(args) => {
            let stats = runtime()?.block_on(compact::compact(args))?;
            println!(
                "compacted {} buckets: {} blocks into {} chunks, {} bytes read, {} bytes written",
                stats.buckets,
                stats.blocks_consumed,
                stats.chunks_written,
                stats.bytes_read,
                stats.bytes_written
            );
            Ok(())
        }
        Command::Count(args) => {
            let points = runtime()?.block_on(dump::fetch(&args))?;
            writeln!(std::io::stdout(), "{}", points["count"])?;
            Ok(())
        }
    }
}
