//! The scanner: turns query text into tokens on demand.
//!
//! It is pulled one token at a time rather than run ahead, because `/` means division or the
//! start of a regex depending on where the parser stands; the parser rescans a `/` token as a
//! regex with [`Lexer::scan_regex`] when the grammar wants one.

use crate::error::Pos;
use crate::token::{Keyword, Tok, Token};

#[cfg(test)]
mod tests;

/// A cursor over the query text that tracks InfluxDB-style positions.
#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    offset: usize,
    /// 0-based line and character; [`Pos`] adds one to each.
    line: u32,
    col: u32,
}

/// Why a regex literal could not be scanned; carries the text read so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRegex(pub(crate) String);

fn is_ident_first(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self {
            src,
            offset: 0,
            line: 0,
            col: 0,
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line + 1,
            char: self.col + 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.offset..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.offset..].chars();
        it.next();
        it.next()
    }

    /// Consumes one character. `\r\n` and a lone `\r` are read as one `\n`, as InfluxDB's
    /// reader does, so positions agree with its messages.
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        match c {
            '\r' => {
                if self.peek() == Some('\n') {
                    self.offset += 1;
                }
                self.line += 1;
                self.col = 0;
                Some('\n')
            }
            '\n' => {
                self.line += 1;
                self.col = 0;
                Some('\n')
            }
            _ => {
                self.col += 1;
                Some(c)
            }
        }
    }

    /// Moves the cursor back to where `tok` starts.
    pub(crate) fn rewind_to(&mut self, tok: &Token) {
        self.offset = tok.offset;
        self.line = tok.pos.line - 1;
        self.col = tok.pos.char - 1;
    }

    /// Skips whitespace and comments; returns whether there were any, or an unterminated
    /// block comment's start.
    fn skip_space(&mut self) -> Result<bool, Pos> {
        let mut skipped = false;
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if is_space(c) => {
                    self.bump();
                }
                (Some('-'), Some('-')) => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(start),
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(skipped),
            }
            skipped = true;
        }
    }

    /// Scans the next token, skipping whitespace and comments before it.
    pub(crate) fn next_token(&mut self) -> Token {
        let space_before = match self.skip_space() {
            Ok(skipped) => skipped,
            Err(pos) => {
                return Token {
                    tok: Tok::Illegal(String::new()),
                    pos,
                    offset: self.src.len(),
                    space_before: true,
                };
            }
        };
        let pos = self.pos();
        let offset = self.offset;
        let tok = self.scan();
        // InfluxDB's reader counts reading past the end as a character, so EOF sits one
        // further than the end of the text in its messages.
        let pos = if tok == Tok::Eof {
            Pos {
                char: pos.char + 1,
                ..pos
            }
        } else {
            pos
        };
        Token {
            tok,
            pos,
            offset,
            space_before,
        }
    }

    fn scan(&mut self) -> Tok {
        let Some(c) = self.peek() else {
            return Tok::Eof;
        };
        if is_ident_first(c) {
            let word = self.bare_ident();
            return match Keyword::lookup(&word) {
                Some(kw) => Tok::Keyword(kw),
                None => Tok::Ident(word),
            };
        }
        if c.is_ascii_digit() || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        match c {
            '"' => return self.quoted('"', Tok::Ident),
            '\'' => return self.quoted('\'', Tok::Str),
            '$' => {
                self.bump();
                return match self.peek() {
                    Some('"') => match self.quoted('"', Tok::BoundParam) {
                        Tok::BadString(s) => Tok::BadString(format!("${s}")),
                        Tok::BadEscape(s) => Tok::BadEscape(format!("${s}")),
                        other => other,
                    },
                    _ => {
                        let start = self.offset;
                        while self.peek().is_some_and(is_ident_char) {
                            self.bump();
                        }
                        Tok::BoundParam(self.src[start..self.offset].to_string())
                    }
                };
            }
            _ => {}
        }
        self.bump();
        let next = self.peek();
        let two = |lexer: &mut Self, tok: Tok| {
            lexer.bump();
            tok
        };
        match (c, next) {
            ('.', _) => Tok::Dot,
            ('+', _) => Tok::Add,
            ('-', _) => Tok::Sub,
            ('*', _) => Tok::Mul,
            ('/', _) => Tok::Div,
            ('%', _) => Tok::Mod,
            ('&', _) => Tok::BitAnd,
            ('|', _) => Tok::BitOr,
            ('^', _) => Tok::BitXor,
            ('=', Some('~')) => two(self, Tok::EqRegex),
            ('=', _) => Tok::Eq,
            ('!', Some('=')) => two(self, Tok::Neq),
            ('!', Some('~')) => two(self, Tok::NeqRegex),
            ('>', Some('=')) => two(self, Tok::Gte),
            ('>', _) => Tok::Gt,
            ('<', Some('=')) => two(self, Tok::Lte),
            ('<', Some('>')) => two(self, Tok::Neq),
            ('<', _) => Tok::Lt,
            ('(', _) => Tok::LParen,
            (')', _) => Tok::RParen,
            (',', _) => Tok::Comma,
            (';', _) => Tok::Semicolon,
            (':', Some(':')) => two(self, Tok::DoubleColon),
            (':', _) => Tok::Colon,
            _ => Tok::Illegal(c.to_string()),
        }
    }

    fn bare_ident(&mut self) -> String {
        let start = self.offset;
        while self.peek().is_some_and(is_ident_char) {
            self.bump();
        }
        self.src[start..self.offset].to_string()
    }

    /// Scans digits with an optional fraction, or digits followed by unit letters (a
    /// duration), following InfluxDB's scanner: a `.` after the digits is taken even when no
    /// digit follows it, and a number with a `.` never takes a unit.
    fn number(&mut self) -> Tok {
        let mut text = String::new();
        self.digits(&mut text);
        if self.peek() == Some('.') {
            self.bump();
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                text.push('.');
                self.digits(&mut text);
            }
            return Tok::Number(text);
        }
        let is_unit = |c: char| c.is_ascii_alphabetic() || c == 'µ';
        if !self.peek().is_some_and(is_unit) {
            return Tok::Integer(text);
        }
        while let Some(c) = self.peek().filter(|&c| is_unit(c)) {
            text.push(c);
            self.bump();
        }
        while let Some(c) = self.peek().filter(|&c| is_unit(c) || c.is_ascii_digit()) {
            text.push(c);
            self.bump();
        }
        Tok::Duration(text)
    }

    fn digits(&mut self, text: &mut String) {
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            text.push(c);
            self.bump();
        }
    }

    /// Scans a string or quoted identifier; the cursor is on the opening quote. Allowed
    /// escapes are `\n`, `\\`, `\"` and `\'`; a raw line break ends it as a bad string.
    fn quoted(&mut self, quote: char, make: fn(String) -> Tok) -> Tok {
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                Some(c) if c == quote => return make(text),
                None | Some('\n') => return Tok::BadString(text),
                Some('\\') => match self.bump() {
                    Some('n') => text.push('\n'),
                    Some(c @ ('\\' | '"' | '\'')) => text.push(c),
                    Some(c) => return Tok::BadEscape(format!("\\{c}")),
                    None => return Tok::BadEscape("\\".to_string()),
                },
                Some(c) => text.push(c),
            }
        }
    }

    /// Scans a regex literal starting at the `/` token `div`. `\/` stands for `/`, `\\`
    /// stays as is (so a pattern may end in an escaped backslash), any other escape is kept
    /// for the regex engine; a line break or the end of input before the closing `/` fails.
    pub(crate) fn scan_regex(&mut self, div: &Token) -> Result<String, BadRegex> {
        self.rewind_to(div);
        self.bump();
        let mut pattern = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(BadRegex(pattern)),
                Some('/') => return Ok(pattern),
                Some('\\') => match self.peek() {
                    Some('/') => {
                        self.bump();
                        pattern.push('/');
                    }
                    Some('\\') => {
                        self.bump();
                        pattern.push_str("\\\\");
                    }
                    Some(_) => pattern.push('\\'),
                    None => return Err(BadRegex(pattern)),
                },
                Some(c) => pattern.push(c),
            }
        }
    }
}
