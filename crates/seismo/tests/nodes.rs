//! Three `seismo serve` processes on one PostgreSQL database: reports posted to all
//! three, the leader killed with SIGKILL while an incident is open; another node leads
//! within ten seconds, every acknowledged report is stored and counted once, and a
//! webhook hears the incident opened once and resolved once. And the nodes share the
//! probes and the vendor's page: each runs once however many nodes, every node shows
//! them, and they go on when the leader goes.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use seismo_store::suite::{Database, PostgresSchema};
use serde_json::{Value, json};
use support::{Server, create_token_with};

fn wait_for<T>(what: &str, seconds: u64, mut found: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = found() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(seconds), "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn leads(node: &Server) -> bool {
    support::http_get(node.url("/readyz"))
        .ok()
        .and_then(|r| r.json::<Value>().ok())
        .is_some_and(|ready| ready["leader"] == true)
}

#[test]
fn three_nodes_lose_their_leader_and_lose_nothing_else() {
    let schema = PostgresSchema::new();
    let database = schema.url();
    let dir = tempfile::tempdir().unwrap();
    // Nothing goes to the data directory: everything is in the database.
    let data = dir.path().join("unused");
    let on_database = ["--database", database.as_str()];
    let importer = create_token_with(&data, "importer", &on_database);
    let operator = create_token_with(&data, "operator", &on_database);
    let (heard, hook) = support::webhook_receiver();
    let config = dir.path().join("seismo.toml");
    std::fs::write(
        &config,
        format!(
            "tick = \"1s\"\n[notify]\ngroup_wait = \"1s\"\ngroup_interval = \"1s\"\n\
             [[channel]]\nname = \"it-team\"\nkind = \"webhook\"\nurl = \"{hook}\"\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let mut nodes: Vec<Server> = (0..3)
        .map(|_| Server::start(&data, &["--database", &database, "--config", config]))
        .collect();
    let leader = wait_for("one node leads", 10, || {
        let leading: Vec<usize> = (0..3).filter(|&i| leads(&nodes[i])).collect();
        (leading.len() == 1).then(|| leading[0])
    });

    let client = support::http().build().unwrap();
    let mut acknowledged = Vec::new();
    let mut post_reports = |nodes: &[&Server], from: usize, to: usize| {
        for n in from..to {
            let node = nodes[n % nodes.len()];
            let response = client
                .post(node.url("/api/v1/reports"))
                .bearer_auth(&importer)
                .json(&json!({"service": "slack", "problem": "login", "client": format!("c{n}")}))
                .send()
                .unwrap();
            assert_eq!(response.status(), 202);
            acknowledged.push(response.json::<Value>().unwrap()["id"].as_i64().unwrap());
        }
    };
    post_reports(&nodes.iter().collect::<Vec<_>>(), 0, 300);

    // An operator declares an incident on the leader; the webhook hears it opened.
    let declared: Value = client
        .post(nodes[leader].url("/api/v1/incidents"))
        .bearer_auth(&operator)
        .json(
            &json!({"title": "Messages are delayed", "services": ["slack"],
                      "state": "investigating", "message": "We are on it."}),
        )
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = declared["id"].as_u64().expect("declared");
    let kinds = |heard: &support::Received| -> Vec<String> {
        heard
            .lock()
            .unwrap()
            .iter()
            .map(|m| m["kind"].as_str().unwrap().to_string())
            .collect()
    };
    wait_for("the webhook hears the incident opened", 30, || {
        kinds(&heard).contains(&"opened".to_string()).then_some(())
    });

    // SIGKILL the leader mid-incident: another node leads within ten seconds.
    nodes[leader].child.kill().unwrap();
    nodes[leader].child.wait().unwrap();
    let killed = Instant::now();
    let rest: Vec<&Server> = (0..3).filter(|&i| i != leader).map(|i| &nodes[i]).collect();
    let new_leader = wait_for("another node leads", 10, || {
        rest.iter().copied().find(|&node| leads(node))
    });
    let takeover = killed.elapsed();
    assert!(takeover < Duration::from_secs(10), "{takeover:?}");
    assert_eq!(
        rest.iter().filter(|&&node| leads(node)).count(),
        1,
        "one leader"
    );
    post_reports(&rest, 300, 500);

    // The incident goes on under the new leader, which heard it from the store.
    wait_for("the new leader takes the update", 10, || {
        let response = client
            .post(new_leader.url(&format!("/api/v1/incidents/{id}/updates")))
            .bearer_auth(&operator)
            .json(&json!({"state": "resolved", "message": "Fixed."}))
            .send()
            .unwrap();
        (response.status() == 201).then_some(())
    });
    wait_for("the webhook hears the incident resolved", 30, || {
        kinds(&heard)
            .contains(&"resolved".to_string())
            .then_some(())
    });
    // Time for a duplicate to arrive, were there one.
    std::thread::sleep(Duration::from_secs(3));
    let mut told = kinds(&heard);
    told.sort();
    assert_eq!(told, ["opened", "resolved"], "one message each");
    for node in &rest {
        let seen = node.get(&format!("/api/v1/incidents/{id}"));
        assert_eq!(seen["state"], "resolved", "every node shows it: {seen}");
    }

    // Every acknowledged report is stored once, and counted (each has its reporter).
    let mut stored = Vec::new();
    schema
        .open()
        .scan(i64::MIN, &mut |outcome, _| stored.push(outcome))
        .unwrap();
    let ids: HashSet<i64> = stored.iter().map(|o| o.id).collect();
    assert_eq!(
        stored.len(),
        acknowledged.len(),
        "nothing more, nothing twice"
    );
    assert!(
        acknowledged.iter().all(|id| ids.contains(id)),
        "nothing lost"
    );
    assert!(stored.iter().all(|o| o.counted));
}

/// A TCP listener on loopback that accepts and drops every connection; its address,
/// and how many it accepted.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (address, accepted)
}

/// How many more times `counter` counts in `window`.
fn counted_in(counter: &AtomicUsize, window: Duration) -> usize {
    let before = counter.load(Ordering::SeqCst);
    std::thread::sleep(window);
    counter.load(Ordering::SeqCst) - before
}

#[test]
fn three_nodes_run_each_probe_once_and_the_leader_reads_the_vendor_and_all_show_both() {
    let schema = PostgresSchema::new();
    let database = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let (target, connections) = counting_listener();
    let (page, summaries) = support::status_page();
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        format!(
            "[[service]]\nslug = \"mail\"\nname = \"Mail\"\n\n\
             [[service.probe]]\nname = \"submission\"\nkind = \"tcp\"\ntarget = \"{target}\"\ninterval = \"1s\"\n\n\
             [[service.feed]]\nkind = \"statuspage\"\nurl = \"{page}\"\ninterval = \"10s\"\n"
        ),
    )
    .unwrap();
    let args = [
        "--database",
        database.as_str(),
        "--catalog",
        catalog.to_str().unwrap(),
    ];
    let data = dir.path().join("unused");
    let mut nodes: Vec<Server> = (0..3).map(|_| Server::start(&data, &args)).collect();
    // Every node shows the probe's runs and the vendor's page, whoever ran and read.
    for node in &nodes {
        wait_for("every node shows the probe and the vendor", 20, || {
            let probes = node.get("/api/v1/services/mail/probes");
            let official = node.get("/api/v1/services/mail/official");
            let ran = probes["probes"][0]["locations"][0]["ok"] == true;
            let read = official["feeds"][0]["condition"] == "partial_outage";
            (ran && read).then_some(())
        });
    }
    // Once the nodes have seen each other beat: one run a second, not three; one read
    // of the page every ten seconds, not three.
    std::thread::sleep(Duration::from_secs(5));
    let window = Duration::from_secs(12);
    let (runs, reads) = std::thread::scope(|scope| {
        let runs = scope.spawn(|| counted_in(&connections, window));
        (runs.join().unwrap(), counted_in(&summaries, window))
    });
    assert!((6..=18).contains(&runs), "{runs} runs in 12 s");
    assert!((1..=2).contains(&reads), "{reads} reads in 12 s");

    // The leader goes: the others take over its reading and, whoever ran the probe,
    // it runs on.
    let leader = wait_for("one node leads", 10, || (0..3).find(|&i| leads(&nodes[i])));
    nodes[leader].child.kill().unwrap();
    nodes[leader].child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(10));
    let (runs, reads) = std::thread::scope(|scope| {
        let runs = scope.spawn(|| counted_in(&connections, window));
        (runs.join().unwrap(), counted_in(&summaries, window))
    });
    assert!(
        (6..=18).contains(&runs),
        "{runs} runs in 12 s after the leader went"
    );
    assert!(
        (1..=2).contains(&reads),
        "{reads} reads in 12 s after the leader went"
    );
}
