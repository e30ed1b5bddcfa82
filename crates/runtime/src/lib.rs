//! The live loop of `seismo serve`, as a library that takes a clock: the store's history
//! replayed into the engine at start, committed signals handed to the engine, the engine
//! advanced on every tick, changed incidents and their events stored (the outbox), and
//! readers told.
//!
//! Acknowledging a report never waits for a tick: the writer thread only appends the
//! signals it committed to an inbox (a short lock of its own), and the tick moves them
//! into the engine. The tick is a plain function of the clock's time ([`Ticker::tick`]),
//! so tests drive it with a fake clock and no sleeps.

mod official;
mod operator;
mod posts;
mod probes;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::post::{Classifier, Post};
use seismo_core::probe::ProbeResult;
use seismo_core::signal::Signal;
use seismo_core::time::{DAY_MS, HOUR_MS, MINUTE_MS, Millis, minute_floor};
use seismo_detect::incident::{IncidentId, LogEntry};
use seismo_detect::record::{self, IncidentRecord as Record};
use seismo_detect::view::IncidentView;
use seismo_detect::{Engine, EngineConfig, IncidentEvent, Series};
use seismo_store::{
    Committed, IncidentEventRecord, IncidentRecord, Leadership, OfficialRecord, PostRecord,
    ProbeQuery, SignalCursor, Store, StoreError, StoredPost, Writer, WriterConfig,
};
use tokio_util::sync::CancellationToken;

pub use official::OfficialBoard;
use official::official_signal;
use operator::operator_signal;
pub use operator::{PostError, Posted};
use posts::post_signal;
pub use posts::{PostBoard, RECENT_COMPLAINTS, post_record};
use probes::probe_signal;
pub use probes::{AGENT_DOWN_AFTER_MS, AgentContact, Agents, ProbeBoard};

/// Where "now" comes from: the wall clock when serving, a fake one in tests, a fast one
/// in the demo. Epoch milliseconds.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Days of stored reports replayed at start: the baseline's five weeks and a day.
pub const REPLAY_DAYS: i64 = 36;
/// Reports reach the engine through the writer a moment after their time; a minute is
/// tested only once this much later than its end, so that it is complete.
pub const GRACE_MS: Millis = 15_000;
/// Stored probe runs replayed at start: those of the last day, at most this many of each
/// probe (the newest; a day of a 60-second probe from four places is 5,760).
pub const PROBE_REPLAY_RUNS: usize = 20_000;
/// Report series kept in memory for the API and the pages: by minute for
/// [`SERIES_MINUTES_MS`], then in 15-minute buckets.
pub const SERIES_KEPT_MS: Millis = 8 * DAY_MS;
/// How long the series keeps single minutes.
pub const SERIES_MINUTES_MS: Millis = 2 * DAY_MS;
/// Reports of other nodes read at once from a shared database.
const TAIL_BATCH: usize = 20_000;
/// Reports rolled up in one transaction by [`Live::keep_store`].
const ROLL_UP_BATCH: usize = 100_000;
/// The shortest report retention: the replay at start needs [`REPLAY_DAYS`], and
/// reports are forgotten by whole months.
pub const MIN_REPORT_RETENTION_MS: Millis = (REPLAY_DAYS + 31) * DAY_MS;

/// Who else writes the store.
#[derive(Clone, Debug)]
pub enum Nodes {
    /// Nobody: this node's writer hands its own commits to the engine, and it leads.
    Sole,
    /// Other nodes on one database: every node's engine hears every node's reports by
    /// reading them back from the store (its own too, in the order the database gives
    /// them ids), and only the node that `Leadership` names stores incidents.
    Shared(Leadership),
}

/// Told of every change the engine makes (the web layer clears its caches and sends
/// live events).
pub trait Publisher: Send + Sync {
    fn publish(&self, engine: &Engine, events: &[IncidentEvent]);
}

