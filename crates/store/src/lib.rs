//! Where reports and incidents are kept: the [`Store`] trait and its contract, the
//! embedded SQLite implementation, the [`Writer`] that commits reports in groups and
//! acknowledges each one only after its group is durable, and the behaviour [`suite`]
//! every implementation must pass.

mod address;
mod codec;
mod leader;
mod postgres;
mod record;
mod sqlite;
pub mod suite;
mod writer;

pub use leader::Leadership;
pub use postgres::{PostgresStore, REPORT_COLUMNS, REPORT_TYPES};
pub use record::StoredReport;
pub use sqlite::{PROBE_RETENTION, SqliteStore};
pub use writer::{Committed, Pending, Writer, WriterConfig};

use seismo_core::access::{SecretDigest, Session, Token, User};
use seismo_core::operator::OperatorUpdate;
use seismo_core::probe::ProbeResult;
use seismo_core::time::Millis;

type Source = Box<dyn std::error::Error + Send + Sync>;

/// Why a store could not do what was asked. The backend's own error is the source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, is busy or out of space: the same call may
    /// succeed later. Nothing of the failed call was stored.
    #[error("the database is unavailable ({context}): {source}")]
    Unavailable {
        context: &'static str,
        source: Source,
    },
    /// The database does not hold what seismo wrote or expects (a damaged file, a value
    /// of the wrong type, a schema from a newer seismo): trying again will not help.
    #[error("the database is corrupt or not seismo's ({context}): {source}")]
    Corrupt {
        context: &'static str,
        source: Source,
    },
    /// The writer has stopped; nothing submitted after that was stored.
    #[error("the writer has stopped")]
    Stopped,
}

impl StoreError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// What became of one appended report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub id: i64,
    /// False when the report is a duplicate under the counting rule.
    pub counted: bool,
}

