//! The HTTP probe against an HTTP server on 127.0.0.1 started by the test, and against
//! addresses where nothing answers.

mod support;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::get;
use seismo_core::probe::{Check, Detail, FailureKind, HttpCheck, Outcome};
use seismo_probe::Prober;
use support::Authority;
use tokio::net::TcpListener;

async fn server() -> String {
    let app = Router::new()
        .route("/ok", get(|| async { "mail flows normally" }))
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        )
        .route("/moved", get(|| async { Redirect::to("/ok") }))
        .route("/loop", get(|| async { Redirect::to("/loop") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "eventually"
            }),
        )
        .route(
            "/header",
            get(|headers: axum::http::HeaderMap| async move {
                match headers.get("x-probe-key").and_then(|v| v.to_str().ok()) {
                    Some("secret") => (StatusCode::OK, "welcome"),
                    _ => (StatusCode::FORBIDDEN, "no"),
                }
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

async fn run(check: HttpCheck) -> Outcome {
    Prober::new(Vec::new(), None)
        .unwrap()
        .run(&Check::Http(check), Duration::from_secs(5))
        .await
}

fn status(outcome: &Outcome) -> (Option<u16>, u8) {
    let Detail::Http { status, redirects } = outcome.detail else {
        panic!("{:?}", outcome.detail)
    };
    (status, redirects)
}

#[tokio::test]
async fn a_2xx_with_the_expected_body_passes() {
    let base = server().await;
    let mut ok = HttpCheck::get(format!("{base}/ok"));
    ok.body_contains = Some("flows".into());
    ok.body_regex = Some(r"^mail \w+ normally$".into());
    let outcome = run(ok).await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    assert_eq!(status(&outcome), (Some(200), 0));
}

#[tokio::test]
async fn an_unexpected_status_or_body_fails_with_what_was_answered() {
    let base = server().await;
    let outcome = run(HttpCheck::get(format!("{base}/down"))).await;
    let failure = outcome.failure.clone().unwrap();
    assert_eq!(failure.kind, FailureKind::Unexpected);
    assert!(
        failure
            .message
            .ends_with("/down answered 503 Service Unavailable"),
        "{failure}"
    );
    assert_eq!(status(&outcome), (Some(503), 0));

    // …unless that status is the one expected.
    let mut expecting = HttpCheck::get(format!("{base}/down"));
    expecting.expect_status = vec![503];
    assert!(run(expecting).await.ok);

    let mut wrong_body = HttpCheck::get(format!("{base}/ok"));
    wrong_body.body_contains = Some("bounced".into());
    let failure = run(wrong_body).await.failure.unwrap();
    assert_eq!(failure.message, "the body does not contain \"bounced\"");

    let mut wrong_pattern = HttpCheck::get(format!("{base}/ok"));
    wrong_pattern.body_regex = Some("^error".into());
    let failure = run(wrong_pattern).await.failure.unwrap();
    assert_eq!(failure.message, "the body does not match /^error/");
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let base = server().await;
    let outcome = run(HttpCheck::get(format!("{base}/moved"))).await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    assert_eq!(status(&outcome), (Some(200), 1));

    let mut not_following = HttpCheck::get(format!("{base}/moved"));
    not_following.max_redirects = 0;
    let outcome = run(not_following).await;
    assert_eq!(status(&outcome), (Some(303), 0));
    assert!(!outcome.ok);

    let outcome = run(HttpCheck::get(format!("{base}/loop"))).await;
    assert_eq!(status(&outcome), (Some(303), 5));
    assert!(outcome.failure.unwrap().message.contains("answered 303"));
}

#[tokio::test]
async fn headers_are_sent_and_a_slow_answer_fails_its_latency_threshold() {
    let base = server().await;
    let mut keyed = HttpCheck::get(format!("{base}/header"));
    assert!(!run(keyed.clone()).await.ok);
    keyed.headers.insert("X-Probe-Key".into(), "secret".into());
    assert!(run(keyed).await.ok);

    let mut slow = HttpCheck::get(format!("{base}/slow"));
    slow.max_latency = Some(Duration::from_millis(100));
    let outcome = run(slow).await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Unexpected);
    assert!(
        failure.message.contains("more than the 100 ms allowed"),
        "{failure}"
    );
    assert!(outcome.latency_ms >= 300);

    let mut hurried = HttpCheck::get(format!("{base}/slow"));
    hurried.max_latency = None;
    let outcome = Prober::new(Vec::new(), None)
        .unwrap()
        .run(&Check::Http(hurried), Duration::from_millis(100))
        .await;
    assert_eq!(outcome.failure.unwrap().kind, FailureKind::Timeout);
}

#[tokio::test]
async fn refused_unresolvable_and_untrusted_fail_by_kind() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let failure = run(HttpCheck::get(format!("http://{address}/")))
        .await
        .failure
        .unwrap();
    assert_eq!(failure.kind, FailureKind::Refused, "{failure}");

    let failure = run(HttpCheck::get("http://nowhere.invalid/"))
        .await
        .failure
        .unwrap();
    assert_eq!(failure.kind, FailureKind::Dns, "{failure}");

    // An HTTPS server whose certificate only the test's authority vouches for: a TLS
    // failure for a prober that does not trust it, unless told not to verify.
    let authority = Authority::new();
    let acceptor = authority.issue(&["localhost"]).acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(session) = acceptor.accept(socket).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new("secure".to_string()))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(session), service)
                    .await;
            });
        }
    });
    let url = format!("https://localhost:{port}/");
    let failure = run(HttpCheck::get(url.clone())).await.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Tls, "{failure}");
    let mut unverified = HttpCheck::get(url.clone());
    unverified.verify_tls = false;
    let outcome = run(unverified).await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    let outcome = authority
        .prober()
        .run(&Check::Http(HttpCheck::get(url)), Duration::from_secs(5))
        .await;
    assert!(outcome.ok, "{:?}", outcome.failure);
}