/// What a running seismo shares: the engine, the report series, the writer, and the
/// stored incidents the engine will not find again.
pub struct Live {
    pub catalog: Arc<Catalog>,
    pub gazetteer: &'static Gazetteer,
    pub engine: Arc<Mutex<Engine>>,
    pub series: Arc<RwLock<Series>>,
    pub writer: Writer,
    /// Stored incidents that began before the replayed days, newest first: the engine
    /// will not find them again, and `/history` still shows them.
    pub archive: Vec<IncidentView>,
    /// The latest result of every probe from every location.
    pub probes: ProbeBoard,
    /// The remote agents heard from since the server started.
    pub agents: Agents,
    /// The latest reading of every official status feed.
    pub official: OfficialBoard,
    /// The newest complaints posted about each service.
    pub posts: PostBoard,
    /// The status line of each reader of a post stream.
    pub connectors: Arc<seismo_core::post::ConnectorBoard>,
    /// Classifies posts for the catalog.
    pub classifier: Classifier,
    /// One report, or post, counts per person, service and window this long.
    counting_window: Millis,
    /// Whether this node stores incidents and notifies (always, alone on its store).
    pub leadership: Leadership,
    /// On a shared database: the id of the last report read back from it. `None` alone
    /// on the store, where the writer hands over its commits.
    tail: Option<Arc<AtomicI64>>,
    /// Where the reading back of operators' updates has got to.
    operator_tail: Mutex<OperatorTail>,
    /// On a shared database: where the reading back of probe results and official
    /// readings has got to.
    signal_tail: Mutex<SignalCursor>,
    /// Reports before this are history the replay had: read back, they are skipped.
    replay_since: Millis,
    /// Signals committed since the last tick.
    inbox: Arc<Mutex<Vec<Signal>>>,
    /// What operators' updates changed since the last tick, to store and publish.
    operator_events: Mutex<Vec<IncidentEvent>>,
    /// Taken by [`Live::finish`].
    writer_thread: Mutex<Option<JoinHandle<()>>>,
}

impl Live {
    /// Reads the archive from `store`, replays its last [`REPLAY_DAYS`] of reports,
    /// official readings, operators' updates and counted posts and its last day of probe
    /// runs before `now` into the engine, in time order and with the data's own time (so
    /// it finds the incidents it found live, with their ids), fills the series and the
    /// boards, and starts the writer.
    pub fn start(
        store: Box<dyn Store>,
        catalog: Arc<Catalog>,
        gazetteer: &'static Gazetteer,
        engine_config: EngineConfig,
        writer_config: WriterConfig,
        now: Millis,
    ) -> Result<Live, StartError> {
        Live::start_with(
            store,
            catalog,
            gazetteer,
            engine_config,
            writer_config,
            now,
            Nodes::Sole,
        )
    }

