//! Selectors: which samples each selector needs (planned before any evaluation so storage is
//! read once per selector), instant-selector lookback, range windows and subquery grids.

use std::borrow::Cow;
use std::time::SystemTime;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use super::eval::{EvalParams, Evaluator, Grid, VSeries, duration_ms};
use super::value::{METRIC_NAME, PromError, Series};
use crate::budget::Budget;

/// One storage read: the matchers of a selector and the inclusive time range it needs.
#[derive(Debug)]
pub(crate) struct Fetch {
    pub(crate) key: usize,
    pub(crate) matchers: Matchers,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

pub(crate) fn key(vs: &VectorSelector) -> usize {
    std::ptr::from_ref(vs) as usize
}

pub(crate) fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => duration_ms(d).saturating_neg(),
    }
}

/// The pinned evaluation time of an `@` modifier; `start()`/`end()` are the query's.
pub(crate) fn at_ms(at: &Option<AtModifier>, params: &EvalParams) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(params.start_ms),
        Some(AtModifier::End) => Some(params.end_ms),
        Some(AtModifier::At(t)) => Some(system_time_ms(*t)),
    }
}

fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => duration_ms(&d),
        Err(e) => duration_ms(&e.duration()).saturating_neg(),
    }
}

/// The selector's matchers with the bare metric name turned into an equality matcher; with
/// `or` groups the name must hold in every group.
pub(crate) fn full_matchers(vs: &VectorSelector) -> Matchers {
    let mut m = vs.matchers.clone();
    if let Some(name) = &vs.name {
        let name_matcher = Matcher::new(MatchOp::Equal, METRIC_NAME, name);
        if m.or_matchers.is_empty() || !m.matchers.is_empty() {
            m.matchers.push(name_matcher.clone());
        }
        for group in &mut m.or_matchers {
            group.push(name_matcher.clone());
        }
    }
    m
}

