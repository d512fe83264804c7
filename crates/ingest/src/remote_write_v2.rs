//! Prometheus remote_write 2.0 (spec 2.0-rc.4): the `io.prometheus.write.v2.Request` protobuf,
//! declared with `prost` derives like 1.0, and its mapping onto the same series-major rows.
//!
//! Every string is an index into the request's symbol table. Each `TimeSeries` is numbered from
//! 1 like a 1.0 series, and a series that cannot be used is reported as `series N` with the
//! reason while the others are written. Decisions:
//!
//! - Labels follow the rules of remote_write 1.0 ([`crate::remote_write::series_key_with`]), so
//!   the same samples sent either way are the same series with the same rows: name rules per
//!   [`NameValidation`], empty values dropped, duplicate names refused. The series identity is
//!   hashed from the resolved labels in the order sent, exactly as 1.0 hashes its labels.
//! - Malformed symbol references (an odd count, an index past the table, any reference into an
//!   empty table, a table whose first symbol is not `""`, metadata references out of range)
//!   refuse the series that uses them: the spec calls such a request invalid, and naming the
//!   series tells the sender which one.
//! - Native histograms are counted and refused with their series (its float samples included),
//!   until histograms are stored natively.
//! - Exemplars on accepted series are counted (for `X-Prometheus-Remote-Write-Exemplars-Written`)
//!   and not stored. Stale markers are recognised and not stored, as in 1.0.
//! - Metadata becomes one entry per metric family (first wins); for histogram, gauge histogram
//!   and summary types the family is the name without `_bucket`, `_sum` or `_count`.
//! - Start timestamps (rc.4's per-sample `start_timestamp`, and the `created_timestamp` field 6
//!   of earlier release candidates, which Prometheus 3.0–3.4 still writes) are decoded and
//!   ignored: Tidemark stores no start times, and `rate()` does not use them.
//! - The labels a request names are bounded before they are copied: a small body can refer to
//!   large symbols many times, so the decoded request may take at most `budget` bytes, past which
//!   it is refused whole (the writer could never hold it either).

use prost::Message;
use tidemark_storage::tsdb::MetricMetadata;

use crate::batch::{ColumnData, FieldColumn, SeriesIdentity, SeriesRows, WriteBatch};
use crate::error::LineError;
use crate::limits::IngestLimits;
use crate::remote_write::{
    NameValidation, RemoteWriteError, STALE_NAN_BITS, VALUE_FIELD, decompress, describe_labels,
    series_key_with,
};

/// The reason given for every series carrying native histograms.
pub const NATIVE_HISTOGRAM_REASON: &str = "native histogram samples are not supported yet \
    (histograms are not stored natively); send classic histograms";

/// `io.prometheus.write.v2.Request`.
#[derive(Clone, PartialEq, Message)]
pub struct Request {
    /// Every string the request uses; `symbols[0]` must be `""`.
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    /// The series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeries>,
}

/// `io.prometheus.write.v2.TimeSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Label name/value pairs as indexes into `symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Float samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples (refused), decoded only far enough to be counted.
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    /// Exemplars (counted, not stored).
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
    /// Type, help and unit.
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<Metadata>,
    /// `created_timestamp` of 2.0-rc.1 to rc.3 (reserved in rc.4); ignored.
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

/// `io.prometheus.write.v2.Sample`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    /// When the counter started, ms (0: unset); ignored.
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}

/// `io.prometheus.write.v2.Exemplar`.
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    /// Label pairs as indexes into `symbols`.
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// The example value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `io.prometheus.write.v2.Metadata`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct Metadata {
    /// `MetricType`: 0 unspecified, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram,
    /// 5 summary, 6 info, 7 stateset.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Help text, as an index into `symbols`.
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    /// Unit, as an index into `symbols`.
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

/// `io.prometheus.write.v2.Histogram`, decoded only far enough to be counted.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct Histogram {
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// Decompresses (Snappy block format, refusing more than `limit` bytes before inflating
/// anything) and decodes a request body.
/// A body that decodes to no symbols and no series is refused: it is most likely a 1.0
/// `WriteRequest` (whose fields 2.0 reserves) sent with the 2.0 content type.
pub fn decode_request(body: &[u8], limit: usize) -> Result<Request, RemoteWriteError> {
    let raw = decompress(body, limit)?;
    let request = Request::decode(raw.as_slice())
        .map_err(|error| RemoteWriteError::ProtobufV2(error.to_string()))?;
    if !raw.is_empty() && request.symbols.is_empty() && request.timeseries.is_empty() {
        return Err(RemoteWriteError::ProtobufV2(
            "it holds no symbols and no series; is it a remote_write 1.0 \
             prometheus.WriteRequest sent with the 2.0 content type?"
                .into(),
        ));
    }
    Ok(request)
}

/// What a request became.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct V2Batch {
    /// The samples to write, one series-major run per accepted time series, and the refused
    /// series by number.
    pub batch: WriteBatch,
    /// Type, help and unit per metric family.
    pub metadata: Vec<(String, MetricMetadata)>,
    /// Samples of refused series (float and histogram samples).
    pub refused_samples: usize,
    /// Native histogram samples seen (all refused).
    pub histograms: usize,
    /// Exemplars of each series of `batch.series`, in order (counted, not stored).
    pub exemplars: Vec<usize>,
    /// Staleness markers seen (not stored).
    pub stale_markers: usize,
}

/// The metadata type's name, as the Prometheus HTTP API reports it.
pub fn type_name(metric_type: i32) -> &'static str {
    match metric_type {
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

/// A histogram's or summary's family name from one of its series names.
fn family_name(name: &str, metric_type: i32) -> &str {
    if matches!(metric_type, 3..=5) {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(family) = name.strip_suffix(suffix) {
                return family;
            }
        }
    }
    name
}

