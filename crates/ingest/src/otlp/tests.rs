//! Unit tests of the OTLP decoders and translation. Most look at the translation up to
//! Prometheus series ([`translate`] below); `rows` checks the last step, into rows to write.

mod common;
mod json;
mod labels;
mod props;
mod response;
mod rows;
mod sdk;
mod values;

use tidemark_storage::tsdb::MetricMetadata;

use super::proto::ExportMetricsServiceRequest;
use super::series::PromSeries;
use super::translate::translate_series;
use super::{OtlpOptions, Rejected};
use crate::limits::IngestLimits;

/// What the translation of a request gives before it becomes rows.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decoded {
    pub(super) series: Vec<PromSeries>,
    pub(super) rejected: Vec<Rejected>,
    pub(super) metadata: Vec<(String, MetricMetadata)>,
    pub(super) exemplars: u64,
}

impl Decoded {
    pub(super) fn rejected_points(&self) -> u64 {
        self.rejected.iter().map(|rejected| rejected.points).sum()
    }

    pub(super) fn rejection_summary(&self, limit: usize) -> String {
        let batch = super::OtlpBatch {
            rejected: self.rejected.clone(),
            ..Default::default()
        };
        batch.rejection_summary(limit)
    }

    /// `(family, kind, unit)` of every metadata entry.
    pub(super) fn kinds(&self) -> Vec<(&str, &str, &str)> {
        self.metadata
            .iter()
            .map(|(family, entry)| (family.as_str(), entry.kind.as_str(), entry.unit.as_str()))
            .collect()
    }
}

impl PromSeries {
    /// The value of `__name__`.
    pub(super) fn name(&self) -> &str {
        self.label("__name__").unwrap_or("")
    }

    /// The value of one label, if the series has it.
    pub(super) fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(label, _)| label.as_str().cmp(name))
            .ok()
            .map(|index| self.labels[index].1.as_str())
    }
}

/// Translates with the default write limits and room for anything a test sends.
pub(super) fn translate(request: &ExportMetricsServiceRequest, options: &OtlpOptions) -> Decoded {
    let limits = IngestLimits::default();
    let translator = translate_series(request, options, &limits, 1 << 30);
    Decoded {
        series: translator.series.into_series(),
        rejected: translator.rejected,
        metadata: translator.metadata,
        exemplars: translator.exemplars,
    }
}
