//! Data built to break background passes, and object stores that are not ours.

use super::{Watchdog, start};
use crate::harness::storage_binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_partition_does_not_stop_tiering_for_the_others() {
    let server = start(&["--hot-retention", "1h", "--tier-interval", "1000h"]);
    let watch = Watchdog::start(&server, None);
    let day = 86_400_000_000_000i64;
    let old = chrono::Utc::now().timestamp_nanos_opt().unwrap() - 10 * day;
    let long_name = "m".repeat(300);
    let hostile = format!("{long_name} v=1 {old}\nedge v=1 -9223372036854775808\n");
    let (status, body) = server
        .post("/api/v3/write_lp?db=hostile", hostile, &[])
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .post("/api/v3/write_lp?db=other", format!("cpu v=1 {old}\n"), &[])
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server.post("/api/v0/tier/run", "", &[]).await;
    assert_eq!(status, 200, "{body}");
    let done: serde_json::Value = serde_json::from_str(body.lines().last().unwrap()).unwrap();
    assert_eq!(done["event"], "done", "{body}");
    assert_eq!(done["failures"], 0, "{body}");
    let (_, status_body) = server.get_json("/api/v0/tier/status", &[], None).await;
    for database in ["hostile", "other"] {
        let entry = status_body["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["database"] == database)
            .unwrap_or_else(|| panic!("{database} in {status_body}"));
        assert!(entry["cold_files"].as_u64().unwrap() >= 1, "{entry}");
    }
    // Everything is still readable, from the cold tier.
    let (status, rows) = server
        .sql(
            Some("hostile"),
            &format!("SELECT count(*) AS n FROM \"{long_name}\""),
            None,
        )
        .await;
    assert_eq!(
        (status, &rows[0]["n"]),
        (200, &serde_json::json!(1)),
        "{rows}"
    );
    watch.finish("background").await;
}

#[test]
fn an_object_store_holding_foreign_objects_or_the_data_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let foreign = scratch.path().join("shared");
    std::fs::create_dir_all(foreign.join("backups")).unwrap();
    std::fs::write(foreign.join("backups/db.tar"), b"precious").unwrap();
    for (store, expected) in [
        (foreign.clone(), "did not write"),
        (data_dir.clone(), "overlaps the data directory"),
    ] {
        let output = storage_binary(&data_dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .arg("--object-store")
            .arg(&store)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert_eq!(
        std::fs::read(foreign.join("backups/db.tar")).unwrap(),
        b"precious"
    );
}
