//! Incidents in words and levels, as people read them: the site, the Atom feeds, the
//! Statuspage-compatible API and the notifications all say the same thing.

use seismo_core::time::format_rfc3339;

use crate::State;
use crate::incident::{Evidence, OfficialWord, OperatorWord};
use crate::view::{IncidentView, LogView};
use serde::Serialize;

/// How sure seismo is that a service is down, from nothing to certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Reports are above normal, not yet enough to be sure.
    Possible,
    /// An outage whose reports are falling back towards normal.
    Recovering,
    /// Reports are well above normal.
    Likely,
    /// The surge is strong or lasting enough to be sure.
    Confirmed,
}

/// Confidence from which a suspected outage is shown as likely: half-way between the
/// engine's opening (0.5) and confirming (0.9) levels.
const LIKELY_CONFIDENCE: f64 = 0.7;

impl Level {
    pub fn of(state: State, confidence: f64) -> Level {
        match state {
            State::Resolved => Level::Ok,
            State::Suspected if confidence < LIKELY_CONFIDENCE => Level::Possible,
            State::Suspected => Level::Likely,
            State::Recovering => Level::Recovering,
            State::Confirmed => Level::Confirmed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Possible => "possible",
            Level::Recovering => "recovering",
            Level::Likely => "likely",
            Level::Confirmed => "confirmed",
        }
    }

