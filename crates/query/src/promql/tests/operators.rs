//! Binary operators, vector matching and aggregations.

use super::*;

fn matching_data() -> VecSource {
    let at = |v: f64| vec![(0, v)];
    VecSource {
        series: vec![
            series(&[("__name__", "a"), ("x", "1"), ("y", "p")], &at(10.0)),
            series(&[("__name__", "a"), ("x", "2"), ("y", "q")], &at(20.0)),
            series(&[("__name__", "b"), ("x", "1"), ("y", "p")], &at(2.0)),
            series(&[("__name__", "b"), ("x", "2"), ("y", "q")], &at(4.0)),
            series(&[("__name__", "d"), ("x", "3")], &at(1.0)),
            series(&[("__name__", "m"), ("x", "1"), ("inst", "i1")], &at(1.0)),
            series(&[("__name__", "m"), ("x", "1"), ("inst", "i2")], &at(2.0)),
            series(
                &[("__name__", "info"), ("x", "1"), ("version", "v1")],
                &at(10.0),
            ),
        ],
        ..Default::default()
    }
}

#[test]
fn vector_scalar_arithmetic_and_comparisons() {
    let src = counters();
    assert_eq!(
        flat(&src, "http_requests_total * 2", 100),
        vec![
            (r#"{instance="a", job="api"}"#.into(), 180.0),
            (r#"{instance="b", job="api"}"#.into(), 360.0)
        ]
    );
    // Filtering comparisons keep the metric name; `bool` drops it.
    assert_eq!(
        flat(&src, "http_requests_total > 100", 100),
        vec![(
            r#"{__name__="http_requests_total", instance="b", job="api"}"#.into(),
            180.0
        )]
    );
    assert_eq!(
        flat(&src, "http_requests_total > bool 100", 100),
        vec![
            (r#"{instance="a", job="api"}"#.into(), 0.0),
            (r#"{instance="b", job="api"}"#.into(), 1.0)
        ]
    );
    // Scalar on the left: the vector's value is kept.
    assert_eq!(
        flat(&src, "100 < http_requests_total", 100)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![180.0]
    );
    assert_eq!(scalar(&src, "1 > bool 2", 0), 0.0);
    assert_eq!(
        flat(&src, "-temp", 120),
        vec![(r#"{room="x"}"#.into(), -2.0)]
    );
    assert_close(single(&src, "temp atan2 2", 120), 2f64.atan2(2.0));
}

#[test]
fn one_to_one_matching() {
    let src = matching_data();
    assert_eq!(
        flat(&src, "a / b", 0),
        vec![
            (r#"{x="1", y="p"}"#.into(), 5.0),
            (r#"{x="2", y="q"}"#.into(), 5.0)
        ]
    );
    assert_eq!(
        flat(&src, "a - on(x) b", 0),
        vec![(r#"{x="1"}"#.into(), 8.0), (r#"{x="2"}"#.into(), 16.0)]
    );
    assert_eq!(
        flat(&src, "a - ignoring(y) b", 0),
        vec![(r#"{x="1"}"#.into(), 8.0), (r#"{x="2"}"#.into(), 16.0)]
    );
    assert_eq!(
        flat(&src, "a > on(x) (b + 9)", 0),
        vec![(r#"{x="2"}"#.into(), 20.0)]
    );
    assert_eq!(
        flat(&src, "a == bool on(x, y) (b * 5)", 0),
        vec![
            (r#"{x="1", y="p"}"#.into(), 1.0),
            (r#"{x="2", y="q"}"#.into(), 1.0)
        ]
    );
}

#[test]
fn group_left_and_group_right_copy_labels_from_the_one_side() {
    let src = matching_data();
    assert_eq!(
        flat(&src, "m * on(x) group_left(version) info", 0),
        vec![
            (r#"{inst="i1", version="v1", x="1"}"#.into(), 10.0),
            (r#"{inst="i2", version="v1", x="1"}"#.into(), 20.0),
        ]
    );
    assert_eq!(
        flat(&src, "info - on(x) group_right(version) m", 0),
        vec![
            (r#"{inst="i1", version="v1", x="1"}"#.into(), 9.0),
            (r#"{inst="i2", version="v1", x="1"}"#.into(), 8.0),
        ]
    );
    // A comparison keeps the left operand's value (here the "one" side).
    assert_eq!(
        flat(&src, "info > on(x) group_right m", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![10.0, 10.0]
    );
}

#[test]
fn matching_errors() {
    let src = matching_data();
    let e = exec_err(&src, "info + on(x) m", instant_params(0));
    assert!(
        e.starts_with(r#"found duplicate series for the match group {x="1"} on the right hand-side of the operation: ["#),
        "{e}"
    );
    assert!(
        e.ends_with(
            ";many-to-many matching not allowed: matching labels must be unique on one side"
        ),
        "{e}"
    );
    let e = exec_err(&src, "m + on(x) group_right info", instant_params(0));
    assert!(e.contains("on the left hand-side"), "{e}");
    assert_eq!(
        exec_err(&src, "m + on(x) info", instant_params(0)),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    assert_eq!(
        exec_err(&src, r#"{__name__=~"a|b"} + 1"#, instant_params(0)),
        "vector cannot contain metrics with the same labelset"
    );
    assert_eq!(
        exec_err(
            &src,
            r#"sum_over_time({__name__=~"a|b"}[5m])"#,
            instant_params(0)
        ),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn set_operators() {
    let src = matching_data();
    assert_eq!(flat(&src, "a and b", 0).len(), 2);
    assert_eq!(
        flat(&src, r#"a and on(x) b{x="1"}"#, 0),
        vec![(r#"{__name__="a", x="1", y="p"}"#.into(), 10.0)]
    );
    assert_eq!(
        flat(&src, r#"a unless b{x="1"}"#, 0),
        vec![(r#"{__name__="a", x="2", y="q"}"#.into(), 20.0)]
    );
    assert_eq!(flat(&src, "a or b", 0).len(), 2);
    assert_eq!(
        flat(&src, "a or d", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![10.0, 20.0, 1.0]
    );
    assert_eq!(flat(&src, "a or on() d", 0).len(), 2);
    // Per step: `or` fills the gaps of the left side.
    let src = VecSource {
        series: vec![
            series(&[("__name__", "l")], &[(0, 1.0)]),
            series(&[("__name__", "r")], &[(0, 5.0), (600_000, 6.0)]),
        ],
        ..Default::default()
    };
    match run(&src, "l or r", range_params(0, 600, 300)) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m.len(), 2);
            assert_eq!(m[0].samples, vec![(0, 1.0)]);
            assert_eq!(m[1].samples, vec![(600_000, 6.0)]);
        }
        other => panic!("{other:?}"),
    }
}

fn agg_data() -> VecSource {
    let at = |v: f64| vec![(0, v)];
    VecSource {
        series: vec![
            series(&[("__name__", "v"), ("g", "a"), ("i", "1")], &at(1.0)),
            series(&[("__name__", "v"), ("g", "a"), ("i", "2")], &at(3.0)),
            series(&[("__name__", "v"), ("g", "b"), ("i", "3")], &at(10.0)),
            series(&[("__name__", "k"), ("i", "1")], &at(1e100)),
            series(&[("__name__", "k"), ("i", "2")], &at(1.0)),
            series(&[("__name__", "k"), ("i", "3")], &at(-1e100)),
            series(&[("__name__", "big"), ("i", "1")], &at(1e308)),
            series(&[("__name__", "big"), ("i", "2")], &at(1e308)),
            series(&[("__name__", "n"), ("i", "1")], &at(f64::NAN)),
            series(&[("__name__", "n"), ("i", "2")], &at(4.0)),
        ],
        ..Default::default()
    }
}

#[test]
fn aggregations() {
    let src = agg_data();
    let by_g = |op: &str| flat(&src, &format!("{op} by (g) (v)"), 0);
    assert_eq!(
        by_g("sum"),
        vec![(r#"{g="a"}"#.into(), 4.0), (r#"{g="b"}"#.into(), 10.0)]
    );
    assert_eq!(
        by_g("avg"),
        vec![(r#"{g="a"}"#.into(), 2.0), (r#"{g="b"}"#.into(), 10.0)]
    );
    assert_eq!(
        by_g("count"),
        vec![(r#"{g="a"}"#.into(), 2.0), (r#"{g="b"}"#.into(), 1.0)]
    );
    assert_eq!(
        by_g("min"),
        vec![(r#"{g="a"}"#.into(), 1.0), (r#"{g="b"}"#.into(), 10.0)]
    );
    assert_eq!(
        by_g("max"),
        vec![(r#"{g="a"}"#.into(), 3.0), (r#"{g="b"}"#.into(), 10.0)]
    );
    assert_eq!(
        by_g("stddev"),
        vec![(r#"{g="a"}"#.into(), 1.0), (r#"{g="b"}"#.into(), 0.0)]
    );
    assert_eq!(
        by_g("stdvar"),
        vec![(r#"{g="a"}"#.into(), 1.0), (r#"{g="b"}"#.into(), 0.0)]
    );
    assert_eq!(
        by_g("group"),
        vec![(r#"{g="a"}"#.into(), 1.0), (r#"{g="b"}"#.into(), 1.0)]
    );
    assert_eq!(flat(&src, "sum(v)", 0), vec![("{}".into(), 14.0)]);
    assert_eq!(
        flat(&src, "sum without (i) (v)", 0),
        vec![(r#"{g="a"}"#.into(), 4.0), (r#"{g="b"}"#.into(), 10.0)]
    );
    assert_eq!(
        flat(&src, "count by (__name__) (v)", 0),
        vec![(r#"{__name__="v"}"#.into(), 3.0)]
    );
    assert_eq!(single(&src, "quantile(0.5, v)", 0), 3.0);
    assert_eq!(single(&src, "quantile(0.75, v)", 0), 6.5);
    // Compensated summation and overflow-safe mean.
    assert_eq!(single(&src, "sum(k)", 0), 1.0);
    assert_eq!(single(&src, "avg(big)", 0), 1e308);
    // NaN does not stick in min/max once a number shows up.
    assert_eq!(single(&src, "max(n)", 0), 4.0);
    assert_eq!(single(&src, "min(n)", 0), 4.0);
    assert!(single(&src, "sum(n)", 0).is_nan());
}

#[test]
fn topk_bottomk_count_values() {
    let src = agg_data();
    assert_eq!(
        flat(&src, "topk(1, v)", 0),
        vec![(r#"{__name__="v", g="b", i="3"}"#.into(), 10.0)]
    );
    assert_eq!(
        flat(&src, "topk(5, v)", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![10.0, 3.0, 1.0]
    );
    assert_eq!(
        flat(&src, "bottomk(2, v)", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![1.0, 3.0]
    );
    assert_eq!(
        flat(&src, "topk(1, v) by (g)", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![3.0, 10.0]
    );
    assert_eq!(
        flat(&src, "topk(1, n)", 0)
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![4.0]
    );
    assert!(flat(&src, "topk(0, v)", 0).is_empty());
    assert_eq!(
        exec_err(&src, "topk(scalar(nothing), v)", instant_params(0)),
        "Scalar value NaN overflows int64"
    );
    assert_eq!(
        flat(&src, r#"count_values("val", v)"#, 0),
        vec![
            (r#"{val="1"}"#.into(), 1.0),
            (r#"{val="10"}"#.into(), 1.0),
            (r#"{val="3"}"#.into(), 1.0)
        ]
    );
    assert_eq!(
        flat(&src, r#"count_values by (g) ("val", v > 2)"#, 0),
        vec![
            (r#"{g="a", val="3"}"#.into(), 1.0),
            (r#"{g="b", val="10"}"#.into(), 1.0)
        ]
    );
    assert_eq!(
        flat(&src, r#"count_values("val", n)"#, 0),
        vec![(r#"{val="4"}"#.into(), 1.0), (r#"{val="NaN"}"#.into(), 1.0)]
    );
}

#[test]
fn topk_in_range_query_varies_per_step() {
    let src = VecSource {
        series: vec![
            series(&[("__name__", "s"), ("i", "1")], &[(0, 1.0), (60_000, 5.0)]),
            series(&[("__name__", "s"), ("i", "2")], &[(0, 2.0), (60_000, 3.0)]),
        ],
        ..Default::default()
    };
    match run(&src, "topk(1, s)", range_params(0, 60, 60)) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m.len(), 2);
            assert_eq!(m[0].samples, vec![(60_000, 5.0)]);
            assert_eq!(m[1].samples, vec![(0, 2.0)]);
        }
        other => panic!("{other:?}"),
    }
}
