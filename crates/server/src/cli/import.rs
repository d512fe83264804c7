//! `tidemark write FILE`: imports a line protocol file (plain or gzip) into a running server in
//! batches, with a progress bar.
//!
//! Each batch goes to `/api/v3/write_lp` with `accept_partial=true`: its good lines are written
//! and the server names the bad ones, which are reported with the file's own line numbers. A
//! refused batch does not stop the import unless `--stop-on-error` says so; the summary lists
//! every refused batch with its line range and prints the command that re-sends it, or that
//! resumes an import that stopped (`--skip-lines N`, `--max-lines N`: writes are idempotent,
//! so sending a line twice is harmless).
//!
//! The progress bar counts bytes of the file as stored against the file's size: for a gzip file
//! both are compressed bytes, since the decompressed size is unknown until the end.

mod report;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::StatusCode;

use super::ServerArgs;
use report::{Outcome, Refusal, Summary};

/// `write` arguments.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The line protocol file (gzip content is decompressed).
    pub file: PathBuf,
    /// Database to write to.
    #[arg(long)]
    pub db: String,
    /// Timestamp precision of the file: ns, us, ms, s, or auto.
    #[arg(long, default_value = "ns")]
    pub precision: String,
    /// Lines per request.
    #[arg(long, default_value_t = 5_000)]
    pub batch_lines: u64,
    /// Skip the file's first N lines (to resume an import: its summary prints the value).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub skip_lines: u64,
    /// Send at most N lines after the skipped ones (e.g. to re-send one refused batch).
    #[arg(long, value_name = "N")]
    pub max_lines: Option<u64>,
    /// Stop at the first refused batch instead of going on with the next ones.
    #[arg(long)]
    pub stop_on_error: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Attempts of a batch the server answers 503 (overloaded: retry) before the import stops.
const ATTEMPTS: u32 = 5;
/// Rejected lines of one batch printed as they happen (the server lists up to 100).
const SHOWN_LINES: usize = 5;

/// Lines read from the file, not yet sent.
struct Batch {
    body: Vec<u8>,
    /// File line number of the first line (1-based).
    first: u64,
    lines: u64,
}

impl Batch {
    fn starting_at(first: u64) -> Self {
        Self {
            body: Vec::new(),
            first,
            lines: 0,
        }
    }

    fn last(&self) -> u64 {
        self.first + self.lines.saturating_sub(1)
    }
}

/// Opens the file, reading it through the progress bar (gzip detected by its magic bytes).
fn open(path: &Path, progress: &ProgressBar) -> anyhow::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path)
        .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", path.display()))?;
    progress.set_length(file.metadata().map(|meta| meta.len()).unwrap_or(0));
    let mut raw = BufReader::new(progress.wrap_read(file));
    let gzip = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(raw)))
    } else {
        Box::new(raw)
    })
}

/// Sends batches to one server.
struct Sender<'a> {
    args: &'a WriteArgs,
    client: reqwest::Client,
    url: String,
}

impl Sender<'_> {
    /// Sends one batch, retrying while the server is overloaded.
    async fn send(&self, batch: &Batch) -> Outcome {
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            let request = self
                .args
                .server
                .request(self.client.post(&self.url))
                .query(&[
                    ("db", self.args.db.as_str()),
                    ("precision", self.args.precision.as_str()),
                    ("accept_partial", "true"),
                ])
                .body(batch.body.clone());
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => return Outcome::Fatal(format!("cannot reach the server: {error}")),
            };
            let status = response.status();
            if status.is_success() {
                return Outcome::Written(batch.lines);
            }
            if status == StatusCode::SERVICE_UNAVAILABLE && attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
                continue;
            }
            return self.refusal(batch, response).await;
        }
        Outcome::Fatal("the server stayed overloaded (503)".into())
    }

    /// What a refusal means: bad lines (the rest was written), the whole batch, or every batch
    /// (no permission, no such database, overloaded).
    async fn refusal(&self, batch: &Batch, response: reqwest::Response) -> Outcome {
        let status = response.status();
        let every_batch = matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::NOT_FOUND
                | StatusCode::SERVICE_UNAVAILABLE
        );
        let body = response.text().await.unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let message = match json["error"].as_str() {
            Some(error) => format!("{status}: {error}"),
            None => format!("{status}: {}", body.trim()),
        };
        if every_batch {
            return Outcome::Fatal(message);
        }
        let lines: Vec<(u64, String)> = json["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|line| {
                let number = line["line_number"].as_u64().unwrap_or(1);
                let text = format!(
                    "{} ({:?})",
                    line["error_message"].as_str().unwrap_or_default(),
                    line["original_line"].as_str().unwrap_or_default()
                );
                (batch.first + number - 1, text)
            })
            .collect();
        Outcome::Refused(Refusal {
            first: batch.first,
            last: batch.last(),
            message,
            lines,
        })
    }
}

/// Imports the file. Prints a summary; fails when any line was refused or the import stopped.
pub async fn write(args: WriteArgs) -> anyhow::Result<()> {
    let progress = ProgressBar::new(0);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let reader = open(&args.file, &progress)?;
    let sender = Sender {
        args: &args,
        client: reqwest::Client::new(),
        url: format!("{}/api/v3/write_lp", args.server.base_url()?),
    };
    let mut summary = Summary::default();
    let result = import(reader, &sender, &progress, &mut summary).await;
    progress.finish_and_clear();
    summary.print(&args);
    if let Err(error) = result {
        anyhow::bail!(
            "cannot read {} (line {}): {error}",
            args.file.display(),
            summary.resume_from.unwrap_or_default() + 1
        );
    }
    summary.verdict()
}

/// Reads and sends every batch, recording the outcome in `summary`; an error is a read error.
async fn import(
    mut reader: Box<dyn BufRead>,
    sender: &Sender<'_>,
    progress: &ProgressBar,
    summary: &mut Summary,
) -> std::io::Result<()> {
    let args = sender.args;
    let end = args
        .max_lines
        .map(|max| args.skip_lines.saturating_add(max));
    let mut number = 0u64;
    let mut line = Vec::new();
    let mut batch = Batch::starting_at(args.skip_lines + 1);
    loop {
        if end.is_some_and(|end| number >= end) {
            break;
        }
        line.clear();
        let read = reader.read_until(b'\n', &mut line);
        let read = match read {
            Ok(read) => read,
            Err(error) => {
                summary.resume_from = Some(batch.first - 1);
                return Err(error);
            }
        };
        if read == 0 {
            break;
        }
        number += 1;
        if number <= args.skip_lines {
            continue;
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        batch.body.extend_from_slice(&line);
        batch.lines += 1;
        if batch.lines >= args.batch_lines.max(1) {
            let next = Batch::starting_at(number + 1);
            let sent = std::mem::replace(&mut batch, next);
            if !send(sender, &sent, progress, summary).await {
                return Ok(());
            }
        }
    }
    if batch.lines > 0 {
        send(sender, &batch, progress, summary).await;
    }
    Ok(())
}

/// Sends a batch and records its outcome; false when the import stops here.
async fn send(
    sender: &Sender<'_>,
    batch: &Batch,
    progress: &ProgressBar,
    summary: &mut Summary,
) -> bool {
    let outcome = sender.send(batch).await;
    progress.suspend(|| outcome.print_now(batch, SHOWN_LINES));
    let go_on = summary.record(batch.first, batch.lines, outcome, sender.args.stop_on_error);
    progress.set_message(format!("{} lines written", summary.written));
    go_on
}
