//! Tiering against the real binary: query results are the same before, during and after a
//! pass; late data merges; retention expires both tiers; a SIGKILL at each step of a pass loses
//! nothing and leaves no orphan; and the S3 path works against a real S3-compatible server.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::TestServer;
use crate::clients;
use crate::harness::storage_binary;

pub(crate) const MINUTE: i64 = 60_000_000_000;
pub(crate) const DAY: i64 = 24 * 60 * MINUTE;
const HOSTS: usize = 4;

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A point of the test data: host, time, usage (quarters, so sums are exact), count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    host: usize,
    time: i64,
    usage: f64,
    count: i64,
}

/// Every 20 minutes over `days` ending `until`, day-aligned so partitions are whole.
pub(crate) fn dataset(days: std::ops::Range<i64>, base: i64) -> Vec<Point> {
    let mut points = Vec::new();
    for host in 0..HOSTS {
        for day in days.clone() {
            for step in 0..72 {
                let time = base + day * DAY + step * 20 * MINUTE + host as i64 * 7_000_000_000;
                let seed = (day * 72 + step) * (host as i64 + 3);
                points.push(Point {
                    host,
                    time,
                    usage: (seed % 400) as f64 * 0.25,
                    count: seed % 1000,
                });
            }
        }
    }
    points
}

fn line_protocol(points: &[Point]) -> String {
    points
        .iter()
        .map(|p| {
            format!(
                "cpu,host=h{} usage={},count={}i {}\n",
                p.host, p.usage, p.count, p.time
            )
        })
        .collect()
}

pub(crate) async fn write(server: &TestServer, points: &[Point]) {
    for chunk in points.chunks(5_000) {
        let (status, body) = server
            .post(
                "/api/v2/write?bucket=tiers&precision=ns",
                line_protocol(chunk),
                &[],
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }
}

/// The expected per-host summary, computed from the points (latest write wins per time).
pub(crate) fn expected(points: &[Point]) -> serde_json::Value {
    let mut latest: BTreeMap<(usize, i64), Point> = BTreeMap::new();
    for point in points {
        latest.insert((point.host, point.time), *point);
    }
    let mut rows = Vec::new();
    for host in 0..HOSTS {
        let mine: Vec<&Point> = latest.values().filter(|p| p.host == host).collect();
        if mine.is_empty() {
            continue;
        }
        rows.push(serde_json::json!({
            "host": format!("h{host}"),
            "n": mine.len(),
            "usage": mine.iter().map(|p| p.usage).sum::<f64>(),
            "count": mine.iter().map(|p| p.count).sum::<i64>(),
        }));
    }
    serde_json::Value::Array(rows)
}

const SUMMARY: &str = "SELECT host, count(*) AS n, sum(usage) AS usage, sum(count) AS count \
                       FROM cpu GROUP BY host ORDER BY host";

pub(crate) async fn summary(server: &TestServer) -> serde_json::Value {
    let (status, body) = server.sql(Some("tiers"), SUMMARY, None).await;
    assert_eq!(status, 200, "{body}");
    // Integers and floats come back as JSON numbers; compare as f64 via the expected shape.
    body
}

pub(crate) fn assert_summary(got: &serde_json::Value, want: &serde_json::Value) {
    let got = got.as_array().expect("rows");
    let want = want.as_array().expect("rows");
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (row, expected) in got.iter().zip(want) {
        for key in ["host", "n", "usage", "count"] {
            let (a, b) = (&row[key], &expected[key]);
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            };
            assert!(same, "{key}: got {row} expected {expected}");
        }
    }
}

