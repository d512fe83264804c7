//! Functions of a range vector (`rate`, `*_over_time`, ...): each series' window
//! `(T - range, T]` is found with a moving cursor, and the function runs on the window's
//! samples. Empty windows produce no output, as in Prometheus.
//!
//! Over a grid of several steps consecutive windows overlap (`rate(x[5m])` at a 15 s step
//! over 10 s samples sees each sample in ~20 windows), so [`SeriesEval`] answers the functions
//! that allow it from per-series precomputed structures (`windows`) instead of a pass over
//! every window, always with the bits the pass would give:
//! - `count_`, `present_`, `last_`, `first_over_time`, `irate`, `idelta`, `delta`: only the
//!   window's bounds or last two samples matter, so [`apply`] is already O(1) on the window.
//! - `rate`, `increase`: `last - first` plus the value before each counter reset, added in
//!   sample order; the resets are looked up in a per-series list (prefix counts), so the
//!   sum performs exactly the additions of the sequential loop, and a window without a
//!   reset costs O(1).
//! - `resets`, `changes`: prefix counts of resets / changes (exact integers), O(1).
//! - `min_`, `max_over_time`: a monotonic deque over the sliding window, amortised O(1).
//!
//! The others stay one pass per window: `sum_`, `avg_`, `stddev_`, `stdvar_over_time`,
//! `deriv` and `predict_linear` use compensated sums in sample order, and a running sum that
//! subtracts the samples leaving the window would round differently (Kahan compensation cannot
//! be undone, nor can an infinite or NaN term); `quantile_` and `mad_over_time` sort the
//! window's values.

use promql_parser::parser::Expr;

use super::grid::{Grid, Recurse, VSeries, Val, check_unique_labels, drop_name};
use super::num::{MeanAcc, kahan_inc, quantile, variance};
use super::selector::{WindowCursor, absent_labels};
use super::value::{Labels, PromError};
use super::windows::{Extreme, MarkedPairs, SlidingExtreme, SpanCursor};

/// The range-vector functions this module evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Resets,
    Changes,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    LastOverTime,
    FirstOverTime,
    PresentOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    MadOverTime,
    AbsentOverTime,
}

pub(crate) fn kind(name: &str) -> Option<Kind> {
    Some(match name {
        "rate" => Kind::Rate,
        "increase" => Kind::Increase,
        "delta" => Kind::Delta,
        "irate" => Kind::Irate,
        "idelta" => Kind::Idelta,
        "deriv" => Kind::Deriv,
        "predict_linear" => Kind::PredictLinear,
        "resets" => Kind::Resets,
        "changes" => Kind::Changes,
        "avg_over_time" => Kind::AvgOverTime,
        "min_over_time" => Kind::MinOverTime,
        "max_over_time" => Kind::MaxOverTime,
        "sum_over_time" => Kind::SumOverTime,
        "count_over_time" => Kind::CountOverTime,
        "last_over_time" => Kind::LastOverTime,
        "first_over_time" => Kind::FirstOverTime,
        "present_over_time" => Kind::PresentOverTime,
        "stddev_over_time" => Kind::StddevOverTime,
        "stdvar_over_time" => Kind::StdvarOverTime,
        "quantile_over_time" => Kind::QuantileOverTime,
        "mad_over_time" => Kind::MadOverTime,
        "absent_over_time" => Kind::AbsentOverTime,
        _ => return None,
    })
}

/// What a window function sees besides the samples.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// `T - range`: the (excluded) start of the window.
    start: i64,
    /// `T`: the end of the window.
    end: i64,
    range_ms: i64,
    /// Step time (or `@` time), the intercept time of `predict_linear`.
    t: i64,
    /// The step's scalar parameter (`quantile_over_time`'s φ, `predict_linear`'s seconds).
    param: f64,
}

impl Window {
    /// The window `(end - range, end]` of a step at time `t` (or its `@` time).
    pub(super) fn new(end: i64, range_ms: i64, t: i64, param: f64) -> Self {
        Self {
            start: end.saturating_sub(range_ms),
            end,
            range_ms,
            t,
            param,
        }
    }
}

/// A counter reset between consecutive values.
fn is_reset(prev: f64, v: f64) -> bool {
    v < prev
}

/// A change between consecutive values (NaN to NaN is none; NaN to a number is one).
fn is_change(prev: f64, v: f64) -> bool {
    !(v == prev || (v.is_nan() && prev.is_nan()))
}

/// Per-series structures that let a step skip the pass over its window.
#[derive(Debug)]
enum Aux {
    /// One pass per window ([`apply`]).
    None,
    /// Counter resets (`rate`, `increase`, `resets`) or changes (`changes`).
    Pairs(MarkedPairs),
    /// `min_over_time`, `max_over_time`.
    Extreme(SlidingExtreme),
}

/// Evaluates one function over one series' windows at non-decreasing ends, incrementally
/// where that gives the same bits as [`apply`] on each window (see the module docs).
#[derive(Debug)]
pub(super) struct SeriesEval<'s> {
    kind: Kind,
    samples: &'s [(i64, f64)],
    spans: SpanCursor<'s>,
    aux: Aux,
}

