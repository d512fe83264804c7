//! The group-commit writer against the embedded backend: durability of acknowledged points,
//! group commit under concurrency, type conflicts, idempotency keys, injected commit faults.

use std::future::Future;
use tidemark_ingest::lp::{Precision, parse_lines};

use tidemark_ingest::{IngestError, IngestLimits, WriteRequest, Writer, WriterConfig};
use tidemark_storage::block::ColumnValues;
use tidemark_storage::tsdb::{Layout, SeriesKey, read_series};
use tidemark_storage::{
    EmbeddedKv, EmbeddedOptions, FaultConfig, KvDatabase, KvTransaction, RangeRequest,
};

fn request(database: &str, body: &str, key: Option<&str>) -> WriteRequest {
    let batch = parse_lines(
        body.as_bytes(),
        Precision::Nanosecond,
        0,
        &IngestLimits::default(),
    );
    assert!(batch.errors.is_empty(), "{:?}", batch.errors);
    WriteRequest {
        database: database.into(),
        series: batch.series,
        idempotency_key: key.map(str::to_owned),
    }
}

async fn floats(
    db: &EmbeddedKv,
    database: &str,
    series: &SeriesKey,
    field: &str,
) -> Vec<(i64, f64)> {
    let layout = Layout::default();
    let tx = db.create_transaction().unwrap();
    let tenant = layout
        .tenant_id(&tx, database)
        .await
        .unwrap()
        .expect("tenant exists");
    let (id, created) = layout.resolve_series(&tx, tenant, series).await.unwrap();
    assert!(!created, "series {series:?} was written");
    let block = read_series(&tx, &layout, tenant, id, i64::MIN, i64::MAX)
        .await
        .unwrap();
    let column = block
        .columns
        .iter()
        .find(|column| column.name == field)
        .expect("field");
    let ColumnValues::F64(values) = &column.values else {
        panic!("float column")
    };
    block
        .timestamps
        .iter()
        .zip(values)
        .filter_map(|(t, v)| v.map(|v| (*t, v)))
        .collect()
}

/// Every stored data block of the first tenant (tests create one database).
async fn blocks(db: &EmbeddedKv) -> Vec<tidemark_storage::block::Block> {
    let tx = db.create_transaction().unwrap();
    let (begin, end) = tidemark_storage::keys::root()
        .subspace(&(1u64, "d"))
        .range();
    let rows = tx
        .get_range_all(&RangeRequest::new(begin, end), true)
        .await
        .unwrap();
    rows.iter()
        .map(|(_, value)| tidemark_storage::block::Block::decode(value).unwrap())
        .collect()
}

