//! Questions the executor asks of a parsed statement: which names it reads, whether it
//! aggregates, how it groups by time.

use super::{
    Call, CardinalityKind, Expr, SelectStatement, Source, Statement, VarRef, WildcardType,
    quote_ident,
};
use crate::error::ValidationError;
use crate::time_range::{is_time_ref, parse_time_string};

/// What a function does, as InfluxDB 1.x classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// Reduces each group to one value (`mean`, `count`, `sum`, ...).
    Aggregate,
    /// Picks points out of each group (`max`, `first`, `top`, `percentile`, ...).
    Selector,
    /// Turns a series into another, point by point (`derivative`, `moving_average`, ...).
    Transformation,
    /// Forecasts (`holt_winters`, `holt_winters_with_fit`).
    Predictor,
    /// A per-value mathematical function (`abs`, `round`, `log`, ...).
    Math,
}

/// Classifies a function by its (lower-case) name; `None` for names InfluxDB 1.x lacks.
pub fn function_kind(name: &str) -> Option<FunctionKind> {
    use FunctionKind::*;
    Some(match name {
        "count" | "distinct" | "integral" | "mean" | "median" | "mode" | "spread" | "stddev"
        | "sum" => Aggregate,
        "bottom" | "first" | "last" | "max" | "min" | "percentile" | "sample" | "top" => Selector,
        "cumulative_sum"
        | "derivative"
        | "difference"
        | "elapsed"
        | "moving_average"
        | "non_negative_derivative"
        | "non_negative_difference"
        | "exponential_moving_average"
        | "double_exponential_moving_average"
        | "triple_exponential_moving_average"
        | "relative_strength_index"
        | "triple_exponential_derivative"
        | "kaufmans_efficiency_ratio"
        | "kaufmans_adaptive_moving_average"
        | "chande_momentum_oscillator" => Transformation,
        "holt_winters" | "holt_winters_with_fit" => Predictor,
        "abs" | "acos" | "asin" | "atan" | "atan2" | "ceil" | "cos" | "exp" | "floor" | "ln"
        | "log" | "log2" | "log10" | "pow" | "round" | "sin" | "sqrt" | "tan" => Math,
        _ => return None,
    })
}

/// The `GROUP BY time(interval[, offset])` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupByTime {
    /// The bucket width, nanoseconds, positive.
    pub interval: i64,
    /// Where buckets start relative to the epoch.
    pub offset: GroupByTimeOffset,
}

/// The offset argument of `GROUP BY time(...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupByTimeOffset {
    /// A fixed shift in nanoseconds, already reduced modulo the interval (0 when absent);
    /// it keeps the sign it was written with, as InfluxDB's does.
    Duration(i64),
    /// `now()`: buckets end at the query's `now`; the executor knows that instant.
    Now,
}

impl Expr {
    /// Calls `visit` on this expression and every expression inside it, parents first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Expr)) {
        visit(self);
        match self {
            Self::Call(call) => call.args.iter().for_each(|arg| arg.walk(visit)),
            Self::Binary(binary) => {
                binary.lhs.walk(visit);
                binary.rhs.walk(visit);
            }
            Self::Paren(inner) => inner.walk(visit),
            _ => {}
        }
    }

    /// Every name referenced, in order of appearance (`time` included).
    pub fn var_refs(&self) -> Vec<&VarRef> {
        let mut refs = Vec::new();
        self.walk(&mut |expr| {
            if let Expr::VarRef(var) = expr {
                refs.push(var);
            }
        });
        refs
    }

    /// Whether a call appears anywhere inside.
    pub fn has_call(&self) -> bool {
        let mut found = false;
        self.walk(&mut |expr| found |= matches!(expr, Expr::Call(_)));
        found
    }
}

impl SelectStatement {
    /// InfluxDB's "raw query": no function call in any field, so points are returned as
    /// stored rather than computed. Math functions count as calls, as in InfluxDB 1.x.
    pub fn is_raw_query(&self) -> bool {
        !self.fields.iter().any(|field| field.expr.has_call())
    }

    /// Whether some field calls an aggregate or selector (possibly inside a transformation
    /// or math function): the query returns one row per group rather than per point.
    pub fn is_aggregate(&self) -> bool {
        self.fields.iter().any(|field| {
            let mut found = false;
            field.expr.walk(&mut |expr| {
                if let Expr::Call(Call { name, .. }) = expr {
                    found |= matches!(
                        function_kind(name),
                        Some(FunctionKind::Aggregate | FunctionKind::Selector)
                    );
                }
            });
            found
        })
    }

