//! The service's [`SeriesSource`]: Prometheus metrics mapped onto measurements and fields
//! (`metrics`), series chosen from the postings by their label matchers (`postings`), and their
//! samples read straight from both tiers by the SQL scan's reader (`samples`), so hot and cold
//! data, the dedup rule and tenancy are those of every other query, without DataFusion plans or
//! a label set per row.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use promql_parser::label::Matchers;
use tidemark_storage::tsdb::{MeasurementSchema, SeriesId, SeriesKey, TenantId};
use tidemark_storage::{KvDatabase, RangeRequest, ReadWindow};

use super::metrics::{MetricColumn, catalog_metrics, labels_match, matcher_groups, name_matches};
use super::postings::select_group;
use super::samples::{MeasurementRead, PRESENCE_CHUNK, Presence, read_samples};
use super::value::{Labels, METRIC_NAME, PromError, Series, SeriesSource};
use crate::budget::Budget;
use crate::error::QueryError;
use crate::spec::Shared;

impl From<QueryError> for PromError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(message) | QueryError::Unsupported(message) => {
                Self::BadData(message)
            }
            QueryError::ResourcesExhausted(message) => {
                Self::Execution(format!("query exceeded its resources: {message}"))
            }
            QueryError::DatabaseNotFound(_) => Self::NotFound(error.to_string()),
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

/// One measurement's part of a selector: the metrics (fields) it may select there and the
/// series whose tags may match.
struct Planned<'a> {
    measurement: &'a str,
    metrics: Vec<&'a MetricColumn>,
    series: BTreeSet<SeriesId>,
}

/// Storage seen as Prometheus series, for one database.
pub(crate) struct StorageSource<D> {
    shared: Arc<Shared<D>>,
    /// None for a database nobody wrote to: every selection is empty.
    tenant: Option<TenantId>,
    metrics: Vec<MetricColumn>,
    /// The query's budget: reads run in tasks of their own, which must own a handle to it.
    budget: Arc<Budget>,
}

