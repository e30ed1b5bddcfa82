//! The SMTP probe against real SMTP servers on 127.0.0.1, started by the tests, that
//! answer as Microsoft 365's did on 22 January 2026, move to TLS, or do not answer.

mod support;

use std::time::Duration;

use seismo_core::probe::{
    Check, Detail, FailureKind, Outcome, ReplyClass, SmtpCheck, SmtpStep, StartTls,
};
use seismo_probe::Prober;
use support::self_signed;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How the test server behaves.
#[derive(Clone)]
struct Script {
    /// The reply to RCPT TO.
    rcpt: &'static str,
    /// Offers STARTTLS with this acceptor.
    tls: Option<TlsAcceptor>,
}

/// A server that greets, answers EHLO with its extensions (several lines), accepts the
/// sender, answers the recipient as scripted, and records every command it hears.
async fn server(script: Script) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let heard = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket
            .write_all(b"220 mx.test ESMTP ready\r\n")
            .await
            .unwrap();
        let mut heard = Vec::new();
        if converse(&mut socket, &script, &mut heard, false).await
            && let Some(acceptor) = &script.tls
        {
            let mut session = acceptor.accept(socket).await.unwrap();
            heard.push("-- tls --".into());
            converse(&mut session, &script, &mut heard, true).await;
        }
        heard
    });
    (address, heard)
}

/// Answers commands until QUIT (false) or STARTTLS (true).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    script: &Script,
    heard: &mut Vec<String>,
    secure: bool,
) -> bool {
    let mut lines = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return false;
        }
        let line = line.trim_end().to_string();
        let ehlo = if script.tls.is_some() && !secure {
            "250-mx.test Hello\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 PIPELINING\r\n"
        } else {
            "250-mx.test Hello\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n"
        };
        let reply = match line.split(' ').next().unwrap_or("") {
            "EHLO" => ehlo,
            "STARTTLS" => "220 2.0.0 Ready to start TLS\r\n",
            "MAIL" => "250 2.1.0 Sender OK\r\n",
            "RCPT" => script.rcpt,
            "QUIT" => "221 2.0.0 Bye\r\n",
            _ => "500 5.5.1 Unrecognized command\r\n",
        };
        heard.push(line.clone());
        lines.get_mut().write_all(reply.as_bytes()).await.unwrap();
        match line.as_str() {
            "QUIT" => return false,
            "STARTTLS" => return true,
            _ => {}
        }
    }
}

fn plain(rcpt: &'static str) -> Script {
    Script { rcpt, tls: None }
}

fn with_tls(rcpt: &'static str) -> Script {
    let identity = self_signed(&["mx.test"], (2025, 1, 1), (2030, 1, 1));
    Script {
        rcpt,
        tls: Some(identity.acceptor()),
    }
}

fn check(target: &str, starttls: StartTls) -> Check {
    Check::Smtp(SmtpCheck {
        target: target.into(),
        helo: "probe.seismo.test".into(),
        mail_from: "probe@seismo.test".into(),
        rcpt_to: "postmaster@mx.test".into(),
        starttls,
    })
}

async fn run(target: &str, starttls: StartTls, timeout: Duration) -> Outcome {
    Prober::new(Vec::new(), None)
        .unwrap()
        .run(&check(target, starttls), timeout)
        .await
}

fn steps(outcome: &Outcome) -> (&[SmtpStep], bool) {
    let Detail::Smtp { steps, tls } = &outcome.detail else {
        panic!("{:?}", outcome.detail)
    };
    (steps, *tls)
}

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_451_to_rcpt_to_is_recorded_with_its_enhanced_code_and_words() {
    let (address, heard) = server(plain(
        "451 4.3.2 Temporary server error. Please try again later\r\n",
    ))
    .await;
    let outcome = run(&address, StartTls::Opportunistic, TIMEOUT).await;
    assert!(!outcome.ok);
    let (steps, tls) = steps(&outcome);
    let summary: Vec<(&str, u16, Option<&str>, ReplyClass)> = steps
        .iter()
        .map(|s| (s.step.as_str(), s.code, s.enhanced_code.as_deref(), s.class))
        .collect();
    assert_eq!(
        summary,
        [
            ("banner", 220, None, ReplyClass::Success),
            ("ehlo", 250, None, ReplyClass::Success),
            ("mail_from", 250, Some("2.1.0"), ReplyClass::Success),
            ("rcpt_to", 451, Some("4.3.2"), ReplyClass::Transient),
            ("quit", 221, Some("2.0.0"), ReplyClass::Success),
        ]
    );
    assert!(!tls, "the server offered no STARTTLS");
    assert_eq!(
        steps[3].text,
        "Temporary server error. Please try again later"
    );
    let failure = outcome.failure.clone().unwrap();
    assert_eq!(failure.kind, FailureKind::Unexpected);
    assert_eq!(
        failure.message,
        "RCPT TO answered 451 4.3.2 Temporary server error. Please try again later"
    );
    assert!(
        steps[1].text.contains("ENHANCEDSTATUSCODES"),
        "{:?}",
        steps[1]
    );
    // The dialogue stops at the recipient: no DATA, no message.
    assert_eq!(
        heard.await.unwrap(),
        [
            "EHLO probe.seismo.test",
            "MAIL FROM:<probe@seismo.test>",
            "RCPT TO:<postmaster@mx.test>",
            "QUIT"
        ]
    );
}

