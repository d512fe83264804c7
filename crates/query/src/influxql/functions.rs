//! InfluxQL's aggregates, selectors, transformations and math functions over plain values
//! (a leaf over `value`): what a window or a series of windows turns into.

use super::value::Value;

/// A window's value of one aggregate, with the time of the point a selector picked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picked {
    pub(crate) value: Value,
    pub(crate) time: Option<i64>,
}

impl Picked {
    fn aggregate(value: Value) -> Self {
        Self { value, time: None }
    }
}

/// Whether `name` is an aggregate or selector this executor evaluates.
pub(crate) fn is_reducer(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "mean"
            | "median"
            | "mode"
            | "spread"
            | "stddev"
            | "first"
            | "last"
            | "min"
            | "max"
            | "percentile"
            | "integral"
    )
}

/// Whether `name` is a transformation this executor evaluates.
pub(crate) fn is_transformation(name: &str) -> bool {
    matches!(
        name,
        "derivative"
            | "non_negative_derivative"
            | "difference"
            | "non_negative_difference"
            | "moving_average"
            | "cumulative_sum"
            | "elapsed"
    )
}

/// Whether `name` picks a point (its time can stand for the row's).
pub(crate) fn is_selector(name: &str) -> bool {
    matches!(name, "first" | "last" | "min" | "max" | "percentile")
}

/// Reduces a window's points (time order, nulls already dropped) with `name`; `arg` is the
/// numeric argument of `percentile` or the unit of `integral` (nanoseconds).
pub(crate) fn reduce(name: &str, points: &[(i64, Value)], arg: Option<f64>) -> Picked {
    if name == "count" {
        return Picked::aggregate(Value::Integer(points.len() as i64));
    }
    if points.is_empty() {
        return Picked::aggregate(Value::Null);
    }
    match name {
        // Points at the same time go to the larger value, as InfluxDB's reducers decide.
        "first" => picked(points.iter().reduce(|best, next| {
            if next.0 < best.0 || (next.0 == best.0 && next.1.total_cmp(&best.1).is_gt()) {
                next
            } else {
                best
            }
        })),
        "last" => picked(points.iter().reduce(|best, next| {
            if next.0 > best.0 || (next.0 == best.0 && next.1.total_cmp(&best.1).is_gt()) {
                next
            } else {
                best
            }
        })),
        "count_distinct" => Picked::aggregate(Value::Integer(distinct(points).len() as i64)),
        // Ties go to the earliest point, as InfluxDB's selectors do.
        "min" => picked(points.iter().reduce(|best, next| {
            if next.1.total_cmp(&best.1).is_lt() {
                next
            } else {
                best
            }
        })),
        "max" => picked(points.iter().reduce(|best, next| {
            if next.1.total_cmp(&best.1).is_gt() {
                next
            } else {
                best
            }
        })),
        "percentile" => percentile(points, arg.unwrap_or(50.0)),
        "sum" => Picked::aggregate(sum(points)),
        "mean" => Picked::aggregate(floats(points).map_or(Value::Null, |values| {
            Value::Float(values.iter().sum::<f64>() / values.len() as f64)
        })),
        "median" => Picked::aggregate(median(points)),
        "mode" => Picked::aggregate(mode(points)),
        "spread" => Picked::aggregate(spread(points)),
        "stddev" => Picked::aggregate(stddev(points)),
        "integral" => Picked::aggregate(integral(points, arg.unwrap_or(1e9))),
        _ => Picked::aggregate(Value::Null),
    }
}

fn picked(point: Option<&(i64, Value)>) -> Picked {
    match point {
        Some((time, value)) => Picked {
            value: value.clone(),
            time: Some(*time),
        },
        None => Picked::aggregate(Value::Null),
    }
}

fn floats(points: &[(i64, Value)]) -> Option<Vec<f64>> {
    points.iter().map(|(_, value)| value.as_f64()).collect()
}

fn sum(points: &[(i64, Value)]) -> Value {
    match points[0].1 {
        Value::Integer(_) => Value::Integer(
            points
                .iter()
                .filter_map(|(_, value)| match value {
                    Value::Integer(value) => Some(*value),
                    _ => None,
                })
                .fold(0i64, i64::wrapping_add),
        ),
        Value::Unsigned(_) => Value::Unsigned(
            points
                .iter()
                .filter_map(|(_, value)| match value {
                    Value::Unsigned(value) => Some(*value),
                    _ => None,
                })
                .fold(0u64, u64::wrapping_add),
        ),
        _ => floats(points).map_or(Value::Null, |values| Value::Float(values.iter().sum())),
    }
}

