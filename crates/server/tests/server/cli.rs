//! The command line as a user meets it (issue 17): durations that need a unit, `tidemark write`
//! reporting refused batches by the file's line numbers and resuming, client commands finding
//! the server from the configuration, `count` explaining a series key, and output into a closed
//! pipe.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::TestServer;
use crate::harness::binary;

/// The binary for a client command, with no server address or configuration from the
/// environment the tests run in.
fn client() -> Command {
    let mut command = binary();
    command
        .env_remove("TIDEMARK_URL")
        .env_remove("TIDEMARK_CONFIG")
        .env_remove("TIDEMARK_TOKEN");
    command
}

fn run(command: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run tidemark");
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Flags, environment, and what the refusal must say.
type DurationCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn durations_without_a_unit_are_refused_from_flags_env_and_file() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("tidemark.toml");
    std::fs::write(&file, "version = 1\n[tiering]\ngrace = \"5\"\n").unwrap();
    let cases: [DurationCase<'_>; 4] = [
        (
            &["--hot-retention", "7"],
            &[],
            "invalid tiering.hot_retention: 7: a duration needs a unit, such as 7d or 7s",
        ),
        (
            &[],
            &[("TIDEMARK_TIER_INTERVAL", "10")],
            "invalid tiering.interval: 10: a duration needs a unit",
        ),
        (
            &["--http-idle-timeout", "360"],
            &[],
            "invalid http.idle_timeout: 360: a duration needs a unit",
        ),
        (
            &["--config", file.to_str().unwrap()],
            &[],
            "invalid tiering.grace: 5: a duration needs a unit",
        ),
    ];
    for (flags, env, expected) in cases {
        let (ok, _, stderr) = run(client()
            .args(["serve", "--print-config"])
            .args(flags)
            .envs(env.iter().copied()));
        assert!(
            !ok && stderr.contains(expected),
            "{flags:?} {env:?}: {stderr}"
        );
    }
    // Kept hot longer than kept at all: refused, whatever the units.
    let (ok, _, stderr) = run(client().args([
        "serve",
        "--print-config",
        "--hot-retention",
        "720h",
        "--retention",
        "7d",
    ]));
    assert!(
        !ok && stderr.contains("hot retention 30d is longer than the total retention 7d"),
        "{stderr}"
    );
    // A database's own retention goes through the same parser.
    let (ok, _, stderr) = run(crate::harness::storage_binary(&scratch.path().join("data"))
        .args(["retention", "--db", "x", "--hot", "7"])
        .env_remove("TIDEMARK_CONFIG"));
    assert!(
        !ok && stderr.contains("7: a duration needs a unit"),
        "{stderr}"
    );
}

/// Twelve points of `cpu,host=a`, one per line, with line `bad` (1-based) replaced by a line
/// missing its field value.
fn numbered_lines(bad: Option<usize>) -> String {
    (1..=12)
        .map(|line| match bad {
            Some(bad) if bad == line => "cpu,host=a v=\n".to_owned(),
            _ => format!("cpu,host=a v={line} {line}\n"),
        })
        .collect()
}

async fn stored(server: &TestServer, db: &str) -> u64 {
    let (status, body) = server.points(db, "cpu,host=a", None).await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().unwrap()
}

fn write(server: &TestServer, file: &Path, db: &str, extra: &[&str]) -> (bool, String) {
    let (ok, _, stderr) = run(client()
        .arg("write")
        .arg(file)
        .args(["--db", db, "--batch-lines", "4", "--url", &server.url("")])
        .args(extra));
    (ok, stderr)
}

