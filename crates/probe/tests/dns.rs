//! The DNS probe against a DNS server on 127.0.0.1 started by the test, answering
//! with chosen records, NXDOMAIN, SERVFAIL, silence, or a truncated answer that must
//! be asked again over TCP. Messages are built and read by hickory-proto.

use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, MX, TXT};
use hickory_proto::rr::{Name, RData, Record};
use seismo_core::probe::{Check, Detail, DnsCheck, FailureKind, Outcome, RecordKind};
use seismo_probe::Prober;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// The answer to `query`, by its name; `None`: stay silent.
fn answer(query: &Message, over_tcp: bool) -> Option<Message> {
    let question = query.queries.first()?.clone();
    let name = question.name().clone();
    let mut response = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    response.add_query(question);
    let record = |data: RData| Record::from_rdata(name.clone(), 300, data);
    match name.to_string().as_str() {
        "mail.seismo.test." => {
            response.add_answer(record(RData::A(A(Ipv4Addr::new(192, 0, 2, 25)))));
            response.add_answer(record(RData::A(A(Ipv4Addr::new(192, 0, 2, 26)))));
        }
        "seismo.test." => {
            response.add_answer(record(RData::MX(MX::new(
                10,
                Name::from_str("mail.seismo.test.").unwrap(),
            ))));
            response.add_answer(record(RData::TXT(TXT::new(vec!["v=spf1 -all".into()]))));
        }
        "big.seismo.test." if !over_tcp => response.metadata.truncation = true,
        "big.seismo.test." => {
            for i in 1..=40 {
                response.add_answer(record(RData::A(A(Ipv4Addr::new(192, 0, 2, i)))));
            }
        }
        "broken.seismo.test." => response.metadata.response_code = ResponseCode::ServFail,
        "silent.seismo.test." => return None,
        _ => response.metadata.response_code = ResponseCode::NXDomain,
    }
    Some(response)
}

/// Serves UDP and TCP on one port; returns `127.0.0.1:port`.
async fn server() -> String {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(address).await.unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        loop {
            let (n, from) = udp.recv_from(&mut buffer).await.unwrap();
            let query = Message::from_vec(&buffer[..n]).unwrap();
            if let Some(response) = answer(&query, false) {
                udp.send_to(&response.to_vec().unwrap(), from)
                    .await
                    .unwrap();
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = tcp.accept().await.unwrap();
            let length = stream.read_u16().await.unwrap();
            let mut bytes = vec![0u8; usize::from(length)];
            stream.read_exact(&mut bytes).await.unwrap();
            let response = answer(&Message::from_vec(&bytes).unwrap(), true).unwrap();
            let bytes = response.to_vec().unwrap();
            stream.write_u16(bytes.len() as u16).await.unwrap();
            stream.write_all(&bytes).await.unwrap();
        }
    });
    address.to_string()
}

async fn ask(resolver: &str, domain: &str, record: RecordKind, expect: &[&str]) -> Outcome {
    let check = DnsCheck {
        domain: domain.into(),
        record,
        resolver: Some(resolver.into()),
        expect: expect.iter().map(|e| e.to_string()).collect(),
    };
    Prober::new(Vec::new(), None)
        .unwrap()
        .run(&Check::Dns(check), Duration::from_millis(500))
        .await
}

fn dns(outcome: &Outcome) -> (Option<&str>, &[String]) {
    let Detail::Dns { rcode, answers } = &outcome.detail else {
        panic!("{:?}", outcome.detail)
    };
    (rcode.as_deref(), answers)
}

#[tokio::test]
async fn answers_are_kept_and_held_against_the_expected_ones() {
    let resolver = server().await;
    let outcome = ask(
        &resolver,
        "mail.seismo.test",
        RecordKind::A,
        &["192.0.2.26"],
    )
    .await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    assert_eq!(
        dns(&outcome),
        (
            Some("NoError"),
            &["192.0.2.25".to_string(), "192.0.2.26".to_string()][..]
        )
    );

    let outcome = ask(
        &resolver,
        "seismo.test",
        RecordKind::Mx,
        &["10 MAIL.seismo.test"],
    )
    .await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    // Only the records of the kind asked for count as answers.
    assert_eq!(dns(&outcome).1, ["10 mail.seismo.test."]);
    let outcome = ask(&resolver, "seismo.test", RecordKind::Txt, &["v=spf1 -all"]).await;
    assert!(outcome.ok, "{:?}", outcome.failure);

    let outcome = ask(
        &resolver,
        "mail.seismo.test",
        RecordKind::A,
        &["198.51.100.1"],
    )
    .await;
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Unexpected);
    assert!(failure.message.contains("198.51.100.1"), "{failure}");
    // A name with no record of the kind asked for.
    let failure = ask(&resolver, "mail.seismo.test", RecordKind::Aaaa, &[])
        .await
        .failure
        .unwrap();
    assert_eq!(failure.kind, FailureKind::Unexpected);
}

#[tokio::test]
async fn nxdomain_servfail_and_silence_are_told_apart() {
    let resolver = server().await;
    let outcome = ask(&resolver, "gone.seismo.test", RecordKind::A, &[]).await;
    assert_eq!(dns(&outcome).0, Some("NXDomain"));
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.kind, FailureKind::Dns);
    assert_eq!(
        failure.message,
        format!("{resolver} answered NXDomain for gone.seismo.test")
    );

    let outcome = ask(&resolver, "broken.seismo.test", RecordKind::A, &[]).await;
    assert_eq!(dns(&outcome).0, Some("ServFail"));
    assert!(outcome.failure.unwrap().message.contains("ServFail"));

    let outcome = ask(&resolver, "silent.seismo.test", RecordKind::A, &[]).await;
    assert_eq!(dns(&outcome).0, None);
    assert_eq!(outcome.failure.unwrap().kind, FailureKind::Timeout);
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let resolver = server().await;
    let outcome = ask(&resolver, "big.seismo.test", RecordKind::A, &["192.0.2.40"]).await;
    assert!(outcome.ok, "{:?}", outcome.failure);
    assert_eq!(dns(&outcome).1.len(), 40);
}
