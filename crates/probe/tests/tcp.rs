//! The TCP probe: an open port, a closed one, a name that does not resolve.

use std::time::Duration;

use seismo_core::probe::{Check, FailureKind, TcpCheck};
use seismo_probe::Prober;
use tokio::net::TcpListener;

async fn run(target: String) -> seismo_core::probe::Outcome {
    Prober::new(Vec::new(), None)
        .unwrap()
        .run(&Check::Tcp(TcpCheck { target }), Duration::from_secs(5))
        .await
}

#[tokio::test]
async fn an_open_port_passes_and_a_closed_one_is_refused() {
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outcome = run(open.local_addr().unwrap().to_string()).await;
    assert!(outcome.ok, "{:?}", outcome.failure);

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let failure = run(address.clone()).await.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(failure.message, format!("{address} refused the connection"));
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_a_dns_failure() {
    let failure = run("nowhere.invalid:443".into()).await.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Dns, "{failure}");
    assert!(
        failure
            .message
            .starts_with("cannot resolve nowhere.invalid:443"),
        "{failure}"
    );
}

#[tokio::test]
async fn probes_connect_from_the_address_they_are_given() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let accepted = tokio::spawn(async move { listener.accept().await.unwrap().1.ip() });
    let from: std::net::IpAddr = [127, 0, 0, 2].into();
    let outcome = Prober::new(Vec::new(), Some(from))
        .unwrap()
        .run(&Check::Tcp(TcpCheck { target }), Duration::from_secs(5))
        .await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    assert_eq!(accepted.await.unwrap(), from);
}
