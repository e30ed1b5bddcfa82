//! Which messages to send, decided as Alertmanager decides: a pure function of the
//! incidents heard of, the settings and the time, so a restart that reloads the
//! [`Groups`] decides exactly as the process that stopped would have.
//!
//! Each channel groups the incidents it hears of by their root: an incident linked to
//! an upstream one the channel also hears of joins that one's group (Mimecast and
//! GoDaddy under Microsoft 365). A group's first message waits `group_wait`, so the
//! dependants that follow within it are folded in; after that it speaks only when
//! something meaningful changed (a member's level, footprint, upstream or the vendor's
//! acknowledgement, or who the members are), never twice within `group_interval`;
//! says so again after `repeat_interval` of the same; and says "resolved" once every
//! member is. A group that resolved before its first message never speaks.

use std::collections::{BTreeMap, BTreeSet};

use seismo_core::catalog::Catalog;
use seismo_core::time::{Millis, format_rfc3339};
use seismo_detect::view::IncidentView;
use seismo_detect::words::{Level, lead_words, operator_words, title};
use seismo_detect::{Footprint, State};
use serde::{Deserialize, Serialize};

use crate::config::{Channel, Grouping, MinState, Silence, in_areas};

/// What a message tells of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: u64,
    pub service: String,
    pub service_name: String,
    /// Every service it is about: its own, and those an operator declared it on.
    #[serde(default)]
    pub services: Vec<String>,
    /// The service's catalog labels.
    pub labels: Vec<String>,
    pub state: State,
    pub level: Level,
    /// The level as people read it ("Confirmed outage").
    pub label: String,
    /// "Microsoft 365 outage (email) in Los Angeles, Minneapolis, Phoenix".
    pub title: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub footprint: Footprint,
    /// Country and `CC-REGION` codes of its places.
    pub areas: Vec<String>,
    pub upstream: Option<u64>,
    /// It has been confirmed at some time.
    pub confirmed: bool,
    /// When the vendor first admitted the problem.
    pub acknowledged_at: Option<String>,
    /// The vendor's incident, as "MO1221364: Users can't send or receive email".
    pub vendor: Option<String>,
    /// How far ahead of the vendor seismo was, in words.
    pub lead: Option<String>,
    /// The latest update of the service's operators, in words ("Identified: …").
    #[serde(default)]
    pub operator: Option<String>,
    /// How many updates they posted.
    #[serde(default)]
    pub operator_updates: usize,
    /// Its page on the site.
    pub url: String,
}

impl IncidentSummary {
    pub fn new(view: &IncidentView, catalog: &Catalog, public_url: &str) -> IncidentSummary {
        let labels = catalog
            .by_slug(&view.service)
            .map(|s| catalog.service(s).labels.clone())
            .unwrap_or_default();
        let level = Level::of(view.state, view.confidence);
        let areas = view
            .regions
            .iter()
            .chain(&view.countries)
            .map(|a| a.code.clone())
            .collect();
        IncidentSummary {
            id: view.id,
            service: view.service.clone(),
            service_name: view.service_name.clone(),
            services: match &view.declared {
                Some(declared) => declared.services.clone(),
                None => vec![view.service.clone()],
            },
            labels,
            state: view.state,
            level,
            label: level.label().to_string(),
            title: title(view),
            started_at: view.started_at.clone(),
            ended_at: view.ended_at.clone(),
            footprint: view.footprint,
            areas,
            upstream: view.upstream.as_ref().map(|u| u.incident),
            confirmed: view.was_confirmed(),
            acknowledged_at: view.acknowledged_at.clone(),
            vendor: view
                .official
                .first()
                .map(|o| format!("{}: {}", o.id, o.title)),
            lead: lead_words(view),
            operator: view.updates.last().map(operator_words),
            operator_updates: view.updates.len(),
            url: format!("{public_url}/incidents/{}", view.id),
        }
    }

    fn is_resolved(&self) -> bool {
        self.state == State::Resolved
    }

    /// What a message told of it that, changed, is worth another: of the group's root,
    /// its level, footprint, upstream, the vendor's acknowledgement and its operators'
    /// updates; of a dependant,
    /// only that it is there (its own ups and downs follow the root's and would make
    /// the group chatty).
    fn told(&self, root: bool) -> Told {
        Told {
            id: self.id,
            level: root.then_some(self.level),
            footprint: root.then_some(self.footprint),
            upstream: self.upstream.filter(|_| root),
            acknowledged: root && self.acknowledged_at.is_some(),
            operator_updates: if root { self.operator_updates } else { 0 },
        }
    }

