//! The Microsoft 365 reader against a server on 127.0.0.1 started by the test that
//! plays both parts: the identity platform's token endpoint (OAuth 2.0 client
//! credentials) and Microsoft Graph's service announcement API, answers written from
//! Graph's published shapes, issues paged with `@odata.nextLink`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use seismo_core::official::{Condition, M365Source, OfficialState, Source};
use seismo_feed::FeedState;
use serde_json::{Value, json};
use support::reader;

const TENANT: &str = "7f3c2a10-0000-4000-8000-000000000001";
const CLIENT: &str = "2b1e8d44-0000-4000-8000-000000000002";
const SECRET: &str = "s3cret~value";

#[derive(Default)]
struct Tenant {
    /// Tokens issued, the last one the only one Graph accepts.
    issued: usize,
    /// Each form field the token endpoint received, last request.
    form: Vec<(String, String)>,
    exchange: &'static str,
}

type Shared = Arc<Mutex<Tenant>>;

async fn token(
    State(tenant): State<Shared>,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut tenant = tenant.lock().unwrap();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if id != TENANT || field("client_id") != Some(CLIENT) || field("client_secret") != Some(SECRET)
    {
        let refused = json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided."
        });
        return (StatusCode::UNAUTHORIZED, Json(refused)).into_response();
    }
    tenant.form = form.clone();
    tenant.issued += 1;
    Json(json!({
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
        "access_token": format!("token-{}", tenant.issued)
    }))
    .into_response()
}

/// Graph answers only the last token issued.
fn authorized(tenant: &Tenant, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer token-{}", tenant.issued);
    headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == expected.as_str())
}

async fn overviews(State(tenant): State<Shared>, headers: HeaderMap) -> Response {
    let tenant = tenant.lock().unwrap();
    if !authorized(&tenant, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#admin/serviceAnnouncement/healthOverviews",
        "value": [
            {"service": "Exchange Online", "id": "Exchange", "status": tenant.exchange},
            {"service": "Microsoft Teams", "id": "microsoftteams", "status": "serviceOperational"},
            {"service": "Microsoft Defender XDR", "id": "Microsoft365Defender", "status": "serviceOperational"}
        ]
    }))
    .into_response()
}

fn issue(id: &str, service: &str, status: &str, posts: &[(&str, &str)]) -> Value {
    json!({
        "startDateTime": "2026-01-22T18:20:00Z", "endDateTime": null,
        "lastModifiedDateTime": "2026-01-22T19:05:00Z", "title": "Users can't send or receive email",
        "id": id, "impactDescription": "Users may be unable to send or receive email.",
        "classification": "incident", "origin": "microsoft", "status": status,
        "service": service, "feature": "E-Mail and calendar access",
        "featureGroup": "E-Mail and calendar access", "isResolved": false, "details": [],
        "posts": posts.iter().map(|(at, html)| json!({
            "createdDateTime": at, "postType": "regular",
            "description": {"contentType": "html", "content": html}
        })).collect::<Vec<_>>()
    })
}

