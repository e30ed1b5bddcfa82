//! The single writer: it commits reports in groups (the store decides in the same
//! transaction which count) and acknowledges each report only after the transaction
//! holding it committed.
//!
//! Many callers submit at once; whatever is queued when the writer is free goes into
//! the next transaction, so under load one fsync serves thousands of reports while a
//! lone report still commits at once.

use std::sync::Arc;
use std::thread::JoinHandle;

use seismo_core::access::Token;
use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::probe::ProbeResult;
use seismo_core::report::{CountingRule, Report};
use seismo_core::time::Millis;
use tokio::sync::{mpsc, oneshot};

use crate::{IncidentEventRecord, IncidentRecord, Outcome, Store, StoreError, StoredReport};

#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// At most this many reports go into one transaction.
    pub max_batch: usize,
    /// Submissions that may wait for the writer before submitters wait too.
    pub queue: usize,
    /// The counting window (one report per client, service and window).
    pub counting_window: Millis,
    /// At start, reports with `at` at or after this are replayed to the observer to
    /// rebuild in-memory state.
    pub replay_since: Millis,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_batch: 20_000,
            queue: 1024,
            counting_window: CountingRule::DEFAULT_WINDOW,
            replay_since: Millis::MIN,
        }
    }
}

/// Reports that are durable now, with their outcomes, in commit order.
pub struct Committed<'a> {
    pub reports: &'a [Report],
    pub outcomes: &'a [Outcome],
    /// True for the reports already stored, replayed in time order at start; false
    /// for new ones.
    pub replay: bool,
}

/// A read to run on the writer's connection.
type ReadJob = Box<dyn FnOnce(&mut dyn Store) + Send>;

type Reply = oneshot::Sender<Result<Vec<Outcome>, Arc<StoreError>>>;

struct Job {
    reports: Vec<Report>,
    reply: Reply,
}

enum Message {
    Reports(Job),
    Incidents(
        Vec<IncidentRecord>,
        Vec<IncidentEventRecord>,
        oneshot::Sender<Result<(), Arc<StoreError>>>,
    ),
    ProbeResults(
        Vec<ProbeResult>,
        oneshot::Sender<Result<(), Arc<StoreError>>>,
    ),
    /// A read on the writer's connection, between two commits.
    Read(ReadJob),
    /// Commit what came before, then stop.
    Stop,
}

/// A handle to submit reports to the writer thread. Cloning shares the writer; the
/// thread ends when [`Writer::stop`] is called or every handle is dropped, after the
/// submissions queued before that are committed.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Message>,
}

/// A submission waiting for its commit.
pub type Pending = oneshot::Receiver<Result<Vec<Outcome>, Arc<StoreError>>>;