    fn heard_by(&self, channel: &Channel) -> bool {
        (channel.services.is_empty()
            || self.services.iter().any(|s| channel.services.contains(s))
            || channel.services.contains(&self.service))
            && (channel.regions.is_empty()
                || self.areas.is_empty()
                || in_areas(&channel.regions, &self.areas))
            && (channel.labels.is_empty() || channel.labels.iter().any(|l| self.labels.contains(l)))
            && (channel.min_state == MinState::Suspected || self.confirmed)
    }

    fn silenced_by(&self, silence: &Silence) -> bool {
        (silence.services.is_empty() || silence.services.contains(&self.service))
            && (silence.regions.is_empty() || in_areas(&silence.regions, &self.areas))
            && (silence.labels.is_empty() || silence.labels.iter().any(|l| self.labels.contains(l)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Told {
    id: u64,
    level: Option<Level>,
    footprint: Option<Footprint>,
    upstream: Option<u64>,
    acknowledged: bool,
    /// Absent from groups stored before operators could post.
    #[serde(default)]
    operator_updates: usize,
}

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Opened,
    Updated,
    /// Still going on, nothing new since `repeat_interval`.
    Reminder,
    Resolved,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Opened => "opened",
            MessageKind::Updated => "updated",
            MessageKind::Reminder => "reminder",
            MessageKind::Resolved => "resolved",
        }
    }
}

/// One message to one channel: the whole group, its root first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: MessageKind,
    pub channel: String,
    /// The root incident's id: every message of a group carries it.
    pub group: u64,
    /// 1 for the group's first message, then counting.
    pub sequence: u32,
    pub at: String,
    /// The root's incident, then the others by id.
    pub incidents: Vec<IncidentSummary>,
}

/// A channel's group of incidents under one root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Group {
    channel: String,
    root: u64,
    members: BTreeSet<u64>,
    /// When it formed; its first message waits `group_wait` from here.
    since: Millis,
    sent: Option<Sent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sent {
    at: Millis,
    sequence: u32,
    told: Vec<Told>,
}

/// Every group and the incidents they are about, with the position in the incident
/// outbox they reflect: stored with the messages they decided, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    /// The last outbox event heard of.
    pub cursor: i64,
    /// The latest heard of every incident that is active or in a group.
    incidents: BTreeMap<u64, IncidentSummary>,
    groups: Vec<Group>,
}

/// Upstream links followed at most this far to a root (the engine allows no cycles;
/// this bounds a damaged state).
const MAX_CHAIN: usize = 8;

impl Groups {
    /// Hears the latest of some incidents.
    pub fn hear(&mut self, incidents: impl IntoIterator<Item = IncidentSummary>) {
        for incident in incidents {
            self.incidents.insert(incident.id, incident);
        }
    }

    /// The messages due at `now`, and the groups moved on as if they were sent.
    pub fn decide(
        &mut self,
        now: Millis,
        grouping: &Grouping,
        channels: &[Channel],
        silences: &[Silence],
    ) -> Vec<Message> {
        let wait = grouping.group_wait.as_millis() as Millis;
        let interval = grouping.group_interval.as_millis() as Millis;
        let repeat = grouping.repeat_interval.as_millis() as Millis;
        // A channel that is gone from the settings has no groups any more.
        self.groups
            .retain(|g| channels.iter().any(|c| c.name == g.channel));
        for channel in channels {
            self.join(channel, now);
        }
        let silences: Vec<&Silence> = silences.iter().filter(|s| s.until() > now).collect();
        let mut messages = Vec::new();
        let incidents = &self.incidents;
        self.groups.retain_mut(|group| {
            let members: Vec<&IncidentSummary> = group
                .members
                .iter()
                .filter_map(|id| incidents.get(id))
                .collect();
            let resolved = members.iter().all(|m| m.is_resolved());
            let silenced = members
                .iter()
                .filter(|m| !m.is_resolved())
                .all(|m| silences.iter().any(|s| m.silenced_by(s)));
            let told: Vec<Told> = members.iter().map(|m| m.told(m.id == group.root)).collect();
            let kind = match &group.sent {
                None if resolved => return false,
                None if silenced || now - group.since < wait => return true,
                None => MessageKind::Opened,
                Some(sent) if now - sent.at < interval => return true,
                // A team told of an outage always hears that it ended, silenced or not.
                Some(_) if resolved => MessageKind::Resolved,
                Some(_) if silenced => return true,
                Some(sent) if sent.told != told => MessageKind::Updated,
                Some(sent) if now - sent.at >= repeat => MessageKind::Reminder,
                Some(_) => return true,
            };
            let sequence = group.sent.as_ref().map_or(1, |s| s.sequence + 1);
            let mut ordered = members.clone();
            ordered.sort_by_key(|m| (m.id != group.root, m.id));
            messages.push(Message {
                kind,
                channel: group.channel.clone(),
                group: group.root,
                sequence,
                at: format_rfc3339(now),
                incidents: ordered.into_iter().cloned().collect(),
            });
            group.sent = Some(Sent {
                at: now,
                sequence,
                told,
            });
            kind != MessageKind::Resolved
        });
        // Forget what no group holds and will not open one.
        let held: BTreeSet<u64> = self
            .groups
            .iter()
            .flat_map(|g| g.members.iter().copied())
            .collect();
        self.incidents
            .retain(|id, incident| held.contains(id) || !incident.is_resolved());
        messages
    }

