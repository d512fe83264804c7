//! Generators of expressions the parser can build.

use proptest::prelude::*;

use crate::ast::*;

/// Names: plain, keyword-like, or anything at all (except `\r`, which InfluxQL cannot
/// escape and the lexer reads as a line break).
pub(crate) fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        prop::sample::select(vec![
            "select", "time", "FROM", "fill", "tz", "past", "distinct"
        ])
        .prop_map(String::from),
        "[^\r]{0,6}",
    ]
}

pub(crate) fn non_empty_name() -> impl Strategy<Value = String> {
    name().prop_filter("non-empty", |s| !s.is_empty())
}

pub(crate) fn text() -> impl Strategy<Value = String> {
    "[^\r]{0,8}"
}

pub(crate) fn regex() -> impl Strategy<Value = RegexLit> {
    prop::sample::select(vec![
        "^a$", "a/b", r"\d+", r"C:\\", "(?i)cpu", "a|b", r"x\/y", "[/]", r"\\/", "", r"\.", "é+",
    ])
    .prop_map(|p| RegexLit::new(p).expect("valid pattern"))
}

pub(crate) fn duration() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>().prop_filter("has a literal", |d| *d != i64::MIN),
        -1000i64..1000
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (
            name(),
            prop::option::of(prop::sample::select(vec![
                DataType::Float,
                DataType::Integer,
                DataType::Unsigned,
                DataType::String,
                DataType::Boolean,
                DataType::Field,
                DataType::Tag,
            ]))
        )
            .prop_map(|(name, data_type)| Expr::VarRef(VarRef { name, data_type })),
        any::<i64>().prop_map(Expr::Integer),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Expr::Unsigned),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Expr::Number),
        text().prop_map(Expr::String),
        any::<bool>().prop_map(Expr::Boolean),
        duration().prop_map(Expr::Duration),
        name().prop_map(Expr::Distinct),
        "[a-zA-Z0-9_]{1,5}|[^\r]{0,5}"
            .prop_filter("non-empty", |s| !s.is_empty())
            .prop_map(Expr::BoundParam),
        prop::sample::select(vec![
            WildcardType::All,
            WildcardType::Fields,
            WildcardType::Tags
        ])
        .prop_map(Expr::Wildcard),
    ]
}

/// Builds `lhs op rhs`, parenthesising operands as the text needs for it to parse back
/// into this shape: a looser operator on the left, or a looser-or-equal one on the right.
fn binary(lhs: Expr, op: BinaryOp, rhs: Expr) -> Expr {
    let wrap = |e: Expr, needs: &dyn Fn(u8) -> bool| match &e {
        Expr::Binary(b) if needs(b.op.precedence()) => Expr::Paren(Box::new(e)),
        _ => e,
    };
    let lhs = wrap(lhs, &|p| p < op.precedence());
    let rhs = wrap(rhs, &|p| p <= op.precedence());
    Expr::Binary(Box::new(BinaryExpr { lhs, op, rhs }))
}

fn arithmetic_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::BitwiseAnd,
        BinaryOp::BitwiseOr,
        BinaryOp::BitwiseXor,
    ])
}

/// Expressions valid in a SELECT field: no comparison or logic anywhere.
pub(crate) fn value_expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), arithmetic_op(), inner.clone()).prop_map(|(l, op, r)| binary(l, op, r)),
            inner.clone().prop_map(|e| Expr::Paren(Box::new(e))),
            (
                name(),
                prop::collection::vec(prop_oneof![inner, regex().prop_map(Expr::Regex)], 0..3)
            )
                .prop_map(|(name, args)| Expr::Call(Call {
                    name: name.to_lowercase(),
                    args
                })),
        ]
    })
}

/// WHERE conditions: comparisons, regex matches, AND, OR over value expressions.
pub(crate) fn condition() -> impl Strategy<Value = Expr> {
    let comparison = prop_oneof![
        (
            value_expr(),
            prop::sample::select(vec![
                BinaryOp::Eq,
                BinaryOp::NotEq,
                BinaryOp::Lt,
                BinaryOp::LtEq,
                BinaryOp::Gt,
                BinaryOp::GtEq,
            ]),
            value_expr()
        )
            .prop_map(|(l, op, r)| binary(l, op, r)),
        (
            value_expr(),
            prop::sample::select(vec![BinaryOp::EqRegex, BinaryOp::NotEqRegex]),
            regex()
        )
            .prop_map(|(l, op, re)| binary(l, op, Expr::Regex(re))),
    ];
    comparison.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![BinaryOp::And, BinaryOp::Or]),
                inner.clone()
            )
                .prop_map(|(l, op, r)| binary(l, op, r)),
            inner.prop_map(|e| Expr::Paren(Box::new(e))),
        ]
    })
}
