//! A tiering pass and a compaction of the same bucket, forced to interleave the dangerous way:
//! tiering reads the bucket's blocks k1..k3; a late write adds k4; compaction merges k1..k4;
//! then tiering registers its file and clears what it read. Every value must still be in one
//! tier or the other, and the next pass must fold the rest into the cold tier.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tidemark_storage::block::{Block, Column, ColumnValues};
use tidemark_storage::cold::{ColdFileReader, ColdStore, ObjectStoreConfig};
use tidemark_storage::tsdb::{
    BUCKET_NANOS, FieldType, Layout, SeriesKey, TenantId, bucket_start, merge_blocks, now_nanos,
    read_series,
};
use tidemark_storage::{AtomicOp, EmbeddedKv, EmbeddedOptions, KvDatabase, KvTransaction};
use tidemark_tiering::{StepHook, TierStep, Tierer, TieringConfig, compact_bucket};

const TENANT: TenantId = TenantId(1);
/// Rows per block: about 26 KB of nearly incompressible floats, so four of them merge into two parts.
const ROWS_PER_BLOCK: i64 = 4_000;

fn block(rows: &[(i64, f64)]) -> Block {
    Block {
        timestamps: rows.iter().map(|(t, _)| *t).collect(),
        columns: vec![Column {
            name: "v".into(),
            values: ColumnValues::F64(rows.iter().map(|(_, v)| Some(*v)).collect()),
        }],
    }
}

fn series() -> SeriesKey {
    SeriesKey::new("cpu", vec![("host".into(), "a".into())])
}

async fn write_block(db: &EmbeddedKv, layout: &Layout, rows: &[(i64, f64)]) {
    let tx = db.create_transaction().unwrap();
    let (id, _) = layout.resolve_series(&tx, TENANT, &series()).await.unwrap();
    layout.set_field_type(&tx, TENANT, "cpu", "v", FieldType::Float);
    let bucket = bucket_start(rows[0].0);
    tx.atomic_op(
        &layout.data_stamped(TENANT, id, bucket, 0),
        &block(rows).encode(),
        AtomicOp::SetVersionstampedKey,
    );
    tx.set(&layout.dirty(TENANT, bucket, id), b"");
    tx.commit().await.map_err(|failed| failed.error).unwrap();
}

/// Every value of the series, hot over cold (the query rule), as (time, value).
async fn both_tiers(db: &EmbeddedKv, layout: &Layout, store: &ColdStore) -> Vec<(i64, f64)> {
    let tx = db.create_transaction().unwrap();
    let id = layout
        .find_series(&tx, TENANT, &series())
        .await
        .unwrap()
        .unwrap();
    let mut blocks = Vec::new();
    let mut files = layout.tenant_cold_files(&tx, TENANT, true).await.unwrap();
    files.sort_by_key(|entry| entry.created);
    for entry in files {
        let bytes = store
            .get_checked(&entry.path, entry.bytes, entry.checksum)
            .await
            .unwrap();
        let reader = ColdFileReader::open(bytes).unwrap();
        let groups: Vec<usize> = (0..reader.row_groups()).collect();
        let rows = reader.decode(&groups, |_| true, true).unwrap();
        blocks.push(rows.series_block(id, i64::MIN, i64::MAX));
    }
    let hot = read_series(&tx, layout, TENANT, id, i64::MIN, i64::MAX)
        .await
        .unwrap();
    blocks.push(hot);
    let merged = merge_blocks(blocks, i64::MIN, i64::MAX);
    let column = merged.columns.iter().find(|column| column.name == "v");
    let Some(ColumnValues::F64(values)) = column.map(|column| &column.values) else {
        return Vec::new();
    };
    merged
        .timestamps
        .iter()
        .zip(values)
        .filter_map(|(time, value)| value.map(|value| (*time, value)))
        .collect()
}

/// Compares row sets, reporting how many rows went missing rather than printing them all.
fn assert_same(found: &[(i64, f64)], expected: &[(i64, f64)], when: &str) {
    if found != expected {
        let missing = expected.iter().filter(|row| !found.contains(row)).count();
        panic!(
            "{when}: {} rows found, {} expected, {missing} missing (first expected {:?})",
            found.len(),
            expected.len(),
            expected.first()
        );
    }
}

