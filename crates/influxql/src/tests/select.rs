//! SELECT: fields, INTO, FROM, WHERE, GROUP BY, fill, ORDER BY, limits, tz.

use super::{canonical, expr, parses, select};
use crate::ast::{
    BinaryExpr, BinaryOp, Call, DataType, Expr, Fill, Measurement, MeasurementName, SortField,
    Source, Target, VarRef, WildcardType,
};

fn var(name: &str) -> Expr {
    Expr::VarRef(VarRef {
        name: name.into(),
        data_type: None,
    })
}

fn bin(lhs: Expr, op: BinaryOp, rhs: Expr) -> Expr {
    Expr::Binary(Box::new(BinaryExpr { lhs, op, rhs }))
}

#[test]
fn arithmetic_precedence_and_left_grouping() {
    assert_eq!(
        expr("a + b * c"),
        bin(
            var("a"),
            BinaryOp::Add,
            bin(var("b"), BinaryOp::Mul, var("c"))
        )
    );
    assert_eq!(
        expr("a - b - c"),
        bin(
            bin(var("a"), BinaryOp::Sub, var("b")),
            BinaryOp::Sub,
            var("c")
        )
    );
    assert_eq!(
        expr("a * b + c"),
        bin(
            bin(var("a"), BinaryOp::Mul, var("b")),
            BinaryOp::Add,
            var("c")
        )
    );
    assert_eq!(
        expr("a | b & c ^ d"),
        bin(
            bin(
                var("a"),
                BinaryOp::BitwiseOr,
                bin(var("b"), BinaryOp::BitwiseAnd, var("c"))
            ),
            BinaryOp::BitwiseXor,
            var("d")
        )
    );
    assert_eq!(
        expr("a = 1 OR b = 2 AND c = 3"),
        bin(
            bin(var("a"), BinaryOp::Eq, Expr::Integer(1)),
            BinaryOp::Or,
            bin(
                bin(var("b"), BinaryOp::Eq, Expr::Integer(2)),
                BinaryOp::And,
                bin(var("c"), BinaryOp::Eq, Expr::Integer(3))
            )
        )
    );
}

#[test]
fn parentheses_are_kept() {
    assert_eq!(
        expr("(a + b) * c"),
        bin(
            Expr::Paren(Box::new(bin(var("a"), BinaryOp::Add, var("b")))),
            BinaryOp::Mul,
            var("c")
        )
    );
    assert_eq!(
        canonical("SELECT (a + b) % 3 FROM m"),
        "SELECT (a + b) % 3 FROM m"
    );
}

#[test]
fn unary_signs_fold_into_literals_and_multiply_names() {
    assert_eq!(expr("-1"), Expr::Integer(-1));
    assert_eq!(expr("-1.5"), Expr::Number(-1.5));
    assert_eq!(expr("-5s"), Expr::Duration(-5_000_000_000));
    assert_eq!(expr("+7"), Expr::Integer(7));
    assert_eq!(expr("-9223372036854775808"), Expr::Integer(i64::MIN));
    assert_eq!(expr("18446744073709551615"), Expr::Unsigned(u64::MAX));
    assert_eq!(expr("-x"), bin(Expr::Integer(-1), BinaryOp::Mul, var("x")));
    assert_eq!(
        expr("a / -x"),
        bin(
            var("a"),
            BinaryOp::Div,
            bin(Expr::Integer(-1), BinaryOp::Mul, var("x"))
        )
    );
    assert_eq!(canonical("SELECT a / -x FROM m"), "SELECT a / -x FROM m");
    assert_eq!(
        canonical("SELECT -mean(x) FROM m"),
        "SELECT -mean(x) FROM m"
    );
}

#[test]
fn literals() {
    assert_eq!(expr("'it\\'s'"), Expr::String("it's".into()));
    assert_eq!(expr("'a\\nb\\\\c\\\"d'"), Expr::String("a\nb\\c\"d".into()));
    assert_eq!(expr("true"), Expr::Boolean(true));
    assert_eq!(expr("FALSE"), Expr::Boolean(false));
    assert_eq!(expr("1.5"), Expr::Number(1.5));
    assert_eq!(expr(".5"), Expr::Number(0.5));
    assert_eq!(expr("10"), Expr::Integer(10));
    assert_eq!(expr("1h30m"), Expr::Duration(5_400_000_000_000));
    assert_eq!(expr("10u"), Expr::Duration(10_000));
    assert_eq!(expr("10µ"), Expr::Duration(10_000));
    assert_eq!(expr("$host"), Expr::BoundParam("host".into()));
    assert_eq!(
        expr("now()"),
        Expr::Call(Call {
            name: "now".into(),
            args: vec![]
        })
    );
    assert_eq!(canonical("SELECT 1.0 FROM m"), "SELECT 1.0 FROM m");
    assert_eq!(canonical("SELECT 1. FROM m"), "SELECT 1.0 FROM m");
}

