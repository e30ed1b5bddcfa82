//! The Statuspage reader against a Statuspage-shaped server on 127.0.0.1 started by
//! the test: documents written from Statuspage's published API, changed between reads
//! as an incident opens, is updated and resolves; and servers that misbehave.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use seismo_core::official::{Condition, Feed, OfficialState, PageSource, Source};
use seismo_core::time::parse_rfc3339;
use seismo_feed::FeedState;
use serde_json::{Value, json};
use support::{Shared, reader, serve};

fn feed(url: &str) -> Feed {
    support::feed(Source::Statuspage(PageSource { url: url.into() }))
}

fn component(name: &str, status: &str) -> Value {
    json!({
        "id": name.to_lowercase().replace(' ', "-"), "name": name, "status": status,
        "created_at": "2017-01-31T20:01:46.621Z", "updated_at": "2026-01-22T18:40:00.000Z",
        "position": 1, "description": null, "showcase": false, "start_date": null,
        "group_id": null, "page_id": "kctbh9vrtdwd", "group": false, "only_show_if_degraded": false
    })
}

/// An incident in `incidents.json`'s shape, with `updates` (status, body, time) given
/// oldest first and listed newest first, as Statuspage does.
fn incident(status: &str, updates: &[(&str, &str, &str)]) -> Value {
    let resolved = (status == "resolved").then(|| updates.last().unwrap().2);
    json!({
        "id": "p0qhhxg4zfzh", "name": "Incident with Exchange Online mail delivery",
        "status": status, "impact": "major",
        "created_at": "2026-01-22T18:37:12.000Z", "updated_at": updates.last().unwrap().2,
        "monitoring_at": null, "resolved_at": resolved,
        "shortlink": "https://stspg.io/p0qhhxg4zfzh", "started_at": "2026-01-22T18:15:00.000Z",
        "page_id": "kctbh9vrtdwd",
        "components": [component("Exchange Online", "major_outage")],
        "incident_updates": updates.iter().rev().enumerate().map(|(i, (status, body, at))| json!({
            "id": format!("u{i}"), "status": status, "body": body, "incident_id": "p0qhhxg4zfzh",
            "created_at": at, "updated_at": at, "display_at": at,
            "affected_components": [{"code": "exchange-online", "name": "Exchange Online",
                "old_status": "operational", "new_status": "major_outage"}],
            "deliver_notifications": true, "custom_tweet": null, "tweet_id": null
        })).collect::<Vec<_>>()
    })
}

fn summary(indicator: &str, exchange: &str, open: Option<&Value>) -> Value {
    json!({
        "page": {"id": "kctbh9vrtdwd", "name": "Microsoft 365", "url": "https://status.example.com",
                 "time_zone": "Etc/UTC", "updated_at": "2026-01-22T18:40:00.000Z"},
        "components": [component("Exchange Online", exchange), component("Microsoft Teams", "operational")],
        "incidents": open.into_iter().collect::<Vec<_>>(),
        "scheduled_maintenances": [],
        "status": {"indicator": indicator, "description": if indicator == "none" { "All Systems Operational" } else { "Partial System Outage" }}
    })
}

const SUMMARY: &str = "/api/v2/summary.json";
const INCIDENTS: &str = "/api/v2/incidents.json";

const ACK: (&str, &str, &str) = (
    "investigating",
    "MO1221364: Users may be unable to send or receive email. 451 4.3.2 temporary server issue.",
    "2026-01-22T18:37:12.000Z",
);
const UPDATE: (&str, &str, &str) = (
    "identified",
    "We've identified a configuration change and are reverting it.",
    "2026-01-22T19:30:00.000Z",
);
const RESOLVED: (&str, &str, &str) = (
    "resolved",
    "Mail flow is restored.",
    "2026-01-22T21:14:00.000Z",
);

