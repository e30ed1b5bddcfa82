//! Counted reports per minute: per service, per service × problem, per service × city.
//! Minutes older than [`Series::roll_up_before`] was told are folded into 15-minute
//! buckets ([`ROLLUP_MS`]), each counted at its first minute, so a day of old history
//! holds 96 counts rather than 1,440; points in steps of 15 minutes or more are the same
//! either way.

use std::collections::{BTreeMap, HashMap};

use seismo_core::catalog::{ProblemId, ServiceId};
use seismo_core::gazetteer::CityId;
use seismo_core::report::Report;
use seismo_core::time::{MINUTE_MS, Millis, ROLLUP_MS};

/// Counts by minute index (`at / 60 s`).
type Counts = BTreeMap<i64, u32>;

#[derive(Debug, Default)]
struct ServiceSeries {
    total: Counts,
    by_problem: HashMap<ProblemId, Counts>,
    /// `None` holds reports whose city is unknown.
    by_city: HashMap<Option<CityId>, Counts>,
}

#[derive(Debug, Default)]
pub struct Series {
    services: Vec<ServiceSeries>,
    /// Minutes (indexes) before this are folded into 15-minute buckets.
    rolled_to: i64,
}

/// Minutes in a roll-up bucket.
const ROLLUP_MINUTES: i64 = ROLLUP_MS / MINUTE_MS;

/// How points are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// One point per bucket, zero buckets included.
    Total,
    /// One point per bucket and problem, where the count is not zero.
    Problem,
    /// One point per bucket and city, where the count is not zero.
    City,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Problem(ProblemId),
    City(Option<CityId>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Start of the bucket.
    pub t: Millis,
    pub key: Option<Key>,
    pub count: u64,
}

impl Series {
    pub fn new(services: usize) -> Series {
        Series {
            services: (0..services).map(|_| ServiceSeries::default()).collect(),
            rolled_to: i64::MIN,
        }
    }

    /// Adds one counted report.
    pub fn add(&mut self, report: &Report) {
        let mut minute = report.at.div_euclid(MINUTE_MS);
        if minute < self.rolled_to {
            minute -= minute.rem_euclid(ROLLUP_MINUTES);
        }
        let s = &mut self.services[report.service.0 as usize];
        *s.total.entry(minute).or_default() += 1;
        *s.by_problem
            .entry(report.problem)
            .or_default()
            .entry(minute)
            .or_default() += 1;
        *s.by_city
            .entry(report.place.city)
            .or_default()
            .entry(minute)
            .or_default() += 1;
    }

    /// Counted reports of `service` with `from <= at < to`.
    pub fn total(&self, service: ServiceId, from: Millis, to: Millis) -> u64 {
        let s = &self.services[service.0 as usize];
        minutes(&s.total, from, to)
            .map(|(_, &c)| u64::from(c))
            .sum()
    }

    /// Points of `service` in buckets of `step` (a multiple of a minute), aligned to
    /// the epoch, covering `[from, to)`; ordered by time, then key.
    pub fn points(
        &self,
        service: ServiceId,
        by: By,
        from: Millis,
        to: Millis,
        step: Millis,
    ) -> Vec<Point> {
        assert!(step > 0 && step % MINUTE_MS == 0, "step is whole minutes");
        let first = from.div_euclid(step) * step;
        let s = &self.services[service.0 as usize];
        let bucket = |minute: i64| (minute * MINUTE_MS).div_euclid(step) * step;
        match by {
            By::Total => {
                let mut buckets: BTreeMap<Millis, u64> = (0..)
                    .map(|i| first + i * step)
                    .take_while(|&t| t < to)
                    .map(|t| (t, 0))
                    .collect();
                for (&m, &c) in minutes(&s.total, first, to) {
                    *buckets.entry(bucket(m)).or_default() += u64::from(c);
                }
                buckets
                    .into_iter()
                    .map(|(t, count)| Point {
                        t,
                        key: None,
                        count,
                    })
                    .collect()
            }
            By::Problem | By::City => {
                let mut buckets: BTreeMap<(Millis, Key), u64> = BTreeMap::new();
                let mut add = |key: Key, counts: &Counts| {
                    for (&m, &c) in minutes(counts, first, to) {
                        *buckets.entry((bucket(m), key)).or_default() += u64::from(c);
                    }
                };
                if by == By::Problem {
                    s.by_problem
                        .iter()
                        .for_each(|(&p, counts)| add(Key::Problem(p), counts));
                } else {
                    s.by_city
                        .iter()
                        .for_each(|(&c, counts)| add(Key::City(c), counts));
                }
                buckets
                    .into_iter()
                    .map(|((t, key), count)| Point {
                        t,
                        key: Some(key),
                        count,
                    })
                    .collect()
            }
        }
    }

    /// Folds the minutes before `before` (down to a 15-minute boundary) into their
    /// 15-minute buckets; those rolled up before stay as they are.
    pub fn roll_up_before(&mut self, before: Millis) {
        let end = before.div_euclid(ROLLUP_MS) * ROLLUP_MINUTES;
        if end <= self.rolled_to {
            return;
        }
        let from = self.rolled_to;
        let fold = |counts: &mut Counts| {
            let minutes: Vec<i64> = counts
                .range(from..end)
                .map(|(&m, _)| m)
                .filter(|m| m.rem_euclid(ROLLUP_MINUTES) != 0)
                .collect();
            for minute in minutes {
                let count = counts.remove(&minute).unwrap_or(0);
                *counts
                    .entry(minute - minute.rem_euclid(ROLLUP_MINUTES))
                    .or_default() += count;
            }
        };
        for s in &mut self.services {
            fold(&mut s.total);
            s.by_problem.values_mut().for_each(fold);
            s.by_city.values_mut().for_each(fold);
        }
        self.rolled_to = end;
    }