#[test]
fn identifiers_and_casts() {
    assert_eq!(expr(r#""my field""#), var("my field"));
    assert_eq!(expr(r#""a\"b""#), var("a\"b"));
    assert_eq!(expr("_x9"), var("_x9"));
    assert_eq!(
        expr("x::float"),
        Expr::VarRef(VarRef {
            name: "x".into(),
            data_type: Some(DataType::Float)
        })
    );
    assert_eq!(
        expr(r#""host"::tag"#),
        Expr::VarRef(VarRef {
            name: "host".into(),
            data_type: Some(DataType::Tag)
        })
    );
    assert_eq!(expr("a.b"), var("a.b"));
    assert_eq!(
        canonical(r#"SELECT "select", "a b" FROM m"#),
        r#"SELECT "select", "a b" FROM m"#
    );
    assert_eq!(
        canonical(r#"SELECT "Value" FROM "Cpu""#),
        "SELECT Value FROM Cpu"
    );
}

#[test]
fn keywords_are_case_insensitive_but_names_keep_case() {
    let q = select("sElEcT MyField FrOm MyMeasurement wHeRe Host = 'a' LiMiT 3");
    assert_eq!(q.fields[0].expr, var("MyField"));
    assert_eq!(q.limit, Some(3));
    let Source::Measurement(m) = &q.sources[0] else {
        panic!()
    };
    assert_eq!(m.name, MeasurementName::Name("MyMeasurement".into()));
}

#[test]
fn wildcards_and_regex_fields() {
    let q = select("SELECT *, *::field, *::tag, /^cpu_/ FROM m");
    assert_eq!(q.fields[0].expr, Expr::Wildcard(WildcardType::All));
    assert_eq!(q.fields[1].expr, Expr::Wildcard(WildcardType::Fields));
    assert_eq!(q.fields[2].expr, Expr::Wildcard(WildcardType::Tags));
    assert!(matches!(&q.fields[3].expr, Expr::Regex(re) if re.as_str() == "^cpu_"));
    assert!(q.has_wildcard());
}

#[test]
fn calls_lower_case_their_names_and_nest() {
    let q = select("SELECT MEAN(x), Derivative(Mean(y), 1s), count(distinct(z)) FROM m");
    assert_eq!(q.fields[0].expr.to_string(), "mean(x)");
    assert_eq!(q.fields[1].expr.to_string(), "derivative(mean(y), 1s)");
    assert_eq!(q.fields[2].expr.to_string(), "count(distinct(z))");
    assert_eq!(
        select("SELECT distinct x FROM m").fields[0].expr,
        Expr::Distinct("x".into())
    );
}

#[test]
fn into_targets() {
    let target = |q: &str| select(q).target.unwrap();
    let t = |db: Option<&str>, rp: Option<&str>, m: Option<&str>| Target {
        database: db.map(Into::into),
        retention_policy: rp.map(Into::into),
        measurement: m.map(Into::into),
    };
    assert_eq!(target("SELECT * INTO m2 FROM m"), t(None, None, Some("m2")));
    assert_eq!(
        target(r#"SELECT * INTO "db"."rp"."m" FROM m"#),
        t(Some("db"), Some("rp"), Some("m"))
    );
    assert_eq!(
        target(r#"SELECT * INTO "db"..m FROM m"#),
        t(Some("db"), None, Some("m"))
    );
    assert_eq!(
        target("SELECT * INTO rp.m FROM m"),
        t(None, Some("rp"), Some("m"))
    );
    assert_eq!(
        target("SELECT * INTO :MEASUREMENT FROM m"),
        t(None, None, None)
    );
    assert_eq!(
        target("SELECT * INTO db.rp.:MEASUREMENT FROM /.*/"),
        t(Some("db"), Some("rp"), None)
    );
    assert_eq!(
        target("SELECT * INTO db..:MEASUREMENT FROM m"),
        t(Some("db"), None, None)
    );
    assert_eq!(
        canonical("SELECT * INTO db..:MEASUREMENT FROM m"),
        "SELECT * INTO db..:MEASUREMENT FROM m"
    );
}

#[test]
fn from_sources() {
    let source = |q: &str| match select(q).sources.remove(0) {
        Source::Measurement(m) => m,
        Source::Subquery(_) => panic!(),
    };
    let name = |s: &str| MeasurementName::Name(s.into());
    let m = |db: Option<&str>, rp: Option<&str>, name: MeasurementName| Measurement {
        database: db.map(Into::into),
        retention_policy: rp.map(Into::into),
        name,
    };
    assert_eq!(source("SELECT * FROM cpu"), m(None, None, name("cpu")));
    assert_eq!(
        source(r#"SELECT * FROM "c p u""#),
        m(None, None, name("c p u"))
    );
    assert_eq!(
        source("SELECT * FROM db.rp.cpu"),
        m(Some("db"), Some("rp"), name("cpu"))
    );
    assert_eq!(
        source("SELECT * FROM db..cpu"),
        m(Some("db"), None, name("cpu"))
    );
    assert_eq!(
        source("SELECT * FROM rp.cpu"),
        m(None, Some("rp"), name("cpu"))
    );
    let regex = source("SELECT * FROM db.rp./c.*/");
    assert_eq!(
        (regex.database.as_deref(), regex.retention_policy.as_deref()),
        (Some("db"), Some("rp"))
    );
    assert!(matches!(regex.name, MeasurementName::Regex(ref re) if re.as_str() == "c.*"));
    assert!(
        matches!(source("SELECT * FROM /a\\/b/").name, MeasurementName::Regex(ref re) if re.as_str() == "a/b")
    );
    assert_eq!(select("SELECT * FROM a, b, /c/").sources.len(), 3);
}

#[test]
fn nested_subqueries() {
    let q = select(
        "SELECT max(m) FROM (SELECT mean(x) AS m FROM (SELECT x FROM cpu WHERE x > 0) GROUP BY time(1m))",
    );
    let outer = q.subqueries().next().unwrap();
    let inner = outer.subqueries().next().unwrap();
    assert_eq!(inner.condition, Some(expr("x > 0")));
}

#[test]
fn where_comparisons() {
    for (text, op) in [
        ("a = 1", BinaryOp::Eq),
        ("a != 1", BinaryOp::NotEq),
        ("a <> 1", BinaryOp::NotEq),
        ("a < 1", BinaryOp::Lt),
        ("a <= 1", BinaryOp::LtEq),
        ("a > 1", BinaryOp::Gt),
        ("a >= 1", BinaryOp::GtEq),
    ] {
        assert_eq!(expr(text), bin(var("a"), op, Expr::Integer(1)), "{text}");
    }
    assert!(matches!(expr("a =~ /x/"), Expr::Binary(b) if b.op == BinaryOp::EqRegex));
    assert!(matches!(expr("a !~ /x/"), Expr::Binary(b) if b.op == BinaryOp::NotEqRegex));
}

#[test]
fn group_by_fill_order_limits_tz_in_order() {
    let q = select(
        "SELECT mean(v) FROM m WHERE time > now() - 1h GROUP BY time(1m), host, /^r/ fill(previous) \
         ORDER BY time DESC LIMIT 10 OFFSET 5 SLIMIT 3 SOFFSET 1 tz('Europe/Paris')",
    );
    assert_eq!(q.dimensions.len(), 3);
    assert_eq!(q.fill, Some(Fill::Previous));
    assert_eq!(
        q.order_by,
        Some(SortField {
            time: true,
            ascending: false
        })
    );
    assert_eq!(
        (q.limit, q.offset, q.slimit, q.soffset),
        (Some(10), Some(5), Some(3), Some(1))
    );
    assert_eq!(q.timezone.as_deref(), Some("Europe/Paris"));
}

#[test]
fn fill_options() {
    let fill = |f: &str| {
        select(&format!(
            "SELECT mean(v) FROM m GROUP BY time(1m) fill({f})"
        ))
        .fill
    };
    assert_eq!(fill("null"), Some(Fill::Null));
    assert_eq!(fill("none"), Some(Fill::None));
    assert_eq!(fill("previous"), Some(Fill::Previous));
    assert_eq!(fill("linear"), Some(Fill::Linear));
    assert_eq!(fill("0"), Some(Fill::Integer(0)));
    assert_eq!(fill("-3"), Some(Fill::Integer(-3)));
    assert_eq!(fill("2.5"), Some(Fill::Float(2.5)));
}

#[test]
fn order_by_forms() {
    let order = |o: &str| {
        select(&format!("SELECT v FROM m ORDER BY {o}"))
            .order_by
            .unwrap()
    };
    assert_eq!(
        order("time"),
        SortField {
            time: true,
            ascending: true
        }
    );
    assert_eq!(
        order("time ASC"),
        SortField {
            time: true,
            ascending: true
        }
    );
    assert_eq!(
        order("time desc"),
        SortField {
            time: true,
            ascending: false
        }
    );
    assert_eq!(
        order("DESC"),
        SortField {
            time: false,
            ascending: false
        }
    );
}

#[test]
fn comments_are_whitespace() {
    let q = select("SELECT /* the field */ v -- trailing\nFROM m /* done */");
    assert_eq!(q.fields[0].expr, var("v"));
    assert_eq!(select("SELECT v FROM m -- no newline").fields.len(), 1);
}

#[test]
fn statements_separated_by_semicolons() {
    assert_eq!(
        crate::parse("SELECT a FROM m; SELECT b FROM m;")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(crate::parse(";;SELECT a FROM m;;").unwrap().len(), 1);
    assert!(crate::parse("").unwrap().is_empty());
    assert!(crate::parse("  -- just a comment").unwrap().is_empty());
}

#[test]
fn crlf_and_tabs_are_whitespace() {
    assert_eq!(select("SELECT\tv\r\nFROM\r m").fields.len(), 1);
}

parses! {
    select_star: "SELECT * FROM cpu",
    select_field_alias_keyword: r#"SELECT v AS "limit" FROM m"#,
    select_literal_fields: "SELECT 1, 2.5, 'x', true FROM m",
    select_bitwise: "SELECT a & 255, b | 1, c ^ 2 FROM m",
    select_modulo: "SELECT a % 3 FROM m",
    select_nested_parens: "SELECT ((a + b) * (c - d)) / 2 FROM m",
    select_holt_winters: "SELECT holt_winters(mean(v), 10, 4) FROM m WHERE time > now() - 1d GROUP BY time(1h)",
    select_bottom_tags: "SELECT bottom(v, host, region, 5) FROM m",
    select_sample: "SELECT sample(v, 10) FROM m",
    select_elapsed: "SELECT elapsed(v, 1ms) FROM m",
    select_integral: "SELECT integral(v, 1h) FROM m",
    select_regex_call_arg: "SELECT mean(/^usage_/) FROM cpu",
    select_where_bool: "SELECT v FROM m WHERE ok = true AND NOT_A_KEYWORD = false",
    select_where_string_escape: r"SELECT v FROM m WHERE host = 'it\'s'",
    select_where_nested_or: "SELECT v FROM m WHERE (a = 1 OR b = 2) AND (c = 3 OR (d = 4 AND e = 5))",
    select_where_regex_not: "SELECT v FROM m WHERE host !~ /^test/",
    select_where_float: "SELECT v FROM m WHERE v > -0.25",
    select_where_bound_param: "SELECT v FROM m WHERE host = $host AND time > now() - $range",
    select_where_time_string: "SELECT v FROM m WHERE time > '2024-01-01T00:00:00Z' AND time < '2024-01-02'",
    select_where_time_ns: "SELECT v FROM m WHERE time >= 1700000000000000000 AND time <= 1700003600000000000",
    select_where_now_arith: "SELECT v FROM m WHERE time > now() - 1h - 30m",
    select_group_by_quoted_tag: r#"SELECT count(v) FROM m GROUP BY "host name""#,
    select_group_by_regex: "SELECT count(v) FROM m GROUP BY /^h/",
    select_group_by_now_offset: "SELECT count(v) FROM m GROUP BY time(1h, now())",
    select_order_only: "SELECT v FROM m ORDER BY DESC",
    select_slimit_only: "SELECT v FROM m GROUP BY * SLIMIT 1",
    select_unsigned: "SELECT v FROM m WHERE v > 18446744073709551615",
    select_bound_param_quoted: r#"SELECT v FROM m WHERE host = $"my param""#,
    select_unicode_string: "SELECT v FROM m WHERE city = 'Zürich ✓'",
    select_unicode_ident: r#"SELECT "température" FROM "météo""#,
    select_empty_quoted_ident: r#"SELECT "" FROM "x""#,
    select_subquery_with_into: "SELECT * FROM (SELECT v INTO other FROM m)",
    select_multiple_subqueries: "SELECT * FROM (SELECT a FROM m), (SELECT b FROM n), o",
    select_cast_every_type: "SELECT a::float, b::integer, c::unsigned, d::string, e::boolean, f::field, g::tag FROM m",
    select_regex_with_slash_escape: r"SELECT v FROM m WHERE path =~ /^\/var\/log/",
    select_regex_with_backslash: r"SELECT v FROM m WHERE path =~ /C:\\temp\\/",
    select_sub_negative: "SELECT a - -1, a - -b FROM m",
}
