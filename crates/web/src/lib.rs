//! seismo's HTTP face: the JSON API under `/api/v1` and the server-rendered pages.
//!
//! [`app`] builds the router from an [`AppState`], so tests can call it without a
//! socket; [`serve`] runs it on a bound listener until shutdown.

mod access;
mod admin;
mod api;
mod cache;
mod error;
mod events;
mod feeds;
mod headers;
mod intake;
mod markdown;
mod metrics;
mod pages;
mod rate;
mod server;
mod status;
mod statuspage;
mod subscriptions;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use seismo_core::geoip::GeoIp;
use seismo_core::maintenance::Maintenance;
use seismo_core::report::TimeLimits;
use seismo_core::time::Millis;

pub use api::agents::{AgentResult, Assignments, ResultBatch, Stored};
pub use cache::PageCache;
pub use error::ApiError;
pub use events::Events;
pub use rate::Rates;
pub use server::{Bounds, serve};
pub use status::{Level, Snapshot, SnapshotCache};

pub use seismo_runtime::Clock;
use seismo_runtime::Live;

/// Settings of the HTTP intake.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub limits: TimeLimits,
    /// How long the tokens read from the store are trusted before they are read
    /// again: a new or revoked token takes effect within this time.
    pub token_refresh: Millis,
    /// Largest body of a single JSON report, in bytes.
    pub max_json_body: usize,
    /// Largest NDJSON body, in bytes.
    pub max_ndjson_body: usize,
    /// Proxies whose `X-Forwarded-For` is believed: a request from one of them comes
    /// from the address it names.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The site's address as readers reach it (`https://status.example.com`), for
    /// absolute links in feeds and `/api/v2`; never taken from a request's `Host`.
    pub public_url: String,
    /// Bounds on connections, request times and event streams.
    pub bounds: Bounds,
    /// Requests per minute on the write routes.
    pub rates: Rates,
    /// Lines of an NDJSON body from a sender without a token, at most.
    pub anonymous_ndjson_lines: usize,
    /// Salt of client hashes (kept in the store).
    pub client_salt: u64,
    /// How long a status snapshot (what pages, badges, feeds and `/api/v2` show) is
    /// served before it is rebuilt from the engine, in the server's clock.
    pub fresh_for: Millis,
    /// Scheduled maintenance: its services show "under maintenance" during a window,
    /// and `/api/v2` lists the windows.
    pub maintenances: Vec<seismo_core::maintenance::Maintenance>,
    /// The notification channels, for admins to read (`GET /api/v1/channels`).
    pub channels: Vec<seismo_notify::Channel>,
    /// Whether readers may subscribe to email (the settings file has `[subscriptions]`).
    pub subscriptions: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            limits: TimeLimits::default(),
            token_refresh: 5_000,
            public_url: "http://localhost:8080".into(),
            bounds: Bounds::default(),
            rates: Rates::default(),
            anonymous_ndjson_lines: 100,
            max_json_body: 64 * 1024,
            max_ndjson_body: 64 * 1024 * 1024,
            trusted_proxies: Vec::new(),
            client_salt: 0,
            fresh_for: 5_000,
            maintenances: Vec::new(),
            channels: Vec::new(),
            subscriptions: false,
        }
    }
}

pub struct AppState {
    /// The engine, the series, the writer and the archive the server runs on.
    pub live: Arc<Live>,
    pub geoip: Option<Arc<GeoIp>>,
    pub config: WebConfig,
    pub clock: Clock,
    pub snapshots: SnapshotCache,
    pub pages: PageCache,
    pub events: Events,
    pub access: access::Access,
    pub limiter: rate::Limiter,
    /// The maintenances made through the API or the admin pages, by id.
    pub stored_maintenances: std::sync::RwLock<Vec<(i64, Maintenance)>>,
}

/// A maintenance, with the key that names it for good: `settings-N` for the settings
/// file's N-th, `api-ID` for one made through the API.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub key: String,
    /// Its id, when it was made through the API (and can be cancelled there).
    pub id: Option<i64>,
    pub maintenance: Maintenance,
}

impl AppState {
    /// The state of a server over `live`.
    pub fn new(
        live: Arc<Live>,
        geoip: Option<Arc<GeoIp>>,
        config: WebConfig,
        clock: Clock,
    ) -> AppState {
        // From here on, what the crates record shows at /metrics.
        metrics::recorder();
        AppState {
            live,
            geoip,
            clock,
            snapshots: Default::default(),
            pages: Default::default(),
            events: Events::new(&config.bounds),
            access: Default::default(),
            limiter: rate::Limiter::new(config.rates),
            stored_maintenances: Default::default(),
            config,
        }
    }

