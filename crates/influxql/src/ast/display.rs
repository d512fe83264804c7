//! Printing the tree back as canonical InfluxQL. The output re-parses to an equal tree, which
//! the round-trip property tests check; `statements` holds the statement-level printers.

mod statements;

use std::fmt::{self, Display, Formatter, Write};

use super::{
    BinaryExpr, BinaryOp, Call, DataType, Expr, Field, Fill, Measurement, MeasurementName,
    RegexLit, SelectStatement, SortField, Source, Target, VarRef, WildcardType,
};
use crate::duration::format_duration;
use crate::token::Keyword;

fn is_bare_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Writes `text` between `quote`s with InfluxQL's escapes (`\\`, `\n`, and the quote).
pub(crate) fn write_quoted(out: &mut impl Write, text: &str, quote: char) -> fmt::Result {
    out.write_char(quote)?;
    for c in text.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            c if c == quote => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c => out.write_char(c)?,
        }
    }
    out.write_char(quote)
}

/// Writes an identifier, double-quoted only when it has to be.
pub(crate) fn write_ident(out: &mut impl Write, name: &str) -> fmt::Result {
    if is_bare_ident(name) && Keyword::lookup(name).is_none() {
        out.write_str(name)
    } else {
        write_quoted(out, name, '"')
    }
}

/// A `Display` adapter for [`write_ident`].
pub(crate) struct Ident<'a>(pub(crate) &'a str);

impl Display for Ident<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_ident(f, self.0)
    }
}

/// A `Display` adapter for a single-quoted string literal.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0, '\'')
    }
}

/// Writes `items` separated by `, `.
pub(crate) fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

/// Writes a float so that it lexes back as a number with a decimal point: Rust's shortest
/// round-trip digits, never an exponent, with `.0` added to whole values.
fn write_float(f: &mut Formatter<'_>, value: f64) -> fmt::Result {
    let text = value.to_string();
    f.write_str(&text)?;
    if value.is_finite() && !text.contains('.') {
        f.write_str(".0")?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::VarRef(var) => var.fmt(f),
            Self::Call(call) => call.fmt(f),
            Self::Distinct(name) => write!(f, "DISTINCT {}", Ident(name)),
            Self::Integer(v) => write!(f, "{v}"),
            Self::Unsigned(v) => write!(f, "{v}"),
            Self::Number(v) => write_float(f, *v),
            Self::String(s) => Quoted(s).fmt(f),
            Self::Boolean(b) => f.write_str(if *b { "true" } else { "false" }),
            Self::Duration(ns) => f.write_str(&format_duration(*ns)),
            Self::Wildcard(kind) => f.write_str(match kind {
                WildcardType::All => "*",
                WildcardType::Fields => "*::field",
                WildcardType::Tags => "*::tag",
            }),
            Self::Regex(re) => re.fmt(f),
            Self::BoundParam(name) => {
                f.write_char('$')?;
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    f.write_str(name)
                } else {
                    write_quoted(f, name, '"')
                }
            }
            Self::Binary(binary) => binary.fmt(f),
            Self::Paren(inner) => write!(f, "({inner})"),
        }
    }
}

impl Display for VarRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_ident(f, &self.name)?;
        if let Some(data_type) = self.data_type {
            write!(f, "::{data_type}")?;
        }
        Ok(())
    }
}

impl Display for DataType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Float => "float",
            Self::Integer => "integer",
            Self::Unsigned => "unsigned",
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Field => "field",
            Self::Tag => "tag",
        })
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // `distinct` is a keyword, but `distinct(` is its call form and needs no quotes.
        if self.name == "distinct" {
            f.write_str("distinct")?;
        } else {
            write_ident(f, &self.name)?;
        }
        f.write_char('(')?;
        write_list(f, &self.args)?;
        f.write_char(')')
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for BinaryExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // The parser reads `-x` as `-1 * x` and treats it as one operand; printing it back as
        // `-x` keeps it one operand when it stands to the right of `*` or `/`.
        if self.op == BinaryOp::Mul
            && matches!(self.rhs, Expr::VarRef(_) | Expr::Call(_) | Expr::Paren(_))
        {
            match self.lhs {
                Expr::Integer(-1) => return write!(f, "-{}", self.rhs),
                Expr::Integer(1) => return write!(f, "+{}", self.rhs),
                _ => {}
            }
        }
        write!(f, "{} {} {}", self.lhs, self.op, self.rhs)
    }
}

