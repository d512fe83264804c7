//! OTLP/HTTP metrics against the real binary: the real OpenTelemetry Python SDK exporting every
//! instrument kind, read back through PromQL and SQL; partial success for what cannot be
//! stored; failures in the request's encoding; tenancy.

use std::collections::BTreeMap;
use std::io::Write;

use prost::Message;
use serde_json::{Value, json};
use tidemark_ingest::otlp::proto::*;

use crate::TestServer;
use crate::auth::create_token;
use crate::clients::{python, run_script};

/// One sample the SDK's export must have produced: series name, labels, ms, value.
#[derive(Debug)]
struct Expected {
    name: String,
    labels: BTreeMap<String, String>,
    ms: i64,
    value: f64,
}

/// The Prometheus base name of each metric the script exports (the translation rules themselves
/// are unit-tested in `tidemark_ingest::otlp`).
fn prometheus_name(otel: &str) -> &'static str {
    match otel {
        "queue.depth" => "queue_depth",
        "http.requests" => "http_requests_total",
        "jobs.processed" => "jobs_processed_total",
        "active.sessions" => "active_sessions",
        "http.server.duration" => "http_server_duration_milliseconds",
        other => panic!("the script exported an unexpected metric {other:?}"),
    }
}

/// A float as Go's `FormatFloat(v, 'f', -1)` (the `le` label).
fn le(bound: f64) -> String {
    format!("{bound}")
}

