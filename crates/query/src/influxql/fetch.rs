//! Reads the points an InfluxQL statement needs: one SQL query per measurement over the same
//! tables, tiers and dedup as every other query, with the WHERE clause (its time part
//! already lifted out) translated to SQL so the scan pushes time and tag filters down.
//!
//! InfluxDB reads a missing tag as the empty string, so tag comparisons other than `= 'v'`
//! with a non-empty `v` compare `COALESCE(tag, '')`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimestampNanosecondType};
use futures::TryStreamExt;
use tidemark_influxql::TimeRange;
use tidemark_influxql::ast::{BinaryOp, DataType as CastType, Expr, VarRef};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::value::Value;
use crate::{QueryEngine, QueryError, QueryKind, QueryResult};

/// One stored point: its tags (as asked for; `None` when the series lacks the tag) and fields.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub(crate) time: i64,
    pub(crate) tags: Vec<Option<String>>,
    pub(crate) fields: Vec<Value>,
}

/// What to read of one measurement.
#[derive(Debug)]
pub(crate) struct FetchSpec<'a> {
    pub(crate) measurement: &'a str,
    pub(crate) schema: &'a MeasurementSchema,
    pub(crate) tags: &'a [String],
    pub(crate) fields: &'a [String],
    pub(crate) condition: Option<&'a Expr>,
    pub(crate) range: TimeRange,
}

/// Quotes a SQL identifier.
pub(crate) fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a SQL string literal.
pub(crate) fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What a name in a condition refers to in a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Tag,
    Field(FieldType),
    Missing,
}

fn resolve(schema: &MeasurementSchema, var: &VarRef) -> Ref {
    let field = schema.fields.get(&var.name).copied();
    let tag = schema.tags.contains(&var.name);
    match (var.data_type, field, tag) {
        (Some(CastType::Tag), _, true) => Ref::Tag,
        (Some(CastType::Tag), _, false) => Ref::Missing,
        (_, Some(kind), _) => Ref::Field(kind),
        (Some(CastType::Field), None, _) => Ref::Missing,
        (_, None, true) => Ref::Tag,
        _ => Ref::Missing,
    }
}

/// The SQL filters of a time range and a WHERE condition whose time part is lifted out.
pub(crate) fn sql_filters(
    schema: &MeasurementSchema,
    condition: Option<&Expr>,
    range: TimeRange,
) -> QueryResult<Vec<String>> {
    let mut filters = Vec::new();
    if let Some(min) = range.min {
        filters.push(format!("\"time\" >= to_timestamp_nanos({min})"));
    }
    if let Some(max) = range.max {
        filters.push(format!("\"time\" <= to_timestamp_nanos({max})"));
    }
    if let Some(condition) = condition {
        filters.push(format!("({})", condition_sql(schema, condition)?));
    }
    Ok(filters)
}

/// Translates a WHERE condition (without time) into SQL over `schema`'s table.
pub(crate) fn condition_sql(schema: &MeasurementSchema, expr: &Expr) -> QueryResult<String> {
    let mut out = String::new();
    write_condition(schema, expr, &mut out)?;
    Ok(out)
}

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

fn write_condition(schema: &MeasurementSchema, expr: &Expr, out: &mut String) -> QueryResult<()> {
    match expr {
        Expr::Paren(inner) => {
            out.push('(');
            write_condition(schema, inner, out)?;
            out.push(')');
        }
        Expr::Binary(binary) if matches!(binary.op, BinaryOp::And | BinaryOp::Or) => {
            out.push('(');
            write_condition(schema, &binary.lhs, out)?;
            out.push_str(if binary.op == BinaryOp::And {
                ") AND ("
            } else {
                ") OR ("
            });
            write_condition(schema, &binary.rhs, out)?;
            out.push(')');
        }
        Expr::Binary(binary) => write_comparison(schema, binary, out)?,
        Expr::Boolean(value) => out.push_str(if *value { "TRUE" } else { "FALSE" }),
        other => return Err(invalid(format!("invalid condition expression: {other}"))),
    }
    Ok(())
}

