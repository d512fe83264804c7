//! The query benchmark: TSBS cpu-only query types over SQL on Tidemark, next to their MetricsQL
//! equivalents on VictoriaMetrics, on the same data loaded into both, side by side in one run.
//!
//! Tidemark's data is compacted and settled first (the state of any data older than an hour).
//! Each query type runs `iterations` times with seeded random hosts and times, alternating
//! between the servers; VictoriaMetrics' result cache is bypassed (`nocache=1`), Tidemark has
//! none. Latency is the whole HTTP exchange, body included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::ingest::{
    ServersArgs, compact_settle, load, start_tidemark, start_victoria_metrics, tidemark_binary,
};
use crate::tsbs::{self, DEFAULT_START_NANOS, INTERVAL_NANOS};

/// `query` arguments.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    data: tsbs::DataArgs,
    /// Runs of each query type (each with its own random parameters).
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    #[command(flatten)]
    servers: ServersArgs,
}

const HOUR: i64 = 3_600_000_000_000;
const MINUTE: i64 = 60_000_000_000;

/// One instance of a query type: the SQL, and the MetricsQL range query doing the same work.
pub(crate) struct Instance {
    pub(crate) sql: String,
    pub(crate) promql: String,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: &'static str,
}

fn rfc3339(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) struct Generator {
    pub(crate) rng: StdRng,
    pub(crate) hosts: usize,
    pub(crate) data_end: i64,
}

impl Generator {
    fn host(&mut self) -> String {
        format!("host_{}", self.rng.random_range(0..self.hosts))
    }

    /// A window of `width` ns inside the data, aligned to the minute.
    fn window(&mut self, width: i64) -> (i64, i64) {
        let latest = (self.data_end - width).max(DEFAULT_START_NANOS);
        let minutes = (latest - DEFAULT_START_NANOS) / MINUTE;
        let start = DEFAULT_START_NANOS + self.rng.random_range(0..=minutes) * MINUTE;
        (start, start + width)
    }

    pub(crate) fn instance(&mut self, kind: &str) -> Instance {
        match kind {
            "single-groupby-1-1-1" => {
                let host = self.host();
                let (start, end) = self.window(HOUR);
                Instance {
                    sql: format!(
                        "SELECT date_bin(INTERVAL '1 minute', time) AS minute, max(usage_user) \
                         FROM cpu WHERE hostname = '{host}' AND time >= '{}' AND time < '{}' \
                         GROUP BY minute ORDER BY minute",
                        rfc3339(start),
                        rfc3339(end)
                    ),
                    promql: format!("max_over_time(cpu_usage_user{{hostname=\"{host}\"}}[1m])"),
                    start,
                    end,
                    step: "60s",
                }
            }
            "single-groupby-5-1-12" => {
                let host = self.host();
                let (start, end) = self.window(12 * HOUR);
                let fields = &tsbs::FIELDS[..5];
                let maxes: Vec<String> = fields.iter().map(|f| format!("max({f})")).collect();
                Instance {
                    sql: format!(
                        "SELECT date_bin(INTERVAL '1 minute', time) AS minute, {} FROM cpu \
                         WHERE hostname = '{host}' AND time >= '{}' AND time < '{}' \
                         GROUP BY minute ORDER BY minute",
                        maxes.join(", "),
                        rfc3339(start),
                        rfc3339(end)
                    ),
                    promql: format!(
                        "max_over_time({{__name__=~\"cpu_({})\",hostname=\"{host}\"}}[1m])",
                        fields.join("|")
                    ),
                    start,
                    end,
                    step: "60s",
                }
            }
            "double-groupby-1" => {
                let (start, end) = self.window(12 * HOUR);
                Instance {
                    sql: format!(
                        "SELECT date_bin(INTERVAL '1 hour', time) AS hour, hostname, avg(usage_user) \
                         FROM cpu WHERE time >= '{}' AND time < '{}' GROUP BY hour, hostname \
                         ORDER BY hour, hostname",
                        rfc3339(start),
                        rfc3339(end)
                    ),
                    promql: "avg_over_time(cpu_usage_user[1h])".into(),
                    start,
                    end,
                    step: "3600s",
                }
            }
            "high-cpu-1" => {
                let host = self.host();
                let (start, end) = self.window(12 * HOUR);
                Instance {
                    sql: format!(
                        "SELECT * FROM cpu WHERE usage_user > 90.0 AND hostname = '{host}' \
                         AND time >= '{}' AND time < '{}'",
                        rfc3339(start),
                        rfc3339(end)
                    ),
                    promql: format!("cpu_usage_user{{hostname=\"{host}\"}} > 90"),
                    start,
                    end,
                    step: "10s",
                }
            }
            "lastpoint" => Instance {
                sql: "SELECT DISTINCT ON (hostname) * FROM cpu ORDER BY hostname, time DESC".into(),
                promql: "last_over_time({__name__=~\"cpu_.*\"}[1h])".into(),
                start: self.data_end,
                end: self.data_end,
                step: "60s",
            },
            "groupby-orderby-limit" => {
                let (_, end) = self.window(HOUR);
                Instance {
                    sql: format!(
                        "SELECT date_bin(INTERVAL '1 minute', time) AS minute, max(usage_user) \
                         FROM cpu WHERE time < '{}' GROUP BY minute ORDER BY minute DESC LIMIT 5",
                        rfc3339(end)
                    ),
                    promql: "max(max_over_time(cpu_usage_user[1m]))".into(),
                    start: end - 5 * MINUTE,
                    end,
                    step: "60s",
                }
            }
            other => unreachable!("unknown query type {other}"),
        }
    }
}

