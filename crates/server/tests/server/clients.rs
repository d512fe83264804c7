//! External clients the tests drive: a Python virtual environment with pyarrow, the ADBC
//! Flight SQL driver, moto (an S3-compatible server) and the OpenTelemetry SDK with its
//! OTLP/HTTP exporter, created on first use under the target directory.
//!
//! When it cannot be created (no python3, no network to PyPI), tests that need it are skipped
//! with a message, unless `TIDEMARK_REQUIRE_CLIENTS=1` (as in CI) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Exact versions, as recorded in `docs/testing.md`.
const PYTHON_PACKAGES: [&str; 6] = [
    "pyarrow==26.0.1",
    "adbc-driver-manager==1.13.0",
    "adbc-driver-flightsql==1.13.0",
    "moto[server]==5.1.17",
    "opentelemetry-sdk==1.45.2",
    "opentelemetry-exporter-otlp-proto-http==1.45.2",
];

fn require_clients() -> bool {
    std::env::var("TIDEMARK_REQUIRE_CLIENTS").is_ok_and(|value| value == "1")
}

/// Skips (returns `None`) or fails, per `TIDEMARK_REQUIRE_CLIENTS`.
pub(crate) fn unavailable<T>(what: &str, why: &str) -> Option<T> {
    assert!(
        !require_clients(),
        "{what} is required (TIDEMARK_REQUIRE_CLIENTS=1) but unavailable: {why}"
    );
    eprintln!("NOTICE: {what} not available ({why}); skipping");
    None
}

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn create_environment(dir: &Path) -> Result<PathBuf, String> {
    let python = dir.join("bin/python");
    let ready = dir.join(".ready");
    if std::fs::read_to_string(&ready)
        .is_ok_and(|installed| installed == PYTHON_PACKAGES.join("\n"))
    {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(dir);
    run(Command::new("python3").arg("-m").arg("venv").arg(dir))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_PACKAGES))?;
    std::fs::write(&ready, PYTHON_PACKAGES.join("\n")).map_err(|error| error.to_string())?;
    Ok(python)
}

/// The Python interpreter of the client environment, if it exists or can be created.
pub(crate) fn python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-clients");
    match PYTHON.get_or_init(|| create_environment(&dir)) {
        Ok(python) => Some(python.clone()),
        Err(why) => unavailable("the Python clients (Flight SQL, S3, OpenTelemetry)", why),
    }
}

/// Runs `tests/clients/<script>` with `args`; panics with its output when it fails.
pub(crate) fn run_script(python: &Path, script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let output = Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
