//! `seismo simulate SCENARIO.toml`: weeks of seasonal report traffic for several
//! services and cities, with the outages the scenario describes, as NDJSON on
//! standard output. Deterministic: the scenario's seed fixes every report.
//!
//! The format is documented in scenarios/README.md.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};
use seismo_core::time::{self, DAY_MS, HOUR_MS, MINUTE_MS, Millis};
use serde::Deserialize;

#[derive(clap::Args)]
pub struct Args {
    /// The scenario (TOML).
    scenario: PathBuf,
    /// Also write the posts people make (NDJSON) to this file.
    #[arg(long)]
    posts: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seed of the random generator.
    #[serde(default)]
    pub seed: u64,
    /// First and last instant of generated traffic (RFC 3339).
    pub start: String,
    pub end: String,
    /// Offset from UTC of the reporters' local time, which shapes the day.
    #[serde(default = "default_utc_offset")]
    pub utc_offset_hours: i64,
    /// Extra factor on Monday 08:00–11:00 local time (normal traffic: the baseline must
    /// learn it, not alarm on it).
    #[serde(default = "one")]
    pub monday_morning: f64,
    /// Spread of day-to-day and hour-to-hour noise (σ of a log-normal factor).
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Share of reports without a place.
    #[serde(default = "default_unplaced")]
    pub unplaced: f64,
    pub service: Vec<ServiceTraffic>,
    /// Where reports come from, with weights; a list of large US cities when absent.
    #[serde(default)]
    pub city: Vec<CityWeight>,
    #[serde(default)]
    pub outage: Vec<Outage>,
    #[serde(default)]
    pub holiday: Vec<Holiday>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTraffic {
    pub slug: String,
    /// Mean reports per hour over a normal week.
    pub per_hour: f64,
    /// Normal mix of problems, as weights.
    #[serde(default)]
    pub problems: BTreeMap<String, f64>,
    /// Mean complaints posted an hour over a normal week, each by someone new.
    #[serde(default)]
    pub posts_per_hour: f64,
    /// The name people post it under ("Outlook"); the slug, spaced, when absent.
    #[serde(default)]
    pub posted_as: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityWeight {
    pub name: String,
    pub country: String,
    pub weight: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    pub service: String,
    /// When the extra reports begin.
    pub onset: String,
    /// Minutes from the onset to the full rate.
    #[serde(default = "one_i64")]
    pub ramp_minutes: i64,
    /// Minutes at the full rate.
    pub plateau_minutes: i64,
    /// Minutes back to normal.
    #[serde(default = "one_i64")]
    pub decay_minutes: i64,
    /// At full rate the service gets this many times its normal rate.
    pub multiplier: f64,
    /// Cities where the extra reports come from (names of `city` entries); everywhere
    /// in normal proportions when empty.
    #[serde(default)]
    pub cities: Vec<String>,
    /// Mix of problems of the extra reports; the normal mix when empty.
    #[serde(default)]
    pub problems: BTreeMap<String, f64>,
    /// Services that break because this one did, with the same footprint.
    #[serde(default)]
    pub follower: Vec<Follower>,
    /// Complaints posted at full outage, times the normal posts (1: no more than usual).
    #[serde(default = "one")]
    pub posts_multiplier: f64,
    /// Minutes before the onset that the extra posts begin (people notice before they
    /// report).
    #[serde(default)]
    pub posts_lead_minutes: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follower {
    pub service: String,
    pub delay_minutes: i64,
    pub multiplier: f64,
    #[serde(default)]
    pub problems: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// `YYYY-MM-DD`, in local time.
    pub date: String,
    /// Traffic factor for that day.
    pub factor: f64,
}

fn default_utc_offset() -> i64 {
    -6
}
fn one() -> f64 {
    1.0
}
fn one_i64() -> i64 {
    1
}
fn default_noise() -> f64 {
    0.1
}
fn default_unplaced() -> f64 {
    0.1
}

const US_CITIES: &[(&str, f64)] = &[
    ("New York City", 8.8),
    ("Los Angeles", 3.9),
    ("Chicago", 2.7),
    ("Houston", 2.3),
    ("Phoenix", 1.6),
    ("Philadelphia", 1.6),
    ("San Antonio", 1.4),
    ("San Diego", 1.4),
    ("Dallas", 1.3),
    ("San Jose", 1.0),
    ("Austin", 1.0),
    ("Jacksonville", 0.9),
    ("Columbus", 0.9),
    ("Charlotte", 0.9),
    ("San Francisco", 0.8),
    ("Seattle", 0.75),
    ("Denver", 0.7),
    ("Washington", 0.7),
    ("Boston", 0.65),
    ("Portland", 0.65),
    ("Atlanta", 0.5),
    ("Miami", 0.45),
    ("Minneapolis", 0.43),
];

/// An outage as the generator applies it: one per service hit, followers included.
struct Surge {
    service: usize,
    onset: Millis,
    ramp: Millis,
    plateau: Millis,
    decay: Millis,
    extra: f64,
    cities: Vec<usize>,
    problems: Vec<(String, f64)>,
}

impl Surge {
    /// 0 before and after, 1 on the plateau, linear on the ramps.
    fn shape(&self, at: Millis) -> f64 {
        let t = at - self.onset;
        if t < 0 || t >= self.ramp + self.plateau + self.decay {
            0.0
        } else if t < self.ramp {
            (t + MINUTE_MS) as f64 / self.ramp.max(MINUTE_MS) as f64
        } else if t < self.ramp + self.plateau {
            1.0
        } else {
            1.0 - (t - self.ramp - self.plateau) as f64 / self.decay.max(MINUTE_MS) as f64
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scenario = Scenario::load(&args.scenario)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let count = scenario.generate(&mut out)?;
    out.flush()?;
    let posts = match &args.posts {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let count = scenario.generate_posts(&mut out)?;
            out.flush()?;
            format!(", {count} posts")
        }
        None => String::new(),
    };
    eprintln!(
        "{}: {count} reports{posts}. {}",
        args.scenario.display(),
        scenario.description
    );
    Ok(ExitCode::SUCCESS)
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Scenario::parse(&path.display().to_string(), &text)
    }

    /// Parses scenario `text`; `name` names it in errors.
    pub fn parse(name: &str, text: &str) -> anyhow::Result<Scenario> {
        seismo::config::parse_toml(name, text)
    }

    /// When the first outage begins.
    pub fn first_onset(&self) -> anyhow::Result<Option<Millis>> {
        let onsets = self
            .outage
            .iter()
            .map(|o| self.time("outage.onset", &o.onset))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(onsets.into_iter().min())
    }

    fn time(&self, field: &str, text: &str) -> anyhow::Result<Millis> {
        time::parse_rfc3339(text)
            .with_context(|| format!("{field}: {text:?} is not an RFC 3339 time"))
    }

    /// Writes the complaints people post, in time order, and returns how many: each
    /// service's normal posts (following the day, as reports do), and each outage's
    /// extra ones from `posts_lead_minutes` before its onset to its end. Drawn from a
    /// generator of their own, so that posts never change the reports of a seed.
    pub fn generate_posts(&self, out: &mut impl Write) -> anyhow::Result<u64> {
        let (start, end) = (
            self.time("start", &self.start)?,
            self.time("end", &self.end)?,
        );
        let mut surges = Vec::new();
        for outage in &self.outage {
            let index = self
                .service
                .iter()
                .position(|s| s.slug == outage.service)
                .with_context(|| {
                    format!("outage of {:?}, which has no [[service]]", outage.service)
                })?;
            let onset = self.time("outage.onset", &outage.onset)?;
            let lead = outage.posts_lead_minutes * MINUTE_MS;
            surges.push(Surge {
                service: index,
                onset: onset - lead,
                ramp: outage.ramp_minutes * MINUTE_MS,
                plateau: lead + outage.plateau_minutes * MINUTE_MS,
                decay: outage.decay_minutes * MINUTE_MS,
                extra: self.service[index].posts_per_hour / 60.0 * (outage.posts_multiplier - 1.0),
                cities: Vec::new(),
                problems: mix(if outage.problems.is_empty() {
                    &self.service[index].problems
                } else {
                    &outage.problems
                }),
            });
        }
        let offset = self.utc_offset_hours * HOUR_MS;
        let mut rng = SmallRng::seed_from_u64(self.seed ^ 0x706f_7374);
        let normal_mixes: Vec<Vec<(String, f64)>> =
            self.service.iter().map(|s| mix(&s.problems)).collect();
        let mut count = 0u64;
        let mut minute = start - start.rem_euclid(MINUTE_MS);
        while minute <= end {
            let rhythm = self.rhythm(minute + offset);
            for (index, service) in self.service.iter().enumerate() {
                let normal = poisson(&mut rng, service.posts_per_hour / 60.0 * rhythm);
                let mut batches = vec![(normal, &normal_mixes[index])];
                for surge in surges.iter().filter(|s| s.service == index) {
                    let shape = surge.shape(minute);
                    if shape > 0.0 {
                        let extra = poisson(&mut rng, surge.extra * shape * rhythm.max(0.5));
                        batches.push((extra, &surge.problems));
                    }
                }
                let name = service
                    .posted_as
                    .clone()
                    .unwrap_or_else(|| service.slug.replace('-', " "));
                for (n, mix) in batches {
                    for _ in 0..n {
                        let templates = complaints_about(pick(&mut rng, mix));
                        let text = templates[rng.random_range(0..templates.len())]
                            .replace("{name}", &name);
                        let at = time::format_rfc3339(minute + rng.random_range(0..60) * 1000);
                        count += 1;
                        let author = format!("@sim{count}@posts.example");
                        let line = serde_json::json!({"text": text, "at": at, "author": author, "lang": "en"});
                        writeln!(out, "{line}")?;
                    }
                }
            }
            minute += MINUTE_MS;
        }
        Ok(count)
    }

    /// Writes the reports, in time order, and returns how many.
    pub fn generate(&self, out: &mut impl Write) -> anyhow::Result<u64> {
        let (start, end) = (
            self.time("start", &self.start)?,
            self.time("end", &self.end)?,
        );
        let offset = self.utc_offset_hours * HOUR_MS;
        let cities: Vec<CityWeight> = if self.city.is_empty() {
            US_CITIES
                .iter()
                .map(|&(name, weight)| CityWeight {
                    name: name.into(),
                    country: "US".into(),
                    weight,
                })
                .collect()
        } else {
            self.city.clone()
        };
        let city_total: f64 = cities.iter().map(|c| c.weight).sum();
        let slug_index = |slug: &str| -> anyhow::Result<usize> {
            self.service
                .iter()
                .position(|s| s.slug == slug)
                .with_context(|| format!("outage of {slug:?}, which has no [[service]]"))
        };
        let city_index = |name: &str| -> anyhow::Result<usize> {
            cities
                .iter()
                .position(|c| c.name == name)
                .with_context(|| format!("outage city {name:?} is not in the city list"))
        };
        let mut surges = Vec::new();
        for outage in &self.outage {
            let onset = self.time("outage.onset", &outage.onset)?;
            let footprint = outage
                .cities
                .iter()
                .map(|c| city_index(c))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut add = |service: &str,
                           delay: i64,
                           multiplier: f64,
                           problems: &BTreeMap<String, f64>|
             -> anyhow::Result<()> {
                let index = slug_index(service)?;
                if multiplier < 1.0 {
                    bail!("outage of {service}: multiplier must be at least 1");
                }
                surges.push(Surge {
                    service: index,
                    onset: onset + delay * MINUTE_MS,
                    ramp: outage.ramp_minutes * MINUTE_MS,
                    plateau: outage.plateau_minutes * MINUTE_MS,
                    decay: outage.decay_minutes * MINUTE_MS,
                    extra: self.service[index].per_hour / 60.0 * (multiplier - 1.0),
                    cities: footprint.clone(),
                    problems: mix(if problems.is_empty() {
                        &self.service[index].problems
                    } else {
                        problems
                    }),
                });
                Ok(())
            };
            add(&outage.service, 0, outage.multiplier, &outage.problems)?;
            for f in &outage.follower {
                add(&f.service, f.delay_minutes, f.multiplier, &f.problems)?;
            }
        }
        let holidays: Vec<(Millis, f64)> = self
            .holiday
            .iter()
            .map(|h| {
                Ok((
                    self.time("holiday.date", &format!("{}T00:00:00Z", h.date))?,
                    h.factor,
                ))
            })
            .collect::<anyhow::Result<_>>()?;

        let mut rng = SmallRng::seed_from_u64(self.seed);
        let noise = LogNormal::new(0.0, self.noise).context("noise")?;
        let normal_mixes: Vec<Vec<(String, f64)>> =
            self.service.iter().map(|s| mix(&s.problems)).collect();
        let mut daily_noise = vec![1.0; self.service.len()];
        let mut hourly_noise = vec![1.0; self.service.len()];
        let mut count = 0u64;
        let mut minute = start - start.rem_euclid(MINUTE_MS);
        while minute <= end {
            let local = minute + offset;
            if local.rem_euclid(DAY_MS) == 0 || minute == start {
                daily_noise
                    .iter_mut()
                    .for_each(|n| *n = noise.sample(&mut rng));
            }
            if local.rem_euclid(HOUR_MS) == 0 || minute == start {
                hourly_noise
                    .iter_mut()
                    .for_each(|n| *n = noise.sample(&mut rng));
            }
            let day_start = local - local.rem_euclid(DAY_MS);
            let holiday = holidays
                .iter()
                .find(|h| h.0 == day_start)
                .map_or(1.0, |h| h.1);
            let rhythm = self.rhythm(local) * holiday;
            for (index, service) in self.service.iter().enumerate() {
                let rate =
                    service.per_hour / 60.0 * rhythm * daily_noise[index] * hourly_noise[index];
                // Normal traffic, then each outage's extra reports, which follow the day
                // too, dimmed at night like everything else.
                let mut batches = vec![(poisson(&mut rng, rate), &[][..], &normal_mixes[index])];
                for surge in surges.iter().filter(|s| s.service == index) {
                    let shape = surge.shape(minute);
                    if shape > 0.0 {
                        let extra = poisson(&mut rng, surge.extra * shape * rhythm.max(0.5));
                        batches.push((extra, &surge.cities[..], &surge.problems));
                    }
                }
                for (n, footprint, mix) in batches {
                    for _ in 0..n {
                        let city =
                            pick_city(&mut rng, &cities, city_total, footprint, self.unplaced);
                        let problem = pick(&mut rng, mix);
                        self.write(
                            out,
                            &mut rng,
                            minute,
                            &service.slug,
                            problem,
                            city.map(|c| &cities[c]),
                            &mut count,
                        )?;
                    }
                }
            }
            minute += MINUTE_MS;
        }
        Ok(count)
    }

    /// Traffic by local time: quiet nights, busy working hours, calmer weekends, and the
    /// Monday-morning rush; about 1 on average over a week.
    fn rhythm(&self, local: Millis) -> f64 {
        let hour = local.rem_euclid(DAY_MS) as f64 / HOUR_MS as f64;
        // Weekdays counted from Monday = 0; 1970-01-01 was a Thursday (3).
        let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7);
        // A hump from 06:00 to 22:00 peaking mid-afternoon, over a night floor.
        let awake = ((hour - 6.0) / 16.0 * std::f64::consts::PI).sin().max(0.0);
        let daily = 0.3
            + 1.4
                * if (6.0..22.0).contains(&hour) {
                    awake
                } else {
                    0.0
                };
        let weekly = if weekday >= 5 { 0.6 } else { 1.1 };
        let rush = if weekday == 0 && (8.0..11.0).contains(&hour) {
            self.monday_morning
        } else {
            1.0
        };
        daily * weekly * rush
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        out: &mut impl Write,
        rng: &mut SmallRng,
        minute: Millis,
        service: &str,
        problem: &str,
        city: Option<&CityWeight>,
        count: &mut u64,
    ) -> anyhow::Result<()> {
        let at = time::format_rfc3339(minute + rng.random_range(0..60) * 1000);
        *count += 1;
        let client = format!("sim-{}-{count}", self.seed);
        let line = match city {
            Some(c) => {
                serde_json::json!({"service": service, "problem": problem, "at": at, "client": client, "city": c.name, "country": c.country})
            }
            None => {
                serde_json::json!({"service": service, "problem": problem, "at": at, "client": client})
            }
        };
        writeln!(out, "{line}")?;
        Ok(())
    }
}

/// What people post when `problem` breaks, `{name}` for the service.
fn complaints_about(problem: &str) -> &'static [&'static str] {
    match problem {
        "email" => &[
            "{name} emails going out slowly, nothing incoming",
            "{name} can't send email: 451 4.3.2 temporary server issue",
            "is {name} down? mail not arriving since lunch",
        ],
        "login" => &[
            "can't log in to {name} again",
            "{name} login not working, keeps asking for my password",
        ],
        _ => &[
            "is {name} down for anyone else?",
            "{name} not working for me",
            "{name} outage? nothing loads",
        ],
    }
}

fn mix(weights: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    if weights.is_empty() {
        return vec![("other".into(), 1.0)];
    }
    weights.iter().map(|(p, w)| (p.clone(), *w)).collect()
}

fn poisson(rng: &mut SmallRng, rate: f64) -> u64 {
    if rate <= 0.0 {
        return 0;
    }
    Poisson::new(rate).map_or(0, |p| p.sample(rng) as u64)
}

fn pick<'a>(rng: &mut SmallRng, weights: &'a [(String, f64)]) -> &'a str {
    let total: f64 = weights.iter().map(|w| w.1).sum();
    let mut x = rng.random_range(0.0..total);
    for (name, w) in weights {
        x -= w;
        if x < 0.0 {
            return name;
        }
    }
    &weights[weights.len() - 1].0
}

/// A city by weight, or among `only` when given; `None` (a report without a place) with
/// probability `unplaced`, except inside a footprint.
fn pick_city(
    rng: &mut SmallRng,
    cities: &[CityWeight],
    total: f64,
    only: &[usize],
    unplaced: f64,
) -> Option<usize> {
    if !only.is_empty() {
        return Some(only[rng.random_range(0..only.len())]);
    }
    if rng.random_bool(unplaced) {
        return None;
    }
    let mut x = rng.random_range(0.0..total);
    for (i, c) in cities.iter().enumerate() {
        x -= c.weight;
        if x < 0.0 {
            return Some(i);
        }
    }
    Some(cities.len() - 1)
}
