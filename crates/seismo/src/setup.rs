//! What every command starts with: catalog, gazetteer, store, writer and series.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use anyhow::Context;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::geoip::GeoIp;
use seismo_core::report::{ReportRules, TimeLimits};
use seismo_core::signal::Signal;
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_detect::view::IncidentView;
use seismo_detect::{Engine, EngineConfig, Series};
use seismo_store::{SqliteStore, Store, Writer, WriterConfig};

use crate::Common;

/// Days of stored reports replayed at start: the baseline's five weeks and a day.
const REPLAY_DAYS: i64 = 36;

pub struct Intake {
    pub catalog: Arc<Catalog>,
    pub gazetteer: &'static Gazetteer,
    pub geoip: Option<Arc<GeoIp>>,
    pub series: Arc<RwLock<Series>>,
    pub engine: Arc<Mutex<Engine>>,
    pub writer: Writer,
    pub writer_thread: JoinHandle<()>,
    pub client_salt: u64,
    pub limits: TimeLimits,
    /// Stored incidents that began before the replayed days, newest first: the engine
    /// will not find them again, and `/history` still shows them.
    pub archive: Vec<IncidentView>,
}

impl Intake {
    /// Opens the store and replays what the engine and the series need of it: the
    /// reports of the five weeks (the baseline's memory) and a day before `now`.
    pub fn open(common: &Common, now: Millis) -> anyhow::Result<Intake> {
        let catalog = Arc::new(match &common.catalog {
            Some(path) => Catalog::load(path)?,
            None => Catalog::demo(),
        });
        let geoip = match &common.geoip {
            Some(path) => Some(Arc::new(GeoIp::open(path)?)),
            None => None,
        };
        let gazetteer = Gazetteer::embedded();
        let mut store = SqliteStore::open(&common.data)
            .with_context(|| format!("opening the store in {}", common.data.display()))?;
        let client_salt = salt(&mut store)?;
        let archive = archived_incidents(&mut store, now - REPLAY_DAYS * DAY_MS)?;
        let series = Arc::new(RwLock::new(Series::new(catalog.services().len())));
        let engine_config = match &common.engine {
            Some(path) => crate::detect::load_engine_config(path)?,
            None => EngineConfig::default(),
        };
        let engine = Arc::new(Mutex::new(Engine::new(
            engine_config,
            catalog.clone(),
            gazetteer,
        )));
        // Counted reports feed the series and the engine. Replayed history drives the
        // engine's minute ticks with its own time; new reports wait for the ticker.
        let on_commit = {
            let (series, engine) = (series.clone(), engine.clone());
            Box::new(move |committed: seismo_store::Committed<'_>| {
                let mut series = series.write().expect("series lock");
                let mut engine = engine.lock().expect("engine lock");
                for (report, outcome) in committed.reports.iter().zip(committed.outcomes) {
                    if outcome.counted {
                        series.add(report);
                        let signal = Signal::Report(*report);
                        if committed.replay {
                            engine.replay(&signal);
                        } else {
                            engine.observe(&signal);
                        }
                    }
                }
            })
        };
        let config = WriterConfig {
            counting_window: common.counting_window_minutes * MINUTE_MS,
            replay_since: now - REPLAY_DAYS * DAY_MS,
            ..WriterConfig::default()
        };
        let (writer, writer_thread) = Writer::start(
            Box::new(store),
            catalog.clone(),
            gazetteer,
            config,
            on_commit,
        )?;
        Ok(Intake {
            catalog,
            gazetteer,
            geoip,
            series,
            engine,
            writer,
            writer_thread,
            client_salt,
            limits: TimeLimits::default(),
            archive,
        })
    }

    pub fn rules(&self) -> ReportRules<'_> {
        ReportRules {
            catalog: &self.catalog,
            gazetteer: self.gazetteer,
            geoip: self.geoip.as_deref(),
            limits: self.limits,
            client_salt: self.client_salt,
        }
    }

    /// Waits until every report submitted so far is committed, and stops the writer
    /// (submissions from other handles fail from then on).
    pub fn finish(self) {
        self.writer.stop();
        let _ = self.writer_thread.join();
    }
}

/// The secret salt of client hashes: made once per store, then kept in it.
pub fn salt(store: &mut SqliteStore) -> anyhow::Result<u64> {
    if let Some(value) = store.setting("client_salt")? {
        return value
            .parse()
            .context("the stored client_salt is not a number");
    }
    // RandomState is seeded from the operating system's randomness.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos(),
    );
    let salt = hasher.finish();
    store.set_setting("client_salt", &salt.to_string())?;
    Ok(salt)
}

/// The wall clock, in epoch milliseconds.
pub fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Parses TOML `text` into `T`; errors name `name` and the line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
        anyhow::anyhow!("{name}:{line}: {}", e.message())
    })
}

/// Incidents of the store that started before `replay_since`, newest first.
fn archived_incidents(
    store: &mut SqliteStore,
    replay_since: Millis,
) -> anyhow::Result<Vec<IncidentView>> {
    let mut archive = Vec::new();
    for record in store.incidents()? {
        if record.started_at >= replay_since {
            continue;
        }
        let view: IncidentView = serde_json::from_str(&record.body)
            .with_context(|| format!("stored incident {} is not an incident", record.id))?;
        archive.push(view);
    }
    archive.sort_by_key(|v| std::cmp::Reverse(v.id));
    Ok(archive)
}
