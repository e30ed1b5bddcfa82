//! The connectors against local servers that speak the protocols with payloads in the
//! published shapes: Mastodon's server-sent events and Jetstream's WebSocket. Each server
//! drops its first connection after a malformed message; the connector skips and counts
//! it, reconnects (resuming from Jetstream's cursor), and reads on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use seismo_core::post::{ConnectorBoard, ConnectorStatus, Link};
use seismo_social::{Heard, Keep, Settings, jetstream, mastodon};

/// A status in the shape Mastodon's streaming API sends.
fn status(id: u64, acct: &str, html: &str) -> String {
    serde_json::json!({
        "id": id.to_string(),
        "created_at": "2026-01-22T16:03:12.000Z",
        "in_reply_to_id": null,
        "sensitive": false,
        "visibility": "public",
        "language": "en",
        "uri": format!("https://mastodon.example/users/x/statuses/{id}"),
        "content": html,
        "account": {"id": "1", "username": acct.split('@').next().unwrap(), "acct": acct, "display_name": "X"},
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "outlook", "url": "https://mastodon.example/tags/outlook"}],
    })
    .to_string()
}

/// A new post in the shape Jetstream sends.
fn jetstream_post(time_us: i64, did: &str, text: &str) -> String {
    serde_json::json!({
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vutsw2b", "operation": "create", "collection": "app.bsky.feed.post",
            "rkey": "3l3qo2vuowo2b", "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
            "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-01-22T16:03:12.102Z", "langs": ["en"], "text": text},
        },
    })
    .to_string()
}

/// Keeps what it is handed, and says it kept the posts that complain.
fn keeper() -> (Keep, Arc<Mutex<Vec<Heard>>>) {
    let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
    let held = heard.clone();
    let keep: Keep = Arc::new(move |post: Heard| {
        let kept = post.text.contains("down");
        held.lock().unwrap().push(post);
        kept
    });
    (keep, heard)
}

fn settings(name: &str, url: String) -> Settings {
    Settings {
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        idle: Duration::from_secs(5),
        ..Settings::new(name, &url)
    }
}

/// Waits until `done` holds of the connector's status line.
/// The Mastodon connector of `settings` on a task of its own (abort it when done), and
/// the board it reports to; its clock stands still.
fn spawn_mastodon(
    settings: Settings,
    keep: Keep,
) -> (Arc<ConnectorBoard>, tokio::task::AbortHandle) {
    let board = Arc::new(ConnectorBoard::default());
    let client = reqwest::Client::builder().build().unwrap();
    let run = mastodon::run(settings, client, keep, board.clone(), Arc::new(|| 7));
    (board, tokio::spawn(run).abort_handle())
}

