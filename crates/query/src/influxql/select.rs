//! SELECT: reads each measurement's points (`fetch`), groups them by the GROUP BY tags, and
//! evaluates the projections per point (raw queries) or per time window (aggregates), with
//! `fill`, transformations, ordering and the four limits applied as InfluxDB 1.x does.

use std::collections::{BTreeMap, BTreeSet};

use tidemark_influxql::TimeRange;
use tidemark_influxql::ast::{
    Call, Expr, Fill, GroupByTimeOffset, MeasurementName, SelectStatement, Source,
};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::MeasurementSchema;

use super::fetch::{FetchSpec, Point, group_points};
use super::functions::{
    Picked, distinct, integral_windows, is_reducer, is_selector, is_transformation, reduce,
    transform,
};
use super::projection::{
    Projection, check_arity, eval, expand, has_transformation, reducer_field, reducers, reduction,
};
use super::value::{ResultSeries, Row, Value};
use crate::{QueryEngine, QueryError, QueryResult};

/// Most windows one statement may produce per series.
const MAX_WINDOWS: i64 = 1_000_000;

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
        let measurements = source_measurements(&statement.sources, catalog, database)?;
        let (condition, mut range) = statement
            .split_time_condition(now)
            .map_err(|error| invalid(error.to_string()))?;
        let by_time = statement
            .group_by_time()
            .map_err(|error| invalid(error.to_string()))?;
        let mut arity = Ok(());
        for field in &statement.fields {
            field.expr.walk(&mut |node| {
                if let Expr::Call(call) = node {
                    if arity.is_ok() {
                        arity = check_arity(call);
                    }
                }
            });
        }
        arity?;
        let aggregate = statement.fields.iter().any(|field| {
            let mut calls = Vec::new();
            reducers(&field.expr, &mut calls);
            !calls.is_empty()
                || matches!(&field.expr, Expr::Distinct(_))
                || matches!(&field.expr, Expr::Call(call) if call.name == "distinct")
        });
        if by_time.is_some() && !aggregate {
            return Err(invalid("GROUP BY requires at least one aggregate function"));
        }
        if by_time.is_some() && range.max.is_none() {
            range.max = Some(now);
        }
        // Wildcards expand over every source's fields and tags together, as InfluxDB's do.
        let mut union = MeasurementSchema::default();
        for measurement in &measurements {
            let schema = &catalog[*measurement];
            union.tags.extend(schema.tags.iter().cloned());
            for (field, kind) in &schema.fields {
                union.fields.entry(field.clone()).or_insert(*kind);
            }
        }
        let projections = expand(&statement.fields, &union)?;
        let mut series = Vec::new();
        for measurement in measurements {
            let schema = &catalog[measurement];
            if projections.is_empty() {
                continue;
            }
            let tags = group_tags(statement, schema);
            let plan = Plan {
                statement,
                schema,
                measurement,
                projections: &projections,
                tags: &tags,
                condition: condition.as_ref(),
                range,
                now,
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
            .influxql_points(
                database,
                &FetchSpec {
                    measurement: plan.measurement,
                    schema: plan.schema,
                    tags: &fetched_tags,
                    fields: &fields,
                    condition: plan.condition,
                    range: plan.range,
                },
            )
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

    async fn aggregate_series(
        &self,
        database: &str,
        plan: &Plan<'_>,
        by_time: Option<tidemark_influxql::ast::GroupByTime>,
    ) -> QueryResult<Vec<ResultSeries>> {
        let shapes = plan
            .projections
            .iter()
            .map(|projection| Shape::of(&projection.expr))
            .collect::<QueryResult<Vec<_>>>()?;
        // Every reducer call, once; and the fields they read.
        let mut calls: Vec<&Call> = Vec::new();
        let mut distinct_field = None;
        for (projection, shape) in plan.projections.iter().zip(&shapes) {
            if let Expr::Distinct(name) = &projection.expr {
                distinct_field = Some(name.clone());
            }
            if let Expr::Call(call) = &projection.expr {
                if call.name == "distinct" {
                    distinct_field = Some(reducer_field(call)?.name.clone());
                }
            }
            let mut found = Vec::new();
            reducers(shape.inner(&projection.expr), &mut found);
            for call in found {
                if !calls.iter().any(|known| *known == call) {
                    calls.push(call);
                }
            }
        }
        let mut fields: Vec<String> = Vec::new();
        for call in &calls {
            let name = &reducer_field(call)?.name;
            if !fields.contains(name) {
                fields.push(name.clone());
            }
        }
        if let Some(name) = &distinct_field {
            if plan.projections.len() != 1 {
                return Err(invalid(
                    "distinct() must be the only field of its statement",
                ));
            }
            fields = vec![name.clone()];
        }
        let aux: Vec<String> = plan
            .projections
            .iter()
            .filter_map(|p| match &p.expr {
                Expr::VarRef(var) => Some(var.name.clone()),
                _ => None,
            })
            .collect();
        let single_selector = calls.len() == 1 && is_selector(&calls[0].name);
        if !aux.is_empty() && !single_selector {
            return Err(invalid(
                "mixing aggregate and non-aggregate queries is not supported",
            ));
        }
        let mut fetched_tags = plan.tags.to_vec();
        let mut fetched_fields = fields.clone();
        for name in &aux {
            if plan.schema.fields.contains_key(name) {
                if !fetched_fields.contains(name) {
                    fetched_fields.push(name.clone());
                }
            } else if !fetched_tags.contains(name) {
                fetched_tags.push(name.clone());
            }
        }
        let points = self
            .influxql_points(
                database,
                &FetchSpec {
                    measurement: plan.measurement,
                    schema: plan.schema,
                    tags: &fetched_tags,
                    fields: &fetched_fields,
                    condition: plan.condition,
                    range: plan.range,
                },
            )
            .await?;
        let windows = Windows::new(by_time, plan.range, plan.now, &points)?;
        let fill = plan.statement.fill.unwrap_or(Fill::Null);
        let mut out = Vec::new();
        for (key, points) in group_points(points, plan.tags.len()) {
            let buckets = windows.bucket(&points);
            if let Some(name) = &distinct_field {
                let index = fetched_fields.iter().position(|f| f == name).unwrap_or(0);
                let mut rows = Vec::new();
                for (start, points) in &buckets {
                    let values: Vec<(i64, Value)> = points
                        .iter()
                        .filter(|p| !p.fields[index].is_null())
                        .map(|p| (p.time, p.fields[index].clone()))
                        .collect();
                    for value in distinct(&values) {
                        rows.push(Row {
                            time: *start,
                            values: vec![value],
                        });
                    }
                }
                if !rows.is_empty() {
                    out.push(plan.series(key, rows));
                }
                continue;
            }
            // Integrals run over the whole group, window after window.
            let mut integrals: BTreeMap<(usize, i64), f64> = BTreeMap::new();
            for (call_index, call) in calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name == "integral")
            {
                let field = &reducer_field(call)?.name;
                let index = fetched_fields.iter().position(|f| f == field).unwrap_or(0);
                let values: Vec<(i64, f64)> = points
                    .iter()
                    .filter_map(|p| p.fields[index].as_f64().map(|v| (p.time, v)))
                    .collect();
                let unit = reducer_arg(call, by_time)?.unwrap_or(1e9);
                let window = |time: i64| windows.window_of(time);
                let window: Option<&dyn Fn(i64) -> (i64, i64)> = if by_time.is_some() {
                    Some(&window)
                } else {
                    None
                };
                for (start, area) in integral_windows(&values, window, unit) {
                    // Without GROUP BY time InfluxDB stamps the integral at 0; the one
                    // window here starts where the range does.
                    let start = if by_time.is_some() {
                        start
                    } else {
                        windows.first
                    };
                    integrals.insert((call_index, start), area);
                }
            }
            // Per window: each reducer's result, or None where it saw no point.
            let mut reduced: Vec<(i64, Vec<Option<Picked>>, Option<&Point>)> = Vec::new();
            for (start, points) in &buckets {
                let mut results = Vec::with_capacity(calls.len());
                let mut chosen = None;
                for (call_index, call) in calls.iter().enumerate() {
                    let field = &reducer_field(call)?.name;
                    if !plan.schema.fields.contains_key(field) {
                        // A field the measurement lacks has no value at all, not even a count.
                        results.push(Some(Picked {
                            value: Value::Null,
                            time: None,
                        }));
                        continue;
                    }
                    let index = fetched_fields.iter().position(|f| f == field).unwrap_or(0);
                    let values: Vec<(i64, Value)> = points
                        .iter()
                        .filter(|p| !p.fields[index].is_null())
                        .map(|p| (p.time, p.fields[index].clone()))
                        .collect();
                    if values.is_empty() {
                        results.push(None);
                        continue;
                    }
                    let picked = match integrals.get(&(call_index, *start)) {
                        Some(area) => Picked {
                            value: Value::Float(*area),
                            time: None,
                        },
                        None if call.name == "integral" => {
                            results.push(None);
                            continue;
                        }
                        None => reduce(reduction(call), &values, reducer_arg(call, by_time)?),
                    };
                    if let Some(time) = picked.time {
                        chosen = points.iter().find(|p| p.time == time).copied();
                    }
                    results.push(Some(picked));
                }
                reduced.push((*start, results, chosen));
            }
            let any_data = reduced
                .iter()
                .any(|(_, r, _)| r.iter().any(Option::is_some));
            if !any_data {
                continue;
            }
            // Evaluate projections per window; `None` marks "no data" for fill.
            let mut columns: Vec<Vec<Option<Value>>> = Vec::new();
            for (projection, shape) in plan.projections.iter().zip(&shapes) {
                let inner = shape.inner(&projection.expr);
                let mut column = Vec::with_capacity(reduced.len());
                for (_, results, chosen) in &reduced {
                    if let Expr::VarRef(var) = inner {
                        column.push(Some(aux_value(
                            var,
                            *chosen,
                            &fetched_tags,
                            &fetched_fields,
                        )));
                        continue;
                    }
                    let mut used = Vec::new();
                    reducers(inner, &mut used);
                    let empty = used.iter().all(|call| {
                        let at = calls.iter().position(|known| known == call).unwrap_or(0);
                        results[at].is_none()
                    });
                    if empty && !used.is_empty() {
                        column.push(None);
                        continue;
                    }
                    let leaf = |expr: &Expr| -> Option<Value> {
                        let Expr::Call(call) = expr else { return None };
                        if !is_reducer(&call.name) {
                            return None;
                        }
                        let at = calls.iter().position(|known| *known == call)?;
                        Some(match &results[at] {
                            Some(picked) => picked.value.clone(),
                            None if call.name == "count" => Value::Integer(0),
                            None => Value::Null,
                        })
                    };
                    column.push(Some(eval(inner, &leaf)?));
                }
                columns.push(column);
            }
            let times: Vec<i64> = reduced
                .iter()
                .map(|(start, results, _)| {
                    if by_time.is_none() && integral_at_zero(&calls, plan.schema) {
                        0
                    } else if by_time.is_none()
                        && single_selector
                        && shapes.iter().all(Shape::is_plain)
                    {
                        results[0].as_ref().and_then(|p| p.time).unwrap_or(*start)
                    } else {
                        *start
                    }
                })
                .collect();
            let counts: Vec<bool> = plan
                .projections
                .iter()
                .map(|p| matches!(&p.expr, Expr::Call(c) if c.name == "count"))
                .collect();
            let keep = fill_columns(&mut columns, &times, fill, &counts);
            let transforming = shapes.iter().any(|s| !s.is_plain());
            let rows = if transforming {
                let mut transformed = Vec::new();
                for ((projection, shape), column) in
                    plan.projections.iter().zip(&shapes).zip(&columns)
                {
                    let series: Vec<(i64, Value)> = times
                        .iter()
                        .zip(column)
                        .zip(&keep)
                        .filter(|(_, keep)| **keep)
                        .filter_map(|((time, value), _)| {
                            value.clone().filter(|v| !v.is_null()).map(|v| (*time, v))
                        })
                        .collect();
                    transformed.push(match shape {
                        Shape::Plain => series,
                        Shape::Transformed => {
                            let Expr::Call(call) = &projection.expr else {
                                unreachable!("a transformed shape is a call")
                            };
                            transform(&call.name, &series, transform_arg(call, by_time)?)
                        }
                    });
                }
                merge_columns(transformed, true)
            } else {
                times
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| keep[*index])
                    .map(|(index, time)| Row {
                        time: *time,
                        values: columns
                            .iter()
                            .map(|column| column[index].clone().unwrap_or(Value::Null))
                            .collect(),
                    })
                    .collect()
            };
            if !rows.is_empty() {
                out.push(plan.series(key, rows));
            }
        }
        Ok(out)
    }
}

