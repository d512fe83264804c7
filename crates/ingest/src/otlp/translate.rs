//! OTLP metrics → Prometheus series, following Prometheus 3.x's OTLP receiver
//! (`storage/remote/otlptranslator/prometheusremotewrite`, with `prometheus/otlptranslator` for
//! names) under its default configuration. Decisions, each with the Prometheus behaviour it
//! follows or the reason it differs:
//!
//! - Gauge: one sample per point. Sum: monotonic → counter named with `_total`, otherwise gauge.
//!   Histogram: `_bucket{le}` with cumulative counts (`le` written like Go's
//!   `FormatFloat(b, 'f', -1)`, `+Inf` last and equal to the count), `_sum` only when the point
//!   has a sum, `_count`; min and max unused. Summary: `{quantile}`, `_sum`, `_count`.
//! - Temporality: cumulative is stored as received. Delta sums and histograms are stored as
//!   received too ([`OtlpOptions::allow_delta_temporality`], on by default; Prometheus's
//!   `otlp-native-delta-ingestion` feature): one sample per point, named like the cumulative
//!   metric (a delta counter still gets `_total`), metadata type `unknown`, start time ignored;
//!   they are queried with `sum_over_time`, not `rate` (`docs/otlp.md`). With the option off
//!   they are refused per metric, as Prometheus does by default. Unspecified temporality is
//!   refused.
//! - Exponential histograms are refused per metric (Prometheus would store native histograms).
//! - `flags & 1` (no recorded value): every sample of the point is the stale NaN, which is
//!   recognised and not stored, like remote_write's stale markers.
//! - A number point with neither `asDouble` nor `asInt` is refused (metrics.proto calls such a
//!   point invalid; Prometheus stores 0). A point with `time_unix_nano` 0, or a time or start time
//!   past the signed 64-bit nanosecond range (2262), is refused; times become ms by floor division.
//! - Labels: see [`super::labels`]. `job` is `service.namespace/service.name` (or
//!   `service.name`), `instance` is `service.instance.id`; both override point attributes of the
//!   same name. Scope labels (`otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url`,
//!   `otel_scope_<attr>`) only with `promote_scope_metadata`, which is off by default in 3.x.
//!   A key that cannot become a label name (empty, or only underscores after escaping) refuses
//!   the point (Prometheus drops the rest of the metric too); in a promoted resource attribute it
//!   refuses the resource, in a scope attribute the scope.
//! - `target_info`: one gauge series per resource that has attributes besides `service.name`,
//!   `service.namespace`, `service.instance.id` and a `job` or `instance`, labelled with the other
//!   attributes (all of them with `keep_identifying_resource_attributes`), value 1, at the
//!   resource's latest point time and, as Prometheus ≥ 3.6, every `lookback / 2` from its earliest
//!   point. Unlike Prometheus, only accepted points count, and when that stepping would emit more
//!   than 16 + 2 × the resource's points samples (points decades apart), one sample per distinct
//!   point time is emitted instead, so a small request cannot expand into millions of samples.
//! - Metadata: one entry per metric family (first wins), unit in Prometheus words (3.x's
//!   `UnitNamer`); `target_info` is a gauge with help "Target metadata". A metric with no points
//!   produces nothing and is not reported (Prometheus logs "empty data points").
//! - Exemplars on accepted sum and histogram points are counted; gauge exemplars are dropped by
//!   Prometheus and not counted.
//! - Bounds (Tidemark's own): a point whose labels break the write limits ([`IngestLimits`]) is
//!   refused before a histogram or summary multiplies its labels, and everything translated is
//!   bounded by a memory budget (`SeriesSet`); past it translation stops and the whole request is
//!   refused ([`OtlpError::TooLarge`]).

use std::borrow::Cow;
use std::collections::HashSet;

use tidemark_storage::tsdb::MetricMetadata;