async fn data_keys(db: &EmbeddedKv) -> usize {
    blocks(db).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_durable_and_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    let mut tasks = Vec::new();
    for client in 0..32 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let body: String = (0..20)
                    .map(|i| {
                        format!(
                            "cpu,host=h{client} usage={}.5 {}\n",
                            round * 20 + i,
                            (round * 20 + i) as i64 * 1_000_000_000
                        )
                    })
                    .collect();
                let outcome = writer
                    .write(request("db", &body, None))
                    .await
                    .expect("write");
                assert_eq!(outcome.written, 20);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for client in [0, 17, 31] {
        let series = SeriesKey::new("cpu", vec![("host".into(), format!("h{client}"))]);
        let points = floats(&db, "db", &series, "usage").await;
        assert_eq!(points.len(), 200, "client {client}");
        assert_eq!(points[57], (57_000_000_000, 57.5));
    }
    // 320 requests from 32 concurrent clients: group commit merges them into fewer transactions.
    let stats = writer.stats();
    let groups = stats.groups.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        320
    );
    assert_eq!(
        stats.points.load(std::sync::atomic::Ordering::Relaxed),
        6_400
    );
    assert!(groups < 320, "{groups} transactions for 320 requests");
    assert_eq!(
        data_keys(&db).await,
        320,
        "one block per series per transaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_conflicts_reject_only_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    writer.write(request("db", "m f=1 1", None)).await.unwrap();
    writer
        .write(request("db", "m f=2 2\nm g=\"s\" 4", None))
        .await
        .unwrap();
    // Lines 1 and 3 are good; line 2 writes the float field `f` as an integer.
    let outcome = writer
        .write(request("db", "n v=1 1\nm,host=a f=3i 3\nn v=2 2", None))
        .await
        .unwrap();
    assert_eq!(outcome.written, 2);
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!(outcome.rejected[0].line, 2);
    assert!(
        outcome.rejected[0].message.contains("`f`")
            && outcome.rejected[0]
                .message
                .contains("is float, got integer"),
        "{:?}",
        outcome.rejected
    );
    let points = floats(&db, "db", &SeriesKey::new("m", vec![]), "f").await;
    assert_eq!(points, vec![(1, 1.0), (2, 2.0)]);
    // A conflict within one request is found while parsing, line by line.
    let batch = parse_lines(
        b"n x=1i 1\nn x=1 2",
        Precision::Nanosecond,
        0,
        &IngestLimits::default(),
    );
    assert_eq!((batch.points(), batch.errors.len()), (1, 1));
    assert_eq!(batch.errors[0].line, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_column_limit_refuses_only_lines_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let limits = IngestLimits {
        max_columns_per_measurement: 4,
        ..IngestLimits::default()
    };
    let config = WriterConfig {
        limits: limits.clone(),
        ..WriterConfig::default()
    };
    let writer = Writer::start(db.clone(), Layout::default(), config);
    writer
        .write(request("db", "m,host=a a=1,b=1 1", None))
        .await
        .unwrap();
    // One more column fits (host, a, b, then c); the line bringing d does not.
    let outcome = writer
        .write(request(
            "db",
            "m,host=a c=1 2\nm,host=a d=1 3\nm,host=a a=2 4",
            None,
        ))
        .await
        .unwrap();
    assert_eq!(outcome.written, 2);
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!(outcome.rejected[0].line, 2);
    assert!(
        outcome.rejected[0]
            .message
            .contains("max_columns_per_measurement"),
        "{:?}",
        outcome.rejected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_rows_years_apart_is_split_into_transactions_that_fit() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    // Every row in a bucket of its own: 60,000 blocks and dirty markers.
    let body: String = (0..60_000i64)
        .map(|i| format!("m,s=s{} v={i} {}\n", i % 50, i * 3_600_000_000_000))
        .collect();
    let outcome = writer.write(request("db", &body, None)).await.unwrap();
    assert_eq!(outcome.written, 60_000);
    assert_eq!(data_keys(&db).await, 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_write_wins_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    writer
        .write(request("db", "m f=1 10\nm f=2 20", None))
        .await
        .unwrap();
    writer.write(request("db", "m f=9 10", None)).await.unwrap();
    let points = floats(&db, "db", &SeriesKey::new("m", vec![]), "f").await;
    assert_eq!(points, vec![(10, 9.0), (20, 2.0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_write_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    let first = writer
        .write(request("db", "m f=1 1\nm f=2 2", Some("req-1")))
        .await
        .unwrap();
    assert!(!first.replayed);
    let blocks = data_keys(&db).await;
    let again = writer
        .write(request("db", "m f=1 1\nm f=2 2", Some("req-1")))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        again.written, 2,
        "the replay reports what the first attempt wrote"
    );
    assert_eq!(data_keys(&db).await, blocks, "nothing written twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_commit_results_never_duplicate_or_lose_points() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultConfig {
        seed: 11,
        retryable: 0.1,
        unknown_applied: 0.25,
        unknown_not_applied: 0.25,
        read_retryable: 0.0,
    };
    let options = EmbeddedOptions {
        faults: Some(faults),
        ..EmbeddedOptions::default()
    };
    let db = EmbeddedKv::open(dir.path(), options).unwrap();
    let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
    let mut total_rows = 0;
    for round in 0..60 {
        let body = format!(
            "m,r={} f={round} {round}\nm,r=all f={round} {round}",
            round % 5
        );
        let outcome = writer
            .write(request("db", &body, None))
            .await
            .expect("acknowledged");
        assert_eq!(outcome.written, 2);
        total_rows += 2;
    }
    // Every acknowledged point is there, once.
    let points = floats(
        &db,
        "db",
        &SeriesKey::new("m", vec![("r".into(), "all".into())]),
        "f",
    )
    .await;
    assert_eq!(points.len(), 60);
    let stored_rows: usize = blocks(&db).await.iter().map(|block| block.rows()).sum();
    assert_eq!(stored_rows, total_rows, "no group was applied twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_databases_are_refused_when_creation_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let config = WriterConfig {
        create_databases: false,
        ..WriterConfig::default()
    };
    let writer = Writer::start(db.clone(), Layout::default(), config);
    let error = writer
        .write(request("nope", "m f=1 1", None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, IngestError::DatabaseNotFound(ref name) if name == "nope"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_gets_no_writes_under_its_cached_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let writer = Writer::start(db.clone(), layout.clone(), WriterConfig::default());
    writer
        .write(request("doomed", "m f=1 1", None))
        .await
        .unwrap();
    let tx = db.create_transaction().unwrap();
    let first = layout.tenant_id(&tx, "doomed").await.unwrap().unwrap();
    layout.drop_tenant(&tx, "doomed").await.unwrap();
    tx.commit().await.map_err(|failed| failed.error).unwrap();
    // The writer still has the old id cached: the commit finds the name gone and refuses.
    let error = writer
        .write(request("doomed", "m f=2 2", None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, IngestError::DatabaseNotFound(ref name) if name == "doomed"),
        "{error}"
    );
    let tx = db.create_transaction().unwrap();
    let (begin, end) = layout.tenant_data(first);
    let stray = tx
        .get_range_all(&RangeRequest::new(begin, end), true)
        .await
        .unwrap();
    assert_eq!(
        stray.len(),
        1,
        "only the first write's block is under the old id"
    );
    drop(tx);
    // The next write looks the name up again and creates the database anew.
    writer
        .write(request("doomed", "m f=3 3", None))
        .await
        .unwrap();
    let tx = db.create_transaction().unwrap();
    let second = layout.tenant_id(&tx, "doomed").await.unwrap().unwrap();
    assert_ne!(second, first);
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_memory_budget_refuses_writes_as_overloaded() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let config = WriterConfig {
        max_queue_bytes: 1024,
        ..WriterConfig::default()
    };
    let writer = Writer::start(db.clone(), Layout::default(), config);
    // On one thread nothing finishes until these futures yield: the first request takes the
    // whole budget, the others find none left.
    let results = futures_join(&writer).await;
    let overloaded = results
        .iter()
        .filter(|result| matches!(result, Err(IngestError::Overloaded)))
        .count();
    let written = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!((written, overloaded), (1, 3), "{results:?}");
    // A request bigger than the whole budget is refused as too large, not as overloaded.
    let big: String = (0..200)
        .map(|i| format!("m,host=h{i} f={i} {i}\n"))
        .collect();
    let error = writer.write(request("db", &big, None)).await.unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error}");
}

async fn futures_join(writer: &Writer) -> Vec<Result<tidemark_ingest::WriteOutcome, IngestError>> {
    let requests: Vec<_> = (0..4)
        .map(|i| writer.write(request("db", &format!("m f={i} {i}"), None)))
        .collect();
    let mut results = Vec::new();
    let mut pending: Vec<_> = requests.into_iter().map(Box::pin).collect();
    // Poll each once in order (so the budget is taken deterministically), then finish them.
    for future in &mut pending {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        if let std::task::Poll::Ready(result) = future.as_mut().poll(&mut context) {
            results.push(Some(result));
        } else {
            results.push(None);
        }
    }
    let mut finished = Vec::new();
    for (future, early) in pending.into_iter().zip(results) {
        finished.push(match early {
            Some(result) => result,
            None => future.await,
        });
    }
    finished
}