#[tokio::test]
async fn an_incident_appears_is_updated_and_resolves_across_reads() {
    let page: Shared = Arc::default();
    page.lock()
        .unwrap()
        .json(SUMMARY, &summary("none", "operational", None));
    page.lock()
        .unwrap()
        .json(INCIDENTS, &json!({"page": {}, "incidents": []}));
    let url = serve(page.clone()).await;
    let (feed, reader, mut state) = (
        feed(&url),
        reader(Duration::from_secs(5)),
        FeedState::default(),
    );

    let read = reader.read(&feed, &mut state, 1_000, 0.0).await;
    assert!(read.changed);
    assert_eq!(read.next_in, Duration::from_secs(60));
    let status = state.reading.status.clone().unwrap();
    assert_eq!(status.condition, Condition::Operational);
    assert_eq!(status.description, "All Systems Operational");
    assert_eq!(status.components.len(), 2);
    assert!(status.incidents.is_empty());

    // The vendor acknowledges.
    let open = incident("investigating", &[ACK]);
    {
        let mut page = page.lock().unwrap();
        page.json(SUMMARY, &summary("major", "major_outage", Some(&open)));
        page.json(INCIDENTS, &json!({"page": {}, "incidents": [open]}));
    }
    assert!(reader.read(&feed, &mut state, 2_000, 0.0).await.changed);
    let status = state.reading.status.clone().unwrap();
    assert_eq!(status.condition, Condition::PartialOutage);
    assert_eq!(status.components[0].condition, Condition::MajorOutage);
    let official = &status.incidents[0];
    assert_eq!(official.id, "p0qhhxg4zfzh");
    assert_eq!(official.state, OfficialState::Investigating);
    assert_eq!(official.components, ["Exchange Online"]);
    assert_eq!(
        official.started_at,
        parse_rfc3339("2026-01-22T18:15:00Z").unwrap()
    );
    assert_eq!(
        official.acknowledged_at(),
        parse_rfc3339("2026-01-22T18:37:12Z").unwrap()
    );
    assert!(official.updates[0].text.starts_with("MO1221364: "));

    // Updated, then resolved: gone from the summary, still in incidents.json.
    let updated = incident("identified", &[ACK, UPDATE]);
    {
        let mut page = page.lock().unwrap();
        page.json(SUMMARY, &summary("major", "major_outage", Some(&updated)));
        page.json(INCIDENTS, &json!({"page": {}, "incidents": [updated]}));
    }
    reader.read(&feed, &mut state, 3_000, 0.0).await;
    let states: Vec<OfficialState> = state.reading.status.as_ref().unwrap().incidents[0]
        .updates
        .iter()
        .map(|u| u.state)
        .collect();
    assert_eq!(
        states,
        [OfficialState::Investigating, OfficialState::Identified],
        "oldest first"
    );
    {
        let mut page = page.lock().unwrap();
        page.json(SUMMARY, &summary("none", "operational", None));
        page.json(
            INCIDENTS,
            &json!({"page": {}, "incidents": [incident("resolved", &[ACK, UPDATE, RESOLVED])]}),
        );
    }
    reader.read(&feed, &mut state, 4_000, 0.0).await;
    let status = state.reading.status.clone().unwrap();
    assert_eq!(status.condition, Condition::Operational);
    let official = &status.incidents[0];
    assert_eq!(official.state, OfficialState::Resolved);
    assert_eq!(official.resolved_at, parse_rfc3339("2026-01-22T21:14:00Z"));
    assert_eq!(official.updates.len(), 3);
}

#[tokio::test]
async fn a_private_page_is_read_with_the_authorization_from_the_environment() {
    let page: Shared = Arc::default();
    {
        let mut page = page.lock().unwrap();
        page.json(SUMMARY, &summary("none", "operational", None));
        page.json(INCIDENTS, &json!({"page": {}, "incidents": []}));
        page.authorization = Some("Bearer page-key".into());
    }
    let url = serve(page.clone()).await;
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    let anonymous = feed(&url);
    reader.read(&anonymous, &mut state, 1_000, 0.0).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{:?}",
        state.reading.error
    );
    let name = "SEISMO_TEST_STATUSPAGE_AUTHORIZATION";
    let private = Feed {
        authorization_env: Some(name.into()),
        ..feed(&url)
    };
    reader.read(&private, &mut state, 2_000, 0.0).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .is_some_and(|e| e.contains(name)),
        "unset: {:?}",
        state.reading.error
    );
    // SAFETY: no other test of this binary reads this variable.
    unsafe { std::env::set_var(name, "Bearer page-key") };
    assert!(reader.read(&private, &mut state, 3_000, 0.0).await.changed);
    assert_eq!(state.reading.error, None);
}

#[tokio::test]
async fn a_link_that_is_not_a_web_page_is_dropped() {
    let mut hostile = incident("investigating", &[ACK]);
    hostile["shortlink"] = json!("javascript:alert(document.cookie)");
    let page: Shared = Arc::default();
    page.lock()
        .unwrap()
        .json(SUMMARY, &summary("major", "major_outage", Some(&hostile)));
    page.lock()
        .unwrap()
        .json(INCIDENTS, &json!({"page": {}, "incidents": [hostile]}));
    let url = serve(page).await;
    let mut state = FeedState::default();
    reader(Duration::from_secs(5))
        .read(&feed(&url), &mut state, 1_000, 0.0)
        .await;
    let status = state.reading.status.unwrap();
    assert_eq!(status.incidents[0].id, "p0qhhxg4zfzh");
    assert_eq!(status.incidents[0].url, None);
}