impl Writer {
    /// Replays stored reports into `on_commit`, then starts the writer thread. `on_commit` runs on that thread after every commit, before the
    /// submitters hear of it, so whoever is acknowledged can read their report.
    pub fn start(
        mut store: Box<dyn Store>,
        catalog: Arc<Catalog>,
        gazetteer: &'static Gazetteer,
        config: WriterConfig,
        mut on_commit: Box<dyn FnMut(Committed<'_>) + Send>,
    ) -> Result<(Writer, JoinHandle<()>), StoreError> {
        let (mut reports, mut outcomes) = (Vec::new(), Vec::new());
        store.scan(config.replay_since, &mut |outcome, stored| {
            if let Some(report) = stored.to_report(&catalog, gazetteer) {
                reports.push(report);
                outcomes.push(outcome);
            }
        })?;
        on_commit(Committed {
            replay: true,
            reports: &reports,
            outcomes: &outcomes,
        });
        drop((reports, outcomes));

        let (tx, rx) = mpsc::channel(config.queue);
        let mut thread = WriterThread {
            store,
            catalog,
            gazetteer,
            config,
            on_commit,
            failing: false,
        };
        let handle = std::thread::Builder::new()
            .name("seismo-writer".into())
            .spawn(move || thread.run(rx))
            .map_err(|source| StoreError::Unavailable {
                context: "starting the writer thread",
                source: source.into(),
            })?;
        Ok((Writer { tx }, handle))
    }

    /// Submits reports and waits until they are durable.
    pub async fn submit(&self, reports: Vec<Report>) -> Result<Vec<Outcome>, Arc<StoreError>> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Message::Reports(Job { reports, reply }))
            .await
            .map_err(|_| Arc::new(StoreError::Stopped))?;
        done.await.map_err(|_| Arc::new(StoreError::Stopped))?
    }

    /// Stores incidents (replacing those of the same ids) and appends their changes to
    /// the outbox, in one transaction, and waits until they are durable.
    pub async fn save_incidents(
        &self,
        incidents: Vec<IncidentRecord>,
        events: Vec<IncidentEventRecord>,
    ) -> Result<(), Arc<StoreError>> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Message::Incidents(incidents, events, reply))
            .await
            .map_err(|_| Arc::new(StoreError::Stopped))?;
        done.await.map_err(|_| Arc::new(StoreError::Stopped))?
    }

    /// Stores probe results and waits until they are durable.
    pub async fn save_probe_results(
        &self,
        results: Vec<ProbeResult>,
    ) -> Result<(), Arc<StoreError>> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Message::ProbeResults(results, reply))
            .await
            .map_err(|_| Arc::new(StoreError::Stopped))?;
        done.await.map_err(|_| Arc::new(StoreError::Stopped))?
    }

    /// Stores what an official feed said and waits until it is durable (rare and
    /// small: one row per change of a vendor's page).
    pub async fn save_official_reading(
        &self,
        reading: crate::OfficialRecord,
    ) -> Result<(), Arc<StoreError>> {
        self.read(move |store| store.add_official_reading(&reading))
            .await
    }

    /// Runs `read` on the writer's connection between two commits and returns what it
    /// found: reads that must see every commit, without a second connection.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Arc<StoreError>> {
        let (job, done) = read_job(read);
        self.tx
            .send(job)
            .await
            .map_err(|_| Arc::new(StoreError::Stopped))?;
        done.await.map_err(|_| Arc::new(StoreError::Stopped))?
    }

    /// [`Writer::read`] from a thread outside the async runtime: blocks until done.
    pub fn read_blocking<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Arc<StoreError>> {
        let (job, done) = read_job(read);
        self.tx
            .blocking_send(job)
            .map_err(|_| Arc::new(StoreError::Stopped))?;
        done.blocking_recv()
            .map_err(|_| Arc::new(StoreError::Stopped))?
    }

    /// Submissions waiting for the writer thread.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Every stored token.
    pub async fn tokens(&self) -> Result<Vec<Token>, Arc<StoreError>> {
        self.read(|store| store.tokens()).await
    }

    /// Asks the writer thread to stop once everything submitted so far is committed.
    /// Submissions after this fail with [`StoreError::Stopped`] (never acknowledged,
    /// so never lost); other handles need not be dropped first.
    pub fn stop(&self) {
        // A writer that has stopped already needs no message.
        let _ = self.tx.blocking_send(Message::Stop);
    }

    /// Submits reports from a thread outside the async runtime, without waiting for the
    /// commit: the returned [`Pending`] tells when it happened. Blocks while the queue is full.
    pub fn submit_blocking(&self, reports: Vec<Report>) -> Result<Pending, StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .blocking_send(Message::Reports(Job { reports, reply }))
            .map_err(|_| StoreError::Stopped)?;
        Ok(done)
    }
}

