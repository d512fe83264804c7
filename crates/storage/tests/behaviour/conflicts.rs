//! The conflict matrix: which concurrent pairs FDB's resolver aborts and which it lets through.

use tidemark_storage::error::code::NOT_COMMITTED;
use tidemark_storage::{ConflictKind, KvTransaction, RangeRequest, RunOptions, TxOption, run};

use crate::{Backend, Ctx, assert_code, commit};

pub(crate) async fn read_then_foreign_write_conflicts<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("k", b"0")]).await;
    let reader = ctx.tx();
    assert_eq!(
        reader.get(&ctx.key("k"), false).await.unwrap(),
        Some(b"0".to_vec())
    );
    let writer = ctx.tx();
    writer.set(&ctx.key("k"), b"1");
    commit(writer).await.unwrap();
    reader.set(&ctx.key("other"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
    assert_eq!(
        ctx.read("other").await,
        None,
        "a conflicted transaction wrote nothing"
    );
}

pub(crate) async fn blind_writes_never_conflict<B: Backend>(ctx: &Ctx<B>) {
    let first = ctx.tx();
    let second = ctx.tx();
    first.get_read_version().await.unwrap();
    second.get_read_version().await.unwrap();
    first.set(&ctx.key("k"), b"first");
    second.set(&ctx.key("k"), b"second");
    commit(second).await.unwrap();
    commit(first).await.unwrap();
    assert_eq!(
        ctx.read("k").await,
        Some(b"first".to_vec()),
        "the later commit wins"
    );
}

pub(crate) async fn range_read_sees_phantoms<B: Backend>(ctx: &Ctx<B>) {
    let reader = ctx.tx();
    let range = RangeRequest::new(ctx.key("a"), ctx.key("c"));
    assert!(
        reader
            .get_range_all(&range, false)
            .await
            .unwrap()
            .is_empty()
    );
    ctx.put(&[("b", b"phantom")]).await;
    reader.set(&ctx.key("z"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
}

pub(crate) async fn range_read_ignores_writes_outside<B: Backend>(ctx: &Ctx<B>) {
    let reader = ctx.tx();
    let range = RangeRequest::new(ctx.key("a"), ctx.key("c"));
    reader.get_range_all(&range, false).await.unwrap();
    // `c` is the exclusive end of the range read.
    ctx.put(&[("c", b"outside"), ("0", b"before")]).await;
    reader.set(&ctx.key("z"), b"x");
    commit(reader).await.unwrap();
}

pub(crate) async fn snapshot_reads_record_nothing<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("k", b"0")]).await;
    let reader = ctx.tx();
    reader.get(&ctx.key("k"), true).await.unwrap();
    let range = RangeRequest::new(ctx.key("a"), ctx.key("z"));
    reader.get_range_all(&range, true).await.unwrap();
    ctx.put(&[("k", b"1"), ("m", b"new")]).await;
    reader.set(&ctx.key("out"), b"x");
    commit(reader).await.unwrap();
}

async fn seed_letters<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[
        ("a", b"1"),
        ("b", b"2"),
        ("c", b"3"),
        ("d", b"4"),
        ("e", b"5"),
    ])
    .await;
}

