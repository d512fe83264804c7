//! `tidemark-influxql` owns the InfluxQL 1.x language for Tidemark: the lexer, the parser and the
//! syntax tree for the statements InfluxDB 1.x clients send (Grafana's InfluxQL mode, the
//! `influx` shell, Chronograf), with errors worded as InfluxDB 1.x words them. It also answers
//! the questions an executor asks of a parsed query (time range of a WHERE clause, the
//! clause without its time conditions, referenced names, raw versus aggregate, GROUP BY
//! time interval and offset) and parses and formats durations. It runs nothing itself.
//!
//! Input is treated as hostile: its length is checked before lexing, nesting depth and
//! expression height are bounded so neither parsing nor dropping a tree can exhaust the
//! stack, and no input makes it panic.

pub mod ast;
mod duration;
mod error;
mod lexer;
pub mod line;
mod parser;
mod time_range;
mod token;

#[cfg(test)]
mod tests;

pub use ast::{Expr, SelectStatement, Statement};
pub use duration::{DurationError, format_duration, parse_duration};
pub use error::{ParseError, Pos, ValidationError};
pub use time_range::{Split, TimeRange};

/// Limits that keep hostile input from costing more than a query should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseOptions {
    /// Longest query text accepted, in bytes; longer text is refused before lexing.
    pub max_input_len: usize,
    /// Deepest nesting of parentheses, function calls and subqueries, combined.
    pub max_depth: usize,
    /// Tallest expression tree, counting every operator, parenthesis and call on the way
    /// down (a chain `a OR b OR c` of n terms is n tall). This bounds the recursion of
    /// everything that walks a tree, dropping it included.
    pub max_expr_height: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_input_len: 1 << 20,
            max_depth: 64,
            max_expr_height: 1000,
        }
    }
}

/// Parses a query of one or more `;`-separated statements with the default limits. Empty
/// input (or only separators and comments) gives no statements.
pub fn parse(query: &str) -> Result<Vec<Statement>, ParseError> {
    parse_with(query, &ParseOptions::default())
}

/// Parses a query of one or more `;`-separated statements under `options`.
pub fn parse_with(query: &str, options: &ParseOptions) -> Result<Vec<Statement>, ParseError> {
    check_len(query, options)?;
    parser::Parser::new(query, *options).parse_query()
}

/// Parses a single expression (a WHERE condition, say) with the default limits.
pub fn parse_expr(text: &str) -> Result<Expr, ParseError> {
    let options = ParseOptions::default();
    check_len(text, &options)?;
    let mut parser = parser::Parser::new(text, options);
    let expr = parser.parse_expr()?;
    let next = parser.next();
    if next.tok != token::Tok::Eof {
        return Err(ParseError::unexpected(next.tok.found(), &["EOF"], next.pos));
    }
    Ok(expr)
}

fn check_len(query: &str, options: &ParseOptions) -> Result<(), ParseError> {
    if query.len() > options.max_input_len {
        return Err(ParseError::TooLong {
            len: query.len(),
            max: options.max_input_len,
        });
    }
    Ok(())
}
