//! SELECT and the statements built on it or on its clauses: EXPLAIN, DELETE, DROP SERIES.

use super::{PResult, Parser};
use crate::ast::{
    DeleteStatement, ExplainStatement, Expr, Field, Fill, SelectStatement, Source, Statement,
    Target,
};
use crate::error::ParseError;
use crate::token::{Keyword, Tok};

/// Whether a SELECT must, may, or may not say `INTO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntoRule {
    /// Continuous queries write somewhere.
    Required,
    Optional,
}

impl Parser<'_> {
    /// Parses a SELECT whose `SELECT` keyword is read.
    pub(crate) fn parse_select(&mut self, into: IntoRule) -> PResult<SelectStatement> {
        let mut fields = vec![self.parse_field()?];
        while self.accept(&Tok::Comma) {
            fields.push(self.parse_field()?);
        }
        let target = self.parse_target(into)?;
        self.expect_kw(Keyword::From)?;
        let sources = self.parse_sources(true)?;
        let condition = self.parse_condition()?;
        let dimensions = self.parse_dimensions()?;
        let fill = self.parse_fill()?;
        let order_by = self.parse_order_by()?;
        let limit = self.parse_optional_int(Keyword::Limit)?;
        let offset = self.parse_optional_int(Keyword::Offset)?;
        let slimit = self.parse_optional_int(Keyword::Slimit)?;
        let soffset = self.parse_optional_int(Keyword::Soffset)?;
        let timezone = self.parse_timezone()?;
        Ok(SelectStatement {
            fields,
            target,
            sources,
            condition,
            dimensions,
            fill,
            order_by,
            limit,
            offset,
            slimit,
            soffset,
            timezone,
        })
    }

    fn parse_field(&mut self) -> PResult<Field> {
        let start = self.peek().pos;
        let expr = match self.try_regex()? {
            Some(re) => Expr::Regex(re),
            None => self.parse_expr()?,
        };
        // InfluxDB refuses boolean operators in fields, naming the first one it meets.
        let mut invalid = None;
        expr.walk(&mut |node| {
            if let (None, Expr::Binary(binary)) = (invalid, node)
                && binary.op.is_boolean()
            {
                invalid = Some(binary.op);
            }
        });
        if let Some(op) = invalid {
            return Err(ParseError::semantic(format!(
                "invalid operator {op} in SELECT clause at {start}; operator is intended for \
                 WHERE clause"
            )));
        }
        let alias = if self.accept_kw(Keyword::As) {
            Some(self.parse_ident()?)
        } else {
            None
        };
        Ok(Field { expr, alias })
    }

    fn parse_target(&mut self, into: IntoRule) -> PResult<Option<Target>> {
        if !self.peek().tok.is_keyword(Keyword::Into) {
            if into == IntoRule::Required {
                return Err(Self::unexpected(self.peek(), &["INTO"]));
            }
            return Ok(None);
        }
        self.next();
        // `INTO :MEASUREMENT` alone: write each source to a measurement of its own name.
        if self.accept(&Tok::Colon) {
            self.expect_kw(Keyword::Measurement)?;
            return Ok(Some(Target {
                database: None,
                retention_policy: None,
                measurement: None,
            }));
        }
        let pos = self.peek().pos;
        let first = self.parse_ident()?;
        let (mut segments, trailing_dot) = self.parse_segments(first, pos)?;
        let mut measurement = None;
        if trailing_dot {
            if segments.len() == 3 || !self.accept(&Tok::Colon) {
                return Err(Self::unexpected(self.peek(), &["identifier"]));
            }
            self.expect_kw(Keyword::Measurement)?;
        } else {
            measurement = segments.pop();
        }
        let non_empty = |s: String| Some(s).filter(|s| !s.is_empty());
        let retention_policy = segments.pop().and_then(non_empty);
        let database = segments.pop().and_then(non_empty);
        Ok(Some(Target {
            database,
            retention_policy,
            measurement,
        }))
    }

    /// `fill(...)` if present.
    fn parse_fill(&mut self) -> PResult<Option<Fill>> {
        if !self.peek().tok.is_word("fill") {
            return Ok(None);
        }
        let Expr::Call(call) = self.parse_expr()? else {
            return Err(ParseError::semantic("fill must be a function call"));
        };
        let [arg] = call.args.as_slice() else {
            return Err(ParseError::semantic(
                "fill requires an argument, e.g.: 0, null, none, previous, linear",
            ));
        };
        Ok(Some(match arg {
            Expr::VarRef(var) if var.data_type.is_none() => {
                match var.name.to_ascii_lowercase().as_str() {
                    "null" => Fill::Null,
                    "none" => Fill::None,
                    "previous" => Fill::Previous,
                    "linear" => Fill::Linear,
                    _ => return Err(ParseError::semantic("expected number argument in fill()")),
                }
            }
            Expr::Integer(v) => Fill::Integer(*v),
            Expr::Number(v) => Fill::Float(*v),
            _ => return Err(ParseError::semantic("expected number argument in fill()")),
        }))
    }

    /// `tz('zone')` if present; the zone must be one of the IANA database's, as InfluxDB checks
    /// it while parsing.
    fn parse_timezone(&mut self) -> PResult<Option<String>> {
        if !self.peek().tok.is_word("tz") {
            return Ok(None);
        }
        let Expr::Call(call) = self.parse_expr()? else {
            return Err(ParseError::semantic("tz must be a function call"));
        };
        match call.args.as_slice() {
            [Expr::String(zone)] if zone.parse::<chrono_tz::Tz>().is_ok() => Ok(Some(zone.clone())),
            [Expr::String(zone)] => Err(ParseError::semantic(format!(
                "unable to find time zone {zone}"
            ))),
            [_] => Err(ParseError::semantic("expected string argument in tz()")),
            _ => Err(ParseError::semantic("tz requires exactly one argument")),
        }
    }

    /// `EXPLAIN [ANALYZE] [VERBOSE] SELECT ...`, `EXPLAIN` read.
    pub(crate) fn parse_explain(&mut self) -> PResult<Statement> {
        let analyze = self.accept_kw(Keyword::Analyze);
        let verbose = self.accept_word("verbose");
        self.expect_kw(Keyword::Select)?;
        let statement = Box::new(self.parse_select(IntoRule::Optional)?);
        Ok(Statement::Explain(ExplainStatement {
            analyze,
            verbose,
            statement,
        }))
    }

    /// `DELETE` or `DROP SERIES` (their first keywords read): `[FROM ...] [WHERE ...]`, at
    /// least one of the two, over measurements of the current database only.
    pub(crate) fn parse_delete(&mut self, drop_series: bool) -> PResult<Statement> {
        let first = self.peek().clone();
        let sources = self.parse_optional_from()?;
        for source in &sources {
            if let Source::Measurement(m) = source {
                let refused = if m.database.is_some() {
                    "database not supported"
                } else if drop_series && m.retention_policy.is_some() {
                    "retention policy not supported"
                } else {
                    continue;
                };
                return Err(ParseError::invalid(refused, first.pos));
            }
        }
        let condition = self.parse_condition()?;
        if sources.is_empty() && condition.is_none() {
            return Err(Self::unexpected(&first, &["FROM", "WHERE"]));
        }
        let statement = DeleteStatement { sources, condition };
        Ok(if drop_series {
            Statement::DropSeries(statement)
        } else {
            Statement::Delete(statement)
        })
    }
}
