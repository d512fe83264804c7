//! The time range a WHERE clause selects, and the clause without its time conditions.
//!
//! InfluxDB 1.x does not evaluate `time` comparisons row by row: it lifts every comparison of
//! `time` out of the condition, intersects them into one range for the whole query (even
//! across `OR`, which it documents as unsupported), and filters with what is left. This
//! module does the same.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::ast::{BinaryExpr, BinaryOp, Expr, SelectStatement, VarRef};
use crate::error::ValidationError;

#[cfg(test)]
mod tests;

/// An inclusive range of nanosecond timestamps; a missing bound is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeRange {
    /// The earliest timestamp included.
    pub min: Option<i64>,
    /// The latest timestamp included.
    pub max: Option<i64>,
}

impl TimeRange {
    /// The range with neither bound.
    pub const UNBOUNDED: Self = Self {
        min: None,
        max: None,
    };

    /// The timestamps in both ranges.
    pub fn intersect(self, other: Self) -> Self {
        let pick = |a: Option<i64>, b: Option<i64>, f: fn(i64, i64) -> i64| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        Self {
            min: pick(self.min, other.min, i64::max),
            max: pick(self.max, other.max, i64::min),
        }
    }

    /// Whether no timestamp is in the range.
    pub fn is_empty(&self) -> bool {
        matches!((self.min, self.max), (Some(min), Some(max)) if min > max)
    }

    /// Whether neither bound is set.
    pub fn is_unbounded(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    /// Whether `ns` is in the range.
    pub fn contains(&self, ns: i64) -> bool {
        self.min.is_none_or(|min| ns >= min) && self.max.is_none_or(|max| ns <= max)
    }
}

/// Whether a name refers to the time column (`time`, in any case, as InfluxDB compares).
pub(crate) fn is_time_ref(var: &VarRef) -> bool {
    var.name.eq_ignore_ascii_case("time")
}

/// Reads a string that looks like a time: `2024-01-01`, RFC 3339 (`2024-01-01T00:00:00Z`,
/// with any fraction and offset), or `2024-01-01 00:00:00[.fff]` / `...T...` without a zone,
/// read as UTC. `None` when the text does not start like a date at all.
pub(crate) fn parse_time_string(text: &str) -> Option<Result<i64, ValidationError>> {
    let bytes = text.as_bytes();
    let looks_like_date = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !looks_like_date {
        return None;
    }
    let naive = if bytes.len() == 10 {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    } else if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        Some(t.naive_utc())
    } else {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
            .ok()
    };
    Some(match naive {
        None => Err(ValidationError::new("invalid timestamp string")),
        Some(t) => t
            .and_utc()
            .timestamp_nanos_opt()
            .ok_or_else(|| ValidationError::new(format!("time {text} overflows time literal"))),
    })
}

/// A value met while evaluating the right side of a `time` comparison.
#[derive(Debug, Clone, Copy)]
enum TimeValue {
    Time(i64),
    Duration(i64),
    Integer(i64),
    Number(f64),
}

fn overflow() -> ValidationError {
    ValidationError::new("time arithmetic overflows a 64-bit nanosecond timestamp")
}

fn incompatible(expr: &Expr) -> ValidationError {
    ValidationError::new(format!(
        "invalid operation: time and {expr} are not compatible"
    ))
}

fn eval(expr: &Expr, now: i64) -> Result<TimeValue, ValidationError> {
    use TimeValue::*;
    Ok(match expr {
        Expr::Call(call) if call.name == "now" && call.args.is_empty() => Time(now),
        Expr::String(text) => match parse_time_string(text) {
            Some(result) => Time(result?),
            None => return Err(incompatible(expr)),
        },
        Expr::Integer(v) => Integer(*v),
        Expr::Number(v) => Number(*v),
        Expr::Duration(v) => Duration(*v),
        Expr::Paren(inner) => eval(inner, now)?,
        Expr::BoundParam(name) => {
            return Err(ValidationError::new(format!("missing parameter: {name}")));
        }
        Expr::Binary(binary) => {
            let lhs = eval(&binary.lhs, now)?;
            let rhs = eval(&binary.rhs, now)?;
            combine(lhs, binary.op, rhs)
                .ok_or_else(|| ValidationError::new(format!("invalid time expression: {expr}")))??
        }
        _ => return Err(incompatible(expr)),
    })
}