/// A durable log of reports, incidents and their changes, and a few settings.
///
/// The contract, which [`suite::run`] checks for every implementation:
///
/// - **Durable when `Ok`.** A call that returns `Ok` has committed: what it wrote
///   survives a crash of the process. A call that returns `Err` wrote nothing.
/// - **Counting is decided in the transaction.** [`Store::append`] decides which
///   reports count, at any age and whoever else writes to the same database: a report
///   counts unless a counted report of the same reporter (`client`) for the same
///   service lies less than the counting window from it, before or after. So two nodes
///   on one database never both count one reporter, and importing the same history
///   twice never counts it twice.
/// - **Ids grow.** Report ids and incident-event sequence numbers increase in commit
///   order; a cursor (the last id seen) finds everything committed after it, late
///   reports (an old `at`, stored now) included.
///
/// Two implementations keep it: [`SqliteStore`], one file written by one process, and
/// [`PostgresStore`], one database shared by several nodes. Both keep times as epoch
/// milliseconds and bodies as the same JSON, so a record reads the same from either.
pub trait Store: Send {
    /// Appends `reports` in one transaction and decides which of them count, with the
    /// counting window `window`; returns each report's id and whether it counted, in
    /// the order given.
    fn append(
        &mut self,
        reports: &[StoredReport<'_>],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError>;

    /// Calls `visit` with the outcome and contents of every report with `at >= since`,
    /// in order of `at` (then id): the history to replay.
    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<(), StoreError>;

    /// Calls `visit` with at most `limit` reports stored after report `cursor` (0: from
    /// the first), in id order; returns the id of the last one visited, the cursor of
    /// the next call (`cursor` itself when there was none).
    fn reports_after(
        &mut self,
        cursor: i64,
        limit: usize,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<i64, StoreError>;

    /// How many reports are stored.
    fn count(&mut self) -> Result<u64, StoreError>;

    /// A stored setting, such as the client-hash salt.
    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The setting `key`, set to `value` first when it has none: of nodes that start
    /// together, the first to store a value gives it to all (the client-hash salt).
    fn first_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError>;

    /// In one transaction: inserts or replaces `incidents` (by id) and appends `events`
    /// (their `seq` is ignored: the store numbers them).
    fn save_incidents(
        &mut self,
        incidents: &[IncidentRecord],
        events: &[IncidentEventRecord],
    ) -> Result<(), StoreError>;

    /// Every stored incident, by id.
    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError>;

    /// At most `limit` incident events with a sequence number above `cursor`, in order:
    /// the outbox that live events and notifications read.
    fn incident_events_after(
        &mut self,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<IncidentEventRecord>, StoreError>;

    /// How many events of incident `id` the outbox holds: what a node that takes over
    /// (or restarts) compares with its engine's log of the incident, to store the
    /// changes its predecessor found but did not store.
    fn incident_event_count(&mut self, id: i64) -> Result<u64, StoreError>;

    /// Adds a token; false, storing nothing, when a token of that name exists
    /// (revoked or not: a name stays taken so that logs keep meaning one token).
    fn add_token(&mut self, token: &Token) -> Result<bool, StoreError>;

    /// Every token, revoked and expired ones too, by name.
    fn tokens(&mut self) -> Result<Vec<Token>, StoreError>;

    /// Revokes the token `name` from `at` on; false when there is no such token or it
    /// was revoked already.
    fn revoke_token(&mut self, name: &str, at: Millis) -> Result<bool, StoreError>;

    /// Appends probe results in one transaction, and forgets those older than the
    /// store's retention (eight days for SQLite) before the newest result given.
    fn add_probe_results(&mut self, results: &[ProbeResult]) -> Result<(), StoreError>;

    /// The newest `query.limit` results that `query` selects, oldest first.
    fn probe_results(&mut self, query: &ProbeQuery<'_>) -> Result<Vec<ProbeResult>, StoreError>;

    /// Appends what an official feed said when it changed, and forgets that feed's
    /// readings older than the store's retention (40 days for SQLite) before it.
    fn add_official_reading(&mut self, reading: &OfficialRecord) -> Result<(), StoreError>;

    /// The readings at or after `since`, and the latest before it of each feed (what
    /// the vendor said when `since` began), oldest first.
    fn official_readings(&mut self, since: Millis) -> Result<Vec<OfficialRecord>, StoreError>;

    /// Adds at most `limit` reports stored since the last call, the counted ones, to
    /// the roll-ups: counts by service, problem and [`ROLLUP_MS`] bucket, which stay
    /// when the reports are forgotten. Returns how many reports it read (0: all are
    /// rolled up). Late reports (an old `at`, stored now) are rolled up too.
    fn roll_up_reports(&mut self, limit: usize) -> Result<usize, StoreError>;

    /// The roll-ups of `service` whose buckets start in `[from, to)`, by bucket, then
    /// problem.
    fn report_rollups(
        &mut self,
        service: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Rollup>, StoreError>;

    /// Forgets the reports of every calendar month (UTC) that ended by `before`:
    /// whole months, so that PostgreSQL drops a partition rather than deleting rows.
    /// Roll them up first: their roll-ups are kept. Posts older than `before` go too.
    fn forget_reports_before(&mut self, before: Millis) -> Result<(), StoreError>;

    /// Appends `posts` in one transaction and decides which of them count: a complaint
    /// about a service counts unless a counted post of the same author about the same
    /// service lies less than `window` from it, before or after (the counting rule of
    /// reports, decided in the transaction whoever else writes); nothing else counts.
    /// Returns each post's id and whether it counted, in the order given.
    fn add_posts(
        &mut self,
        posts: &[PostRecord],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError>;

    /// Post `id`, if it is stored.
    fn post(&mut self, id: i64) -> Result<Option<StoredPost>, StoreError>;

    /// The counted posts with `at >= since`, in order of `at` (then id): what the
    /// engine replays.
    fn counted_posts(&mut self, since: Millis) -> Result<Vec<StoredPost>, StoreError>;

    /// The newest `limit` complaints posted about `service`, newest first.
    fn recent_complaints(
        &mut self,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoredPost>, StoreError>;

    /// Where the probe results, official readings and posts stored so far end: a node
    /// that has replayed them reads back from here.
    fn newest_signals(&mut self) -> Result<SignalCursor, StoreError>;

    /// At most `limit` probe results, `limit` official readings and `limit` posts
    /// stored after `cursor`, each in id order, and the cursor of the next call. Ids
    /// grow in commit order whichever node stored them, so reading on from the cursor
    /// misses none.
    fn signals_after(
        &mut self,
        cursor: SignalCursor,
        limit: usize,
    ) -> Result<StoredSignals, StoreError>;

    /// Notes that node `node`, probing from `location`, is alive at `at`, and forgets
    /// nodes silent for a day; the names of the nodes of `location` heard from at or
    /// after `alive_since` (this one included), by name: those that share its probes.
    fn node_heartbeat(
        &mut self,
        node: &str,
        location: &str,
        at: Millis,
        alive_since: Millis,
    ) -> Result<Vec<String>, StoreError>;

    /// The stored incident `id`, if any.
    fn incident(&mut self, id: i64) -> Result<Option<IncidentRecord>, StoreError>;

    /// Queues `notifications` and sets the setting `key` to `value` (the notifier's
    /// cursor and groups) in one transaction: what was decided is durable together
    /// with how far the deciding got, so a restart neither loses nor repeats it.
    fn queue_notifications(
        &mut self,
        notifications: &[NewNotification],
        key: &str,
        value: &str,
    ) -> Result<(), StoreError>;

    /// Notifications neither delivered nor given up whose next try is due at `now`,
    /// oldest first, at most `limit`.
    fn due_notifications(
        &mut self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Records a try of notification `id`; delivered ones are forgotten eight days
    /// later.
    fn notification_tried(&mut self, id: i64, attempt: &Attempt) -> Result<(), StoreError>;

    /// The notifications given up on (the dead letters), newest first, at most `limit`.
    fn dead_notifications(&mut self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Stores a silence; its id.
    fn add_silence(&mut self, silence: &NewSilence) -> Result<i64, StoreError>;

    /// The silences still in force at `at` (ending after it), oldest first.
    fn silences(&mut self, at: Millis) -> Result<Vec<SilenceRecord>, StoreError>;

    /// Ends silence `id` at `at`; false when there is none in force then.
    fn expire_silence(&mut self, id: i64, at: Millis) -> Result<bool, StoreError>;

    /// Adds a person who signs in; false, storing nothing, when the name is taken
    /// (revoked users keep their names, as tokens do).
    fn add_user(&mut self, user: &User) -> Result<bool, StoreError>;

    /// Every user, revoked ones too, by name.
    fn users(&mut self) -> Result<Vec<User>, StoreError>;

    /// Stops user `name` from signing in from `at` on and ends their sessions; false
    /// when there is no such user or they were revoked already.
    fn revoke_user(&mut self, name: &str, at: Millis) -> Result<bool, StoreError>;

    /// Stores a new session, and forgets those expired when it began.
    fn add_session(&mut self, session: &Session) -> Result<(), StoreError>;

    /// The session whose cookie has the digest `digest`, and its user, when it has not
    /// expired at `at` and its user is not revoked.
    fn session(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
    ) -> Result<Option<(Session, User)>, StoreError>;

    /// Ends a session (signing out); false when there was none.
    fn end_session(&mut self, digest: &SecretDigest) -> Result<bool, StoreError>;

    /// Stores a subscriber waiting for confirmation and, in the same transaction,
    /// queues `confirmation` (the mail with their link) for the channel
    /// [`subscriber_channel`] of their id; the id.
    fn add_subscriber(
        &mut self,
        subscriber: &NewSubscriber,
        confirmation: &NewNotification,
    ) -> Result<i64, StoreError>;

    /// How many subscriptions were asked for since `since`, for `email` or (`None`)
    /// for any address: what caps the mails strangers can make seismo send to other
    /// people's addresses.
    fn subscription_requests(
        &mut self,
        email: Option<&str>,
        since: Millis,
    ) -> Result<u64, StoreError>;

    /// Confirms the subscription whose link's secret has the digest `digest`, if it
    /// waits for confirmation, has not ended and was asked for after `not_before`; it.
    fn confirm_subscriber(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
        not_before: Millis,
    ) -> Result<Option<Subscriber>, StoreError>;

    /// Ends the subscription whose unsubscribe secret is `unsubscribe`, and forgets the
    /// mails still queued for it (none is sent after the click); false when none is in
    /// force.
    fn end_subscription(&mut self, unsubscribe: &str, at: Millis) -> Result<bool, StoreError>;

    /// Every subscription not ended (confirmed or waiting), by id.
    fn subscribers(&mut self) -> Result<Vec<Subscriber>, StoreError>;

    /// Stores notification channel `name` (JSON of a `seismo_notify::Channel`) made
    /// through the API, replacing one of that name; true when it is new.
    fn put_channel(&mut self, name: &str, body: &str, at: Millis) -> Result<bool, StoreError>;

    /// The channels made through the API: `(name, body)`, by name.
    fn channels(&mut self) -> Result<Vec<(String, String)>, StoreError>;

    /// Forgets channel `name`; false when there was none.
    fn delete_channel(&mut self, name: &str) -> Result<bool, StoreError>;

    /// Stores a maintenance made through the API or the admin pages; its id.
    fn add_maintenance(&mut self, maintenance: &NewMaintenance) -> Result<i64, StoreError>;

    /// The maintenances made through the API and not cancelled, by id.
    fn maintenances(&mut self) -> Result<Vec<MaintenanceRecord>, StoreError>;

    /// Cancels maintenance `id` at `at`; false when there is none to cancel.
    fn cancel_maintenance(&mut self, id: i64, at: Millis) -> Result<bool, StoreError>;

    /// Appends an operator's update; its id (ids grow in the order they were added).
    fn add_operator_update(&mut self, update: &OperatorUpdate) -> Result<i64, StoreError>;

    /// The operators' updates taken in at or after `since` and added after update
    /// `after` (0: from the first), with their ids, in the order they were added: what
    /// a node replays at start, then reads back as other nodes add them.
    fn operator_updates(
        &mut self,
        since: Millis,
        after: i64,
    ) -> Result<Vec<(i64, OperatorUpdate)>, StoreError>;
}

/// The notification channel of subscriber `id`: what their mails are queued for.
pub fn subscriber_channel(id: i64) -> String {
    format!("subscriber-{id}")
}

/// Someone who asked for email about some services, before they confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscriber {
    pub email: String,
    /// The services' slugs.
    pub services: Vec<String>,
    pub created_at: Millis,
    /// The digest of the secret in their confirmation link.
    pub confirm_digest: SecretDigest,
    /// The secret of their one-click unsubscribe link. Kept as it is: every mail
    /// carries it, and it can do nothing but unsubscribe.
    pub unsubscribe: String,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub services: Vec<String>,
    pub created_at: Millis,
    pub confirmed_at: Option<Millis>,
    pub unsubscribe: String,
}

/// A maintenance to store: who made it, and its schedule (JSON of a
/// `seismo_core::maintenance::Maintenance`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMaintenance {
    pub created_at: Millis,
    /// The name of the token or user that made it.
    pub created_by: String,
    pub body: String,
}

/// A stored maintenance.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceRecord {
    pub id: i64,
    pub created_at: Millis,
    pub created_by: String,
    pub body: String,
}

/// A silence to store: who made it, when it ends, and what it matches (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSilence {
    pub created_at: Millis,
    /// The name of the token that made it.
    pub created_by: String,
    pub until: Millis,
    pub body: String,
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceRecord {
    pub id: i64,
    pub created_at: Millis,
    pub created_by: String,
    pub until: Millis,
    pub body: String,
}

/// A notification to send to a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// The channel's name.
    pub channel: String,
    pub created_at: Millis,
    /// What it tells of (`opened`, `updated`, `reminder`, `resolved`).
    pub event: String,
    /// What to send, as the channel's sender reads it.
    pub body: String,
}

/// A queued notification and how its delivery went so far.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: i64,
    pub channel: String,
    pub created_at: Millis,
    pub event: String,
    pub body: String,
    pub attempts: u32,
    /// When to try next, while neither delivered nor dead.
    pub next_at: Millis,
    pub delivered_at: Option<Millis>,
    /// When it was given up on.
    pub dead_at: Option<Millis>,
    pub last_error: Option<String>,
}

/// How one try to deliver a notification went.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered {
        at: Millis,
    },
    /// Failed with `error`; tried again at `retry_at`, or given up on when none.
    Failed {
        at: Millis,
        error: String,
        retry_at: Option<Millis>,
    },
}

/// What a service's official feed said, read at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficialRecord {
    /// The service's slug.
    pub service: String,
    /// The feed's name.
    pub feed: String,
    pub at: Millis,
    pub status: seismo_core::official::OfficialStatus,
}

pub use seismo_core::time::ROLLUP_MS;

/// The counted reports of one service and problem in one [`ROLLUP_MS`] bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    /// The bucket's start.
    pub at: Millis,
    pub problem: String,
    pub count: u64,
}

/// The setting that holds the id of the last report rolled up.
pub(crate) const ROLLED_UP_TO: &str = "rolled_up_to";

/// How far a node has read the probe results, official readings and posts, by their
/// ids (zero: from the first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalCursor {
    pub probe_results: i64,
    pub official_readings: i64,
    pub posts: i64,
}

