//! SELECT: reads each measurement's points (`fetch`), groups them by the GROUP BY tags, and
//! evaluates the projections per point (raw queries) or per time window (aggregates), with
//! `fill`, transformations, ordering and the four limits applied as InfluxDB 1.x does.

use std::collections::{BTreeMap, BTreeSet};

use tidemark_influxql::TimeRange;
use tidemark_influxql::ast::{
    BinaryExpr, BinaryOp, Expr, MeasurementName, SelectStatement, Source, VarRef,
};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::MeasurementSchema;

use super::fetch::{FetchSpec, Point, group_points};
use super::functions::transform;
use super::memory::{self, MemoryMeasurement};
use super::projection::{Projection, check_arity, eval, expand, has_transformation, reducers};
use super::selectors::is_multi_selector;
use super::shape::{raw_leaf, transform_arg};
use super::value::{ResultSeries, Row, Value};
use super::window::merge_columns;
use crate::{QueryEngine, QueryError, QueryResult};

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

/// The measurements a statement's FROM names, in name order.
pub(crate) fn source_measurements<'a>(
    sources: &[Source],
    catalog: &'a BTreeMap<String, MeasurementSchema>,
    database: &str,
) -> QueryResult<Vec<&'a str>> {
    let mut names = BTreeSet::new();
    for source in sources {
        let Source::Measurement(measurement) = source else {
            return Err(QueryError::Unsupported(
                "subqueries in FROM are not supported yet".to_owned(),
            ));
        };
        if measurement
            .database
            .as_deref()
            .is_some_and(|db| db != database)
        {
            return Err(QueryError::Unsupported(
                "a statement reads one database: name it with db=, not in FROM".to_owned(),
            ));
        }
        match &measurement.name {
            MeasurementName::Name(name) => {
                if let Some((name, _)) = catalog.get_key_value(name) {
                    names.insert(name.as_str());
                }
            }
            MeasurementName::Regex(regex) => names.extend(
                catalog
                    .keys()
                    .filter(|name| regex.regex().is_match(name))
                    .map(String::as_str),
            ),
        }
    }
    Ok(names.into_iter().collect())
}

