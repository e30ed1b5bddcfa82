//! The NAB scoring function, written from the benchmark's published description
//! (Lavin & Ahmad 2015, and the repository's README): windows around each labelled
//! anomaly; the first detection in a window earns a reward that falls along a scaled
//! sigmoid from the window's start to its end; detections outside windows cost the
//! profile's false-positive weight, less the nearer they follow a window; a missed
//! window costs the false-negative weight; the first 15% of a file (at most 750 rows)
//! is a probation that is not scored. One threshold on the anomaly score is chosen for
//! the whole corpus, the one with the best total, and the total is normalised so that
//! no detection scores 0 and a detection at the start of every window scores 100.

/// Weights of one scoring profile (NAB's config/profiles.json).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    pub true_positive: f64,
    pub false_positive: f64,
    pub false_negative: f64,
}

/// One scored data file: a row per timestamp, in order.
#[derive(Debug, Clone)]
pub struct File {
    pub category: String,
    pub timestamps: Vec<i64>,
    pub scores: Vec<f64>,
    /// Labelled windows, by first and last timestamp (both rows of the file).
    pub windows: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The corpus-wide threshold: rows with an anomaly score at or above it are detections.
    pub threshold: f64,
    pub raw: f64,
    pub normalized: f64,
    /// Per category: normalized score at the corpus threshold.
    pub categories: Vec<(String, f64)>,
    /// At the corpus threshold, what each window earned (its first detection's worth,
    /// or −false_negative when missed), the files' windows in order, one after another.
    pub windows: Vec<f64>,
    /// At the corpus threshold, each file's detections outside its windows.
    pub false_alarms: Vec<usize>,
}

/// −1 well after a window, 0 at its end, about +1 at its start.
fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * relative_position).exp()) - 1.0
    }
}

/// A scorable row: its anomaly score, what a detection there is worth, and the window
/// it lies in (index into the corpus's windows) if any.
struct Row {
    score: f64,
    worth: f64,
    window: Option<usize>,
    file: usize,
}

/// Rows of `file` after the probation, with their worth under `costs`; windows are
/// numbered from `first_window`.
fn rows(file: &File, index: usize, costs: &Costs, first_window: usize) -> Vec<Row> {
    let n = file.timestamps.len();
    let probation = ((0.15 * n as f64).floor()).min(0.15 * 5000.0) as usize;
    let best = scaled_sigmoid(-1.0);
    let position = |t: i64| file.timestamps.iter().position(|&x| x == t);
    // (start row, end row) of each window.
    let spans: Vec<(usize, usize)> = file
        .windows
        .iter()
        .filter_map(|&(start, end)| Some((position(start)?, position(end)?)))
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut previous: Option<(usize, f64)> = None; // end row and width of the last window passed
    for i in 0..n {
        let inside = spans.iter().position(|&(s, e)| (s..=e).contains(&i));
        let worth = match inside {
            Some(w) => {
                let (s, e) = spans[w];
                let width = (e - s + 1) as f64;
                let relative = -((e - i + 1) as f64) / width;
                scaled_sigmoid(relative) * costs.true_positive / best
            }
            None => {
                let relative = previous.map_or(3.0, |(end, width)| {
                    (i - end) as f64 / (width - 1.0).max(1.0)
                });
                scaled_sigmoid(relative) * costs.false_positive
            }
        };
        if let Some(w) = inside
            && i == spans[w].1
        {
            previous = Some((i, (spans[w].1 - spans[w].0 + 1) as f64));
        }
        if i >= probation {
            out.push(Row {
                // A score that is not a number is no detection.
                score: if file.scores[i].is_nan() {
                    0.0
                } else {
                    file.scores[i]
                },
                worth,
                window: inside.map(|w| first_window + w),
                file: index,
            });
        }
    }
    out
}

