//! The selectors that return several points per window: `top` and `bottom` (the N largest or
//! smallest values, or with tag arguments the best point of each of the N best tag values)
//! and `sample` (N points at random). Each returns its points in time order, stamped with
//! their own times, beside any tags and fields selected with it.

use tidemark_influxql::ast::{Call, Expr, GroupByTime};
use tidemark_storage::KvDatabase;

use super::fetch::{Point, group_points};
use super::select::Plan;
use super::value::{ResultSeries, Row, Value};
use super::window::Windows;
use crate::{QueryEngine, QueryError, QueryResult};

/// Whether `name` is a selector of several points.
pub(crate) fn is_multi_selector(name: &str) -> bool {
    matches!(name, "top" | "bottom" | "sample")
}

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

/// A parsed `top(field, [tag, ...,] n)`, `bottom(...)` or `sample(field, n)`.
struct Selector<'a> {
    name: &'a str,
    field: &'a str,
    tags: Vec<&'a str>,
    n: usize,
}

impl<'a> Selector<'a> {
    fn parse(call: &'a Call) -> QueryResult<Self> {
        let name = call.name.as_str();
        let expected = || {
            invalid(format!(
                "invalid number of arguments for {name}, expected at least 2, got {}",
                call.args.len()
            ))
        };
        let (first, rest) = call.args.split_first().ok_or_else(expected)?;
        let (last, middle) = rest.split_last().ok_or_else(expected)?;
        let Expr::VarRef(field) = first else {
            return Err(invalid(format!(
                "expected first argument to be a field in {name}(), found {first}"
            )));
        };
        let n = match last {
            Expr::Integer(n) if *n > 0 => *n as usize,
            Expr::Integer(_) => {
                return Err(invalid(format!(
                    "limit ({last}) in {name} function must be at least 1"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "expected integer as last argument in {name}(), found {other}"
                )));
            }
        };
        let mut tags = Vec::new();
        for arg in middle {
            match arg {
                Expr::VarRef(tag) if name != "sample" => tags.push(tag.name.as_str()),
                other => {
                    return Err(invalid(format!(
                        "only fields or tags are allowed in {name}(), found {other}"
                    )));
                }
            }
        }
        Ok(Self {
            name,
            field: &field.name,
            tags,
            n,
        })
    }

    /// Picks the window's points (indices into `candidates`, which hold (time, value, tag
    /// values)), in time order.
    fn pick(&self, candidates: &[(i64, Value, Vec<Option<String>>)], seed: &mut u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        if self.name == "sample" {
            // A partial Fisher-Yates shuffle: the first n are a uniform sample.
            for index in 0..self.n.min(order.len()) {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let other = index + (*seed as usize) % (order.len() - index);
                order.swap(index, other);
            }
            order.truncate(self.n);
        } else {
            let top = self.name == "top";
            // Best first; equal values go to the earlier point.
            order.sort_by(|a, b| {
                let (a, b) = (&candidates[*a], &candidates[*b]);
                let by_value = if top {
                    b.1.total_cmp(&a.1)
                } else {
                    a.1.total_cmp(&b.1)
                };
                by_value.then(a.0.cmp(&b.0))
            });
            if !self.tags.is_empty() {
                // The best point of each tag combination, then the n best of those.
                let mut seen = std::collections::HashSet::new();
                order.retain(|index| seen.insert(candidates[*index].2.clone()));
            }
            order.truncate(self.n);
        }
        order.sort_by_key(|index| (candidates[*index].0, *index));
        order
    }
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Evaluates a SELECT whose one call is `top`, `bottom` or `sample`.
    pub(crate) async fn multi_selector_series(
        &self,
        database: &str,
        plan: &Plan<'_>,
        by_time: Option<GroupByTime>,
    ) -> QueryResult<Vec<ResultSeries>> {
        let mut selector = None;
        let mut aux = Vec::new();
        for projection in plan.projections {
            match &projection.expr {
                Expr::Call(call) if is_multi_selector(&call.name) && selector.is_none() => {
                    selector = Some((Selector::parse(call)?, projection.name.clone()));
                }
                Expr::VarRef(var) => aux.push((var.name.clone(), projection.name.clone())),
                Expr::Call(call) => {
                    return Err(invalid(format!(
                        "selector function {}() cannot be combined with other functions",
                        if is_multi_selector(&call.name) {
                            &call.name
                        } else {
                            "top"
                        }
                    )));
                }
                other => {
                    return Err(invalid(format!(
                        "invalid expression beside a selector: {other}"
                    )));
                }
            }
        }
        let Some((selector, column)) = selector else {
            return Ok(Vec::new());
        };
        if !plan.schema.fields.contains_key(selector.field) {
            return Ok(Vec::new());
        }
        let mut tags = plan.tags.to_vec();
        let mut fields = vec![selector.field.to_owned()];
        for name in selector
            .tags
            .iter()
            .map(|t| (*t).to_owned())
            .chain(aux.iter().map(|a| a.0.clone()))
        {
            if plan.schema.fields.contains_key(&name) {
                if !fields.contains(&name) {
                    fields.push(name);
                }
            } else if !tags.contains(&name) {
                tags.push(name);
            }
        }
        let points = self.plan_points(database, plan, &tags, &fields).await?;
        let windows = Windows::new(by_time, plan.range, plan.now, &points, plan.zone)?;
        let value_of = |point: &Point, name: &str| -> Value {
            if let Some(index) = fields.iter().position(|f| f == name) {
                return point.fields[index].clone();
            }
            tags.iter()
                .position(|t| t == name)
                .and_then(|index| point.tags[index].clone())
                .map_or(Value::Null, Value::String)
        };
        let mut seed = plan.now as u64 | 1;
        let mut out = Vec::new();
        for (key, points) in group_points(points, plan.tags.len()) {
            let mut rows = Vec::new();
            for (_, window) in windows.bucket(&points) {
                let window: Vec<&Point> = window
                    .into_iter()
                    .filter(|p| !p.fields[0].is_null())
                    .collect();
                let candidates: Vec<(i64, Value, Vec<Option<String>>)> = window
                    .iter()
                    .map(|p| {
                        let tag_values = selector
                            .tags
                            .iter()
                            .map(|t| match value_of(p, t) {
                                Value::String(text) => Some(text),
                                _ => None,
                            })
                            .collect();
                        (p.time, p.fields[0].clone(), tag_values)
                    })
                    .collect();
                for index in selector.pick(&candidates, &mut seed) {
                    let point = window[index];
                    let mut values = vec![point.fields[0].clone()];
                    values.extend(selector.tags.iter().map(|t| value_of(point, t)));
                    values.extend(aux.iter().map(|(name, _)| value_of(point, name)));
                    rows.push(Row {
                        time: point.time,
                        values,
                    });
                }
            }
            if rows.is_empty() {
                continue;
            }
            let mut series = plan.series(key, rows);
            series.columns = std::iter::once("time".to_owned())
                .chain(std::iter::once(column.clone()))
                .chain(selector.tags.iter().map(|t| (*t).to_owned()))
                .chain(aux.iter().map(|(_, name)| name.clone()))
                .collect();
            out.push(series);
        }
        Ok(out)
    }
}
