//! The behaviour suite of the [`Store`] contract: one function that every implementation
//! runs from its tests (SQLite and PostgreSQL), so every store keeps the same promises,
//! and [`run_shared`] for a store that several nodes write at once. Each check panics
//! with what broke. [`PostgresSchema`] gives a test a schema of its own to run them on.

use seismo_core::access::{Role, Token, digest};
use seismo_core::probe::{
    Detail, Failure, FailureKind, Outcome as ProbeOutcome, ProbeResult, ReplyClass, SmtpStep,
};
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};

use crate::{
    IncidentEventRecord, IncidentRecord, Outcome, PostRecord, ProbeQuery, SignalCursor, Store,
    StoredPost, StoredReport,
};

/// A database the suite may open several times, to check what survives a reopen.
pub trait Database {
    fn open(&self) -> Box<dyn Store>;
}

/// Runs every check, each on a database of its own from `fresh`.
pub fn run(fresh: &mut dyn FnMut() -> Box<dyn Database>) {
    appends_and_scans_in_time_order_across_reopen(&*fresh());
    one_report_counts_per_reporter_service_and_window(&*fresh());
    counting_holds_at_any_age_so_history_imported_twice_counts_once(&*fresh());
    counting_survives_a_reopen(&*fresh());
    a_cursor_finds_every_report_stored_after_it_late_ones_included(&*fresh());
    incidents_are_replaced_and_their_events_appended_to_the_outbox(&*fresh());
    settings_are_kept(&*fresh());
    tokens_are_kept_by_name_and_revoked_once(&*fresh());
    probe_results_are_kept_with_their_detail_and_forgotten_after_retention(&*fresh());
    official_readings_are_kept_with_the_latest_before_a_time(&*fresh());
    notifications_are_queued_with_their_cursor_retried_delivered_or_given_up(&*fresh());
    silences_are_kept_until_they_end_or_are_expired(&*fresh());
    operator_updates_are_kept_in_the_order_posted(&*fresh());
    users_and_sessions_are_kept_until_revoked_expired_or_ended(&*fresh());
    subscribers_confirm_once_and_unsubscribe_with_their_confirmation_queued(&*fresh());
    maintenances_are_kept_until_cancelled(&*fresh());
    channels_are_put_by_name_and_deleted(&*fresh());
    the_first_setting_stored_stays(&*fresh());
    probe_results_and_official_readings_are_read_back_in_the_order_stored(&*fresh());
    nodes_are_known_by_location_while_they_beat(&*fresh());
    reports_roll_up_into_buckets_that_outlive_them(&*fresh());
    posts_count_once_per_author_and_service_and_keep_their_rules(&*fresh());
}

/// The checks of a store that several nodes write at once, on one database.
pub fn run_shared(db: &dyn Database) {
    nodes_appending_together_count_each_reporter_once_in_commit_order(db);
    probe_results_of_nodes_storing_together_are_read_back_once_each(db);
    nodes_posting_together_count_each_author_once(db);
}

const WINDOW: Millis = 60 * MINUTE_MS;
/// A day in 2026.
const T0: Millis = 20_475 * DAY_MS;

fn report(at: Millis, service: &'static str, client: u64) -> StoredReport<'static> {
    StoredReport {
        at,
        received: at + 5,
        service,
        problem: "email",
        city_geonameid: Some(5368361),
        region: Some("CA"),
        country: Some("US"),
        client,
        block: client / 2,
    }
}

fn counted(outcomes: &[Outcome]) -> Vec<bool> {
    outcomes.iter().map(|o| o.counted).collect()
}

/// Every stored report as (at, service, client, counted), in scan order.
fn scanned(store: &mut dyn Store, since: Millis) -> Vec<(Millis, String, u64, bool)> {
    let mut seen = Vec::new();
    store
        .scan(since, &mut |o, r| {
            assert_eq!(r.block, r.client / 2, "the block is kept");
            seen.push((r.at, r.service.to_string(), r.client, o.counted))
        })
        .unwrap();
    seen
}

fn appends_and_scans_in_time_order_across_reopen(db: &dyn Database) {
    let ids = {
        let mut store = db.open();
        let first = store
            .append(
                &[report(T0 + 300, "a", 1), report(T0 + 100, "b", 2)],
                WINDOW,
            )
            .unwrap();
        assert!(first[0].id < first[1].id, "ids grow in the order given");
        let unplaced = StoredReport {
            city_geonameid: None,
            region: None,
            country: None,
            ..report(T0 + 200, "c", u64::MAX - 3)
        };
        let second = store.append(&[unplaced], WINDOW).unwrap();
        assert!(second[0].id > first[1].id, "ids grow across transactions");
        [first[0].id, first[1].id, second[0].id]
    };
    let mut store = db.open();
    assert_eq!(store.count().unwrap(), 3, "durable across a reopen");
    assert_eq!(
        scanned(&mut *store, T0 + 150),
        [
            (T0 + 200, "c".into(), u64::MAX - 3, true),
            (T0 + 300, "a".into(), 1, true)
        ],
        "scan from a time, in time order; the largest client hash survives"
    );
    let mut places = Vec::new();
    store
        .scan(T0, &mut |o, r| {
            places.push((
                o.id,
                r.city_geonameid,
                r.region.map(str::to_string),
                r.received,
            ))
        })
        .unwrap();
    assert_eq!(
        places,
        [
            (ids[1], Some(5368361), Some("CA".into()), T0 + 105),
            (ids[2], None, None, T0 + 205),
            (ids[0], Some(5368361), Some("CA".into()), T0 + 305),
        ]
    );
}

fn the_first_setting_stored_stays(db: &dyn Database) {
    let mut store = db.open();
    assert_eq!(store.first_setting("salt", "1").unwrap(), "1");
    assert_eq!(
        db.open().first_setting("salt", "2").unwrap(),
        "1",
        "a second node takes the first node's value"
    );
    assert_eq!(store.setting("salt").unwrap().as_deref(), Some("1"));
}

/// Four nodes append the same reporters at once, each in many small transactions; a
/// fifth reads the outbox of reports as they come. Each reporter counts once per
/// window whoever stored it, and the reader's cursor, never waiting for a node,
/// misses no report.
fn nodes_appending_together_count_each_reporter_once_in_commit_order(db: &dyn Database) {
    const NODES: u64 = 4;
    const BATCHES: u64 = 25;
    let mut reader = db.open();
    let appended: Vec<Vec<Outcome>> = std::thread::scope(|scope| {
        let nodes: Vec<_> = (0..NODES)
            .map(|node| {
                let mut store = db.open();
                scope.spawn(move || {
                    let mut outcomes = Vec::new();
                    for batch in 0..BATCHES {
                        // Every node sends every reporter of the batch, a minute apart.
                        let reports: Vec<StoredReport> = (0..10)
                            .map(|client| {
                                report(T0 + (node * 60_000) as Millis, "aws", batch * 10 + client)
                            })
                            .collect();
                        outcomes.extend(store.append(&reports, WINDOW).unwrap());
                    }
                    outcomes
                })
            })
            .collect();
        nodes.into_iter().map(|n| n.join().unwrap()).collect()
    });
    let outcomes: Vec<&Outcome> = appended.iter().flatten().collect();
    assert_eq!(outcomes.len() as u64, NODES * BATCHES * 10);
    let counted = outcomes.iter().filter(|o| o.counted).count() as u64;
    assert_eq!(
        counted,
        BATCHES * 10,
        "one count per reporter, whichever node"
    );
    // The cursor, read after all committed, finds every id once, in id order.
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let next = reader
            .reports_after(cursor, 97, &mut |o, _| seen.push(o.id))
            .unwrap();
        if next == cursor {
            break;
        }
        cursor = next;
    }
    let mut ids: Vec<i64> = outcomes.iter().map(|o| o.id).collect();
    ids.sort_unstable();
    assert_eq!(seen, ids, "every report once, in id order");
}

