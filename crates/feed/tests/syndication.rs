//! RSS, Atom and Google Cloud feeds against a server on 127.0.0.1 started by the test,
//! with documents written from the shapes AWS's Health Dashboard, Statuspage's history
//! feed and Google Cloud's dashboard publish.

mod support;

use std::sync::Arc;
use std::time::Duration;

use seismo_core::official::{CloudSource, Condition, OfficialState, Source, SyndicationSource};
use seismo_core::time::parse_rfc3339;
use seismo_feed::FeedState;
use support::{Shared, feed, reader, serve};

const AWS_RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title><![CDATA[Amazon Web Services Service Status]]></title>
    <link>https://health.aws.amazon.com/health/status</link>
    <language>en-us</language>
    <lastBuildDate>Thu, 22 Jan 2026 11:00:00 PST</lastBuildDate>
    <description><![CDATA[Amazon Web Services Service Status]]></description>
    <ttl>5</ttl>
    <item>
      <title><![CDATA[Increased API Error Rates]]></title>
      <link>https://health.aws.amazon.com/health/status</link>
      <pubDate>Thu, 22 Jan 2026 10:20:00 PST</pubDate>
      <guid isPermaLink="false">https://health.aws.amazon.com/health/status#s3-us-east-1_1769106000</guid>
      <description><![CDATA[<p>We are investigating increased error rates for S3 requests in the US-EAST-1 Region.</p>]]></description>
    </item>
    <item>
      <title><![CDATA[Service is operating normally: [RESOLVED] Elevated launch times]]></title>
      <link>https://health.aws.amazon.com/health/status</link>
      <pubDate>Wed, 21 Jan 2026 08:45:00 PST</pubDate>
      <guid isPermaLink="false">https://health.aws.amazon.com/health/status#ec2-eu-west-3_1768999500</guid>
      <description><![CDATA[Between 7:50 AM and 8:40 AM PST instance launches were delayed. The issue has been resolved.]]></description>
    </item>
  </channel>
</rss>"#;

const HISTORY_ATOM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">
  <id>tag:www.githubstatus.com,2005:/history</id>
  <link rel="alternate" type="text/html" href="https://www.githubstatus.com"/>
  <link rel="self" type="application/atom+xml" href="https://www.githubstatus.com/history.atom"/>
  <title>GitHub Status - Incident History</title>
  <updated>2026-01-22T19:00:00Z</updated>
  <entry>
    <id>tag:www.githubstatus.com,2005:Incident/27312345</id>
    <published>2026-01-22T18:20:00Z</published>
    <updated>2026-01-22T18:40:00Z</updated>
    <link rel="alternate" type="text/html" href="https://www.githubstatus.com/incidents/x7lm1y1y8r0p"/>
    <title>Disruption with some GitHub services</title>
    <content type="html">&lt;p&gt;&lt;small&gt;Jan &lt;var data-var='date'&gt;22&lt;/var&gt;, 18:40 UTC&lt;/small&gt;&lt;br&gt;&lt;strong&gt;Investigating&lt;/strong&gt; - We are investigating reports of degraded performance for Actions.&lt;/p&gt;</content>
  </entry>
</feed>"#;

