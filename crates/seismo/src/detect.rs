//! `seismo detect`: the engine over history, with time taken from the data.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use seismo_core::gazetteer::Gazetteer;
use seismo_core::post::{Classifier, Post};
use seismo_core::report::{CountingRule, Report, ReportRules, TimeLimits};
use seismo_core::signal::Signal;
use seismo_core::time::{self, HOUR_MS, MINUTE_MS, Millis, minute_floor};
use seismo_detect::view::IncidentView;
use seismo_detect::{Engine, Incident};

use crate::Common;
use crate::ndjson::{Rejected, validate_line, validate_post_line};
use crate::setup::load_catalog;

#[derive(clap::Args)]
pub struct Args {
    /// The settings: the catalog, `[engine]` (docs/DETECTION.md) and `counting_window`.
    #[command(flatten)]
    common: Common,
    /// NDJSON reports, one per line, each with `at`; `-` reads standard input.
    #[arg(long)]
    reports: PathBuf,
    /// NDJSON posts, one per line, each with `text` and `at` (and `author`, who it
    /// counts as), as `seismo simulate --posts` writes them.
    #[arg(long)]
    posts: Option<PathBuf>,
    /// Print only incidents still open at or ended after this time (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Ignore reports from this time on (RFC 3339); the engine runs up to it.
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Table,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = args.common.load()?;
    let catalog = Arc::new(load_catalog(&settings)?);
    let config = settings.engine.clone();
    let parse_time = |field: &str, text: &Option<String>| -> anyhow::Result<Option<Millis>> {
        text.as_deref()
            .map(|t| {
                time::parse_rfc3339(t)
                    .with_context(|| format!("--{field}: {t:?} is not an RFC 3339 time"))
            })
            .transpose()
    };
    let (from, to) = (parse_time("from", &args.from)?, parse_time("to", &args.to)?);
    let name = args.reports.display().to_string();
    let data = if name == "-" {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut data)?;
        data
    } else {
        std::fs::read(&args.reports).with_context(|| format!("cannot read {name}"))?
    };
    let started = Instant::now();
    let gazetteer = Gazetteer::embedded();
    let rules = ReportRules {
        catalog: &catalog,
        gazetteer,
        geoip: None,
        limits: TimeLimits::default(),
        client_salt: 0,
    };
    let (mut reports, rejected) = parse(&rules, &data);
    let lines = reports.len() as u64 + rejected.count;
    if let Some(to) = to {
        reports.retain(|r| r.at < to);
    }
    let mut posts = match &args.posts {
        Some(path) => read_posts(&rules, &catalog, path)?,
        None => Vec::new(),
    };
    if let Some(to) = to {
        posts.retain(|p| p.at < to);
    }
    let mut engine = Engine::new(config, catalog.clone(), gazetteer);
    let counted = run_engine(
        &mut engine,
        &mut reports,
        &mut posts,
        settings.counting_window_ms(),
        to,
    );
    let seconds = started.elapsed().as_secs_f64();
    let incidents: Vec<&Incident> = engine
        .incidents()
        .iter()
        .filter(|i| from.is_none_or(|from| i.ended_at.is_none_or(|end| end >= from)))
        .collect();
    eprintln!(
        "{name}: {} reports ({counted} counted), {} rejected lines, {} incidents, in {seconds:.2} s ({:.0} lines/s)",
        reports.len(),
        rejected.count,
        incidents.len(),
        lines as f64 / seconds.max(1e-9)
    );
    rejected.print(&name);
    let views: Vec<IncidentView> = incidents
        .iter()
        .map(|i| IncidentView::new(i, &catalog, gazetteer))
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &views)?;
            writeln!(out)?;
        }
        Format::Table => print_table(&mut out, &views)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates every line, on every core; reports come back in line order.