fn one_report_counts_per_reporter_service_and_window(db: &dyn Database) {
    let mut store = db.open();
    let minute = |m: i64| T0 + m * MINUTE_MS;
    let outcomes = store
        .append(
            &[
                report(minute(0), "aws", 1),
                report(minute(59), "aws", 1),
                report(minute(-59), "aws", 1),
                report(minute(60), "aws", 1),
                report(minute(1), "aws", 2),
                report(minute(1), "gcp", 1),
            ],
            WINDOW,
        )
        .unwrap();
    assert_eq!(
        counted(&outcomes),
        [true, false, false, true, true, true],
        "within the window either side a duplicate; at the window, another reporter or \
         another service counted"
    );
    // In another transaction, and a report between two counted ones.
    let later = store
        .append(
            &[report(minute(180), "aws", 1), report(minute(121), "aws", 1)],
            WINDOW,
        )
        .unwrap();
    assert_eq!(counted(&later), [true, false]);
    assert_eq!(store.count().unwrap(), 8, "duplicates are stored too");
}

fn counting_holds_at_any_age_so_history_imported_twice_counts_once(db: &dyn Database) {
    let mut store = db.open();
    // Today's traffic first, then a file of February-like history, twice.
    store
        .append(&[report(T0 + 60 * DAY_MS, "aws", 9)], WINDOW)
        .unwrap();
    let history: Vec<StoredReport> = (0..50)
        .map(|i| report(T0 + i * 7 * MINUTE_MS, "aws", i as u64 % 5))
        .collect();
    let first = store.append(&history, WINDOW).unwrap();
    let counted_first = first.iter().filter(|o| o.counted).count();
    assert!(counted_first > 5, "{counted_first} of the history counted");
    let again = store.append(&history, WINDOW).unwrap();
    assert!(
        again.iter().all(|o| !o.counted),
        "the same history again is all duplicates: {:?}",
        counted(&again)
    );
    let mut store = db.open();
    let after_reopen = store.append(&history[..10], WINDOW).unwrap();
    assert!(
        after_reopen.iter().all(|o| !o.counted),
        "and after a reopen"
    );
    let total_counted = scanned(&mut *store, Millis::MIN)
        .iter()
        .filter(|r| r.3)
        .count();
    assert_eq!(total_counted, counted_first + 1);
}

fn counting_survives_a_reopen(db: &dyn Database) {
    db.open().append(&[report(T0, "aws", 1)], WINDOW).unwrap();
    let mut store = db.open();
    let outcomes = store
        .append(
            &[
                report(T0 + 30 * MINUTE_MS, "aws", 1),
                report(T0 + 60 * MINUTE_MS, "aws", 1),
            ],
            WINDOW,
        )
        .unwrap();
    assert_eq!(counted(&outcomes), [false, true]);
}

fn a_cursor_finds_every_report_stored_after_it_late_ones_included(db: &dyn Database) {
    let mut store = db.open();
    let tail = |store: &mut dyn Store, cursor: i64, limit: usize| {
        let mut seen = Vec::new();
        let next = store
            .reports_after(cursor, limit, &mut |o, r| seen.push((o.id, r.at)))
            .unwrap();
        (next, seen)
    };
    assert_eq!(tail(&mut *store, 0, 10), (0, vec![]), "nothing yet");
    let first = store
        .append(&[report(T0, "a", 1), report(T0 + 1, "a", 2)], WINDOW)
        .unwrap();
    let (cursor, seen) = tail(&mut *store, 0, 10);
    assert_eq!(seen, [(first[0].id, T0), (first[1].id, T0 + 1)]);
    assert_eq!(cursor, first[1].id);
    // A late report: its time is older than everything, it is stored now.
    let late = store
        .append(&[report(T0 - DAY_MS, "a", 3)], WINDOW)
        .unwrap();
    let (next, seen) = tail(&mut *store, cursor, 10);
    assert_eq!(seen, [(late[0].id, T0 - DAY_MS)]);
    assert_eq!(
        tail(&mut *store, next, 10),
        (next, vec![]),
        "the cursor stays"
    );
    let (limited, seen) = tail(&mut *store, 0, 2);
    assert_eq!((limited, seen.len()), (first[1].id, 2), "at most `limit`");
}

fn incident(id: i64, state: &str, ended_at: Option<Millis>) -> IncidentRecord {
    IncidentRecord {
        id,
        service: "aws".into(),
        state: state.into(),
        started_at: T0,
        ended_at,
        format: 1,
        body: format!("{{\"state\":\"{state}\"}}"),
    }
}

fn event(incident: i64, at: Millis, body: &str) -> IncidentEventRecord {
    IncidentEventRecord {
        seq: 0,
        incident,
        at,
        body: body.into(),
    }
}