fn write_comparison(
    schema: &MeasurementSchema,
    binary: &tidemark_influxql::ast::BinaryExpr,
    out: &mut String,
) -> QueryResult<()> {
    let (var, value, op) = match (&binary.lhs, &binary.rhs) {
        (Expr::VarRef(var), value) => (var, value, binary.op),
        (value, Expr::VarRef(var)) if !matches!(value, Expr::VarRef(_)) => {
            (var, value, binary.op.mirror())
        }
        _ => {
            // Arithmetic over fields: plain SQL, where a missing operand makes it false.
            let sql_op = comparison_sql(binary.op)?;
            write!(
                out,
                "({} {sql_op} {})",
                value_sql(schema, &binary.lhs)?,
                value_sql(schema, &binary.rhs)?
            )
            .map_err(|e| QueryError::Internal(e.to_string()))?;
            return Ok(());
        }
    };
    let column = match resolve(schema, var) {
        Ref::Tag => {
            let tag = sql_ident(&var.name);
            match (op, value) {
                (BinaryOp::Eq, Expr::String(text)) if !text.is_empty() => {
                    let _ = write!(out, "{tag} = {}", sql_string(text));
                    return Ok(());
                }
                _ => format!("COALESCE({tag}, '')"),
            }
        }
        Ref::Field(_) => sql_ident(&var.name),
        Ref::Missing => "CAST(NULL AS VARCHAR)".to_owned(),
    };
    let column = match resolve(schema, var) {
        // A missing name reads as the empty string, as an absent tag does.
        Ref::Missing if matches!(value, Expr::String(_) | Expr::Regex(_)) => "''".to_owned(),
        _ => column,
    };
    match (op, value) {
        (BinaryOp::EqRegex | BinaryOp::NotEqRegex, Expr::Regex(regex)) => {
            let negate = if op == BinaryOp::NotEqRegex {
                "NOT "
            } else {
                ""
            };
            let _ = write!(
                out,
                "{negate}COALESCE({column} ~ {}, FALSE)",
                sql_string(regex.as_str())
            );
        }
        (BinaryOp::EqRegex | BinaryOp::NotEqRegex, _) => {
            return Err(invalid(format!(
                "invalid condition: {} needs a regex on its right",
                op.as_str()
            )));
        }
        (_, Expr::Regex(_)) => {
            return Err(invalid("a regex may only be compared with =~ or !~"));
        }
        _ => {
            let sql_op = comparison_sql(op)?;
            let _ = write!(out, "{column} {sql_op} {}", value_sql(schema, value)?);
        }
    }
    Ok(())
}

fn comparison_sql(op: BinaryOp) -> QueryResult<&'static str> {
    Ok(match op {
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        other => {
            return Err(invalid(format!(
                "invalid comparison operator: {}",
                other.as_str()
            )));
        }
    })
}

/// A value expression of a condition as SQL: literals, fields and arithmetic.
fn value_sql(schema: &MeasurementSchema, expr: &Expr) -> QueryResult<String> {
    Ok(match expr {
        Expr::Integer(value) => value.to_string(),
        Expr::Unsigned(value) => value.to_string(),
        Expr::Number(value) => format!("{value:?}"),
        Expr::String(text) => sql_string(text),
        Expr::Boolean(value) => (if *value { "TRUE" } else { "FALSE" }).to_owned(),
        Expr::VarRef(var) => match resolve(schema, var) {
            Ref::Tag => format!("COALESCE({}, '')", sql_ident(&var.name)),
            Ref::Field(_) => sql_ident(&var.name),
            Ref::Missing => "NULL".to_owned(),
        },
        Expr::Paren(inner) => format!("({})", value_sql(schema, inner)?),
        Expr::Binary(binary) => {
            let op = match binary.op {
                BinaryOp::Add => "+",
                BinaryOp::Sub => "-",
                BinaryOp::Mul => "*",
                BinaryOp::Div => "/",
                BinaryOp::Mod => "%",
                BinaryOp::BitwiseAnd => "&",
                BinaryOp::BitwiseOr => "|",
                other => {
                    return Err(invalid(format!(
                        "invalid operator in a condition value: {}",
                        other.as_str()
                    )));
                }
            };
            format!(
                "({} {op} {})",
                value_sql(schema, &binary.lhs)?,
                value_sql(schema, &binary.rhs)?
            )
        }
        other => return Err(invalid(format!("invalid condition expression: {other}"))),
    })
}

