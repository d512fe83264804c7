//! Starts the real `tidemark` binary on an ephemeral loopback port with a scratch data directory.
//!
//! With `TIDEMARK_TEST_STORAGE=fdb` every server and every storage command runs on the
//! FoundationDB cluster of `FDB_CLUSTER_FILE`, with the binary at `TIDEMARK_TEST_BINARY` (one
//! built with `--features fdb`); each data directory gets its own root subspace in the shared
//! cluster, so cases stay apart and a restart on the same directory finds its data.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `tidemark serve`.
pub(crate) struct TestServer {
    child: Child,
    addr: SocketAddr,
    data_dir: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

/// The binary under test: this build's, or `TIDEMARK_TEST_BINARY`.
fn binary_path() -> PathBuf {
    std::env::var_os("TIDEMARK_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tidemark")))
}

/// The binary, for commands that do not open storage (`query`, `write`, `--help`).
pub(crate) fn binary() -> Command {
    Command::new(binary_path())
}

/// Whether this run serves from FoundationDB (`TIDEMARK_TEST_STORAGE=fdb`).
pub(crate) fn on_fdb() -> bool {
    std::env::var("TIDEMARK_TEST_STORAGE").as_deref() == Ok("fdb")
}

/// The binary, for a command working on the storage of `data_dir` (`serve`, `token`,
/// `compact`, `retention`, `tier` without `--url`): its data directory, and on FDB the
/// cluster and this directory's root subspace, go in through the environment.
pub(crate) fn storage_binary(data_dir: &Path) -> Command {
    let mut command = binary();
    storage_env(&mut command, data_dir);
    command
}

fn storage_env(command: &mut Command, data_dir: &Path) {
    command.env("TIDEMARK_DATA_DIR", data_dir);
    if on_fdb() {
        let cluster = std::env::var("FDB_CLUSTER_FILE")
            .expect("TIDEMARK_TEST_STORAGE=fdb needs FDB_CLUSTER_FILE");
        command
            .env("TIDEMARK_STORAGE", "fdb")
            .env("TIDEMARK_FDB_CLUSTER_FILE", cluster)
            .env("TIDEMARK_STORAGE_ROOT", storage_root(data_dir));
    }
}

/// The root subspace of `data_dir`'s data on a shared cluster: unique per directory (the
/// scratch directories are unique), the same for every process working on it.
pub(crate) fn storage_root(data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    format!("test-{:016x}", hasher.finish())
}

impl TestServer {
    /// Starts a server on a fresh data directory.
    pub(crate) fn start() -> Self {
        let scratch = tempfile::tempdir().expect("scratch dir");
        let data_dir = scratch.path().join("data");
        let mut server = Self::start_in(&data_dir, &[]);
        server._scratch = Some(scratch);
        server
    }

    /// Starts a server on `data_dir` (which may hold earlier data) with extra flags.
    pub(crate) fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(binary(), data_dir, extra)
    }

    /// Starts a server on a fresh data directory whose address space is capped at `bytes`
    /// (`prlimit --as`): an allocation that escaped every bound would abort it.
    pub(crate) fn start_capped(bytes: u64, extra: &[&str]) -> Self {
        let scratch = tempfile::tempdir().expect("scratch dir");
        let mut server = Self::start_capped_in(bytes, &scratch.path().join("data"), extra);
        server._scratch = Some(scratch);
        server
    }

    /// As [`Self::start_capped`], on `data_dir`.
    pub(crate) fn start_capped_in(bytes: u64, data_dir: &Path, extra: &[&str]) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--as={bytes}"))
            .arg("--")
            .arg(binary_path());
        Self::spawn(command, data_dir, extra)
    }

    fn spawn(mut command: Command, data_dir: &Path, extra: &[&str]) -> Self {
        storage_env(&mut command, data_dir);
        let mut child = command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-level",
                "info",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env_remove("TIDEMARK_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidemark");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = mpsc::channel();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("addr=").nth(1) {
                    let _ = sender.send(addr.trim().to_owned());
                }
                eprintln!("[tidemark] {line}");
            }
        });
        let addr = receiver
            .recv_timeout(STARTUP_TIMEOUT)
            .expect("server reported its listen address")
            .parse()
            .expect("socket address");
        Self {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
            _scratch: None,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// POSTs a body to a path (with query string) and returns status and body text.
    pub(crate) async fn post(
        &self,
        path_and_query: &str,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let mut request = reqwest::Client::new()
            .post(self.url(path_and_query))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// GETs a path with query parameters and an optional bearer token; returns the status and
    /// the body as JSON (or as a JSON string when it is not JSON).
    pub(crate) async fn get_json(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new().get(self.url(path)).query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Reads a series back through the read-back endpoint.
    pub(crate) async fn points(
        &self,
        db: &str,
        series: &str,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        self.get_json("/api/v0/points", &[("db", db), ("series", series)], token)
            .await
    }

    /// Runs SQL through `/api/v3/query_sql` (JSON rows).
    pub(crate) async fn sql(
        &self,
        db: Option<&str>,
        sql: &str,
        token: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut query = vec![("q", sql)];
        if let Some(db) = db {
            query.push(("db", db));
        }
        self.get_json("/api/v3/query_sql", &query, token).await
    }

    /// The listener's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("send SIGTERM");
        self.child.wait().expect("wait for tidemark")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on loopback, for the external servers the tests start.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// A small deterministic generator of test data (no `rand` in this crate's tests).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    /// The next value in [0, 1).
    pub(crate) fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