impl Display for RegexLit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('/')?;
        let mut chars = self.as_str().chars();
        while let Some(c) = chars.next() {
            match c {
                // An escape pair is kept whole: its second character never ends the literal.
                '\\' => {
                    f.write_char('\\')?;
                    if let Some(next) = chars.next() {
                        f.write_char(next)?;
                    }
                }
                '/' => f.write_str("\\/")?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('/')
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Ident(alias))?;
        }
        Ok(())
    }
}

/// Writes the `db.rp.` / `db..` / `rp.` prefix of a measurement or target.
fn write_qualifier(
    f: &mut Formatter<'_>,
    database: Option<&String>,
    retention_policy: Option<&String>,
) -> fmt::Result {
    if let Some(db) = database {
        write!(f, "{}.", Ident(db))?;
    }
    if let Some(rp) = retention_policy {
        write_ident(f, rp)?;
    }
    if database.is_some() || retention_policy.is_some() {
        f.write_char('.')?;
    }
    Ok(())
}

impl Display for Measurement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_qualifier(f, self.database.as_ref(), self.retention_policy.as_ref())?;
        match &self.name {
            MeasurementName::Name(name) => write_ident(f, name),
            MeasurementName::Regex(re) => re.fmt(f),
        }
    }
}

impl Display for Source {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Measurement(m) => m.fmt(f),
            Self::Subquery(select) => write!(f, "({select})"),
        }
    }
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_qualifier(f, self.database.as_ref(), self.retention_policy.as_ref())?;
        match &self.measurement {
            Some(name) => write_ident(f, name),
            None => f.write_str(":MEASUREMENT"),
        }
    }
}

impl Display for Fill {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("fill(")?;
        match self {
            Self::Null => f.write_str("null")?,
            Self::None => f.write_str("none")?,
            Self::Previous => f.write_str("previous")?,
            Self::Linear => f.write_str("linear")?,
            Self::Integer(v) => write!(f, "{v}")?,
            Self::Float(v) => write_float(f, *v)?,
        }
        f.write_char(')')
    }
}

impl Display for SortField {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.time {
            f.write_str("time ")?;
        }
        f.write_str(if self.ascending { "ASC" } else { "DESC" })
    }
}

/// Writes ` KEYWORD value` when the value is present.
pub(crate) fn write_opt<T: Display>(
    f: &mut Formatter<'_>,
    keyword: &str,
    value: Option<&T>,
) -> fmt::Result {
    match value {
        Some(v) => write!(f, " {keyword} {v}"),
        None => Ok(()),
    }
}

/// Writes ` KEYWORD a, b, c` when the list is not empty.
pub(crate) fn write_opt_list<T: Display>(
    f: &mut Formatter<'_>,
    keyword: &str,
    items: &[T],
) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    write!(f, " {keyword} ")?;
    write_list(f, items)
}

impl Display for SelectStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        write_list(f, &self.fields)?;
        write_opt(f, "INTO", self.target.as_ref())?;
        f.write_str(" FROM ")?;
        write_list(f, &self.sources)?;
        write_opt(f, "WHERE", self.condition.as_ref())?;
        write_opt_list(f, "GROUP BY", &self.dimensions)?;
        if let Some(fill) = &self.fill {
            write!(f, " {fill}")?;
        }
        write_opt(f, "ORDER BY", self.order_by.as_ref())?;
        write_opt(f, "LIMIT", self.limit.as_ref())?;
        write_opt(f, "OFFSET", self.offset.as_ref())?;
        write_opt(f, "SLIMIT", self.slimit.as_ref())?;
        write_opt(f, "SOFFSET", self.soffset.as_ref())?;
        if let Some(tz) = &self.timezone {
            write!(f, " tz({})", Quoted(tz))?;
        }
        Ok(())
    }
}
