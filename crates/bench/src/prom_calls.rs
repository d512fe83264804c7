//! The Prometheus API calls a Grafana dashboard makes, timed on Tidemark and VictoriaMetrics
//! alternately: range queries, instant queries, `/api/v1/series` with a matcher and label
//! values, each over a fixed window ending at the data's end. Prints one markdown table per
//! data state, ready for `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use crate::ingest::Server;

/// A dashboard query: expression, range and step.
pub(crate) struct DashboardQuery {
    pub(crate) expr: &'static str,
    pub(crate) hours: i64,
    pub(crate) step_seconds: i64,
}

pub(crate) const QUERIES: [DashboardQuery; 6] = [
    DashboardQuery {
        expr: "avg by (hostname) (cpu_usage_user)",
        hours: 1,
        step_seconds: 15,
    },
    DashboardQuery {
        expr: "avg by (hostname) (cpu_usage_user)",
        hours: 24,
        step_seconds: 300,
    },
    DashboardQuery {
        expr: "sum by (region) (rate(cpu_usage_user[5m]))",
        hours: 1,
        step_seconds: 15,
    },
    DashboardQuery {
        expr: "sum by (region) (rate(cpu_usage_user[5m]))",
        hours: 24,
        step_seconds: 300,
    },
    DashboardQuery {
        expr: "rate(cpu_usage_system{hostname=\"host_1\"}[5m])",
        hours: 24,
        step_seconds: 60,
    },
    DashboardQuery {
        expr: "max by (hostname) (max_over_time(cpu_usage_idle[10m]))",
        hours: 6,
        step_seconds: 60,
    },
];

/// Range queries over the whole week of the tiered state (most of it cold).
pub(crate) const WEEK_QUERIES: [DashboardQuery; 2] = [
    DashboardQuery {
        expr: "sum by (region) (rate(cpu_usage_user[5m]))",
        hours: 168,
        step_seconds: 3600,
    },
    DashboardQuery {
        expr: "max_over_time(cpu_usage_system{hostname=\"host_1\"}[1h])",
        hours: 168,
        step_seconds: 600,
    },
];

