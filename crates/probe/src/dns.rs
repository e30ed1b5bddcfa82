//! The DNS probe: one question to one resolver, over UDP (TCP when the answer is
//! truncated), with the answer's code kept, so that a name that does not exist
//! (NXDOMAIN), a resolver that fails (SERVFAIL) and one that is silent (timeout) are
//! told apart. Messages are built and read by hickory-proto.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use seismo_core::probe::{Detail, DnsCheck, Failure, FailureKind, RecordKind, resolver_address};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use crate::{Finding, within};

pub async fn run(check: &DnsCheck, timeout: Duration, local: Option<IpAddr>) -> Finding {
    let mut rcode = None;
    let mut answers = Vec::new();
    let failure = within(timeout, ask(check, local, &mut rcode, &mut answers))
        .await
        .err();
    (Detail::Dns { rcode, answers }, failure)
}

async fn ask(
    check: &DnsCheck,
    local: Option<IpAddr>,
    rcode: &mut Option<String>,
    answers: &mut Vec<String>,
) -> Result<(), Failure> {
    let dns = |message: String| Failure::new(FailureKind::Dns, message);
    let resolver = match &check.resolver {
        Some(text) => resolver_address(text).map_err(dns)?,
        None => system_resolver().map_err(dns)?,
    };
    let name =
        Name::from_str(&check.domain).map_err(|e| dns(format!("{:?}: {e}", check.domain)))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, record_type(check.record)));
    let mut response = over_udp(resolver, local, &query).await?;
    if response.metadata.truncation {
        response = over_tcp(resolver, local, &query).await?;
    }
    let code = response.metadata.response_code;
    *rcode = Some(format!("{code:?}"));
    answers.extend(
        response
            .answers
            .iter()
            .filter(|record| record.record_type() == record_type(check.record))
            .map(|record| record.data.to_string()),
    );
    if code != ResponseCode::NoError {
        return Err(dns(format!(
            "{resolver} answered {code:?} for {}",
            check.domain
        )));
    }
    if answers.is_empty() {
        return Err(Failure::new(
            FailureKind::Unexpected,
            format!("no {:?} record for {}", check.record, check.domain),
        ));
    }
    let missing: Vec<&String> = check
        .expect
        .iter()
        .filter(|want| !answers.iter().any(|got| same_answer(got, want)))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::new(
            FailureKind::Unexpected,
            format!("expected {missing:?}, answered {answers:?}"),
        ));
    }
    Ok(())
}

/// Names compare without their final dot and case; TXT without quotes.
fn same_answer(got: &str, want: &str) -> bool {
    let plain = |s: &str| {
        s.trim_end_matches('.')
            .trim_matches('"')
            .to_ascii_lowercase()
    };
    plain(got) == plain(want)
}

fn record_type(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Mx => RecordType::MX,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Txt => RecordType::TXT,
    }
}

async fn over_udp(
    resolver: SocketAddr,
    local: Option<IpAddr>,
    query: &Message,
) -> Result<Message, Failure> {
    let io = |e: std::io::Error| Failure::new(FailureKind::Connect, format!("{resolver}: {e}"));
    let any: IpAddr = if resolver.is_ipv4() {
        [0, 0, 0, 0].into()
    } else {
        [0u16; 8].into()
    };
    let socket = UdpSocket::bind(SocketAddr::new(local.unwrap_or(any), 0))
        .await
        .map_err(io)?;
    socket.connect(resolver).await.map_err(io)?;
    socket.send(&encode(query)?).await.map_err(io)?;
    let mut buffer = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buffer).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                Failure::new(
                    FailureKind::Refused,
                    format!("nothing answers DNS at {resolver}"),
                )
            } else {
                io(e)
            }
        })?;
        // A datagram that is not the answer to this question is ignored, as resolvers do.
        if let Ok(response) = Message::from_vec(&buffer[..n])
            && response.metadata.id == query.metadata.id
        {
            return Ok(response);
        }
    }
}

async fn over_tcp(
    resolver: SocketAddr,
    local: Option<IpAddr>,
    query: &Message,
) -> Result<Message, Failure> {
    let io = |e: std::io::Error| Failure::new(FailureKind::Connect, format!("{resolver}: {e}"));
    let mut stream = crate::connect(&resolver.to_string(), local).await?;
    let bytes = encode(query)?;
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await.map_err(io)?;
    let length = stream.read_u16().await.map_err(io)?;
    let mut buffer = vec![0u8; usize::from(length)];
    stream.read_exact(&mut buffer).await.map_err(io)?;
    Message::from_vec(&buffer).map_err(|e| {
        Failure::new(
            FailureKind::Protocol,
            format!("{resolver} answered a malformed message: {e}"),
        )
    })
}

fn encode(query: &Message) -> Result<Vec<u8>, Failure> {
    query
        .to_vec()
        .map_err(|e| Failure::new(FailureKind::Dns, format!("cannot encode the question: {e}")))
}

/// The first `nameserver` of /etc/resolv.conf.
fn system_resolver() -> Result<SocketAddr, String> {
    let text = std::fs::read("/etc/resolv.conf")
        .map_err(|e| format!("no resolver given, and /etc/resolv.conf: {e}"))?;
    let config = resolv_conf::Config::parse(&text).map_err(|e| format!("/etc/resolv.conf: {e}"))?;
    let first = config
        .nameservers
        .first()
        .ok_or("no resolver given, and /etc/resolv.conf names none")?;
    Ok(SocketAddr::new(first.into(), 53))
}