    /// Puts every active incident `channel` hears of and no group of it holds into the
    /// group of its root, or a new one. Until a group's first message its members are
    /// not settled: each goes where its root now is (a dependant linked late still
    /// joins its upstream's message), keeping the time its wait began.
    fn join(&mut self, channel: &Channel, now: Millis) {
        let incidents = &self.incidents;
        let mut joins = Vec::new();
        for group in self.groups.iter_mut() {
            if group.channel != channel.name || group.sent.is_some() {
                continue;
            }
            group.members.retain(|&id| {
                let root = root_of(incidents, channel, id);
                let stays = root == group.root;
                if !stays {
                    joins.push((id, root, group.since));
                }
                stays
            });
        }
        self.groups.retain(|g| !g.members.is_empty());
        for incident in incidents.values() {
            let grouped = self
                .groups
                .iter()
                .any(|g| g.channel == channel.name && g.members.contains(&incident.id));
            if !grouped && !incident.is_resolved() && incident.heard_by(channel) {
                joins.push((incident.id, root_of(incidents, channel, incident.id), now));
            }
        }
        for (id, root, since) in joins {
            let group = self.groups.iter_mut().find(|g| {
                g.channel == channel.name && (g.root == root || g.members.contains(&root))
            });
            match group {
                Some(group) => {
                    group.members.insert(id);
                    if group.sent.is_none() {
                        group.since = group.since.min(since);
                    }
                }
                None => self.groups.push(Group {
                    channel: channel.name.clone(),
                    root,
                    members: BTreeSet::from([id, root]),
                    since,
                    sent: None,
                }),
            }
        }
    }
}

/// The incident at the top of `id`'s chain of active upstreams that `channel` hears of.
fn root_of(incidents: &BTreeMap<u64, IncidentSummary>, channel: &Channel, id: u64) -> u64 {
    let mut root = id;
    for _ in 0..MAX_CHAIN {
        let upstream = incidents
            .get(&root)
            .and_then(|i| i.upstream)
            .and_then(|u| incidents.get(&u))
            .filter(|u| !u.is_resolved() && u.heard_by(channel));
        match upstream {
            Some(upstream) => root = upstream.id,
            None => break,
        }
    }
    root
}

