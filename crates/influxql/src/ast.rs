//! The syntax tree. Every node prints (`Display`) as canonical InfluxQL that parses back to an
//! equal node. Expressions are here; statements, SHOW statements and administrative
//! statements have a file each, and `helpers` answers the executor's questions.

mod admin;
mod display;
mod helpers;
mod show;
mod statement;

use std::fmt;

pub use admin::*;
pub use helpers::{FunctionKind, GroupByTime, GroupByTimeOffset, function_kind};
pub use show::*;
pub use statement::*;

/// An expression: a SELECT field, a WHERE condition, a GROUP BY dimension, a call argument.
///
/// A tree the parser builds is at most [`crate::ParseOptions::max_expr_height`] tall, so
/// the recursive `Drop`, `Clone`, `PartialEq` and `Display` stay within a thread's stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field or tag name, possibly with a `::type` cast.
    VarRef(VarRef),
    /// A function call, `mean("x")`, `now()`, `time(10s)`.
    Call(Call),
    /// `DISTINCT x` (the call form `distinct(x)` is a [`Call`]).
    Distinct(String),
    /// A signed integer literal; `-5` is one literal, not a negation.
    Integer(i64),
    /// An integer literal too large for `i64`.
    Unsigned(u64),
    /// A literal with a decimal point (always finite).
    Number(f64),
    /// A single-quoted string; also how time literals (`'2024-01-01T00:00:00Z'`) arrive.
    String(String),
    /// `true` or `false`.
    Boolean(bool),
    /// A duration literal in nanoseconds (`10s`, `1h30m`, `1700000000000ms`).
    Duration(i64),
    /// `*`, `*::field` or `*::tag`.
    Wildcard(WildcardType),
    /// `/regex/`: a whole field, a whole call argument, a dimension, or the right side of
    /// `=~` / `!~`.
    Regex(RegexLit),
    /// `$name`, left for the executor to bind.
    BoundParam(String),
    /// `lhs op rhs`. Unary minus on a name or call is `-1 * x`, as in InfluxDB.
    Binary(Box<BinaryExpr>),
    /// A parenthesised expression, kept so that printing reproduces the grouping.
    Paren(Box<Expr>),
}

/// A reference to a field or tag: the dotted segments of the name joined with `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarRef {
    /// The name, unquoted, with `.` between segments if it was written `a.b`.
    pub name: String,
    /// The `::type` cast, if any.
    pub data_type: Option<DataType>,
}

/// The type named by a `::` cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `::float`
    Float,
    /// `::integer`
    Integer,
    /// `::unsigned`
    Unsigned,
    /// `::string`
    String,
    /// `::boolean`
    Boolean,
    /// `::field`: any field, never a tag.
    Field,
    /// `::tag`
    Tag,
}

/// Which columns a wildcard selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WildcardType {
    /// `*`
    All,
    /// `*::field`
    Fields,
    /// `*::tag`
    Tags,
}

/// A function call. The name is lower-cased, as InfluxDB does.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's name, lower-case.
    pub name: String,
    /// The arguments, in order.
    pub args: Vec<Expr>,
}

/// A binary operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    /// The left operand.
    pub lhs: Expr,
    /// The operator.
    pub op: BinaryOp,
    /// The right operand (a [`Expr::Regex`] for `=~` and `!~`).
    pub rhs: Expr,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    BitwiseAnd,
    /// `|`
    BitwiseOr,
    /// `^`
    BitwiseXor,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `=`
    Eq,
    /// `!=` (also written `<>`)
    NotEq,
    /// `=~`
    EqRegex,
    /// `!~`
    NotEqRegex,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl BinaryOp {
    /// Binding strength, InfluxDB's: OR 1, AND 2, comparisons 3, `+ - | ^` 4, `* / % &` 5.
    /// Operators of equal strength group to the left.
    pub fn precedence(self) -> u8 {
        match self {
            Self::Or => 1,
            Self::And => 2,
            Self::Eq
            | Self::NotEq
            | Self::EqRegex
            | Self::NotEqRegex
            | Self::Lt
            | Self::LtEq
            | Self::Gt
            | Self::GtEq => 3,
            Self::Add | Self::Sub | Self::BitwiseOr | Self::BitwiseXor => 4,
            Self::Mul | Self::Div | Self::Mod | Self::BitwiseAnd => 5,
        }
    }

    /// The operator as written in canonical InfluxQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Mod => "%",
            Self::BitwiseAnd => "&",
            Self::BitwiseOr => "|",
            Self::BitwiseXor => "^",
            Self::And => "AND",
            Self::Or => "OR",
            Self::Eq => "=",
            Self::NotEq => "!=",
            Self::EqRegex => "=~",
            Self::NotEqRegex => "!~",
            Self::Lt => "<",
            Self::LtEq => "<=",
            Self::Gt => ">",
            Self::GtEq => ">=",
        }
    }

    /// The comparison as seen from the other side: `5 < time` is `time > 5`.
    pub fn mirror(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::LtEq => Self::GtEq,
            Self::Gt => Self::Lt,
            Self::GtEq => Self::LtEq,
            other => other,
        }
    }

    /// True for the operators that yield a boolean (comparisons, regex matches, AND, OR):
    /// the ones InfluxDB refuses in a SELECT field.
    pub fn is_boolean(self) -> bool {
        self.precedence() <= 3
    }
}

/// A regex literal: its pattern text and the compiled [`regex::Regex`].
///
/// Equality, hashing and ordering go by the pattern text, since compiled regexes have none.
#[derive(Clone)]
pub struct RegexLit {
    source: String,
    regex: regex::Regex,
}

/// Compiled regexes are capped at this size so that a hostile pattern cannot take the
/// memory of a much larger one.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl RegexLit {
    /// Compiles `pattern` (the text between the slashes, `\/` already read as `/`). The
    /// pattern is stored with any `\/` turned into `/`, which means the same to the engine,
    /// so that printing and re-parsing give the same text back.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let mut source = String::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                source.push(c);
                continue;
            }
            match chars.next() {
                Some('/') => source.push('/'),
                Some(next) => {
                    source.push('\\');
                    source.push(next);
                }
                None => source.push('\\'),
            }
        }
        let regex = regex::RegexBuilder::new(&source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()?;
        Ok(Self { source, regex })
    }

    /// The pattern text, without the enclosing slashes.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }
}

impl fmt::Debug for RegexLit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegexLit").field(&self.source).finish()
    }
}

impl PartialEq for RegexLit {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for RegexLit {}

impl std::hash::Hash for RegexLit {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

/// Quotes an identifier for InfluxQL when it needs it: when it is empty, is a keyword, or
/// has a character outside `[A-Za-z0-9_]` (or starts with a digit).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::new();
    display::write_ident(&mut out, name).expect("writing to a String cannot fail");
    out
}

/// Quotes a string as an InfluxQL single-quoted literal.
pub fn quote_string(value: &str) -> String {
    let mut out = String::new();
    display::write_quoted(&mut out, value, '\'').expect("writing to a String cannot fail");
    out
}

/// Appends `text` as a double-quoted identifier, quoted whether or not it needs to be.
pub(crate) fn display_quoted(out: &mut String, text: &str) {
    display::write_quoted(out, text, '"').expect("writing to a String cannot fail");
}