/// Arithmetic on time values: a time shifted by a duration (integers count as nanosecond
/// durations, as in InfluxDB), the difference of two times, durations scaled by integers.
/// `None` for combinations that mean nothing; `Some(Err)` on overflow.
fn combine(
    lhs: TimeValue,
    op: BinaryOp,
    rhs: TimeValue,
) -> Option<Result<TimeValue, ValidationError>> {
    use TimeValue::*;
    let checked = |v: Option<i64>, wrap: fn(i64) -> TimeValue| v.map(wrap).ok_or_else(overflow);
    let as_float = |v: TimeValue| match v {
        Time(x) | Duration(x) | Integer(x) => x as f64,
        Number(x) => x,
    };
    Some(match (lhs, op, rhs) {
        (Time(t), BinaryOp::Add, Duration(d) | Integer(d))
        | (Duration(d) | Integer(d), BinaryOp::Add, Time(t)) => checked(t.checked_add(d), Time),
        (Time(t), BinaryOp::Sub, Duration(d) | Integer(d)) => checked(t.checked_sub(d), Time),
        (Time(a), BinaryOp::Sub, Time(b)) => checked(a.checked_sub(b), Duration),
        (Integer(a), BinaryOp::Add, Integer(b)) => checked(a.checked_add(b), Integer),
        (Integer(a), BinaryOp::Sub, Integer(b)) => checked(a.checked_sub(b), Integer),
        (Integer(a), BinaryOp::Mul, Integer(b)) => checked(a.checked_mul(b), Integer),
        (Duration(a) | Integer(a), BinaryOp::Add, Duration(b) | Integer(b)) => {
            checked(a.checked_add(b), Duration)
        }
        (Duration(a) | Integer(a), BinaryOp::Sub, Duration(b) | Integer(b)) => {
            checked(a.checked_sub(b), Duration)
        }
        (Duration(a), BinaryOp::Mul, Integer(b)) | (Integer(a), BinaryOp::Mul, Duration(b)) => {
            checked(a.checked_mul(b), Duration)
        }
        (Duration(a), BinaryOp::Div, Integer(b)) => checked(a.checked_div(b), Duration),
        (Number(_), _, Time(_) | Duration(_) | Integer(_) | Number(_))
        | (Time(_) | Duration(_) | Integer(_), _, Number(_)) => {
            let (a, b) = (as_float(lhs), as_float(rhs));
            let value = match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div => a / b,
                _ => return None,
            };
            Ok(Number(value))
        }
        _ => return None,
    })
}

/// The range `time <op> value` selects.
fn bound(op: BinaryOp, value: &Expr, now: i64) -> Result<TimeRange, ValidationError> {
    let ns = match eval(value, now)? {
        TimeValue::Time(v) | TimeValue::Duration(v) | TimeValue::Integer(v) => v,
        TimeValue::Number(v) if v.is_finite() && v.abs() < 9.2e18 => v as i64,
        TimeValue::Number(_) => return Err(overflow()),
    };
    let mut range = TimeRange::UNBOUNDED;
    match op {
        BinaryOp::Gt => range.min = Some(ns.saturating_add(1)),
        BinaryOp::GtEq => range.min = Some(ns),
        BinaryOp::Lt => range.max = Some(ns.saturating_sub(1)),
        BinaryOp::LtEq => range.max = Some(ns),
        BinaryOp::Eq => (range.min, range.max) = (Some(ns), Some(ns)),
        _ => {
            return Err(ValidationError::new(format!(
                "invalid time comparison operator: {op}"
            )));
        }
    }
    Ok(range)
}

