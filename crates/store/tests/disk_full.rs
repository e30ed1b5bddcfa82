//! The writer on a full disk: every commit fails with a retryable error at once, the
//! failure is logged once (not once per commit), and commits succeed again when space
//! returns, counting what failed as if it had never been sent.

use seismo_core::probe::ProbeResult;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use seismo_core::access::Token;
use seismo_core::catalog::{Catalog, ProblemId, ServiceId};
use seismo_core::gazetteer::{Gazetteer, Place};
use seismo_core::report::Report;
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_store::{
    Attempt, IncidentEventRecord, IncidentRecord, NewNotification, NewSilence, NotificationRecord,
    OfficialRecord, Outcome, ProbeQuery, SilenceRecord, SqliteStore, Store, StoreError,
    StoredReport, Writer, WriterConfig,
};
use tracing::Level;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A SQLite store on a "disk" that is full while `full` is set: the database may not
/// grow (SQLite's own limit, so the error is SQLite's own).
struct SmallDisk {
    store: SqliteStore,
    full: Arc<AtomicBool>,
}

impl SmallDisk {
    fn limit(&self) {
        let cap = if self.full.load(Ordering::SeqCst) {
            Some(self.store.pages().unwrap())
        } else {
            None
        };
        self.store.set_max_pages(cap).unwrap();
    }
}

