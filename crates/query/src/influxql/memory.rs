//! The points of a subquery's answer, read by the outer query as a measurement: each inner
//! series is a series of the outer query (its GROUP BY tags its tags, its columns its fields),
//! filtered by the outer WHERE clause here rather than in SQL.

use std::collections::BTreeMap;

use tidemark_influxql::TimeRange;
use tidemark_influxql::ast::{BinaryOp, Expr};
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::fetch::Point;
use super::value::{ResultSeries, Value};
use crate::{QueryError, QueryResult};

/// One point of a subquery's answer: its tags, time and fields by name.
type AnswerPoint = (BTreeMap<String, String>, i64, BTreeMap<String, Value>);

/// One measurement of a subquery's answer.
#[derive(Debug, Default)]
pub(crate) struct MemoryMeasurement {
    pub(crate) schema: MeasurementSchema,
    points: Vec<AnswerPoint>,
}

fn field_type(value: &Value) -> Option<FieldType> {
    Some(match value {
        Value::Float(_) => FieldType::Float,
        Value::Integer(_) => FieldType::Integer,
        Value::Unsigned(_) => FieldType::UInteger,
        Value::String(_) => FieldType::String,
        Value::Boolean(_) => FieldType::Boolean,
        Value::Null => return None,
    })
}

/// Groups a subquery's series by measurement name.
pub(crate) fn measurements(series: Vec<ResultSeries>) -> BTreeMap<String, MemoryMeasurement> {
    let mut out: BTreeMap<String, MemoryMeasurement> = BTreeMap::new();
    for one in series {
        let measurement = out.entry(one.name.clone()).or_default();
        measurement.schema.tags.extend(one.tags.keys().cloned());
        for row in one.rows {
            let mut fields = BTreeMap::new();
            for (column, value) in one.columns.iter().skip(1).zip(row.values) {
                if let Some(kind) = field_type(&value) {
                    measurement
                        .schema
                        .fields
                        .entry(column.clone())
                        .or_insert(kind);
                    fields.insert(column.clone(), value);
                }
            }
            if !fields.is_empty() {
                measurement
                    .points
                    .push((one.tags.clone(), row.time, fields));
            }
        }
    }
    for measurement in out.values_mut() {
        measurement.points.sort_by_key(|(_, time, _)| *time);
    }
    out
}

impl MemoryMeasurement {
    /// The points in `range` passing `condition`, with `tags` and `fields` in that order, in
    /// time order (as `fetch` gives stored points).
    pub(crate) fn points(
        &self,
        tags: &[String],
        fields: &[String],
        condition: Option<&Expr>,
        range: TimeRange,
    ) -> QueryResult<Vec<Point>> {
        let mut out = Vec::new();
        for (point_tags, time, point_fields) in &self.points {
            if !range.contains(*time) {
                continue;
            }
            if let Some(condition) = condition
                && !matches(condition, point_tags, point_fields)?
            {
                continue;
            }
            let fields: Vec<Value> = fields
                .iter()
                .map(|name| point_fields.get(name).cloned().unwrap_or(Value::Null))
                .collect();
            if fields.iter().all(Value::is_null) && !fields.is_empty() {
                continue;
            }
            out.push(Point {
                time: *time,
                tags: tags
                    .iter()
                    .map(|tag| point_tags.get(tag).cloned())
                    .collect(),
                fields,
            });
        }
        Ok(out)
    }
}

/// Whether a point passes a WHERE condition (its time part already lifted out).
fn matches(
    expr: &Expr,
    tags: &BTreeMap<String, String>,
    fields: &BTreeMap<String, Value>,
) -> QueryResult<bool> {
    Ok(match expr {
        Expr::Paren(inner) => matches(inner, tags, fields)?,
        Expr::Boolean(value) => *value,
        Expr::Binary(binary) if binary.op == BinaryOp::And => {
            matches(&binary.lhs, tags, fields)? && matches(&binary.rhs, tags, fields)?
        }
        Expr::Binary(binary) if binary.op == BinaryOp::Or => {
            matches(&binary.lhs, tags, fields)? || matches(&binary.rhs, tags, fields)?
        }
        Expr::Binary(binary) => {
            let value = |expr: &Expr| -> Value {
                match expr {
                    Expr::VarRef(var) => fields.get(&var.name).cloned().unwrap_or_else(|| {
                        // A name that is no field reads as its tag, or as '' (InfluxDB's
                        // missing tag).
                        Value::String(tags.get(&var.name).cloned().unwrap_or_default())
                    }),
                    Expr::Integer(v) => Value::Integer(*v),
                    Expr::Unsigned(v) => Value::Unsigned(*v),
                    Expr::Number(v) => Value::Float(*v),
                    Expr::String(v) => Value::String(v.clone()),
                    Expr::Boolean(v) => Value::Boolean(*v),
                    _ => Value::Null,
                }
            };
            let lhs = value(&binary.lhs);
            match (&binary.op, &binary.rhs) {
                (BinaryOp::EqRegex | BinaryOp::NotEqRegex, Expr::Regex(regex)) => {
                    let found = matches!(&lhs, Value::String(text) if regex.regex().is_match(text));
                    found == (binary.op == BinaryOp::EqRegex)
                }
                (op, rhs) => {
                    let rhs = value(rhs);
                    if lhs.is_null() || rhs.is_null() {
                        false
                    } else {
                        let order = lhs.total_cmp(&rhs);
                        match op {
                            BinaryOp::Eq => order.is_eq(),
                            BinaryOp::NotEq => order.is_ne(),
                            BinaryOp::Lt => order.is_lt(),
                            BinaryOp::LtEq => order.is_le(),
                            BinaryOp::Gt => order.is_gt(),
                            BinaryOp::GtEq => order.is_ge(),
                            other => {
                                return Err(QueryError::Invalid(format!(
                                    "invalid comparison operator: {}",
                                    other.as_str()
                                )));
                            }
                        }
                    }
                }
            }
        }
        other => {
            return Err(QueryError::Invalid(format!(
                "invalid condition expression: {other}"
            )));
        }
    })
}