/// The value of a name in a raw point: a field, else a tag (or null).
fn raw_leaf(point: &Point, fields: &[String], tags: &[String], expr: &Expr) -> Option<Value> {
    let Expr::VarRef(var) = expr else {
        return None;
    };
    if var.data_type != Some(tidemark_influxql::ast::DataType::Tag) {
        if let Some(index) = fields.iter().position(|f| *f == var.name) {
            return Some(point.fields[index].clone());
        }
    }
    let index = tags.iter().position(|t| *t == var.name)?;
    Some(point.tags[index].clone().map_or(Value::Null, Value::String))
}

/// Whether InfluxDB 1.6 stamps this aggregate at time 0: its float integral reducer
/// starts from a zero window when there is no GROUP BY time; its integer one does not.
fn integral_at_zero(calls: &[&Call], schema: &MeasurementSchema) -> bool {
    calls.iter().all(|call| {
        call.name == "integral"
            && reducer_field(call).is_ok_and(|var| {
                schema.fields.get(&var.name) == Some(&tidemark_storage::tsdb::FieldType::Float)
            })
    })
}

fn aux_value(
    var: &tidemark_influxql::ast::VarRef,
    point: Option<&Point>,
    tags: &[String],
    fields: &[String],
) -> Value {
    let Some(point) = point else {
        return Value::Null;
    };
    if let Some(index) = fields.iter().position(|f| *f == var.name) {
        return point.fields[index].clone();
    }
    tags.iter()
        .position(|t| *t == var.name)
        .and_then(|index| point.tags[index].clone())
        .map_or(Value::Null, Value::String)
}

