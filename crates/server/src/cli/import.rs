//! `tidemark write FILE`: imports a line protocol file (plain or gzip) into a running server in
//! batches, with a progress bar.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{ServerArgs, error_message};

/// `write` arguments.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The line protocol file (`.gz` or gzip content is decompressed).
    pub file: PathBuf,
    /// Database to write to.
    #[arg(long)]
    pub db: String,
    /// Timestamp precision of the file: ns, us, ms, s, or auto.
    #[arg(long, default_value = "ns")]
    pub precision: String,
    /// Lines per request.
    #[arg(long, default_value_t = 5_000)]
    pub batch_lines: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn open(path: &PathBuf) -> anyhow::Result<(Box<dyn BufRead>, u64)> {
    let mut file = std::fs::File::open(path)
        .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", path.display()))?;
    let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    Ok((reader, size))
}

/// Imports the file; returns the number of lines sent.
pub async fn write(args: WriteArgs) -> anyhow::Result<u64> {
    let (reader, size) = open(&args.file)?;
    let progress = ProgressBar::new(size);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let client = reqwest::Client::new();
    let url = format!("{}/api/v2/write", args.server.url.trim_end_matches('/'));
    let mut batch = String::new();
    let mut in_batch = 0usize;
    let mut sent = 0u64;
    let flush = |batch: String, lines: usize| {
        let request = args
            .server
            .request(client.post(&url))
            .query(&[
                ("bucket", args.db.as_str()),
                ("precision", args.precision.as_str()),
            ])
            .body(batch);
        async move {
            let response = request.send().await?;
            if !response.status().is_success() {
                anyhow::bail!(
                    "the server refused a batch: {}",
                    error_message(response).await
                );
            }
            anyhow::Ok(lines as u64)
        }
    };
    for line in reader.lines() {
        let line = line?;
        progress.inc(line.len() as u64 + 1);
        batch.push_str(&line);
        batch.push('\n');
        in_batch += 1;
        if in_batch >= args.batch_lines.max(1) {
            sent += flush(std::mem::take(&mut batch), in_batch).await?;
            in_batch = 0;
            progress.set_message(format!("{sent} lines"));
        }
    }
    if in_batch > 0 {
        sent += flush(batch, in_batch).await?;
    }
    progress.finish_with_message(format!("{sent} lines written"));
    Ok(sent)
}