#[tokio::test]
async fn an_unchanged_page_is_asked_conditionally_and_answers_304() {
    let page: Shared = Arc::default();
    page.lock()
        .unwrap()
        .json(SUMMARY, &summary("none", "operational", None));
    page.lock()
        .unwrap()
        .json(INCIDENTS, &json!({"page": {}, "incidents": []}));
    let url = serve(page.clone()).await;
    let (feed, reader, mut state) = (
        feed(&url),
        reader(Duration::from_secs(5)),
        FeedState::default(),
    );
    assert!(reader.read(&feed, &mut state, 1_000, 0.0).await.changed);
    let read = reader.read(&feed, &mut state, 2_000, 0.0).await;
    assert!(!read.changed);
    assert_eq!(state.reading.read_at, Some(2_000), "a 304 is a good read");
    let page = page.lock().unwrap();
    assert_eq!((page.requests, page.not_modified), (4, 2));
}

#[tokio::test]
async fn failures_keep_the_last_good_state_back_off_and_honour_retry_after() {
    let page: Shared = Arc::default();
    page.lock()
        .unwrap()
        .json(SUMMARY, &summary("none", "operational", None));
    page.lock()
        .unwrap()
        .json(INCIDENTS, &json!({"page": {}, "incidents": []}));
    let url = serve(page.clone()).await;
    let (feed, reader, mut state) = (
        feed(&url),
        reader(Duration::from_millis(500)),
        FeedState::default(),
    );
    reader.read(&feed, &mut state, 1_000, 0.0).await;
    let good = state.reading.status.clone();

    // 500 with Retry-After: 120 — asked for two minutes, the back-off says 90 s.
    page.lock().unwrap().failing = Some(StatusCode::INTERNAL_SERVER_ERROR);
    let read = reader.read(&feed, &mut state, 2_000, 0.0).await;
    assert_eq!(read.next_in, Duration::from_secs(120));
    assert_eq!(
        (state.reading.failures, state.reading.failing_since),
        (1, Some(2_000))
    );
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .ends_with("answered HTTP 500"),
        "{:?}",
        state.reading.error
    );
    assert_eq!(state.reading.status, good);

    // Truncated JSON: malformed, naming the document.
    {
        let mut page = page.lock().unwrap();
        page.failing = None;
        page.raw = Some(br#"{"page": {"id": "kctbh9vrtdwd"}, "status": {"indic"#.to_vec());
    }
    let read = reader.read(&feed, &mut state, 3_000, 0.0).await;
    assert_eq!(
        read.next_in,
        Duration::from_secs(180),
        "the second failure in a row"
    );
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .contains("summary.json"),
        "{:?}",
        state.reading.error
    );
    assert_eq!(
        (state.reading.status.clone(), state.reading.failing_since),
        (good.clone(), Some(2_000))
    );

    // A status that is not one of Statuspage's: the field is named.
    {
        let mut page = page.lock().unwrap();
        page.raw = None;
        page.json(SUMMARY, &summary("none", "sort_of_ok", None));
    }
    reader.read(&feed, &mut state, 4_000, 0.0).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .contains("\"sort_of_ok\""),
        "{:?}",
        state.reading.error
    );

    // Slower than the timeout.
    {
        let mut page = page.lock().unwrap();
        page.json(
            SUMMARY,
            &summary(
                "none",
                "operational",
                Some(&incident("investigating", &[ACK])),
            ),
        );
        page.delay = Duration::from_secs(2);
    }
    reader.read(&feed, &mut state, 5_000, 0.0).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .contains("did not answer within"),
        "{:?}",
        state.reading.error
    );
    assert_eq!(state.reading.status, good);

    // Back: the new state, and the stale mark cleared.
    page.lock().unwrap().delay = Duration::ZERO;
    let read = reader.read(&feed, &mut state, 6_000, 0.0).await;
    assert!(read.changed);
    assert_eq!(
        (
            state.reading.failures,
            state.reading.failing_since,
            state.reading.error.clone()
        ),
        (0, None, None)
    );
    assert_eq!(state.reading.status.as_ref().unwrap().incidents.len(), 1);
}

#[tokio::test]
async fn a_document_over_the_limit_is_refused_and_nothing_answers_is_unreachable() {
    let page: Shared = Arc::default();
    page.lock().unwrap().raw = Some(vec![b' '; seismo_feed::MAX_DOCUMENT + 1]);
    let url = serve(page.clone()).await;
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    reader.read(&feed(&url), &mut state, 1_000, 0.0).await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .contains("sent more than"),
        "{:?}",
        state.reading.error
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut state = FeedState::default();
    reader
        .read(&feed(&format!("http://{closed}")), &mut state, 1_000, 0.0)
        .await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .starts_with("cannot reach"),
        "{:?}",
        state.reading.error
    );
    assert!(state.reading.status.is_none());
}
