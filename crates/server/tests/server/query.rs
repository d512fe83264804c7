//! SQL against the real binary: `/api/v3/query_sql` and `tidemark query` checked against an
//! independent computation of the same data, and real Flight SQL clients (ADBC, pyarrow) with
//! tokens, refusals, a multi-million-row stream and TLS.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::TestServer;
use crate::auth::create_token;
use crate::clients::{python, run_script, unavailable};
use crate::harness::binary;

const HOSTS: usize = 12;
const POINTS_PER_HOST: usize = 500;
const START_NANOS: i64 = 1_704_067_200_000_000_000;
const STEP_NANOS: i64 = 30_000_000_000;

/// One stored point: host, time, value in quarters (so every sum is exact in f64).
#[derive(Debug, Clone, Copy)]
struct Point {
    host: usize,
    time: i64,
    quarters: i64,
}

/// The dataset, as write requests, and the points that must be stored after all of them.
fn dataset() -> (Vec<String>, Vec<Point>) {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % 801) as i64 - 400
    };
    let mut stored: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    let mut requests = Vec::new();
    let line = |host: usize, time: i64, quarters: i64| {
        format!(
            "metrics,host=h{host:02} value={} {time}\n",
            quarters as f64 / 4.0
        )
    };
    // Five requests, each a slice of time across all hosts.
    for part in 0..5 {
        let mut body = String::new();
        for step in (part * POINTS_PER_HOST / 5)..((part + 1) * POINTS_PER_HOST / 5) {
            for host in 0..HOSTS {
                let time = START_NANOS + step as i64 * STEP_NANOS;
                let quarters = next();
                stored.insert((host, time), quarters);
                body.push_str(&line(host, time, quarters));
            }
        }
        requests.push(body);
    }
    // A late request rewrites every 7th point of host 3: the later write wins.
    let mut rewrite = String::new();
    for step in (0..POINTS_PER_HOST).step_by(7) {
        let time = START_NANOS + step as i64 * STEP_NANOS;
        let quarters = next();
        stored.insert((3, time), quarters);
        rewrite.push_str(&line(3, time, quarters));
    }
    requests.push(rewrite);
    let points = stored
        .into_iter()
        .map(|((host, time), quarters)| Point {
            host,
            time,
            quarters,
        })
        .collect();
    (requests, points)
}

/// Per host: [host, count, sum, min, max], as the SQL below returns them.
fn per_host(points: &[Point]) -> Vec<Value> {
    let mut groups: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for point in points {
        groups.entry(point.host).or_default().push(point.quarters);
    }
    groups
        .into_iter()
        .map(|(host, values)| {
            let sum: i64 = values.iter().sum();
            json!([
                format!("h{host:02}"),
                values.len(),
                sum as f64 / 4.0,
                *values.iter().min().unwrap() as f64 / 4.0,
                *values.iter().max().unwrap() as f64 / 4.0,
            ])
        })
        .collect()
}

async fn load(server: &TestServer, db: &str, token: Option<&str>) -> Vec<Point> {
    let (requests, points) = dataset();
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|value| vec![("authorization", value)])
        .unwrap_or_default();
    for body in requests {
        let (status, text) = server
            .post(
                &format!("/api/v3/write_lp?db={db}&precision=ns"),
                body,
                &headers,
            )
            .await;
        assert_eq!(status, 204, "{text}");
    }
    points
}

