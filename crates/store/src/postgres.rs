//! The shared store: one PostgreSQL database that several seismo nodes write at once.
//!
//! What SQLite gets from being written by one process, this store gets from the
//! database: appends hold a transaction-scoped advisory lock, so the counting rule is
//! decided against every node's reports and ids grow in commit order (a cursor misses
//! nothing another node committed). Reports go in by binary `COPY` into a table
//! partitioned by month of `at`, so a year stays quick to query and forgetting a month
//! is dropping its partition.

use std::collections::HashSet;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, Row, Transaction};
use seismo_core::access::{SecretDigest, Session, Token, User};
use seismo_core::operator::OperatorUpdate;
use seismo_core::probe::{Outcome as ProbeOutcome, ProbeResult};
use seismo_core::report::CountingRule;
use seismo_core::time::{DAY_MS, Millis};

use crate::address::Address;
use crate::codec::{corrupt, failure, from_json, hex, month_of, role, service_key, to_json, unhex};
use crate::sqlite::{NOTIFICATION_RETENTION, OFFICIAL_RETENTION, PROBE_RETENTION};
use crate::{
    Attempt, IncidentEventRecord, IncidentRecord, MaintenanceRecord, NewMaintenance,
    NewNotification, NewSilence, NewSubscriber, NotificationRecord, OfficialRecord, Outcome,
    POST_COLUMNS, PostRecord, ProbeQuery, ROLLED_UP_TO, ROLLUP_MS, Rollup, SignalCursor,
    SilenceRecord, Store, StoreError, StoredPost, StoredReport, StoredSignals, Subscriber,
};

/// Advisory locks (`pg_advisory_xact_lock`), the same on every node and apart for each
/// schema (two seismo sites in one database do not wait for each other): appends of
/// reports hold one, migrations another, and writes to the incident outbox and the
/// operators' updates a third, each for one transaction.
const APPEND_LOCK: i32 = 1;
const MIGRATION_LOCK: i32 = 2;
const OUTBOX_LOCK: i32 = 3;
/// Held while probe results, official readings or posts are added, so that their ids
/// grow in commit order and the nodes reading them back by id miss none (and, for
/// posts, so that two nodes never both count one author).
const SIGNALS_LOCK: i32 = 5;
/// Held while reports are rolled up, so that two nodes (a leader and its successor)
/// never add the same reports twice.
const ROLLUP_LOCK: i32 = 6;
/// Takes advisory lock `$1` of the current schema until the transaction ends.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)";

/// Schema changes in order; the one-row table `seismo_schema` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: everything up to several nodes.
    r#"
