//! The live loop on a real SQLite store, driven by a fake clock: no sleeps, except
//! tokio's paused time for the ticker's own loop.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::{MINUTE_MS, Millis};
use seismo_detect::incident::Change;
use seismo_detect::view::IncidentView;
use seismo_detect::{Engine, EngineConfig, IncidentEvent};
use seismo_runtime::{Clock, GRACE_MS, Live, Publisher, Ticker};
use seismo_store::{SqliteStore, Store, WriterConfig};
use tokio_util::sync::CancellationToken;

use common::{
    NOW, PROBED, incidents, mail_page, mx_runs, post, slack_report, store_history,
    store_post_history, surge,
};

fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::demo())
}

/// A store holding eight days of two Slack reports a minute before [`NOW`].
fn store_with_history(dir: &std::path::Path) {
    store_history(&mut SqliteStore::open(dir).unwrap());
}

fn start(dir: &std::path::Path) -> Arc<Live> {
    Arc::new(
        Live::start(
            Box::new(SqliteStore::open(dir).unwrap()),
            catalog(),
            Gazetteer::embedded(),
            EngineConfig::default(),
            WriterConfig::default(),
            NOW,
        )
        .unwrap(),
    )
}

/// A clock the test sets.
fn fake_clock(at: Millis) -> (Arc<AtomicI64>, Clock) {
    let time = Arc::new(AtomicI64::new(at));
    let clock = time.clone();
    (time, Arc::new(move || clock.load(Ordering::SeqCst)))
}

#[derive(Default)]
struct Recorder(Mutex<Vec<IncidentEvent>>);

impl Publisher for Recorder {
    fn publish(&self, engine: &Engine, events: &[IncidentEvent]) {
        assert!(
            events.iter().all(|e| engine.incident(e.incident).is_some()),
            "published with the engine that made the changes"
        );
        self.0.lock().unwrap().extend_from_slice(events);
    }
}

/// Stops the writer, which blocks: off the async threads.
async fn finish(live: Arc<Live>) {
    tokio::task::spawn_blocking(move || live.finish())
        .await
        .unwrap();
}

#[test]
fn acknowledging_a_report_never_waits_for_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let live = start(dir.path());
    // A long tick holds the engine.
    let engine = live.engine.lock().unwrap();
    let pending = live
        .writer
        .submit_blocking(vec![slack_report(NOW, 7)])
        .unwrap();
    let (acked, ack) = std::sync::mpsc::channel();
    std::thread::spawn(move || acked.send(pending.blocking_recv()));
    let outcome = ack
        .recv_timeout(Duration::from_secs(10))
        .expect("acknowledged while the engine is busy")
        .unwrap()
        .unwrap();
    assert!(outcome[0].counted);
    drop(engine);
    live.finish();
}

#[tokio::test]
async fn a_tick_on_the_clock_opens_stores_and_publishes_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    let live = start(dir.path());
    let (time, clock) = fake_clock(NOW);
    let recorder = Arc::new(Recorder::default());
    let mut ticker = Ticker::new(live.clone(), clock, recorder.clone());
    assert!(
        ticker.tick().await.unwrap().is_empty(),
        "eight ordinary days"
    );

    let submitting = live.clone();
    tokio::task::spawn_blocking(move || surge(&submitting, 10))
        .await
        .unwrap();
    // Nothing changes before the minutes are over and their grace has passed.
    time.store(NOW + 5 * MINUTE_MS, Ordering::SeqCst);
    let early = ticker.tick().await.unwrap();
    time.store(NOW + 10 * MINUTE_MS + GRACE_MS, Ordering::SeqCst);
    let events = [early, ticker.tick().await.unwrap()].concat();
    assert!(
        matches!(
            events.first().map(|e| &e.entry.change),
            Some(Change::Opened { .. })
        ),
        "{events:#?}"
    );
    assert_eq!(
        *recorder.0.lock().unwrap(),
        events,
        "every change is published"
    );
    assert!(
        ticker.tick().await.unwrap().is_empty(),
        "the same time again changes nothing"
    );

    // Stored: the incident in its own format, its changes in the outbox.
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let stored = store.incidents().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].format, seismo_detect::record::FORMAT);
    let view = IncidentView::decode(
        stored[0].format,
        &stored[0].body,
        &catalog(),
        Gazetteer::embedded(),
    )
    .unwrap();
    assert_eq!(view.service, "slack");
    let outbox = store.incident_events_after(0, 100).unwrap();
    assert_eq!(outbox.len(), events.len());
    assert!(outbox.iter().all(|e| e.incident == stored[0].id));
    finish(live).await;
}

