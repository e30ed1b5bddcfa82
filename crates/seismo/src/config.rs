//! `seismo.toml`: every setting of seismo in one file, each documented where it is
//! declared below; `seismo config default` prints them all with those comments.
//!
//! Where a setting comes from, each overriding the one before: its default, the file
//! (`--config FILE` or `SEISMO_CONFIG`), an environment variable, a command-line flag.
//! The variable of a key is `SEISMO_` and the key in capitals; a key in a table adds the
//! table's name and a double underscore: `listen` is `SEISMO_LISTEN`, `[engine]
//! sensitivity` is `SEISMO_ENGINE__SENSITIVITY`. A variable's value is read as a TOML
//! value (`8`, `true`, `"60s"`), or as a string when it is not one. Unknown keys and bad
//! values are errors that name the file, line and key, or the variable.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use seismo_core::report::TimeLimits;
use seismo_core::time::Millis;
use seismo_detect::EngineConfig;
use seismo_web::{Bounds, Rates, WebConfig};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{RefOr, schema::Object};

/// Variables that start with `SEISMO_` but are not settings of this file (the last two:
/// the database of seismo's own tests and its authority, set in the environment the
/// tests run seismo in).
const NOT_SETTINGS: &[&str] = &[
    "SEISMO_CONFIG",
    "SEISMO_LOG",
    "SEISMO_LOG_FORMAT",
    "SEISMO_TEST_DATABASE_URL",
    "SEISMO_TEST_DATABASE_CA",
];

/// Every setting of seismo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address `seismo serve` listens on; port 0 picks a free one.
    #[schema(value_type = String)]
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite store (DIR/seismo.db), used when `database`
    /// is not set.
    #[schema(value_type = String)]
    pub data: PathBuf,
    /// A PostgreSQL database to keep everything in instead of the embedded store
    /// ("postgres://user:password@host:5432/seismo"), shared by every node that names
    /// it. Also SEISMO_DATABASE_URL.
    pub database: Option<String>,
    /// The services to watch: a catalog file (README, "Catalog"). Not set: the built-in
    /// demo catalog of 28 well-known services.
    #[schema(value_type = Option<String>)]
    pub catalog: Option<PathBuf>,
    /// A GeoIP database (MMDB: DB-IP lite "City" or MaxMind GeoLite2-City) that places
    /// reports by IP address. Not set: reports are placed by the names or coordinates
    /// they carry.
    #[schema(value_type = Option<String>)]
    pub geoip: Option<PathBuf>,
    /// One report counts per reporter and service in this window. Durations are written
    /// like "90s", "60m", "1h 30m" or "7days".
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub counting_window: Duration,
    /// Reports are kept this long, then forgotten by whole months (a PostgreSQL
    /// partition dropped); their counts stay in 15-minute roll-ups, so charts reach
    /// back as far as the roll-ups do. At least 67 days (the 36 days replayed at start,
    /// and a month).
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub report_retention: Duration,
    /// How often the server looks for finished minutes to test; each minute is tested
    /// once, fifteen seconds after it ends.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub tick: Duration,
    /// The site's address as its readers reach it ("https://status.example.com"), for
    /// the absolute links of feeds and `/api/v2`. Not set: `http://` and the address
    /// the server listens on. Never taken from a request's `Host` header, which anyone
    /// can forge.
    pub public_url: Option<String>,
    /// Proxies (addresses or networks, "10.0.0.0/8") whose `X-Forwarded-For` is
    /// believed: a request from one of them comes from the last address in that header
    /// that is not a trusted proxy. Empty: every request comes from its peer address.
    #[schema(value_type = Vec<String>)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    #[schema(inline)]
    pub intake: Intake,
    #[schema(inline)]
    pub limits: Limits,
    #[schema(inline)]
    pub engine: EngineConfig,
    #[schema(inline)]
    pub probes: Probes,
    /// Public streams of posts read by this server (README, "Posts").
    #[schema(inline)]
    pub posts: Posts,
    /// How incidents become notifications (README, "Get alerted").
    #[schema(inline)]
    pub notify: seismo_notify::Grouping,
    /// Where notifications go, each a `[[channel]]` table: `name`, `kind` (webhook,
    /// slack, teams, email), `url` or `smtp`, `from` and `to`, `secret`, and what it
    /// hears of (`services`, `regions`, `labels`, `min_state`) (README, "Get alerted").
    pub channel: Vec<seismo_notify::Channel>,
    /// What is not told, each a `[[silence]]` table: `services`, `regions`, `labels`,
    /// `until` (RFC 3339) and a `comment`.
    pub silence: Vec<seismo_notify::Silence>,
    /// Scheduled maintenance, each a `[[maintenance]]` table: `title`, `services`,
    /// `starts` (RFC 3339), `duration`, optional `every` and `until` to repeat, and a
    /// `message`. Its services show "under maintenance" and their alerts are held back.
    pub maintenance: Vec<seismo_core::maintenance::Maintenance>,
    /// Public email subscriptions (README, "Get alerted"): `smtp` (as a channel's) and
    /// `from`. Without it, nobody can subscribe.
    #[schema(inline)]
    pub subscriptions: Option<seismo_notify::SubscriptionMail>,
}