/// Whether a projection is a transformation over windows, or evaluated per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    Transformed,
}

impl Shape {
    fn of(expr: &Expr) -> QueryResult<Self> {
        match expr {
            Expr::Call(call) if is_transformation(&call.name) => {
                if call.args.first().is_some_and(has_transformation) {
                    return Err(QueryError::Unsupported(
                        "nested transformations are not supported".to_owned(),
                    ));
                }
                Ok(Self::Transformed)
            }
            other if has_transformation(other) => Err(QueryError::Unsupported(
                "a transformation must be the outermost call of its field".to_owned(),
            )),
            _ => Ok(Self::Plain),
        }
    }

    fn is_plain(&self) -> bool {
        *self == Self::Plain
    }

    /// The per-window expression: the transformation's argument, or the whole expression.
    fn inner<'a>(&self, expr: &'a Expr) -> &'a Expr {
        match (self, expr) {
            (Self::Transformed, Expr::Call(call)) => call.args.first().unwrap_or(expr),
            _ => expr,
        }
    }
}

/// The numeric argument of `percentile` (its rank) or `integral` (its unit, nanoseconds).
fn reducer_arg(
    call: &Call,
    _by_time: Option<tidemark_influxql::ast::GroupByTime>,
) -> QueryResult<Option<f64>> {
    Ok(match (call.name.as_str(), call.args.get(1)) {
        ("percentile", Some(Expr::Integer(p))) => Some(*p as f64),
        ("percentile", Some(Expr::Number(p))) => Some(*p),
        ("percentile", _) => {
            return Err(invalid("expected float argument in percentile()"));
        }
        ("integral", Some(Expr::Duration(unit))) => Some(*unit as f64),
        _ => None,
    })
}

