//! The evaluation driver: fetch every selector's samples once, then evaluate the expression
//! tree node by node over the whole step grid (each node produces all its steps at once, so
//! label work happens once per series rather than once per step).

use std::borrow::Cow;
use std::collections::HashMap;

use promql_parser::parser::token::{T_BOTTOMK, T_TOPK};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, SubqueryExpr};

use super::selector::{self, RangeArg};
use super::value::{
    InstantSample, Labels, METRIC_NAME, PromError, QueryValue, Series, SeriesSource,
};
use super::{aggregate, binary, functions};
use crate::budget::Budget;

/// Evaluation parameters of one query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalParams {
    /// First evaluation time (ms).
    pub start_ms: i64,
    /// Last evaluation time (ms); equals `start_ms` for instant queries.
    pub end_ms: i64,
    /// Distance between evaluation times (ms); ignored for instant queries.
    pub step_ms: i64,
    /// How far back an instant selector looks for a sample (ms).
    pub lookback_ms: i64,
    /// Subquery resolution when the subquery gives none (ms).
    pub default_subquery_step_ms: i64,
    /// Instant query: the result is a vector/scalar/string (or a matrix for range-vector
    /// expressions) at `start_ms`.
    pub instant: bool,
}

/// Evaluates `expr` against `source`.
pub async fn evaluate<S: SeriesSource>(
    source: &S,
    expr: &Expr,
    params: &EvalParams,
    budget: &Budget,
) -> Result<QueryValue, PromError> {
    let grid = top_grid(params, budget)?;
    if !params.instant {
        match expr.value_type() {
            ValueType::String => {
                return Err(PromError::BadData(
                    "invalid expression type \"string\" for range query, must be Scalar or instant Vector"
                        .into(),
                ));
            }
            ValueType::Matrix => {
                return Err(PromError::BadData(
                    "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
                        .into(),
                ));
            }
            _ => {}
        }
    }
    let mut plan = Vec::new();
    selector::plan(expr, grid.start, grid.end(), params, budget, &mut plan)?;
    let fetched = futures::future::try_join_all(
        plan.iter()
            .map(|f| source.select(&f.matchers, f.start_ms, f.end_ms, budget)),
    )
    .await?;
    let mut data = HashMap::with_capacity(plan.len());
    for (f, mut series) in plan.iter().zip(fetched) {
        // The source counted the samples as it loaded them.
        budget.check_series(series.len() as u64)?;
        for s in &mut series {
            // Windows are found by binary search and cursors, which need ascending time.
            if !s.samples.is_sorted_by_key(|p| p.0) {
                s.samples.sort_by_key(|p| p.0);
            }
        }
        data.insert(f.key, series);
    }
    let ev = Evaluator {
        params,
        data,
        budget,
    };
    ev.top_level(expr, &grid)
}

fn top_grid(params: &EvalParams, budget: &Budget) -> Result<Grid, PromError> {
    if params.instant {
        return Ok(Grid {
            start: params.start_ms,
            step: 1,
            len: 1,
        });
    }
    if params.step_ms <= 0 {
        return Err(PromError::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
                .into(),
        ));
    }
    if params.end_ms < params.start_ms {
        return Err(PromError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    Grid::new(
        params.start_ms,
        params.step_ms,
        params.end_ms.saturating_sub(params.start_ms) / params.step_ms + 1,
        budget,
    )
}

/// Evaluation times `start + i * step` for `i < len`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    pub(crate) start: i64,
    pub(crate) step: i64,
    pub(crate) len: usize,
}

impl Grid {
    /// A grid of `len` steps; more than the budget's step limit is refused (mostly subqueries
    /// with a tiny step, whose grid would not fit in memory).
    pub(crate) fn new(start: i64, step: i64, len: i64, budget: &Budget) -> Result<Self, PromError> {
        budget.check_steps(u64::try_from(len.max(0)).unwrap_or(0))?;
        Ok(Self {
            start,
            step,
            len: usize::try_from(len.max(0)).unwrap_or(0),
        })
    }

    pub(crate) fn time(&self, i: usize) -> i64 {
        self.start.saturating_add(
            self.step
                .saturating_mul(i64::try_from(i).unwrap_or(i64::MAX)),
        )
    }

    /// Last evaluation time; `start - step` for an empty grid so that `[start, end]` is empty.
    pub(crate) fn end(&self) -> i64 {
        self.start
            .saturating_add(self.step.saturating_mul(self.len as i64 - 1))
    }
}

/// One series of an instant vector over a grid: the steps where it has a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VSeries {
    pub(crate) labels: Labels,
    /// `(step index, value)`, ascending step index, at most one point per step.
    pub(crate) points: Vec<(u32, f64)>,
}

/// The value of an instant-typed node over a grid.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<VSeries>),
}

