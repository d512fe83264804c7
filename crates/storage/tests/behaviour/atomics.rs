//! Atomic mutations through the database: FDB's documented semantics and their conflict rules.

use tidemark_storage::error::code::NOT_COMMITTED;
use tidemark_storage::{AtomicOp, KvTransaction};

use crate::{Backend, Ctx, assert_code, commit};

fn le(value: u64, width: usize) -> Vec<u8> {
    value.to_le_bytes()[..width].to_vec()
}

/// `(op, existing value, parameter, expected result)`.
type Case = (AtomicOp, Option<Vec<u8>>, Vec<u8>, Option<Vec<u8>>);

/// The cases, from the semantics FDB documents for each
/// mutation type (`fdb.options` and the API reference), including width and absence rules.
fn documented_cases() -> Vec<Case> {
    vec![
        (AtomicOp::Add, None, le(5, 8), Some(le(5, 8))),
        (AtomicOp::Add, Some(le(7, 8)), le(5, 8), Some(le(12, 8))),
        (
            AtomicOp::Add,
            Some(vec![0xff]),
            vec![1, 0],
            Some(vec![0, 1]),
        ),
        (
            AtomicOp::Add,
            Some(vec![0xff, 0xff]),
            vec![1],
            Some(vec![0]),
        ),
        (
            AtomicOp::Add,
            Some(le(10, 8)),
            (-3i64).to_le_bytes().to_vec(),
            Some(le(7, 8)),
        ),
        (AtomicOp::BitAnd, None, vec![0x0f], Some(vec![0x0f])),
        (
            AtomicOp::BitAnd,
            Some(vec![0x3c, 0xff]),
            vec![0x0f],
            Some(vec![0x0c]),
        ),
        (
            AtomicOp::BitOr,
            Some(vec![0x30]),
            vec![0x0f, 1],
            Some(vec![0x3f, 1]),
        ),
        (AtomicOp::BitOr, None, vec![0x0f], Some(vec![0x0f])),
        (
            AtomicOp::BitXor,
            Some(vec![0xff]),
            vec![0x0f],
            Some(vec![0xf0]),
        ),
        (AtomicOp::Max, None, le(9, 4), Some(le(9, 4))),
        (AtomicOp::Max, Some(le(300, 2)), le(2, 2), Some(le(300, 2))),
        (AtomicOp::Max, Some(le(2, 2)), le(300, 2), Some(le(300, 2))),
        (
            AtomicOp::Max,
            Some(vec![1, 0, 9]),
            vec![2, 0],
            Some(vec![2, 0]),
        ),
        (AtomicOp::Min, None, le(9, 4), Some(le(9, 4))),
        (AtomicOp::Min, Some(le(3, 4)), le(9, 4), Some(le(3, 4))),
        (AtomicOp::Min, Some(vec![1]), vec![0, 1], Some(vec![1, 0])),
        (AtomicOp::ByteMax, None, b"m".to_vec(), Some(b"m".to_vec())),
        (
            AtomicOp::ByteMax,
            Some(b"b".to_vec()),
            b"ab".to_vec(),
            Some(b"b".to_vec()),
        ),
        (
            AtomicOp::ByteMin,
            Some(b"b".to_vec()),
            b"ab".to_vec(),
            Some(b"ab".to_vec()),
        ),
        (
            AtomicOp::ByteMin,
            None,
            b"zz".to_vec(),
            Some(b"zz".to_vec()),
        ),
        (
            AtomicOp::AppendIfFits,
            None,
            b"ab".to_vec(),
            Some(b"ab".to_vec()),
        ),
        (
            AtomicOp::AppendIfFits,
            Some(b"ab".to_vec()),
            b"cd".to_vec(),
            Some(b"abcd".to_vec()),
        ),
        (
            AtomicOp::AppendIfFits,
            Some(vec![7u8; 99_999]),
            b"xy".to_vec(),
            Some(vec![7u8; 99_999]),
        ),
        (
            AtomicOp::CompareAndClear,
            Some(b"v".to_vec()),
            b"v".to_vec(),
            None,
        ),
        (
            AtomicOp::CompareAndClear,
            Some(b"v".to_vec()),
            b"w".to_vec(),
            Some(b"v".to_vec()),
        ),
        (AtomicOp::CompareAndClear, None, b"v".to_vec(), None),
    ]
}

pub(crate) async fn documented_examples<B: Backend>(ctx: &Ctx<B>) {
    for (index, (op, existing, param, expected)) in documented_cases().into_iter().enumerate() {
        let key = ctx.key(&format!("atomic/{index}"));
        if let Some(existing) = &existing {
            let tx = ctx.tx();
            tx.set(&key, existing);
            commit(tx).await.unwrap();
        }
        let tx = ctx.tx();
        tx.atomic_op(&key, &param, op);
        commit(tx).await.unwrap();
        let actual = ctx.tx().get(&key, false).await.unwrap();
        assert_eq!(
            actual, expected,
            "case {index}: {op:?} over {existing:?} with {param:?}"
        );
    }
}

pub(crate) async fn atomic_ops_never_conflict_with_each_other<B: Backend>(ctx: &Ctx<B>) {
    let key = ctx.key("sum");
    let first = ctx.tx();
    let second = ctx.tx();
    first.get_read_version().await.unwrap();
    second.get_read_version().await.unwrap();
    first.atomic_op(&key, &le(2, 8), AtomicOp::Add);
    first.atomic_op(&ctx.key("hi"), &le(2, 8), AtomicOp::Max);
    second.atomic_op(&key, &le(3, 8), AtomicOp::Add);
    second.atomic_op(&ctx.key("hi"), &le(7, 8), AtomicOp::Max);
    commit(second).await.unwrap();
    commit(first).await.unwrap();
    assert_eq!(ctx.read("sum").await, Some(le(5, 8)));
    assert_eq!(ctx.read("hi").await, Some(le(7, 8)));
}

pub(crate) async fn reading_an_atomic_key_restores_the_conflict<B: Backend>(ctx: &Ctx<B>) {
    let key = ctx.key("sum");
    let tx = ctx.tx();
    tx.atomic_op(&key, &le(2, 8), AtomicOp::Add);
    assert_eq!(tx.get(&key, false).await.unwrap(), Some(le(2, 8)));
    ctx.put(&[("sum", &le(40, 8))]).await;
    assert_code(commit(tx).await, NOT_COMMITTED);
}

pub(crate) async fn own_reads_see_pending_atomic_ops<B: Backend>(ctx: &Ctx<B>) {
    ctx.put(&[("n", &le(10, 8))]).await;
    let tx = ctx.tx();
    tx.atomic_op(&ctx.key("n"), &le(5, 8), AtomicOp::Add);
    tx.atomic_op(&ctx.key("n"), &le(1, 8), AtomicOp::Add);
    // A snapshot read sees the pending ops too (read-your-writes) but records no conflict.
    assert_eq!(tx.get(&ctx.key("n"), true).await.unwrap(), Some(le(16, 8)));
    tx.set(&ctx.key("fresh"), &le(1, 8));
    tx.atomic_op(&ctx.key("fresh"), &le(1, 8), AtomicOp::Add);
    assert_eq!(
        tx.get(&ctx.key("fresh"), false).await.unwrap(),
        Some(le(2, 8))
    );
    commit(tx).await.unwrap();
    assert_eq!(ctx.read("n").await, Some(le(16, 8)));
    assert_eq!(ctx.read("fresh").await, Some(le(2, 8)));
}
