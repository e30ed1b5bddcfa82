//! Microsoft 365 Service Health through Microsoft Graph: `healthOverviews` (each
//! service's state) and `issues` (incidents and advisories, each with its id such as
//! `MO1221364` and every post). Graph's statuses map onto a status page's words:
//!
//! | Graph status | condition | incident state |
//! |---|---|---|
//! | `serviceOperational`, `serviceRestored`, `falsePositive`, `verifyingService`, `postIncidentReviewPublished`, … | operational | resolved (monitoring while verifying, postmortem once reviewed) |
//! | `investigating` | degraded performance | investigating |
//! | `serviceDegradation`, `restoringService`, `extendedRecovery` | partial outage | identified |
//! | `serviceInterruption` | major outage | identified |
//!
//! Posts carry no status of their own: each is given the issue's status when read, so
//! a post read live keeps the status it was posted under.

use seismo_core::official::{
    Component, Condition, OfficialIncident, OfficialState, OfficialStatus, OfficialUpdate,
};
use serde::Deserialize;

use crate::ReadError;
use crate::statuspage::{json, time};
use crate::syndication::plain_text;

/// Pages of issues read at most (Graph pages them by 100 or so).
pub const MAX_PAGES: usize = 10;
/// Issues kept, newest first.
const KEPT: usize = 50;

/// A page of a Graph collection (its `@odata.nextLink` is read by [`next_link`]).
#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
}