fn incidents_are_replaced_and_their_events_appended_to_the_outbox(db: &dyn Database) {
    {
        let mut store = db.open();
        store
            .save_incidents(
                &[incident(7, "suspected", None)],
                &[event(7, T0, "opened"), event(7, T0, "confirmed")],
            )
            .unwrap();
        store
            .save_incidents(
                &[
                    incident(7, "resolved", Some(T0 + 900)),
                    incident(8, "suspected", None),
                ],
                &[event(7, T0 + 900, "resolved"), event(8, T0 + 900, "opened")],
            )
            .unwrap();
    }
    let mut store = db.open();
    assert_eq!(
        store.incidents().unwrap(),
        [
            incident(7, "resolved", Some(T0 + 900)),
            incident(8, "suspected", None)
        ],
        "replaced by id, listed by id"
    );
    assert_eq!(
        store.incident(7).unwrap(),
        Some(incident(7, "resolved", Some(T0 + 900))),
        "found by id"
    );
    let all = store.incident_events_after(0, 100).unwrap();
    let bodies: Vec<&str> = all.iter().map(|e| e.body.as_str()).collect();
    assert_eq!(bodies, ["opened", "confirmed", "resolved", "opened"]);
    assert!(
        all.windows(2).all(|w| w[0].seq < w[1].seq),
        "numbered in order"
    );
    assert_eq!((all[2].incident, all[2].at), (7, T0 + 900));
    let rest = store.incident_events_after(all[1].seq, 1).unwrap();
    assert_eq!(rest, [all[2].clone()], "after a cursor, at most `limit`");
    assert!(
        store
            .incident_events_after(all[3].seq, 10)
            .unwrap()
            .is_empty()
    );
    let counts: Vec<u64> = [7, 8, 9]
        .iter()
        .map(|&id| store.incident_event_count(id).unwrap())
        .collect();
    assert_eq!(counts, [3, 1, 0], "events counted by incident");
}

fn settings_are_kept(db: &dyn Database) {
    {
        let mut store = db.open();
        assert_eq!(store.setting("salt").unwrap(), None);
        store.set_setting("salt", "42").unwrap();
        store.set_setting("salt", "43").unwrap();
    }
    assert_eq!(db.open().setting("salt").unwrap().as_deref(), Some("43"));
}

fn tokens_are_kept_by_name_and_revoked_once(db: &dyn Database) {
    let token = |name: &str, role, secret: &str| Token {
        name: name.into(),
        role,
        digest: digest(secret),
        created_at: T0,
        expires_at: Some(T0 + DAY_MS),
        revoked_at: None,
    };
    let partner = token("partner", Role::Importer, "s1");
    let admin = Token {
        expires_at: None,
        ..token("admin", Role::Admin, "s2")
    };
    {
        let mut store = db.open();
        assert!(store.add_token(&partner).unwrap());
        assert!(store.add_token(&admin).unwrap());
        assert!(
            !store
                .add_token(&token("partner", Role::Agent, "s3"))
                .unwrap(),
            "a name is taken once"
        );
    }
    let mut store = db.open();
    assert_eq!(
        store.tokens().unwrap(),
        vec![admin.clone(), partner.clone()],
        "durable across a reopen, by name"
    );
    assert!(store.revoke_token("partner", T0 + 5).unwrap());
    assert!(
        !store.revoke_token("partner", T0 + 9).unwrap(),
        "revoked once"
    );
    assert!(!store.revoke_token("nobody", T0).unwrap());
    let revoked = Token {
        revoked_at: Some(T0 + 5),
        ..partner
    };
    assert_eq!(store.tokens().unwrap(), vec![admin, revoked.clone()]);
    assert!(
        !store
            .add_token(&Token {
                revoked_at: None,
                ..revoked
            })
            .unwrap(),
        "a revoked token's name stays taken"
    );
}

fn probe_result(at: Millis, probe: &str, location: &str, ok: bool) -> ProbeResult {
    let step = |step: &str, code: u16, enhanced: Option<&str>, text: &str| SmtpStep {
        step: step.into(),
        code,
        enhanced_code: enhanced.map(String::from),
        class: ReplyClass::of(code),
        text: text.into(),
        elapsed_ms: 12,
    };
    ProbeResult {
        service: "microsoft-365".into(),
        probe: probe.into(),
        location: location.into(),
        at,
        attempts: if ok { 1 } else { 2 },
        outcome: ProbeOutcome {
            ok,
            latency_ms: 48,
            failure: (!ok).then(|| {
                Failure::new(
                    FailureKind::Unexpected,
                    "RCPT TO answered 451 4.3.2 Temporary server error",
                )
            }),
            detail: Detail::Smtp {
                steps: vec![
                    step("banner", 220, None, "mx ready"),
                    step(
                        "rcpt_to",
                        if ok { 250 } else { 451 },
                        Some("4.3.2"),
                        "Temporary server error",
                    ),
                ],
                tls: true,
            },
        },
    }
}

fn probe_results_are_kept_with_their_detail_and_forgotten_after_retention(db: &dyn Database) {
    let results = vec![
        probe_result(T0, "smtp", "Dallas, US", true),
        probe_result(T0 + MINUTE_MS, "smtp", "Dallas, US", false),
        probe_result(T0 + MINUTE_MS, "smtp", "Seattle, US", false),
        probe_result(T0 + MINUTE_MS, "https", "Dallas, US", true),
    ];
    db.open().add_probe_results(&results).unwrap();
    let mut store = db.open();
    let all = ProbeQuery::service("microsoft-365", T0, 100);
    assert_eq!(
        store.probe_results(&all).unwrap(),
        results,
        "durable across a reopen, oldest first, failure and detail intact"
    );
    let smtp = ProbeQuery {
        probe: Some("smtp"),
        limit: 2,
        ..all
    };
    assert_eq!(
        store.probe_results(&smtp).unwrap(),
        results[1..3],
        "one probe's newest, at most the limit"
    );
    let dallas = ProbeQuery {
        location: Some("Dallas, US"),
        ..smtp
    };
    assert_eq!(
        store.probe_results(&dallas).unwrap(),
        results[0..2],
        "one location's"
    );
    let later_only = ProbeQuery {
        since: T0 + 2 * MINUTE_MS,
        ..all
    };
    assert!(store.probe_results(&later_only).unwrap().is_empty());
    assert!(
        store
            .probe_results(&ProbeQuery::service("aws", T0, 10))
            .unwrap()
            .is_empty()
    );
    // Much later results push the old ones out.
    let later = probe_result(T0 + 30 * DAY_MS, "smtp", "Dallas, US", true);
    store
        .add_probe_results(std::slice::from_ref(&later))
        .unwrap();
    assert_eq!(
        store
            .probe_results(&ProbeQuery::service("microsoft-365", 0, 100))
            .unwrap(),
        [later]
    );
}

