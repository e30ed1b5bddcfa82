//! The embedded store: one SQLite file in write-ahead-log mode, written by one process.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use seismo_core::access::{SecretDigest, Session, Token, User};
use seismo_core::operator::OperatorUpdate;
use seismo_core::probe::{Outcome as ProbeOutcome, ProbeResult};
use seismo_core::report::CountingRule;
use seismo_core::time::{DAY_MS, Millis};

use crate::codec::{corrupt, failure, from_json, hex, month_of, role, service_key, to_json, unhex};
use crate::{
    Attempt, IncidentEventRecord, IncidentRecord, MaintenanceRecord, NewMaintenance,
    NewNotification, NewSilence, NewSubscriber, NotificationRecord, OfficialRecord, Outcome,
    POST_COLUMNS, PostRecord, ProbeQuery, ROLLED_UP_TO, ROLLUP_MS, Rollup, SignalCursor,
    SilenceRecord, Store, StoreError, StoredPost, StoredReport, StoredSignals, Subscriber,
};

/// An incident from a row of `id, service, state, started_ms, ended_ms, format, body`.
fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncidentRecord> {
    Ok(IncidentRecord {
        id: r.get(0)?,
        service: r.get(1)?,
        state: r.get(2)?,
        started_at: r.get(3)?,
        ended_at: r.get(4)?,
        format: r.get(5)?,
        body: r.get(6)?,
    })
}

/// Schema changes in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    service TEXT NOT NULL,
    problem TEXT NOT NULL,
    city_geonameid INTEGER,
    region TEXT,
    country TEXT,
    client BIGINT NOT NULL,
    counted INTEGER NOT NULL
);
CREATE INDEX reports_at ON reports (at_ms);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE incidents (
    id BIGINT PRIMARY KEY,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    body TEXT NOT NULL
);
CREATE INDEX incidents_service ON incidents (service, started_ms);
"#,
    // The incident record's format (0: the API's JSON, before records had their own);
    // the outbox of incident changes.
    r#"
ALTER TABLE incidents ADD COLUMN format INTEGER NOT NULL DEFAULT 0;
CREATE TABLE incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
"#,
    // Bearer tokens: the SHA-256 of the secret in hex, never the secret.
    // (Migration 4; 5, below, adds each report's block of addresses.)
    r#"
CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT,
    revoked_ms BIGINT
);
"#,
    // The block of addresses a report came from; reports stored before it are each
    // their own (the block is read as the client where it is NULL).
    r#"
ALTER TABLE reports ADD COLUMN block BIGINT;
"#,
    // Probe results: the outcome's columns to select by, and what the remote said by
    // kind (`detail`, JSON).
    r#"
CREATE TABLE probe_results (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    probe TEXT NOT NULL,
    location TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    latency_ms BIGINT NOT NULL,
    failure_kind TEXT,
    failure TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX probe_results_service ON probe_results (service, probe, at_ms);
CREATE INDEX probe_results_at ON probe_results (at_ms);
"#,
    // 7: what official status feeds said, a row per change.
    r#"
CREATE TABLE official_readings (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    feed TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX official_readings_feed ON official_readings (service, feed, at_ms);
CREATE INDEX official_readings_at ON official_readings (at_ms);
"#,
    // 8: notifications to send, and how their delivery went.
    r#"
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    dead_ms BIGINT,
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications (next_ms) WHERE delivered_ms IS NULL AND dead_ms IS NULL;
"#,
    // 9: silences made through the API.
    r#"
CREATE TABLE silences (
    id INTEGER PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX silences_until ON silences (until_ms);
"#,
    // 10: what operators posted on incidents.
    r#"
CREATE TABLE operator_updates (
    id INTEGER PRIMARY KEY,
    incident BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX operator_updates_at ON operator_updates (at_ms);
"#,
    // 11: people who sign in to the admin pages, and their sessions.
    r#"
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_ms);
"#,
    // 12: people who get email about services.
    r#"
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    services TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    confirm_digest TEXT NOT NULL UNIQUE,
    unsubscribe TEXT NOT NULL UNIQUE,
    confirmed_ms BIGINT,
    ended_ms BIGINT
);
CREATE INDEX subscribers_email ON subscribers (email, created_ms);
"#,
    // 13: maintenance made through the API.
    r#"
CREATE TABLE maintenances (
    id INTEGER PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    body TEXT NOT NULL,
    cancelled_ms BIGINT
);
"#,
    // 14: notification channels made through the API.
    r#"
CREATE TABLE channels (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
"#,
    // 15: the nodes that share the probes of a location (PostgreSQL); reports rolled
    // up.
    r#"
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    location TEXT NOT NULL,
    seen_ms BIGINT NOT NULL
);
CREATE TABLE report_rollups (
    service TEXT NOT NULL,
    bucket_ms BIGINT NOT NULL,
    problem TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (service, bucket_ms, problem)
) WITHOUT ROWID;
"#,
    // 16: social posts, classified, with the rules that decided.
    r#"
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    source TEXT NOT NULL,
    author BIGINT NOT NULL,
    author_shown TEXT,
    lang TEXT,
    city_geonameid INTEGER,
    text TEXT NOT NULL,
    service TEXT,
    complaint INTEGER NOT NULL,
    problem TEXT,
    rules TEXT NOT NULL,
    counted INTEGER NOT NULL
);
CREATE INDEX posts_counted ON posts (author, service, at_ms) WHERE counted;
CREATE INDEX posts_complaints ON posts (service, at_ms) WHERE complaint;
CREATE INDEX posts_at ON posts (at_ms);
"#,
];

/// Delivered notifications are kept this long.
pub const NOTIFICATION_RETENTION: Millis = 8 * DAY_MS;

/// A feed's readings are kept this long before its newest one (which is always kept).
pub const OFFICIAL_RETENTION: Millis = 40 * DAY_MS;

/// Probe results are kept this long before the newest one stored.
pub const PROBE_RETENTION: Millis = 8 * DAY_MS;

/// Reports this much older than the newest one are counted against the counted
/// reports the database holds around their time; newer ones by the index of recent
/// reporters in memory.
const RECENT_MS: Millis = 8 * DAY_MS;

/// The index of recent counted reports, exact because this process is the only writer.
struct RecentReporters {
    rule: CountingRule,
    /// The newest `at` stored.
    newest: Millis,
    /// When the rule last forgot what is older than [`RECENT_MS`].
    forgot_at: Millis,
}

impl RecentReporters {
    /// Reports from here on are decided in memory.
    fn horizon(&self) -> Millis {
        self.newest.saturating_sub(RECENT_MS)
    }
}

pub struct SqliteStore {
    conn: Connection,
    /// Built at the first append, dropped when a transaction fails.
    recent: Option<RecentReporters>,
}