/// The unit of a derivative or `elapsed`, the window of `moving_average`.
fn transform_arg(
    call: &Call,
    by_time: Option<tidemark_influxql::ast::GroupByTime>,
) -> QueryResult<Option<f64>> {
    Ok(match (call.name.as_str(), call.args.get(1)) {
        (_, Some(Expr::Duration(unit))) => Some(*unit as f64),
        ("moving_average", Some(Expr::Integer(n))) if *n >= 1 => Some(*n as f64),
        ("moving_average", _) => {
            return Err(invalid("moving_average window must be greater than 1"));
        }
        ("derivative" | "non_negative_derivative", None) => {
            Some(by_time.map_or(1e9, |by_time| by_time.interval as f64))
        }
        _ => None,
    })
}

/// Applies `fill` to every column; returns which windows to keep (all but, under
/// `fill(none)`, windows where every column lacks data).
fn fill_columns(
    columns: &mut [Vec<Option<Value>>],
    times: &[i64],
    fill: Fill,
    counts: &[bool],
) -> Vec<bool> {
    let windows = times.len();
    let keep: Vec<bool> = (0..windows)
        .map(|index| fill != Fill::None || columns.iter().any(|column| column[index].is_some()))
        .collect();
    for (column, is_count) in columns.iter_mut().zip(counts) {
        match fill {
            Fill::None => {}
            Fill::Null => {
                for value in column.iter_mut().filter(|v| v.is_none()) {
                    *value = Some(if *is_count {
                        Value::Integer(0)
                    } else {
                        Value::Null
                    });
                }
            }
            Fill::Integer(_) | Fill::Float(_) => {
                // The fill value takes the column's type: integers truncate, as InfluxDB's do.
                let number = match fill {
                    Fill::Integer(n) => n as f64,
                    Fill::Float(n) => n,
                    _ => unreachable!("a numeric fill"),
                };
                let integer = *is_count
                    || column
                        .iter()
                        .flatten()
                        .any(|v| matches!(v, Value::Integer(_)));
                let value = if integer {
                    Value::Integer(number as i64)
                } else {
                    Value::Float(number)
                };
                column
                    .iter_mut()
                    .filter(|v| v.is_none())
                    .for_each(|v| *v = Some(value.clone()));
            }
            Fill::Previous => {
                let mut previous = Value::Null;
                for value in column.iter_mut() {
                    match value {
                        Some(found) => previous = found.clone(),
                        None => *value = Some(previous.clone()),
                    }
                }
            }
            Fill::Linear => {
                let known: Vec<usize> = (0..windows).filter(|i| column[*i].is_some()).collect();
                for pair in known.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    let (Some(va), Some(vb)) = (
                        column[a].as_ref().and_then(Value::as_f64),
                        column[b].as_ref().and_then(Value::as_f64),
                    ) else {
                        continue;
                    };
                    let integer = matches!(column[a], Some(Value::Integer(_)));
                    for index in a + 1..b {
                        let value = va
                            + (vb - va) * (times[index] - times[a]) as f64
                                / (times[b] - times[a]) as f64;
                        column[index] = Some(if integer {
                            Value::Integer(value as i64)
                        } else {
                            Value::Float(value)
                        });
                    }
                }
                for value in column.iter_mut().filter(|v| v.is_none()) {
                    *value = Some(Value::Null);
                }
            }
        }
    }
    keep
}

