//! FDB's limits and the error codes that enforce them.

use std::time::Duration;

use tidemark_storage::error::code::{
    INVERTED_RANGE, KEY_OUTSIDE_LEGAL_RANGE, KEY_TOO_LARGE, TRANSACTION_TIMED_OUT,
    TRANSACTION_TOO_LARGE, TRANSACTION_TOO_OLD, VALUE_TOO_LARGE,
};
use tidemark_storage::keys::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use tidemark_storage::{AtomicOp, KvTransaction, RangeRequest, ReadWindow, TxOption};

use crate::{Backend, Ctx, assert_code, commit};

pub(crate) async fn key_and_value_limits<B: Backend>(ctx: &Ctx<B>) {
    let prefix_len = ctx.key("").len();
    let longest_key = ctx.key(&"k".repeat(MAX_KEY_BYTES - prefix_len));
    let tx = ctx.tx();
    tx.set(&longest_key, &vec![1u8; MAX_VALUE_BYTES]);
    commit(tx)
        .await
        .expect("keys and values at the limit commit");

    let too_long_key = ctx.key(&"k".repeat(MAX_KEY_BYTES + 1 - prefix_len));
    let tx = ctx.tx();
    tx.set(&too_long_key, b"v");
    assert_code(commit(tx).await, KEY_TOO_LARGE);

    let tx = ctx.tx();
    tx.set(&ctx.key("big"), &vec![1u8; MAX_VALUE_BYTES + 1]);
    assert_code(commit(tx).await, VALUE_TOO_LARGE);

    let tx = ctx.tx();
    tx.atomic_op(
        &ctx.key("big"),
        &vec![1u8; MAX_VALUE_BYTES + 1],
        AtomicOp::Add,
    );
    assert_code(commit(tx).await, VALUE_TOO_LARGE);

    // No key longer than the limit exists, so reading one finds nothing.
    assert_eq!(ctx.tx().get(&too_long_key, false).await.unwrap(), None);
    assert_eq!(ctx.read("big").await, None, "failed commits wrote nothing");
}

pub(crate) async fn system_keyspace_is_illegal<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    tx.set(b"\xffsystem", b"v");
    assert_code(commit(tx).await, KEY_OUTSIDE_LEGAL_RANGE);
    assert_code(
        ctx.tx().get(b"\xff\x01", false).await,
        KEY_OUTSIDE_LEGAL_RANGE,
    );
}

pub(crate) async fn transaction_size_limit<B: Backend>(ctx: &Ctx<B>) {
    let value = vec![7u8; 90_000];
    let tx = ctx.tx();
    for index in 0..120 {
        tx.set(&ctx.key(&format!("bulk/{index:04}")), &value);
    }
    assert!(tx.get_approximate_size().await.unwrap() > 10_000_000);
    assert_code(commit(tx).await, TRANSACTION_TOO_LARGE);

    let tx = ctx.tx();
    for index in 0..80 {
        tx.set(&ctx.key(&format!("bulk/{index:04}")), &value);
    }
    let size = tx.get_approximate_size().await.unwrap();
    assert!(
        (7_200_000..10_000_000).contains(&size),
        "approximate size {size}"
    );
    commit(tx)
        .await
        .expect("7.2 MB of writes fit in one transaction");

    let tx = ctx.tx();
    tx.set_option(TxOption::SizeLimit(100_000)).unwrap();
    tx.set(&ctx.key("over-own-limit"), &value);
    tx.set(&ctx.key("over-own-limit2"), &value);
    assert_code(commit(tx).await, TRANSACTION_TOO_LARGE);
}

pub(crate) async fn five_second_transaction_lifetime<B: Backend>(ctx: &Ctx<B>) {
    let reader = ctx.tx();
    reader.get(&ctx.key("k"), false).await.unwrap();
    let writer = ctx.tx();
    writer.get_read_version().await.unwrap();
    writer.set(&ctx.key("k"), b"late");
    tokio::time::sleep(Duration::from_millis(5_300)).await;
    // Reads past the lifetime: always refused by the embedded backend, may be served by FDB.
    for key in ["never-read", "k"] {
        let read = reader.get(&ctx.key(key), false).await;
        if B::LENIENT_OLD_READS {
            assert!(
                matches!(&read, Ok(None))
                    || read.as_ref().err().map(|e| e.code()) == Some(TRANSACTION_TOO_OLD),
                "read of {key} past the lifetime: {read:?}"
            );
        } else {
            assert_code(read, TRANSACTION_TOO_OLD);
        }
    }
    // A commit past the lifetime fails on both, deterministically.
    assert_code(commit(writer).await, TRANSACTION_TOO_OLD);
    assert_eq!(ctx.read("k").await, None);
}

/// A scan that takes longer than a transaction may live (a slow consumer between pages) reads
/// everything through a [`ReadWindow`], which renews its transaction before FDB refuses it.
pub(crate) async fn scan_longer_than_the_lifetime_through_read_windows<B: Backend>(ctx: &Ctx<B>) {
    const KEYS: usize = 240;
    let names: Vec<String> = (0..KEYS).map(|i| format!("scan/{i:04}")).collect();
    for chunk in names.chunks(80) {
        let pairs: Vec<(&str, &[u8])> = chunk.iter().map(|n| (n.as_str(), &b"v"[..])).collect();
        ctx.put(&pairs).await;
    }
    let started = std::time::Instant::now();
    let mut window = ReadWindow::new(ctx.db.clone());
    let end = ctx.key("scan0");
    let mut begin = ctx.key("scan/");
    let mut seen = Vec::new();
    loop {
        let page = RangeRequest::new(begin.clone(), end.clone()).limit(20);
        let chunk = window
            .read(|tx| {
                let page = page.clone();
                Box::pin(async move { tx.get_range(&page, 1, true).await })
            })
            .await
            .expect("every page is read");
        let Some((last, _)) = chunk.kvs.last() else {
            break;
        };
        begin = tidemark_storage::keys::key_after(last);
        seen.extend(chunk.kvs.into_iter().map(|(key, _)| key));
        // The consumer is slow: 12 pages at 500 ms take 6 s, past the 5 s lifetime.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(started.elapsed() > Duration::from_millis(5_500));
    let expected: Vec<Vec<u8>> = names.iter().map(|name| ctx.key(name)).collect();
    assert_eq!(seen, expected, "every key once, in order");
    assert!(
        window.renewals() >= 2,
        "renewed {} times",
        window.renewals()
    );
}

pub(crate) async fn timeout_option<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    tx.set_option(TxOption::Timeout(Duration::from_millis(200)))
        .unwrap();
    tx.set(&ctx.key("k"), b"v");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let error = commit(tx).await.expect_err("timed out");
    assert_eq!(error.code(), TRANSACTION_TIMED_OUT);
    assert!(!error.is_retryable(), "a timeout is not retried");
    assert_eq!(ctx.read("k").await, None);
}

pub(crate) async fn inverted_clear_range<B: Backend>(ctx: &Ctx<B>) {
    let tx = ctx.tx();
    tx.clear_range(&ctx.key("z"), &ctx.key("a"));
    assert_code(commit(tx).await, INVERTED_RANGE);
}
