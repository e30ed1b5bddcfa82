//! What every command that writes reports starts with: catalog, gazetteer, store and
//! the live engine.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use anyhow::Context;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::geoip::GeoIp;
use seismo_core::report::{ReportRules, TimeLimits};
use seismo_core::time::Millis;
use seismo_runtime::{Live, Nodes};
use seismo_store::{Leadership, PostgresStore, SqliteStore, Store, StoreError, WriterConfig};

use seismo::config::Config;

/// How often a node on a shared database tries to take the lead, and, leading, checks
/// that it still holds it: a killed leader is replaced within this and the tick.
const LEAD_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// What every command that writes reports starts with: the catalog, place resolution,
/// the client-hash salt, and the live engine over the store.
pub struct Intake {
    pub catalog: Arc<Catalog>,
    pub gazetteer: &'static Gazetteer,
    pub geoip: Option<Arc<GeoIp>>,
    pub client_salt: u64,
    pub limits: TimeLimits,
    pub live: Arc<Live>,
}

impl Intake {
    /// Opens the store and starts the live engine on it, replaying what the engine and
    /// the series need: the reports of the five weeks (the baseline's memory) and a day
    /// before `now`.
    pub fn open(config: &Config, now: Millis) -> anyhow::Result<Intake> {
        Intake::open_with(config, load_catalog(config)?, now, Nodes::Sole)
    }

    /// The intake of `seismo serve`: on a shared database, with the other nodes (it
    /// campaigns for the lead and reads back every node's reports).
    pub fn serve(config: &Config, catalog: Catalog, now: Millis) -> anyhow::Result<Intake> {
        let nodes = match &config.database {
            Some(url) => Nodes::Shared(Leadership::campaign(url, LEAD_CHECK)?),
            None => Nodes::Sole,
        };
        Intake::open_with(config, catalog, now, nodes)
    }

    /// [`Intake::open`] with a catalog of the caller's, among `nodes`. (An import
    /// among servers is `Nodes::Sole`: it never ticks, so never leads, and its engine
    /// only hears its own reports.)
    fn open_with(
        config: &Config,
        catalog: Catalog,
        now: Millis,
        nodes: Nodes,
    ) -> anyhow::Result<Intake> {
        let catalog = Arc::new(catalog);
        let geoip = match &config.geoip {
            Some(path) => Some(Arc::new(GeoIp::open(path)?)),
            None => None,
        };
        let gazetteer = Gazetteer::embedded();
        let mut store = open_store(config)?;
        let client_salt = salt(&mut *store)?;
        let writer_config = WriterConfig {
            counting_window: config.counting_window_ms(),
            ..WriterConfig::default()
        };
        let live = Live::start_with(
            store,
            catalog.clone(),
            gazetteer,
            config.engine.clone(),
            writer_config,
            now,
            nodes,
        )
        .with_context(|| format!("starting on the store {}", describe(config)))?;
        Ok(Intake {
            catalog,
            gazetteer,
            geoip,
            client_salt,
            limits: config.intake.time(),
            live: Arc::new(live),
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
    pub fn finish(&self) {
        self.live.finish();
    }
}

/// The store the settings name (PostgreSQL when `database` is set, else SQLite in
/// `data`), or an error that says which and what to do.
pub fn open_store(config: &Config) -> anyhow::Result<Box<dyn Store>> {
    let advice = |error: &StoreError, unavailable: &str| {
        match error {
        StoreError::Corrupt { .. } => {
            "it is damaged or not seismo's: restore it from a backup, or move it away to start afresh".to_string()
        }
        _ => unavailable.to_string(),
    }
    };
    match &config.database {
        Some(url) => match PostgresStore::connect(url) {
            Ok(store) => Ok(Box::new(store)),
            Err(error) => {
                let advice = advice(
                    &error,
                    "check that the server runs and the address, user and password are right",
                );
                anyhow::bail!(
                    "cannot open the database {}: {error}; {advice}",
                    describe(config)
                )
            }
        },
        None => match SqliteStore::open(&config.data) {
            Ok(store) => Ok(Box::new(store)),
            Err(error) => {
                let advice = advice(
                    &error,
                    "check that the directory exists, is writable and has free space",
                );
                anyhow::bail!(
                    "cannot open the store {}: {error}; {advice}",
                    describe(config)
                )
            }
        },
    }
}

/// The store the settings name, for logs and errors: never a password.
pub fn describe(config: &Config) -> String {
    match &config.database {
        Some(url) => PostgresStore::describe(url),
        None => config.data.join("seismo.db").display().to_string(),
    }
}

/// The secret salt of client hashes: made once per store, then kept in it (the first
/// node to start on a shared database makes it for all).
pub fn salt(store: &mut dyn Store) -> anyhow::Result<u64> {
    // RandomState is seeded from the operating system's randomness.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos(),
    );
    let fresh = hasher.finish();
    store
        .first_setting("client_salt", &fresh.to_string())?
        .parse()
        .context("the stored client_salt is not a number")
}

/// The wall clock, in epoch milliseconds.
pub fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The catalog the settings name, or the built-in demo catalog.
pub fn load_catalog(config: &Config) -> anyhow::Result<Catalog> {
    Ok(match &config.catalog {
        Some(path) => Catalog::load(path)?,
        None => Catalog::demo(),
    })
}
