//! Starting, answering health checks, refusing unsafe configurations, stopping cleanly.

use crate::TestServer;
use crate::harness::{binary, storage_binary};

#[tokio::test]
async fn serves_health_from_a_fresh_data_dir() {
    let server = TestServer::start();
    let response = reqwest::get(server.url("/health"))
        .await
        .expect("GET /health");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json body");
    assert_eq!(body["status"], "pass");
    assert_eq!(body["name"], "tidemark");
    assert_eq!(
        server.data_dir().join("kv").is_dir(),
        !crate::harness::on_fdb(),
        "embedded storage lives in the data dir; FDB's does not"
    );
    let missing = reqwest::get(server.url("/no-such-route")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn stops_on_sigterm_and_restarts_on_the_same_data() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let server = TestServer::start_in(&data_dir, &[]);
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
    let status = server.terminate();
    assert!(status.success(), "graceful exit, got {status}");
    let again = TestServer::start_in(&data_dir, &[]);
    assert_eq!(
        reqwest::get(again.url("/health")).await.unwrap().status(),
        200
    );
}

#[test]
fn refuses_to_listen_beyond_loopback_without_auth() {
    let scratch = tempfile::tempdir().unwrap();
    let output = storage_binary(scratch.path())
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(scratch.path())
        .output()
        .expect("run tidemark");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(!scratch.path().join("kv").exists(), "nothing was opened");
}

#[test]
fn configuration_precedence_is_flag_then_env_then_file_then_default() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("tidemark.toml");
    std::fs::write(
        &file,
        "version = 1\ndata_dir = \"/from/file\"\nlisten = \"127.0.0.1:7001\"\nlog_level = \"warn\"\n",
    )
    .unwrap();
    let output = binary()
        .args([
            "serve",
            "--print-config",
            "--listen",
            "127.0.0.1:7003",
            "--config",
        ])
        .arg(&file)
        .env("TIDEMARK_LISTEN", "127.0.0.1:7002")
        .env("TIDEMARK_DATA_DIR", "/from/env")
        .output()
        .expect("run tidemark");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.contains("listen = \"127.0.0.1:7003\""),
        "flag wins:\n{printed}"
    );
    assert!(
        printed.contains("data_dir = \"/from/env\""),
        "env beats file:\n{printed}"
    );
    assert!(
        printed.contains("log_level = \"warn\""),
        "file beats default:\n{printed}"
    );
    assert!(
        printed.contains("backend = \"embedded\""),
        "default applies:\n{printed}"
    );
}

#[test]
fn a_bad_config_file_names_the_problem() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("tidemark.toml");
    std::fs::write(&file, "listen = \"not an address\"\n").unwrap();
    let output = binary()
        .args(["serve", "--print-config", "--config"])
        .arg(&file)
        .output()
        .expect("run tidemark");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid config file") && stderr.contains("listen"),
        "{stderr}"
    );
}
