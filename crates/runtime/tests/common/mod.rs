//! What the runtime's tests share: Slack reports, eight ordinary days of them before
//! [`NOW`], and a surge after it; a probed mail service, its probe's runs and its
//! vendor's page through an outage; the incidents an engine holds.

use seismo_core::catalog::{Catalog, ProblemId};
use seismo_core::gazetteer::Gazetteer;
use seismo_core::report::{CountingRule, Report};
use seismo_core::time::{DAY_MS, MINUTE_MS, Millis};
use seismo_runtime::Live;
use seismo_store::{Store, StoredReport};

/// Eight days of ordinary traffic end here.
pub const NOW: Millis = 20_475 * DAY_MS;

/// A Slack report by `client`, from one of four US cities.
pub fn slack_report(at: Millis, client: u64) -> Report {
    let catalog = Catalog::demo();
    let city = ["Dallas", "Houston", "Seattle", "Boston"][(client % 4) as usize];
    Report {
        at,
        received: at,
        service: catalog.by_slug("slack").unwrap(),
        problem: ProblemId(0),
        place: Gazetteer::embedded().resolve_named(Some(city), Some("US"), None),
        client,
        block: client,
    }
}

/// Stores eight days of two Slack reports a minute before [`NOW`].
pub fn store_history(store: &mut dyn Store) {
    let catalog = Catalog::demo();
    let reports: Vec<Report> = (0..8 * 24 * 60)
        .flat_map(|m| {
            let at = NOW - 8 * DAY_MS + m * MINUTE_MS;
            [
                slack_report(at, 2 * m as u64),
                slack_report(at, 2 * m as u64 + 1),
            ]
        })
        .collect();
    for chunk in reports.chunks(10_000) {
        let stored: Vec<StoredReport> = chunk
            .iter()
            .map(|r| StoredReport::from_report(r, &catalog, Gazetteer::embedded()))
            .collect();
        store.append(&stored, CountingRule::DEFAULT_WINDOW).unwrap();
    }
}

/// Submits forty reports a minute for `minutes` from [`NOW`], each of another reporter,
/// to `live`'s writer, and waits until they are stored and counted.
pub fn surge(live: &Live, minutes: i64) {
    let reports: Vec<Report> = (0..minutes)
        .flat_map(|m| {
            (0..40).map(move |k| slack_report(NOW + m * MINUTE_MS, 1_000_000 + (m * 40 + k) as u64))
        })
        .collect();
    let outcomes = live
        .writer
        .submit_blocking(reports)
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert!(outcomes.iter().all(|o| o.counted));
}

/// A mail service with an SMTP probe and a Statuspage feed.
pub const PROBED: &str = r#"
[[service]]
slug = "mail"
name = "Mail"

[[service.probe]]
name = "mx"
kind = "smtp"
target = "mx.mail.test:25"
mail_from = "probe@seismo.test"
rcpt_to = "postmaster@mail.test"

[[service.feed]]
kind = "statuspage"
url = "https://status.mail.test"
"#;

/// The mail vendor's page at minute `minute`: an incident from minute 38, investigated
/// until it is resolved at minute 70.
pub fn mail_page(minute: i64) -> seismo_core::official::OfficialStatus {
    use seismo_core::official::{Condition, OfficialIncident, OfficialState, OfficialUpdate};
    let resolved = minute >= 70;
    let mut updates = vec![OfficialUpdate {
        at: NOW + 38 * MINUTE_MS,
        state: OfficialState::Investigating,
        text: "We are looking into delayed mail.".into(),
    }];
    if resolved {
        updates.push(OfficialUpdate {
            at: NOW + 70 * MINUTE_MS,
            state: OfficialState::Resolved,
            text: "Mail flows again.".into(),
        });
    }
    seismo_core::official::OfficialStatus {
        condition: Condition::Operational,
        description: "All Systems Operational".into(),
        components: vec![],
        incidents: vec![OfficialIncident {
            id: "INC1".into(),
            title: "Delayed mail".into(),
            state: updates.last().unwrap().state,
            impact: Some("major".into()),
            url: None,
            started_at: NOW + 38 * MINUTE_MS,
            resolved_at: resolved.then_some(NOW + 70 * MINUTE_MS),
            components: vec![],
            maintenance: false,
            updates,
        }],
    }
}

/// The runs of the `mx` probe from four places in minute `minute` after [`NOW`], five
/// seconds into it: three hear 451 at RCPT TO from minute 30 to 60, and all of them
/// are slow from minute 110 to 130.
pub fn mx_runs(minute: i64) -> Vec<seismo_core::probe::ProbeResult> {
    use seismo_core::probe::{Detail, Failure, FailureKind, Outcome, ProbeResult};
    ["Chicago", "Dallas", "Seattle", "Boston"]
        .iter()
        .enumerate()
        .map(|(n, location)| {
            let fails = (30..60).contains(&minute) && n < 3;
            let slow = (110..130).contains(&minute);
            ProbeResult {
                service: "mail".into(),
                probe: "mx".into(),
                location: location.to_string(),
                at: NOW + minute * MINUTE_MS + 5_000,
                attempts: 1,
                outcome: Outcome {
                    ok: !fails,
                    latency_ms: if slow {
                        4_000
                    } else {
                        30 + (minute % 5) as u64
                    },
                    failure: fails.then(|| Failure {
                        kind: FailureKind::Unexpected,
                        message: "RCPT TO answered 451 4.3.2 Temporary server error".into(),
                    }),
                    detail: Detail::Tcp {},
                },
            }
        })
        .collect()
}

/// The incidents of `live`'s engine: id, state, and log.
pub fn incidents(live: &Live) -> Vec<(u64, String, Vec<seismo_detect::incident::LogEntry>)> {
    let engine = live.engine.lock().unwrap();
    engine
        .incidents()
        .iter()
        .map(|i| (i.id.0, i.state.as_str().to_string(), i.log.clone()))
        .collect()
}

/// A post of `author` saying `text`, classified for the demo catalog.
pub fn post(at: Millis, author: u64, text: &str) -> seismo_core::post::Post {
    let catalog = Catalog::demo();
    seismo_core::post::Post {
        at,
        received: at,
        source: seismo_core::post::PostSource::Api,
        text: text.to_string(),
        lang: None,
        author,
        author_shown: None,
        place: Default::default(),
        classification: seismo_core::post::Classifier::new(&catalog).classify(text),
    }
}

/// Stores eight days of a complaint about Slack every ten minutes before [`NOW`], each
/// by someone new: the posts' normal.
pub fn store_post_history(store: &mut dyn Store) {
    let catalog = Catalog::demo();
    let complaint = post(NOW, 0, "slack is down for me");
    let records: Vec<seismo_store::PostRecord> = (0..8 * 24 * 6)
        .map(|k| seismo_store::PostRecord {
            at: NOW - 8 * DAY_MS + k * 10 * MINUTE_MS,
            received: NOW,
            source: "api".into(),
            author: 5_000_000 + k as u64,
            author_shown: None,
            lang: None,
            city_geonameid: None,
            text: complaint.text.clone(),
            service: Some("slack".into()),
            complaint: true,
            problem: Some(catalog.service(catalog.by_slug("slack").unwrap()).problems[0].clone()),
            rules: complaint.classification.rules.clone(),
        })
        .collect();
    let outcomes = store
        .add_posts(&records, CountingRule::DEFAULT_WINDOW)
        .unwrap();
    assert!(outcomes.iter().all(|o| o.counted));
}
