//! Prometheus workloads side by side with VictoriaMetrics on the same TSBS cpu-only data:
//! remote_write ingest rate (bodies as Prometheus sends them: snappy protobuf, a few thousand
//! samples from many series each), then Grafana-style range queries through each system's
//! Prometheus API (`rate` and `avg by` over 1 h to 24 h).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use prost::Message;
use tidemark_ingest::remote_write::{LabelProto, SampleProto, TimeSeriesProto, WriteRequestProto};

use crate::ingest::{
    ServersArgs, compact_settle, start_tidemark, start_victoria_metrics, tidemark_binary,
};
use crate::tsbs::{CpuOnly, DEFAULT_START_NANOS, DataArgs, FIELDS, INTERVAL_NANOS};

/// Arguments of `tidemark-bench prom`.
#[derive(Debug, Args)]
pub(crate) struct PromArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    servers: ServersArgs,
    /// Samples per remote_write request (Prometheus 2.42's `max_samples_per_send` is 500;
    /// agents often send 2,000–10,000).
    #[arg(long, default_value_t = 2_000)]
    samples_per_request: usize,
    /// Concurrent remote_write connections (Prometheus's shards).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Runs of each query per system.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
}

/// Samples of one series a request carries (consecutive scrapes, as a sender catching up).
const SAMPLES_PER_SERIES: usize = 10;

/// The dataset as snappy-compressed remote_write bodies, and the number of samples.
fn bodies(args: &PromArgs) -> (Vec<Vec<u8>>, usize) {
    let mut generator = CpuOnly::new(args.data.hosts, args.data.seed, DEFAULT_START_NANOS);
    let labels: Vec<Vec<LabelProto>> = generator
        .host_tags()
        .into_iter()
        .flat_map(|tags| {
            FIELDS.iter().map(move |field| {
                let mut labels: Vec<LabelProto> = tags
                    .iter()
                    .map(|(name, value)| LabelProto {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect();
                labels.push(LabelProto {
                    name: "__name__".into(),
                    value: format!("cpu_{field}"),
                });
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                labels
            })
        })
        .collect();
    let rows = args.data.hours * 360;
    let series_per_request = (args.samples_per_request / SAMPLES_PER_SERIES).max(1);
    let mut bodies = Vec::new();
    let mut samples = 0;
    let mut encoder = snap::raw::Encoder::new();
    for _ in (0..rows).step_by(SAMPLES_PER_SERIES) {
        let mut chunk: Vec<Vec<SampleProto>> = vec![Vec::new(); labels.len()];
        for _ in 0..SAMPLES_PER_SERIES {
            let timestamp = generator.step() / 1_000_000;
            for (host, values) in generator.values().enumerate() {
                for (field, value) in values.iter().enumerate() {
                    chunk[host * FIELDS.len() + field].push(SampleProto {
                        value: *value,
                        timestamp,
                    });
                }
            }
        }
        for (first, group) in chunk.chunks(series_per_request).enumerate() {
            let timeseries: Vec<TimeSeriesProto> = group
                .iter()
                .enumerate()
                .map(|(offset, samples)| TimeSeriesProto {
                    labels: labels[first * series_per_request + offset].clone(),
                    samples: samples.clone(),
                    histograms: Vec::new(),
                })
                .collect();
            samples += timeseries.iter().map(|s| s.samples.len()).sum::<usize>();
            let request = WriteRequestProto {
                timeseries,
                metadata: Vec::new(),
            };
            bodies.push(
                encoder
                    .compress_vec(&request.encode_to_vec())
                    .expect("snappy compresses any input"),
            );
        }
    }
    (bodies, samples)
}

/// Sends every body over `connections` connections; returns the elapsed time.
async fn send_all(
    url: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    connections: usize,
) -> anyhow::Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, bodies, next) = (url.to_owned(), Arc::clone(&bodies), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else {
                    return Ok::<_, anyhow::Error>(());
                };
                let response = client
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body.clone())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    anyhow::bail!("{url}: {} {}", response.status(), response.text().await?);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

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
    let started = Instant::now();
    let response = client.post(url).form(&form).send().await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        anyhow::bail!("{url} {}: {status} {body}", query.expr);
    }
    let series = body["data"]["result"].as_array().map_or(0, Vec::len);
    Ok((elapsed, series))
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

