//! What `tidemark write` tells its user: each refusal as it happens, then a summary with the
//! commands that re-send refused batches or resume a stopped import.

use super::{Batch, WriteArgs};

/// What became of one batch.
pub(super) enum Outcome {
    /// Every line written.
    Written(u64),
    /// Some or all lines refused.
    Refused(Refusal),
    /// The server refuses every batch (authentication, database, overload) or cannot be
    /// reached: the import stops.
    Fatal(String),
}

/// A refused batch: its lines in the file, the server's message, and the refused lines (file
/// line number, reason and text) when the server named them; the other lines were written.
pub(super) struct Refusal {
    pub(super) first: u64,
    pub(super) last: u64,
    pub(super) message: String,
    pub(super) lines: Vec<(u64, String)>,
}

impl Outcome {
    /// Reports a refusal or a stop at once (the summary repeats only the ranges).
    pub(super) fn print_now(&self, batch: &Batch, shown: usize) {
        match self {
            Self::Written(_) => {}
            Self::Refused(refusal) => {
                eprintln!(
                    "lines {}-{} refused: {}",
                    refusal.first, refusal.last, refusal.message
                );
                for (line, reason) in refusal.lines.iter().take(shown) {
                    eprintln!("  line {line}: {reason}");
                }
                if refusal.lines.len() > shown {
                    eprintln!("  and {} more", refusal.lines.len() - shown);
                }
            }
            Self::Fatal(message) => {
                eprintln!(
                    "lines {}-{} not written: {message}",
                    batch.first,
                    batch.last()
                );
            }
        }
    }
}

/// The whole import's outcome.
#[derive(Default)]
pub(super) struct Summary {
    /// Lines written (refused lines of a partly written batch excluded).
    pub(super) written: u64,
    /// Batches sent.
    pub(super) batches: u64,
    /// Batches refused in whole or part.
    pub(super) refused: Vec<Refusal>,
    /// Why the import stopped before the end of the file.
    pub(super) stopped: Option<String>,
    /// When it stopped: the lines before this one are done (written or reported).
    pub(super) resume_from: Option<u64>,
}

impl Summary {
    /// Records a batch's outcome; false when the import stops here.
    pub(super) fn record(
        &mut self,
        first: u64,
        lines: u64,
        outcome: Outcome,
        stop_on_error: bool,
    ) -> bool {
        match outcome {
            Outcome::Written(written) => {
                self.batches += 1;
                self.written += written;
                true
            }
            Outcome::Refused(refusal) => {
                self.batches += 1;
                if !refusal.lines.is_empty() {
                    self.written += lines.saturating_sub(refusal.lines.len() as u64);
                }
                self.refused.push(refusal);
                if stop_on_error {
                    self.stopped =
                        Some("stopped at the first refused batch (--stop-on-error)".into());
                    self.resume_from = Some(first - 1);
                }
                !stop_on_error
            }
            Outcome::Fatal(message) => {
                self.stopped = Some(message);
                self.resume_from = Some(first - 1);
                false
            }
        }
    }

    /// Prints the summary to stderr.
    pub(super) fn print(&self, args: &WriteArgs) {
        eprintln!(
            "wrote {} lines in {} batch(es); {} batch(es) refused",
            self.written,
            self.batches,
            self.refused.len()
        );
        for refusal in &self.refused {
            eprintln!(
                "  lines {}-{}: {}",
                refusal.first, refusal.last, refusal.message
            );
        }
        if let Some(refusal) = self.refused.first() {
            let lines = refusal.last - refusal.first + 1;
            eprintln!(
                "to re-send a refused batch once fixed (writes are idempotent), e.g. the first:\n  {}",
                command(args, refusal.first - 1, Some(lines))
            );
        }
        if let (Some(reason), Some(done)) = (&self.stopped, self.resume_from) {
            eprintln!("the import stopped at line {}: {reason}", done + 1);
            eprintln!("to resume from there:\n  {}", command(args, done, None));
        }
    }

    /// Success only when every line was written.
    pub(super) fn verdict(&self) -> anyhow::Result<()> {
        if let Some(done) = self.resume_from {
            anyhow::bail!("the import stopped at line {}", done + 1);
        }
        if !self.refused.is_empty() {
            anyhow::bail!(
                "{} of {} batches were refused",
                self.refused.len(),
                self.batches
            );
        }
        Ok(())
    }
}

/// The command that imports `args.file` again, skipping `skip` lines and sending at most
/// `max` (a token stays out of it: give it again, or through `TIDEMARK_TOKEN`).
fn command(args: &WriteArgs, skip: u64, max: Option<u64>) -> String {
    let mut words: Vec<String> = vec![
        "tidemark".into(),
        "write".into(),
        quote(&args.file.to_string_lossy()),
        "--db".into(),
        quote(&args.db),
    ];
    let mut flag = |name: &str, value: String| {
        words.push(name.into());
        words.push(quote(&value));
    };
    if args.precision != "ns" {
        flag("--precision", args.precision.clone());
    }
    if args.batch_lines != 5_000 {
        flag("--batch-lines", args.batch_lines.to_string());
    }
    if let Some(url) = &args.server.url {
        flag("--url", url.clone());
    }
    if let Some(config) = &args.server.config {
        flag("--config", config.to_string_lossy().into_owned());
    }
    flag("--skip-lines", skip.to_string());
    if let Some(max) = max {
        flag("--max-lines", max.to_string());
    }
    if args.stop_on_error {
        words.push("--stop-on-error".into());
    }
    words.join(" ")
}

/// A word as a POSIX shell reads it back.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&byte));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_the_shell_would_split() {
        assert_eq!(quote("data.lp"), "data.lp");
        assert_eq!(quote("my file.lp"), "'my file.lp'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