fn official(service: &str, feed: &str, at: Millis, description: &str) -> crate::OfficialRecord {
    use seismo_core::official::{
        Condition, OfficialIncident, OfficialState, OfficialStatus, OfficialUpdate,
    };
    crate::OfficialRecord {
        service: service.into(),
        feed: feed.into(),
        at,
        status: OfficialStatus {
            condition: Condition::PartialOutage,
            description: description.into(),
            components: Vec::new(),
            incidents: vec![OfficialIncident {
                id: "MO1221364".into(),
                title: "Mail delivery".into(),
                state: OfficialState::Investigating,
                impact: Some("major".into()),
                url: None,
                started_at: at - MINUTE_MS,
                resolved_at: None,
                components: vec!["Exchange Online".into()],
                maintenance: false,
                updates: vec![OfficialUpdate {
                    at,
                    state: OfficialState::Investigating,
                    text: "Users can't send mail.".into(),
                }],
            }],
        },
    }
}

fn official_readings_are_kept_with_the_latest_before_a_time(db: &dyn Database) {
    let readings = [
        official("microsoft-365", "status", T0, "a"),
        official("microsoft-365", "status", T0 + MINUTE_MS, "b"),
        official("aws", "rss", T0 + 2 * MINUTE_MS, "c"),
        official("microsoft-365", "status", T0 + 10 * MINUTE_MS, "d"),
    ];
    {
        let mut store = db.open();
        for reading in &readings {
            store.add_official_reading(reading).unwrap();
        }
    }
    let mut store = db.open();
    assert_eq!(
        store.official_readings(T0).unwrap(),
        readings,
        "in time order, whole"
    );
    // From T0 + 5 min: what each feed said then (b, c), and what came after (d).
    let said = |from: Millis, store: &mut Box<dyn Store>| -> Vec<String> {
        let readings = store.official_readings(from).unwrap();
        readings.into_iter().map(|r| r.status.description).collect()
    };
    assert_eq!(said(T0 + 5 * MINUTE_MS, &mut store), ["b", "c", "d"]);
    // Past retention a feed's old readings go; its newest stays, whatever its age.
    let later = official("microsoft-365", "status", T0 + 50 * DAY_MS, "e");
    store.add_official_reading(&later).unwrap();
    assert_eq!(said(0, &mut store), ["c", "e"]);
    assert_eq!(
        said(T0 + 60 * DAY_MS, &mut store),
        ["c", "e"],
        "the latest of each feed, however old"
    );
}

fn probe_results_and_official_readings_are_read_back_in_the_order_stored(db: &dyn Database) {
    let mut store = db.open();
    assert_eq!(store.newest_signals().unwrap(), SignalCursor::default());
    let first = [
        probe_result(T0 + MINUTE_MS, "smtp", "Dallas, US", false),
        probe_result(T0, "smtp", "Seattle, US", true),
    ];
    store.add_probe_results(&first).unwrap();
    let replayed = store.newest_signals().unwrap();
    // Stored later with an older time: still after the cursor.
    let late = probe_result(T0 - MINUTE_MS, "https", "Dallas, US", true);
    store
        .add_probe_results(std::slice::from_ref(&late))
        .unwrap();
    let readings = [
        official("microsoft-365", "status", T0, "a"),
        official("aws", "rss", T0 - DAY_MS, "b"),
    ];
    for reading in &readings {
        store.add_official_reading(reading).unwrap();
    }
    let mut store = db.open();
    let all = store.signals_after(SignalCursor::default(), 100).unwrap();
    assert_eq!(
        all.probe_results,
        [&first[..], std::slice::from_ref(&late)].concat()
    );
    assert_eq!(all.official_readings, readings, "in the order stored");
    assert_eq!(all.next, store.newest_signals().unwrap());
    let after_replay = store.signals_after(replayed, 100).unwrap();
    assert_eq!(after_replay.probe_results, [late]);
    assert_eq!(after_replay.official_readings, readings);
    // A limit of one of each, read on from its cursor, finds the rest in turn.
    let one = store.signals_after(SignalCursor::default(), 1).unwrap();
    assert_eq!(
        (one.probe_results.len(), one.official_readings.len()),
        (1, 1)
    );
    let rest = store.signals_after(one.next, 100).unwrap();
    assert_eq!(rest.probe_results, all.probe_results[1..]);
    assert_eq!(rest.official_readings, readings[1..]);
    let none = store.signals_after(all.next, 100).unwrap();
    assert!(none.probe_results.is_empty() && none.official_readings.is_empty());
    assert_eq!(none.next, all.next, "nothing new: the cursor stays");
}

fn post(at: Millis, author: u64, service: Option<&str>, complaint: bool) -> PostRecord {
    PostRecord {
        at,
        received: at + 1_000,
        source: "mastodon".into(),
        author,
        author_shown: Some("@ja…@mastodon.social".into()),
        lang: Some("en".into()),
        city_geonameid: Some(5_308_655),
        text: format!("{service:?} is down? ({author} at {at})"),
        service: service.map(str::to_string),
        complaint,
        problem: service.map(|_| "email".to_string()),
        rules: vec!["complaint: phrase \"down\" (en)".into()],
    }
}