/// Runs a pass through the server. A node killed mid-pass holds the tiering lease until it
/// lapses (a minute): meanwhile the server answers 409, and the pass is asked for again.
pub(crate) async fn tier_run(server: &TestServer) -> Vec<serde_json::Value> {
    let started = std::time::Instant::now();
    let (status, body) = loop {
        let (status, body) = server.post("/api/v0/tier/run", "", &[]).await;
        if status != 409 || started.elapsed() > std::time::Duration::from_secs(90) {
            break (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    };
    assert_eq!(status, 200, "{body}");
    let events: Vec<serde_json::Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    let last = events.last().expect("a final line");
    assert_eq!(last["event"], "done", "{body}");
    events
}

pub(crate) async fn status(server: &TestServer) -> serde_json::Value {
    let (code, body) = server.get_json("/api/v0/tier/status", &[], None).await;
    assert_eq!(code, 200, "{body}");
    body["databases"]
        .as_array()
        .and_then(|databases| databases.iter().find(|db| db["database"] == "tiers"))
        .cloned()
        .expect("status of the database")
}

pub(crate) fn base() -> i64 {
    (now() / DAY) * DAY
}

pub(crate) fn quiet_tiering() -> Vec<&'static str> {
    // The background loop never runs during a test; passes are started by the test.
    vec!["--tier-interval", "1000d", "--tier-grace", "0s"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_agree_before_during_and_after_tiering_and_late_data_merges() {
    let scratch = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(&scratch.path().join("data"), &quiet_tiering());
    let base = base();
    // Twelve days ending 9 days ago (cold), and the last two days (hot).
    let mut points = dataset(-21..-9, base);
    points.extend(dataset(-2..0, base));
    write(&server, &points).await;
    let want = expected(&points);
    assert_summary(&summary(&server).await, &want);

    // Queries keep running while a pass moves twelve partitions.
    let url = server.url("/api/v3/query_sql");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, want) = (stop.clone(), want.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut checked = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || checked == 0 {
                let body: serde_json::Value = client
                    .get(&url)
                    .query(&[("db", "tiers"), ("q", SUMMARY)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_summary(&body, &want);
                checked += 1;
            }
            checked
        })
    };
    let events = tier_run(&server).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let checked = reader.await.unwrap();
    eprintln!("{checked} concurrent queries agreed");
    let moved = events
        .iter()
        .filter(|event| event["event"] == "partition")
        .count();
    assert_eq!(moved, 12, "{events:?}");
    assert_summary(&summary(&server).await, &want);
    let tiers = status(&server).await;
    assert_eq!(tiers["cold_files"], 12, "{tiers}");
    assert!(
        tiers["cold_rows"].as_u64().unwrap() == 12 * 72 * HOSTS as u64,
        "{tiers}"
    );

    // Filters on tags and time read the cold tier too.
    let sql = format!(
        "SELECT count(*) AS n FROM cpu WHERE host = 'h2' \
         AND time >= to_timestamp_nanos({}) AND time < to_timestamp_nanos({})",
        base - 15 * DAY,
        base - 13 * DAY
    );
    let (code, body) = server.sql(Some("tiers"), &sql, None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body[0]["n"], 2 * 72, "{body}");

    // Late data into a tiered partition: an overwrite and a new point. Hot wins at once...
    let late = [
        Point {
            host: 1,
            time: points[72 * 12 + 5].time,
            usage: 99.75,
            count: 7,
        },
        Point {
            host: 1,
            time: base - 15 * DAY + 30_000_000_000,
            usage: 0.5,
            count: 1,
        },
    ];
    assert_eq!(points[72 * 12 + 5].host, 1);
    write(&server, &late).await;
    let mut with_late = points.clone();
    with_late.extend(late);
    let want = expected(&with_late);
    assert_summary(&summary(&server).await, &want);
    // ...and a later pass merges it into new versions of the two partitions.
    let events = tier_run(&server).await;
    let merged: Vec<_> = events
        .iter()
        .filter(|event| event["event"] == "partition")
        .collect();
    assert_eq!(merged.len(), 2, "{events:?}");
    assert!(
        merged.iter().all(|event| event["replaced"] == 1),
        "{events:?}"
    );
    assert_summary(&summary(&server).await, &want);
    let tiers = status(&server).await;
    assert_eq!(tiers["cold_files"], 12, "{tiers}");
    // The replaced files were deleted (grace 0): only indexed files remain in the bucket.
    assert_eq!(parquet_files(&server.data_dir().join("cold")), 12);
}

fn parquet_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                parquet_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|ext| ext == "parquet"))
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_expires_both_tiers() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let server = TestServer::start_in(&data_dir, &quiet_tiering());
    let base = base();
    // Days -40..-30 and -25..-3; the retention cutoffs below fall in the gaps.
    let mut points = dataset(-40..-30, base);
    points.extend(dataset(-25..-3, base));
    write(&server, &points).await;
    tier_run(&server).await;
    // Days -40..-31 and -25..-8 are older than the 7-day hot retention.
    assert_eq!(status(&server).await["cold_files"], 10 + 18);
    server.terminate();

    // Restarted with a 28-day retention: the cold files of days -40..-30 go, from the index
    // and (grace 0) from the bucket.
    let mut args = quiet_tiering();
    args.extend(["--retention", "28d"]);
    let server = TestServer::start_in(&data_dir, &args);
    tier_run(&server).await;
    let kept: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.time >= base - 28 * DAY)
        .collect();
    assert_summary(&summary(&server).await, &expected(&kept));
    let tiers = status(&server).await;
    assert_eq!(tiers["cold_files"], 18, "{tiers}");
    assert_eq!(parquet_files(&data_dir.join("cold")), 18);
    server.terminate();

    // Hot data past retention is cleared with range clears, whole hours at a time: with a
    // 4-day retention (and hot retention, which may not be longer), every cold file goes, the
    // hot days -7..-4 are cleared, and the hot data from the hour of the cutoff on remains.
    let mut args = quiet_tiering();
    args.extend(["--retention", "4d", "--hot-retention", "4d"]);
    let server = TestServer::start_in(&data_dir, &args);
    let hour = 60 * MINUTE;
    let kept_from = |now: i64| (now - 4 * DAY).div_euclid(hour) * hour;
    let before = kept_from(now());
    tier_run(&server).await;
    let after = kept_from(now());
    let got = summary(&server).await;
    let kept =
        |from: i64| -> Vec<Point> { points.iter().copied().filter(|p| p.time >= from).collect() };
    if before == after {
        assert_summary(&got, &expected(&kept(before)));
    } else {
        // The pass crossed an hour boundary: either cutoff is right.
        let first = std::panic::catch_unwind(|| assert_summary(&got, &expected(&kept(before))));
        if first.is_err() {
            assert_summary(&got, &expected(&kept(after)));
        }
    }
    assert_eq!(status(&server).await["cold_files"], 0);
    assert_eq!(parquet_files(&data_dir.join("cold")), 0);
}

