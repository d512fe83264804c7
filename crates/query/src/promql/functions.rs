//! Function calls. Range-vector functions live in `range_fns`, `histogram_quantile` in
//! `histogram`; this module has the instant-vector and scalar ones.

use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::grid::{Grid, Recurse, VSeries, Val, drop_name, merge_same_labels, set_label};
use super::num::{go_max, go_min};
use super::value::{Labels, PromError};
use super::{histogram, range_fns, selector};

pub(crate) fn eval_call(ev: &dyn Recurse, call: &Call, grid: &Grid) -> Result<Val, PromError> {
    let name = call.func.name;
    let args = &call.args.args;
    if let Some(kind) = range_fns::kind(name) {
        return range_fns::eval_range_fn(ev, kind, args, grid);
    }
    if let Some(f) = math_fn(name) {
        let v = ev.eval_vector(arg(args, 0, name)?, grid)?;
        return map_values(v, |_, x| Some(f(x)));
    }
    if let Some(f) = date_fn(name) {
        return match args.first() {
            None => {
                let points = (0..grid.len)
                    .map(|i| (i as u32, f(grid.time(i) as f64 / 1000.0)))
                    .collect();
                Ok(Val::Vector(vec![VSeries {
                    labels: Labels::new(),
                    points,
                }]))
            }
            Some(a) => map_values(ev.eval_vector(a, grid)?, |_, x| Some(f(x))),
        };
    }
    match name {
        "time" => Ok(Val::Scalar(
            (0..grid.len)
                .map(|i| grid.time(i) as f64 / 1000.0)
                .collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; grid.len])),
        "vector" => {
            let s = ev.eval_scalar(arg(args, 0, name)?, grid)?;
            let points = s.iter().enumerate().map(|(i, &v)| (i as u32, v)).collect();
            Ok(Val::Vector(vec![VSeries {
                labels: Labels::new(),
                points,
            }]))
        }
        "scalar" => {
            let v = ev.eval_vector(arg(args, 0, name)?, grid)?;
            let mut count = vec![0u32; grid.len];
            let mut value = vec![f64::NAN; grid.len];
            for s in &v {
                for &(i, x) in &s.points {
                    count[i as usize] += 1;
                    value[i as usize] = x;
                }
            }
            Ok(Val::Scalar(
                value
                    .into_iter()
                    .zip(count)
                    .map(|(x, c)| if c == 1 { x } else { f64::NAN })
                    .collect(),
            ))
        }
        "timestamp" => {
            let a = arg(args, 0, name)?;
            let mut v = match unwrap_parens(a) {
                // The sample's own time, not the evaluation time.
                Expr::VectorSelector(vs) => selector::instant(ev, vs, grid, true)?,
                _ => {
                    let mut v = ev.eval_vector(a, grid)?;
                    for s in &mut v {
                        s.points
                            .iter_mut()
                            .for_each(|p| p.1 = grid.time(p.0 as usize) as f64 / 1000.0);
                    }
                    v
                }
            };
            v.iter_mut().for_each(|s| drop_name(&mut s.labels));
            Ok(Val::Vector(merge_same_labels(v)?))
        }
        "round" => {
            let v = ev.eval_vector(arg(args, 0, name)?, grid)?;
            let to_nearest = match args.get(1) {
                Some(a) => ev.eval_scalar(a, grid)?,
                None => vec![1.0; grid.len],
            };
            map_values(v, |i, x| {
                let inverse = 1.0 / to_nearest[i as usize];
                Some((x * inverse + 0.5).floor() / inverse)
            })
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = ev.eval_vector(arg(args, 0, name)?, grid)?;
            let first = ev.eval_scalar(arg(args, 1, name)?, grid)?;
            match name {
                "clamp_min" => map_values(v, |i, x| Some(go_max(first[i as usize], x))),
                "clamp_max" => map_values(v, |i, x| Some(go_min(first[i as usize], x))),
                _ => {
                    let max = ev.eval_scalar(arg(args, 2, name)?, grid)?;
                    map_values(v, |i, x| {
                        let (lo, hi) = (first[i as usize], max[i as usize]);
                        (hi >= lo || lo.is_nan() || hi.is_nan()).then(|| go_max(lo, go_min(hi, x)))
                    })
                }
            }
        }
        "label_replace" => label_replace(ev, args, grid),
        "label_join" => label_join(ev, args, grid),
        "absent" => {
            let a = arg(args, 0, name)?;
            let v = ev.eval_vector(a, grid)?;
            let mut present = vec![false; grid.len];
            v.iter()
                .flat_map(|s| &s.points)
                .for_each(|p| present[p.0 as usize] = true);
            let points: Vec<(u32, f64)> = present
                .iter()
                .enumerate()
                .filter(|(_, p)| !**p)
                .map(|(i, _)| (i as u32, 1.0))
                .collect();
            if points.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            let labels = match unwrap_parens(a) {
                Expr::VectorSelector(vs) => selector::absent_labels(vs),
                _ => Labels::new(),
            };
            Ok(Val::Vector(vec![VSeries { labels, points }]))
        }
        "sort" | "sort_desc" => {
            let mut v = ev.eval_vector(arg(args, 0, name)?, grid)?;
            // Ordering only exists for a single step; range results are sorted by labels.
            if grid.len == 1 {
                let desc = name == "sort_desc";
                v.retain(|s| !s.points.is_empty());
                v.sort_by(|a, b| {
                    let (x, y) = (a.points[0].1, b.points[0].1);
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.total_cmp(&x),
                        _ => x.total_cmp(&y),
                    }
                });
            }
            Ok(Val::Vector(v))
        }
        "histogram_quantile" => {
            let q = ev.eval_scalar(arg(args, 0, name)?, grid)?;
            let v = ev.eval_vector(arg(args, 1, name)?, grid)?;
            Ok(Val::Vector(histogram::histogram_quantile(&q, v, grid.len)?))
        }
        // Tidemark stores no native histograms, so these see no histogram samples.
        "histogram_avg" | "histogram_count" | "histogram_sum" | "histogram_stddev"
        | "histogram_stdvar" | "histogram_fraction" => {
            for a in args {
                ev.eval(a, grid)?;
            }
            Ok(Val::Vector(Vec::new()))
        }
        _ => Err(PromError::BadData(format!(
            "function {name:?} is not supported"
        ))),
    }
}

