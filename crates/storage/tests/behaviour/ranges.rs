//! Range reads: read-your-writes, range clears, paging, limits, modes and reverse order.

use tidemark_storage::{KvTransaction, RangeRequest, StreamingMode};

use crate::{Backend, Ctx, commit};

pub(crate) async fn read_your_writes_in_ranges<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("a", b"1"), ("b", b"2"), ("c", b"3")]).await;
    let tx = ctx.tx();
    tx.set(&ctx.key("b"), b"20");
    tx.clear(&ctx.key("c"));
    tx.set(&ctx.key("d"), b"4");
    let range = RangeRequest::new(ctx.key(""), ctx.key("\x7f"));
    let rows = tx.get_range_all(&range, false).await.unwrap();
    let expected = vec![
        (ctx.key("a"), b"1".to_vec()),
        (ctx.key("b"), b"20".to_vec()),
        (ctx.key("d"), b"4".to_vec()),
    ];
    assert_eq!(rows, expected);
    let mut reversed = tx
        .get_range_all(&range.clone().reverse(), false)
        .await
        .unwrap();
    reversed.reverse();
    assert_eq!(reversed, expected);
    commit(tx).await.unwrap();
    let committed = ctx.tx().get_range_all(&range, false).await.unwrap();
    assert_eq!(committed, expected);
}

pub(crate) async fn clear_range_over_own_writes<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("r/1", b"old"), ("r/5", b"old"), ("s", b"keep")])
        .await;
    let tx = ctx.tx();
    tx.set(&ctx.key("r/2"), b"mine");
    tx.set(&ctx.key("r/3"), b"mine");
    tx.clear_range(&ctx.key("r/"), &ctx.key("r0"));
    tx.set(&ctx.key("r/4"), b"after clear");
    let range = RangeRequest::new(ctx.key(""), ctx.key("\x7f"));
    let expected = vec![
        (ctx.key("r/4"), b"after clear".to_vec()),
        (ctx.key("s"), b"keep".to_vec()),
    ];
    assert_eq!(tx.get_range_all(&range, false).await.unwrap(), expected);
    assert_eq!(tx.get(&ctx.key("r/1"), false).await.unwrap(), None);
    commit(tx).await.unwrap();
    assert_eq!(
        ctx.tx().get_range_all(&range, false).await.unwrap(),
        expected
    );
}

async fn seed_many<B: Backend>(ctx: &Ctx<B>, count: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rows = Vec::with_capacity(count);
    for batch in (0..count).collect::<Vec<_>>().chunks(1000) {
        let tx = ctx.tx();
        for index in batch {
            let row = (
                ctx.key(&format!("row/{index:06}")),
                format!("value {index}").into_bytes(),
            );
            tx.set(&row.0, &row.1);
            rows.push(row);
        }
        commit(tx).await.unwrap();
    }
    rows
}

pub(crate) async fn paging_of_large_ranges<B: Backend>(ctx: &Ctx<B>) {
    let rows = seed_many(ctx, 5_000).await;
    let range = RangeRequest::new(ctx.key("row/"), ctx.key("row0"));
    let tx = ctx.tx();
    // Iterator mode starts with tiny batches, so this pages many times.
    let mut pages = 0;
    let mut seen = Vec::new();
    let mut next = Some(range.clone());
    let mut iteration = 1;
    while let Some(page) = next {
        let chunk = tx.get_range(&page, iteration, true).await.unwrap();
        assert!(
            !chunk.kvs.is_empty() || !chunk.more,
            "a batch with more rows is never empty"
        );
        next = page.next_page(&chunk);
        seen.extend(chunk.kvs);
        pages += 1;
        iteration += 1;
    }
    assert!(pages > 5, "paged {pages} times");
    assert_eq!(seen, rows, "no row skipped or repeated");
    let mut reversed = tx
        .get_range_all(&range.clone().reverse(), true)
        .await
        .unwrap();
    reversed.reverse();
    assert_eq!(reversed, rows);
    let small_batches = range.clone().target_bytes(100).mode(StreamingMode::Small);
    assert_eq!(tx.get_range_all(&small_batches, true).await.unwrap(), rows);
}

pub(crate) async fn limits_modes_and_reverse<B: Backend>(ctx: &Ctx<B>) {
    let rows = seed_many(ctx, 3_000).await;
    let range = RangeRequest::new(ctx.key("row/"), ctx.key("row0"));
    let tx = ctx.tx();
    let limited = tx
        .get_range_all(&range.clone().limit(1_234), false)
        .await
        .unwrap();
    assert_eq!(limited, rows[..1_234]);
    let exact = tx
        .get_range(
            &range.clone().limit(10).mode(StreamingMode::Exact),
            1,
            false,
        )
        .await
        .unwrap();
    assert_eq!(exact.kvs, rows[..10]);
    assert!(exact.more);
    let tail = tx
        .get_range_all(&range.clone().limit(3).reverse(), false)
        .await
        .unwrap();
    assert_eq!(
        tail,
        vec![
            rows[2_999].clone(),
            rows[2_998].clone(),
            rows[2_997].clone()
        ]
    );
    let all = tx
        .get_range_all(&range.clone().mode(StreamingMode::WantAll), false)
        .await
        .unwrap();
    assert_eq!(all, rows);
    let empty = RangeRequest::new(ctx.key("row0"), ctx.key("row/"));
    let chunk = tx.get_range(&empty, 1, false).await.unwrap();
    assert!(
        chunk.kvs.is_empty() && !chunk.more,
        "an inverted read range is empty"
    );
}
