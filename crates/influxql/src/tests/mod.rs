//! Tests over the public API: statements real clients send, error messages, bounds, and
//! the round-trip properties.

mod admin;
mod bounds;
mod errors;
mod expr_strategies;
mod grafana;
mod helpers;
mod properties;
mod select;
mod show;
mod strategies;

use crate::ast::{Expr, SelectStatement, Statement};
use crate::parse;

/// Parses one statement, failing the test on error, and checks that printing it and
/// parsing the text again gives the same tree.
#[track_caller]
pub(crate) fn parse_one(query: &str) -> Statement {
    let mut statements = match parse(query) {
        Ok(statements) => statements,
        Err(e) => panic!("{query:?} failed: {e}"),
    };
    assert_eq!(statements.len(), 1, "{query:?}");
    let statement = statements.remove(0);
    let printed = statement.to_string();
    let reparsed = match parse(&printed) {
        Ok(mut again) if again.len() == 1 => again.remove(0),
        other => panic!("{query:?} printed as {printed:?}, which parses to {other:?}"),
    };
    assert_eq!(reparsed, statement, "{query:?} printed as {printed:?}");
    statement
}

/// Parses one SELECT.
#[track_caller]
pub(crate) fn select(query: &str) -> SelectStatement {
    match parse_one(query) {
        Statement::Select(select) => *select,
        other => panic!("{query:?} is not a SELECT: {other:?}"),
    }
}

/// The canonical text of a query's only statement.
#[track_caller]
pub(crate) fn canonical(query: &str) -> String {
    parse_one(query).to_string()
}

/// The error message for a query that must fail.
#[track_caller]
pub(crate) fn error(query: &str) -> String {
    match parse(query) {
        Ok(statements) => panic!("{query:?} parsed: {statements:?}"),
        Err(e) => e.to_string(),
    }
}

/// Parses an expression for comparisons in tests.
#[track_caller]
pub(crate) fn expr(text: &str) -> Expr {
    crate::parse_expr(text).unwrap_or_else(|e| panic!("{text:?} failed: {e}"))
}

/// Declares one test per query, each checking that the query parses and round-trips.
macro_rules! parses {
    ($($name:ident: $query:expr,)*) => {
        $(
            #[test]
            fn $name() {
                crate::tests::parse_one($query);
            }
        )*
    };
}
pub(crate) use parses;
