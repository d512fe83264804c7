//! Versionstamps: 10 bytes of commit version and batch order, unique and increasing for the life
//! of the database.

use tidemark_storage::error::code::{ACCESSED_UNREADABLE, CLIENT_INVALID_OPERATION};
use tidemark_storage::keys::{Subspace, Versionstamp};
use tidemark_storage::{AtomicOp, KvDatabase, KvTransaction, RangeRequest};

use crate::{Backend, Ctx, assert_code, commit};

fn log_subspace<B: Backend>(ctx: &Ctx<B>) -> Subspace {
    Subspace::from_bytes(ctx.key("log/"))
}

/// Appends one versionstamped log entry and returns the stamp the commit assigned.
async fn append<D: KvDatabase>(db: &D, log: &Subspace, payload: &[u8]) -> [u8; 10] {
    let tx = db.create_transaction().unwrap();
    let key = log.pack_with_versionstamp(&Versionstamp::incomplete(0));
    tx.atomic_op(&key, payload, AtomicOp::SetVersionstampedKey);
    let stamp = tx.get_versionstamp();
    commit(tx).await.unwrap();
    stamp.await.unwrap()
}

pub(crate) async fn keys_and_values_are_stamped_in_commit_order<B: Backend>(ctx: &Ctx<B>) {
    let log = log_subspace(ctx);
    let mut stamps = Vec::new();
    for index in 0..20u32 {
        stamps.push(append(&ctx.db, &log, &index.to_be_bytes()).await);
    }
    assert!(
        stamps.windows(2).all(|pair| pair[0] < pair[1]),
        "stamps increase"
    );
    let (begin, end) = log.range();
    let rows = ctx
        .tx()
        .get_range_all(&RangeRequest::new(begin, end), false)
        .await
        .unwrap();
    assert_eq!(rows.len(), 20);
    for (index, ((key, value), stamp)) in rows.iter().zip(&stamps).enumerate() {
        let decoded: Versionstamp = log.unpack(key).unwrap();
        assert_eq!(
            decoded.as_bytes()[..10],
            stamp[..],
            "row {index} carries its stamp"
        );
        assert_eq!(value, &(index as u32).to_be_bytes());
    }
    // A versionstamped value: the 10 bytes at the offset become the stamp.
    let tx = ctx.tx();
    let mut param = b"v=".to_vec();
    param.extend([0u8; 10]);
    param.extend(2u32.to_le_bytes());
    tx.atomic_op(
        &ctx.key("stamped-value"),
        &param,
        AtomicOp::SetVersionstampedValue,
    );
    let stamp = tx.get_versionstamp();
    commit(tx).await.unwrap();
    let stamp = stamp.await.unwrap();
    let value = ctx.read("stamped-value").await.unwrap();
    assert_eq!(&value[..2], b"v=");
    assert_eq!(value[2..], stamp);
    assert!(stamp > stamps[19]);
}

pub(crate) async fn concurrent_commits_get_unique_stamps<B: Backend>(ctx: &Ctx<B>) {
    let log = log_subspace(ctx);
    let mut tasks = Vec::new();
    for writer in 0..64u32 {
        let db = ctx.db.clone();
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut stamps = Vec::new();
            for _ in 0..5 {
                stamps.push(append(&db, &log, &writer.to_be_bytes()).await);
            }
            stamps
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let stamps = task.await.unwrap();
        assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
        all.extend(stamps);
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "no two commits share a versionstamp");
    let (begin, end) = log.range();
    let rows = ctx
        .tx()
        .get_range_all(&RangeRequest::new(begin, end), false)
        .await
        .unwrap();
    assert_eq!(rows.len(), count, "no versionstamped key overwrote another");
}

pub(crate) async fn stamped_writes_are_unreadable_in_their_transaction<B: Backend>(ctx: &Ctx<B>) {
    let log = log_subspace(ctx);
    let tx = ctx.tx();
    tx.get_read_version().await.unwrap();
    tx.atomic_op(
        &log.pack_with_versionstamp(&Versionstamp::incomplete(0)),
        b"x",
        AtomicOp::SetVersionstampedKey,
    );
    let (begin, end) = log.range();
    assert_code(
        tx.get_range(&RangeRequest::new(begin, end), 1, false).await,
        ACCESSED_UNREADABLE,
    );
    let mut param = vec![0u8; 10];
    param.extend(0u32.to_le_bytes());
    tx.atomic_op(&ctx.key("v"), &param, AtomicOp::SetVersionstampedValue);
    assert_code(tx.get(&ctx.key("v"), false).await, ACCESSED_UNREADABLE);
}

pub(crate) async fn read_only_transactions_have_no_versionstamp<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    tx.get(&ctx.key("nothing"), false).await.unwrap();
    let stamp = tx.get_versionstamp();
    commit(tx).await.unwrap();
    assert!(
        stamp.await.is_err(),
        "read-only commits assign no versionstamp"
    );
}

pub(crate) async fn malformed_offsets_fail_the_commit<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    let mut key = ctx.key("short");
    key.extend(100u32.to_le_bytes());
    tx.atomic_op(&key, b"x", AtomicOp::SetVersionstampedKey);
    assert_code(commit(tx).await, CLIENT_INVALID_OPERATION);
}

pub(crate) async fn stamps_stay_monotonic_across_reopen<B: Backend>(ctx: &Ctx<B>) {
    let _ = ctx;
    let mut last = [0u8; 10];
    // A database of its own, closed and reopened: the embedded backend recovers its directory.
    let backend = B::start("reopen").expect("backend");
    let log = Subspace::from_bytes([backend.prefix(), b"log/"].concat());
    for round in 0..3 {
        let db = backend.open();
        let stamp = append(&db, &log, b"reopened").await;
        assert!(
            stamp > last,
            "round {round}: stamps keep increasing after reopening"
        );
        last = stamp;
        drop(db);
    }
    let db = backend.open();
    let (begin, end) = log.range();
    let rows = db
        .create_transaction()
        .unwrap()
        .get_range_all(&RangeRequest::new(begin, end), false)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "every stamped key survived the reopens");
}
