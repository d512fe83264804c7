//! The samples of one metric's data points: gauges and sums one each, histograms `_sum`,
//! `_count` and one `_bucket` per bound plus `+Inf`, summaries `_sum`, `_count` and one per
//! quantile, all at the point's time and, for "no recorded value" points, the stale NaN.

use super::*;
use crate::remote_write::STALE_NAN_BITS;

/// Emits the samples of one metric's points.
pub(super) struct PointSink<'t, 'o, 'a> {
    pub(super) translator: &'t mut Translator<'o>,
    pub(super) metric: &'a Metric,
    pub(super) name: &'t str,
    pub(super) promoted: &'t [Label<'a>],
    pub(super) overrides: &'t [Label<'a>],
    pub(super) times: &'t mut Vec<i64>,
    pub(super) accepted: bool,
}

impl<'a> PointSink<'_, '_, 'a> {
    fn origin(&self, index: usize) -> String {
        format!("metric {:?} point {}", self.metric.name, index + 1)
    }

    /// The point's time (ms) and labels, or `None` after refusing it.
    fn begin(
        &mut self,
        index: usize,
        start: u64,
        time: u64,
        attributes: &'a [KeyValue],
    ) -> Option<(i64, Vec<Label<'a>>)> {
        let labels = point_time(start, time).and_then(|ms| {
            let labels = attribute_labels(self.translator.strategy, attributes, &[])?;
            let labels = without_empty(merge(
                merge(labels, self.promoted, false),
                self.overrides,
                true,
            ));
            // Checked once per point, before a histogram multiplies its labels by its buckets.
            let tags = labels
                .iter()
                .map(|(name, value)| (name.as_ref(), value.as_ref()));
            self.translator.limits.series(self.name, tags)?;
            Ok((ms, labels))
        });
        match labels {
            Ok(ok) => {
                // `time` fits in i64: `point_time` checked it.
                self.times.push(time as i64);
                self.accepted = true;
                Some(ok)
            }
            Err(reason) => {
                let origin = self.origin(index);
                self.translator.reject(origin, reason, 1);
                None
            }
        }
    }

    fn emit(
        &mut self,
        index: usize,
        labels: &[Label<'_>],
        name: &str,
        extra: Option<(&str, &str)>,
        sample: (i64, f64),
    ) {
        let mut scratch: Vec<(&str, &str)> = labels
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        if let Some((label, value)) = extra {
            set_label(&mut scratch, label, value);
        }
        set_label(&mut scratch, METRIC_NAME_LABEL, name);
        let metric = self.metric;
        let origin = || format!("metric {:?} point {}", metric.name, index + 1);
        self.translator.series.add(&scratch, sample, origin);
    }

    pub(super) fn numbers(&mut self, points: &'a [proto::NumberDataPoint], count_exemplars: bool) {
        use proto::number_data_point::Value;
        for (index, point) in points.iter().enumerate() {
            if self.translator.series.exhausted() {
                return;
            }
            let value = match (
                point.flags & proto::FLAG_NO_RECORDED_VALUE != 0,
                point.value,
            ) {
                (true, _) => f64::from_bits(STALE_NAN_BITS),
                (false, Some(Value::AsDouble(value))) => value,
                (false, Some(Value::AsInt(value))) => value as f64,
                (false, None) => {
                    let origin = self.origin(index);
                    let reason = "data point has no value (neither asDouble nor asInt is set)";
                    self.translator.reject(origin, reason, 1);
                    continue;
                }
            };
            let Some((ms, labels)) = self.begin(
                index,
                point.start_time_unix_nano,
                point.time_unix_nano,
                &point.attributes,
            ) else {
                continue;
            };
            if count_exemplars {
                self.translator.exemplars += point.exemplars.len() as u64;
            }
            self.emit(index, &labels, self.name, None, (ms, value));
        }
    }

    pub(super) fn histograms(&mut self, points: &'a [proto::HistogramDataPoint]) {
        let (sum, count, bucket) = (
            format!("{}_sum", self.name),
            format!("{}_count", self.name),
            format!("{}_bucket", self.name),
        );
        for (index, point) in points.iter().enumerate() {
            if self.translator.series.exhausted() {
                return;
            }
            let Some((ms, labels)) = self.begin(
                index,
                point.start_time_unix_nano,
                point.time_unix_nano,
                &point.attributes,
            ) else {
                continue;
            };
            self.translator.exemplars += point.exemplars.len() as u64;
            let stale = point.flags & proto::FLAG_NO_RECORDED_VALUE != 0;
            let value = |value: f64| {
                if stale {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    value
                }
            };
            if let Some(total) = point.sum {
                self.emit(index, &labels, &sum, None, (ms, value(total)));
            }
            self.emit(
                index,
                &labels,
                &count,
                None,
                (ms, value(point.count as f64)),
            );
            let mut cumulative = 0u64;
            for (bound, bucket_count) in point.explicit_bounds.iter().zip(&point.bucket_counts) {
                // A histogram is the one place a point multiplies: stop once the budget is spent.
                if self.translator.series.exhausted() {
                    return;
                }
                cumulative = cumulative.saturating_add(*bucket_count);
                let le = format_float(*bound);
                self.emit(
                    index,
                    &labels,
                    &bucket,
                    Some(("le", &le)),
                    (ms, value(cumulative as f64)),
                );
            }
            self.emit(
                index,
                &labels,
                &bucket,
                Some(("le", "+Inf")),
                (ms, value(point.count as f64)),
            );
        }
    }

    pub(super) fn summaries(&mut self, points: &'a [proto::SummaryDataPoint]) {
        let (sum, count) = (format!("{}_sum", self.name), format!("{}_count", self.name));
        for (index, point) in points.iter().enumerate() {
            if self.translator.series.exhausted() {
                return;
            }
            let Some((ms, labels)) = self.begin(
                index,
                point.start_time_unix_nano,
                point.time_unix_nano,
                &point.attributes,
            ) else {
                continue;
            };
            let stale = point.flags & proto::FLAG_NO_RECORDED_VALUE != 0;
            let value = |value: f64| {
                if stale {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    value
                }
            };
            self.emit(index, &labels, &sum, None, (ms, value(point.sum)));
            self.emit(
                index,
                &labels,
                &count,
                None,
                (ms, value(point.count as f64)),
            );
            for quantile in &point.quantile_values {
                let label = format_float(quantile.quantile);
                self.emit(
                    index,
                    &labels,
                    self.name,
                    Some(("quantile", &label)),
                    (ms, value(quantile.value)),
                );
            }
        }
    }
}