fn posts_count_once_per_author_and_service_and_keep_their_rules(db: &dyn Database) {
    let mut store = db.open();
    let m365 = Some("microsoft-365");
    let posts = [
        post(T0, 1, m365, true),
        post(T0 + 30 * MINUTE_MS, 1, m365, true),
        post(T0 + 30 * MINUTE_MS, 1, Some("slack"), true),
        post(T0, 2, m365, false),
        post(T0, 3, None, true),
        post(T0 + 61 * MINUTE_MS, 1, m365, true),
    ];
    let outcomes = store.add_posts(&posts, WINDOW).unwrap();
    assert_eq!(
        counted(&outcomes),
        [true, false, true, false, false, true],
        "once per author, service and window; only complaints about a service"
    );
    // Decided against what is stored, at any age, in a later transaction too.
    let late = store
        .add_posts(&[post(T0 - 30 * MINUTE_MS, 1, m365, true)], WINDOW)
        .unwrap();
    assert!(!late[0].counted);
    let mut store = db.open();
    let first = store.post(outcomes[0].id).unwrap().expect("stored");
    assert_eq!(
        first,
        StoredPost {
            id: outcomes[0].id,
            counted: true,
            post: posts[0].clone()
        }
    );
    assert_eq!(store.post(late[0].id + 1).unwrap(), None);
    let replayed: Vec<(Millis, u64)> = store
        .counted_posts(T0 + MINUTE_MS)
        .unwrap()
        .iter()
        .map(|p| (p.post.at, p.post.author))
        .collect();
    assert_eq!(
        replayed,
        [(T0 + 30 * MINUTE_MS, 1), (T0 + 61 * MINUTE_MS, 1)],
        "counted ones since the time, in time order"
    );
    let recent: Vec<Millis> = store
        .recent_complaints("microsoft-365", 2)
        .unwrap()
        .iter()
        .map(|p| p.post.at)
        .collect();
    assert_eq!(recent, [T0 + 61 * MINUTE_MS, T0 + 30 * MINUTE_MS]);
    let signals = store.signals_after(SignalCursor::default(), 100).unwrap();
    let ids: Vec<i64> = signals.posts.iter().map(|p| p.id).collect();
    let mut stored: Vec<i64> = outcomes.iter().chain(&late).map(|o| o.id).collect();
    assert_eq!(ids, stored, "read back in the order stored");
    assert_eq!(signals.next.posts, late[0].id);
    assert_eq!(store.newest_signals().unwrap(), signals.next);
    store.forget_reports_before(T0 + 31 * MINUTE_MS).unwrap();
    stored.retain(|&id| {
        store
            .post(id)
            .unwrap()
            .is_some_and(|p| p.post.at >= T0 + 31 * MINUTE_MS)
    });
    assert_eq!(stored, [outcomes[5].id], "older posts are forgotten");
}

fn nodes_posting_together_count_each_author_once(db: &dyn Database) {
    const NODES: usize = 4;
    let at = T0 + 7 * DAY_MS;
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let nodes: Vec<_> = (0..NODES)
            .map(|_| {
                let mut store = db.open();
                scope.spawn(move || {
                    let posts: Vec<PostRecord> = (0..20)
                        .map(|author| post(at, 1_000 + author, Some("slack"), true))
                        .collect();
                    store.add_posts(&posts, WINDOW).unwrap()
                })
            })
            .collect();
        nodes.into_iter().flat_map(|n| n.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| o.counted).count(),
        20,
        "each of twenty authors counted once by four nodes"
    );
}

fn reports_roll_up_into_buckets_that_outlive_them(db: &dyn Database) {
    let mut store = db.open();
    let login = StoredReport {
        problem: "login",
        ..report(T0, "aws", 4)
    };
    let reports = [
        report(T0, "aws", 1),
        report(T0 + 15 * MINUTE_MS - 1, "aws", 2),
        report(T0 + 15 * MINUTE_MS, "aws", 3),
        // The same reporter a minute later: stored, not counted, not rolled up.
        report(T0 + MINUTE_MS, "aws", 1),
        login,
        report(T0, "slack", 5),
    ];
    store.append(&reports, WINDOW).unwrap();
    assert_eq!(store.roll_up_reports(2).unwrap(), 2, "at most the limit");
    assert_eq!(store.roll_up_reports(100).unwrap(), 4);
    assert_eq!(store.roll_up_reports(100).unwrap(), 0, "each report once");
    let rollups = |store: &mut Box<dyn Store>, service: &str, from: Millis, to: Millis| {
        let rollups = store.report_rollups(service, from, to).unwrap();
        rollups
            .into_iter()
            .map(|r| (r.at, r.problem, r.count))
            .collect::<Vec<_>>()
    };
    let bucket = 15 * MINUTE_MS;
    assert_eq!(
        rollups(&mut store, "aws", T0, T0 + DAY_MS),
        [
            (T0, "email".to_string(), 2),
            (T0, "login".to_string(), 1),
            (T0 + bucket, "email".to_string(), 1)
        ]
    );
    assert_eq!(
        rollups(&mut store, "aws", T0 + bucket, T0 + 2 * bucket).len(),
        1,
        "buckets from `from`, before `to`"
    );
    assert_eq!(
        rollups(&mut store, "slack", 0, Millis::MAX),
        [(T0, "email".to_string(), 1)]
    );
    // A late report (stored now, forty days old) is rolled up with the next call.
    let old = T0 - 40 * DAY_MS;
    store.append(&[report(old, "aws", 9)], WINDOW).unwrap();
    let mut store = db.open();
    assert_eq!(
        store.roll_up_reports(100).unwrap(),
        1,
        "the cursor survives a reopen"
    );
    // Forgetting the months ended by T0 (a day of January 2026) forgets December's
    // report; January's stay, and every roll-up.
    store.forget_reports_before(T0).unwrap();
    let kept = scanned(&mut *store, Millis::MIN);
    assert_eq!(kept.len(), reports.len(), "{kept:?}");
    assert!(kept.iter().all(|(at, ..)| *at >= T0));
    assert_eq!(
        rollups(&mut store, "aws", old - DAY_MS, T0),
        [(old - old.rem_euclid(bucket), "email".to_string(), 1)]
    );
    assert_eq!(rollups(&mut store, "aws", T0, T0 + DAY_MS).len(), 3);
}

fn nodes_are_known_by_location_while_they_beat(db: &dyn Database) {
    let mut store = db.open();
    let alive = |at: Millis| at - 10_000;
    let beat = |store: &mut Box<dyn Store>, node: &str, location: &str, at: Millis| {
        store.node_heartbeat(node, location, at, alive(at)).unwrap()
    };
    assert_eq!(beat(&mut store, "b", "Dallas", T0), ["b"]);
    assert_eq!(beat(&mut store, "c", "Seattle", T0), ["c"]);
    assert_eq!(beat(&mut store, "a", "Dallas", T0 + 1_000), ["a", "b"]);
    // b falls silent: after ten seconds a sees only itself, until b beats again.
    assert_eq!(beat(&mut store, "a", "Dallas", T0 + 10_001), ["a"]);
    assert_eq!(beat(&mut db.open(), "b", "Dallas", T0 + 12_000), ["a", "b"]);
    // A beat that arrives late does not take a node back in time.
    assert_eq!(beat(&mut store, "b", "Dallas", T0 + 5_000), ["a", "b"]);
    assert_eq!(beat(&mut store, "a", "Dallas", T0 + 21_000), ["a", "b"]);
    // A node that moves is counted where it is now.
    assert_eq!(beat(&mut store, "b", "Seattle", T0 + 22_000), ["b"]);
    assert_eq!(beat(&mut store, "c", "Seattle", T0 + 23_000), ["b", "c"]);
    assert_eq!(beat(&mut store, "a", "Dallas", T0 + 23_000), ["a"]);
}