impl Store for SmallDisk {
    fn append(
        &mut self,
        reports: &[StoredReport<'_>],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        self.limit();
        self.store.append(reports, window)
    }
    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<(), StoreError> {
        self.store.scan(since, visit)
    }
    fn reports_after(
        &mut self,
        cursor: i64,
        limit: usize,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<i64, StoreError> {
        self.store.reports_after(cursor, limit, visit)
    }
    fn count(&mut self) -> Result<u64, StoreError> {
        self.store.count()
    }
    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.store.setting(key)
    }
    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.store.set_setting(key, value)
    }
    fn first_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        self.store.first_setting(key, value)
    }
    fn incident_event_count(&mut self, id: i64) -> Result<u64, StoreError> {
        self.store.incident_event_count(id)
    }
    fn save_incidents(
        &mut self,
        incidents: &[IncidentRecord],
        events: &[IncidentEventRecord],
    ) -> Result<(), StoreError> {
        self.store.save_incidents(incidents, events)
    }
    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError> {
        self.store.incidents()
    }
    fn incident_events_after(
        &mut self,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<IncidentEventRecord>, StoreError> {
        self.store.incident_events_after(cursor, limit)
    }
    fn add_token(&mut self, token: &Token) -> Result<bool, StoreError> {
        self.store.add_token(token)
    }
    fn tokens(&mut self) -> Result<Vec<Token>, StoreError> {
        self.store.tokens()
    }
    fn revoke_token(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        self.store.revoke_token(name, at)
    }
    fn add_probe_results(&mut self, results: &[ProbeResult]) -> Result<(), StoreError> {
        self.limit();
        self.store.add_probe_results(results)
    }
    fn probe_results(&mut self, query: &ProbeQuery<'_>) -> Result<Vec<ProbeResult>, StoreError> {
        self.store.probe_results(query)
    }
    fn add_official_reading(&mut self, reading: &OfficialRecord) -> Result<(), StoreError> {
        self.limit();
        self.store.add_official_reading(reading)
    }
    fn official_readings(&mut self, since: Millis) -> Result<Vec<OfficialRecord>, StoreError> {
        self.store.official_readings(since)
    }
    fn roll_up_reports(&mut self, limit: usize) -> Result<usize, StoreError> {
        self.limit();
        self.store.roll_up_reports(limit)
    }
    fn report_rollups(
        &mut self,
        service: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<seismo_store::Rollup>, StoreError> {
        self.store.report_rollups(service, from, to)
    }
    fn forget_reports_before(&mut self, before: Millis) -> Result<(), StoreError> {
        self.limit();
        self.store.forget_reports_before(before)
    }
    fn add_posts(
        &mut self,
        posts: &[seismo_store::PostRecord],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        self.store.add_posts(posts, window)
    }
    fn post(&mut self, id: i64) -> Result<Option<seismo_store::StoredPost>, StoreError> {
        self.store.post(id)
    }
    fn counted_posts(
        &mut self,
        since: Millis,
    ) -> Result<Vec<seismo_store::StoredPost>, StoreError> {
        self.store.counted_posts(since)
    }
    fn recent_complaints(
        &mut self,
        service: &str,
        limit: usize,
    ) -> Result<Vec<seismo_store::StoredPost>, StoreError> {
        self.store.recent_complaints(service, limit)
    }
    fn newest_signals(&mut self) -> Result<seismo_store::SignalCursor, StoreError> {
        self.store.newest_signals()
    }
    fn signals_after(
        &mut self,
        cursor: seismo_store::SignalCursor,
        limit: usize,
    ) -> Result<seismo_store::StoredSignals, StoreError> {
        self.store.signals_after(cursor, limit)
    }
    fn node_heartbeat(
        &mut self,
        node: &str,
        location: &str,
        at: Millis,
        alive_since: Millis,
    ) -> Result<Vec<String>, StoreError> {
        self.limit();
        self.store.node_heartbeat(node, location, at, alive_since)
    }
    fn incident(&mut self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        self.store.incident(id)
    }
    fn queue_notifications(
        &mut self,
        notifications: &[NewNotification],
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.limit();
        self.store.queue_notifications(notifications, key, value)
    }
    fn due_notifications(
        &mut self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.store.due_notifications(now, limit)
    }
    fn notification_tried(&mut self, id: i64, attempt: &Attempt) -> Result<(), StoreError> {
        self.store.notification_tried(id, attempt)
    }
    fn dead_notifications(&mut self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        self.store.dead_notifications(limit)
    }
    fn add_silence(&mut self, silence: &NewSilence) -> Result<i64, StoreError> {
        self.limit();
        self.store.add_silence(silence)
    }
    fn silences(&mut self, at: Millis) -> Result<Vec<SilenceRecord>, StoreError> {
        self.store.silences(at)
    }
    fn expire_silence(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        self.store.expire_silence(id, at)
    }
    fn add_user(&mut self, user: &seismo_core::access::User) -> Result<bool, StoreError> {
        self.store.add_user(user)
    }
    fn users(&mut self) -> Result<Vec<seismo_core::access::User>, StoreError> {
        self.store.users()
    }
    fn revoke_user(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        self.store.revoke_user(name, at)
    }
    fn add_session(&mut self, session: &seismo_core::access::Session) -> Result<(), StoreError> {
        self.store.add_session(session)
    }
    fn session(
        &mut self,
        digest: &seismo_core::access::SecretDigest,
        at: Millis,
    ) -> Result<Option<(seismo_core::access::Session, seismo_core::access::User)>, StoreError> {
        self.store.session(digest, at)
    }
    fn end_session(
        &mut self,
        digest: &seismo_core::access::SecretDigest,
    ) -> Result<bool, StoreError> {
        self.store.end_session(digest)
    }
    fn add_subscriber(
        &mut self,
        subscriber: &seismo_store::NewSubscriber,
        confirmation: &seismo_store::NewNotification,
    ) -> Result<i64, StoreError> {
        self.store.add_subscriber(subscriber, confirmation)
    }
    fn subscription_requests(
        &mut self,
        email: Option<&str>,
        since: Millis,
    ) -> Result<u64, StoreError> {
        self.store.subscription_requests(email, since)
    }
    fn confirm_subscriber(
        &mut self,
        digest: &seismo_core::access::SecretDigest,
        at: Millis,
        not_before: Millis,
    ) -> Result<Option<seismo_store::Subscriber>, StoreError> {
        self.store.confirm_subscriber(digest, at, not_before)
    }
    fn end_subscription(&mut self, unsubscribe: &str, at: Millis) -> Result<bool, StoreError> {
        self.store.end_subscription(unsubscribe, at)
    }
    fn subscribers(&mut self) -> Result<Vec<seismo_store::Subscriber>, StoreError> {
        self.store.subscribers()
    }
    fn put_channel(&mut self, name: &str, body: &str, at: Millis) -> Result<bool, StoreError> {
        self.store.put_channel(name, body, at)
    }
    fn channels(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        self.store.channels()
    }
    fn delete_channel(&mut self, name: &str) -> Result<bool, StoreError> {
        self.store.delete_channel(name)
    }
    fn add_maintenance(
        &mut self,
        maintenance: &seismo_store::NewMaintenance,
    ) -> Result<i64, StoreError> {
        self.store.add_maintenance(maintenance)
    }
    fn maintenances(&mut self) -> Result<Vec<seismo_store::MaintenanceRecord>, StoreError> {
        self.store.maintenances()
    }
    fn cancel_maintenance(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        self.store.cancel_maintenance(id, at)
    }
    fn add_operator_update(
        &mut self,
        update: &seismo_core::operator::OperatorUpdate,
    ) -> Result<i64, StoreError> {
        self.store.add_operator_update(update)
    }
    fn operator_updates(
        &mut self,
        since: Millis,
        after: i64,
    ) -> Result<Vec<(i64, seismo_core::operator::OperatorUpdate)>, StoreError> {
        self.store.operator_updates(since, after)
    }
}

/// The writer thread's log events, by level.
#[derive(Clone, Default)]
struct Logged(Arc<Mutex<Vec<Level>>>);

impl Logged {
    fn count(&self, level: Level) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| **l == level)
            .count()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Logged {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if std::thread::current().name() == Some("seismo-writer") {
            self.0.lock().unwrap().push(*event.metadata().level());
        }
    }
}

