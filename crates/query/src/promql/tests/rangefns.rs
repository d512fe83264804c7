//! Range-vector functions, histogram_quantile and the instant-vector functions.

use super::*;

fn irregular() -> VecSource {
    VecSource {
        series: vec![
            // Samples at 10s, 20s, 30s: the series ends 30s before the window's end.
            series(
                &[("__name__", "g")],
                &[(10_000, 1.0), (20_000, 2.0), (30_000, 3.0)],
            ),
            // A counter whose extrapolation to the window start would go below zero.
            series(
                &[("__name__", "z")],
                &[(15_000, 1.0), (25_000, 11.0), (35_000, 21.0)],
            ),
        ],
        ..Default::default()
    }
}

#[test]
fn rate_increase_delta_extrapolate_like_prometheus() {
    let src = counters();
    // Window (540, 600]: samples 555..600, 15s short of the start (within 1.1 intervals), so
    // extrapolated to the full minute: 45 * 60/45 = 60.
    assert_close(
        single(
            &src,
            r#"increase(http_requests_total{instance="a"}[1m])"#,
            600,
        ),
        60.0,
    );
    assert_close(
        single(&src, r#"rate(http_requests_total{instance="a"}[1m])"#, 600),
        1.0,
    );
    // Window (555, 615] of b holds 1140, 1170, 0, 15: the reset adds 1170.
    assert_close(
        single(
            &src,
            r#"increase(http_requests_total{instance="b"}[1m])"#,
            615,
        ),
        60.0,
    );
    let src = irregular();
    // Gap at the end (30s >= 1.1 * 10s): extrapolate by half an interval only.
    // (20 + 10 + 5) / 20 * 2 = 3.5.
    assert_close(single(&src, "increase(g[1m])", 60), 3.5);
    assert_close(single(&src, "rate(g[1m])", 60), 3.5 / 60.0);
    assert_close(single(&src, "delta(g[1m])", 60), 3.5);
    // Zero point of z lies 1s before its first sample: (20 + 1 + 0) / 20 * 20 = 21.
    assert_close(single(&src, "increase(z[30s])", 35), 21.0);
    assert_close(single(&src, "rate(z[30s])", 35), 0.7);
    // delta is not a counter: no zero clamp, 10s to the start: (20 + 10) / 20 * 20 = 30.
    assert_close(single(&src, "delta(z[30s])", 35), 30.0);
    // A single sample in the window gives nothing.
    assert!(vector(&src, "rate(g[5s])", 30).is_empty());
}

#[test]
fn instant_rates_and_counter_functions() {
    let src = counters();
    assert_close(
        single(&src, r#"irate(http_requests_total{instance="a"}[1m])"#, 600),
        1.0,
    );
    // The last two samples of b at 600 are 1170 then 0: a reset, so the rate is 0 / 15s.
    assert_close(
        single(&src, r#"irate(http_requests_total{instance="b"}[1m])"#, 600),
        0.0,
    );
    assert_close(
        single(&src, r#"irate(http_requests_total{instance="b"}[1m])"#, 615),
        1.0,
    );
    assert_close(
        single(
            &src,
            r#"idelta(http_requests_total{instance="b"}[1m])"#,
            600,
        ),
        -1170.0,
    );
    assert_eq!(
        single(
            &src,
            r#"resets(http_requests_total{instance="b"}[20m])"#,
            1200
        ),
        1.0
    );
    assert_eq!(single(&src, "changes(temp[5m])", 600), 4.0);
    assert_close(single(&src, "delta(temp[5m])", 600), 5.0);
    assert_close(single(&src, "deriv(temp[5m])", 600), 1.0 / 60.0);
    assert_close(single(&src, "predict_linear(temp[5m], 600)", 600), 20.0);
    // The result drops the metric name.
    assert_eq!(flat(&src, "deriv(temp[5m])", 600)[0].0, r#"{room="x"}"#);
}

#[test]
fn over_time_functions() {
    let src = counters();
    // temp in (300, 600]: 6, 7, 8, 9, 10.
    let f = |q: &str| single(&src, q, 600);
    assert_eq!(f("avg_over_time(temp[5m])"), 8.0);
    assert_eq!(f("min_over_time(temp[5m])"), 6.0);
    assert_eq!(f("max_over_time(temp[5m])"), 10.0);
    assert_eq!(f("sum_over_time(temp[5m])"), 40.0);
    assert_eq!(f("count_over_time(temp[5m])"), 5.0);
    assert_eq!(f("last_over_time(temp[5m])"), 10.0);
    assert_eq!(f("first_over_time(temp[5m])"), 6.0);
    assert_eq!(f("present_over_time(temp[5m])"), 1.0);
    assert_close(f("stdvar_over_time(temp[5m])"), 2.0);
    assert_close(f("stddev_over_time(temp[5m])"), 2f64.sqrt());
    assert_eq!(f("quantile_over_time(0.5, temp[5m])"), 8.0);
    assert_eq!(f("quantile_over_time(0.25, temp[5m])"), 7.0);
    assert_eq!(f("quantile_over_time(2, temp[5m])"), f64::INFINITY);
    assert_eq!(f("mad_over_time(temp[5m])"), 1.0);
    assert_eq!(
        flat(&src, "last_over_time(temp[5m])", 600)[0].0,
        r#"{__name__="temp", room="x"}"#
    );
    assert_eq!(
        flat(&src, "max_over_time(temp[5m])", 600)[0].0,
        r#"{room="x"}"#
    );
    assert_eq!(
        flat(
            &src,
            r#"absent_over_time(nothing{job="x", a=~"b"}[5m])"#,
            600
        ),
        vec![(r#"{job="x"}"#.into(), 1.0)]
    );
    assert!(vector(&src, "absent_over_time(temp[5m])", 600).is_empty());
    assert_eq!(
        flat(&src, r#"absent(nothing{job="x", job="y"})"#, 600),
        vec![("{}".into(), 1.0)]
    );
    assert_eq!(
        flat(&src, r#"absent(sum(nothing{job="x"}))"#, 600),
        vec![("{}".into(), 1.0)]
    );
    assert!(vector(&src, "absent(temp)", 600).is_empty());
}

fn histogram(buckets: &[(&str, f64)]) -> VecSource {
    VecSource {
        series: buckets
            .iter()
            .map(|(le, c)| {
                series(
                    &[("__name__", "h_bucket"), ("job", "api"), ("le", le)],
                    &[(0, *c)],
                )
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn histogram_quantile_interpolates_within_buckets() {
    let src = histogram(&[("0.1", 10.0), ("0.5", 30.0), ("1", 40.0), ("+Inf", 50.0)]);
    assert_eq!(
        flat(&src, "histogram_quantile(0.5, h_bucket)", 0),
        vec![(r#"{job="api"}"#.into(), 0.4)]
    );
    // The lowest bucket starts at 0.
    assert_close(single(&src, "histogram_quantile(0.1, h_bucket)", 0), 0.05);
    // The rank falls in the +Inf bucket: the highest finite bound.
    assert_eq!(single(&src, "histogram_quantile(0.99, h_bucket)", 0), 1.0);
    assert_eq!(
        single(&src, "histogram_quantile(1.5, h_bucket)", 0),
        f64::INFINITY
    );
    assert_eq!(
        single(&src, "histogram_quantile(-1, h_bucket)", 0),
        f64::NEG_INFINITY
    );
    assert_eq!(
        single(&src, "histogram_quantile(0.5, sum by (le) (h_bucket))", 0),
        0.4
    );
    // Without +Inf the result is NaN.
    let src = histogram(&[("0.1", 10.0), ("0.5", 30.0)]);
    assert!(single(&src, "histogram_quantile(0.5, h_bucket)", 0).is_nan());
    // Non-monotonic counts are flattened: 0.5 -> 10, so rank 25 falls in (0.5, 1].
    let src = histogram(&[("0.1", 10.0), ("0.5", 5.0), ("1", 40.0), ("+Inf", 50.0)]);
    assert_close(single(&src, "histogram_quantile(0.5, h_bucket)", 0), 0.75);
    // Equal bounds written differently are one bucket.
    let src = histogram(&[("1", 10.0), ("1.0", 10.0), ("+Inf", 40.0)]);
    assert_close(single(&src, "histogram_quantile(0.25, h_bucket)", 0), 0.5);
    // A negative lowest bound is returned as is.
    let src = histogram(&[("-1", 10.0), ("+Inf", 20.0)]);
    assert_eq!(single(&src, "histogram_quantile(0.25, h_bucket)", 0), -1.0);
}

#[test]
fn math_and_clamp_functions() {
    let src = VecSource {
        series: vec![
            series(&[("__name__", "x"), ("i", "1")], &[(0, -2.5)]),
            series(&[("__name__", "x"), ("i", "2")], &[(0, 4.0)]),
        ],
        ..Default::default()
    };
    let vals = |q: &str| {
        flat(&src, q, 0)
            .into_iter()
            .map(|p| p.1)
            .collect::<Vec<_>>()
    };
    assert_eq!(vals("abs(x)"), vec![2.5, 4.0]);
    assert_eq!(vals("ceil(x)"), vec![-2.0, 4.0]);
    assert_eq!(vals("floor(x)"), vec![-3.0, 4.0]);
    assert_eq!(vals("round(x)"), vec![-2.0, 4.0]);
    assert_eq!(vals("round(x, 3)"), vec![-3.0, 3.0]);
    assert_eq!(vals("sgn(x)"), vec![-1.0, 1.0]);
    assert_eq!(vals("sqrt(x)")[1], 2.0);
    assert!(vals("sqrt(x)")[0].is_nan());
    assert_eq!(vals("exp(x * 0)"), vec![1.0, 1.0]);
    assert_eq!(vals("ln(x)")[1], 4f64.ln());
    assert_eq!(vals("log2(x)")[1], 2.0);
    assert_eq!(vals("log10(x * 25)")[1], 2.0);
    assert_eq!(vals("clamp(x, -1, 1)"), vec![-1.0, 1.0]);
    assert!(vals("clamp(x, 1, -1)").is_empty());
    assert_eq!(vals("clamp_min(x, 0)"), vec![0.0, 4.0]);
    assert_eq!(vals("clamp_max(x, 0)"), vec![-2.5, 0.0]);
    assert_eq!(vals("deg(x * 0 + pi())"), vec![180.0, 180.0]);
    assert_eq!(flat(&src, "abs(x)", 0)[0].0, r#"{i="1"}"#);
    assert_eq!(vals("sort_desc(x)"), vec![4.0, -2.5]);
    assert_eq!(vals("sort(-x)"), vec![-4.0, 2.5]);
    // NaN sorts last both ways.
    assert_eq!(flat(&src, "sort(sqrt(x))", 0)[0].1, 2.0);
    assert_eq!(flat(&src, "sort_desc(sqrt(x))", 0)[0].1, 2.0);
    assert_eq!(scalar(&src, r#"scalar(x{i="2"})"#, 0), 4.0);
    assert!(scalar(&src, "scalar(x)", 0).is_nan());
    assert_eq!(flat(&src, "vector(time())", 7), vec![("{}".into(), 7.0)]);
    assert_eq!(vals("timestamp(x)"), vec![0.0, 0.0]);
    assert_eq!(vals("timestamp(x * 1)"), vec![0.0, 0.0]);
}

#[test]
fn timestamp_reports_sample_time_for_selectors() {
    let src = counters();
    assert_eq!(single(&src, "timestamp(temp)", 170), 120.0);
    assert_eq!(single(&src, "timestamp(-temp)", 170), 170.0);
}

#[test]
fn label_functions() {
    let src = counters();
    assert_eq!(
        flat(
            &src,
            r#"label_replace(temp, "floor", "f-$1", "room", "(.*)")"#,
            60
        ),
        vec![(r#"{__name__="temp", floor="f-x", room="x"}"#.into(), 1.0)]
    );
    // No match leaves the labels alone; an empty result removes the label.
    assert_eq!(
        flat(&src, r#"label_replace(temp, "room", "y", "room", "z")"#, 60)[0].0,
        r#"{__name__="temp", room="x"}"#
    );
    assert_eq!(
        flat(&src, r#"label_replace(temp, "room", "", "room", ".*")"#, 60)[0].0,
        r#"{__name__="temp"}"#
    );
    assert_eq!(
        flat(
            &src,
            r#"label_join(http_requests_total, "id", "/", "job", "instance")"#,
            60
        )[0]
        .0,
        r#"{__name__="http_requests_total", id="api/a", instance="a", job="api"}"#
    );
    assert_eq!(
        exec_err(
            &src,
            r#"label_replace(http_requests_total, "instance", "x", "", "")"#,
            instant_params(60)
        ),
        "vector cannot contain metrics with the same labelset"
    );
    assert!(matches!(
        run(
            &src,
            r#"label_replace(temp, "a", "b", "room", "(")"#,
            instant_params(60)
        ),
        Err(PromError::BadData(_))
    ));
}

#[test]
fn date_functions() {
    // 2023-11-14T22:13:20Z, a Tuesday.
    let src = VecSource::default();
    let f = |name: &str| single(&src, &format!("{name}(vector(1700000000))"), 0);
    assert_eq!(f("year"), 2023.0);
    assert_eq!(f("month"), 11.0);
    assert_eq!(f("day_of_month"), 14.0);
    assert_eq!(f("day_of_week"), 2.0);
    assert_eq!(f("day_of_year"), 318.0);
    assert_eq!(f("days_in_month"), 30.0);
    assert_eq!(f("hour"), 22.0);
    assert_eq!(f("minute"), 13.0);
    // 2024-02-29 (leap day).
    let g = |name: &str| single(&src, &format!("{name}(vector(1709164800))"), 0);
    assert_eq!(g("day_of_month"), 29.0);
    assert_eq!(g("days_in_month"), 29.0);
    assert_eq!(g("day_of_year"), 60.0);
    // No argument: the evaluation time.
    assert_eq!(single(&src, "hour()", 5 * 3600 + 120), 5.0);
    assert_eq!(single(&src, "minute()", 5 * 3600 + 120), 2.0);
}

/// Incremental evaluation of the range-vector functions against one pass per window, bit for
/// bit (NaN-aware: any NaN equals any NaN).
mod incremental {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::promql::range_fns::{SeriesEval, Window, apply, kind};
    use crate::promql::selector::window;

    /// Every range-vector function but `absent_over_time`.
    const FUNCTIONS: [&str; 21] = [
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "deriv",
        "predict_linear",
        "resets",
        "changes",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "first_over_time",
        "present_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "quantile_over_time",
        "mad_over_time",
    ];

    /// The functions `SeriesEval` answers without a pass over the window.
    const INCREMENTAL: [&str; 13] = [
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "resets",
        "changes",
        "min_over_time",
        "max_over_time",
        "count_over_time",
        "last_over_time",
        "first_over_time",
        "present_over_time",
    ];

    fn same_bits(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    fn same(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => same_bits(a, b),
            _ => false,
        }
    }

    fn gauge_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            6 => (-3i32..4).prop_map(f64::from),
            1 => Just(f64::NAN),
            1 => Just(-f64::NAN),
            1 => Just(-0.0),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            2 => -1e3f64..1e3,
            1 => -1e17f64..1e17,
        ]
    }

    /// Irregular, distinct times (ms) from `t0`.
    fn times(t0: i64, gaps: &[i64]) -> Vec<i64> {
        let mut t = t0;
        gaps.iter()
            .map(|g| {
                t += g;
                t
            })
            .collect()
    }

    /// A gauge (repeated values, NaN, ±0, ±Inf, huge values) or a counter that mostly
    /// grows by fractional amounts and sometimes resets (occasionally to NaN).
    fn samples(max_gap: i64) -> impl Strategy<Value = Vec<(i64, f64)>> {
        let gauge = prop::collection::vec((1..max_gap, gauge_value()), 0..80)
            .prop_map(|v| v.into_iter().unzip::<_, _, Vec<i64>, Vec<f64>>());
        let counter = (
            0.0f64..1e6,
            prop::collection::vec((1..max_gap, 0.0f64..100.0, 0u8..40), 0..80),
        )
            .prop_map(|(mut v, steps)| {
                steps
                    .into_iter()
                    .map(|(gap, inc, roll)| {
                        v = match roll {
                            0 | 1 => inc, // a reset
                            2 => f64::NAN,
                            3 => v, // no change
                            _ if v.is_nan() => inc,
                            _ => v + inc,
                        };
                        (gap, v)
                    })
                    .unzip::<_, _, Vec<i64>, Vec<f64>>()
            });
        (-1000i64..1000, prop_oneof![gauge, counter])
            .prop_map(|(t0, (gaps, values))| times(t0, &gaps).into_iter().zip(values).collect())
    }

    /// Non-decreasing window ends (repeats allowed), per-step parameters and the range.
    fn steps() -> impl Strategy<Value = (Vec<(i64, f64)>, i64)> {
        let param = prop_oneof![4 => -0.5f64..1.5, 1 => Just(f64::NAN), 1 => -100.0f64..100.0];
        (
            -2000i64..3000,
            prop::collection::vec((0i64..400, param), 1..60),
            1i64..2000,
        )
            .prop_map(|(start, deltas, range)| {
                let mut end = start;
                let steps = deltas
                    .into_iter()
                    .map(|(d, p)| {
                        end += d;
                        (end, p)
                    })
                    .collect();
                (steps, range)
            })
    }

    proptest! {
        #[test]
        fn series_eval_matches_one_pass_per_window(
            s in samples(60),
            (steps, range) in steps(),
        ) {
            for name in FUNCTIONS {
                let k = kind(name).expect("a range-vector function");
                let mut incremental = SeriesEval::new(k, &s, true);
                let mut per_window = SeriesEval::new(k, &s, false);
                for &(end, param) in &steps {
                    let w = Window::new(end, range, end, param);
                    let samples = window(&s, end - range, end);
                    let want = if samples.is_empty() { None } else { apply(k, samples, &w) };
                    let got = incremental.step(&w);
                    prop_assert!(
                        same(got, want),
                        "{name}[{range}] at {end}: incremental {got:?}, per window {want:?}, \
                         window {samples:?}"
                    );
                    let got = per_window.step(&w);
                    prop_assert!(same(got, want), "{name} at {end}: {got:?} vs {want:?}");
                }
            }
        }
    }

    /// `(labels, time, value bits)` of a query result, NaN bits unified.
    fn points(v: QueryValue) -> BTreeMap<(Labels, i64), u64> {
        let bits = |x: f64| {
            if x.is_nan() {
                f64::NAN.to_bits()
            } else {
                x.to_bits()
            }
        };
        match v {
            QueryValue::Matrix(m) => m
                .into_iter()
                .flat_map(|s| {
                    let labels = s.labels;
                    s.samples
                        .into_iter()
                        .map(move |(t, x)| ((labels.clone(), t), bits(x)))
                })
                .collect(),
            QueryValue::Vector(v) => v
                .into_iter()
                .map(|s| ((s.labels, s.time_ms), bits(s.value)))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A range query (incremental over its steps) answers at every step what an instant
        /// query (one pass over its one window) does.
        #[test]
        fn range_queries_match_instant_queries(
            a in samples(20_000),
            b in samples(20_000),
            start_s in 0i64..200,
            step_s in 1i64..40,
            len in 1i64..25,
            range_s in 1i64..300,
        ) {
            let src = VecSource {
                series: vec![
                    series(&[("__name__", "m"), ("i", "a")], &a),
                    series(&[("__name__", "m"), ("i", "b")], &b),
                ],
                ..Default::default()
            };
            let end_s = start_s + (len - 1) * step_s;
            for name in INCREMENTAL {
                let q = format!("{name}(m[{range_s}s])");
                let range = points(
                    run(&src, &q, range_params(start_s, end_s, step_s)).expect("range query"),
                );
                let mut instant = BTreeMap::new();
                for i in 0..len {
                    let t = start_s + i * step_s;
                    instant.extend(points(run(&src, &q, instant_params(t)).expect("instant query")));
                }
                prop_assert_eq!(range, instant, "{}", q);
            }
        }
    }
}
