//! A SELECT's projections for one measurement: wildcards and regexes expanded against its
//! schema, result column names as InfluxDB derives them, and the evaluation of a projection
//! over a raw point or a window's reduced values.

use std::collections::{BTreeSet, HashMap};

use tidemark_influxql::ast::{
    BinaryOp, Call, DataType as CastType, Expr, Field, VarRef, WildcardType,
};
use tidemark_storage::tsdb::{FieldType, MeasurementSchema};

use super::functions::{is_reducer, is_transformation, math};
use super::value::Value;
use crate::{QueryError, QueryResult};

/// One output column: its expression and its name.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    pub(crate) expr: Expr,
    pub(crate) name: String,
}

fn var(name: &str, data_type: Option<CastType>) -> Expr {
    Expr::VarRef(VarRef {
        name: name.to_owned(),
        data_type,
    })
}

fn numeric(kind: FieldType) -> bool {
    matches!(
        kind,
        FieldType::Float | FieldType::Integer | FieldType::UInteger
    )
}

/// Expands `*`, `*::field`, `*::tag`, `/regex/` and `fn(*)` / `fn(/regex/)` against `schema`
/// and names every column, de-duplicating names with `_1`, `_2`, ... as InfluxDB does.
pub(crate) fn expand(fields: &[Field], schema: &MeasurementSchema) -> QueryResult<Vec<Projection>> {
    let mut out = Vec::new();
    for field in fields {
        match &field.expr {
            Expr::Wildcard(kind) => {
                let mut names: Vec<(&str, Option<CastType>)> = Vec::new();
                if *kind != WildcardType::Tags {
                    names.extend(schema.fields.keys().map(|n| (n.as_str(), None)));
                }
                if *kind != WildcardType::Fields {
                    names.extend(
                        schema
                            .tags
                            .iter()
                            .map(|n| (n.as_str(), Some(CastType::Tag))),
                    );
                }
                names.sort_by(|a, b| a.0.cmp(b.0));
                for (name, cast) in names {
                    out.push(Projection {
                        expr: var(name, cast),
                        name: name.to_owned(),
                    });
                }
            }
            Expr::Regex(regex) => {
                let mut names: BTreeSet<&str> = BTreeSet::new();
                names.extend(schema.fields.keys().map(String::as_str));
                names.extend(schema.tags.iter().map(String::as_str));
                for name in names.into_iter().filter(|n| regex.regex().is_match(n)) {
                    out.push(Projection {
                        expr: var(name, None),
                        name: name.to_owned(),
                    });
                }
            }
            Expr::Call(call)
                if matches!(call.args.first(), Some(Expr::Wildcard(_) | Expr::Regex(_))) =>
            {
                let regex = match &call.args[0] {
                    Expr::Regex(regex) => Some(regex.regex()),
                    _ => None,
                };
                let wants_numbers = !matches!(
                    call.name.as_str(),
                    "count" | "first" | "last" | "distinct" | "mode"
                );
                for (name, kind) in &schema.fields {
                    if regex.is_some_and(|r| !r.is_match(name))
                        || (wants_numbers && !numeric(*kind))
                    {
                        continue;
                    }
                    let mut args = call.args.clone();
                    args[0] = var(name, None);
                    let call_name = field.alias.clone().unwrap_or_else(|| call.name.clone());
                    out.push(Projection {
                        expr: Expr::Call(Call {
                            name: call.name.clone(),
                            args,
                        }),
                        name: format!("{call_name}_{name}"),
                    });
                }
            }
            expr => out.push(Projection {
                expr: expr.clone(),
                name: field.alias.clone().unwrap_or_else(|| derived_name(expr)),
            }),
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for projection in &mut out {
        let count = seen.entry(projection.name.clone()).or_insert(0);
        if *count > 0 {
            projection.name = format!("{}_{count}", projection.name);
        }
        *count += 1;
    }
    Ok(out)
}

/// The column name InfluxDB gives an unaliased expression.
fn derived_name(expr: &Expr) -> String {
    let mut names = Vec::new();
    collect_names(expr, &mut names);
    names.join("_")
}

fn collect_names(expr: &Expr, names: &mut Vec<String>) {
    match expr {
        Expr::VarRef(var) => names.push(var.name.clone()),
        Expr::Call(call) => names.push(call.name.clone()),
        Expr::Distinct(_) => names.push("distinct".to_owned()),
        Expr::Paren(inner) => collect_names(inner, names),
        Expr::Binary(binary) => {
            collect_names(&binary.lhs, names);
            collect_names(&binary.rhs, names);
        }
        _ => {}
    }
}

/// Every reducer call (`mean(x)`, `percentile(x, 90)`) inside `expr`, outermost first.
pub(crate) fn reducers<'a>(expr: &'a Expr, out: &mut Vec<&'a Call>) {
    match expr {
        Expr::Call(call) if is_reducer(&call.name) => out.push(call),
        Expr::Call(call) => call.args.iter().for_each(|arg| reducers(arg, out)),
        Expr::Paren(inner) => reducers(inner, out),
        Expr::Binary(binary) => {
            reducers(&binary.lhs, out);
            reducers(&binary.rhs, out);
        }
        _ => {}
    }
}

/// The reduction a reducer call performs (`count(distinct(x))` counts distinct values).
pub(crate) fn reduction(call: &Call) -> &str {
    match call.args.first() {
        Some(Expr::Call(inner)) if call.name == "count" && inner.name == "distinct" => {
            "count_distinct"
        }
        _ => &call.name,
    }
}

/// Checks a call's number of arguments as InfluxDB does, with its wording.
pub(crate) fn check_arity(call: &Call) -> QueryResult<()> {
    let expected: &[usize] = match call.name.as_str() {
        "percentile" | "moving_average" | "pow" | "log" | "atan2" => &[2],
        "integral" | "derivative" | "non_negative_derivative" | "elapsed" => &[1, 2],
        name if is_reducer(name) || is_transformation(name) || name == "distinct" => &[1],
        _ => return Ok(()),
    };
    if expected.contains(&call.args.len()) {
        return Ok(());
    }
    let wanted = expected[expected.len() - 1];
    Err(QueryError::Invalid(format!(
        "invalid number of arguments for {}, expected {}, got {}",
        call.name,
        if expected.len() > 1 {
            format!("at least {} but no more than {wanted}", expected[0])
        } else {
            wanted.to_string()
        },
        call.args.len()
    )))
}

/// Whether `expr` holds a transformation call.
pub(crate) fn has_transformation(expr: &Expr) -> bool {
    let mut found = false;
    expr.walk(&mut |node| {
        if let Expr::Call(call) = node {
            found |= is_transformation(&call.name);
        }
    });
    found
}

/// The field name a reducer reads (its first argument).
pub(crate) fn reducer_field(call: &Call) -> QueryResult<&VarRef> {
    match call.args.first() {
        Some(Expr::VarRef(var)) => Ok(var),
        Some(Expr::Call(inner)) if call.name == "count" && inner.name == "distinct" => {
            reducer_field(inner)
        }
        Some(Expr::Distinct(_)) if call.name == "count" => Err(QueryError::Unsupported(
            "count(DISTINCT x) is written count(distinct(x))".to_owned(),
        )),
        Some(Expr::Call(inner)) => Err(QueryError::Invalid(format!(
            "expected field argument in {}()",
            if is_reducer(&inner.name) {
                &call.name
            } else {
                &inner.name
            }
        ))),
        _ => Err(QueryError::Invalid(format!(
            "expected field argument in {}()",
            call.name
        ))),
    }
}

/// Evaluates `expr` where `leaf` gives the value of names and reducer calls.
pub(crate) fn eval(expr: &Expr, leaf: &dyn Fn(&Expr) -> Option<Value>) -> QueryResult<Value> {
    if let Some(value) = leaf(expr) {
        return Ok(value);
    }
    Ok(match expr {
        Expr::Integer(value) => Value::Integer(*value),
        Expr::Unsigned(value) => Value::Unsigned(*value),
        Expr::Number(value) => Value::Float(*value),
        Expr::String(text) => Value::String(text.clone()),
        Expr::Boolean(value) => Value::Boolean(*value),
        Expr::Paren(inner) => eval(inner, leaf)?,
        Expr::VarRef(_) => Value::Null,
        Expr::Call(call) => {
            let args = call
                .args
                .iter()
                .map(|arg| eval(arg, leaf))
                .collect::<QueryResult<Vec<_>>>()?;
            math(&call.name, &args).ok_or_else(|| {
                QueryError::Unsupported(format!("unsupported call: {}", call.name))
            })?
        }
        Expr::Binary(binary) => arithmetic(
            binary.op,
            eval(&binary.lhs, leaf)?,
            eval(&binary.rhs, leaf)?,
        )?,
        other => {
            return Err(QueryError::Invalid(format!(
                "invalid expression in a projection: {other}"
            )));
        }
    })
}

/// InfluxQL arithmetic: integers stay integers except under `/`; anything with a null is null.
fn arithmetic(op: BinaryOp, lhs: Value, rhs: Value) -> QueryResult<Value> {
    if lhs.is_null() || rhs.is_null() {
        return Ok(Value::Null);
    }
    if let (Value::Integer(a), Value::Integer(b)) = (&lhs, &rhs) {
        let (a, b) = (*a, *b);
        let integer = match op {
            BinaryOp::Add => Some(a.wrapping_add(b)),
            BinaryOp::Sub => Some(a.wrapping_sub(b)),
            BinaryOp::Mul => Some(a.wrapping_mul(b)),
            BinaryOp::Mod => Some(if b == 0 { 0 } else { a.wrapping_rem(b) }),
            BinaryOp::BitwiseAnd => Some(a & b),
            BinaryOp::BitwiseOr => Some(a | b),
            BinaryOp::BitwiseXor => Some(a ^ b),
            _ => None,
        };
        if let Some(value) = integer {
            return Ok(Value::Integer(value));
        }
    }
    let (Some(a), Some(b)) = (lhs.as_f64(), rhs.as_f64()) else {
        return Ok(Value::Null);
    };
    Ok(Value::Float(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => {
            if b == 0.0 {
                0.0
            } else {
                a / b
            }
        }
        BinaryOp::Mod => a % b,
        other => {
            return Err(QueryError::Invalid(format!(
                "invalid operator in a projection: {}",
                other.as_str()
            )));
        }
    }))
}
