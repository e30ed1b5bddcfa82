//! The shipped scenarios are the engine's regression tests: `seismo simulate` makes
//! their reports and posts, `seismo detect` finds their incidents, and each outage the
//! scenario describes must be found once, early, in the right places, linked to its
//! cause, while services without an outage stay quiet. An outage people post about
//! before they report it is found possible from the posts, and confirmed by the reports.

mod support;

use std::collections::BTreeMap;

use seismo_core::time::{DAY_MS, HOUR_MS, MINUTE_MS, parse_rfc3339};
use serde_json::Value;
use support::{scenario_path, seismo, simulate_and_detect};

struct Outage {
    service: String,
    onset: i64,
    /// Ramp of at most 3 minutes to at least 2 extra reports a minute.
    sudden: bool,
    cities: Vec<String>,
    /// The service this one follows, for followers.
    upstream: Option<String>,
    /// How long before the onset people post about it.
    posts_lead: i64,
}

fn outages(scenario: &toml::Value) -> Vec<Outage> {
    let number = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap();
    let per_hour = |slug: &str| {
        let services = scenario["service"].as_array().unwrap();
        number(
            &services
                .iter()
                .find(|s| s["slug"].as_str() == Some(slug))
                .unwrap()["per_hour"],
        )
    };
    let mut found = Vec::new();
    for o in scenario
        .get("outage")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
    {
        let service = o["service"].as_str().unwrap().to_string();
        let onset = parse_rfc3339(o["onset"].as_str().unwrap()).unwrap();
        let ramp = o.get("ramp_minutes").map_or(1.0, number);
        let cities: Vec<String> = o
            .get("cities")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let extra_per_minute = per_hour(&service) * (number(&o["multiplier"]) - 1.0) / 60.0;
        found.push(Outage {
            service: service.clone(),
            onset,
            sudden: ramp <= 3.0 && extra_per_minute >= 2.0,
            cities: cities.clone(),
            upstream: None,
            posts_lead: o
                .get("posts_lead_minutes")
                .and_then(|m| m.as_integer())
                .unwrap_or(0)
                * MINUTE_MS,
        });
        for f in o
            .get("follower")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let delay = f["delay_minutes"].as_integer().unwrap();
            found.push(Outage {
                service: f["service"].as_str().unwrap().to_string(),
                onset: onset + delay * MINUTE_MS,
                sudden: false,
                cities: cities.clone(),
                upstream: Some(service.clone()),
                posts_lead: 0,
            });
        }
    }
    found
}

/// Simulates and detects `name`, then checks every rule; returns the incidents.
fn check(name: &str) -> Vec<Value> {
    check_at(&scenario_path(name), name)
}