    /// Its colour, the same in the pages' CSS, maps, badges and the widget.
    pub fn colour(self) -> &'static str {
        match self {
            Level::Ok => "#1a7f37",
            Level::Possible => "#bf8700",
            Level::Recovering => "#0969da",
            Level::Likely => "#d1580f",
            Level::Confirmed => "#cf222e",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "No problems",
            Level::Possible => "Possible outage",
            Level::Recovering => "Outage — recovering",
            Level::Likely => "Likely outage",
            Level::Confirmed => "Confirmed outage",
        }
    }
}
/// One timeline entry in words: the home page, the service and incident pages, the
/// Atom feeds and the Statuspage updates all say the same thing.
pub fn sentence(incident: &IncidentView, entry: &LogView) -> String {
    if let Some(Evidence::Operator(word)) = &entry.evidence {
        return operator_words(word);
    }
    let name = &incident.service_name;
    let numbers = entry.evidence.as_ref().map(|e| match e {
        Evidence::Reports(test) => format!(
            "{} reports in {} minutes against {:.0} expected",
            test.observed, test.window_minutes, test.expected
        ),
        Evidence::Probes(test) if test.reply.is_empty() => format!(
            "probe {} passes from {} of {} locations",
            test.probe,
            test.locations - test.failing,
            test.locations
        ),
        Evidence::Probes(test) => format!(
            "{} from {} of {} locations (probe {})",
            test.reply, test.failing, test.locations, test.probe
        ),
        Evidence::Slowdown(test) if test.slow == 0 => format!(
            "probe {} takes {} ms from {} locations, against a usual {} ms",
            test.probe, test.latency_ms, test.locations, test.usual_ms
        ),
        Evidence::Slowdown(test) => format!(
            "probe {} takes {} ms from {} of {} locations, against a usual {} ms",
            test.probe, test.latency_ms, test.slow, test.locations, test.usual_ms
        ),
        Evidence::Official(OfficialWord {
            post: Some(post), ..
        }) => format!(
            "{} ({}, {} at {} UTC): \"{}\"",
            post.title,
            post.incident,
            post.state.words(),
            &format_rfc3339(post.posted_at)[11..16],
            post.text
        ),
        Evidence::Official(word) => format!(
            "its status page ({}) shows {}",
            word.feed,
            word.condition.words()
        ),
        Evidence::Operator(word) => operator_words(word),
        Evidence::Posts(test) => format!(
            "{} people posted complaints in {} minutes against {:.0} expected",
            test.blocks.unwrap_or(test.observed),
            test.window_minutes,
            test.expected
        ),
    });
    let with_numbers = |text: String| match &numbers {
        Some(n) => format!("{text}: {n}."),
        None => format!("{text}."),
    };
    let by_probe = matches!(
        entry.evidence,
        Some(Evidence::Probes(_) | Evidence::Slowdown(_))
    );
    let by_vendor = matches!(entry.evidence, Some(Evidence::Official(_)));
    match (entry.event.as_str(), entry.state, &entry.evidence) {
        ("says_operational", _, _) if entry.raised == Some(true) => with_numbers(format!(
            "{name}'s status page says operational while the evidence says it is down"
        )),
        ("says_operational", _, _) => {
            with_numbers(format!("{name}'s status page now admits the problem"))
        }
        ("opened", _, Some(Evidence::Official(_))) => {
            with_numbers(format!("The vendor of {name} reports a problem"))
        }
        (
            "observed",
            _,
            Some(Evidence::Official(OfficialWord {
                post: Some(post), ..
            })),
        ) => {
            let first = incident.acknowledged_at.as_deref()
                == Some(format_rfc3339(post.posted_at).as_str());
            match lead_words(incident).filter(|_| first) {
                Some(lead) => with_numbers(format!(
                    "The vendor of {name} acknowledged the problem; seismo detected it {lead}"
                )),
                None => with_numbers(format!("The vendor of {name} posted")),
            }
        }
        ("observed", _, Some(Evidence::Official(_))) => {
            with_numbers(format!("The vendor of {name} admits a problem"))
        }
        ("opened", _, Some(Evidence::Posts(_))) => with_numbers(format!(
            "People are posting about problems with {name}; no other source says so yet"
        )),
        ("observed", _, Some(Evidence::Posts(_))) => {
            with_numbers(format!("People are posting about problems with {name} too"))
        }
        ("opened", _, Some(Evidence::Probes(_))) => {
            with_numbers(format!("{name} fails its probes"))
        }
        ("opened", _, Some(Evidence::Slowdown(_))) => {
            with_numbers(format!("{name} answers its probes slowly"))
        }
        ("opened", _, _) => {
            with_numbers(format!("Reports of problems with {name} rose above normal"))
        }
        ("reopened", _, _) => with_numbers(format!("Reports of problems with {name} rose again")),
        ("observed", _, Some(Evidence::Probes(test))) if test.reply.is_empty() => {
            with_numbers(format!("A probe of {name} passes again"))
        }
        ("observed", _, Some(Evidence::Slowdown(test))) if test.slow == 0 => {
            with_numbers(format!("A probe of {name} is no longer unusually slow"))
        }
        ("observed", _, Some(Evidence::Slowdown(_))) => {
            with_numbers(format!("A probe of {name} is slow"))
        }
        ("observed", _, _) => with_numbers(format!("A probe of {name} fails")),
        ("upstream", _, _) => {
            let upstream = incident
                .upstream
                .as_ref()
                .map_or("a service", |u| u.service_name.as_str());
            let inferred = entry.inferred == Some(true);
            cause_words(incident, upstream, inferred, entry.provider == Some(true))
        }
        ("unlinked", _, _) => format!(
            "Reports about {name} now rise beyond the places of the outage it seemed to \
             come from: it looks like an outage of {name}'s own."
        ),
        (_, Some(State::Confirmed), _) => with_numbers(format!("Outage of {name} confirmed")),
        (_, Some(State::Recovering), _) => with_numbers(format!("Reports for {name} are falling")),
        (_, Some(State::Resolved), _) if by_vendor => {
            format!("The vendor of {name} no longer reports a problem.")
        }
        (_, Some(State::Resolved), _) if by_probe => {
            format!("{name} passes its probes again.")
        }
        (_, Some(State::Resolved), Some(Evidence::Posts(_))) => {
            format!("Posts about {name} are back to normal.")
        }
        (_, Some(State::Resolved), _) => format!("Reports for {name} are back to normal."),
        (_, _, _) => with_numbers(format!("Reports for {name} changed")),
    }
}

/// Why incident is taken to follow its upstream, in a sentence: "Reports about Netflix
/// in Denver and Boulder probably come from the Comcast Xfinity outage there."
pub fn upstream_words(incident: &IncidentView) -> Option<String> {
    let up = incident.upstream.as_ref()?;
    Some(cause_words(
        incident,
        &up.service_name,
        up.inferred,
        up.provider,
    ))
}

/// Cities named in a sentence before the rest are counted.
const CITIES_NAMED: usize = 4;

