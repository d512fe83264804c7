//! Shared pieces of the Prometheus tests: remote_write bodies, a real Prometheus server, and
//! Prometheus API calls.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use tidemark_ingest::remote_write::{
    LabelProto, MetricMetadataProto, SampleProto, TimeSeriesProto, WriteRequestProto,
};

use crate::clients;
use crate::harness::free_port;

/// One series to remote-write: labels (with `__name__`) and `(ms, value)` samples.
pub(crate) type SeriesData = (Vec<(String, String)>, Vec<(i64, f64)>);

/// A remote_write 1.0 body: snappy-compressed `WriteRequest`.
pub(crate) fn write_body(series: &[SeriesData], metadata: &[(&str, i32, &str)]) -> Vec<u8> {
    let request = WriteRequestProto {
        timeseries: series
            .iter()
            .map(|(labels, samples)| {
                let mut labels: Vec<LabelProto> = labels
                    .iter()
                    .map(|(name, value)| LabelProto {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect();
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                TimeSeriesProto {
                    labels,
                    samples: samples
                        .iter()
                        .map(|&(timestamp, value)| SampleProto { value, timestamp })
                        .collect(),
                    histograms: Vec::new(),
                }
            })
            .collect(),
        metadata: metadata
            .iter()
            .map(|(name, kind, help)| MetricMetadataProto {
                r#type: *kind,
                metric_family_name: (*name).to_owned(),
                help: (*help).to_owned(),
                unit: String::new(),
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy")
}

/// POSTs a remote_write body to `url`; returns the status and body.
pub(crate) async fn remote_write(url: &str, body: Vec<u8>) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .expect("remote_write request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A form-encoded POST (as Grafana sends queries); returns status and JSON.
pub(crate) async fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .expect("form request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// A running Prometheus.
pub(crate) struct Prometheus {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("TIDEMARK_PROMETHEUS").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/prometheus")),
    ];
    candidates.into_iter().flatten().find(|path| path.exists())
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML) and the remote-write receiver on; `None` (or a
    /// failure under `TIDEMARK_REQUIRE_CLIENTS=1`) when the binary is missing.
    pub(crate) async fn start(config: &str) -> Option<Self> {
        let Some(binary) = prometheus_binary() else {
            return clients::unavailable(
                "prometheus",
                "no /usr/bin/prometheus (Debian package `prometheus`)",
            );
        };
        let dir = tempfile::tempdir().expect("prometheus dir");
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn prometheus");
        let prometheus = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = reqwest::get(format!("{}/-/ready", prometheus.url)).await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Some(prometheus);
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not become ready: {}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Prometheus's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }
}