impl<'s> SeriesEval<'s> {
    /// With `incremental` false every window gets its own pass; the precomputation (one pass
    /// over the series) pays off only over several steps.
    pub(super) fn new(kind: Kind, samples: &'s [(i64, f64)], incremental: bool) -> Self {
        let aux = match kind {
            _ if !incremental => Aux::None,
            Kind::Rate | Kind::Increase | Kind::Resets => {
                Aux::Pairs(MarkedPairs::new(samples, is_reset))
            }
            Kind::Changes => Aux::Pairs(MarkedPairs::new(samples, is_change)),
            Kind::MinOverTime => Aux::Extreme(SlidingExtreme::new(Extreme::Min)),
            Kind::MaxOverTime => Aux::Extreme(SlidingExtreme::new(Extreme::Max)),
            _ => Aux::None,
        };
        Self {
            kind,
            samples,
            spans: SpanCursor::new(samples),
            aux,
        }
    }

    /// The function's value over window `w` (whose end must not precede the previous
    /// call's), `None` for an empty window or no result.
    pub(super) fn step(&mut self, w: &Window) -> Option<f64> {
        let span = self.spans.advance(w.end, w.range_ms);
        if span.is_empty() {
            return None;
        }
        let s = &self.samples[span.clone()];
        match (&mut self.aux, self.kind) {
            (Aux::Pairs(pairs), Kind::Resets | Kind::Changes) => Some(pairs.count(&span) as f64),
            (Aux::Pairs(resets), Kind::Rate | Kind::Increase) => {
                if s.len() < 2 {
                    return None;
                }
                // The additions of `extrapolated_rate`'s loop, in the same order.
                let mut result = s[s.len() - 1].1 - s[0].1;
                for &j in resets.marks(&span) {
                    result += self.samples[j - 1].1;
                }
                Some(extrapolate(s, result, w, true, self.kind == Kind::Rate))
            }
            // A window of NaN only: the fold of `apply` ends on its last value.
            (Aux::Extreme(extreme), _) => Some(
                extreme
                    .slide(self.samples, &span)
                    .map_or(s[s.len() - 1].1, |i| self.samples[i].1),
            ),
            _ => apply(self.kind, s, w),
        }
    }
}

pub(crate) fn eval_range_fn(
    ev: &dyn Recurse,
    kind: Kind,
    args: &[Box<Expr>],
    grid: &Grid,
) -> Result<Val, PromError> {
    let (matrix_idx, param_idx) = match kind {
        Kind::QuantileOverTime => (1, Some(0)),
        Kind::PredictLinear => (0, Some(1)),
        _ => (0, None),
    };
    let matrix_expr = args
        .get(matrix_idx)
        .ok_or_else(|| PromError::BadData(format!("missing range-vector argument to {kind:?}")))?;
    let param = match param_idx.and_then(|i| args.get(i)) {
        Some(p) => ev.eval_scalar(p, grid)?,
        None => vec![f64::NAN; grid.len],
    };
    let arg = ev.eval_range(matrix_expr, grid)?;
    let range = arg.range_ms;

    if kind == Kind::AbsentOverTime {
        let mut cursors: Vec<WindowCursor<'_>> = arg
            .series
            .iter()
            .map(|s| WindowCursor::new(&s.samples))
            .collect();
        let mut points = Vec::new();
        for i in 0..grid.len {
            ev.budget().tick()?;
            let end = arg.eval_time(grid.time(i));
            let mut present = false;
            for c in &mut cursors {
                present |= !c.advance(end, range).is_empty();
            }
            if !present {
                points.push((i as u32, 1.0));
            }
        }
        let labels = match unwrap_parens(matrix_expr) {
            Expr::MatrixSelector(ms) => absent_labels(&ms.vs),
            _ => Labels::new(),
        };
        let series = if points.is_empty() {
            vec![]
        } else {
            vec![VSeries { labels, points }]
        };
        return Ok(Val::Vector(series));
    }

    let keep_name = matches!(kind, Kind::LastOverTime | Kind::FirstOverTime);
    // With `@` every step sees the same window: compute it once.
    let steps = if arg.at_ms.is_some() {
        grid.len.min(1)
    } else {
        grid.len
    };
    // The precomputation is one pass over a series plus an allocation: it pays off only where
    // consecutive windows overlap (a 5m rate at a 15 s step sees each sample 20 times; at a 5m
    // step, once). Measured on the dashboard benchmark: `MarkedPairs::new` was 6% of the
    // server's time on non-overlapping windows.
    let incremental = steps > 1 && arg.range_ms > grid.step.saturating_mul(2);
    let mut out = Vec::with_capacity(arg.series.len());
    for s in arg.series.iter() {
        let mut series_eval = SeriesEval::new(kind, &s.samples, incremental);
        let mut points = Vec::new();
        for (i, &step_param) in param.iter().enumerate().take(steps) {
            ev.budget().tick()?;
            let t = arg.at_ms.unwrap_or_else(|| grid.time(i));
            let end = arg.eval_time(grid.time(i));
            if let Some(v) = series_eval.step(&Window::new(end, range, t, step_param)) {
                points.push((i as u32, v));
            }
        }
        if arg.at_ms.is_some()
            && let Some(&(_, v)) = points.first()
        {
            points = (0..grid.len).map(|i| (i as u32, v)).collect();
        }
        if points.is_empty() {
            continue;
        }
        let mut labels = s.labels.clone();
        if !keep_name {
            drop_name(&mut labels);
        }
        out.push(VSeries { labels, points });
    }
    Ok(Val::Vector(check_unique_labels(out)?))
}

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        e => e,
    }
}

