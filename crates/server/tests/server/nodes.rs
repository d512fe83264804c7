//! Two `tidemark serve` processes over one FoundationDB cluster and one object store: what one
//! acknowledges the other reads at once (points, new series, new columns, new databases), a
//! token created once works on both, and a tiering pass runs on one node at a time, with a
//! node killed mid-pass losing and duplicating nothing.
//!
//! Only on FDB (`TIDEMARK_TEST_STORAGE=fdb`): the embedded store belongs to one process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::TestServer;
use crate::harness::{on_fdb, storage_binary, storage_root};
use crate::tiering::{
    assert_summary, base, dataset, expected, quiet_tiering, status, summary, tier_run, write,
};

fn skipped(case: &str) -> bool {
    if !on_fdb() {
        eprintln!("NOTICE: two nodes need TIDEMARK_TEST_STORAGE=fdb; skipping {case}");
    }
    !on_fdb()
}

/// Two nodes sharing a root subspace and an object store, each with its own data directory.
struct Pair {
    a: TestServer,
    b: TestServer,
    root: String,
    dir_a: PathBuf,
    _scratch: tempfile::TempDir,
}

fn start_pair(extra_a: &[&str], extra_b: &[&str]) -> Pair {
    let scratch = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (scratch.path().join("a"), scratch.path().join("b"));
    let cold = scratch.path().join("cold");
    std::fs::create_dir_all(&cold).unwrap();
    let root = storage_root(scratch.path());
    let cold_text = cold.to_str().unwrap();
    let shared = ["--storage-root", root.as_str(), "--object-store", cold_text];
    let flags = |extra: &[&str]| -> Vec<String> {
        shared
            .iter()
            .chain(extra)
            .map(|flag| (*flag).to_owned())
            .collect()
    };
    let (flags_a, flags_b) = (flags(extra_a), flags(extra_b));
    let a = TestServer::start_in(&dir_a, &as_strs(&flags_a));
    let b = TestServer::start_in(&dir_b, &as_strs(&flags_b));
    Pair {
        a,
        b,
        root,
        dir_a,
        _scratch: scratch,
    }
}

fn as_strs(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}

fn create_token(data_dir: &Path, root: &str, database: &str) -> String {
    let output = storage_binary(data_dir)
        .args(["token", "create", "--db", database, "--storage-root", root])
        .output()
        .expect("run tidemark token create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn count(server: &TestServer, sql: &str, token: Option<&str>) -> i64 {
    let (status, rows) = server.sql(Some("shared"), sql, token).await;
    assert_eq!(status, 200, "{rows}");
    rows[0]["n"].as_i64().unwrap_or_else(|| panic!("{rows}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_node_acknowledges_the_other_reads_at_once() {
    if skipped("what_one_node_acknowledges_the_other_reads_at_once") {
        return;
    }
    let pair = start_pair(&[], &[]);
    let time = crate::tiering::now();
    // Each write through A, with a new series each time, is read through B right after its 204.
    for i in 0..20i64 {
        let line = format!("m,host=h{i:02} f1={i} {}", time + i);
        let (status, body) = pair.a.post("/api/v3/write_lp?db=shared", line, &[]).await;
        assert_eq!(status, 204, "{body}");
        let sql = "SELECT count(*) AS n FROM m";
        assert_eq!(count(&pair.b, sql, None).await, i + 1, "write {i}");
    }
    let promql = reqwest::Client::new()
        .post(pair.b.url("/api/v1/query"))
        .form(&[("db", "shared"), ("query", "count(m_f1)")])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(promql["data"]["result"][0]["value"][1], "20", "{promql}");

    // A new column and a new table made through B: A's catalog sees them at once.
    let lines = format!("m,host=h00 f2=7 {}\nother,host=x v=1 {time}", time + 100);
    let (status, body) = pair.b.post("/api/v3/write_lp?db=shared", lines, &[]).await;
    assert_eq!(status, 204, "{body}");
    let (status, rows) = pair
        .a
        .sql(
            Some("shared"),
            "SELECT f2 FROM m WHERE f2 IS NOT NULL",
            None,
        )
        .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows, serde_json::json!([{"f2": 7.0}]));
    assert_eq!(
        count(&pair.a, "SELECT count(*) AS n FROM other", None).await,
        1
    );

    // A token created once (offline, on the shared root) works on both nodes at once. Whether
    // a node requires tokens at all is re-read at most every 2 s: until then, a node that saw
    // none may still serve requests without one.
    let token = create_token(&pair.dir_a, &pair.root, "shared");
    for server in [&pair.a, &pair.b] {
        let auth = format!("Bearer {token}");
        let (status, body) = server
            .post(
                "/api/v3/write_lp?db=shared",
                format!("m,host=tok f1=1 {}", time + 200),
                &[("Authorization", auth.as_str())],
            )
            .await;
        assert_eq!(status, 204, "{body}");
        let started = Instant::now();
        loop {
            let (status, _) = server.sql(Some("shared"), "SELECT 1", None).await;
            if status == 401 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "tokens required within the 2 s bound (got {status})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            count(&pair.b, "SELECT count(*) AS n FROM m", Some(&token)).await,
            22
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tiering_pass_at_a_time_and_a_node_killed_mid_pass_loses_nothing() {
    if skipped("one_tiering_pass_at_a_time_and_a_node_killed_mid_pass_loses_nothing") {
        return;
    }
    let mut paused = quiet_tiering();
    paused.extend(["--tier-pause-at", "after_register"]);
    let pair = start_pair(&paused, &quiet_tiering());
    let points = dataset(-10..-8, base());
    write(&pair.a, &points).await;
    let want = expected(&points);
    assert_summary(&summary(&pair.b).await, &want);

    // A's pass registers its Parquet files, then stops (the test hook) holding the lease.
    let mut stream = reqwest::Client::new()
        .post(pair.a.url("/api/v0/tier/run"))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while !seen.contains("\"paused\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(60), stream.chunk())
            .await
            .expect("A's pass reaches the pause")
            .unwrap()
            .expect("the stream goes on until the pause");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    // B may not start a pass meanwhile, and its reads are exact while A's files are registered
    // and the same rows are still hot.
    let (code, body) = pair.b.post("/api/v0/tier/run", "", &[]).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("lease"), "{body}");
    assert_summary(&summary(&pair.b).await, &want);

    // A dies mid-pass. Its lease lapses within a minute; then B's pass finishes the job.
    let Pair { a, b, .. } = pair;
    drop(stream);
    drop(a);
    assert_summary(&summary(&b).await, &want);
    tier_run(&b).await;
    assert_summary(&summary(&b).await, &want);
    let tiers = status(&b).await;
    assert_eq!(tiers["cold_files"], 2, "{tiers}");
    assert_eq!(tiers["hot_keys"], 0, "{tiers}");
}
