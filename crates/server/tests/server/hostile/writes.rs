//! Writes built to exhaust memory or to fail a whole commit group.

use prost::Message;
use tidemark_ingest::remote_write::{LabelProto, SampleProto, TimeSeriesProto, WriteRequestProto};

use super::{Watchdog, refusals, start};

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

/// One series with a 4 MB label value and about 2.9 million empty samples: tiny compressed,
/// about 10 MB decoded.
fn label_bomb() -> Vec<u8> {
    let request = WriteRequestProto {
        timeseries: vec![TimeSeriesProto {
            labels: vec![
                LabelProto {
                    name: "__name__".into(),
                    value: "bomb".into(),
                },
                LabelProto {
                    name: "big".into(),
                    value: "x".repeat(4 << 20),
                },
            ],
            samples: vec![SampleProto::default(); 2_900_000],
            histograms: Vec::new(),
        }],
        metadata: Vec::new(),
    };
    snappy(&request.encode_to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_bombs_are_refused_line_by_line_and_other_tenants_go_on() {
    // Counting 180,000 series in a debug build takes longer than the quick deadline.
    let server = start(&[
        "--query-default-timeout",
        "60s",
        "--query-max-timeout",
        "60s",
    ]);
    let watch = Watchdog::start(&server, None);
    let rw = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
    ];

    // A remote_write label bomb: the series is refused for its label, nothing is expanded.
    let (status, body) = server
        .post("/api/v1/write?db=attack", label_bomb(), &rw)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("max_tag_value_bytes"),
        "{}",
        &body[..body.len().min(300)]
    );

    // 50,000 lines each adding a field: the lines past the column limit are refused.
    let wide: String = (0..50_000).map(|i| format!("wide f{i}=1 {i}\n")).collect();
    let (status, body) = server.post("/api/v3/write_lp?db=attack", wide, &[]).await;
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);
    assert!(
        body.contains("max_columns_per_measurement"),
        "{}",
        &body[..body.len().min(300)]
    );
    let (_, rows) = server
        .sql(Some("attack"), "SELECT count(*) AS n FROM wide", None)
        .await;
    assert_eq!(rows[0]["n"], 1_000, "the first 1,000 fields fit: {rows}");

    // A tag value past the storage key limit next to good lines: only its line is refused.
    let huge = "v".repeat(10_001);
    let mixed = format!("ok,h=a v=1 1\nbad,h={huge} v=1 2\nok,h=b v=2 3\n");
    let (status, body) = server.post("/api/v3/write_lp?db=attack", mixed, &[]).await;
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);
    assert!(
        body.contains("\"line_number\":2"),
        "{}",
        &body[..body.len().min(300)]
    );
    let (_, rows) = server
        .sql(Some("attack"), "SELECT count(*) AS n FROM ok", None)
        .await;
    assert_eq!(rows[0]["n"], 2, "the good lines were written: {rows}");

    // A 10 KB idempotency key: 400 for that request alone.
    let key = "k".repeat(10_000);
    let (status, body) = server
        .post(
            "/api/v3/write_lp?db=attack",
            "ok v=3 4",
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Idempotency-Key"), "{body}");

    // A 10 MB body of new series: written (index records go in transactions of their own).
    let many: String = (0..180_000)
        .map(|i| format!("fresh,host=host-{i:07},rack=r{} v={i} 1\n", i % 97))
        .collect();
    assert!(many.len() < 10 << 20);
    let (status, body) = server.post("/api/v3/write_lp?db=attack", many, &[]).await;
    assert_eq!(status, 204, "{}", &body[..body.len().min(300)]);
    let (_, rows) = server
        .sql(Some("attack"), "SELECT count(*) AS n FROM fresh", None)
        .await;
    assert_eq!(rows[0]["n"], 180_000, "{rows}");

    assert!(refusals(&server, "tag_value_bytes").await >= 2.0);
    assert!(refusals(&server, "columns_per_measurement").await >= 1.0);
    let report = watch.finish("write bombs").await;
    assert!(report.good_rounds > 0, "{report:?}");
}