/// The GROUP BY tags of `statement` for `schema`: named tags (kept in the order written,
/// `*` and regexes expanded), sorted as InfluxDB sorts them.
fn group_tags(statement: &SelectStatement, schema: &MeasurementSchema) -> Vec<String> {
    let mut tags = BTreeSet::new();
    for dimension in &statement.dimensions {
        match dimension {
            Expr::VarRef(var) => {
                tags.insert(var.name.clone());
            }
            Expr::Wildcard(_) => tags.extend(schema.tags.iter().cloned()),
            Expr::Regex(regex) => tags.extend(
                schema
                    .tags
                    .iter()
                    .filter(|tag| regex.regex().is_match(tag))
                    .cloned(),
            ),
            _ => {}
        }
    }
    tags.into_iter().collect()
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Runs one SELECT over `database`'s catalog.
    pub(crate) async fn influxql_select(
        &self,
        database: &str,
        catalog: &BTreeMap<String, MeasurementSchema>,
        statement: &SelectStatement,
        now: i64,
    ) -> QueryResult<Vec<ResultSeries>> {
        if statement.target.is_some() {
            return Err(QueryError::Unsupported(
                "SELECT INTO is not supported yet".to_owned(),
            ));
        }
        let (condition, mut range) = statement
            .split_time_condition(now)
            .map_err(|error| invalid(error.to_string()))?;
        let by_time = statement
            .group_by_time()
            .map_err(|error| invalid(error.to_string()))?;
        let mut arity = Ok(());
        for field in &statement.fields {
            field.expr.walk(&mut |node| {
                if let Expr::Call(call) = node
                    && arity.is_ok()
                {
                    arity = check_arity(call);
                }
            });
        }
        arity?;
        let aggregate = statement.fields.iter().any(|field| {
            let mut calls = Vec::new();
            reducers(&field.expr, &mut calls);
            !calls.is_empty()
                || matches!(&field.expr, Expr::Distinct(_))
                || matches!(&field.expr, Expr::Call(call) if call.name == "distinct" || is_multi_selector(&call.name))
        });
        if by_time.is_some() && !aggregate {
            return Err(invalid("GROUP BY requires at least one aggregate function"));
        }
        if by_time.is_some() && range.max.is_none() {
            range.max = Some(now);
        }
        let zone = match &statement.timezone {
            Some(name) => Some(
                name.parse::<chrono_tz::Tz>()
                    .map_err(|_| invalid(format!("unable to find time zone {name}")))?,
            ),
            None => None,
        };
        // The sources: stored measurements, or the answers of subqueries.
        let subqueries = self
            .subquery_measurements(database, catalog, statement, range, now)
            .await?;
        let sources: Vec<(&str, &MeasurementSchema, Option<&MemoryMeasurement>)> = match &subqueries
        {
            Some(answers) => answers
                .iter()
                .map(|(name, answer)| (name.as_str(), &answer.schema, Some(answer)))
                .collect(),
            None => source_measurements(&statement.sources, catalog, database)?
                .into_iter()
                .map(|name| (name, &catalog[name], None))
                .collect(),
        };
        // Wildcards expand over every source's fields and tags together, as InfluxDB's do.
        let mut union = MeasurementSchema::default();
        for (_, schema, _) in &sources {
            union.tags.extend(schema.tags.iter().cloned());
            for (field, kind) in &schema.fields {
                union.fields.entry(field.clone()).or_insert(*kind);
            }
        }
        let projections = expand(&statement.fields, &union)?;
        let mut series = Vec::new();
        for (measurement, schema, memory) in sources {
            if projections.is_empty() {
                continue;
            }
            let tags = group_tags(statement, schema);
            // `*` leaves out the tags the answer is grouped by: they are the series' tags.
            let projections: Vec<Projection> = projections
                .iter()
                .filter(|p| {
                    !matches!(&p.expr, Expr::VarRef(var)
                        if var.data_type == Some(tidemark_influxql::ast::DataType::Tag)
                            && tags.contains(&var.name))
                })
                .cloned()
                .collect();
            let plan = Plan {
                statement,
                schema,
                measurement,
                projections: &projections,
                tags: &tags,
                condition: condition.as_ref(),
                range,
                now,
                memory,
                zone,
            };
            let mut found = if aggregate {
                self.aggregate_series(database, &plan, by_time).await?
            } else {
                self.raw_series(database, &plan).await?
            };
            series.append(&mut found);
        }
        Ok(finish(statement, series))
    }

    /// The answers of the statement's subqueries by measurement, or `None` when it reads
    /// stored measurements. The outer time range narrows each subquery's, as in InfluxDB.
    async fn subquery_measurements(
        &self,
        database: &str,
        catalog: &BTreeMap<String, MeasurementSchema>,
        statement: &SelectStatement,
        range: TimeRange,
        now: i64,
    ) -> QueryResult<Option<BTreeMap<String, MemoryMeasurement>>> {
        let inner: Vec<&SelectStatement> = statement.subqueries().collect();
        if inner.is_empty() {
            return Ok(None);
        }
        if inner.len() != statement.sources.len() {
            return Err(QueryError::Unsupported(
                "a FROM clause mixing measurements and subqueries is not supported".to_owned(),
            ));
        }
        let mut series = Vec::new();
        for subquery in inner {
            let mut subquery = subquery.clone();
            subquery.condition = with_time_range(subquery.condition.take(), range);
            let answer = Box::pin(self.influxql_select(database, catalog, &subquery, now)).await?;
            series.extend(answer);
        }
        Ok(Some(memory::measurements(series)))
    }

    /// The points of one source: read from storage, or a subquery's answer.
    pub(crate) async fn plan_points(
        &self,
        database: &str,
        plan: &Plan<'_>,
        tags: &[String],
        fields: &[String],
    ) -> QueryResult<Vec<Point>> {
        match plan.memory {
            Some(memory) => memory.points(tags, fields, plan.condition, plan.range),
            None => {
                self.influxql_points(
                    database,
                    &FetchSpec {
                        measurement: plan.measurement,
                        schema: plan.schema,
                        tags,
                        fields,
                        condition: plan.condition,
                        range: plan.range,
                    },
                )
                .await
            }
        }
    }

    async fn raw_series(&self, database: &str, plan: &Plan<'_>) -> QueryResult<Vec<ResultSeries>> {
        let (fields, extra_tags) = plan.raw_refs()?;
        if fields.is_empty() {
            // Tags alone select no point (InfluxDB 1.6 answers nothing).
            return Ok(Vec::new());
        }
        let mut fetched_tags = plan.tags.to_vec();
        fetched_tags.extend(
            extra_tags
                .iter()
                .filter(|t| !plan.tags.contains(t))
                .cloned(),
        );
        let points = self
            .plan_points(database, plan, &fetched_tags, &fields)
            .await?;
        let transforming = plan.projections.iter().any(|p| has_transformation(&p.expr));
        let mut out = Vec::new();
        for (key, points) in group_points(points, plan.tags.len()) {
            let rows = if transforming {
                let mut columns = Vec::new();
                for projection in plan.projections {
                    let Expr::Call(call) = &projection.expr else {
                        return Err(invalid(
                            "mixing transformations and other fields is not supported",
                        ));
                    };
                    let inner = call
                        .args
                        .first()
                        .ok_or_else(|| invalid("missing argument"))?;
                    let values = points
                        .iter()
                        .map(|point| {
                            Ok((
                                point.time,
                                eval(inner, &|expr| raw_leaf(point, &fields, &fetched_tags, expr))?,
                            ))
                        })
                        .filter(|value: &QueryResult<(i64, Value)>| {
                            value.as_ref().map_or(true, |(_, v)| !v.is_null())
                        })
                        .collect::<QueryResult<Vec<_>>>()?;
                    columns.push(transform(&call.name, &values, transform_arg(call, None)?));
                }
                merge_columns(columns, true)
            } else {
                points
                    .iter()
                    .map(|point| {
                        let leaf = |expr: &Expr| raw_leaf(point, &fields, &fetched_tags, expr);
                        Ok(Row {
                            time: point.time,
                            values: plan
                                .projections
                                .iter()
                                .map(|p| eval(&p.expr, &leaf))
                                .collect::<QueryResult<_>>()?,
                        })
                    })
                    .collect::<QueryResult<Vec<_>>>()?
            };
            if !rows.is_empty() {
                out.push(plan.series(key, rows));
            }
        }
        Ok(out)
    }
}

