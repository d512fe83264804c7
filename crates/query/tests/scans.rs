//! Long scans: series spanning many read steps, buckets written over several transactions, and
//! storage that fails range reads at random. Every answer must equal the model exactly: no row
//! skipped or repeated when a bucket's reading restarts in a new transaction.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_ingest::{WriteRequest, Writer, WriterConfig};
use tidemark_query::{QueryConfig, QueryEngine, QueryKind};
use tidemark_storage::tsdb::Layout;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, FaultConfig};

const HOUR: i64 = 3_600_000_000_000;
const START: i64 = 1_704_067_200_000_000_000;
/// A month of hourly buckets: several read steps per series.
const HOURS: i64 = 24 * 31;

async fn rows(engine: &QueryEngine<EmbeddedKv>, sql: &str) -> Vec<Vec<String>> {
    let stream = engine
        .query(Some("db"), sql, QueryKind::Http, None)
        .await
        .unwrap();
    let batches: Vec<_> = stream.try_collect().await.unwrap();
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|column| {
                        datafusion::arrow::util::display::array_value_to_string(column, row)
                            .unwrap()
                    })
                    .collect(),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn month_long_scans_under_read_faults_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultConfig {
        seed: 7,
        retryable: 0.0,
        unknown_applied: 0.0,
        unknown_not_applied: 0.0,
        read_retryable: 0.25,
    };
    let options = EmbeddedOptions {
        faults: Some(faults),
        ..EmbeddedOptions::default()
    };
    let db = EmbeddedKv::open(dir.path(), options).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    // Model: (series, time) -> value; later writes replace earlier ones.
    let mut model: BTreeMap<(u32, i64), i64> = BTreeMap::new();
    for pass in 0..3i64 {
        let mut body = String::new();
        for series in 0..3u32 {
            for hour in 0..HOURS {
                // Pass 0 writes every point; later passes rewrite some and add minute points, so
                // buckets hold several blocks from different transactions.
                if pass > 0 && (hour + i64::from(series)) % (pass + 2) != 0 {
                    continue;
                }
                let time = START + hour * HOUR + pass * 60_000_000_000;
                let value = hour * 10 + pass + i64::from(series) * 100_000;
                model.insert((series, time), value);
                body.push_str(&format!("m,s=s{series} v={value}i {time}\n"));
                if pass == 2 && hour % 5 == 0 {
                    let time = START + hour * HOUR;
                    model.insert((series, time), -value);
                    body.push_str(&format!("m,s=s{series} v={}i {time}\n", -value));
                }
            }
        }
        let batch = parse_lines(
            body.as_bytes(),
            Precision::Nanosecond,
            0,
            &Default::default(),
        );
        assert!(batch.errors.is_empty());
        writer
            .write(WriteRequest {
                database: "db".into(),
                series: batch.series,
                idempotency_key: None,
            })
            .await
            .unwrap();
    }
    let config = QueryConfig {
        target_partitions: 2,
        lanes: 2,
        batch_size: 100,
        ..QueryConfig::default()
    };
    let engine = QueryEngine::new(db.clone(), Layout::default(), config).unwrap();

    let total: i64 = model.values().sum();
    let got = rows(&engine, "SELECT count(*), sum(v) FROM m").await;
    assert_eq!(got, vec![vec![model.len().to_string(), total.to_string()]]);

    // Every row of one series, in order, exactly once.
    let got = rows(
        &engine,
        "SELECT time, v FROM m WHERE s = 's1' ORDER BY time",
    )
    .await;
    let expected: Vec<Vec<String>> = model
        .iter()
        .filter(|((series, _), _)| *series == 1)
        .map(|((_, time), value)| {
            let time = datafusion::arrow::array::TimestampNanosecondArray::from(vec![*time])
                .with_timezone("UTC");
            vec![
                datafusion::arrow::util::display::array_value_to_string(&time, 0).unwrap(),
                value.to_string(),
            ]
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);

    // A time range inside the month, crossing step boundaries.
    let from = START + 200 * HOUR;
    let to = START + 500 * HOUR;
    let in_range: Vec<i64> = model
        .iter()
        .filter(|((_, time), _)| *time >= from && *time < to)
        .map(|(_, value)| *value)
        .collect();
    let sql = "SELECT count(*), sum(v) FROM m WHERE time >= '2024-01-09T08:00:00Z' \
               AND time < '2024-01-21T20:00:00Z'";
    let got = rows(&engine, sql).await;
    assert_eq!(
        got,
        vec![vec![
            in_range.len().to_string(),
            in_range.iter().sum::<i64>().to_string()
        ]]
    );
}