#[tokio::test]
async fn sql_results_equal_an_independent_computation() {
    let server = TestServer::start();
    let points = load(&server, "bench", None).await;

    let (status, rows) = server
        .sql(
            Some("bench"),
            "SELECT host, count(*) AS n, sum(value) AS total, min(value) AS low, max(value) AS high \
             FROM metrics GROUP BY host ORDER BY host",
            None,
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    let got: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| json!([row["host"], row["n"], row["total"], row["low"], row["high"]]))
        .collect();
    assert_eq!(got, per_host(&points));

    // Hourly averages of one host over a time range with RFC 3339 bounds.
    let from = START_NANOS + 3_600_000_000_000;
    let to = START_NANOS + 3 * 3_600_000_000_000;
    let mut hourly: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for point in points
        .iter()
        .filter(|p| p.host == 3 && p.time >= from && p.time < to)
    {
        let hour = point.time - (point.time - START_NANOS) % 3_600_000_000_000;
        let entry = hourly.entry(hour).or_default();
        entry.0 += point.quarters;
        entry.1 += 1;
    }
    let expected: Vec<Value> = hourly
        .values()
        .map(|(sum, count)| json!((*sum as f64 / 4.0) / *count as f64))
        .collect();
    let (status, rows) = server
        .sql(
            Some("bench"),
            "SELECT date_bin(INTERVAL '1 hour', time) AS hour, avg(value) AS mean FROM metrics \
             WHERE host = 'h03' AND time >= '2024-01-01T01:00:00Z' AND time < '2024-01-01T03:00:00Z' \
             GROUP BY hour ORDER BY hour",
            None,
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    let got: Vec<Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["mean"].clone())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(rows[0]["hour"], "2024-01-01T01:00:00Z");

    // `tidemark query` prints a table.
    let output = binary()
        .args(["query", "--db", "bench", "--url", &server.url("")])
        .arg("SELECT host, count(*) AS n FROM metrics WHERE host IN ('h00', 'h11') GROUP BY host ORDER BY host")
        .output()
        .expect("run tidemark query");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("| h00  | 500 |") && text.contains("| h11  | 500 |"),
        "{text}"
    );
    let output = binary()
        .args([
            "query",
            "--db",
            "bench",
            "--url",
            &server.url(""),
            "SELECT nope FROM metrics",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope"));
}

#[tokio::test]
async fn http_sql_formats_and_errors() {
    let server = TestServer::start();
    let (status, text) = server
        .post(
            "/api/v3/write_lp?db=f&precision=s",
            "m,host=a\\ b big=18446744073709551615u,i=-9223372036854775808i,s=\"x,y\" 1704067200\n",
            &[],
        )
        .await;
    assert_eq!(status, 204, "{text}");
    let get = |format: &'static str, q: &'static str| {
        let url = server.url("/api/v3/query_sql");
        let query = [("db", "f"), ("q", q), ("format", format)];
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .query(&query)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            (status, content_type, response.bytes().await.unwrap())
        }
    };
    let all = "SELECT * FROM m";
    let (status, kind, body) = get("json", all).await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    // Integers stay exact, u64 included.
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"[{"host":"a b","big":18446744073709551615,"i":-9223372036854775808,"s":"x,y","time":"2024-01-01T00:00:00Z"}]"#
    );
    let (_, _, body) = get("jsonl", all).await;
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 1);
    let (_, kind, body) = get("csv", all).await;
    assert!(kind.starts_with("text/csv"));
    assert_eq!(
        String::from_utf8_lossy(&body),
        "host,big,i,s,time\na b,18446744073709551615,-9223372036854775808,\"x,y\",2024-01-01T00:00:00Z\n"
    );
    let (_, _, body) = get("parquet", all).await;
    assert!(body.starts_with(b"PAR1") && body.ends_with(b"PAR1"));
    let (_, _, body) = get("pretty", all).await;
    assert!(String::from_utf8_lossy(&body).contains("| a b  |"));
    let (_, _, body) = get("json", "SELECT * FROM m WHERE host = 'zzz'").await;
    assert_eq!(&body[..], b"[]");

    // POST with a JSON body.
    let response = reqwest::Client::new()
        .post(server.url("/api/v3/query_sql"))
        .json(&json!({"db": "f", "q": "SELECT count(*) AS n FROM m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!([{"n": 1}]));

    // Errors: status and a message naming the problem.
    for (q, format, db, status, needle) in [
        ("SELECT * FROM nope", "json", "f", 400, "nope"),
        ("SELECT 1", "xml", "f", 400, "unknown format"),
        ("SELECT 1", "json", "missing", 404, "missing"),
        ("", "json", "f", 400, "missing q"),
        ("DROP TABLE m", "json", "f", 400, "not supported"),
        ("SELECT CAST('x' AS INT)", "json", "f", 400, "Cannot cast"),
    ] {
        let response = reqwest::Client::new()
            .get(server.url("/api/v3/query_sql"))
            .query(&[("db", db), ("q", q), ("format", format)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{q}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{q}: {message}");
    }
}

fn python_or_skip() -> Option<std::path::PathBuf> {
    python()
}

#[tokio::test]
async fn flight_sql_clients_query_stream_and_are_refused_without_access() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "fsql", &[]);
    let other = create_token(&data_dir, "other", &[]);
    let server = TestServer::start_in(&data_dir, &[]);
    let points = load(&server, "fsql", Some(&token)).await;
    let (status, text) = server
        .post(
            "/api/v3/write_lp?db=other",
            "x v=1 1",
            &[("authorization", &format!("Bearer {other}"))],
        )
        .await;
    assert_eq!(status, 204, "{text}");

    let uri = format!("grpc://{}", server.addr());
    let host = 3;
    let threshold = 10.0;
    let expected = json!({
        "per_host": per_host(&points),
        "param_host": format!("h{host:02}"),
        "param_min": threshold,
        "param_count": points.iter().filter(|p| p.host == host && p.quarters as f64 / 4.0 >= threshold).count(),
        "columns": ["host", "value", "time"],
        "stream_factor": 400,
        "stream_rows": points.len() * 400,
        "h00_rows": points.iter().filter(|p| p.host == 0).count(),
        "total_rows": points.len(),
    });
    let output = run_script(
        &python,
        "flight_sql.py",
        &["queries", &uri, "fsql", &token, &expected.to_string()],
    );
    assert!(output.contains("queries ok"), "{output}");
    let refusals = json!({"other_database": "other"});
    let output = run_script(
        &python,
        "flight_sql.py",
        &["refusals", &uri, "fsql", &token, &refusals.to_string()],
    );
    assert!(output.contains("refusals ok"), "{output}");
}

/// A self-signed certificate for 127.0.0.1 and its key, written by openssl.
fn self_signed(dir: &Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match status {
        Ok(output) if output.status.success() => Some((cert, key)),
        Ok(output) => unavailable("openssl", &String::from_utf8_lossy(&output.stderr)),
        Err(error) => unavailable("openssl", &error.to_string()),
    }
}

#[tokio::test]
async fn flight_sql_and_http_share_one_tls_port() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(scratch.path()) else {
        return;
    };
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "secure", &[]);
    // Write over plaintext first, then restart with TLS on the same data.
    let plain = TestServer::start_in(&data_dir, &[]);
    load(&plain, "secure", Some(&token)).await;
    drop(plain);
    let tls = TestServer::start_in(
        &data_dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let uri = format!("grpc+tls://{}", tls.addr());
    let extra = json!({"root_cert": cert});
    let output = run_script(
        &python,
        "flight_sql.py",
        &["tls", &uri, "secure", &token, &extra.to_string()],
    );
    assert!(output.contains("tls ok"), "{output}");
}