/// Joins per-column series on time into rows; `drop_empty` leaves out rows with no value.
fn merge_columns(columns: Vec<Vec<(i64, Value)>>, drop_empty: bool) -> Vec<Row> {
    let mut rows: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let width = columns.len();
    for (index, column) in columns.into_iter().enumerate() {
        for (time, value) in column {
            rows.entry(time).or_insert_with(|| vec![Value::Null; width])[index] = value;
        }
    }
    rows.into_iter()
        .filter(|(_, values)| !drop_empty || values.iter().any(|v| !v.is_null()))
        .map(|(time, values)| Row { time, values })
        .collect()
}

/// The windows of an aggregate: GROUP BY time's buckets, or one window for everything.
struct Windows {
    interval: i64,
    offset: i64,
    first: i64,
    last: i64,
    single: bool,
}

impl Windows {
    fn new(
        by_time: Option<tidemark_influxql::ast::GroupByTime>,
        range: TimeRange,
        now: i64,
        points: &[Point],
    ) -> QueryResult<Self> {
        let Some(by_time) = by_time else {
            let start = range.min.unwrap_or(0);
            return Ok(Self {
                interval: 1,
                offset: 0,
                first: start,
                last: start,
                single: true,
            });
        };
        let offset = match by_time.offset {
            GroupByTimeOffset::Duration(offset) => offset,
            GroupByTimeOffset::Now => now.rem_euclid(by_time.interval),
        };
        let start_of = |t: i64| t - (t - offset).rem_euclid(by_time.interval);
        let min = range
            .min
            .or_else(|| points.iter().map(|p| p.time).min())
            .unwrap_or(now);
        let max = range.max.unwrap_or(now);
        let (first, last) = (start_of(min), start_of(max.max(min)));
        if (last - first) / by_time.interval >= MAX_WINDOWS {
            return Err(QueryError::ResourcesExhausted(format!(
                "GROUP BY time gives more than {MAX_WINDOWS} windows; use a larger interval or a shorter range"
            )));
        }
        Ok(Self {
            interval: by_time.interval,
            offset,
            first,
            last,
            single: false,
        })
    }

