//! What vendors say about their own services, as data: the status feeds the catalog
//! declares (`[[service.feed]]`) and what reading one finds — components and their
//! states, incidents with every update. Reading them is `seismo-feed`'s work; the shapes
//! live here so the catalog, the store, the engine and the site share them.
//!
//! ```toml
//! [[service.feed]]
//! kind = "statuspage"            # statuspage | rss | atom | google-cloud | m365
//! url = "https://www.githubstatus.com"
//! interval = "60s"
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// One status feed of a service, as declared in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    /// Names the feed on the site and in the API; by default `kind host`.
    #[serde(default)]
    pub name: String,
    /// Time between two reads, unless the feed asks for longer (`Retry-After`, an RSS
    /// `ttl`); failures back off from it.
    #[serde(with = "humantime_serde", default = "default_interval")]
    pub interval: Duration,
    /// The vendor's components that are this service (`["Git Operations", "API
    /// Requests"]`, any case), for a page that covers more than it. Empty: all of it.
    #[serde(default)]
    pub components: Vec<String>,
    /// An `Authorization` header to send (`"Bearer …"`, `"Basic …"`), for a private
    /// page: in the catalog…
    #[serde(default)]
    pub authorization: Option<Secret>,
    /// …or, better, the environment variable that holds it.
    #[serde(default)]
    pub authorization_env: Option<String>,
    /// Where to read, by kind.
    #[serde(flatten)]
    pub source: Source,
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

/// A credential: read from the catalog, never printed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A secret given in a settings file or in the environment variable it names.
pub fn secret_from(
    given: Option<&Secret>,
    env: Option<&str>,
    what: &str,
) -> Result<Option<String>, String> {
    match (given, env) {
        (Some(secret), _) => Ok(Some(secret.0.clone())),
        (None, Some(name)) => std::env::var(name)
            .map(Some)
            .map_err(|_| format!("the environment variable {name} holds no {what}")),
        (None, None) => Ok(None),
    }
}

impl Feed {
    /// The `Authorization` header to send, if any.
    pub fn authorization(&self) -> Result<Option<String>, String> {
        secret_from(
            self.authorization.as_ref(),
            self.authorization_env.as_deref(),
            "authorization",
        )
    }

    /// Whether the vendor's `incident` is about this service: any incident when the
    /// feed names no components, else one naming one of them.
    pub fn concerns(&self, incident: &OfficialIncident) -> bool {
        self.components.is_empty() || incident.components.iter().any(|c| self.is_mapped(c))
    }

    /// How the vendor says this service is doing: its overall condition, or the worst
    /// of the mapped components (operational when the page lists none of them).
    pub fn condition(&self, status: &OfficialStatus) -> Condition {
        if self.components.is_empty() {
            return status.condition;
        }
        status
            .components
            .iter()
            .filter(|c| self.is_mapped(&c.name))
            .map(|c| c.condition)
            .max()
            .unwrap_or(Condition::Operational)
    }

    fn is_mapped(&self, component: &str) -> bool {
        self.components
            .iter()
            .any(|mapped| mapped.eq_ignore_ascii_case(component))
    }
}

/// Where a feed is read from, by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// An Atlassian Statuspage: `url` is the page's address, and its public API
    /// (`/api/v2/summary.json`, `/api/v2/incidents.json`) is read.
    Statuspage(PageSource),
    /// An RSS feed (AWS Health Dashboard, many hosted status pages): each item an
    /// incident or an update of one.
    Rss(SyndicationSource),
    /// An Atom feed (Google Cloud, Azure, GitHub and others' history feeds), read as
    /// RSS is.
    Atom(SyndicationSource),
    /// The `incidents.json` of Google Cloud's status dashboard.
    GoogleCloud(CloudSource),
    /// Microsoft 365 Service Health through Microsoft Graph, for one tenant.
    M365(M365Source),
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Statuspage(_) => "statuspage",
            Source::Rss(_) => "rss",
            Source::Atom(_) => "atom",
            Source::GoogleCloud(_) => "google-cloud",
            Source::M365(_) => "m365",
        }
    }

    /// The address the feed is read from.
    pub fn url(&self) -> &str {
        match self {
            Source::Statuspage(PageSource { url })
            | Source::Rss(SyndicationSource { url, .. })
            | Source::Atom(SyndicationSource { url, .. })
            | Source::GoogleCloud(CloudSource { url, .. })
            | Source::M365(M365Source { graph_url: url, .. }) => url,
        }
    }
}

/// An RSS or Atom feed, and which of its items concern the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyndicationSource {
    /// The feed's own address.
    pub url: String,
    /// Keep only the items whose title or id contains one of these (any case): a feed
    /// of every AWS service narrowed to `["Amazon S3", "/S3/"]`. Empty: every item.
    #[serde(default)]
    pub include: Vec<String>,
}