pub(crate) async fn limited_range_conflicts_only_up_to_last_row<B: Backend>(ctx: &Ctx<B>) {
    seed_letters(ctx).await;
    let request = RangeRequest::new(ctx.key("a"), ctx.key("z")).limit(2);
    // A write past the last row returned does not conflict...
    let reader = ctx.tx();
    let chunk = reader.get_range(&request, 1, false).await.unwrap();
    assert_eq!(chunk.kvs.len(), 2);
    assert!(chunk.more);
    ctx.put(&[("y", b"late")]).await;
    reader.set(&ctx.key("out1"), b"x");
    commit(reader).await.unwrap();
    // ...but one between the rows returned does.
    let reader = ctx.tx();
    reader.get_range(&request, 1, false).await.unwrap();
    ctx.put(&[("a0", b"between")]).await;
    reader.set(&ctx.key("out2"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
}

pub(crate) async fn limited_reverse_range_conflicts_only_down_to_last_row<B: Backend>(
    ctx: &Ctx<B>,
) {
    seed_letters(ctx).await;
    let request = RangeRequest::new(ctx.key("a"), ctx.key("z"))
        .limit(2)
        .reverse();
    let reader = ctx.tx();
    let chunk = reader.get_range(&request, 1, false).await.unwrap();
    let keys: Vec<_> = chunk.kvs.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(keys, vec![ctx.key("e"), ctx.key("d")]);
    ctx.put(&[("b", b"below")]).await;
    reader.set(&ctx.key("out1"), b"x");
    commit(reader).await.unwrap();
    let reader = ctx.tx();
    reader.get_range(&request, 1, false).await.unwrap();
    ctx.put(&[("x", b"above")]).await;
    reader.set(&ctx.key("out2"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
}

pub(crate) async fn read_only_transactions_always_commit<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("k", b"0")]).await;
    let reader = ctx.tx();
    reader.get(&ctx.key("k"), false).await.unwrap();
    ctx.put(&[("k", b"1")]).await;
    let committed = commit(reader).await.unwrap();
    assert_eq!(
        committed.version, -1,
        "FDB reports -1 for read-only commits"
    );
}

pub(crate) async fn reads_of_own_writes_add_no_conflict<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    tx.set(&ctx.key("k"), b"mine");
    assert_eq!(
        tx.get(&ctx.key("k"), false).await.unwrap(),
        Some(b"mine".to_vec())
    );
    tx.clear_range(&ctx.key("r"), &ctx.key("s"));
    let range = RangeRequest::new(ctx.key("r"), ctx.key("s"));
    assert!(tx.get_range_all(&range, false).await.unwrap().is_empty());
    ctx.put(&[("k", b"theirs"), ("r1", b"theirs")]).await;
    commit(tx).await.unwrap();
    assert_eq!(ctx.read("k").await, Some(b"mine".to_vec()));
    assert_eq!(ctx.read("r1").await, None);
}

pub(crate) async fn explicit_conflict_ranges<B: Backend>(ctx: &Ctx<B>) {
    // An explicit read conflict behaves like a read of the range.
    let reader = ctx.tx();
    reader.get_read_version().await.unwrap();
    reader
        .add_conflict_range(&ctx.key("a"), &ctx.key("c"), ConflictKind::Read)
        .unwrap();
    ctx.put(&[("b", b"x")]).await;
    reader.set(&ctx.key("z"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
    // An explicit write conflict aborts readers of the key without writing it.
    let reader = ctx.tx();
    reader.get(&ctx.key("guard"), false).await.unwrap();
    let fencer = ctx.tx();
    fencer.add_write_conflict_key(&ctx.key("guard")).unwrap();
    fencer.set(&ctx.key("unrelated"), b"x");
    commit(fencer).await.unwrap();
    reader.set(&ctx.key("z"), b"x");
    assert_code(commit(reader).await, NOT_COMMITTED);
    assert_eq!(ctx.read("guard").await, None);
}

pub(crate) async fn next_write_without_conflict_range<B: Backend>(ctx: &Ctx<B>) {
    let reader = ctx.tx();
    reader.get(&ctx.key("k"), false).await.unwrap();
    let writer = ctx.tx();
    writer
        .set_option(TxOption::NextWriteNoWriteConflictRange)
        .unwrap();
    writer.set(&ctx.key("k"), b"quiet");
    commit(writer).await.unwrap();
    reader.set(&ctx.key("z"), b"x");
    commit(reader).await.unwrap();
    assert_eq!(ctx.read("k").await, Some(b"quiet".to_vec()));
}

pub(crate) async fn serializable_read_modify_write_under_contention<B: Backend>(ctx: &Ctx<B>) {
    // Plain read-then-write increments from concurrent workers: only serializable conflict
    // detection keeps the total exact.
    const WORKERS: usize = 8;
    const INCREMENTS: usize = 40;
    let key = ctx.key("counter");
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let db = ctx.db.clone();
        let key = key.clone();
        workers.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                let key = key.clone();
                run(&db, RunOptions::default(), move |tx, _| {
                    let key = key.clone();
                    Box::pin(async move {
                        let current = tx.get(&key, false).await?;
                        let count = current.map_or(0, |bytes| {
                            u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
                        });
                        tx.set(&key, &(count + 1).to_le_bytes());
                        Ok::<_, tidemark_storage::KvError>(())
                    })
                })
                .await
                .expect("increment");
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let total = ctx.read("counter").await.expect("counter");
    assert_eq!(
        u64::from_le_bytes(total.try_into().unwrap()),
        (WORKERS * INCREMENTS) as u64
    );
}
