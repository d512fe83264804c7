//! The write endpoints against the real binary: success paths, the bad-input matrix (each with
//! its status, a message naming the problem, and no good line lost), gzip, limits, idempotency.

use std::io::Write;

use crate::TestServer;

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

async fn count(server: &TestServer, db: &str, series: &str) -> u64 {
    let (status, body) = server.points(db, series, None).await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().expect("count")
}

#[tokio::test]
async fn all_three_apis_write_and_read_back() {
    let server = TestServer::start();
    let (status, body) = server
        .post(
            "/write?db=v1&precision=s",
            "cpu,host=a usage=1.5 1700000000",
            &[],
        )
        .await;
    assert_eq!((status, body.as_str()), (204, ""));
    let (status, _) = server
        .post(
            "/api/v2/write?bucket=v2&org=x&precision=ms",
            "cpu,host=a usage=2i 1700000000000",
            &[],
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .post(
            "/api/v3/write_lp?db=v3",
            "cpu,host=a on=true,s=\"x y\",u=7u 1700000000",
            &[],
        )
        .await;
    assert_eq!(status, 204);
    let (_, v1) = server.points("v1", "cpu,host=a", None).await;
    assert_eq!(
        v1["points"][0],
        serde_json::json!({"time": 1_700_000_000_000_000_000i64, "fields": {"usage": 1.5}})
    );
    let (_, v2) = server.points("v2", "cpu,host=a", None).await;
    assert_eq!(v2["points"][0]["fields"]["usage"], 2);
    let (_, v3) = server.points("v3", "cpu,host=a", None).await;
    assert_eq!(
        v3["points"][0]["time"], 1_700_000_000_000_000_000i64,
        "auto precision read seconds"
    );
    assert_eq!(
        v3["points"][0]["fields"],
        serde_json::json!({"on": true, "s": "x y", "u": 7})
    );
    let (status, body) = server
        .post(
            "/query",
            "q=CREATE+DATABASE+%22telegraf%22",
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    // InfluxDB 1.x's answer to CREATE DATABASE.
    assert_eq!(
        (status, body.as_str()),
        (200, "{\"results\":[{\"statement_id\":0}]}")
    );
    let ping = reqwest::Client::new()
        .head(server.url("/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 204);
}

/// (path, body, headers, expected status, text the response must contain)
type Case = (
    &'static str,
    Vec<u8>,
    Vec<(&'static str, &'static str)>,
    u16,
    &'static str,
);

#[tokio::test]
async fn the_bad_input_matrix() {
    let server = TestServer::start();
    server.post("/write?db=m", "m f=1 1", &[]).await;
    let cases: Vec<Case> = vec![
        ("/write?db=m", b"m f= 1".to_vec(), vec![], 400, "line 1"),
        (
            "/write?db=m",
            b"m,t\\=x f=1 1\nm f=\"unterminated 2".to_vec(),
            vec![],
            400,
            "line 2",
        ),
        (
            "/write?db=m",
            b"m f=99999999999999999999i 1".to_vec(),
            vec![],
            400,
            "out of range for a 64-bit integer",
        ),
        (
            "/write?db=m",
            b"m f=1i 1".to_vec(),
            vec![],
            400,
            "field type conflict",
        ),
        (
            "/write?db=m",
            b"m f=1e999 1".to_vec(),
            vec![],
            400,
            "NaN and infinite",
        ),
        ("/write?db=m", b"m,t= f=1 1".to_vec(), vec![], 400, "line 1"),
        (
            "/write?db=m&precision=fortnight",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "invalid precision",
        ),
        (
            "/write",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "database is required",
        ),
        (
            "/api/v2/write",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "missing bucket",
        ),
        (
            "/api/v3/write_lp",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "missing db",
        ),
        (
            "/write?db=m",
            b"not gzip at all".to_vec(),
            vec![("content-encoding", "gzip")],
            400,
            "invalid gzip",
        ),
        (
            "/write?db=m",
            b"m f=1 1".to_vec(),
            vec![("content-encoding", "br")],
            400,
            "unsupported Content-Encoding",
        ),
        (
            "/write?db=m",
            b"m f=1 1".to_vec(),
            vec![("authorization", "Weird x")],
            204,
            "",
        ),
        (
            "/api/v3/write_lp?db=m&accept_partial=maybe",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "accept_partial",
        ),
        (
            "/write?db=m",
            b"m f=1 99999999999999999".to_vec(),
            vec![],
            204,
            "",
        ),
        (
            "/write?db=m&precision=s",
            b"m f=1 99999999999999999".to_vec(),
            vec![],
            400,
            "out of range for precision s",
        ),
        (
            "/write?db=bad%01name",
            b"m f=1 1".to_vec(),
            vec![],
            400,
            "invalid database name",
        ),
    ];
    for (path, body, headers, status, needle) in cases {
        let (got, text) = server.post(path, body.clone(), &headers).await;
        assert_eq!(
            got,
            status,
            "{path} {:?}: {text}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            text.contains(needle),
            "{path}: {text:?} should mention {needle:?}"
        );
    }
}

#[tokio::test]
async fn partial_writes_keep_every_good_line() {
    let server = TestServer::start();
    let body = "cpu,host=a v=1 1\ncpu,host=a v= 2\n# comment\ncpu,host=a v=3 3\ncpu,host=a v=\"s\" 4\n\ncpu,host=a v=5 5\n";
    for (path, db) in [
        ("/write?db=one", "one"),
        ("/api/v2/write?bucket=two", "two"),
        ("/api/v3/write_lp?db=three&precision=ns", "three"),
    ] {
        let path = path.to_owned();
        let (status, text) = server.post(&path, body, &[]).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains("line 2") || text.contains("\"line_number\":2"),
            "{text}"
        );
        assert!(
            text.contains("line 5") || text.contains("\"line_number\":5"),
            "{text}"
        );
        assert_eq!(
            count(&server, db, "cpu,host=a").await,
            3,
            "{path}: lines 1, 4 and 7 are written"
        );
    }
    // accept_partial=false writes nothing when a line is bad.
    let (status, text) = server
        .post(
            "/api/v3/write_lp?db=four&accept_partial=false",
            "cpu,host=a v=1 1\ncpu v= 2",
            &[],
        )
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(
        server.points("four", "cpu,host=a", None).await.0,
        404,
        "not even the database"
    );
}

#[tokio::test]
async fn gzip_bodies_and_the_body_limit() {
    let scratch = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(
        &scratch.path().join("data"),
        &["--max-request-bytes", "2000"],
    );
    let lines: String = (0..20).map(|i| format!("m,host=h v={i} {i}\n")).collect();
    let (status, _) = server
        .post("/write?db=g", gzip(&lines), &[("content-encoding", "gzip")])
        .await;
    assert_eq!(status, 204);
    assert_eq!(count(&server, "g", "m,host=h").await, 20);
    let big: String = (0..200)
        .map(|i| format!("m,host=big v={i} {i}\n"))
        .collect();
    let (status, text) = server.post("/write?db=g", big.clone(), &[]).await;
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("larger than the limit of 2000 bytes"),
        "{text}"
    );
    // A small gzip body that inflates past the limit is refused too.
    let (status, _) = server
        .post("/write?db=g", gzip(&big), &[("content-encoding", "gzip")])
        .await;
    assert_eq!(status, 413);
    assert_eq!(
        count(&server, "g", "m,host=big").await,
        0,
        "nothing of a refused body is written"
    );
}

#[tokio::test]
async fn a_retried_request_with_an_idempotency_key_is_written_once() {
    let server = TestServer::start();
    let headers = [("idempotency-key", "batch-42")];
    let body = "m,host=a v=1 1\nm,host=a v=2 2";
    assert_eq!(server.post("/write?db=i", body, &headers).await.0, 204);
    assert_eq!(
        server.post("/write?db=i", body, &headers).await.0,
        204,
        "the retry is acknowledged"
    );
    // Different content under the same key is still a replay: the key names the request.
    assert_eq!(
        server
            .post("/write?db=i", "m,host=a v=3 3", &headers)
            .await
            .0,
        204
    );
    let (_, points) = server.points("i", "m,host=a", None).await;
    assert_eq!(points["count"], 2);
    assert_eq!(
        server
            .post(
                "/write?db=i",
                "m,host=a v=3 3",
                &[("idempotency-key", "batch-43")]
            )
            .await
            .0,
        204
    );
    assert_eq!(count(&server, "i", "m,host=a").await, 3);
}

#[tokio::test]
async fn the_write_command_imports_plain_and_gzip_files() {
    let server = TestServer::start();
    let scratch = tempfile::tempdir().unwrap();
    let lines: String = (0..1_234)
        .map(|i| format!("disk,host=h{} used={i}i {i}\n", i % 3))
        .collect();
    let plain = scratch.path().join("data.lp");
    std::fs::write(&plain, &lines).unwrap();
    let zipped = scratch.path().join("data.lp.gz");
    std::fs::write(&zipped, gzip(&lines.replace("disk", "disk2"))).unwrap();
    for (file, database) in [(&plain, "files"), (&zipped, "files")] {
        let output = crate::harness::binary()
            .args([
                "write",
                "--db",
                database,
                "--batch-lines",
                "500",
                "--url",
                &server.url(""),
            ])
            .arg(file)
            .output()
            .expect("run tidemark write");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stderr).contains("wrote 1234 lines"));
    }
    assert_eq!(count(&server, "files", "disk,host=h0").await, 412);
    assert_eq!(count(&server, "files", "disk2,host=h2").await, 411);
    // `count` and `dump` read the same series back through the CLI.
    let output = crate::harness::binary()
        .args([
            "count",
            "--db",
            "files",
            "--series",
            "disk,host=h1",
            "--url",
            &server.url(""),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "411");
    let output = crate::harness::binary()
        .args([
            "dump",
            "--db",
            "files",
            "--series",
            "disk,host=h1",
            "--start",
            "0",
            "--end",
            "10",
            "--url",
            &server.url(""),
        ])
        .output()
        .unwrap();
    let dumped = String::from_utf8_lossy(&output.stdout);
    assert_eq!(dumped.lines().count(), 4, "times 1, 4, 7, 10:\n{dumped}");
    assert!(
        dumped.lines().next().unwrap().contains("\"used\":1"),
        "{dumped}"
    );
}