/// Google Cloud's incidents document, and which products concern the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSource {
    #[serde(default = "google_cloud_incidents")]
    pub url: String,
    /// Keep only the incidents affecting one of these products (`"Cloud SQL"`, any
    /// case). Empty: every incident.
    #[serde(default)]
    pub products: Vec<String>,
}

fn google_cloud_incidents() -> String {
    "https://status.cloud.google.com/incidents.json".into()
}

/// A tenant's Microsoft 365 Service Health, read through Microsoft Graph
/// (`/admin/serviceAnnouncement/healthOverviews` and `/issues`) with an app
/// registration granted the `ServiceHealth.Read.All` application permission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M365Source {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// Its client secret, in the catalog…
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// …or, better, the environment variable that holds it.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The Microsoft 365 services that are this seismo service, as Service Health
    /// names them (`"Exchange Online"`, `"Microsoft Teams"`). Empty: all of them.
    #[serde(default)]
    pub services: Vec<String>,
    /// Microsoft Graph's address (another national cloud, or a test server).
    #[serde(default = "graph_url")]
    pub graph_url: String,
    /// The Microsoft identity platform's address, where tokens are asked for.
    #[serde(default = "login_url")]
    pub login_url: String,
}

impl M365Source {
    /// The client secret, from the catalog or its environment variable.
    pub fn secret(&self) -> Result<String, String> {
        secret_from(
            self.client_secret.as_ref(),
            self.client_secret_env.as_deref(),
            "client secret",
        )?
        .ok_or_else(|| "no client_secret or client_secret_env".into())
    }
}

fn graph_url() -> String {
    "https://graph.microsoft.com/v1.0".into()
}

fn login_url() -> String {
    "https://login.microsoftonline.com".into()
}

/// A status page at an address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSource {
    /// `https://` (or `http://`) and the page's host, such as
    /// `https://www.githubstatus.com`.
    pub url: String,
}

/// The name of a feed declared without one: its kind and host (`statuspage
/// www.githubstatus.com`).
pub fn default_name(source: &Source) -> String {
    let host = url::Url::parse(source.url())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    format!("{} {host}", source.kind())
}

/// The shortest interval a catalog may give a feed: status pages are not for
/// hammering.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// Checks a declared feed; an error names the key at fault.
pub fn validate(feed: &Feed) -> Result<(), (&'static str, String)> {
    validate_source(feed)?;
    if feed.interval < MIN_INTERVAL {
        return Err((
            "interval",
            format!(
                "a feed is read at most every {MIN_INTERVAL:?}: status pages are not for hammering"
            ),
        ));
    }
    Ok(())
}

/// Checks where a feed is read from; an error names the key at fault.
pub fn validate_source(feed: &Feed) -> Result<(), (&'static str, String)> {
    if feed.authorization.is_some() && feed.authorization_env.is_some() {
        return Err((
            "authorization",
            "give one of authorization and authorization_env".into(),
        ));
    }
    let url = url::Url::parse(feed.source.url()).map_err(|e| ("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err((
            "url",
            format!("{:?} is not an http(s) URL", feed.source.url()),
        ));
    }
    if let Source::M365(m365) = &feed.source {
        if m365.client_secret.is_some() == m365.client_secret_env.is_some() {
            return Err((
                "client_secret",
                "give one of client_secret and client_secret_env".into(),
            ));
        }
        if !matches!(
            url::Url::parse(&m365.login_url)
                .map(|u| u.scheme().to_string())
                .as_deref(),
            Ok("http" | "https")
        ) {
            return Err((
                "login_url",
                format!("{:?} is not an http(s) URL", m365.login_url),
            ));
        }
        if m365.tenant_id.is_empty() || m365.client_id.is_empty() {
            return Err((
                "tenant_id",
                "an app registration needs its tenant and client ids".into(),
            ));
        }
    }
    Ok(())
}

/// How a vendor says a component (or its whole service) is doing, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl Condition {
    /// In words, as a vendor's page shows it.
    pub fn words(self) -> &'static str {
        match self {
            Condition::Operational => "operational",
            Condition::UnderMaintenance => "under maintenance",
            Condition::DegradedPerformance => "degraded performance",
            Condition::PartialOutage => "partial outage",
            Condition::MajorOutage => "major outage",
        }
    }

    /// The vendor admits a problem (maintenance is planned, not a problem).
    pub fn is_trouble(self) -> bool {
        self > Condition::UnderMaintenance
    }
}

/// Where an official incident stands, in Statuspage's words (feeds of other kinds
/// map theirs onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficialState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
    /// Maintenance, announced and not begun.
    Scheduled,
    /// Maintenance under way.
    InProgress,
    /// Maintenance done, being checked.
    Verifying,
    /// Maintenance over.
    Completed,
}