const GOOGLE_CLOUD: &str = r#"[
  {"id": "mLx8Q3tq5aKXgWbq7Zzz", "number": "8827134425961377210", "begin": "2026-01-22T18:05:00+00:00",
   "created": "2026-01-22T18:21:45+00:00", "end": null, "modified": "2026-01-22T18:50:12+00:00",
   "external_desc": "Cloud SQL instances unreachable in us-central1", "status_impact": "SERVICE_OUTAGE",
   "severity": "high", "service_key": "hV87iK5DcEXKgWU2kDri", "service_name": "Cloud SQL",
   "uri": "incidents/mLx8Q3tq5aKXgWbq7Zzz",
   "affected_products": [{"title": "Cloud SQL", "id": "hV87iK5DcEXKgWU2kDri"}],
   "currently_affected_locations": [{"title": "Iowa (us-central1)", "id": "us-central1"}],
   "previously_affected_locations": [],
   "updates": [
     {"created": "2026-01-22T18:50:12+00:00", "modified": "2026-01-22T18:50:12+00:00", "when": "2026-01-22T18:50:12+00:00",
      "text": "Mitigation work is under way.", "status": "SERVICE_OUTAGE", "affected_locations": []},
     {"created": "2026-01-22T18:21:45+00:00", "modified": "2026-01-22T18:21:45+00:00", "when": "2026-01-22T18:21:45+00:00",
      "text": "We are investigating an issue with **Cloud SQL**.", "status": "SERVICE_OUTAGE", "affected_locations": []}
   ]},
  {"id": "a1b2c3", "number": "1", "begin": "2026-01-10T08:00:00+00:00", "created": "2026-01-10T08:10:00+00:00",
   "end": "2026-01-10T09:00:00+00:00", "modified": "2026-01-10T09:00:00+00:00",
   "external_desc": "Compute Engine API errors", "status_impact": "SERVICE_DISRUPTION", "severity": "medium",
   "service_key": "L3ggmi3Jy4xJmgodFA9K", "service_name": "Google Compute Engine", "uri": "incidents/a1b2c3",
   "affected_products": [{"title": "Google Compute Engine", "id": "L3ggmi3Jy4xJmgodFA9K"}],
   "currently_affected_locations": [], "previously_affected_locations": [],
   "updates": [{"created": "2026-01-10T09:00:00+00:00", "when": "2026-01-10T09:00:00+00:00",
     "text": "The issue has been resolved.", "status": "AVAILABLE", "affected_locations": []}]}
]"#;

async fn page_with(path: &str, body: &str, content_type: &'static str) -> String {
    let page: Shared = Arc::default();
    page.lock().unwrap().text(path, body, content_type);
    serve(page).await
}

#[tokio::test]
async fn an_rss_feed_narrowed_to_one_service_with_its_region_and_ttl() {
    let base = page_with("/rss/all.rss", AWS_RSS, "application/rss+xml").await;
    let source = |include: &[&str]| {
        Source::Rss(SyndicationSource {
            url: format!("{base}/rss/all.rss"),
            include: include.iter().map(|s| s.to_string()).collect(),
        })
    };
    let reader = reader(Duration::from_secs(5));
    let now = parse_rfc3339("2026-01-22T19:00:00Z").unwrap();

    let mut state = FeedState::default();
    let read = reader
        .read(&feed(source(&["#s3-"])), &mut state, now, 0.0)
        .await;
    assert_eq!(
        read.next_in,
        Duration::from_secs(300),
        "the feed's ttl of 5 minutes"
    );
    let status = state.reading.status.unwrap();
    assert_eq!(
        status.condition,
        Condition::DegradedPerformance,
        "an open item of today"
    );
    let [s3] = status.incidents.as_slice() else {
        panic!("{:?}", status.incidents)
    };
    assert_eq!(s3.title, "Increased API Error Rates");
    assert_eq!(s3.state, OfficialState::Investigating);
    assert_eq!(s3.components, ["us-east-1"]);
    assert_eq!(
        s3.started_at,
        parse_rfc3339("2026-01-22T18:20:00Z").unwrap()
    );
    assert_eq!(
        s3.updates[0].text,
        "We are investigating increased error rates for S3 requests in the US-EAST-1 Region."
    );

    // Every item: the EC2 one says it is resolved.
    let mut state = FeedState::default();
    reader.read(&feed(source(&[])), &mut state, now, 0.0).await;
    let status = state.reading.status.unwrap();
    assert_eq!(status.incidents.len(), 2);
    let ec2 = &status.incidents[1];
    assert_eq!(
        (ec2.state, ec2.components.as_slice()),
        (
            OfficialState::Resolved,
            ["eu-west-3".to_string()].as_slice()
        )
    );
    assert_eq!(ec2.resolved_at, parse_rfc3339("2026-01-21T16:45:00Z"));

    // A day later the open item is old news: the vendor no longer admits trouble.
    let mut state = FeedState::default();
    reader
        .read(
            &feed(source(&["#s3-"])),
            &mut state,
            now + 2 * 86_400_000,
            0.0,
        )
        .await;
    assert_eq!(
        state.reading.status.unwrap().condition,
        Condition::Operational
    );
}

