//! Prometheus remote_write 1.0: the `prometheus.WriteRequest` protobuf (declared here with
//! `prost` derives, because the wire schema is five small messages and a build-time `protoc`
//! would be one more thing every machine has to install) and its mapping onto points.
//!
//! A sample `m{l="v"} 1.5 @t` becomes measurement `m`, tag `l=v`, field `value = 1.5`, time `t`
//! (ms → ns). Each time series is numbered from 1 like a line of line protocol, so a rejected
//! series is reported as "series N" with the reason, and the good ones are still written.

use prost::Message;
use tidemark_storage::tsdb::SeriesKey;

use crate::batch::{ColumnData, FieldColumn, SeriesIdentity, SeriesRows, WriteBatch};
use crate::error::LineError;
use crate::limits::IngestLimits;

/// The field every remote_write sample is stored in.
pub const VALUE_FIELD: &str = "value";
/// The label holding the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";
/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequestProto {
    /// The series and their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeriesProto>,
    /// Metric metadata (type, help, unit), sent on its own by Prometheus every minute.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadataProto>,
}

/// `prometheus.TimeSeries` (exemplars are not kept; native histograms are refused).
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeriesProto {
    /// Labels, sorted by name, including `__name__`.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<LabelProto>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<SampleProto>,
    /// Native histogram samples, decoded only far enough to count them.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub histograms: Vec<Vec<u8>>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelProto {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct SampleProto {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadataProto {
    /// `MetricType`: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram, 5 summary,
    /// 6 info, 7 stateset.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The metric family's name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// Help text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// Unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

impl MetricMetadataProto {
    /// The type's name as the Prometheus HTTP API reports it.
    pub fn type_name(&self) -> &'static str {
        match self.r#type {
            1 => "counter",
            2 => "gauge",
            3 => "histogram",
            4 => "gaugehistogram",
            5 => "summary",
            6 => "info",
            7 => "stateset",
            _ => "unknown",
        }
    }
}

/// Why a remote_write body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteWriteError {
    /// Not Snappy block format.
    #[error("body is not snappy block-compressed data: {0}")]
    Snappy(String),
    /// Decompressed, it is larger than allowed.
    #[error("decompressed body of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The decompressed size the body declares.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a `prometheus.WriteRequest`.
    #[error("body is not a prometheus.WriteRequest protobuf: {0}")]
    Protobuf(String),
    /// Not an `io.prometheus.write.v2.Request` (remote_write 2.0).
    #[error("body is not an io.prometheus.write.v2.Request protobuf: {0}")]
    ProtobufV2(String),
    /// Decoded, the request would take more memory than one write may hold (remote_write 2.0
    /// refers to shared symbols, so a small body can name many large label sets).
    #[error(
        "the request expands to more than {limit} bytes of series and samples once decoded \
         (ingest.max_queue_bytes); send smaller requests"
    )]
    Expands {
        /// The bound, in bytes.
        limit: usize,
    },
}

/// Decompresses (Snappy block format, refusing more than `limit` bytes before inflating
/// anything) and decodes a request body.
pub fn decode_request(body: &[u8], limit: usize) -> Result<WriteRequestProto, RemoteWriteError> {
    let raw = decompress(body, limit)?;
    WriteRequestProto::decode(raw.as_slice())
        .map_err(|error| RemoteWriteError::Protobuf(error.to_string()))
}

/// Inflates a Snappy block-compressed body (both remote_write versions), refusing more than
/// `limit` bytes before inflating anything.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, RemoteWriteError> {
    let size = snap::raw::decompress_len(body)
        .map_err(|error| RemoteWriteError::Snappy(error.to_string()))?;
    if size > limit {
        return Err(RemoteWriteError::TooLarge { size, limit });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|error| RemoteWriteError::Snappy(error.to_string()))
}

/// What the samples of a request became.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RemoteWriteBatch {
    /// The samples to write, one series-major run per time series.
    pub batch: WriteBatch,
    /// Staleness markers seen (not stored; see `docs/promql.md`).
    pub stale_markers: usize,
}

/// Which metric and label names are accepted (`remote_write.utf8_names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` and `[a-zA-Z_][a-zA-Z0-9_]*`, as Prometheus 2.x.
    #[default]
    Legacy,
    /// Any non-empty UTF-8, as Prometheus 3.x.
    Utf8,
}

impl NameValidation {
    fn metric_name(self, name: &str) -> bool {
        match self {
            Self::Legacy => is_metric_name(name),
            Self::Utf8 => !name.is_empty(),
        }
    }

    fn label_name(self, name: &str) -> bool {
        match self {
            Self::Legacy => is_label_name(name),
            Self::Utf8 => !name.is_empty(),
        }
    }
}