/// The Microsoft 365 outage with Mimecast and GoDaddy folded in, as a message: what
/// templates are tried on at start.
pub(crate) fn sample_message() -> Message {
    let incident =
        |id: u64, service: &str, name: &str, level: Level, started: &str| IncidentSummary {
            id,
            service: service.into(),
            service_name: name.into(),
            services: vec![service.into()],
            labels: Vec::new(),
            state: State::Confirmed,
            level,
            label: level.label().into(),
            title: format!("{name} outage"),
            started_at: started.into(),
            ended_at: None,
            footprint: Footprint::Country,
            areas: vec!["US".into()],
            upstream: (id != 1).then_some(1),
            confirmed: true,
            acknowledged_at: None,
            vendor: None,
            lead: None,
            operator: None,
            operator_updates: 0,
            url: format!("http://seismo.test/incidents/{id}"),
        };
    let mut m365 = incident(
        1,
        "microsoft-365",
        "Microsoft 365",
        Level::Confirmed,
        "2026-01-22T18:15:00Z",
    );
    m365.title = "Microsoft 365 outage (email) in Los Angeles, Minneapolis, Phoenix".into();
    m365.acknowledged_at = Some("2026-01-22T18:37:00Z".into());
    m365.vendor = Some("MO1221364: Users can't send or receive email".into());
    m365.lead = Some("22 minutes before the vendor said anything".into());
    Message {
        kind: MessageKind::Opened,
        channel: "it-team".into(),
        group: 1,
        sequence: 1,
        at: "2026-01-22T18:17:30Z".into(),
        incidents: vec![
            m365,
            incident(
                2,
                "mimecast",
                "Mimecast",
                Level::Likely,
                "2026-01-22T18:17:00Z",
            ),
            incident(
                3,
                "godaddy",
                "GoDaddy",
                Level::Likely,
                "2026-01-22T18:18:00Z",
            ),
        ],
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use seismo_core::time::MINUTE_MS;

    const T0: Millis = 1_769_105_700_000; // 2026-01-22T18:15:00Z

    /// An incident of `service` at `level`, linked to `upstream`.
    pub(crate) fn summary(
        id: u64,
        service: &str,
        state: State,
        upstream: Option<u64>,
    ) -> IncidentSummary {
        let level = Level::of(state, 0.95);
        IncidentSummary {
            id,
            service: service.into(),
            service_name: service.to_uppercase(),
            services: vec![service.into()],
            labels: vec!["mail".into()],
            state,
            level,
            label: level.label().into(),
            title: format!("{service} outage"),
            started_at: format_rfc3339(T0),
            ended_at: None,
            footprint: Footprint::Country,
            areas: vec!["US".into(), "US-CA".into()],
            upstream,
            confirmed: state == State::Confirmed,
            acknowledged_at: None,
            vendor: None,
            lead: None,
            operator: None,
            operator_updates: 0,
            url: format!("http://seismo.test/incidents/{id}"),
        }
    }

    pub(crate) fn channel(name: &str) -> Channel {
        Channel::webhook(name, "http://hooks.test")
    }

    fn grouping() -> Grouping {
        Grouping::default()
    }

    fn kinds(messages: &[Message]) -> Vec<(&str, MessageKind, usize)> {
        messages
            .iter()
            .map(|m| (m.channel.as_str(), m.kind, m.incidents.len()))
            .collect()
    }

    #[test]
    fn an_incident_opens_after_the_group_wait_and_resolves_once() {
        let mut groups = Groups::default();
        let channels = [channel("it"), channel("ops")];
        groups.hear([summary(1, "m365", State::Suspected, None)]);
        assert!(groups.decide(T0, &grouping(), &channels, &[]).is_empty());
        let opened = groups.decide(T0 + 30_000, &grouping(), &channels, &[]);
        assert_eq!(
            kinds(&opened),
            [
                ("it", MessageKind::Opened, 1),
                ("ops", MessageKind::Opened, 1)
            ]
        );
        assert_eq!(opened[0].sequence, 1);
        assert!(
            groups
                .decide(T0 + 60_000, &grouping(), &channels, &[])
                .is_empty()
        );
        let mut resolved = summary(1, "m365", State::Resolved, None);
        resolved.ended_at = Some(format_rfc3339(T0 + 60 * MINUTE_MS));
        groups.hear([resolved]);
        let closing = groups.decide(T0 + 60 * MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(
            kinds(&closing),
            [
                ("it", MessageKind::Resolved, 1),
                ("ops", MessageKind::Resolved, 1)
            ]
        );
        assert!(closing.iter().all(|m| m.sequence == 2));
        assert!(
            groups
                .decide(T0 + 120 * MINUTE_MS, &grouping(), &channels, &[])
                .is_empty()
        );
        assert_eq!(
            groups,
            Groups::default(),
            "nothing is kept of a closed group"
        );
    }

    #[test]
    fn dependants_that_arrive_within_the_wait_are_folded_under_their_upstream() {
        let mut groups = Groups::default();
        let channels = [channel("it")];
        groups.hear([summary(1, "m365", State::Confirmed, None)]);
        groups.decide(T0, &grouping(), &channels, &[]);
        groups.hear([
            summary(2, "mimecast", State::Suspected, Some(1)),
            summary(3, "godaddy", State::Suspected, None),
        ]);
        groups.decide(T0 + 10_000, &grouping(), &channels, &[]);
        // GoDaddy's link comes a little later, still within the wait.
        groups.hear([summary(3, "godaddy", State::Suspected, Some(1))]);
        let opened = groups.decide(T0 + 30_000, &grouping(), &channels, &[]);
        assert_eq!(kinds(&opened), [("it", MessageKind::Opened, 3)]);
        let services: Vec<&str> = opened[0]
            .incidents
            .iter()
            .map(|i| i.service.as_str())
            .collect();
        assert_eq!(services, ["m365", "mimecast", "godaddy"]);
        assert_eq!(opened[0].group, 1);
        // A dependant that joins later is told in an update, never on its own; its own
        // ups and downs are not news, the root's acknowledgement is.
        groups.hear([summary(4, "zoom", State::Suspected, Some(1))]);
        let joined = groups.decide(T0 + 6 * MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(kinds(&joined), [("it", MessageKind::Updated, 4)]);
        groups.hear([summary(2, "mimecast", State::Confirmed, Some(1))]);
        assert!(
            groups
                .decide(T0 + 12 * MINUTE_MS, &grouping(), &channels, &[])
                .is_empty()
        );
        let mut acknowledged = summary(1, "m365", State::Confirmed, None);
        acknowledged.acknowledged_at = Some(format_rfc3339(T0 + 22 * MINUTE_MS));
        groups.hear([acknowledged]);
        let told = groups.decide(T0 + 22 * MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(kinds(&told), [("it", MessageKind::Updated, 4)]);
    }

    #[test]
    fn a_group_that_resolves_before_its_first_message_never_speaks() {
        let mut groups = Groups::default();
        let channels = [channel("it")];
        groups.hear([summary(1, "m365", State::Suspected, None)]);
        groups.decide(T0, &grouping(), &channels, &[]);
        groups.hear([summary(1, "m365", State::Resolved, None)]);
        assert!(
            groups
                .decide(T0 + 30_000, &grouping(), &channels, &[])
                .is_empty()
        );
        assert!(
            groups
                .decide(T0 + HOUR, &grouping(), &channels, &[])
                .is_empty()
        );
    }

    const HOUR: Millis = 60 * MINUTE_MS;

    #[test]
    fn a_flapping_service_speaks_at_most_once_per_group_interval() {
        let mut groups = Groups::default();
        let channels = [channel("it")];
        let mut messages = Vec::new();
        for minute in 0..120 {
            let state = if minute % 2 == 0 {
                State::Confirmed
            } else {
                State::Recovering
            };
            groups.hear([summary(1, "m365", state, None)]);
            let now = T0 + minute * MINUTE_MS;
            messages.extend(
                groups
                    .decide(now, &grouping(), &channels, &[])
                    .into_iter()
                    .map(|m| (now, m.kind)),
            );
        }
        let interval = grouping().group_interval.as_millis() as Millis;
        assert!(messages.len() <= 25, "{} messages", messages.len());
        assert!(
            messages.len() >= 10,
            "changes are still told: {}",
            messages.len()
        );
        assert!(messages.windows(2).all(|w| w[1].0 - w[0].0 >= interval));
        assert_eq!(messages[0].1, MessageKind::Opened);
        assert!(messages[1..].iter().all(|m| m.1 == MessageKind::Updated));
    }

    #[test]
    fn nothing_new_is_told_again_after_the_repeat_interval() {
        let mut groups = Groups::default();
        let channels = [channel("it")];
        groups.hear([summary(1, "m365", State::Confirmed, None)]);
        groups.decide(T0, &grouping(), &channels, &[]);
        assert_eq!(
            groups
                .decide(T0 + 30_000, &grouping(), &channels, &[])
                .len(),
            1
        );
        assert!(
            groups
                .decide(T0 + 3 * HOUR, &grouping(), &channels, &[])
                .is_empty()
        );
        let again = groups.decide(T0 + 30_000 + 4 * HOUR, &grouping(), &channels, &[]);
        assert_eq!(kinds(&again), [("it", MessageKind::Reminder, 1)]);
    }

    #[test]
    fn a_silence_holds_the_opening_until_it_ends_and_matches_what_it_names() {
        let channels = [channel("it")];
        let until = |at: Millis| format_rfc3339(at);
        let silence = |services: &[&str], regions: &[&str], labels: &[&str]| Silence {
            services: services.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            until: until(T0 + HOUR),
            comment: "planned".into(),
        };
        for (silence, holds) in [
            (silence(&["m365"], &[], &[]), true),
            (silence(&["slack"], &[], &[]), false),
            (silence(&[], &["US"], &[]), true),
            (silence(&[], &["GB"], &[]), false),
            (silence(&[], &[], &["mail"]), true),
            (silence(&["m365"], &[], &["chat"]), false),
        ] {
            let mut groups = Groups::default();
            groups.hear([summary(1, "m365", State::Confirmed, None)]);
            let silences = [silence.clone()];
            groups.decide(T0, &grouping(), &channels, &silences);
            let during = groups.decide(T0 + MINUTE_MS, &grouping(), &channels, &silences);
            groups.decide(T0 + 2 * MINUTE_MS, &grouping(), &channels, &silences);
            assert_eq!(during.is_empty(), holds, "{silence:?}");
            let after = groups.decide(T0 + HOUR, &grouping(), &channels, &silences);
            assert_eq!(after.len(), usize::from(holds), "{silence:?}");
        }
    }

    #[test]
    fn channels_hear_only_their_services_places_labels_and_states() {
        let mut only_confirmed = channel("confirmed");
        only_confirmed.min_state = MinState::Confirmed;
        let mut slack_only = channel("slack");
        slack_only.services = vec!["slack".into()];
        let mut britain = channel("gb");
        britain.regions = vec!["GB".into()];
        let mut california = channel("ca");
        california.regions = vec!["US-CA".into()];
        let channels = [only_confirmed, slack_only, britain, california];
        let mut groups = Groups::default();
        groups.hear([summary(1, "m365", State::Suspected, None)]);
        groups.decide(T0, &grouping(), &channels, &[]);
        let heard = groups.decide(T0 + MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(kinds(&heard), [("ca", MessageKind::Opened, 1)]);
        groups.hear([summary(1, "m365", State::Confirmed, None)]);
        groups.decide(T0 + 2 * MINUTE_MS, &grouping(), &channels, &[]);
        let heard = groups.decide(T0 + 3 * MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(kinds(&heard), [("confirmed", MessageKind::Opened, 1)]);
    }

    #[test]
    fn an_operators_update_is_told_and_a_declared_incident_reaches_every_service_it_names() {
        let mut slack_only = channel("slack");
        slack_only.services = vec!["slack".into()];
        let channels = [channel("it"), slack_only];
        let mut groups = Groups::default();
        let mut declared = summary(1, "m365", State::Confirmed, None);
        declared.services = vec!["m365".into(), "slack".into()];
        groups.hear([declared.clone()]);
        assert!(groups.decide(T0, &grouping(), &channels, &[]).is_empty());
        let opened = groups.decide(T0 + MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(
            kinds(&opened),
            [
                ("it", MessageKind::Opened, 1),
                ("slack", MessageKind::Opened, 1)
            ]
        );
        declared.operator = Some("Identified: a bad certificate".into());
        declared.operator_updates = 1;
        groups.hear([declared]);
        let updated = groups.decide(T0 + 10 * MINUTE_MS, &grouping(), &channels, &[]);
        assert_eq!(
            kinds(&updated),
            [
                ("it", MessageKind::Updated, 1),
                ("slack", MessageKind::Updated, 1)
            ]
        );
        assert_eq!(
            updated[0].incidents[0].operator.as_deref(),
            Some("Identified: a bad certificate")
        );
    }

    #[test]
    fn groups_reloaded_from_their_json_decide_as_before() {
        let channels = [channel("it")];
        let mut groups = Groups::default();
        groups.hear([summary(1, "m365", State::Confirmed, None)]);
        groups.decide(T0, &grouping(), &channels, &[]);
        groups.decide(T0 + MINUTE_MS, &grouping(), &channels, &[]);
        let mut reloaded: Groups =
            serde_json::from_str(&serde_json::to_string(&groups).unwrap()).unwrap();
        assert_eq!(reloaded, groups);
        for g in [&mut groups, &mut reloaded] {
            g.hear([summary(1, "m365", State::Resolved, None)]);
        }
        let a = groups.decide(T0 + HOUR, &grouping(), &channels, &[]);
        let b = reloaded.decide(T0 + HOUR, &grouping(), &channels, &[]);
        assert_eq!(a, b);
        assert_eq!(kinds(&a), [("it", MessageKind::Resolved, 1)]);
    }
}
