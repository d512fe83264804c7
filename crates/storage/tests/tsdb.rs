//! The time-series layout on the embedded backend: series identity and collision probing.

use tidemark_storage::tsdb::{Layout, SeriesId, SeriesKey};
use tidemark_storage::{EmbeddedKv, EmbeddedOptions, KvDatabase, KvTransaction};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_series_ids_are_probed_past() {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let layout = Layout::default();
    let tx = db.create_transaction().unwrap();
    let tenant = layout.create_tenant(&tx, "db").await.unwrap();
    let key = SeriesKey::new("cpu", vec![("host".into(), "a".into())]);
    let squatter = SeriesKey::new("other", vec![]);
    // Plant a different series at the id `key` hashes to: a 64-bit collision, made by hand.
    tx.set(
        &layout.series(tenant, key.hashed_id()),
        &squatter.canonical(),
    );
    tx.commit().await.map_err(|failed| failed.error).unwrap();

    let tx = db.create_transaction().unwrap();
    assert_eq!(layout.find_series(&tx, tenant, &key).await.unwrap(), None);
    let (id, created) = layout.resolve_series(&tx, tenant, &key).await.unwrap();
    assert!(created);
    assert_eq!(
        id,
        SeriesId(key.hashed_id().0.wrapping_add(1)),
        "the next free id"
    );
    tx.commit().await.map_err(|failed| failed.error).unwrap();

    let tx = db.create_transaction().unwrap();
    assert_eq!(
        layout.find_series(&tx, tenant, &key).await.unwrap(),
        Some(id)
    );
    assert_eq!(
        layout.resolve_series(&tx, tenant, &key).await.unwrap(),
        (id, false)
    );
    assert_eq!(
        layout.series_key(&tx, tenant, id).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        layout
            .series_key(&tx, tenant, key.hashed_id())
            .await
            .unwrap(),
        Some(squatter)
    );
}