#[tokio::test]
async fn a_server_that_takes_the_recipient_passes_and_a_permanent_refusal_is_permanent() {
    let (address, _) = server(plain("250 2.1.5 Recipient OK\r\n")).await;
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.failure, None);

    let (address, _) = server(plain("550 5.1.1 User unknown\r\n")).await;
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    assert_eq!(steps(&outcome).0[3].class, ReplyClass::Permanent);
    assert!(
        outcome
            .failure
            .unwrap()
            .message
            .starts_with("RCPT TO answered 550 5.1.1")
    );
}

#[tokio::test]
async fn starttls_moves_the_dialogue_to_tls_when_offered() {
    let (address, heard) = server(with_tls("250 2.1.5 Recipient OK\r\n")).await;
    let outcome = run(&address, StartTls::Opportunistic, TIMEOUT).await;
    assert!(outcome.ok, "{outcome:?}");
    let (steps, tls) = steps(&outcome);
    assert!(tls);
    let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        names,
        [
            "banner",
            "ehlo",
            "starttls",
            "ehlo",
            "mail_from",
            "rcpt_to",
            "quit"
        ]
    );
    assert_eq!(
        heard.await.unwrap(),
        [
            "EHLO probe.seismo.test",
            "STARTTLS",
            "-- tls --",
            "EHLO probe.seismo.test",
            "MAIL FROM:<probe@seismo.test>",
            "RCPT TO:<postmaster@mx.test>",
            "QUIT"
        ]
    );
}

#[tokio::test]
async fn starttls_off_stays_plain_and_required_fails_without_it() {
    let (address, heard) = server(with_tls("250 2.1.5 Recipient OK\r\n")).await;
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    assert!(outcome.ok && !steps(&outcome).1, "{outcome:?}");
    assert!(!heard.await.unwrap().contains(&"STARTTLS".to_string()));

    let (address, heard) = server(plain("250 2.1.5 Recipient OK\r\n")).await;
    let outcome = run(&address, StartTls::Required, TIMEOUT).await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(
        failure.message.contains("does not offer STARTTLS"),
        "{failure}"
    );
    // Nothing was sent in the clear beyond EHLO.
    assert_eq!(
        heard.await.unwrap()[..1],
        ["EHLO probe.seismo.test".to_string()]
    );
}

#[tokio::test]
async fn refused_silent_and_foreign_servers_fail_each_in_their_own_way() {
    // Nothing listens: refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    assert_eq!(outcome.failure.unwrap().kind, FailureKind::Refused);

    // A server that accepts and says nothing: a timeout, within the probe's time.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let _held = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let outcome = run(&address, StartTls::Off, Duration::from_millis(300)).await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(failure.message, "no answer within 300 ms");
    assert!(outcome.latency_ms < 2_000, "{}", outcome.latency_ms);

    // A web server where a mail server was expected: not SMTP.
    let web = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = web.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = web.accept().await.unwrap();
        socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
    });
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    assert_eq!(outcome.failure.unwrap().kind, FailureKind::Protocol);

    // A banner that never ends is cut off, not kept.
    let endless = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = endless.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = endless.accept().await.unwrap();
        while socket.write_all(b"220-more and more\r\n").await.is_ok() {}
    });
    let outcome = run(&address, StartTls::Off, TIMEOUT).await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Protocol);
    assert!(failure.message.contains("longer than"), "{failure}");
}