fn probe_results_of_nodes_storing_together_are_read_back_once_each(db: &dyn Database) {
    const NODES: usize = 4;
    const BATCHES: usize = 25;
    let mut reader = db.open();
    let start = reader.newest_signals().unwrap();
    let mut seen = Vec::new();
    let mut cursor = start;
    let mut read_on = |reader: &mut Box<dyn Store>, seen: &mut Vec<(String, Millis)>| {
        let read = reader.signals_after(cursor, 7).unwrap();
        seen.extend(read.probe_results.into_iter().map(|r| (r.location, r.at)));
        cursor = read.next;
    };
    std::thread::scope(|scope| {
        let nodes: Vec<_> = (0..NODES)
            .map(|node| {
                let mut store = db.open();
                scope.spawn(move || {
                    for batch in 0..BATCHES {
                        let at = T0 + batch as Millis;
                        let results = [
                            probe_result(at, "smtp", &format!("node {node}"), true),
                            probe_result(at, "https", &format!("node {node}"), true),
                        ];
                        store.add_probe_results(&results).unwrap();
                    }
                })
            })
            .collect();
        // Reading back while they store: a result committed after a later id was read
        // would be missed.
        while nodes.iter().any(|n| !n.is_finished()) {
            read_on(&mut reader, &mut seen);
        }
    });
    loop {
        let before = seen.len();
        read_on(&mut reader, &mut seen);
        if seen.len() == before {
            break;
        }
    }
    assert_eq!(seen.len(), NODES * BATCHES * 2, "every result once");
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        NODES * BATCHES,
        "two probes of each node and time"
    );
}

fn notifications_are_queued_with_their_cursor_retried_delivered_or_given_up(db: &dyn Database) {
    use crate::{Attempt, NewNotification};
    let mut store = db.open();
    let new = |channel: &str, n: i64| NewNotification {
        channel: channel.into(),
        created_at: T0 + n,
        event: "opened".into(),
        body: format!("{{\"n\":{n}}}"),
    };
    store
        .queue_notifications(&[new("chat", 1), new("mail", 2)], "notify", "cursor 7")
        .unwrap();
    assert_eq!(
        store.setting("notify").unwrap().as_deref(),
        Some("cursor 7")
    );
    store
        .queue_notifications(&[new("chat", 3)], "notify", "cursor 9")
        .unwrap();
    assert_eq!(
        store.setting("notify").unwrap().as_deref(),
        Some("cursor 9"),
        "the cursor moves with what it queued"
    );
    let due = store.due_notifications(T0 + 10, 10).unwrap();
    assert_eq!(
        due.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"],
        "oldest first"
    );
    assert_eq!(store.due_notifications(T0 + 10, 2).unwrap().len(), 2);
    let (first, second, third) = (due[0].id, due[1].id, due[2].id);
    store
        .notification_tried(first, &Attempt::Delivered { at: T0 + 11 })
        .unwrap();
    let failed = |retry_at| Attempt::Failed {
        at: T0 + 11,
        error: "HTTP 503".into(),
        retry_at,
    };
    store
        .notification_tried(second, &failed(Some(T0 + 1_000)))
        .unwrap();
    store.notification_tried(third, &failed(None)).unwrap();
    assert_eq!(
        store.due_notifications(T0 + 999, 10).unwrap(),
        [],
        "delivered, waiting to retry, given up: none due"
    );
    // Across a reopen: the retry comes due, the dead letter stays.
    drop(store);
    let mut store = db.open();
    let retry = store.due_notifications(T0 + 1_000, 10).unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!((retry[0].id, retry[0].attempts), (second, 1));
    assert_eq!(retry[0].last_error.as_deref(), Some("HTTP 503"));
    let dead = store.dead_notifications(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].dead_at), (third, Some(T0 + 11)));
    assert_eq!(dead[0].channel, "chat");
    // Delivered ones are forgotten after the retention.
    store
        .notification_tried(
            second,
            &Attempt::Delivered {
                at: T0 + 9 * DAY_MS,
            },
        )
        .unwrap();
    store
        .queue_notifications(&[new("chat", 4)], "notify", "cursor 10")
        .unwrap();
    let later = store.due_notifications(T0 + 10 * DAY_MS, 10).unwrap();
    assert_eq!(later.len(), 1, "only the new one is due");
    assert_eq!(store.incident(12345).unwrap(), None, "an unknown incident");
}