use super::labels::{Label, attribute_labels, merge, set, without_empty};
use super::names::{
    MetricKind, TranslationStrategy, format_float, label_name, metric_name, unit_words,
};
use super::proto::{self, ExportMetricsServiceRequest, KeyValue, Metric, metric::Data};
use super::series::{SeriesSet, set_label};
use super::values::value_string;
use super::{OtlpBatch, OtlpError, Rejected};
use crate::limits::IngestLimits;
use crate::remote_write::{METRIC_NAME_LABEL, NameValidation};

mod points;
use points::PointSink;

/// The reason given for every exponential histogram.
pub const EXPONENTIAL_HISTOGRAM_REASON: &str = "exponential histograms are not supported yet \
    (native histograms are not stored); send explicit-bucket histograms";
const DELTA_REASON: &str = "delta temporality is not accepted here \
    (otlp.accept_delta_temporality = false); export cumulative temporality, e.g. \
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative";
const IDENTIFYING: [&str; 3] = ["service.namespace", "service.name", "service.instance.id"];

/// Translation settings, named after Prometheus's `otlp:` configuration block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpOptions {
    /// `translation_strategy`.
    pub translation: TranslationStrategy,
    /// `promote_resource_attributes`: resource attributes copied onto every series.
    pub promote_resource_attributes: Vec<String>,
    /// `promote_all_resource_attributes`: all of them, except `ignore_resource_attributes`.
    pub promote_all_resource_attributes: bool,
    /// `ignore_resource_attributes`.
    pub ignore_resource_attributes: Vec<String>,
    /// `keep_identifying_resource_attributes`: also put `service.*` on `target_info`.
    pub keep_identifying_resource_attributes: bool,
    /// `promote_scope_metadata`: add the `otel_scope_*` labels.
    pub promote_scope_metadata: bool,
    /// Store delta sums and histograms as received (Prometheus's `otlp-native-delta-ingestion`);
    /// refuse them per metric when off.
    pub allow_delta_temporality: bool,
    /// PromQL lookback delta in ms; `target_info` is repeated every half of it.
    pub lookback_delta_ms: i64,
}

impl Default for OtlpOptions {
    /// Prometheus 3.x's defaults, except that delta temporality is stored.
    fn default() -> Self {
        Self {
            translation: TranslationStrategy::default(),
            promote_resource_attributes: Vec::new(),
            promote_all_resource_attributes: false,
            ignore_resource_attributes: Vec::new(),
            keep_identifying_resource_attributes: false,
            promote_scope_metadata: false,
            allow_delta_temporality: true,
            lookback_delta_ms: 300_000,
        }
    }
}

/// Translates a decoded request into rows to write, metadata and refusals. Refuses the whole
/// request when its series would take more than `budget` bytes (a request the writer could
/// never hold).
pub fn translate(
    request: &ExportMetricsServiceRequest,
    options: &OtlpOptions,
    limits: &IngestLimits,
    budget: usize,
) -> Result<OtlpBatch, OtlpError> {
    let translator = translate_series(request, options, limits, budget);
    if translator.series.exhausted() {
        return Err(OtlpError::TooLarge { limit: budget });
    }
    let names = if options.translation.escapes() {
        NameValidation::Legacy
    } else {
        NameValidation::Utf8
    };
    let (batch, origins, mut rejected, stale_markers) = translator.series.into_rows(limits, names);
    let mut all_rejected = translator.rejected;
    all_rejected.append(&mut rejected);
    Ok(OtlpBatch {
        batch,
        origins,
        metadata: translator.metadata,
        rejected: all_rejected,
        exemplars: translator.exemplars,
        stale_markers,
    })
}

/// The translation up to Prometheus series (what the unit tests look at).
pub(crate) fn translate_series<'o>(
    request: &ExportMetricsServiceRequest,
    options: &'o OtlpOptions,
    limits: &'o IngestLimits,
    budget: usize,
) -> Translator<'o> {
    let mut translator = Translator {
        options,
        limits,
        strategy: options.translation,
        series: SeriesSet::new(budget),
        rejected: Vec::new(),
        metadata: Vec::new(),
        exemplars: 0,
        families: HashSet::new(),
        target_info_samples: HashSet::new(),
    };
    for (index, resource) in request.resource_metrics.iter().enumerate() {
        if translator.series.exhausted() {
            break;
        }
        translator.resource(index + 1, resource);
    }
    translator
}