/// The TSBS query types, in TSBS's names.
pub(crate) const QUERY_TYPES: [&str; 6] = [
    "single-groupby-1-1-1",
    "single-groupby-5-1-12",
    "double-groupby-1",
    "high-cpu-1",
    "lastpoint",
    "groupby-orderby-limit",
];

pub(crate) async fn timed(request: reqwest::RequestBuilder) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        anyhow::bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok((elapsed, body.len()))
}

pub(crate) fn summary(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(samples[0]), ms(samples[samples.len() / 2]))
}

pub(crate) async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let rows_per_host = args.data.hours * 360;
    let batches = Arc::new(tsbs::batches(
        args.data.hosts,
        args.data.seed,
        rows_per_host,
        5_000,
    ));
    let data_end = DEFAULT_START_NANOS + rows_per_host as i64 * INTERVAL_NANOS;
    println!(
        "data: {} hosts x {} h of TSBS cpu-only (seed {}); {} runs per query type",
        args.data.hosts, args.data.hours, args.data.seed, args.iterations
    );
    std::fs::create_dir_all(&args.servers.dir)?;
    let scratch = tempfile::tempdir_in(&args.servers.dir)?;
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    let data = scratch.path().join("tidemark");
    let mut tidemark = start_tidemark(&binary, &data)?;
    tidemark.wait_ready("/health").await?;
    load(
        &format!("{}/api/v2/write?bucket=bench", tidemark.base),
        Arc::clone(&batches),
        4,
    )
    .await?;
    tidemark.stop()?;
    drop(tidemark);
    compact_settle(&binary, &data)?;
    let tidemark = start_tidemark(&binary, &data)?;
    tidemark.wait_ready("/health").await?;
    let vm = match args.servers.no_vm {
        true => None,
        false => start_victoria_metrics(scratch.path())?,
    };
    if let Some(vm) = &vm {
        vm.wait_ready("/health").await?;
        load(&format!("{}/write", vm.base), Arc::clone(&batches), 4).await?;
        reqwest::get(format!("{}/internal/force_flush", vm.base)).await?;
        // Let VictoriaMetrics finish its background merges before measuring.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let client = reqwest::Client::new();
    println!(
        "{:<24} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "query type", "tm min ms", "tm median", "vm min ms", "vm median", "tm/vm med"
    );
    for kind in QUERY_TYPES {
        let mut generator = Generator {
            rng: StdRng::seed_from_u64(args.data.seed ^ 0x9e37_79b9),
            hosts: args.data.hosts,
            data_end,
        };
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        // One warm-up run each: the first query of a type pays for cold caches on both sides.
        for iteration in 0..=args.iterations {
            let instance = generator.instance(kind);
            let request = client
                .get(format!("{}/api/v3/query_sql", tidemark.base))
                .query(&[
                    ("db", "bench"),
                    ("q", instance.sql.as_str()),
                    ("format", "json"),
                ]);
            let (elapsed, _) = timed(request).await?;
            if iteration > 0 {
                ours.push(elapsed);
            }
            if let Some(vm) = &vm {
                let request = client
                    .get(format!("{}/api/v1/query_range", vm.base))
                    .query(&[
                        ("query", instance.promql.as_str()),
                        ("start", &(instance.start / 1_000_000_000).to_string()),
                        ("end", &(instance.end / 1_000_000_000).to_string()),
                        ("step", instance.step),
                        ("nocache", "1"),
                    ]);
                let (elapsed, _) = timed(request).await?;
                if iteration > 0 {
                    theirs.push(elapsed);
                }
            }
        }
        let (our_min, our_median) = summary(ours);
        if theirs.is_empty() {
            println!("{kind:<24} {our_min:>12.2} {our_median:>12.2}");
        } else {
            let (their_min, their_median) = summary(theirs);
            println!(
                "{kind:<24} {our_min:>12.2} {our_median:>12.2} {their_min:>12.2} {their_median:>12.2} {:>9.2}x",
                our_median / their_median
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(DEFAULT_START_NANOS), "2016-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_261_000_000_000), "2024-01-01T00:01:01Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn every_query_type_has_an_instance_inside_the_data() {
        let mut generator = Generator {
            rng: StdRng::seed_from_u64(1),
            hosts: 10,
            data_end: DEFAULT_START_NANOS + 24 * HOUR,
        };
        for kind in QUERY_TYPES {
            let instance = generator.instance(kind);
            assert!(instance.start >= DEFAULT_START_NANOS - HOUR, "{kind}");
            assert!(instance.end <= DEFAULT_START_NANOS + 24 * HOUR, "{kind}");
            assert!(instance.sql.contains("FROM cpu"), "{kind}");
        }
    }
}
