//! remote_write 2.0 against the real binary: requests built from the published proto, the
//! written-counts headers, metadata, refusals that name their series, and the same samples
//! sent as 1.0 and as 2.0 reading back identically.

use proptest::prelude::*;
use prost::Message;
use serde_json::{Value, json};
use tidemark_ingest::remote_write_v2::{
    Exemplar, Histogram, Metadata, Request, Sample, TimeSeries,
};

use crate::TestServer;
use crate::prom::{SeriesData, remote_write, write_body};

const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
const T0: i64 = 1_700_000_000_000;

/// One series to send: labels (with `__name__`) and `(ms, value)` samples.
type Borrowed<'a> = (Vec<(&'a str, &'a str)>, Vec<(i64, f64)>);

/// Builds a request: labels become symbol references (symbols shared, `""` first).
fn v2_request(series: &[Borrowed<'_>]) -> Request {
    let mut symbols = vec![String::new()];
    let mut reference = |text: &str| -> u32 {
        match symbols.iter().position(|symbol| symbol == text) {
            Some(index) => index as u32,
            None => {
                symbols.push(text.to_owned());
                symbols.len() as u32 - 1
            }
        }
    };
    let timeseries = series
        .iter()
        .map(|(labels, samples)| TimeSeries {
            labels_refs: labels
                .iter()
                .flat_map(|(name, value)| [reference(name), reference(value)])
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample {
                    value,
                    timestamp,
                    start_timestamp: T0 - 60_000,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    Request {
        symbols,
        timeseries,
    }
}

fn compress(request: &Request) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

/// POSTs a 2.0 body; returns the status, the three written counts and the body.
async fn send(server: &TestServer, db: &str, body: Vec<u8>) -> (u16, [u64; 3], String) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/write?db={db}")))
        .header("Content-Type", V2)
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "2.0.0")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers();
    assert_eq!(headers["x-prometheus-remote-write-version"], "2.0.0");
    let count = |kind: &str| -> u64 {
        let name = format!("x-prometheus-remote-write-{kind}-written");
        headers[name.as_str()].to_str().unwrap().parse().unwrap()
    };
    let written = [count("samples"), count("histograms"), count("exemplars")];
    (status, written, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_2_0_is_written_counted_and_described() {
    let server = TestServer::start();
    let mut request = v2_request(&[
        (
            vec![
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ],
            vec![(T0, 10.0), (T0 + 15_000, 12.0)],
        ),
        (
            vec![
                ("__name__", "rpc_seconds_bucket"),
                ("job", "api"),
                ("le", "0.5"),
            ],
            vec![(T0, 3.0)],
        ),
    ]);
    let help = request.symbols.len() as u32;
    request
        .symbols
        .extend(["Requests served.".into(), "seconds".into()]);
    request.timeseries[0].metadata = Some(Metadata {
        r#type: 1,
        help_ref: help,
        unit_ref: 0,
    });
    request.timeseries[0].exemplars = vec![Exemplar {
        labels_refs: Vec::new(),
        value: 1.0,
        timestamp: T0,
    }];
    request.timeseries[1].metadata = Some(Metadata {
        r#type: 3,
        help_ref: 0,
        unit_ref: help + 1,
    });
    let (status, written, body) = send(&server, "prom", compress(&request)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(written, [3, 0, 1]);

    let (status, answer) = server
        .get_json(
            "/api/v1/query",
            &[
                ("query", "rate(http_requests_total[1m])"),
                ("time", "1700000015"),
                ("db", "prom"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["code"], "200", "{answer}");
    let (_, rows) = server
        .sql(
            Some("prom"),
            "SELECT le, value FROM rpc_seconds_bucket",
            None,
        )
        .await;
    assert_eq!(rows, json!([{"le": "0.5", "value": 3.0}]));
    let (_, metadata) = server
        .get_json("/api/v1/metadata", &[("db", "prom")], None)
        .await;
    assert_eq!(
        metadata["data"]["http_requests_total"],
        json!([{"type": "counter", "help": "Requests served.", "unit": ""}])
    );
    assert_eq!(
        metadata["data"]["rpc_seconds"],
        json!([{"type": "histogram", "help": "", "unit": "seconds"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_references_and_native_histograms_are_refused_by_series() {
    let server = TestServer::start();
    let mut request = v2_request(&[
        (vec![("__name__", "kept"), ("job", "a")], vec![(T0, 1.0)]),
        (vec![("__name__", "odd")], vec![(T0, 2.0)]),
        (vec![("__name__", "far")], vec![(T0, 3.0)]),
        (vec![("__name__", "native")], Vec::new()),
    ]);
    request.timeseries[1].labels_refs.push(1);
    request.timeseries[2].labels_refs.extend([1, 999]);
    request.timeseries[3].histograms = vec![Histogram { timestamp: T0 }; 2];
    let (status, written, body) = send(&server, "bad", compress(&request)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(written, [1, 0, 0]);
    assert!(
        body.contains("series 2: odd number of label references (3)"),
        "{body}"
    );
    assert!(
        body.contains("series 3: label value reference 999 is out of range"),
        "{body}"
    );
    assert!(
        body.contains(r#"(8 symbols) ("{__name__=\"far\"}")"#),
        "the series is named by the labels that resolve: {body}"
    );
    assert!(body.contains(r#"pairs ("{__name__=\"odd\"}")"#), "{body}");
    assert!(
        body.contains("series 4: native histogram samples are not supported"),
        "{body}"
    );
    let (_, rows) = server
        .sql(Some("bad"), "SELECT job, value FROM kept", None)
        .await;
    assert_eq!(rows, json!([{"job": "a", "value": 1.0}]));

    // An empty symbol table: every reference is out of range, the series is named.
    let empty = Request {
        symbols: Vec::new(),
        timeseries: vec![TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![Sample {
                value: 1.0,
                timestamp: T0,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    };
    let (status, written, body) = send(&server, "bad", compress(&empty)).await;
    assert_eq!((status, written), (400, [0, 0, 0]), "{body}");
    assert!(
        body.contains("series 1: label name reference 1 into an empty symbol table"),
        "{body}"
    );
}

/// Every row of every measurement of a database, as SQL gives them.
async fn dump(server: &TestServer, db: &str, names: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for name in names {
        let sql = format!("SELECT * FROM \"{name}\" ORDER BY time");
        let (status, rows) = server.sql(Some(db), &sql, None).await;
        out.push(if status == 200 { rows } else { json!(status) });
    }
    out
}

type Generated = Vec<(usize, Vec<(String, String)>, Vec<(i64, f64)>)>;

fn generated() -> impl Strategy<Value = Generated> {
    let label = ("[a-c]", prop_oneof![Just(String::new()), "[a-z0-9]{1,3}"]);
    let sample = (0i64..100_000, -1e6f64..1e6);
    let series = (
        0usize..3,
        prop::collection::btree_map(label.0, label.1, 0..3),
        prop::collection::vec(sample, 1..5),
    )
        .prop_map(|(metric, labels, samples)| (metric, labels.into_iter().collect(), samples));
    prop::collection::vec(series, 1..6)
}

/// The same samples sent as 1.0 to one database and as 2.0 to another read back identically
/// through SQL, for generated requests (few cases: each is a round trip through the binary;
/// the decoder-level property runs hundreds).
#[test]
fn the_same_samples_as_1_0_and_2_0_read_back_identically() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = TestServer::start();
    let case = std::cell::Cell::new(0);
    let config = ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(series in generated())| {
        case.set(case.get() + 1);
        let names: Vec<String> = (0..3).map(|metric| format!("m{metric}")).collect();
        let v1: Vec<SeriesData> = series
            .iter()
            .map(|(metric, labels, samples)| {
                let mut labels = labels.clone();
                labels.push(("__name__".into(), names[*metric].clone()));
                let samples = samples.iter().map(|&(t, v)| (T0 + t, v)).collect();
                (labels, samples)
            })
            .collect();
        let v2_series: Vec<Borrowed<'_>> = v1
            .iter()
            .map(|(labels, samples)| {
                let mut labels: Vec<(&str, &str)> =
                    labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                labels.sort();
                (labels, samples.clone())
            })
            .collect();
        let (db1, db2) = (format!("v1_{}", case.get()), format!("v2_{}", case.get()));
        let (from_v1, from_v2) = runtime.block_on(async {
            let url = server.url(&format!("/api/v1/write?db={db1}"));
            let (status, body) = remote_write(&url, write_body(&v1, &[])).await;
            assert_eq!(status, 204, "{body}");
            let (status, _, body) = send(&server, &db2, compress(&v2_request(&v2_series))).await;
            assert_eq!(status, 204, "{body}");
            (dump(&server, &db1, &names).await, dump(&server, &db2, &names).await)
        });
        prop_assert_eq!(from_v1, from_v2);
    });
}
