//! `seismo serve` stops when asked (Ctrl-C or SIGTERM) within five seconds, even with
//! an event stream open: requests in flight finish, what was acknowledged is stored,
//! and `--demo` removes its temporary store.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use seismo_store::{SqliteStore, Store};
use serde_json::json;
use support::Server;

/// Sends `signal` to the server and waits at most five seconds for it to exit; returns
/// whether it exited successfully.
fn stop(server: &mut Server, signal: &str) -> bool {
    let killed = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let asked = Instant::now();
    while asked.elapsed() < Duration::from_secs(5) {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("seismo still runs 5 s after SIG{signal}");
}

#[test]
fn sigterm_stops_the_server_with_an_event_stream_open_and_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let client = support::http().build().unwrap();
    // A reader of live events: its response never ends by itself.
    let mut events = client.get(server.url("/api/v1/events")).send().unwrap();
    assert_eq!(events.status(), 200);
    let posted = client
        .post(server.url("/api/v1/reports"))
        .json(&json!({"service": "aws", "problem": "console"}))
        .send()
        .unwrap();
    assert_eq!(posted.status(), 202);

    assert!(stop(&mut server, "TERM"), "exit status of a requested stop");
    let mut rest = Vec::new();
    // The stream was ended by the server, not cut: reading it comes to its end.
    events.read_to_end(&mut rest).unwrap();
    assert_eq!(SqliteStore::open(&data).unwrap().count().unwrap(), 1);
}

#[test]
fn ctrl_c_stops_the_demo_and_removes_its_temporary_store() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_with_env(
        &tmp.path().join("unused"),
        &["--demo"],
        &[("TMPDIR", tmp.path().as_os_str())],
    );
    let status = server.get("/api/v1/services/microsoft-365");
    assert_eq!(status["slug"], "microsoft-365");
    let stores = || std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(stores(), 1, "the demo's store is in TMPDIR while it runs");

    assert!(stop(&mut server, "INT"), "exit status of Ctrl-C");
    assert_eq!(stores(), 0, "the demo's store is removed");
}
