//! Aggregation operators. Groups are computed once per input series; each group is then
//! accumulated step by step in input-series order (the order Prometheus folds a step's
//! vector in, which matters for compensated sums and NaN handling).

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV,
    T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::grid::{Grid, Recurse, VSeries, Val, same_labelset_error};
use super::num::{MeanAcc, format_float, kahan_inc, quantile};
use super::value::{Labels, METRIC_NAME, PromError};

pub(crate) fn eval_aggregate(
    ev: &dyn Recurse,
    agg: &AggregateExpr,
    grid: &Grid,
) -> Result<Val, PromError> {
    let op = agg.op.id();
    let input = ev.eval_vector(&agg.expr, grid)?;
    let (group_labels, members) = groups(&input, agg.modifier.as_ref());
    let out = match op {
        T_SUM | T_AVG | T_COUNT | T_GROUP | T_MIN | T_MAX | T_STDDEV | T_STDVAR => {
            simple(op, &input, group_labels, &members, grid.len)
        }
        T_TOPK | T_BOTTOMK => {
            let param = param_scalar(ev, agg, grid)?;
            top_bottom(op == T_TOPK, &input, &members, &param, grid.len)?
        }
        T_QUANTILE => {
            let param = param_scalar(ev, agg, grid)?;
            per_step(&input, group_labels, &members, grid.len, |i, vals| {
                let mut values: Vec<f64> = vals.iter().map(|v| v.1).collect();
                quantile(param[i as usize], &mut values)
            })
        }
        T_COUNT_VALUES => {
            let label = match &agg.param {
                Some(p) => ev.eval_string(p, grid)?,
                None => return Err(PromError::BadData("count_values needs a label name".into())),
            };
            if label.is_empty() {
                return Err(PromError::Execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            count_values(&label, &input, group_labels, &members, grid.len)?
        }
        _ => {
            return Err(PromError::BadData(format!(
                "aggregation {} is not supported",
                agg.op
            )));
        }
    };
    Ok(Val::Vector(out))
}

fn param_scalar(ev: &dyn Recurse, agg: &AggregateExpr, grid: &Grid) -> Result<Vec<f64>, PromError> {
    match &agg.param {
        Some(p) => ev.eval_scalar(p, grid),
        None => Err(PromError::BadData(format!("{} needs a parameter", agg.op))),
    }
}

/// The output labels of a series under `by`/`without` (`without` also drops the name).
fn group_key(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => labels
            .iter()
            .filter(|(n, _)| by.labels.iter().any(|b| b == n))
            .cloned()
            .collect(),
        Some(LabelModifier::Exclude(without)) => labels
            .iter()
            .filter(|(n, _)| n != METRIC_NAME && !without.labels.iter().any(|w| w == n))
            .cloned()
            .collect(),
        None => Labels::new(),
    }
}

fn groups(input: &[VSeries], modifier: Option<&LabelModifier>) -> (Vec<Labels>, Vec<Vec<usize>>) {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut labels = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let key = group_key(&s.labels, modifier);
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                index.insert(key.clone(), labels.len());
                labels.push(key);
                members.push(Vec::new());
                labels.len() - 1
            }
        };
        members[g].push(i);
    }
    (labels, members)
}

#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    count: f64,
    value: f64,
    c: f64,
    mean: MeanAcc,
    welford_mean: f64,
}

fn simple(
    op: u16,
    input: &[VSeries],
    group_labels: Vec<Labels>,
    members: &[Vec<usize>],
    len: usize,
) -> Vec<VSeries> {
    let mut acc = vec![Acc::default(); len];
    let mut touched: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(group_labels.len());
    for (labels, member) in group_labels.into_iter().zip(members) {
        touched.clear();
        for &m in member {
            for &(i, f) in &input[m].points {
                let a = &mut acc[i as usize];
                a.count += 1.0;
                let first = a.count == 1.0;
                if first {
                    touched.push(i);
                }
                match op {
                    T_SUM => (a.value, a.c) = kahan_inc(f, a.value, a.c),
                    T_AVG => a.mean.add(f),
                    T_MIN if first || a.value > f || a.value.is_nan() => a.value = f,
                    T_MAX if first || a.value < f || a.value.is_nan() => a.value = f,
                    T_STDDEV | T_STDVAR => {
                        if first {
                            a.welford_mean = f;
                            a.value = if f.is_finite() { 0.0 } else { f64::NAN };
                        } else {
                            let delta = f - a.welford_mean;
                            a.welford_mean += delta / a.count;
                            a.value += delta * (f - a.welford_mean);
                        }
                    }
                    _ => {}
                }
            }
        }
        touched.sort_unstable();
        let points = touched
            .iter()
            .map(|&i| {
                let a = &mut acc[i as usize];
                let v = match op {
                    T_SUM => a.value + a.c,
                    T_AVG => a.mean.value(),
                    T_COUNT => a.count,
                    T_GROUP => 1.0,
                    T_STDVAR => a.value / a.count,
                    T_STDDEV => (a.value / a.count).sqrt(),
                    _ => a.value,
                };
                *a = Acc::default();
                (i, v)
            })
            .collect();
        out.push(VSeries { labels, points });
    }
    out
}

