//! The `seismo` command line: import, catalog errors.

mod support;

use std::io::Write;
use std::process::Stdio;

use support::{Server, seismo};

fn recent(minutes_ago: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    seismo_core::time::format_rfc3339(now - minutes_ago * 60_000)
}

#[test]
fn import_stores_good_lines_and_reports_bad_ones_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.ndjson");
    let lines = [
        format!(
            r#"{{"service":"Outlook","problem":"email","at":"{}","client":"a","city":"Dallas","country":"US"}}"#,
            recent(30)
        ),
        format!(
            r#"{{"service":"Outlook","problem":"email","at":"{}","client":"a"}}"#,
            recent(20)
        ),
        r#"{"service":"hotmail"}"#.to_string(),
        String::new(),
        // Older than 7 days is fine for an import.
        r#"{"service":"aws","at":"2025-06-01T12:00:00Z","client":"b"}"#.to_string(),
        "not json".to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let data = dir.path().join("data");
    let output = seismo()
        .args(["import", "--data"])
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "some lines were rejected\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("6 lines, 3 accepted (2 counted, 1 duplicates), 2 rejected"),
        "{stdout}"
    );
    let name = file.display();
    assert!(
        stderr.contains(&format!(
            "{name}:3: unknown_service (service): no service is called \"hotmail\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:6: malformed_json")),
        "{stderr}"
    );

    // From standard input, into the same store: the same reporter within the hour is a duplicate.
    let mut child = seismo()
        .args(["import", "--data"])
        .arg(&data)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let again = format!(r#"{{"service":"m365","at":"{}","client":"a"}}"#, recent(10));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(again.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 accepted (0 counted, 1 duplicates)")
    );

    let server = Server::start(&data, &[]);
    let m365 = server.get("/api/v1/services/microsoft-365");
    assert_eq!(m365["reports_last_hour"], 1);
    let by_city = server.get("/api/v1/services/microsoft-365/series?step=3600&by=city");
    let keys: Vec<&str> = by_city["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["Dallas, Texas, US"]);
}

#[test]
fn a_bad_catalog_is_named_with_file_line_and_field() {
    let (catalog, stderr) = support::serve_refuses_catalog(
        "[[service]]\nslug = \"mail\"\nname = \"Mail\"\ndepends_on = [\"dns\"]\n",
    );
    let expected = format!("{catalog}:4:15: service[0].depends_on: unknown service \"dns\"");
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_custom_catalog_replaces_the_demo_one() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        "[[service]]\nslug = \"intranet\"\nname = \"Intranet\"\nproblems = [\"vpn\"]\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--catalog", catalog.to_str().unwrap()],
    );
    let services = server.get("/api/v1/services");
    assert_eq!(services["services"].as_array().unwrap().len(), 1);
    assert_eq!(
        services["services"][0]["problems"],
        serde_json::json!(["vpn", "other"])
    );
}