/// The catalog's probes, run by this server (README, "Catalog").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Probes {
    /// Run the probes the catalog declares.
    pub enabled: bool,
    /// Where this server's probes run from, as results and the site name it
    /// ("Dallas, US"); agents name their own.
    pub location: String,
    /// PEM files of certificate authorities that HTTP, TLS and SMTP probes and status
    /// feeds trust besides the system's: a company's own, for its internal services.
    #[schema(value_type = Vec<String>)]
    pub ca_roots: Vec<PathBuf>,
}

impl Default for Probes {
    fn default() -> Probes {
        Probes {
            enabled: true,
            location: "server".into(),
            ca_roots: Vec::new(),
        }
    }
}

impl Probes {
    /// The prober of this server's probes, the reader of its status feeds and the
    /// deliverer of its notifications, all trusting `ca_roots`.
    pub fn clients(&self) -> anyhow::Result<Clients> {
        let roots = seismo_probe::tls::read_roots(&self.ca_roots)
            .map_err(|e| anyhow::anyhow!("[probes] ca_roots: {e}"))?;
        let tls = seismo_probe::tls::Settings::new(roots.clone()).map_err(anyhow::Error::msg)?;
        Ok(Clients {
            reader: seismo_feed::Reader::new(&tls, seismo_feed::READ_TIMEOUT)
                .map_err(anyhow::Error::msg)?,
            deliverer: seismo_notify::Deliverer::new(&tls).map_err(anyhow::Error::msg)?,
            prober: seismo_probe::Prober::new(roots, None).map_err(anyhow::Error::msg)?,
            tls: tls.verified(),
        })
    }
}

/// What this server reaches out with, trusting the same certificate authorities.
pub struct Clients {
    pub prober: seismo_probe::Prober,
    pub reader: seismo_feed::Reader,
    pub deliverer: seismo_notify::Deliverer,
    /// For the post streams.
    pub tls: std::sync::Arc<rustls::ClientConfig>,
}

/// Public streams of posts (README, "Posts"); none by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Posts {
    /// Mastodon streams, each a `[[posts.mastodon]]` table: `name`, `url` (a streaming
    /// URL, such as `https://mastodon.social/api/v1/streaming/hashtag?tag=outage`) and
    /// `token_env`, the environment variable holding a token for servers that want one.
    pub mastodon: Vec<PostStream>,
    /// Bluesky's Jetstream, each a `[[posts.bluesky]]` table: `name` and `url`
    /// (`wss://jetstream2.us-east.bsky.network/subscribe`).
    pub bluesky: Vec<PostStream>,
}

/// One stream of posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostStream {
    /// Its name on the admin page's status line.
    pub name: String,
    pub url: String,
    /// The environment variable holding its bearer token (Mastodon), if it needs one.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// What the report intake accepts, and how often (README, "Trust").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Intake {
    /// Largest NDJSON body accepted, in MiB.
    pub max_ndjson_mib: usize,
    /// Largest single JSON report (and NDJSON line), in KiB.
    pub max_json_kib: usize,
    /// Lines of an NDJSON body from a sender without a token, at most.
    pub anonymous_ndjson_lines: usize,
    /// How far in the future a report's `at` may be (clock skew).
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub max_future: Duration,
    /// How old a report's `at` may be without an importer's token.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub max_age: Duration,
    /// Write requests (reports, NDJSON bodies, form posts) per minute from one address
    /// (an IPv6 /64) without a token; a burst of this many passes at once.
    #[schema(value_type = u32)]
    pub per_ip_per_minute: NonZeroU32,
    /// The same from one network (IPv4 /24, IPv6 /48), all its addresses together.
    #[schema(value_type = u32)]
    pub per_network_per_minute: NonZeroU32,
    /// The same for each token, whatever address it comes from.
    #[schema(value_type = u32)]
    pub per_token_per_minute: NonZeroU32,
}

