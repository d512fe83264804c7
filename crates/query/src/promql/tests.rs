//! Evaluator tests over an in-memory source.

use std::sync::Mutex;

use promql_parser::label::{Matcher, Matchers};
use promql_parser::parser::parse;

use super::eval::evaluate;
use super::grid::EvalParams;
use super::value::{InstantSample, Labels, PromError, QueryValue, Series, SeriesSource};
use crate::budget::Budget;

#[derive(Debug, Default)]
struct VecSource {
    series: Vec<Series>,
    calls: Mutex<Vec<(i64, i64)>>,
}

fn matches_all(labels: &Labels, ms: &[Matcher]) -> bool {
    ms.iter().all(|m| {
        let v = labels
            .iter()
            .find(|(n, _)| *n == m.name)
            .map_or("", |(_, v)| v.as_str());
        m.is_match(v)
    })
}

impl SeriesSource for VecSource {
    fn select(
        &self,
        matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
        budget: &Budget,
    ) -> impl Future<Output = Result<Vec<Series>, PromError>> + Send {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((start_ms, end_ms));
        }
        let out: Vec<Series> = self
            .series
            .iter()
            .filter(|s| {
                (matchers.or_matchers.is_empty() || !matchers.matchers.is_empty())
                    && matches_all(&s.labels, &matchers.matchers)
                    || matchers
                        .or_matchers
                        .iter()
                        .any(|g| matches_all(&s.labels, g))
            })
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .copied()
                    .filter(|p| p.0 >= start_ms && p.0 <= end_ms)
                    .collect(),
            })
            .collect();
        let loaded = out.iter().map(|s| s.samples.len() as u64).sum();
        let counted = budget
            .add_samples(loaded)
            .map(|()| out)
            .map_err(PromError::from);
        std::future::ready(counted)
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut l: Labels = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    l.sort();
    l
}

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(pairs),
        samples: samples.to_vec(),
    }
}

/// Samples every `step_s` seconds from 0 through `end_s`, valued `f(t_seconds)`.
fn regular(pairs: &[(&str, &str)], step_s: i64, end_s: i64, f: impl Fn(i64) -> f64) -> Series {
    series(
        pairs,
        &(0..=end_s / step_s)
            .map(|i| (i * step_s * 1000, f(i * step_s)))
            .collect::<Vec<_>>(),
    )
}

const LOOKBACK: i64 = 300_000;

fn instant_params(t_s: i64) -> EvalParams {
    EvalParams {
        start_ms: t_s * 1000,
        end_ms: t_s * 1000,
        step_ms: 0,
        lookback_ms: LOOKBACK,
        default_subquery_step_ms: 60_000,
        instant: true,
    }
}

fn range_params(start_s: i64, end_s: i64, step_s: i64) -> EvalParams {
    EvalParams {
        start_ms: start_s * 1000,
        end_ms: end_s * 1000,
        step_ms: step_s * 1000,
        lookback_ms: LOOKBACK,
        default_subquery_step_ms: 60_000,
        instant: false,
    }
}

fn run(src: &VecSource, q: &str, params: EvalParams) -> Result<QueryValue, PromError> {
    let expr = parse(q).map_err(PromError::BadData)?;
    futures::executor::block_on(evaluate(
        src,
        &expr,
        &params,
        &crate::budget::Budget::unlimited(),
    ))
}

fn vector(src: &VecSource, q: &str, t_s: i64) -> Vec<InstantSample> {
    match run(src, q, instant_params(t_s)) {
        Ok(QueryValue::Vector(v)) => v,
        other => panic!("{q}: expected a vector, got {other:?}"),
    }
}

/// `(labels as {a="b"} text, value)` of an instant vector.
fn flat(src: &VecSource, q: &str, t_s: i64) -> Vec<(String, f64)> {
    vector(src, q, t_s)
        .into_iter()
        .map(|s| (super::grid::fmt_labels(&s.labels), s.value))
        .collect()
}

fn scalar(src: &VecSource, q: &str, t_s: i64) -> f64 {
    match run(src, q, instant_params(t_s)) {
        Ok(QueryValue::Scalar(_, v)) => v,
        other => panic!("{q}: expected a scalar, got {other:?}"),
    }
}

fn single(src: &VecSource, q: &str, t_s: i64) -> f64 {
    let v = vector(src, q, t_s);
    assert_eq!(v.len(), 1, "{q}: {v:?}");
    v[0].value
}

