//! The SMTP probe against real SMTP servers on 127.0.0.1, started by the tests, that
//! answer as Microsoft 365's did on 22 January 2026, or not at all.

use std::time::Duration;

use seismo_probe::smtp::{Failure, ReplyClass, SmtpProbe, run};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A server that greets, answers EHLO with its extensions (several lines), accepts the
/// sender, answers the recipient with `rcpt`, and records every command it hears.
async fn server(rcpt: &'static str) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let heard = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write
            .write_all(b"220 mx.test ESMTP ready\r\n")
            .await
            .unwrap();
        let mut heard = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply: &[u8] = match line.split(' ').next().unwrap_or("") {
                "EHLO" => b"250-mx.test Hello\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n",
                "MAIL" => b"250 2.1.0 Sender OK\r\n",
                "RCPT" => rcpt.as_bytes(),
                "QUIT" => b"221 2.0.0 Bye\r\n",
                _ => b"500 5.5.1 Unrecognized command\r\n",
            };
            heard.push(line);
            write.write_all(reply).await.unwrap();
            if heard.last().is_some_and(|l| l == "QUIT") {
                break;
            }
        }
        heard
    });
    (address, heard)
}

fn probe(target: &str) -> SmtpProbe {
    SmtpProbe {
        target: target.into(),
        helo: "probe.seismo.test".into(),
        mail_from: "probe@seismo.test".into(),
        rcpt_to: "postmaster@mx.test".into(),
    }
}

#[tokio::test]
async fn a_451_to_rcpt_to_is_recorded_with_its_enhanced_code_and_words() {
    let (address, heard) =
        server("451 4.3.2 Temporary server error. Please try again later\r\n").await;
    let outcome = run(&probe(&address), Duration::from_secs(5)).await;
    assert!(!outcome.ok);
    let steps: Vec<(&str, u16, Option<&str>, ReplyClass)> = outcome
        .steps
        .iter()
        .map(|s| (s.step, s.code, s.enhanced_code.as_deref(), s.class))
        .collect();
    assert_eq!(
        steps,
        [
            ("banner", 220, None, ReplyClass::Success),
            ("ehlo", 250, None, ReplyClass::Success),
            ("mail_from", 250, Some("2.1.0"), ReplyClass::Success),
            ("rcpt_to", 451, Some("4.3.2"), ReplyClass::Transient),
            ("quit", 221, Some("2.0.0"), ReplyClass::Success),
        ]
    );
    assert_eq!(
        outcome.steps[3].text,
        "Temporary server error. Please try again later"
    );
    assert_eq!(
        outcome.failure.as_ref().unwrap().to_string(),
        "rcpt_to answered 451 4.3.2 Temporary server error. Please try again later"
    );
    assert!(
        outcome.steps[1].text.contains("ENHANCEDSTATUSCODES"),
        "{:?}",
        outcome.steps[1]
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
    let (address, _) = server("250 2.1.5 Recipient OK\r\n").await;
    let outcome = run(&probe(&address), Duration::from_secs(5)).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.failure, None);

    let (address, _) = server("550 5.1.1 User unknown\r\n").await;
    let outcome = run(&probe(&address), Duration::from_secs(5)).await;
    assert_eq!(outcome.steps[3].class, ReplyClass::Permanent);
    assert!(matches!(
        outcome.failure,
        Some(Failure::Rejected { code: 550, .. })
    ));
}

#[tokio::test]
async fn refused_silent_and_foreign_servers_fail_each_in_their_own_way() {
    // Nothing listens: refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let outcome = run(&probe(&address), Duration::from_secs(5)).await;
    assert_eq!(outcome.failure, Some(Failure::Refused));

    // A server that accepts and says nothing: a timeout, within the probe's time.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap().to_string();
    let _held = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let outcome = run(&probe(&address), Duration::from_millis(300)).await;
    assert_eq!(outcome.failure, Some(Failure::Timeout { after_ms: 300 }));

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
    let outcome = run(&probe(&address), Duration::from_secs(5)).await;
    assert!(
        matches!(outcome.failure, Some(Failure::Protocol { .. })),
        "{outcome:?}"
    );
}
