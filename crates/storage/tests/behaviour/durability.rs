//! Durability: a process killed with SIGKILL loses nothing it had acknowledged.
//!
//! The test re-runs its own test binary as a child that commits in a loop and prints each
//! acknowledged key; the parent kills it mid-stream, reopens the directory and checks every
//! acknowledged key.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tidemark_storage::embedded::{EmbeddedKv, EmbeddedOptions};
use tidemark_storage::{KvDatabase, KvTransaction, RangeRequest};

use crate::{Backend, Ctx, commit};

const CHILD_DIR_VAR: &str = "TIDEMARK_DURABILITY_CHILD_DIR";
const ACKS_BEFORE_KILL: usize = 400;

/// The child's side: commit forever from concurrent writers, print each acknowledged key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of acknowledged_commits_survive_sigkill, which runs it"]
async fn durability_child() {
    let dir = std::env::var(CHILD_DIR_VAR).expect("spawned by the durability test");
    let db = EmbeddedKv::open(dir, EmbeddedOptions::default()).expect("child open");
    let mut writers = Vec::new();
    for writer in 0..8u32 {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            for sequence in 0u32.. {
                let key = format!("ack/{writer}/{sequence:08}");
                let tx = db.create_transaction().expect("tx");
                tx.set(key.as_bytes(), &[7u8; 100]);
                commit(tx).await.expect("child commit");
                println!("{key}");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}

pub(crate) async fn acknowledged_commits_survive_sigkill<B: Backend>(ctx: &Ctx<B>) {
    let Some(dir) = ctx.backend.directory() else {
        eprintln!("NOTICE: this backend's durability is the cluster's own; skipping");
        return;
    };
    let dir = dir.join("child");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "durability::durability_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DIR_VAR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child line");
        if line.starts_with("ack/") {
            acknowledged.push(line);
            if acknowledged.len() == ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    // SIGKILL: no destructor, no flush, no chance to finish the group in flight.
    child.kill().expect("kill child");
    child.wait().expect("reap child");
    assert_eq!(
        acknowledged.len(),
        ACKS_BEFORE_KILL,
        "child acknowledged enough commits"
    );

    let db = EmbeddedKv::open(&dir, EmbeddedOptions::default()).expect("reopen after kill");
    let tx = db.create_transaction().unwrap();
    let rows = tx
        .get_range_all(&RangeRequest::new(b"ack/".to_vec(), b"ack0".to_vec()), true)
        .await
        .unwrap();
    let stored: std::collections::HashSet<Vec<u8>> = rows.into_iter().map(|(key, _)| key).collect();
    for key in &acknowledged {
        assert!(
            stored.contains(key.as_bytes()),
            "acknowledged {key} was lost"
        );
    }
    // The database keeps working after recovery.
    let tx = db.create_transaction().unwrap();
    tx.set(b"after-recovery", b"ok");
    commit(tx).await.expect("commit after recovery");
}
