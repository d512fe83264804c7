//! OTLP/HTTP metrics: the `ExportMetricsServiceRequest` schema ([`proto`]), its protobuf and
//! JSON decoders, and the translation into Prometheus series the way Prometheus 3.x's OTLP
//! receiver does it ([`translate()`]), ending in the same series-major rows as every other
//! protocol ([`OtlpBatch::batch`]).
//!
//! ```text
//! body ──decode_protobuf / decode_json──▶ ExportMetricsServiceRequest
//!      ──translate──▶ Prometheus series (one label set each, samples merged per request)
//!      ──▶ SeriesRows (measurement = metric name, tags = labels, field `value`)
//! ```
//!
//! What was refused is reported per metric or data point ([`Rejected`]), so the caller writes
//! the rest and answers with OTLP's partial success ([`response_protobuf`], [`response_json`]).
//! HTTP, authentication and storage belong to the caller (`server`).

mod json;
mod labels;
mod names;
pub mod proto;
mod response;
mod series;
mod translate;
mod values;

use prost::Message;
use tidemark_storage::tsdb::MetricMetadata;

use crate::batch::WriteBatch;

pub use json::decode_json;
pub use names::TranslationStrategy;
pub use response::{response_json, response_protobuf, status_json, status_protobuf};
pub use translate::{EXPONENTIAL_HISTOGRAM_REASON, OtlpOptions, translate};

use proto::ExportMetricsServiceRequest;

/// Why an OTLP body could not be used at all (nothing in it was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtlpError {
    /// Not an `ExportMetricsServiceRequest` protobuf.
    #[error("body is not an OTLP ExportMetricsServiceRequest protobuf: {0}")]
    Protobuf(String),
    /// Not OTLP/JSON.
    #[error("body is not OTLP/JSON: {0}")]
    Json(String),
    /// The request would take more memory once translated than one write may hold.
    #[error(
        "the request expands to more than {limit} bytes of series and samples once translated \
         (ingest.max_queue_bytes); send smaller requests"
    )]
    TooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
}

/// Decodes a binary protobuf `ExportMetricsServiceRequest` (`Content-Type:
/// application/x-protobuf`), already decompressed. Nesting is bounded by prost's recursion
/// limit (100 messages), so deeply nested attribute values are an error, not a stack overflow.
pub fn decode_protobuf(body: &[u8]) -> Result<ExportMetricsServiceRequest, OtlpError> {
    ExportMetricsServiceRequest::decode(body)
        .map_err(|error| OtlpError::Protobuf(error.to_string()))
}

/// Data refused while translating or writing, with where it came from and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// `metric "http.duration"`, `metric "http.duration" point 2`, `resource 1`.
    pub origin: String,
    /// Why, in words meant for the person who configured the sender.
    pub reason: String,
    /// Data points (or, for refusals at commit time, samples) it held.
    pub points: u64,
}

/// What one request became.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OtlpBatch {
    /// The rows to write; series are numbered from 1 in [`SeriesRows::lines`](crate::SeriesRows)
    /// and `origins[n - 1]` names where series `n` came from.
    pub batch: WriteBatch,
    /// Where each series came from (its first data point), for refusals at commit time.
    pub origins: Vec<String>,
    /// Type, help and unit per metric family, for `/api/v1/metadata`.
    pub metadata: Vec<(String, MetricMetadata)>,
    /// Refused metrics and points, in request order; everything else is in `batch`.
    pub rejected: Vec<Rejected>,
    /// Exemplars on accepted sum and histogram points: counted, not stored.
    pub exemplars: u64,
    /// "No recorded value" samples (Prometheus's stale markers): recognised, not stored.
    pub stale_markers: u64,
}

impl OtlpBatch {
    /// Data points refused, summed.
    pub fn rejected_points(&self) -> u64 {
        self.rejected.iter().map(|rejected| rejected.points).sum()
    }

    /// One line per refusal (`origin: reason`), at most `limit` lines and a count of the rest:
    /// the partial-success message.
    pub fn rejection_summary(&self, limit: usize) -> String {
        let mut lines: Vec<String> = self
            .rejected
            .iter()
            .take(limit)
            .map(|rejected| format!("{}: {}", rejected.origin, rejected.reason))
            .collect();
        if self.rejected.len() > limit {
            lines.push(format!("... and {} more", self.rejected.len() - limit));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests;
