//! `seismo nab` on a small synthetic benchmark in NAB's layout.

mod support;

use std::fmt::Write as _;

use support::seismo;

/// NAB's windows and its three profiles' costs, into the benchmark at `nab`.
fn write_labels_and_profiles(nab: &std::path::Path, windows: &serde_json::Value) {
    std::fs::create_dir_all(nab.join("labels")).unwrap();
    std::fs::create_dir_all(nab.join("config")).unwrap();
    std::fs::write(
        nab.join("labels/combined_windows.json"),
        windows.to_string(),
    )
    .unwrap();
    let costs = |fp: f64, fn_: f64| serde_json::json!({"CostMatrix": {"tpWeight": 1.0, "fnWeight": fn_, "fpWeight": fp, "tnWeight": 1.0}});
    let profiles = serde_json::json!({"standard": costs(0.11, 1.0), "reward_low_FP_rate": costs(0.22, 1.0), "reward_low_FN_rate": costs(0.11, 2.0)});
    std::fs::write(nab.join("config/profiles.json"), profiles.to_string()).unwrap();
}

/// `seismo nab ARGS --data NAB --out OUT`; how it ended and what it printed.
fn run_nab(args: &[&str], nab: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    seismo()
        .arg("nab")
        .args(args)
        .arg("--data")
        .arg(nab)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// `seismo nab ARGS --data NAB --out OUT`, which must succeed; what it printed.
fn seismo_nab(args: &[&str], nab: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let output = run_nab(args, nab, out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `2015-01-01 00:00:00` plus `i` five-minute steps, as NAB writes times.
fn stamp(i: i64) -> String {
    let t = chrono::DateTime::from_timestamp(1_420_070_400 + i * 300, 0).unwrap();
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// 1,000 five-minute values around 100, with a jump to 500 at row 700: a data file.
fn jump() -> String {
    let mut csv = String::from("timestamp,value\n");
    for i in 0..1000 {
        let value = if (700..720).contains(&i) {
            500
        } else {
            100 + (i * 37) % 11
        };
        writeln!(csv, "{},{value}", stamp(i)).unwrap();
    }
    csv
}

/// A NAB directory under `dir` whose data is [`jump`] as `synthetic/jump.csv`.
fn nab_with_jump(dir: &std::path::Path) -> std::path::PathBuf {
    let nab = dir.join("nab");
    std::fs::create_dir_all(nab.join("data/synthetic")).unwrap();
    std::fs::write(nab.join("data/synthetic/jump.csv"), jump()).unwrap();
    nab
}

/// The labelled window around [`jump`]'s jump, rows 690 to 740, as NAB writes windows.
fn jump_window() -> serde_json::Value {
    serde_json::json!([[
        format!("{}.000000", stamp(690)),
        format!("{}.000000", stamp(740))
    ]])
}

#[test]
fn the_report_engine_runs_over_the_counts_and_opens_an_incident_on_their_surge() {
    let dir = tempfile::tempdir().unwrap();
    let nab = dir.path().join("nab");
    std::fs::create_dir_all(nab.join("data/realTweets")).unwrap();
    std::fs::create_dir_all(nab.join("data/realTraffic")).unwrap();
    // Three weeks of 30 tweets every five minutes by day and 10 by night; on day 18
    // at 14:00, 300 for an hour.
    const DAY: i64 = 288;
    let surge = 18 * DAY + 14 * 12;
    let mut counts = String::from("timestamp,value\n");
    for i in 0..21 * DAY {
        let by_day = (8 * 12..22 * 12).contains(&(i % DAY));
        let value = if (surge..surge + 12).contains(&i) {
            300
        } else if by_day {
            30 + (i * 37) % 5
        } else {
            10 + (i * 37) % 3
        };
        writeln!(counts, "{},{value}", stamp(i)).unwrap();
    }
    std::fs::write(nab.join("data/realTweets/counts.csv"), counts).unwrap();
    // Not counts: not the report engine's to read, so never read (it does not exist).
    let windows = serde_json::json!({
        "realTweets/counts.csv": [[format!("{}.000000", stamp(surge - 6)), format!("{}.000000", stamp(surge + 30))]],
        "realTraffic/speed.csv": [],
    });
    write_labels_and_profiles(&nab, &windows);
    let out = dir.path().join("out");
    let output = seismo_nab(&["--detector", "reports", "--score"], &nab, &out);
    let csv =
        std::fs::read_to_string(out.join("seismo-reports/realTweets/seismo-reports_counts.csv"))
            .unwrap();
    let alarms: Vec<(usize, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<f64>().unwrap())
        .enumerate()
        .filter(|&(_, score)| score > 0.0)
        .collect();
    let surge = surge as usize;
    assert!(
        alarms
            .iter()
            .any(|&(i, s)| (surge..surge + 3).contains(&i) && s >= 0.5),
        "opened within ten minutes of the surge: {alarms:?}"
    );
    assert!(
        alarms
            .iter()
            .all(|&(i, _)| (surge..surge + 12).contains(&i)),
        "no other alarm: {alarms:?}"
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("| realTweets |"), "{table}");
}

#[test]
fn writes_results_in_nab_layout_and_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let nab = nab_with_jump(dir.path());
    // 500 values of irregular noise between 100 and 110, then one at 1,000.
    let mut noise = String::from("timestamp,value\n");
    for i in 0..501 {
        let value = if i == 500 {
            1000
        } else {
            100 + (i * i * 7919) % 11
        };
        writeln!(noise, "{},{value}", stamp(i)).unwrap();
    }
    std::fs::write(nab.join("data/synthetic/noise.csv"), noise).unwrap();
    // Two weeks at five-minute steps, 200 from 08:00 to 20:00 and 100 by night, but
    // day 6 keeps its night level: only the time of day, which seismo nab gives the
    // detector from the interval between the first two rows, tells it apart.
    const DAY: i64 = 288;
    let mut peakless = String::from("timestamp,value\n");
    for i in 0..14 * DAY {
        let by_day = (8 * 12..20 * 12).contains(&(i % DAY)) && i / DAY != 6;
        let value = if by_day { 200 } else { 100 } + (i * 37) % 11;
        writeln!(peakless, "{},{value}", stamp(i)).unwrap();
    }
    std::fs::write(nab.join("data/synthetic/peakless.csv"), peakless).unwrap();
    let windows = serde_json::json!({
        "synthetic/jump.csv": jump_window(),
        "synthetic/noise.csv": [],
        "synthetic/peakless.csv": [[format!("{}.000000", stamp(6 * DAY + 8 * 12)), format!("{}.000000", stamp(6 * DAY + 20 * 12))]],
    });
    write_labels_and_profiles(&nab, &windows);

    let nab_run = |flag: &str, out: &std::path::Path| seismo_nab(&[flag], &nab, out);
    let out = dir.path().join("out");
    let output = nab_run("--score", &out);
    let results = std::fs::read_to_string(out.join("seismo/synthetic/seismo_jump.csv")).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines[0], "timestamp,value,anomaly_score,label");
    assert_eq!(lines.len(), 1001);
    let row = |i: usize| lines[i + 1].split(',').collect::<Vec<_>>();
    assert_eq!(row(700)[3], "1", "inside the window");
    assert_eq!(row(100)[3], "0");
    assert!(
        row(700)[2].parse::<f64>().unwrap() > 0.5,
        "the jump is detected at once: {:?}",
        row(700)
    );
    // The anomaly scores that `seismo nab` wrote into `dir` for synthetic/`name`.csv.
    let scores = |dir: &std::path::Path, name: &str| -> Vec<f64> {
        let path = dir.join(format!("seismo/synthetic/seismo_{name}.csv"));
        let csv = std::fs::read_to_string(path).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .collect()
    };
    let alarms: Vec<usize> = (scores(&out, "peakless").into_iter().enumerate())
        .filter(|&(_, score)| score >= 0.75)
        .map(|(i, _)| i)
        .collect();
    let peak_due = (6 * DAY + 8 * 12) as usize;
    assert!(
        alarms.iter().any(|i| (peak_due..peak_due + 12).contains(i)),
        "the missing peak alarms within its first hour: {alarms:?}"
    );
    let table = String::from_utf8_lossy(&output.stdout);
    let standard = table
        .lines()
        .find(|l| l.starts_with("| standard |"))
        .unwrap();
    let score: f64 = standard.split('|').nth(2).unwrap().trim().parse().unwrap();
    assert!(score > 90.0, "{table}");

    // Told the range of the noise file (100 to 1,000) in advance, the noise is all one
    // level and never surprising; learning the range, the noise spans all levels
    // until the last value.
    let told = dir.path().join("told");
    nab_run("--known-range", &told);
    let (learnt, known) = (scores(&out, "noise"), scores(&told, "noise"));
    assert!(known[..500].iter().all(|&s| s == 0.0), "{known:?}");
    assert!(learnt[..500].iter().any(|&s| s > 0.0), "{learnt:?}");
}

#[test]
fn compares_with_another_detectors_results_window_by_window() {
    let dir = tempfile::tempdir().unwrap();
    let nab = nab_with_jump(dir.path());
    write_labels_and_profiles(
        &nab,
        &serde_json::json!({"synthetic/jump.csv": jump_window()}),
    );
    // Another detector's results, as NAB publishes them: it alarms only at row 300,
    // outside the window, so it misses the jump that seismo finds.
    let other = dir.path().join("results/late");
    std::fs::create_dir_all(other.join("synthetic")).unwrap();
    let results = |rows: usize| {
        let mut csv = String::from("timestamp,value,anomaly_score,label\n");
        for i in 0..rows {
            let score = if i == 300 { 1.0 } else { 0.0 };
            writeln!(csv, "{},0,{score},0", stamp(i as i64)).unwrap();
        }
        csv
    };
    let late = other.join("synthetic/late_jump.csv");
    std::fs::write(&late, results(1000)).unwrap();

    let out = dir.path().join("out");
    let output = seismo_nab(
        &["--score", "--against", other.to_str().unwrap()],
        &nab,
        &out,
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("| late | score | threshold | synthetic |"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("| synthetic/jump.csv from 2015-01-03 09:30 |"))
        .unwrap_or_else(|| panic!("the jump's window differs: {text}"));
    let earned: Vec<f64> = row
        .split('|')
        .skip(2)
        .take(2)
        .map(|c| c.trim().parse().unwrap())
        .collect();
    assert!(earned[0] > 0.5 && earned[1] == -1.0, "{row}");
    assert!(text.contains("Missed windows: seismo 0, late 1."), "{text}");

    // Results that do not match the data file row for row are refused, by name.
    std::fs::write(&late, results(999)).unwrap();
    let refused = run_nab(
        &["--score", "--against", other.to_str().unwrap()],
        &nab,
        &out,
    );
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("late_jump.csv: 999 rows, but the data file has 1000"),
        "{error}"
    );
}