pub fn parse(rules: &ReportRules, data: &[u8]) -> (Vec<Report>, Rejected) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let mut chunks = Vec::new();
    let mut rest = data;
    let mut first_line = 1u64;
    for i in (1..=threads).rev() {
        let cut = if i == 1 {
            rest.len()
        } else {
            let guess = rest.len() / i;
            rest[guess..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| guess + p + 1)
        };
        let (chunk, tail) = rest.split_at(cut);
        chunks.push((chunk, first_line));
        first_line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        rest = tail;
    }
    let results: Vec<(Vec<Report>, Rejected)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(chunk, first_line)| {
                scope.spawn(move || {
                    let (mut reports, mut rejected) = (Vec::new(), Rejected::default());
                    for (n, line) in chunk.split(|&b| b == b'\n').enumerate() {
                        let line_no = first_line + n as u64;
                        let text = line.trim_ascii();
                        if text.is_empty() {
                            continue;
                        }
                        match validate_line(rules, text, None) {
                            Ok(report) => reports.push(report),
                            Err(error) => rejected.record(line_no, error),
                        }
                    }
                    // Sorted here, on every core; the merge of the sorted runs is linear.
                    reports.sort_by_key(|r| r.at);
                    (reports, rejected)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parser thread"))
            .collect()
    });
    let mut reports = Vec::new();
    let mut rejected = Rejected::default();
    for (r, x) in results {
        reports.extend(r);
        rejected.merge(x);
    }
    (reports, rejected)
}

/// Reads a file of posts; an invalid line is an error naming the file and the line.
fn read_posts(
    rules: &ReportRules,
    catalog: &seismo_core::Catalog,
    path: &std::path::Path,
) -> anyhow::Result<Vec<Post>> {
    let name = path.display();
    let data = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    let classifier = Classifier::new(catalog);
    let mut posts = Vec::new();
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let text = line.trim_ascii();
        if !text.is_empty() {
            let post = validate_post_line(rules, &classifier, text)
                .with_context(|| format!("{name}:{}", n + 1))?;
            posts.push(post);
        }
    }
    Ok(posts)
}

/// Feeds the engine in time order, reports and posts merged, ticking at every minute
/// boundary as the data's clock passes it, exactly as the live server does with the
/// wall clock. Each counts as the stores count it (once per person, service and
/// window). Returns how many reports counted.
pub fn run_engine(
    engine: &mut Engine,
    reports: &mut [Report],
    posts: &mut [Post],
    counting_window: Millis,
    until: Option<Millis>,
) -> u64 {
    reports.sort_by_key(|r| r.at);
    posts.sort_by_key(|p| p.at);
    let mut posts = posts.iter().filter_map(Post::complaint).peekable();
    let mut post_rule = CountingRule::new(counting_window);
    let mut hear_posts_until = |engine: &mut Engine, at: Millis| {
        while let Some(post) = posts.next_if(|p| p.at <= at) {
            if post_rule.admit_at(post.author, u64::from(post.service.0), post.at) {
                engine.replay(&Signal::Post(post));
            }
        }
    };
    let mut rule = CountingRule::new(counting_window);
    let mut counted = 0;
    let mut forgot = Millis::MIN;
    for report in reports.iter() {
        hear_posts_until(engine, report.at);
        // In time order, a reporter silent for longer than the window can be forgotten.
        if report.at > forgot.saturating_add(HOUR_MS) {
            rule.forget_before(report.at - counting_window);
            forgot = report.at;
        }
        if !rule.admit(report) {
            continue;
        }
        counted += 1;
        engine.replay(&Signal::Report(*report));
    }
    hear_posts_until(engine, until.unwrap_or(Millis::MAX));
    if let Some(last) = until.or(reports.last().map(|r| minute_floor(r.at) + MINUTE_MS)) {
        engine.advance_to(last);
    }
    counted
}

fn print_table(out: &mut impl Write, views: &[IncidentView]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<4} {:<20} {:<10} {:<20} {:<20} {:<20} {:>6} {:<9} {:<14} places",
        "id", "service", "state", "started", "detected", "ended", "peak", "footprint", "upstream"
    )?;
    for v in views {
        let upstream = v.upstream.as_ref().map_or("-".to_string(), |u| {
            format!("{}{}", u.service, if u.inferred { "?" } else { "" })
        });
        let places: Vec<&str> = v.cities.iter().take(7).map(|c| c.city.as_str()).collect();
        let footprint = serde_json::to_value(v.footprint)
            .ok()
            .and_then(|f| f.as_str().map(String::from))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<4} {:<20} {:<10} {:<20} {:<20} {:<20} {:>6} {:<9} {:<14} {}",
            v.id,
            v.service,
            v.state.as_str(),
            v.started_at,
            v.detected_at,
            v.ended_at.as_deref().unwrap_or("-"),
            v.peak_per_minute,
            footprint,
            upstream,
            places.join(", ")
        )?;
    }
    Ok(())
}