/// Runs `tidemark tier run` offline on `data_dir`, stopping at `step`, then SIGKILLs it.
fn run_and_kill_at(data_dir: &Path, step: &str) {
    let mut child = storage_binary(data_dir)
        .args(["tier", "run", "--data-dir"])
        .arg(data_dir)
        .args([
            "--tier-pause-at",
            step,
            "--tier-grace",
            "0s",
            "--log-level",
            "info",
        ])
        .env_remove("TIDEMARK_CONFIG")
        .env_remove("TIDEMARK_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tier run");
    let stderr = child.stderr.take().expect("stderr");
    let mut paused = false;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        eprintln!("[tier run] {line}");
        if line.contains("\"paused\"") {
            paused = true;
            break;
        }
    }
    assert!(paused, "tier run never reached {step}");
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_each_step_of_a_pass_loses_and_duplicates_nothing() {
    for step in ["after_put", "after_register", "mid_clear"] {
        let scratch = tempfile::tempdir().unwrap();
        let data_dir = scratch.path().join("data");
        let server = TestServer::start_in(&data_dir, &quiet_tiering());
        let base = base();
        let points = dataset(-10..-8, base);
        write(&server, &points).await;
        let want = expected(&points);
        server.terminate();

        run_and_kill_at(&data_dir, step);
        let server = TestServer::start_in(&data_dir, &quiet_tiering());
        assert_summary(&summary(&server).await, &want);
        let events = tier_run(&server).await;
        let orphans = events
            .iter()
            .filter(|event| event["event"] == "deleted" && event["orphan"] == true)
            .count();
        if step == "after_put" {
            assert!(
                orphans >= 1,
                "{step}: the unregistered object is collected: {events:?}"
            );
        }
        assert_summary(&summary(&server).await, &want);
        let tiers = status(&server).await;
        assert_eq!(tiers["cold_files"], 2, "{step}: {tiers}");
        assert_eq!(tiers["hot_keys"], 0, "{step}: {tiers}");
        assert_eq!(parquet_files(&data_dir.join("cold")), 2, "{step}");
        server.terminate();
    }
}

