//! Official status feeds read by the real binary: a Statuspage-shaped page on
//! 127.0.0.1 started by the test, declared in the catalog, read, and served.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::Server;

/// `seismo serve` with the catalog `text`, on a store in a directory of its own.
fn serve_with_catalog(text: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, text).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--catalog", catalog.to_str().unwrap()],
    );
    (dir, server)
}

#[test]
fn a_vendors_statuspage_is_read_and_served() {
    let (page, _) = support::status_page();
    let (_dir, server) = serve_with_catalog(&format!(
        "[[service]]\nslug = \"mail\"\nname = \"Mail\"\n\n[[service.feed]]\nkind = \"statuspage\"\nurl = \"{page}\"\n"
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let feed = loop {
        let body = server.get("/api/v1/services/mail/official");
        let feed = body["feeds"][0].clone();
        if !feed["read_at"].is_null() || Instant::now() > deadline {
            break feed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(feed["name"], "statuspage 127.0.0.1", "{feed}");
    assert_eq!(feed["condition"], "partial_outage", "{feed}");
    assert_eq!(feed["stale_since"], serde_json::Value::Null);
    assert_eq!(feed["components"][0]["condition"], "major_outage");
    let incident = &feed["incidents"][0];
    assert_eq!(incident["id"], "p0qhhxg4zfzh");
    assert_eq!(incident["started_at"], "2026-01-22T18:15:00Z");
    assert_eq!(
        incident["updates"][0]["text"],
        "MO1221364: users cannot send mail (451 4.3.2)."
    );
    assert_eq!(incident["updates"][0]["at"], "2026-01-22T18:37:12Z");
    // An unknown service is a 404 naming it.
    let missing = support::http_get(server.url("/api/v1/services/nope/official")).unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn an_unreachable_feed_is_shown_stale_and_breaks_nothing_else() {
    // A port that was free a moment ago: nothing answers there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_dir, server) = serve_with_catalog(&format!(
        "[[service]]\nslug = \"mail\"\nname = \"Mail\"\nproblems = [\"email\"]\n\n[[service.feed]]\nname = \"Mail status\"\nkind = \"statuspage\"\nurl = \"http://{closed}\"\n"
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let feed = loop {
        let feed = server.get("/api/v1/services/mail/official")["feeds"][0].clone();
        if !feed["stale_since"].is_null() || Instant::now() > deadline {
            break feed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(feed["stale_since"].is_string(), "{feed}");
    assert!(
        feed["error"].as_str().unwrap().contains("cannot reach"),
        "{feed}"
    );
    let page = support::http_get(server.url("/services/mail"))
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("data-stale>Feed stale since"), "{page}");
    assert!(page.contains("not read yet"));
    // Reports are taken as ever.
    let report = support::http()
        .build()
        .unwrap()
        .post(server.url("/api/v1/reports"))
        .json(&serde_json::json!({"service": "mail", "problem": "email"}))
        .send()
        .unwrap();
    assert_eq!(report.status(), 202, "{:?}", report.text());
}
