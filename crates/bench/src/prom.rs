//! Prometheus workloads side by side with VictoriaMetrics on the same TSBS cpu-only data:
//! remote_write ingest rate (bodies as Prometheus sends them: snappy protobuf, a few thousand
//! samples from many series each), then a Grafana dashboard's calls (`prom_calls`) in three
//! states of the data: right after ingest, settled after compaction, and a week whose older
//! days are in the cold tier.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use prost::Message;
use tidemark_ingest::remote_write::{LabelProto, SampleProto, TimeSeriesProto, WriteRequestProto};

use crate::cold::day_batches;
use crate::ingest::{
    REMOTE_WRITE_1_HEADERS, Server, ServersArgs, compact_settle, load, send_bodies, start_tidemark,
    start_victoria_metrics, tidemark_binary,
};
use crate::prom_calls::{compare, dashboard};
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
    /// Runs of each call per system.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Days of the third state, loaded ending at the current hour (0: skip it).
    #[arg(long, default_value_t = 7)]
    week_days: usize,
    /// Days of the third state left hot; the older ones are tiered to cold.
    #[arg(long, default_value_t = 2)]
    hot_days: usize,
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
    let elapsed = send_bodies(
        &url,
        REMOTE_WRITE_1_HEADERS,
        Arc::clone(&bodies),
        args.connections,
    )
    .await?;
    let tidemark_rate = samples as f64 / elapsed.as_secs_f64();
    println!(
        "remote_write tidemark: {tidemark_rate:.0} samples/s ({:.1} s, acknowledged after fsync)",
        elapsed.as_secs_f64()
    );

    let vm = match args.servers.no_vm {
        true => None,
        false => start_victoria_metrics(scratch.path())?,
    };
    if let Some(vm) = &vm {
        vm.wait_ready("/health").await?;
        let elapsed = send_bodies(
            &format!("{}/api/v1/write", vm.base),
            REMOTE_WRITE_1_HEADERS,
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
    drop(bodies);

    let end_seconds =
        (DEFAULT_START_NANOS + (args.data.hours * 360) as i64 * INTERVAL_NANOS) / 1_000_000_000;
    let calls = dashboard(false);
    let iterations = args.iterations;
    compare(
        "Right after ingest (nothing compacted)",
        (&tidemark, "bench"),
        vm.as_ref(),
        &calls,
        end_seconds,
        iterations,
    )
    .await?;

    tidemark.stop()?;
    drop(tidemark);
    compact_settle(&binary, &data)?;
    let mut tidemark = start_tidemark(&binary, &data)?;
    tidemark.wait_ready("/health").await?;
    compare(
        "Settled after compaction",
        (&tidemark, "bench"),
        vm.as_ref(),
        &calls,
        end_seconds,
        iterations,
    )
    .await?;

    if args.week_days > 0 {
        tidemark.stop()?;
        drop(tidemark);
        let end_seconds = week_state(&args, &binary, &data, vm.as_ref()).await?;
        let tidemark = start_tidemark(&binary, &data)?;
        tidemark.wait_ready("/health").await?;
        compare(
            &format!(
                "{} days, all but the last {} tiered to cold",
                args.week_days, args.hot_days
            ),
            (&tidemark, "week"),
            vm.as_ref(),
            &dashboard(true),
            end_seconds,
            iterations,
        )
        .await?;
    }
    Ok(())
}

/// Loads `week_days` of data ending at the current hour (line protocol, into Tidemark's
/// database `week` and into VictoriaMetrics), compacts it and tiers all but the last
/// `hot_days` to cold (`tidemark tier run` with that hot retention). Returns the data's end
/// (seconds). Tidemark must be stopped; it is left stopped.
async fn week_state(
    args: &PromArgs,
    binary: &Path,
    data: &Path,
    vm: Option<&Server>,
) -> anyhow::Result<i64> {
    const HOUR_NANOS: i64 = 3_600_000_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as i64;
    let end = now.div_euclid(HOUR_NANOS) * HOUR_NANOS;
    let start = end - args.week_days as i64 * 24 * HOUR_NANOS;
    let tidemark = start_tidemark(binary, data)?;
    tidemark.wait_ready("/health").await?;
    let mut generator = CpuOnly::new(args.data.hosts, args.data.seed, start);
    let started = Instant::now();
    for _ in 0..args.week_days {
        let batches = Arc::new(day_batches(&mut generator));
        load(
            &format!("{}/api/v2/write?bucket=week", tidemark.base),
            Arc::clone(&batches),
            args.connections,
        )
        .await?;
        if let Some(vm) = vm {
            load(&format!("{}/write", vm.base), batches, args.connections).await?;
        }
    }
    if let Some(vm) = vm {
        reqwest::get(format!("{}/internal/force_flush", vm.base)).await?;
    }
    println!(
        "\nweek: {} days x {} hosts loaded into both in {:.1} s",
        args.week_days,
        args.data.hosts,
        started.elapsed().as_secs_f64()
    );
    let mut tidemark = tidemark;
    tidemark.stop()?;
    drop(tidemark);
    compact_settle(binary, data)?;
    let started = Instant::now();
    let tiered = Command::new(binary)
        .args(["tier", "run", "--data-dir"])
        .arg(data)
        .env("TIDEMARK_HOT_RETENTION", format!("{}d", args.hot_days))
        .output()?;
    anyhow::ensure!(
        tiered.status.success(),
        "tier run: {}",
        String::from_utf8_lossy(&tiered.stderr)
    );
    println!(
        "week: tiered all but the last {} days in {:.1} s",
        args.hot_days,
        started.elapsed().as_secs_f64()
    );
    Ok(end / 1_000_000_000)
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
            week_days: 0,
            hot_days: 0,
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