/// Probe results, official readings and posts read after a [`SignalCursor`], in the
/// order they were stored, and the cursor after them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredSignals {
    pub probe_results: Vec<ProbeResult>,
    pub official_readings: Vec<OfficialRecord>,
    pub posts: Vec<StoredPost>,
    pub next: SignalCursor,
}

impl StoredSignals {
    /// Whether a kind filled its `limit`: there may be more to read.
    pub fn filled(&self, limit: usize) -> bool {
        self.probe_results.len() == limit
            || self.official_readings.len() == limit
            || self.posts.len() == limit
    }
}

/// A post as stored: what it said, who it counts as, and how it was classified, with
/// the rules that decided (so that it is explained as it was decided, whatever later
/// versions of the classifier would say).
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub at: Millis,
    pub received: Millis,
    /// Where it came from: `api`, `mastodon` or `bluesky`.
    pub source: String,
    /// Who it counts as: a salted hash, never the name.
    pub author: u64,
    /// The author's abbreviated name, when a trusted sender named one.
    pub author_shown: Option<String>,
    pub lang: Option<String>,
    pub city_geonameid: Option<u32>,
    pub text: String,
    /// The service's slug, when the post names one.
    pub service: Option<String>,
    pub complaint: bool,
    /// One of the service's problems, when it names a service.
    pub problem: Option<String>,
    pub rules: Vec<String>,
}