    /// [`Live::start`] for a store that `nodes` write.
    pub fn start_with(
        mut store: Box<dyn Store>,
        catalog: Arc<Catalog>,
        gazetteer: &'static Gazetteer,
        engine_config: EngineConfig,
        writer_config: WriterConfig,
        now: Millis,
        nodes: Nodes,
    ) -> Result<Live, StartError> {
        let replay_since = now - REPLAY_DAYS * DAY_MS;
        let archive = archived_incidents(&mut *store, replay_since, &catalog, gazetteer)?;
        // Taken before the replay reads them: one stored in between is heard twice,
        // which changes nothing (the engine keeps the newest of each probe and place,
        // and an official status as it is), rather than never.
        let signal_tail = store.newest_signals()?;
        let probes = ProbeBoard::default();
        let official = OfficialBoard::default();
        let mut stored_signals = Vec::new();
        for reading in store.official_readings(replay_since)? {
            official.record_stored(&reading);
            stored_signals.extend(official_signal(&catalog, &reading));
        }
        for stored in store.counted_posts(replay_since)? {
            stored_signals.extend(post_signal(&catalog, &stored));
        }
        let posts = PostBoard::default();
        for service in catalog.services() {
            posts.record(&store.recent_complaints(&service.slug, RECENT_COMPLAINTS)?);
        }
        let mut operator_cursor = 0;
        for (id, update) in store.operator_updates(replay_since, 0)? {
            stored_signals.extend(operator_signal(&catalog, &update));
            operator_cursor = id;
        }
        for service in catalog.services() {
            for probe in &service.probes {
                let last_day = ProbeQuery {
                    probe: Some(&probe.name),
                    ..ProbeQuery::service(&service.slug, now - DAY_MS, PROBE_REPLAY_RUNS)
                };
                let results = store.probe_results(&last_day)?;
                probes.record(&results);
                stored_signals.extend(results.iter().filter_map(|r| probe_signal(&catalog, r)));
            }
        }
        // Stable: signals of one time keep the store's order.
        stored_signals.sort_by_key(Signal::at);
        let mut stored_signals = stored_signals.into_iter().peekable();
        let engine = Arc::new(Mutex::new(Engine::new(
            engine_config,
            catalog.clone(),
            gazetteer,
        )));
        let series = Arc::new(RwLock::new(Series::new(catalog.services().len())));
        let inbox: Arc<Mutex<Vec<Signal>>> = Arc::default();
        let (leadership, tail) = match nodes {
            Nodes::Sole => (Leadership::sole(), None),
            Nodes::Shared(leadership) => (leadership, Some(Arc::new(AtomicI64::new(0)))),
        };
        let on_commit = {
            let (engine, series, inbox) = (engine.clone(), series.clone(), inbox.clone());
            let tail = tail.clone();
            Box::new(move |committed: Committed<'_>| {
                if let Some(tail) = &tail {
                    // Every id up to the newest replayed is in the replay (the database
                    // gives ids in commit order); later ones are read back by the tick,
                    // this node's own included.
                    let newest = committed.outcomes.iter().map(|o| o.id).max();
                    if committed.replay {
                        tail.fetch_max(newest.unwrap_or(0), Ordering::Relaxed);
                    } else {
                        return;
                    }
                }
                let counted = committed
                    .reports
                    .iter()
                    .zip(committed.outcomes)
                    .filter(|(_, outcome)| outcome.counted)
                    .map(|(report, _)| report);
                let mut series = series.write().expect("series lock");
                if committed.replay {
                    // At start, before any tick: history drives the engine's minutes,
                    // the reports, probe runs and official readings merged in time
                    // order.
                    let mut engine = engine.lock().expect("engine lock");
                    for report in counted {
                        series.add(report);
                        while let Some(signal) = stored_signals.next_if(|s| s.at() <= report.at) {
                            engine.replay(&signal);
                        }
                        engine.replay(&Signal::Report(*report));
                    }
                    for signal in stored_signals.by_ref() {
                        engine.replay(&signal);
                    }
                } else {
                    let mut inbox = inbox.lock().expect("inbox lock");
                    for report in counted {
                        series.add(report);
                        inbox.push(Signal::Report(*report));
                    }
                }
            })
        };
        let counting_window = writer_config.counting_window;
        let classifier = Classifier::new(&catalog);
        let (writer, writer_thread) = Writer::start(
            store,
            catalog.clone(),
            gazetteer,
            WriterConfig {
                replay_since,
                ..writer_config
            },
            on_commit,
        )?;
        Ok(Live {
            catalog,
            gazetteer,
            engine,
            series,
            writer,
            archive,
            probes,
            agents: Agents::default(),
            official,
            posts,
            connectors: Arc::default(),
            classifier,
            counting_window,
            leadership,
            tail,
            operator_tail: Mutex::new(OperatorTail {
                heard_to: operator_cursor,
                taken_here: Default::default(),
            }),
            signal_tail: Mutex::new(signal_tail),
            replay_since,
            inbox,
            operator_events: Mutex::default(),
            writer_thread: Mutex::new(Some(writer_thread)),
        })
    }

    /// Stores probe results (from this node's probes or an agent's) and, once they are
    /// durable, shows them and hands them to the engine. Results of a probe the catalog
    /// does not declare are stored and shown, never heard by the engine.
    pub async fn record_probe_results(
        &self,
        results: Vec<ProbeResult>,
    ) -> Result<(), Arc<StoreError>> {
        self.writer.save_probe_results(results.clone()).await?;
        for result in &results {
            let outcome = if result.outcome.ok { "ok" } else { "failed" };
            metrics::counter!("seismo_probe_runs_total", "outcome" => outcome).increment(1);
        }
        self.probes.record(&results);
        if !self.is_shared() {
            // Shared, every node's engine hears them as they are read back.
            let signals = results
                .iter()
                .filter_map(|r| probe_signal(&self.catalog, r));
            self.inbox.lock().expect("inbox lock").extend(signals);
        }
        Ok(())
    }

    /// Stores what `service`'s official feed `feed` said at `at` when it changed and,
    /// once it is durable, hands it to the engine.
    pub async fn record_official(
        &self,
        service: &str,
        feed: &str,
        at: Millis,
        status: seismo_core::official::OfficialStatus,
    ) -> Result<(), Arc<StoreError>> {
        let record = OfficialRecord {
            service: service.to_string(),
            feed: feed.to_string(),
            at,
            status,
        };
        let signal = official_signal(&self.catalog, &record);
        self.writer.save_official_reading(record).await?;
        if !self.is_shared() {
            self.inbox.lock().expect("inbox lock").extend(signal);
        }
        Ok(())
    }

    /// Stores classified posts and decides which count (once per author, service and
    /// counting window); once they are durable, shows the complaints and hands the
    /// counted ones to the engine. Returns them as stored, in the order given.
    pub async fn record_posts(&self, posts: Vec<Post>) -> Result<Vec<StoredPost>, Arc<StoreError>> {
        let records: Vec<PostRecord> = posts
            .iter()
            .map(|p| post_record(&self.catalog, self.gazetteer, p))
            .collect();
        let window = self.counting_window;
        let (records, outcomes) = self
            .writer
            .read(move |store| {
                let outcomes = store.add_posts(&records, window)?;
                Ok((records, outcomes))
            })
            .await?;
        let stored: Vec<StoredPost> = records
            .into_iter()
            .zip(outcomes)
            .map(|(post, outcome)| StoredPost {
                id: outcome.id,
                counted: outcome.counted,
                post,
            })
            .collect();
        for post in &posts {
            metrics::counter!("seismo_posts_accepted_total", "source" => post.source.as_str())
                .increment(1);
        }
        self.posts.record(&stored);
        if !self.is_shared() {
            let signals = stored.iter().filter_map(|p| post_signal(&self.catalog, p));
            self.inbox.lock().expect("inbox lock").extend(signals);
        }
        Ok(stored)
    }

    /// The store's upkeep, on the leader (elsewhere it does nothing): rolls up the
    /// reports stored since the last call into 15-minute buckets, then forgets the
    /// reports of months that ended more than `retention` before `now` (at least
    /// [`MIN_REPORT_RETENTION_MS`]). Returns how many reports it rolled up.
    pub async fn keep_store(
        &self,
        now: Millis,
        retention: Millis,
    ) -> Result<usize, Arc<StoreError>> {
        if !self.leadership.is_leader() {
            return Ok(0);
        }
        let mut rolled = 0;
        loop {
            let read = self
                .writer
                .read(|store| store.roll_up_reports(ROLL_UP_BATCH))
                .await?;
            rolled += read;
            if read < ROLL_UP_BATCH {
                break;
            }
        }
        let before = now - retention.max(MIN_REPORT_RETENTION_MS);
        self.writer
            .read(move |store| store.forget_reports_before(before))
            .await?;
        Ok(rolled)
    }

    /// Whether other nodes write the store too.
    pub fn is_shared(&self) -> bool {
        self.tail.is_some()
    }

    /// On a shared database: reads back what every node stored since the last call
    /// (reports, probe results, official readings, operators' updates), shows it, and
    /// hands it to the engine's inbox (reports: the counted ones, to the series too).
    /// Alone on the store it does nothing (the writer hands them over). Returns how
    /// many reports it read.
    pub async fn read_back(&self) -> Result<usize, Arc<StoreError>> {
        let Some(tail) = &self.tail else {
            return Ok(0);
        };
        let mut read = 0;
        // Reports first, then operators' updates: an update that answers reports is
        // heard after them, as in the order the leader took them.
        loop {
            let cursor = tail.load(Ordering::Relaxed);
            let (catalog, gazetteer) = (self.catalog.clone(), self.gazetteer);
            let since = self.replay_since;
            let (next, visited, reports) = self
                .writer
                .read(move |store| {
                    let (mut visited, mut reports) = (0, Vec::new());
                    let next =
                        store.reports_after(cursor, TAIL_BATCH, &mut |outcome, stored| {
                            visited += 1;
                            if outcome.counted && stored.at >= since {
                                reports.extend(stored.to_report(&catalog, gazetteer));
                            }
                        })?;
                    Ok((next, visited, reports))
                })
                .await?;
            tail.store(next, Ordering::Relaxed);
            read += visited;
            {
                let mut series = self.series.write().expect("series lock");
                let mut inbox = self.inbox.lock().expect("inbox lock");
                for report in &reports {
                    series.add(report);
                    inbox.push(Signal::Report(*report));
                }
            }
            if visited < TAIL_BATCH {
                break;
            }
        }
        self.read_back_signals().await?;
        // Operators' updates the leader took: heard here as a replay would hear them.
        let cursor = self
            .operator_tail
            .lock()
            .expect("operator tail lock")
            .heard_to;
        let since = self.replay_since;
        let updates = self
            .writer
            .read(move |store| store.operator_updates(since, cursor))
            .await?;
        let mut operator_tail = self.operator_tail.lock().expect("operator tail lock");
        let mut inbox = self.inbox.lock().expect("inbox lock");
        for (id, update) in updates {
            operator_tail.heard_to = operator_tail.heard_to.max(id);
            if !operator_tail.taken_here.remove(&id) {
                inbox.extend(operator_signal(&self.catalog, &update));
            }
        }
        Ok(read)
    }

    /// Reads back the probe results and official readings stored since the last call.
    async fn read_back_signals(&self) -> Result<(), Arc<StoreError>> {
        loop {
            let cursor = *self.signal_tail.lock().expect("signal tail lock");
            let read = self
                .writer
                .read(move |store| store.signals_after(cursor, TAIL_BATCH))
                .await?;
            *self.signal_tail.lock().expect("signal tail lock") = read.next;
            self.probes.record(&read.probe_results);
            for reading in &read.official_readings {
                self.official.record_stored(reading);
            }
            self.posts.record(&read.posts);
            let more = read.filled(TAIL_BATCH);
            let mut inbox = self.inbox.lock().expect("inbox lock");
            inbox.extend(
                read.probe_results
                    .iter()
                    .filter_map(|r| probe_signal(&self.catalog, r)),
            );
            inbox.extend(
                read.official_readings
                    .iter()
                    .filter_map(|r| official_signal(&self.catalog, r)),
            );
            inbox.extend(
                read.posts
                    .iter()
                    .filter_map(|p| post_signal(&self.catalog, p)),
            );
            if !more {
                return Ok(());
            }
        }
    }

    /// The changes of the engine's incidents `stored` (id, events the outbox holds)
    /// that the outbox lacks: those a node found and did not store before it stopped,
    /// or before another took over.
    fn unstored_events(&self, stored: &[(i64, u64)]) -> Vec<IncidentEventRecord> {
        let engine = self.engine.lock().expect("engine lock");
        stored
            .iter()
            .filter_map(|&(id, count)| {
                let incident = engine.incident(IncidentId(id as u64))?;
                Some(
                    incident
                        .log
                        .iter()
                        .skip(count as usize)
                        .map(move |entry| outbox_record(incident.id, entry)),
                )
            })
            .flatten()
            .collect()
    }

    /// Waits until every report submitted so far is committed, and stops the writer
    /// (submissions from other handles fail from then on). Blocks: call it outside the
    /// async runtime.
    pub fn finish(&self) {
        self.writer.stop();
        if let Some(thread) = self.writer_thread.lock().expect("writer thread").take() {
            let _ = thread.join();
        }
    }

    /// Moves the committed signals into the engine and advances it to `now`; returns
    /// what changed, with the records to store. The signals go in as the replay at
    /// start puts them (each after the ticks up to its minute), so live serving and a
    /// restart find the same incidents at the same minutes; a signal of a minute not
    /// yet tested waits in the inbox for its tick.
    fn advance(&self, now: Millis, store_all: bool) -> Changes {
        let next_minute = minute_floor(now) + MINUTE_MS;
        let mut signals = {
            let mut inbox = self.inbox.lock().expect("inbox lock");
            let (due, later) = std::mem::take(&mut *inbox)
                .into_iter()
                .partition(|s: &Signal| s.at() < next_minute);
            *inbox = later;
            due
        };
        signals.sort_by_key(Signal::at);
        let mut engine = self.engine.lock().expect("engine lock");
        let mut events =
            std::mem::take(&mut *self.operator_events.lock().expect("operator events lock"));
        for signal in &signals {
            events.extend(engine.replay(signal));
        }
        events.extend(engine.advance_to(now));
        let incidents = engine
            .incidents()
            .iter()
            .filter(|i| {
                store_all || i.state.is_active() || events.iter().any(|e| e.incident == i.id)
            })
            .map(|i| {
                let record = Record::new(i, &self.catalog, self.gazetteer);
                IncidentRecord {
                    id: i.id.0 as i64,
                    service: record.service.clone(),
                    state: i.state.as_str().to_string(),
                    started_at: i.started_at,
                    ended_at: i.ended_at,
                    format: record::FORMAT,
                    body: serde_json::to_string(&record).expect("incidents serialise"),
                }
            })
            .collect();
        let outbox = events
            .iter()
            .map(|e| outbox_record(e.incident, &e.entry))
            .collect();
        Changes {
            events,
            incidents,
            outbox,
        }
    }
}

