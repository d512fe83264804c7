//! Push-protocol ingest side by side: the same TSBS cpu-only samples sent to one Tidemark as
//! remote_write 1.0, remote_write 2.0 and OTLP/HTTP protobuf, each into its own database, with
//! the requests shaped alike (the same series and samples per request, as a sender catching up
//! sends them). Prints samples/s per protocol and the bytes on the wire, then checks that each
//! database holds every sample.
//!
//! The OTLP requests carry one gauge per TSBS field (`cpu_usage_user`, ...) with the host tags
//! as point attributes and no resource attributes, so their Prometheus translation names the
//! very series remote_write names (and adds no `target_info`).

use std::sync::Arc;

use clap::Args;
use prost::Message;
use tidemark_ingest::otlp::proto as otlp;
use tidemark_ingest::remote_write::{LabelProto, SampleProto, TimeSeriesProto, WriteRequestProto};
use tidemark_ingest::remote_write_v2 as v2;

use crate::ingest::{
    REMOTE_WRITE_1_HEADERS, ServersArgs, send_bodies, start_tidemark, tidemark_binary,
};
use crate::tsbs::{CpuOnly, DEFAULT_START_NANOS, DataArgs, FIELDS};

/// Arguments of `tidemark-bench otlp`.
#[derive(Debug, Args)]
pub(crate) struct OtlpArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    servers: ServersArgs,
    /// Samples per request (as `tidemark-bench prom`).
    #[arg(long, default_value_t = 2_000)]
    samples_per_request: usize,
    /// Concurrent connections per protocol.
    #[arg(long, default_value_t = 4)]
    connections: usize,
}

/// Samples of one series a request carries (as `tidemark-bench prom`).
const SAMPLES_PER_SERIES: usize = 10;

/// One request's worth of data: per series, its labels (index into the series table) and
/// `(ms, value)` samples.
type Chunk = Vec<(usize, Vec<(i64, f64)>)>;

/// The series table (labels with `__name__`, sorted by name) and the requests' data.
fn dataset(args: &OtlpArgs) -> (Vec<Vec<(String, String)>>, Vec<Chunk>) {
    let mut generator = CpuOnly::new(args.data.hosts, args.data.seed, DEFAULT_START_NANOS);
    let series: Vec<Vec<(String, String)>> = generator
        .host_tags()
        .into_iter()
        .flat_map(|tags| {
            FIELDS.iter().map(move |field| {
                let mut labels = tags.clone();
                labels.push(("__name__".into(), format!("cpu_{field}")));
                labels.sort();
                labels
            })
        })
        .collect();
    let per_request = (args.samples_per_request / SAMPLES_PER_SERIES).max(1);
    let mut chunks = Vec::new();
    for _ in (0..args.data.hours * 360).step_by(SAMPLES_PER_SERIES) {
        let mut samples: Vec<Vec<(i64, f64)>> = vec![Vec::new(); series.len()];
        for _ in 0..SAMPLES_PER_SERIES {
            let ms = generator.step() / 1_000_000;
            for (host, values) in generator.values().enumerate() {
                for (field, value) in values.iter().enumerate() {
                    samples[host * FIELDS.len() + field].push((ms, *value));
                }
            }
        }
        let indexed: Vec<(usize, Vec<(i64, f64)>)> = samples.into_iter().enumerate().collect();
        chunks.extend(indexed.chunks(per_request).map(<[_]>::to_vec));
    }
    (series, chunks)
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(bytes)
        .expect("snappy compresses any input")
}

