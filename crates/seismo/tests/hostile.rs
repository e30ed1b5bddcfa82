//! A real server under hostile input: sockets that send nothing or half a request,
//! more connections and event streams than anyone needs, bodies too large to read, and
//! a body of millions of bad lines. Each must be bounded.

mod support;

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::Server;

fn start(env: &[(&str, &str)]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, OsStr::new(*v))).collect();
    let server = Server::start_with_env(&dir.path().join("data"), &[], &env);
    (dir, server)
}

fn address(server: &Server) -> SocketAddr {
    server.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `ip` that times out reads after ten seconds.
fn connect_from(ip: [u8; 4], server: &Server) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((ip, 0)).into()).unwrap();
    socket.connect(&address(server).into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection, and how long that took.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn silent_half_sent_and_idle_connections_are_closed() {
    let (_dir, server) = start(&[
        ("SEISMO_LIMITS__HEADER_TIMEOUT", "1s"),
        ("SEISMO_LIMITS__BODY_TIMEOUT", "1s"),
    ]);
    let local = [127, 0, 0, 1];
    // Nothing at all.
    let mut silent = connect_from(local, &server);
    let (_, waited) = read_until_closed(&mut silent);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // Half the headers.
    let mut half = connect_from(local, &server);
    half.write_all(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (_, waited) = read_until_closed(&mut half);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The headers, and ten bytes of the hundred promised.
    let mut slow = connect_from(local, &server);
    slow.write_all(
        b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"service\"",
    )
    .unwrap();
    let (answer, _) = read_until_closed(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
    // A keep-alive connection left idle after its request.
    let mut idle = connect_from(local, &server);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (answer, waited) = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn a_body_declared_too_large_is_refused_before_it_is_sent() {
    let (_dir, server) = start(&[]);
    for content_type in ["application/json", "application/x-ndjson"] {
        let mut stream = connect_from([127, 0, 0, 1], &server);
        write!(
            stream,
            "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: 1000000000\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 413", "{content_type}");
    }
}

#[test]
fn connections_are_capped_per_address() {
    let (_dir, server) = start(&[("SEISMO_LIMITS__CONNECTIONS_PER_IP", "4")]);
    let held: Vec<TcpStream> = (0..4)
        .map(|_| connect_from([127, 0, 0, 1], &server))
        .collect();
    // Accepted in order: once a request on a fifth connection is answered, the four
    // before it are counted.
    let mut fifth = connect_from([127, 0, 0, 1], &server);
    let _ = fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let (answer, waited) = read_until_closed(&mut fifth);
    assert_eq!(answer, "", "the fifth is closed unanswered");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    let other = support::client_from([127, 0, 0, 2])
        .get(server.url("/healthz"))
        .send()
        .unwrap();
    assert_eq!(other.status(), 200, "another address is served");
    drop(held);
}

#[test]
fn event_streams_are_capped_per_address() {
    let (_dir, server) = start(&[("SEISMO_LIMITS__EVENT_STREAMS_PER_IP", "2")]);
    let client = support::client_from([127, 0, 0, 1]);
    let open = || client.get(server.url("/api/v1/events")).send().unwrap();
    let first = open();
    let second = open();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open();
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    let body: serde_json::Value = third.json().unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");
    drop(first);
    // The server notices the closed stream at its next write; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(20);
    let reopened = loop {
        let response = open();
        if response.status() == 200 || Instant::now() > deadline {
            break response;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        reopened.status(),
        200,
        "a closed stream's place is free again"
    );
    let elsewhere = support::client_from([127, 0, 0, 3])
        .get(server.url("/api/v1/events"))
        .send()
        .unwrap();
    assert_eq!(elsewhere.status(), 200);
    drop(second);
}

/// The server's resident memory now and at its peak, in MiB.
fn memory_mib(server: &Server) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .parse::<u64>()
            .unwrap()
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn sixty_four_mib_of_empty_objects_cost_a_count_not_memory() {
    let (dir, server) = start(&[]);
    let body = "{}\n".repeat(64 * 1024 * 1024 / 3);
    let (before, _) = memory_mib(&server);
    // Without a token: refused at the hundred-and-first line. The server answers and
    // closes before the rest is sent, so the client may see its write fail first.
    let anonymous = support::http()
        .build()
        .unwrap()
        .post(server.url("/api/v1/reports"))
        .header("content-type", "application/x-ndjson")
        .body(body.clone())
        .send();
    match anonymous {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(error) => assert!(error.is_request(), "{error}"),
    }
    assert_eq!(server.get("/api/v1/services/aws")["reports_last_hour"], 0);
    drop(server);
    // With an importer's token, every line is read and rejected.
    let data = dir.path().join("data");
    let token = support::create_token(&data, "importer");
    let server = Server::start(&data, &[]);
    let (before_import, _) = memory_mib(&server);
    let response = support::http()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
        .post(server.url("/api/v1/reports"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let batch: serde_json::Value = response.json().unwrap();
    assert_eq!(batch["rejected_count"], 64 * 1024 * 1024 / 3);
    assert_eq!(batch["rejected"].as_array().unwrap().len(), 100);
    let (after, peak) = memory_mib(&server);
    assert!(
        peak < before_import + 64 && after < before_import + 64,
        "resident {before} MiB at start, {before_import} MiB before the body, {after} MiB after, {peak} MiB at the peak"
    );
}