CREATE TABLE reports (
    id BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    service TEXT NOT NULL,
    problem TEXT NOT NULL,
    city_geonameid BIGINT,
    region TEXT,
    country TEXT,
    client BIGINT NOT NULL,
    block BIGINT NOT NULL,
    counted BOOLEAN NOT NULL
) PARTITION BY RANGE (at_ms);
CREATE TABLE reports_beyond PARTITION OF reports DEFAULT;
CREATE SEQUENCE report_ids;
CREATE INDEX reports_id ON reports (id);
CREATE INDEX reports_at ON reports (at_ms);
CREATE INDEX reports_reporter ON reports (service, client, at_ms) WHERE counted;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE incidents (
    id BIGINT PRIMARY KEY,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    format INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX incidents_service ON incidents (service, started_ms);
CREATE TABLE incident_events (
    seq BIGSERIAL PRIMARY KEY,
    incident BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident);
CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT,
    revoked_ms BIGINT
);
CREATE TABLE probe_results (
    id BIGSERIAL PRIMARY KEY,
    service TEXT NOT NULL,
    probe TEXT NOT NULL,
    location TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    latency_ms BIGINT NOT NULL,
    failure_kind TEXT,
    failure TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX probe_results_service ON probe_results (service, probe, at_ms);
CREATE INDEX probe_results_at ON probe_results (at_ms);
CREATE TABLE official_readings (
    id BIGSERIAL PRIMARY KEY,
    service TEXT NOT NULL,
    feed TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX official_readings_feed ON official_readings (service, feed, at_ms);
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
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
CREATE INDEX notifications_delivered ON notifications (delivered_ms);
CREATE TABLE silences (
    id BIGSERIAL PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX silences_until ON silences (until_ms);
CREATE TABLE operator_updates (
    id BIGSERIAL PRIMARY KEY,
    incident BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX operator_updates_at ON operator_updates (at_ms);
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
CREATE TABLE subscribers (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL,
    services TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    confirm_digest TEXT NOT NULL UNIQUE,
    unsubscribe TEXT NOT NULL UNIQUE,
    confirmed_ms BIGINT,
    ended_ms BIGINT
);
CREATE INDEX subscribers_email ON subscribers (email, created_ms);
CREATE TABLE maintenances (
    id BIGSERIAL PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    body TEXT NOT NULL,
    cancelled_ms BIGINT
);
CREATE TABLE channels (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
"#,
    // 2: the nodes that share the probes of a location; reports rolled up.
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
);
"#,
    // 3: social posts, classified, with the rules that decided.
    r#"
CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    source TEXT NOT NULL,
    author BIGINT NOT NULL,
    author_shown TEXT,
    lang TEXT,
    city_geonameid BIGINT,
    text TEXT NOT NULL,
    service TEXT,
    complaint BOOLEAN NOT NULL,
    problem TEXT,
    rules TEXT NOT NULL,
    counted BOOLEAN NOT NULL
);
CREATE INDEX posts_counted ON posts (author, service, at_ms) WHERE counted;
CREATE INDEX posts_complaints ON posts (service, at_ms) WHERE complaint;
CREATE INDEX posts_at ON posts (at_ms);
"#,
];

/// The columns of a report, in the order of [`report_row`] and of the `COPY`.
pub const REPORT_COLUMNS: &str = "at_ms, received_ms, service, problem, city_geonameid, region, country, client, block, counted, id";

/// The types of [`REPORT_COLUMNS`], for a binary `COPY`.
pub const REPORT_TYPES: [Type; 11] = [
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::BOOL,
    Type::INT8,
];

pub struct PostgresStore {
    address: Address,
    client: Client,
    /// The months (their first millisecond) whose partition of `reports` exists.
    partitions: HashSet<Millis>,
}

/// Names what failed, and tells a passing condition (a lost connection, a server
/// shutting down or out of room, a conflict with another node) from a database that
/// does not hold what seismo expects.
trait Context<T> {
    fn during(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, postgres::Error> {
    fn during(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|error| {
            let passing = match error.code() {
                // No code: the connection or the socket failed.
                None => true,
                Some(code) => {
                    let class = &code.code()[..2];
                    // 08: connection, 53: resources, 57: operator intervention
                    // (shutdown), 40: transaction rollback (serialization, deadlock).
                    matches!(class, "08" | "53" | "57" | "40")
                        || *code == SqlState::LOCK_NOT_AVAILABLE
                        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
                }
            };
            if passing {
                // Why a connection failed is deeper in the chain ("error performing TLS
                // handshake": which certificate, and why).
                let mut message = error.to_string();
                let mut cause = std::error::Error::source(&error);
                while let Some(reason) = cause {
                    let text = reason.to_string();
                    if !message.contains(&text) {
                        message = format!("{message}: {text}");
                    }
                    cause = reason.source();
                }
                StoreError::Unavailable {
                    context,
                    source: message.into(),
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

fn report_row(row: &Row) -> (Outcome, StoredReport<'_>) {
    (
        Outcome {
            id: row.get(10),
            counted: row.get(9),
        },
        StoredReport {
            at: row.get(0),
            received: row.get(1),
            service: row.get(2),
            problem: row.get(3),
            city_geonameid: row.get::<_, Option<i64>>(4).map(|g| g as u32),
            region: row.get(5),
            country: row.get(6),
            client: row.get::<_, i64>(7) as u64,
            block: row.get::<_, i64>(8) as u64,
        },
    )
}

fn incident_row(row: &Row) -> IncidentRecord {
    IncidentRecord {
        id: row.get(0),
        service: row.get(1),
        state: row.get(2),
        started_at: row.get(3),
        ended_at: row.get(4),
        format: row.get::<_, i32>(5) as u32,
        body: row.get(6),
    }
}

fn notification_row(row: &Row) -> NotificationRecord {
    NotificationRecord {
        id: row.get(0),
        channel: row.get(1),
        created_at: row.get(2),
        event: row.get(3),
        body: row.get(4),
        attempts: row.get::<_, i32>(5) as u32,
        next_at: row.get(6),
        delivered_at: row.get(7),
        dead_at: row.get(8),
        last_error: row.get(9),
    }
}

const NOTIFICATION_COLUMNS: &str =
    "id, channel, created_ms, event, body, attempts, next_ms, delivered_ms, dead_ms, last_error";

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user:password@host/db`, or
    /// key=value pairs) and applies pending migrations.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let address = Address::parse(url)?;
        let client = connect(&address)?;
        let mut store = PostgresStore {
            address,
            client,
            partitions: HashSet::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database `url` names, for logs and errors: its user, host, port and
    /// database, never its password.
    pub fn describe(url: &str) -> String {
        let Ok(config) = crate::address::take_root_cert(url).0.parse::<Config>() else {
            return "(an address that does not parse)".into();
        };
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(host, port)| match host {
                postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
            })
            .collect();
        format!(
            "postgres://{}@{}/{}",
            config.get_user().unwrap_or("(default user)"),
            hosts.join(","),
            config.get_dbname().unwrap_or("(default database)")
        )
    }

    /// The connection, made again when the last one was lost (a restarted server, a
    /// failover): the writer's retries then find a working one.
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.is_closed() {
            self.client = connect(&self.address)?;
            self.partitions.clear();
        }
        Ok(&mut self.client)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let context = "migrating";
        let mut tx = self.client()?.transaction().during(context)?;
        // Nodes that start together migrate one after the other.
        tx.execute(LOCK, &[&MIGRATION_LOCK]).during(context)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS seismo_schema (version INTEGER NOT NULL)")
            .during(context)?;
        let applied: Option<i32> = tx
            .query_opt("SELECT version FROM seismo_schema", &[])
            .during(context)?
            .map(|row| row.get(0));
        let applied = applied.unwrap_or(0) as usize;
        if applied > MIGRATIONS.len() {
            return Err(corrupt(
                "reading the schema version",
                format!(
                    "schema version {applied} is newer than this seismo's {}",
                    MIGRATIONS.len()
                ),
            ));
        }
        for sql in &MIGRATIONS[applied..] {
            tx.batch_execute(sql).during(context)?;
        }
        tx.execute("DELETE FROM seismo_schema", &[])
            .during(context)?;
        tx.execute(
            "INSERT INTO seismo_schema (version) VALUES ($1)",
            &[&(MIGRATIONS.len() as i32)],
        )
        .during(context)?;
        tx.commit().during(context)
    }
}

/// A connection that keeps the server's notices ("already exists, skipping") out of the
/// logs; warnings still come through.
fn connect(address: &Address) -> Result<Client, StoreError> {
    let mut client = address.connect().during("connecting")?;
    client
        .batch_execute("SET client_min_messages = warning")
        .during("connecting")?;
    Ok(client)
}

/// Makes the partitions of `reports` that `months` need, in the caller's transaction
/// (which holds the append lock, so no other node makes one at the same time).
fn ensure_partitions(
    tx: &mut Transaction<'_>,
    known: &mut HashSet<Millis>,
    months: impl Iterator<Item = Millis>,
) -> Result<Vec<Millis>, StoreError> {
    let mut made = Vec::new();
    for (start, end) in months.filter_map(month_of) {
        if known.contains(&start) || made.contains(&start) {
            continue;
        }
        // Named by their first millisecond: a name any clock reads back.
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS \"reports_{start}\" PARTITION OF reports
             FOR VALUES FROM ({start}) TO ({end})"
        ))
        .during("making a month's partition of reports")?;
        made.push(start);
    }
    Ok(made)
}

/// The counting rule of the counted reports by the reporters of `reports` that lie
/// within `window` of the batch's time span.
fn counted_near(
    tx: &mut Transaction<'_>,
    reports: &[StoredReport<'_>],
    window: Millis,
) -> Result<CountingRule, StoreError> {
    let context = "counting reports";
    let mut rule = CountingRule::new(window);
    let (Some(first), Some(last)) = (
        reports.iter().map(|r| r.at).min(),
        reports.iter().map(|r| r.at).max(),
    ) else {
        return Ok(rule);
    };
    let services: Vec<&str> = reports.iter().map(|r| r.service).collect();
    let clients: Vec<i64> = reports.iter().map(|r| r.client as i64).collect();
    let rows = tx
        .query(
            "SELECT r.client, r.service, r.at_ms FROM reports AS r
             JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::bigint[])) AS b (service, client)
               ON r.service = b.service AND r.client = b.client
             WHERE r.counted AND r.at_ms > $3 AND r.at_ms < $4",
            &[
                &services,
                &clients,
                &first.saturating_sub(window),
                &last.saturating_add(window),
            ],
        )
        .during(context)?;
    for row in rows {
        let client: i64 = row.get(0);
        let service: &str = row.get(1);
        rule.admit_at(client as u64, service_key(service), row.get(2));
    }
    Ok(rule)
}

impl Store for PostgresStore {
    fn append(
        &mut self,
        reports: &[StoredReport<'_>],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        let context = "appending reports";
        if reports.is_empty() {
            return Ok(Vec::new());
        }
        self.client()?;
        let PostgresStore {
            client, partitions, ..
        } = self;
        let mut tx = client.transaction().during(context)?;
        tx.execute(LOCK, &[&APPEND_LOCK]).during(context)?;
        let made = ensure_partitions(&mut tx, partitions, reports.iter().map(|r| r.at))?;
        let mut rule = counted_near(&mut tx, reports, window)?;
        // Ids taken under the lock: they grow in commit order across nodes.
        let last: i64 = tx
            .query_one(
                "SELECT setval('report_ids', nextval('report_ids') + $1 - 1)",
                &[&(reports.len() as i64)],
            )
            .during(context)?
            .get(0);
        let first = last - reports.len() as i64 + 1;
        let mut outcomes = Vec::with_capacity(reports.len());
        let sink = tx
            .copy_in(&format!(
                "COPY reports ({REPORT_COLUMNS}) FROM STDIN (FORMAT binary)"
            ))
            .during(context)?;
        let mut writer = BinaryCopyInWriter::new(sink, &REPORT_TYPES);
        for (id, r) in (first..).zip(reports) {
            let counted = rule.admit_at(r.client, service_key(r.service), r.at);
            let row: [&(dyn ToSql + Sync); 11] = [
                &r.at,
                &r.received,
                &r.service,
                &r.problem,
                &r.city_geonameid.map(i64::from),
                &r.region,
                &r.country,
                &(r.client as i64),
                &(r.block as i64),
                &counted,
                &id,
            ];
            writer.write(&row).during(context)?;
            outcomes.push(Outcome { id, counted });
        }
        writer.finish().during(context)?;
        tx.commit().during(context)?;
        partitions.extend(made);
        Ok(outcomes)
    }

    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<(), StoreError> {
        let context = "reading reports";
        let client = self.client()?;
        let mut tx = client.transaction().during(context)?;
        // A cursor reads the history in pieces rather than all of it into memory.
        let portal = tx
            .bind(
                &format!(
                    "SELECT {REPORT_COLUMNS} FROM reports WHERE at_ms >= $1 ORDER BY at_ms, id"
                ),
                &[&since],
            )
            .during(context)?;
        loop {
            let rows = tx.query_portal(&portal, 50_000).during(context)?;
            for row in &rows {
                let (outcome, report) = report_row(row);
                visit(outcome, report);
            }
            if rows.len() < 50_000 {
                break;
            }
        }
        tx.commit().during(context)
    }

    fn reports_after(
        &mut self,
        cursor: i64,
        limit: usize,
        visit: &mut dyn FnMut(Outcome, StoredReport<'_>),
    ) -> Result<i64, StoreError> {
        let rows = self
            .client()?
            .query(
                &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&cursor, &(limit.min(i64::MAX as usize) as i64)],
            )
            .during("reading reports")?;
        let mut last = cursor;
        for row in &rows {
            let (outcome, report) = report_row(row);
            last = outcome.id;
            visit(outcome, report);
        }
        Ok(last)
    }

    fn count(&mut self) -> Result<u64, StoreError> {
        let count: i64 = self
            .client()?
            .query_one("SELECT COUNT(*) FROM reports", &[])
            .during("counting reports")?
            .get(0);
        Ok(count as u64)
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .client()?
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
            .during("reading a setting")?
            .map(|row| row.get(0)))
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .during("writing a setting")?;
        Ok(())
    }

    fn first_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        let context = "writing a setting";
        let client = self.client()?;
        client
            .execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )
            .during(context)?;
        Ok(client
            .query_one("SELECT value FROM settings WHERE key = $1", &[&key])
            .during(context)?
            .get(0))
    }

    fn save_incidents(
        &mut self,
        incidents: &[IncidentRecord],
        events: &[IncidentEventRecord],
    ) -> Result<(), StoreError> {
        let context = "saving incidents";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&OUTBOX_LOCK]).during(context)?;
        let upsert = tx
            .prepare(
                "INSERT INTO incidents (id, service, state, started_ms, ended_ms, format, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state,
                 started_ms = excluded.started_ms, ended_ms = excluded.ended_ms,
                 format = excluded.format, body = excluded.body",
            )
            .during(context)?;
        for i in incidents {
            tx.execute(
                &upsert,
                &[
                    &i.id,
                    &i.service,
                    &i.state,
                    &i.started_at,
                    &i.ended_at,
                    &(i.format as i32),
                    &i.body,
                ],
            )
            .during(context)?;
        }
        let append = tx
            .prepare("INSERT INTO incident_events (incident, at_ms, body) VALUES ($1, $2, $3)")
            .during(context)?;
        for e in events {
            tx.execute(&append, &[&e.incident, &e.at, &e.body])
                .during(context)?;
        }
        tx.commit().during(context)
    }

    fn incident_event_count(&mut self, id: i64) -> Result<u64, StoreError> {
        let count: i64 = self
            .client()?
            .query_one(
                "SELECT COUNT(*) FROM incident_events WHERE incident = $1",
                &[&id],
            )
            .during("counting an incident's events")?
            .get(0);
        Ok(count as u64)
    }

    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT id, service, state, started_ms, ended_ms, format, body FROM incidents ORDER BY id",
                &[],
            )
            .during("reading incidents")?;
        Ok(rows.iter().map(incident_row).collect())
    }

    fn incident(&mut self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let row = self
            .client()?
            .query_opt(
                "SELECT id, service, state, started_ms, ended_ms, format, body FROM incidents WHERE id = $1",
                &[&id],
            )
            .during("reading an incident")?;
        Ok(row.as_ref().map(incident_row))
    }

    fn incident_events_after(
        &mut self,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<IncidentEventRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT seq, incident, at_ms, body FROM incident_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&cursor, &(limit.min(i64::MAX as usize) as i64)],
            )
            .during("reading incident events")?;
        Ok(rows
            .iter()
            .map(|row| IncidentEventRecord {
                seq: row.get(0),
                incident: row.get(1),
                at: row.get(2),
                body: row.get(3),
            })
            .collect())
    }

    fn add_token(&mut self, token: &Token) -> Result<bool, StoreError> {
        let added = self
            .client()?
            .execute(
                "INSERT INTO tokens (name, role, digest, created_ms, expires_ms, revoked_ms)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
                &[
                    &token.name,
                    &token.role.name(),
                    &hex(&token.digest),
                    &token.created_at,
                    &token.expires_at,
                    &token.revoked_at,
                ],
            )
            .during("adding a token")?;
        Ok(added == 1)
    }

    fn tokens(&mut self) -> Result<Vec<Token>, StoreError> {
        let context = "reading tokens";
        let rows = self
            .client()?
            .query(
                "SELECT name, role, digest, created_ms, expires_ms, revoked_ms FROM tokens ORDER BY name",
                &[],
            )
            .during(context)?;
        rows.iter()
            .map(|row| {
                Ok(Token {
                    name: row.get(0),
                    role: role(context, row.get(1))?,
                    digest: unhex(context, row.get(2))?,
                    created_at: row.get(3),
                    expires_at: row.get(4),
                    revoked_at: row.get(5),
                })
            })
            .collect()
    }

    fn revoke_token(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        let revoked = self
            .client()?
            .execute(
                "UPDATE tokens SET revoked_ms = $2 WHERE name = $1 AND revoked_ms IS NULL",
                &[&name, &at],
            )
            .during("revoking a token")?;
        Ok(revoked == 1)
    }

    fn add_probe_results(&mut self, results: &[ProbeResult]) -> Result<(), StoreError> {
        let context = "adding probe results";
        let Some(newest) = results.iter().map(|r| r.at).max() else {
            return Ok(());
        };
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&SIGNALS_LOCK]).during(context)?;
        let insert = tx
            .prepare(
                "INSERT INTO probe_results (service, probe, location, at_ms, attempts, ok,
                 latency_ms, failure_kind, failure, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .during(context)?;
        for result in results {
            let outcome = &result.outcome;
            tx.execute(
                &insert,
                &[
                    &result.service,
                    &result.probe,
                    &result.location,
                    &result.at,
                    &i32::from(result.attempts),
                    &outcome.ok,
                    &(outcome.latency_ms as i64),
                    &outcome.failure.as_ref().map(|f| f.kind.as_str()),
                    &outcome.failure.as_ref().map(|f| f.message.as_str()),
                    &to_json(&outcome.detail),
                ],
            )
            .during(context)?;
        }
        tx.execute(
            "DELETE FROM probe_results WHERE at_ms < $1",
            &[&newest.saturating_sub(PROBE_RETENTION)],
        )
        .during(context)?;
        tx.commit().during(context)
    }

    fn probe_results(&mut self, query: &ProbeQuery<'_>) -> Result<Vec<ProbeResult>, StoreError> {
        let context = "reading probe results";
        // The newest `limit`, returned oldest first.
        let rows = self
            .client()?
            .query(
                "SELECT service, probe, location, at_ms, attempts, ok, latency_ms,
                        failure_kind, failure, detail
                 FROM probe_results
                 WHERE service = $1 AND ($2::text IS NULL OR probe = $2)
                   AND ($3::text IS NULL OR location = $3) AND at_ms >= $4
                 ORDER BY at_ms DESC, id DESC LIMIT $5",
                &[
                    &query.service,
                    &query.probe,
                    &query.location,
                    &query.since,
                    &(query.limit.min(i64::MAX as usize) as i64),
                ],
            )
            .during(context)?;
        let mut results = rows
            .iter()
            .map(|row| probe_result_row(context, row))
            .collect::<Result<Vec<_>, StoreError>>()?;
        results.reverse();
        Ok(results)
    }

    fn add_official_reading(&mut self, reading: &OfficialRecord) -> Result<(), StoreError> {
        let context = "adding an official reading";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&SIGNALS_LOCK]).during(context)?;
        tx.execute(
            "INSERT INTO official_readings (service, feed, at_ms, status) VALUES ($1, $2, $3, $4)",
            &[
                &reading.service,
                &reading.feed,
                &reading.at,
                &to_json(&reading.status),
            ],
        )
        .during(context)?;
        tx.execute(
            "DELETE FROM official_readings WHERE service = $1 AND feed = $2 AND at_ms < $3",
            &[
                &reading.service,
                &reading.feed,
                &reading.at.saturating_sub(OFFICIAL_RETENTION),
            ],
        )
        .during(context)?;
        tx.commit().during(context)
    }

    fn official_readings(&mut self, since: Millis) -> Result<Vec<OfficialRecord>, StoreError> {
        let context = "reading official readings";
        let rows = self
            .client()?
            .query(
                "SELECT service, feed, at_ms, status FROM official_readings AS o
                 WHERE at_ms >= $1 OR at_ms = (
                     SELECT MAX(at_ms) FROM official_readings AS p
                     WHERE p.service = o.service AND p.feed = o.feed AND p.at_ms < $1)
                 ORDER BY at_ms, id",
                &[&since],
            )
            .during(context)?;
        rows.iter().map(|row| official_row(context, row)).collect()
    }

    fn roll_up_reports(&mut self, limit: usize) -> Result<usize, StoreError> {
        let context = "rolling up reports";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&ROLLUP_LOCK]).during(context)?;
        let from: i64 = tx
            .query_opt(
                "SELECT value FROM settings WHERE key = $1",
                &[&ROLLED_UP_TO],
            )
            .during(context)?
            .map_or(Ok(0), |row| {
                let value: String = row.get(0);
                value.parse().map_err(|_| corrupt(context, value))
            })?;
        // Ids grow in commit order (the append lock), so none is ever stored below the
        // last one rolled up.
        let batch = tx
            .query_one(
                "SELECT COUNT(*), COALESCE(MAX(id), $1) FROM
                 (SELECT id FROM reports WHERE id > $1 ORDER BY id LIMIT $2) AS batch",
                &[&from, &(limit.min(i64::MAX as usize) as i64)],
            )
            .during(context)?;
        let (read, to): (i64, i64) = (batch.get(0), batch.get(1));
        if read > 0 {
            tx.execute(
                "INSERT INTO report_rollups (service, bucket_ms, problem, count)
                 SELECT service, at_ms - ((at_ms % $3) + $3) % $3, problem, COUNT(*)
                 FROM reports WHERE id > $1 AND id <= $2 AND counted GROUP BY 1, 2, 3
                 ON CONFLICT (service, bucket_ms, problem)
                 DO UPDATE SET count = report_rollups.count + EXCLUDED.count",
                &[&from, &to, &ROLLUP_MS],
            )
            .during(context)?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&ROLLED_UP_TO, &to.to_string()],
            )
            .during(context)?;
        }
        tx.commit().during(context)?;
        Ok(read as usize)
    }

    fn report_rollups(
        &mut self,
        service: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Rollup>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT bucket_ms, problem, count FROM report_rollups
                 WHERE service = $1 AND bucket_ms >= $2 AND bucket_ms < $3
                 ORDER BY bucket_ms, problem",
                &[&service, &from, &to],
            )
            .during("reading roll-ups")?;
        Ok(rows
            .iter()
            .map(|row| Rollup {
                at: row.get(0),
                problem: row.get(1),
                count: row.get::<_, i64>(2) as u64,
            })
            .collect())
    }

    fn forget_reports_before(&mut self, before: Millis) -> Result<(), StoreError> {
        let context = "dropping old reports";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&APPEND_LOCK]).during(context)?;
        let months = tx
            .query(
                "SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'reports'::regclass",
                &[],
            )
            .during(context)?;
        let mut dropped = Vec::new();
        for row in months {
            let name: String = row.get(0);
            let Some(start) = name
                .strip_prefix("reports_")
                .and_then(|s| s.parse::<Millis>().ok())
            else {
                continue;
            };
            if month_of(start).is_some_and(|(_, end)| end <= before) {
                tx.batch_execute(&format!("DROP TABLE \"{name}\""))
                    .during(context)?;
                dropped.push(start);
            }
        }
        tx.execute("DELETE FROM posts WHERE at_ms < $1", &[&before])
            .during(context)?;
        tx.commit().during(context)?;
        for start in &dropped {
            self.partitions.remove(start);
        }
        Ok(())
    }

    fn add_posts(
        &mut self,
        posts: &[PostRecord],
        window: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        let context = "adding posts";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(LOCK, &[&SIGNALS_LOCK]).during(context)?;
        let taken = tx
            .prepare(
                "SELECT EXISTS (SELECT 1 FROM posts WHERE counted AND author = $1
                 AND service = $2 AND at_ms > $3::BIGINT - $4::BIGINT
                 AND at_ms < $3::BIGINT + $4::BIGINT)",
            )
            .during(context)?;
        let insert = tx
            .prepare(
                "INSERT INTO posts (at_ms, received_ms, source, author, author_shown, lang,
                 city_geonameid, text, service, complaint, problem, rules, counted)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .during(context)?;
        let mut outcomes = Vec::with_capacity(posts.len());
        for post in posts {
            let author = post.author as i64;
            let counted = match &post.service {
                Some(service) if post.complaint => !tx
                    .query_one(&taken, &[&author, service, &post.at, &window])
                    .during(context)?
                    .get::<_, bool>(0),
                _ => false,
            };
            let row = tx
                .query_one(
                    &insert,
                    &[
                        &post.at,
                        &post.received,
                        &post.source,
                        &author,
                        &post.author_shown,
                        &post.lang,
                        &post.city_geonameid.map(i64::from),
                        &post.text,
                        &post.service,
                        &post.complaint,
                        &post.problem,
                        &to_json(&post.rules),
                        &counted,
                    ],
                )
                .during(context)?;
            outcomes.push(Outcome {
                id: row.get(0),
                counted,
            });
        }
        tx.commit().during(context)?;
        Ok(outcomes)
    }

    fn post(&mut self, id: i64) -> Result<Option<StoredPost>, StoreError> {
        let context = "reading a post";
        let rows = self
            .client()?
            .query(
                &format!("SELECT {POST_COLUMNS} FROM posts WHERE id = $1"),
                &[&id],
            )
            .during(context)?;
        rows.first().map(|row| post_row(context, row)).transpose()
    }

    fn counted_posts(&mut self, since: Millis) -> Result<Vec<StoredPost>, StoreError> {
        let context = "reading counted posts";
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {POST_COLUMNS} FROM posts WHERE counted AND at_ms >= $1
                     ORDER BY at_ms, id"
                ),
                &[&since],
            )
            .during(context)?;
        rows.iter().map(|row| post_row(context, row)).collect()
    }

    fn recent_complaints(
        &mut self,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoredPost>, StoreError> {
        let context = "reading recent complaints";
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {POST_COLUMNS} FROM posts WHERE complaint AND service = $1
                     ORDER BY at_ms DESC, id DESC LIMIT $2"
                ),
                &[&service, &(limit.min(i64::MAX as usize) as i64)],
            )
            .during(context)?;
        rows.iter().map(|row| post_row(context, row)).collect()
    }

    fn newest_signals(&mut self) -> Result<SignalCursor, StoreError> {
        let row = self
            .client()?
            .query_one(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM probe_results),
                        (SELECT COALESCE(MAX(id), 0) FROM official_readings),
                        (SELECT COALESCE(MAX(id), 0) FROM posts)",
                &[],
            )
            .during("reading where the signals end")?;
        Ok(SignalCursor {
            probe_results: row.get(0),
            official_readings: row.get(1),
            posts: row.get(2),
        })
    }

    fn signals_after(
        &mut self,
        cursor: SignalCursor,
        limit: usize,
    ) -> Result<StoredSignals, StoreError> {
        let context = "reading back the signals";
        let limit = limit.min(i64::MAX as usize) as i64;
        let client = self.client()?;
        let probe_rows = client
            .query(
                "SELECT service, probe, location, at_ms, attempts, ok, latency_ms,
                        failure_kind, failure, detail, id
                 FROM probe_results WHERE id > $1 ORDER BY id LIMIT $2",
                &[&cursor.probe_results, &limit],
            )
            .during(context)?;
        let official_rows = client
            .query(
                "SELECT service, feed, at_ms, status, id FROM official_readings
                 WHERE id > $1 ORDER BY id LIMIT $2",
                &[&cursor.official_readings, &limit],
            )
            .during(context)?;
        let posts = client
            .query(
                &format!("SELECT {POST_COLUMNS} FROM posts WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&cursor.posts, &limit],
            )
            .during(context)?
            .iter()
            .map(|row| post_row(context, row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoredSignals {
            probe_results: probe_rows
                .iter()
                .map(|row| probe_result_row(context, row))
                .collect::<Result<_, _>>()?,
            official_readings: official_rows
                .iter()
                .map(|row| official_row(context, row))
                .collect::<Result<_, _>>()?,
            next: SignalCursor {
                probe_results: probe_rows
                    .last()
                    .map_or(cursor.probe_results, |r| r.get(10)),
                official_readings: official_rows
                    .last()
                    .map_or(cursor.official_readings, |r| r.get(4)),
                posts: posts.last().map_or(cursor.posts, |p| p.id),
            },
            posts,
        })
    }

    fn node_heartbeat(
        &mut self,
        node: &str,
        location: &str,
        at: Millis,
        alive_since: Millis,
    ) -> Result<Vec<String>, StoreError> {
        let context = "noting a node's heartbeat";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(
            "INSERT INTO nodes (name, location, seen_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE
             SET location = $2, seen_ms = GREATEST(nodes.seen_ms, $3)",
            &[&node, &location, &at],
        )
        .during(context)?;
        tx.execute(
            "DELETE FROM nodes WHERE seen_ms < $1",
            &[&at.saturating_sub(DAY_MS)],
        )
        .during(context)?;
        let names = tx
            .query(
                "SELECT name FROM nodes WHERE location = $1 AND seen_ms >= $2 ORDER BY name",
                &[&location, &alive_since],
            )
            .during(context)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        tx.commit().during(context)?;
        Ok(names)
    }

    fn queue_notifications(
        &mut self,
        notifications: &[NewNotification],
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let context = "queueing notifications";
        let mut tx = self.client()?.transaction().during(context)?;
        for n in notifications {
            queue(&mut tx, &n.channel, n).during(context)?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .during(context)?;
        tx.commit().during(context)
    }

    fn due_notifications(
        &mut self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                     WHERE delivered_ms IS NULL AND dead_ms IS NULL AND next_ms <= $1
                     ORDER BY id LIMIT $2"
                ),
                &[&now, &(limit.min(i64::MAX as usize) as i64)],
            )
            .during("reading notifications")?;
        Ok(rows.iter().map(notification_row).collect())
    }

    fn notification_tried(&mut self, id: i64, attempt: &Attempt) -> Result<(), StoreError> {
        let context = "recording a notification's delivery";
        let client = self.client()?;
        match attempt {
            Attempt::Delivered { at } => {
                client
                    .execute(
                        "UPDATE notifications SET attempts = attempts + 1, delivered_ms = $2,
                         last_error = NULL WHERE id = $1",
                        &[&id, at],
                    )
                    .during(context)?;
                client
                    .execute(
                        "DELETE FROM notifications WHERE delivered_ms < $1",
                        &[&at.saturating_sub(NOTIFICATION_RETENTION)],
                    )
                    .during(context)?;
            }
            Attempt::Failed {
                at,
                error,
                retry_at,
            } => {
                client
                    .execute(
                        "UPDATE notifications SET attempts = attempts + 1, last_error = $2,
                         next_ms = COALESCE($3, next_ms),
                         dead_ms = CASE WHEN $3::bigint IS NULL THEN $4::bigint END
                         WHERE id = $1",
                        &[&id, error, retry_at, at],
                    )
                    .during(context)?;
            }
        }
        Ok(())
    }

    fn dead_notifications(&mut self, limit: usize) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                     WHERE dead_ms IS NOT NULL ORDER BY id DESC LIMIT $1"
                ),
                &[&(limit.min(i64::MAX as usize) as i64)],
            )
            .during("reading notifications")?;
        Ok(rows.iter().map(notification_row).collect())
    }

    fn add_silence(&mut self, silence: &NewSilence) -> Result<i64, StoreError> {
        Ok(self
            .client()?
            .query_one(
                "INSERT INTO silences (created_ms, created_by, until_ms, body)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[
                    &silence.created_at,
                    &silence.created_by,
                    &silence.until,
                    &silence.body,
                ],
            )
            .during("adding a silence")?
            .get(0))
    }

    fn silences(&mut self, at: Millis) -> Result<Vec<SilenceRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT id, created_ms, created_by, until_ms, body FROM silences
                 WHERE until_ms > $1 ORDER BY id",
                &[&at],
            )
            .during("reading silences")?;
        Ok(rows
            .iter()
            .map(|row| SilenceRecord {
                id: row.get(0),
                created_at: row.get(1),
                created_by: row.get(2),
                until: row.get(3),
                body: row.get(4),
            })
            .collect())
    }

    fn expire_silence(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        let changed = self
            .client()?
            .execute(
                "UPDATE silences SET until_ms = $2 WHERE id = $1 AND until_ms > $2",
                &[&id, &at],
            )
            .during("expiring a silence")?;
        Ok(changed == 1)
    }

    fn add_user(&mut self, user: &User) -> Result<bool, StoreError> {
        let added = self
            .client()?
            .execute(
                "INSERT INTO users (name, role, password_hash, created_ms, revoked_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                &[
                    &user.name,
                    &user.role.name(),
                    &user.password_hash,
                    &user.created_at,
                    &user.revoked_at,
                ],
            )
            .during("adding a user")?;
        Ok(added == 1)
    }

    fn users(&mut self) -> Result<Vec<User>, StoreError> {
        let context = "reading users";
        let rows = self
            .client()?
            .query(
                "SELECT name, role, password_hash, created_ms, revoked_ms FROM users ORDER BY name",
                &[],
            )
            .during(context)?;
        rows.iter().map(|row| user_row(context, row)).collect()
    }

    fn revoke_user(&mut self, name: &str, at: Millis) -> Result<bool, StoreError> {
        let context = "revoking a user";
        let mut tx = self.client()?.transaction().during(context)?;
        let revoked = tx
            .execute(
                "UPDATE users SET revoked_ms = $2 WHERE name = $1 AND revoked_ms IS NULL",
                &[&name, &at],
            )
            .during(context)?;
        tx.execute("DELETE FROM sessions WHERE username = $1", &[&name])
            .during(context)?;
        tx.commit().during(context)?;
        Ok(revoked == 1)
    }

    fn add_session(&mut self, session: &Session) -> Result<(), StoreError> {
        let context = "adding a session";
        let mut tx = self.client()?.transaction().during(context)?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_ms <= $1",
            &[&session.created_at],
        )
        .during(context)?;
        tx.execute(
            "INSERT INTO sessions (digest, username, csrf, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &hex(&session.digest),
                &session.user,
                &session.csrf,
                &session.created_at,
                &session.expires_at,
            ],
        )
        .during(context)?;
        tx.commit().during(context)
    }

    fn session(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let context = "reading a session";
        let row = self
            .client()?
            .query_opt(
                "SELECT u.name, u.role, u.password_hash, u.created_ms, u.revoked_ms,
                        s.csrf, s.created_ms, s.expires_ms
                 FROM sessions AS s JOIN users AS u ON u.name = s.username
                 WHERE s.digest = $1 AND s.expires_ms > $2 AND u.revoked_ms IS NULL",
                &[&hex(digest), &at],
            )
            .during(context)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_row(context, &row)?;
        Ok(Some((
            Session {
                digest: *digest,
                user: user.name.clone(),
                csrf: row.get(5),
                created_at: row.get(6),
                expires_at: row.get(7),
            },
            user,
        )))
    }

    fn end_session(&mut self, digest: &SecretDigest) -> Result<bool, StoreError> {
        let ended = self
            .client()?
            .execute("DELETE FROM sessions WHERE digest = $1", &[&hex(digest)])
            .during("ending a session")?;
        Ok(ended == 1)
    }

    fn add_subscriber(
        &mut self,
        subscriber: &NewSubscriber,
        confirmation: &NewNotification,
    ) -> Result<i64, StoreError> {
        let context = "adding a subscriber";
        let mut tx = self.client()?.transaction().during(context)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO subscribers (email, services, created_ms, confirm_digest, unsubscribe)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &subscriber.email,
                    &to_json(&subscriber.services),
                    &subscriber.created_at,
                    &hex(&subscriber.confirm_digest),
                    &subscriber.unsubscribe,
                ],
            )
            .during(context)?
            .get(0);
        queue(&mut tx, &crate::subscriber_channel(id), confirmation).during(context)?;
        tx.commit().during(context)?;
        Ok(id)
    }

    fn subscription_requests(
        &mut self,
        email: Option<&str>,
        since: Millis,
    ) -> Result<u64, StoreError> {
        let count: i64 = self
            .client()?
            .query_one(
                "SELECT COUNT(*) FROM subscribers WHERE ($1::text IS NULL OR email = $1) AND created_ms >= $2",
                &[&email, &since],
            )
            .during("counting subscription requests")?
            .get(0);
        Ok(count as u64)
    }

    fn confirm_subscriber(
        &mut self,
        digest: &SecretDigest,
        at: Millis,
        not_before: Millis,
    ) -> Result<Option<Subscriber>, StoreError> {
        let context = "confirming a subscriber";
        let row = self
            .client()?
            .query_opt(
                "UPDATE subscribers SET confirmed_ms = $2 WHERE confirm_digest = $1
                 AND confirmed_ms IS NULL AND ended_ms IS NULL AND created_ms >= $3
                 RETURNING id, email, services, created_ms, confirmed_ms, unsubscribe",
                &[&hex(digest), &at, &not_before],
            )
            .during(context)?;
        row.map(|row| subscriber_row(context, &row)).transpose()
    }

    fn end_subscription(&mut self, unsubscribe: &str, at: Millis) -> Result<bool, StoreError> {
        let context = "ending a subscription";
        let mut tx = self.client()?.transaction().during(context)?;
        let id: Option<i64> = tx
            .query_opt(
                "UPDATE subscribers SET ended_ms = $2 WHERE unsubscribe = $1 AND ended_ms IS NULL
                 RETURNING id",
                &[&unsubscribe, &at],
            )
            .during(context)?
            .map(|row| row.get(0));
        if let Some(id) = id {
            tx.execute(
                "DELETE FROM notifications WHERE channel = $1
                 AND delivered_ms IS NULL AND dead_ms IS NULL",
                &[&crate::subscriber_channel(id)],
            )
            .during(context)?;
        }
        tx.commit().during(context)?;
        Ok(id.is_some())
    }

    fn subscribers(&mut self) -> Result<Vec<Subscriber>, StoreError> {
        let context = "reading subscribers";
        let rows = self
            .client()?
            .query(
                "SELECT id, email, services, created_ms, confirmed_ms, unsubscribe FROM subscribers
                 WHERE ended_ms IS NULL ORDER BY id",
                &[],
            )
            .during(context)?;
        rows.iter()
            .map(|row| subscriber_row(context, row))
            .collect()
    }

    fn put_channel(&mut self, name: &str, body: &str, at: Millis) -> Result<bool, StoreError> {
        // `xmax = 0` only for a row this statement inserted rather than updated.
        let inserted: bool = self
            .client()?
            .query_one(
                "INSERT INTO channels (name, body, updated_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms
                 RETURNING xmax = 0",
                &[&name, &body, &at],
            )
            .during("storing a channel")?
            .get(0);
        Ok(inserted)
    }

    fn channels(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .client()?
            .query("SELECT name, body FROM channels ORDER BY name", &[])
            .during("reading channels")?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn delete_channel(&mut self, name: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client()?
            .execute("DELETE FROM channels WHERE name = $1", &[&name])
            .during("deleting a channel")?;
        Ok(deleted == 1)
    }

    fn add_maintenance(&mut self, maintenance: &NewMaintenance) -> Result<i64, StoreError> {
        Ok(self
            .client()?
            .query_one(
                "INSERT INTO maintenances (created_ms, created_by, body) VALUES ($1, $2, $3) RETURNING id",
                &[
                    &maintenance.created_at,
                    &maintenance.created_by,
                    &maintenance.body,
                ],
            )
            .during("adding a maintenance")?
            .get(0))
    }

    fn maintenances(&mut self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT id, created_ms, created_by, body FROM maintenances
                 WHERE cancelled_ms IS NULL ORDER BY id",
                &[],
            )
            .during("reading maintenances")?;
        Ok(rows
            .iter()
            .map(|row| MaintenanceRecord {
                id: row.get(0),
                created_at: row.get(1),
                created_by: row.get(2),
                body: row.get(3),
            })
            .collect())
    }

    fn cancel_maintenance(&mut self, id: i64, at: Millis) -> Result<bool, StoreError> {
        let cancelled = self
            .client()?
            .execute(
                "UPDATE maintenances SET cancelled_ms = $2 WHERE id = $1 AND cancelled_ms IS NULL",
                &[&id, &at],
            )
            .during("cancelling a maintenance")?;
        Ok(cancelled == 1)
    }

    fn add_operator_update(&mut self, update: &OperatorUpdate) -> Result<i64, StoreError> {
        let context = "adding an operator's update";
        let mut tx = self.client()?.transaction().during(context)?;
        // Ids grow in the order the updates were added, whichever node added them.
        tx.execute(LOCK, &[&OUTBOX_LOCK]).during(context)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO operator_updates (incident, at_ms, body) VALUES ($1, $2, $3) RETURNING id",
                &[&(update.incident as i64), &update.at, &to_json(update)],
            )
            .during(context)?
            .get(0);
        tx.commit().during(context)?;
        Ok(id)
    }

    fn operator_updates(
        &mut self,
        since: Millis,
        after: i64,
    ) -> Result<Vec<(i64, OperatorUpdate)>, StoreError> {
        let context = "reading operators' updates";
        let rows = self
            .client()?
            .query(
                "SELECT id, body FROM operator_updates WHERE at_ms >= $1 AND id > $2 ORDER BY id",
                &[&since, &after],
            )
            .during(context)?;
        rows.iter()
            .map(|row| Ok((row.get(0), from_json(context, row.get(1))?)))
            .collect()
    }
}

/// Queues `notification` for `channel` in the caller's transaction.
fn queue(
    tx: &mut Transaction<'_>,
    channel: &str,
    notification: &NewNotification,
) -> Result<u64, postgres::Error> {
    tx.execute(
        "INSERT INTO notifications (channel, created_ms, event, body, next_ms) VALUES ($1, $2, $3, $4, $2)",
        &[
            &channel,
            &notification.created_at,
            &notification.event,
            &notification.body,
        ],
    )
}

/// A user from a row that starts `name, role, password_hash, created_ms, revoked_ms`.
fn user_row(context: &'static str, row: &Row) -> Result<User, StoreError> {
    Ok(User {
        name: row.get(0),
        role: role(context, row.get(1))?,
        password_hash: row.get(2),
        created_at: row.get(3),
        revoked_at: row.get(4),
    })
}

/// A subscriber from `id, email, services, created_ms, confirmed_ms, unsubscribe`.
fn subscriber_row(context: &'static str, row: &Row) -> Result<Subscriber, StoreError> {
    Ok(Subscriber {
        id: row.get(0),
        email: row.get(1),
        services: from_json(context, row.get(2))?,
        created_at: row.get(3),
        confirmed_at: row.get(4),
        unsubscribe: row.get(5),
    })
}

/// A probe result of a row of `service, probe, location, at_ms, attempts, ok,
/// latency_ms, failure_kind, failure, detail`.
fn probe_result_row(context: &'static str, row: &postgres::Row) -> Result<ProbeResult, StoreError> {
    Ok(ProbeResult {
        service: row.get(0),
        probe: row.get(1),
        location: row.get(2),
        at: row.get(3),
        attempts: row.get::<_, i32>(4) as u8,
        outcome: ProbeOutcome {
            ok: row.get(5),
            latency_ms: row.get::<_, i64>(6) as u64,
            failure: failure(context, row.get(7), row.get(8))?,
            detail: from_json(context, row.get(9))?,
        },
    })
}

/// A post of a row of [`POST_COLUMNS`].
fn post_row(context: &'static str, row: &postgres::Row) -> Result<StoredPost, StoreError> {
    Ok(StoredPost {
        id: row.get(0),
        counted: row.get(1),
        post: PostRecord {
            at: row.get(2),
            received: row.get(3),
            source: row.get(4),
            author: row.get::<_, i64>(5) as u64,
            author_shown: row.get(6),
            lang: row.get(7),
            city_geonameid: row.get::<_, Option<i64>>(8).map(|g| g as u32),
            text: row.get(9),
            service: row.get(10),
            complaint: row.get(11),
            problem: row.get(12),
            rules: from_json(context, row.get(13))?,
        },
    })
}

/// An official reading of a row of `service, feed, at_ms, status`.
fn official_row(context: &'static str, row: &postgres::Row) -> Result<OfficialRecord, StoreError> {
    Ok(OfficialRecord {
        service: row.get(0),
        feed: row.get(1),
        at: row.get(2),
        status: from_json(context, row.get(3))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{self, PostgresSchema};

    #[test]
    fn keeps_the_store_contract() {
        suite::run(&mut || Box::new(PostgresSchema::new()));
    }

    #[test]
    fn keeps_the_contract_of_a_store_that_nodes_share() {
        suite::run_shared(&PostgresSchema::new());
    }

    #[test]
    fn reports_go_to_monthly_partitions_that_are_dropped_whole() {
        let schema = PostgresSchema::new();
        let mut store = PostgresStore::connect(&schema.url()).unwrap();
        let january = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let (start, february) = month_of(january + 21 * 86_400_000).unwrap();
        assert_eq!(start, january);
        assert_eq!(february, 1_769_904_000_000, "2026-02-01");
        let report = |at| StoredReport {
            at,
            received: at,
            service: "aws",
            problem: "email",
            city_geonameid: None,
            region: None,
            country: None,
            client: 1,
            block: 1,
        };
        store
            .append(
                &[report(january + 5), report(february + 5), report(i64::MAX)],
                1,
            )
            .unwrap();
        let partitions = |store: &mut PostgresStore| -> Vec<(String, i64)> {
            let rows = store
                .client
                .query(
                    "SELECT tableoid::regclass::text, COUNT(*) FROM reports GROUP BY 1 ORDER BY 1",
                    &[],
                )
                .unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        assert_eq!(
            partitions(&mut store),
            [
                (format!("reports_{january}"), 1),
                (format!("reports_{february}"), 1),
                ("reports_beyond".to_string(), 1),
            ]
        );
        assert_eq!(store.forget_reports_before(february + 10).unwrap(), ());
        assert_eq!(store.count().unwrap(), 2, "January went as one partition");
        // A new report in a dropped month makes its partition again.
        store.append(&[report(january + 9)], 1).unwrap();
        assert_eq!(store.count().unwrap(), 3);
    }

    /// Whether `store`'s connection is encrypted, as the server sees it.
    fn encrypted(store: &mut PostgresStore) -> bool {
        let client = store.client().unwrap();
        let row = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap();
        row.get(0)
    }

    #[test]
    fn asked_for_tls_the_connection_is_encrypted_and_the_server_verified() {
        let schema = PostgresSchema::new();
        let authority = PostgresSchema::authority();
        let url = format!(
            "{}&sslmode=require&sslrootcert={}",
            schema.url(),
            authority.display()
        );
        let mut store = PostgresStore::connect(&url).unwrap();
        assert!(encrypted(&mut store));
        store.append(&[], 0).unwrap();
        let leadership =
            crate::Leadership::campaign(&url, std::time::Duration::from_millis(50)).unwrap();
        let started = std::time::Instant::now();
        while !leadership.is_leader() {
            assert!(started.elapsed().as_secs() < 10, "leads over TLS");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // The system's authorities do not know the tests' one: refused, not trusted.
        let error = PostgresStore::connect(&format!("{}&sslmode=require", schema.url()))
            .err()
            .expect("an unknown authority is refused")
            .to_string();
        assert!(error.contains("certificate"), "{error}");
        // Without sslmode=require, no TLS.
        let mut plain = PostgresStore::connect(&schema.url()).unwrap();
        assert!(!encrypted(&mut plain));
    }

    #[test]
    fn a_lost_connection_is_retryable_and_the_next_call_connects_again() {
        let schema = PostgresSchema::new();
        let mut store = PostgresStore::connect(&schema.url()).unwrap();
        let mut admin = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
        let pid: i32 = store
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap();
        let error = store.count().expect_err("the connection was ended");
        assert!(error.is_retryable(), "{error}");
        assert_eq!(store.count().unwrap(), 0, "connected again");
    }

    #[test]
    fn one_node_leads_and_another_takes_over_when_its_connection_is_gone() {
        use crate::Leadership;
        use std::time::{Duration, Instant};
        let schema = PostgresSchema::new();
        let every = Duration::from_millis(100);
        let first = Leadership::campaign(&schema.url(), every).unwrap();
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            let started = Instant::now();
            while !done() {
                assert!(started.elapsed() < Duration::from_secs(10), "{what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for("the first node leads", &|| first.is_leader());
        let second = Leadership::campaign(&schema.url(), every).unwrap();
        std::thread::sleep(every * 5);
        assert!(!second.is_leader(), "one leader at a time");
        // Cut the leader's connection, as a killed node's would be.
        schema.cut_the_leaders_connection();
        wait_for("the second node takes over", &|| second.is_leader());
        wait_for("the first steps down", &|| !first.is_leader());
        // The first node's campaign goes on, and waits its turn.
        std::thread::sleep(every * 5);
        assert!(second.is_leader() && !first.is_leader());
    }

    #[test]
    fn a_schema_from_a_newer_seismo_is_refused() {
        let schema = PostgresSchema::new();
        drop(PostgresStore::connect(&schema.url()).unwrap());
        let mut admin = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
        admin
            .execute("UPDATE seismo_schema SET version = version + 1", &[])
            .unwrap();
        let error = PostgresStore::connect(&schema.url())
            .err()
            .expect("refused");
        assert!(!error.is_retryable(), "{error}");
        assert!(error.to_string().contains("newer"), "{error}");
    }
}
