//! The embedded store: one SQLite file in write-ahead-log mode.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use seismo_core::time::Millis;

use crate::{IncidentRecord, Store, StoreError, StoredReport};

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
];

pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating it if needed) `DIR/seismo.db` and applies pending migrations.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join("seismo.db"))?;
        // WAL lets readers run beside the writer; synchronous=FULL makes every commit
        // durable against power loss, not only against a crash of the process. The
        // writer groups reports so that the fsync per commit is shared.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let applied: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn append(&mut self, reports: &[StoredReport<'_>]) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut ids = Vec::with_capacity(reports.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO reports (at_ms, received_ms, service, problem, city_geonameid, region, country, client, counted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in reports {
                insert.execute(params![
                    r.at,
                    r.received,
                    r.service,
                    r.problem,
                    r.city_geonameid,
                    r.region,
                    r.country,
                    r.client as i64,
                    r.counted,
                ])?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    fn scan(
        &mut self,
        since: Millis,
        visit: &mut dyn FnMut(i64, StoredReport<'_>),
    ) -> Result<(), StoreError> {
        let mut select = self.conn.prepare(
            "SELECT at_ms, received_ms, service, problem, city_geonameid, region, country, client, counted, id
             FROM reports WHERE at_ms >= ?1 ORDER BY at_ms, id",
        )?;
        let mut rows = select.query([since])?;
        while let Some(row) = rows.next()? {
            visit(
                row.get(9)?,
                StoredReport {
                    at: row.get(0)?,
                    received: row.get(1)?,
                    service: row.get_ref(2)?.as_str()?,
                    problem: row.get_ref(3)?.as_str()?,
                    city_geonameid: row.get(4)?,
                    region: row.get_ref(5)?.as_str_or_null()?,
                    country: row.get_ref(6)?.as_str_or_null()?,
                    client: row.get::<_, i64>(7)? as u64,
                    counted: row.get(8)?,
                },
            );
        }
        Ok(())
    }

    fn count(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))?)
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn save_incidents(&mut self, incidents: &[IncidentRecord]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO incidents (id, service, state, started_ms, ended_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state,
                 started_ms = excluded.started_ms, ended_ms = excluded.ended_ms, body = excluded.body",
            )?;
            for i in incidents {
                upsert.execute(params![
                    i.id,
                    i.service,
                    i.state,
                    i.started_at,
                    i.ended_at,
                    i.body
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn incidents(&mut self) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut select = self.conn.prepare(
            "SELECT id, service, state, started_ms, ended_ms, body FROM incidents ORDER BY id",
        )?;
        let rows = select.query_map([], |r| {
            Ok(IncidentRecord {
                id: r.get(0)?,
                service: r.get(1)?,
                state: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                body: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at: Millis, service: &'static str) -> StoredReport<'static> {
        StoredReport {
            at,
            received: at + 5,
            service,
            problem: "email",
            city_geonameid: Some(5368361),
            region: Some("CA"),
            country: Some("US"),
            client: u64::MAX - 3,
            counted: true,
        }
    }

    #[test]
    fn appends_and_scans_in_time_order_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = SqliteStore::open(dir.path()).unwrap();
            let ids = store.append(&[report(300, "a"), report(100, "b")]).unwrap();
            assert_eq!(ids.len(), 2);
            assert!(ids[0] < ids[1]);
            let unplaced = StoredReport {
                city_geonameid: None,
                region: None,
                country: None,
                counted: false,
                ..report(200, "c")
            };
            store.append(&[unplaced]).unwrap();
            store.set_setting("salt", "42").unwrap();
            store.set_setting("salt", "43").unwrap();
        }
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.count().unwrap(), 3);
        assert_eq!(store.setting("salt").unwrap().as_deref(), Some("43"));
        assert_eq!(store.setting("nothing").unwrap(), None);
        let incident = |state: &str, ended_at| IncidentRecord {
            id: 7,
            service: "aws".into(),
            state: state.into(),
            started_at: 100,
            ended_at,
            body: format!("{{\"state\":\"{state}\"}}"),
        };
        store
            .save_incidents(&[incident("confirmed", None)])
            .unwrap();
        store
            .save_incidents(&[incident("resolved", Some(900))])
            .unwrap();
        assert_eq!(
            store.incidents().unwrap(),
            [incident("resolved", Some(900))]
        );
        let mut seen = Vec::new();
        store
            .scan(150, &mut |_, r| {
                seen.push((
                    r.at,
                    r.service.to_string(),
                    r.counted,
                    r.country.map(str::to_string),
                    r.client,
                ))
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                (200, "c".into(), false, None, u64::MAX - 3),
                (300, "a".into(), true, Some("US".into()), u64::MAX - 3)
            ]
        );
    }
}
