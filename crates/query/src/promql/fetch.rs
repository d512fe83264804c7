//! The service's [`SeriesSource`]: Prometheus metric names mapped onto measurements and fields,
//! read through the same DataFusion tables as SQL, so hot and cold data, the dedup rule and
//! tenancy are exactly those of every other query.
//!
//! Field `f` of measurement `m` is the metric `m_f`; the field `value` (where remote_write
//! stores samples) is the metric `m` itself. Tags are labels. Only numeric and boolean fields
//! are metrics (booleans as 0 and 1); string fields are not visible to PromQL.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampNanosecondType};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, cast as cast_expr};
use datafusion::prelude::{SessionContext, ident, lit};
use promql_parser::label::{MatchOp, Matcher, Matchers};
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::value::{Labels, METRIC_NAME, PromError, Series, SeriesSource};
use crate::error::QueryError;
use crate::predicate::TIME_COLUMN;
use crate::table::TIME_ZONE;

/// The field whose metric name is the bare measurement name.
pub(crate) const VALUE_FIELD: &str = "value";
const VALUE_ALIAS: &str = "__tidemark_value";
const NANOS_PER_MILLI: i64 = 1_000_000;

/// The Prometheus name of a field.
pub fn metric_name(measurement: &str, field: &str) -> String {
    if field == VALUE_FIELD {
        measurement.to_owned()
    } else {
        format!("{measurement}_{field}")
    }
}

/// One metric: where its samples live.
#[derive(Debug, Clone)]
pub(crate) struct MetricColumn {
    pub(crate) name: String,
    pub(crate) measurement: String,
    pub(crate) field: String,
    pub(crate) tags: Vec<String>,
}

impl From<QueryError> for PromError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(message) | QueryError::Unsupported(message) => {
                Self::BadData(message)
            }
            QueryError::ResourcesExhausted(message) => {
                Self::Execution(format!("query exceeded its resources: {message}"))
            }
            QueryError::Timeout(message) => Self::Timeout(message),
            QueryError::Busy(message) => Self::Busy(message),
            QueryError::Storage(kv) if kv.is_retryable() => {
                Self::Unavailable(format!("storage is busy ({kv}); retry"))
            }
            QueryError::Cold(message) => Self::Unavailable(format!("cold tier: {message}")),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<datafusion::error::DataFusionError> for PromError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        QueryError::from(error).into()
    }
}

/// The alternatives of a selector: a series matches when it satisfies every matcher of one
/// group (`{a="1" or b="2"}` has two groups).
pub(crate) fn matcher_groups(matchers: &Matchers) -> Vec<&[Matcher]> {
    let mut groups: Vec<&[Matcher]> = Vec::new();
    if !matchers.matchers.is_empty() || matchers.or_matchers.is_empty() {
        groups.push(&matchers.matchers);
    }
    groups.extend(matchers.or_matchers.iter().map(Vec::as_slice));
    groups
}

fn label_value<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels
        .iter()
        .find(|(label, _)| label == name)
        .map_or("", |(_, value)| value.as_str())
}

/// True when `labels` satisfy the selector (an absent label has the empty value).
pub(crate) fn labels_match(matchers: &Matchers, labels: &Labels) -> bool {
    matcher_groups(matchers).iter().any(|group| {
        group
            .iter()
            .all(|matcher| matcher.is_match(label_value(labels, &matcher.name)))
    })
}

fn name_may_match(matchers: &Matchers, name: &str) -> bool {
    matcher_groups(matchers).iter().any(|group| {
        group
            .iter()
            .filter(|matcher| matcher.name == METRIC_NAME)
            .all(|matcher| matcher.is_match(name))
    })
}

fn time_literal(millis: i64, end: bool) -> Expr {
    let nanos = millis.saturating_mul(NANOS_PER_MILLI);
    // A millisecond holds every nanosecond time that floors to it.
    let nanos = if end {
        nanos.saturating_add(NANOS_PER_MILLI - 1)
    } else {
        nanos
    };
    lit(ScalarValue::TimestampNanosecond(
        Some(nanos),
        Some(TIME_ZONE.into()),
    ))
}