/// Runs `f` on each step's `(input index, value)` list of each group.
fn per_step(
    input: &[VSeries],
    group_labels: Vec<Labels>,
    members: &[Vec<usize>],
    len: usize,
    mut f: impl FnMut(u32, &[(usize, f64)]) -> f64,
) -> Vec<VSeries> {
    let mut by_step: Vec<Vec<(usize, f64)>> = vec![Vec::new(); len];
    let mut touched: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(group_labels.len());
    for (labels, member) in group_labels.into_iter().zip(members) {
        collect_steps(input, member, &mut by_step, &mut touched);
        let points = touched
            .iter()
            .map(|&i| {
                let v = f(i, &by_step[i as usize]);
                by_step[i as usize].clear();
                (i, v)
            })
            .collect();
        out.push(VSeries { labels, points });
    }
    out
}

fn collect_steps(
    input: &[VSeries],
    member: &[usize],
    by_step: &mut [Vec<(usize, f64)>],
    touched: &mut Vec<u32>,
) {
    touched.clear();
    for &m in member {
        for &(i, v) in &input[m].points {
            let slot = &mut by_step[i as usize];
            if slot.is_empty() {
                touched.push(i);
            }
            slot.push((m, v));
        }
    }
    touched.sort_unstable();
}

/// `topk`/`bottomk`: the selected input series keep all their labels. Within a group the
/// output is ordered best first (what an instant query returns).
fn top_bottom(
    top: bool,
    input: &[VSeries],
    members: &[Vec<usize>],
    param: &[f64],
    len: usize,
) -> Result<Vec<VSeries>, PromError> {
    let mut by_step: Vec<Vec<(usize, f64)>> = vec![Vec::new(); len];
    let mut touched: Vec<u32> = Vec::new();
    let mut out: Vec<VSeries> = Vec::new();
    let mut out_index: HashMap<usize, usize> = HashMap::new();
    for member in members {
        collect_steps(input, member, &mut by_step, &mut touched);
        for &i in &touched {
            let k = param[i as usize];
            // Go's float64(math.MaxInt64) is 2^63, so that is still "convertible".
            const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
            if !(-TWO_POW_63..=TWO_POW_63).contains(&k) {
                return Err(PromError::Execution(format!(
                    "Scalar value {k} overflows int64"
                )));
            }
            let k = k.trunc();
            let candidates = &mut by_step[i as usize];
            if k >= 1.0 {
                // NaN ranks last either way; the stable sort keeps input order on ties.
                candidates.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if top => b.1.total_cmp(&a.1),
                    _ => a.1.total_cmp(&b.1),
                });
                let k = (k as usize).min(candidates.len());
                for &(m, v) in &candidates[..k] {
                    let idx = *out_index.entry(m).or_insert_with(|| {
                        out.push(VSeries {
                            labels: input[m].labels.clone(),
                            points: Vec::new(),
                        });
                        out.len() - 1
                    });
                    out[idx].points.push((i, v));
                }
            }
            candidates.clear();
        }
    }
    // A series' points arrive in step order because each series belongs to one group.
    Ok(out)
}

fn count_values(
    label: &str,
    input: &[VSeries],
    group_labels: Vec<Labels>,
    members: &[Vec<usize>],
    len: usize,
) -> Result<Vec<VSeries>, PromError> {
    let mut by_step: Vec<Vec<(usize, f64)>> = vec![Vec::new(); len];
    let mut touched: Vec<u32> = Vec::new();
    let mut out: Vec<VSeries> = Vec::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    for (labels, member) in group_labels.iter().zip(members) {
        collect_steps(input, member, &mut by_step, &mut touched);
        for &i in &touched {
            let mut counts: Vec<(String, f64)> = Vec::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for &(_, v) in &by_step[i as usize] {
                let s = format_float(v);
                match seen.get(&s) {
                    Some(&c) => counts[c].1 += 1.0,
                    None => {
                        seen.insert(s.clone(), counts.len());
                        counts.push((s, 1.0));
                    }
                }
            }
            by_step[i as usize].clear();
            for (value, count) in counts {
                let mut l: Labels = labels.iter().filter(|(n, _)| n != label).cloned().collect();
                l.push((label.to_string(), value));
                l.sort();
                let idx = *out_index.entry(l.clone()).or_insert_with(|| {
                    out.push(VSeries {
                        labels: l,
                        points: Vec::new(),
                    });
                    out.len() - 1
                });
                out[idx].points.push((i, count));
            }
        }
    }
    for s in &mut out {
        // Two groups can only meet here when the value label overrides a grouping label.
        if s.points.windows(2).any(|w| w[0].0 >= w[1].0) {
            s.points.sort_by_key(|p| p.0);
            if s.points.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(same_labelset_error());
            }
        }
    }
    Ok(out)
}
