//! Reports and posts from NDJSON files, as `seismo import` and `seismo detect` read
//! them: the same validation as the API, and rejected lines named by file and line.

use seismo_core::post::{Classifier, Post, PostInput, PostSource};
use seismo_core::report::{ErrorCode, Received, Report, ReportError, ReportInput, ReportRules};
use seismo_core::time::Millis;

/// Rejected lines shown with their reasons; the rest are only counted.
const REJECTED_SHOWN: usize = 20;

/// Validates one line received at `now`; with `now` `None` the line is history, which
/// must carry its own `at` and may be of any time. A line without `client` stands for
/// its own reporter, named by the line's text: the same line read again, from any file,
/// is the same reporter at the same time, so a duplicate.
pub fn validate_line(
    rules: &ReportRules,
    text: &[u8],
    now: Option<Millis>,
) -> Result<Report, ReportError> {
    let input = ReportInput::from_json(text)?;
    if now.is_none() && input.at.is_none() {
        return Err(at_required());
    }
    rules.validate(&input, &received(text, now))
}

/// What a line of a file is received as: trusted (the file is the operator's own),
/// standing for its own sender, at `now` or, for history, at no time in particular.
fn received(text: &[u8], now: Option<Millis>) -> Received<'_> {
    Received {
        now: now.unwrap_or(Millis::MAX / 4),
        peer_ip: None,
        sender: text,
        block: text,
        trusted: true,
    }
}

fn at_required() -> ReportError {
    ReportError {
        code: ErrorCode::MissingField,
        message: "at is required: history has no time of receipt".into(),
        field: Some("at".into()),
    }
}

/// Validates and classifies one post of history (an NDJSON line with `at`); the file is
/// the operator's own, so its `author` names who the post counts as.
pub fn validate_post_line(
    rules: &ReportRules,
    classifier: &Classifier,
    text: &[u8],
) -> Result<Post, ReportError> {
    let input = PostInput::from_json(text)?;
    if input.at.is_none() {
        return Err(at_required());
    }
    rules.validate_post(&input, &received(text, None), PostSource::Api, classifier)
}

#[derive(Debug, Default)]
pub struct Rejected {
    pub count: u64,
    /// The first rejected lines: line number and reason.
    pub first: Vec<(u64, ReportError)>,
}

impl Rejected {
    pub fn record(&mut self, line: u64, error: ReportError) {
        self.count += 1;
        if self.first.len() < REJECTED_SHOWN {
            self.first.push((line, error));
        }
    }

    pub fn merge(&mut self, other: Rejected) {
        self.count += other.count;
        for (line, error) in other.first {
            if self.first.len() < REJECTED_SHOWN {
                self.first.push((line, error));
            }
        }
        self.first.sort_by_key(|(line, _)| *line);
    }

    /// Prints `FILE:LINE: code (field): message` for the first ones, then how many more.
    pub fn print(&self, name: &str) {
        for (line, error) in &self.first {
            let field = error
                .field
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            eprintln!(
                "{name}:{line}: {}{field}: {}",
                error.code.as_str(),
                error.message
            );
        }
        if self.count > self.first.len() as u64 {
            eprintln!(
                "{name}: … and {} more rejected lines",
                self.count - self.first.len() as u64
            );
        }
    }
}