    /// Whether a field is `*` (of any type) or a regex over field names.
    pub fn has_wildcard(&self) -> bool {
        self.fields
            .iter()
            .any(|field| matches!(field.expr, Expr::Wildcard(_) | Expr::Regex(_)))
    }

    /// Names read by the SELECT fields, in order, with their casts.
    pub fn field_refs(&self) -> Vec<&VarRef> {
        self.fields.iter().flat_map(|f| f.expr.var_refs()).collect()
    }

    /// Names the WHERE clause tests, other than `time`.
    pub fn condition_refs(&self) -> Vec<&VarRef> {
        self.condition
            .iter()
            .flat_map(Expr::var_refs)
            .filter(|var| !is_time_ref(var))
            .collect()
    }

    /// The tag names of GROUP BY, in order (`time(...)`, `*` and regexes excluded).
    pub fn group_by_tags(&self) -> Vec<&str> {
        self.dimensions
            .iter()
            .filter_map(|dim| match dim {
                Expr::VarRef(var) => Some(var.name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether GROUP BY has `*` (every tag).
    pub fn group_by_all_tags(&self) -> bool {
        self.dimensions
            .iter()
            .any(|dim| matches!(dim, Expr::Wildcard(WildcardType::All)))
    }

    /// The subqueries of FROM.
    pub fn subqueries(&self) -> impl Iterator<Item = &SelectStatement> {
        self.sources.iter().filter_map(|source| match source {
            Source::Subquery(select) => Some(select.as_ref()),
            Source::Measurement(_) => None,
        })
    }

    /// Checks the GROUP BY list as InfluxDB 1.x's compiler does and returns its
    /// `time(interval[, offset])`, if any.
    pub fn group_by_time(&self) -> Result<Option<GroupByTime>, ValidationError> {
        let mut found = None;
        for dim in &self.dimensions {
            match dim {
                Expr::Call(call) => {
                    if call.name != "time" {
                        return Err(ValidationError::new(
                            "only time() calls allowed in dimensions",
                        ));
                    }
                    if found.is_some() {
                        return Err(ValidationError::new("multiple time dimensions not allowed"));
                    }
                    found = Some(time_dimension(call)?);
                }
                Expr::VarRef(var) if is_time_ref(var) => {
                    return Err(ValidationError::new(
                        "time() is a function and expects at least one argument",
                    ));
                }
                Expr::VarRef(_) | Expr::Wildcard(WildcardType::All) | Expr::Regex(_) => {}
                _ => return Err(ValidationError::new("only time and tag dimensions allowed")),
            }
        }
        Ok(found)
    }
}

fn time_dimension(call: &Call) -> Result<GroupByTime, ValidationError> {
    let interval = match call.args.as_slice() {
        [Expr::Duration(interval), ..] if call.args.len() <= 2 => *interval,
        [_] | [_, _] => {
            return Err(ValidationError::new(
                "time dimension must have duration argument",
            ));
        }
        _ => {
            return Err(ValidationError::new(
                "time dimension expected 1 or 2 arguments",
            ));
        }
    };
    if interval <= 0 {
        return Err(ValidationError::new(
            "time dimension must have a positive duration",
        ));
    }
    let offset = match call.args.get(1) {
        None => GroupByTimeOffset::Duration(0),
        Some(Expr::Duration(offset)) => GroupByTimeOffset::Duration(offset % interval),
        Some(Expr::Call(now)) if now.name == "now" && now.args.is_empty() => GroupByTimeOffset::Now,
        Some(Expr::Call(now)) if now.name == "now" => {
            return Err(ValidationError::new(
                "time dimension offset now() function requires no arguments",
            ));
        }
        Some(Expr::Call(_)) => {
            return Err(ValidationError::new(
                "time dimension offset function must be now()",
            ));
        }
        Some(Expr::String(text)) => match parse_time_string(text) {
            Some(Ok(ns)) => GroupByTimeOffset::Duration(ns.rem_euclid(interval)),
            _ => {
                return Err(ValidationError::new(
                    "time dimension offset must be duration or now()",
                ));
            }
        },
        Some(_) => {
            return Err(ValidationError::new(
                "time dimension offset must be duration or now()",
            ));
        }
    };
    Ok(GroupByTime { interval, offset })
}

impl Statement {
    /// The statement's leading keywords (`SELECT`, `SHOW TAG VALUES`, `CREATE USER`, `SHOW
    /// SERIES EXACT CARDINALITY`), for messages such as "... is not supported".
    pub fn keywords(&self) -> &'static str {
        match self {
            Self::Select(_) => "SELECT",
            Self::Explain(e) if e.analyze => "EXPLAIN ANALYZE",
            Self::Explain(_) => "EXPLAIN",
            Self::Delete(_) => "DELETE",
            Self::DropSeries(_) => "DROP SERIES",
            Self::ShowDatabases => "SHOW DATABASES",
            Self::ShowMeasurements(_) => "SHOW MEASUREMENTS",
            Self::ShowTagKeys(_) => "SHOW TAG KEYS",
            Self::ShowTagValues(_) => "SHOW TAG VALUES",
            Self::ShowFieldKeys(_) => "SHOW FIELD KEYS",
            Self::ShowSeries(_) => "SHOW SERIES",
            Self::ShowCardinality(show) => match (&show.kind, show.exact) {
                (CardinalityKind::Measurement, false) => "SHOW MEASUREMENT CARDINALITY",
                (CardinalityKind::Measurement, true) => "SHOW MEASUREMENT EXACT CARDINALITY",
                (CardinalityKind::Series, false) => "SHOW SERIES CARDINALITY",
                (CardinalityKind::Series, true) => "SHOW SERIES EXACT CARDINALITY",
                (CardinalityKind::TagKey, false) => "SHOW TAG KEY CARDINALITY",
                (CardinalityKind::TagKey, true) => "SHOW TAG KEY EXACT CARDINALITY",
                (CardinalityKind::TagValues(_), false) => "SHOW TAG VALUES CARDINALITY",
                (CardinalityKind::TagValues(_), true) => "SHOW TAG VALUES EXACT CARDINALITY",
                (CardinalityKind::FieldKey, false) => "SHOW FIELD KEY CARDINALITY",
                (CardinalityKind::FieldKey, true) => "SHOW FIELD KEY EXACT CARDINALITY",
            },
            Self::ShowRetentionPolicies { .. } => "SHOW RETENTION POLICIES",
            Self::ShowUsers => "SHOW USERS",
            Self::ShowGrants { .. } => "SHOW GRANTS",
            Self::ShowQueries => "SHOW QUERIES",
            Self::ShowContinuousQueries => "SHOW CONTINUOUS QUERIES",
            Self::ShowShards => "SHOW SHARDS",
            Self::ShowShardGroups => "SHOW SHARD GROUPS",
            Self::ShowSubscriptions => "SHOW SUBSCRIPTIONS",
            Self::ShowDiagnostics { .. } => "SHOW DIAGNOSTICS",
            Self::ShowStats { .. } => "SHOW STATS",
            Self::CreateDatabase(_) => "CREATE DATABASE",
            Self::DropDatabase { .. } => "DROP DATABASE",
            Self::DropMeasurement { .. } => "DROP MEASUREMENT",
            Self::CreateRetentionPolicy(_) => "CREATE RETENTION POLICY",
            Self::AlterRetentionPolicy(_) => "ALTER RETENTION POLICY",
            Self::DropRetentionPolicy { .. } => "DROP RETENTION POLICY",
            Self::CreateUser { .. } => "CREATE USER",
            Self::DropUser { .. } => "DROP USER",
            Self::SetPassword { .. } => "SET PASSWORD",
            Self::Grant { .. } => "GRANT",
            Self::Revoke { .. } => "REVOKE",
            Self::KillQuery { .. } => "KILL QUERY",
            Self::CreateContinuousQuery(_) => "CREATE CONTINUOUS QUERY",
            Self::DropContinuousQuery { .. } => "DROP CONTINUOUS QUERY",
            Self::CreateSubscription(_) => "CREATE SUBSCRIPTION",
            Self::DropSubscription { .. } => "DROP SUBSCRIPTION",
            Self::DropShard { .. } => "DROP SHARD",
        }
    }

    /// The statement as text for logs: as `Display` prints it, except that passwords read
    /// `[REDACTED]`, as InfluxDB logs them (so this text does not parse back).
    pub fn redacted(&self) -> String {
        match self {
            Self::CreateUser { name, admin, .. } => format!(
                "CREATE USER {} WITH PASSWORD [REDACTED]{}",
                quote_ident(name),
                if *admin { " WITH ALL PRIVILEGES" } else { "" }
            ),
            Self::SetPassword { name, .. } => {
                format!("SET PASSWORD FOR {} = [REDACTED]", quote_ident(name))
            }
            other => other.to_string(),
        }
    }
}