/// [`check`] of the scenario at `path`.
fn check_at(path: &std::path::Path, name: &str) -> Vec<Value> {
    let scenario: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let incidents = simulate_and_detect(path);

    let time = |i: &Value, field: &str| parse_rfc3339(i[field].as_str().unwrap()).unwrap();
    for incident in &incidents {
        assert!(
            returns_to_confirmed(incident) <= 1,
            "{name}: {} flaps between recovering and confirmed: {:#?}",
            incident["service"],
            incident["log"]
        );
    }
    let outages = outages(&scenario);
    let mut per_service: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    // Every scenario starts on an empty store: its first week, while the baselines
    // learn, must be as quiet as the rest (docs/DETECTION.md, "cold start").
    for i in &incidents {
        per_service
            .entry(i["service"].as_str().unwrap())
            .or_default()
            .push(i);
    }
    for service in scenario["service"].as_array().unwrap() {
        let slug = service["slug"].as_str().unwrap();
        let expected = outages.iter().filter(|o| o.service == slug).count();
        let found = per_service.get(slug).map_or(0, Vec::len);
        assert_eq!(
            found,
            expected,
            "{name}: {slug} has {found} incidents for {expected} outages: {:#?}",
            per_service.get(slug)
        );
    }
    for outage in &outages {
        let incident = per_service[outage.service.as_str()][0];
        let what = format!("{name}: {} incident {}", outage.service, incident["id"]);
        let most = if outage.sudden { 5 } else { 15 } * MINUTE_MS;
        if outage.posts_lead > 0 {
            // Posts murmur first: possible within half an hour of the murmur's start,
            // confirmed once the reports surge, as early as reports alone would.
            let murmur = outage.onset - outage.posts_lead;
            let lag = time(incident, "detected_at") - murmur;
            assert!(
                (0..=30 * MINUTE_MS).contains(&lag),
                "{what}: possible {} min after the posts began",
                lag / MINUTE_MS
            );
            assert_eq!(incident["log"][0]["evidence"]["kind"], "posts", "{what}");
            assert!(
                (time(incident, "started_at") - murmur).abs() <= 30 * MINUTE_MS,
                "{what}: onset estimated at {}",
                incident["started_at"]
            );
            let confirmed = incident["log"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["state"] == "confirmed")
                .unwrap_or_else(|| panic!("{what}: never confirmed"));
            assert_eq!(confirmed["evidence"]["kind"], "reports", "{what}");
            let lag = time(confirmed, "at") - outage.onset;
            assert!(
                (0..=most).contains(&lag),
                "{what}: confirmed {} min after the reports' onset",
                lag / MINUTE_MS
            );
        } else {
            let lag = time(incident, "detected_at") - outage.onset;
            assert!(
                (0..=most).contains(&lag),
                "{what}: detected {} min after the onset",
                lag / MINUTE_MS
            );
            assert!(
                (time(incident, "started_at") - outage.onset).abs() <= 10 * MINUTE_MS,
                "{what}: onset estimated at {}",
                incident["started_at"]
            );
        }
        let cities: Vec<&str> = incident["cities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["city"].as_str().unwrap())
            .collect();
        if !outage.cities.is_empty() {
            for city in &cities {
                assert!(
                    outage.cities.iter().any(|c| c == city),
                    "{what}: {city} is not in the footprint {:?}",
                    outage.cities
                );
            }
            let hit = outage
                .cities
                .iter()
                .filter(|c| cities.contains(&c.as_str()))
                .count();
            assert!(
                2 * hit >= outage.cities.len(),
                "{what}: found only {cities:?} of {:?}",
                outage.cities
            );
            let footprint = if outage.cities.len() == 1 {
                "city"
            } else {
                incident["footprint"].as_str().unwrap()
            };
            assert_eq!(incident["footprint"], footprint, "{what}");
        }
        match &outage.upstream {
            Some(upstream) => assert_eq!(
                incident["upstream"]["service"].as_str(),
                Some(upstream.as_str()),
                "{what}"
            ),
            None => assert!(
                incident["upstream"].is_null(),
                "{what}: linked to {}",
                incident["upstream"]
            ),
        }
    }
    incidents
}

/// The states of the incident's timeline, in order.
fn states(incident: &Value) -> Vec<&str> {
    incident["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["state"].as_str())
        .collect()
}

/// How often the incident went from recovering back to confirmed.
fn returns_to_confirmed(incident: &Value) -> usize {
    states(incident)
        .windows(2)
        .filter(|w| w == &["recovering", "confirmed"])
        .count()
}

#[test]
fn nationwide_mail_outage_with_downstream_services() {
    let incidents = check("mail-outage");
    let m365 = incidents
        .iter()
        .find(|i| i["service"] == "microsoft-365")
        .unwrap();
    // The hardest-hit cities, and not New York, which has the most reports on a normal day.
    let cities: Vec<&str> = m365["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities.len(), 7, "{cities:?}");
    assert!(!cities.contains(&"New York City"));
    assert_eq!(m365["footprint"], "country");
    assert_eq!(m365["state"], "resolved");
    let email = &m365["problems"][0];
    assert_eq!(email["problem"], "email");
    assert!(
        email["share"].as_f64().unwrap() > email["normal_share"].as_f64().unwrap() + 0.2,
        "{email}"
    );
    assert!(m365["confidence"].as_f64().unwrap() > 0.9);
    for field in [
        "detected_at",
        "started_at",
        "ended_at",
        "peak_at",
        "peak_per_minute",
        "state",
        "problems",
        "cities",
        "footprint",
        "upstream",
        "confidence",
    ] {
        assert!(m365.get(field).is_some(), "{field}");
    }
    assert_eq!(
        states(m365),
        ["suspected", "confirmed", "recovering", "resolved"]
    );
    // Downstream links come from the catalog's depends_on: not inferred.
    let mimecast = incidents
        .iter()
        .find(|i| i["service"] == "mimecast")
        .unwrap();
    assert_eq!(mimecast["upstream"]["inferred"], false);
    assert_eq!(mimecast["upstream"]["incident"], m365["id"]);
}

#[test]
fn single_city_isp_outage() {
    let incidents = check("isp-city-outage");
    assert_eq!(incidents[0]["footprint"], "city");
    assert_eq!(incidents[0]["cities"][0]["city"], "Denver");
}

/// The incident of `slug` among `incidents`.
fn of<'a>(incidents: &'a [Value], slug: &str) -> &'a Value {
    incidents
        .iter()
        .find(|i| i["service"] == slug)
        .unwrap_or_else(|| panic!("no incident of {slug}"))
}

#[test]
fn a_provider_outage_in_one_metro_area_carries_the_services_blamed_there() {
    // `check` also asserts that Discord, down elsewhere at the same time, is unlinked.
    let incidents = check("provider-outage");
    let comcast = of(&incidents, "comcast-xfinity");
    assert_eq!(
        comcast["footprint"], "region",
        "Denver and Boulder are in Colorado"
    );
    for (slug, name) in [
        ("netflix", "Netflix"),
        ("youtube", "YouTube"),
        ("steam", "Steam"),
    ] {
        let blamed = of(&incidents, slug);
        let upstream = &blamed["upstream"];
        assert_eq!(upstream["incident"], comcast["id"], "{slug}");
        assert_eq!(upstream["inferred"], true, "{slug}");
        assert_eq!(upstream["provider"], true, "{slug}");
        let words = upstream["words"].as_str().unwrap();
        assert!(
            words.starts_with(&format!("Reports about {name} in "))
                && words.ends_with(" probably come from the Comcast Xfinity outage there.")
                && words.contains("Denver"),
            "{words}"
        );
        let linked = blamed["log"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "upstream")
            .unwrap();
        assert_eq!(linked["provider"], true, "{slug}");
    }
    assert!(of(&incidents, "discord")["upstream"].is_null());
}

/// The provider scenario's services and cities with other outages: each `[[outage]]`
/// of `outages` instead of its own. Checked by [`check_at`] like a shipped scenario.
fn provider_variant(outages: &str) -> Vec<Value> {
    let shipped = std::fs::read_to_string(scenario_path("provider-outage")).unwrap();
    let (services_and_cities, _) = shipped.split_once("\n# The provider fails").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("variant.toml");
    std::fs::write(&path, format!("{services_and_cities}\n{outages}")).unwrap();
    check_at(&path, "provider variant")
}

/// Comcast Xfinity down in Denver and Boulder, as an outage of a provider variant.
const COMCAST_DOWN_IN_COLORADO: &str = r#"
[[outage]]
service = "comcast-xfinity"
onset = "2026-02-23T02:40:00Z"
plateau_minutes = 150
multiplier = 12
cities = ["Denver", "Boulder"]
problems = { internet = 5, wifi = 3 }
"#;

#[test]
fn a_service_broken_nationwide_is_not_blamed_on_a_local_provider() {
    // Netflix breaks everywhere three minutes after Comcast fails in Denver and
    // Boulder: Denver's Netflix reports rise too, but so do everyone else's.
    let incidents = provider_variant(
        &[
            COMCAST_DOWN_IN_COLORADO,
            r#"
[[outage]]
service = "netflix"
onset = "2026-02-23T02:43:00Z"
plateau_minutes = 90
multiplier = 12
problems = { streaming = 5, app = 1 }
"#,
        ]
        .concat(),
    );
    assert!(of(&incidents, "netflix")["upstream"].is_null());
}

#[test]
fn two_providers_down_in_different_cities_each_carry_their_own_services() {
    // Comcast fails in Denver and Boulder, Spectrum in Dallas, minutes apart; Netflix
    // is blamed in Colorado, YouTube in Dallas. `check_at` asserts each follower's
    // upstream; here, that both links are the provider kind.
    let incidents = provider_variant(
        &[
            COMCAST_DOWN_IN_COLORADO,
            r#"
[[outage.follower]]
service = "netflix"
delay_minutes = 2
multiplier = 12
problems = { streaming = 5 }

[[outage]]
service = "spectrum"
onset = "2026-02-23T02:44:00Z"
plateau_minutes = 150
multiplier = 12
cities = ["Dallas"]
problems = { internet = 5 }

[[outage.follower]]
service = "youtube"
delay_minutes = 2
multiplier = 12
problems = { video = 5 }
"#,
        ]
        .concat(),
    );
    for (blamed, provider) in [("netflix", "comcast-xfinity"), ("youtube", "spectrum")] {
        let upstream = &of(&incidents, blamed)["upstream"];
        assert_eq!(
            upstream["incident"],
            of(&incidents, provider)["id"],
            "{blamed}"
        );
        assert_eq!(upstream["provider"], true, "{blamed}");
    }
}

#[test]
fn quiet_holiday_then_busy_day() {
    assert!(check("holiday").is_empty());
}

#[test]
fn monday_morning_rush() {
    check("monday-rush");
}

#[test]
fn brief_blip() {
    let incidents = check("blip");
    let blip = &incidents[0];
    let (start, end) = (
        parse_rfc3339(blip["started_at"].as_str().unwrap()).unwrap(),
        parse_rfc3339(blip["ended_at"].as_str().unwrap()).unwrap(),
    );
    assert!(
        end - start <= 90 * MINUTE_MS,
        "a 20-minute blip lasted {} min",
        (end - start) / MINUTE_MS
    );
}

#[test]
fn low_volume_services() {
    check("low-volume");
}

#[test]
fn a_new_install_learns_its_first_week_quietly_but_sees_a_huge_outage_on_day_two() {
    let incidents = check("cold-start");
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    // The outage is what the scenario says: ten times the busiest hour seen before it.
    let simulated = seismo()
        .arg("simulate")
        .arg(scenario_path("cold-start"))
        .output()
        .unwrap()
        .stdout;
    let onset = parse_rfc3339("2026-06-07T19:00:00Z").unwrap();
    let mut hours: BTreeMap<i64, u64> = BTreeMap::new();
    for line in simulated.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let report: Value = serde_json::from_slice(line).unwrap();
        let at = parse_rfc3339(report["at"].as_str().unwrap()).unwrap();
        if report["service"] == "discord" && at < onset + HOUR_MS {
            *hours.entry(at.div_euclid(HOUR_MS)).or_default() += 1;
        }
    }
    let outage_hour = hours[&(onset / HOUR_MS)] as f64;
    let busiest_before = hours
        .iter()
        .filter(|&(&h, _)| h < onset / HOUR_MS)
        .map(|(_, &c)| c)
        .max()
        .unwrap() as f64;
    let ratio = outage_hour / busiest_before;
    assert!(
        (10.0..11.0).contains(&ratio),
        "the outage hour is {ratio:.1} times the busiest before"
    );
    assert!(
        onset - parse_rfc3339(scenario_start("cold-start").as_str()).unwrap() < 2 * DAY_MS,
        "on day 2"
    );
}

/// The `start` of scenario `name`.
fn scenario_start(name: &str) -> String {
    let text = std::fs::read_to_string(scenario_path(name)).unwrap();
    let scenario: toml::Value = toml::from_str(&text).unwrap();
    scenario["start"].as_str().unwrap().to_string()
}

#[test]
fn detection_is_deterministic() {
    let path = scenario_path("blip");
    let simulated = seismo().arg("simulate").arg(&path).output().unwrap().stdout;
    assert_eq!(
        simulated,
        seismo().arg("simulate").arg(&path).output().unwrap().stdout,
        "simulation is seeded"
    );
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("r.ndjson");
    std::fs::write(&reports, simulated).unwrap();
    let run = || {
        seismo()
            .args(["detect", "--format", "json", "--reports"])
            .arg(&reports)
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}