#[test]
fn the_demo_shows_the_outage_unfold_as_detect_finds_it() {
    // What `seismo detect` finds in the demo's scenario, from the data's own time…
    let dir = tempfile::tempdir().unwrap();
    let batch = support::simulate_and_detect(&support::scenario_path("mail-outage"));
    let batch_m365 = batch
        .iter()
        .find(|i| i["service"] == "microsoft-365")
        .unwrap();

    // …the live server finds too, from its (accelerated) clock: possible from the posts
    // at the same minute, its cities once reports surge.
    let server = Server::start(&dir.path().join("unused"), &["--demo"]);
    let started = std::time::Instant::now();
    let live = loop {
        let incidents = server.get("/api/v1/incidents?service=microsoft-365");
        if let Some(incident) = incidents["incidents"].as_array().unwrap().first()
            && incident["cities"].as_array().unwrap().len() == 7
        {
            break incident.clone();
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "no Microsoft 365 incident with its cities after two minutes: {incidents}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let minutes = |i: &serde_json::Value, field: &str| {
        seismo_core::time::parse_rfc3339(i[field].as_str().unwrap()).unwrap() / 60_000
    };
    assert!(
        (minutes(&live, "detected_at") - minutes(batch_m365, "detected_at")).abs() <= 1,
        "live {live} vs batch {batch_m365}"
    );
    assert_eq!(
        minutes(&live, "started_at"),
        minutes(batch_m365, "started_at")
    );
    let cities = |i: &serde_json::Value| {
        let mut c: Vec<String> = i["cities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["city"].as_str().unwrap().to_string())
            .collect();
        c.sort();
        c
    };
    assert_eq!(cities(&live), cities(batch_m365));
    // The demo's mail server refuses recipients once the outage begins: its SMTP probe,
    // run from three places, speaks in the timeline with the server's words.
    let probes = live["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["evidence"]["kind"] == "probes")
        .unwrap_or_else(|| panic!("no probe evidence in {live}"));
    // A majority of the places that ran it since the outage began: 2 or 3 of them.
    let failing = probes["evidence"]["failing"].as_u64().unwrap();
    let locations = probes["evidence"]["locations"].as_u64().unwrap();
    assert!(
        (2..=3).contains(&locations) && failing > locations / 2,
        "{probes}"
    );
    assert_eq!(
        probes["evidence"]["reply"],
        "RCPT TO answered 451 4.3.2 Temporary server error. Please try again later"
    );
    // Within minutes of the mail server's first refusal, the scenario's onset (the
    // incident itself began earlier, with the posts).
    let scenario: toml::Value =
        toml::from_str(&std::fs::read_to_string(support::scenario_path("mail-outage")).unwrap())
            .unwrap();
    let onset = scenario["outage"][0]["onset"].as_str().unwrap();
    let onset = seismo_core::time::parse_rfc3339(onset).unwrap() / 60_000;
    let probe_minute = minutes(probes, "at");
    assert!((onset..=onset + 3).contains(&probe_minute), "{probes}");
}

#[test]
fn importing_the_same_history_twice_counts_it_once_at_any_age() {
    let dir = tempfile::tempdir().unwrap();
    // February 2026: far older than anything the server keeps in memory.
    let lines = [
        r#"{"service":"aws","at":"2026-02-03T10:00:00Z","client":"a"}"#,
        r#"{"service":"aws","at":"2026-02-03T12:00:00Z","client":"a"}"#,
        r#"{"service":"zoom","at":"2026-02-03T10:00:00Z","client":"a"}"#,
        r#"{"service":"aws","at":"2026-02-03T10:00:00Z","problem":"console"}"#,
        r#"{"service":"aws","at":"2026-02-03T10:00:00Z","problem":"api"}"#,
        r#"{"service":"slack","at":"2026-02-04T08:30:00+01:00","city":"Dallas"}"#,
    ];
    let first = dir.path().join("february.ndjson");
    std::fs::write(&first, lines.join("\n")).unwrap();
    // The same lines under another name.
    let copy = dir.path().join("february-again.ndjson");
    std::fs::copy(&first, &copy).unwrap();
    let data = dir.path().join("data");
    let import = |file: &std::path::Path| {
        let output = seismo()
            .args(["import", "--data"])
            .arg(&data)
            .arg(file)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let once = import(&first);
    assert!(
        once.contains("6 lines, 6 accepted (6 counted, 0 duplicates)"),
        "{once}"
    );
    let twice = import(&copy);
    assert!(
        twice.contains("6 lines, 6 accepted (0 counted, 6 duplicates)"),
        "{twice}"
    );
}

#[test]
fn history_keeps_stored_incidents_older_than_the_replay() {
    // An incident found months ago (the blip scenario is in April 2026), stored as
    // seismo stored them before records had a format of their own (format 0: the API's
    // JSON); a server started now replays only the last 36 days, and reads it.
    let found = support::simulate_and_detect(&support::scenario_path("blip"));
    let incident = found.iter().find(|i| i["service"] == "slack").unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        use seismo_store::Store;
        let mut store = seismo_store::SqliteStore::open(dir.path()).unwrap();
        let time = |field: &str| {
            seismo_core::time::parse_rfc3339(incident[field].as_str().unwrap()).unwrap()
        };
        store
            .save_incidents(
                &[seismo_store::IncidentRecord {
                    id: incident["id"].as_i64().unwrap(),
                    service: "slack".into(),
                    state: incident["state"].as_str().unwrap().into(),
                    started_at: time("started_at"),
                    ended_at: Some(time("ended_at")),
                    format: 0,
                    body: incident.to_string(),
                }],
                &[],
            )
            .unwrap();
    }
    let server = Server::start(dir.path(), &[]);
    let id = incident["id"].as_u64().unwrap();
    let history = support::http_get(server.url("/history?service=slack"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        history.contains(&format!("href=\"/incidents/{id}\"")),
        "{history}"
    );
    let page = support::http_get(server.url(&format!("/incidents/{id}"))).unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("Slack outage"));
    let statuspage = server.get("/api/v2/incidents.json");
    assert_eq!(statuspage["incidents"][0]["id"], id.to_string());
    assert_eq!(statuspage["incidents"][0]["status"], "resolved");
}

#[test]
fn one_settings_file_printed_whole_read_back_overridden_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let printed = seismo().args(["config", "default"]).output().unwrap();
    assert!(printed.status.success());
    let file = dir.path().join("seismo.toml");
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(
        text.contains("\nsensitivity = 7.0\n")
            && text.contains("# Address `seismo serve` listens on")
    );
    std::fs::write(
        &file,
        text.replace("sensitivity = 7.0", "sensitivity = 8.5"),
    )
    .unwrap();

    // The settings in effect: the file, then the environment, then flags.
    let shown = seismo()
        .args(["config", "show", "--data", "/srv/seismo", "--config"])
        .arg(&file)
        .env("SEISMO_COUNTING_WINDOW", "30m")
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let settings: toml::Table = toml::from_str(&String::from_utf8(shown.stdout).unwrap()).unwrap();
    assert_eq!(settings["engine"]["sensitivity"].as_float(), Some(8.5));
    assert_eq!(settings["counting_window"].as_str(), Some("30m"));
    assert_eq!(settings["data"].as_str(), Some("/srv/seismo"));

    // A mistake stops the server before it starts, naming file, line and key.
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\n[engine]\nsensitivty = 8\n",
    )
    .unwrap();
    let refused = seismo()
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3: sensitivty: unknown field `sensitivty`",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn tokens_are_created_once_listed_revoked_and_refused_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = |args: &[&str]| {
        support::seismo()
            .arg("token")
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let secret = support::create_token(&data, "importer");
    assert!(
        secret.starts_with("seismo_") && secret.len() == 71 && !secret.contains('\n'),
        "the secret alone on stdout: {secret:?}"
    );
    let named = token(&[
        "create",
        "--role",
        "agent",
        "--name",
        "probe-eu",
        "--expires",
        "90d",
    ]);
    assert!(named.status.success());
    let again = token(&["create", "--role", "admin", "--name", "probe-eu"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("\"probe-eu\" exists already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let bad_role = token(&["create", "--role", "root"]);
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("no role \"root\""));

    let list = String::from_utf8(token(&["list"]).stdout).unwrap();
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["importer-1", "importer", "active"],
            ["probe-eu", "agent", "active"]
        ]
    );
    assert!(!list.contains(&secret[7..]), "never the secret: {list}");
    let expires = list.lines().find(|l| l.starts_with("probe-eu")).unwrap();
    assert!(!expires.ends_with("never"), "{expires}");

    // The token works on a server, then not once revoked.
    let old_report = serde_json::json!({"service": "aws", "at": "2025-06-01T00:00:00Z"});
    let send = |server: &Server| {
        support::http()
            .build()
            .unwrap()
            .post(server.url("/api/v1/reports"))
            .bearer_auth(&secret)
            .json(&old_report)
            .send()
            .unwrap()
            .status()
    };
    {
        let server = Server::start(&data, &[]);
        assert_eq!(send(&server), 202);
    }
    assert!(token(&["revoke", "importer-1"]).status.success());
    let twice = token(&["revoke", "importer-1"]);
    assert!(!twice.status.success());
    let list = String::from_utf8(token(&["list"]).stdout).unwrap();
    assert!(
        list.contains("importer-1               importer  revoked"),
        "{list}"
    );
    let server = Server::start(&data, &[]);
    assert_eq!(send(&server), 401);
}

#[test]
fn a_corrupt_store_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("seismo.db"), vec![0x5a; 8192]).unwrap();
    let output = seismo()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot open the store {}",
            data.join("seismo.db").display()
        )) && stderr.contains("restore it from a backup"),
        "{stderr}"
    );
}

