//! `tidemark`: the time-series engine's one binary. See the `tidemark_server` library.

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = tidemark_server::config::Config::resolve(&args)?;
            if args.print_config {
                print!("{}", config.to_toml());
                return Ok(());
            }
            init_logging(&config.log_level);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("tidemark")
                .build()?;
            runtime.block_on(tidemark_server::serve::run(config))
        }
    }
}