#[tokio::test(start_paused = true)]
async fn the_ticker_runs_on_its_interval_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    let live = start(dir.path());
    let submitting = live.clone();
    tokio::task::spawn_blocking(move || surge(&submitting, 10))
        .await
        .unwrap();
    let (_, clock) = fake_clock(NOW + 10 * MINUTE_MS + GRACE_MS);
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let running = tokio::spawn(
        Ticker::new(live.clone(), clock, recorder.clone())
            .run(Duration::from_secs(5), stop.clone()),
    );
    // Paused time moves on by itself while the ticker waits.
    while recorder.0.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.cancel();
    running.await.unwrap();
    finish(live).await;
}

#[tokio::test]
async fn a_restart_finds_the_probe_and_vendor_incidents_found_live_with_their_ids_and_timelines() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::parse("test", PROBED).unwrap());
    let start_at = |now: Millis| {
        Arc::new(
            Live::start(
                Box::new(SqliteStore::open(dir.path()).unwrap()),
                catalog.clone(),
                Gazetteer::embedded(),
                EngineConfig::default(),
                WriterConfig::default(),
                now,
            )
            .unwrap(),
        )
    };
    // Live: each minute's runs arrive as the server's scheduler records them, and the
    // ticker runs every 20 seconds.
    let live = start_at(NOW);
    let (time, clock) = fake_clock(NOW);
    let mut ticker = Ticker::new(live.clone(), clock, Arc::new(Recorder::default()));
    for minute in 0..200 {
        for second in [0, 20, 40] {
            let at = NOW + minute * MINUTE_MS + second * 1_000;
            time.store(at, Ordering::SeqCst);
            if second == 20 {
                live.record_probe_results(mx_runs(minute)).await.unwrap();
            }
            if second == 40 && (minute == 40 || minute == 70) {
                let feed = &catalog.services()[0].feeds[0].name;
                live.record_official("mail", feed, at, mail_page(minute))
                    .await
                    .unwrap();
            }
            ticker.tick().await.unwrap();
        }
    }
    let found_live = incidents(&live);
    let states: Vec<&str> = found_live.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(states, ["resolved", "resolved"], "{found_live:#?}");
    let vendor_posts = found_live[0]
        .2
        .iter()
        .filter(|e| {
            matches!(
                &e.change,
                Change::Observed {
                    evidence: seismo_detect::incident::Evidence::Official(_)
                }
            )
        })
        .count();
    assert_eq!(
        vendor_posts, 2,
        "both posts of the vendor joined the probe outage"
    );
    finish(live).await;

    // Restarted: the same incidents from the stored runs and readings, the same ids
    // and changes.
    let restarted = start_at(NOW + 200 * MINUTE_MS);
    let (_, clock) = fake_clock(NOW + 200 * MINUTE_MS);
    Ticker::new(restarted.clone(), clock, Arc::new(Recorder::default()))
        .tick()
        .await
        .unwrap();
    assert_eq!(incidents(&restarted), found_live);
    finish(restarted).await;
}

#[tokio::test]
async fn operators_updates_are_stored_heard_at_once_and_found_again_after_a_restart() {
    use seismo_core::operator::{Declaration, Impact, Progress};
    use seismo_runtime::{PostError, Posted};

    let dir = tempfile::tempdir().unwrap();
    store_with_history(dir.path());
    let live = start(dir.path());
    let (time, clock) = fake_clock(NOW);
    let mut ticker = Ticker::new(live.clone(), clock, Arc::new(Recorder::default()));
    let submitting = live.clone();
    tokio::task::spawn_blocking(move || surge(&submitting, 20))
        .await
        .unwrap();
    let post = |posted: Posted| {
        let live = live.clone();
        async move {
            tokio::task::spawn_blocking(move || live.post_operator_update(posted))
                .await
                .unwrap()
        }
    };
    let by_alice = |incident, state, message: &str| Posted {
        incident,
        posted_at: 0,
        by: "alice".into(),
        state,
        message: message.into(),
        impact: None,
        declares: None,
    };
    let mut detected = None;
    let mut declared = None;
    for minute in 0..90 {
        let at = NOW + minute * MINUTE_MS + GRACE_MS + 1_000;
        time.store(at, Ordering::SeqCst);
        ticker.tick().await.unwrap();
        let slack = incidents(&live).first().map(|(id, ..)| *id);
        if minute == 12 {
            let id = slack.expect("the surge opened an incident");
            let view = post(Posted {
                posted_at: at,
                ..by_alice(Some(id), Progress::Identified, "A bad deploy")
            })
            .await
            .unwrap();
            assert_eq!(view.updates.len(), 1, "answered with the update in it");
            detected = Some(id);
        }
        if minute == 15 {
            let view = post(Posted {
                posted_at: at,
                impact: Some(Impact::Minor),
                declares: Some(Declaration {
                    title: "Slow sign-in".into(),
                    services: vec!["slack".into(), "zoom".into()],
                    components: vec![],
                }),
                ..by_alice(None, Progress::Investigating, "Looking into it")
            })
            .await
            .unwrap();
            assert_eq!(view.declared.as_ref().unwrap().services, ["slack", "zoom"]);
            declared = Some(view.id);
        }
        if minute == 30 {
            post(Posted {
                posted_at: at,
                ..by_alice(detected, Progress::FalseAlarm, "A load test")
            })
            .await
            .unwrap();
            let again = post(Posted {
                posted_at: at,
                ..by_alice(detected, Progress::Resolved, "")
            })
            .await;
            assert!(
                matches!(again, Err(PostError::Refused(_))),
                "an ended incident takes no update: {again:?}"
            );
        }
        if minute == 40 {
            post(Posted {
                posted_at: at,
                ..by_alice(declared, Progress::Resolved, "Fixed")
            })
            .await
            .unwrap();
        }
    }
    let found_live = incidents(&live);
    assert_eq!(found_live.len(), 2, "{found_live:#?}");
    assert!(found_live.iter().all(|(_, state, _)| state == "resolved"));
    let unknown = post(Posted {
        posted_at: NOW,
        declares: Some(Declaration {
            title: "x".into(),
            services: vec!["no-such-service".into()],
            components: vec![],
        }),
        ..by_alice(None, Progress::Investigating, "x")
    })
    .await;
    assert!(matches!(unknown, Err(PostError::UnknownService(_))));
    finish(live).await;

    let mut store = SqliteStore::open(dir.path()).unwrap();
    let stored = store.incidents().unwrap();
    assert_eq!(stored.len(), 2, "both stored by the ticker");
    assert!(stored.iter().all(|s| s.state == "resolved"));
    drop(store);

    let restarted = start(dir.path());
    let (_, clock) = fake_clock(NOW + 90 * MINUTE_MS + GRACE_MS + 1_000);
    Ticker::new(restarted.clone(), clock, Arc::new(Recorder::default()))
        .tick()
        .await
        .unwrap();
    assert_eq!(
        incidents(&restarted),
        found_live,
        "the same after a restart"
    );
    finish(restarted).await;
}

