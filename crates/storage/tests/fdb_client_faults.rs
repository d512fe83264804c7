//! The shared retry loop on FoundationDB with FDB's own client fault injection: commits fail
//! with `commit_unknown_result` (some of them applied, some not), reads and commits with the
//! retryable errors of a troubled cluster, and every idempotent transaction still lands exactly
//! once, as on the embedded backend with its injected faults (`behaviour/retries.rs`).
//!
//! Client buggify is process-wide, so this is a test binary of its own (feature `fdb`, needs
//! `FDB_CLUSTER_FILE`; with `TIDEMARK_REQUIRE_FDB=1` a missing cluster fails instead of skipping).

use std::sync::{Arc, Mutex};

use tidemark_storage::fdb::{ClientFaults, FdbKv, start_network_with_faults};
use tidemark_storage::{AtomicOp, KvError, KvTransaction, RunOptions, run};

/// What the retry loop saw: how many attempts were told a commit's outcome was unknown, and how
/// many of those found on retry that the commit had in fact applied.
#[derive(Debug, Default)]
struct Seen {
    unknown_retries: u32,
    applied_before: u32,
}

async fn idempotent_increment(
    db: &FdbKv,
    counter: Vec<u8>,
    marker: Vec<u8>,
    seen: Arc<Mutex<Seen>>,
) -> Result<(), KvError> {
    run(db, RunOptions::idempotent(), move |tx, maybe_committed| {
        let (counter, marker, seen) = (counter.clone(), marker.clone(), Arc::clone(&seen));
        Box::pin(async move {
            let done = tx.get(&marker, false).await?.is_some();
            if maybe_committed.0 {
                let mut seen = seen.lock().unwrap();
                seen.unknown_retries += 1;
                seen.applied_before += u32::from(done);
            }
            if done {
                return Ok(());
            }
            tx.set(&marker, b"");
            tx.atomic_op(&counter, &1u64.to_le_bytes(), AtomicOp::Add);
            Ok(())
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_increments_land_exactly_once_under_client_faults() {
    let Ok(cluster_file) = std::env::var("FDB_CLUSTER_FILE") else {
        assert!(
            std::env::var("TIDEMARK_REQUIRE_FDB").as_deref() != Ok("1"),
            "FDB_CLUSTER_FILE is not set but TIDEMARK_REQUIRE_FDB=1"
        );
        eprintln!("NOTICE: FDB_CLUSTER_FILE is not set; skipping the FDB client-fault case");
        return;
    };
    // Every fault section active, each firing on 5% of its runs: most transactions meet at
    // least one fault over a few attempts, and every attempt still has a fair chance.
    let faults = ClientFaults {
        activated_percent: 100,
        fired_percent: 5,
    };
    // SAFETY: the only network of this test process; the guard is dropped at the end.
    let network = unsafe { start_network_with_faults(faults) }.expect("boot FDB's client");
    let db = FdbKv::open(Some(&cluster_file)).expect("open the cluster");
    let prefix = format!(
        "tidemark-test/client-faults/{:016x}/",
        rand::random::<u64>()
    );
    let key = |name: &str| format!("{prefix}{name}").into_bytes();

    const INCREMENTS: u32 = 400;
    let seen = Arc::new(Mutex::new(Seen::default()));
    for request in 0..INCREMENTS {
        let result = idempotent_increment(
            &db,
            key("counter"),
            key(&format!("applied/{request:04}")),
            Arc::clone(&seen),
        )
        .await;
        if let Err(error) = result {
            panic!("request {request}: the retry loop gave up: {error:?}");
        }
    }
    // Read back outside the faults' reach: retry until a read gets through.
    let total = run(&db, RunOptions::default(), |tx, _| {
        let counter = key("counter");
        Box::pin(async move { tx.get(&counter, false).await })
    })
    .await
    .expect("read the counter");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!("client faults: {seen:?}");
    assert_eq!(
        total,
        Some(u64::from(INCREMENTS).to_le_bytes().to_vec()),
        "every increment exactly once ({seen:?})"
    );
    assert!(
        seen.unknown_retries > 0,
        "FDB's client reported commit_unknown_result at least once: {seen:?}"
    );
    drop(db);
    drop(network);
}