/// Names what failed, and tells a passing condition from a broken database.
trait Context<T> {
    fn during(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn during(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|error| {
            let passing = matches!(
                error.sqlite_error_code(),
                Some(
                    ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::DiskFull
                        | ErrorCode::CannotOpen
                        | ErrorCode::OutOfMemory
                        | ErrorCode::ReadOnly
                        | ErrorCode::PermissionDenied
                )
            );
            if passing {
                StoreError::Unavailable {
                    context,
                    source: error.into(),
                }
            } else {
                StoreError::Corrupt {
                    context,
                    source: error.into(),
                }
            }
        })
    }
}

impl<T> Context<T> for Result<T, rusqlite::types::FromSqlError> {
    fn during(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|error| StoreError::Corrupt {
            context,
            source: error.into(),
        })
    }
}

impl SqliteStore {
    /// The notifications `clause` selects, with `?1` bound to `at` and `?2` to `limit`.
    fn notifications(
        &mut self,
        clause: &str,
        at: Millis,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let context = "reading notifications";
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, channel, created_ms, event, body, attempts, next_ms, delivered_ms, dead_ms, last_error
                 FROM notifications {clause}"
            ))
            .during(context)?;
        let rows = statement
            .query_map(params![at, limit as i64], |row| {
                Ok(NotificationRecord {
                    id: row.get(0)?,
                    channel: row.get(1)?,
                    created_at: row.get(2)?,
                    event: row.get(3)?,
                    body: row.get(4)?,
                    attempts: row.get(5)?,
                    next_at: row.get(6)?,
                    delivered_at: row.get(7)?,
                    dead_at: row.get(8)?,
                    last_error: row.get(9)?,
                })
            })
            .during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }

    /// Opens (creating it if needed) `DIR/seismo.db` and applies pending migrations.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Unavailable {
            context: "creating the data directory",
            source: format!("{}: {source}", dir.display()).into(),
        })?;
        let conn = Connection::open(dir.join("seismo.db")).during("opening")?;
        // WAL lets readers run beside the writer; synchronous=FULL makes every commit
        // durable against power loss, not only against a crash of the process. The
        // writer groups reports so that the fsync per commit is shared.
        conn.pragma_update(None, "journal_mode", "WAL")
            .during("opening")?;
        conn.pragma_update(None, "synchronous", "FULL")
            .during("opening")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .during("opening")?;
        let mut store = SqliteStore { conn, recent: None };
        store.migrate()?;
        Ok(store)
    }

    /// Caps the database at `pages` pages (4 KiB each), or lifts the cap: a commit that
    /// would grow it further fails as on a full disk. For a store on a shared disk, and
    /// for tests of what a full disk does.
    pub fn set_max_pages(&self, pages: Option<u64>) -> Result<(), StoreError> {
        // SQLite's own ceiling when none is set.
        let pages = pages.unwrap_or(4_294_967_294);
        self.conn
            .pragma_update(None, "max_page_count", pages)
            .during("capping the database size")
    }

    /// Pages the database holds now.
    pub fn pages(&self) -> Result<u64, StoreError> {
        self.conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .during("reading the database size")
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let applied: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .during("reading the schema version")?;
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Corrupt {
                context: "reading the schema version",
                source: format!(
                    "schema version {applied} is newer than this seismo's {}",
                    MIGRATIONS.len()
                )
                .into(),
            });
        }
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = self.conn.transaction().during("migrating")?;
            tx.execute_batch(sql).during("migrating")?;
            tx.pragma_update(None, "user_version", version + 1)
                .during("migrating")?;
            tx.commit().during("migrating")?;
        }
        Ok(())
    }

    /// The index of recent reporters, built from the counted reports of the last
    /// [`RECENT_MS`] and the window before when missing or made for another window.
    fn recent_reporters(&mut self, window: Millis) -> Result<&mut RecentReporters, StoreError> {
        if self
            .recent
            .as_ref()
            .is_some_and(|r| r.rule.window() != window)
        {
            self.recent = None;
        }
        if self.recent.is_none() {
            let newest: Option<Millis> = self
                .conn
                .query_row("SELECT MAX(at_ms) FROM reports", [], |r| r.get(0))
                .during("reading recent reporters")?;
            let newest = newest.unwrap_or(Millis::MIN);
            let mut rule = CountingRule::new(window);
            let mut select = self
                .conn
                .prepare(
                    "SELECT client, service, at_ms FROM reports WHERE counted = 1 AND at_ms >= ?1",
                )
                .during("reading recent reporters")?;
            let mut rows = select
                .query([newest.saturating_sub(RECENT_MS + window)])
                .during("reading recent reporters")?;
            while let Some(row) = rows.next().during("reading recent reporters")? {
                let client: i64 = row.get(0).during("reading recent reporters")?;
                let service = row.get_ref(1).during("reading recent reporters")?;
                let service = service.as_str().during("reading recent reporters")?;
                let at: Millis = row.get(2).during("reading recent reporters")?;
                rule.admit_at(client as u64, service_key(service), at);
            }
            drop(rows);
            drop(select);
            self.recent = Some(RecentReporters {
                rule,
                newest,
                forgot_at: newest,
            });
        }
        Ok(self.recent.as_mut().expect("built above"))
    }
}

fn row_to_report<'r>(
    row: &'r rusqlite::Row<'_>,
) -> Result<(Outcome, StoredReport<'r>), StoreError> {
    let context = "reading reports";
    Ok((
        Outcome {
            id: row.get(9).during(context)?,
            counted: row.get(8).during(context)?,
        },
        StoredReport {
            at: row.get(0).during(context)?,
            received: row.get(1).during(context)?,
            service: row.get_ref(2).during(context)?.as_str().during(context)?,
            problem: row.get_ref(3).during(context)?.as_str().during(context)?,
            city_geonameid: row.get(4).during(context)?,
            region: row
                .get_ref(5)
                .during(context)?
                .as_str_or_null()
                .during(context)?,
            country: row
                .get_ref(6)
                .during(context)?
                .as_str_or_null()
                .during(context)?,
            client: row.get::<_, i64>(7).during(context)? as u64,
            block: row.get::<_, i64>(10).during(context)? as u64,
        },
    ))
}

const REPORT_COLUMNS: &str = "at_ms, received_ms, service, problem, city_geonameid, region, country, client, counted, id, COALESCE(block, client)";