fn assert_close(actual: f64, expected: f64) {
    let ok = (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
        || (actual.is_nan() && expected.is_nan());
    assert!(ok, "expected {expected}, got {actual}");
}

fn exec_err(src: &VecSource, q: &str, params: EvalParams) -> String {
    match run(src, q, params) {
        Err(PromError::Execution(m)) => m,
        other => panic!("{q}: expected an execution error, got {other:?}"),
    }
}

/// http_requests_total for two instances of job api, counting up 1/s, scraped every 15s
/// over 20 minutes; instance b resets at 600s.
fn counters() -> VecSource {
    VecSource {
        series: vec![
            regular(
                &[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("instance", "a"),
                ],
                15,
                1200,
                |t| t as f64,
            ),
            regular(
                &[
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("instance", "b"),
                ],
                15,
                1200,
                |t| {
                    if t < 600 {
                        2.0 * t as f64
                    } else {
                        (t - 600) as f64
                    }
                },
            ),
            regular(&[("__name__", "temp"), ("room", "x")], 60, 1200, |t| {
                (t / 60) as f64
            }),
        ],
        ..Default::default()
    }
}

/// The reads `q` issued, in order.
fn reads(q: &str, params: EvalParams) -> Vec<(i64, i64)> {
    let src = counters();
    run(&src, q, params).ok();
    src.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

#[test]
fn identical_selectors_share_one_read_over_their_union() {
    // Lookback 5m from 600 s to 1200 s.
    assert_eq!(
        reads("temp + temp", range_params(600, 1200, 60)),
        vec![(300_001, 1_200_000)]
    );
    // The matrix selector's 10m window and the instant selector's 5m lookback overlap.
    assert_eq!(
        reads("rate(temp[10m]) + temp", range_params(600, 1200, 60)),
        vec![(1, 1_200_000)]
    );
    // A subquery's inner selector and the outer one name the same text.
    assert_eq!(
        reads("temp + max_over_time(temp[5m:1m])", instant_params(1200)),
        vec![(660_001, 1_200_000)]
    );
}

#[test]
fn selectors_that_differ_or_read_apart_ranges_read_separately() {
    // An offset is part of the selector's text.
    assert_eq!(
        reads("temp - temp offset 1h", instant_params(7200)),
        vec![(6_900_001, 7_200_000), (3_300_001, 3_600_000)]
    );
    // Same text, but the subquery's offset puts its read 5 minutes before the outer one:
    // reading the hull would load the gap.
    assert_eq!(
        reads(
            "temp + max_over_time(temp[1m:1m] offset 10m)",
            instant_params(1200)
        ),
        vec![(300_001, 600_000), (900_001, 1_200_000)]
    );
    let src = counters();
    assert_eq!(
        single(&src, "temp + max_over_time(temp[1m:1m] offset 10m)", 1200),
        20.0 + 10.0
    );
}

/// A consumer's result must not change when its read is widened by an identical selector
/// elsewhere (before its windows) or by one outside a subquery with an offset (after them).
#[test]
fn shared_reads_do_not_change_results() {
    let mut src = counters();
    // Gaps longer than the lookback, so an instant selector must ignore older samples.
    src.series.push(series(
        &[("__name__", "temp"), ("room", "gappy")],
        &[(0, 1.0), (60_000, 2.0), (900_000, 3.0), (1_140_000, 4.0)],
    ));
    let queries = [
        "temp",
        "timestamp(temp)",
        "rate(temp[5m])",
        "changes(temp[3m])",
        "count_over_time(temp[2m])",
        "absent_over_time(temp{room=\"gappy\"}[3m])",
        "last_over_time(temp[5m:1m] offset 5m)",
        "max_over_time(timestamp(temp)[5m:1m] offset 5m)",
        "count_over_time(temp[3m:1m] offset 7m)",
    ];
    // Empty at every step (both are always present), so `unless` keeps the left side as
    // is, while the wide windows widen the shared reads of both selectors to the whole data.
    let widen =
        " unless on() (absent_over_time(temp[30m]) or absent_over_time(temp{room=\"gappy\"}[30m]))";
    let value = |q: &str, params| match run(&src, q, params) {
        Ok(v) => v,
        Err(e) => panic!("{q}: {e}"),
    };
    for q in queries {
        let wide = format!("{q}{widen}");
        let params = range_params(600, 1200, 30);
        assert_eq!(value(q, params), value(&wide, params), "{q} over a range");
        for t in [0, 300, 600, 1000, 1200] {
            let params = instant_params(t);
            assert_eq!(value(q, params), value(&wide, params), "{q} at {t}");
        }
    }
}

mod basics;
mod operators;
mod rangefns;
