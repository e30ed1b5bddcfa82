//! Running the real `seismo` binary in tests.
#![allow(dead_code)] // each test file uses part of the support code

pub mod mmdb;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn seismo() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seismo"));
    command.env("SEISMO_LOG", "warn");
    command
}

/// `seismo serve` on a catalog file holding `text`, which must fail: the file's path and
/// what the server said on standard error.
pub fn serve_refuses_catalog(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, text).unwrap();
    let output = seismo()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--catalog")
        .arg(&catalog)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (catalog.display().to_string(), stderr)
}

/// The scenario `name` of scenarios/.
pub fn scenario_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(format!("{name}.toml"))
}

/// `seismo simulate` of the scenario at `path`, then `seismo detect --format json` of
/// its reports: the incidents found.
pub fn simulate_and_detect(path: &Path) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports.ndjson");
    let posts = dir.path().join("posts.ndjson");
    let simulated = seismo()
        .arg("simulate")
        .arg(path)
        .arg("--posts")
        .arg(&posts)
        .output()
        .unwrap();
    assert!(
        simulated.status.success(),
        "{}",
        String::from_utf8_lossy(&simulated.stderr)
    );
    std::fs::write(&reports, &simulated.stdout).unwrap();
    let detected = seismo()
        .args(["detect", "--format", "json", "--reports"])
        .arg(&reports)
        .arg("--posts")
        .arg(&posts)
        .output()
        .unwrap();
    assert!(
        detected.status.success(),
        "{}",
        String::from_utf8_lossy(&detected.stderr)
    );
    serde_json::from_slice(&detected.stdout).unwrap()
}

/// An HTTP client's builder. The probes' TLS settings come with no process-wide
/// cryptography provider, so reqwest is given one here, as `main` gives it to seismo.
pub fn http() -> reqwest::blocking::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::blocking::Client::builder()
}

/// `GET url`.
pub fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::blocking::Response> {
    http().build().unwrap().get(url).send()
}

/// An HTTP client whose connections come from `ip` (any of 127.0.0.0/8 reaches a
/// server on 127.0.0.1, and each /24 of it is another network to seismo).
pub fn client_from(ip: [u8; 4]) -> reqwest::blocking::Client {
    http()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

/// `seismo token create --role ROLE` on the store in `data`: the secret it prints.
pub fn create_token(data: &Path, role: &str) -> String {
    create_token_with(data, role, &[])
}

/// [`create_token`] with more arguments (`--database`).
pub fn create_token_with(data: &Path, role: &str, extra: &[&str]) -> String {
    let created = seismo()
        .args(["token", "create", "--role", role, "--data"])
        .arg(data)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let secret = String::from_utf8(created.stdout).unwrap();
    secret.trim_end().to_string()
}

/// A `seismo serve` process on a free port; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    /// Starts a server with extra environment variables.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &OsStr)]) -> Server {
        // Port 0 (a free port) unless the test names one.
        let listen: &[&str] = if extra.contains(&"--listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let mut child = seismo()
            .arg("serve")
            .args(listen)
            .arg("--data")
            .arg(data)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("seismo starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("seismo listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        http_get(self.url(path)).unwrap().json().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON bodies a webhook receiver got.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// A webhook receiver on loopback that answers 200 to every POST; its address.
pub fn webhook_receiver() -> (Received, String) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Received::default();
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            kept.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (received, url)
}

/// `summary.json` and `incidents.json` of a page whose mail is down, in the shapes of
/// Statuspage's public API.
pub const SUMMARY: &str = r#"{
  "page": {"id": "kctbh9vrtdwd", "name": "Mail", "url": "https://status.mail.test", "time_zone": "Etc/UTC", "updated_at": "2026-01-22T18:40:00.000Z"},
  "components": [
    {"id": "c1", "name": "Exchange Online", "status": "major_outage", "group": false, "position": 1},
    {"id": "c2", "name": "Teams", "status": "operational", "group": false, "position": 2}
  ],
  "incidents": [],
  "scheduled_maintenances": [],
  "status": {"indicator": "major", "description": "Partial System Outage"}
}"#;

pub const INCIDENTS: &str = r#"{
  "page": {"id": "kctbh9vrtdwd"},
  "incidents": [{
    "id": "p0qhhxg4zfzh", "name": "Mail delivery delays", "status": "investigating", "impact": "major",
    "created_at": "2026-01-22T18:37:12.000Z", "updated_at": "2026-01-22T18:37:12.000Z",
    "started_at": "2026-01-22T18:15:00.000Z", "resolved_at": null, "shortlink": "https://stspg.io/p0qhhxg4zfzh",
    "components": [{"id": "c1", "name": "Exchange Online", "status": "major_outage"}],
    "incident_updates": [{"id": "u1", "status": "investigating", "created_at": "2026-01-22T18:37:12.000Z",
      "display_at": "2026-01-22T18:37:12.000Z", "body": "MO1221364: users cannot send mail (451 4.3.2)."}]
  }]
}"#;

/// A page on loopback answering the two documents; its address, and how many times
/// its summary was asked for.
pub fn status_page() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let summaries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = summaries.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let body = if line.contains("/api/v2/summary.json") {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                SUMMARY
            } else {
                INCIDENTS
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (format!("http://{address}"), summaries)
}
