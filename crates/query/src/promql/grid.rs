//! The vocabulary the evaluator and its leaves (selectors, operators, functions) share: the
//! step grid and the values a node produces over it, the label rules every node applies to
//! its output, and [`Recurse`], the evaluator as a leaf sees it.
//!
//! It lives apart from `eval` so that the leaves, which the evaluator dispatches to, never
//! depend on the evaluator in return: a leaf recurses into its operands through [`Recurse`]
//! without knowing who implements it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use promql_parser::parser::{Expr, VectorSelector};

use super::value::{Labels, METRIC_NAME, PromError, Series};
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

/// A range-vector argument of a function.
///
/// A matrix selector's series may hold samples outside every window its node looks at (the
/// read is shared with identical selectors that need a wider range), so consumers find their
/// windows by time, never by assuming the series starts or ends at a window's edge.
#[derive(Debug)]
pub(crate) struct RangeArg<'a> {
    pub(crate) series: Cow<'a, [Series]>,
    pub(crate) range_ms: i64,
    pub(crate) at_ms: Option<i64>,
    pub(crate) offset_ms: i64,
}

impl RangeArg<'_> {
    /// The end of the window evaluated at step time `t`.
    pub(crate) fn eval_time(&self, t: i64) -> i64 {
        self.at_ms.unwrap_or(t).saturating_sub(self.offset_ms)
    }
}

/// The evaluator as the leaves see it: evaluating a subexpression over a grid, and the
/// samples fetched for a selector. A trait object rather than the evaluator type so that the
/// leaves compile against this module alone (see the module docs).
pub(crate) trait Recurse {
    /// Evaluates an instant-typed expression over `grid`.
    fn eval(&self, expr: &Expr, grid: &Grid) -> Result<Val, PromError>;

    /// A range-vector argument (matrix selector or subquery) evaluated over `grid`.
    fn eval_range<'e>(&'e self, expr: &Expr, grid: &Grid) -> Result<RangeArg<'e>, PromError>;

    /// The sorted series fetched for `vs` where a node evaluated over `grid` looks back
    /// `window_ms` from each step: they cover that node's range, and may hold more.
    fn data_for(
        &self,
        vs: &VectorSelector,
        grid: &Grid,
        window_ms: i64,
    ) -> Result<&[Series], PromError>;

    fn params(&self) -> &EvalParams;

    /// What the query may still spend; loops tick it so a deadline stops them.
    fn budget(&self) -> &Budget;

    fn eval_vector(&self, expr: &Expr, grid: &Grid) -> Result<Vec<VSeries>, PromError> {
        match self.eval(expr, grid)? {
            Val::Vector(v) => Ok(v),
            _ => Err(PromError::BadData(format!(
                "expected instant vector, got {expr}"
            ))),
        }
    }

    fn eval_scalar(&self, expr: &Expr, grid: &Grid) -> Result<Vec<f64>, PromError> {
        match self.eval(expr, grid)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(PromError::BadData(format!("expected scalar, got {expr}"))),
        }
    }

    fn eval_string(&self, expr: &Expr, grid: &Grid) -> Result<String, PromError> {
        match self.eval(expr, grid)? {
            Val::Str(s) => Ok(s),
            _ => Err(PromError::BadData(format!("expected string, got {expr}"))),
        }
    }
}

pub(crate) fn duration_ms(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn drop_name(labels: &mut Labels) {
    labels.retain(|(n, _)| n != METRIC_NAME);
}

/// Sets (or, with an empty value, removes) one label, keeping the labels sorted.
pub(crate) fn set_label(labels: &mut Labels, name: &str, value: String) {
    labels.retain(|(n, _)| n != name);
    if !value.is_empty() {
        labels.push((name.to_string(), value));
        labels.sort();
    }
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
    let mut seen = HashSet::with_capacity(series.len());
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
