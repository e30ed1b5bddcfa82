//! The Numenta Anomaly Benchmark (NAB v1.1), behind `seismo nab`. Runs the streaming numeric
//! detector over every data file, writes results in NAB's layout
//! (`OUT/seismo/<category>/seismo_<file>.csv`, columns `timestamp,value,anomaly_score,label`)
//! so NAB's own scorer can read them, and with `--score` scores them with seismo's
//! implementation of NAB's scoring (`score.rs`). `--detector reports` runs the report
//! engine instead, over the files of counts (`realTweets`), into `OUT/seismo-reports/`.
//! `--against DIR` scores another detector's results in the same layout (NAB publishes
//! every detector's, `results/<detector>/`) with the same scorer, and lists where the two
//! differ window by window: what a detector gains over another, and where.

mod reports;
mod score;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use seismo_detect::numeric::NumericDetector;

use score::{Costs, File};

/// What to run: the arguments of `seismo nab`.
#[derive(clap::Args)]
pub struct Options {
    /// The NAB directory: data/, labels/combined_windows.json, config/profiles.json.
    #[arg(long)]
    pub data: PathBuf,
    /// Where the results go (OUT/seismo/...).
    #[arg(long)]
    pub out: PathBuf,
    /// Score the results: the three profiles, and each category.
    #[arg(long)]
    pub score: bool,
    /// Tell the detector each file's smallest and largest value before it starts, as
    /// NAB's own harness tells every detector (HTM, CAD OSE and ARTime use them). This
    /// looks ahead, so by default the detector learns the range as the values come.
    #[arg(long)]
    pub known_range: bool,
    /// Which detector: the numeric one over every file, or the report engine (the one
    /// that opens incidents on the site) over the files of counts, `realTweets`.
    #[arg(long, value_enum, default_value_t = Detector::Numeric)]
    pub detector: Detector,
    /// Another detector's results in NAB's layout, such as NAB's own `results/ARTime`
    /// (`DIR/<category>/<DIR's name>_<file>.csv`, the anomaly score third): scored with
    /// the same scorer beside seismo's, with the windows where the two earned
    /// differently and the files where their false alarms differ.
    #[arg(long, requires = "score")]
    pub against: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Detector {
    /// The streaming numeric detector (`seismo_detect::numeric`).
    Numeric,
    /// The report engine, each count a number of reports.
    Reports,
}

/// The category whose values are counts of events, as reports are.
const COUNTS: &str = "realTweets";

fn timestamp(text: &str) -> anyhow::Result<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .with_context(|| format!("{text:?} is not a NAB timestamp"))?;
    Ok(t.and_utc().timestamp())
}

/// Runs the detector over every labelled file, writes the results, and with
/// `options.score` prints the scores.
pub fn run(args: &Options) -> anyhow::Result<()> {
    let labels_path = args.data.join("labels/combined_windows.json");
    let labels: HashMap<String, Vec<(String, String)>> = serde_json::from_str(
        &std::fs::read_to_string(&labels_path)
            .with_context(|| format!("cannot read {}", labels_path.display()))?,
    )
    .with_context(|| format!("{}: not NAB windows", labels_path.display()))?;
    let results = match args.detector {
        Detector::Numeric => "seismo",
        Detector::Reports => "seismo-reports",
    };
    let mut files = Vec::new();
    let mut keys = Vec::new();
    let mut names: Vec<&String> = labels.keys().collect();
    names.sort();
    for name in names {
        let (category, file_name) = name
            .split_once('/')
            .with_context(|| format!("label key {name:?}"))?;
        if args.detector == Detector::Reports && category != COUNTS {
            continue;
        }
        let path = args.data.join("data").join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file = detect_file(&path, &text, category, &labels[name], args)?;
        write_results(&args.out, results, category, file_name, &text, &file)?;
        files.push(file);
        keys.push(name.as_str());
    }
    eprintln!(
        "{} files -> {}",
        files.len(),
        args.out.join(results).display()
    );
    if args.score {
        let profiles = Profiles::read(&args.data)?;
        let ours = if args.known_range {
            "seismo --known-range"
        } else {
            "seismo"
        };
        let our_score = print_scores(&profiles, &files, ours)?;
        if let Some(dir) = &args.against {
            let (name, theirs) = read_results(dir, &keys, &files)?;
            let their_score = print_scores(&profiles, &theirs, &name)?;
            print_differences(
                &profiles,
                &keys,
                &files,
                (ours, &our_score),
                (&name, &their_score),
            )?;
        }
    }
    Ok(())
}