/// Rows whose time floors to a millisecond in `[start_ms, end_ms]`.
fn time_filter(start_ms: i64, end_ms: i64) -> Expr {
    ident(TIME_COLUMN)
        .gt_eq(time_literal(start_ms, false))
        .and(ident(TIME_COLUMN).lt_eq(time_literal(end_ms, true)))
}

fn strings(column: &dyn Array) -> Result<Vec<Option<String>>, PromError> {
    let column = cast(column, &DataType::Utf8)
        .map_err(|error| PromError::Internal(format!("tag column: {error}")))?;
    let column = column.as_string::<i32>();
    Ok((0..column.len())
        .map(|row| {
            (!column.is_null(row))
                .then(|| column.value(row).to_owned())
                .filter(|value| !value.is_empty())
        })
        .collect())
}

/// Storage seen as Prometheus series, for one database.
pub(crate) struct StorageSource {
    context: Option<SessionContext>,
    metrics: Vec<MetricColumn>,
}

impl std::fmt::Debug for StorageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSource")
            .field("metrics", &self.metrics.len())
            .finish_non_exhaustive()
    }
}

impl StorageSource {
    /// A source over `schemas`; without a session (unknown database) every selection is empty.
    pub(crate) fn new(
        context: Option<SessionContext>,
        schemas: &BTreeMap<String, MeasurementSchema>,
    ) -> Self {
        let mut metrics = Vec::new();
        for (measurement, schema) in schemas {
            let tags: Vec<String> = schema.tags.iter().cloned().collect();
            for (field, kind) in &schema.fields {
                if *kind == FieldType::String {
                    continue;
                }
                metrics.push(MetricColumn {
                    name: metric_name(measurement, field),
                    measurement: measurement.clone(),
                    field: field.clone(),
                    tags: tags.clone(),
                });
            }
        }
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        Self { context, metrics }
    }

    /// Every metric and its label names.
    pub(crate) fn metrics(&self) -> &[MetricColumn] {
        &self.metrics
    }

