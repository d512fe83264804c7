//! Crash safety: sustained ingest, SIGKILL, restart: every acknowledged point is there, and
//! nothing is duplicated.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;

use crate::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_points_survive_sigkill() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let server = TestServer::start_in(&data_dir, &[]);
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..6u64 {
        let url = server.url("/write?db=crash");
        let acknowledged = Arc::clone(&acknowledged);
        let stop = Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut next = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let times: Vec<u64> = (next..next + 50).collect();
                let body: String = times
                    .iter()
                    .map(|t| format!("m,w={writer} v={t} {t}\n"))
                    .collect();
                next += 50;
                match client.post(&url).body(body).send().await {
                    Ok(response) if response.status() == 204 => {
                        let mut acked = acknowledged.lock().await;
                        acked.extend(times.into_iter().map(|t| (writer, t)));
                    }
                    _ => break, // the server is gone: this batch was never acknowledged
                }
            }
        }));
    }
    // Let ingest run, then kill the server in the middle of it.
    while acknowledged.lock().await.len() < 6_000 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pid = server.pid().to_string();
    std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    drop(server);

    let acknowledged = acknowledged.lock().await.clone();
    let restarted = TestServer::start_in(&data_dir, &[]);
    for writer in 0..6u64 {
        let (status, body) = restarted
            .points("crash", &format!("m,w={writer}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        let stored: Vec<u64> = body["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| point["time"].as_u64().unwrap())
            .collect();
        let unique: BTreeSet<u64> = stored.iter().copied().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "writer {writer}: no duplicated point"
        );
        for (_, time) in acknowledged.iter().filter(|(w, _)| *w == writer) {
            assert!(
                unique.contains(time),
                "writer {writer}: acknowledged point {time} was lost"
            );
        }
        for point in body["points"].as_array().unwrap() {
            assert_eq!(
                point["fields"]["v"].as_f64(),
                point["time"].as_f64(),
                "values are intact"
            );
        }
    }
}