/// The samples a printed data point stands for.
fn expected(point: &Value) -> Vec<Expected> {
    let base = prometheus_name(point["metric"].as_str().unwrap());
    let mut labels: BTreeMap<String, String> = point["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, value)| (key.replace('.', "_"), value.as_str().unwrap().to_owned()))
        .collect();
    labels.insert("job".into(), "checkout".into());
    labels.insert(
        "instance".into(),
        point["instance"].as_str().unwrap().into(),
    );
    let ms = (point["time_unix_nano"].as_u64().unwrap() / 1_000_000) as i64;
    let sample = |name: String, labels: BTreeMap<String, String>, value: f64| Expected {
        name,
        labels,
        ms,
        value,
    };
    if point["kind"] != "histogram" {
        return vec![sample(
            base.into(),
            labels,
            point["value"].as_f64().unwrap(),
        )];
    }
    let count = point["count"].as_f64().unwrap();
    let mut out = vec![
        sample(format!("{base}_count"), labels.clone(), count),
        sample(
            format!("{base}_sum"),
            labels.clone(),
            point["sum"].as_f64().unwrap(),
        ),
    ];
    let bounds = point["explicit_bounds"].as_array().unwrap();
    let counts = point["bucket_counts"].as_array().unwrap();
    let mut cumulative = 0.0;
    for (bound, bucket) in bounds.iter().zip(counts) {
        cumulative += bucket.as_f64().unwrap();
        let mut with_le = labels.clone();
        with_le.insert("le".into(), le(bound.as_f64().unwrap()));
        out.push(sample(format!("{base}_bucket"), with_le, cumulative));
    }
    let mut inf = labels;
    inf.insert("le".into(), "+Inf".into());
    out.push(sample(format!("{base}_bucket"), inf, count));
    out
}

fn same(left: f64, right: f64) -> bool {
    left == right || (left - right).abs() <= 1e-9 * left.abs().max(right.abs())
}

fn selector(sample: &Expected) -> String {
    let matchers: Vec<String> = sample
        .labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{}{{{}}}", sample.name, matchers.join(","))
}

/// The value PromQL gives for the sample's series at the sample's own time.
async fn promql_value(server: &TestServer, db: &str, sample: &Expected) -> Option<f64> {
    let time = format!("{}.{:03}", sample.ms / 1000, sample.ms % 1000);
    let query = selector(sample);
    let (status, body) = server
        .get_json(
            "/api/v1/query",
            &[("query", &query), ("time", &time), ("db", db)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    let result = body["data"]["result"].as_array().unwrap();
    assert!(result.len() <= 1, "{query} selects one series: {body}");
    result
        .first()
        .map(|series| series["value"][1].as_str().unwrap().parse::<f64>().unwrap())
}

/// Every row of a measurement through SQL: its non-null tags, ms and value.
async fn sql_rows(
    server: &TestServer,
    db: &str,
    name: &str,
) -> Vec<(BTreeMap<String, String>, i64, f64)> {
    let sql = format!(
        "SELECT *, CAST(time AS BIGINT) / 1000000 AS time_ms FROM \"{name}\" ORDER BY time"
    );
    let (status, rows) = server.sql(Some(db), &sql, None).await;
    assert_eq!(status, 200, "{sql}: {rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_object().unwrap();
            let tags = row
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "time" | "time_ms" | "value"))
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect();
            (
                tags,
                row["time_ms"].as_i64().unwrap(),
                row["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opentelemetry_sdk_exports_and_every_value_reads_back() {
    let Some(python) = python() else {
        return;
    };
    let server = TestServer::start();
    let base = server.url("");
    let output = tokio::task::spawn_blocking(move || {
        run_script(&python, "otlp_export.py", &[&base, "otel"])
    })
    .await
    .unwrap();
    let points: Vec<Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line per point"))
        .collect();
    let kinds: Vec<(&str, bool)> = points
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["delta"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    for kind in [
        ("gauge", false),
        ("sum", false),
        ("sum", true),
        ("histogram", false),
    ] {
        assert!(
            kinds.contains(&kind),
            "the SDK exported no {kind:?}: {output}"
        );
    }
    let samples: Vec<Expected> = points.iter().flat_map(expected).collect();
    let mut by_name: BTreeMap<&str, Vec<&Expected>> = BTreeMap::new();
    for sample in &samples {
        by_name.entry(&sample.name).or_default().push(sample);
    }
    for (name, expected) in &by_name {
        // SQL: exactly the exported samples, no more.
        let rows = sql_rows(&server, "otel", name).await;
        assert_eq!(
            rows.len(),
            expected.len(),
            "{name}: {rows:?} vs {expected:?}"
        );
        for sample in expected {
            let found = rows
                .iter()
                .find(|(tags, ms, _)| *tags == sample.labels && *ms == sample.ms);
            let Some((_, _, value)) = found else {
                panic!("{name}: no row for {sample:?} among {rows:?}");
            };
            assert!(same(*value, sample.value), "SQL {sample:?}: {value}");
            // PromQL at the sample's time: the same value.
            let value = promql_value(&server, "otel", sample).await;
            assert!(
                value.is_some_and(|value| same(value, sample.value)),
                "PromQL {sample:?}: {value:?}"
            );
        }
    }

    // Delta counters hold increments: their sum over a window is the increase (5 + 7).
    let last = by_name["jobs_processed_total"]
        .iter()
        .map(|sample| sample.ms)
        .max()
        .unwrap();
    let time = format!("{}.{:03}", last / 1000, last % 1000);
    let (_, body) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "sum_over_time(jobs_processed_total[10m])"),
                ("time", &time),
                ("db", "otel"),
            ],
            None,
        )
        .await;
    assert_eq!(body["data"]["result"][0]["value"][1], "12", "{body}");

    // Resource attributes that are not identifying label target_info.
    let (_, body) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "target_info{instance=\"pod-1\"}"),
                ("time", &time),
                ("db", "otel"),
            ],
            None,
        )
        .await;
    let target = &body["data"]["result"][0]["metric"];
    assert_eq!(target["host_name"], "web-1", "{body}");
    assert_eq!(target["telemetry_sdk_language"], "python", "{body}");

    let (_, metadata) = server
        .get_json("/api/v1/metadata", &[("db", "otel")], None)
        .await;
    assert_eq!(
        metadata["data"]["http_requests_total"][0],
        json!({"type": "counter", "help": "HTTP requests served", "unit": ""})
    );
    assert_eq!(
        metadata["data"]["http_server_duration_milliseconds"][0]["unit"],
        "milliseconds"
    );
}