async fn issues(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let tenant = tenant.lock().unwrap();
    if !authorized(&tenant, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let host = headers.get(header::HOST).unwrap().to_str().unwrap();
    if query.iter().any(|(k, v)| k == "$skiptoken" && v == "2") {
        let mail = issue(
            "MO1221364",
            "Exchange Online",
            "serviceDegradation",
            &[(
                "2026-01-22T18:37:00Z",
                "<p>Title: Users can&#39;t send or receive email</p><p>User impact: 451 4.3.2 temporary server issue.</p>",
            )],
        );
        return Json(json!({"value": [mail]})).into_response();
    }
    let teams = issue(
        "TM1221001",
        "Microsoft Teams",
        "serviceRestored",
        &[("2026-01-22T18:50:00Z", "<p>Chat is slow.</p>")],
    );
    Json(json!({
        "value": [teams],
        "@odata.nextLink": format!("http://{host}/v1.0/admin/serviceAnnouncement/issues?$skiptoken=2")
    }))
    .into_response()
}

async fn serve(tenant: Shared) -> String {
    let app = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/v1.0/admin/serviceAnnouncement/healthOverviews",
            get(overviews),
        )
        .route("/v1.0/admin/serviceAnnouncement/issues", get(issues))
        .with_state(tenant);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

fn source(base: &str, secret: Option<&str>, secret_env: Option<&str>) -> M365Source {
    M365Source {
        tenant_id: TENANT.into(),
        client_id: CLIENT.into(),
        client_secret: secret.map(|s| seismo_core::official::Secret(s.to_string())),
        client_secret_env: secret_env.map(str::to_string),
        services: vec!["Exchange Online".into()],
        graph_url: format!("{base}/v1.0"),
        login_url: base.into(),
    }
}

async fn started() -> (Shared, String) {
    let tenant = Shared::default();
    tenant.lock().unwrap().exchange = "serviceDegradation";
    let base = serve(tenant.clone()).await;
    (tenant, base)
}

#[tokio::test]
async fn a_tenant_s_service_health_is_read_through_one_token_across_pages() {
    let (tenant, base) = started().await;
    let feed = support::feed(Source::M365(source(&base, Some(SECRET), None)));
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    let read = reader.read(&feed, &mut state, 1_000, 0.5).await;
    assert!(read.changed, "{:?}", state.reading.error);
    let status = state.reading.status.clone().unwrap();
    assert_eq!(status.condition, Condition::PartialOutage);
    assert_eq!(status.description, "Exchange Online: partial outage");
    let [mail] = status.incidents.as_slice() else {
        panic!("Exchange Online's issues only: {:?}", status.incidents)
    };
    assert_eq!(mail.id, "MO1221364", "found on the second page");
    assert_eq!(mail.state, OfficialState::Identified);
    assert_eq!(
        mail.updates[0].text,
        "Title: Users can't send or receive email User impact: 451 4.3.2 temporary server issue."
    );
    {
        let tenant = tenant.lock().unwrap();
        let field = |name: &str| {
            tenant
                .form
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
        assert_eq!(field("scope"), Some(format!("{base}/.default")));
    }

    tenant.lock().unwrap().exchange = "serviceOperational";
    let read = reader.read(&feed, &mut state, 60_000, 0.5).await;
    assert!(read.changed);
    assert_eq!(
        state.reading.status.as_ref().unwrap().condition,
        Condition::Operational
    );
    assert_eq!(
        tenant.lock().unwrap().issued,
        1,
        "the token is reused until it expires"
    );
    // An hour later the token has expired: another is asked for.
    reader.read(&feed, &mut state, 3_600_000, 0.5).await;
    assert_eq!(tenant.lock().unwrap().issued, 2);
    assert_eq!(state.reading.error, None);
}

#[tokio::test]
async fn refused_credentials_leave_the_feed_stale_with_the_platform_s_words() {
    let (_tenant, base) = started().await;
    let feed = support::feed(Source::M365(source(&base, Some("wrong"), None)));
    let mut state = FeedState::default();
    let read = reader(Duration::from_secs(5))
        .read(&feed, &mut state, 1_000, 0.5)
        .await;
    assert!(!read.changed);
    assert!(
        read.next_in >= Duration::from_secs(90),
        "backs off: {read:?}"
    );
    let error = state.reading.error.unwrap();
    assert!(error.contains("invalid_client: AADSTS7000215"), "{error}");
    assert_eq!(state.reading.failing_since, Some(1_000));
}

#[tokio::test]
async fn the_secret_can_come_from_the_environment() {
    let (_tenant, base) = started().await;
    let name = "SEISMO_TEST_M365_SECRET";
    let feed = support::feed(Source::M365(source(&base, None, Some(name))));
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    reader.read(&feed, &mut state, 1_000, 0.5).await;
    assert!(
        state.reading.error.as_deref().unwrap().contains(name),
        "unset: {:?}",
        state.reading.error
    );
    // SAFETY: no other test of this binary reads this variable.
    unsafe { std::env::set_var(name, SECRET) };
    reader.read(&feed, &mut state, 2_000, 0.5).await;
    assert_eq!(state.reading.error, None);
    assert!(state.reading.status.is_some());
}

#[tokio::test]
async fn a_token_graph_refuses_is_replaced_at_the_next_read() {
    let (tenant, base) = started().await;
    let feed = support::feed(Source::M365(source(&base, Some(SECRET), None)));
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    reader.read(&feed, &mut state, 1_000, 0.5).await;
    // Another client of the app registration took a new token: ours is refused.
    tenant.lock().unwrap().issued += 1;
    reader.read(&feed, &mut state, 2_000, 0.5).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{:?}",
        state.reading.error
    );
    reader.read(&feed, &mut state, 3_000, 0.5).await;
    assert_eq!(state.reading.error, None, "a new token was asked for");
    assert_eq!(tenant.lock().unwrap().issued, 3);
}
