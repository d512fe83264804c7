//! The helpers the executor calls on a parsed SELECT.

use super::select;
use crate::ast::{
    DataType, FunctionKind, GroupByTime, GroupByTimeOffset, VarRef, function_kind, quote_ident,
    quote_string,
};

const S: i64 = 1_000_000_000;

fn names(refs: Vec<&VarRef>) -> Vec<&str> {
    refs.into_iter().map(|v| v.name.as_str()).collect()
}

#[test]
fn raw_and_aggregate_queries() {
    let raw = select("SELECT a, b * 2 FROM m");
    assert!(raw.is_raw_query() && !raw.is_aggregate());
    let agg = select("SELECT mean(a) FROM m GROUP BY time(1m)");
    assert!(!agg.is_raw_query() && agg.is_aggregate());
    let selector = select("SELECT max(a), host FROM m");
    assert!(selector.is_aggregate());
    let transform = select("SELECT derivative(a) FROM m");
    assert!(!transform.is_raw_query() && !transform.is_aggregate());
    let math = select("SELECT abs(a) FROM m");
    assert!(!math.is_raw_query() && !math.is_aggregate());
    let nested = select("SELECT non_negative_derivative(mean(a), 1s) FROM m GROUP BY time(1m)");
    assert!(nested.is_aggregate());
}

#[test]
fn referenced_names() {
    let q = select(
        "SELECT mean(usage::float) + max(other), host::tag FROM cpu \
         WHERE region = 'us' AND time > now() - 1h AND (dc =~ /a/ OR TIME < 5) GROUP BY time(1m), host",
    );
    assert_eq!(names(q.field_refs()), vec!["usage", "other", "host"]);
    assert_eq!(q.field_refs()[0].data_type, Some(DataType::Float));
    assert_eq!(q.field_refs()[2].data_type, Some(DataType::Tag));
    assert_eq!(names(q.condition_refs()), vec!["region", "dc"]);
    assert_eq!(q.group_by_tags(), vec!["host"]);
    assert!(!q.group_by_all_tags());
    assert!(select("SELECT v FROM m GROUP BY *").group_by_all_tags());
}

#[test]
fn group_by_time_interval_and_offset() {
    let gbt = |q: &str| select(q).group_by_time();
    assert_eq!(gbt("SELECT v FROM m").unwrap(), None);
    assert_eq!(gbt("SELECT v FROM m GROUP BY host").unwrap(), None);
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY time(10s)").unwrap(),
        Some(GroupByTime {
            interval: 10 * S,
            offset: GroupByTimeOffset::Duration(0)
        })
    );
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY time(10s, 5s)").unwrap(),
        Some(GroupByTime {
            interval: 10 * S,
            offset: GroupByTimeOffset::Duration(5 * S)
        })
    );
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY time(10s, -5s)").unwrap(),
        Some(GroupByTime {
            interval: 10 * S,
            offset: GroupByTimeOffset::Duration(-5 * S)
        })
    );
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY time(10s, 25s)").unwrap(),
        Some(GroupByTime {
            interval: 10 * S,
            offset: GroupByTimeOffset::Duration(5 * S)
        })
    );
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY host, time(1h, now())").unwrap(),
        Some(GroupByTime {
            interval: 3600 * S,
            offset: GroupByTimeOffset::Now
        })
    );
    assert_eq!(
        gbt("SELECT mean(v) FROM m GROUP BY time(1h, '1970-01-01T00:20:00Z')").unwrap(),
        Some(GroupByTime {
            interval: 3600 * S,
            offset: GroupByTimeOffset::Duration(1200 * S)
        })
    );
}

#[test]
fn group_by_time_mistakes() {
    let err = |q: &str| select(q).group_by_time().unwrap_err().to_string();
    assert_eq!(
        err("SELECT v FROM m GROUP BY time"),
        "time() is a function and expects at least one argument"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time()"),
        "time dimension expected 1 or 2 arguments"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time(5)"),
        "time dimension must have duration argument"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time(1m), time(1h)"),
        "multiple time dimensions not allowed"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time(1m, foo())"),
        "time dimension offset function must be now()"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time(1m, 5)"),
        "time dimension offset must be duration or now()"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY mean(v)"),
        "only time() calls allowed in dimensions"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY 'x'"),
        "only time and tag dimensions allowed"
    );
    assert_eq!(
        err("SELECT v FROM m GROUP BY time(0s)"),
        "time dimension must have a positive duration"
    );
}

#[test]
fn function_kinds() {
    assert_eq!(function_kind("mean"), Some(FunctionKind::Aggregate));
    assert_eq!(function_kind("top"), Some(FunctionKind::Selector));
    assert_eq!(
        function_kind("non_negative_derivative"),
        Some(FunctionKind::Transformation)
    );
    assert_eq!(function_kind("holt_winters"), Some(FunctionKind::Predictor));
    assert_eq!(function_kind("round"), Some(FunctionKind::Math));
    assert_eq!(function_kind("nope"), None);
}

#[test]
fn quoting_helpers() {
    assert_eq!(quote_ident("cpu"), "cpu");
    assert_eq!(quote_ident("cpu load"), "\"cpu load\"");
    assert_eq!(quote_ident("select"), "\"select\"");
    assert_eq!(quote_ident("1abc"), "\"1abc\"");
    assert_eq!(quote_ident(""), "\"\"");
    assert_eq!(quote_ident("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(quote_string("it's\n"), r"'it\'s\n'");
}
