//! `/metrics` of the real binary: Prometheus's own linter accepts it (`promtool check
//! metrics`, from Debian's `prometheus`, which `./scripts/test` installs), and it moves
//! with what the server does.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use support::Server;

#[test]
fn metrics_pass_promtool_and_count_what_happens() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let client = support::http().build().unwrap();
    let post = |report: serde_json::Value| {
        client
            .post(server.url("/api/v1/reports"))
            .json(&report)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post(json!({"service": "slack", "problem": "login"})), 202);
    assert_eq!(post(json!({"service": "no-such-service"})), 422);
    assert_eq!(post(json!({"service": "slack", "problem": 7})), 400);
    let response = client.get(server.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().unwrap();
    for line in [
        "seismo_reports_accepted_total 1",
        "seismo_reports_rejected_total{reason=\"unknown_service\"} 1",
        "seismo_reports_rejected_total{reason=\"invalid_field\"} 1",
        "seismo_leader 1",
        "seismo_live_connections 0",
        "seismo_writer_queue_depth 0",
        "seismo_writer_commit_seconds_count 1",
        "# TYPE seismo_engine_tick_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian: apt-get install prometheus; ./scripts/test does)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