pub(crate) async fn run(args: PromArgs) -> anyhow::Result<()> {
    let (bodies, samples) = bodies(&args);
    let bodies = Arc::new(bodies);
    println!(
        "data: {} hosts x {} h of TSBS cpu-only as remote_write: {samples} samples in {} requests \
         ({} samples each), {} connections",
        args.data.hosts,
        args.data.hours,
        bodies.len(),
        args.samples_per_request,
        args.connections
    );
    std::fs::create_dir_all(&args.servers.dir)?;
    let scratch = tempfile::tempdir_in(&args.servers.dir)?;
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    let data = scratch.path().join("tidemark");
    let mut tidemark = start_tidemark(&binary, &data)?;
    tidemark.wait_ready("/health").await?;
    let url = format!("{}/api/v1/write?db=bench", tidemark.base);
    let elapsed = send_all(&url, Arc::clone(&bodies), args.connections).await?;
    let tidemark_rate = samples as f64 / elapsed.as_secs_f64();
    println!(
        "remote_write tidemark: {tidemark_rate:.0} samples/s ({:.1} s, acknowledged after fsync)",
        elapsed.as_secs_f64()
    );
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
        let elapsed = send_all(
            &format!("{}/api/v1/write", vm.base),
            Arc::clone(&bodies),
            args.connections,
        )
        .await?;
        let rate = samples as f64 / elapsed.as_secs_f64();
        println!(
            "remote_write victoria-metrics: {rate:.0} samples/s ({:.1} s); tidemark/vm = {:.2}x",
            elapsed.as_secs_f64(),
            tidemark_rate / rate
        );
        reqwest::get(format!("{}/internal/force_flush", vm.base)).await?;
    }

    let end_seconds =
        (DEFAULT_START_NANOS + (args.data.hours * 360) as i64 * INTERVAL_NANOS) / 1_000_000_000;
    let client = reqwest::Client::new();
    println!("range queries, median of {} runs (ms):", args.iterations);
    for query in &QUERIES {
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut shapes = (0, 0);
        for _ in 0..args.iterations {
            let (elapsed, series) = range_query(
                &client,
                &format!("{}/api/v1/query_range?db=bench", tidemark.base),
                query,
                end_seconds,
            )
            .await?;
            ours.push(elapsed);
            shapes.0 = series;
            if let Some(vm) = &vm {
                let (elapsed, series) = range_query(
                    &client,
                    &format!("{}/api/v1/query_range", vm.base),
                    query,
                    end_seconds,
                )
                .await?;
                theirs.push(elapsed);
                shapes.1 = series;
            }
        }
        let ours = median_ms(ours);
        let line = format!(
            "  {:<58} {:>3} h step {:>3}s: tidemark {ours:>8.1} ({} series)",
            query.expr, query.hours, query.step_seconds, shapes.0
        );
        if theirs.is_empty() {
            println!("{line}");
        } else {
            let theirs = median_ms(theirs);
            println!(
                "{line}  vm {theirs:>8.1} ({} series)  ratio {:.2}x",
                shapes.1,
                ours / theirs
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ServersArgs;

    #[test]
    fn bodies_carry_every_sample_as_prometheus_would_send_it() {
        let args = PromArgs {
            data: DataArgs {
                hosts: 3,
                hours: 1,
                seed: 1,
            },
            servers: ServersArgs {
                no_vm: true,
                dir: ".".into(),
                tidemark_bin: None,
            },
            samples_per_request: 100,
            connections: 1,
            iterations: 1,
        };
        let (bodies, samples) = bodies(&args);
        // 3 hosts x 10 fields x 360 rows.
        assert_eq!(samples, 10_800);
        let mut decoded = 0;
        for body in &bodies {
            let request = tidemark_ingest::remote_write::decode_request(body, 1 << 20)
                .expect("a valid remote_write body");
            assert!(request.timeseries.len() <= 10);
            let decoded_batch = tidemark_ingest::remote_write::to_batch(
                request,
                &tidemark_ingest::IngestLimits::default(),
            );
            assert!(
                decoded_batch.batch.errors.is_empty(),
                "{:?}",
                decoded_batch.batch.errors
            );
            decoded += decoded_batch.batch.points();
        }
        assert_eq!(decoded, samples);
    }
}
