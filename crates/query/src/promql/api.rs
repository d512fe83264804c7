//! The Prometheus HTTP API's operations on a database: PromQL queries, series, label names
//! and label values. The server adds parameters parsing and JSON; this is the semantics.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::{Expr, parse};
use tidemark_storage::KvDatabase;

use super::eval::{EvalParams, evaluate};
use super::fetch::StorageSource;
use super::value::{Labels, METRIC_NAME, PromError, QueryValue};
use crate::engine::QueryEngine;
use crate::error::QueryError;

/// Parses a `match[]` series selector (`up`, `{job="x"}`, `up{job=~"a|b"}`).
pub fn parse_selector(text: &str) -> Result<Matchers, PromError> {
    let invalid =
        |reason: String| PromError::BadData(format!("invalid match[] {text:?}: {reason}"));
    match parse(text).map_err(invalid)? {
        Expr::VectorSelector(selector) => {
            let mut matchers = selector.matchers;
            if let Some(name) = selector.name {
                matchers = matchers.append(Matcher::new(MatchOp::Equal, METRIC_NAME, &name));
            }
            Ok(matchers)
        }
        _ => Err(invalid("not a series selector".into())),
    }
}

fn parse_selectors(selectors: &[String]) -> Result<Vec<Matchers>, PromError> {
    selectors.iter().map(|text| parse_selector(text)).collect()
}

/// The label sets of the series any of `selectors` selects, with samples in the range.
async fn selected(
    source: &StorageSource,
    selectors: &[Matchers],
    start_ms: i64,
    end_ms: i64,
) -> Result<BTreeSet<Labels>, PromError> {
    let mut sets = BTreeSet::new();
    for matchers in selectors {
        sets.extend(source.label_sets(matchers, start_ms, end_ms).await?);
    }
    Ok(sets)
}

impl<D: KvDatabase> QueryEngine<D> {
    async fn prom_source(&self, database: &str) -> Result<StorageSource, PromError> {
        match self.promql_session(database).await {
            Ok((context, schemas)) => Ok(StorageSource::new(Some(context), &schemas)),
            // A database nobody wrote to yet holds no series: empty results, as Prometheus
            // answers for metrics it has never seen.
            Err(QueryError::DatabaseNotFound(_)) => Ok(StorageSource::new(None, &BTreeMap::new())),
            Err(error) => Err(error.into()),
        }
    }

    /// Evaluates a PromQL expression (instant when `params.instant`, else a range query).
    pub async fn promql(
        &self,
        database: &str,
        query: &str,
        params: &EvalParams,
    ) -> Result<QueryValue, PromError> {
        let expr = parse(query)
            .map_err(|error| PromError::BadData(format!("invalid parameter \"query\": {error}")))?;
        let source = self.prom_source(database).await?;
        evaluate(&source, &expr, params).await
    }

    /// The label sets of the series any selector selects, with samples in the range.
    pub async fn prom_series(
        &self,
        database: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Labels>, PromError> {
        let selectors = parse_selectors(selectors)?;
        let source = self.prom_source(database).await?;
        Ok(selected(&source, &selectors, start_ms, end_ms)
            .await?
            .into_iter()
            .collect())
    }

    /// Label names, of every metric or of the series the selectors select.
    pub async fn prom_label_names(
        &self,
        database: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, PromError> {
        let matchers = parse_selectors(selectors)?;
        let source = self.prom_source(database).await?;
        let mut names = BTreeSet::new();
        if matchers.is_empty() {
            // Without a selector the catalog answers, without reading samples.
            for metric in source.metrics() {
                names.insert(METRIC_NAME.to_owned());
                names.extend(metric.tags.iter().cloned());
            }
        } else {
            for labels in selected(&source, &matchers, start_ms, end_ms).await? {
                names.extend(labels.into_iter().map(|(name, _)| name));
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Values of label `name`, across everything or the series the selectors select.
    pub async fn prom_label_values(
        &self,
        database: &str,
        name: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, PromError> {
        let matchers = parse_selectors(selectors)?;
        let source = self.prom_source(database).await?;
        let mut values = BTreeSet::new();
        if matchers.is_empty() {
            if name == METRIC_NAME {
                values.extend(source.metrics().iter().map(|metric| metric.name.clone()));
            } else {
                values = source.tag_values(name, start_ms, end_ms).await?;
            }
        } else {
            for labels in selected(&source, &matchers, start_ms, end_ms).await? {
                values.extend(
                    labels
                        .into_iter()
                        .filter(|(label, _)| label == name)
                        .map(|(_, value)| value),
                );
            }
        }
        Ok(values.into_iter().collect())
    }
}