fn silences_are_kept_until_they_end_or_are_expired(db: &dyn Database) {
    use crate::NewSilence;
    let mut store = db.open();
    let silence = |until: Millis, body: &str| NewSilence {
        created_at: T0,
        created_by: "operator-1".into(),
        until,
        body: body.into(),
    };
    let first = store
        .add_silence(&silence(T0 + 3_600_000, "{\"a\":1}"))
        .unwrap();
    let second = store
        .add_silence(&silence(T0 + 600_000, "{\"b\":2}"))
        .unwrap();
    assert_ne!(first, second);
    let now = store.silences(T0).unwrap();
    assert_eq!(
        now.iter().map(|s| s.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!(now[0].body, "{\"a\":1}");
    assert_eq!(now[0].created_by, "operator-1");
    assert_eq!(
        store.silences(T0 + 600_000).unwrap().len(),
        1,
        "ended at its time"
    );
    assert!(store.expire_silence(first, T0 + 60_000).unwrap());
    assert!(
        !store.expire_silence(first, T0 + 120_000).unwrap(),
        "already over"
    );
    assert!(!store.expire_silence(999, T0).unwrap(), "no such silence");
    drop(store);
    let mut store = db.open();
    assert_eq!(
        store
            .silences(T0 + 60_000)
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        [second],
        "kept across a reopen"
    );
}

fn operator_updates_are_kept_in_the_order_posted(db: &dyn Database) {
    use seismo_core::operator::{Declaration, Impact, OperatorUpdate, Progress};
    let mut store = db.open();
    let declares = OperatorUpdate {
        incident: 4_503_599_627_370_497,
        at: T0 + 59_999,
        posted_at: T0 + 20_000,
        by: "alice".into(),
        state: Progress::Investigating,
        message: "Mail to **Outlook** bounces".into(),
        impact: Some(Impact::Major),
        declares: Some(Declaration {
            title: "Mail bounces".into(),
            services: vec!["microsoft-365".into(), "mimecast".into()],
            components: vec!["Exchange Online".into()],
        }),
    };
    let resolves = OperatorUpdate {
        at: T0 + 10 * MINUTE_MS,
        posted_at: T0 + 10 * MINUTE_MS,
        state: Progress::Resolved,
        message: "Fixed".into(),
        impact: None,
        declares: None,
        ..declares.clone()
    };
    // Posted later but taken in at an earlier minute: the order of posting holds.
    let late = OperatorUpdate {
        at: T0 + 5 * MINUTE_MS,
        ..resolves.clone()
    };
    let ids: Vec<i64> = [&declares, &resolves, &late]
        .iter()
        .map(|u| store.add_operator_update(u).unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    drop(store);
    let mut store = db.open();
    let with_ids = |updates: &[&OperatorUpdate], ids: &[i64]| -> Vec<(i64, OperatorUpdate)> {
        ids.iter()
            .copied()
            .zip(updates.iter().map(|&u| u.clone()))
            .collect()
    };
    assert_eq!(
        store.operator_updates(T0, 0).unwrap(),
        with_ids(&[&declares, &resolves, &late], &ids),
        "every field kept, across a reopen"
    );
    assert_eq!(
        store.operator_updates(T0, ids[1]).unwrap(),
        with_ids(&[&late], &ids[2..]),
        "after an id"
    );
    assert_eq!(
        store.operator_updates(T0 + 5 * MINUTE_MS, 0).unwrap(),
        with_ids(&[&resolves, &late], &ids[1..]),
        "since a time"
    );
}

fn users_and_sessions_are_kept_until_revoked_expired_or_ended(db: &dyn Database) {
    use seismo_core::access::{Session, User};
    let mut store = db.open();
    let user = |name: &str, role| User {
        name: name.into(),
        role,
        password_hash: format!("$argon2id$hash-of-{name}"),
        created_at: T0,
        revoked_at: None,
    };
    assert!(store.add_user(&user("alice", Role::Admin)).unwrap());
    assert!(store.add_user(&user("bob", Role::Operator)).unwrap());
    assert!(
        !store.add_user(&user("alice", Role::Operator)).unwrap(),
        "a name is taken once"
    );
    let session = |user: &str, secret: &str, expires_at| Session {
        digest: digest(secret),
        user: user.into(),
        csrf: format!("csrf-{secret}"),
        created_at: T0,
        expires_at,
    };
    store
        .add_session(&session("alice", "a1", T0 + DAY_MS))
        .unwrap();
    store
        .add_session(&session("bob", "b1", T0 + DAY_MS))
        .unwrap();
    drop(store);
    let mut store = db.open();
    assert_eq!(
        store
            .users()
            .unwrap()
            .iter()
            .map(|u| (u.name.as_str(), u.role))
            .collect::<Vec<_>>(),
        [("alice", Role::Admin), ("bob", Role::Operator)],
        "kept across a reopen, by name"
    );
    let (found, who) = store.session(&digest("a1"), T0 + 1).unwrap().unwrap();
    assert_eq!(found, session("alice", "a1", T0 + DAY_MS));
    assert_eq!(who.role, Role::Admin);
    assert_eq!(store.session(&digest("zz"), T0).unwrap(), None, "unknown");
    assert_eq!(
        store.session(&digest("a1"), T0 + DAY_MS).unwrap(),
        None,
        "expired"
    );
    assert!(store.end_session(&digest("a1")).unwrap());
    assert!(!store.end_session(&digest("a1")).unwrap());
    assert_eq!(store.session(&digest("a1"), T0).unwrap(), None, "ended");
    assert!(store.revoke_user("bob", T0 + 5).unwrap());
    assert!(!store.revoke_user("bob", T0 + 6).unwrap(), "once");
    assert_eq!(
        store.session(&digest("b1"), T0 + 10).unwrap(),
        None,
        "a revoked user's sessions end"
    );
    assert_eq!(
        store.users().unwrap()[1].revoked_at,
        Some(T0 + 5),
        "kept, revoked"
    );
}

fn subscribers_confirm_once_and_unsubscribe_with_their_confirmation_queued(db: &dyn Database) {
    use crate::{NewNotification, NewSubscriber, subscriber_channel};
    let mut store = db.open();
    let asking = |email: &str, secret: &str, at| NewSubscriber {
        email: email.into(),
        services: vec!["microsoft-365".into(), "slack".into()],
        created_at: at,
        confirm_digest: digest(secret),
        unsubscribe: format!("leave-{secret}"),
    };
    let confirmation = |at| NewNotification {
        channel: String::new(),
        created_at: at,
        event: "confirm".into(),
        body: "{\"subject\":\"Confirm\"}".into(),
    };
    let ann = store
        .add_subscriber(&asking("ann@example.com", "a1", T0), &confirmation(T0))
        .unwrap();
    let again = store
        .add_subscriber(
            &asking("ann@example.com", "a2", T0 + 10),
            &confirmation(T0 + 10),
        )
        .unwrap();
    let bob = store
        .add_subscriber(
            &asking("bob@example.com", "b1", T0 + 20),
            &confirmation(T0 + 20),
        )
        .unwrap();
    assert_eq!(
        store
            .subscription_requests(Some("ann@example.com"), T0)
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .subscription_requests(Some("ann@example.com"), T0 + 5)
            .unwrap(),
        1
    );
    assert_eq!(
        store.subscription_requests(None, T0 + 5).unwrap(),
        2,
        "anyone's"
    );
    let queued = store.due_notifications(T0 + 20, 10).unwrap();
    assert_eq!(
        queued.iter().map(|n| n.channel.clone()).collect::<Vec<_>>(),
        [ann, again, bob].map(subscriber_channel),
        "each confirmation queued with its subscriber"
    );
    drop(store);
    let mut store = db.open();
    assert_eq!(
        store
            .confirm_subscriber(&digest("zz"), T0 + 30, T0)
            .unwrap(),
        None,
        "no such link"
    );
    assert_eq!(
        store
            .confirm_subscriber(&digest("a1"), T0 + 30, T0 + 1)
            .unwrap(),
        None,
        "a link too old"
    );
    let confirmed = store
        .confirm_subscriber(&digest("b1"), T0 + 30, T0)
        .unwrap()
        .expect("confirmed");
    assert_eq!(
        (
            confirmed.id,
            confirmed.email.as_str(),
            confirmed.confirmed_at
        ),
        (bob, "bob@example.com", Some(T0 + 30))
    );
    assert_eq!(confirmed.services, ["microsoft-365", "slack"]);
    assert_eq!(
        store
            .confirm_subscriber(&digest("b1"), T0 + 40, T0)
            .unwrap(),
        None,
        "once"
    );
    assert_eq!(
        store.due_notifications(T0 + 50, 10).unwrap().len(),
        3,
        "Bob's confirmation still queued"
    );
    assert!(store.end_subscription("leave-b1", T0 + 50).unwrap());
    assert_eq!(
        store
            .due_notifications(T0 + 50, 10)
            .unwrap()
            .iter()
            .map(|n| n.channel.clone())
            .collect::<Vec<_>>(),
        [ann, again].map(subscriber_channel),
        "what was queued for Bob is forgotten with him"
    );
    assert!(
        !store.end_subscription("leave-b1", T0 + 60).unwrap(),
        "once"
    );
    assert!(!store.end_subscription("leave-zz", T0 + 60).unwrap());
    assert_eq!(
        store
            .subscribers()
            .unwrap()
            .iter()
            .map(|s| (s.id, s.confirmed_at))
            .collect::<Vec<_>>(),
        [(ann, None), (again, None)],
        "the ended one is gone; the waiting ones stay"
    );
}

fn maintenances_are_kept_until_cancelled(db: &dyn Database) {
    use crate::NewMaintenance;
    let mut store = db.open();
    let new = |body: &str| NewMaintenance {
        created_at: T0,
        created_by: "ops".into(),
        body: body.into(),
    };
    let first = store.add_maintenance(&new("{\"a\":1}")).unwrap();
    let second = store.add_maintenance(&new("{\"b\":2}")).unwrap();
    assert!(first < second);
    assert!(store.cancel_maintenance(first, T0 + 1).unwrap());
    assert!(!store.cancel_maintenance(first, T0 + 2).unwrap(), "once");
    assert!(!store.cancel_maintenance(99, T0).unwrap());
    drop(store);
    let kept = db.open().maintenances().unwrap();
    assert_eq!(kept.len(), 1, "the cancelled one is gone, across a reopen");
    assert_eq!(
        (
            kept[0].id,
            kept[0].created_by.as_str(),
            kept[0].body.as_str()
        ),
        (second, "ops", "{\"b\":2}")
    );
}

fn channels_are_put_by_name_and_deleted(db: &dyn Database) {
    let mut store = db.open();
    assert!(store.put_channel("ops", "{\"v\":1}", T0).unwrap(), "new");
    assert!(store.put_channel("chat", "{\"v\":2}", T0).unwrap());
    assert!(
        !store.put_channel("ops", "{\"v\":3}", T0 + 1).unwrap(),
        "replaced"
    );
    drop(store);
    let mut store = db.open();
    assert_eq!(
        store.channels().unwrap(),
        [
            ("chat".to_string(), "{\"v\":2}".to_string()),
            ("ops".to_string(), "{\"v\":3}".to_string())
        ],
        "by name, the last body, across a reopen"
    );
    assert!(store.delete_channel("ops").unwrap());
    assert!(!store.delete_channel("ops").unwrap());
    assert_eq!(store.channels().unwrap().len(), 1);
}

/// A schema of its own in the PostgreSQL database of the tests, dropped at the end: the
/// database `SEISMO_TEST_DATABASE_URL` names, or the one `scripts/postgres` makes.
pub struct PostgresSchema {
    base: String,
    name: String,
}

impl PostgresSchema {
    /// A schema in the tests' database; panics, saying how to start one, when there is
    /// none.
    pub fn new() -> PostgresSchema {
        let base = std::env::var("SEISMO_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://seismo:seismo@127.0.0.1:5432/seismo_test".into());
        PostgresSchema::create(&base).unwrap_or_else(|e| {
            panic!("the tests' PostgreSQL at {base}: {e} (scripts/postgres starts one)")
        })
    }

    /// A schema of its own in the database `base` names.
    pub fn create(base: &str) -> Result<PostgresSchema, postgres::Error> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static MADE: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "test_{}_{}_{nanos}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(base, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE SCHEMA {name}"))?;
        Ok(PostgresSchema {
            base: base.to_string(),
            name,
        })
    }

    /// Ends the connection that holds this schema's lead, as a killed node's would end
    /// (see `Leadership`).
    pub fn cut_the_leaders_connection(&self) {
        let mut admin = postgres::Client::connect(&self.url(), postgres::NoTls).unwrap();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks
                 WHERE locktype = 'advisory' AND classid::int = hashtext(current_schema())
                   AND objid = 4 AND granted",
                &[],
            )
            .unwrap();
    }

    /// The certificate of the authority that signed the tests' server's certificate
    /// (`SEISMO_TEST_DATABASE_CA`, or where `scripts/postgres` writes it).
    pub fn authority() -> std::path::PathBuf {
        let path = std::env::var("SEISMO_TEST_DATABASE_CA")
            .unwrap_or_else(|_| "/var/lib/postgresql/seismo-test-ca.pem".into());
        assert!(
            std::path::Path::new(&path).exists(),
            "{path}: no authority for the tests' PostgreSQL (scripts/postgres makes it)"
        );
        path.into()
    }

    /// The address of the database with this schema first on the search path.
    pub fn url(&self) -> String {
        let join = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{join}options=-c%20search_path%3D{}",
            self.base, self.name
        )
    }
}

impl Default for PostgresSchema {
    fn default() -> Self {
        PostgresSchema::new()
    }
}

impl Database for PostgresSchema {
    fn open(&self) -> Box<dyn Store> {
        Box::new(crate::PostgresStore::connect(&self.url()).unwrap())
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "SET client_min_messages = warning; DROP SCHEMA {} CASCADE",
                self.name
            ));
        }
    }
}
