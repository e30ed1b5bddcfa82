//! The notifier of `seismo serve`: every step reads the incident events the engine
//! stored since the last (the outbox), decides the messages they call for, queues them
//! in the store in one transaction with the groups and the outbox position they were
//! decided at, and then delivers what is due. A restart reloads the groups and the
//! position, so no decision is lost or made twice; a queued message is delivered
//! after any restart.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use seismo_core::catalog::Catalog;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::time::Millis;
use seismo_detect::view::IncidentView;
use seismo_store::{Attempt, Leadership, NewNotification, StoreError, Subscriber, Writer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Channel, Grouping, Silence};
use crate::deliver::{Deliverer, retry_at};
use crate::group::{Groups, IncidentSummary, Message};
use crate::render::{Email, Templates};
use crate::subscribers::{SubscriptionMail, for_subscriber, unsubscribe_url};

/// The setting holding the groups and the outbox position.
pub const STATE_KEY: &str = "notify";
/// Outbox events read in one step, at most.
const EVENTS_PER_STEP: usize = 1_000;
/// Notifications tried in one step, at most (each within its own timeout, together).
const DELIVERIES_PER_STEP: usize = 32;

/// Everything the settings file says about notifications.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub grouping: Grouping,
    pub channels: Vec<Channel>,
    pub silences: Vec<Silence>,
    /// Scheduled maintenance: during a window, its services' incidents are silenced.
    pub maintenances: Vec<seismo_core::maintenance::Maintenance>,
    /// How subscribers' mail is sent; without it, there are none.
    pub subscriptions: Option<SubscriptionMail>,
}

impl Settings {
    /// The silences in force at `now`: the declared ones, those made through the API
    /// (`stored`), and one per open window of a declared or stored maintenance (until
    /// it closes).
    fn silences_at(
        &self,
        now: Millis,
        stored: Vec<Silence>,
        maintenances: &[seismo_core::maintenance::Maintenance],
    ) -> Vec<Silence> {
        let windows = self
            .maintenances
            .iter()
            .chain(maintenances)
            .filter_map(|m| {
                let window = m.window_at(now)?;
                Some(Silence {
                    services: m.services.clone(),
                    regions: Vec::new(),
                    labels: Vec::new(),
                    until: seismo_core::time::format_rfc3339(window.end),
                    comment: format!("maintenance: {}", m.title),
                })
            });
        self.silences
            .iter()
            .cloned()
            .chain(stored)
            .chain(windows)
            .collect()
    }
}

/// What the API stored as JSON (silences, maintenances: `(id, body)`); one that
/// cannot be read is logged and skipped.
fn parse_stored<'a, T: serde::de::DeserializeOwned, Id: std::fmt::Display>(
    what: &str,
    records: impl IntoIterator<Item = (Id, &'a str)>,
) -> Vec<T> {
    records
        .into_iter()
        .filter_map(|(id, body)| {
            serde_json::from_str(body)
                .inspect_err(|error| tracing::error!(%id, %error, "a stored {what} cannot be read"))
                .ok()
        })
        .collect()
}

/// The channels made through the API.
fn parse_channels(records: &[(String, String)]) -> Vec<Channel> {
    parse_stored(
        "channel",
        records.iter().map(|(name, body)| (name, body.as_str())),
    )
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub queued: usize,
    pub delivered: usize,
    pub failed: usize,
}

pub struct Notifier {
    writer: Writer,
    catalog: Arc<Catalog>,
    gazetteer: &'static Gazetteer,
    /// The site's address, for the links in messages.
    public_url: String,
    settings: Arc<Settings>,
    templates: Arc<Templates>,
    deliverer: Deliverer,
    /// The groups and their JSON as last stored; read from the store at the first step.
    groups: Option<(Groups, String)>,
    /// Steps run only while this node leads.
    leadership: Leadership,
}

impl Notifier {
    pub fn new(
        writer: Writer,
        catalog: Arc<Catalog>,
        gazetteer: &'static Gazetteer,
        public_url: String,
        settings: Settings,
        templates: Templates,
        deliverer: Deliverer,
    ) -> Notifier {
        Notifier {
            writer,
            catalog,
            gazetteer,
            public_url,
            settings: Arc::new(settings),
            templates: Arc::new(templates),
            deliverer,
            groups: None,
            leadership: Leadership::sole(),
        }
    }