/// True for a name Prometheus accepts as a metric name.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// True for a name Prometheus accepts as a label name.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The series key of a label set (taken, not copied), or why it is refused: the metric name
/// becomes the measurement, the other labels the tags (an empty value is an absent label, as in
/// Prometheus).
pub fn series_key(
    labels: Vec<(String, String)>,
    limits: &IngestLimits,
) -> Result<SeriesKey, String> {
    series_key_with(labels, limits, NameValidation::Legacy)
}

/// [`series_key`] under the given name rules.
pub fn series_key_with(
    labels: Vec<(String, String)>,
    limits: &IngestLimits,
    names: NameValidation,
) -> Result<SeriesKey, String> {
    let mut name = None;
    let mut tags = Vec::with_capacity(labels.len());
    for (label, value) in labels {
        if label == METRIC_NAME_LABEL {
            if name.is_some() {
                return Err("duplicate label \"__name__\"".into());
            }
            name = Some(value);
            continue;
        }
        if !names.label_name(&label) {
            return Err(format!("invalid label name {label:?}"));
        }
        if !value.is_empty() {
            tags.push((label, value));
        }
    }
    let name = name.ok_or("missing metric name (label \"__name__\")")?;
    if !names.metric_name(&name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    if !tags.is_sorted() {
        tags.sort();
    }
    if let Some(pair) = tags.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(format!("duplicate label {:?}", pair[0].0));
    }
    limits.series(
        &name,
        tags.iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    )?;
    Ok(SeriesKey {
        measurement: name,
        tags,
    })
}

/// How a refused series is shown: its labels, at most 256 characters of them.
pub fn describe_labels<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let labels: Vec<String> = labels
        .map(|(name, value)| {
            let value: String = value.chars().take(64).collect();
            format!("{name}={value:?}")
        })
        .collect();
    format!("{{{}}}", labels.join(", "))
        .chars()
        .take(256)
        .collect()
}

/// Turns the request's samples into series-major runs, taking the decoded labels and samples
/// (no copy per sample); a refused series does not stop the others.
pub fn to_batch(request: WriteRequestProto, limits: &IngestLimits) -> RemoteWriteBatch {
    to_batch_with(request, limits, NameValidation::Legacy)
}