    /// The metrics a selector may select.
    pub(crate) fn candidates<'a>(
        &'a self,
        matchers: &'a Matchers,
    ) -> impl Iterator<Item = &'a MetricColumn> + 'a {
        self.metrics
            .iter()
            .filter(move |metric| name_may_match(matchers, &metric.name))
    }

    fn filter(metric: &MetricColumn, matchers: &Matchers, start_ms: i64, end_ms: i64) -> Expr {
        let mut filter = time_filter(start_ms, end_ms).and(ident(&metric.field).is_not_null());
        // Equality on a tag narrows the scan through the postings; everything else is checked
        // on the labels afterwards, which also keeps `or` groups exact.
        if matchers.or_matchers.is_empty() {
            for matcher in &matchers.matchers {
                if matches!(matcher.op, MatchOp::Equal)
                    && !matcher.value.is_empty()
                    && metric.tags.contains(&matcher.name)
                {
                    filter = filter.and(ident(&matcher.name).eq(lit(matcher.value.clone())));
                }
            }
        }
        filter
    }

    fn labels(metric: &MetricColumn, tags: &[Vec<Option<String>>], row: usize) -> Labels {
        let mut labels: Labels = metric
            .tags
            .iter()
            .zip(tags)
            .filter_map(|(name, values)| values[row].clone().map(|value| (name.clone(), value)))
            .collect();
        labels.push((METRIC_NAME.to_owned(), metric.name.clone()));
        labels.sort();
        labels
    }

    async fn collect(
        &self,
        metric: &MetricColumn,
        filter: Expr,
        columns: Vec<Expr>,
        distinct: bool,
    ) -> Result<Vec<RecordBatch>, PromError> {
        let Some(context) = &self.context else {
            return Ok(Vec::new());
        };
        let frame = context
            .table(datafusion::common::TableReference::bare(
                metric.measurement.as_str(),
            ))
            .await?
            .filter(filter)?
            .select(columns)?;
        let frame = if distinct { frame.distinct()? } else { frame };
        Ok(frame.collect().await?)
    }

    /// The samples of one metric's series in `[start_ms, end_ms]`, before label matching.
    async fn read(
        &self,
        metric: &MetricColumn,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, PromError> {
        let mut columns = vec![ident(TIME_COLUMN)];
        columns.extend(metric.tags.iter().map(ident));
        columns.push(cast_expr(ident(&metric.field), DataType::Float64).alias(VALUE_ALIAS));
        let filter = Self::filter(metric, matchers, start_ms, end_ms);
        let batches = self.collect(metric, filter, columns, false).await?;
        let mut by_labels: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
        for batch in &batches {
            let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
            let tags = (0..metric.tags.len())
                .map(|index| strings(batch.column(index + 1).as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            let values = batch
                .column(metric.tags.len() + 1)
                .as_primitive::<Float64Type>();
            for row in 0..batch.num_rows() {
                if values.is_null(row) {
                    continue;
                }
                let time = times.value(row).div_euclid(NANOS_PER_MILLI);
                by_labels
                    .entry(Self::labels(metric, &tags, row))
                    .or_default()
                    .push((time, values.value(row)));
            }
        }
        Ok(by_labels
            .into_iter()
            .filter(|(labels, _)| labels_match(matchers, labels))
            .map(|(labels, mut samples)| {
                // Sub-millisecond points share a Prometheus timestamp: the latest one wins.
                samples.sort_by_key(|(time, _)| *time);
                let mut deduplicated: Vec<(i64, f64)> = Vec::with_capacity(samples.len());
                for sample in samples {
                    match deduplicated.last_mut() {
                        Some(last) if last.0 == sample.0 => *last = sample,
                        _ => deduplicated.push(sample),
                    }
                }
                Series {
                    labels,
                    samples: deduplicated,
                }
            })
            .collect())
    }

    /// The label sets of the series a selector selects that have samples in the range.
    pub(crate) async fn label_sets(
        &self,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<BTreeSet<Labels>, PromError> {
        let mut sets = BTreeSet::new();
        for metric in self.candidates(matchers) {
            let columns: Vec<Expr> = metric.tags.iter().map(ident).collect();
            let filter = Self::filter(metric, matchers, start_ms, end_ms);
            let batches = if columns.is_empty() {
                // A measurement without tags: one series, present if any row is.
                let any = self
                    .collect(metric, filter, vec![ident(TIME_COLUMN)], false)
                    .await?;
                if any.iter().any(|batch| batch.num_rows() > 0) {
                    let labels = vec![(METRIC_NAME.to_owned(), metric.name.clone())];
                    if labels_match(matchers, &labels) {
                        sets.insert(labels);
                    }
                }
                continue;
            } else {
                self.collect(metric, filter, columns, true).await?
            };
            for batch in &batches {
                let tags = (0..metric.tags.len())
                    .map(|index| strings(batch.column(index).as_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                for row in 0..batch.num_rows() {
                    let labels = Self::labels(metric, &tags, row);
                    if labels_match(matchers, &labels) {
                        sets.insert(labels);
                    }
                }
            }
        }
        Ok(sets)
    }

    /// Distinct values of tag `name` across every metric carrying it, in the range.
    pub(crate) async fn tag_values(
        &self,
        name: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<BTreeSet<String>, PromError> {
        let mut values = BTreeSet::new();
        let mut seen_measurements = BTreeSet::new();
        for metric in &self.metrics {
            if !metric.tags.iter().any(|tag| tag == name)
                || !seen_measurements.insert(metric.measurement.clone())
            {
                continue;
            }
            // Any field of the measurement will do: the tag is the measurement's.
            let filter = time_filter(start_ms, end_ms).and(ident(name).is_not_null());
            for batch in self
                .collect(metric, filter, vec![ident(name)], true)
                .await?
            {
                values.extend(strings(batch.column(0).as_ref())?.into_iter().flatten());
            }
        }
        Ok(values)
    }
}

impl SeriesSource for StorageSource {
    async fn select(
        &self,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, PromError> {
        let mut selected = Vec::new();
        for metric in self.candidates(matchers) {
            selected.extend(self.read(metric, matchers, start_ms, end_ms).await?);
        }
        Ok(selected)
    }
}