fn cause_words(incident: &IncidentView, upstream: &str, inferred: bool, provider: bool) -> String {
    let name = &incident.service_name;
    if !provider {
        return if inferred {
            format!(
                "{name} seems to follow {upstream}, which has an outage: same onset, places and problems."
            )
        } else {
            format!("{name} depends on {upstream}, which has an outage.")
        };
    }
    let mut cities: Vec<String> = incident
        .cities
        .iter()
        .take(CITIES_NAMED)
        .map(|c| c.city.clone())
        .collect();
    let more = incident.cities.len().saturating_sub(CITIES_NAMED);
    if more > 0 {
        cities.push(format!(
            "{more} more {}",
            if more == 1 { "city" } else { "cities" }
        ));
    }
    match cities.split_last() {
        None => {
            format!("Reports about {name} probably come from the {upstream} outage where they are.")
        }
        Some((last, [])) => format!(
            "Reports about {name} in {last} probably come from the {upstream} outage there."
        ),
        Some((last, rest)) => format!(
            "Reports about {name} in {} and {last} probably come from the {upstream} outage there.",
            rest.join(", ")
        ),
    }
}

/// An operator's update in words: its state, then their message as they wrote it
/// (Markdown, for the page to render).
pub fn operator_words(word: &OperatorWord) -> String {
    let message = word.message.trim();
    if message.is_empty() {
        format!("{} (by {}).", word.state.label(), word.by)
    } else {
        format!("{}: {message}", word.state.label())
    }
}

/// How far ahead of the vendor seismo was, in words: "22 minutes before the vendor
/// said anything", "5 minutes after the vendor".
pub fn lead_words(incident: &IncidentView) -> Option<String> {
    let seconds = incident.lead_seconds?;
    let minutes = (seconds.abs() as f64 / 60.0).round() as i64;
    let span = match minutes {
        0 => return Some("at the same minute as the vendor".into()),
        1 => "1 minute".to_string(),
        m => format!("{m} minutes"),
    };
    Some(if seconds > 0 {
        format!("{span} before the vendor said anything")
    } else {
        format!("{span} after the vendor")
    })
}

/// Problem keys that are read as letters.
const ACRONYMS: [&str; 8] = ["api", "dns", "vpn", "sms", "tv", "ssl", "2fa", "id"];

