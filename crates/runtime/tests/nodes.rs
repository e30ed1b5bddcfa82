//! Two nodes on one PostgreSQL database, driven by one fake clock: each hears the
//! other's reports, probe runs, official readings and posts and the leader's operators'
//! updates, only the leader stores incidents, and a node that takes over stores what
//! its predecessor found but did not.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::operator::Progress;
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_detect::EngineConfig;
use seismo_runtime::{Clock, GRACE_MS, Live, Nodes, PostError, Posted, Publisher, Ticker};
use seismo_store::suite::{Database, PostgresSchema};
use seismo_store::{Leadership, PostgresStore, WriterConfig};

use common::{
    NOW, PROBED, incidents, mail_page, mx_runs, post, store_history, store_post_history, surge,
};

struct Quiet;

impl Publisher for Quiet {
    fn publish(&self, _: &seismo_detect::Engine, _: &[seismo_detect::IncidentEvent]) {}
}

fn wait_for(what: &str, done: &dyn Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A node of `schema`'s database, started at [`NOW`].
fn start_node(
    schema: &PostgresSchema,
    catalog: &Arc<Catalog>,
    leadership: Leadership,
) -> Arc<Live> {
    Arc::new(
        Live::start_with(
            Box::new(PostgresStore::connect(&schema.url()).unwrap()),
            catalog.clone(),
            Gazetteer::embedded(),
            EngineConfig::default(),
            WriterConfig::default(),
            NOW,
            Nodes::Shared(leadership),
        )
        .unwrap(),
    )
}

/// Two nodes of `schema`'s database that campaign to lead, started at [`NOW`].
fn two_nodes(schema: &PostgresSchema, catalog: &Arc<Catalog>) -> [Arc<Live>; 2] {
    [(); 2].map(|()| {
        let leadership = Leadership::campaign(&schema.url(), Duration::from_secs(1)).unwrap();
        start_node(schema, catalog, leadership)
    })
}

/// A clock at [`NOW`] that the test moves, and a runtime to tick on.
fn fake_clock_and_runtime() -> (Arc<AtomicI64>, Clock, tokio::runtime::Runtime) {
    let time = Arc::new(AtomicI64::new(NOW));
    let clock: Clock = {
        let time = time.clone();
        Arc::new(move || time.load(Ordering::SeqCst))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (time, clock, runtime)
}

#[test]
fn nodes_hear_each_other_and_only_the_leader_stores_until_another_takes_over() {
    let schema = PostgresSchema::new();
    let catalog = Arc::new(Catalog::demo());
    store_history(&mut *schema.open());

    let every = Duration::from_millis(50);
    let node = |leadership| start_node(&schema, &catalog, leadership);
    let first_lead = Leadership::campaign(&schema.url(), every).unwrap();
    wait_for("the first node leads", &|| first_lead.is_leader());
    let second_lead = Leadership::campaign(&schema.url(), every).unwrap();
    let (first, second) = (node(first_lead.clone()), node(second_lead.clone()));
    let (time, clock, runtime) = fake_clock_and_runtime();
    let mut tick_first = Ticker::new(first.clone(), clock.clone(), Arc::new(Quiet));
    let mut tick_second = Ticker::new(second.clone(), clock.clone(), Arc::new(Quiet));
    let tick = |ticker: &mut Ticker| runtime.block_on(ticker.tick()).unwrap();

    // A surge of forty reports a minute for twenty minutes, all sent to the follower.
    surge(&second, 20);
    let post = |live: &Live, at: Millis, incident: u64| {
        live.post_operator_update(Posted {
            incident: Some(incident),
            posted_at: at,
            by: "alice".into(),
            state: Progress::Identified,
            message: "A bad deploy".into(),
            impact: None,
            declares: None,
        })
    };
    for minute in 0..14 {
        time.store(
            NOW + minute * MINUTE_MS + GRACE_MS + 1_000,
            Ordering::SeqCst,
        );
        tick(&mut tick_first);
        tick(&mut tick_second);
        if minute == 12 {
            let id = incidents(&first)
                .first()
                .expect("the leader heard the follower's reports")
                .0;
            let at = time.load(Ordering::SeqCst);
            assert!(matches!(post(&second, at, id), Err(PostError::NotLeader)));
            post(&first, at, id).unwrap();
        }
    }
    let found = incidents(&first);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        incidents(&second),
        found,
        "both nodes found the same, the update too"
    );
    assert!(
        found[0]
            .2
            .iter()
            .any(|e| format!("{:?}", e.change).contains("A bad deploy")),
        "{found:#?}"
    );
    let mut reader = schema.open();
    let outbox = |reader: &mut dyn seismo_store::Store| -> Vec<String> {
        reader
            .incident_events_after(0, 1_000)
            .unwrap()
            .into_iter()
            .map(|e| e.body)
            .collect()
    };
    let logged = |live: &Live| -> Vec<String> {
        incidents(live)
            .iter()
            .flat_map(|(_, _, log)| log.iter().map(|e| serde_json::to_string(e).unwrap()))
            .collect()
    };
    assert_eq!(
        outbox(&mut *reader),
        logged(&first),
        "stored once, by the leader"
    );

    // The leader stalls: the follower goes on alone through the end of the surge and
    // finds changes nobody stores, until the leader's connection is cut.
    for minute in 14..40 {
        time.store(
            NOW + minute * MINUTE_MS + GRACE_MS + 1_000,
            Ordering::SeqCst,
        );
        tick(&mut tick_second);
    }
    let before_takeover = outbox(&mut *reader);
    assert!(
        logged(&second).len() > before_takeover.len(),
        "the follower found more"
    );
    schema.cut_the_leaders_connection();
    wait_for("the follower takes over", &|| second_lead.is_leader());
    wait_for("the stalled leader steps down", &|| !first_lead.is_leader());
    tick(&mut tick_second);
    tick(&mut tick_first);
    assert_eq!(
        outbox(&mut *reader),
        logged(&second),
        "the new leader stored what its predecessor had not, once"
    );
    for live in [first, second] {
        live.finish();
    }
}

#[test]
fn every_node_hears_the_probe_runs_and_vendor_posts_that_any_node_stores() {
    let schema = PostgresSchema::new();
    let catalog = Arc::new(Catalog::parse("test", PROBED).unwrap());
    let [first, second] = two_nodes(&schema, &catalog);
    let (time, clock, runtime) = fake_clock_and_runtime();
    let mut tickers =
        [&first, &second].map(|live| Ticker::new(live.clone(), clock.clone(), Arc::new(Quiet)));
    let feed = catalog.services()[0].feeds[0].name.clone();
    for minute in 0..100 {
        let at = NOW + minute * MINUTE_MS + 20_000;
        time.store(at, Ordering::SeqCst);
        // Each node probes from two of the four places: a quorum fails only in the
        // runs of both together. The vendor's page is read by the first alone.
        let runs = mx_runs(minute);
        let (firsts, seconds) = runs.split_at(2);
        runtime.block_on(async {
            first.record_probe_results(firsts.to_vec()).await.unwrap();
            second.record_probe_results(seconds.to_vec()).await.unwrap();
            if minute == 40 || minute == 70 {
                first
                    .record_official("mail", &feed, at, mail_page(minute))
                    .await
                    .unwrap();
            }
        });
        for ticker in &mut tickers {
            runtime.block_on(ticker.tick()).unwrap();
        }
    }
    let found = incidents(&first);
    assert_eq!(
        found.len(),
        1,
        "the probe outage, from both nodes' runs: {found:#?}"
    );
    let vendor_posts = found[0]
        .2
        .iter()
        .filter(|e| format!("{:?}", e.change).contains("Official"))
        .count();
    assert_eq!(
        vendor_posts, 2,
        "both posts of the vendor joined it: {found:#?}"
    );
    assert_eq!(incidents(&second), found, "both nodes found the same");
    // The second node shows what the first stored.
    assert_eq!(
        second
            .official
            .reading("mail", &feed)
            .and_then(|r| r.status),
        Some(mail_page(70))
    );
    let shown: Vec<String> = second
        .probes
        .of_service("mail")
        .into_iter()
        .map(|r| r.location)
        .collect();
    assert_eq!(shown, ["Boston", "Chicago", "Dallas", "Seattle"]);
    for live in [first, second] {
        live.finish();
    }
}

#[test]
fn every_node_hears_the_posts_any_node_takes_and_an_author_counts_once() {
    let schema = PostgresSchema::new();
    let catalog = Arc::new(Catalog::demo());
    store_history(&mut *schema.open());
    store_post_history(&mut *schema.open());
    let [first, second] = two_nodes(&schema, &catalog);
    let (time, clock, runtime) = fake_clock_and_runtime();
    let mut tickers =
        [&first, &second].map(|live| Ticker::new(live.clone(), clock.clone(), Arc::new(Quiet)));
    for minute in 0..20 {
        let at = NOW + minute * MINUTE_MS;
        // Each node takes one new person's complaint a minute; one more person posts
        // the same complaint through both.
        let counted = runtime.block_on(async {
            let text = "Slack is down, nothing loads";
            let one = first
                .record_posts(vec![
                    post(at, 100 + 2 * minute as u64, text),
                    post(at, 7, text),
                ])
                .await
                .unwrap();
            let two = second
                .record_posts(vec![
                    post(at, 101 + 2 * minute as u64, text),
                    post(at, 7, text),
                ])
                .await
                .unwrap();
            [one, two].concat().iter().filter(|p| p.counted).count()
        });
        assert_eq!(counted, if minute == 0 { 3 } else { 2 }, "minute {minute}");
        time.store(at + MINUTE_MS + GRACE_MS, Ordering::SeqCst);
        for ticker in &mut tickers {
            runtime.block_on(ticker.tick()).unwrap();
        }
    }
    let found = incidents(&first);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        format!("{:?}", found[0].2[0].change).contains("Posts"),
        "{found:#?}"
    );
    assert_eq!(incidents(&second), found, "both nodes found the same");
    let shown = |live: &Live| -> Vec<i64> {
        live.posts
            .of_service("slack")
            .iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(
        shown(&second),
        shown(&first),
        "each shows the other's posts"
    );
    for live in [first, second] {
        live.finish();
    }
}
