//! A real InfluxDB 1.x (Debian's `influxd`) on loopback, the InfluxQL oracle.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::clients;
use crate::harness::free_port;

pub(crate) struct InfluxDb {
    child: Child,
    pub(crate) url: String,
    dir: tempfile::TempDir,
}

impl Drop for InfluxDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn influxd_binary() -> Option<PathBuf> {
    [
        std::env::var_os("TIDEMARK_INFLUXD").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/influxd")),
    ]
    .into_iter()
    .flatten()
    .find(|path| path.exists())
}

impl InfluxDb {
    /// Starts `influxd` with its data in a temporary directory; `None` (or a failure under
    /// `TIDEMARK_REQUIRE_CLIENTS=1`) when the binary is missing.
    pub(crate) async fn start() -> Option<Self> {
        let Some(binary) = influxd_binary() else {
            return clients::unavailable(
                "influxd",
                "no /usr/bin/influxd (Debian package `influxdb`)",
            );
        };
        let dir = tempfile::tempdir().expect("influxdb dir");
        let (http, rpc) = (free_port(), free_port());
        let root = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{root}/meta\"\n\
             [data]\n  dir = \"{root}/data\"\n  wal-dir = \"{root}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [continuous_queries]\n  enabled = false\n\
             [logging]\n  level = \"warn\"\n"
        );
        let config_path = dir.path().join("influxdb.conf");
        std::fs::write(&config_path, config).expect("write influxdb.conf");
        let log = std::fs::File::create(dir.path().join("influxd.log")).expect("log file");
        let child = Command::new(binary)
            .arg("-config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn influxd");
        let influx = Self {
            child,
            url: format!("http://127.0.0.1:{http}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ping = reqwest::get(format!("{}/ping", influx.url)).await;
            if ping.is_ok_and(|response| response.status().is_success()) {
                return Some(influx);
            }
            assert!(
                Instant::now() < deadline,
                "influxd did not start: {}",
                influx.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// influxd's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("influxd.log")).unwrap_or_default()
    }
}

/// Runs `q` against a 1.x-compatible `/query` at `base` (GET, or POST with a form body) and
/// returns the status and the body.
pub(crate) async fn query(
    client: &reqwest::Client,
    base: &str,
    params: &[(&str, &str)],
    post: bool,
) -> (u16, String) {
    let url = format!("{base}/query");
    let request = if post {
        client.post(url).form(params)
    } else {
        client.get(url).query(params)
    };
    let response = request.send().await.expect("query");
    let status = response.status().as_u16();
    (status, response.text().await.expect("query body"))
}
