//! The Prometheus HTTP API's operations on a database: PromQL queries, series, label names
//! and label values. The server adds parameters parsing and JSON; this is the semantics.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::Expr;
use tidemark_storage::KvDatabase;

use super::bounds::{check_expression, parse_expression};
use super::eval::evaluate;
use super::fetch::StorageSource;
use super::grid::EvalParams;
use super::value::{Labels, METRIC_NAME, PromError, QueryValue};
use crate::budget::Budget;
use crate::engine::QueryEngine;
use crate::error::QueryError;

/// Parses a `match[]` series selector (`up`, `{job="x"}`, `up{job=~"a|b"}`).
pub fn parse_selector(text: &str) -> Result<Matchers, PromError> {
    let invalid =
        |reason: String| PromError::BadData(format!("invalid match[] {text:?}: {reason}"));
    match parse_expression(text).map_err(invalid)? {
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

impl<D: KvDatabase> QueryEngine<D> {
    /// Checks an expression's text against the limits before anything parses it.
    fn check_promql(&self, text: &str) -> Result<(), PromError> {
        self.check_text(text).map_err(PromError::from)?;
        check_expression(text, self.limits.max_expression_depth)
    }

    /// Parses `match[]` selectors, each checked first.
    fn parse_selectors(&self, selectors: &[String]) -> Result<Vec<Matchers>, PromError> {
        selectors
            .iter()
            .map(|text| {
                self.check_promql(text)?;
                parse_selector(text)
            })
            .collect()
    }

    /// Runs a Prometheus API call of `database` on the query runtime, under a budget with the
    /// client's `timeout` (capped).
    async fn run_prom<T, W>(
        &self,
        database: &str,
        timeout: Option<Duration>,
        work: impl FnOnce(Self, Arc<Budget>) -> W,
    ) -> Result<T, PromError>
    where
        T: Send + 'static,
        W: Future<Output = Result<T, PromError>> + Send + 'static,
    {
        let budget = self.budget(timeout);
        let work = work(self.clone(), Arc::clone(&budget));
        let outcome = self
            .run(Some(database), budget, async move { Ok(work.await) })
            .await;
        match outcome {
            Ok(result) => result,
            Err(error) => Err(error.into()),
        }
    }
}

/// The label sets of the series any of `selectors` selects, with samples in the range.
async fn selected<D: KvDatabase>(
    source: &StorageSource<D>,
    selectors: &[Matchers],
    start_ms: i64,
    end_ms: i64,
    budget: &Budget,
) -> Result<BTreeSet<Labels>, PromError> {
    let mut sets = BTreeSet::new();
    for matchers in selectors {
        sets.extend(
            source
                .label_sets(matchers, (start_ms, end_ms), budget)
                .await?,
        );
        budget.check_series(sets.len() as u64)?;
    }
    Ok(sets)
}

impl<D: KvDatabase> QueryEngine<D> {
    /// The database as a series source whose reads count against `budget`.
    async fn prom_source(
        &self,
        database: &str,
        budget: &Arc<Budget>,
    ) -> Result<StorageSource<D>, PromError> {
        let shared = Arc::clone(&self.shared);
        let budget = Arc::clone(budget);
        match self.read_catalog(database).await {
            Ok((tenant, schemas)) => Ok(StorageSource::new(shared, Some(tenant), &schemas, budget)),
            // The default database before its first write holds no series: empty results, as
            // Prometheus answers for metrics it has never seen. Any other unknown database is
            // a mistake worth saying so (404), as in SQL.
            Err(QueryError::DatabaseNotFound(name))
                if self.config.implicit_database.as_deref() == Some(name.as_str()) =>
            {
                Ok(StorageSource::new(shared, None, &BTreeMap::new(), budget))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Evaluates a PromQL expression (instant when `params.instant`, else a range query),
    /// under the client's `timeout` (capped by the server's limit).
    pub async fn promql(
        &self,
        database: &str,
        query: &str,
        params: &EvalParams,
        timeout: Option<Duration>,
    ) -> Result<QueryValue, PromError> {
        self.check_promql(query)?;
        let (database_owned, query, params) = (database.to_owned(), query.to_owned(), *params);
        self.run_prom(database, timeout, move |engine, budget| async move {
            let expr = parse_expression(&query).map_err(|error| {
                PromError::BadData(format!("invalid parameter \"query\": {error}"))
            })?;
            let source = engine.prom_source(&database_owned, &budget).await?;
            evaluate(&source, &expr, &params, &budget).await
        })
        .await
    }

    /// The label sets of the series any selector selects, with samples in the range.
    pub async fn prom_series(
        &self,
        database: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Labels>, PromError> {
        let selectors = self.parse_selectors(selectors)?;
        let owned = database.to_owned();
        self.run_prom(database, None, move |engine, budget| async move {
            let source = engine.prom_source(&owned, &budget).await?;
            let sets = selected(&source, &selectors, start_ms, end_ms, &budget).await?;
            Ok(sets.into_iter().collect())
        })
        .await
    }

    /// Label names, of every metric or of the series the selectors select.
    pub async fn prom_label_names(
        &self,
        database: &str,
        selectors: &[String],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<String>, PromError> {
        let matchers = self.parse_selectors(selectors)?;
        let owned = database.to_owned();
        self.run_prom(database, None, move |engine, budget| async move {
            engine
                .label_names(&owned, &matchers, (start_ms, end_ms), &budget)
                .await
        })
        .await
    }

    async fn label_names(
        &self,
        database: &str,
        matchers: &[Matchers],
        (start_ms, end_ms): (i64, i64),
        budget: &Arc<Budget>,
    ) -> Result<Vec<String>, PromError> {
        let source = self.prom_source(database, budget).await?;
        let mut names = BTreeSet::new();
        if matchers.is_empty() {
            // Without a selector the catalog answers, without reading samples.
            for metric in source.metrics() {
                names.insert(METRIC_NAME.to_owned());
                names.extend(metric.tags.iter().cloned());
            }
        } else {
            for labels in selected(&source, matchers, start_ms, end_ms, budget).await? {
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
        let matchers = self.parse_selectors(selectors)?;
        let (owned, name) = (database.to_owned(), name.to_owned());
        self.run_prom(database, None, move |engine, budget| async move {
            engine
                .label_values(&owned, &name, &matchers, (start_ms, end_ms), &budget)
                .await
        })
        .await
    }

    async fn label_values(
        &self,
        database: &str,
        name: &str,
        matchers: &[Matchers],
        (start_ms, end_ms): (i64, i64),
        budget: &Arc<Budget>,
    ) -> Result<Vec<String>, PromError> {
        let source = self.prom_source(database, budget).await?;
        let mut values = BTreeSet::new();
        if matchers.is_empty() {
            if name == METRIC_NAME {
                values.extend(source.metrics().iter().map(|metric| metric.name.clone()));
            } else {
                values = source.tag_values(name, (start_ms, end_ms), budget).await?;
            }
        } else {
            for labels in selected(&source, matchers, start_ms, end_ms, budget).await? {
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