#[derive(Deserialize)]
struct Overview {
    service: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Issue {
    id: String,
    title: String,
    service: String,
    status: String,
    #[serde(default)]
    classification: Option<String>,
    start_date_time: String,
    #[serde(default)]
    end_date_time: Option<String>,
    #[serde(default)]
    is_resolved: bool,
    #[serde(default)]
    posts: Vec<Post>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Post {
    created_date_time: String,
    #[serde(default)]
    description: Option<Body>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    content: String,
}

/// The next page of a Graph collection, if any.
pub fn next_link(page: &[u8]) -> Result<Option<String>, ReadError> {
    #[derive(Deserialize)]
    struct Link {
        #[serde(rename = "@odata.nextLink", default)]
        next_link: Option<String>,
    }
    Ok(json::<Link>("issues", page)?.next_link)
}

/// The state of `services` (all when empty) from a `healthOverviews` answer and the
/// pages of an `issues` answer.
pub fn parse(
    overviews: &[u8],
    issue_pages: &[impl AsRef<[u8]>],
    services: &[String],
) -> Result<OfficialStatus, ReadError> {
    let wanted = |service: &str| {
        services.is_empty() || services.iter().any(|s| s.eq_ignore_ascii_case(service))
    };
    let overviews: Page<Overview> = json("healthOverviews", overviews)?;
    let components: Vec<Component> = overviews
        .value
        .into_iter()
        .filter(|o| wanted(&o.service))
        .map(|o| Component {
            condition: condition(&o.status),
            name: o.service,
        })
        .collect();
    let mut incidents = Vec::new();
    for page in issue_pages {
        let page: Page<Issue> = json("issues", page.as_ref())?;
        for issue in page.value.into_iter().filter(|i| wanted(&i.service)) {
            incidents.push(incident(issue)?);
        }
    }
    incidents.sort_by_key(|i: &OfficialIncident| std::cmp::Reverse(i.started_at));
    incidents.truncate(KEPT);
    let condition = components
        .iter()
        .map(|c| c.condition)
        .max()
        .unwrap_or(Condition::Operational);
    let troubled: Vec<String> = components
        .iter()
        .filter(|c| c.condition.is_trouble())
        .map(|c| format!("{}: {}", c.name, c.condition.words()))
        .collect();
    Ok(OfficialStatus {
        condition,
        description: if troubled.is_empty() {
            "All services operational".into()
        } else {
            troubled.join("; ")
        },
        components,
        incidents,
    })
}

fn condition(status: &str) -> Condition {
    match status {
        "investigating" => Condition::DegradedPerformance,
        "serviceDegradation" | "restoringService" | "extendedRecovery" => Condition::PartialOutage,
        "serviceInterruption" => Condition::MajorOutage,
        // Healthy, over, or reserved words Graph does not use yet.
        _ => Condition::Operational,
    }
}

fn state(status: &str, resolved: bool) -> OfficialState {
    match status {
        "investigating" => OfficialState::Investigating,
        "verifyingService" => OfficialState::Monitoring,
        "postIncidentReviewPublished" => OfficialState::Postmortem,
        _ if resolved => OfficialState::Resolved,
        "serviceDegradation" | "serviceInterruption" | "restoringService" | "extendedRecovery" => {
            OfficialState::Identified
        }
        _ => OfficialState::Resolved,
    }
}

fn incident(issue: Issue) -> Result<OfficialIncident, ReadError> {
    let field = |name: &str| format!("issues: {}.{name}", issue.id);
    let state = state(&issue.status, issue.is_resolved);
    let mut updates = issue
        .posts
        .iter()
        .map(|post| {
            Ok(OfficialUpdate {
                at: time(&field("posts.createdDateTime"), &post.created_date_time)?,
                state,
                text: post
                    .description
                    .as_ref()
                    .map(|d| plain_text(&d.content))
                    .unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    updates.sort_by_key(|u| u.at);
    let resolved_at = match (&issue.end_date_time, state.is_closed()) {
        (Some(end), true) => Some(time(&field("endDateTime"), end)?),
        _ => None,
    };
    Ok(OfficialIncident {
        started_at: time(&field("startDateTime"), &issue.start_date_time)?,
        url: Some(format!(
            "https://admin.microsoft.com/Adminportal/Home#/servicehealth/:/alerts/{}",
            issue.id
        )),
        id: issue.id,
        title: issue.title,
        state,
        impact: issue.classification,
        resolved_at,
        components: vec![issue.service],
        maintenance: false,
        updates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OVERVIEWS: &str = r#"{"value": [
        {"service": "Exchange Online", "id": "Exchange", "status": "serviceDegradation"},
        {"service": "Microsoft Teams", "id": "microsoftteams", "status": "serviceOperational"},
        {"service": "SharePoint Online", "id": "SharePoint", "status": "serviceInterruption"}
    ]}"#;

    const ISSUES: &str = r#"{"value": [{
        "id": "MO1221364", "title": "Users can't send or receive email",
        "service": "Exchange Online", "status": "serviceDegradation",
        "classification": "incident", "startDateTime": "2026-01-22T18:20:00Z",
        "endDateTime": null, "isResolved": false, "feature": "E-Mail and calendar access",
        "posts": [
            {"createdDateTime": "2026-01-22T19:05:00Z", "postType": "regular",
             "description": {"contentType": "html", "content": "<p>We&#39;ve identified a fix.</p>"}},
            {"createdDateTime": "2026-01-22T18:37:00Z", "postType": "regular",
             "description": {"contentType": "html", "content": "<p>Title: Users can&#39;t send email</p><p>User impact: 451 4.3.2</p>"}}
        ]}, {
        "id": "SP1", "title": "Sites slow", "service": "SharePoint Online",
        "status": "serviceRestored", "startDateTime": "2026-01-20T10:00:00Z",
        "endDateTime": "2026-01-20T12:00:00Z", "isResolved": true, "posts": []
    }]}"#;

    #[test]
    fn services_and_issues_map_onto_a_status_page_narrowed_to_the_mapped_services() {
        let status = parse(OVERVIEWS.as_bytes(), &[ISSUES], &["exchange online".into()]).unwrap();
        assert_eq!(status.condition, Condition::PartialOutage);
        assert_eq!(status.description, "Exchange Online: partial outage");
        assert_eq!(status.components.len(), 1);
        let [mail] = status.incidents.as_slice() else {
            panic!("{:?}", status.incidents)
        };
        assert_eq!(
            (mail.id.as_str(), mail.state),
            ("MO1221364", OfficialState::Identified)
        );
        assert_eq!(
            mail.acknowledged_at(),
            time("t", "2026-01-22T18:37:00Z").unwrap()
        );
        assert_eq!(
            mail.updates[0].text,
            "Title: Users can't send email User impact: 451 4.3.2"
        );
        assert_eq!(mail.resolved_at, None);

        let all = parse(OVERVIEWS.as_bytes(), &[ISSUES], &[]).unwrap();
        assert_eq!(all.condition, Condition::MajorOutage);
        assert_eq!(all.incidents.len(), 2);
        let restored = &all.incidents[1];
        assert_eq!(restored.state, OfficialState::Resolved);
        assert!(restored.resolved_at.is_some());
    }

    #[test]
    fn a_malformed_answer_names_what_is_wrong() {
        let error = parse(OVERVIEWS.as_bytes(), &[r#"{"value": [{"id": "X"}]}"#], &[]).unwrap_err();
        assert!(error.to_string().contains("issues"), "{error}");
        let error = parse(
            OVERVIEWS.as_bytes(),
            &[ISSUES.replace("2026-01-22T18:37:00Z", "yesterday")],
            &[],
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("MO1221364.posts.createdDateTime"),
            "{error}"
        );
    }
}