impl<D: KvDatabase> QueryEngine<D> {
    /// Reads the points of one measurement, in time order.
    pub(crate) async fn influxql_points(
        &self,
        database: &str,
        spec: &FetchSpec<'_>,
    ) -> QueryResult<Vec<Point>> {
        if spec.range.is_empty() {
            return Ok(Vec::new());
        }
        // Names the measurement lacks read as null (InfluxDB's missing tag or field).
        let tags: Vec<&String> = spec
            .tags
            .iter()
            .filter(|tag| spec.schema.tags.contains(*tag))
            .collect();
        let fields: Vec<&String> = spec
            .fields
            .iter()
            .filter(|field| spec.schema.fields.contains_key(*field))
            .collect();
        if !spec.fields.is_empty() && fields.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::from("SELECT \"time\"");
        for name in tags.iter().chain(&fields) {
            let _ = write!(sql, ", {}", sql_ident(name));
        }
        let _ = write!(sql, " FROM {}", sql_ident(spec.measurement));
        let mut filters = sql_filters(spec.schema, spec.condition, spec.range)?;
        if !fields.is_empty() {
            // Points with none of the asked fields are not rows of the result.
            let any = fields
                .iter()
                .map(|name| format!("{} IS NOT NULL", sql_ident(name)))
                .collect::<Vec<_>>()
                .join(" OR ");
            filters.push(format!("({any})"));
        }
        if !filters.is_empty() {
            let _ = write!(sql, " WHERE {}", filters.join(" AND "));
        }
        sql.push_str(" ORDER BY \"time\"");
        let mut stream = self
            .query(Some(database), &sql, QueryKind::Http, None)
            .await?;
        // The points are held in memory to be grouped and windowed: their values are bounded
        // by the query's sample limit.
        let max_values = self.limits().max_samples;
        let columns = (1 + tags.len() + fields.len()) as u64;
        let mut values = 0u64;
        let mut points = Vec::new();
        while let Some(batch) = stream.try_next().await? {
            values += batch.num_rows() as u64 * columns;
            if values > max_values {
                return Err(QueryError::ResourcesExhausted(format!(
                    "the statement reads more than {max_values} values of {}; narrow its time \
                     range or its WHERE clause, or aggregate in a subquery",
                    spec.measurement
                )));
            }
            let times = batch.column(0).as_primitive::<TimestampNanosecondType>();
            let mut tag_columns = Vec::with_capacity(spec.tags.len());
            let mut next = 1;
            for tag in spec.tags {
                if spec.schema.tags.contains(tag) {
                    let column = cast(batch.column(next), &DataType::Utf8)
                        .map_err(|error| QueryError::Internal(error.to_string()))?;
                    tag_columns.push(Some(column));
                    next += 1;
                } else {
                    tag_columns.push(None);
                }
            }
            let mut field_columns = Vec::with_capacity(spec.fields.len());
            for field in spec.fields {
                if spec.schema.fields.contains_key(field) {
                    field_columns.push(Some(batch.column(next).clone()));
                    next += 1;
                } else {
                    field_columns.push(None);
                }
            }
            for row in 0..batch.num_rows() {
                let tags = tag_columns
                    .iter()
                    .map(|column| {
                        let strings = column.as_ref()?.as_any().downcast_ref::<StringArray>()?;
                        (!strings.is_null(row)).then(|| strings.value(row).to_owned())
                    })
                    .collect();
                let fields = field_columns
                    .iter()
                    .map(|column| {
                        column
                            .as_ref()
                            .map_or(Value::Null, |c| cell(c.as_ref(), row))
                    })
                    .collect();
                points.push(Point {
                    time: times.value(row),
                    tags,
                    fields,
                });
            }
        }
        Ok(points)
    }
}

/// One cell of a field column.
fn cell(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Null;
    }
    let any = column.as_any();
    if let Some(values) = any.downcast_ref::<Float64Array>() {
        Value::Float(values.value(row))
    } else if let Some(values) = any.downcast_ref::<Int64Array>() {
        Value::Integer(values.value(row))
    } else if let Some(values) = any.downcast_ref::<UInt64Array>() {
        Value::Unsigned(values.value(row))
    } else if let Some(values) = any.downcast_ref::<StringArray>() {
        Value::String(values.value(row).to_owned())
    } else if let Some(values) = any.downcast_ref::<BooleanArray>() {
        Value::Boolean(values.value(row))
    } else {
        Value::Null
    }
}

/// Groups points by the values of their first `keys` tags (missing tags as `""`), keeping
/// time order inside each group; groups come out ordered by those values.
pub(crate) fn group_points(points: Vec<Point>, keys: usize) -> BTreeMap<Vec<String>, Vec<Point>> {
    let mut groups: BTreeMap<Vec<String>, Vec<Point>> = BTreeMap::new();
    for point in points {
        let key = point.tags[..keys]
            .iter()
            .map(|tag| tag.clone().unwrap_or_default())
            .collect();
        groups.entry(key).or_default().push(point);
    }
    groups
}
