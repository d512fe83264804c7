//! PromQL against Prometheus itself: the same samples remote-written to a real Prometheus
//! (its remote-write receiver on) and to Tidemark, then every query of `promql_queries` run
//! as a range query and as an instant query on both, the answers compared within floating-point
//! tolerance. Every mismatch fails the test.
//!
//! Debian ships Prometheus 2.42, which differs from Prometheus 3 (which Tidemark follows) in
//! two ways this data steers clear of, as `docs/promql.md` records:
//! - its windows are closed on the left where Prometheus 3 leaves them open. Samples sit at odd
//!   milliseconds and every range, offset and step is a whole number of seconds, so no sample
//!   lies on a window boundary; evaluation times are 7 s past the minute, so no subquery step
//!   lies on one either.
//! - when a counter starts inside a `rate` window, 2.42 clamps the extrapolation at the
//!   counter's zero point before deciding whether to extrapolate; Prometheus 3 decides first.
//!   Counters here start high (as a long-running process's do), where both agree.
//! - `atan2` keeps the metric name in 2.42 and drops it since 2.46, like every arithmetic
//!   operator; the suite applies it to name-less vectors.
//!
//! Tidemark keeps the first 30 minutes of the data in its cold tier: the data starts half an
//! hour before an hour boundary, the server's hot retention puts that boundary at the tiering
//! cutoff, and with one-hour partitions a tiering pass (checked through `/api/v0/tier/status`)
//! moves the partition that ends at the boundary to Parquet before any query runs. Some series
//! then live only in Parquet, some only in the hot tier, and most cross the boundary.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::TestServer;
use crate::harness::Lcg;
use crate::prom::{Prometheus, SeriesData, post_form, remote_write, write_body};
use crate::promql_queries::{Edges, queries};

const SCRAPE_MS: i64 = 15_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// The data covers 55 minutes: Prometheus's head accepts samples up to an hour behind its newest.
const SPAN_MS: i64 = 55 * MINUTE_MS;
/// The first 30 minutes of the data go to Tidemark's cold tier.
const COLD_MS: i64 = 30 * MINUTE_MS;
const STEP_SECONDS: i64 = 60;

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// Times of one series: every 15 s from `base`, at an odd millisecond of its own.
fn times(base: i64, series: usize, until: i64) -> impl Iterator<Item = i64> {
    let jitter = 101 + (series as i64 * 37) % 800;
    (0..)
        .map(move |k| base + k * SCRAPE_MS + jitter)
        .take_while(move |time| *time < until)
}

/// Times of one series within `spans` (offsets from `base`, in minutes, end exclusive).
fn times_in(base: i64, series: usize, spans: &[(i64, i64)]) -> Vec<i64> {
    let spans: Vec<(i64, i64)> = spans
        .iter()
        .map(|(from, until)| (base + from * MINUTE_MS, base + until * MINUTE_MS))
        .collect();
    let until = spans.iter().map(|span| span.1).max().unwrap_or(base);
    times(base, series, until)
        .filter(|time| {
            spans
                .iter()
                .any(|(from, until)| from <= time && time < until)
        })
        .collect()
}

/// A gauge (a random walk) present within `spans` (minutes from `base`).
fn gauge(
    all: &mut Vec<SeriesData>,
    random: &mut Lcg,
    base: i64,
    pairs: &[(&str, &str)],
    spans: &[(i64, i64)],
) {
    let mut value = (random.next() * 100.0).floor();
    let samples = times_in(base, all.len(), spans)
        .into_iter()
        .map(|time| {
            value += (random.next() * 10.0).floor() - 4.0;
            (time, value)
        })
        .collect();
    all.push((labels(pairs), samples));
}

/// A counter present within `spans`; it starts high (see the module's notes) and never resets.
fn counter(
    all: &mut Vec<SeriesData>,
    random: &mut Lcg,
    base: i64,
    pairs: &[(&str, &str)],
    spans: &[(i64, i64)],
) {
    let mut total = 20_000.0 + (random.next() * 1_000.0).floor();
    let samples = times_in(base, all.len(), spans)
        .into_iter()
        .map(|time| {
            total += (random.next() * 30_000.0).floor() / 1_000.0;
            (time, total)
        })
        .collect();
    all.push((labels(pairs), samples));
}