impl OfficialState {
    /// In words, as a vendor's page shows it.
    pub fn words(self) -> &'static str {
        match self {
            OfficialState::Investigating => "investigating",
            OfficialState::Identified => "identified",
            OfficialState::Monitoring => "monitoring",
            OfficialState::Resolved => "resolved",
            OfficialState::Postmortem => "postmortem",
            OfficialState::Scheduled => "scheduled",
            OfficialState::InProgress => "in progress",
            OfficialState::Verifying => "verifying",
            OfficialState::Completed => "completed",
        }
    }

    /// The incident or maintenance is over.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            OfficialState::Resolved | OfficialState::Postmortem | OfficialState::Completed
        )
    }
}

/// One update of an official incident, in the vendor's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialUpdate {
    /// When the vendor says it posted it.
    #[serde(with = "crate::time::rfc3339")]
    pub at: Millis,
    pub state: OfficialState,
    pub text: String,
}

/// An incident (or a maintenance) as its vendor tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialIncident {
    /// The vendor's own id (`MO1221364`, a Statuspage incident id).
    pub id: String,
    pub title: String,
    pub state: OfficialState,
    /// The vendor's impact word (`none`, `minor`, `major`, `critical`, `maintenance`).
    pub impact: Option<String>,
    /// A link to the vendor's page of it.
    pub url: Option<String>,
    /// When the vendor says it began (for maintenance, when it is scheduled to).
    #[serde(with = "crate::time::rfc3339")]
    pub started_at: Millis,
    #[serde(with = "crate::time::rfc3339::option", default)]
    pub resolved_at: Option<Millis>,
    /// The components it names.
    pub components: Vec<String>,
    /// Planned work, not an outage.
    pub maintenance: bool,
    /// Oldest first.
    pub updates: Vec<OfficialUpdate>,
}

impl OfficialIncident {
    /// When the vendor first said anything: its first update, or its start.
    pub fn acknowledged_at(&self) -> Millis {
        self.updates.first().map_or(self.started_at, |u| u.at)
    }
}

/// One component of a vendor's page and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub condition: Condition,
}

/// What one read of a feed found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialStatus {
    /// The overall state the vendor shows.
    pub condition: Condition,
    /// The vendor's own summary ("All Systems Operational").
    pub description: String,
    pub components: Vec<Component>,
    /// Recent incidents and maintenances, open and closed, newest first.
    pub incidents: Vec<OfficialIncident>,
}

/// What the reads of one feed have found so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The last state read well, kept through failures.
    pub status: Option<OfficialStatus>,
    /// When it was read (or confirmed unchanged).
    pub read_at: Option<Millis>,
    /// Since when reads have failed, while they do: the feed is stale.
    pub failing_since: Option<Millis>,
    /// The last failure, in words.
    pub error: Option<String>,
    /// Failures in a row.
    pub failures: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(components: &[&str]) -> OfficialIncident {
        OfficialIncident {
            id: "x1".into(),
            title: "Degraded".into(),
            state: OfficialState::Investigating,
            impact: None,
            url: None,
            started_at: 0,
            resolved_at: None,
            components: components.iter().map(|c| c.to_string()).collect(),
            maintenance: false,
            updates: Vec::new(),
        }
    }

    #[test]
    fn a_feed_mapped_to_components_hears_only_their_incidents_and_states() {
        let feed = |components: &[&str]| Feed {
            name: "page".into(),
            interval: default_interval(),
            components: components.iter().map(|c| c.to_string()).collect(),
            authorization: None,
            authorization_env: None,
            source: Source::Statuspage(PageSource {
                url: "https://status.example.com".into(),
            }),
        };
        let status = OfficialStatus {
            condition: Condition::MajorOutage,
            description: "Major outage".into(),
            components: vec![
                Component {
                    name: "Actions".into(),
                    condition: Condition::MajorOutage,
                },
                Component {
                    name: "Git Operations".into(),
                    condition: Condition::DegradedPerformance,
                },
                Component {
                    name: "Pages".into(),
                    condition: Condition::Operational,
                },
            ],
            incidents: vec![],
        };
        let (all, git, pages) = (
            feed(&[]),
            feed(&["git operations"]),
            feed(&["Pages", "Wiki"]),
        );
        assert_eq!(all.condition(&status), Condition::MajorOutage);
        assert_eq!(git.condition(&status), Condition::DegradedPerformance);
        assert_eq!(pages.condition(&status), Condition::Operational);
        assert!(all.concerns(&incident(&["Actions"])));
        assert!(git.concerns(&incident(&["Actions", "Git Operations"])));
        assert!(!pages.concerns(&incident(&["Actions"])));
        assert!(
            !pages.concerns(&incident(&[])),
            "unnamed components are not mapped ones"
        );
    }
}
