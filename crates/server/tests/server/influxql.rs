//! InfluxQL on `/query` beyond the oracle: Grafana's InfluxQL-mode request sequence, the ways
//! 1.x clients authenticate, CSV and chunked answers, and hostile statements.

use serde_json::{Value, json};

use crate::TestServer;
use crate::auth::create_token;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Thirty minutes of cpu points ending now, every 10 s, for hosts a and b.
fn recent_points() -> String {
    let now = now_ns();
    let mut lines = Vec::new();
    for (index, host) in ["a", "b"].iter().enumerate() {
        for step in 0..180i64 {
            let time = now - (step + 1) * 10_000_000_000;
            lines.push(format!(
                "cpu,host={host},cpu=cpu-total usage_user={},usage_idle={} {time}",
                (step % 50) as f64 + index as f64,
                100.0 - (step % 50) as f64
            ));
        }
    }
    lines.join("\n")
}

async fn form_query(
    server: &TestServer,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(server.url("/query")).form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("query");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn series(answer: &Value, statement: usize) -> &Vec<Value> {
    answer["results"][statement]["series"]
        .as_array()
        .unwrap_or_else(|| panic!("no series in statement {statement}: {answer}"))
}

#[tokio::test]
async fn grafana_influxql_mode_request_sequence() {
    let server = TestServer::start();
    let (status, body) = server
        .post("/write?db=telegraf", recent_points(), &[])
        .await;
    assert_eq!(status, 204, "{body}");

    // The data source's health check, as Grafana sends it (GET, epoch=ms).
    let (status, answer) = server
        .get_json(
            "/query",
            &[
                ("db", "telegraf"),
                ("q", "SHOW MEASUREMENTS LIMIT 1"),
                ("epoch", "ms"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(series(&answer, 0)[0]["values"], json!([["cpu"]]));
    let (_, answer) = server
        .get_json("/query", &[("q", "SHOW DATABASES")], None)
        .await;
    assert_eq!(series(&answer, 0)[0]["values"], json!([["telegraf"]]));

    // The query editor's metadata (POST, as Grafana's httpMode POST sends them).
    let metadata = [
        (
            "SHOW MEASUREMENTS WITH MEASUREMENT =~ /cp/ LIMIT 100",
            json!([["cpu"]]),
        ),
        ("SHOW TAG KEYS FROM \"cpu\"", json!([["cpu"], ["host"]])),
        (
            "SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\"",
            json!([["host", "a"], ["host", "b"]]),
        ),
        (
            "SHOW FIELD KEYS FROM \"cpu\"",
            json!([["usage_idle", "float"], ["usage_user", "float"]]),
        ),
        (
            "SHOW RETENTION POLICIES on \"telegraf\"",
            json!([["autogen", "0s", "168h0m0s", 1, true]]),
        ),
    ];
    for (statement, values) in metadata {
        let (status, answer) = form_query(
            &server,
            &[("db", "telegraf"), ("q", statement), ("epoch", "ms")],
            &[],
        )
        .await;
        assert_eq!(status, 200, "{statement}: {answer}");
        assert_eq!(series(&answer, 0)[0]["values"], values, "{statement}");
    }

    // A panel: `$timeFilter` expanded to millisecond bounds, `$__interval` to 1m, grouped by
    // host, two queries in one request.
    let now_ms = now_ns() / 1_000_000;
    let panel = format!(
        "SELECT mean(\"usage_user\") FROM \"cpu\" WHERE (\"host\" =~ /^(a|b)$/) AND time >= {}ms and time <= {now_ms}ms GROUP BY time(1m), \"host\" fill(null);\
         SELECT max(\"usage_idle\") FROM \"cpu\" WHERE time >= now() - 15m GROUP BY time(5m) fill(none)",
        now_ms - 30 * 60_000
    );
    let (status, answer) = form_query(
        &server,
        &[("db", "telegraf"), ("q", &panel), ("epoch", "ms")],
        &[],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let hosts = series(&answer, 0);
    assert_eq!(hosts.len(), 2, "{answer}");
    for (host, expected) in hosts.iter().zip(["a", "b"]) {
        assert_eq!(host["tags"], json!({ "host": expected }));
        assert_eq!(host["columns"], json!(["time", "mean"]));
        let values = host["values"].as_array().unwrap();
        // 30 minutes of one-minute windows, the first and last partial.
        assert!((30..=32).contains(&values.len()), "{}", values.len());
        let times: Vec<i64> = values
            .iter()
            .map(|row| row[0].as_i64().expect("epoch=ms times are integers"))
            .collect();
        assert!(
            times.windows(2).all(|pair| pair[1] - pair[0] == 60_000),
            "{times:?}"
        );
        assert!(values.iter().filter(|row| row[1].is_number()).count() >= 29);
    }
    let windows = series(&answer, 1)[0]["values"].as_array().unwrap();
    assert!((3..=4).contains(&windows.len()), "{answer}");
    assert!(
        windows
            .iter()
            .all(|row| row[1].as_f64().is_some_and(|max| max > 50.0))
    );

    // The raw table view: newest first, limited.
    let (_, answer) = form_query(
        &server,
        &[("db", "telegraf"), ("q", "SELECT \"usage_user\", \"host\" FROM \"cpu\" WHERE time >= now() - 1h ORDER BY time DESC LIMIT 5")],
        &[],
    )
    .await;
    let rows = series(&answer, 0)[0]["values"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let times: Vec<&str> = rows
        .iter()
        .map(|row| row[0].as_str().expect("RFC 3339 times"))
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "{times:?}");
}

#[tokio::test]
async fn one_x_clients_authenticate_every_way_they_know() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "metrics", &[]);
    let reader = create_token(&data_dir, "metrics", &["--read"]);
    let other = create_token(&data_dir, "other", &[]);
    let server = TestServer::start_in(&data_dir, &[]);
    let bearer = format!("Bearer {token}");
    let (status, body) = server
        .post(
            "/write?db=metrics",
            "m,host=a v=1 1000000000",
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let query = [("db", "metrics"), ("q", "SELECT v FROM m")];
    let client = reqwest::Client::new();
    let ok = |answer: &Value| {
        answer["results"][0]["series"][0]["values"] == json!([["1970-01-01T00:00:01Z", 1]])
    };

    // `u`/`p` parameters, basic auth's password, `Token` and `Bearer` headers.
    let with_p: Vec<(&str, &str)> = query
        .iter()
        .copied()
        .chain([("u", "anyone"), ("p", token.as_str())])
        .collect();
    let answers = [
        client
            .get(server.url("/query"))
            .query(&with_p)
            .send()
            .await
            .unwrap(),
        client
            .get(server.url("/query"))
            .query(&query)
            .basic_auth("anyone", Some(&token))
            .send()
            .await
            .unwrap(),
        client
            .get(server.url("/query"))
            .query(&query)
            .header("authorization", format!("Token {token}"))
            .send()
            .await
            .unwrap(),
        client
            .get(server.url("/query"))
            .query(&query)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        client
            .post(server.url("/query"))
            .form(&with_p)
            .send()
            .await
            .unwrap(),
    ];
    for response in answers {
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.unwrap();
        assert!(ok(&answer), "{answer}");
    }
    // No token, a wrong one, another database's: 1.x error objects with 401/403.
    let (status, answer) = server.get_json("/query", &query, None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let (status, _) = server.get_json("/query", &query, Some("tmk_wrong")).await;
    assert_eq!(status, 401);
    let (status, answer) = server.get_json("/query", &query, Some(&other)).await;
    assert_eq!(status, 403, "{answer}");
    // SELECT INTO writes: a read-only token may query but not write the answer back.
    let into = [("db", "metrics"), ("q", "SELECT v INTO copy FROM m")];
    let (status, answer) = server.get_json("/query", &into, Some(&reader)).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = server.get_json("/query", &into, Some(&token)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["results"][0]["series"][0]["values"],
        json!([["1970-01-01T00:00:00Z", 1]])
    );
    let (_, answer) = server
        .get_json(
            "/query",
            &[("db", "metrics"), ("q", "SELECT v FROM copy")],
            Some(&reader),
        )
        .await;
    assert_eq!(
        answer["results"][0]["series"][0]["values"],
        json!([["1970-01-01T00:00:01Z", 1]])
    );
    // A token sees only its database in SHOW DATABASES (and one not yet written, none).
    let (_, answer) = server
        .get_json("/query", &[("q", "SHOW DATABASES")], Some(&token))
        .await;
    assert_eq!(
        series(&answer, 0)[0]["values"],
        json!([["metrics"]]),
        "{answer}"
    );
    let (_, answer) = server
        .get_json("/query", &[("q", "SHOW DATABASES")], Some(&other))
        .await;
    assert!(series(&answer, 0)[0].get("values").is_none(), "{answer}");
}

#[tokio::test]
async fn csv_chunks_pretty_and_errors() {
    let server = TestServer::start();
    let lines: Vec<String> = (1..=5)
        .map(|i| format!("m,host=h{} v={i}i {}", i % 2, i64::from(i) * 1_000_000_000))
        .collect();
    let (status, body) = server.post("/write?db=d", lines.join("\n"), &[]).await;
    assert_eq!(status, 204, "{body}");
    let client = reqwest::Client::new();

    let csv = client
        .get(server.url("/query"))
        .query(&[("db", "d"), ("q", "SELECT v FROM m GROUP BY host")])
        .header("accept", "application/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "application/csv");
    assert_eq!(
        csv.text().await.unwrap(),
        "name,tags,time,v\nm,host=h0,2000000000,2\nm,host=h0,4000000000,4\nm,host=h1,1000000000,1\nm,host=h1,3000000000,3\nm,host=h1,5000000000,5\n"
    );

    let chunked = client
        .get(server.url("/query"))
        .query(&[
            ("db", "d"),
            ("q", "SELECT v FROM m"),
            ("chunked", "true"),
            ("chunk_size", "2"),
            ("epoch", "s"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let chunks: Vec<Value> = chunked
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(chunks.len(), 3, "{chunked}");
    assert_eq!(
        chunks[0]["results"][0]["series"][0]["values"],
        json!([[1, 1], [2, 2]])
    );
    assert_eq!(chunks[0]["results"][0]["series"][0]["partial"], json!(true));
    assert_eq!(
        chunks[2]["results"][0]["series"][0]["values"],
        json!([[5, 5]])
    );
    assert!(
        chunks[2]["results"][0]["series"][0]
            .get("partial")
            .is_none()
    );

    let pretty = client
        .get(server.url("/query"))
        .query(&[("db", "d"), ("q", "SHOW MEASUREMENTS"), ("pretty", "true")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pretty.contains("\n  "), "{pretty}");

    // A statement that does not parse: 400 and 1.x's wording; one that fails: its own error
    // object while the others answer.
    let (status, answer) = server
        .get_json("/query", &[("db", "d"), ("q", "SELEC v FROM m")], None)
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("error parsing query: found SELEC"),
        "{answer}"
    );
    let (status, answer) = server
        .get_json(
            "/query",
            &[
                ("db", "d"),
                (
                    "q",
                    "SELECT v FROM m LIMIT 1; SELECT mean(v), v FROM m; SELECT v FROM nosuchdb..m",
                ),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(answer["results"][0]["series"].is_array(), "{answer}");
    assert_eq!(
        answer["results"][1]["error"],
        "mixing aggregate and non-aggregate queries is not supported"
    );
    assert_eq!(
        answer["results"][2]["error"],
        "database not found: nosuchdb"
    );
    let (_, answer) = server
        .get_json("/query", &[("q", "SELECT v FROM m")], None)
        .await;
    assert_eq!(answer["results"][0]["error"], "database name required");
    let (status, answer) = server
        .get_json(
            "/query",
            &[("db", "d"), ("q", "SELECT v FROM m"), ("epoch", "weeks")],
            None,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (_, answer) = server
        .get_json("/query", &[("db", "d"), ("q", "DROP DATABASE d")], None)
        .await;
    assert!(
        answer["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not supported"),
        "{answer}"
    );
}

#[tokio::test]
async fn hostile_statements_get_errors_not_crashes() {
    let server = TestServer::start();
    let (status, _) = server.post("/write?db=d", "m v=1 1", &[]).await;
    assert_eq!(status, 204);
    let deep = format!(
        "SELECT {}v{} FROM m",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let long_or = format!(
        "SELECT v FROM m WHERE {}",
        vec!["v = 1"; 20_000].join(" OR ")
    );
    let huge = format!("SELECT v FROM m WHERE host = '{}'", "x".repeat(2 << 20));
    let windows =
        "SELECT count(v) FROM m WHERE time >= 0 AND time < 9000000000000000000 GROUP BY time(1ns)"
            .to_owned();
    for statement in [deep, long_or, windows] {
        let response = reqwest::Client::new()
            .post(server.url("/query"))
            .form(&[("db", "d"), ("q", statement.as_str())])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert!(
            status == 400 || (status == 200 && answer["results"][0]["error"].is_string()),
            "{status} {answer}"
        );
    }
    let response = reqwest::Client::new()
        .post(server.url("/query"))
        .form(&[("db", "d"), ("q", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 400 | 413),
        "{}",
        response.status()
    );
    // Still serving.
    let (status, answer) = server
        .get_json("/query", &[("db", "d"), ("q", "SELECT v FROM m")], None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["results"][0]["series"][0]["values"],
        json!([["1970-01-01T00:00:00.000000001Z", 1]])
    );
}

#[tokio::test]
async fn what_a_statement_holds_in_memory_is_bounded() {
    let scratch = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(
        &scratch.path().join("data"),
        &["--query-max-samples", "1000"],
    );
    let lines: Vec<String> = (0..600)
        .map(|i| format!("m,host=h{} v={i} {}", i % 3, 1_000_000_000 + i64::from(i)))
        .collect();
    let (status, body) = server.post("/write?db=d", lines.join("\n"), &[]).await;
    assert_eq!(status, 204, "{body}");
    // 600 points of time, host and v are 1,800 values: over the bound of 1,000.
    let (status, answer) = server
        .get_json(
            "/query",
            &[("db", "d"), ("q", "SELECT v, host FROM m")],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let error = answer["results"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("more than 1000 values"), "{answer}");
    // Narrowed, the same statement answers.
    let (_, answer) = server
        .get_json(
            "/query",
            &[
                ("db", "d"),
                ("q", "SELECT v, host FROM m WHERE host = 'h1'"),
            ],
            None,
        )
        .await;
    assert_eq!(
        answer["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(200),
        "{answer}"
    );
}
