//! The TLS probe against TLS servers on 127.0.0.1 with certificates made by the test:
//! valid, for another name, expired, self-signed. Every one is described, even when
//! it fails.

mod support;

use std::time::Duration;

use seismo_core::probe::{Check, Detail, FailureKind, Outcome, TlsCheck};
use support::{Authority, Identity, self_signed};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Serves TLS with `identity` to every connection until the test ends.
async fn server(identity: &Identity) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let acceptor = identity.acceptor();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut session) = acceptor.accept(socket).await {
                    let _ = session.read(&mut [0u8; 16]).await;
                }
            });
        }
    });
    address
}

fn check(target: &str, server_name: &str, verify: bool) -> Check {
    Check::Tls(TlsCheck {
        target: target.into(),
        server_name: Some(server_name.into()),
        verify,
        min_days_left: 7,
    })
}

fn tls_detail(
    outcome: &Outcome,
) -> (
    &[seismo_core::probe::Certificate],
    Option<i64>,
    Option<bool>,
    Option<&str>,
) {
    let Detail::Tls {
        chain,
        days_left,
        hostname_match,
        untrusted,
    } = &outcome.detail
    else {
        panic!("{:?}", outcome.detail)
    };
    (chain, *days_left, *hostname_match, untrusted.as_deref())
}

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_trusted_certificate_for_the_host_passes_with_its_chain_and_expiry() {
    let authority = Authority::new();
    let address = server(&authority.issue(&["mail.seismo.test"])).await;
    let outcome = authority
        .prober()
        .run(&check(&address, "mail.seismo.test", true), TIMEOUT)
        .await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    let (chain, days_left, hostname_match, untrusted) = tls_detail(&outcome);
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].subject, "CN=mail.seismo.test");
    assert_eq!(chain[0].issuer, "CN=seismo test authority");
    assert_eq!(chain[0].not_after, "2027-12-01T00:00:00Z");
    // Valid until 2027-12-01: between a year and two away from whenever this runs.
    assert!((0..800).contains(&days_left.unwrap()), "{days_left:?}");
    assert_eq!((hostname_match, untrusted), (Some(true), None));
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_and_says_whose_it_is() {
    let authority = Authority::new();
    let address = server(&authority.issue(&["mail.seismo.test"])).await;
    let outcome = authority
        .prober()
        .run(&check(&address, "www.seismo.test", true), TIMEOUT)
        .await;
    let failure = outcome.failure.clone().unwrap();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(
        failure.message.contains("not valid for www.seismo.test"),
        "{failure}"
    );
    assert!(failure.message.contains("CN=mail.seismo.test"), "{failure}");
    let (_, _, hostname_match, untrusted) = tls_detail(&outcome);
    assert_eq!((hostname_match, untrusted), (Some(false), None));
}

#[tokio::test]
async fn an_expired_certificate_is_described_and_fails_with_its_date() {
    let authority = Authority::new();
    let address = server(&self_signed(
        &["old.seismo.test"],
        (2023, 1, 1),
        (2024, 1, 1),
    ))
    .await;
    // Not verifying the chain: expiry fails the probe all the same.
    let outcome = authority
        .prober()
        .run(&check(&address, "old.seismo.test", false), TIMEOUT)
        .await;
    let failure = outcome.failure.clone().unwrap();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(failure.message.contains("expired"), "{failure}");
    assert!(
        failure.message.contains("2024-01-01T00:00:00Z"),
        "{failure}"
    );
    let (chain, days_left, hostname_match, untrusted) = tls_detail(&outcome);
    assert_eq!(chain[0].subject, "CN=old.seismo.test");
    assert!(days_left.unwrap() < -300, "{days_left:?}");
    assert_eq!(hostname_match, Some(true));
    assert!(untrusted.is_some());
}

#[tokio::test]
async fn a_self_signed_certificate_is_untrusted_unless_verification_is_off() {
    let authority = Authority::new();
    let address = server(&self_signed(
        &["self.seismo.test"],
        (2025, 1, 1),
        (2030, 1, 1),
    ))
    .await;
    let prober = authority.prober();
    let verified = prober
        .run(&check(&address, "self.seismo.test", true), TIMEOUT)
        .await;
    let failure = verified.failure.clone().unwrap();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(failure.message.contains("not trusted"), "{failure}");
    let (chain, days_left, _, untrusted) = tls_detail(&verified);
    assert_eq!(chain.len(), 1);
    assert!(days_left.unwrap() > 300);
    assert!(
        untrusted.unwrap().contains("UnknownIssuer"),
        "{untrusted:?}"
    );

    let unverified = prober
        .run(&check(&address, "self.seismo.test", false), TIMEOUT)
        .await;
    assert!(unverified.ok, "{:?}", unverified.failure);
}

#[tokio::test]
async fn a_certificate_expiring_soon_fails_before_it_expires() {
    let authority = Authority::new();
    let address = server(&self_signed(
        &["soon.seismo.test"],
        (2025, 1, 1),
        (2030, 1, 1),
    ))
    .await;
    let Check::Tls(mut tls) = check(&address, "soon.seismo.test", false) else {
        unreachable!()
    };
    tls.min_days_left = 100_000;
    let outcome = authority.prober().run(&Check::Tls(tls), TIMEOUT).await;
    let failure = outcome.failure.unwrap();
    assert!(
        failure.message.contains("fewer than the 100000 required"),
        "{failure}"
    );
}

#[tokio::test]
async fn a_server_that_does_not_speak_tls_fails_the_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        use tokio::io::AsyncWriteExt;
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    let outcome = Authority::new()
        .prober()
        .run(&check(&address, "x.seismo.test", true), TIMEOUT)
        .await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Tls, "{failure}");
    assert!(failure.message.contains("handshake failed"), "{failure}");
}

#[test]
fn extra_roots_that_cannot_be_read_are_an_error_naming_the_file() {
    let missing = seismo_probe::tls::read_roots(&["/nonexistent/ca.pem"]).unwrap_err();
    assert!(missing.starts_with("/nonexistent/ca.pem: "), "{missing}");
    let empty = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(empty.path(), "not a certificate\n").unwrap();
    let error = seismo_probe::tls::read_roots(&[empty.path()]).unwrap_err();
    assert_eq!(
        error,
        format!("{}: no PEM certificate in it", empty.path().display())
    );
}
