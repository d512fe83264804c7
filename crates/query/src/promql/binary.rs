//! Binary operators: scalar/scalar, vector/scalar, and vector/vector with `on`/`ignoring`,
//! `group_left`/`group_right` and the set operators.
//!
//! Vector matching is per step (a duplicate on the "one" side is only an error when both
//! duplicates have a value at the same step), but signatures are computed once per series:
//! series are grouped by signature and each group is walked over the grid with per-step
//! marker arrays.

use std::collections::HashMap;

use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenId,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::grid::{Grid, Recurse, VSeries, Val, drop_name, fmt_labels, merge_same_labels};
use super::value::{Labels, METRIC_NAME, PromError};

pub(crate) fn eval_binary(ev: &dyn Recurse, b: &BinaryExpr, grid: &Grid) -> Result<Val, PromError> {
    let op = b.op.id();
    let default_modifier = BinModifier::default();
    let modifier = b.modifier.as_ref().unwrap_or(&default_modifier);
    let return_bool = modifier.return_bool;
    if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
        return Err(PromError::BadData(
            "fill modifiers are not supported".into(),
        ));
    }
    let lhs = ev.eval(&b.lhs, grid)?;
    let rhs = ev.eval(&b.rhs, grid)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&l, &r)| {
                    let (v, keep) = apply(op, l, r);
                    if is_comparison(op) {
                        if keep { 1.0 } else { 0.0 }
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(v), Val::Scalar(s)) => {
            Ok(Val::Vector(vector_scalar(op, v, &s, false, return_bool)?))
        }
        (Val::Scalar(s), Val::Vector(v)) => {
            Ok(Val::Vector(vector_scalar(op, v, &s, true, return_bool)?))
        }
        (Val::Vector(l), Val::Vector(r)) => {
            let matching = modifier.matching.as_ref();
            let out = match op {
                T_LAND | T_LOR | T_LUNLESS => set_op(op, l, r, matching, grid.len),
                _ => vector_vector(op, l, r, modifier, grid.len)?,
            };
            Ok(Val::Vector(merge_same_labels(out)?))
        }
        _ => Err(PromError::BadData(format!(
            "binary expression must contain only scalar and instant vector types: {}",
            b.op
        ))),
    }
}

pub(crate) fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Applies an arithmetic or comparison operator; comparisons return the left value and
/// whether the comparison holds.
fn apply(op: TokenId, l: f64, r: f64) -> (f64, bool) {
    match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        // Rust's `%` on floats is C's fmod, as is Go's math.Mod.
        T_MOD => (l % r, true),
        T_POW => (l.powf(r), true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

fn vector_scalar(
    op: TokenId,
    series: Vec<VSeries>,
    scalar: &[f64],
    scalar_left: bool,
    return_bool: bool,
) -> Result<Vec<VSeries>, PromError> {
    let comparison = is_comparison(op);
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        s.points.retain_mut(|(i, v)| {
            let k = scalar[*i as usize];
            let (l, r) = if scalar_left { (k, *v) } else { (*v, k) };
            let (mut value, mut keep) = apply(op, l, r);
            // A comparison filters the vector and keeps the vector's value whichever side.
            if comparison && scalar_left {
                value = r;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            *v = value;
            keep
        });
        if !comparison || return_bool {
            drop_name(&mut s.labels);
        }
        out.push(s);
    }
    merge_same_labels(out)
}

/// The matching signature of a series: the `on` labels, or all but the `ignoring` labels
/// and the metric name.
fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => labels
            .iter()
            .filter(|(n, _)| on.labels.iter().any(|o| o == n))
            .cloned()
            .collect(),
        Some(LabelModifier::Exclude(ign)) => labels
            .iter()
            .filter(|(n, _)| n != METRIC_NAME && !ign.labels.iter().any(|o| o == n))
            .cloned()
            .collect(),
        None => labels
            .iter()
            .filter(|(n, _)| n != METRIC_NAME)
            .cloned()
            .collect(),
    }
}

