//! Scans over both tiers: a month of data moved to Parquet by a tiering pass, late data written
//! into tiered partitions, and a scan that is half read when a second pass replaces the files
//! under it. Every answer must equal the model exactly, under injected read faults.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_ingest::{WriteRequest, Writer, WriterConfig};
use tidemark_query::{QueryConfig, QueryEngine, QueryKind};
use tidemark_storage::cold::ColdStore;
use tidemark_storage::tsdb::Layout;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, FaultConfig};
use tidemark_tiering::{Tierer, TieringConfig};

const HOUR: i64 = 3_600_000_000_000;
const START: i64 = 1_704_067_200_000_000_000;
const HOURS: i64 = 24 * 31;

type Model = BTreeMap<(u32, i64), f64>;

async fn write(writer: &Writer, model: &mut Model, points: impl Iterator<Item = (u32, i64, f64)>) {
    let mut body = String::new();
    for (series, time, value) in points {
        model.insert((series, time), value);
        body.push_str(&format!("m,s=s{series} v={value} {time}\n"));
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

fn rows_of(batches: &[datafusion::arrow::array::RecordBatch]) -> Vec<(u32, i64, f64)> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Float64Type, Int32Type, TimestampNanosecondType};
    let mut out = Vec::new();
    for batch in batches {
        let series = batch.column(0).as_dictionary::<Int32Type>();
        let names = series.values().as_string::<i32>();
        let times = batch.column(1).as_primitive::<TimestampNanosecondType>();
        let values = batch.column(2).as_primitive::<Float64Type>();
        for row in 0..batch.num_rows() {
            let name = names.value(series.keys().value(row) as usize);
            let id: u32 = name.trim_start_matches('s').parse().unwrap();
            assert!(!values.is_null(row));
            out.push((id, times.value(row), values.value(row)));
        }
    }
    out.sort_by_key(|row| (row.0, row.1));
    out
}

fn expected(model: &Model) -> Vec<(u32, i64, f64)> {
    model
        .iter()
        .map(|((series, time), value)| (*series, *time, *value))
        .collect()
}

async fn all(engine: &QueryEngine<EmbeddedKv>, sql: &str) -> Vec<(u32, i64, f64)> {
    let stream = engine
        .query(Some("db"), sql, QueryKind::Http, None)
        .await
        .unwrap();
    let batches: Vec<_> = stream.try_collect().await.unwrap();
    rows_of(&batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_over_both_tiers_and_across_a_pass_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultConfig {
        seed: 11,
        retryable: 0.0,
        unknown_applied: 0.0,
        unknown_not_applied: 0.0,
        read_retryable: 0.2,
    };
    let options = EmbeddedOptions {
        faults: Some(faults),
        ..EmbeddedOptions::default()
    };
    let db = EmbeddedKv::open(dir.path().join("kv"), options).unwrap();
    let layout = Layout::default();
    let store = ColdStore::local(&dir.path().join("cold"))
        .unwrap()
        .claim(&db, &layout)
        .await
        .unwrap();
    let writer = Writer::start(db.clone(), layout.clone(), WriterConfig::default());
    let mut model = Model::new();
    let month = (0..3u32).flat_map(|s| {
        (0..HOURS).map(move |h| (s, START + h * HOUR + i64::from(s), (h % 400) as f64 * 0.25))
    });
    write(&writer, &mut model, month).await;

    let tiering = TieringConfig::default();
    let tierer = Tierer {
        db: &db,
        layout: &layout,
        store: &store,
        config: &tiering,
    };
    let stats = tierer.run_pass(&|_| {}).await.unwrap();
    assert_eq!((stats.partitions, stats.failures), (31, 0));

    let config = QueryConfig {
        target_partitions: 1,
        lanes: 1,
        batch_size: 50,
        cold_store: Some(store.clone()),
        ..QueryConfig::default()
    };
    let engine = QueryEngine::new(db.clone(), layout.clone(), config).unwrap();
    let sql = "SELECT s, time, v FROM m";
    assert_eq!(all(&engine, sql).await, expected(&model));

    // Late data into tiered partitions: overwrites and new points, hot over cold.
    let late = (0..3u32).flat_map(|s| {
        (0..HOURS).filter(move |h| h % 7 == 0).flat_map(move |h| {
            let time = START + h * HOUR + i64::from(s);
            [(s, time, -1.5), (s, time + 60_000_000_000, 2.25)]
        })
    });
    write(&writer, &mut model, late).await;
    assert_eq!(all(&engine, sql).await, expected(&model));

    // A scan half read when a pass replaces every file under it, then outlives its read window.
    let mut stream = engine
        .query(Some("db"), sql, QueryKind::Http, None)
        .await
        .unwrap();
    let mut batches = Vec::new();
    for _ in 0..5 {
        batches.push(stream.next().await.unwrap().unwrap());
    }
    let stats = tierer.run_pass(&|_| {}).await.unwrap();
    assert_eq!(stats.files_retired, 31, "{stats:?}");
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    while let Some(batch) = stream.next().await {
        batches.push(batch.unwrap());
    }
    assert_eq!(rows_of(&batches), expected(&model));
    assert_eq!(all(&engine, sql).await, expected(&model));
}
