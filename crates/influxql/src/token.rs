//! Tokens and keywords of InfluxQL 1.x.

use crate::error::Pos;

macro_rules! keywords {
    ($($variant:ident => $text:literal,)*) => {
        /// A reserved word. An unquoted identifier that spells one (in any case) is the
        /// keyword, never a name: such names must be double-quoted.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Keyword {
            $($variant,)*
        }

        impl Keyword {
            /// The keyword's canonical (upper-case) spelling.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }

            /// The keyword spelled by `word`, compared without regard to ASCII case.
            pub(crate) fn lookup(word: &str) -> Option<Self> {
                // Keywords are at most 13 bytes; longer words skip the upper-casing.
                if word.len() > 13 {
                    return None;
                }
                let upper = word.to_ascii_uppercase();
                match upper.as_str() {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// The reserved words of InfluxDB 1.8's scanner, plus AND, OR, IN, TRUE and FALSE, which its
// lookup also claims. FUTURE, PAST and VERBOSE (reserved only by later releases) stay plain
// identifiers here and are recognised by position instead.
keywords! {
    All => "ALL",
    Alter => "ALTER",
    Analyze => "ANALYZE",
    And => "AND",
    Any => "ANY",
    As => "AS",
    Asc => "ASC",
    Begin => "BEGIN",
    By => "BY",
    Cardinality => "CARDINALITY",
    Continuous => "CONTINUOUS",
    Create => "CREATE",
    Database => "DATABASE",
    Databases => "DATABASES",
    Default => "DEFAULT",
    Delete => "DELETE",
    Desc => "DESC",
    Destinations => "DESTINATIONS",
    Diagnostics => "DIAGNOSTICS",
    Distinct => "DISTINCT",
    Drop => "DROP",
    Duration => "DURATION",
    End => "END",
    Every => "EVERY",
    Exact => "EXACT",
    Explain => "EXPLAIN",
    False => "FALSE",
    Field => "FIELD",
    For => "FOR",
    From => "FROM",
    Grant => "GRANT",
    Grants => "GRANTS",
    Group => "GROUP",
    Groups => "GROUPS",
    In => "IN",
    Inf => "INF",
    Insert => "INSERT",
    Into => "INTO",
    Key => "KEY",
    Keys => "KEYS",
    Kill => "KILL",
    Limit => "LIMIT",
    Measurement => "MEASUREMENT",
    Measurements => "MEASUREMENTS",
    Name => "NAME",
    Offset => "OFFSET",
    On => "ON",
    Or => "OR",
    Order => "ORDER",
    Password => "PASSWORD",
    Policies => "POLICIES",
    Policy => "POLICY",
    Privileges => "PRIVILEGES",
    Queries => "QUERIES",
    Query => "QUERY",
    Read => "READ",
    Replication => "REPLICATION",
    Resample => "RESAMPLE",
    Retention => "RETENTION",
    Revoke => "REVOKE",
    Select => "SELECT",
    Series => "SERIES",
    Set => "SET",
    Shard => "SHARD",
    Shards => "SHARDS",
    Show => "SHOW",
    Slimit => "SLIMIT",
    Soffset => "SOFFSET",
    Stats => "STATS",
    Subscription => "SUBSCRIPTION",
    Subscriptions => "SUBSCRIPTIONS",
    Tag => "TAG",
    To => "TO",
    True => "TRUE",
    User => "USER",
    Users => "USERS",
    Values => "VALUES",
    Where => "WHERE",
    With => "WITH",
    Write => "WRITE",
}

/// What a token is, with the literal text where the kind alone does not say it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Eof,
    /// A character that starts no token, or an unterminated block comment (empty text).
    Illegal(String),
    /// An identifier; for a quoted one, the text between the quotes with escapes applied.
    Ident(String),
    /// `$name`, holding `name` (possibly empty).
    BoundParam(String),
    /// A number with a decimal point, as written.
    Number(String),
    /// Digits only, as written.
    Integer(String),
    /// Digits followed by letters (`10s`, `1h30m`, `1700000000000ms`), as written.
    Duration(String),
    /// A single-quoted string, escapes applied.
    Str(String),
    /// A string or quoted identifier that ended before its closing quote.
    BadString(String),
    /// A backslash escape that strings do not allow (the two characters).
    BadEscape(String),
    Keyword(Keyword),
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Eq,
    Neq,
    EqRegex,
    NeqRegex,
    Lt,
    Lte,
    Gt,
    Gte,
    LParen,
    RParen,
    Comma,
    Colon,
    DoubleColon,
    Semicolon,
    Dot,
}

impl Tok {
    /// How InfluxDB names this token in "found X" messages: the literal text when there is
    /// some, otherwise the token's name.
    pub(crate) fn found(&self) -> String {
        let (lit, name) = match self {
            Self::Eof => ("", "EOF"),
            Self::Illegal(s) => (s.as_str(), "ILLEGAL"),
            Self::Ident(s) => (s.as_str(), "IDENT"),
            Self::BoundParam(s) => return format!("${s}"),
            Self::Number(s) => (s.as_str(), "NUMBER"),
            Self::Integer(s) => (s.as_str(), "INTEGER"),
            Self::Duration(s) => (s.as_str(), "DURATIONVAL"),
            Self::Str(s) => (s.as_str(), "STRING"),
            Self::BadString(s) => (s.as_str(), "BADSTRING"),
            Self::BadEscape(s) => (s.as_str(), "BADESCAPE"),
            Self::Keyword(k) => ("", k.as_str()),
            Self::Add => ("", "+"),
            Self::Sub => ("", "-"),
            Self::Mul => ("", "*"),
            Self::Div => ("", "/"),
            Self::Mod => ("", "%"),
            Self::BitAnd => ("", "&"),
            Self::BitOr => ("", "|"),
            Self::BitXor => ("", "^"),
            Self::Eq => ("", "="),
            Self::Neq => ("", "!="),
            Self::EqRegex => ("", "=~"),
            Self::NeqRegex => ("", "!~"),
            Self::Lt => ("", "<"),
            Self::Lte => ("", "<="),
            Self::Gt => ("", ">"),
            Self::Gte => ("", ">="),
            Self::LParen => ("", "("),
            Self::RParen => ("", ")"),
            Self::Comma => ("", ","),
            Self::Colon => ("", ":"),
            Self::DoubleColon => ("", "::"),
            Self::Semicolon => ("", ";"),
            Self::Dot => ("", "."),
        };
        if lit.is_empty() { name } else { lit }.to_string()
    }

    pub(crate) fn is_keyword(&self, kw: Keyword) -> bool {
        matches!(self, Self::Keyword(k) if *k == kw)
    }

    /// True for an unquoted-or-quoted identifier spelling `word` (ASCII case ignored): how the
    /// words that InfluxDB 1.8 does not reserve (`fill`, `tz`, `FUTURE`, ...) are matched.
    pub(crate) fn is_word(&self, word: &str) -> bool {
        matches!(self, Self::Ident(s) if s.eq_ignore_ascii_case(word))
    }
}

/// One token with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
    /// Byte offset of the token's first character, so the parser can rescan it as a regex.
    pub(crate) offset: usize,
    /// Whether whitespace or a comment came right before it: InfluxQL tells `mean(x)` (a
    /// call) from `mean (x)`, and `distinct(x)` from `distinct x`, by this alone.
    pub(crate) space_before: bool,
}
