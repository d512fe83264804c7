//! The recursive-descent parser, following the grammar and error messages of InfluxDB 1.x's
//! `influxql` package. This file holds the token plumbing, statement dispatch and the
//! clauses many statements share; SELECT, SHOW, the administrative statements and
//! expressions have their own files.

mod admin;
mod expr;
mod select;
mod show;

use crate::ParseOptions;
use crate::ast::{Expr, Measurement, MeasurementName, RegexLit, SortField, Source, Statement};
use crate::duration::parse_duration;
use crate::error::{ParseError, Pos};
use crate::lexer::{BadRegex, Lexer};
use crate::token::{Keyword, Tok, Token};

pub(crate) type PResult<T> = Result<T, ParseError>;

/// The statements a query may start with, in the order InfluxDB lists them.
const STATEMENT_KEYWORDS: &[&str] = &[
    "SELECT", "DELETE", "SHOW", "CREATE", "DROP", "EXPLAIN", "GRANT", "REVOKE", "ALTER", "SET",
    "KILL",
];

/// Parser state over one query text.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Open parentheses, calls and subqueries around the current position.
    depth: usize,
    options: ParseOptions,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, options: ParseOptions) -> Self {
        Self {
            lexer: Lexer::new(src),
            peeked: None,
            depth: 0,
            options,
        }
    }

    pub(crate) fn peek(&mut self) -> &Token {
        let lexer = &mut self.lexer;
        self.peeked.get_or_insert_with(|| lexer.next_token())
    }

    pub(crate) fn next(&mut self) -> Token {
        match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token(),
        }
    }

    /// Whether the next token is `tok` (compared with its text, if any).
    fn peek_is(&mut self, tok: &Tok) -> bool {
        self.peek().tok == *tok
    }

    /// Whether the next token is `tok` written right after the previous one.
    fn peek_adjacent(&mut self, tok: &Tok) -> bool {
        let next = self.peek();
        next.tok == *tok && !next.space_before
    }

    fn accept(&mut self, tok: &Tok) -> bool {
        let found = self.peek_is(tok);
        if found {
            self.next();
        }
        found
    }

    fn accept_kw(&mut self, kw: Keyword) -> bool {
        self.accept(&Tok::Keyword(kw))
    }

    /// Consumes an identifier spelling `word` (a word InfluxDB 1.8 does not reserve).
    fn accept_word(&mut self, word: &str) -> bool {
        let found = self.peek().tok.is_word(word);
        if found {
            self.next();
        }
        found
    }

    fn unexpected(token: &Token, expected: &[&str]) -> ParseError {
        ParseError::unexpected(token.tok.found(), expected, token.pos)
    }

    fn expect(&mut self, tok: &Tok) -> PResult<Token> {
        let token = self.next();
        if token.tok == *tok {
            Ok(token)
        } else {
            Err(Self::unexpected(&token, &[&tok.found()]))
        }
    }

    fn expect_kw(&mut self, kw: Keyword) -> PResult<Token> {
        self.expect(&Tok::Keyword(kw))
    }

    pub(crate) fn parse_ident(&mut self) -> PResult<String> {
        let token = self.next();
        match token.tok {
            Tok::Ident(name) => Ok(name),
            _ => Err(Self::unexpected(&token, &["identifier"])),
        }
    }

    fn parse_string(&mut self) -> PResult<String> {
        let token = self.next();
        match token.tok {
            Tok::Str(text) => Ok(text),
            _ => Err(Self::unexpected(&token, &["string"])),
        }
    }

    /// A duration option of a statement: a duration literal, or `INF` (0, forever).
    fn parse_duration_value(&mut self) -> PResult<i64> {
        let token = self.next();
        match &token.tok {
            Tok::Duration(text) => {
                parse_duration(text).map_err(|e| ParseError::invalid(e.to_string(), token.pos))
            }
            Tok::Keyword(Keyword::Inf) => Ok(0),
            _ => Err(Self::unexpected(&token, &["duration"])),
        }
    }

    /// An integer option within `[1, 2^31 - 1]` (replication factors).
    fn parse_replication(&mut self) -> PResult<u32> {
        let token = self.next();
        let Tok::Integer(text) = &token.tok else {
            return Err(Self::unexpected(&token, &["integer"]));
        };
        let max = i32::MAX as u32;
        match text.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            Ok(n) => Err(ParseError::invalid(
                format!("invalid value {n}: must be 1 <= n <= {max}"),
                token.pos,
            )),
            Err(_) => Err(ParseError::invalid(
                format!("invalid value {text}: must be 1 <= n <= {max}"),
                token.pos,
            )),
        }
    }

    fn parse_u64(&mut self) -> PResult<u64> {
        let token = self.next();
        match &token.tok {
            Tok::Integer(text) => text
                .parse()
                .map_err(|_| ParseError::invalid("unable to parse integer", token.pos)),
            _ => Err(Self::unexpected(&token, &["integer"])),
        }
    }

    /// Enters one level of parentheses, call or subquery nesting, refusing to go past the
    /// limit: the parser recurses once per level, so this is what bounds its stack.
    fn enter(&mut self, pos: Pos) -> PResult<()> {
        if self.depth >= self.options.max_depth {
            return Err(ParseError::TooDeep {
                max: self.options.max_depth,
                pos,
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Reads a regex literal if the next token is a `/`.
    fn try_regex(&mut self) -> PResult<Option<RegexLit>> {
        if !self.peek_is(&Tok::Div) {
            return Ok(None);
        }
        let div = self.next();
        match self.lexer.scan_regex(&div) {
            Ok(pattern) => RegexLit::new(&pattern)
                .map(Some)
                .map_err(|e| ParseError::invalid(regex_error(&e, &pattern), div.pos)),
            Err(BadRegex(partial)) => Err(ParseError::invalid(
                format!("bad regex: /{partial}"),
                div.pos,
            )),
        }
    }

    /// Parses statements separated by `;` (empty statements allowed) up to the end.
    pub(crate) fn parse_query(&mut self) -> PResult<Vec<Statement>> {
        let mut statements = Vec::new();
        let mut need_separator = false;
        loop {
            match self.peek().tok {
                Tok::Eof => return Ok(statements),
                Tok::Semicolon => {
                    self.next();
                    need_separator = false;
                }
                _ if need_separator => return Err(Self::unexpected(self.peek(), &[";"])),
                _ => {
                    statements.push(self.parse_statement()?);
                    need_separator = true;
                }
            }
        }
    }

    fn parse_statement(&mut self) -> PResult<Statement> {
        let token = self.next();
        let Tok::Keyword(kw) = token.tok else {
            return Err(Self::unexpected(&token, STATEMENT_KEYWORDS));
        };
        match kw {
            Keyword::Select => Ok(Statement::Select(Box::new(
                self.parse_select(select::IntoRule::Optional)?,
            ))),
            Keyword::Delete => self.parse_delete(false),
            Keyword::Show => self.parse_show(),
            Keyword::Create => self.parse_create(),
            Keyword::Drop => self.parse_drop(),
            Keyword::Explain => self.parse_explain(),
            Keyword::Grant => self.parse_grant(),
            Keyword::Revoke => self.parse_revoke(),
            Keyword::Alter => {
                self.expect_kw(Keyword::Retention)?;
                self.expect_kw(Keyword::Policy)?;
                self.parse_alter_retention_policy()
            }
            Keyword::Set => {
                self.expect_kw(Keyword::Password)?;
                self.expect_kw(Keyword::For)?;
                self.parse_set_password()
            }
            Keyword::Kill => {
                self.expect_kw(Keyword::Query)?;
                self.parse_kill_query()
            }
            _ => Err(Self::unexpected(&token, STATEMENT_KEYWORDS)),
        }
    }

    /// Reads the `.`-separated segments of a name whose first segment is already read.
    /// `db..m` gives an empty middle segment. Returns whether it stopped on a `.` that is
    /// followed by a regex or `:` (`db.rp./re/`, `db.rp.:MEASUREMENT`), left for the caller.
    fn parse_segments(&mut self, first: String, pos: Pos) -> PResult<(Vec<String>, bool)> {
        let mut segments = vec![first];
        let mut trailing_dot = false;
        while self.peek_adjacent(&Tok::Dot) {
            self.next();
            let next = self.peek();
            let adjacent = !next.space_before;
            match next.tok {
                Tok::Div | Tok::Colon if adjacent => {
                    trailing_dot = true;
                    break;
                }
                Tok::Dot if adjacent => segments.push(String::new()),
                _ => segments.push(self.parse_ident()?),
            }
        }
        if segments.len() > 3 {
            let quoted = quote_segments(&segments);
            return Err(ParseError::invalid(
                format!("too many segments in {quoted}"),
                pos,
            ));
        }
        Ok((segments, trailing_dot))
    }

    fn parse_sources(&mut self, subqueries: bool) -> PResult<Vec<Source>> {
        let mut sources = vec![self.parse_source(subqueries)?];
        while self.accept(&Tok::Comma) {
            sources.push(self.parse_source(subqueries)?);
        }
        Ok(sources)
    }

    fn parse_source(&mut self, subqueries: bool) -> PResult<Source> {
        if let Some(re) = self.try_regex()? {
            return Ok(Source::Measurement(Measurement {
                database: None,
                retention_policy: None,
                name: MeasurementName::Regex(re),
            }));
        }
        if subqueries && self.peek_is(&Tok::LParen) {
            let open = self.next();
            self.enter(open.pos)?;
            self.expect_kw(Keyword::Select)?;
            let select = self.parse_select(select::IntoRule::Optional)?;
            self.expect(&Tok::RParen)?;
            self.leave();
            return Ok(Source::Subquery(Box::new(select)));
        }
        let pos = self.peek().pos;
        let first = self.parse_ident()?;
        let (mut segments, trailing_dot) = self.parse_segments(first, pos)?;
        let regex = if trailing_dot && segments.len() < 3 {
            self.try_regex()?
        } else {
            None
        };
        if trailing_dot && regex.is_none() {
            return Err(Self::unexpected(self.peek(), &["identifier"]));
        }
        let non_empty = |s: String| Some(s).filter(|s| !s.is_empty());
        let name = match regex {
            Some(re) => MeasurementName::Regex(re),
            None => MeasurementName::Name(segments.pop().unwrap_or_default()),
        };
        let retention_policy = segments.pop().and_then(non_empty);
        let database = segments.pop().and_then(non_empty);
        Ok(Source::Measurement(Measurement {
            database,
            retention_policy,
            name,
        }))
    }

    fn parse_condition(&mut self) -> PResult<Option<Expr>> {
        if !self.accept_kw(Keyword::Where) {
            return Ok(None);
        }
        self.parse_expr().map(Some)
    }

    fn parse_dimensions(&mut self) -> PResult<Vec<Expr>> {
        if !self.accept_kw(Keyword::Group) {
            return Ok(Vec::new());
        }
        self.expect_kw(Keyword::By)?;
        let mut dimensions = Vec::new();
        loop {
            dimensions.push(match self.try_regex()? {
                Some(re) => Expr::Regex(re),
                None => self.parse_expr()?,
            });
            if !self.accept(&Tok::Comma) {
                return Ok(dimensions);
            }
        }
    }

    fn parse_order_by(&mut self) -> PResult<Option<SortField>> {
        if !self.accept_kw(Keyword::Order) {
            return Ok(None);
        }
        self.expect_kw(Keyword::By)?;
        let only_time = || ParseError::semantic("only ORDER BY time supported at this time");
        let token = self.next();
        let field = match &token.tok {
            Tok::Keyword(Keyword::Asc) => SortField {
                time: false,
                ascending: true,
            },
            Tok::Keyword(Keyword::Desc) => SortField {
                time: false,
                ascending: false,
            },
            Tok::Ident(name) => {
                let descending = self.accept_kw(Keyword::Desc);
                if !descending {
                    self.accept_kw(Keyword::Asc);
                }
                if !name.eq_ignore_ascii_case("time") {
                    return Err(only_time());
                }
                SortField {
                    time: true,
                    ascending: !descending,
                }
            }
            _ => return Err(Self::unexpected(&token, &["identifier", "ASC", "DESC"])),
        };
        if self.accept(&Tok::Comma) {
            self.parse_ident()?;
            return Err(only_time());
        }
        Ok(Some(field))
    }

    /// `KEYWORD <n>` if present. Values past `i64::MAX` are clamped, as InfluxDB does.
    fn parse_optional_int(&mut self, kw: Keyword) -> PResult<Option<u64>> {
        if !self.accept_kw(kw) {
            return Ok(None);
        }
        let token = self.next();
        match &token.tok {
            Tok::Integer(text) => Ok(Some(text.parse::<i64>().unwrap_or(i64::MAX) as u64)),
            _ => Err(Self::unexpected(&token, &["integer"])),
        }
    }

    /// `ON <db>` if present.
    fn parse_on_database(&mut self) -> PResult<Option<String>> {
        if !self.accept_kw(Keyword::On) {
            return Ok(None);
        }
        self.parse_ident().map(Some)
    }

    /// `FROM <sources>` if present (no subqueries).
    fn parse_optional_from(&mut self) -> PResult<Vec<Source>> {
        if !self.accept_kw(Keyword::From) {
            return Ok(Vec::new());
        }
        self.parse_sources(false)
    }
}

/// Quotes dotted segments as InfluxDB does in messages: every non-empty segment but the last
/// is quoted, and so is an empty first or last one.
fn quote_segments(segments: &[String]) -> String {
    let last = segments.len() - 1;
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let needs_quotes =
            (i < last && !segment.is_empty()) || ((i == 0 || i == last) && segment.is_empty());
        if needs_quotes {
            let mut quoted = String::new();
            crate::ast::display_quoted(&mut quoted, segment);
            out.push(quoted);
        } else {
            out.push(crate::ast::quote_ident(segment));
        }
    }
    out.join(".")
}

/// Words a regex compile error like Go's `regexp` does: one line, with the pattern.
fn regex_error(error: &regex::Error, pattern: &str) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or(text.lines().last().unwrap_or("invalid regex"));
    format!("error parsing regexp: {reason}: `{pattern}`")
}
