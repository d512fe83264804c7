//! The shared retry loop under injected failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tidemark_storage::embedded::FaultConfig;
use tidemark_storage::error::code::COMMIT_UNKNOWN_RESULT;
use tidemark_storage::{AtomicOp, KvDatabase, KvError, KvTransaction, RunOptions, run};

use crate::{Backend, Ctx};

fn skip_without_injection(backend: &str) {
    eprintln!("NOTICE: {backend} cannot inject commit faults; skipping this retry case");
}

/// Increments `counter` once per `request_id`: the marker key makes the transaction idempotent.
async fn idempotent_increment<D: KvDatabase>(
    db: &D,
    counter: Vec<u8>,
    marker: Vec<u8>,
    retried_unknown: Arc<AtomicU32>,
) -> Result<(), KvError> {
    run(db, RunOptions::idempotent(), move |tx, maybe_committed| {
        let counter = counter.clone();
        let marker = marker.clone();
        let retried_unknown = Arc::clone(&retried_unknown);
        Box::pin(async move {
            if maybe_committed.0 {
                retried_unknown.fetch_add(1, Ordering::Relaxed);
            }
            if tx.get(&marker, false).await?.is_some() {
                return Ok(());
            }
            tx.set(&marker, b"");
            tx.atomic_op(&counter, &1u64.to_le_bytes(), AtomicOp::Add);
            Ok(())
        })
    })
    .await
}

pub(crate) async fn idempotent_increment_lands_exactly_once<B: Backend>(ctx: &Ctx<B>) {
    let faults = FaultConfig {
        seed: 0x7d,
        retryable: 0.15,
        unknown_applied: 0.2,
        unknown_not_applied: 0.2,
        read_retryable: 0.0,
    };
    let Some(db) = ctx.backend.open_with_faults(faults) else {
        return skip_without_injection(std::any::type_name::<B>());
    };
    let _ = &ctx.db;
    const INCREMENTS: u32 = 150;
    let retried_unknown = Arc::new(AtomicU32::new(0));
    let counter = ctx.key("counter");
    for request in 0..INCREMENTS {
        let marker = ctx.key(&format!("applied/{request}"));
        idempotent_increment(&db, counter.clone(), marker, Arc::clone(&retried_unknown))
            .await
            .expect("idempotent increments always succeed eventually");
    }
    let total = db
        .create_transaction()
        .unwrap()
        .get(&counter, false)
        .await
        .unwrap();
    assert_eq!(total, Some(u64::from(INCREMENTS).to_le_bytes().to_vec()));
    assert!(
        retried_unknown.load(Ordering::Relaxed) > 10,
        "commit_unknown_result was injected and retried"
    );
}

pub(crate) async fn maybe_committed_is_not_retried_unless_idempotent<B: Backend>(ctx: &Ctx<B>) {
    let faults = FaultConfig {
        seed: 7,
        retryable: 0.0,
        unknown_applied: 1.0,
        unknown_not_applied: 0.0,
        read_retryable: 0.0,
    };
    let Some(db) = ctx.backend.open_with_faults(faults) else {
        return skip_without_injection(std::any::type_name::<B>());
    };
    let _ = &ctx.db;
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = ctx.key("counter");
    let result = run(&db, RunOptions::default(), {
        let attempts = Arc::clone(&attempts);
        move |tx, _| {
            let counter = counter.clone();
            let attempts = Arc::clone(&attempts);
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::Relaxed);
                tx.atomic_op(&counter, &1u64.to_le_bytes(), AtomicOp::Add);
                Ok::<_, KvError>(())
            })
        }
    })
    .await;
    let error = result.expect_err("the unknown result is surfaced");
    assert_eq!(error.code(), COMMIT_UNKNOWN_RESULT);
    assert_eq!(attempts.load(Ordering::Relaxed), 1, "not retried");
    // The fault applied the commit before reporting it unknown: exactly what makes blind
    // retries double-count.
    let total = db
        .create_transaction()
        .unwrap()
        .get(&ctx.key("counter"), false)
        .await
        .unwrap();
    assert_eq!(total, Some(1u64.to_le_bytes().to_vec()));
}

pub(crate) async fn retry_limit_is_honoured<B: Backend>(ctx: &Ctx<B>) {
    // Force a conflict on every attempt: a rival commit lands between each read and commit.
    let attempts = Arc::new(AtomicU32::new(0));
    let key = ctx.key("contended");
    let options = RunOptions {
        retry_limit: Some(2),
        ..RunOptions::default()
    };
    let db = ctx.db.clone();
    let result = run(&ctx.db, options, {
        let attempts = Arc::clone(&attempts);
        move |tx, _| {
            let key = key.clone();
            let attempts = Arc::clone(&attempts);
            let db = db.clone();
            Box::pin(async move {
                attempts.fetch_add(1, Ordering::Relaxed);
                tx.get(&key, false).await?;
                let rival = db.create_transaction()?;
                rival.set(&key, b"rival");
                rival.commit().await.map_err(|failed| failed.error)?;
                tx.set(&key, b"mine");
                Ok::<_, KvError>(())
            })
        }
    })
    .await;
    assert_eq!(
        result.expect_err("gives up").code(),
        tidemark_storage::error::code::NOT_COMMITTED
    );
    assert_eq!(
        attempts.load(Ordering::Relaxed),
        3,
        "one try plus two retries"
    );
}
