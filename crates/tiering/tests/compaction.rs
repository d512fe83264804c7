//! Compaction against the embedded backend: the same answers before and after, later writes win
//! over chunks, concurrent late writes are never lost, unsealed buckets wait.

use std::time::Duration;

use tidemark_storage::block::{Block, Column, ColumnValues};
use tidemark_storage::tsdb::{BUCKET_NANOS, Layout, SeriesId, TenantId, bucket_start, read_series};
use tidemark_storage::{
    AtomicOp, EmbeddedKv, EmbeddedOptions, KvDatabase, KvTransaction, RangeRequest,
};
use tidemark_tiering::{CompactionConfig, compact_sealed};

const TENANT: TenantId = TenantId(1);
const SERIES: SeriesId = SeriesId(42);

fn block(rows: &[(i64, f64)]) -> Block {
    Block {
        timestamps: rows.iter().map(|(t, _)| *t).collect(),
        columns: vec![Column {
            name: "v".into(),
            values: ColumnValues::F64(rows.iter().map(|(_, v)| Some(*v)).collect()),
        }],
    }
}

/// Writes a block the way ingest does: a versionstamped key plus the bucket's dirty marker.
async fn write_block(db: &EmbeddedKv, layout: &Layout, rows: &[(i64, f64)]) {
    let tx = db.create_transaction().unwrap();
    let bucket = bucket_start(rows[0].0);
    tx.atomic_op(
        &layout.data_stamped(TENANT, SERIES, bucket, 0),
        &block(rows).encode(),
        AtomicOp::SetVersionstampedKey,
    );
    tx.set(&layout.dirty(TENANT, bucket, SERIES), b"");
    tx.commit().await.map_err(|failed| failed.error).unwrap();
}

async fn setup() -> (tempfile::TempDir, EmbeddedKv, Layout) {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let tx = db.create_transaction().unwrap();
    assert_eq!(layout.create_tenant(&tx, "db").await.unwrap(), TENANT);
    tx.commit().await.map_err(|failed| failed.error).unwrap();
    (dir, db, layout)
}

async fn values(db: &EmbeddedKv, layout: &Layout) -> Vec<(i64, f64)> {
    let tx = db.create_transaction().unwrap();
    let block = read_series(&tx, layout, TENANT, SERIES, i64::MIN, i64::MAX)
        .await
        .unwrap();
    let ColumnValues::F64(values) = &block.columns[0].values else {
        panic!()
    };
    block
        .timestamps
        .iter()
        .zip(values)
        .map(|(t, v)| (*t, v.unwrap()))
        .collect()
}

async fn keys_in_bucket(db: &EmbeddedKv, layout: &Layout, bucket: i64) -> usize {
    let (begin, end) = layout.data_range(TENANT, SERIES, bucket, bucket);
    db.create_transaction()
        .unwrap()
        .get_range_all(&RangeRequest::new(begin, end), true)
        .await
        .unwrap()
        .len()
}

fn sealed_now() -> CompactionConfig {
    CompactionConfig {
        seal_after: Duration::ZERO,
        ..CompactionConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_answer_and_later_writes_win() {
    let (_dir, db, layout) = setup().await;
    let hour = 10 * BUCKET_NANOS;
    write_block(&db, &layout, &[(hour, 1.0), (hour + 10, 2.0)]).await;
    write_block(&db, &layout, &[(hour + 10, 20.0), (hour + 20, 3.0)]).await;
    write_block(&db, &layout, &[(hour + 5, 0.5)]).await;
    let before = values(&db, &layout).await;
    assert_eq!(
        before,
        vec![
            (hour, 1.0),
            (hour + 5, 0.5),
            (hour + 10, 20.0),
            (hour + 20, 3.0)
        ]
    );
    let stats = compact_sealed(&db, &layout, &sealed_now()).await.unwrap();
    assert_eq!((stats.blocks_consumed, stats.chunks_written), (3, 1));
    assert_eq!(keys_in_bucket(&db, &layout, hour).await, 1, "one chunk");
    assert_eq!(
        values(&db, &layout).await,
        before,
        "same answers after compaction"
    );
    // A late write into the compacted bucket overrides the chunk, and is compacted next time.
    write_block(&db, &layout, &[(hour + 10, 99.0)]).await;
    assert_eq!(values(&db, &layout).await[2], (hour + 10, 99.0));
    let stats = compact_sealed(&db, &layout, &sealed_now()).await.unwrap();
    assert_eq!(stats.blocks_consumed, 2);
    assert_eq!(
        values(&db, &layout).await[2],
        (hour + 10, 99.0),
        "the late value survives compaction"
    );
    // Nothing left to do: the marker is gone.
    let stats = compact_sealed(&db, &layout, &sealed_now()).await.unwrap();
    assert_eq!(stats.buckets, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsealed_buckets_wait() {
    let (_dir, db, layout) = setup().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    write_block(&db, &layout, &[(now, 1.0)]).await;
    write_block(&db, &layout, &[(now + 1, 2.0)]).await;
    let stats = compact_sealed(&db, &layout, &CompactionConfig::default())
        .await
        .unwrap();
    assert_eq!(stats.buckets, 0, "the current hour is not sealed");
    assert_eq!(keys_in_bucket(&db, &layout, bucket_start(now)).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_late_writes_are_never_lost() {
    let (_dir, db, layout) = setup().await;
    let hour = 20 * BUCKET_NANOS;
    let writer = {
        let (db, layout) = (db.clone(), layout.clone());
        tokio::spawn(async move {
            for round in 0..150i64 {
                // Each round rewrites time 0 (so the latest value must win) and adds a new time.
                write_block(
                    &db,
                    &layout,
                    &[(hour, round as f64), (hour + 1 + round, round as f64)],
                )
                .await;
            }
        })
    };
    let compactor = {
        let (db, layout) = (db.clone(), layout.clone());
        tokio::spawn(async move {
            let mut consumed = 0;
            for _ in 0..40 {
                consumed += compact_sealed(&db, &layout, &sealed_now())
                    .await
                    .unwrap()
                    .blocks_consumed;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            consumed
        })
    };
    writer.await.unwrap();
    let consumed = compactor.await.unwrap();
    assert!(consumed > 0, "compaction ran while writes landed");
    compact_sealed(&db, &layout, &sealed_now()).await.unwrap();
    let stored = values(&db, &layout).await;
    assert_eq!(stored.len(), 151, "every written time is there");
    assert_eq!(stored[0], (hour, 149.0), "the last write to a time wins");
    for round in 0..150i64 {
        assert_eq!(stored[1 + round as usize], (hour + 1 + round, round as f64));
    }
    assert_eq!(keys_in_bucket(&db, &layout, hour).await, 1);
}