/// The function over one window's samples, in one pass: the reference [`SeriesEval`] agrees
/// with bit for bit.
pub(super) fn apply(kind: Kind, s: &[(i64, f64)], w: &Window) -> Option<f64> {
    let values = || s.iter().map(|p| p.1);
    let last = s.last()?.1;
    Some(match kind {
        Kind::Rate => extrapolated_rate(s, w, true, true)?,
        Kind::Increase => extrapolated_rate(s, w, true, false)?,
        Kind::Delta => extrapolated_rate(s, w, false, false)?,
        Kind::Irate | Kind::Idelta => {
            let [(t0, v0), (t1, v1)] = s.get(s.len().checked_sub(2)?..)? else {
                return None;
            };
            if kind == Kind::Idelta {
                v1 - v0
            } else {
                let interval = t1 - t0;
                if interval == 0 {
                    return None;
                }
                let diff = if v1 < v0 { *v1 } else { v1 - v0 };
                diff / (interval as f64 / 1000.0)
            }
        }
        Kind::Deriv => {
            if s.len() < 2 {
                return None;
            }
            linear_regression(s, s[0].0).0
        }
        Kind::PredictLinear => {
            if s.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(s, w.t);
            intercept + slope * w.param
        }
        Kind::Resets => s.windows(2).filter(|p| is_reset(p[0].1, p[1].1)).count() as f64,
        Kind::Changes => s.windows(2).filter(|p| is_change(p[0].1, p[1].1)).count() as f64,
        Kind::AvgOverTime => {
            let mut acc = MeanAcc::default();
            values().for_each(|v| acc.add(v));
            acc.value()
        }
        Kind::SumOverTime => {
            let (sum, c) = values().fold((0.0, 0.0), |(sum, c), v| kahan_inc(v, sum, c));
            sum + c
        }
        Kind::MinOverTime => values().fold(s[0].1, |m, v| if m > v || m.is_nan() { v } else { m }),
        Kind::MaxOverTime => values().fold(s[0].1, |m, v| if m < v || m.is_nan() { v } else { m }),
        Kind::CountOverTime => s.len() as f64,
        Kind::LastOverTime => last,
        Kind::FirstOverTime => s[0].1,
        Kind::PresentOverTime => 1.0,
        Kind::StdvarOverTime => variance(values()),
        Kind::StddevOverTime => variance(values()).sqrt(),
        Kind::QuantileOverTime => quantile(w.param, &mut values().collect::<Vec<_>>()),
        Kind::MadOverTime => {
            let mut v: Vec<f64> = values().collect();
            let median = quantile(0.5, &mut v);
            let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
            quantile(0.5, &mut dev)
        }
        _ => return None,
    })
}

/// Prometheus 3's `rate`/`increase`/`delta`: the difference between the first and last
/// sample (corrected for counter resets), extrapolated towards the window's edges.
fn extrapolated_rate(s: &[(i64, f64)], w: &Window, counter: bool, per_second: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let mut result = s[s.len() - 1].1 - s[0].1;
    if counter {
        let mut prev = s[0].1;
        for &(_, v) in &s[1..] {
            if is_reset(prev, v) {
                result += prev;
            }
            prev = v;
        }
    }
    Some(extrapolate(s, result, w, counter, per_second))
}

/// The extrapolation of `rate`/`increase`/`delta` given the window's (at least two) samples
/// and their reset-corrected difference `result`.
fn extrapolate(s: &[(i64, f64)], result: f64, w: &Window, counter: bool, per_second: bool) -> f64 {
    let (first_t, first_v) = s[0];
    let (last_t, _) = s[s.len() - 1];
    let mut to_start = (first_t - w.start) as f64 / 1000.0;
    let mut to_end = (w.end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled / (s.len() - 1) as f64;
    // Extrapolate to an edge only when a sample is missing there by at most 10% more than the
    // average interval; otherwise the series likely starts/ends inside the window, so only
    // half an interval is assumed.
    let threshold = average_interval * 1.1;
    if to_start >= threshold {
        to_start = average_interval / 2.0;
    }
    if counter && result > 0.0 && first_v >= 0.0 {
        // A counter cannot go below zero: stop extrapolating where it would reach zero.
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average_interval / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if per_second {
        factor /= w.range_ms as f64 / 1000.0;
    }
    result * factor
}

/// Least-squares slope and intercept (at `intercept_t`), x in seconds, compensated sums.
fn linear_regression(s: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].1;
    let mut const_y = true;
    for (i, &(t, y)) in s.iter().enumerate() {
        if const_y && i > 0 && y != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1000.0;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(y, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * y, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}