fn arg<'a>(args: &'a [Box<Expr>], i: usize, name: &str) -> Result<&'a Expr, PromError> {
    args.get(i)
        .map(|b| &**b)
        .ok_or_else(|| PromError::BadData(format!("missing argument {} to {name}", i + 1)))
}

fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        e => e,
    }
}

/// Applies `f(step, value)` to every point (dropping it on `None`) and drops the name.
fn map_values(mut v: Vec<VSeries>, f: impl Fn(u32, f64) -> Option<f64>) -> Result<Val, PromError> {
    for s in &mut v {
        drop_name(&mut s.labels);
        s.points.retain_mut(|(i, x)| match f(*i, *x) {
            Some(y) => {
                *x = y;
                true
            }
            None => false,
        });
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

fn label_replace(ev: &dyn Recurse, args: &[Box<Expr>], grid: &Grid) -> Result<Val, PromError> {
    let name = "label_replace";
    let mut v = ev.eval_vector(arg(args, 0, name)?, grid)?;
    let dst = ev.eval_string(arg(args, 1, name)?, grid)?;
    let replacement = ev.eval_string(arg(args, 2, name)?, grid)?;
    let src = ev.eval_string(arg(args, 3, name)?, grid)?;
    let regex = ev.eval_string(arg(args, 4, name)?, grid)?;
    let re = Regex::new(&format!("^(?s:{regex})$")).map_err(|_| {
        PromError::BadData(format!(
            "invalid regular expression in label_replace(): {regex}"
        ))
    })?;
    if dst.is_empty() {
        return Err(PromError::BadData(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    for s in &mut v {
        let value = s
            .labels
            .iter()
            .find(|(n, _)| *n == src)
            .map_or("", |(_, v)| v.as_str());
        if let Some(caps) = re.captures(value) {
            let mut out = String::new();
            caps.expand(&replacement, &mut out);
            set_label(&mut s.labels, &dst, out);
        }
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn label_join(ev: &dyn Recurse, args: &[Box<Expr>], grid: &Grid) -> Result<Val, PromError> {
    let name = "label_join";
    let mut v = ev.eval_vector(arg(args, 0, name)?, grid)?;
    let dst = ev.eval_string(arg(args, 1, name)?, grid)?;
    let sep = ev.eval_string(arg(args, 2, name)?, grid)?;
    let mut srcs = Vec::new();
    for a in args.iter().skip(3) {
        let src = ev.eval_string(a, grid)?;
        if src.is_empty() {
            return Err(PromError::BadData(format!(
                "invalid source label name in label_join(): {src}"
            )));
        }
        srcs.push(src);
    }
    if dst.is_empty() {
        return Err(PromError::BadData(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|src| {
                s.labels
                    .iter()
                    .find(|(n, _)| n == src)
                    .map_or("", |(_, v)| v.as_str())
            })
            .collect::<Vec<_>>()
            .join(&sep);
        set_label(&mut s.labels, &dst, joined);
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn date_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "day_of_month" => |t| date_part(t, |c| c.day as f64),
        "day_of_week" => |t| date_part(t, |c| c.weekday as f64),
        "day_of_year" => |t| date_part(t, |c| c.ordinal as f64),
        "days_in_month" => |t| date_part(t, |c| days_in_month(c.year, c.month) as f64),
        "hour" => |t| date_part(t, |c| c.hour as f64),
        "minute" => |t| date_part(t, |c| c.minute as f64),
        "month" => |t| date_part(t, |c| c.month as f64),
        "year" => |t| date_part(t, |c| c.year as f64),
        _ => return None,
    })
}

/// A UTC calendar breakdown of a Unix time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    /// 1-based day of the year.
    pub(crate) ordinal: u32,
    /// 0 = Sunday.
    pub(crate) weekday: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
}

fn date_part(t: f64, f: impl Fn(&Civil) -> f64) -> f64 {
    // Seconds are truncated towards zero, as Go's `time.Unix(int64(t), 0)`.
    if !t.is_finite() || t.abs() > 1e15 {
        return f64::NAN;
    }
    f(&civil(t.trunc() as i64))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Days since 0000-03-01 in 400-year eras of 146097 days; March-based years put the
    // leap day last.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let ordinal = cumulative[(month - 1) as usize] + day + u32::from(month > 2 && is_leap(year));
    Civil {
        year,
        month,
        day,
        ordinal,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as u32,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
    }
}