#[test]
fn a_database_out_of_reach_is_named_without_its_password() {
    // Nothing listens on port 1; the address comes from the environment.
    let output = seismo()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "SEISMO_DATABASE_URL",
            "postgres://seismo:hunter2@127.0.0.1:1/seismo?connect_timeout=5",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the database postgres://seismo@127.0.0.1:1/seismo")
            && stderr.contains("check that the server runs")
            && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

/// The server's log line that says it is serving, as `seismo serve` writes it to a pipe
/// in `format`.
fn serving_line(format: &str) -> String {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = seismo()
        .env("SEISMO_LOG", "info")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            format,
            "--data",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let line = stderr
        .lines()
        .map(Result::unwrap)
        .find(|line| line.contains("serving"))
        .expect("the server logs that it serves");
    child.kill().unwrap();
    child.wait().unwrap();
    line
}

#[test]
fn logs_are_json_on_request_and_plain_text_without_colour_in_a_pipe() {
    let json: serde_json::Value = serde_json::from_str(&serving_line("json")).unwrap();
    assert_eq!(json["level"], "INFO");
    assert_eq!(json["fields"]["message"], "serving");
    assert!(json["fields"]["services"].as_u64().unwrap() > 0);
    let text = serving_line("text");
    assert!(text.contains("INFO") && text.contains("serving"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a pipe: {text:?}"
    );
}