fn symbol(symbols: &[String], reference: u32) -> Result<&str, String> {
    match symbols.get(reference as usize) {
        Some(text) => Ok(text),
        None if symbols.is_empty() => {
            Err(format!("reference {reference} into an empty symbol table"))
        }
        None => Err(format!(
            "reference {reference} is out of range ({} symbols)",
            symbols.len()
        )),
    }
}

/// The series' labels in the order sent, borrowed from the symbol table, or why the refs are
/// malformed; `resolved` keeps the pairs read before an error, to name the series.
fn resolve<'a>(
    symbols: &'a [String],
    refs: &[u32],
    resolved: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), String> {
    if let Some(first) = symbols.first().filter(|first| !first.is_empty()) {
        return Err(format!(
            "the symbol table must start with an empty string (symbols[0] is {:?})",
            first.chars().take(64).collect::<String>()
        ));
    }
    for pair in refs.chunks_exact(2) {
        let name = symbol(symbols, pair[0]).map_err(|error| format!("label name {error}"))?;
        let value = symbol(symbols, pair[1]).map_err(|error| format!("label value {error}"))?;
        resolved.push((name, value));
    }
    if !refs.len().is_multiple_of(2) {
        return Err(format!(
            "odd number of label references ({}); they come in name/value pairs",
            refs.len()
        ));
    }
    Ok(())
}

/// Bytes a series of these labels and samples takes once decoded (as
/// [`SeriesRows::memory_bytes`] estimates it).
fn decoded_bytes(labels: &[(&str, &str)], samples: usize) -> usize {
    let labels: usize = labels
        .iter()
        .map(|(name, value)| name.len() + value.len() + 48)
        .sum();
    128 + labels + samples * 16
}

/// Turns the request's series into series-major runs; a refused series does not stop the
/// others. Refuses the whole request when its decoded series would take more than `budget`
/// bytes.
pub fn to_batch(
    request: &Request,
    limits: &IngestLimits,
    names: NameValidation,
    budget: usize,
) -> Result<V2Batch, RemoteWriteError> {
    let mut out = V2Batch::default();
    let mut left = budget;
    let mut families = std::collections::HashSet::new();
    let symbols = &request.symbols;
    for (index, series) in request.timeseries.iter().enumerate() {
        let number = index + 1;
        out.histograms += series.histograms.len();
        let mut labels = Vec::with_capacity(series.labels_refs.len() / 2);
        let resolved = resolve(symbols, &series.labels_refs, &mut labels);
        let refuse = |out: &mut V2Batch, message: String, labels: &[(&str, &str)]| {
            out.refused_samples += series.samples.len() + series.histograms.len();
            out.batch.errors.push(LineError {
                line: number,
                message,
                original: describe_labels(labels.iter().copied()),
            });
        };
        if let Err(message) = resolved {
            refuse(&mut out, message, &labels);
            continue;
        }
        let metadata = match series.metadata {
            None => None,
            Some(refs) => match (
                symbol(symbols, refs.help_ref),
                symbol(symbols, refs.unit_ref),
            ) {
                (Ok(help), Ok(unit)) => Some((refs.r#type, help, unit)),
                (Err(error), _) => {
                    refuse(&mut out, format!("metadata help {error}"), &labels);
                    continue;
                }
                (_, Err(error)) => {
                    refuse(&mut out, format!("metadata unit {error}"), &labels);
                    continue;
                }
            },
        };
        if !series.histograms.is_empty() {
            refuse(&mut out, NATIVE_HISTOGRAM_REASON.to_owned(), &labels);
            continue;
        }
        // As 1.0: stale markers are skipped, then every other timestamp must fit nanoseconds.
        let mut times = Vec::with_capacity(series.samples.len());
        let mut values = Vec::with_capacity(series.samples.len());
        let mut stale = 0;
        let mut out_of_range = None;
        for sample in &series.samples {
            if sample.value.to_bits() == STALE_NAN_BITS {
                stale += 1;
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
        out.stale_markers += stale;
        if let Some(timestamp) = out_of_range {
            let message = format!("timestamp {timestamp} ms is out of range");
            refuse(&mut out, message, &labels);
            continue;
        }
        let cost = decoded_bytes(&labels, series.samples.len());
        left = left
            .checked_sub(cost)
            .ok_or(RemoteWriteError::Expands { limit: budget })?;
        let identity = SeriesIdentity::of(
            labels
                .iter()
                .flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()]),
        );
        let owned = labels
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let key = match series_key_with(owned, limits, names) {
            Ok(key) => key,
            Err(message) => {
                refuse(&mut out, message, &labels);
                continue;
            }
        };
        if let Some((metric_type, help, unit)) = metadata
            && (metric_type != 0 || !help.is_empty() || !unit.is_empty())
        {
            let family = family_name(&key.measurement, metric_type);
            if families.insert(family.to_owned()) {
                let entry = MetricMetadata {
                    kind: type_name(metric_type).to_owned(),
                    help: help.to_owned(),
                    unit: unit.to_owned(),
                };
                out.metadata.push((family.to_owned(), entry));
            }
        }
        if times.is_empty() {
            continue;
        }
        out.exemplars.push(series.exemplars.len());
        let mut rows = SeriesRows::new(key, identity, number as u32);
        rows.times = times;
        rows.columns
            .push(FieldColumn::dense(VALUE_FIELD, ColumnData::F64(values)));
        out.batch.series.push(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
