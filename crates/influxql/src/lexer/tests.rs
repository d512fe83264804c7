use super::*;

fn tokens(src: &str) -> Vec<Tok> {
    let mut lexer = Lexer::new(src);
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token();
        if token.tok == Tok::Eof {
            return out;
        }
        out.push(token.tok);
    }
}

fn ident(s: &str) -> Tok {
    Tok::Ident(s.to_string())
}

#[test]
fn operators_and_punctuation() {
    use Tok::*;
    assert_eq!(
        tokens("+ - * / % & | ^ = != <> =~ !~ < <= > >= ( ) , ; . : ::"),
        vec![
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
            Semicolon,
            Dot,
            Colon,
            DoubleColon
        ]
    );
}

#[test]
fn keywords_idents_and_case() {
    assert_eq!(
        tokens("select Select SELECT time _x x9 and OR true FALSE"),
        vec![
            Tok::Keyword(Keyword::Select),
            Tok::Keyword(Keyword::Select),
            Tok::Keyword(Keyword::Select),
            ident("time"),
            ident("_x"),
            ident("x9"),
            Tok::Keyword(Keyword::And),
            Tok::Keyword(Keyword::Or),
            Tok::Keyword(Keyword::True),
            Tok::Keyword(Keyword::False),
        ]
    );
    assert_eq!(
        tokens(r#""select" "a\"b" "x\ny""#),
        vec![ident("select"), ident("a\"b"), ident("x\ny")]
    );
}

#[test]
fn numbers_and_durations() {
    assert_eq!(
        tokens("1 1.5 .5 10s 1h30m 100ms 10µ 1700000000000ms 1."),
        vec![
            Tok::Integer("1".into()),
            Tok::Number("1.5".into()),
            Tok::Number(".5".into()),
            Tok::Duration("10s".into()),
            Tok::Duration("1h30m".into()),
            Tok::Duration("100ms".into()),
            Tok::Duration("10µ".into()),
            Tok::Duration("1700000000000ms".into()),
            Tok::Number("1".into()),
        ]
    );
    assert_eq!(tokens("1.5h"), vec![Tok::Number("1.5".into()), ident("h")]);
}

#[test]
fn strings_and_escapes() {
    assert_eq!(tokens(r"'a\'b\\c\nd'"), vec![Tok::Str("a'b\\c\nd".into())]);
    assert_eq!(tokens("'abc"), vec![Tok::BadString("abc".into())]);
    assert_eq!(tokens("'a\nb'")[0], Tok::BadString("a".into()));
    assert_eq!(tokens(r"'a\qb'")[0], Tok::BadEscape("\\q".into()));
}

#[test]
fn bound_parameters() {
    assert_eq!(
        tokens(r#"$host $1 $"a b" $"#),
        vec![
            Tok::BoundParam("host".into()),
            Tok::BoundParam("1".into()),
            Tok::BoundParam("a b".into()),
            Tok::BoundParam(String::new()),
        ]
    );
}

#[test]
fn comments_and_spacing() {
    let mut lexer = Lexer::new("a/*c*/b -- x\n c(d");
    let a = lexer.next_token();
    let b = lexer.next_token();
    let c = lexer.next_token();
    let paren = lexer.next_token();
    assert!(!a.space_before && b.space_before && c.space_before && !paren.space_before);
    assert_eq!((c.pos.line, c.pos.char), (2, 2));
    assert_eq!(
        tokens("a /* open"),
        vec![ident("a"), Tok::Illegal(String::new())]
    );
    assert_eq!(tokens("1--1"), vec![Tok::Integer("1".into())]);
}

#[test]
fn illegal_characters() {
    assert_eq!(
        tokens("? é !"),
        vec![
            Tok::Illegal("?".into()),
            Tok::Illegal("é".into()),
            Tok::Illegal("!".into()),
        ]
    );
}

#[test]
fn regexes_are_scanned_on_request() {
    let mut lexer = Lexer::new(r"/a\/b\\/ rest");
    let div = lexer.next_token();
    assert_eq!(div.tok, Tok::Div);
    assert_eq!(lexer.scan_regex(&div), Ok(r"a/b\\".to_string()));
    assert_eq!(lexer.next_token().tok, ident("rest"));
    let mut lexer = Lexer::new(r"/a\d+/");
    let div = lexer.next_token();
    assert_eq!(lexer.scan_regex(&div), Ok(r"a\d+".to_string()));
    let mut lexer = Lexer::new("/abc");
    let div = lexer.next_token();
    assert_eq!(lexer.scan_regex(&div), Err(BadRegex("abc".into())));
}

#[test]
fn positions_count_characters_and_lines() {
    let mut lexer = Lexer::new("é\r\n  x\ry");
    let e = lexer.next_token();
    let x = lexer.next_token();
    let y = lexer.next_token();
    assert_eq!((e.pos.line, e.pos.char), (1, 1));
    assert_eq!((x.pos.line, x.pos.char), (2, 3));
    assert_eq!((y.pos.line, y.pos.char), (3, 1));
}
