//! One confidence from every source. Each source keeps the strongest confidence it
//! reached during the incident, on one scale (0.5: possible, 0.9: confirmed):
//!
//! - **reports**: 0.5 at the surprise that opens, 0.9 at the one that confirms, towards
//!   1 beyond (`Levels::confidence`);
//! - **probes**: [`POSSIBLE`] when a probe fails or is slow by quorum, [`CONFIRMING`]
//!   once one has failed by quorum for `PROBE_CONFIRM_MINUTES`;
//! - **official**: [`ACKNOWLEDGED`] once the vendor admits trouble (an incident of its
//!   own, or a mapped component not operational);
//! - **operator**: [`ACKNOWLEDGED`] once one of the service's operators posts on it
//!   (any update but a false alarm), and 1 for an incident they declared;
//! - **posts**: [`POSSIBLE`] while complaints posted about the service surge against
//!   their own baseline, and never more: posts are the earliest voice and the noisiest
//!   (jokes, pile-ons, a trending hashtag), so they open a possible outage and never
//!   confirm one, alone or with reports.
//!
//! The sources are independent witnesses: the incident is a false alarm only if every
//! one of them is wrong, so the incident's confidence is `1 − Π(1 − c)`.
//!
//! Reports confirm by their lifecycle (a confirming surge while reports are not
//! falling). Probes, the vendor and operators confirm a suspected incident when, with it, the fused
//! confidence reaches [`CONFIRMING`]: a vendor's acknowledgement alone, probes failing
//! by quorum for five minutes alone, or two sources that each make it possible and
//! together make it sure. Posts add to the fused confidence a page shows, never to
//! what confirms.

/// A source that alone makes an incident possible.
pub const POSSIBLE: f64 = 0.5;
/// The confidence that confirms.
pub const CONFIRMING: f64 = 0.9;
/// A vendor admitting trouble: it is not in doubt, but vendors err too.
pub const ACKNOWLEDGED: f64 = 0.99;

/// Where evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Reports,
    Probes,
    Official,
    Operator,
    Posts,
}

/// The strongest confidence each source reached.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Confidence {
    pub reports: f64,
    pub probes: f64,
    pub official: f64,
    /// Absent from incidents stored before operators could post.
    #[serde(default)]
    pub operator: f64,
    /// Absent from incidents stored before posts were heard.
    #[serde(default)]
    pub posts: f64,
}

impl Confidence {
    /// The incident's one confidence.
    pub fn fused(&self) -> f64 {
        1.0 - (1.0 - self.reports)
            * (1.0 - self.probes)
            * (1.0 - self.official)
            * (1.0 - self.operator)
            * (1.0 - self.posts)
    }

    pub fn of(&self, source: Source) -> f64 {
        match source {
            Source::Reports => self.reports,
            Source::Probes => self.probes,
            Source::Official => self.official,
            Source::Operator => self.operator,
            Source::Posts => self.posts,
        }
    }

    fn slot(&mut self, source: Source) -> &mut f64 {
        match source {
            Source::Reports => &mut self.reports,
            Source::Probes => &mut self.probes,
            Source::Official => &mut self.official,
            Source::Operator => &mut self.operator,
            Source::Posts => &mut self.posts,
        }
    }

    /// Raises `source` to `value`; a source never loses what it reached.
    pub(crate) fn raise(&mut self, source: Source, value: f64) {
        let slot = self.slot(source);
        *slot = slot.max(value);
    }

    /// This confidence with `source` back at `value`: what it was before that source
    /// last moved.
    pub(crate) fn with(mut self, source: Source, value: f64) -> Confidence {
        *self.slot(source) = value;
        self
    }

    /// Whether sources other than reports confirm (reports confirm by their lifecycle;
    /// posts never do).
    pub(crate) fn confirms(&self) -> bool {
        let witnesses = self.with(Source::Posts, 0.0);
        witnesses.fused() >= CONFIRMING
            && self.probes.max(self.official).max(self.operator) >= POSSIBLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(source: Source, value: f64) -> Confidence {
        let mut confidence = Confidence::default();
        confidence.raise(source, value);
        confidence
    }

    #[test]
    fn reports_alone_never_confirm_here_their_lifecycle_does() {
        let strong = only(Source::Reports, 0.99);
        assert_eq!(strong.fused(), 0.99);
        assert!(
            !strong.confirms(),
            "a falling surge is not confirmed by fusion"
        );
    }

    #[test]
    fn probes_confirm_once_failing_by_quorum_long_enough() {
        assert!(!only(Source::Probes, POSSIBLE).confirms());
        assert!(only(Source::Probes, CONFIRMING).confirms());
    }

    #[test]
    fn a_vendor_acknowledgement_confirms_alone() {
        let acknowledged = only(Source::Official, ACKNOWLEDGED);
        assert!(acknowledged.confirms());
        assert_eq!(acknowledged.fused(), ACKNOWLEDGED);
    }

    #[test]
    fn two_witnesses_that_each_make_it_possible_confirm_together() {
        let mut both = only(Source::Reports, 0.8);
        assert!(!both.confirms());
        both.raise(Source::Probes, POSSIBLE);
        assert!((both.fused() - 0.9).abs() < 1e-9);
        assert!(both.confirms());
        let mut weak = only(Source::Reports, 0.6);
        weak.raise(Source::Probes, POSSIBLE);
        assert!(!weak.confirms(), "0.8 together is still only suspected");
    }

    #[test]
    fn posts_never_confirm_alone_or_with_others() {
        let mut posts = only(Source::Posts, POSSIBLE);
        assert_eq!(posts.fused(), POSSIBLE);
        assert!(!posts.confirms());
        posts.raise(Source::Reports, 0.8);
        assert!(
            posts.fused() >= CONFIRMING,
            "shown as fused: {}",
            posts.fused()
        );
        assert!(!posts.confirms(), "reports confirm by their lifecycle");
        posts.raise(Source::Probes, POSSIBLE);
        assert!(posts.confirms(), "reports and probes confirm, posts aside");
        let mut probes = only(Source::Probes, POSSIBLE);
        probes.raise(Source::Posts, 0.9);
        assert!(
            !probes.confirms(),
            "posts do not make a possible probe failure sure"
        );
    }

    #[test]
    fn a_source_keeps_the_strongest_it_reached() {
        let mut confidence = only(Source::Probes, CONFIRMING);
        confidence.raise(Source::Probes, POSSIBLE);
        assert_eq!(confidence.of(Source::Probes), CONFIRMING);
        assert_eq!(confidence.with(Source::Probes, 0.0).fused(), 0.0);
    }
}