/// The operators' updates a node has heard.
struct OperatorTail {
    /// The id of the last one heard (replayed, taken here or read back).
    heard_to: i64,
    /// Those this node took itself, and its engine heard as they came: read back, they
    /// are not heard twice.
    taken_here: std::collections::HashSet<i64>,
}

/// A change of an incident as the outbox keeps it.
fn outbox_record(incident: IncidentId, entry: &LogEntry) -> IncidentEventRecord {
    IncidentEventRecord {
        seq: 0,
        incident: incident.0 as i64,
        at: entry.at,
        body: serde_json::to_string(entry).expect("changes serialise"),
    }
}

struct Changes {
    events: Vec<IncidentEvent>,
    incidents: Vec<IncidentRecord>,
    outbox: Vec<IncidentEventRecord>,
}

/// Why [`Live::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored incident {id}: {source}")]
    Incident {
        id: i64,
        source: record::DecodeError,
    },
}

/// Incidents of the store that started before `replay_since`, newest first.
fn archived_incidents(
    store: &mut dyn Store,
    replay_since: Millis,
    catalog: &Catalog,
    gazetteer: &Gazetteer,
) -> Result<Vec<IncidentView>, StartError> {
    let mut archive = Vec::new();
    for stored in store.incidents()? {
        if stored.started_at >= replay_since {
            continue;
        }
        let view = IncidentView::decode(stored.format, &stored.body, catalog, gazetteer).map_err(
            |source| StartError::Incident {
                id: stored.id,
                source,
            },
        )?;
        archive.push(view);
    }
    archive.sort_by_key(|v| std::cmp::Reverse(v.id));
    Ok(archive)
}

