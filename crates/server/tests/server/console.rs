//! The web console against the real binary: its page and assets through the listener, its JSON
//! endpoints (databases, cardinality from the index) with and without tokens, and a real
//! browser: Debian's chromium, driven headless by playwright-core (from npm, pinned by
//! `tests/console/package-lock.json`), through every page (`tests/console/console.test.mjs`),
//! saving screenshots under `target/console-screenshots/`.
//!
//! Without node, npm or chromium the browser test is skipped with a NOTICE, unless
//! `TIDEMARK_REQUIRE_CLIENTS=1` (as in CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestServer;
use crate::auth::create_token;
use crate::clients::unavailable;

/// The longest the browser run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `cpu` (hosts a, b, c; regions eu, us; fields usage, idle) and `mem` (host a) every 10 s
/// over the last hour.
fn last_hour() -> String {
    let start = now_seconds() - 3600;
    let mut lines = String::new();
    for step in 0..360i64 {
        let time = (start + step * 10) * 1_000_000_000;
        for (host, region, base) in [("a", "eu", 40.0), ("b", "us", 60.0), ("c", "eu", 20.0)] {
            let usage = base + 15.0 * ((step as f64) / 20.0 + base).sin();
            let idle = step % 10;
            lines.push_str(&format!(
                "cpu,host={host},region={region} usage={usage:.2},idle={idle}i {time}\n"
            ));
        }
        lines.push_str(&format!("mem,host=a used={} {time}\n", 1_000_000 + step));
    }
    lines
}

async fn write(server: &TestServer, db: &str, token: Option<&str>) {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|value| vec![("authorization", value)])
        .unwrap_or_default();
    let (status, body) = server
        .post(&format!("/api/v3/write_lp?db={db}"), last_hour(), &headers)
        .await;
    assert_eq!(status, 204, "{body}");
}