/// `read` as a message for the writer thread, and where its result will come.
fn read_job<T: Send + 'static>(
    read: impl FnOnce(&mut dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> (Message, oneshot::Receiver<Result<T, Arc<StoreError>>>) {
    let (reply, done) = oneshot::channel();
    let job = move |store: &mut dyn Store| {
        let _ = reply.send(read(store).map_err(Arc::new));
    };
    (Message::Read(Box::new(job)), done)
}

struct WriterThread {
    store: Box<dyn Store>,
    catalog: Arc<Catalog>,
    gazetteer: &'static Gazetteer,
    config: WriterConfig,
    on_commit: Box<dyn FnMut(Committed<'_>) + Send>,
    /// The last commit failed.
    failing: bool,
}

impl WriterThread {
    fn run(&mut self, mut rx: mpsc::Receiver<Message>) {
        let mut next = None;
        loop {
            let message = match next.take() {
                Some(message) => message,
                None => match rx.blocking_recv() {
                    Some(message) => message,
                    None => return,
                },
            };
            let first = match message {
                Message::Reports(job) => job,
                Message::Incidents(incidents, events, reply) => {
                    let saved = self.store.save_incidents(&incidents, &events);
                    let _ = reply.send(saved.map_err(Arc::new));
                    continue;
                }
                Message::ProbeResults(results, reply) => {
                    next = self.save_probe_results(results, reply, &mut rx);
                    continue;
                }
                Message::Read(read) => {
                    read(&mut *self.store);
                    continue;
                }
                Message::Stop => return,
            };
            let mut jobs = vec![first];
            let mut size = jobs[0].reports.len();
            while size < self.config.max_batch {
                match rx.try_recv() {
                    Ok(Message::Reports(job)) => {
                        size += job.reports.len();
                        jobs.push(job);
                    }
                    Ok(other) => {
                        next = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.commit(jobs);
        }
    }

    /// Stores `results` with any more waiting behind them, in one transaction;
    /// returns the message that ended the batch.
    fn save_probe_results(
        &mut self,
        mut results: Vec<ProbeResult>,
        reply: oneshot::Sender<Result<(), Arc<StoreError>>>,
        rx: &mut mpsc::Receiver<Message>,
    ) -> Option<Message> {
        let mut replies = vec![reply];
        let mut next = None;
        while results.len() < self.config.max_batch {
            match rx.try_recv() {
                Ok(Message::ProbeResults(more, reply)) => {
                    results.extend(more);
                    replies.push(reply);
                }
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        let saved = self.store.add_probe_results(&results).map_err(Arc::new);
        if let Err(error) = &saved {
            tracing::error!(%error, results = results.len(), "cannot store probe results");
        }
        for reply in replies {
            let _ = reply.send(saved.clone());
        }
        next
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        let reports: Vec<Report> = jobs
            .iter()
            .flat_map(|j| j.reports.iter().copied())
            .collect();
        let stored: Vec<StoredReport<'_>> = reports
            .iter()
            .map(|r| StoredReport::from_report(r, &self.catalog, self.gazetteer))
            .collect();
        let started = std::time::Instant::now();
        let appended = self.store.append(&stored, self.config.counting_window);
        metrics::histogram!("seismo_writer_commit_seconds").record(started.elapsed());
        match appended {
            Ok(outcomes) => {
                if std::mem::replace(&mut self.failing, false) {
                    tracing::info!("commits succeed again: the store has recovered");
                }
                (self.on_commit)(Committed {
                    replay: false,
                    reports: &reports,
                    outcomes: &outcomes,
                });
                let mut rest = outcomes.as_slice();
                for job in jobs {
                    let (mine, others) = rest.split_at(job.reports.len());
                    rest = others;
                    // A submitter that stopped waiting still has its reports stored.
                    let _ = job.reply.send(Ok(mine.to_vec()));
                }
            }
            Err(error) => {
                // Once per failing spell: a full disk fails every commit until it clears.
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::error!(%error, reports = reports.len(), "commits fail: reports are refused (503) until the store recovers");
                } else {
                    tracing::debug!(%error, reports = reports.len(), "commit failed");
                }
                let error = Arc::new(error);
                for job in jobs {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use seismo_core::catalog::{ProblemId, ServiceId};
    use seismo_core::gazetteer::Place;
    use seismo_core::time::{DAY_MS, MINUTE_MS};
    use std::sync::Mutex;

    fn report(client: u64, minute: i64) -> Report {
        Report {
            at: 1_000 * DAY_MS + minute * MINUTE_MS,
            received: 1_000 * DAY_MS + minute * MINUTE_MS,
            service: ServiceId(0),
            problem: ProblemId(0),
            place: Place::default(),
            client,
            block: client,
        }
    }

    fn start(
        dir: &std::path::Path,
        seen: Arc<Mutex<Vec<(i64, bool)>>>,
    ) -> (Writer, JoinHandle<()>) {
        let store = SqliteStore::open(dir).unwrap();
        Writer::start(
            Box::new(store),
            Arc::new(Catalog::demo()),
            Gazetteer::embedded(),
            WriterConfig::default(),
            Box::new(move |c| {
                seen.lock().unwrap().extend(
                    c.reports
                        .iter()
                        .zip(c.outcomes)
                        .map(|(r, o)| (r.at, o.counted)),
                )
            }),
        )
        .unwrap()
    }

    #[test]
    fn counts_commits_and_rebuilds_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (writer, handle) = start(dir.path(), seen.clone());
        let first = writer
            .submit_blocking(vec![report(1, 0), report(1, 30), report(2, 30)])
            .unwrap();
        let outcomes = first.blocking_recv().unwrap().unwrap();
        assert_eq!(
            outcomes.iter().map(|o| o.counted).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert!(outcomes[0].id < outcomes[1].id && outcomes[1].id < outcomes[2].id);
        assert_eq!(seen.lock().unwrap().len(), 3, "the observer saw the commit");
        drop(writer);
        handle.join().unwrap();

        // After a restart the rule remembers client 1's counted report at minute 0.
        let replayed = Arc::new(Mutex::new(Vec::new()));
        let (writer, handle) = start(dir.path(), replayed.clone());
        assert_eq!(
            replayed.lock().unwrap().len(),
            3,
            "stored reports are replayed to the observer"
        );
        let outcomes = writer
            .submit_blocking(vec![report(1, 59), report(1, 60)])
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap();
        assert_eq!(
            outcomes.iter().map(|o| o.counted).collect::<Vec<_>>(),
            [false, true]
        );
        drop(writer);
        handle.join().unwrap();
    }

    #[test]
    fn stop_commits_what_came_before_and_refuses_what_comes_after() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, handle) = start(dir.path(), Arc::default());
        let other_handle = writer.clone();
        let before = writer.submit_blocking(vec![report(1, 0)]).unwrap();
        writer.stop();
        // The thread stops although a handle is still alive.
        handle.join().unwrap();
        assert!(
            before.blocking_recv().unwrap().is_ok(),
            "queued before the stop"
        );
        assert!(matches!(
            other_handle.submit_blocking(vec![report(2, 0)]),
            Err(StoreError::Stopped)
        ));
        assert_eq!(SqliteStore::open(dir.path()).unwrap().count().unwrap(), 1);
    }

    #[tokio::test]
    async fn probe_results_submitted_together_are_durable_and_read_back_in_order() {
        use seismo_core::probe::{Detail, Outcome as ProbeOutcome};
        let dir = tempfile::tempdir().unwrap();
        let (writer, handle) = start(dir.path(), Arc::default());
        let result = |minute: i64, location: &str| ProbeResult {
            service: "microsoft-365".into(),
            probe: "tcp".into(),
            location: location.into(),
            at: 1_000 * DAY_MS + minute * MINUTE_MS,
            attempts: 1,
            outcome: ProbeOutcome {
                ok: true,
                latency_ms: minute as u64,
                failure: None,
                detail: Detail::Tcp {},
            },
        };
        // Many submitters at once: batched by the writer, each told when durable.
        let saves: Vec<_> = (0..50)
            .map(|minute| {
                let writer = writer.clone();
                let one = result(minute, if minute % 2 == 0 { "Dallas" } else { "Seattle" });
                tokio::spawn(async move { writer.save_probe_results(vec![one]).await })
            })
            .collect();
        for save in saves {
            save.await.unwrap().unwrap();
        }
        let read = writer
            .read(|store| {
                store.probe_results(&crate::ProbeQuery {
                    probe: Some("tcp"),
                    ..crate::ProbeQuery::service("microsoft-365", 0, 1_000)
                })
            })
            .await
            .unwrap();
        let minutes: Vec<u64> = read.iter().map(|r| r.outcome.latency_ms).collect();
        assert_eq!(minutes, (0..50).collect::<Vec<u64>>());
        assert_eq!(writer.tokens().await.unwrap(), []);
        drop(writer);
        tokio::task::spawn_blocking(move || handle.join().unwrap())
            .await
            .unwrap();
    }
}