impl Store for SqliteStore {
    fn add_probe_results(&mut self, results: &[ProbeResult]) -> Result<(), StoreError> {
        let context = "adding probe results";
        let Some(newest) = results.iter().map(|r| r.at).max() else {
            return Ok(());
        };
        let transaction = self.conn.transaction().during(context)?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO probe_results (service, probe, location, at_ms, attempts, ok,
                     latency_ms, failure_kind, failure, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .during(context)?;
            for result in results {
                let outcome = &result.outcome;
                let detail = to_json(&outcome.detail);
                insert
                    .execute(params![
                        result.service,
                        result.probe,
                        result.location,
                        result.at,
                        result.attempts,
                        outcome.ok,
                        outcome.latency_ms as i64,
                        outcome.failure.as_ref().map(|f| f.kind.as_str()),
                        outcome.failure.as_ref().map(|f| f.message.as_str()),
                        detail,
                    ])
                    .during(context)?;
            }
            transaction
                .execute(
                    "DELETE FROM probe_results WHERE at_ms < ?1",
                    [newest.saturating_sub(PROBE_RETENTION)],
                )
                .during(context)?;
        }
        transaction.commit().during(context)
    }

    fn probe_results(&mut self, query: &ProbeQuery<'_>) -> Result<Vec<ProbeResult>, StoreError> {
        let context = "reading probe results";
        // The newest `limit`, returned oldest first.
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT service, probe, location, at_ms, attempts, ok, latency_ms,
                        failure_kind, failure, detail
                 FROM probe_results
                 WHERE service = ?1 AND (?2 IS NULL OR probe = ?2)
                   AND (?3 IS NULL OR location = ?3) AND at_ms >= ?4
                 ORDER BY at_ms DESC, id DESC LIMIT ?5",
            )
            .during(context)?;
        let mut rows = select
            .query(params![
                query.service,
                query.probe,
                query.location,
                query.since,
                query.limit.min(i64::MAX as usize) as i64
            ])
            .during(context)?;
        let mut results = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            results.push(probe_result_row(context, row)?);
        }
        results.reverse();
        Ok(results)
    }

    fn add_official_reading(&mut self, reading: &OfficialRecord) -> Result<(), StoreError> {
        let context = "adding an official reading";
        let status = to_json(&reading.status);
        let transaction = self.conn.transaction().during(context)?;
        transaction
            .execute(
                "INSERT INTO official_readings (service, feed, at_ms, status) VALUES (?1, ?2, ?3, ?4)",
                params![reading.service, reading.feed, reading.at, status],
            )
            .during(context)?;
        transaction
            .execute(
                "DELETE FROM official_readings WHERE service = ?1 AND feed = ?2 AND at_ms < ?3",
                params![
                    reading.service,
                    reading.feed,
                    reading.at.saturating_sub(OFFICIAL_RETENTION)
                ],
            )
            .during(context)?;
        transaction.commit().during(context)
    }

    fn roll_up_reports(&mut self, limit: usize) -> Result<usize, StoreError> {
        let context = "rolling up reports";
        let transaction = self.conn.transaction().during(context)?;
        let from: i64 = transaction
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [ROLLED_UP_TO],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .during(context)?
            .map_or(Ok(0), |value| {
                value.parse().map_err(|_| corrupt(context, value))
            })?;
        let (read, to): (i64, i64) = transaction
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(id), ?1) FROM
                 (SELECT id FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2)",
                params![from, limit.min(i64::MAX as usize) as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .during(context)?;
        if read > 0 {
            transaction
                .execute(
                    "INSERT INTO report_rollups (service, bucket_ms, problem, count)
                     SELECT service, at_ms - ((at_ms % ?3) + ?3) % ?3, problem, COUNT(*)
                     FROM reports WHERE id > ?1 AND id <= ?2 AND counted GROUP BY 1, 2, 3
                     ON CONFLICT (service, bucket_ms, problem)
                     DO UPDATE SET count = count + excluded.count",
                    params![from, to, ROLLUP_MS],
                )
                .during(context)?;
            transaction
                .execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![ROLLED_UP_TO, to.to_string()],
                )
                .during(context)?;
        }
        transaction.commit().during(context)?;
        Ok(read as usize)
    }

    fn report_rollups(
        &mut self,
        service: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Rollup>, StoreError> {
        let context = "reading roll-ups";
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT bucket_ms, problem, count FROM report_rollups
                 WHERE service = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3
                 ORDER BY bucket_ms, problem",
            )
            .during(context)?;
        statement
            .query_map(params![service, from, to], |row| {
                Ok(Rollup {
                    at: row.get(0)?,
                    problem: row.get(1)?,
                    count: row.get::<_, i64>(2)? as u64,
                })
            })
            .during(context)?
            .collect::<Result<_, _>>()
            .during(context)
    }

    fn forget_reports_before(&mut self, before: Millis) -> Result<(), StoreError> {
        // Whole months, as PostgreSQL drops them.
        let Some((month, _)) = month_of(before) else {
            return Ok(());
        };
        self.conn
            .execute("DELETE FROM reports WHERE at_ms < ?1", [month])
            .during("forgetting old reports")?;
        self.conn
            .execute("DELETE FROM posts WHERE at_ms < ?1", [before])
            .during("forgetting old posts")?;
        Ok(())
    }

    fn add_posts(
        &mut self,
        posts: &[PostRecord],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        let context = "adding posts";
        let tx = self.conn.transaction().during(context)?;
        let mut outcomes = Vec::with_capacity(posts.len());
        {
            let mut taken = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM posts WHERE counted AND author = ?1
                     AND service = ?2 AND at_ms > ?3 - ?4 AND at_ms < ?3 + ?4)",
                )
                .during(context)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO posts (at_ms, received_ms, source, author, author_shown, lang,
                     city_geonameid, text, service, complaint, problem, rules, counted)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .during(context)?;
            for post in posts {
                let author = post.author as i64;
                let counted = match &post.service {
                    Some(service) if post.complaint => !taken
                        .query_row(params![author, service, post.at, window], |row| {
                            row.get::<_, bool>(0)
                        })
                        .during(context)?,
                    _ => false,
                };
                insert
                    .execute(params![
                        post.at,
                        post.received,
                        post.source,
                        author,
                        post.author_shown,
                        post.lang,
                        post.city_geonameid,
                        post.text,
                        post.service,
                        post.complaint,
                        post.problem,
                        to_json(&post.rules),
                        counted,
                    ])
                    .during(context)?;
                outcomes.push(Outcome {
                    id: tx.last_insert_rowid(),
                    counted,
                });
            }
        }
        tx.commit().during(context)?;
        Ok(outcomes)
    }

    fn post(&mut self, id: i64) -> Result<Option<StoredPost>, StoreError> {
        let context = "reading a post";
        let mut statement = self
            .conn
            .prepare_cached(&format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ?1"))
            .during(context)?;
        let mut rows = statement.query([id]).during(context)?;
        rows.next()
            .during(context)?
            .map(|row| post_row(context, row))
            .transpose()
    }

    fn counted_posts(&mut self, since: Millis) -> Result<Vec<StoredPost>, StoreError> {
        let context = "reading counted posts";
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {POST_COLUMNS} FROM posts WHERE counted AND at_ms >= ?1 ORDER BY at_ms, id"
            ))
            .during(context)?;
        let mut rows = statement.query([since]).during(context)?;
        let mut posts = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            posts.push(post_row(context, row)?);
        }
        Ok(posts)
    }

    fn recent_complaints(
        &mut self,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoredPost>, StoreError> {
        let context = "reading recent complaints";
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {POST_COLUMNS} FROM posts WHERE complaint AND service = ?1
                 ORDER BY at_ms DESC, id DESC LIMIT ?2"
            ))
            .during(context)?;
        let mut rows = statement
            .query(params![service, limit.min(i64::MAX as usize) as i64])
            .during(context)?;
        let mut posts = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            posts.push(post_row(context, row)?);
        }
        Ok(posts)
    }

    fn newest_signals(&mut self) -> Result<SignalCursor, StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM probe_results),
                        (SELECT COALESCE(MAX(id), 0) FROM official_readings),
                        (SELECT COALESCE(MAX(id), 0) FROM posts)",
                [],
                |row| {
                    Ok(SignalCursor {
                        probe_results: row.get(0)?,
                        official_readings: row.get(1)?,
                        posts: row.get(2)?,
                    })
                },
            )
            .during("reading where the signals end")
    }

    fn signals_after(
        &mut self,
        cursor: SignalCursor,
        limit: usize,
    ) -> Result<StoredSignals, StoreError> {
        let context = "reading back the signals";
        let limit = limit.min(i64::MAX as usize) as i64;
        let mut signals = StoredSignals {
            next: cursor,
            ..StoredSignals::default()
        };
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT service, probe, location, at_ms, attempts, ok, latency_ms,
                        failure_kind, failure, detail, id
                 FROM probe_results WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .during(context)?;
        let mut rows = statement
            .query(params![cursor.probe_results, limit])
            .during(context)?;
        while let Some(row) = rows.next().during(context)? {
            signals.probe_results.push(probe_result_row(context, row)?);
            signals.next.probe_results = row.get(10).during(context)?;
        }
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT service, feed, at_ms, status, id FROM official_readings
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .during(context)?;
        let mut rows = statement
            .query(params![cursor.official_readings, limit])
            .during(context)?;
        while let Some(row) = rows.next().during(context)? {
            signals.official_readings.push(official_row(context, row)?);
            signals.next.official_readings = row.get(4).during(context)?;
        }
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {POST_COLUMNS} FROM posts WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .during(context)?;
        let mut rows = statement
            .query(params![cursor.posts, limit])
            .during(context)?;
        while let Some(row) = rows.next().during(context)? {
            let post = post_row(context, row)?;
            signals.next.posts = post.id;
            signals.posts.push(post);
        }
        Ok(signals)
    }

    fn node_heartbeat(
        &mut self,
        node: &str,
        location: &str,
        at: Millis,
        alive_since: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let context = "noting a node's heartbeat";
        let transaction = self.conn.transaction().during(context)?;
        transaction
            .execute(
                "INSERT INTO nodes (name, location, seen_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET location = ?2, seen_ms = MAX(seen_ms, ?3)",
                params![node, location, at],
            )
            .during(context)?;
        transaction
            .execute(
                "DELETE FROM nodes WHERE seen_ms < ?1",
                [at.saturating_sub(DAY_MS)],
            )
            .during(context)?;
        let names = {
            let mut statement = transaction
                .prepare_cached(
                    "SELECT name FROM nodes WHERE location = ?1 AND seen_ms >= ?2 ORDER BY name",
                )
                .during(context)?;
            statement
                .query_map(params![location, alive_since], |row| row.get(0))
                .during(context)?
                .collect::<Result<Vec<String>, _>>()
                .during(context)?
        };
        transaction.commit().during(context)?;
        Ok(names)
    }

    fn incident(&mut self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let context = "reading an incident";
        self.conn
            .query_row(
                "SELECT id, service, state, started_ms, ended_ms, format, body FROM incidents WHERE id = ?1",
                [id],
                incident_row,
            )
            .optional()
            .during(context)
    }

    fn queue_notifications(
        &mut self,
        notifications: &[NewNotification],
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let context = "queueing notifications";
        let transaction = self.conn.transaction().during(context)?;
        for n in notifications {
            transaction
                .execute(
                    "INSERT INTO notifications (channel, created_ms, event, body, next_ms) VALUES (?1, ?2, ?3, ?4, ?2)",
                    params![n.channel, n.created_at, n.event, n.body],
                )
                .during(context)?;
        }
        transaction
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .during(context)?;
        transaction.commit().during(context)
    }

    fn due_notifications(
        &mut self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.notifications(
            "WHERE delivered_ms IS NULL AND dead_ms IS NULL AND next_ms <= ?1 ORDER BY id LIMIT ?2",
            now,
            limit,
        )
    }

    fn notification_tried(&mut self, id: i64, attempt: &Attempt) -> Result<(), StoreError> {
        let context = "recording a notification's delivery";
        match attempt {
            Attempt::Delivered { at } => {
                self.conn
                    .execute(
                        "UPDATE notifications SET attempts = attempts + 1, delivered_ms = ?2, last_error = NULL WHERE id = ?1",
                        params![id, at],
                    )
                    .during(context)?;
                self.conn
                    .execute(
                        "DELETE FROM notifications WHERE delivered_ms < ?1",
                        [at.saturating_sub(NOTIFICATION_RETENTION)],
                    )
                    .during(context)?;
            }
            Attempt::Failed {
                at,
                error,
                retry_at,
            } => {
                self.conn
                    .execute(
                        "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
                         next_ms = COALESCE(?3, next_ms), dead_ms = CASE WHEN ?3 IS NULL THEN ?4 END
                         WHERE id = ?1",
                        params![id, error, retry_at, at],
                    )
                    .during(context)?;
            }
        }
        Ok(())
    }

    fn dead_notifications(&mut self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        self.notifications(
            "WHERE dead_ms IS NOT NULL AND dead_ms >= ?1 ORDER BY id DESC LIMIT ?2",
            Millis::MIN,
            limit,
        )
    }

    fn add_silence(&mut self, silence: &NewSilence) -> Result<i64, StoreError> {
        let context = "adding a silence";
        self.conn
            .execute(
                "INSERT INTO silences (created_ms, created_by, until_ms, body) VALUES (?1, ?2, ?3, ?4)",
                params![silence.created_at, silence.created_by, silence.until, silence.body],
            )
            .during(context)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn silences(&mut self, at: Millis) -> Result<Vec<SilenceRecord>, StoreError> {
        let context = "reading silences";
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, created_ms, created_by, until_ms, body FROM silences WHERE until_ms > ?1 ORDER BY id",
            )
            .during(context)?;
        let rows = statement
            .query_map([at], |row| {
                Ok(SilenceRecord {
                    id: row.get(0)?,
                    created_at: row.get(1)?,
                    created_by: row.get(2)?,
                    until: row.get(3)?,
                    body: row.get(4)?,
                })
            })
            .during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }

    fn expire_silence(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "UPDATE silences SET until_ms = ?2 WHERE id = ?1 AND until_ms > ?2",
                params![id, at],
            )
            .during("expiring a silence")?;
        Ok(changed == 1)
    }

    fn add_user(&mut self, user: &User) -> Result<bool, StoreError> {
        let added = self
            .conn
            .execute(
                "INSERT INTO users (name, role, password_hash, created_ms, revoked_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
                params![
                    user.name,
                    user.role.name(),
                    user.password_hash,
                    user.created_at,
                    user.revoked_at
                ],
            )
            .during("adding a user")?;
        Ok(added == 1)
    }

    fn users(&mut self) -> Result<Vec<User>, StoreError> {
        let context = "reading users";
        let mut select = self
            .conn
            .prepare(
                "SELECT name, role, password_hash, created_ms, revoked_ms FROM users ORDER BY name",
            )
            .during(context)?;
        let mut rows = select.query([]).during(context)?;
        let mut users = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            let role_name: String = row.get(1).during(context)?;
            users.push(User {
                name: row.get(0).during(context)?,
                role: role(context, &role_name)?,
                password_hash: row.get(2).during(context)?,
                created_at: row.get(3).during(context)?,
                revoked_at: row.get(4).during(context)?,
            });
        }
        Ok(users)
    }

    fn revoke_user(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        let context = "revoking a user";
        let transaction = self.conn.transaction().during(context)?;
        let revoked = transaction
            .execute(
                "UPDATE users SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
                params![name, at],
            )
            .during(context)?;
        transaction
            .execute("DELETE FROM sessions WHERE username = ?1", [name])
            .during(context)?;
        transaction.commit().during(context)?;
        Ok(revoked == 1)
    }

    fn add_session(&mut self, session: &Session) -> Result<(), StoreError> {
        let context = "adding a session";
        let transaction = self.conn.transaction().during(context)?;
        transaction
            .execute(
                "DELETE FROM sessions WHERE expires_ms <= ?1",
                [session.created_at],
            )
            .during(context)?;
        transaction
            .execute(
                "INSERT INTO sessions (digest, username, csrf, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    hex(&session.digest),
                    session.user,
                    session.csrf,
                    session.created_at,
                    session.expires_at
                ],
            )
            .during(context)?;
        transaction.commit().during(context)
    }

    fn session(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let context = "reading a session";
        let found: Option<(String, String, Millis, Millis)> = self
            .conn
            .query_row(
                "SELECT s.username, s.csrf, s.created_ms, s.expires_ms FROM sessions AS s
                 JOIN users AS u ON u.name = s.username
                 WHERE s.digest = ?1 AND s.expires_ms > ?2 AND u.revoked_ms IS NULL",
                params![hex(digest), at],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()
            .during(context)?;
        let Some((user, csrf, created_at, expires_at)) = found else {
            return Ok(None);
        };
        let user = self.users()?.into_iter().find(|u| u.name == user);
        Ok(user.map(|user| {
            (
                Session {
                    digest: *digest,
                    user: user.name.clone(),
                    csrf,
                    created_at,
                    expires_at,
                },
                user,
            )
        }))
    }

    fn end_session(&mut self, digest: &SecretDigest) -> Result<bool, StoreError> {
        let ended = self
            .conn
            .execute("DELETE FROM sessions WHERE digest = ?1", [hex(digest)])
            .during("ending a session")?;
        Ok(ended == 1)
    }

    fn add_subscriber(
        &mut self,
        subscriber: &NewSubscriber,
        confirmation: &NewNotification,
    ) -> Result<i64, StoreError> {
        let context = "adding a subscriber";
        let services = to_json(&subscriber.services);
        let transaction = self.conn.transaction().during(context)?;
        transaction
            .execute(
                "INSERT INTO subscribers (email, services, created_ms, confirm_digest, unsubscribe)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    subscriber.email,
                    services,
                    subscriber.created_at,
                    hex(&subscriber.confirm_digest),
                    subscriber.unsubscribe
                ],
            )
            .during(context)?;
        let id = transaction.last_insert_rowid();
        transaction
            .execute(
                "INSERT INTO notifications (channel, created_ms, event, body, next_ms) VALUES (?1, ?2, ?3, ?4, ?2)",
                params![
                    crate::subscriber_channel(id),
                    confirmation.created_at,
                    confirmation.event,
                    confirmation.body
                ],
            )
            .during(context)?;
        transaction.commit().during(context)?;
        Ok(id)
    }

    fn subscription_requests(
        &mut self,
        email: Option<&str>,
        since: Millis,
    ) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM subscribers WHERE (?1 IS NULL OR email = ?1) AND created_ms >= ?2",
                params![email, since],
                |row| row.get(0),
            )
            .during("counting subscription requests")
    }

    fn confirm_subscriber(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
        not_before: Millis,
    ) -> Result<Option<Subscriber>, StoreError> {
        let context = "confirming a subscriber";
        let confirmed = self
            .conn
            .execute(
                "UPDATE subscribers SET confirmed_ms = ?2 WHERE confirm_digest = ?1
                 AND confirmed_ms IS NULL AND ended_ms IS NULL AND created_ms >= ?3",
                params![hex(digest), at, not_before],
            )
            .during(context)?;
        if confirmed == 0 {
            return Ok(None);
        }
        let id: i64 = self
            .conn
            .query_row(
                "SELECT id FROM subscribers WHERE confirm_digest = ?1",
                [hex(digest)],
                |row| row.get(0),
            )
            .during(context)?;
        Ok(self.subscribers()?.into_iter().find(|s| s.id == id))
    }

    fn end_subscription(&mut self, unsubscribe: &str, at: Millis) -> Result<bool, StoreError> {
        let context = "ending a subscription";
        let transaction = self.conn.transaction().during(context)?;
        let id: Option<i64> = transaction
            .query_row(
                "UPDATE subscribers SET ended_ms = ?2 WHERE unsubscribe = ?1 AND ended_ms IS NULL
                 RETURNING id",
                params![unsubscribe, at],
                |row| row.get(0),
            )
            .optional()
            .during(context)?;
        if let Some(id) = id {
            transaction
                .execute(
                    "DELETE FROM notifications WHERE channel = ?1
                     AND delivered_ms IS NULL AND dead_ms IS NULL",
                    [crate::subscriber_channel(id)],
                )
                .during(context)?;
        }
        transaction.commit().during(context)?;
        Ok(id.is_some())
    }

    fn subscribers(&mut self) -> Result<Vec<Subscriber>, StoreError> {
        let context = "reading subscribers";
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT id, email, services, created_ms, confirmed_ms, unsubscribe FROM subscribers
                 WHERE ended_ms IS NULL ORDER BY id",
            )
            .during(context)?;
        let mut rows = select.query([]).during(context)?;
        let mut subscribers = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            let services: String = row.get(2).during(context)?;
            subscribers.push(Subscriber {
                id: row.get(0).during(context)?,
                email: row.get(1).during(context)?,
                services: from_json(context, &services)?,
                created_at: row.get(3).during(context)?,
                confirmed_at: row.get(4).during(context)?,
                unsubscribe: row.get(5).during(context)?,
            });
        }
        Ok(subscribers)
    }

    fn put_channel(&mut self, name: &str, body: &str, at: Millis) -> Result<bool, StoreError> {
        let context = "storing a channel";
        let transaction = self.conn.transaction().during(context)?;
        let existed: bool = transaction
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM channels WHERE name = ?1)",
                [name],
                |row| row.get(0),
            )
            .during(context)?;
        transaction
            .execute(
                "INSERT INTO channels (name, body, updated_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                params![name, body, at],
            )
            .during(context)?;
        transaction.commit().during(context)?;
        Ok(!existed)
    }

    fn channels(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let context = "reading channels";
        let mut statement = self
            .conn
            .prepare_cached("SELECT name, body FROM channels ORDER BY name")
            .during(context)?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }

    fn delete_channel(&mut self, name: &str) -> Result<bool, StoreError> {
        let deleted = self
            .conn
            .execute("DELETE FROM channels WHERE name = ?1", [name])
            .during("deleting a channel")?;
        Ok(deleted == 1)
    }

    fn add_maintenance(&mut self, maintenance: &NewMaintenance) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO maintenances (created_ms, created_by, body) VALUES (?1, ?2, ?3)",
                params![
                    maintenance.created_at,
                    maintenance.created_by,
                    maintenance.body
                ],
            )
            .during("adding a maintenance")?;
        Ok(self.conn.last_insert_rowid())
    }

    fn maintenances(&mut self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        let context = "reading maintenances";
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, created_ms, created_by, body FROM maintenances
                 WHERE cancelled_ms IS NULL ORDER BY id",
            )
            .during(context)?;
        let rows = statement
            .query_map([], |row| {
                Ok(MaintenanceRecord {
                    id: row.get(0)?,
                    created_at: row.get(1)?,
                    created_by: row.get(2)?,
                    body: row.get(3)?,
                })
            })
            .during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }

    fn cancel_maintenance(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        let cancelled = self
            .conn
            .execute(
                "UPDATE maintenances SET cancelled_ms = ?2 WHERE id = ?1 AND cancelled_ms IS NULL",
                params![id, at],
            )
            .during("cancelling a maintenance")?;
        Ok(cancelled == 1)
    }

    fn add_operator_update(&mut self, update: &OperatorUpdate) -> Result<i64, StoreError> {
        let body = to_json(update);
        self.conn
            .execute(
                "INSERT INTO operator_updates (incident, at_ms, body) VALUES (?1, ?2, ?3)",
                params![update.incident as i64, update.at, body],
            )
            .during("adding an operator's update")?;
        Ok(self.conn.last_insert_rowid())
    }

    fn operator_updates(
        &mut self,
        since: Millis,
        after: i64,
    ) -> Result<Vec<(i64, OperatorUpdate)>, StoreError> {
        let context = "reading operators' updates";
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, body FROM operator_updates WHERE at_ms >= ?1 AND id > ?2 ORDER BY id",
            )
            .during(context)?;
        let mut rows = statement.query(params![since, after]).during(context)?;
        let mut updates = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            let body: String = row.get(1).during(context)?;
            updates.push((row.get(0).during(context)?, from_json(context, &body)?));
        }
        Ok(updates)
    }

    fn official_readings(&mut self, since: Millis) -> Result<Vec<OfficialRecord>, StoreError> {
        let context = "reading official readings";
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT service, feed, at_ms, status FROM official_readings AS o
                 WHERE at_ms >= ?1 OR at_ms = (
                     SELECT MAX(at_ms) FROM official_readings AS p
                     WHERE p.service = o.service AND p.feed = o.feed AND p.at_ms < ?1)
                 ORDER BY at_ms, id",
            )
            .during(context)?;
        let mut rows = statement.query([since]).during(context)?;
        let mut readings = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            readings.push(official_row(context, row)?);
        }
        Ok(readings)
    }

    fn add_token(&mut self, token: &Token) -> Result<bool, StoreError> {
        let added = self
            .conn
            .execute(
                "INSERT INTO tokens (name, role, digest, created_ms, expires_ms, revoked_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
                params![
                    token.name,
                    token.role.name(),
                    hex(&token.digest),
                    token.created_at,
                    token.expires_at,
                    token.revoked_at,
                ],
            )
            .during("adding a token")?;
        Ok(added == 1)
    }

    fn tokens(&mut self) -> Result<Vec<Token>, StoreError> {
        let context = "reading tokens";
        let mut select = self
            .conn
            .prepare(
                "SELECT name, role, digest, created_ms, expires_ms, revoked_ms
                 FROM tokens ORDER BY name",
            )
            .during(context)?;
        let mut rows = select.query([]).during(context)?;
        let mut tokens = Vec::new();
        while let Some(row) = rows.next().during(context)? {
            let role_name: String = row.get(1).during(context)?;
            let digest: String = row.get(2).during(context)?;
            tokens.push(Token {
                name: row.get(0).during(context)?,
                role: role(context, &role_name)?,
                digest: unhex(context, &digest)?,
                created_at: row.get(3).during(context)?,
                expires_at: row.get(4).during(context)?,
                revoked_at: row.get(5).during(context)?,
            });
        }
        Ok(tokens)
    }

    fn revoke_token(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        let revoked = self
            .conn
            .execute(
                "UPDATE tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
                params![name, at],
            )
            .during("revoking a token")?;
        Ok(revoked == 1)
    }

    fn append(
        &mut self,
        reports: &[StoredReport<'_>],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        let newest = self.recent_reporters(window)?.newest;
        let mut admitted = Vec::new();
        let appended = self.append_counted(reports, window, &mut admitted);
        if appended.is_err() {
            // The index admitted reports that were not stored: take them back. (Building
            // it anew reads days of reports, which, while a full disk fails every commit,
            // would keep the writer busy reading instead of answering.)
            let recent = self.recent.as_mut().expect("built above");
            for (client, service, at) in admitted {
                recent.rule.withdraw(client, service, at);
            }
            recent.newest = newest;
        }
        appended
    }

    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<(), StoreError> {
        let mut select = self
            .conn
            .prepare(&format!(
                "SELECT {REPORT_COLUMNS} FROM reports WHERE at_ms >= ?1 ORDER BY at_ms, id"
            ))
            .during("reading reports")?;
        let mut rows = select.query([since]).during("reading reports")?;
        while let Some(row) = rows.next().during("reading reports")? {
            let (outcome, report) = row_to_report(row)?;
            visit(outcome, report);
        }
        Ok(())
    }

    fn reports_after(
        &mut self,
        cursor: i64,
        limit: usize,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<i64, StoreError> {
        let mut select = self
            .conn
            .prepare_cached(&format!(
                "SELECT {REPORT_COLUMNS} FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .during("reading reports")?;
        let mut rows = select
            .query(params![cursor, limit as i64])
            .during("reading reports")?;
        let mut last = cursor;
        while let Some(row) = rows.next().during("reading reports")? {
            let (outcome, report) = row_to_report(row)?;
            last = outcome.id;
            visit(outcome, report);
        }
        Ok(last)
    }

    fn count(&mut self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
            .during("counting reports")
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .during("reading a setting")
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        ).during("writing a setting")?;
        Ok(())
    }

    fn first_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        let context = "writing a setting";
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                [key, value],
            )
            .during(context)?;
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .during(context)
    }

    fn save_incidents(
        &mut self,
        incidents: &[IncidentRecord],
        events: &[IncidentEventRecord],
    ) -> Result<(), StoreError> {
        let context = "saving incidents";
        let tx = self.conn.transaction().during(context)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO incidents (id, service, state, started_ms, ended_ms, format, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state,
                 started_ms = excluded.started_ms, ended_ms = excluded.ended_ms, format = excluded.format, body = excluded.body",
            ).during(context)?;
            for i in incidents {
                upsert
                    .execute(params![
                        i.id,
                        i.service,
                        i.state,
                        i.started_at,
                        i.ended_at,
                        i.format,
                        i.body
                    ])
                    .during(context)?;
            }
            let mut append = tx
                .prepare_cached(
                    "INSERT INTO incident_events (incident, at_ms, body) VALUES (?1, ?2, ?3)",
                )
                .during(context)?;
            for e in events {
                append
                    .execute(params![e.incident, e.at, e.body])
                    .during(context)?;
            }
        }
        tx.commit().during(context)
    }

    fn incident_event_count(&mut self, id: i64) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM incident_events WHERE incident = ?1",
                [id],
                |r| r.get(0),
            )
            .during("counting an incident's events")
    }

    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError> {
        let context = "reading incidents";
        let mut select = self
            .conn
            .prepare(
                "SELECT id, service, state, started_ms, ended_ms, format, body FROM incidents ORDER BY id",
            )
            .during(context)?;
        let rows = select.query_map([], incident_row).during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }

    fn incident_events_after(
        &mut self,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<IncidentEventRecord>, StoreError> {
        let context = "reading incident events";
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT seq, incident, at_ms, body FROM incident_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .during(context)?;
        let rows = select
            .query_map(params![cursor, limit as i64], |r| {
                Ok(IncidentEventRecord {
                    seq: r.get(0)?,
                    incident: r.get(1)?,
                    at: r.get(2)?,
                    body: r.get(3)?,
                })
            })
            .during(context)?;
        rows.collect::<Result<_, _>>().during(context)
    }
}