fn remote_write_1(series: &[Vec<(String, String)>], chunk: &Chunk) -> Vec<u8> {
    let timeseries = chunk
        .iter()
        .map(|(index, samples)| TimeSeriesProto {
            labels: series[*index]
                .iter()
                .map(|(name, value)| LabelProto {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| SampleProto { value, timestamp })
                .collect(),
            histograms: Vec::new(),
        })
        .collect();
    let request = WriteRequestProto {
        timeseries,
        metadata: Vec::new(),
    };
    snappy(&request.encode_to_vec())
}

fn remote_write_2(series: &[Vec<(String, String)>], chunk: &Chunk) -> Vec<u8> {
    let mut symbols = vec![String::new()];
    let mut positions = std::collections::HashMap::new();
    let mut reference = |text: &str| -> u32 {
        *positions.entry(text.to_owned()).or_insert_with(|| {
            symbols.push(text.to_owned());
            symbols.len() as u32 - 1
        })
    };
    let timeseries = chunk
        .iter()
        .map(|(index, samples)| v2::TimeSeries {
            labels_refs: series[*index]
                .iter()
                .flat_map(|(name, value)| [reference(name), reference(value)])
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| v2::Sample {
                    value,
                    timestamp,
                    start_timestamp: 0,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let request = v2::Request {
        symbols,
        timeseries,
    };
    snappy(&request.encode_to_vec())
}

fn otlp_protobuf(series: &[Vec<(String, String)>], chunk: &Chunk) -> Vec<u8> {
    let mut metrics: Vec<otlp::Metric> = Vec::new();
    for (index, samples) in chunk {
        let labels = &series[*index];
        let name = labels
            .iter()
            .find(|(label, _)| label == "__name__")
            .map_or("", |(_, value)| value.as_str());
        let attributes: Vec<otlp::KeyValue> = labels
            .iter()
            .filter(|(label, _)| label != "__name__")
            .map(|(label, value)| otlp::KeyValue::string(label, value))
            .collect();
        let points = samples.iter().map(|&(ms, value)| otlp::NumberDataPoint {
            attributes: attributes.clone(),
            time_unix_nano: ms as u64 * 1_000_000,
            value: Some(otlp::number_data_point::Value::AsDouble(value)),
            ..Default::default()
        });
        // One metric per name, as an SDK groups its points.
        let position = metrics.iter().position(|metric| metric.name == name);
        let metric = match position {
            Some(position) => &mut metrics[position],
            None => {
                metrics.push(otlp::Metric {
                    name: name.to_owned(),
                    data: Some(otlp::metric::Data::Gauge(otlp::Gauge::default())),
                    ..Default::default()
                });
                metrics.last_mut().expect("just pushed")
            }
        };
        if let Some(otlp::metric::Data::Gauge(gauge)) = &mut metric.data {
            gauge.data_points.extend(points);
        }
    }
    let request = otlp::ExportMetricsServiceRequest {
        resource_metrics: vec![otlp::ResourceMetrics {
            scope_metrics: vec![otlp::ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    request.encode_to_vec()
}

/// One protocol: its name, where it posts, its headers and its bodies.
struct Protocol {
    name: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    bodies: Vec<Vec<u8>>,
}

/// Rows of every `cpu_*` measurement in `db`.
async fn stored(base: &str, db: &str) -> anyhow::Result<u64> {
    let mut total = 0;
    for field in FIELDS {
        let response = reqwest::Client::new()
            .get(format!("{base}/api/v3/query_sql"))
            .query(&[
                ("db", db),
                ("q", &format!("SELECT count(*) AS n FROM cpu_{field}")),
            ])
            .send()
            .await?;
        let rows: serde_json::Value = response.json().await?;
        total += rows[0]["n"].as_u64().unwrap_or(0);
    }
    Ok(total)
}

pub(crate) async fn run(args: OtlpArgs) -> anyhow::Result<()> {
    let (series, chunks) = dataset(&args);
    let samples: usize = chunks
        .iter()
        .flat_map(|chunk| chunk.iter().map(|(_, samples)| samples.len()))
        .sum();
    let protocols = [
        Protocol {
            name: "remote_write 1.0",
            path: "/api/v1/write?db=bench_rw1",
            headers: REMOTE_WRITE_1_HEADERS,
            bodies: chunks.iter().map(|c| remote_write_1(&series, c)).collect(),
        },
        Protocol {
            name: "remote_write 2.0",
            path: "/api/v1/write?db=bench_rw2",
            headers: &[
                ("Content-Encoding", "snappy"),
                (
                    "Content-Type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                ),
                ("X-Prometheus-Remote-Write-Version", "2.0.0"),
            ],
            bodies: chunks.iter().map(|c| remote_write_2(&series, c)).collect(),
        },
        Protocol {
            name: "OTLP/HTTP protobuf",
            path: "/v1/metrics?db=bench_otlp",
            headers: &[("Content-Type", "application/x-protobuf")],
            bodies: chunks.iter().map(|c| otlp_protobuf(&series, c)).collect(),
        },
    ];
    println!(
        "data: {} hosts x {} h of TSBS cpu-only: {samples} samples in {} requests per protocol \
         ({} samples each), {} connections",
        args.data.hosts,
        args.data.hours,
        chunks.len(),
        args.samples_per_request,
        args.connections
    );
    std::fs::create_dir_all(&args.servers.dir)?;
    let scratch = tempfile::tempdir_in(&args.servers.dir)?;
    let binary = tidemark_binary(args.servers.tidemark_bin.as_deref())?;
    let tidemark = start_tidemark(&binary, &scratch.path().join("tidemark"))?;
    tidemark.wait_ready("/health").await?;
    let mut baseline = None;
    for protocol in protocols {
        let wire: usize = protocol.bodies.iter().map(Vec::len).sum();
        let url = format!("{}{}", tidemark.base, protocol.path);
        let bodies = Arc::new(protocol.bodies);
        let elapsed = send_bodies(&url, protocol.headers, bodies, args.connections).await?;
        let rate = samples as f64 / elapsed.as_secs_f64();
        let relative = *baseline.get_or_insert(rate);
        println!(
            "{}: {rate:.0} samples/s ({:.1} s, {:.2} bytes/sample on the wire, {:.2}x remote_write \
             1.0; acknowledged after fsync)",
            protocol.name,
            elapsed.as_secs_f64(),
            wire as f64 / samples as f64,
            rate / relative,
        );
    }
    for db in ["bench_rw1", "bench_rw2", "bench_otlp"] {
        let rows = stored(&tidemark.base, db).await?;
        anyhow::ensure!(
            rows == samples as u64,
            "{db} holds {rows} samples, {samples} were sent"
        );
    }
    println!("check: every database holds all {samples} samples");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidemark_ingest::IngestLimits;
    use tidemark_ingest::remote_write::NameValidation;

    /// The three encodings of one request decode to the same rows.
    #[test]
    fn the_three_encodings_carry_the_same_rows() {
        let args = OtlpArgs {
            data: DataArgs {
                hosts: 3,
                hours: 1,
                seed: 7,
            },
            servers: ServersArgs {
                no_vm: true,
                dir: ".".into(),
                tidemark_bin: None,
            },
            samples_per_request: 100,
            connections: 1,
        };
        let (series, chunks) = dataset(&args);
        let limits = IngestLimits::default();
        let chunk = &chunks[0];
        let from_v1 = tidemark_ingest::remote_write::to_batch(
            tidemark_ingest::remote_write::decode_request(&remote_write_1(&series, chunk), 1 << 24)
                .unwrap(),
            &limits,
        );
        let v2_request = v2::decode_request(&remote_write_2(&series, chunk), 1 << 24).unwrap();
        let from_v2 = v2::to_batch(&v2_request, &limits, NameValidation::Legacy, 1 << 30).unwrap();
        assert_eq!(from_v2.batch, from_v1.batch);
        let request =
            tidemark_ingest::otlp::decode_protobuf(&otlp_protobuf(&series, chunk)).unwrap();
        let options = tidemark_ingest::otlp::OtlpOptions::default();
        let from_otlp =
            tidemark_ingest::otlp::translate(&request, &options, &limits, 1 << 30).unwrap();
        assert!(from_otlp.rejected.is_empty());
        // OTLP groups points by metric, so its series come in another order.
        let rows = |batch: &tidemark_ingest::WriteBatch| -> Vec<_> {
            let mut rows: Vec<_> = batch
                .series
                .iter()
                .map(|rows| {
                    (
                        rows.key.clone(),
                        rows.identity,
                        rows.times.clone(),
                        rows.columns.clone(),
                    )
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows
        };
        assert_eq!(rows(&from_otlp.batch), rows(&from_v1.batch));
    }
}