fn median(points: &[(i64, Value)]) -> Value {
    let Some(mut values) = floats(points) else {
        return Value::Null;
    };
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        Value::Float(values[middle])
    } else {
        Value::Float(values[middle - 1] + (values[middle] - values[middle - 1]) / 2.0)
    }
}

/// The most frequent value, decided as InfluxDB 1.x's `ModeReduceSlice` decides over the
/// points sorted by value: a value's first point is never compared (so when every value occurs
/// once the smallest wins), and among equally frequent values the one whose first point comes
/// before the current winner's last point wins. InfluxDB sorts with Go's unstable sort, so
/// its order among equal values (and the winner of some ties) is unspecified; here the sort is
/// stable over points in time order (docs/influxql.md).
fn mode(points: &[(i64, Value)]) -> Value {
    if points.len() == 1 {
        return points[0].1.clone();
    }
    let mut sorted: Vec<&(i64, Value)> = points.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (mut most_freq, mut most_mode, mut most_time) = (0usize, &sorted[0].1, sorted[0].0);
    let (mut curr_freq, mut curr_mode, mut curr_time) = (0usize, &sorted[0].1, sorted[0].0);
    for (time, value) in sorted {
        if value.total_cmp(curr_mode).is_ne() {
            curr_freq = 1;
            curr_mode = value;
            curr_time = *time;
            continue;
        }
        curr_freq += 1;
        if most_freq > curr_freq || (most_freq == curr_freq && curr_time > most_time) {
            continue;
        }
        most_freq = curr_freq;
        most_mode = value;
        most_time = *time;
    }
    most_mode.clone()
}

fn spread(points: &[(i64, Value)]) -> Value {
    match points[0].1 {
        Value::Integer(_) => {
            let values = points.iter().filter_map(|(_, value)| match value {
                Value::Integer(value) => Some(*value),
                _ => None,
            });
            let (min, max) =
                values.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            Value::Integer(max.wrapping_sub(min))
        }
        _ => floats(points).map_or(Value::Null, |values| {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            Value::Float(max - min)
        }),
    }
}

/// The sample standard deviation; null for fewer than two values.
fn stddev(points: &[(i64, Value)]) -> Value {
    let Some(values) = floats(points) else {
        return Value::Null;
    };
    if values.len() < 2 {
        return Value::Null;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance =
        values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (values.len() - 1) as f64;
    Value::Float(variance.sqrt())
}

/// The nearest-rank percentile, as InfluxDB computes it.
fn percentile(points: &[(i64, Value)], p: f64) -> Picked {
    let mut sorted: Vec<&(i64, Value)> = points.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let index = (sorted.len() as f64 * p / 100.0 + 0.5).floor() as i64 - 1;
    if index < 0 || index as usize >= sorted.len() {
        return Picked::aggregate(Value::Null);
    }
    picked(Some(sorted[index as usize]))
}

/// The area under the points by the trapezoid rule, in `unit` nanoseconds.
fn integral(points: &[(i64, Value)], unit: f64) -> Value {
    let Some(values) = floats(points) else {
        return Value::Null;
    };
    let area: f64 = points
        .windows(2)
        .zip(values.windows(2))
        .map(|(times, values)| (values[0] + values[1]) / 2.0 * (times[1].0 - times[0].0) as f64)
        .sum();
    Value::Float(area / unit)
}

/// Applies a transformation to a series of (time, value), nulls already dropped. `arg` is the
/// unit (nanoseconds) of the derivatives and `elapsed`, or the window of `moving_average`.
pub(crate) fn transform(
    name: &str,
    series: &[(i64, Value)],
    arg: Option<f64>,
) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    match name {
        "derivative" | "non_negative_derivative" => {
            let unit = arg.unwrap_or(1e9);
            for pair in series.windows(2) {
                let (Some(a), Some(b)) = (pair[0].1.as_f64(), pair[1].1.as_f64()) else {
                    continue;
                };
                let elapsed = (pair[1].0 - pair[0].0) as f64;
                if elapsed == 0.0 {
                    continue;
                }
                let rate = (b - a) / (elapsed / unit);
                if name == "derivative" || rate >= 0.0 {
                    out.push((pair[1].0, Value::Float(rate)));
                }
            }
        }
        "difference" | "non_negative_difference" => {
            for pair in series.windows(2) {
                let difference = match (&pair[0].1, &pair[1].1) {
                    (Value::Integer(a), Value::Integer(b)) => Value::Integer(b.wrapping_sub(*a)),
                    (a, b) => match (a.as_f64(), b.as_f64()) {
                        (Some(a), Some(b)) => Value::Float(b - a),
                        _ => continue,
                    },
                };
                let negative = difference.as_f64().is_some_and(|d| d < 0.0);
                if name == "difference" || !negative {
                    out.push((pair[1].0, difference));
                }
            }
        }
        "moving_average" => {
            let window = arg.unwrap_or(1.0).max(1.0) as usize;
            if let Some(values) = floats(series) {
                for end in window..=values.len() {
                    let sum: f64 = values[end - window..end].iter().sum();
                    out.push((series[end - 1].0, Value::Float(sum / window as f64)));
                }
            }
        }
        "cumulative_sum" => {
            let mut total = Value::Null;
            for (time, value) in series {
                total = match (&total, value) {
                    (Value::Null, value) => value.clone(),
                    (Value::Integer(a), Value::Integer(b)) => Value::Integer(a.wrapping_add(*b)),
                    (a, b) => match (a.as_f64(), b.as_f64()) {
                        (Some(a), Some(b)) => Value::Float(a + b),
                        _ => continue,
                    },
                };
                out.push((*time, total.clone()));
            }
        }
        "elapsed" => {
            let unit = arg.unwrap_or(1.0);
            for pair in series.windows(2) {
                let elapsed = (pair[1].0 - pair[0].0) as f64 / unit;
                out.push((pair[1].0, Value::Integer(elapsed as i64)));
            }
        }
        _ => {}
    }
    out
}

