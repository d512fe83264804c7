//! How Prometheus metrics map onto Tidemark's catalog, and how label matchers apply.
//!
//! Field `f` of measurement `m` is the metric `m_f`; the field `value` (where remote_write
//! stores samples) is the metric `m` itself. Tags are labels. Only numeric and boolean fields
//! are metrics (booleans as 0 and 1); string fields are not visible to PromQL.

use std::collections::BTreeMap;

use promql_parser::label::{Matcher, Matchers};
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::value::{Labels, METRIC_NAME};

/// The field whose metric name is the bare measurement name.
pub(crate) const VALUE_FIELD: &str = "value";

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
    pub(crate) kind: FieldType,
    pub(crate) tags: Vec<String>,
}

/// Every metric of a catalog, sorted by name.
pub(crate) fn catalog_metrics(schemas: &BTreeMap<String, MeasurementSchema>) -> Vec<MetricColumn> {
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
                kind: *kind,
                tags: tags.clone(),
            });
        }
    }
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    metrics
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

/// True when a group's `__name__` matchers accept `name`.
pub(crate) fn name_matches(group: &[Matcher], name: &str) -> bool {
    group
        .iter()
        .filter(|matcher| matcher.name == METRIC_NAME)
        .all(|matcher| matcher.is_match(name))
}