#[tokio::test]
async fn a_compaction_between_tiering_read_and_clear_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path().join("kv"), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let tx = db.create_transaction().unwrap();
    assert_eq!(layout.create_tenant(&tx, "db").await.unwrap(), TENANT);
    tx.commit().await.map_err(|failed| failed.error).unwrap();
    let store = ColdStore::open(&ObjectStoreConfig::default(), dir.path())
        .unwrap()
        .claim(&db, &layout)
        .await
        .unwrap();

    // Ten days ago, one bucket: blocks k1..k3 of incompressible values, so the four blocks
    // merge into more than one part (the case where a part can land at a key tiering read).
    // The late block k4 holds the bucket's earliest times: merged in time order, its rows go
    // to the first part.
    let base = bucket_start(now_nanos() - 10 * 86_400 * 1_000_000_000);
    let rows = |block: i64| -> Vec<(i64, f64)> {
        (0..ROWS_PER_BLOCK)
            .map(|row| {
                let time = base + block * 1_000_000 + row;
                let noise = xxhash_rust::xxh3::xxh3_64(&time.to_le_bytes());
                (time, f64::from_bits(noise >> 12 | 0x3ff0_0000_0000_0000))
            })
            .collect()
    };
    for block in 1..=3 {
        write_block(&db, &layout, &rows(block)).await;
    }
    let mut expected: Vec<(i64, f64)> = (0..=3).flat_map(rows).collect();
    expected.sort_by_key(|row| row.0);

    // After tiering read k1..k3 and registered its file, before it clears: a late write k4 and
    // a compaction of the bucket (k1..k4 into one chunk).
    let late = rows(0);
    let hooked = {
        let (db, layout) = (db.clone(), layout.clone());
        StepHook(Arc::new(move |step| {
            let (db, layout, late) = (db.clone(), layout.clone(), late.clone());
            async move {
                if step != TierStep::AfterRegister {
                    return;
                }
                write_block(&db, &layout, &late).await;
                let tx = db.create_transaction().unwrap();
                let id = layout.find_series(&tx, TENANT, &series()).await.unwrap();
                let stats = compact_bucket(&db, &layout, TENANT, id.unwrap(), base)
                    .await
                    .unwrap();
                assert_eq!(
                    stats.blocks_consumed, 4,
                    "the compaction took all four blocks"
                );
                assert!(
                    stats.chunks_written > 1,
                    "the merge needs several parts: {stats:?}"
                );
            }
            .boxed()
        }))
    };
    let config = TieringConfig {
        hook: Some(hooked),
        grace: Duration::ZERO,
        ..TieringConfig::default()
    };
    let tierer = Tierer {
        db: &db,
        layout: &layout,
        store: &store,
        config: &config,
    };
    let stats = tierer.run_pass(&|_| {}).await.unwrap();
    assert_eq!((stats.partitions, stats.failures), (1, 0), "{stats:?}");
    assert_same(
        &both_tiers(&db, &layout, &store).await,
        &expected,
        "after the race",
    );

    // The next pass folds what stayed hot into the cold tier.
    let plain = TieringConfig {
        grace: Duration::ZERO,
        ..TieringConfig::default()
    };
    let tierer = Tierer {
        config: &plain,
        ..tierer
    };
    tierer.run_pass(&|_| {}).await.unwrap();
    let tx = db.create_transaction().unwrap();
    let id = layout
        .find_series(&tx, TENANT, &series())
        .await
        .unwrap()
        .unwrap();
    let (begin, end) = layout.data_range(TENANT, id, base, base + BUCKET_NANOS);
    let hot = tx
        .get_range_all(&tidemark_storage::RangeRequest::new(begin, end), true)
        .await
        .unwrap();
    assert!(
        hot.is_empty(),
        "the bucket is fully tiered: {} keys",
        hot.len()
    );
    assert_same(
        &both_tiers(&db, &layout, &store).await,
        &expected,
        "after the next pass",
    );
}