    /// Reads the maintenances made through the API from the store: at start.
    pub async fn load_stored(&self) -> Result<(), std::sync::Arc<seismo_store::StoreError>> {
        let records = self.live.writer.read(|store| store.maintenances()).await?;
        *self.stored_maintenances.write().expect("maintenances lock") = records
            .iter()
            .filter_map(|r| Some((r.id, serde_json::from_str(&r.body).ok()?)))
            .collect();
        Ok(())
    }

    /// Every maintenance: the settings file's, then those made through the API.
    pub fn maintenances(&self) -> Vec<Scheduled> {
        let declared = self
            .config
            .maintenances
            .iter()
            .enumerate()
            .map(|(i, m)| Scheduled {
                key: format!("settings-{i}"),
                id: None,
                maintenance: m.clone(),
            });
        let stored = self.stored_maintenances.read().expect("maintenances lock");
        declared
            .chain(stored.iter().map(|(id, m)| Scheduled {
                key: format!("api-{id}"),
                id: Some(*id),
                maintenance: m.clone(),
            }))
            .collect()
    }

    /// The status of every service, at most [`WebConfig::fresh_for`] old.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.get(self)
    }
}

/// `/readyz`: whether this node can serve — its store answers (the schema was brought up
/// to date when it opened, or it would not have started) — and whether it is the one
/// that stores incidents and notifies (`leader`: a node on the embedded store always
/// is; of nodes on one database, the one that holds the lead). Followers are ready
/// too: they take reports and serve pages. 503 when the store does not answer, so a
/// load balancer sends nothing.
async fn ready(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let checked = state.live.writer.read(|store| store.setting("ready")).await;
    let (status, database) = match checked {
        Ok(_) => (axum::http::StatusCode::OK, "ok".to_string()),
        Err(error) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            error.to_string(),
        ),
    };
    let body = serde_json::json!({
        "ready": status.is_success(),
        "database": database,
        "migrations": "current",
        "leader": state.live.leadership.is_leader(),
    });
    (status, axum::Json(body)).into_response()
}

pub fn app(state: Arc<AppState>) -> Router {
    // What everyone reads during an outage: cached for a few seconds, with ETags.
    let read_mostly = Router::new()
        .route("/", get(pages::index))
        .route("/services/{slug}", get(pages::service))
        .route("/incidents/{id}", get(pages::incident))
        .route("/history", get(pages::history))
        .route("/feed.atom", get(feeds::all))
        .route("/services/{slug}/feed.atom", get(feeds::service))
        .route("/badge/{file}", get(feeds::badge))
        .route("/api/v2/summary.json", get(statuspage::summary))
        .route("/api/v2/status.json", get(statuspage::status_json))
        .route("/api/v2/components.json", get(statuspage::components_json))
        .route("/api/v2/incidents.json", get(statuspage::incidents_json))
        .route(
            "/api/v2/incidents/unresolved.json",
            get(statuspage::unresolved_json),
        )
        .route(
            "/api/v2/scheduled-maintenances.json",
            get(statuspage::maintenances_json),
        )
        .route(
            "/api/v2/scheduled-maintenances/active.json",
            get(statuspage::maintenances_active_json),
        )
        .route(
            "/api/v2/scheduled-maintenances/upcoming.json",
            get(statuspage::maintenances_upcoming_json),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::respond,
        ));
    // Made to be framed by other sites; cached like the pages.
    let widget = Router::new()
        .route("/widget/{slug}", get(feeds::widget))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::respond,
        ));
    let site = Router::new()
        .merge(read_mostly)
        .route(
            "/report/{slug}",
            get(pages::report_form).post(pages::report_submit),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::render))
        .merge(admin::routes())
        .route("/services/{slug}/subscribe", post(subscriptions::form))
        .route(
            "/subscriptions/confirm",
            get(subscriptions::confirm_page).post(subscriptions::confirm),
        )
        .route(
            "/subscriptions/unsubscribe",
            get(subscriptions::unsubscribe_page).post(subscriptions::unsubscribe),
        )
        .route("/assets/{name}", get(pages::asset))
        .nest("/api/v1", api::routes_with_document())
        .fallback(|uri: axum::http::Uri| async move {
            let error = ApiError::not_found(format!("there is no page at {}", uri.path()));
            if uri.path().starts_with("/api/") {
                axum::response::IntoResponse::into_response(error)
            } else {
                pages::error_page(error)
            }
        });
    headers::pages(site)
        .merge(headers::widget(widget))
        .with_state(state)
}