#[tokio::test]
async fn posted_complaints_open_a_possible_outage_that_a_restart_finds_again() {
    use seismo_detect::incident::{Evidence, State};
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = SqliteStore::open(dir.path()).unwrap();
        store_history(&mut store);
        store_post_history(&mut store);
    }
    let live = start(dir.path());
    let (time, clock) = fake_clock(NOW);
    let mut ticker = Ticker::new(live.clone(), clock, Arc::new(Recorder::default()));
    assert!(ticker.tick().await.unwrap().is_empty(), "ordinary days");
    // Two new people a minute say Slack is down, and one of them says it every minute.
    let mut author = 0;
    for minute in 0..20 {
        let at = NOW + minute * MINUTE_MS;
        let mut posts = vec![post(at, 42, "Slack down again?")];
        for _ in 0..2 {
            author += 1;
            posts.push(post(at, author, "is slack down? messages won't send"));
        }
        posts.push(post(at, author, "Lovely weather in Boston today"));
        let stored = live.record_posts(posts).await.unwrap();
        let counted: Vec<bool> = stored.iter().map(|p| p.counted).collect();
        assert_eq!(counted, [minute == 0, true, true, false], "minute {minute}");
        time.store(at + MINUTE_MS + GRACE_MS, Ordering::SeqCst);
        ticker.tick().await.unwrap();
    }
    let found_live = incidents(&live);
    assert_eq!(found_live.len(), 1, "{found_live:#?}");
    let (_, state, log) = &found_live[0];
    assert_eq!(state, State::Suspected.as_str(), "posts never confirm");
    assert!(
        matches!(
            &log[0].change,
            Change::Opened {
                evidence: Evidence::Posts(_),
                ..
            }
        ),
        "{log:#?}"
    );
    let slack = catalog().by_slug("slack").unwrap();
    let (last_hour, expected) = live.engine.lock().unwrap().posts_last_hour(slack);
    // 41 counted this last 20 minutes, and the four of the ordinary 40 before.
    assert_eq!(last_hour, 45);
    let expected = expected.expect("eight days of posts");
    assert!((5.0..7.0).contains(&expected), "six an hour: {expected}");
    let shown = live.posts.of_service("slack");
    assert_eq!(shown.len(), seismo_runtime::RECENT_COMPLAINTS);
    assert!(
        shown.windows(2).all(|w| w[0].post.at >= w[1].post.at),
        "newest first"
    );
    assert!(shown.iter().all(|p| p.post.complaint));
    finish(live).await;

    let restarted = start(dir.path());
    let (_, clock) = fake_clock(NOW + 20 * MINUTE_MS + GRACE_MS);
    Ticker::new(restarted.clone(), clock, Arc::new(Recorder::default()))
        .tick()
        .await
        .unwrap();
    assert_eq!(
        incidents(&restarted),
        found_live,
        "the same incident from the stored posts"
    );
    assert_eq!(restarted.posts.of_service("slack"), shown);
    finish(restarted).await;
}
