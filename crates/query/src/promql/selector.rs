//! Selectors: which samples each selector needs (planned before any evaluation so storage is
//! read once per distinct selector), instant-selector lookback, range windows and subquery
//! grids.

use std::collections::HashMap;
use std::time::SystemTime;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use super::grid::{EvalParams, Grid, Recurse, VSeries, duration_ms, set_label};
use super::value::{Labels, METRIC_NAME, PromError};
use crate::budget::Budget;

/// One storage read: the matchers of a selector and the inclusive time range it needs.
#[derive(Debug)]
pub(crate) struct Fetch {
    pub(crate) key: String,
    pub(crate) matchers: Matchers,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

/// What identifies a selector's data: its text, which holds the name, every matcher (sorted,
/// values escaped, so different matchers never print alike), `@` and offset. Equal texts
/// select the same series, so their reads can be shared; `@` and offset are in the key
/// although the series do not depend on them because they move the range, and reads of
/// far-apart ranges are better kept apart (see [`plan`]). Two `@` times may still print
/// alike (any time before 1970 prints as `@ 0.000`); that only widens a shared read, as each
/// node looks up a read covering its own range ([`read_range`]).
pub(crate) fn key(vs: &VectorSelector) -> String {
    vs.to_string()
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

/// Every storage read `expr` needs when evaluated over `grid`: one per distinct selector
/// text and run of overlapping or touching time ranges, over the union of the run. Ranges
/// of one selector that are apart (say `x` next to `max_over_time(x[1h:] offset 1w)`) stay
/// separate reads, as reading the hull would load the gap between them that no window
/// looks at.
pub(crate) fn plan(
    expr: &Expr,
    grid: &Grid,
    params: &EvalParams,
    budget: &Budget,
) -> Result<Vec<Fetch>, PromError> {
    let mut reads = Vec::new();
    collect(expr, grid.start, grid.end(), params, budget, &mut reads)?;
    Ok(coalesce(reads))
}

/// Walks `expr`, evaluated at times in `[min_t, max_t]`, and records every selector's read.
fn collect(
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
                collect(&sq.expr, inner.start, inner.end(), params, budget, out)?;
            }
        }
        Expr::Paren(p) => collect(&p.expr, min_t, max_t, params, budget, out)?,
        Expr::Unary(u) => collect(&u.expr, min_t, max_t, params, budget, out)?,
        Expr::Binary(b) => {
            collect(&b.lhs, min_t, max_t, params, budget, out)?;
            collect(&b.rhs, min_t, max_t, params, budget, out)?;
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect(p, min_t, max_t, params, budget, out)?;
            }
            collect(&a.expr, min_t, max_t, params, budget, out)?;
        }
        Expr::Call(c) => {
            for arg in &c.args.args {
                collect(arg, min_t, max_t, params, budget, out)?;
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
    let (start_ms, end_ms) = read_range(vs, min_t, max_t, window_ms, params);
    out.push(Fetch {
        key: key(vs),
        matchers: full_matchers(vs),
        start_ms,
        end_ms,
    });
}

/// The inclusive time range a node holding `vs` reads when evaluated at times in
/// `[min_t, max_t]`, each looking back `window_ms`. The planner and the evaluator's lookup
/// both call it, so a node always finds the read planned for it.
pub(crate) fn read_range(
    vs: &VectorSelector,
    min_t: i64,
    max_t: i64,
    window_ms: i64,
    params: &EvalParams,
) -> (i64, i64) {
    let offset = offset_ms(&vs.offset);
    let (lo, hi) = match at_ms(&vs.at, params) {
        Some(at) => (at.saturating_sub(offset), at.saturating_sub(offset)),
        None => (min_t.saturating_sub(offset), max_t.saturating_sub(offset)),
    };
    // Windows are left-open: (t - window, t].
    (lo.saturating_sub(window_ms).saturating_add(1), hi)
}

/// Merges reads of one key whose ranges overlap or touch, keeping the keys in the order
/// the expression first names them (the order reads are issued in).
fn coalesce(reads: Vec<Fetch>) -> Vec<Fetch> {
    let mut groups: Vec<Vec<Fetch>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in reads {
        match index.get(&f.key) {
            Some(&g) => groups[g].push(f),
            None => {
                index.insert(f.key.clone(), groups.len());
                groups.push(vec![f]);
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut group in groups {
        group.sort_by_key(|f| f.start_ms);
        let mut merged: Vec<Fetch> = Vec::with_capacity(1);
        for f in group {
            match merged.last_mut() {
                // Ranges are inclusive: `end + 1` touches `end`.
                Some(last) if f.start_ms <= last.end_ms.saturating_add(1) => {
                    last.end_ms = last.end_ms.max(f.end_ms);
                }
                _ => merged.push(f),
            }
        }
        out.append(&mut merged);
    }
    out
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
///
/// The series may hold samples on either side of every window (their read is shared with
/// identical selectors); the cursor stops at `T` and the lookback test drops older samples.
pub(crate) fn instant(
    ev: &dyn Recurse,
    vs: &VectorSelector,
    grid: &Grid,
    timestamps: bool,
) -> Result<Vec<VSeries>, PromError> {
    let lookback = ev.params().lookback_ms;
    let data = ev.data_for(vs, grid, lookback)?;
    let offset = offset_ms(&vs.offset);
    let at = at_ms(&vs.at, ev.params());
    let mut out = Vec::with_capacity(data.len());
    for s in data {
        let mut points = Vec::new();
        let mut j = 0;
        for i in 0..grid.len {
            ev.budget().tick()?;
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

/// Labels of `absent`'s output: the selector's equality matchers. A label matched by any
/// other matcher, or by a second equality, is removed again (Prometheus's historic rule).
pub(crate) fn absent_labels(vs: &VectorSelector) -> Labels {
    if !vs.matchers.or_matchers.is_empty() {
        return Labels::new();
    }
    let mut labels: Labels = Labels::new();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name.as_str()) {
            set_label(&mut labels, &m.name, m.value.clone());
            has.push(&m.name);
        } else {
            labels.retain(|(n, _)| *n != m.name);
        }
    }
    labels
}
