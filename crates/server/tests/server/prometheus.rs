//! remote_write and the Prometheus HTTP API against the real binary: status codes and retry
//! semantics, Grafana-shaped requests (form POSTs, label and series lookups for variables,
//! save & test), and a real Prometheus scraping `/metrics` and remote-writing into Tidemark.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestServer;
use crate::auth::create_token;
use crate::prom::{Prometheus, SeriesData, post_form, remote_write, write_body};

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

const T0: i64 = 1_700_000_000_000;

fn sample_series() -> Vec<SeriesData> {
    let ramp: Vec<(i64, f64)> = (0..20)
        .map(|i| (T0 + i * 15_000, i as f64 * 10.0))
        .collect();
    vec![
        (
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ]),
            ramp.clone(),
        ),
        (
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "500"),
            ]),
            ramp.iter().map(|&(t, v)| (t, v / 10.0)).collect(),
        ),
        (
            labels(&[("__name__", "temperature"), ("room", "lab")]),
            vec![(T0, 21.5), (T0 + 60_000, 22.0)],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_status_codes_follow_the_retry_rules() {
    let server = TestServer::start();
    let url = server.url("/api/v1/write?db=prom");
    let (status, body) = remote_write(&url, write_body(&sample_series(), &[])).await;
    assert_eq!(status, 204, "{body}");

    // Bad series are refused with their numbers (4xx: never retried); good ones are written.
    let mixed = vec![
        (
            labels(&[("__name__", "ok_metric"), ("a", "1")]),
            vec![(T0, 1.0)],
        ),
        (labels(&[("job", "no-name")]), vec![(T0, 2.0)]),
        (
            labels(&[("__name__", "bad name"), ("a", "1")]),
            vec![(T0, 3.0)],
        ),
    ];
    let (status, body) = remote_write(&url, write_body(&mixed, &[])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("series 2: missing metric name"), "{body}");
    assert!(
        body.contains("series 3: invalid metric name \"bad name\""),
        "{body}"
    );
    let (status, written) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "ok_metric"),
                ("time", "1700000000"),
                ("db", "prom"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(written["data"]["result"][0]["value"][1], "1", "{written}");

    // Metadata-only requests (Prometheus sends them every minute) get a 2xx, and are served.
    let metadata = write_body(&[], &[("http_requests_total", 1, "Requests served.")]);
    let (status, body) = remote_write(&url, metadata).await;
    assert_eq!(status, 204, "{body}");
    let (_, metadata) = server
        .get_json("/api/v1/metadata", &[("db", "prom")], None)
        .await;
    assert_eq!(
        metadata["data"]["http_requests_total"],
        json!([{"type": "counter", "help": "Requests served.", "unit": ""}])
    );

    // Garbage and unsupported versions are the sender's problem: 4xx, not retried. A 1.0 body
    // sent as 2.0 is named for what it likely is; an unknown message is 415.
    let (status, body) = remote_write(&url, b"not snappy at all".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("snappy"), "{body}");
    let response = reqwest::Client::new()
        .post(&url)
        .header("Content-Encoding", "snappy")
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .body(write_body(&sample_series(), &[]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
    let text = response.text().await.expect("body");
    assert!(text.contains("remote_write 1.0"), "{text}");
    let response = reqwest::Client::new()
        .post(&url)
        .header("Content-Encoding", "snappy")
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v3.Request",
        )
        .body(write_body(&sample_series(), &[]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 415);
    let huge: Vec<SeriesData> = (0..2_000)
        .map(|i| {
            (
                labels(&[("__name__", "big"), ("i", &i.to_string())]),
                (0..100).map(|j| (T0 + j, j as f64)).collect(),
            )
        })
        .collect();
    let limited = TestServer::start_in(
        &server.data_dir().with_file_name("limited"),
        &["--max-request-bytes", "100000"],
    );
    let (status, body) = remote_write(
        &limited.url("/api/v1/write?db=prom"),
        write_body(&huge, &[]),
    )
    .await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_shaped_requests_get_prometheus_answers() {
    let server = TestServer::start();
    let (status, body) = remote_write(
        &server.url("/api/v1/write?db=grafana"),
        write_body(&sample_series(), &[]),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    // Line protocol is visible as <measurement>_<field>.
    let (status, body) = server
        .post(
            "/api/v3/write_lp?db=grafana&precision=ms",
            format!("cpu,host=a usage_user=12.5,usage_system=3i {T0}\n"),
            &[],
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let api = |path: &str| server.url(path);
    // Panels: form-encoded POSTs with float seconds, as Grafana's backend sends them.
    let start = (T0 / 1000).to_string();
    let end = (T0 / 1000 + 285).to_string();
    let (status, range) = post_form(
        &api("/api/v1/query_range?db=grafana"),
        &[
            ("query", "sum by (job) (rate(http_requests_total[1m]))"),
            ("start", &start),
            ("end", &end),
            ("step", "15"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{range}");
    assert_eq!(range["data"]["resultType"], "matrix");
    let values = range["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert_eq!(range["data"]["result"][0]["metric"], json!({"job": "api"}));
    // 10/15 s on one series and 1/15 s on the other: 0.7333.. per second once a window holds
    // two samples.
    let last: f64 = values.last().unwrap()[1].as_str().unwrap().parse().unwrap();
    assert!((last - 11.0 / 15.0).abs() < 1e-9, "{range}");

    let (status, instant) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "cpu_usage_user"),
                ("time", &end),
                ("db", "grafana"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        instant["data"]["result"],
        json!([{"metric": {"__name__": "cpu_usage_user", "host": "a"}, "value": [T0 / 1000 + 285, "12.5"]}])
    );

    // Save & test: `1+1` at time=4.
    let (status, test) = post_form(
        &api("/api/v1/query?db=grafana"),
        &[("query", "1+1"), ("time", "4")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        test["data"],
        json!({"resultType": "scalar", "result": [4, "2"]})
    );

    // Variables: label names, label values (with match[]), series, metric names.
    let window = [
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("db", "grafana"),
    ];
    let (_, names) = server.get_json("/api/v1/labels", &window, None).await;
    assert_eq!(
        names["data"],
        json!(["__name__", "code", "host", "job", "room"])
    );
    let mut query = window.to_vec();
    query.push(("match[]", "http_requests_total{job=\"api\"}"));
    let (_, codes) = server
        .get_json("/api/v1/label/code/values", &query, None)
        .await;
    assert_eq!(codes["data"], json!(["200", "500"]));
    let (_, metrics) = server
        .get_json("/api/v1/label/__name__/values", &window, None)
        .await;
    assert_eq!(
        metrics["data"],
        json!([
            "cpu_usage_system",
            "cpu_usage_user",
            "http_requests_total",
            "temperature"
        ])
    );
    let (status, series) = post_form(
        &api("/api/v1/series?db=grafana"),
        &[
            ("match[]", "{__name__=~\"temp.*\"}"),
            ("start", &start),
            ("end", &end),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        series["data"],
        json!([{"__name__": "temperature", "room": "lab"}])
    );
    let (status, missing) = server.get_json("/api/v1/series", &window, None).await;
    assert_eq!(status, 400);
    assert_eq!(missing["error"], "no match[] parameter provided");

    // Probes Grafana makes: buildinfo, exemplars with millisecond times, rules.
    let (status, info) = server.get_json("/api/v1/status/buildinfo", &[], None).await;
    assert_eq!(status, 200);
    assert!(info["data"]["version"].is_string());
    assert!(info["data"].get("features").is_none());
    let (status, exemplars) = server
        .get_json(
            "/api/v1/query_exemplars",
            &[
                ("query", "test"),
                ("start", "1700000000000"),
                ("end", "1700000100000"),
            ],
            None,
        )
        .await;
    assert_eq!((status, &exemplars["status"]), (200, &json!("success")));

    // Errors use the envelope and Prometheus's status codes.
    let (status, error) = server
        .get_json("/api/v1/query", &[("query", "sum(")], None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["errorType"], "bad_data");
    let (status, error) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "http_requests_total + on(job) http_requests_total"),
                ("time", &end),
                ("db", "grafana"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["errorType"], "execution");
    let (status, error) = post_form(
        &api("/api/v1/query_range"),
        &[
            ("query", "up"),
            ("start", "10"),
            ("end", "5"),
            ("step", "1"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_api_reads_follow_token_rules() {
    let scratch = tempfile::tempdir().expect("scratch");
    let data_dir = scratch.path().join("data");
    let writer = create_token(&data_dir, "alpha", &["--write"]);
    let reader = create_token(&data_dir, "alpha", &["--read"]);
    let other = create_token(&data_dir, "beta", &[]);
    let server = TestServer::start_in(&data_dir, &[]);
    let body = write_body(&sample_series(), &[]);
    let post = |token: Option<&str>, body: Vec<u8>| {
        let mut request = reqwest::Client::new()
            .post(server.url("/api/v1/write"))
            .header("Content-Encoding", "snappy")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(
        post(None, body.clone()).await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(
        post(Some(&reader), body.clone())
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    // The write token's own database receives the samples.
    assert_eq!(
        post(Some(&writer), body).await.unwrap().status().as_u16(),
        204
    );
    let query = [("query", "temperature"), ("time", "1700000030")];
    let (status, result) = server
        .get_json("/api/v1/query", &query, Some(&reader))
        .await;
    assert_eq!(status, 200);
    assert_eq!(result["data"]["result"][0]["value"][1], "21.5", "{result}");
    let (status, _) = server.get_json("/api/v1/query", &query, None).await;
    assert_eq!(status, 401);
    let (status, _) = server
        .get_json("/api/v1/query", &query, Some(&writer))
        .await;
    assert_eq!(status, 403);
    // Another database's token reads only its own database (not written yet: 404), and may
    // not name alpha.
    let (status, missing) = server.get_json("/api/v1/query", &query, Some(&other)).await;
    assert_eq!((status, &missing["errorType"]), (404, &json!("not_found")));
    let mut named = query.to_vec();
    named.push(("db", "alpha"));
    let (status, _) = server.get_json("/api/v1/query", &named, Some(&other)).await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get_json("/api/v1/labels", &[("db", "alpha")], Some(&other))
        .await;
    assert_eq!(status, 403);
}

/// Polls Tidemark until `query` (instant, now) returns a non-empty vector.
async fn wait_for(server: &TestServer, db: &str, query: &str, prometheus: &Prometheus) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, result) = server
            .get_json("/api/v1/query", &[("query", query), ("db", db)], None)
            .await;
        if status == 200
            && result["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "{query} never arrived: {result}\nprometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_tidemark_and_remote_writes_into_it() {
    let server = TestServer::start();
    // Something for the ingest counters to count.
    server
        .post("/api/v3/write_lp?db=app", "m,t=1 f=1\n".to_owned(), &[])
        .await;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: tidemark\n    static_configs:\n      - targets: ['{addr}']\n\
         remote_write:\n  - url: http://{addr}/api/v1/write?db=self\n    queue_config:\n      \
         batch_send_deadline: 1s\n    metadata_config:\n      send_interval: 2s\n",
        addr = server.addr()
    );
    let Some(prometheus) = Prometheus::start(&config).await else {
        return;
    };
    let up = wait_for(&server, "self", "up{job=\"tidemark\"}", &prometheus).await;
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let build = wait_for(&server, "self", "tidemark_build_info", &prometheus).await;
    assert_eq!(
        build["data"]["result"][0]["metric"]["job"], "tidemark",
        "{build}"
    );
    let ingested = wait_for(
        &server,
        "self",
        "sum(tidemark_ingest_points_total{protocol=\"remote_write\"}) > 0",
        &prometheus,
    )
    .await;
    assert!(ingested["data"]["result"][0]["value"][1].is_string());
    // The commit latency histogram arrives with its buckets, ready for histogram_quantile.
    let p99 = wait_for(
        &server,
        "self",
        "histogram_quantile(0.99, sum by (le) (tidemark_commit_duration_seconds_bucket))",
        &prometheus,
    )
    .await;
    let p99: f64 = p99["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(p99 > 0.0 && p99 <= 60.0, "{p99}");
    // Every panel of the engine dashboard runs on what arrived, once a minute of scrapes has:
    // the dashboard's rates need two samples in a one-minute window.
    wait_for(
        &server,
        "self",
        "count_over_time(up{job=\"tidemark\"}[1m]) >= 20",
        &prometheus,
    )
    .await;
    let now = chrono::Utc::now();
    let start =
        (now - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let end = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    run_dashboard(&server, "self", "tidemark-engine.json", &start, &end).await;
    // Metadata from the scrape reaches /api/v1/metadata.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, metadata) = server
            .get_json("/api/v1/metadata", &[("db", "self")], None)
            .await;
        if metadata["data"]["tidemark_commit_groups_total"].is_array() {
            assert_eq!(
                metadata["data"]["tidemark_commit_groups_total"][0]["type"],
                "counter"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no metadata: {metadata}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The queries of a Grafana dashboard, expanded as Grafana would for `[start, end]`, from
/// `grafana/check_dashboards.py` (which also checks the dashboard's structure).
fn dashboard_queries(file: &str, start: &str, end: &str) -> Vec<Value> {
    let grafana = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grafana");
    let output = std::process::Command::new("python3")
        .arg(grafana.join("check_dashboards.py"))
        .arg(grafana.join("dashboards").join(file))
        .args(["--start", start, "--end", end])
        .output()
        .expect("run grafana/check_dashboards.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Runs every query of a dashboard as Grafana's data sources would; each must succeed and at
/// least `min_with_data` must return data.
async fn run_dashboard(server: &TestServer, db: &str, file: &str, start: &str, end: &str) {
    let queries = dashboard_queries(file, start, end);
    assert!(!queries.is_empty(), "{file} has no queries");
    let seconds = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339")
            .timestamp()
            .to_string()
    };
    let (start_s, end_s) = (seconds(start), seconds(end));
    let mut with_data = 0;
    let mut empty = Vec::new();
    for query in &queries {
        let expression = query["expanded"].as_str().expect("expanded");
        let (status, body) = match query["kind"].as_str() {
            Some("promql") => {
                post_form(
                    &server.url(&format!("/api/v1/query_range?db={db}")),
                    &[
                        ("query", expression),
                        ("start", &start_s),
                        ("end", &end_s),
                        ("step", "60"),
                    ],
                )
                .await
            }
            _ => server.sql(Some(db), expression, None).await,
        };
        assert_eq!(status, 200, "{file}: {expression}\n{body}");
        let rows = body["data"]["result"]
            .as_array()
            .or_else(|| body.as_array())
            .map_or(0, Vec::len);
        if rows > 0 {
            with_data += 1;
        } else {
            empty.push(expression.to_owned());
        }
    }
    assert!(
        with_data * 2 >= queries.len(),
        "{file}: only {with_data} of {} queries returned data; empty:\n{}",
        queries.len(),
        empty.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tsbs_dashboard_runs_on_tsbs_data() {
    let server = TestServer::start();
    let mut lines = String::new();
    for host in 0..4 {
        for step in 0..360 {
            let time = 1_451_606_400 + step * 10;
            lines.push_str(&format!(
                "cpu,hostname=host_{host},region=eu-west-1,datacenter=eu-west-1a,rack=1,os=Ubuntu16.04LTS,\
                 arch=x64,team=SF,service=1,service_version=0,service_environment=test \
                 usage_user={u},usage_system={s},usage_idle={i},usage_nice=1,usage_iowait={w},\
                 usage_irq=0,usage_softirq=0,usage_steal={t},usage_guest=0,usage_guest_nice=0 {time}\n",
                u = (host * 20 + step % 50) as f64 + 0.5,
                s = (step % 7) as f64,
                i = 100 - (host * 20 + step % 50),
                w = (step % 3) as f64,
                t = (step % 2) as f64,
            ));
        }
    }
    let (status, body) = server
        .post("/api/v3/write_lp?db=tsbs&precision=second", lines, &[])
        .await;
    assert_eq!(status, 204, "{body}");
    run_dashboard(
        &server,
        "tsbs",
        "tsbs-cpu-only.json",
        "2016-01-01T00:00:00Z",
        "2016-01-01T01:00:00Z",
    )
    .await;
}