fn gauge(name: &str, value: f64, time_ns: u64) -> Metric {
    Metric {
        name: name.into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: time_ns,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![KeyValue::string("service.name", "svc")],
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn post(
    server: &TestServer,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Vec<u8>) {
    let mut request = reqwest::Client::new().post(server.url(path)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

const T_NS: u64 = 1_700_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_partial_successes_and_failures_speak_the_request_encoding() {
    let server = TestServer::start();
    let protobuf = [("Content-Type", "application/x-protobuf")];
    let exponential = Metric {
        name: "latency".into(),
        data: Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![
                ExponentialHistogramDataPoint {
                    time_unix_nano: T_NS,
                    count: 1,
                    ..Default::default()
                };
                3
            ],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let body = request(vec![gauge("good", 1.5, T_NS), exponential]).encode_to_vec();
    // Prometheus's own path for its receiver works too.
    let (status, answer) = post(&server, "/api/v1/otlp/v1/metrics?db=otel", body, &protobuf).await;
    assert_eq!(status, 200);
    let answer = ExportMetricsServiceResponse::decode(answer.as_slice()).unwrap();
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 3);
    assert!(
        partial
            .error_message
            .contains("metric \"latency\": exponential histograms are not supported"),
        "{}",
        partial.error_message
    );
    let (_, rows) = server
        .sql(Some("otel"), "SELECT job, value FROM good", None)
        .await;
    assert_eq!(rows, json!([{"job": "svc", "value": 1.5}]));

    // OTLP/JSON, gzip: the answer is JSON, `{}` when everything was written.
    let json_body = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "from.json", "gauge": {"dataPoints": [
            {"timeUnixNano": T_NS.to_string(), "asInt": "42"}]}}
    ]}]}]});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(json_body.to_string().as_bytes()).unwrap();
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
    ];
    let (status, answer) = post(
        &server,
        "/otlp/v1/metrics?db=otel",
        gzip.finish().unwrap(),
        &json_headers,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(answer, b"{}");
    let (_, rows) = server
        .sql(Some("otel"), "SELECT value FROM from_json", None)
        .await;
    assert_eq!(rows, json!([{"value": 42.0}]));

    // Bodies that do not decode: 400 with a google.rpc.Status, nothing written.
    let (status, answer) = post(&server, "/v1/metrics", b"\x0a\xff\xff".to_vec(), &protobuf).await;
    assert_eq!(status, 400);
    let failure = Status::decode(answer.as_slice()).unwrap();
    assert_eq!(failure.code, 3, "INVALID_ARGUMENT");
    assert!(
        failure.message.contains("ExportMetricsServiceRequest"),
        "{}",
        failure.message
    );
    let (status, answer) = post(
        &server,
        "/v1/metrics",
        b"{\"resourceMetrics\":".to_vec(),
        &json_headers[..1],
    )
    .await;
    assert_eq!(status, 400);
    let failure: Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        failure["message"].as_str().unwrap().contains("OTLP/JSON"),
        "{failure}"
    );
    let (status, _) = post(
        &server,
        "/v1/metrics",
        Vec::new(),
        &[("Content-Type", "text/plain")],
    )
    .await;
    assert_eq!(status, 415);
    let limited = TestServer::start_in(
        &server.data_dir().with_file_name("limited"),
        &["--max-request-bytes", "1000"],
    );
    let big = request(
        (0..100)
            .map(|i| gauge(&format!("g{i}"), 1.0, T_NS))
            .collect(),
    );
    let (status, _) = post(&limited, "/v1/metrics", big.encode_to_vec(), &protobuf).await;
    assert_eq!(status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_comes_from_the_token_header_or_parameter() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "team", &[]);
    let server = TestServer::start_in(&data_dir, &[]);
    let body = request(vec![gauge("up", 1.0, T_NS)]).encode_to_vec();
    let bearer = format!("Bearer {token}");
    let (status, _) = post(&server, "/v1/metrics", body.clone(), &[]).await;
    assert_eq!(status, 401);
    let (status, _) = post(
        &server,
        "/v1/metrics",
        body.clone(),
        &[("Authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = post(
        &server,
        "/v1/metrics",
        body.clone(),
        &[("Authorization", &bearer), ("X-Tidemark-Database", "other")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        Status::decode(answer.as_slice())
            .unwrap()
            .message
            .contains("other")
    );
    let (status, _) = post(
        &server,
        "/v1/metrics?db=other",
        body,
        &[("Authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 403);
    let (status, rows) = server
        .sql(Some("team"), "SELECT value FROM up", Some(&token))
        .await;
    assert_eq!((status, rows), (200, json!([{"value": 1.0}])));
}