fn wait_for(
    board: &ConnectorBoard,
    what: &str,
    done: impl Fn(&ConnectorStatus) -> bool,
) -> ConnectorStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = board.all().into_iter().next().filter(|s| done(s)) {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            board.all()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

fn provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[tokio::test(flavor = "multi_thread")]
async fn mastodon_statuses_are_read_across_a_dropped_stream_and_a_malformed_event_is_counted() {
    provider();
    let connections = Arc::new(AtomicUsize::new(0));
    let authorized = Arc::new(AtomicUsize::new(0));
    let handler = |State((connections, authorized)): State<(
        Arc<AtomicUsize>,
        Arc<AtomicUsize>,
    )>,
                   headers: HeaderMap| async move {
        if headers
            .get("authorization")
            .is_some_and(|v| v == "Bearer secret")
        {
            authorized.fetch_add(1, Ordering::SeqCst);
        }
        let first = connections.fetch_add(1, Ordering::SeqCst) == 0;
        let events: Vec<String> = if first {
            vec![
                ":thump\n\n".into(),
                format!(
                    "event: update\ndata: {}\n\n",
                    status(
                        1,
                        "jane",
                        "<p>Is <a href=\"https://mastodon.example/tags/outlook\">#<span>Outlook</span></a> down? Mail won&#39;t send</p>"
                    )
                ),
                "event: update\ndata: {\"content\": \n\n".into(),
                "event: delete\ndata: 109876\n\n".into(),
            ]
        } else {
            vec![format!(
                "event: update\ndata: {}\n\n",
                status(2, "bob@mastodon.social", "<p>Slack is down for me too</p>")
            )]
        };
        let chunks = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>));
        // The first connection ends after its events; the second stays open.
        let body = if first {
            Body::from_stream(chunks)
        } else {
            use futures_util::StreamExt;
            Body::from_stream(chunks.chain(futures_util::stream::pending()))
        };
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(body)
            .unwrap()
    };
    let app = axum::Router::new()
        .route("/api/v1/streaming/hashtag", axum::routing::get(handler))
        .with_state((connections.clone(), authorized.clone()));
    let address = serve(app).await;

    let (keep, heard) = keeper();
    let settings = Settings {
        token: Some("secret".into()),
        ..settings(
            "mastodon #outlook",
            format!("http://{address}/api/v1/streaming/hashtag?tag=outlook"),
        )
    };
    let (board, task) = spawn_mastodon(settings, keep);
    let status = wait_for(&board, "both posts read", |s| s.kept == 2);
    task.abort();

    assert_eq!(status.link, Link::Connected);
    assert_eq!(status.kind, "mastodon");
    assert_eq!(
        (status.messages, status.malformed),
        (4, 1),
        "two posts, a deletion, one malformed"
    );
    assert_eq!(status.drops, 1, "{status:?}");
    assert_eq!(
        status.last_error.as_deref(),
        Some("the server ended the stream")
    );
    assert_eq!(status.resume, None, "Mastodon's streams cannot resume");
    assert_eq!(
        authorized.load(Ordering::SeqCst),
        2,
        "the token on every connection"
    );
    let heard = heard.lock().unwrap().clone();
    assert_eq!(
        heard,
        [
            Heard {
                text: "Is #Outlook down? Mail won't send".into(),
                at: "2026-01-22T16:03:12.000Z".into(),
                author: format!("@jane@{}", address.ip()),
                lang: Some("en".into()),
            },
            Heard {
                text: "Slack is down for me too".into(),
                at: "2026-01-22T16:03:12.000Z".into(),
                author: "@bob@mastodon.social".into(),
                lang: Some("en".into()),
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_or_refusing_server_is_left_and_tried_again_with_back_off() {
    provider();
    let connections = Arc::new(AtomicUsize::new(0));
    let handler = |State(connections): State<Arc<AtomicUsize>>| async move {
        if connections.fetch_add(1, Ordering::SeqCst) == 0 {
            return Response::builder().status(503).body(Body::empty()).unwrap();
        }
        // Headers, then nothing: not even a heartbeat.
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(futures_util::stream::pending::<
                Result<String, std::io::Error>,
            >()))
            .unwrap()
    };
    let app = axum::Router::new()
        .route("/api/v1/streaming/public", axum::routing::get(handler))
        .with_state(connections.clone());
    let address = serve(app).await;
    let (keep, _) = keeper();
    let settings = Settings {
        idle: Duration::from_millis(300),
        ..settings(
            "public",
            format!("http://{address}/api/v1/streaming/public"),
        )
    };
    let (board, task) = spawn_mastodon(settings, keep);
    let status = wait_for(&board, "a silent stream dropped", |s| s.drops >= 2);
    task.abort();
    assert!(connections.load(Ordering::SeqCst) >= 2);
    assert!(
        status.last_error.as_deref() == Some("silent for 300ms")
            || status.last_error.as_deref() == Some("HTTP 503 Service Unavailable"),
        "{status:?}"
    );
}

/// The collections and cursor each connection asked for.
type Subscriptions = Arc<Mutex<Vec<(String, Option<i64>)>>>;

#[derive(serde::Deserialize)]
struct Subscription {
    #[serde(rename = "wantedCollections")]
    wanted: String,
    cursor: Option<i64>,
}

#[tokio::test(flavor = "multi_thread")]
async fn jetstream_posts_are_read_and_a_dropped_connection_resumes_from_its_cursor() {
    provider();
    let cursors: Subscriptions = Arc::default();
    let handler = |State(cursors): State<Subscriptions>,
                   Query(query): Query<Subscription>,
                   upgrade: WebSocketUpgrade| async move {
        let first = {
            let mut cursors = cursors.lock().unwrap();
            cursors.push((query.wanted, query.cursor));
            cursors.len() == 1
        };
        upgrade.on_upgrade(move |mut socket| async move {
            let messages: Vec<Message> = if first {
                vec![
                    Message::Text(r#"{"did":"did:plc:x","time_us":1769097000000000,"kind":"identity","identity":{"did":"did:plc:x","handle":"x.bsky.social","seq":1,"time":"2026-01-22T16:03:00.000Z"}}"#.into()),
                    Message::Text(jetstream_post(1_769_097_792_000_000, "did:plc:jane", "is outlook down? nothing incoming").into()),
                    Message::Text("{\"did\": 5".into()),
                    Message::Binary(vec![1, 2, 3].into()),
                ]
            } else {
                vec![Message::Text(jetstream_post(1_769_097_800_000_000, "did:plc:bob", "love my new phone").into())]
            };
            for message in messages {
                socket.send(message).await.unwrap();
            }
            if first {
                let _ = socket.send(Message::Close(None)).await;
            } else {
                std::future::pending::<()>().await;
            }
        })
    };
    let app = axum::Router::new()
        .route("/subscribe", axum::routing::get(handler))
        .with_state(cursors.clone());
    let address = serve(app).await;

    let (keep, heard) = keeper();
    let board = Arc::new(ConnectorBoard::default());
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    let settings = settings("jetstream", format!("ws://{address}/subscribe"));
    let task = tokio::spawn(jetstream::run(
        settings,
        tls,
        keep,
        board.clone(),
        Arc::new(|| 7),
    ));
    let status = wait_for(&board, "the post after the reconnection", |s| {
        s.messages == 5
    });
    task.abort();

    assert_eq!(status.kind, "bluesky");
    assert_eq!(
        (status.kept, status.malformed, status.drops),
        (1, 2, 1),
        "{status:?}"
    );
    assert_eq!(status.resume.as_deref(), Some("cursor 1769097799000000"));
    assert_eq!(
        *cursors.lock().unwrap(),
        [
            ("app.bsky.feed.post".to_string(), None),
            (
                "app.bsky.feed.post".to_string(),
                Some(1_769_097_792_000_000 - jetstream::REWIND_US)
            ),
        ],
        "the second connection resumes a second before the last event read"
    );
    let authors: Vec<String> = heard
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.author.clone())
        .collect();
    assert_eq!(authors, ["did:plc:jane", "did:plc:bob"]);
}
