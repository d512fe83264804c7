//! How each projection of an aggregate is evaluated, and the arguments and values its calls
//! need (a leaf over `fetch`, `functions`, `projection` and `value`).

use tidemark_influxql::ast::{Call, DataType, Expr, GroupByTime, VarRef};
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::fetch::Point;
use super::functions::is_transformation;
use super::projection::{has_transformation, reducer_field};
use super::value::Value;
use crate::{QueryError, QueryResult};

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

/// The value of a name in a raw point: a field, else a tag (or null).
pub(crate) fn raw_leaf(
    point: &Point,
    fields: &[String],
    tags: &[String],
    expr: &Expr,
) -> Option<Value> {
    let Expr::VarRef(var) = expr else {
        return None;
    };
    if var.data_type != Some(DataType::Tag)
        && let Some(index) = fields.iter().position(|f| *f == var.name)
    {
        return Some(point.fields[index].clone());
    }
    let index = tags.iter().position(|t| *t == var.name)?;
    Some(point.tags[index].clone().map_or(Value::Null, Value::String))
}

/// Whether InfluxDB 1.6 stamps this aggregate at time 0: its float integral reducer
/// starts from a zero window when there is no GROUP BY time; its integer one does not.
pub(crate) fn integral_at_zero(calls: &[&Call], schema: &MeasurementSchema) -> bool {
    calls.iter().all(|call| {
        call.name == "integral"
            && reducer_field(call)
                .is_ok_and(|var| schema.fields.get(&var.name) == Some(&FieldType::Float))
    })
}

pub(crate) fn aux_value(
    var: &VarRef,
    point: Option<&Point>,
    tags: &[String],
    fields: &[String],
) -> Value {
    let Some(point) = point else {
        return Value::Null;
    };
    if let Some(index) = fields.iter().position(|f| *f == var.name) {
        return point.fields[index].clone();
    }
    tags.iter()
        .position(|t| *t == var.name)
        .and_then(|index| point.tags[index].clone())
        .map_or(Value::Null, Value::String)
}

/// Whether a projection is a transformation over windows, or evaluated per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Plain,
    Transformed,
}

impl Shape {
    pub(crate) fn of(expr: &Expr) -> QueryResult<Self> {
        match expr {
            Expr::Call(call) if is_transformation(&call.name) => {
                if call.args.first().is_some_and(has_transformation) {
                    return Err(QueryError::Unsupported(
                        "nested transformations are not supported".to_owned(),
                    ));
                }
                Ok(Self::Transformed)
            }
            other if has_transformation(other) => Err(QueryError::Unsupported(
                "a transformation must be the outermost call of its field".to_owned(),
            )),
            _ => Ok(Self::Plain),
        }
    }

    pub(crate) fn is_plain(&self) -> bool {
        *self == Self::Plain
    }

    /// The per-window expression: the transformation's argument, or the whole expression.
    pub(crate) fn inner<'a>(&self, expr: &'a Expr) -> &'a Expr {
        match (self, expr) {
            (Self::Transformed, Expr::Call(call)) => call.args.first().unwrap_or(expr),
            _ => expr,
        }
    }
}

/// The numeric argument of `percentile` (its rank) or `integral` (its unit, nanoseconds).
pub(crate) fn reducer_arg(call: &Call, _by_time: Option<GroupByTime>) -> QueryResult<Option<f64>> {
    Ok(match (call.name.as_str(), call.args.get(1)) {
        ("percentile", Some(Expr::Integer(p))) => Some(*p as f64),
        ("percentile", Some(Expr::Number(p))) => Some(*p),
        ("percentile", _) => {
            return Err(invalid("expected float argument in percentile()"));
        }
        ("integral", Some(Expr::Duration(unit))) => Some(*unit as f64),
        _ => None,
    })
}

/// The unit of a derivative or `elapsed`, the window of `moving_average`.
pub(crate) fn transform_arg(call: &Call, by_time: Option<GroupByTime>) -> QueryResult<Option<f64>> {
    Ok(match (call.name.as_str(), call.args.get(1)) {
        (_, Some(Expr::Duration(unit))) => Some(*unit as f64),
        ("moving_average", Some(Expr::Integer(n))) if *n >= 1 => Some(*n as f64),
        ("moving_average", _) => {
            return Err(invalid("moving_average window must be greater than 1"));
        }
        ("derivative" | "non_negative_derivative", None) => {
            Some(by_time.map_or(1e9, |by_time| by_time.interval as f64))
        }
        _ => None,
    })
}
