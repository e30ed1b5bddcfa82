//! An acknowledged report survives `kill -9` of the server, on either store.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seismo_store::suite::{Database, PostgresSchema};
use seismo_store::{SqliteStore, Store};
use serde_json::json;
use support::Server;

#[test]
fn acknowledged_reports_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    survives_sigkill(&data, &[], &|| Box::new(SqliteStore::open(&data).unwrap()));
}

#[test]
fn acknowledged_reports_survive_sigkill_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = PostgresSchema::new();
    let url = schema.url();
    // The data directory stays empty: everything goes to the database.
    let data = dir.path().join("unused");
    survives_sigkill(&data, &["--database", &url], &|| schema.open());
    assert!(!data.join("seismo.db").exists());
}

/// Posts from eight threads, kills the server with SIGKILL mid-stream, and checks that
/// the store `open` reads holds every acknowledged report and a restart counts them.
fn survives_sigkill(data: &std::path::Path, store: &[&str], open: &dyn Fn() -> Box<dyn Store>) {
    // A partner's importer token: it names its reporters, so each report counts.
    let token = support::create_token_with(data, "importer", store);
    let mut server = Server::start(data, store);
    let url = server.url("/api/v1/reports");
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let acks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..8)
        .map(|thread| {
            let (url, acknowledged, acks, stop, token) = (url.clone(), acknowledged.clone(), acks.clone(), stop.clone(), token.clone());
            std::thread::spawn(move || {
                let client = support::http().timeout(Duration::from_secs(5)).build().unwrap();
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let report = json!({"service": "aws", "client": format!("t{thread}-{n}"), "problem": "console"});
                    // After the kill requests fail: those reports were never acknowledged.
                    let Ok(response) = client.post(&url).bearer_auth(&token).json(&report).send() else { continue };
                    if response.status() == 202 {
                        let body: serde_json::Value = response.json().unwrap();
                        acknowledged.lock().unwrap().push(body["id"].as_i64().unwrap());
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    while acks.load(Ordering::Relaxed) < 2_000 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL while the posters are still sending.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for poster in posters {
        poster.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut stored = HashSet::new();
    open()
        .scan(i64::MIN, &mut |outcome, _| {
            stored.insert(outcome.id);
        })
        .unwrap();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged reports are lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );

    // The restarted server rebuilds its counts from the store.
    let server = Server::start(data, store);
    let aws = server.get("/api/v1/services/aws");
    assert!(
        aws["reports_last_hour"].as_u64().unwrap() >= acknowledged.len() as u64,
        "{aws}"
    );
}
