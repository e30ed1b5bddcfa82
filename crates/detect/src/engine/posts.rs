//! What people post about a service: counted complaints (each author once per window,
//! decided before they get here) per minute, tested against their own baseline by the
//! same surge tests as reports, each author a block of its own. A surge of posts makes
//! an outage possible, never more ([`super::fusion`]); while it lasts it holds the
//! service's incident open.
//!
//! Posts learn their own normal: a service people joke about daily has a loud normal,
//! one nobody posts about a quiet one. While the posts surge, their minutes are kept
//! out of that normal, as an incident's reports are.

use seismo_core::signal::PostComplaint;
use seismo_core::time::{MINUTE_MS, Millis};

use super::config::EngineConfig;
use super::service::ServiceState;
use super::surge::{self, Levels, STATE_WINDOW_MINUTES, Test};

pub(crate) struct PostWatch {
    pub(crate) counts: ServiceState,
    /// Since when the posts surge, while they do.
    surging_since: Option<Millis>,
}

impl PostWatch {
    pub(crate) fn new(problems: usize, config: &EngineConfig) -> PostWatch {
        PostWatch {
            counts: ServiceState::new(problems, config.dispersion),
            surging_since: None,
        }
    }

    pub(crate) fn observe(&mut self, post: &PostComplaint, now_minute: i64) {
        let recent = (None, post.problem, post.author);
        self.counts.observe_at(post.at, recent, now_minute);
    }

    /// Whether the posts surge (as of the last [`Self::tick`]).
    pub(crate) fn surging(&self) -> bool {
        self.surging_since.is_some()
    }

    /// Learns what is old enough and tests the posts at `now`: the strongest surge
    /// that opens, if any, and while there is none, the last 15 minutes (`None` while
    /// the baseline knows nothing of them, or nobody has posted for an hour).
    pub(crate) fn tick(
        &mut self,
        config: &EngineConfig,
        levels: Levels,
        now: Millis,
        closing_hour: Option<i64>,
    ) -> Option<PostTest> {
        let now_minute = now / MINUTE_MS;
        let counts = &mut self.counts;
        counts.learn(now_minute, closing_hour);
        if self.surging_since.is_none() && counts.latest_minute < now_minute - 60 {
            return None;
        }
        let surge =
            surge::strongest(counts, config, now_minute).filter(|t| t.surprise >= levels.open);
        if let Some(test) = surge {
            if self.surging_since.is_none() {
                let onset = counts.onset(now);
                self.surging_since = Some(onset);
                if counts.history.history_hours() >= config.cold_start_hours {
                    counts.mask_from(onset);
                }
            }
            return Some(PostTest::Surge(test));
        }
        let recent = surge::surge_test(counts, config, now_minute, STATE_WINDOW_MINUTES, true)?;
        if recent.count.p_value > 0.01 && self.surging_since.take().is_some() {
            counts.unmask_from(now - MINUTE_MS);
        }
        Some(PostTest::Calm(recent))
    }

    /// When the current surge began.
    pub(crate) fn surging_since(&self) -> Option<Millis> {
        self.surging_since
    }
}

/// What a tick found of the posts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PostTest {
    /// The strongest window that opens.
    Surge(Test),
    /// No window opens; the last 15 minutes.
    Calm(Test),
}
