//! InfluxQL against InfluxDB 1.x itself: the same line protocol written to a real `influxd`
//! (Debian's 1.6) and to Tidemark, then every statement of `influxql_queries` sent to both
//! `/query` endpoints and the answers compared (floats within a relative 1e-9; everything
//! else exactly: series, tags, column names, times, order, errors). Every mismatch fails the
//! test, listed in full. Deliberate differences are documented in `docs/influxql.md` and
//! kept out of the statement list.

use serde_json::Value;

use crate::TestServer;
use crate::harness::Lcg;
use crate::influxdb1::{InfluxDb, query};
use crate::influxql_queries::statements;

/// 2023-11-14T22:00:00Z, in seconds.
const BASE_S: i64 = 1_699_999_200;
const HOUR_S: i64 = 3_600;

/// One hour of cpu, mem, disk and net points (with a gap, a tagless measurement, a series
/// without one of its measurement's tags, and every field type).
fn data() -> String {
    let mut random = Lcg(42);
    let mut lines = Vec::new();
    let ns = |s: i64| s * 1_000_000_000;
    for (host, region, jitter) in [
        ("a", Some("us"), 0),
        ("b", Some("eu"), 3),
        ("c", Some("us"), 7),
        ("d", None, 1),
    ] {
        let tags = match region {
            Some(region) => format!("host={host},region={region}"),
            None => format!("host={host}"),
        };
        for t in (0..HOUR_S).step_by(10) {
            if host == "c" && (1_200..2_100).contains(&t) {
                continue;
            }
            // Unrounded: no two points tie, so selectors agree on which point they pick.
            let user = random.next() * 100.0;
            let active = (random.next() * 100.0) as i64;
            lines.push(format!(
                "cpu,{tags} usage_user={user},usage_idle={},active={active}i {}",
                (100.0 - user) * 1.0,
                ns(BASE_S + t + jitter)
            ));
        }
    }
    for host in ["a", "b"] {
        for t in (0..HOUR_S).step_by(30) {
            let used = (random.next() * 1e9) as i64;
            lines.push(format!(
                "mem,host={host} used={used}i,free={}i,available_percent={} {}",
                1_000_000_000 - used,
                (random.next() * 1e4).round() / 100.0,
                ns(BASE_S + t)
            ));
        }
    }
    for path in ["/", "/var"] {
        for t in (0..HOUR_S).step_by(60) {
            let used = (random.next() * 1e4).round() / 100.0;
            let status = if used > 80.0 { "warn" } else { "ok" };
            lines.push(format!(
                "disk,host=a,path={path} free={}i,used_percent={used},ok={},status=\"{status}\",host_status=\"{}\" {}",
                (random.next() * 1e6) as i64,
                used < 90.0,
                ["up", "down", "degraded"][(random.next() * 3.0) as usize],
                ns(BASE_S + t + 5)
            ));
        }
    }
    let mut received = 0i64;
    for t in (0..HOUR_S).step_by(60) {
        received += (random.next() * 1e5) as i64;
        lines.push(format!("net bytes_recv={received}i {}", ns(BASE_S + t)));
    }
    lines.join("\n")
}

/// Whether two answers agree: floats within a relative 1e-9, everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => {
                let (x, y) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
            }
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| same(value, other)))
        }
        (x, y) => x == y,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influxql_answers_as_influxdb_1x_does() {
    let Some(influx) = InfluxDb::start().await else {
        return;
    };
    let server = TestServer::start();
    let client = reqwest::Client::new();
    let body = data();
    for base in [influx.url.clone(), server.url("")] {
        let base = base.trim_end_matches('/').to_owned();
        let (status, text) = query(&client, &base, &[("q", "CREATE DATABASE oracle")], true).await;
        assert_eq!(status, 200, "{base}: {text}");
        let response = client
            .post(format!("{base}/write?db=oracle"))
            .body(body.clone())
            .send()
            .await
            .expect("write");
        assert_eq!(
            response.status().as_u16(),
            204,
            "{base}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    let tidemark = server.url("").trim_end_matches('/').to_owned();
    let statements = statements();
    assert!(statements.len() >= 200, "{} statements", statements.len());
    let mut mismatches = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        // Every fifth statement asks for epoch times, as Grafana does.
        let epoch = if index % 5 == 0 { "ms" } else { "" };
        let mut params = vec![("db", "oracle"), ("q", statement.as_str())];
        if !epoch.is_empty() {
            params.push(("epoch", epoch));
        }
        // Statements that write go by POST, as 1.x asks (it answers GETs with a deprecation
        // message).
        let post = statement.contains(" INTO ");
        let (expected_status, expected) = query(&client, &influx.url, &params, post).await;
        let (actual_status, actual) = query(&client, &tidemark, &params, post).await;
        let parsed = |text: &str| {
            serde_json::from_str::<Value>(text).unwrap_or(Value::String(text.to_owned()))
        };
        if expected_status != actual_status || !same(&parsed(&expected), &parsed(&actual)) {
            mismatches.push(format!(
                "{statement}\n  influxdb ({expected_status}): {}\n  tidemark ({actual_status}): {}",
                truncate(&expected),
                truncate(&actual)
            ));
        }
    }
    // The full list, for reading beside the test's output.
    let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("influxql-oracle.txt");
    let _ = std::fs::write(&report, mismatches.join("\n\n"));
    assert!(
        mismatches.is_empty(),
        "{} of {} statements differ from InfluxDB 1.x:\n{}",
        mismatches.len(),
        statements.len(),
        mismatches.join("\n")
    );
}

fn truncate(text: &str) -> String {
    if text.len() <= 1500 {
        return text.to_owned();
    }
    let mut end = 1500;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
