//! The status site against `seismo serve --demo` once the Microsoft 365 outage is
//! found: pages, the Statuspage-compatible API, Atom feeds and badges. One server for
//! all the checks (each is a function), since the story takes half a minute to unfold.

mod support;

use serde_json::Value;
use support::Received;
use support::Server;

fn get_text(server: &Server, path: &str) -> (u16, String, String) {
    let response = support::http_get(server.url(path)).unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().unwrap())
}

/// Starts the demo and waits until the Microsoft 365 incident has its 7 cities and the
/// GoDaddy and Mimecast incidents are linked to it. Returns too the `incident` events
/// received meanwhile from `/api/v1/events`.
fn demo_during_the_outage() -> (Server, tempfile::TempDir, Vec<Value>, Received) {
    let dir = tempfile::tempdir().unwrap();
    let (received, hook) = support::webhook_receiver();
    let config = dir.path().join("seismo.toml");
    std::fs::write(
        &config,
        format!("[[channel]]\nname = \"it-team\"\nurl = \"{hook}\"\n"),
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("unused"),
        &["--demo", "--config", config.to_str().unwrap()],
    );
    let (sender, events) = std::sync::mpsc::channel();
    let stream = support::http()
        .timeout(None)
        .build()
        .unwrap()
        .get(server.url("/api/v1/events"))
        .send()
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut event = String::new();
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
            } else if let Some(data) = line.strip_prefix("data: ")
                && event == "incident"
                && sender
                    .send(serde_json::from_str::<Value>(data).unwrap())
                    .is_err()
            {
                return;
            }
        }
    });
    let started = std::time::Instant::now();
    loop {
        let incidents = server.get("/api/v1/incidents?state=active");
        let active = incidents["incidents"].as_array().unwrap();
        let of = |slug: &str| active.iter().find(|i| i["service"] == slug);
        if of("microsoft-365").is_some_and(|i| i["cities"].as_array().unwrap().len() == 7)
            && ["godaddy", "mimecast"]
                .iter()
                .all(|s| of(s).is_some_and(|i| i["upstream"]["service"] == "microsoft-365"))
        {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 90,
            "no Microsoft 365 incident: {incidents}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    (server, dir, events.try_iter().collect(), received)
}

/// The IT team's webhook hears the Microsoft 365 outage once as it opens, with
/// GoDaddy and Mimecast folded into its updates (never a message of their own) and
/// the vendor's acknowledgement told.
fn the_it_team_hears_one_grouped_outage(received: &Received) {
    let started = std::time::Instant::now();
    let told_acknowledgement = |messages: &[Value]| {
        messages.iter().any(|m| {
            m["incidents"][0]["acknowledged_at"] == "2026-01-22T18:37:00Z"
                && m["incidents"][0]["vendor"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("MO1221364"))
        })
    };
    let messages = loop {
        let messages = received.lock().unwrap().clone();
        if told_acknowledgement(&messages) {
            break messages;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the acknowledgement was not told: {messages:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let root = |m: &Value| m["incidents"][0]["service"].as_str().unwrap().to_string();
    let mail: Vec<&Value> = messages
        .iter()
        .filter(|m| root(m) == "microsoft-365")
        .collect();
    let kinds: Vec<&str> = mail.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "opened", "{kinds:?}");
    assert!(kinds[1..].iter().all(|k| *k == "updated"), "{kinds:?}");
    let sequences: Vec<u64> = mail
        .iter()
        .map(|m| m["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=mail.len() as u64).collect::<Vec<_>>());
    assert!(mail.iter().all(|m| m["group"] == mail[0]["group"]));
    assert!(
        messages
            .iter()
            .all(|m| !["godaddy", "mimecast"].contains(&root(m).as_str())),
        "dependants never speak alone"
    );
    assert!(
        mail.iter().any(|m| {
            let services: Vec<&str> = m["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["service"].as_str().unwrap())
                .collect();
            services.contains(&"godaddy") && services.contains(&"mimecast")
        }),
        "the dependants are folded in: {mail:#?}"
    );
}

#[test]
fn the_status_site_tells_the_outage() {
    let (server, _dir, events, received) = demo_during_the_outage();
    incident_changes_are_pushed(&events);
    home_page_puts_the_outage_first(&server);
    service_page_shows_chart_problems_cities_and_timeline(&server);
    problem_buttons_record_reports(&server);
    incident_and_history_pages(&server);
    statuspage_api_has_the_documented_shape(&server);
    feeds_are_atom(&server);
    badges_are_svg(&server);
    the_widget_embeds_the_status(&server);
    the_vendor_acknowledges_after_seismo_and_aws_stays_green(&server);
    the_it_team_hears_one_grouped_outage(&received);
}

/// The demo's Microsoft page acknowledges MO1221364 at 18:37 while seismo found the
/// outage possible from posts at 16:22 and confirmed it at 18:17: the lead time, the flag raised while the page was green
/// and cleared when it spoke, the vendor's words in the timeline, the page and the
/// feeds. AWS's page stays green and AWS has no incident.
fn the_vendor_acknowledges_after_seismo_and_aws_stays_green(server: &Server) {
    let started = std::time::Instant::now();
    let mail = loop {
        let incidents = server.get("/api/v1/incidents?service=microsoft-365");
        let found = incidents["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["acknowledged_at"].is_string())
            .cloned();
        if let Some(incident) = found {
            break incident;
        }
        assert!(
            started.elapsed().as_secs() < 90,
            "the vendor never acknowledged: {incidents}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert_eq!(mail["acknowledged_at"], "2026-01-22T18:37:00Z");
    // Possible from the posts at 16:22: two hours and a quarter before the vendor.
    let lead = mail["lead_seconds"].as_i64().unwrap();
    assert!(
        (134 * 60..=136 * 60).contains(&lead),
        "lead {lead} s: {mail}"
    );
    assert_eq!(mail["official"][0]["id"], "MO1221364");
    assert_eq!(
        mail["says_operational"], false,
        "cleared once the vendor spoke"
    );
    let flags: Vec<(&str, bool)> = mail["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "says_operational")
        .map(|e| (e["at"].as_str().unwrap(), e["raised"].as_bool().unwrap()))
        .collect();
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(
        flags[0].1 && flags[0].0 < "2026-01-22T18:37:00Z",
        "{flags:?}"
    );
    // The demo reads the page once a demo minute (one real second, plus the read's own
    // time), so the first read that sees the 18:37 post lands in the next minute or, when
    // the reader's phase has slipped past the minute under load, the one after: never
    // before the post, and within one read of it.
    let (cleared_at, raised) = flags[1];
    assert!(!raised, "{flags:?}");
    assert!(
        ("2026-01-22T18:37:00Z"..="2026-01-22T18:39:00Z").contains(&cleared_at),
        "{flags:?}"
    );
    assert!(mail["confidence_sources"]["official"].as_f64().unwrap() >= 0.99);

    let (_, _, page) = get_text(server, &format!("/incidents/{}", mail["id"]));
    assert!(page.contains("The vendor acknowledged it at"), "{page}");
    assert!(page.contains("MO1221364"));
    assert!(page.contains("before the vendor said anything"));
    let (_, _, service) = get_text(server, "/services/microsoft-365");
    assert!(service.contains("What the vendor says"));
    assert!(service.contains("data-condition=\"partial outage\""));
    let (_, _, atom) = get_text(server, "/services/microsoft-365/feed.atom");
    assert!(
        atom.contains("acknowledged the problem; seismo detected it"),
        "{atom}"
    );
    assert!(atom.contains("status page says operational while the evidence says it is down"));

    let aws = server.get("/api/v1/services/aws/official");
    assert_eq!(aws["feeds"][0]["condition"], "operational");
    let aws_incidents = server.get("/api/v1/incidents?service=aws");
    assert_eq!(
        aws_incidents["incidents"],
        serde_json::json!([]),
        "AWS stays quiet"
    );
}

fn the_widget_embeds_the_status(server: &Server) {
    let (status, kind, html) = get_text(server, "/widget/microsoft-365");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("<strong>Microsoft 365</strong>: Confirmed outage"));
    assert!(html.contains("href=\"/services/microsoft-365\""));
    let (_, _, green) = get_text(server, "/widget/aws");
    assert!(green.contains("data-level=\"ok\""));
    assert_eq!(get_text(server, "/widget/nope").0, 404);
}

fn incident_changes_are_pushed(events: &[Value]) {
    let opened = events
        .iter()
        .find(|e| e["service"] == "microsoft-365" && e["event"] == "opened")
        .unwrap_or_else(|| panic!("no event for the opening: {events:?}"));
    assert!(opened["incident"].is_u64() && opened["at"].is_string());
    // People post first: the posts alone make it possible, two hours early.
    let text = opened["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "People are posting about problems with Microsoft 365; no other source says so \
             yet: "
        ) && text.contains(" people posted complaints in "),
        "{text}"
    );
    // The demo's SMTP probe hears the mail server refuse before the reports surge (from
    // as many of its three places as have run since the outage began).
    let refused = events
        .iter()
        .filter(|e| e["service"] == "microsoft-365" && e["event"] == "observed")
        .filter_map(|e| e["text"].as_str())
        .find(|text| text.starts_with("A probe of Microsoft 365 fails"))
        .unwrap_or_else(|| panic!("no event for the probe: {events:?}"));
    assert!(
        refused.starts_with(
            "A probe of Microsoft 365 fails: RCPT TO answered 451 4.3.2 Temporary server \
             error. Please try again later from "
        ) && refused.ends_with(" locations (probe outlook mx)."),
        "{refused}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["service"] == "mimecast" && e["event"] == "upstream")
    );
}

fn home_page_puts_the_outage_first(server: &Server) {
    let (status, kind, html) = get_text(server, "/");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"));
    let slugs = |html: &str| -> Vec<String> {
        html.split("data-slug=\"")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().to_string())
            .collect()
    };
    let rows = slugs(&html);
    assert_eq!(rows.len(), 28, "every service of the demo catalog");
    assert_eq!(rows[0], "microsoft-365", "outage first: {rows:?}");
    assert!(html.contains("Status of 28 services"));
    assert!(html.contains("Confirmed outage"));
    assert!(html.contains("role=\"search\""));
    // Mimecast and GoDaddy are folded under Microsoft 365's incident, with why.
    let folded = html
        .split("<ul class=\"folded\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_else(|| panic!("nothing folded: {html}"));
    for name in ["Mimecast", "GoDaddy"] {
        assert!(
            folded.contains(&format!(
                "{name} depends on Microsoft 365, which has an outage."
            )),
            "{folded}"
        );
    }
    let active = html.split("<ul class=\"active\">").nth(1).unwrap();
    let top_level = active.split("<ul class=\"folded\">").next().unwrap();
    assert!(top_level.contains("Microsoft 365 outage") && !top_level.contains("Mimecast"));
    // The search works without scripts.
    let (_, _, found) = get_text(server, "/?q=micro");
    assert!(found.contains("/services/microsoft-365\"") && !found.contains("/services/aws\""));
    // By the names people use, not only the catalog's.
    for (query, slug) in [
        ("outlook", "microsoft-365"),
        ("Office%20365", "microsoft-365"),
        ("gmail", "google-workspace"),
        ("T-Mobile", "t-mobile"),
    ] {
        let (_, _, found) = get_text(server, &format!("/?q={query}"));
        assert_eq!(slugs(&found), [slug], "{query}");
        assert!(found.contains("id=\"no-match\" class=\"notice bad\" role=\"status\" hidden"));
    }
    let (_, _, nothing) = get_text(server, "/?q=myspace");
    assert!(slugs(&nothing).is_empty());
    assert!(
        nothing.contains("role=\"status\">No service matches “<span>myspace</span>”"),
        "an empty search says so"
    );
}

fn service_page_shows_chart_problems_cities_and_timeline(server: &Server) {
    let (status, _, html) = get_text(server, "/services/microsoft-365");
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("<svg class=\"chart\"").count(),
        2,
        "24 h and 2 h charts"
    );
    assert!(html.contains("class=\"band\""), "the normal range is drawn");
    assert!(
        !html.contains("data-learning"),
        "three weeks of history: the baseline is ready"
    );
    // Netflix has no reports in the demo: its baseline has not begun to learn.
    let (_, _, netflix) = get_text(server, "/services/netflix");
    assert!(
        netflix.contains("still learning what is normal for Netflix"),
        "{netflix}"
    );
    assert!(html.contains("bar high"), "the surge stands out");
    for city in [
        "Los Angeles",
        "Minneapolis",
        "Phoenix",
        "Dallas",
        "Houston",
        "San Francisco",
        "Seattle",
    ] {
        assert!(
            html.contains(&format!("<td>{city}</td>")),
            "{city} in the table"
        );
    }
    assert!(
        html.contains("<td>Email</td>"),
        "most reported problems, in words"
    );
    assert!(
        html.contains("Outage of Microsoft 365 confirmed"),
        "timeline"
    );
    assert!(
        html.contains("Also affecting")
            && html.contains(">Mimecast</a>")
            && html.contains(">GoDaddy</a>"),
        "downstream, by name: {html}"
    );
    assert!(
        html.contains("value=\"admin-portal\""),
        "a button per problem"
    );
    assert!(html.contains(">Admin portal</button>"), "problems in words");
    // A page people open answers a mistake with a page; the API keeps its JSON.
    for path in [
        "/services/nope",
        "/incidents/12345",
        "/report/nope",
        "/nowhere",
    ] {
        let (status, kind, body) = get_text(server, path);
        assert_eq!(
            (status, kind.as_str()),
            (404, "text/html; charset=utf-8"),
            "{path}"
        );
        assert!(
            body.contains("<h1>Not found</h1>") && body.contains("href=\"/\""),
            "{path}: {body}"
        );
    }
    let (_, _, body) = get_text(server, "/services/nope");
    assert!(body.contains("No service has the slug"), "{body}");
    let (status, kind, body) = get_text(server, "/api/v1/services/nope");
    assert_eq!((status, kind.as_str()), (404, "application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["field"],
        "slug"
    );
    let (status, kind, _) = get_text(server, "/api/v1/nowhere");
    assert_eq!((status, kind.as_str()), (404, "application/json"));
}

fn problem_buttons_record_reports(server: &Server) {
    let response = support::http()
        .build()
        .unwrap()
        .post(server.url("/report/microsoft-365"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &server.base)
        .body("problem=email")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().unwrap().contains("your report is counted"));
}

fn incident_and_history_pages(server: &Server) {
    let incidents = server.get("/api/v1/incidents?service=microsoft-365");
    let id = incidents["incidents"][0]["id"].as_u64().unwrap();
    let (status, _, html) = get_text(server, &format!("/incidents/{id}"));
    assert_eq!(status, 200);
    assert!(html.contains("Microsoft 365 outage (email)"));
    // Mimecast's page says why it is down, in the words the API gives, and links to
    // the cause.
    let mimecast = &server.get("/api/v1/incidents?service=mimecast")["incidents"][0];
    let words = mimecast["upstream"]["words"].as_str().unwrap();
    assert_eq!(
        words,
        "Mimecast depends on Microsoft 365, which has an outage."
    );
    let (_, _, page) = get_text(server, &format!("/incidents/{}", mimecast["id"]));
    assert!(
        page.contains(&format!(
            "<p class=\"link\">{words} <a href=\"/incidents/{id}\">See the Microsoft 365 outage.</a></p>"
        )),
        "{page}"
    );
    let (_, _, history) = get_text(server, "/history?service=mimecast");
    assert!(history.contains("Mimecast outage") && !history.contains("Microsoft 365 outage"));
    assert!(
        history.contains("probably caused by <a href=\"/incidents/")
            && history.contains(">Microsoft 365</a>"),
        "the upstream link, by name"
    );
    // Compact: a line per incident under its day, and the 90-day bar.
    assert!(history.contains("Thursday 22 January 2026"), "{history}");
    assert!(!history.contains("<svg class=\"map"), "no maps in the list");
    let (_, _, all) = get_text(server, "/history");
    let bar = |slug: &str| -> String {
        let row = all
            .split(&format!("<tr data-slug=\"{slug}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("{slug}'s uptime bar"));
        row.split("</tr>").next().unwrap().to_string()
    };
    let mail = bar("microsoft-365");
    assert!(
        mail.contains("class=\"level-ok\" x=\"0\" y=\"0\" width=\"444\""),
        "89 quiet days in one stretch: {mail}"
    );
    assert!(
        mail.contains("class=\"level-confirmed\" x=\"445\" y=\"0\" width=\"4\" height=\"20\" data-date=\"2026-01-22\""),
        "the outage's day is the last: {mail}"
    );
    assert!(!mail.contains("<td>100.00%</td>"), "{mail}");
    assert!(bar("aws").contains("<td>100.00%</td>"));
    assert!(all.len() < 200_000, "{} bytes", all.len());
    assert_eq!(
        all.matches("<tr data-slug=").count(),
        28,
        "a bar per service"
    );
    let (status, _, _) = get_text(server, "/history?service=nope");
    assert_eq!(status, 400);
}

/// Fields and types of Statuspage's documented objects.
fn assert_shape(value: &Value, fields: &[(&str, &str)], what: &str) {
    for (name, kind) in fields {
        let v = &value[name];
        let ok = match *kind {
            "string" => v.is_string(),
            "string?" => v.is_string() || v.is_null(),
            "number" => v.is_number(),
            "bool" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => unreachable!(),
        };
        assert!(ok, "{what}.{name} should be {kind}: {value}");
    }
}

const PAGE: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "string"),
    ("url", "string"),
    ("time_zone", "string"),
    ("updated_at", "string"),
];
const COMPONENT: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "string"),
    ("status", "string"),
    ("created_at", "string"),
    ("updated_at", "string"),
    ("position", "number"),
    ("description", "string?"),
    ("showcase", "bool"),
    ("start_date", "string?"),
    ("group_id", "string?"),
    ("page_id", "string"),
    ("group", "bool"),
    ("only_show_if_degraded", "bool"),
];
const INCIDENT: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "string"),
    ("status", "string"),
    ("created_at", "string"),
    ("updated_at", "string"),
    ("monitoring_at", "string?"),
    ("resolved_at", "string?"),
    ("impact", "string"),
    ("shortlink", "string"),
    ("started_at", "string"),
    ("page_id", "string"),
    ("incident_updates", "array"),
    ("components", "array"),
];
const UPDATE: &[(&str, &str)] = &[
    ("id", "string"),
    ("status", "string"),
    ("body", "string"),
    ("incident_id", "string"),
    ("created_at", "string"),
    ("updated_at", "string"),
    ("display_at", "string"),
    ("affected_components", "array"),
    ("deliver_notifications", "bool"),
];

fn assert_incidents(incidents: &Value) {
    for incident in incidents.as_array().unwrap() {
        assert_shape(incident, INCIDENT, "incident");
        let status = incident["status"].as_str().unwrap();
        assert!(
            [
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                "postmortem"
            ]
            .contains(&status),
            "{status}"
        );
        assert!(
            ["none", "minor", "major", "critical"].contains(&incident["impact"].as_str().unwrap())
        );
        for update in incident["incident_updates"].as_array().unwrap() {
            assert_shape(update, UPDATE, "incident_update");
        }
        for component in incident["components"].as_array().unwrap() {
            assert_shape(component, COMPONENT, "incident.component");
        }
    }
}

fn statuspage_api_has_the_documented_shape(server: &Server) {
    let summary = server.get("/api/v2/summary.json");
    assert_shape(&summary["page"], PAGE, "page");
    assert_eq!(summary["status"]["indicator"], "critical");
    assert!(summary["status"]["description"].is_string());
    assert!(summary["scheduled_maintenances"].is_array());
    let components = summary["components"].as_array().unwrap();
    assert_eq!(components.len(), 28);
    for c in components {
        assert_shape(c, COMPONENT, "component");
        let status = c["status"].as_str().unwrap();
        assert!(
            [
                "operational",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                "under_maintenance"
            ]
            .contains(&status),
            "{status}"
        );
    }
    let status_of = |id: &str| {
        components.iter().find(|c| c["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status_of("microsoft-365"), "major_outage");
    assert_eq!(status_of("aws"), "operational", "AWS stayed green");
    let unresolved = summary["incidents"].as_array().unwrap();
    assert!(
        unresolved
            .iter()
            .any(|i| i["components"][0]["id"] == "microsoft-365")
    );
    assert_incidents(&summary["incidents"]);

    let status = server.get("/api/v2/status.json");
    assert_shape(&status["page"], PAGE, "page");
    assert_eq!(status["status"], summary["status"]);
    let components = server.get("/api/v2/components.json");
    assert_eq!(components["components"].as_array().unwrap().len(), 28);
    let all = server.get("/api/v2/incidents.json");
    assert_incidents(&all["incidents"]);
    let open = server.get("/api/v2/incidents/unresolved.json");
    assert_incidents(&open["incidents"]);
    assert!(
        open["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] != "resolved")
    );
}

fn feeds_are_atom(server: &Server) {
    for path in ["/feed.atom", "/services/microsoft-365/feed.atom"] {
        let (status, kind, xml) = get_text(server, path);
        assert_eq!(status, 200);
        assert!(kind.starts_with("application/atom+xml"), "{kind}");
        let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
        assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
        assert!(feed.updated.is_some() && feed.title.is_some());
        assert!(
            !feed.entries.is_empty(),
            "{path} has the incident's updates"
        );
        // RFC 4287: the feed and every entry have an id, a title and an updated time.
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let atom = "http://www.w3.org/2005/Atom";
        let root = doc.root_element();
        assert!(root.has_tag_name((atom, "feed")));
        for element in
            std::iter::once(root).chain(root.children().filter(|n| n.has_tag_name((atom, "entry"))))
        {
            for required in ["id", "title", "updated"] {
                assert!(
                    element.children().any(|n| n.has_tag_name((atom, required))),
                    "{path}: <{}> without <{required}>",
                    element.tag_name().name()
                );
            }
        }
    }
    let (_, _, xml) = get_text(server, "/services/microsoft-365/feed.atom");
    assert!(xml.contains("Outage of Microsoft 365 confirmed"));
    assert_eq!(get_text(server, "/services/nope/feed.atom").0, 404);
}

fn badges_are_svg(server: &Server) {
    let (status, kind, svg) = get_text(server, "/badge/microsoft-365.svg");
    assert_eq!((status, kind.as_str()), (200, "image/svg+xml"));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name(("http://www.w3.org/2000/svg", "svg")));
    assert!(root.attribute("width").unwrap().parse::<u32>().unwrap() > 50);
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("aria-label"), Some("Microsoft 365: outage"));
    let (_, _, green) = get_text(server, "/badge/aws.svg");
    assert!(green.contains("Amazon Web Services: up"));
    assert_eq!(get_text(server, "/badge/nope.svg").0, 404);
}
