//! The evaluation driver: fetch every selector's samples once, then evaluate the expression
//! tree node by node over the whole step grid (each node produces all its steps at once, so
//! label work happens once per series rather than once per step).
//!
//! This is the one module that knows every kind of node: it dispatches to the leaves
//! (`selector`, `binary`, `aggregate`, `functions`), which recurse back through
//! [`Recurse`] rather than through this module.

use std::borrow::Cow;
use std::collections::HashMap;

use promql_parser::parser::token::{T_BOTTOMK, T_TOPK};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, SubqueryExpr, VectorSelector};

// `api` imports the parameters from here, next to `evaluate`.
use super::grid::EvalParams;
use super::grid::{Grid, RangeArg, Recurse, Val, drop_name, duration_ms, merge_same_labels};
use super::selector;
use super::value::{InstantSample, Labels, PromError, QueryValue, Series, SeriesSource};
use super::{aggregate, binary, functions};
use crate::budget::Budget;

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
    let plan = selector::plan(expr, &grid, params, budget)?;
    let fetched = futures::future::try_join_all(
        plan.iter()
            .map(|f| source.select(&f.matchers, f.start_ms, f.end_ms, budget)),
    )
    .await?;
    let mut data: HashMap<String, Vec<Read>> = HashMap::with_capacity(plan.len());
    for (f, mut series) in plan.into_iter().zip(fetched) {
        // The source counted the samples as it loaded them.
        budget.check_series(series.len() as u64)?;
        for s in &mut series {
            // Windows are found by binary search and cursors, which need ascending time.
            if !s.samples.is_sorted_by_key(|p| p.0) {
                s.samples.sort_by_key(|p| p.0);
            }
        }
        data.entry(f.key).or_default().push(Read {
            start_ms: f.start_ms,
            end_ms: f.end_ms,
            series,
        });
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

/// One storage read's result: the series matching a selector over `[start_ms, end_ms]`.
#[derive(Debug)]
struct Read {
    start_ms: i64,
    end_ms: i64,
    series: Vec<Series>,
}

/// The evaluation state: parameters and the samples of every selector, keyed by the
/// selector's text ([`selector::key`]) so identical selectors share their reads. One key
/// holds several reads only when its selectors need time ranges that are apart.
#[derive(Debug)]
struct Evaluator<'a> {
    params: &'a EvalParams,
    data: HashMap<String, Vec<Read>>,
    /// What the query may still spend; loops tick it so a deadline stops them.
    budget: &'a Budget,
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

    fn eval_subquery(&self, sq: &SubqueryExpr, grid: &Grid) -> Result<RangeArg<'_>, PromError> {
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
}

impl Recurse for Evaluator<'_> {
    fn eval(&self, expr: &Expr, grid: &Grid) -> Result<Val, PromError> {
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

    /// A range-vector argument: a matrix selector's raw samples, or a subquery's results
    /// timestamped with its inner evaluation times.
    fn eval_range<'e>(&'e self, expr: &Expr, grid: &Grid) -> Result<RangeArg<'e>, PromError> {
        match expr {
            Expr::Paren(p) => self.eval_range(&p.expr, grid),
            Expr::MatrixSelector(ms) => {
                let range_ms = duration_ms(&ms.range);
                let series = self.data_for(&ms.vs, grid, range_ms)?;
                Ok(RangeArg {
                    series: Cow::Borrowed(series),
                    range_ms,
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

    /// The read of `vs`'s key that covers the range the planner asked for on this node's
    /// behalf: the same function of the same grid, so it is found whenever it was planned.
    fn data_for(
        &self,
        vs: &VectorSelector,
        grid: &Grid,
        window_ms: i64,
    ) -> Result<&[Series], PromError> {
        let (start_ms, end_ms) =
            selector::read_range(vs, grid.start, grid.end(), window_ms, self.params);
        self.data
            .get(&selector::key(vs))
            .and_then(|reads| {
                reads
                    .iter()
                    .find(|r| r.start_ms <= start_ms && r.end_ms >= end_ms)
            })
            .map(|r| r.series.as_slice())
            .ok_or_else(|| PromError::Internal(format!("selector {vs} was not fetched")))
    }

    fn params(&self) -> &EvalParams {
        self.params
    }

    fn budget(&self) -> &Budget {
        self.budget
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