/// What one measurement's evaluation needs.
pub(crate) struct Plan<'a> {
    pub(crate) statement: &'a SelectStatement,
    pub(crate) schema: &'a MeasurementSchema,
    pub(crate) measurement: &'a str,
    pub(crate) projections: &'a [Projection],
    pub(crate) tags: &'a [String],
    pub(crate) condition: Option<&'a Expr>,
    pub(crate) range: TimeRange,
    pub(crate) now: i64,
    /// A subquery's answer to read instead of storage.
    pub(crate) memory: Option<&'a MemoryMeasurement>,
    /// The statement's `tz()`.
    pub(crate) zone: Option<chrono_tz::Tz>,
}

impl Plan<'_> {
    /// The fields and the tags the raw projections read.
    pub(crate) fn raw_refs(&self) -> QueryResult<(Vec<String>, Vec<String>)> {
        let (mut fields, mut tags) = (Vec::new(), Vec::new());
        for projection in self.projections {
            projection.expr.walk(&mut |node| {
                if let Expr::VarRef(var) = node {
                    let is_tag = var.data_type == Some(tidemark_influxql::ast::DataType::Tag)
                        || !self.schema.fields.contains_key(&var.name);
                    if is_tag && self.schema.tags.contains(&var.name) {
                        if !tags.contains(&var.name) {
                            tags.push(var.name.clone());
                        }
                    } else if !is_tag && !fields.contains(&var.name) {
                        fields.push(var.name.clone());
                    }
                }
            });
        }
        Ok((fields, tags))
    }

    pub(crate) fn series(&self, key: Vec<String>, rows: Vec<Row>) -> ResultSeries {
        let grouped = self
            .statement
            .dimensions
            .iter()
            .any(|d| !matches!(d, Expr::Call(_)));
        ResultSeries {
            name: self.measurement.to_owned(),
            tags: if grouped {
                self.tags.iter().cloned().zip(key).collect()
            } else {
                BTreeMap::new()
            },
            columns: std::iter::once("time".to_owned())
                .chain(self.projections.iter().map(|p| p.name.clone()))
                .collect(),
            has_time: true,
            rows,
            partial: false,
            zone: self.zone,
        }
    }
}

/// `condition AND time >= min AND time <= max` for the bounds `range` has.
fn with_time_range(condition: Option<Expr>, range: TimeRange) -> Option<Expr> {
    let bound = |op: BinaryOp, ns: i64| {
        Expr::Binary(Box::new(BinaryExpr {
            lhs: Expr::VarRef(VarRef {
                name: "time".to_owned(),
                data_type: None,
            }),
            op,
            rhs: Expr::Integer(ns),
        }))
    };
    let bounds = range
        .min
        .map(|min| bound(BinaryOp::GtEq, min))
        .into_iter()
        .chain(range.max.map(|max| bound(BinaryOp::LtEq, max)));
    bounds.fold(condition, |condition, bound| {
        Some(match condition {
            Some(condition) => Expr::Binary(Box::new(BinaryExpr {
                lhs: Expr::Paren(Box::new(condition)),
                op: BinaryOp::And,
                rhs: bound,
            })),
            None => bound,
        })
    })
}

/// Orders and limits the series: ORDER BY time DESC, OFFSET/LIMIT per series, and
/// SOFFSET/SLIMIT over the series.
fn finish(statement: &SelectStatement, mut series: Vec<ResultSeries>) -> Vec<ResultSeries> {
    let merged_raw = statement
        .dimensions
        .iter()
        .all(|d| matches!(d, Expr::Call(_)));
    if merged_raw {
        // Without GROUP BY tags a measurement is one series: its groups are one already.
    }
    let descending = statement.order_by.is_some_and(|order| !order.ascending);
    for one in &mut series {
        if descending {
            one.rows.reverse();
        }
        let offset = statement.offset.unwrap_or(0) as usize;
        let rows = std::mem::take(&mut one.rows);
        let rows = rows.into_iter().skip(offset);
        one.rows = match statement.limit {
            Some(limit) if limit > 0 => rows.take(limit as usize).collect(),
            _ => rows.collect(),
        };
    }
    series.retain(|one| !one.rows.is_empty());
    // SOFFSET and SLIMIT pick series in ascending order; DESC then reverses what is left.
    let soffset = statement.soffset.unwrap_or(0) as usize;
    let series = series.into_iter().skip(soffset);
    let mut series: Vec<ResultSeries> = match statement.slimit {
        Some(limit) if limit > 0 => series.take(limit as usize).collect(),
        _ => series.collect(),
    };
    if descending {
        series.reverse();
    }
    series
}