    /// Drops minutes before `before`, so memory stays bounded.
    pub fn forget_before(&mut self, before: Millis) {
        let keep_from = before.div_euclid(MINUTE_MS);
        for s in &mut self.services {
            let trim = |c: &mut Counts| *c = c.split_off(&keep_from);
            trim(&mut s.total);
            s.by_problem.values_mut().for_each(trim);
            s.by_city.values_mut().for_each(trim);
            s.by_problem.retain(|_, c| !c.is_empty());
            s.by_city.retain(|_, c| !c.is_empty());
        }
    }
}

/// The minutes of `counts` inside `[from, to)`.
fn minutes(counts: &Counts, from: Millis, to: Millis) -> impl Iterator<Item = (&i64, &u32)> {
    let (first, end) = (
        from.div_euclid(MINUTE_MS),
        to.div_euclid(MINUTE_MS) + i64::from(to % MINUTE_MS != 0),
    );
    counts.range(first..end.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seismo_core::gazetteer::Place;

    const H: Millis = 60 * MINUTE_MS;

    fn report(minute: i64, problem: u16, city: Option<u32>) -> Report {
        Report {
            at: minute * MINUTE_MS + 1_234,
            received: 0,
            service: ServiceId(1),
            problem: ProblemId(problem),
            place: Place {
                city: city.map(CityId),
                ..Place::default()
            },
            client: 0,
            block: 0,
        }
    }

    fn series() -> Series {
        let mut s = Series::new(2);
        for r in [
            report(0, 0, Some(7)),
            report(1, 1, Some(7)),
            report(59, 0, None),
            report(60, 0, Some(8)),
            report(61, 0, Some(7)),
        ] {
            s.add(&r);
        }
        s
    }

    #[test]
    fn total_points_are_dense_and_aligned() {
        let s = series();
        let points = s.points(ServiceId(1), By::Total, 30 * MINUTE_MS, 3 * H, H);
        let counts: Vec<(Millis, u64)> = points.iter().map(|p| (p.t, p.count)).collect();
        assert_eq!(counts, [(0, 3), (H, 2), (2 * H, 0)]);
        assert_eq!(s.total(ServiceId(1), 0, 60 * MINUTE_MS), 3);
        assert_eq!(s.total(ServiceId(0), 0, 3 * H), 0);
    }

    #[test]
    fn grouped_points_are_sparse() {
        let s = series();
        let by_city = s.points(ServiceId(1), By::City, 0, 2 * H, H);
        let got: Vec<(Millis, Option<Key>, u64)> =
            by_city.iter().map(|p| (p.t, p.key, p.count)).collect();
        assert_eq!(
            got,
            [
                (0, Some(Key::City(None)), 1),
                (0, Some(Key::City(Some(CityId(7)))), 2),
                (H, Some(Key::City(Some(CityId(7)))), 1),
                (H, Some(Key::City(Some(CityId(8)))), 1),
            ]
        );
        let by_problem = s.points(ServiceId(1), By::Problem, 0, MINUTE_MS, MINUTE_MS);
        assert_eq!(by_problem.len(), 1);
        assert_eq!(by_problem[0].key, Some(Key::Problem(ProblemId(0))));
    }

    #[test]
    fn old_minutes_fold_into_quarter_hours_that_keep_every_coarse_point() {
        let mut s = series();
        let hourly = |s: &Series, by| s.points(ServiceId(1), by, 0, 3 * H, H);
        let before = [By::Total, By::Problem, By::City].map(|by| hourly(&s, by));
        s.roll_up_before(61 * MINUTE_MS);
        // Minutes 0, 1 and 59 are folded (at 0, 0 and 45); from 60 on they stay.
        let minutes = s.points(ServiceId(1), By::Total, 0, 62 * MINUTE_MS, MINUTE_MS);
        let counted: Vec<(Millis, u64)> = minutes
            .iter()
            .filter(|p| p.count > 0)
            .map(|p| (p.t / MINUTE_MS, p.count))
            .collect();
        assert_eq!(counted, [(0, 2), (45, 1), (60, 1), (61, 1)]);
        assert_eq!(
            [By::Total, By::Problem, By::City].map(|by| hourly(&s, by)),
            before,
            "hours are as they were"
        );
        // A late report for a folded minute goes to its bucket; rolling again changes
        // nothing rolled already.
        s.add(&report(14, 1, Some(7)));
        s.roll_up_before(61 * MINUTE_MS);
        s.roll_up_before(30 * MINUTE_MS);
        let quarter = s.points(ServiceId(1), By::Problem, 0, 15 * MINUTE_MS, MINUTE_MS);
        let got: Vec<(Millis, Option<Key>, u64)> =
            quarter.iter().map(|p| (p.t, p.key, p.count)).collect();
        assert_eq!(
            got,
            [
                (0, Some(Key::Problem(ProblemId(0))), 1),
                (0, Some(Key::Problem(ProblemId(1))), 2)
            ]
        );
    }

    #[test]
    fn forgetting_drops_old_minutes() {
        let mut s = series();
        s.forget_before(60 * MINUTE_MS);
        assert_eq!(s.total(ServiceId(1), 0, 3 * H), 2);
        assert_eq!(s.points(ServiceId(1), By::City, 0, 3 * H, H).len(), 2);
    }
}