fn dataset(base: i64) -> Vec<SeriesData> {
    let mut random = Lcg(42);
    let mut all = Vec::new();
    let end = base + SPAN_MS;
    for job in ["api", "web"] {
        for instance in ["i0", "i1", "i2"] {
            for method in ["get", "post"] {
                let index = all.len();
                // Counters start high, as long-running processes' do (see below).
                let mut total = 5_000.0 + (random.next() * 1_000.0).floor();
                let samples = times(base, index, end)
                    .enumerate()
                    .map(|(k, time)| {
                        // One counter restarts midway: rate() must see through the reset.
                        if index == 3 && k == 100 {
                            total = 0.0;
                        }
                        // Fractional steps: no two rates tie, so topk/bottomk have one answer.
                        total += (random.next() * 20_000.0).floor() / 1_000.0;
                        (time, total)
                    })
                    .collect();
                all.push((
                    labels(&[
                        ("__name__", "http_requests_total"),
                        ("job", job),
                        ("instance", instance),
                        ("method", method),
                    ]),
                    samples,
                ));
            }
        }
    }
    for instance in ["i0", "i1", "i2"] {
        for zone in ["a", "b"] {
            let index = all.len();
            let mut temperature = 20.0 + random.next() * 2.0;
            let samples = times(base, index, end)
                .map(|time| {
                    temperature += random.next() - 0.5;
                    (time, (temperature * 100.0).round() / 100.0)
                })
                .collect();
            all.push((
                labels(&[
                    ("__name__", "node_temperature_celsius"),
                    ("instance", instance),
                    ("zone", zone),
                ]),
                samples,
            ));
        }
        for device in ["sda", "sdb"] {
            let index = all.len();
            let mut free = 1e9 * (1.0 + random.next());
            let samples = times(base, index, end)
                .map(|time| {
                    free -= (random.next() * 1e6).floor();
                    (time, free)
                })
                .collect();
            all.push((
                labels(&[
                    ("__name__", "disk_free_bytes"),
                    ("instance", instance),
                    ("device", device),
                ]),
                samples,
            ));
        }
        // Present only in the first half: lookback ends, absent_over_time turns on.
        let index = all.len();
        let samples = times(base, index, base + SPAN_MS / 2)
            .map(|time| (time, (random.next() * 10.0).floor()))
            .collect();
        all.push((
            labels(&[("__name__", "sparse_metric"), ("instance", instance)]),
            samples,
        ));
    }
    let bounds = ["0.1", "0.5", "1", "5", "+Inf"];
    for job in ["api", "web"] {
        let index = all.len();
        let stamps: Vec<i64> = times(base, index, end).collect();
        let mut buckets = vec![Vec::new(); bounds.len()];
        let (mut counts, mut sum, mut count) = (vec![1_000.0; bounds.len()], 400.0, 1_000.0);
        let (mut sums, mut totals) = (Vec::new(), Vec::new());
        for time in &stamps {
            for _ in 0..(random.next() * 30.0) as usize {
                let latency = random.next().powi(3) * 8.0;
                for (bucket, bound) in bounds.iter().enumerate() {
                    let bound: f64 = bound.parse().unwrap_or(f64::INFINITY);
                    if latency <= bound {
                        counts[bucket] += 1.0;
                    }
                }
                sum += latency;
                count += 1.0;
            }
            for (bucket, samples) in buckets.iter_mut().enumerate() {
                samples.push((*time, counts[bucket]));
            }
            sums.push((*time, sum));
            totals.push((*time, count));
        }
        for (bound, samples) in bounds.iter().zip(buckets) {
            all.push((
                labels(&[
                    ("__name__", "request_duration_seconds_bucket"),
                    ("job", job),
                    ("le", bound),
                ]),
                samples,
            ));
        }
        all.push((
            labels(&[("__name__", "request_duration_seconds_sum"), ("job", job)]),
            sums,
        ));
        all.push((
            labels(&[("__name__", "request_duration_seconds_count"), ("job", job)]),
            totals,
        ));
    }
    let full = (0, SPAN_MS / MINUTE_MS);
    // Label values for regular expressions: shared prefixes, regex metacharacters, a space, a
    // comma and `=`, non-ASCII; some series lack the `priority` label.
    for (path, priority) in [
        ("/api/v1/users", Some("high")),
        ("/api/v1/items", Some("low")),
        ("/api/v1.1/items", None),
        ("/api/v2/users", Some("high")),
        ("/health", None),
        ("/healthz", None),
        ("pre", None),
        ("prefix", Some("low")),
        ("prelude", None),
        ("premium", None),
        ("a+b", None),
        ("[x]", Some("high")),
        ("x|y", None),
        ("50% done", None),
        ("q?k=v,w", None),
        ("ünï", Some("low")),
    ] {
        let mut pairs = vec![("__name__", "route_inflight"), ("path", path)];
        pairs.extend(priority.map(|priority| ("priority", priority)));
        gauge(&mut all, &mut random, base, &pairs, &[full]);
    }
    // Lookback edges: series that stop (s0 in the hot part, s1 in the cold part) and series
    // with gaps longer than the lookback (g0's across the cold/hot boundary, g1's in the hot
    // part, g2's in the cold part).
    let stopping = |instance| [("__name__", "stopping_gauge"), ("instance", instance)];
    gauge(&mut all, &mut random, base, &stopping("s0"), &[(0, 40)]);
    gauge(&mut all, &mut random, base, &stopping("s1"), &[(0, 22)]);
    let gappy = |instance| [("__name__", "gappy_gauge"), ("instance", instance)];
    gauge(
        &mut all,
        &mut random,
        base,
        &gappy("g0"),
        &[(0, 24), (37, 55)],
    );
    gauge(
        &mut all,
        &mut random,
        base,
        &gappy("g1"),
        &[(0, 41), (48, 55)],
    );
    gauge(
        &mut all,
        &mut random,
        base,
        &gappy("g2"),
        &[(0, 11), (18, 55)],
    );
    let gappy_total = [("__name__", "gappy_total"), ("instance", "g0")];
    counter(
        &mut all,
        &mut random,
        base,
        &gappy_total,
        &[(0, 24), (37, 55)],
    );
    // The tiers: cold only, hot only, and across the boundary (30 minutes in).
    for instance in ["c0", "c1"] {
        let pairs = [("__name__", "cold_only_gauge"), ("instance", instance)];
        gauge(&mut all, &mut random, base, &pairs, &[(0, 26)]);
    }
    for instance in ["h0", "h1"] {
        let pairs = [("__name__", "hot_only_gauge"), ("instance", instance)];
        gauge(&mut all, &mut random, base, &pairs, &[(31, 55)]);
    }
    for (part, span) in [("cold", (0, 28)), ("hot", (32, 55)), ("both", full)] {
        let pairs = [("__name__", "tier_mixed"), ("part", part)];
        gauge(&mut all, &mut random, base, &pairs, &[span]);
        let pairs = [("__name__", "tier_events_total"), ("part", part)];
        counter(&mut all, &mut random, base, &pairs, &[span]);
    }
    all
}