/// The results of another detector in NAB's layout under `dir`, for the files `keys`
/// (`category/file.csv`) that seismo ran over, with their timestamps and windows; and
/// the detector's name, `dir`'s own.
fn read_results(dir: &Path, keys: &[&str], ours: &[File]) -> anyhow::Result<(String, Vec<File>)> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: no detector name", dir.display()))?
        .to_string();
    let mut theirs = Vec::new();
    for (key, file) in keys.iter().zip(ours) {
        let (category, file_name) = key.split_once('/').unwrap_or(("", key));
        let path = dir.join(category).join(format!("{name}_{file_name}"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let scores = text
            .lines()
            .enumerate()
            .skip(1)
            .map(|(n, line)| {
                let score = line.split(',').nth(2).with_context(|| {
                    format!("{}:{}: no anomaly_score column", path.display(), n + 1)
                })?;
                score.trim().parse::<f64>().with_context(|| {
                    format!("{}:{}: {score:?} is not a number", path.display(), n + 1)
                })
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        if scores.len() != file.timestamps.len() {
            bail!(
                "{}: {} rows, but the data file has {}",
                path.display(),
                scores.len(),
                file.timestamps.len()
            );
        }
        theirs.push(File {
            scores,
            ..file.clone()
        });
    }
    Ok((name, theirs))
}

/// Runs the detector over one file's `text`, one value at a time, in order; `path`
/// names it in errors.
fn detect_file(
    path: &Path,
    text: &str,
    category: &str,
    windows: &[(String, String)],
    args: &Options,
) -> anyhow::Result<File> {
    let (mut timestamps, mut values) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate().skip(1) {
        let (t, v) = line
            .split_once(',')
            .with_context(|| format!("{}:{}: not `timestamp,value`", path.display(), n + 1))?;
        let value: f64 = v
            .trim()
            .parse()
            .with_context(|| format!("{}:{}: {v:?} is not a number", path.display(), n + 1))?;
        let at = timestamp(t).with_context(|| format!("{}:{}", path.display(), n + 1))?;
        timestamps.push(at);
        values.push(value);
    }
    let scores = match args.detector {
        Detector::Numeric => numeric_scores(&timestamps, &values, args.known_range),
        Detector::Reports => reports::scores(&timestamps, &values),
    };
    let windows = windows
        .iter()
        .map(|(s, e)| Ok((timestamp(s)?, timestamp(e)?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(File {
        category: category.to_string(),
        timestamps,
        scores,
        windows,
    })
}

/// The numeric detector's score of each value, in order.
fn numeric_scores(timestamps: &[i64], values: &[f64], known_range: bool) -> Vec<f64> {
    let mut detector = if known_range {
        let (low, high) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        NumericDetector::with_range(low, high)
    } else {
        NumericDetector::new()
    };
    // Values per day, from the first interval: the daily watch starts after a day,
    // by which time the second timestamp has long been seen.
    if let [first, second, ..] = *timestamps
        && second > first
    {
        detector = detector.with_daily_period((86_400 / (second - first)) as usize);
    }
    values.iter().map(|&v| detector.observe(v)).collect()
}

/// Writes `file`'s scores as NAB's results of detector `name` (`seismo` or
/// `seismo-reports`): `OUT/name/category/name_file`.
fn write_results(
    out: &Path,
    name: &str,
    category: &str,
    file_name: &str,
    text: &str,
    file: &File,
) -> anyhow::Result<()> {
    let dir = out.join(name).join(category);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut csv = String::from("timestamp,value,anomaly_score,label\n");
    for ((line, &t), &score) in text.lines().skip(1).zip(&file.timestamps).zip(&file.scores) {
        let (stamp, value) = line.split_once(',').unwrap_or((line, ""));
        let label = u8::from(file.windows.iter().any(|&(s, e)| (s..=e).contains(&t)));
        let _ = writeln!(csv, "{stamp},{},{score},{label}", value.trim());
    }
    let path = dir.join(format!("{name}_{file_name}"));
    std::fs::write(&path, csv).with_context(|| format!("cannot write {}", path.display()))
}

/// NAB's scoring profiles (`config/profiles.json`), by name.
struct Profiles(Vec<(&'static str, Costs)>);

impl Profiles {
    fn read(data: &Path) -> anyhow::Result<Profiles> {
        let path = data.join("config/profiles.json");
        let profiles: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{}: not NAB profiles", path.display()))?;
        let costs = |name: &str| {
            let m = &profiles[name]["CostMatrix"];
            let weight = |k: &str| {
                m[k].as_f64()
                    .with_context(|| format!("{}: {name}.{k}", path.display()))
            };
            anyhow::Ok(Costs {
                true_positive: weight("tpWeight")?,
                false_positive: weight("fpWeight")?,
                false_negative: weight("fnWeight")?,
            })
        };
        Ok(Profiles(
            ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
                .into_iter()
                .map(|name| Ok((name, costs(name)?)))
                .collect::<anyhow::Result<_>>()?,
        ))
    }

    /// Where the standard profile stands among them: first, as [`Profiles::read`] reads them.
    const STANDARD: usize = 0;

    fn standard(&self) -> &Costs {
        &self.0[Self::STANDARD].1
    }
}

/// `detector`'s scores under each profile, overall and per category, as a table; the
/// standard profile's score, returned.
fn print_scores(
    profiles: &Profiles,
    files: &[File],
    detector: &str,
) -> anyhow::Result<score::Score> {
    if files.is_empty() {
        bail!("no data files");
    }
    println!(
        "| {detector} | score | threshold | {} |",
        categories(files).join(" | ")
    );
    println!("|---|---:|---:|{}", "---:|".repeat(categories(files).len()));
    let mut scores = Vec::new();
    for (name, costs) in &profiles.0 {
        let s = score::score(files, costs);
        let per: Vec<String> = s
            .categories
            .iter()
            .map(|(_, v)| format!("{v:.1}"))
            .collect();
        let threshold = if s.threshold.is_finite() {
            format!("{:.3}", s.threshold)
        } else {
            "none".into()
        };
        println!(
            "| {name} | {:.1} | {threshold} | {} |",
            s.normalized,
            per.join(" | ")
        );
        scores.push(s);
    }
    Ok(scores.swap_remove(Profiles::STANDARD))
}

/// From two detectors' standard scores over `files` (each at its own best threshold):
/// the windows where they earned differently (most lost by the first, `a`, first) and
/// the files where their false alarms differ. `keys` name the files.
fn print_differences(
    profiles: &Profiles,
    keys: &[&str],
    files: &[File],
    (our_name, a): (&str, &score::Score),
    (their_name, b): (&str, &score::Score),
) -> anyhow::Result<()> {
    let mut windows = Vec::new();
    for (key, file) in keys.iter().zip(files) {
        for &(start, _) in &file.windows {
            let from = chrono::DateTime::from_timestamp(start, 0)
                .context("a window's start")?
                .format("%Y-%m-%d %H:%M");
            windows.push(format!("{key} from {from}"));
        }
    }
    let mut differing: Vec<(f64, &String, f64, f64)> = (windows.iter().enumerate())
        .map(|(w, name)| {
            (
                a.windows[w] - b.windows[w],
                name,
                a.windows[w],
                b.windows[w],
            )
        })
        .filter(|&(difference, ..)| difference.abs() > 0.05)
        .collect();
    differing.sort_by(|x, y| x.0.total_cmp(&y.0));
    println!(
        "\nStandard profile, each at its own threshold: what each window earned (1 found at its start, 0 at its end, -1 missed), where the two differ"
    );
    println!("| window | {our_name} | {their_name} |\n|---|---:|---:|");
    for (_, name, ours, theirs) in differing {
        println!("| {name} | {ours:.2} | {theirs:.2} |");
    }
    let miss = -profiles.standard().false_negative;
    let missed = |s: &score::Score| s.windows.iter().filter(|&&w| w == miss).count();
    println!(
        "\nMissed windows: {our_name} {}, {their_name} {}. False alarms: {our_name} {}, {their_name} {}; where they differ:",
        missed(a),
        missed(b),
        a.false_alarms.iter().sum::<usize>(),
        b.false_alarms.iter().sum::<usize>()
    );
    println!("| file | {our_name} | {their_name} |\n|---|---:|---:|");
    for ((key, ours), theirs) in keys.iter().zip(&a.false_alarms).zip(&b.false_alarms) {
        if ours != theirs {
            println!("| {key} | {ours} | {theirs} |");
        }
    }
    Ok(())
}

fn categories(files: &[File]) -> Vec<String> {
    let mut c: Vec<String> = files.iter().map(|f| f.category.clone()).collect();
    c.sort();
    c.dedup();
    c
}