/// Bounds on the server's resources under any load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Open connections at most; more are closed as soon as they are accepted.
    pub connections: usize,
    /// Open connections from one address at most (a trusted proxy's are not capped).
    pub connections_per_ip: usize,
    /// A request's headers must arrive within this; an idle connection is closed after it.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    #[serde(with = "humantime_serde")]
    #[schema(value_type = String)]
    pub body_timeout: Duration,
    /// Open live-event streams (`/api/v1/events`) at most.
    pub event_streams: usize,
    /// Open live-event streams from one address at most.
    pub event_streams_per_ip: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("./seismo-data"),
            database: None,
            catalog: None,
            geoip: None,
            counting_window: Duration::from_secs(3600),
            report_retention: Duration::from_secs(400 * 86_400),
            tick: Duration::from_secs(5),
            public_url: None,
            trusted_proxies: Vec::new(),
            intake: Intake::default(),
            limits: Limits::default(),
            engine: EngineConfig::default(),
            probes: Probes::default(),
            posts: Posts::default(),
            notify: seismo_notify::Grouping::default(),
            channel: Vec::new(),
            silence: Vec::new(),
            maintenance: Vec::new(),
            subscriptions: None,
        }
    }
}

impl Default for Intake {
    fn default() -> Intake {
        let time = TimeLimits::default();
        let web = WebConfig::default();
        Intake {
            max_ndjson_mib: web.max_ndjson_body / (1024 * 1024),
            max_json_kib: web.max_json_body / 1024,
            anonymous_ndjson_lines: web.anonymous_ndjson_lines,
            max_future: Duration::from_millis(time.max_future as u64),
            max_age: Duration::from_millis(time.max_age as u64),
            per_ip_per_minute: web.rates.per_ip_per_minute,
            per_network_per_minute: web.rates.per_network_per_minute,
            per_token_per_minute: web.rates.per_token_per_minute,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        let bounds = Bounds::default();
        Limits {
            connections: bounds.connections,
            connections_per_ip: bounds.connections_per_ip,
            header_timeout: bounds.header_timeout,
            body_timeout: bounds.body_timeout,
            event_streams: bounds.event_streams,
            event_streams_per_ip: bounds.event_streams_per_ip,
        }
    }
}

impl Limits {
    pub fn bounds(&self) -> Bounds {
        Bounds {
            connections: self.connections,
            connections_per_ip: self.connections_per_ip,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            event_streams: self.event_streams,
            event_streams_per_ip: self.event_streams_per_ip,
        }
    }
}

impl Intake {
    pub fn rates(&self) -> Rates {
        Rates {
            per_ip_per_minute: self.per_ip_per_minute,
            per_network_per_minute: self.per_network_per_minute,
            per_token_per_minute: self.per_token_per_minute,
        }
    }

    pub fn time(&self) -> TimeLimits {
        TimeLimits {
            max_future: self.max_future.as_millis() as Millis,
            max_age: self.max_age.as_millis() as Millis,
        }
    }
}

impl Config {
    pub fn counting_window_ms(&self) -> Millis {
        self.counting_window.as_millis() as Millis
    }

    pub fn report_retention_ms(&self) -> Millis {
        self.report_retention.as_millis().min(Millis::MAX as u128) as Millis
    }