#[tokio::test]
async fn an_atom_history_feed_is_read_as_incidents_in_plain_words() {
    let base = page_with("/history.atom", HISTORY_ATOM, "application/atom+xml").await;
    let source = Source::Atom(SyndicationSource {
        url: format!("{base}/history.atom"),
        include: Vec::new(),
    });
    let mut state = FeedState::default();
    let now = parse_rfc3339("2026-01-22T19:00:00Z").unwrap();
    reader(Duration::from_secs(5))
        .read(&feed(source), &mut state, now, 0.0)
        .await;
    let status = state.reading.status.unwrap();
    let incident = &status.incidents[0];
    assert_eq!(
        incident.id,
        "tag:www.githubstatus.com,2005:Incident/27312345"
    );
    assert_eq!(
        incident.url.as_deref(),
        Some("https://www.githubstatus.com/incidents/x7lm1y1y8r0p")
    );
    assert_eq!(
        incident.updates[0].text,
        "Jan 22 , 18:40 UTC Investigating - We are investigating reports of degraded performance for Actions."
    );
    assert_eq!(
        incident.updates[0].at,
        parse_rfc3339("2026-01-22T18:40:00Z").unwrap()
    );
    assert_eq!(status.condition, Condition::DegradedPerformance);
}

#[tokio::test]
async fn malformed_rss_is_an_error_and_keeps_nothing_false() {
    let base = page_with(
        "/bad.rss",
        "<rss><channel><item><title>cut",
        "application/rss+xml",
    )
    .await;
    let source = Source::Rss(SyndicationSource {
        url: format!("{base}/bad.rss"),
        include: Vec::new(),
    });
    let mut state = FeedState::default();
    reader(Duration::from_secs(5))
        .read(&feed(source), &mut state, 0, 0.0)
        .await;
    assert!(
        state
            .reading
            .error
            .as_deref()
            .unwrap()
            .starts_with("malformed feed"),
        "{:?}",
        state.reading.error
    );
    assert!(state.reading.status.is_none());
}

#[tokio::test]
async fn google_clouds_incidents_for_one_product() {
    let base = page_with("/incidents.json", GOOGLE_CLOUD, "application/json").await;
    let source = |products: &[&str]| {
        Source::GoogleCloud(CloudSource {
            url: format!("{base}/incidents.json"),
            products: products.iter().map(|s| s.to_string()).collect(),
        })
    };
    let reader = reader(Duration::from_secs(5));
    let mut state = FeedState::default();
    reader
        .read(&feed(source(&["cloud sql"])), &mut state, 0, 0.0)
        .await;
    let status = state.reading.status.unwrap();
    assert_eq!(status.condition, Condition::MajorOutage);
    let [sql] = status.incidents.as_slice() else {
        panic!("{:?}", status.incidents)
    };
    assert_eq!(sql.id, "mLx8Q3tq5aKXgWbq7Zzz");
    assert_eq!(sql.components, ["Cloud SQL", "Iowa (us-central1)"]);
    assert_eq!(
        sql.acknowledged_at(),
        parse_rfc3339("2026-01-22T18:21:45Z").unwrap()
    );
    assert_eq!(sql.updates[1].text, "Mitigation work is under way.");
    assert_eq!(
        sql.url.as_deref(),
        Some("https://status.cloud.google.com/incidents/mLx8Q3tq5aKXgWbq7Zzz")
    );

    let mut state = FeedState::default();
    reader
        .read(
            &feed(source(&["Google Compute Engine"])),
            &mut state,
            0,
            0.0,
        )
        .await;
    let status = state.reading.status.unwrap();
    assert_eq!(
        status.condition,
        Condition::Operational,
        "its incident has ended"
    );
    assert_eq!(status.incidents[0].state, OfficialState::Resolved);
    assert_eq!(
        status.incidents[0].updates[0].state,
        OfficialState::Resolved
    );
}