fn group_by_signature(
    series: &[VSeries],
    matching: Option<&LabelModifier>,
) -> (Vec<Labels>, Vec<Vec<usize>>, HashMap<Labels, usize>) {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut sigs = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let sig = signature(&s.labels, matching);
        let g = *index.entry(sig.clone()).or_insert_with(|| {
            sigs.push(sig);
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(i);
    }
    (sigs, members, index)
}

/// Per-step marks that are reset by bumping a generation instead of clearing.
#[derive(Debug)]
struct Marks {
    generation: Vec<u32>,
    current: u32,
}

impl Marks {
    fn new(len: usize) -> Self {
        Self {
            generation: vec![0; len],
            current: 0,
        }
    }

    fn next(&mut self) {
        self.current += 1;
    }

    fn set(&mut self, i: u32) {
        self.generation[i as usize] = self.current;
    }

    fn is_set(&self, i: u32) -> bool {
        self.generation[i as usize] == self.current
    }
}

fn set_op(
    op: TokenId,
    lhs: Vec<VSeries>,
    rhs: Vec<VSeries>,
    matching: Option<&LabelModifier>,
    len: usize,
) -> Vec<VSeries> {
    let mut marks = Marks::new(len);
    match op {
        T_LOR => {
            let (_, l_members, l_index) = group_by_signature(&lhs, matching);
            let mut out = Vec::with_capacity(lhs.len() + rhs.len());
            let mut rhs_out = Vec::with_capacity(rhs.len());
            for mut r in rhs {
                let sig = signature(&r.labels, matching);
                if let Some(&g) = l_index.get(&sig) {
                    marks.next();
                    for &li in &l_members[g] {
                        lhs[li].points.iter().for_each(|p| marks.set(p.0));
                    }
                    r.points.retain(|p| !marks.is_set(p.0));
                }
                rhs_out.push(r);
            }
            out.extend(lhs);
            out.extend(rhs_out);
            out
        }
        _ => {
            let (_, r_members, r_index) = group_by_signature(&rhs, matching);
            let keep_matched = op == T_LAND;
            let mut out = Vec::with_capacity(lhs.len());
            let mut last_group = None;
            for mut l in lhs {
                let sig = signature(&l.labels, matching);
                match r_index.get(&sig) {
                    Some(&g) => {
                        if last_group != Some(g) {
                            marks.next();
                            for &ri in &r_members[g] {
                                rhs[ri].points.iter().for_each(|p| marks.set(p.0));
                            }
                            last_group = Some(g);
                        }
                        l.points.retain(|p| marks.is_set(p.0) == keep_matched);
                    }
                    None if keep_matched => l.points.clear(),
                    None => {}
                }
                out.push(l);
            }
            out
        }
    }
}

const NONE: u32 = u32::MAX;

fn vector_vector(
    op: TokenId,
    lhs: Vec<VSeries>,
    rhs: Vec<VSeries>,
    modifier: &BinModifier,
    len: usize,
) -> Result<Vec<VSeries>, PromError> {
    let matching = modifier.matching.as_ref();
    let return_bool = modifier.return_bool;
    let (many, one, swapped, include): (Vec<VSeries>, Vec<VSeries>, bool, &[String]) =
        match &modifier.card {
            VectorMatchCardinality::OneToMany(inc) => (rhs, lhs, true, &inc.labels),
            VectorMatchCardinality::ManyToOne(inc) => (lhs, rhs, false, &inc.labels),
            _ => (lhs, rhs, false, &[]),
        };
    let one_to_one = matches!(
        modifier.card,
        VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany
    );
    let (one_sigs, one_members, _) = group_by_signature(&one, matching);
    let (_, many_members, many_index) = group_by_signature(&many, matching);
    let drop_metric = !is_comparison(op) || return_bool;

    let mut one_at = vec![NONE; len];
    let mut one_val = vec![0.0; len];
    let mut matched = Marks::new(len);
    let mut out: Vec<VSeries> = Vec::new();
    let mut out_index: HashMap<Labels, usize> = HashMap::new();
    let mut out_shared = Vec::new();

    for (sig, one_idx) in one_sigs.iter().zip(&one_members) {
        for &o in one_idx {
            for &(i, v) in &one[o].points {
                let slot = &mut one_at[i as usize];
                if *slot != NONE {
                    let side = if swapped { "left" } else { "right" };
                    let shown = match matching {
                        Some(LabelModifier::Include(_)) => sig.clone(),
                        _ => signature(&one[o].labels, matching),
                    };
                    return Err(PromError::Execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        fmt_labels(&shown),
                        fmt_labels(&one[o].labels),
                        fmt_labels(&one[*slot as usize].labels),
                    )));
                }
                *slot = o as u32;
                one_val[i as usize] = v;
            }
        }
        if let Some(&g) = many_index.get(sig) {
            matched.next();
            let mut label_cache: HashMap<(usize, u32), usize> = HashMap::new();
            for &m in &many_members[g] {
                for &(i, mv) in &many[m].points {
                    let o = one_at[i as usize];
                    if o == NONE {
                        continue;
                    }
                    let ov = one_val[i as usize];
                    let (l, r) = if swapped { (ov, mv) } else { (mv, ov) };
                    let (mut value, keep) = apply(op, l, r);
                    if return_bool {
                        value = if keep { 1.0 } else { 0.0 };
                    } else if !keep {
                        continue;
                    }
                    if one_to_one {
                        if matched.is_set(i) {
                            return Err(PromError::Execution(
                                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                            ));
                        }
                        matched.set(i);
                    }
                    let cache_key = (m, if one_to_one { 0 } else { o });
                    let idx = match label_cache.get(&cache_key) {
                        Some(&idx) => idx,
                        None => {
                            let labels = result_labels(
                                &many[m].labels,
                                &one[o as usize].labels,
                                drop_metric,
                                one_to_one,
                                matching,
                                include,
                            );
                            let idx = match out_index.get(&labels) {
                                Some(&idx) => {
                                    out_shared.push(idx);
                                    idx
                                }
                                None => {
                                    out_index.insert(labels.clone(), out.len());
                                    out.push(VSeries {
                                        labels,
                                        points: Vec::new(),
                                    });
                                    out.len() - 1
                                }
                            };
                            label_cache.insert(cache_key, idx);
                            idx
                        }
                    };
                    out[idx].points.push((i, value));
                }
            }
        }
        for &o in one_idx {
            for &(i, _) in &one[o].points {
                one_at[i as usize] = NONE;
            }
        }
    }

    out_shared.sort_unstable();
    out_shared.dedup();
    for idx in out_shared {
        let points = &mut out[idx].points;
        points.sort_by_key(|p| p.0);
        if points.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(PromError::Execution(if one_to_one {
                "vector cannot contain metrics with the same labelset".into()
            } else {
                "multiple matches for matching labels; many-to-one matching must be explicit (group_left/group_right)".into()
            }));
        }
    }
    Ok(out)
}

/// The labels of a matched pair: the "many" side's, reduced to the matching labels for
/// one-to-one matching, plus the `group_x` labels copied from the "one" side.
fn result_labels(
    many: &Labels,
    one: &Labels,
    drop_metric: bool,
    one_to_one: bool,
    matching: Option<&LabelModifier>,
    include: &[String],
) -> Labels {
    let mut labels: Labels = many
        .iter()
        .filter(|(n, _)| !(drop_metric && n == METRIC_NAME))
        .filter(|(n, _)| {
            !one_to_one
                || match matching {
                    Some(LabelModifier::Include(on)) => on.labels.iter().any(|o| o == n),
                    Some(LabelModifier::Exclude(ign)) => !ign.labels.iter().any(|o| o == n),
                    None => true,
                }
        })
        .cloned()
        .collect();
    for name in include {
        labels.retain(|(n, _)| n != name);
        if let Some((_, v)) = one.iter().find(|(n, _)| n == name) {
            labels.push((name.clone(), v.clone()));
        }
    }
    if !include.is_empty() {
        labels.sort();
    }
    labels
}