/// The evaluation state: parameters and the samples of every selector, keyed by the address
/// of its `VectorSelector` node in the (borrowed, hence unmoving) expression tree.
#[derive(Debug)]
pub(crate) struct Evaluator<'a> {
    pub(crate) params: &'a EvalParams,
    pub(crate) data: HashMap<usize, Vec<Series>>,
    /// What the query may still spend; loops tick it so a deadline stops them.
    pub(crate) budget: &'a Budget,
}

impl Evaluator<'_> {
    fn top_level(&self, expr: &Expr, grid: &Grid) -> Result<QueryValue, PromError> {
        let t = grid.start;
        if self.params.instant && expr.value_type() == ValueType::Matrix {
            let arg = self.eval_range(expr, grid)?;
            let end = arg.eval_time(t);
            let mut out: Vec<Series> = arg
                .series
                .iter()
                .filter_map(|s| {
                    let w = selector::window(&s.samples, end - arg.range_ms, end);
                    (!w.is_empty()).then(|| Series {
                        labels: s.labels.clone(),
                        samples: w.to_vec(),
                    })
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            return Ok(QueryValue::Matrix(out));
        }
        match self.eval(expr, grid)? {
            Val::Str(s) => Ok(QueryValue::String(t, s)),
            Val::Scalar(v) if self.params.instant => Ok(QueryValue::Scalar(
                t,
                v.first().copied().unwrap_or(f64::NAN),
            )),
            Val::Scalar(v) => Ok(QueryValue::Matrix(vec![Series {
                labels: Labels::new(),
                samples: v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| (grid.time(i), x))
                    .collect(),
            }])),
            Val::Vector(series) => {
                let mut series = merge_same_labels(series)?;
                if self.params.instant {
                    if !keeps_order(expr) {
                        series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    Ok(QueryValue::Vector(
                        series
                            .into_iter()
                            .filter_map(|s| {
                                s.points.first().map(|&(_, value)| InstantSample {
                                    labels: s.labels,
                                    time_ms: t,
                                    value,
                                })
                            })
                            .collect(),
                    ))
                } else {
                    series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    Ok(QueryValue::Matrix(
                        series
                            .into_iter()
                            .map(|s| Series {
                                samples: s
                                    .points
                                    .iter()
                                    .map(|&(i, v)| (grid.time(i as usize), v))
                                    .collect(),
                                labels: s.labels,
                            })
                            .collect(),
                    ))
                }
            }
        }
    }

    pub(crate) fn eval(&self, expr: &Expr, grid: &Grid) -> Result<Val, PromError> {
        self.budget.check()?;
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; grid.len])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, grid),
            Expr::Unary(u) => match self.eval(&u.expr, grid)? {
                Val::Scalar(mut v) => {
                    v.iter_mut().for_each(|x| *x = -*x);
                    Ok(Val::Scalar(v))
                }
                Val::Vector(mut series) => {
                    for s in &mut series {
                        drop_name(&mut s.labels);
                        s.points.iter_mut().for_each(|p| p.1 = -p.1);
                    }
                    Ok(Val::Vector(merge_same_labels(series)?))
                }
                Val::Str(_) => Err(PromError::BadData(
                    "unary expression only allowed on expressions of type scalar or vector".into(),
                )),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(selector::instant(self, vs, grid, false)?)),
            Expr::Binary(b) => binary::eval_binary(self, b, grid),
            Expr::Aggregate(a) => aggregate::eval_aggregate(self, a, grid),
            Expr::Call(c) => functions::eval_call(self, c, grid),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => Err(PromError::BadData(
                "range vector used where an instant vector or scalar is expected".into(),
            )),
            Expr::Extension(_) => Err(PromError::BadData(
                "extension expressions are not supported".into(),
            )),
        }
    }

    pub(crate) fn eval_vector(&self, expr: &Expr, grid: &Grid) -> Result<Vec<VSeries>, PromError> {
        match self.eval(expr, grid)? {
            Val::Vector(v) => Ok(v),
            _ => Err(PromError::BadData(format!(
                "expected instant vector, got {expr}"
            ))),
        }
    }

    pub(crate) fn eval_scalar(&self, expr: &Expr, grid: &Grid) -> Result<Vec<f64>, PromError> {
        match self.eval(expr, grid)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(PromError::BadData(format!("expected scalar, got {expr}"))),
        }
    }

    pub(crate) fn eval_string(&self, expr: &Expr, grid: &Grid) -> Result<String, PromError> {
        match self.eval(expr, grid)? {
            Val::Str(s) => Ok(s),
            _ => Err(PromError::BadData(format!("expected string, got {expr}"))),
        }
    }

    /// A range-vector argument: a matrix selector's raw samples, or a subquery's results
    /// timestamped with its inner evaluation times.
    pub(crate) fn eval_range<'e>(
        &'e self,
        expr: &Expr,
        grid: &Grid,
    ) -> Result<RangeArg<'e>, PromError> {
        match expr {
            Expr::Paren(p) => self.eval_range(&p.expr, grid),
            Expr::MatrixSelector(ms) => {
                let series = self.data_for(&ms.vs)?;
                Ok(RangeArg {
                    series: Cow::Borrowed(series),
                    range_ms: duration_ms(&ms.range),
                    at_ms: selector::at_ms(&ms.vs.at, self.params),
                    offset_ms: selector::offset_ms(&ms.vs.offset),
                })
            }
            Expr::Subquery(sq) => self.eval_subquery(sq, grid),
            _ => Err(PromError::BadData(format!(
                "expected range vector, got {expr}"
            ))),
        }
    }

    fn eval_subquery<'e>(
        &'e self,
        sq: &SubqueryExpr,
        grid: &Grid,
    ) -> Result<RangeArg<'e>, PromError> {
        let inner = selector::subquery_grid(sq, grid.start, grid.end(), self.params, self.budget)?;
        let series = if inner.len == 0 {
            Vec::new()
        } else {
            let evaluated = self.eval_vector(&sq.expr, &inner)?;
            // A subquery's points are held like samples while its range function runs.
            let points: usize = evaluated.iter().map(|s| s.points.len()).sum();
            self.budget.add_samples(points as u64)?;
            evaluated
                .into_iter()
                .filter(|s| !s.points.is_empty())
                .map(|s| Series {
                    samples: s
                        .points
                        .iter()
                        .map(|&(i, v)| (inner.time(i as usize), v))
                        .collect(),
                    labels: s.labels,
                })
                .collect()
        };
        Ok(RangeArg {
            series: Cow::Owned(series),
            range_ms: duration_ms(&sq.range),
            at_ms: selector::at_ms(&sq.at, self.params),
            offset_ms: selector::offset_ms(&sq.offset),
        })
    }

    pub(crate) fn data_for(
        &self,
        vs: &promql_parser::parser::VectorSelector,
    ) -> Result<&[Series], PromError> {
        self.data
            .get(&selector::key(vs))
            .map(Vec::as_slice)
            .ok_or_else(|| PromError::Internal(format!("selector {vs} was not fetched")))
    }
}