    /// The settings from `file` (defaults without one) and the `SEISMO_…` variables of
    /// `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let (name, text) = match file {
            Some(path) => (
                path.display().to_string(),
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            ),
            None => ("defaults".to_string(), String::new()),
        };
        // Parsed once from the text, so that errors name the line.
        let from_file: Config = parse_toml(&name, &text)?;
        let mut table: toml::Table = toml::from_str(&text).expect("parsed above");
        let mut config = from_file;
        for (variable, value) in env {
            let Some(path) = variable.strip_prefix("SEISMO_") else {
                continue;
            };
            // The name such addresses go by elsewhere.
            let path = if path == "DATABASE_URL" {
                "DATABASE"
            } else {
                path
            };
            if NOT_SETTINGS.contains(&variable.as_str()) {
                continue;
            }
            let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
            set(&mut table, &keys, env_value(&value))
                .and_then(|()| {
                    Config::deserialize(toml::Value::Table(table.clone()))
                        .map_err(|e| anyhow::anyhow!("{}", e.message().trim_end()))
                })
                .map(|with_it| config = with_it)
                .with_context(|| format!("environment {variable}={value:?}"))?;
        }
        seismo_notify::validate(&config.channel, &config.silence)
            .map_err(|e| anyhow::anyhow!("{}: {e}", place(&name, &text, &e.field)))?;
        if config.report_retention_ms() < seismo_runtime::MIN_REPORT_RETENTION_MS {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("report_retention"))
                .map_or(name.clone(), |i| format!("{name}:{}", i + 1));
            bail!(
                "{line}: report_retention: at least {} days: the replay at start needs {} days, and reports are forgotten by whole months",
                seismo_runtime::MIN_REPORT_RETENTION_MS / seismo_core::time::DAY_MS,
                seismo_runtime::REPLAY_DAYS
            );
        }
        Ok(config)
    }

    /// The whole default file, every setting with its documentation.
    pub fn default_file() -> String {
        let defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
        let mut out = String::from(
            "# seismo.toml: every setting, at its default. Each can also be set by an\n\
             # environment variable: SEISMO_ and the key in capitals, tables joined by a\n\
             # double underscore (SEISMO_LISTEN, SEISMO_ENGINE__SENSITIVITY).\n",
        );
        render(
            &mut out,
            &object(&<Config as utoipa::PartialSchema>::schema()),
            &defaults,
            "",
        );
        out
    }
}

/// Where the setting `field` (`channel[1].url`) of the file `name` holding `text` is:
/// `name:line`, the line of its table's header (the n-th `[[channel]]`).
pub fn place(name: &str, text: &str, field: &str) -> String {
    let (table, n) = field
        .split_once('[')
        .and_then(|(table, rest)| Some((table, rest.split(']').next()?.parse::<usize>().ok()?)))
        .unwrap_or(("", 0));
    let header = format!("[[{table}]]");
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(n)
        .map_or(name.to_string(), |(i, _)| format!("{name}:{}", i + 1))
}

/// Parses TOML `text` into `T`; errors name `name`, the line and the key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| {
        let Some(span) = e.span() else {
            return anyhow::anyhow!("{name}: {}", e.message().trim_end());
        };
        let line = text[..span.start].matches('\n').count() + 1;
        // The key of the line the error is on, when it is `key = value`.
        let key = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(key, _)| format!("{}: ", key.trim()))
            .unwrap_or_default();
        anyhow::anyhow!("{name}:{line}: {key}{}", e.message().trim_end())
    })
}

/// A variable's value as TOML, or as a string when it is not TOML.
fn env_value(value: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()))
}