    /// Runs only while `leadership` says this node leads: of several nodes on one
    /// database, one notifies.
    pub fn led_by(mut self, leadership: Leadership) -> Notifier {
        self.leadership = leadership;
        self
    }

    /// Decides and queues the messages due at `now`, then tries the deliveries due.
    pub async fn step(&mut self, now: Millis) -> Result<Step, Arc<StoreError>> {
        let queued = self.decide(now).await?;
        let (delivered, failed) = self.deliver_due(now).await?;
        Ok(Step {
            queued,
            delivered,
            failed,
        })
    }

    /// Steps every `every` on `clock` until `stop` is cancelled.
    pub async fn run(
        mut self,
        every: Duration,
        clock: Arc<dyn Fn() -> Millis + Send + Sync>,
        stop: CancellationToken,
    ) {
        let mut interval = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = stop.cancelled() => return,
            }
            if !self.leadership.is_leader() {
                // The leader moves the groups on meanwhile: read them again on taking
                // over.
                self.groups = None;
                continue;
            }
            if let Err(error) = self.step(clock()).await {
                tracing::error!(%error, "notifications: cannot use the store");
            }
        }
    }

    async fn decide(&mut self, now: Millis) -> Result<usize, Arc<StoreError>> {
        let (groups, stored) = match self.groups.take() {
            Some(loaded) => loaded,
            None => {
                let stored = self.writer.read(|s| s.setting(STATE_KEY)).await?;
                let groups = match stored.as_deref().map(serde_json::from_str::<Groups>) {
                    Some(Ok(groups)) => groups,
                    Some(Err(error)) => {
                        // Starting over announces the active incidents again; better
                        // than never announcing any.
                        tracing::error!(%error, "notifications: the stored groups are unreadable; starting over");
                        Groups::default()
                    }
                    None => Groups::default(),
                };
                (groups, stored.unwrap_or_default())
            }
        };
        // Worked on a copy: the groups move on only once what they decided is stored.
        let mut next = groups.clone();
        let cursor = next.cursor;
        let read = self
            .writer
            .read(move |store| {
                let events = store.incident_events_after(cursor, EVENTS_PER_STEP)?;
                let touched: BTreeSet<i64> = events.iter().map(|e| e.incident).collect();
                let mut records = Vec::with_capacity(touched.len());
                for id in touched {
                    records.extend(store.incident(id)?);
                }
                let silences = store.silences(now)?;
                let subscribers = store.subscribers()?;
                let maintenances = store.maintenances()?;
                let channels = store.channels()?;
                Ok((
                    events.last().map(|e| e.seq),
                    records,
                    (silences, maintenances),
                    subscribers,
                    channels,
                ))
            })
            .await;
        let (last, records, (stored_silences, stored_maintenances), subscribers, stored_channels) =
            match read {
                Ok(read) => read,
                Err(error) => {
                    self.groups = Some((groups, stored));
                    return Err(error);
                }
            };
        let summaries = records.iter().filter_map(|record| {
            IncidentView::decode(record.format, &record.body, &self.catalog, self.gazetteer)
                .map(|view| IncidentSummary::new(&view, &self.catalog, &self.public_url))
                .inspect_err(|error| tracing::error!(id = record.id, %error, "notifications: an incident cannot be read"))
                .ok()
        });
        next.hear(summaries);
        if let Some(last) = last {
            next.cursor = last;
        }
        let settings = &self.settings;
        let confirmed: Vec<Subscriber> = subscribers
            .into_iter()
            .filter(|s| s.confirmed_at.is_some())
            .collect();
        let channels = self.channels(parse_channels(&stored_channels), &confirmed);
        let messages = next.decide(
            now,
            &settings.grouping,
            &channels,
            &settings.silences_at(
                now,
                parse_stored(
                    "silence",
                    stored_silences.iter().map(|r| (r.id, r.body.as_str())),
                ),
                &parse_stored::<seismo_core::maintenance::Maintenance, _>(
                    "maintenance",
                    stored_maintenances.iter().map(|r| (r.id, r.body.as_str())),
                ),
            ),
        );
        let notifications: Vec<NewNotification> = messages
            .iter()
            .filter_map(|message| self.notification(message, &channels, &confirmed, now))
            .collect();
        let json = serde_json::to_string(&next).expect("groups serialise");
        let queued = notifications.len();
        if json != stored || queued > 0 {
            let value = json.clone();
            let saved = self
                .writer
                .read(move |s| s.queue_notifications(&notifications, STATE_KEY, &value))
                .await;
            if let Err(error) = saved {
                self.groups = Some((groups, stored));
                return Err(error);
            }
            for message in &messages {
                tracing::info!(channel = %message.channel, group = message.group, kind = message.kind.as_str(), "notification queued");
            }
        }
        self.groups = Some((next, json));
        Ok(queued)
    }

    /// The declared channels, those made through the API (`stored`), and one per
    /// subscriber given.
    fn channels(&self, stored: Vec<Channel>, subscribers: &[Subscriber]) -> Vec<Channel> {
        let mut channels = self.settings.channels.clone();
        channels.extend(stored);
        if let Some(mail) = &self.settings.subscriptions {
            channels.extend(subscribers.iter().map(|s| mail.channel(s)));
        }
        channels
    }

    fn notification(
        &self,
        message: &Message,
        channels: &[Channel],
        subscribers: &[Subscriber],
        now: Millis,
    ) -> Option<NewNotification> {
        let channel = channels.iter().find(|c| c.name == message.channel)?;
        let subscriber = subscribers
            .iter()
            .find(|s| seismo_store::subscriber_channel(s.id) == channel.name);
        let rendered = self
            .templates
            .render(channel.kind, message)
            .map(|body| match subscriber {
                Some(subscriber) => {
                    let email: Email = serde_json::from_str(&body).expect("an email renders JSON");
                    let unsubscribe = unsubscribe_url(&self.public_url, subscriber);
                    serde_json::to_string(&for_subscriber(email, unsubscribe))
                        .expect("emails serialise")
                }
                None => body,
            });
        match rendered {
            Ok(body) => Some(NewNotification {
                channel: channel.name.clone(),
                created_at: now,
                event: message.kind.as_str().to_string(),
                body,
            }),
            Err(error) => {
                tracing::error!(%error, channel = %channel.name, "notification not rendered");
                None
            }
        }
    }

    /// Tries every due notification, together; returns how many were delivered and how
    /// many failed.
    async fn deliver_due(&self, now: Millis) -> Result<(usize, usize), Arc<StoreError>> {
        let (due, subscribers, stored) = self
            .writer
            .read(move |s| {
                Ok((
                    s.due_notifications(now, DELIVERIES_PER_STEP)?,
                    s.subscribers()?,
                    s.channels()?,
                ))
            })
            .await?;
        // Those waiting for confirmation too: their confirmation mail is due.
        let channels = Arc::new(self.channels(parse_channels(&stored), &subscribers));
        let mut tries = JoinSet::new();
        for notification in due {
            let (deliverer, channels) = (self.deliverer.clone(), channels.clone());
            tries.spawn(async move {
                let channel = channels.iter().find(|c| c.name == notification.channel);
                let result = match channel {
                    Some(channel) => {
                        deliverer
                            .deliver(
                                channel,
                                notification.id,
                                &notification.event,
                                &notification.body,
                            )
                            .await
                    }
                    None => Err(crate::deliver::Failure {
                        error: format!("no channel is named {:?} any more", notification.channel),
                        retry_after: None,
                    }),
                };
                (notification, channel.is_some(), result)
            });
        }
        let (mut delivered, mut failed) = (0, 0);
        while let Some(done) = tries.join_next().await {
            let (notification, known, result) = done.expect("deliveries do not panic");
            let attempt = match result {
                Ok(()) => {
                    delivered += 1;
                    metrics::counter!("seismo_notifications_total", "outcome" => "delivered")
                        .increment(1);
                    Attempt::Delivered { at: now }
                }
                Err(failure) => {
                    failed += 1;
                    let attempts = notification.attempts + 1;
                    let retry_at = retry_at(now, notification.id, attempts, failure.retry_after)
                        .filter(|_| known);
                    let outcome = if retry_at.is_some() { "failed" } else { "dead" };
                    metrics::counter!("seismo_notifications_total", "outcome" => outcome)
                        .increment(1);
                    tracing::warn!(
                        channel = %notification.channel,
                        id = notification.id,
                        attempts,
                        error = %failure.error,
                        gave_up = retry_at.is_none(),
                        "notification not delivered"
                    );
                    Attempt::Failed {
                        at: now,
                        error: failure.error,
                        retry_at,
                    }
                }
            };
            let id = notification.id;
            self.writer
                .read(move |s| s.notification_tried(id, &attempt))
                .await?;
        }
        Ok((delivered, failed))
    }
}