/// One call of a dashboard.
pub(crate) enum Call {
    Range(&'static DashboardQuery),
    Instant(&'static str),
    /// `/api/v1/series` with one `match[]`, over the last `hours`.
    Series(&'static str, i64),
    /// `/api/v1/label/<name>/values`, over the last `hours`.
    LabelValues(&'static str, i64),
}

impl Call {
    fn describe(&self) -> String {
        match self {
            Self::Range(query) => format!(
                "range `{}` ({} h, step {} s)",
                query.expr, query.hours, query.step_seconds
            ),
            Self::Instant(expr) => format!("instant `{expr}`"),
            Self::Series(matcher, hours) => format!("series `{matcher}` ({hours} h)"),
            Self::LabelValues(name, hours) => format!("label values `{name}` ({hours} h)"),
        }
    }
}

/// The calls of every state; `week` adds the week-long range queries.
pub(crate) fn dashboard(week: bool) -> Vec<Call> {
    let mut calls: Vec<Call> = QUERIES.iter().map(Call::Range).collect();
    if week {
        calls.extend(WEEK_QUERIES.iter().map(Call::Range));
    }
    calls.extend([
        Call::Instant("cpu_usage_user"),
        Call::Instant("max by (hostname) (cpu_usage_user)"),
        Call::Series("cpu_usage_user{region=\"eu-west-1\"}", 6),
        Call::LabelValues("hostname", 6),
    ]);
    calls
}

/// One timed range query; returns the latency and the number of series returned.
pub(crate) async fn range_query(
    client: &reqwest::Client,
    url: &str,
    query: &DashboardQuery,
    end_seconds: i64,
) -> anyhow::Result<(Duration, usize)> {
    let start = end_seconds - query.hours * 3600;
    let form = [
        ("query", query.expr.to_owned()),
        ("start", start.to_string()),
        ("end", end_seconds.to_string()),
        ("step", query.step_seconds.to_string()),
        // VictoriaMetrics caches rollup results; every run must compute.
        ("nocache", "1".to_owned()),
    ];
    timed(client.post(url).form(&form), url).await
}

/// Sends a request; returns its latency and the length of `data` (or `data.result`).
async fn timed(request: reqwest::RequestBuilder, url: &str) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        anyhow::bail!("{url}: {status} {body}");
    }
    let data = &body["data"];
    let items = data
        .as_array()
        .or_else(|| data["result"].as_array())
        .map_or(0, Vec::len);
    Ok((elapsed, items))
}

/// One call against one system; `db` is Tidemark's database parameter.
async fn call(
    client: &reqwest::Client,
    base: &str,
    db: Option<&str>,
    call: &Call,
    end_seconds: i64,
) -> anyhow::Result<(Duration, usize)> {
    let db_param = db.map_or(String::new(), |db| format!("db={db}&"));
    match call {
        Call::Range(query) => {
            let url = format!("{base}/api/v1/query_range?{db_param}");
            range_query(client, &url, query, end_seconds).await
        }
        Call::Instant(expr) => {
            let url = format!("{base}/api/v1/query?{db_param}");
            let form = [
                ("query", (*expr).to_owned()),
                ("time", end_seconds.to_string()),
                ("nocache", "1".to_owned()),
            ];
            timed(client.post(&url).form(&form), &url).await
        }
        Call::Series(matcher, hours) => {
            let url = format!("{base}/api/v1/series?{db_param}");
            let form = [
                ("match[]", (*matcher).to_owned()),
                ("start", (end_seconds - hours * 3600).to_string()),
                ("end", end_seconds.to_string()),
            ];
            timed(client.post(&url).form(&form), &url).await
        }
        Call::LabelValues(name, hours) => {
            let url = format!(
                "{base}/api/v1/label/{name}/values?{db_param}start={}&end={end_seconds}",
                end_seconds - hours * 3600
            );
            timed(client.get(&url), &url).await
        }
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

/// Times every call `iterations` times on each system, alternating, and prints a table with
/// the medians, their ratio and each system's peak RSS over the run.
pub(crate) async fn compare(
    state: &str,
    (tidemark, db): (&Server, &str),
    vm: Option<&Server>,
    calls: &[Call],
    end_seconds: i64,
    iterations: usize,
) -> anyhow::Result<()> {
    tidemark.reset_peak_rss();
    if let Some(vm) = vm {
        vm.reset_peak_rss();
    }
    let client = reqwest::Client::new();
    println!("\n**{state}** (medians of {iterations} runs)\n");
    println!("| call | Tidemark | VictoriaMetrics | ratio | items (T / VM) |");
    println!("|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for each in calls {
        let (mut ours, mut theirs, mut items) = (Vec::new(), Vec::new(), (0, 0));
        for _ in 0..iterations {
            let (elapsed, count) =
                call(&client, &tidemark.base, Some(db), each, end_seconds).await?;
            ours.push(elapsed);
            items.0 = count;
            if let Some(vm) = vm {
                let (elapsed, count) = call(&client, &vm.base, None, each, end_seconds).await?;
                theirs.push(elapsed);
                items.1 = count;
            }
        }
        let ours = median_ms(ours);
        if theirs.is_empty() {
            println!(
                "| {} | {ours:.1} ms | – | – | {} |",
                each.describe(),
                items.0
            );
        } else {
            let theirs = median_ms(theirs);
            worst = worst.max(ours / theirs);
            println!(
                "| {} | {ours:.1} ms | {theirs:.1} ms | {:.2}× | {} / {} |",
                each.describe(),
                ours / theirs,
                items.0,
                items.1
            );
        }
    }
    let rss = |server: &Server| server.peak_rss_bytes() as f64 / 1e6;
    match vm {
        Some(vm) => println!(
            "\npeak RSS over the calls: Tidemark {:.0} MB, VictoriaMetrics {:.0} MB ({:.2}×); \
             worst ratio {worst:.2}×",
            rss(tidemark),
            rss(vm),
            rss(tidemark) / rss(vm)
        ),
        None => println!(
            "\npeak RSS over the calls: Tidemark {:.0} MB",
            rss(tidemark)
        ),
    }
    Ok(())
}