/// Scores `files` under `costs`, with the threshold that maximises the corpus total.
pub fn score(files: &[File], costs: &Costs) -> Score {
    let mut all = Vec::new();
    let mut windows_of_file = Vec::new();
    let mut first_window = 0;
    for (index, file) in files.iter().enumerate() {
        all.extend(rows(file, index, costs, first_window));
        windows_of_file.push(first_window..first_window + file.windows.len());
        first_window += file.windows.len();
    }
    let windows = first_window;
    all.sort_by(|a, b| b.score.total_cmp(&a.score));
    // Sweep the threshold down through every score: each window keeps its best worth
    // (missed: −false_negative), false positives add up.
    let mut best_window = vec![-costs.false_negative; windows];
    let mut false_positives = 0.0;
    let total = |best_window: &[f64], false_positives: f64| {
        best_window.iter().sum::<f64>() + false_positives
    };
    let (mut best_total, mut threshold) = (total(&best_window, 0.0), f64::INFINITY);
    let mut i = 0;
    while i < all.len() {
        let level = all[i].score;
        while i < all.len() && all[i].score == level {
            match all[i].window {
                Some(w) => best_window[w] = best_window[w].max(all[i].worth),
                None => false_positives += all[i].worth,
            }
            i += 1;
        }
        let t = total(&best_window, false_positives);
        if t > best_total {
            best_total = t;
            threshold = level;
        }
    }
    let normalize = |raw: f64, windows: usize| {
        let (null, perfect) = (
            -costs.false_negative * windows as f64,
            costs.true_positive * windows as f64,
        );
        if perfect > null {
            100.0 * (raw - null) / (perfect - null)
        } else {
            0.0
        }
    };
    // At the corpus threshold: each window's best worth, each file's false alarms.
    let mut window_worth = vec![-costs.false_negative; windows];
    let mut false_alarms = vec![(0, 0.0); files.len()];
    for row in all.iter().take_while(|r| r.score >= threshold) {
        match row.window {
            Some(w) => window_worth[w] = window_worth[w].max(row.worth),
            None => {
                false_alarms[row.file].0 += 1;
                false_alarms[row.file].1 += row.worth;
            }
        }
    }
    let mut categories: Vec<(String, f64)> = Vec::new();
    let mut names: Vec<&str> = files.iter().map(|f| f.category.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let members: Vec<usize> = (0..files.len())
            .filter(|&f| files[f].category == name)
            .collect();
        let raw: f64 = members
            .iter()
            .map(|&f| {
                window_worth[windows_of_file[f].clone()].iter().sum::<f64>() + false_alarms[f].1
            })
            .sum();
        let count = members.iter().map(|&f| files[f].windows.len()).sum();
        categories.push((name.to_string(), normalize(raw, count)));
    }
    Score {
        threshold,
        raw: best_total,
        normalized: normalize(best_total, windows),
        categories,
        windows: window_worth,
        false_alarms: false_alarms.iter().map(|&(count, _)| count).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: Costs = Costs {
        true_positive: 1.0,
        false_positive: 0.11,
        false_negative: 1.0,
    };

    /// 1,000 rows with windows over rows 400–449 and 700–749.
    fn file(detect_at: &[usize]) -> File {
        let timestamps: Vec<i64> = (0..1000).map(|i| i * 300).collect();
        let mut scores = vec![0.0; 1000];
        for &i in detect_at {
            scores[i] = 1.0;
        }
        File {
            category: "test".into(),
            windows: vec![(400 * 300, 449 * 300), (700 * 300, 749 * 300)],
            timestamps,
            scores,
        }
    }

    #[test]
    fn a_perfect_detector_scores_100() {
        let s = score(&[file(&[400, 700])], &STANDARD);
        assert!((s.normalized - 100.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.categories, [("test".to_string(), s.normalized)]);
    }

    #[test]
    fn no_detections_score_0() {
        let s = score(&[file(&[])], &STANDARD);
        assert!(s.normalized.abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn earlier_is_better_and_false_positives_cost() {
        let early = score(&[file(&[405, 705])], &STANDARD).normalized;
        let late = score(&[file(&[445, 745])], &STANDARD).normalized;
        assert!(early > late && late > 0.0, "{early} vs {late}");
        let with_false_alarm = score(&[file(&[405, 705, 900])], &STANDARD).normalized;
        assert!(with_false_alarm < early);
        // A detection in the probation (the first 150 rows) counts for nothing.
        assert_eq!(score(&[file(&[10, 405, 705])], &STANDARD).normalized, early);
        // Missing one of two windows: half the way from null to perfect, less a little.
        let half = score(&[file(&[400])], &STANDARD).normalized;
        assert!((half - 50.0).abs() < 1e-9, "{half}");
    }

    #[test]
    fn each_window_and_file_is_reported_at_the_threshold() {
        // The first window found at its start, the second missed, two false alarms; a
        // second file with no window and one false alarm.
        let mut quiet = file(&[300]);
        quiet.windows.clear();
        let s = score(&[file(&[400, 200, 900]), quiet], &STANDARD);
        assert_eq!(s.windows.len(), 2);
        assert!((s.windows[0] - 1.0).abs() < 0.02, "{s:?}");
        assert_eq!(s.windows[1], -1.0);
        assert_eq!(s.false_alarms, [2, 1]);
    }

    #[test]
    fn the_threshold_is_chosen_for_the_corpus() {
        // A weak false alarm (0.5) is left out by the best threshold.
        let mut f = file(&[400, 700]);
        f.scores[900] = 0.5;
        let s = score(&[f], &STANDARD);
        assert_eq!(s.threshold, 1.0);
        assert!((s.normalized - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_score_that_is_not_a_number_does_not_stall_the_sweep() {
        // NaN ≠ NaN: the sweep once looped for ever on a detector's NaN; it is no detection.
        let mut f = file(&[400, 700]);
        f.scores[900] = f64::NAN;
        let s = score(&[f], &STANDARD);
        assert!((s.normalized - 100.0).abs() < 1e-9, "{s:?}");
    }
}
