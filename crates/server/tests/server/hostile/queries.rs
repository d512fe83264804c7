//! Queries built to run forever, to exhaust memory, or to overflow the stack.

use std::time::{Duration, Instant};

use super::{Watchdog, start};
use crate::TestServer;

async fn prom(server: &TestServer, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_and_oversized_queries_are_cut_off() {
    let server = start(&[
        "--query-max-samples",
        "100000",
        "--query-max-concurrent-per-database",
        "1",
        "--query-queue-timeout",
        "500ms",
    ]);
    let watch = Watchdog::start(&server, None);
    let lines: String = (0..150_000i64)
        .map(|i| format!("m,s=s{} v={i} {}\n", i % 50, i * 1_000_000_000))
        .collect();
    let (status, body) = server.post("/api/v2/write?bucket=attack", lines, &[]).await;
    assert_eq!(status, 204, "{}", &body[..body.len().min(200)]);

    // A scalar function asked for a terabyte: refused before it allocates.
    let (status, body) = server
        .sql(
            Some("attack"),
            "SELECT repeat(arrow_cast('x','LargeUtf8'), 1099511627776)",
            None,
        )
        .await;
    assert_eq!(status, 429, "{body}");
    // A count over 2^63 rows: stopped at the deadline (3 s here).
    let started = Instant::now();
    let (status, body) = server
        .sql(
            Some("attack"),
            "SELECT count(*) FROM generate_series(1, 9223372036854775807)",
            None,
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A big result in the pretty format streams, table by table.
    let response = reqwest::get(server.url(
        "/api/v3/query_sql?db=attack&format=pretty&q=SELECT+*+FROM+generate_series(1,300000)",
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    // A table per batch at most (8,192 rows): 300,000 rows are dozens of tables.
    assert!(text.matches("+----").count() > 30, "several tables");

    // PromQL: an 18-million-step subquery is refused at once; a client's hour-long timeout
    // is capped at the server's 5 s.
    let started = Instant::now();
    let (status, body) = prom(
        &server,
        "/api/v1/query_range",
        &[
            ("db", "attack"),
            ("start", "0"),
            ("end", "11"),
            ("step", "0.001"),
            ("query", "quantile_over_time(0.5, vector(1)[5h:1ms])"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let started = Instant::now();
    let (status, body) = prom(
        &server,
        "/api/v1/query_range",
        &[
            ("db", "attack"),
            ("start", "0"),
            ("end", "11"),
            ("step", "0.001"),
            ("timeout", "1h"),
            ("query", "quantile_over_time(0.5, vector(1)[80s:1ms])"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (503, Some("timeout")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A selector loading more samples than allowed.
    let (status, body) = prom(
        &server,
        "/api/v1/query",
        &[
            ("db", "attack"),
            ("time", "200000"),
            ("query", "count_over_time({__name__=~\".+\"}[100y])"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("samples"),
        "{body}"
    );
    // 100,000 nested parentheses, as a query and as a match[] selector.
    let deep = format!("{}m{}", "(".repeat(100_000), ")".repeat(100_000));
    let (status, body) = prom(
        &server,
        "/api/v1/query",
        &[("db", "attack"), ("query", &deep)],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = prom(
        &server,
        "/api/v1/series",
        &[("db", "attack"), ("match[]", &deep)],
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // One database's long query holds its only slot: its next query waits, then gets 429;
    // another database is served meanwhile.
    let long = {
        let url = server.url("/api/v3/query_sql");
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(url)
                .query(&[
                    ("db", "attack"),
                    (
                        "q",
                        "SELECT count(*) FROM generate_series(1, 9223372036854775807)",
                    ),
                ])
                .send()
                .await
                .map(|response| response.status().as_u16())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = server.sql(Some("attack"), "SELECT 1", None).await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = server.sql(Some("good"), "SELECT 1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(long.await.unwrap().unwrap(), 503);
    watch.finish("runaway queries").await;
}