impl Expr {
    /// Splits a WHERE condition into the time range it selects and what is left once every
    /// `time` comparison is removed (`None` when nothing is). `now` (nanoseconds since the
    /// epoch) is what `now()` means.
    ///
    /// Time strings without a zone are read as UTC; a statement's `tz()` does not shift them.
    pub fn split_time_condition(&self, now: i64) -> Result<Split, ValidationError> {
        // Walks AND, OR and parentheses with an explicit stack rather than recursion: a WHERE
        // clause can be a chain of hundreds of ORs, and unoptimised builds spend kilobytes
        // of stack per recursive call. Left operands are finished before right ones, so the
        // first error reported is the leftmost, as in InfluxDB.
        enum Task<'a> {
            Visit(&'a Expr),
            Join(BinaryOp),
            Paren,
        }
        let mut tasks = vec![Task::Visit(self)];
        let mut done: Vec<Split> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Visit(expr) => match expr {
                    Expr::Binary(binary) if matches!(binary.op, BinaryOp::And | BinaryOp::Or) => {
                        tasks.push(Task::Join(binary.op));
                        tasks.push(Task::Visit(&binary.rhs));
                        tasks.push(Task::Visit(&binary.lhs));
                    }
                    Expr::Binary(binary) => done.push(split_comparison(expr, binary, now)?),
                    Expr::Paren(inner) => {
                        tasks.push(Task::Paren);
                        tasks.push(Task::Visit(inner));
                    }
                    Expr::Boolean(_) => done.push((Some(expr.clone()), TimeRange::UNBOUNDED)),
                    _ => return Err(invalid_condition(expr)),
                },
                Task::Join(op) => {
                    let (rhs, rhs_range) = done.pop().expect("a joined condition has a right side");
                    let (lhs, lhs_range) = done.pop().expect("a joined condition has a left side");
                    let rest = match (lhs, rhs) {
                        (Some(lhs), Some(rhs)) => {
                            Some(Expr::Binary(Box::new(BinaryExpr { lhs, op, rhs })))
                        }
                        (one, other) => one.or(other),
                    };
                    done.push((rest, lhs_range.intersect(rhs_range)));
                }
                Task::Paren => {
                    let (rest, range) = done.pop().expect("a parenthesis has an inside");
                    done.push((rest.map(|e| Expr::Paren(Box::new(e))), range));
                }
            }
        }
        Ok(done.pop().expect("the whole condition is split"))
    }
}

/// A condition without its time comparisons, and the range they select.
pub type Split = (Option<Expr>, TimeRange);

fn split_comparison(expr: &Expr, binary: &BinaryExpr, now: i64) -> Result<Split, ValidationError> {
    match (&binary.lhs, &binary.rhs) {
        (Expr::VarRef(var), value) if is_time_ref(var) => Ok((None, bound(binary.op, value, now)?)),
        (value, Expr::VarRef(var)) if is_time_ref(var) => {
            Ok((None, bound(binary.op.mirror(), value, now)?))
        }
        _ => Ok((Some(expr.clone()), TimeRange::UNBOUNDED)),
    }
}

fn invalid_condition(expr: &Expr) -> ValidationError {
    ValidationError::new(format!("invalid condition expression: {expr}"))
}

impl SelectStatement {
    /// The time range of the WHERE clause (unbounded without one); see
    /// [`Expr::split_time_condition`].
    pub fn time_range(&self, now: i64) -> Result<TimeRange, ValidationError> {
        Ok(self.split_time_condition(now)?.1)
    }

    /// The WHERE clause with its time conditions removed, and the range they select.
    pub fn split_time_condition(&self, now: i64) -> Result<Split, ValidationError> {
        match &self.condition {
            Some(condition) => condition.split_time_condition(now),
            None => Ok((None, TimeRange::UNBOUNDED)),
        }
    }
}
