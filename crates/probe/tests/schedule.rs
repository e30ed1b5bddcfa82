//! The scheduler: probes run on their intervals, retried when they fail, and one that
//! panics or hangs stops nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seismo_core::probe::{Check, Detail, Failure, FailureKind, Outcome, Probe, TcpCheck};
use seismo_probe::Prober;
use seismo_probe::schedule::{Assignment, Clock, Finished, Runner, share, start};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn probe(name: &str, target: &str, interval_ms: u64, retries: u8) -> Probe {
    Probe {
        name: name.into(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(200),
        retries,
        quorum: None,
        check: Check::Tcp(TcpCheck {
            target: target.into(),
        }),
    }
}

fn assign(probe: Probe) -> Assignment {
    Assignment {
        service: "mail".into(),
        probe,
    }
}

fn clock() -> Clock {
    Arc::new(|| 1_700_000_000_000)
}

/// Collects what finishes within `for_ms`, by probe name.
async fn collect(mut rx: mpsc::Receiver<Finished>, for_ms: u64) -> HashMap<String, Vec<Finished>> {
    let mut by_probe: HashMap<String, Vec<Finished>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(for_ms);
    while let Ok(Some(finished)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        by_probe
            .entry(finished.result.probe.clone())
            .or_default()
            .push(finished);
    }
    by_probe
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_run_on_their_intervals_and_failures_are_retried() {
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (tx, rx) = mpsc::channel(64);
    let tasks = start(
        vec![
            assign(probe(
                "open",
                &open.local_addr().unwrap().to_string(),
                100,
                1,
            )),
            assign(probe("closed", &closed_address, 100, 2)),
        ],
        Prober::new(Vec::new(), None).unwrap(),
        "Dallas, US".into(),
        clock(),
        tx,
    );
    let seen = collect(rx, 1_050).await;
    // About ten runs each in a second of 100 ms intervals (a first phase, jitter).
    for name in ["open", "closed"] {
        let runs = seen[name].len();
        assert!((5..=11).contains(&runs), "{name}: {runs} runs");
    }
    let open_run = &seen["open"][0].result;
    assert!(open_run.outcome.ok);
    assert_eq!(
        (open_run.attempts, open_run.location.as_str()),
        (1, "Dallas, US")
    );
    assert_eq!(open_run.at, 1_700_000_000_000, "the time is the clock's");
    let closed_run = &seen["closed"][0].result;
    assert_eq!(closed_run.attempts, 3, "a failure is tried twice more");
    assert_eq!(
        closed_run.outcome.failure.as_ref().unwrap().kind,
        FailureKind::Refused
    );
    for task in tasks {
        task.abort();
    }
}

/// Panics on `panics`, never returns on `hangs`, answers ok at once otherwise.
#[derive(Clone, Default)]
struct Misbehaving {
    calls: Arc<AtomicU32>,
}

impl Runner for Misbehaving {
    async fn run(&self, check: &Check, _timeout: Duration) -> Outcome {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match check.target() {
            "panics:1" => panic!("a bug in a probe"),
            "hangs:1" => std::future::pending().await,
            "fails:1" => Outcome {
                ok: false,
                latency_ms: 0,
                failure: Some(Failure::new(FailureKind::Timeout, "no answer")),
                detail: Detail::Tcp {},
            },
            _ => Outcome {
                ok: true,
                latency_ms: 0,
                failure: None,
                detail: Detail::Tcp {},
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_panics_or_hangs_stops_nothing_else() {
    let (tx, rx) = mpsc::channel(1024);
    let runner = Misbehaving::default();
    let mut hanging = probe("hangs", "hangs:1", 100, 0);
    hanging.timeout = Duration::from_millis(10);
    let tasks = start(
        vec![
            assign(probe("panics", "panics:1", 100, 0)),
            assign(hanging),
            assign(probe("healthy", "ok:1", 100, 0)),
            assign(probe("fails", "fails:1", 100, 0)),
        ],
        runner.clone(),
        "here".into(),
        clock(),
        tx,
    );
    let seen = collect(rx, 2_500).await;
    assert!(
        !seen.contains_key("panics") && !seen.contains_key("hangs"),
        "{:?}",
        seen.keys()
    );
    assert!(seen["healthy"].len() >= 18, "{}", seen["healthy"].len());
    assert!(seen["fails"].len() >= 18);
    // The panicking probe went on being scheduled after its panic: it is not stopped.
    assert!(runner.calls.load(Ordering::Relaxed) as usize > 2 * seen["healthy"].len() + 5);
    // On a machine this idle, a run starts well within its interval of schedule.
    let mut late: Vec<Duration> = seen["healthy"].iter().map(|f| f.late).collect();
    late.sort();
    assert!(late[late.len() / 2] < Duration::from_millis(50), "{late:?}");
    for task in tasks {
        task.abort();
    }
}

#[test]
fn nodes_share_the_probes_each_to_one_and_a_leaver_moves_only_its_own() {
    let assignments: Vec<Assignment> = (0..60)
        .map(|n| assign(probe(&format!("probe {n}"), "127.0.0.1:1", 1_000, 0)))
        .collect();
    let names = |share: &[Assignment]| -> Vec<String> {
        share.iter().map(|a| a.probe.name.clone()).collect()
    };
    let nodes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let shares: Vec<Vec<String>> = nodes
        .iter()
        .map(|node| names(&share(&assignments, &nodes, node)))
        .collect();
    let mut all: Vec<&String> = shares.iter().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(
        shares.iter().map(Vec::len).sum::<usize>(),
        60,
        "each probe to one node"
    );
    assert_eq!(all.len(), 60, "every probe to some node");
    assert!(
        shares.iter().all(|s| (8..=32).contains(&s.len())),
        "shared about evenly: {:?}",
        shares.iter().map(Vec::len).collect::<Vec<_>>()
    );
    // c leaves: a and b keep what they ran and split c's.
    let left = &nodes[..2];
    for (n, node) in left.iter().enumerate() {
        let now = names(&share(&assignments, left, node));
        assert!(
            shares[n].iter().all(|p| now.contains(p)),
            "{node} keeps its own"
        );
    }
    let taken: usize = left
        .iter()
        .map(|node| share(&assignments, left, node).len())
        .sum();
    assert_eq!(taken, 60);
    // Alone, or before its first heartbeat is seen, a node runs everything.
    assert_eq!(share(&assignments, &[], "a").len(), 60);
    assert_eq!(
        share(&assignments, &nodes[1..2], "a").len() + share(&assignments, &nodes[..2], "b").len(),
        60
    );
}