/// Keeps the store (see [`Live::keep_store`]) every `every`, the first time at once,
/// until `stop` is cancelled.
pub async fn keep_store(
    live: Arc<Live>,
    clock: Clock,
    retention: Millis,
    every: Duration,
    stop: CancellationToken,
) {
    let mut interval = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = stop.cancelled() => return,
        }
        match live.keep_store(clock(), retention).await {
            Ok(rolled) => tracing::debug!(rolled, "store kept"),
            Err(error) => tracing::error!(%error, "cannot roll up or forget old reports"),
        }
    }
}

/// Advances the engine on the clock, stores what changed, and tells the publisher.
pub struct Ticker {
    live: Arc<Live>,
    clock: Clock,
    publisher: Arc<dyn Publisher>,
    /// The first tick as leader stores every incident (those the replay found
    /// included), and the changes of them that the outbox lacks.
    stored_once: bool,
    series_trimmed_at: Millis,
    /// Incident records and events whose saving failed: tried again with the next.
    unsaved: (Vec<IncidentRecord>, Vec<IncidentEventRecord>),
}

impl Ticker {
    pub fn new(live: Arc<Live>, clock: Clock, publisher: Arc<dyn Publisher>) -> Ticker {
        Ticker {
            live,
            clock,
            publisher,
            stored_once: false,
            series_trimmed_at: Millis::MIN,
            unsaved: Default::default(),
        }
    }