async fn get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_console_is_served_through_the_listener() {
    let server = TestServer::start();
    let page = get(&server, "/", &[]).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert!(header(&page, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let etag = header(&page, "etag");
    assert!(page.text().await.unwrap().contains("/console/js/app.js"));

    let unchanged = get(&server, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(unchanged.status(), 304);
    let script = get(&server, "/console/js/app.js", &[]).await;
    assert_eq!(script.status(), 200);
    assert_eq!(
        header(&script, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let head = reqwest::Client::new()
        .head(server.url("/console/vendor/uPlot.min.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-type"), "text/css; charset=utf-8");
    for missing in ["/console/nope.js", "/console/vendor.sh"] {
        let response = get(&server, missing, &[]).await;
        assert_eq!(response.status(), 404, "{missing}");
        assert!(response.headers().contains_key("content-security-policy"));
    }
    // The loopback guard of a server without tokens covers the console like every route.
    let rebound = get(&server, "/", &[("host", "rebound.example:8181")]).await;
    assert_eq!(rebound.status(), 403);
}

#[tokio::test]
async fn cardinality_is_counted_from_the_index() {
    let server = TestServer::start();
    write(&server, "demo", None).await;
    let (status, body) = server
        .get_json("/api/v0/console/databases", &[], None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["databases"], serde_json::json!(["demo"]));

    let (status, body) = server
        .get_json("/api/v0/console/cardinality", &[("db", "demo")], None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["measurements"],
        serde_json::json!([
            {"measurement": "cpu", "series": 3},
            {"measurement": "mem", "series": 1},
        ])
    );
    assert_eq!(body["truncated"], false);

    let query = [("db", "demo"), ("measurement", "cpu"), ("top", "1")];
    let (status, body) = server
        .get_json("/api/v0/console/cardinality", &query, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["series"], 3);
    assert_eq!(
        body["tags"],
        serde_json::json!([
            {"key": "host", "values": 3, "series": 3, "top": [{"value": "a", "series": 1}]},
            {"key": "region", "values": 2, "series": 3, "top": [{"value": "eu", "series": 2}]},
        ])
    );

    for (query, expected) in [
        (vec![("db", "nope")], 404),
        (vec![("db", "demo"), ("measurement", "nope")], 404),
        (vec![], 400),
        (vec![("db", "demo"), ("top", "x")], 400),
    ] {
        let (status, body) = server
            .get_json("/api/v0/console/cardinality", &query, None)
            .await;
        assert_eq!(status, expected, "{query:?}: {body}");
    }
}

#[tokio::test]
async fn the_console_endpoints_check_tokens() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let alpha = create_token(&data_dir, "alpha", &[]);
    let beta = create_token(&data_dir, "beta", &[]);
    let admin = create_token(&data_dir, "", &[]);
    let server = TestServer::start_in(&data_dir, &[]);
    write(&server, "alpha", Some(&alpha)).await;
    write(&server, "beta", Some(&beta)).await;

    // The page itself holds no data and needs no token.
    assert_eq!(get(&server, "/", &[]).await.status(), 200);

    let databases = "/api/v0/console/databases";
    assert_eq!(server.get_json(databases, &[], None).await.0, 401);
    let (status, body) = server.get_json(databases, &[], Some(&alpha)).await;
    assert_eq!(status, 200);
    assert_eq!(body["databases"], serde_json::json!(["alpha"]));
    let (_, body) = server.get_json(databases, &[], Some(&admin)).await;
    assert_eq!(body["databases"], serde_json::json!(["alpha", "beta"]));

    let cardinality = "/api/v0/console/cardinality";
    let of_beta = [("db", "beta")];
    assert_eq!(server.get_json(cardinality, &of_beta, None).await.0, 401);
    assert_eq!(
        server.get_json(cardinality, &of_beta, Some(&alpha)).await.0,
        403
    );
    let (status, body) = server.get_json(cardinality, &[], Some(&beta)).await;
    assert_eq!(status, 200, "a tenant token's own database: {body}");
    assert_eq!(body["database"], "beta");
}

/// The node_modules of the browser test under the target directory, installed with `npm ci`
/// from the committed lock file when it changed; the script is copied beside them (an ES
/// module resolves its imports from its own folder).
fn browser_test_dir() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-browser");
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    for file in ["package.json", "package-lock.json", "console.test.mjs"] {
        std::fs::copy(source.join(file), dir.join(file))
            .map_err(|error| format!("copy {file}: {error}"))?;
    }
    let lock = std::fs::read_to_string(source.join("package-lock.json"))
        .map_err(|error| error.to_string())?;
    let ready = dir.join(".installed-lock");
    if std::fs::read_to_string(&ready).is_ok_and(|installed| installed == lock) {
        return Ok(dir);
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(&dir)
        .output()
        .map_err(|error| format!("npm: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "npm ci failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&ready, lock).map_err(|error| error.to_string())?;
    Ok(dir)
}

/// Debian's chromium, or the browser at `CHROMIUM`.
fn chromium() -> Result<PathBuf, String> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!("nothing at {}", path.display()))
    }
}

fn screenshots_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    target.join("console-screenshots")
}

#[tokio::test]
async fn the_console_works_in_a_real_browser() {
    let chromium = match chromium() {
        Ok(path) => path,
        Err(why) => return unavailable("chromium (apt install chromium)", &why).unwrap_or(()),
    };
    if Command::new("node").arg("--version").output().is_err() {
        return unavailable("node", "not on PATH").unwrap_or(());
    }
    let dir = match browser_test_dir() {
        Ok(dir) => dir,
        Err(why) => return unavailable("playwright-core from npm", &why).unwrap_or(()),
    };

    let open = TestServer::start();
    write(&open, "demo", None).await;
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let token = create_token(&data_dir, "demo", &[]);
    let auth = TestServer::start_in(&data_dir, &[]);
    write(&auth, "demo", Some(&token)).await;

    let shots = screenshots_dir();
    let mut child = Command::new("node")
        .arg(dir.join("console.test.mjs"))
        .args(["--open", &open.url("")])
        .args(["--auth", &auth.url("")])
        .args(["--token", &token])
        .args(["--db", "demo"])
        .arg("--shots")
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let output = child.wait_with_output().expect("node output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.is_some_and(|status| status.success()),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    eprintln!("browser test passed; screenshots in {}", shots.display());
}