/// The columns a stored post is read from, in the order both stores decode them.
pub(crate) const POST_COLUMNS: &str = "id, counted, at_ms, received_ms, source, author, author_shown, lang, city_geonameid, text, service, complaint, problem, rules";

/// A stored post, its id, and whether it counted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPost {
    pub id: i64,
    pub counted: bool,
    pub post: PostRecord,
}

/// Which probe results to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeQuery<'a> {
    /// The service's slug.
    pub service: &'a str,
    /// One probe, or all of the service's.
    pub probe: Option<&'a str>,
    /// One location, or all.
    pub location: Option<&'a str>,
    /// Results with `at >= since`.
    pub since: Millis,
    pub limit: usize,
}

impl<'a> ProbeQuery<'a> {
    /// Every result of `service` since `since`, up to `limit`.
    pub fn service(service: &'a str, since: Millis, limit: usize) -> ProbeQuery<'a> {
        ProbeQuery {
            service,
            probe: None,
            location: None,
            since,
            limit,
        }
    }
}

/// An incident as stored: a few columns to select by, and the whole record in the
/// format its `format` names (see `seismo_detect::record`), independent of the API.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub id: i64,
    pub service: String,
    pub state: String,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    /// Version of the body's format.
    pub format: u32,
    pub body: String,
}

/// One change of an incident, appended to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEventRecord {
    /// Position in the outbox, given by the store.
    pub seq: i64,
    pub incident: i64,
    pub at: Millis,
    /// The change (JSON).
    pub body: String,
}