/// The samples of the series named `name` with `label="value"`.
fn samples_of<'a>(data: &'a [SeriesData], name: &str, label: (&str, &str)) -> &'a [(i64, f64)] {
    let has = |labels: &[(String, String)], (key, value): (&str, &str)| {
        labels.iter().any(|(k, v)| k == key && v == value)
    };
    data.iter()
        .find(|(labels, _)| has(labels, ("__name__", name)) && has(labels, label))
        .map(|(_, samples)| samples.as_slice())
        .unwrap_or_else(|| panic!("no series {name}{{{}={:?}}}", label.0, label.1))
}

/// Where the data's edges lie, read off the data itself.
fn edges(data: &[SeriesData], at: i64, boundary: i64) -> Edges {
    let last = |name, label| samples_of(data, name, label).last().expect("samples").0;
    let first = |name, label| samples_of(data, name, label)[0].0;
    let gap = samples_of(data, "gappy_gauge", ("instance", "g0"));
    let after = gap
        .windows(2)
        .position(|pair| pair[1].0 - pair[0].0 > 5 * MINUTE_MS)
        .expect("g0 has a gap");
    Edges {
        at,
        boundary,
        stop_hot: last("stopping_gauge", ("instance", "s0")),
        stop_cold: last("stopping_gauge", ("instance", "s1")),
        gap_last: gap[after].0,
        gap_first: gap[after + 1].0,
        cold_last: last("cold_only_gauge", ("instance", "c0")),
        hot_first: first("hot_only_gauge", ("instance", "h0")),
        fractions: data
            .iter()
            .flat_map(|(_, samples)| samples.iter().map(|(time, _)| time.rem_euclid(1000)))
            .collect(),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        text => text.parse().ok(),
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-9 + 1e-6 * a.abs().max(b.abs())
}

/// A result's series: labels (as JSON) → `[(time, value)]`, for order-free comparison.
type ResultSeries = BTreeMap<String, Vec<(f64, f64)>>;

/// A result's type and series.
fn points(data: &Value) -> Result<(String, ResultSeries), String> {
    let kind = data["resultType"]
        .as_str()
        .ok_or("no resultType")?
        .to_owned();
    let mut out = BTreeMap::new();
    let point =
        |pair: &Value| -> Option<(f64, f64)> { Some((pair[0].as_f64()?, number(&pair[1])?)) };
    match kind.as_str() {
        "scalar" | "string" => {
            let value = &data["result"];
            let parsed = point(value).unwrap_or((value[0].as_f64().unwrap_or(0.0), f64::NAN));
            out.insert(String::new(), vec![parsed]);
        }
        _ => {
            for item in data["result"].as_array().ok_or("result is not a list")? {
                let key = item["metric"].to_string();
                let samples = if let Some(values) = item["values"].as_array() {
                    values.iter().filter_map(point).collect()
                } else {
                    point(&item["value"]).into_iter().collect()
                };
                out.insert(key, samples);
            }
        }
    }
    Ok((kind, out))
}

fn compare(expected: &Value, actual: &Value) -> Result<(), String> {
    if expected["status"] != "success" {
        return Err(format!("Prometheus refused it: {expected}"));
    }
    if actual["status"] != "success" {
        return Err(format!("Tidemark refused it: {actual}"));
    }
    let (expected_kind, expected) = points(&expected["data"])?;
    let (actual_kind, actual) = points(&actual["data"])?;
    if expected_kind != actual_kind {
        return Err(format!(
            "result type {actual_kind}, Prometheus {expected_kind}"
        ));
    }
    let expected_keys: Vec<&String> = expected.keys().collect();
    let actual_keys: Vec<&String> = actual.keys().collect();
    if expected_keys != actual_keys {
        return Err(format!(
            "series differ:\n  Prometheus {expected_keys:?}\n  Tidemark   {actual_keys:?}"
        ));
    }
    for (key, want) in &expected {
        let got = &actual[key];
        if want.len() != got.len() {
            return Err(format!(
                "{key}: {} points, Prometheus {}:\n  Prometheus {want:?}\n  Tidemark   {got:?}",
                got.len(),
                want.len()
            ));
        }
        for ((want_t, want_v), (got_t, got_v)) in want.iter().zip(got) {
            if (want_t - got_t).abs() > 1e-6 || !close(*want_v, *got_v) {
                return Err(format!(
                    "{key}: at {want_t} Prometheus {want_v}, Tidemark {got_v} (t {got_t})"
                ));
            }
        }
    }
    Ok(())
}

/// The oracle database's entry of `/api/v0/tier/status`.
async fn tier_status(server: &TestServer) -> Value {
    let (code, body) = server.get_json("/api/v0/tier/status", &[], None).await;
    assert_eq!(code, 200, "{body}");
    body["databases"]
        .as_array()
        .and_then(|databases| databases.iter().find(|db| db["database"] == "oracle"))
        .cloned()
        .unwrap_or_else(|| panic!("no status of the oracle database: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_answers_match_prometheus() {
    let now = chrono::Utc::now().timestamp_millis();
    // The cold/hot boundary is the last hour boundary that leaves the data's 25 minutes after
    // it ending 5 minutes or more before now; the data starts 30 minutes before it (a whole
    // minute, so every evaluation time is a whole second).
    let boundary = (now - (SPAN_MS - COLD_MS) - 5 * MINUTE_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let base = boundary - COLD_MS;
    // Tiering moves whole partitions that end before `now - hot retention`: with one-hour
    // partitions and the cutoff 5 minutes past the boundary (for the next 55 minutes), exactly
    // the partition ending at the boundary moves.
    let hot_retention = format!("{}s", (now - boundary - 5 * MINUTE_MS) / 1000);
    let config = "global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n";
    let Some(prometheus) = Prometheus::start(config).await else {
        return;
    };
    let scratch = tempfile::tempdir().expect("scratch dir");
    let mut args = crate::tiering::quiet_tiering();
    args.extend([
        "--hot-retention",
        hot_retention.as_str(),
        "--tier-partition",
        "1h",
    ]);
    let server = TestServer::start_in(&scratch.path().join("data"), &args);
    let data = dataset(base);
    for chunk in data.chunks(8) {
        let body = write_body(chunk, &[]);
        let (status, text) =
            remote_write(&format!("{}/api/v1/write", prometheus.url), body.clone()).await;
        assert!(
            status < 300,
            "Prometheus refused the samples: {status} {text}"
        );
        let (status, text) = remote_write(&server.url("/api/v1/write?db=oracle"), body).await;
        assert_eq!(status, 204, "Tidemark refused the samples: {text}");
    }

    // Tier the first 30 minutes and check that exactly they are cold.
    crate::tiering::tier_run(&server).await;
    let tiers = tier_status(&server).await;
    eprintln!("oracle tiers after the pass: {tiers}");
    let cold_samples = data
        .iter()
        .flat_map(|(_, samples)| samples)
        .filter(|(time, _)| *time < boundary)
        .count() as u64;
    let cold_metrics = data
        .iter()
        .filter(|(_, samples)| samples.iter().any(|(time, _)| *time < boundary))
        .map(|(labels, _)| &labels[0].1)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    let nanos = |ms: i64| Value::from(ms * 1_000_000);
    assert!(
        tiers["cold_files"].as_u64() >= Some(cold_metrics),
        "a cold file per metric expected: {tiers}"
    );
    assert_eq!(tiers["cold_rows"], cold_samples, "{tiers}");
    assert_eq!(
        tiers["oldest_cold_partition"],
        nanos(boundary - HOUR_MS),
        "{tiers}"
    );
    assert_eq!(tiers["oldest_hot_partition"], nanos(boundary), "{tiers}");
    assert!(tiers["hot_keys"].as_u64() > Some(0), "{tiers}");

    let start = base / 1000 + 10 * 60 + 7;
    let end = base / 1000 + SPAN_MS / 1000 + 3 * 60 + 7;
    let at = base / 1000 + 20 * 60;
    let cases = queries(&edges(&data, at, boundary));
    assert!(cases.len() >= 250, "only {} queries", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let query = &case.query;
        let range = [
            ("query", query.as_str()),
            ("start", &start.to_string()),
            ("end", &end.to_string()),
            ("step", &STEP_SECONDS.to_string()),
        ]
        .map(|(name, value)| (name, value.to_owned()));
        let range: Vec<(&str, &str)> = range.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (_, want) = post_form(&format!("{}/api/v1/query_range", prometheus.url), &range).await;
        let (_, got) = post_form(&server.url("/api/v1/query_range?db=oracle"), &range).await;
        if let Err(why) = compare(&want, &got) {
            failures.push(format!("range   {query}\n    {why}"));
        }
        let instants = [(at + 7).to_string(), (end - 60).to_string()];
        for time in instants.iter().chain(&case.instants) {
            let instant = [("query", query.as_str()), ("time", time.as_str())];
            let (_, want) = post_form(&format!("{}/api/v1/query", prometheus.url), &instant).await;
            let (_, got) = post_form(&server.url("/api/v1/query?db=oracle"), &instant).await;
            if let Err(why) = compare(&want, &got) {
                failures.push(format!("instant {query} @ {time}\n    {why}"));
            }
        }
    }
    eprintln!(
        "{} queries compared with Prometheus (range and two instants each, more at edges); {} \
         mismatches",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
