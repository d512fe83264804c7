//! The HTTP API as a client meets it (issue 17): the Prometheus API on a database that does not
//! exist, line protocol errors that say what was expected, and `/metrics` (its auth rule, and
//! every family described and present from start-up).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::TestServer;
use crate::auth::create_token;
use crate::clients::unavailable;

#[tokio::test]
async fn the_prometheus_api_on_an_unknown_database_is_not_found() {
    let server = TestServer::start();
    assert_eq!(
        server.post("/write?db=known", "cpu v=1 1", &[]).await.0,
        204
    );
    let calls: [(&str, &[(&str, &str)]); 6] = [
        ("/api/v1/query", &[("query", "up")]),
        (
            "/api/v1/query_range",
            &[
                ("query", "up"),
                ("start", "0"),
                ("end", "60"),
                ("step", "15s"),
            ],
        ),
        ("/api/v1/series", &[("match[]", "up")]),
        ("/api/v1/labels", &[]),
        ("/api/v1/label/__name__/values", &[]),
        ("/api/v1/metadata", &[]),
    ];
    for (path, params) in calls {
        let mut unknown = params.to_vec();
        unknown.push(("db", "nosuch"));
        let (status, body) = server.get_json(path, &unknown, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["status"], "error", "{path}: {body}");
        assert_eq!(body["errorType"], "not_found", "{path}: {body}");
        assert_eq!(
            body["error"], "database \"nosuch\" not found",
            "{path}: {body}"
        );
        // A database that exists but has no such metric, and the default database before its
        // first write (remote_write creates it): empty successes.
        let mut known = params.to_vec();
        known.push(("db", "known"));
        for query in [&known[..], params] {
            let (status, body) = server.get_json(path, query, None).await;
            assert_eq!(
                (status, &body["status"]),
                (200, &json!("success")),
                "{path}: {body}"
            );
        }
    }
    // SQL answers the same database the same way.
    let (status, body) = server.sql(Some("nosuch"), "SELECT 1", None).await;
    assert_eq!(
        (status, &body["error"]),
        (404, &json!("database \"nosuch\" not found"))
    );
}

#[tokio::test]
async fn line_protocol_errors_say_what_was_expected_in_body_and_header() {
    let server = TestServer::start();
    let response = reqwest::Client::new()
        .post(server.url("/write?db=lp"))
        .body("cpu v=1 1\ncpu v=\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let header = response.headers()["x-influxdb-error"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "partial write: line 2: missing field value for `v`: expected a float (1.5), an \
             integer (1i), an unsigned integer (1u), true or false, or a double-quoted string \
             (\"cpu v=\") dropped=1"
        ),
        "{error}"
    );
    // InfluxDB 1.x repeats the body's error in the header.
    assert_eq!(header, error);
}

#[tokio::test]
async fn metrics_and_buildinfo_follow_the_metrics_auth_setting() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "m", &["--write"]);
    let get = |server: &TestServer, path: &str, token: Option<&str>| {
        let mut request = reqwest::Client::new().get(server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // The default: a token, as everywhere but /health and /ping.
    let server = TestServer::start_in(&data_dir, &[]);
    for path in ["/metrics", "/api/v1/status/buildinfo"] {
        assert_eq!(get(&server, path, None).await, 401, "{path}");
        assert_eq!(get(&server, path, Some("tmk_wrong")).await, 401, "{path}");
        assert_eq!(get(&server, path, Some(&token)).await, 200, "{path}");
    }
    server.terminate();
    let server = TestServer::start_in(&data_dir, &["--http-metrics-auth", "open"]);
    for path in ["/metrics", "/api/v1/status/buildinfo"] {
        assert_eq!(get(&server, path, None).await, 200, "{path}");
    }
}

/// Checks the text format strictly: every sample belongs to a family announced by `# HELP`
/// and `# TYPE` lines before it; returns the families and their types.
fn families(text: &str) -> BTreeMap<String, String> {
    let mut helped = BTreeSet::new();
    let mut typed = BTreeMap::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        let words: Vec<&str> = line.splitn(4, ' ').collect();
        match words.as_slice() {
            ["#", "HELP", name, help] => {
                assert!(!help.trim().is_empty(), "empty help: {line}");
                helped.insert(name.to_string());
            }
            ["#", "TYPE", name, kind] => {
                assert!(helped.contains(*name), "TYPE before HELP: {line}");
                typed.insert(name.to_string(), kind.to_string());
            }
            _ => {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        name.strip_suffix(suffix)
                            .filter(|base| typed.get(*base).is_some_and(|t| t == "histogram"))
                    })
                    .unwrap_or(name);
                assert!(
                    typed.contains_key(family),
                    "sample without HELP/TYPE: {line}"
                );
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "bad value: {line}");
            }
        }
    }
    typed
}

#[tokio::test]
async fn metrics_describe_every_family_from_start_up() {
    let server = TestServer::start();
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let families = families(&text);
    for (family, kind) in [
        ("tidemark_tiering_passes_total", "counter"),
        ("tidemark_tiering_files_written_total", "counter"),
        ("tidemark_tiering_bytes_written_total", "counter"),
        ("tidemark_tiering_backlog_partitions", "gauge"),
        ("tidemark_tiering_last_pass_timestamp_seconds", "gauge"),
        ("tidemark_compaction_passes_total", "counter"),
        ("tidemark_commit_duration_seconds", "histogram"),
        ("tidemark_query_duration_seconds", "histogram"),
        ("tidemark_ingest_requests_total", "counter"),
        ("tidemark_limit_refusals_total", "counter"),
        ("tidemark_background_failures_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
    ] {
        assert_eq!(
            families.get(family).map(String::as_str),
            Some(kind),
            "{family}:\n{text}"
        );
    }
    assert!(text.contains("tidemark_ingest_points_total{protocol=\"remote_write\"} 0"));
    // Prometheus's own linter, where Debian's `prometheus` package provides it.
    let Some(promtool) = ["/usr/bin/promtool"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .or_else(|| {
            unavailable(
                "promtool",
                "no /usr/bin/promtool (Debian package `prometheus`)",
            )
        })
    else {
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