impl SqliteStore {
    /// Decides counting and inserts, in one transaction.
    /// Appends `reports`; what the index of recent reporters admits on the way is
    /// pushed to `admitted` (client, service key, time), to be taken back on failure.
    fn append_counted(
        &mut self,
        reports: &[StoredReport<'_>],
        window: Millis,
        admitted: &mut Vec<(u64, u64, Millis)>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let context = "appending reports";
        let recent = self.recent.as_mut().expect("built by the caller");
        let tx = self.conn.transaction().during(context)?;
        // Recent reports are decided by the index in memory, in the order given; older
        // ones against what the database holds around their time.
        let mut counted = vec![false; reports.len()];
        let mut old = Vec::new();
        for (i, r) in reports.iter().enumerate() {
            if r.at >= recent.horizon() {
                let key = service_key(r.service);
                counted[i] = recent.rule.admit_at(r.client, key, r.at);
                if counted[i] {
                    admitted.push((r.client, key, r.at));
                }
            } else {
                old.push(i);
            }
            recent.newest = recent.newest.max(r.at);
        }
        old.sort_by_key(|&i| reports[i].at);
        for span in time_spans(&old, reports) {
            let (first, last) = (reports[span[0]].at, reports[span[span.len() - 1]].at);
            let (from, to) = (first - window, last + window);
            let mut rule = counted_between(&tx, from, to, window)?;
            // What this batch counted so far is not stored yet.
            for (r, _) in reports
                .iter()
                .zip(&counted)
                .filter(|(r, c)| **c && r.at > from && r.at < to)
            {
                rule.admit_at(r.client, service_key(r.service), r.at);
            }
            for &i in span {
                let r = &reports[i];
                counted[i] = rule.admit_at(r.client, service_key(r.service), r.at);
                // Near the horizon, the index in memory must know it too.
                if counted[i]
                    && r.at > recent.horizon().saturating_sub(window)
                    && recent.rule.admit_at(r.client, service_key(r.service), r.at)
                {
                    admitted.push((r.client, service_key(r.service), r.at));
                }
            }
        }
        let mut outcomes = Vec::with_capacity(reports.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO reports (at_ms, received_ms, service, problem, city_geonameid, region, country, client, counted, block)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            ).during(context)?;
            for (r, &counted) in reports.iter().zip(&counted) {
                insert
                    .execute(params![
                        r.at,
                        r.received,
                        r.service,
                        r.problem,
                        r.city_geonameid,
                        r.region,
                        r.country,
                        r.client as i64,
                        counted,
                        r.block as i64,
                    ])
                    .during(context)?;
                outcomes.push(Outcome {
                    id: tx.last_insert_rowid(),
                    counted,
                });
            }
        }
        tx.commit().during(context)?;
        if recent.newest > recent.forgot_at.saturating_add(DAY_MS) {
            recent.rule.forget_before(recent.horizon());
            recent.forgot_at = recent.newest;
        }
        Ok(outcomes)
    }
}