/// Starts moto's S3 server on a free port; returns the child and the endpoint.
fn start_moto(python: &Path) -> Option<(std::process::Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let moto = python.with_file_name("moto_server");
    let child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    Some((child, endpoint))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiering_to_an_s3_compatible_server() {
    let Some(python) = clients::python() else {
        return;
    };
    let Some((mut moto, endpoint)) = start_moto(&python) else {
        clients::unavailable::<()>("moto_server", "it did not start");
        return;
    };
    let client = reqwest::Client::new();
    let mut created = false;
    for _ in 0..100 {
        if let Ok(response) = client.put(format!("{endpoint}/tidemark")).send().await {
            created = response.status().is_success();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(created, "moto created the bucket");
    let scratch = tempfile::tempdir().unwrap();
    let mut args = quiet_tiering();
    let store_args = [
        "--object-store",
        "s3://tidemark/cold",
        "--s3-endpoint",
        &endpoint,
        "--s3-allow-http",
        "true",
        "--s3-access-key-id",
        "test",
        "--s3-secret-access-key",
        "test",
        "--s3-region",
        "us-east-1",
    ];
    args.extend(store_args.iter().map(|arg| &**arg));
    let server = TestServer::start_in(&scratch.path().join("data"), &args);
    let base = base();
    let mut points = dataset(-12..-9, base);
    points.extend(dataset(-1..0, base));
    write(&server, &points).await;
    let want = expected(&points);
    let events = tier_run(&server).await;
    assert_eq!(
        events
            .iter()
            .filter(|event| event["event"] == "partition")
            .count(),
        3
    );
    assert_summary(&summary(&server).await, &want);
    let (_, body) = server.get_json("/api/v0/tier/status", &[], None).await;
    assert_eq!(body["object_store"], "s3://tidemark/cold", "{body}");
    let listing = client
        .get(format!("{endpoint}/tidemark?list-type=2&prefix=cold/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(listing.matches(".parquet</Key>").count(), 3, "{listing}");
    assert!(
        !scratch.path().join("data/cold").exists(),
        "nothing went to the local store"
    );
    drop(server);
    let _ = moto.kill();
    let _ = moto.wait();
}

fn set_retention(data_dir: &Path, args: &[&str]) -> String {
    let output = storage_binary(data_dir)
        .args(["retention", "--db", "tiers", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("TIDEMARK_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_retention_overrides_the_server_default() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let server = TestServer::start_in(&data_dir, &quiet_tiering());
    let points = dataset(-10..-8, base());
    write(&server, &points).await;
    server.terminate();

    // Kept hot for 30 days: the default 7-day pass moves nothing.
    let shown = set_retention(&data_dir, &["--hot", "30d"]);
    assert!(shown.contains("hot: 30.00 days"), "{shown}");
    let server = TestServer::start_in(&data_dir, &quiet_tiering());
    tier_run(&server).await;
    assert_eq!(status(&server).await["cold_files"], 0);
    server.terminate();

    // Back to the server's default: both days move, and nothing changes for queries.
    let shown = set_retention(&data_dir, &["--hot", "default"]);
    assert!(shown.contains("hot: server default"), "{shown}");
    let server = TestServer::start_in(&data_dir, &quiet_tiering());
    tier_run(&server).await;
    assert_eq!(status(&server).await["cold_files"], 2);
    assert_summary(&summary(&server).await, &expected(&points));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_endpoints_follow_the_token_rules() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let writer = crate::auth::create_token(&data_dir, "tiers", &["--write"]);
    let reader = crate::auth::create_token(&data_dir, "tiers", &["--read"]);
    let other = crate::auth::create_token(&data_dir, "other", &["--write"]);
    let admin = crate::auth::create_token(&data_dir, "", &[]);
    let server = TestServer::start_in(&data_dir, &quiet_tiering());
    let client = reqwest::Client::new();
    let bearer = |token: &str| format!("Bearer {token}");
    for (token, db) in [(&writer, "tiers"), (&other, "other")] {
        let (status, body) = server
            .post(
                &format!("/api/v2/write?bucket={db}"),
                "m v=1 1\n",
                &[("Authorization", &bearer(token))],
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    // No token: 401 on both endpoints, nothing run.
    let response = client
        .post(server.url("/api/v0/tier/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains("token is required"));
    let (status, body) = server.get_json("/api/v0/tier/status", &[], None).await;
    assert_eq!(status, 401, "{body}");
    // A tenant token, read or write, sees its own database only.
    for token in [&reader, &writer] {
        let (status, body) = server
            .get_json("/api/v0/tier/status", &[], Some(token))
            .await;
        assert_eq!(status, 200, "{body}");
        let names: Vec<&str> = body["databases"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|db| db["database"].as_str())
            .collect();
        assert_eq!(names, vec!["tiers"]);
    }
    // A pass moves every database: a tenant token may not start one.
    let response = client
        .post(server.url("/api/v0/tier/run"))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("admin token"));
    // An admin token may, and sees every database.
    let response = client
        .post(server.url("/api/v0/tier/run"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("\"done\""));
    let (status, body) = server
        .get_json("/api/v0/tier/status", &[], Some(&admin))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["databases"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
}
