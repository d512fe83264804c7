//! The values and results of InfluxQL statements (a leaf: it imports nothing of the module).

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One cell of a result: InfluxDB 1.x's field types, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (a missing field, an empty window under `fill(null)`).
    Null,
    /// A float.
    Float(f64),
    /// A signed integer.
    Integer(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// A string (also tag values in a projection).
    String(String),
    /// A boolean.
    Boolean(bool),
}

impl Value {
    /// The value as a float, for the functions that compute in floats.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Float(value) => Some(value),
            Self::Integer(value) => Some(value as f64),
            Self::Unsigned(value) => Some(value as f64),
            _ => None,
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Whether this is a number (what aggregates and arithmetic accept).
    pub fn is_numeric(&self) -> bool {
        matches!(self, Self::Float(_) | Self::Integer(_) | Self::Unsigned(_))
    }

    /// InfluxDB's order of values of one type: numbers by value, strings by bytes, false
    /// before true; values of different kinds compare by kind.
    pub fn total_cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Integer(a), Self::Integer(b)) => a.cmp(b),
            (Self::Unsigned(a), Self::Unsigned(b)) => a.cmp(b),
            (Self::String(a), Self::String(b)) => a.cmp(b),
            (Self::Boolean(a), Self::Boolean(b)) => a.cmp(b),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                _ => a.kind().cmp(&b.kind()),
            },
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Float(_) | Self::Integer(_) | Self::Unsigned(_) => 1,
            Self::String(_) => 2,
            Self::Boolean(_) => 3,
        }
    }
}

/// One row of a result series: its time (nanoseconds) and one value per non-time column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// The values, in column order after `time`.
    pub values: Vec<Value>,
}

/// One series of a statement's result, as InfluxDB 1.x returns it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultSeries {
    /// The measurement (or `measurements`, `databases`, ... for SHOW statements).
    pub name: String,
    /// The GROUP BY tags and their values (empty when not grouped).
    pub tags: BTreeMap<String, String>,
    /// Column names; the first is `time` for SELECT results.
    pub columns: Vec<String>,
    /// Whether the first column is `time` (SELECT) or an ordinary value (SHOW).
    pub has_time: bool,
    /// The rows.
    pub rows: Vec<Row>,
    /// Set when a limit cut the result short.
    pub partial: bool,
    /// The `tz()` times are shown in (UTC when absent).
    pub zone: Option<chrono_tz::Tz>,
}

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementResult {
    /// The series, in order.
    pub series: Vec<ResultSeries>,
    /// The 1.x error message when the statement failed.
    pub error: Option<String>,
}

impl StatementResult {
    /// A failed statement.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            series: Vec::new(),
            error: Some(message.into()),
        }
    }
}
