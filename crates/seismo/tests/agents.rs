//! Remote agents with the real binary: two agents in two places, one of which sees the
//! service fail; the quorum tells a place's trouble from the service's; the server
//! restarts mid-test and the agents' buffered results arrive afterwards.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::{Server, create_token, seismo};

/// An HTTP server that answers 503 to connections from 127.0.0.3 (and from everyone
/// once `all_fail` is set), 200 otherwise.
fn web_server(all_fail: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let failing = all_fail.load(Ordering::Relaxed)
                || stream.peer_addr().unwrap().ip() == std::net::IpAddr::from([127, 0, 0, 3]);
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let answer: &[u8] = if failing {
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndown"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            };
            let _ = stream.write_all(answer);
        }
    });
    address
}

/// A running `seismo agent`, stopped when dropped, so a failing test leaves none behind.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(base: &str, location: &str, bind: &str, token: &str) -> Agent {
    let child = seismo()
        .args([
            "agent",
            "--server",
            base,
            "--location",
            location,
            "--bind",
            bind,
        ])
        .env("SEISMO_AGENT_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Agent(child)
}

/// Polls the probes of `shop` until `done` holds, for at most 20 seconds.
fn wait_for(
    server: &Server,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = server.get("/api/v1/services/shop/probes");
        if done(&body["probes"][0]) {
            return body["probes"][0].clone();
        }
        assert!(Instant::now() < deadline, "{what}: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_agents_a_quorum_and_a_server_restart() {
    let all_fail = Arc::new(AtomicBool::new(false));
    let target = web_server(all_fail.clone());
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        format!(
            "[[service]]\nslug = \"shop\"\nname = \"Shop\"\n\n[[service.probe]]\nname = \"home\"\nkind = \"http\"\nurl = \"http://{target}/\"\ninterval = \"1s\"\nretries = 0\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let token = create_token(&data, "agent");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let off = std::ffi::OsStr::new("false");
    let start = || {
        Server::start_with_env(
            &data,
            &["--catalog", catalog.to_str().unwrap(), "--listen", &listen],
            &[("SEISMO_PROBES__ENABLED", off)],
        )
    };
    let mut server = start();
    let _agents = [
        agent(&server.base, "Dallas, US", "127.0.0.2", &token),
        agent(&server.base, "Seattle, US", "127.0.0.3", &token),
    ];

    // Seattle alone fails: a problem of that place, not of the shop.
    let probe = wait_for(&server, "both places report", |p| {
        p["reporting_locations"] == 2 && p["failing_locations"] == 1
    });
    assert_eq!(probe["state"], "location_problem", "{probe}");
    let seattle = probe["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"] == "Seattle, US")
        .unwrap();
    assert_eq!(
        seattle["error"]["message"]
            .as_str()
            .unwrap()
            .split(" answered ")
            .nth(1),
        Some("503 Service Unavailable")
    );
    let agents_seen = server.get("/api/v1/agents");
    let mut places: Vec<&str> = agents_seen
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["location"].as_str().unwrap())
        .collect();
    places.sort();
    assert_eq!(places, ["Dallas, US", "Seattle, US"], "{agents_seen}");
    assert!(
        agents_seen
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] == "up")
    );

    // Both places fail: a quorum, the shop is failing.
    all_fail.store(true, Ordering::Relaxed);
    let probe = wait_for(&server, "both fail", |p| p["state"] == "failing");
    assert_eq!(probe["failing_locations"], 2);
    all_fail.store(false, Ordering::Relaxed);

    // The server goes away for a while; the agents keep probing and keep what they find.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let down_from = seismo_core::time::format_rfc3339(now_ms() + 500);
    std::thread::sleep(Duration::from_secs(4));
    let down_until = now_ms() - 500;
    server = start();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let history = server.get(&format!(
            "/api/v1/services/shop/probes/home/history?location=Dallas,%20US&since={down_from}"
        ));
        let during: Vec<i64> = history["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| seismo_core::time::parse_rfc3339(r["at"].as_str().unwrap()).unwrap())
            .filter(|&at| at <= down_until)
            .collect();
        // About one run a second while the server was away, none lost.
        if during.len() >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "runs while the server was down: {history}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