/// [`to_batch`] under the given name rules.
pub fn to_batch_with(
    request: WriteRequestProto,
    limits: &IngestLimits,
    names: NameValidation,
) -> RemoteWriteBatch {
    let mut out = RemoteWriteBatch::default();
    for (index, series) in request.timeseries.into_iter().enumerate() {
        let number = index + 1;
        let describe = |series: &TimeSeriesProto| {
            describe_labels(
                series
                    .labels
                    .iter()
                    .map(|label| (label.name.as_str(), label.value.as_str())),
            )
        };
        let refuse = |message: String, original: String| LineError {
            line: number,
            message,
            original,
        };
        if !series.histograms.is_empty() {
            out.batch.errors.push(refuse(
                "native histogram samples are not supported; send classic histograms".into(),
                describe(&series),
            ));
            continue;
        }
        let identity = SeriesIdentity::of(
            series
                .labels
                .iter()
                .flat_map(|label| [label.name.as_bytes(), label.value.as_bytes()]),
        );
        let mut times = Vec::with_capacity(series.samples.len());
        let mut values = Vec::with_capacity(series.samples.len());
        let mut out_of_range = None;
        for sample in &series.samples {
            if sample.value.to_bits() == STALE_NAN_BITS {
                out.stale_markers += 1;
                continue;
            }
            match sample.timestamp.checked_mul(1_000_000) {
                Some(time) => {
                    times.push(time);
                    values.push(sample.value);
                }
                None => {
                    out_of_range = Some(sample.timestamp);
                    break;
                }
            }
        }
        if let Some(timestamp) = out_of_range {
            let message = format!("timestamp {timestamp} ms is out of range");
            out.batch.errors.push(refuse(message, describe(&series)));
            continue;
        }
        let original = describe(&series);
        let labels = series
            .labels
            .into_iter()
            .map(|label| (label.name, label.value))
            .collect();
        let key = match series_key_with(labels, limits, names) {
            Ok(key) => key,
            Err(message) => {
                out.batch.errors.push(refuse(message, original));
                continue;
            }
        };
        if times.is_empty() {
            continue;
        }
        let mut rows = SeriesRows::new(key, identity, number as u32);
        rows.times = times;
        rows.columns
            .push(FieldColumn::dense(VALUE_FIELD, ColumnData::F64(values)));
        out.batch.series.push(rows);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn label(name: &str, value: &str) -> LabelProto {
        LabelProto {
            name: name.into(),
            value: value.into(),
        }
    }

    fn series(labels: Vec<LabelProto>, samples: &[(i64, f64)]) -> TimeSeriesProto {
        TimeSeriesProto {
            labels,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| SampleProto { value, timestamp })
                .collect(),
            histograms: Vec::new(),
        }
    }

    fn compress(request: &WriteRequestProto) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .expect("snappy")
    }

    fn floats(rows: &SeriesRows) -> &[f64] {
        match &rows.columns[0].values {
            ColumnData::F64(values) => values,
            other => panic!("not floats: {other:?}"),
        }
    }

    #[test]
    fn samples_become_one_run_per_series_and_bad_series_are_numbered() {
        let request = WriteRequestProto {
            timeseries: vec![
                series(
                    vec![
                        label("__name__", "up"),
                        label("job", "node"),
                        label("x", ""),
                    ],
                    &[
                        (1_000, 1.0),
                        (2_000, f64::from_bits(STALE_NAN_BITS)),
                        (3_000, 3.0),
                    ],
                ),
                series(vec![label("job", "nameless")], &[(1_000, 2.0)]),
                series(
                    vec![label("__name__", "ok"), label("bad-name", "v")],
                    &[(1_000, 3.0)],
                ),
                series(
                    vec![label("__name__", "big"), label("l", &"v".repeat(5_000))],
                    &[(1_000, 3.0); 1_000],
                ),
            ],
            metadata: Vec::new(),
        };
        let decoded = decode_request(&compress(&request), 1 << 20).expect("decodes");
        let out = to_batch(decoded, &IngestLimits::default());
        assert_eq!(out.batch.series.len(), 1);
        let run = &out.batch.series[0];
        assert_eq!(
            run.key,
            SeriesKey::new("up", vec![("job".into(), "node".into())])
        );
        assert_eq!(run.times, vec![1_000_000_000, 3_000_000_000]);
        assert_eq!(run.columns[0].name, VALUE_FIELD);
        assert_eq!(floats(run), &[1.0, 3.0]);
        assert_eq!(out.stale_markers, 1);
        let lines: Vec<(usize, &str)> = out
            .batch
            .errors
            .iter()
            .map(|error| (error.line, error.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], (2, "missing metric name (label \"__name__\")"));
        assert_eq!(lines[1], (3, "invalid label name \"bad-name\""));
        assert_eq!(lines[2].0, 4);
        assert!(lines[2].1.contains("max_tag_value_bytes"), "{}", lines[2].1);
        assert!(out.batch.errors[2].original.len() <= 256);
    }

    #[test]
    fn metadata_only_requests_decode_to_nothing() {
        let request = WriteRequestProto {
            timeseries: Vec::new(),
            metadata: vec![MetricMetadataProto {
                r#type: 1,
                metric_family_name: "http_requests_total".into(),
                help: "Requests.".into(),
                unit: String::new(),
            }],
        };
        let decoded = decode_request(&compress(&request), 1 << 20).expect("decodes");
        assert_eq!(decoded.metadata[0].type_name(), "counter");
        assert!(
            to_batch(decoded, &IngestLimits::default())
                .batch
                .series
                .is_empty()
        );
    }

    #[test]
    fn limits_and_garbage_are_reported() {
        let request = WriteRequestProto {
            timeseries: vec![series(vec![label("__name__", "m")], &[(1, 1.0); 100])],
            metadata: Vec::new(),
        };
        let body = compress(&request);
        assert!(matches!(
            decode_request(&body, 10),
            Err(RemoteWriteError::TooLarge { limit: 10, .. })
        ));
        assert!(matches!(
            decode_request(b"\xff\xff\xff\xff\xff\xff", 1 << 20),
            Err(RemoteWriteError::Snappy(_))
        ));
        let not_proto = snap::raw::Encoder::new()
            .compress_vec(b"\x0a\xff\xff\xff")
            .expect("snappy");
        assert!(matches!(
            decode_request(&not_proto, 1 << 20),
            Err(RemoteWriteError::Protobuf(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(request) = decode_request(&body, 1 << 16) {
                let _ = to_batch(request, &IngestLimits::default());
            }
        }

        #[test]
        fn samples_round_trip(values in proptest::collection::vec((0i64..1 << 40, any::<f64>()), 1..50)) {
            let request = WriteRequestProto {
                timeseries: vec![series(vec![label("__name__", "m"), label("a", "b")], &values)],
                metadata: Vec::new(),
            };
            let out = to_batch(
                decode_request(&compress(&request), 1 << 20).unwrap(),
                &IngestLimits::default(),
            );
            let kept: Vec<_> = values.iter().filter(|(_, v)| v.to_bits() != STALE_NAN_BITS).collect();
            let stored: Vec<(i64, f64)> = out
                .batch
                .series
                .iter()
                .flat_map(|run| run.times.iter().copied().zip(floats(run).iter().copied()))
                .collect();
            prop_assert_eq!(stored.len(), kept.len());
            for ((time, stored), (sent_time, sent)) in stored.iter().zip(kept) {
                prop_assert_eq!(*time, sent_time * 1_000_000);
                // proto3 does not send a field equal to its default, and -0.0 == 0.0: the
                // sign of a zero is lost on the wire, for every sender.
                if *sent == 0.0 {
                    prop_assert_eq!(*stored, 0.0);
                } else {
                    prop_assert_eq!(stored.to_bits(), sent.to_bits());
                }
            }
        }
    }
}