/// A math function of one or two numbers; `None` when `name` is not one.
pub(crate) fn math(name: &str, args: &[Value]) -> Option<Value> {
    let first = args.first()?;
    if first.is_null() || args.iter().any(Value::is_null) {
        return Some(Value::Null);
    }
    let x = first.as_f64()?;
    let y = args.get(1).and_then(Value::as_f64);
    let keep_integer = |result: f64| match first {
        Value::Integer(_) => Value::Integer(result as i64),
        _ => Value::Float(result),
    };
    Some(match name {
        "abs" => match first {
            Value::Integer(value) => Value::Integer(value.wrapping_abs()),
            _ => Value::Float(x.abs()),
        },
        "ceil" => keep_integer(x.ceil()),
        "floor" => keep_integer(x.floor()),
        "round" => keep_integer(x.round()),
        "sqrt" => Value::Float(x.sqrt()),
        "ln" => Value::Float(x.ln()),
        "log2" => Value::Float(x.log2()),
        "log10" => Value::Float(x.log10()),
        "log" => Value::Float(x.ln() / y?.ln()),
        "pow" => Value::Float(x.powf(y?)),
        "exp" => Value::Float(x.exp()),
        "sin" => Value::Float(x.sin()),
        "cos" => Value::Float(x.cos()),
        "tan" => Value::Float(x.tan()),
        "asin" => Value::Float(x.asin()),
        "acos" => Value::Float(x.acos()),
        "atan" => Value::Float(x.atan()),
        "atan2" => Value::Float(x.atan2(y?)),
        _ => return None,
    })
}

/// The distinct values of a window, in order of value, as InfluxDB returns them.
pub(crate) fn distinct(points: &[(i64, Value)]) -> Vec<Value> {
    let mut values: Vec<Value> = points.iter().map(|(_, value)| value.clone()).collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values.dedup_by(|a, b| a.total_cmp(b).is_eq());
    values
}

/// InfluxDB 1.x's integral over one group's points in time order, window by window: at a
/// window's end the area is interpolated to the boundary and the next window starts from
/// there; a point at the same time as the previous one replaces it. `window` gives the
/// [start, end) of the window holding a time (`None` without GROUP BY time, when the one
/// result is stamped at time 0 as InfluxDB stamps it). Returns (window start, area / unit).
pub(crate) fn integral_windows(
    points: &[(i64, f64)],
    window: Option<&dyn Fn(i64) -> (i64, i64)>,
    unit: f64,
) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    let Some((&first, rest)) = points.split_first() else {
        return out;
    };
    let (mut start, mut end) = window.map_or((0, i64::MAX), |w| w(first.0));
    let (mut prev_time, mut prev_value) = first;
    let mut sum = 0.0;
    for &(time, value) in rest {
        if time == prev_time {
            prev_value = value;
            continue;
        }
        if let Some(window) = window
            && time >= end
        {
            if prev_time != end {
                let at_end = prev_value
                    + (value - prev_value) * (end - prev_time) as f64 / (time - prev_time) as f64;
                sum += 0.5 * (at_end + prev_value) * (end - prev_time) as f64 / unit;
                prev_value = at_end;
                prev_time = end;
            }
            out.push((start, sum));
            (start, end) = window(time);
            sum = 0.0;
        }
        sum += 0.5 * (value + prev_value) * (time - prev_time) as f64 / unit;
        prev_time = time;
        prev_value = value;
    }
    if prev_time != start {
        out.push((start, sum));
    }
    out
}