pub(crate) struct Translator<'o> {
    options: &'o OtlpOptions,
    limits: &'o IngestLimits,
    strategy: TranslationStrategy,
    pub(crate) series: SeriesSet,
    pub(crate) rejected: Vec<Rejected>,
    pub(crate) metadata: Vec<(String, MetricMetadata)>,
    /// Exemplars on accepted sum and histogram points.
    pub(crate) exemplars: u64,
    families: HashSet<String>,
    /// (series index, ms) of `target_info` samples already emitted.
    target_info_samples: HashSet<(usize, i64)>,
}

/// Labels borrowing from `labels`, so that copying them per point copies no strings.
fn borrowed<'x>(labels: &'x [Label<'_>]) -> Vec<Label<'x>> {
    labels
        .iter()
        .map(|(name, value)| (Cow::Borrowed(name.as_ref()), Cow::Borrowed(value.as_ref())))
        .collect()
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attributes.iter().find(|attribute| attribute.key == key)
}

fn data_points(metric: &Metric) -> u64 {
    (match &metric.data {
        None => 0,
        Some(Data::Gauge(gauge)) => gauge.data_points.len(),
        Some(Data::Sum(sum)) => sum.data_points.len(),
        Some(Data::Histogram(histogram)) => histogram.data_points.len(),
        Some(Data::ExponentialHistogram(histogram)) => histogram.data_points.len(),
        Some(Data::Summary(summary)) => summary.data_points.len(),
    }) as u64
}

/// Milliseconds from a point's times, or why the point is refused.
fn point_time(start: u64, time: u64) -> Result<i64, String> {
    const END: &str = "past 2262-04-11, the end of signed 64-bit nanosecond time";
    if time == 0 {
        return Err("time_unix_nano is 0 (not set)".into());
    }
    let Ok(nanos) = i64::try_from(time) else {
        return Err(format!("time_unix_nano {time} is {END}"));
    };
    if i64::try_from(start).is_err() {
        return Err(format!("start_time_unix_nano {start} is {END}"));
    }
    Ok(nanos.div_euclid(1_000_000))
}

impl<'o> Translator<'o> {
    fn reject(&mut self, origin: String, reason: impl Into<String>, points: u64) {
        self.rejected.push(Rejected {
            origin,
            reason: reason.into(),
            points,
        });
    }

    fn metadata(&mut self, family: &str, kind: &'static str, help: &str, unit: String) {
        if self.families.insert(family.to_owned()) {
            let entry = MetricMetadata {
                kind: kind.to_owned(),
                help: help.to_owned(),
                unit,
            };
            self.metadata.push((family.to_owned(), entry));
        }
    }

    fn promoted(&self, key: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|item| item == key);
        if self.options.promote_all_resource_attributes {
            !listed(&self.options.ignore_resource_attributes)
        } else {
            listed(&self.options.promote_resource_attributes)
        }
    }

    fn resource(&mut self, number: usize, resource_metrics: &proto::ResourceMetrics) {
        let attributes: &[KeyValue] = resource_metrics
            .resource
            .as_ref()
            .map_or(&[], |resource| &resource.attributes);
        let all_points = || -> u64 {
            let metrics = resource_metrics
                .scope_metrics
                .iter()
                .flat_map(|scope| &scope.metrics);
            metrics.map(data_points).sum()
        };
        // `job`, `instance`: they override point attributes.
        let mut identity: Vec<Label<'_>> = Vec::new();
        if let Some(service) = find(attributes, "service.name") {
            let mut job = value_string(service.value.as_ref());
            if let Some(namespace) = find(attributes, "service.namespace") {
                job = Cow::Owned(format!("{}/{job}", value_string(namespace.value.as_ref())));
            }
            if !job.is_empty() {
                set(&mut identity, Cow::Borrowed("job"), job);
            }
        }
        if let Some(instance) = find(attributes, "service.instance.id") {
            let instance = value_string(instance.value.as_ref());
            if !instance.is_empty() {
                set(&mut identity, Cow::Borrowed("instance"), instance);
            }
        }
        // Promoted attributes only fill labels the point does not have.
        let mut promoted: Vec<Label<'_>> = Vec::new();
        for attribute in attributes
            .iter()
            .filter(|attribute| self.promoted(&attribute.key))
        {
            match label_name(self.strategy, &attribute.key) {
                Ok(name) => set(&mut promoted, name, value_string(attribute.value.as_ref())),
                Err(error) => {
                    let reason = format!("promoted resource attribute: {error}");
                    self.reject(format!("resource {number}"), reason, all_points());
                    return;
                }
            }
        }
        // Per point, only borrowed copies of the resource and scope labels are merged in.
        let promoted = borrowed(&promoted);
        let mut times: Vec<i64> = Vec::new();
        for scope_metrics in &resource_metrics.scope_metrics {
            let Some(overrides) = self.scope_labels(number, scope_metrics, &identity) else {
                continue;
            };
            let overrides = borrowed(&overrides);
            for metric in &scope_metrics.metrics {
                if self.series.exhausted() {
                    return;
                }
                self.metric(metric, &promoted, &overrides, &mut times);
            }
        }
        self.target_info(number, attributes, &identity, &mut times);
    }

    /// `job`/`instance` plus, with `promote_scope_metadata`, the scope's labels; `None` when a
    /// scope attribute cannot be named (the scope's points are then refused).
    fn scope_labels<'a>(
        &mut self,
        number: usize,
        scope_metrics: &'a proto::ScopeMetrics,
        identity: &[Label<'a>],
    ) -> Option<Vec<Label<'a>>> {
        let mut labels = identity.to_vec();
        let Some(scope) = &scope_metrics.scope else {
            return Some(labels);
        };
        if !self.options.promote_scope_metadata || scope.name.is_empty() {
            return Some(labels);
        }
        for attribute in &scope.attributes {
            match label_name(self.strategy, &format!("otel_scope_{}", attribute.key)) {
                Ok(name) => set(
                    &mut labels,
                    Cow::Owned(name.into_owned()),
                    value_string(attribute.value.as_ref()),
                ),
                Err(error) => {
                    let points = scope_metrics.metrics.iter().map(data_points).sum();
                    let origin = format!("resource {number} scope {:?}", scope.name);
                    self.reject(origin, format!("scope attribute: {error}"), points);
                    return None;
                }
            }
        }
        // Set after the attributes so that an attribute cannot overwrite them.
        set(
            &mut labels,
            "otel_scope_name".into(),
            Cow::Borrowed(&scope.name),
        );
        set(
            &mut labels,
            "otel_scope_version".into(),
            Cow::Borrowed(&scope.version),
        );
        let schema = Cow::Borrowed(scope_metrics.schema_url.as_str());
        set(&mut labels, "otel_scope_schema_url".into(), schema);
        Some(labels)
    }

    fn metric<'r>(
        &mut self,
        metric: &'r Metric,
        promoted: &[Label<'r>],
        overrides: &[Label<'r>],
        times: &mut Vec<i64>,
    ) {
        let origin = format!("metric {:?}", metric.name);
        let points = data_points(metric);
        let (kind, temporality) = match &metric.data {
            None => {
                let reason = "metric has no data (none of gauge, sum, histogram, \
                              exponentialHistogram, summary is set)";
                return self.reject(origin, reason, 0);
            }
            Some(Data::Gauge(_)) => (MetricKind::Gauge, None),
            Some(Data::Sum(sum)) if sum.is_monotonic => (
                MetricKind::MonotonicCounter,
                Some(sum.aggregation_temporality),
            ),
            Some(Data::Sum(sum)) => (
                MetricKind::NonMonotonicCounter,
                Some(sum.aggregation_temporality),
            ),
            Some(Data::Histogram(histogram)) => (
                MetricKind::Histogram,
                Some(histogram.aggregation_temporality),
            ),
            Some(Data::ExponentialHistogram(_)) => {
                return self.reject(origin, EXPONENTIAL_HISTOGRAM_REASON, points);
            }
            Some(Data::Summary(_)) => (MetricKind::Summary, None),
        };
        let delta = match temporality {
            None | Some(proto::TEMPORALITY_CUMULATIVE) => false,
            Some(proto::TEMPORALITY_DELTA) if self.options.allow_delta_temporality => true,
            Some(proto::TEMPORALITY_DELTA) => return self.reject(origin, DELTA_REASON, points),
            Some(other) => {
                let reason = format!(
                    "aggregation temporality {other} is not valid; it must be 2 (cumulative)"
                );
                return self.reject(origin, reason, points);
            }
        };
        let name = match metric_name(self.strategy, &metric.name, &metric.unit, kind) {
            Ok(name) => name,
            Err(error) => return self.reject(origin, error, points),
        };
        let mut sink = PointSink {
            translator: self,
            metric,
            name: &name,
            promoted,
            overrides,
            times,
            accepted: false,
        };
        match &metric.data {
            Some(Data::Gauge(gauge)) => sink.numbers(&gauge.data_points, false),
            Some(Data::Sum(sum)) => sink.numbers(&sum.data_points, true),
            Some(Data::Histogram(histogram)) => sink.histograms(&histogram.data_points),
            Some(Data::Summary(summary)) => sink.summaries(&summary.data_points),
            _ => {}
        }
        if sink.accepted {
            let kind = match kind {
                _ if delta => "unknown",
                MetricKind::MonotonicCounter => "counter",
                MetricKind::Histogram => "histogram",
                MetricKind::Summary => "summary",
                _ => "gauge",
            };
            self.metadata(&name, kind, &metric.description, unit_words(&metric.unit));
        }
    }

    fn target_info(
        &mut self,
        number: usize,
        attributes: &[KeyValue],
        identity: &[Label<'_>],
        times: &mut [i64],
    ) {
        let present = IDENTIFYING
            .iter()
            .filter(|key| find(attributes, key).is_some())
            .count();
        if times.is_empty() || attributes.len() == present {
            return;
        }
        let ignore: &[&str] = if self.options.keep_identifying_resource_attributes {
            &[]
        } else {
            &IDENTIFYING
        };
        let labels = match attribute_labels(self.strategy, attributes, ignore) {
            Ok(labels) => without_empty(merge(labels, identity, true)),
            Err(error) => {
                return self.reject(
                    format!("resource {number}"),
                    format!("target_info: {error}"),
                    0,
                );
            }
        };
        if !labels
            .iter()
            .any(|(name, _)| name == "job" || name == "instance")
        {
            return;
        }
        let mut scratch: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        set_label(&mut scratch, METRIC_NAME_LABEL, "target_info");
        times.sort_unstable();
        let (earliest, latest) = (times[0], times[times.len() - 1]);
        let lookback_ms = match self.options.lookback_delta_ms {
            ms if ms > 0 => ms,
            _ => 300_000,
        };
        // Half the lookback, in ns.
        let interval = i128::from(lookback_ms) * 500_000;
        let steps = (i128::from(latest) - i128::from(earliest)) / interval;
        let mut stamps: Vec<i64> = Vec::new();
        // Bounded by the resource's own size, so a request cannot make this step emit more
        // than a small multiple of what it holds.
        let budget = 16 + 2 * times.len() as i128;
        if steps < budget {
            let mut at = i128::from(earliest);
            while at < i128::from(latest) {
                stamps.push((at.div_euclid(1_000_000)) as i64);
                at += interval;
            }
            stamps.push(latest.div_euclid(1_000_000));
        } else {
            stamps.extend(times.iter().map(|nanos| nanos.div_euclid(1_000_000)));
        }
        let Some(index) = self
            .series
            .index_of(&scratch, || format!("resource {number} target_info"))
        else {
            return;
        };
        for ms in stamps {
            // Another resource may have the same target_info (Prometheus ≥ 3.8 dedupes).
            if self.target_info_samples.insert((index, ms)) {
                self.series.push(index, (ms, 1.0));
            }
        }
        self.metadata("target_info", "gauge", "Target metadata", String::new());
    }
}
