//! `seismo serve` reading a Mastodon stream of its settings (`[[posts.mastodon]]`): a
//! local server speaks the streaming API; the posts that name a service of the catalog
//! are stored and shown, with their authors abbreviated, and the rest let go.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};

use support::Server;

/// A Mastodon streaming endpoint on loopback that sends two statuses and then only
/// heartbeats; its address, and the `Authorization` header of each connection.
fn mastodon() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let authorizations: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = authorizations.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut authorization = String::new();
            for line in BufReader::new(stream.try_clone().unwrap()).lines() {
                let line = line.unwrap();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("authorization: ") {
                    authorization = value.to_string();
                }
            }
            seen.lock().unwrap().push(authorization);
            let status = |id: u32, acct: &str, html: &str| {
                serde_json::json!({
                    "id": id.to_string(), "created_at": "2026-01-22T16:03:12.000Z",
                    "language": "en", "content": html, "visibility": "public",
                    "account": {"id": "7", "username": acct, "acct": acct},
                })
            };
            let events = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n:)\n\nevent: update\ndata: {}\n\nevent: update\ndata: {}\n\n",
                status(
                    1,
                    "jane",
                    "<p>Slack is down for everyone here &amp; nothing sends</p>"
                ),
                status(2, "joe", "<p>lovely sunset tonight</p>"),
            );
            if stream.write_all(events.as_bytes()).is_err() {
                continue;
            }
            std::thread::spawn(move || {
                while stream.write_all(b":thump\n\n").is_ok() {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            });
        }
    });
    (format!("http://{address}"), authorizations)
}

#[test]
fn posts_read_from_a_mastodon_stream_are_classified_stored_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (base, authorizations) = mastodon();
    let config = dir.path().join("seismo.toml");
    std::fs::write(
        &config,
        format!(
            "[[posts.mastodon]]\nname = \"local #slack\"\nurl = \"{base}/api/v1/streaming/hashtag?tag=slack\"\ntoken_env = \"LOCAL_MASTODON_TOKEN\"\n"
        ),
    )
    .unwrap();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[("LOCAL_MASTODON_TOKEN", std::ffi::OsStr::new("t0ken"))],
    );
    let started = std::time::Instant::now();
    let posts = loop {
        let recent = server.get("/api/v1/services/slack/posts");
        if !recent["posts"].as_array().unwrap().is_empty() {
            break recent["posts"].clone();
        }
        assert!(started.elapsed().as_secs() < 20, "no post stored: {recent}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let post = &posts[0];
    assert_eq!(
        post["text"],
        "Slack is down for everyone here & nothing sends"
    );
    assert_eq!(post["source"], "mastodon");
    assert_eq!(post["author"], "@ja…@127.0.0.1");
    assert_eq!(post["at"], "2026-01-22T16:03:12Z");
    assert_eq!(post["counted"], true);
    // The sunset named no service: let go, never stored.
    let id = post["id"].as_i64().unwrap();
    let next = support::http_get(server.url(&format!("/api/v1/posts/{}", id + 1))).unwrap();
    assert_eq!(next.status(), 404);
    assert_eq!(authorizations.lock().unwrap()[0], "bearer t0ken");
}