/// Walks `expr`, evaluated at times in `[min_t, max_t]`, and records every selector's read.
pub(crate) fn plan(
    expr: &Expr,
    min_t: i64,
    max_t: i64,
    params: &EvalParams,
    budget: &Budget,
    out: &mut Vec<Fetch>,
) -> Result<(), PromError> {
    match expr {
        Expr::VectorSelector(vs) => {
            push_fetch(vs, min_t, max_t, params.lookback_ms, params, out);
        }
        Expr::MatrixSelector(ms) => {
            push_fetch(&ms.vs, min_t, max_t, duration_ms(&ms.range), params, out);
        }
        Expr::Subquery(sq) => {
            let inner = subquery_grid(sq, min_t, max_t, params, budget)?;
            if inner.len > 0 {
                plan(&sq.expr, inner.start, inner.end(), params, budget, out)?;
            }
        }
        Expr::Paren(p) => plan(&p.expr, min_t, max_t, params, budget, out)?,
        Expr::Unary(u) => plan(&u.expr, min_t, max_t, params, budget, out)?,
        Expr::Binary(b) => {
            plan(&b.lhs, min_t, max_t, params, budget, out)?;
            plan(&b.rhs, min_t, max_t, params, budget, out)?;
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                plan(p, min_t, max_t, params, budget, out)?;
            }
            plan(&a.expr, min_t, max_t, params, budget, out)?;
        }
        Expr::Call(c) => {
            for arg in &c.args.args {
                plan(arg, min_t, max_t, params, budget, out)?;
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
    Ok(())
}

fn push_fetch(
    vs: &VectorSelector,
    min_t: i64,
    max_t: i64,
    window_ms: i64,
    params: &EvalParams,
    out: &mut Vec<Fetch>,
) {
    let offset = offset_ms(&vs.offset);
    let (lo, hi) = match at_ms(&vs.at, params) {
        Some(at) => (at.saturating_sub(offset), at.saturating_sub(offset)),
        None => (min_t.saturating_sub(offset), max_t.saturating_sub(offset)),
    };
    out.push(Fetch {
        key: key(vs),
        matchers: full_matchers(vs),
        // Windows are left-open: (t - window, t].
        start_ms: lo.saturating_sub(window_ms).saturating_add(1),
        end_ms: hi,
    });
}

/// The inner evaluation times of a subquery whose outer evaluation times lie in
/// `[min_t, max_t]`: multiples of its step in `(T - range, T]` over every outer `T`.
pub(crate) fn subquery_grid(
    sq: &SubqueryExpr,
    min_t: i64,
    max_t: i64,
    params: &EvalParams,
    budget: &Budget,
) -> Result<Grid, PromError> {
    let step = sq
        .step
        .as_ref()
        .map_or(params.default_subquery_step_ms, duration_ms);
    if step <= 0 {
        return Err(PromError::BadData("subquery step must be positive".into()));
    }
    let offset = offset_ms(&sq.offset);
    let (lo, hi) = match at_ms(&sq.at, params) {
        Some(at) => (at.saturating_sub(offset), at.saturating_sub(offset)),
        None => (min_t.saturating_sub(offset), max_t.saturating_sub(offset)),
    };
    let excluded = lo.saturating_sub(duration_ms(&sq.range));
    let start = excluded
        .div_euclid(step)
        .saturating_mul(step)
        .saturating_add(step);
    let len = if hi < start {
        0
    } else {
        hi.saturating_sub(start) / step + 1
    };
    Grid::new(start, step, len, budget)
}

/// The samples of a sorted series in `(from, to]`.
pub(crate) fn window(samples: &[(i64, f64)], from: i64, to: i64) -> &[(i64, f64)] {
    let lo = samples.partition_point(|p| p.0 <= from);
    let hi = samples.partition_point(|p| p.0 <= to);
    &samples[lo..hi.max(lo)]
}

/// Evaluates an instant selector: at each step the latest sample in `(T - lookback, T]`,
/// with `T` the step time (or the `@` time) minus the offset. With `timestamps`, the value
/// is the sample's own time in seconds (for `timestamp()`).
pub(crate) fn instant(
    ev: &Evaluator<'_>,
    vs: &VectorSelector,
    grid: &Grid,
    timestamps: bool,
) -> Result<Vec<VSeries>, PromError> {
    let data = ev.data_for(vs)?;
    let offset = offset_ms(&vs.offset);
    let at = at_ms(&vs.at, ev.params);
    let lookback = ev.params.lookback_ms;
    let mut out = Vec::with_capacity(data.len());
    for s in data {
        let mut points = Vec::new();
        let mut j = 0;
        for i in 0..grid.len {
            ev.budget.tick()?;
            let t = at.unwrap_or_else(|| grid.time(i)).saturating_sub(offset);
            while j < s.samples.len() && s.samples[j].0 <= t {
                j += 1;
            }
            if j > 0 {
                let (ts, v) = s.samples[j - 1];
                if ts > t.saturating_sub(lookback) {
                    let value = if timestamps { ts as f64 / 1000.0 } else { v };
                    points.push((i as u32, value));
                }
            }
        }
        if !points.is_empty() {
            out.push(VSeries {
                labels: s.labels.clone(),
                points,
            });
        }
    }
    Ok(out)
}

/// A range-vector argument of a function.
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

/// Moves over one series' windows `(end - range, end]` for non-decreasing `end`s.
#[derive(Debug)]
pub(crate) struct WindowCursor<'s> {
    samples: &'s [(i64, f64)],
    lo: usize,
    hi: usize,
}

impl<'s> WindowCursor<'s> {
    pub(crate) fn new(samples: &'s [(i64, f64)]) -> Self {
        Self {
            samples,
            lo: 0,
            hi: 0,
        }
    }

    pub(crate) fn advance(&mut self, end: i64, range: i64) -> &'s [(i64, f64)] {
        let from = end.saturating_sub(range);
        let n = self.samples.len();
        while self.hi < n && self.samples[self.hi].0 <= end {
            self.hi += 1;
        }
        while self.lo < n && self.samples[self.lo].0 <= from {
            self.lo += 1;
        }
        &self.samples[self.lo.min(self.hi)..self.hi]
    }
}
