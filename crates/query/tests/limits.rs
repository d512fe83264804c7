//! What one query may cost, against the real engine: growing functions refused before they
//! allocate, endless queries stopped at their deadline, PromQL bounded in depth, samples and
//! steps, and one database's queries unable to take every slot.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tidemark_query::promql::{EvalParams, PromError};
use tidemark_query::{QueryConfig, QueryEngine, QueryError, QueryKind, QueryLimits};
use tidemark_storage::tsdb::Layout;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, KvDatabase, KvTransaction};

fn engine(limits: QueryLimits) -> (tempfile::TempDir, QueryEngine<EmbeddedKv>) {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    // Two databases for the slot test; the others need none.
    futures::executor::block_on(async {
        let layout = Layout::default();
        let tx = db.create_transaction().unwrap();
        layout.create_tenant(&tx, "a").await.unwrap();
        layout.create_tenant(&tx, "b").await.unwrap();
        tx.commit().await.map_err(|failed| failed.error).unwrap();
    });
    let config = QueryConfig {
        limits,
        ..QueryConfig::default()
    };
    (
        dir,
        QueryEngine::new(db, Layout::default(), config).unwrap(),
    )
}

async fn run(engine: &QueryEngine<EmbeddedKv>, sql: &str) -> Result<usize, QueryError> {
    let stream = engine.query(None, sql, QueryKind::Http, None).await?;
    let batches: Vec<_> = stream.try_collect().await?;
    Ok(batches.iter().map(|batch| batch.num_rows()).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_functions_are_refused_before_they_allocate() {
    let (_dir, engine) = engine(QueryLimits::default());
    for sql in [
        "SELECT repeat(arrow_cast('x', 'LargeUtf8'), 1099511627776)",
        "SELECT repeat('x', 1099511627776)",
        "SELECT lpad('x', 2000000000)",
        "SELECT array_repeat(1, 1000000000000)",
        "SELECT range(0, 9223372036854775807)",
        "SELECT replace(repeat('x', 10000000), 'x', repeat('y', 100))",
    ] {
        let error = run(&engine, sql).await.unwrap_err();
        assert!(
            matches!(error, QueryError::ResourcesExhausted(ref message) if message.contains("max_function_output_bytes")),
            "{sql}: {error}"
        );
    }
    // Doubling a value until it is large stops one step past the limit.
    let mut sql = "WITH d0 AS (SELECT repeat('x', 1000000) AS v)".to_owned();
    for level in 1..=8 {
        sql.push_str(&format!(
            ", d{level} AS (SELECT concat(v, v) AS v FROM d{})",
            level - 1
        ));
    }
    sql.push_str(" SELECT length(v) FROM d8");
    let error = run(&engine, &sql).await.unwrap_err();
    assert!(
        matches!(error, QueryError::ResourcesExhausted(_)),
        "{error}"
    );
    // Ordinary use is untouched.
    assert_eq!(
        run(&engine, "SELECT repeat('ab', 3), lpad('7', 3, '0')")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_query_stops_at_its_deadline() {
    let (_dir, engine) = engine(QueryLimits {
        default_timeout: Duration::from_millis(500),
        ..QueryLimits::default()
    });
    let started = Instant::now();
    let error = run(
        &engine,
        "SELECT count(*) FROM generate_series(1, 9223372036854775807)",
    )
    .await
    .unwrap_err();
    assert!(matches!(error, QueryError::Timeout(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The engine is free again at once.
    assert_eq!(run(&engine, "SELECT 1").await.unwrap(), 1);
}

fn range(start_ms: i64, end_ms: i64, step_ms: i64) -> EvalParams {
    EvalParams {
        start_ms,
        end_ms,
        step_ms,
        lookback_ms: 300_000,
        default_subquery_step_ms: 60_000,
        instant: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_is_bounded_in_depth_steps_and_time() {
    let (_dir, engine) = engine(QueryLimits {
        default_timeout: Duration::from_secs(2),
        ..QueryLimits::default()
    });
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let error = engine
        .promql("db", &deep, &range(0, 0, 1), None)
        .await
        .unwrap_err();
    assert!(matches!(error, PromError::BadData(_)), "{error}");
    let chain = vec!["1"; 50_000].join("+");
    let error = engine
        .promql("db", &chain, &range(0, 0, 1), None)
        .await
        .unwrap_err();
    assert!(matches!(error, PromError::BadData(_)), "{error}");
    // 18 million steps in one subquery node: refused before anything is computed.
    let started = Instant::now();
    let error = engine
        .promql(
            "a",
            "quantile_over_time(0.5, vector(1)[5h:1ms])",
            &range(0, 11_000, 1),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, PromError::Execution(ref m) if m.contains("steps")),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Within the step limit but far too much work: stopped at the deadline. A client asking for
    // more time gets at most the server's maximum.
    let started = Instant::now();
    let error = engine
        .promql(
            "a",
            "quantile_over_time(0.5, vector(1)[16m:1ms])",
            &range(0, 11_000, 1),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, PromError::Timeout(_)), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cannot_take_every_slot() {
    let (_dir, engine) = engine(QueryLimits {
        max_concurrent_per_database: 1,
        queue_timeout: Duration::from_millis(200),
        default_timeout: Duration::from_secs(5),
        ..QueryLimits::default()
    });
    // One long query of database "a" holds its only slot.
    let stream = engine
        .query(
            Some("a"),
            "SELECT count(*) FROM generate_series(1, 9223372036854775807)",
            QueryKind::Http,
            None,
        )
        .await;
    let held = stream.expect("admitted");
    let error = engine
        .query(Some("a"), "SELECT 1", QueryKind::Http, None)
        .await
        .unwrap_err();
    assert!(matches!(error, QueryError::Busy(_)), "{error}");
    // Database "b" still gets its slot, and "a" gets one once the long query is dropped.
    assert!(
        engine
            .query(Some("b"), "SELECT 1", QueryKind::Http, None)
            .await
            .is_ok()
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        engine
            .query(Some("a"), "SELECT 1", QueryKind::Http, None)
            .await
            .is_ok()
    );
}