    /// The [start, end) of the window holding `time`.
    fn window_of(&self, time: i64) -> (i64, i64) {
        let start = time - (time - self.offset).rem_euclid(self.interval);
        (start, start + self.interval)
    }

    /// Every window's start and its points (time order kept).
    fn bucket<'a>(&self, points: &'a [Point]) -> Vec<(i64, Vec<&'a Point>)> {
        if self.single {
            return vec![(self.first, points.iter().collect())];
        }
        let count = ((self.last - self.first) / self.interval + 1) as usize;
        let mut buckets: Vec<(i64, Vec<&Point>)> = (0..count)
            .map(|i| (self.first + i as i64 * self.interval, Vec::new()))
            .collect();
        for point in points {
            let start = point.time - (point.time - self.offset).rem_euclid(self.interval);
            let index = (start - self.first) / self.interval;
            if (0..count as i64).contains(&index) {
                buckets[index as usize].1.push(point);
            }
        }
        buckets
    }
}

/// What one measurement's evaluation needs.
struct Plan<'a> {
    statement: &'a SelectStatement,
    schema: &'a MeasurementSchema,
    measurement: &'a str,
    projections: &'a [Projection],
    tags: &'a [String],
    condition: Option<&'a Expr>,
    range: TimeRange,
    now: i64,
}

impl Plan<'_> {
    /// The fields and the tags the raw projections read.
    fn raw_refs(&self) -> QueryResult<(Vec<String>, Vec<String>)> {
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

    fn series(&self, key: Vec<String>, rows: Vec<Row>) -> ResultSeries {
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
        }
    }
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