/// A catalog problem key in words: "admin-portal" is "admin portal", "dns" is "DNS".
pub fn problem_words(key: &str) -> String {
    key.split(['-', '_'])
        .map(|word| {
            if ACRONYMS.contains(&word) {
                word.to_uppercase()
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A catalog problem key as a label: "Admin portal", "DNS", "Email".
pub fn problem_label(key: &str) -> String {
    let words = problem_words(key);
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// The problem people report most above its normal share, in words.
pub fn main_problem(incident: &IncidentView) -> Option<String> {
    incident
        .problems
        .iter()
        .max_by(|a, b| (a.share - a.normal_share).total_cmp(&(b.share - b.normal_share)))
        .map(|p| problem_words(&p.problem))
}

/// Where it hits, in words: "in Dallas, US", "in 7 US cities", "in 9 cities of 3
/// countries"; none when no city stands out.
pub fn places_words(incident: &IncidentView) -> Option<String> {
    let cities = &incident.cities;
    let first = cities.first()?;
    if cities.len() == 1 {
        return Some(format!("in {}, {}", first.city, first.country));
    }
    let mut countries: Vec<&str> = cities.iter().map(|c| c.country.as_str()).collect();
    countries.sort_unstable();
    countries.dedup();
    Some(match countries.as_slice() {
        [one] => format!("in {} {one} cities", cities.len()),
        many => format!("in {} cities of {} countries", cities.len(), many.len()),
    })
}

/// A short title for an incident.
pub fn title(incident: &IncidentView) -> String {
    if let Some(declared) = &incident.declared {
        return declared.title.clone();
    }
    let places: Vec<&str> = incident
        .cities
        .iter()
        .take(3)
        .map(|c| c.city.as_str())
        .collect();
    let mut title = format!("{} outage", incident.service_name);
    if let Some(p) = main_problem(incident) {
        title.push_str(&format!(" ({p})"));
    }
    if !places.is_empty() {
        title.push_str(&format!(" in {}", places.join(", ")));
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_in_words() {
        let mut incident = m365_incident();
        assert_eq!(places_words(&incident), None);
        let city = |name: &str, country: &str| -> crate::view::CityView {
            serde_json::from_value(serde_json::json!({
                "city": name, "country": country, "region": null, "lat": 0.0, "lon": 0.0,
                "observed": 10, "expected": 1.0, "p_value": 0.0
            }))
            .unwrap()
        };
        incident.cities = vec![city("Dallas", "US")];
        assert_eq!(places_words(&incident).unwrap(), "in Dallas, US");
        incident.cities.push(city("Seattle", "US"));
        assert_eq!(places_words(&incident).unwrap(), "in 2 US cities");
        incident.cities.push(city("Toronto", "CA"));
        assert_eq!(
            places_words(&incident).unwrap(),
            "in 3 cities of 2 countries"
        );
    }

    #[test]
    fn a_provider_upstream_names_the_places_of_the_reports() {
        let mut netflix = m365_incident();
        netflix.service_name = "Netflix".into();
        netflix.upstream = Some(
            serde_json::from_value(serde_json::json!({
                "service": "comcast-xfinity", "service_name": "Comcast Xfinity",
                "incident": 9, "inferred": true, "provider": true
            }))
            .unwrap(),
        );
        let city = |name: &str| -> crate::view::CityView {
            serde_json::from_value(serde_json::json!({
                "city": name, "country": "US", "region": "Colorado", "lat": 0.0, "lon": 0.0,
                "observed": 10, "expected": 1.0, "p_value": 0.0
            }))
            .unwrap()
        };
        assert_eq!(
            upstream_words(&netflix).unwrap(),
            "Reports about Netflix probably come from the Comcast Xfinity outage where they are."
        );
        netflix.cities = vec![city("Denver")];
        assert_eq!(
            upstream_words(&netflix).unwrap(),
            "Reports about Netflix in Denver probably come from the Comcast Xfinity outage there."
        );
        netflix.cities.push(city("Boulder"));
        let words = upstream_words(&netflix).unwrap();
        assert_eq!(
            words,
            "Reports about Netflix in Denver and Boulder probably come from the Comcast \
             Xfinity outage there."
        );
        for name in ["Aurora", "Lakewood", "Longmont"] {
            netflix.cities.push(city(name));
        }
        assert_eq!(
            upstream_words(&netflix).unwrap(),
            "Reports about Netflix in Denver, Boulder, Aurora, Lakewood and 1 more city \
             probably come from the Comcast Xfinity outage there."
        );
        // The timeline's entry says the same.
        let mut linked: LogView = serde_json::from_value(serde_json::json!({
            "at": "2026-01-22T18:20:00Z", "event": "upstream", "upstream": 9,
            "inferred": true, "provider": true
        }))
        .unwrap();
        netflix.cities.truncate(2);
        assert_eq!(sentence(&netflix, &linked), words);
        let mut unlinked = linked.clone();
        unlinked.event = "unlinked".into();
        assert_eq!(
            sentence(&netflix, &unlinked),
            "Reports about Netflix now rise beyond the places of the outage it seemed to come \
             from: it looks like an outage of Netflix's own."
        );
        linked.provider = None;
        assert_eq!(
            sentence(&netflix, &linked),
            "Netflix seems to follow Comcast Xfinity, which has an outage: same onset, places \
             and problems."
        );
        netflix.upstream.as_mut().unwrap().provider = false;
        netflix.upstream.as_mut().unwrap().inferred = false;
        assert_eq!(
            upstream_words(&netflix).unwrap(),
            "Netflix depends on Comcast Xfinity, which has an outage."
        );
    }

    #[test]
    fn problem_keys_read_as_words() {
        assert_eq!(problem_label("admin-portal"), "Admin portal");
        assert_eq!(problem_label("dns"), "DNS");
        assert_eq!(problem_label("email"), "Email");
        assert_eq!(problem_words("api-keys"), "API keys");
    }

    #[test]
    fn levels_follow_the_incident_state_and_confidence() {
        assert_eq!(Level::of(State::Suspected, 0.55), Level::Possible);
        assert_eq!(Level::of(State::Suspected, 0.8), Level::Likely);
        assert_eq!(Level::of(State::Confirmed, 0.95), Level::Confirmed);
        assert_eq!(Level::of(State::Recovering, 0.99), Level::Recovering);
        assert_eq!(Level::Recovering.label(), "Outage — recovering");
        assert_eq!(Level::of(State::Resolved, 0.99), Level::Ok);
        assert!(Level::Ok < Level::Possible && Level::Likely < Level::Confirmed);
    }

    /// Microsoft 365's incident detected at 18:15 and acknowledged at 18:37.
    fn m365_incident() -> IncidentView {
        serde_json::from_value(serde_json::json!({
            "id": 1, "service": "m365", "service_name": "Microsoft 365", "state": "suspected",
            "detected_at": "2026-01-22T18:15:00Z", "started_at": "2026-01-22T18:15:00Z",
            "ended_at": null, "peak_at": "2026-01-22T18:15:00Z", "peak_per_minute": 0,
            "confidence": 0.5, "problems": [], "cities": [], "regions": [], "countries": [],
            "footprint": "unknown", "upstream": null, "reporting_blocks": null, "log": [],
            "acknowledged_at": "2026-01-22T18:37:00Z", "lead_seconds": 1320
        }))
        .unwrap()
    }

    fn log(event: &str, evidence: Evidence, raised: Option<bool>) -> LogView {
        LogView {
            at: "2026-01-22T18:38:00Z".into(),
            event: event.into(),
            from: None,
            state: None,
            evidence: Some(evidence),
            upstream: None,
            inferred: None,
            provider: None,
            raised,
            confidence: None,
        }
    }

    #[test]
    fn the_vendor_s_words_are_quoted_with_the_lead_time_and_the_operational_flag() {
        use seismo_core::official::{Condition, OfficialState};
        let incident = m365_incident();
        let word = |posted: &str, text: &str| {
            Evidence::Official(OfficialWord {
                feed: "m365 admin center".into(),
                condition: Condition::PartialOutage,
                post: Some(crate::incident::OfficialPost {
                    incident: "MO1221364".into(),
                    title: "Users can't send or receive email".into(),
                    state: OfficialState::Investigating,
                    posted_at: seismo_core::time::parse_rfc3339(posted).unwrap(),
                    text: text.into(),
                    url: None,
                }),
            })
        };
        assert_eq!(
            sentence(
                &incident,
                &log(
                    "observed",
                    word("2026-01-22T18:37:00Z", "We're investigating."),
                    None
                )
            ),
            "The vendor of Microsoft 365 acknowledged the problem; seismo detected it 22 \
             minutes before the vendor said anything: Users can't send or receive email \
             (MO1221364, investigating at 18:37 UTC): \"We're investigating.\"."
        );
        assert_eq!(
            sentence(
                &incident,
                &log(
                    "observed",
                    word("2026-01-22T19:10:00Z", "Rolling back."),
                    None
                )
            ),
            "The vendor of Microsoft 365 posted: Users can't send or receive email \
             (MO1221364, investigating at 19:10 UTC): \"Rolling back.\"."
        );
        let green = Evidence::Official(OfficialWord {
            feed: "m365 admin center".into(),
            condition: Condition::Operational,
            post: None,
        });
        assert_eq!(
            sentence(&incident, &log("says_operational", green, Some(true))),
            "Microsoft 365's status page says operational while the evidence says it is \
             down: its status page (m365 admin center) shows operational."
        );
    }

    #[test]
    fn a_slowdown_is_told_with_its_latency_against_the_usual() {
        let incident = m365_incident();
        let entry = |event: &str, slow: u16, latency_ms: u64| {
            let test = crate::incident::LatencyTest {
                probe: "mx".into(),
                slow,
                locations: 4,
                latency_ms,
                usual_ms: 40,
            };
            LogView {
                at: incident.detected_at.clone(),
                event: event.into(),
                from: None,
                state: Some(State::Suspected),
                evidence: Some(Evidence::Slowdown(test)),
                upstream: None,
                inferred: None,
                provider: None,
                raised: None,
                confidence: None,
            }
        };
        assert_eq!(
            sentence(&incident, &entry("opened", 3, 2_500)),
            "Microsoft 365 answers its probes slowly: probe mx takes 2500 ms from 3 of 4 \
             locations, against a usual 40 ms."
        );
        assert_eq!(
            sentence(&incident, &entry("observed", 0, 45)),
            "A probe of Microsoft 365 is no longer unusually slow: probe mx takes 45 ms \
             from 4 locations, against a usual 40 ms."
        );
    }
}