    /// One tick at the clock's time: every minute that ended [`GRACE_MS`] ago is
    /// tested; the changes are published, and the incidents that changed and their
    /// events stored in one transaction (with any that failed to save before). Returns
    /// the events; on a store error the records are kept and saved with the next tick.
    pub async fn tick(&mut self) -> Result<Vec<IncidentEvent>, Arc<StoreError>> {
        self.live.read_back().await?;
        let now = (self.clock)();
        let trim = now.saturating_sub(self.series_trimmed_at) >= HOUR_MS;
        if trim {
            self.series_trimmed_at = now;
        }
        let store_all = !std::mem::replace(&mut self.stored_once, true);
        let live = self.live.clone();
        let started = std::time::Instant::now();
        let changes = tokio::task::spawn_blocking(move || {
            if trim {
                let mut series = live.series.write().expect("series lock");
                series.forget_before(now - SERIES_KEPT_MS);
                series.roll_up_before(now - SERIES_MINUTES_MS);
            }
            live.advance(now - GRACE_MS, store_all)
        })
        .await
        .expect("the engine does not panic");
        metrics::histogram!("seismo_engine_tick_seconds").record(started.elapsed());
        for event in &changes.events {
            tracing::info!(incident = event.incident.0, change = ?event.entry.change, "incident");
        }
        if !changes.events.is_empty() {
            let engine = self.live.engine.lock().expect("engine lock");
            self.publisher.publish(&engine, &changes.events);
        }
        if !self.live.leadership.is_leader() {
            // The leader stores them. On taking over, the first tick compares every
            // incident with the store and stores what the leader had not.
            self.stored_once = false;
            self.unsaved = Default::default();
            return Ok(changes.events);
        }
        let mut outbox = changes.outbox;
        if store_all {
            let ids: Vec<i64> = changes.incidents.iter().map(|i| i.id).collect();
            let stored = self
                .live
                .writer
                .read(move |store| {
                    ids.into_iter()
                        .map(|id| Ok((id, store.incident_event_count(id)?)))
                        .collect::<Result<Vec<_>, StoreError>>()
                })
                .await;
            match stored {
                // This tick's events are in the engine's log too: all are here.
                Ok(stored) => outbox = self.live.unstored_events(&stored),
                Err(error) => {
                    self.stored_once = false;
                    return Err(error);
                }
            }
        }
        self.unsaved.0.extend(changes.incidents);
        self.unsaved.1.extend(outbox);
        if !self.unsaved.0.is_empty() || !self.unsaved.1.is_empty() {
            let (incidents, outbox) = std::mem::take(&mut self.unsaved);
            let saved = self
                .live
                .writer
                .save_incidents(incidents.clone(), outbox.clone())
                .await;
            if let Err(error) = saved {
                self.unsaved = (incidents, outbox);
                return Err(error);
            }
        }
        Ok(changes.events)
    }

    /// Ticks every `every` until `stop` is cancelled.
    pub async fn run(mut self, every: Duration, stop: CancellationToken) {
        let mut interval = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = stop.cancelled() => return,
            }
            if let Err(error) = self.tick().await {
                tracing::error!(%error, "cannot store incidents");
            }
        }
    }
}
