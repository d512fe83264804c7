//! Selectors, modifiers, subqueries, result shapes.

use super::*;

#[test]
fn instant_selector_takes_latest_sample_sorted_by_labels() {
    let src = counters();
    assert_eq!(
        flat(&src, "http_requests_total", 100),
        vec![
            (
                r#"{__name__="http_requests_total", instance="a", job="api"}"#.into(),
                90.0
            ),
            (
                r#"{__name__="http_requests_total", instance="b", job="api"}"#.into(),
                180.0
            ),
        ]
    );
}

#[test]
fn lookback_window_is_left_open() {
    let src = VecSource {
        series: vec![series(&[("__name__", "m")], &[(0, 7.0)])],
        ..Default::default()
    };
    assert_eq!(single(&src, "m", 299), 7.0);
    // The sample sits exactly at t - lookback: excluded.
    assert!(vector(&src, "m", 300).is_empty());
}

#[test]
fn offset_and_at_modifiers() {
    let src = counters();
    assert_eq!(
        single(&src, r#"http_requests_total{instance="a"} offset 1m"#, 100),
        30.0
    );
    assert_eq!(
        single(&src, r#"http_requests_total{instance="a"} offset -1m"#, 100),
        150.0
    );
    assert_eq!(
        single(&src, r#"http_requests_total{instance="a"} @ 50"#, 1000),
        45.0
    );
    assert_eq!(
        single(
            &src,
            r#"http_requests_total{instance="a"} @ 100 offset 1m"#,
            1000
        ),
        30.0
    );
    let m = match run(
        &src,
        r#"http_requests_total{instance="a"} @ start()"#,
        range_params(300, 420, 60),
    ) {
        Ok(QueryValue::Matrix(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        m[0].samples,
        vec![(300_000, 300.0), (360_000, 300.0), (420_000, 300.0)]
    );
    let m = match run(
        &src,
        r#"rate(http_requests_total{instance="a"}[1m] @ end())"#,
        range_params(300, 600, 60),
    ) {
        Ok(QueryValue::Matrix(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m[0].samples.len(), 6);
    assert!(m[0].samples.iter().all(|p| (p.1 - 1.0).abs() < 1e-12));
}

#[test]
fn or_matchers_and_regex() {
    let src = counters();
    let v = flat(
        &src,
        r#"http_requests_total{instance="a" or instance="b"}"#,
        100,
    );
    assert_eq!(v.len(), 2);
    let v = flat(&src, r#"{__name__=~"http.*|temp", instance!="b"}"#, 120);
    assert_eq!(v.iter().map(|p| p.1).collect::<Vec<_>>(), vec![120.0, 2.0]);
}

#[test]
fn range_query_builds_sorted_matrix_and_omits_empty_series() {
    let src = VecSource {
        series: vec![
            series(&[("__name__", "m"), ("k", "z")], &[(0, 1.0), (60_000, 2.0)]),
            series(&[("__name__", "m"), ("k", "a")], &[(600_000, 5.0)]),
            series(&[("__name__", "m"), ("k", "never")], &[(5_000_000, 5.0)]),
        ],
        ..Default::default()
    };
    let m = match run(&src, "m", range_params(0, 600, 300)) {
        Ok(QueryValue::Matrix(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels, labels(&[("__name__", "m"), ("k", "a")]));
    assert_eq!(m[0].samples, vec![(600_000, 5.0)]);
    assert_eq!(m[1].samples, vec![(0, 1.0), (300_000, 2.0)]);
}

#[test]
fn scalar_and_string_results() {
    let src = counters();
    assert_eq!(scalar(&src, "1 + 2 * 3", 10), 7.0);
    assert_eq!(scalar(&src, "2 ^ 3 ^ 2", 10), 512.0);
    assert_eq!(scalar(&src, "-7 % 3", 10), -1.0);
    assert_eq!(scalar(&src, "time()", 42), 42.0);
    assert_eq!(
        run(&src, "\"hi\"", instant_params(5)).ok(),
        Some(QueryValue::String(5000, "hi".into()))
    );
    match run(&src, "time() * 2", range_params(0, 120, 60)) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m.len(), 1);
            assert!(m[0].labels.is_empty());
            assert_eq!(
                m[0].samples,
                vec![(0, 0.0), (60_000, 120.0), (120_000, 240.0)]
            );
        }
        other => panic!("{other:?}"),
    }
    match run(&src, "\"hi\"", range_params(0, 120, 60)) {
        Err(PromError::BadData(m)) => assert_eq!(
            m,
            "invalid expression type \"string\" for range query, must be Scalar or instant Vector"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        run(&src, "temp[5m]", range_params(0, 120, 60)),
        Err(PromError::BadData(_))
    ));
    assert!(matches!(
        run(&src, "temp", range_params(0, 120, 0)),
        Err(PromError::BadData(_))
    ));
}

#[test]
fn instant_range_vector_returns_raw_window() {
    let src = counters();
    match run(
        &src,
        r#"http_requests_total{instance="a"}[1m]"#,
        instant_params(60),
    ) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m.len(), 1);
            assert_eq!(
                m[0].samples,
                vec![
                    (15_000, 15.0),
                    (30_000, 30.0),
                    (45_000, 45.0),
                    (60_000, 60.0)
                ]
            );
            assert_eq!(
                m[0].labels[0],
                ("__name__".into(), "http_requests_total".into())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn subqueries_align_to_absolute_step() {
    let src = counters();
    match run(
        &src,
        r#"http_requests_total{instance="a"}[2m:1m]"#,
        instant_params(630),
    ) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m[0].samples, vec![(540_000, 540.0), (600_000, 600.0)])
        }
        other => panic!("{other:?}"),
    }
    // Inner times 360..=600 (multiples of 60 in (330, 630]).
    assert_eq!(
        single(
            &src,
            r#"min_over_time(http_requests_total{instance="a"}[5m:1m])"#,
            630
        ),
        360.0
    );
    assert_eq!(
        single(
            &src,
            r#"count_over_time(http_requests_total{instance="a"}[5m:])"#,
            630
        ),
        5.0
    );
    assert_eq!(
        single(
            &src,
            r#"count_over_time(http_requests_total{instance="a"}[5m:2m])"#,
            630
        ),
        3.0
    );
    assert_eq!(
        single(
            &src,
            r#"max_over_time(http_requests_total{instance="a"}[5m:1m] offset 2m)"#,
            630
        ),
        480.0
    );
    assert_eq!(
        single(
            &src,
            r#"max_over_time(http_requests_total{instance="a"}[5m:1m] @ 200)"#,
            630
        ),
        180.0
    );
    // Nested: rate over a subquery of a rate.
    assert_close(
        single(
            &src,
            r#"max_over_time(rate(http_requests_total{instance="a"}[1m])[5m:30s])"#,
            630,
        ),
        1.0,
    );
    match run(
        &src,
        r#"sum(max_over_time(http_requests_total[2m:1m]))"#,
        range_params(600, 720, 60),
    ) {
        Ok(QueryValue::Matrix(m)) => {
            // b restarts at 600: its max over {540, 600} is 1080, over {600, 660} it is 60.
            assert_eq!(
                m[0].samples,
                vec![
                    (600_000, 600.0 + 1080.0),
                    (660_000, 660.0 + 60.0),
                    (720_000, 720.0 + 120.0)
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn selectors_fetch_their_widest_window_once() {
    let src = counters();
    run(
        &src,
        r#"rate(temp[5m] offset 1m)"#,
        range_params(600, 1200, 60),
    )
    .ok();
    assert_eq!(
        *src.calls.lock().unwrap_or_else(|e| e.into_inner()),
        vec![(240_001, 1_140_000)]
    );
    let src = counters();
    run(
        &src,
        r#"max_over_time(temp[10m:1m])"#,
        range_params(1200, 1200, 60),
    )
    .ok();
    // Inner times 660..=1200, each looking back 5 minutes.
    assert_eq!(
        *src.calls.lock().unwrap_or_else(|e| e.into_inner()),
        vec![(360_001, 1_200_000)]
    );
}

#[test]
fn many_steps_many_series_are_fast_enough() {
    let series = (0..200)
        .map(|i| {
            let inst = format!("i{i}");
            let job = format!("j{}", i % 5);
            regular(
                &[("__name__", "c"), ("instance", &inst), ("job", &job)],
                15,
                110_000,
                |t| t as f64,
            )
        })
        .collect();
    let src = VecSource {
        series,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    match run(
        &src,
        "sum by (job) (rate(c[5m]))",
        range_params(0, 109_990, 10),
    ) {
        Ok(QueryValue::Matrix(m)) => {
            assert_eq!(m.len(), 5);
            assert_eq!(m[0].samples.len(), 10_998);
            assert_close(m[0].samples[5000].1, 40.0);
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn range_selector_window_is_left_open() {
    let src = counters();
    // (540, 600]: the sample at 540 is excluded.
    assert_eq!(
        single(
            &src,
            r#"count_over_time(http_requests_total{instance="a"}[1m])"#,
            600
        ),
        4.0
    );
    assert_eq!(
        single(
            &src,
            r#"min_over_time(http_requests_total{instance="a"}[1m])"#,
            600
        ),
        555.0
    );
}

#[test]
fn absent_labels_follow_prometheus_rules() {
    let src = counters();
    assert_eq!(
        flat(
            &src,
            r#"absent(nothing{a=~"x", a="y", b="1", b="2", c="3"})"#,
            0
        ),
        vec![(r#"{a="y", c="3"}"#.into(), 1.0)]
    );
}

/// Every step of a range query must equal the instant query at that step: the cursors of
/// range evaluation against the independent single-step path.
#[test]
fn range_steps_agree_with_instant_queries() {
    let src = counters();
    let queries = [
        "http_requests_total",
        "http_requests_total offset 45s",
        "rate(http_requests_total[1m])",
        "irate(http_requests_total[2m])",
        "sum by (job) (increase(http_requests_total[90s]))",
        "avg_over_time(temp[3m])",
        "max_over_time(rate(http_requests_total[1m])[5m:30s])",
        "http_requests_total / on(job) group_left sum by (job) (http_requests_total)",
        "topk(1, http_requests_total)",
        "temp > 5 or http_requests_total",
        "absent_over_time(temp[1m])",
        "deriv(temp[5m])",
    ];
    for q in queries {
        let m = match run(&src, q, range_params(0, 1300, 37)) {
            Ok(QueryValue::Matrix(m)) => m,
            other => panic!("{q}: {other:?}"),
        };
        for step in 0..=(1300 / 37) {
            let t = step * 37;
            let mut expected: Vec<(Labels, f64)> = vector(&src, q, t)
                .into_iter()
                .map(|s| (s.labels, s.value))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let actual: Vec<(Labels, f64)> = m
                .iter()
                .filter_map(|s| {
                    s.samples
                        .iter()
                        .find(|p| p.0 == t * 1000)
                        .map(|p| (s.labels.clone(), p.1))
                })
                .collect();
            assert_eq!(actual.len(), expected.len(), "{q} at {t}");
            for (a, e) in actual.iter().zip(&expected) {
                assert_eq!(a.0, e.0, "{q} at {t}");
                assert_close(a.1, e.1);
            }
        }
    }
}
