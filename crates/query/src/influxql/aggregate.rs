//! Aggregate SELECTs: each group's points bucketed into windows, every reducer evaluated per
//! window (integrals across windows, as InfluxDB streams them), projections evaluated over
//! the reduced values, then `fill` and the transformations over windows.

use std::collections::BTreeMap;

use tidemark_influxql::ast::{Call, Expr, Fill, GroupByTime};
use tidemark_storage::KvDatabase;

use super::fetch::{Point, group_points};
use super::functions::{
    Picked, distinct, integral_windows, is_reducer, is_selector, reduce, transform,
};
use super::projection::{eval, reducer_field, reducers, reduction};
use super::select::Plan;
use super::selectors::is_multi_selector;
use super::shape::{Shape, aux_value, integral_at_zero, reducer_arg, transform_arg};
use super::value::{ResultSeries, Row, Value};
use super::window::{Windows, fill_columns, merge_columns};
use crate::{QueryEngine, QueryError, QueryResult};

/// One window of a group: its start, each reducer's result (`None`: it saw no point), and the
/// point a lone selector picked.
type Reduced<'a> = (i64, Vec<Option<Picked>>, Option<&'a Point>);

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Evaluates an aggregate SELECT over one measurement.
    pub(crate) async fn aggregate_series(
        &self,
        database: &str,
        plan: &Plan<'_>,
        by_time: Option<GroupByTime>,
    ) -> QueryResult<Vec<ResultSeries>> {
        let multi = plan
            .projections
            .iter()
            .any(|p| matches!(&p.expr, Expr::Call(call) if is_multi_selector(&call.name)));
        if multi {
            return self.multi_selector_series(database, plan, by_time).await;
        }
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
            if let Expr::Call(call) = &projection.expr
                && call.name == "distinct"
            {
                distinct_field = Some(reducer_field(call)?.name.clone());
            }
            let mut found = Vec::new();
            reducers(shape.inner(&projection.expr), &mut found);
            for call in found {
                if !calls.contains(&call) {
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
            .plan_points(database, plan, &fetched_tags, &fetched_fields)
            .await?;
        let windows = Windows::new(by_time, plan.range, plan.now, &points, plan.zone)?;
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
            let mut reduced: Vec<Reduced<'_>> = Vec::new();
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