/// `old` (positions in `reports`, in time order) cut into runs of at most a day, so
/// that what is read from the database for each stays bounded.
fn time_spans<'a>(old: &'a [usize], reports: &[StoredReport<'_>]) -> Vec<&'a [usize]> {
    let mut spans = Vec::new();
    let mut rest = old;
    while let Some(&first) = rest.first() {
        let end = reports[first].at.saturating_add(DAY_MS);
        let len = rest.partition_point(|&i| reports[i].at <= end);
        let (span, after) = rest.split_at(len);
        spans.push(span);
        rest = after;
    }
    spans
}

/// The counting rule of the counted reports stored with `from < at < to`.
fn counted_between(
    tx: &Transaction<'_>,
    from: Millis,
    to: Millis,
    window: Millis,
) -> Result<CountingRule, StoreError> {
    let context = "counting old reports";
    let mut select = tx
        .prepare_cached(
            "SELECT client, service, at_ms FROM reports WHERE at_ms > ?1 AND at_ms < ?2 AND counted = 1",
        )
        .during(context)?;
    let mut rows = select.query(params![from, to]).during(context)?;
    let mut rule = CountingRule::new(window);
    while let Some(row) = rows.next().during(context)? {
        let client: i64 = row.get(0).during(context)?;
        let service = row.get_ref(1).during(context)?.as_str().during(context)?;
        rule.admit_at(
            client as u64,
            service_key(service),
            row.get(2).during(context)?,
        );
    }
    Ok(rule)
}

/// A probe result of a row of `service, probe, location, at_ms, attempts, ok,
/// latency_ms, failure_kind, failure, detail`.
fn probe_result_row(
    context: &'static str,
    row: &rusqlite::Row<'_>,
) -> Result<ProbeResult, StoreError> {
    let kind: Option<String> = row.get(7).during(context)?;
    let failure = failure(
        context,
        kind.as_deref(),
        row.get::<_, Option<String>>(8).during(context)?,
    )?;
    let detail: String = row.get(9).during(context)?;
    Ok(ProbeResult {
        service: row.get(0).during(context)?,
        probe: row.get(1).during(context)?,
        location: row.get(2).during(context)?,
        at: row.get(3).during(context)?,
        attempts: row.get(4).during(context)?,
        outcome: ProbeOutcome {
            ok: row.get(5).during(context)?,
            latency_ms: row.get::<_, i64>(6).during(context)? as u64,
            failure,
            detail: from_json(context, &detail)?,
        },
    })
}

/// A post of a row of [`POST_COLUMNS`].
fn post_row(context: &'static str, row: &rusqlite::Row<'_>) -> Result<StoredPost, StoreError> {
    let rules: String = row.get(13).during(context)?;
    Ok(StoredPost {
        id: row.get(0).during(context)?,
        counted: row.get(1).during(context)?,
        post: PostRecord {
            at: row.get(2).during(context)?,
            received: row.get(3).during(context)?,
            source: row.get(4).during(context)?,
            author: row.get::<_, i64>(5).during(context)? as u64,
            author_shown: row.get(6).during(context)?,
            lang: row.get(7).during(context)?,
            city_geonameid: row.get(8).during(context)?,
            text: row.get(9).during(context)?,
            service: row.get(10).during(context)?,
            complaint: row.get(11).during(context)?,
            problem: row.get(12).during(context)?,
            rules: from_json(context, &rules)?,
        },
    })
}

/// An official reading of a row of `service, feed, at_ms, status`.
fn official_row(
    context: &'static str,
    row: &rusqlite::Row<'_>,
) -> Result<OfficialRecord, StoreError> {
    let status: String = row.get(3).during(context)?;
    Ok(OfficialRecord {
        service: row.get(0).during(context)?,
        feed: row.get(1).during(context)?,
        at: row.get(2).during(context)?,
        status: from_json(context, &status)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{self, Database};

    struct TempDatabase(tempfile::TempDir);

    impl Database for TempDatabase {
        fn open(&self) -> Box<dyn Store> {
            Box::new(SqliteStore::open(self.0.path()).unwrap())
        }
    }

    #[test]
    fn keeps_the_store_contract() {
        suite::run(&mut || Box::new(TempDatabase(tempfile::tempdir().unwrap())));
    }

    #[test]
    fn a_schema_from_a_newer_seismo_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("seismo.db")).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        let error = SqliteStore::open(dir.path()).err().expect("refused");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(!error.is_retryable());
    }

    #[test]
    fn a_busy_database_is_unavailable_and_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        store.conn.busy_timeout(std::time::Duration::ZERO).unwrap();
        // Another connection holds the write lock.
        let other = Connection::open(dir.path().join("seismo.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let report = StoredReport {
            at: 0,
            received: 0,
            service: "aws",
            problem: "other",
            city_geonameid: None,
            region: None,
            country: None,
            client: 1,
            block: 1,
        };
        let error = store.append(&[report], 60_000).unwrap_err();
        assert!(error.is_retryable(), "{error}");
        other.execute_batch("ROLLBACK").unwrap();
        assert!(
            store.append(&[report], 60_000).unwrap()[0].counted,
            "the failed append counted nothing"
        );
    }

    #[test]
    fn a_full_disk_fails_commits_without_losing_or_rebuilding_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let report = |client, minute: i64| StoredReport {
            at: 20_000 * DAY_MS + minute * 60_000,
            received: 0,
            service: "aws",
            problem: "other",
            city_geonameid: None,
            region: None,
            country: Some("US"),
            client,
            block: client,
        };
        assert!(store.append(&[report(1, 0)], 3_600_000).unwrap()[0].counted);
        store.set_max_pages(Some(store.pages().unwrap())).unwrap();
        let batch: Vec<_> = (2..2_000).map(|c| report(c, 1)).collect();
        let error = store.append(&batch, 3_600_000).unwrap_err();
        assert!(error.is_retryable(), "a full disk passes: {error}");
        assert!(
            store.recent.is_some(),
            "the index is kept, not read again at the next commit"
        );
        store.set_max_pages(None).unwrap();
        let outcomes = store
            .append(&[report(2, 1), report(1, 30)], 3_600_000)
            .unwrap();
        assert_eq!(
            outcomes.iter().map(|o| o.counted).collect::<Vec<_>>(),
            [true, false],
            "what failed was taken back; what was stored still counts"
        );
        assert_eq!(store.count().unwrap(), 3);
    }

    #[test]
    fn a_report_stored_before_blocks_is_its_own_block() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let report = StoredReport {
            at: 0,
            received: 0,
            service: "aws",
            problem: "other",
            city_geonameid: None,
            region: None,
            country: None,
            client: 77,
            block: 5,
        };
        store.append(&[report], 60_000).unwrap();
        store
            .conn
            .execute("UPDATE reports SET block = NULL", [])
            .unwrap();
        let mut blocks = Vec::new();
        store
            .scan(i64::MIN, &mut |_, r| blocks.push(r.block))
            .unwrap();
        assert_eq!(blocks, [77]);
    }
}
