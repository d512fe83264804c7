//! remote_write 2.0 and OTLP requests built to expand once decoded: a few large symbols
//! referred to by many series, a histogram whose every bucket repeats large labels, attribute
//! values nested past any stack. Each is refused before it grows, the server stays healthy, and
//! other tenants go on.

use prost::Message;
use tidemark_ingest::otlp::proto::*;
use tidemark_ingest::remote_write_v2::{Request, Sample, TimeSeries};

use super::{Watchdog, start};

/// 20,000 series, each naming 60 labels whose values are all one 4 KB symbol: about 3 MB
/// compressed, almost 5 GB if every series copied its labels.
fn symbol_bomb() -> Vec<u8> {
    let mut symbols = vec![
        String::new(),
        "__name__".into(),
        "bomb".into(),
        "v".repeat(4_000),
    ];
    let mut refs = vec![1, 2];
    for index in 0..60 {
        symbols.push(format!("l{index:02}"));
        refs.extend([symbols.len() as u32 - 1, 3]);
    }
    let series = TimeSeries {
        labels_refs: refs,
        samples: vec![Sample {
            value: 1.0,
            timestamp: 1_700_000_000_000,
            start_timestamp: 0,
        }],
        ..Default::default()
    };
    let request = Request {
        symbols,
        timeseries: vec![series; 20_000],
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

/// One histogram point with 40 attributes of 1 KB and 200,000 buckets: 3.2 MB of bounds and
/// counts, 8 GB if every bucket's series copied the labels.
fn histogram_bomb() -> Vec<u8> {
    let point = HistogramDataPoint {
        attributes: (0..40)
            .map(|index| KeyValue::string(format!("k{index}"), "v".repeat(1_000)))
            .collect(),
        time_unix_nano: 1_700_000_000_000_000_000,
        count: 1,
        bucket_counts: vec![0; 200_001],
        explicit_bounds: (0..200_000).map(f64::from).collect(),
        ..Default::default()
    };
    let metric = Metric {
        name: "bomb".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![point],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![metric],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_protocol_bombs_are_refused_before_they_expand() {
    let server = start(&[]);
    let watch = Watchdog::start(&server, None);
    let v2 = [
        ("Content-Encoding", "snappy"),
        (
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ),
    ];
    let (status, body) = server
        .post("/api/v1/write?db=attack", symbol_bomb(), &v2)
        .await;
    assert_eq!(status, 413, "{}", &body[..body.len().min(300)]);
    assert!(body.contains("ingest.max_queue_bytes"), "{body}");

    let protobuf = [("Content-Type", "application/x-protobuf")];
    let (status, _) = server
        .post("/v1/metrics?db=attack", histogram_bomb(), &protobuf)
        .await;
    assert_eq!(status, 413);

    let depth = 100_000;
    let nested = format!(
        "{}{}{}",
        r#"{"arrayValue":{"values":["#.repeat(depth),
        r#"{"intValue":"1"}"#,
        "]}}".repeat(depth)
    );
    let deep = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"k","value":{nested}}}]}}}}]}}"#
    );
    let json = [("Content-Type", "application/json")];
    let (status, body) = server.post("/v1/metrics?db=attack", deep, &json).await;
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);

    let report = watch.finish("push protocol bombs").await;
    assert!(report.good_rounds > 0, "{report:?}");
}
