//! The parser's error type, worded like InfluxDB 1.x's so that its clients show what they
//! expect.

use std::fmt;

/// The text InfluxDB 1.x puts in front of every parse error it returns over HTTP.
const PREFIX: &str = "error parsing query: ";

/// A position in the query text: both numbers are 1-based, `char` counts Unicode scalar
/// values (not bytes) from the start of the line, and `\r\n` counts as one line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// The line, from 1.
    pub line: u32,
    /// The character within the line, from 1.
    pub char: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, char {}", self.line, self.char)
    }
}

/// Why a query could not be parsed. `Display` gives InfluxDB 1.x's wording, prefix included,
/// e.g. `error parsing query: found FROM, expected identifier at line 1, char 8`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A token that the grammar does not allow where it stands.
    #[error("error parsing query: found {found}, expected {expected} at {pos}")]
    Unexpected {
        /// The token found, as InfluxDB names it (`FROM`, `EOF`, an identifier's text).
        found: String,
        /// What would have been accepted, comma-separated in InfluxDB's order.
        expected: String,
        /// Where the token starts.
        pos: Pos,
    },
    /// A well-formed token with a value the grammar refuses (a bad regex, an overflowing
    /// integer, a bad escape).
    #[error("error parsing query: {message} at {pos}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Where the offending token starts.
        pos: Pos,
    },
    /// A refusal that InfluxDB 1.x reports without a position (`fill must be a function
    /// call`, `invalid duration`, the SELECT-clause operator check).
    #[error("error parsing query: {message}")]
    Semantic {
        /// What is wrong, with any position already in the text.
        message: String,
    },
    /// The query text is longer than [`crate::ParseOptions::max_input_len`]; nothing was lexed.
    #[error("error parsing query: query is {len} bytes, more than the limit of {max} bytes")]
    TooLong {
        /// The query's length in bytes.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// Parentheses, calls and subqueries nest deeper than [`crate::ParseOptions::max_depth`].
    #[error("error parsing query: nesting exceeds the maximum depth of {max} at {pos}")]
    TooDeep {
        /// The limit in force.
        max: usize,
        /// Where the first level past the limit opens.
        pos: Pos,
    },
    /// An expression tree would be taller than [`crate::ParseOptions::max_expr_height`]
    /// (a very long chain of operators such as `a OR b OR c ...`).
    #[error("error parsing query: expression is more than {max} levels tall at {pos}")]
    TooComplex {
        /// The limit in force.
        max: usize,
        /// The operator or bracket at which the limit was passed.
        pos: Pos,
    },
}

impl ParseError {
    /// The message without InfluxDB's `error parsing query: ` prefix, for callers that add
    /// their own.
    pub fn detail(&self) -> String {
        let full = self.to_string();
        match full.strip_prefix(PREFIX) {
            Some(rest) => rest.to_string(),
            None => full,
        }
    }

    /// Where the error is, when it has a position.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            Self::Unexpected { pos, .. }
            | Self::Invalid { pos, .. }
            | Self::TooDeep { pos, .. }
            | Self::TooComplex { pos, .. } => Some(*pos),
            Self::Semantic { .. } | Self::TooLong { .. } => None,
        }
    }

    pub(crate) fn unexpected(found: impl Into<String>, expected: &[&str], pos: Pos) -> Self {
        Self::Unexpected {
            found: found.into(),
            expected: expected.join(", "),
            pos,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>, pos: Pos) -> Self {
        Self::Invalid {
            message: message.into(),
            pos,
        }
    }

    pub(crate) fn semantic(message: impl Into<String>) -> Self {
        Self::Semantic {
            message: message.into(),
        }
    }
}

/// A statement that parsed but does not make sense to run: a malformed `GROUP BY time(...)`,
/// a time condition InfluxDB cannot turn into a range. Worded like InfluxDB 1.x's query
/// compiler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    message: String,
}

impl ValidationError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}