#[tokio::test]
async fn write_reports_refused_batches_by_file_line_and_resumes() {
    let server = TestServer::start();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("data.lp");
    std::fs::write(&file, numbered_lines(Some(6))).unwrap();

    // By default the import goes on past the refused batch and fails at the end.
    let (ok, stderr) = write(&server, &file, "on", &[]);
    assert!(!ok, "{stderr}");
    for expected in [
        "lines 5-8 refused: 400 Bad Request: partial write of line protocol occurred",
        "line 6: missing field value for `v`",
        "wrote 11 lines in 3 batch(es); 1 batch(es) refused",
        "--db on --batch-lines 4 --url",
        "--skip-lines 4 --max-lines 4",
        "Error: 1 of 3 batches were refused",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in:\n{stderr}");
    }
    assert_eq!(stored(&server, "on").await, 11);

    // `--stop-on-error` stops there and names the resume point; the fixed file resumes.
    let (ok, stderr) = write(&server, &file, "stop", &["--stop-on-error"]);
    assert!(!ok, "{stderr}");
    for expected in [
        "wrote 7 lines in 2 batch(es); 1 batch(es) refused",
        "the import stopped at line 5: stopped at the first refused batch (--stop-on-error)",
        "--skip-lines 4 --stop-on-error",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in:\n{stderr}");
    }
    assert_eq!(stored(&server, "stop").await, 7);
    std::fs::write(&file, numbered_lines(None)).unwrap();
    let (ok, stderr) = write(&server, &file, "stop", &["--skip-lines", "4"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("wrote 8 lines in 2 batch(es); 0 batch(es) refused"),
        "{stderr}"
    );
    assert_eq!(stored(&server, "stop").await, 12);

    // Gzip content is read the same way.
    let gzipped = scratch.path().join("data.lp.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(numbered_lines(None).as_bytes()).unwrap();
    std::fs::write(&gzipped, encoder.finish().unwrap()).unwrap();
    let (ok, stderr) = write(&server, &gzipped, "gz", &[]);
    assert!(
        ok && stderr.contains("wrote 12 lines in 3 batch(es)"),
        "{stderr}"
    );
    assert_eq!(stored(&server, "gz").await, 12);
}

#[tokio::test]
async fn client_commands_find_the_server_from_url_env_or_config_file() {
    let server = TestServer::start();
    server.post("/write?db=where", "m v=1 1", &[]).await;
    let scratch = tempfile::tempdir().unwrap();
    let port = server.addr().port();
    let config = |listen: &str| {
        let path = scratch
            .path()
            .join(format!("{}.toml", listen.replace([':', '.'], "_")));
        std::fs::write(&path, format!("version = 1\nlisten = \"{listen}\"\n")).unwrap();
        path
    };
    let here = config(&format!("127.0.0.1:{port}"));
    let anywhere = config(&format!("0.0.0.0:{port}"));
    let nowhere = config("127.0.0.1:9");
    // `count` with `extra` flags and `env`.
    let count = |extra: &[&std::ffi::OsStr], env: &[(&str, &std::ffi::OsStr)]| {
        run(client()
            .args(["count", "--db", "where", "--series", "m"])
            .args(extra)
            .envs(env.iter().copied()))
    };
    let flag = std::ffi::OsStr::new;
    // The file `serve` reads (an unspecified address means this machine).
    for file in [&here, &anywhere] {
        let (ok, stdout, stderr) = count(&[flag("--config"), file.as_os_str()], &[]);
        assert!(ok && stdout.trim() == "1", "{stderr}");
        let (ok, stdout, stderr) = count(&[], &[("TIDEMARK_CONFIG", file.as_os_str())]);
        assert!(ok && stdout.trim() == "1", "{stderr}");
    }
    // TIDEMARK_URL over the file, --url over both.
    let url = server.url("");
    let (ok, stdout, stderr) = count(
        &[flag("--config"), nowhere.as_os_str()],
        &[("TIDEMARK_URL", flag(&url))],
    );
    assert!(ok && stdout.trim() == "1", "{stderr}");
    let (ok, stdout, stderr) = count(
        &[flag("--url"), flag(&url)],
        &[("TIDEMARK_URL", flag("http://127.0.0.1:9"))],
    );
    assert!(ok && stdout.trim() == "1", "{stderr}");
    let (ok, _, stderr) = count(&[flag("--config"), nowhere.as_os_str()], &[]);
    assert!(!ok && stderr.contains("127.0.0.1:9"), "{stderr}");
}

#[tokio::test]
async fn count_explains_that_a_series_needs_all_of_its_tags() {
    let server = TestServer::start();
    server
        .post(
            "/write?db=c",
            "cpu,host=a,region=eu v=1 1\ncpu,host=b,region=eu v=2 2",
            &[],
        )
        .await;
    let count = |series: &str| {
        run(client().args([
            "count",
            "--db",
            "c",
            "--url",
            &server.url(""),
            "--series",
            series,
        ]))
    };
    let (ok, _, stderr) = count("cpu");
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "no series \"cpu\": a series is a measurement with all of its tags, e.g. \
             `cpu,host=...,region=...` (measurement `cpu` has tag keys host, region)"
        ),
        "{stderr}"
    );
    let (ok, _, stderr) = count("cpu,host=a");
    assert!(!ok && stderr.contains("tag keys host, region"), "{stderr}");
    let (ok, stdout, stderr) = count("cpu,host=a,region=eu");
    assert!(ok && stdout.trim() == "1", "{stderr}");
    // A whole key that was never written is simply empty.
    let (ok, stdout, stderr) = count("cpu,host=c,region=eu");
    assert!(ok && stdout.trim() == "0", "{stderr}");
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly() {
    let server = TestServer::start();
    let lines: String = (0..2_000)
        .map(|i| format!("cpu,host=a v={i} {i}\n"))
        .collect();
    assert_eq!(server.post("/write?db=p", lines, &[]).await.0, 204);
    let url = server.url("");
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "query",
            "--db",
            "p",
            "--format",
            "parquet",
            "SELECT * FROM cpu",
        ],
        vec!["query", "--db", "p", "--format", "csv", "SELECT * FROM cpu"],
        vec!["query", "--db", "p", "SELECT * FROM cpu"],
        vec!["dump", "--db", "p", "--series", "cpu,host=a"],
    ];
    for args in commands {
        // The reader (`head`) is gone before the first byte arrives.
        let mut child = client()
            .args(&args)
            .args(["--url", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidemark");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait for tidemark");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
