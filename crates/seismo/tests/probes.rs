//! Probes run by the real binary: declared in a catalog file, run against listeners of
//! the test's own, stored, served, and still there after a restart.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::Server;

fn catalog(open: &str, closed: &str) -> String {
    format!(
        r#"
[[service]]
slug = "mail"
name = "Mail"

[[service.probe]]
name = "submission"
kind = "tcp"
target = "{open}"
interval = "1s"

[[service.probe]]
name = "legacy"
kind = "tcp"
target = "{closed}"
interval = "1s"
retries = 0
"#
    )
}

/// The probes of `mail` once each has a run, or after ten seconds whatever there is.
fn probes_once_run(server: &Server) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = server.get("/api/v1/services/mail/probes");
        let all_ran = body["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["locations"].as_array().unwrap().is_empty());
        if all_ran || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_catalogs_probes_run_are_served_and_survive_a_restart() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.toml");
    std::fs::write(
        &file,
        catalog(&open.local_addr().unwrap().to_string(), &closed_address),
    )
    .unwrap();
    let data = dir.path().join("data");
    let catalog_arg = file.to_str().unwrap();

    let location = std::ffi::OsStr::new("Test Lab, US");
    let server = Server::start_with_env(
        &data,
        &["--catalog", catalog_arg],
        &[("SEISMO_PROBES__LOCATION", location)],
    );
    let body = probes_once_run(&server);
    let [submission, legacy] = body["probes"].as_array().unwrap().as_slice() else {
        panic!("{body}")
    };
    let run = &submission["locations"][0];
    assert_eq!(
        (&run["location"], &run["ok"]),
        (&"Test Lab, US".into(), &true.into()),
        "{body}"
    );
    let run = &legacy["locations"][0];
    assert_eq!(run["ok"], false, "{body}");
    assert_eq!(run["error"]["kind"], "refused");
    drop(server);

    // Not probing any more: what is shown comes from the store.
    let off = std::ffi::OsStr::new("false");
    let server = Server::start_with_env(
        &data,
        &["--catalog", catalog_arg],
        &[("SEISMO_PROBES__ENABLED", off)],
    );
    let body = server.get("/api/v1/services/mail/probes");
    assert_eq!(
        body["probes"][1]["locations"][0]["error"]["kind"], "refused",
        "{body}"
    );
    let history = server.get("/api/v1/services/mail/probes/legacy/history");
    assert!(!history["runs"].as_array().unwrap().is_empty(), "{history}");
}

#[test]
fn a_bad_probe_in_the_catalog_is_named_by_file_line_and_key() {
    let (file, stderr) = support::serve_refuses_catalog(
        "[[service]]\nslug = \"mail\"\nname = \"Mail\"\n\n[[service.probe]]\nkind = \"smtp\"\ntarget = \"mx.example.com\"\nmail_from = \"a@b\"\nrcpt_to = \"c@d\"\n",
    );
    assert!(
        stderr.contains(&format!("{file}:5:1: service[0].probe[0].target:")),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"mx.example.com\" is not host:port"),
        "{stderr}"
    );
}