impl<D> std::fmt::Debug for StorageSource<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSource")
            .field("tenant", &self.tenant)
            .field("metrics", &self.metrics.len())
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> StorageSource<D> {
    pub(crate) fn new(
        shared: Arc<Shared<D>>,
        tenant: Option<TenantId>,
        schemas: &BTreeMap<String, MeasurementSchema>,
        budget: Arc<Budget>,
    ) -> Self {
        Self {
            shared,
            tenant,
            metrics: catalog_metrics(schemas),
            budget,
        }
    }

    /// Every metric and its label names.
    pub(crate) fn metrics(&self) -> &[MetricColumn] {
        &self.metrics
    }

    /// The measurements, metrics and series a selector may select (a superset: the caller
    /// checks each series' labels).
    async fn plan(
        &self,
        tenant: TenantId,
        matchers: &Matchers,
    ) -> Result<Vec<Planned<'_>>, PromError> {
        let layout = &self.shared.layout;
        let mut window = ReadWindow::new(self.shared.db.clone());
        let mut planned: BTreeMap<&str, Planned<'_>> = BTreeMap::new();
        for group in matcher_groups(matchers) {
            let mut by_measurement: BTreeMap<&str, Vec<&MetricColumn>> = BTreeMap::new();
            for metric in self.metrics.iter().filter(|m| name_matches(group, &m.name)) {
                by_measurement
                    .entry(metric.measurement.as_str())
                    .or_default()
                    .push(metric);
            }
            for (measurement, metrics) in by_measurement {
                let tags = &metrics[0].tags;
                let series =
                    select_group(&mut window, layout, tenant, measurement, tags, group).await?;
                if series.is_empty() {
                    continue;
                }
                let entry = planned.entry(measurement).or_insert_with(|| Planned {
                    measurement,
                    metrics: Vec::new(),
                    series: BTreeSet::new(),
                });
                for metric in metrics {
                    if !entry
                        .metrics
                        .iter()
                        .any(|known| known.field == metric.field)
                    {
                        entry.metrics.push(metric);
                    }
                }
                entry.series.extend(series);
            }
        }
        Ok(planned.into_values().collect())
    }

    /// The label sets of the series a selector selects that have data in the range (at the
    /// granularity of [`Presence`]).
    pub(crate) async fn label_sets(
        &self,
        matchers: &Matchers,
        (start_ms, end_ms): (i64, i64),
        budget: &Budget,
    ) -> Result<BTreeSet<Labels>, PromError> {
        let mut sets = BTreeSet::new();
        let Some(tenant) = self.tenant else {
            return Ok(sets);
        };
        let mut window = ReadWindow::new(self.shared.db.clone());
        for planned in self.plan(tenant, matchers).await? {
            let fields: Vec<String> = planned.metrics.iter().map(|m| m.field.clone()).collect();
            let series: Vec<SeriesId> = planned.series.into_iter().collect();
            let mut presence = Presence::open(
                &self.shared,
                tenant,
                planned.measurement,
                (start_ms, end_ms),
            )
            .await?;
            for chunk in series.chunks(PRESENCE_CHUNK) {
                budget.check()?;
                for (series, present) in chunk.iter().zip(presence.check(chunk, &fields).await?) {
                    let Some(present) = present else {
                        continue;
                    };
                    let key = self.key(&mut window, tenant, *series).await?;
                    for (metric, _) in planned.metrics.iter().zip(present).filter(|(_, p)| *p) {
                        let labels = labels_of(&key, &metric.name);
                        if labels_match(matchers, &labels) {
                            sets.insert(labels);
                        }
                    }
                }
                budget.check_series(sets.len() as u64)?;
            }
        }
        Ok(sets)
    }

    /// Distinct values of tag `name` across every measurement carrying it, of series with data
    /// in the range (at the granularity of [`Presence`]).
    pub(crate) async fn tag_values(
        &self,
        name: &str,
        range: (i64, i64),
        budget: &Budget,
    ) -> Result<BTreeSet<String>, PromError> {
        let mut values = BTreeSet::new();
        let Some(tenant) = self.tenant else {
            return Ok(values);
        };
        let layout = &self.shared.layout;
        let measurements: BTreeSet<&str> = self
            .metrics
            .iter()
            .filter(|metric| metric.tags.iter().any(|tag| tag == name))
            .map(|metric| metric.measurement.as_str())
            .collect();
        for measurement in measurements {
            // Each value's series, from the tag's postings.
            let mut by_value: BTreeMap<String, Vec<SeriesId>> = BTreeMap::new();
            let (begin, end) = layout.tag_postings(tenant, measurement, name);
            let mut window = ReadWindow::new(self.shared.db.clone());
            window
                .read_append_only(&RangeRequest::new(begin, end), |(key, _)| {
                    if let Some((value, series)) = layout.posting_entry(&key) {
                        by_value.entry(value).or_default().push(series);
                    }
                })
                .await
                .map_err(QueryError::from)?;
            by_value.retain(|value, _| !values.contains(value));
            // A value is present once one of its series is: check the next series of every
            // value still unseen, a chunk at a time, until each is seen or out of series.
            let mut presence = Presence::open(&self.shared, tenant, measurement, range).await?;
            let mut round = 0;
            while !by_value.is_empty() {
                let candidates: Vec<(String, SeriesId)> = by_value
                    .iter()
                    .filter_map(|(value, series)| Some((value.clone(), *series.get(round)?)))
                    .collect();
                if candidates.is_empty() {
                    break;
                }
                for chunk in candidates.chunks(PRESENCE_CHUNK) {
                    budget.check()?;
                    let series: Vec<SeriesId> = chunk.iter().map(|(_, series)| *series).collect();
                    for ((value, _), present) in
                        chunk.iter().zip(presence.check(&series, &[]).await?)
                    {
                        if present.is_some() {
                            by_value.remove(value);
                            values.insert(value.clone());
                        }
                    }
                }
                round += 1;
            }
        }
        Ok(values)
    }

    async fn key(
        &self,
        window: &mut ReadWindow<D>,
        tenant: TenantId,
        series: SeriesId,
    ) -> Result<Arc<SeriesKey>, PromError> {
        Ok(self
            .shared
            .series
            .key(window, &self.shared.layout, tenant, series)
            .await?)
    }
}

/// A series' labels as metric `name`: its tags and `__name__`, sorted.
fn labels_of(key: &SeriesKey, name: &str) -> Labels {
    let mut labels: Labels = key.tags.clone();
    labels.push((METRIC_NAME.to_owned(), name.to_owned()));
    labels.sort();
    labels
}

impl<D: KvDatabase> SeriesSource for StorageSource<D> {
    async fn select(
        &self,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
        budget: &Budget,
    ) -> Result<Vec<Series>, PromError> {
        let mut selected = Vec::new();
        let Some(tenant) = self.tenant else {
            return Ok(selected);
        };
        for planned in self.plan(tenant, matchers).await? {
            let read = MeasurementRead {
                measurement: planned.measurement.to_owned(),
                tags: planned.metrics[0].tags.clone(),
                fields: planned
                    .metrics
                    .iter()
                    .map(|metric| (metric.field.clone(), metric.kind))
                    .collect(),
                series: planned.series.into_iter().collect(),
            };
            // The evaluator passes the query's budget, the one this source was built with.
            debug_assert!(std::ptr::eq(budget, Arc::as_ptr(&self.budget)));
            let range = (start_ms, end_ms);
            let found = read_samples(&self.shared, tenant, read, range, &self.budget).await?;
            for (key, per_field) in found {
                for (metric, samples) in planned.metrics.iter().zip(per_field) {
                    if samples.is_empty() {
                        continue;
                    }
                    let labels = labels_of(&key, &metric.name);
                    if labels_match(matchers, &labels) {
                        selected.push(Series { labels, samples });
                    }
                }
            }
        }
        Ok(selected)
    }
}