fn report(client: u64, minute: i64) -> Report {
    Report {
        at: 20_000 * DAY_MS + minute * MINUTE_MS,
        received: 20_000 * DAY_MS + minute * MINUTE_MS,
        service: ServiceId(0),
        problem: ProblemId(0),
        place: Place::default(),
        client,
        block: client,
    }
}

#[test]
fn a_full_disk_is_logged_once_refused_at_once_and_recovered_from() {
    let logged = Logged::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(logged.clone()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let full = Arc::new(AtomicBool::new(false));
    let store = SmallDisk {
        store: SqliteStore::open(dir.path()).unwrap(),
        full: full.clone(),
    };
    let committed = Arc::new(AtomicUsize::new(0));
    let (writer, thread) = Writer::start(
        Box::new(store),
        Arc::new(Catalog::demo()),
        Gazetteer::embedded(),
        WriterConfig::default(),
        Box::new({
            let committed = committed.clone();
            move |c| {
                committed.fetch_add(c.reports.len(), Ordering::SeqCst);
            }
        }),
    )
    .unwrap();
    let submit = |reports| {
        writer
            .submit_blocking(reports)
            .unwrap()
            .blocking_recv()
            .unwrap()
    };
    assert!(submit(vec![report(1, 0)]).unwrap()[0].counted);

    full.store(true, Ordering::SeqCst);
    // Batches that need new pages (a single report may fit in the last one).
    for n in 0..200 {
        let batch = (0..200).map(|c| report(100 + n * 200 + c, 1)).collect();
        let error = submit(batch).unwrap_err();
        assert!(error.is_retryable(), "{error}");
    }
    assert_eq!(
        logged.count(Level::ERROR),
        1,
        "one error for 200 failed commits"
    );

    full.store(false, Ordering::SeqCst);
    let outcomes = submit(vec![report(100, 1), report(1, 30)]).unwrap();
    assert_eq!(
        outcomes.iter().map(|o| o.counted).collect::<Vec<_>>(),
        [true, false],
        "a report that failed counts when sent again; one stored before still counts"
    );
    assert_eq!(logged.count(Level::INFO), 1, "the recovery is logged once");
    assert_eq!(
        committed.load(Ordering::SeqCst),
        3,
        "only what was stored was observed"
    );
    writer.stop();
    thread.join().unwrap();
}