/// Sets `keys` (a path of tables, then a key) in `table` to `value`.
fn set(table: &mut toml::Table, keys: &[String], value: toml::Value) -> anyhow::Result<()> {
    match keys {
        [] => bail!("no key"),
        [key] => {
            table.insert(key.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let inner = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match inner {
                toml::Value::Table(inner) => set(inner, rest, value),
                _ => bail!("{first} is not a table"),
            }
        }
    }
}

/// The table a schema describes (a table with defaults comes wrapped in `allOf`).
fn object(schema: &RefOr<Schema>) -> Object {
    match schema {
        RefOr::T(Schema::Object(object)) => object.clone(),
        RefOr::T(Schema::AllOf(all)) => all.items.iter().map(object).next().expect("a table"),
        _ => panic!("settings are tables"),
    }
}

/// Writes the keys of `defaults` with their descriptions from `schema`; tables last,
/// each under its header.
fn render(out: &mut String, schema: &Object, defaults: &toml::Table, table: &str) {
    let description = |key: &str| -> String {
        match schema.properties.get(key) {
            Some(RefOr::T(Schema::Object(o))) => o.description.clone().unwrap_or_default(),
            Some(RefOr::T(Schema::OneOf(o))) => o.description.clone().unwrap_or_default(),
            Some(RefOr::T(Schema::Array(a))) => a.description.clone().unwrap_or_default(),
            Some(RefOr::T(Schema::AllOf(all))) => all
                .items
                .iter()
                .find_map(|item| match item {
                    RefOr::T(Schema::Object(o)) => o.description.clone(),
                    _ => None,
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let comment = |out: &mut String, text: &str| {
        for line in text.lines() {
            out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
        }
    };
    let mut tables = Vec::new();
    // Tables that are absent unless set (`[subscriptions]`): shown last, commented out.
    let mut optional_tables = Vec::new();
    for key in schema.properties.keys() {
        match defaults.get(key) {
            Some(toml::Value::Table(inner)) => tables.push((key, inner)),
            Some(value) => {
                out.push('\n');
                comment(out, &description(key));
                out.push_str(&format!("{key} = {value}\n"));
            }
            None if optional_table(schema.properties.get(key)).is_some() => {
                optional_tables.push(key);
            }
            None => {
                out.push('\n');
                comment(out, &description(key));
                out.push_str(&format!("# {key} = \"…\"\n"));
            }
        }
    }
    for (key, inner) in tables {
        let name = if table.is_empty() {
            key.clone()
        } else {
            format!("{table}.{key}")
        };
        out.push_str(&format!("\n[{name}]\n"));
        let described = description(key);
        if !described.is_empty() {
            comment(out, &described);
        }
        let inner_schema = match schema.properties.get(key) {
            Some(schema) => object(schema),
            None => continue,
        };
        render(out, &inner_schema, inner, &name);
    }
    for key in optional_tables {
        out.push('\n');
        comment(out, &description(key));
        out.push_str(&format!("# [{key}]\n"));
        if let Some(inner) = optional_table(schema.properties.get(key)) {
            for inner_key in inner.properties.keys() {
                out.push_str(&format!("# {inner_key} = \"…\"\n"));
            }
        }
    }
}

/// The table an optional setting holds, when it is one (`Option` of a struct).
fn optional_table(schema: Option<&RefOr<Schema>>) -> Option<Object> {
    let RefOr::T(Schema::OneOf(one_of)) = schema? else {
        return None;
    };
    one_of.items.iter().find_map(|item| match item {
        RefOr::T(Schema::Object(o)) if !o.properties.is_empty() => Some(o.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seismo.toml");
        std::fs::write(&path, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), env)
    }

    #[test]
    fn the_default_file_documents_every_setting_and_reads_back_as_the_defaults() {
        let file = Config::default_file();
        assert_eq!(load(&file, &[]).unwrap(), Config::default());
        let lines: Vec<&str> = file.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let setting = line.contains(" = ") && !line.starts_with("# ")
                || line.starts_with("# ") && line.ends_with(" = \"…\"");
            if setting {
                assert!(
                    i > 0 && lines[i - 1].starts_with('#') && lines[i - 1].len() > 2,
                    "{line} has no documentation"
                );
            }
        }
        for key in [
            "listen",
            "counting_window",
            "sensitivity",
            "rebound_fraction",
            "max_age",
            "# catalog",
        ] {
            assert!(file.contains(&format!("\n{key} = ")), "{key} missing");
        }
    }

    #[test]
    fn a_channels_mistake_names_the_file_line_and_key() {
        let error = load(
            "[[channel]]\nname = \"a\"\nurl = \"https://hooks.test\"\n\n[[channel]]\nname = \"b\"\nkind = \"slack\"\n",
            &[],
        )
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("seismo.toml:5: channel[1].url: a webhook needs its url"),
            "{message}"
        );
        let config = load(
            "[notify]\ngroup_wait = \"2m\"\n\n[[channel]]\nname = \"it\"\nkind = \"teams\"\nurl = \"https://x.test/hook\"\nmin_state = \"confirmed\"\n\n[[silence]]\nlabels = [\"mail\"]\nuntil = \"2026-12-24T00:00:00Z\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.notify.group_wait, Duration::from_secs(120));
        assert_eq!(config.channel[0].kind, seismo_notify::Kind::Teams);
        assert_eq!(config.silence[0].labels, ["mail"]);
    }

    #[test]
    fn a_file_sets_what_it_names_and_keeps_the_rest() {
        let config = load(
            "listen = \"0.0.0.0:9000\"\ncounting_window = \"90m\"\n[engine]\nsensitivity = 8\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.counting_window_ms(), 90 * 60_000);
        assert_eq!(config.engine.sensitivity, 8.0);
        assert_eq!(config.engine.min_count, EngineConfig::default().min_count);
        assert_eq!(config.data, Config::default().data);
    }

    #[test]
    fn reports_are_kept_at_least_as_long_as_the_replay_and_a_month() {
        let error = load("tick = \"5s\"\nreport_retention = \"40days\"\n", &[]).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("seismo.toml:2: report_retention: at least 67 days"),
            "{message}"
        );
        let error = load("", &[("SEISMO_REPORT_RETENTION", "1day")]).unwrap_err();
        assert!(format!("{error:#}").contains("report_retention: at least 67 days"));
        let kept = load("report_retention = \"67days\"\n", &[]).unwrap();
        assert_eq!(kept.report_retention_ms(), 67 * 86_400_000);
        assert_eq!(
            Config::default().report_retention_ms(),
            400 * 86_400_000,
            "a year and a month by default"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
        let error = load("tick = \"5s\"\n\n[engine]\nsensitivty = 8\n", &[]).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("seismo.toml:4: sensitivty: unknown field `sensitivty`"),
            "{message}"
        );
        let error = load("counting_window = \"soon\"\n", &[]).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("seismo.toml:1: counting_window: "),
            "{message}"
        );
        let error = load("[intake]\nmax_json_kib = -3\n", &[]).unwrap_err();
        assert!(
            format!("{error:#}").contains("seismo.toml:2: max_json_kib: "),
            "{error:#}"
        );
    }

    #[test]
    fn the_deployment_examples_set_only_real_settings() {
        // `SEISMO_…` of deploy/Dockerfile (`ENV A=… \` lines) and deploy/compose.yaml
        // (`SEISMO_…: …` lines) load as settings, so a renamed one breaks here.
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let mut variables = Vec::new();
        for file in ["Dockerfile", "compose.yaml"] {
            let text = std::fs::read_to_string(deploy.join(file)).unwrap();
            for line in text.lines() {
                let line = line
                    .trim()
                    .trim_start_matches("ENV ")
                    .trim_end_matches('\\');
                let pair = line.split_once('=').or_else(|| line.split_once(": "));
                if let Some((name, value)) = pair
                    && name.starts_with("SEISMO_")
                {
                    let value = value.trim().trim_matches('\'');
                    variables.push((name.to_string(), value.to_string()));
                }
            }
        }
        let names: Vec<&str> = variables.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"SEISMO_DATABASE_URL") && names.contains(&"SEISMO_TRUSTED_PROXIES"),
            "{names:?}"
        );
        let config = Config::load(None, variables).unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert!(config.database.is_some());
    }

    #[test]
    fn environment_variables_override_the_file_and_name_themselves_when_wrong() {
        let config = load(
            "[engine]\nsensitivity = 8\n",
            &[
                ("SEISMO_ENGINE__SENSITIVITY", "9.5"),
                ("SEISMO_LISTEN", "127.0.0.1:0"),
                ("SEISMO_COUNTING_WINDOW", "30m"),
                (
                    "SEISMO_TRUSTED_PROXIES",
                    r#"["10.0.0.0/8", "192.0.2.1/32"]"#,
                ),
                ("SEISMO_LOG", "debug"),
                ("SEISMO_TEST_DATABASE_URL", "postgres://elsewhere/test"),
                ("SEISMO_DATABASE_URL", "postgres://db.example/seismo"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(config.engine.sensitivity, 9.5);
        assert_eq!(
            config.database.as_deref(),
            Some("postgres://db.example/seismo"),
            "the usual name of a database's address"
        );
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.counting_window_ms(), 30 * 60_000);
        assert_eq!(
            config.trusted_proxies,
            [
                "10.0.0.0/8".parse().unwrap(),
                "192.0.2.1/32".parse().unwrap()
            ]
        );
        let error = load("", &[("SEISMO_TICK_SECONDS", "5")]).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("environment SEISMO_TICK_SECONDS=\"5\"")
                && message.contains("unknown field `tick_seconds`"),
            "{message}"
        );
        let error = load("", &[("SEISMO_ENGINE__SENSITIVITY", "high")]).unwrap_err();
        assert!(
            format!("{error:#}").contains("SEISMO_ENGINE__SENSITIVITY"),
            "{error:#}"
        );
    }
}
