//! RSS and Atom status feeds (read by feed-rs): AWS's Health Dashboard, the history
//! feeds of hosted status pages, Google Cloud's and Azure's. Such a feed has no state
//! of its own, only items; each item is taken as an incident (or one update of one):
//! resolved when its words say so ("resolved", "operating normally", "recovered"), open
//! otherwise. The vendor admits trouble while an open item is less than a day old.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use seismo_core::official::{
    Condition, OfficialIncident, OfficialState, OfficialStatus, OfficialUpdate,
};
use seismo_core::time::{DAY_MS, Millis};

use crate::ReadError;

/// Words that say an item is over.
const RESOLVED_WORDS: [&str; 4] = ["resolved", "operating normally", "recovered", "restored"];

/// Cloud regions named in an id or a title: `us-east-1`, `europe-west4`, `eu-west-3`.
static REGION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([a-z]{2,}(?:-[a-z]+)+-?\d)(?:[^a-z0-9]|$)").expect("a valid pattern")
});

/// The items of the feed in `body` that `include` keeps, at `now`, and how long the
/// feed asks readers to wait (RSS `ttl`).
pub fn parse(
    body: &[u8],
    include: &[String],
    now: Millis,
) -> Result<(OfficialStatus, Option<Duration>), ReadError> {
    let feed = feed_rs::parser::parse(body).map_err(|e| ReadError::Malformed(e.to_string()))?;
    let include: Vec<String> = include.iter().map(|w| w.to_lowercase()).collect();
    let mut incidents = Vec::new();
    for entry in feed.entries {
        let title = entry
            .title
            .map(|t| plain_text(&t.content))
            .unwrap_or_default();
        let (title_lower, id_lower) = (title.to_lowercase(), entry.id.to_lowercase());
        if !include.is_empty()
            && !include
                .iter()
                .any(|w| title_lower.contains(w) || id_lower.contains(w))
        {
            continue;
        }
        let Some(at) = entry.updated.or(entry.published) else {
            return Err(ReadError::Malformed(format!(
                "item {:?} has no date",
                entry.id
            )));
        };
        let at = at.timestamp_millis();
        let started_at = entry.published.map_or(at, |p| p.timestamp_millis());
        let text = entry
            .summary
            .map(|s| plain_text(&s.content))
            .or_else(|| entry.content.and_then(|c| c.body).map(|b| plain_text(&b)))
            .unwrap_or_default();
        let words = format!("{title_lower} {}", text.to_lowercase());
        let resolved = RESOLVED_WORDS.iter().any(|w| words.contains(w));
        let state = if resolved {
            OfficialState::Resolved
        } else {
            OfficialState::Investigating
        };
        let mut components: Vec<String> = REGION
            .captures_iter(&format!("{id_lower} {title_lower}"))
            .map(|c| c[1].to_string())
            .collect();
        components.dedup();
        incidents.push(OfficialIncident {
            id: entry.id,
            title,
            state,
            impact: None,
            url: entry.links.first().map(|l| l.href.clone()),
            started_at,
            resolved_at: resolved.then_some(at),
            components,
            maintenance: words.contains("maintenance"),
            updates: vec![OfficialUpdate { at, state, text }],
        });
    }
    incidents.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    let troubled = incidents
        .iter()
        .any(|i| !i.state.is_closed() && !i.maintenance && now - i.updates[0].at < DAY_MS);
    let (condition, description) = if troubled {
        (Condition::DegradedPerformance, "An open incident")
    } else {
        (Condition::Operational, "No open incident")
    };
    Ok((
        OfficialStatus {
            condition,
            description: description.into(),
            components: Vec::new(),
            incidents,
        },
        feed.ttl
            .map(|minutes| Duration::from_secs(u64::from(minutes) * 60)),
    ))
}

/// Text without its HTML tags and with the common entities decoded: feeds carry HTML
/// in their descriptions, and the site escapes whatever it shows.
pub(crate) fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            plain_text("<p>Mail is <b>delayed</b>&nbsp;&amp; queued</p>\n<p>451 &lt;4.3.2&gt;</p>"),
            "Mail is delayed & queued 451 <4.3.2>"
        );
    }
}
