//! Randomized transactions checked against a plain ordered-map model: every read inside the
//! transaction and the state after commit must equal what the model computes.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tidemark_storage::atomic;
use tidemark_storage::{AtomicOp, KvTransaction, RangeRequest};

use crate::{Backend, Ctx, commit};

const KEYS: u8 = 12;
const ROUNDS: u64 = 60;
const OPS_PER_ROUND: usize = 25;

fn name(index: u8) -> String {
    format!("m/{index:02}")
}

/// Reads every key of the model's keyspace through a range read, forward or reverse, with or
/// without a limit, and compares with the model.
async fn check_range<T: KvTransaction>(
    tx: &T,
    keys: &[Vec<u8>],
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    rng: &mut StdRng,
    context: &str,
) {
    let lo = rng.random_range(0..KEYS as usize);
    let hi = rng.random_range(lo..=KEYS as usize);
    let begin = keys[lo].clone();
    let end = keys.get(hi).cloned().unwrap_or_else(|| {
        let mut end = keys[0][..keys[0].len() - 2].to_vec();
        end.push(b'~');
        end
    });
    let mut expected: Vec<(Vec<u8>, Vec<u8>)> = model
        .range(begin.clone()..end.clone())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut request = RangeRequest::new(begin, end);
    if rng.random_bool(0.5) {
        request = request.reverse();
        expected.reverse();
    }
    if rng.random_bool(0.3) {
        let limit = rng.random_range(1..4);
        request = request.limit(limit);
        expected.truncate(limit);
    }
    let snapshot = rng.random_bool(0.5);
    let actual = tx.get_range_all(&request, snapshot).await.unwrap();
    assert_eq!(actual, expected, "{context}: range {request:?}");
}

pub(crate) async fn random_transactions_match_a_model<B: Backend>(ctx: &Ctx<B>) {
    let keys: Vec<Vec<u8>> = (0..KEYS).map(|index| ctx.key(&name(index))).collect();
    let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut rng = StdRng::seed_from_u64(round);
        let tx = ctx.tx();
        let mut model = committed.clone();
        for step in 0..OPS_PER_ROUND {
            let context = format!("round {round} step {step}");
            let key = keys[rng.random_range(0..keys.len())].clone();
            match rng.random_range(0..7) {
                0 | 1 => {
                    let value = vec![rng.random::<u8>(); rng.random_range(0..4)];
                    tx.set(&key, &value);
                    model.insert(key, value);
                }
                2 => {
                    tx.clear(&key);
                    model.remove(&key);
                }
                3 => {
                    let other = keys[rng.random_range(0..keys.len())].clone();
                    let (begin, end) = if key <= other {
                        (key, other)
                    } else {
                        (other, key)
                    };
                    tx.clear_range(&begin, &end);
                    let doomed: Vec<_> = model.range(begin..end).map(|(k, _)| k.clone()).collect();
                    for gone in doomed {
                        model.remove(&gone);
                    }
                }
                4 => {
                    let ops = [
                        AtomicOp::Add,
                        AtomicOp::Max,
                        AtomicOp::ByteMin,
                        AtomicOp::AppendIfFits,
                    ];
                    let op = ops[rng.random_range(0..ops.len())];
                    let param = vec![rng.random::<u8>(); rng.random_range(1..3)];
                    tx.atomic_op(&key, &param, op);
                    match atomic::apply(op, model.get(&key).map(Vec::as_slice), &param) {
                        Some(value) => model.insert(key, value),
                        None => model.remove(&key),
                    };
                }
                5 => {
                    let snapshot = rng.random_bool(0.5);
                    let actual = tx.get(&key, snapshot).await.unwrap();
                    assert_eq!(actual.as_ref(), model.get(&key), "{context}: get");
                }
                _ => check_range(&tx, &keys, &model, &mut rng, &context).await,
            }
        }
        commit(tx)
            .await
            .unwrap_or_else(|error| panic!("round {round}: {error}"));
        committed = model;
        let reader = ctx.tx();
        let (begin, end) = (keys[0].clone(), ctx.key("m/~"));
        let stored = reader
            .get_range_all(&RangeRequest::new(begin, end), false)
            .await
            .unwrap();
        let expected: Vec<_> = committed
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(stored, expected, "round {round}: state after commit");
    }
}