/// Whether the instant-query result keeps the order the expression produced.
fn keeps_order(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(p) => keeps_order(&p.expr),
        Expr::Call(c) => matches!(
            c.func.name,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
        ),
        Expr::Aggregate(a) => matches!(a.op.id(), T_TOPK | T_BOTTOMK),
        _ => false,
    }
}

pub(crate) fn duration_ms(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn drop_name(labels: &mut Labels) {
    labels.retain(|(n, _)| n != METRIC_NAME);
}

pub(crate) fn same_labelset_error() -> PromError {
    PromError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Drops empty series and merges series with equal labels, as a range evaluation does when
/// it collects each step's vector into output series; two of them with a value at the same
/// step is the "same labelset" error Prometheus raises for that step's vector.
pub(crate) fn merge_same_labels(mut series: Vec<VSeries>) -> Result<Vec<VSeries>, PromError> {
    series.retain(|s| !s.points.is_empty());
    let mut index: HashMap<&Labels, usize> = HashMap::with_capacity(series.len());
    let mut duplicate = false;
    for (i, s) in series.iter().enumerate() {
        if index.insert(&s.labels, i).is_some() {
            duplicate = true;
            break;
        }
    }
    drop(index);
    if !duplicate {
        return Ok(series);
    }
    let mut out: Vec<VSeries> = Vec::with_capacity(series.len());
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut merged = vec![false; series.len()];
    for s in series {
        match index.get(&s.labels) {
            Some(&i) => {
                out[i].points.extend(s.points);
                merged[i] = true;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    for (s, _) in out.iter_mut().zip(&merged).filter(|(_, m)| **m) {
        s.points.sort_by_key(|p| p.0);
        if s.points.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(same_labelset_error());
        }
    }
    Ok(out)
}

/// Like [`merge_same_labels`], but any two non-empty series with equal labels are an error,
/// as after a range-vector function in Prometheus.
pub(crate) fn check_unique_labels(mut series: Vec<VSeries>) -> Result<Vec<VSeries>, PromError> {
    series.retain(|s| !s.points.is_empty());
    let mut seen = std::collections::HashSet::with_capacity(series.len());
    if series.iter().all(|s| seen.insert(&s.labels)) {
        Ok(series)
    } else {
        Err(same_labelset_error())
    }
}

/// Prometheus's `Labels.String()`: `{a="x", b="y"}`.
pub(crate) fn fmt_labels(labels: &Labels) -> String {
    let body: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", body.join(", "))
}
