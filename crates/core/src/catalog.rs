//! The service catalog: which services seismo watches, what can go wrong with each,
//! and what each depends on.
//!
//! ```toml
//! [[service]]
//! slug = "microsoft-365"
//! name = "Microsoft 365"
//! aliases = ["Office 365", "Outlook", "Teams"]
//! problems = ["email", "login", "calls"]
//! depends_on = []
//! regions = ["US"]
//! ```
//!
//! An internet provider or mobile carrier is marked `kind = "access"`: when it fails in
//! some places, people there report whatever they were using, and the engine links
//! those local surges to it.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::fold::fold;
use crate::official::{self, Feed};
use crate::probe::{self, Probe};

/// The problem every service has, whatever its catalog entry lists.
pub const OTHER_PROBLEM: &str = "other";

/// The catalog seismo starts with when no `--catalog` is given.
pub const DEMO_CATALOG: &str = include_str!("../data/demo-catalog.toml");

/// What a service is to the people who report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Not said: the engine takes it for an access provider when its normal reports
    /// come from one region (see `seismo_detect`'s access rule).
    #[default]
    #[serde(skip_deserializing)]
    Unsaid,
    /// Something people use over their internet connection.
    Service,
    /// An internet provider or mobile carrier: when it fails, its customers cannot
    /// reach anything else either.
    Access,
}

/// Index of a service in its [`Catalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u32);

/// Index of a problem in its service's `problems`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProblemId(pub u16);

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Stable identifier in URLs and the store: lower case, digits and `-`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Other names people use for it; matched like the name.
    pub aliases: Vec<String>,
    /// Kinds of problem a report can name; the last is always `other`.
    pub problems: Vec<String>,
    /// Services this one needs to work, by id.
    pub depends_on: Vec<ServiceId>,
    /// An access provider (ISP, carrier), a service, or not said.
    pub kind: ServiceKind,
    /// Where the service is mostly used (country or `CC-REGION` codes); a hint only.
    pub regions: Vec<String>,
    /// Free words that group services for people ("mail", "critical"): silences and
    /// notification channels can name them.
    pub labels: Vec<String>,
    /// Active probes of the service, each with a name unique within it.
    pub probes: Vec<Probe>,
    /// The vendor's own status feeds, each with a name unique within the service.
    pub feeds: Vec<Feed>,
}

impl Service {
    pub fn problem(&self, name: &str) -> Option<ProblemId> {
        self.problems
            .iter()
            .position(|p| p.eq_ignore_ascii_case(name))
            .map(|i| ProblemId(i as u16))
    }

    pub fn other_problem(&self) -> ProblemId {
        ProblemId((self.problems.len() - 1) as u16)
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    services: Vec<Service>,
    /// Folded slug, name and aliases → service.
    by_name: HashMap<String, ServiceId>,
}

/// A catalog that cannot be used, with the place of the mistake.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The field at fault, as `service[2].depends_on`; empty when the file cannot be parsed.
    pub field: String,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    service: Vec<ServiceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    slug: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    problems: Vec<Spanned<String>>,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    #[serde(default)]
    kind: ServiceKind,
    #[serde(default, alias = "region")]
    regions: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    probe: Vec<Spanned<Probe>>,
    #[serde(default)]
    feed: Vec<Spanned<Feed>>,
}

impl Catalog {
    /// The built-in catalog of well-known services.
    pub fn demo() -> Catalog {
        Catalog::parse("<demo catalog>", DEMO_CATALOG).expect("the demo catalog is valid")
    }

    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            file: file.clone(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Catalog::parse(&file, &text)
    }

    /// Parses and validates catalog `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Catalog, CatalogError> {
        let error = |span: Range<usize>, field: String, message: String| {
            let (line, column) = line_column(text, span.start);
            CatalogError {
                file: file.to_string(),
                line,
                column,
                field,
                message,
            }
        };
        let parsed: CatalogFile = toml::from_str(text).map_err(|e| {
            error(
                e.span().unwrap_or(0..0),
                String::new(),
                e.message().to_string(),
            )
        })?;
        if parsed.service.is_empty() {
            return Err(error(
                0..0,
                "service".into(),
                "no [[service]] in the catalog".into(),
            ));
        }

        let mut by_name: HashMap<String, ServiceId> = HashMap::new();
        let mut slugs: HashMap<&str, ServiceId> = HashMap::new();
        for (i, entry) in parsed.service.iter().enumerate() {
            let id = ServiceId(i as u32);
            let slug = entry.slug.get_ref();
            if slug.is_empty()
                || !slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(error(
                    entry.slug.span(),
                    format!("service[{i}].slug"),
                    format!("{slug:?} must be lower-case letters, digits and '-'"),
                ));
            }
            if slugs.insert(slug, id).is_some() {
                return Err(error(
                    entry.slug.span(),
                    format!("service[{i}].slug"),
                    format!("duplicate slug {slug:?}"),
                ));
            }
            let names = std::iter::once(("slug", &entry.slug))
                .chain(std::iter::once(("name", &entry.name)))
                .chain(entry.aliases.iter().map(|a| ("aliases", a)));
            for (field, name) in names {
                let key = fold(name.get_ref());
                if key.is_empty() {
                    return Err(error(
                        name.span(),
                        format!("service[{i}].{field}"),
                        "must not be empty".into(),
                    ));
                }
                match by_name.get(&key) {
                    Some(&other) if other != id => {
                        return Err(error(
                            name.span(),
                            format!("service[{i}].{field}"),
                            format!(
                                "{:?} is already a name of service {:?}",
                                name.get_ref(),
                                parsed.service[other.0 as usize].slug.get_ref()
                            ),
                        ));
                    }
                    _ => {
                        by_name.insert(key, id);
                    }
                }
            }
        }

        let mut services = Vec::with_capacity(parsed.service.len());
        for (i, entry) in parsed.service.iter().enumerate() {
            let mut problems: Vec<String> = Vec::new();
            for problem in &entry.problems {
                let p = problem.get_ref();
                if p.is_empty() || problems.iter().any(|q| q.eq_ignore_ascii_case(p)) {
                    return Err(error(
                        problem.span(),
                        format!("service[{i}].problems"),
                        format!("empty or duplicate problem {p:?}"),
                    ));
                }
                if !p.eq_ignore_ascii_case(OTHER_PROBLEM) {
                    problems.push(p.clone());
                }
            }
            problems.push(OTHER_PROBLEM.to_string());
            let mut depends_on = Vec::new();
            for dep in &entry.depends_on {
                let Some(&target) = slugs.get(dep.get_ref().as_str()) else {
                    return Err(error(
                        dep.span(),
                        format!("service[{i}].depends_on"),
                        format!("unknown service {:?}", dep.get_ref()),
                    ));
                };
                depends_on.push(target);
            }
            let mut probes: Vec<Probe> = Vec::new();
            for (j, spanned) in entry.probe.iter().enumerate() {
                let mut declared = spanned.get_ref().clone();
                if let Err((key, message)) = probe::validate(&declared) {
                    return Err(error(
                        spanned.span(),
                        format!("service[{i}].probe[{j}].{key}"),
                        message,
                    ));
                }
                if declared.name.is_empty() {
                    declared.name =
                        format!("{} {}", declared.check.kind(), declared.check.target());
                }
                if probes.iter().any(|p| p.name == declared.name) {
                    return Err(error(
                        spanned.span(),
                        format!("service[{i}].probe[{j}].name"),
                        format!("two probes are named {:?}", declared.name),
                    ));
                }
                probes.push(declared);
            }
            let mut feeds: Vec<Feed> = Vec::new();
            for (j, spanned) in entry.feed.iter().enumerate() {
                let mut declared = spanned.get_ref().clone();
                if let Err((key, message)) = official::validate(&declared) {
                    return Err(error(
                        spanned.span(),
                        format!("service[{i}].feed[{j}].{key}"),
                        message,
                    ));
                }
                if declared.name.is_empty() {
                    declared.name = official::default_name(&declared.source);
                }
                if feeds.iter().any(|f| f.name == declared.name) {
                    return Err(error(
                        spanned.span(),
                        format!("service[{i}].feed[{j}].name"),
                        format!("two feeds are named {:?}", declared.name),
                    ));
                }
                feeds.push(declared);
            }
            services.push(Service {
                slug: entry.slug.get_ref().clone(),
                name: entry.name.get_ref().clone(),
                aliases: entry.aliases.iter().map(|a| a.get_ref().clone()).collect(),
                problems,
                depends_on,
                kind: entry.kind,
                regions: entry.regions.clone(),
                labels: entry.labels.clone(),
                probes,
                feeds,
            });
        }
        if let Some(cycle) = find_cycle(&services) {
            let first = &parsed.service[cycle[0].0 as usize];
            let path: Vec<&str> = cycle
                .iter()
                .map(|s| services[s.0 as usize].slug.as_str())
                .collect();
            let span = first
                .depends_on
                .iter()
                .find(|d| d.get_ref() == path[1])
                .map_or(first.slug.span(), |d| d.span());
            return Err(error(
                span,
                format!("service[{}].depends_on", cycle[0].0),
                format!("dependency cycle: {}", path.join(" -> ")),
            ));
        }
        Ok(Catalog { services, by_name })
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Every probe of every service, to run.
    pub fn assignments(&self) -> Vec<probe::Assignment> {
        self.services
            .iter()
            .flat_map(|service| {
                service.probes.iter().map(|probe| probe::Assignment {
                    service: service.slug.clone(),
                    probe: probe.clone(),
                })
            })
            .collect()
    }

    /// Adds `probe` to `service` (`seismo serve --demo` probes a mail server of its
    /// own); checked as the catalog's own probes are.
    pub fn add_probe(&mut self, service: ServiceId, mut probe: Probe) -> Result<(), String> {
        probe::validate(&probe).map_err(|(key, message)| format!("{key}: {message}"))?;
        if probe.name.is_empty() {
            probe.name = format!("{} {}", probe.check.kind(), probe.check.target());
        }
        let probes = &mut self.services[service.0 as usize].probes;
        if probes.iter().any(|p| p.name == probe.name) {
            return Err(format!("two probes are named {:?}", probe.name));
        }
        probes.push(probe);
        Ok(())
    }

    /// Declares `feed` for `service`, as the catalog file would, at any interval (the
    /// demo's clock runs sixty times faster).
    pub fn add_feed(&mut self, service: ServiceId, mut feed: Feed) -> Result<(), String> {
        official::validate_source(&feed).map_err(|(key, message)| format!("{key}: {message}"))?;
        if feed.name.is_empty() {
            feed.name = official::default_name(&feed.source);
        }
        let feeds = &mut self.services[service.0 as usize].feeds;
        if feeds.iter().any(|f| f.name == feed.name) {
            return Err(format!("two feeds are named {:?}", feed.name));
        }
        feeds.push(feed);
        Ok(())
    }

    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.0 as usize]
    }

    /// Finds a service by slug, name or alias, ignoring case, accents and punctuation.
    pub fn resolve(&self, name: &str) -> Option<ServiceId> {
        self.by_name.get(&fold(name)).copied()
    }

    /// Finds a service by its exact slug.
    pub fn by_slug(&self, slug: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .position(|s| s.slug == slug)
            .map(|i| ServiceId(i as u32))
    }
}

/// A dependency cycle as the path of services around it (first = last), if any.
fn find_cycle(services: &[Service]) -> Option<Vec<ServiceId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        services: &[Service],
        at: ServiceId,
        marks: &mut [Mark],
        path: &mut Vec<ServiceId>,
    ) -> bool {
        marks[at.0 as usize] = Mark::OnPath;
        path.push(at);
        for &next in &services[at.0 as usize].depends_on {
            let mark = marks[next.0 as usize];
            match mark {
                Mark::OnPath => {
                    let start = path.iter().position(|&s| s == next).expect("on the path");
                    path.drain(..start);
                    path.push(next);
                    return true;
                }
                Mark::New if visit(services, next, marks, path) => return true,
                _ => {}
            }
        }
        marks[at.0 as usize] = Mark::Done;
        path.pop();
        false
    }
    let mut marks = vec![Mark::New; services.len()];
    for i in 0..services.len() {
        let mut path = Vec::new();
        if marks[i] == Mark::New && visit(services, ServiceId(i as u32), &mut marks, &mut path) {
            return Some(path);
        }
    }
    None
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> CatalogError {
        Catalog::parse("test.toml", text).unwrap_err()
    }

    #[test]
    fn demo_catalog_has_the_well_known_services() {
        let catalog = Catalog::demo();
        assert!(catalog.services().len() >= 25);
        for name in [
            "Microsoft 365",
            "aws",
            "GoDaddy",
            "mimecast",
            "Comcast Xfinity",
            "AT&T",
        ] {
            assert!(catalog.resolve(name).is_some(), "{name}");
        }
        let m365 = catalog.resolve("microsoft-365").unwrap();
        let mimecast = catalog.service(catalog.resolve("mimecast").unwrap());
        assert!(mimecast.depends_on.contains(&m365));
    }

    #[test]
    fn resolves_slug_name_and_alias_case_insensitively() {
        let catalog = Catalog::parse(
            "t.toml",
            r#"
[[service]]
slug = "microsoft-365"
name = "Microsoft 365"
aliases = ["Office 365", "Outlook"]
problems = ["email", "login"]
"#,
        )
        .unwrap();
        let id = ServiceId(0);
        for name in [
            "microsoft-365",
            "MICROSOFT 365",
            "office 365",
            "OUTLOOK",
            "Óutlook",
        ] {
            assert_eq!(catalog.resolve(name), Some(id), "{name}");
        }
        assert_eq!(catalog.resolve("gmail"), None);
        let service = catalog.service(id);
        assert_eq!(service.problems, ["email", "login", "other"]);
        assert_eq!(service.problem("Email"), Some(ProblemId(0)));
        assert_eq!(service.other_problem(), ProblemId(2));
    }

    #[test]
    fn duplicate_slug_names_line_and_field() {
        let e = parse_err(
            "[[service]]\nslug = \"a\"\nname = \"A\"\n\n[[service]]\nslug = \"a\"\nname = \"B\"\n",
        );
        assert_eq!((e.line, e.field.as_str()), (6, "service[1].slug"));
        assert!(e.message.contains("duplicate slug"), "{e}");
        assert!(
            e.to_string().starts_with("test.toml:6:8: service[1].slug:"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_alias_across_services_is_rejected() {
        let e = parse_err(
            "[[service]]\nslug = \"a\"\nname = \"A\"\naliases = [\"Mail\"]\n[[service]]\nslug = \"b\"\nname = \"B\"\naliases = [\"mail\"]\n",
        );
        assert_eq!((e.line, e.field.as_str()), (8, "service[1].aliases"));
        assert!(e.message.contains("already a name of service \"a\""), "{e}");
    }

    #[test]
    fn the_demo_marks_its_internet_providers_and_carriers_as_access() {
        let catalog = Catalog::demo();
        let kind = |slug: &str| catalog.service(catalog.by_slug(slug).unwrap()).kind;
        for slug in ["comcast-xfinity", "att", "verizon", "t-mobile", "spectrum"] {
            assert_eq!(kind(slug), ServiceKind::Access, "{slug}");
        }
        assert_eq!(kind("netflix"), ServiceKind::Unsaid);
    }

    #[test]
    fn kind_is_access_service_or_unsaid_and_nothing_else() {
        let catalog = Catalog::parse(
            "t.toml",
            "[[service]]\nslug = \"a\"\nname = \"A\"\nkind = \"service\"\n",
        )
        .unwrap();
        assert_eq!(catalog.services()[0].kind, ServiceKind::Service);
        let e = parse_err("[[service]]\nslug = \"a\"\nname = \"A\"\nkind = \"isp\"\n");
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("unknown variant `isp`"), "{e}");
    }

    #[test]
    fn unknown_dependency_is_rejected() {
        let e = parse_err("[[service]]\nslug = \"a\"\nname = \"A\"\ndepends_on = [\"nope\"]\n");
        assert_eq!((e.line, e.field.as_str()), (4, "service[0].depends_on"));
        assert!(e.message.contains("unknown service \"nope\""));
    }

    #[test]
    fn dependency_cycle_is_rejected_with_its_path() {
        let e = parse_err(
            "[[service]]\nslug = \"a\"\nname = \"A\"\ndepends_on = [\"b\"]\n[[service]]\nslug = \"b\"\nname = \"B\"\ndepends_on = [\"c\"]\n[[service]]\nslug = \"c\"\nname = \"C\"\ndepends_on = [\"a\"]\n",
        );
        assert_eq!(e.field, "service[0].depends_on");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("a -> b -> c -> a"), "{e}");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_have_a_line() {
        let e = parse_err("[[service]]\nslug = \"a\"\nname = \n");
        assert_eq!(e.line, 3);
        let e = parse_err("[[service]]\nslug = \"a\"\nname = \"A\"\ncolour = \"red\"\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("colour"), "{e}");
        let e = parse_err("[[service]]\nslug = \"A b\"\nname = \"A\"\n");
        assert_eq!(e.field, "service[0].slug");
    }

    const SERVICE: &str = "[[service]]\nslug = \"m\"\nname = \"M\"\n\n";

    #[test]
    fn probes_are_read_with_their_defaults() {
        let text = format!(
            "{SERVICE}[[service.probe]]\nkind = \"smtp\"\ntarget = \"mx.example.com:25\"\ninterval = \"30s\"\nmail_from = \"p@example.org\"\nrcpt_to = \"postmaster@example.com\"\nstarttls = \"required\"\n\n[[service.probe]]\nname = \"home page\"\nkind = \"http\"\nurl = \"https://example.com/\"\nexpect_status = [200, 204]\n"
        );
        let catalog = Catalog::parse("t.toml", &text).unwrap();
        let probes = &catalog.services()[0].probes;
        assert_eq!(probes.len(), 2);
        assert_eq!(probes[0].name, "smtp mx.example.com:25");
        assert_eq!(probes[0].interval, std::time::Duration::from_secs(30));
        assert_eq!(probes[0].timeout, std::time::Duration::from_secs(10));
        assert_eq!(probes[0].retries, 1);
        let crate::probe::Check::Smtp(smtp) = &probes[0].check else {
            panic!("{:?}", probes[0].check)
        };
        assert_eq!(smtp.starttls, crate::probe::StartTls::Required);
        assert_eq!(smtp.helo, "seismo.invalid");
        assert_eq!(probes[1].name, "home page");
        assert_eq!(probes[1].check.kind(), "http");
        // Agents receive them as JSON: every declaration comes back as it was.
        let assignments = catalog.assignments();
        let json = serde_json::to_string(&assignments).unwrap();
        assert!(
            json.contains(r#""kind":"smtp""#) && json.contains(r#""interval":"30s""#),
            "{json}"
        );
        let back: Vec<crate::probe::Assignment> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, assignments);
        assert_eq!(back[0].service, "m");
    }

    #[test]
    fn feeds_are_read_with_their_defaults_and_bad_ones_named_by_line_and_key() {
        let text = format!(
            "{SERVICE}[[service.feed]]\nkind = \"statuspage\"\nurl = \"https://www.githubstatus.com\"\n"
        );
        let catalog = Catalog::parse("t.toml", &text).unwrap();
        let feed = &catalog.services()[0].feeds[0];
        assert_eq!(feed.name, "statuspage www.githubstatus.com");
        assert_eq!(feed.interval, std::time::Duration::from_secs(60));
        assert_eq!(feed.source.url(), "https://www.githubstatus.com");
        let text = format!(
            "{SERVICE}[[service.feed]]\nkind = \"google-cloud\"\nproducts = [\"Cloud SQL\"]\n\n[[service.feed]]\nkind = \"rss\"\nurl = \"https://status.aws.amazon.com/rss/all.rss\"\ninclude = [\"/S3/\"]\n"
        );
        let catalog = Catalog::parse("t.toml", &text).unwrap();
        let [cloud, rss] = catalog.services()[0].feeds.as_slice() else {
            panic!()
        };
        assert_eq!(cloud.name, "google-cloud status.cloud.google.com");
        assert_eq!(
            cloud.source.url(),
            "https://status.cloud.google.com/incidents.json"
        );
        assert_eq!(rss.source.kind(), "rss");
        let text = format!(
            "{SERVICE}[[service.feed]]\nkind = \"statuspage\"\nurl = \"https://www.githubstatus.com\"\ncomponents = [\"Git Operations\"]\n"
        );
        let catalog = Catalog::parse("t.toml", &text).unwrap();
        assert_eq!(
            catalog.services()[0].feeds[0].components,
            ["Git Operations"]
        );
        // The feed's table starts on line 5 of each text.
        let cases = [
            (
                "kind = \"fax\"\nurl = \"https://a/\"\n",
                "",
                "unknown variant `fax`",
            ),
            ("kind = \"statuspage\"\n", "", "missing field `url`"),
            (
                "kind = \"statuspage\"\nurl = \"file:///etc/passwd\"\n",
                "service[0].feed[0].url",
                "http(s)",
            ),
            (
                "kind = \"statuspage\"\nurl = \"https://a/\"\ninterval = \"1s\"\n",
                "service[0].feed[0].interval",
                "10s",
            ),
            (
                "kind = \"m365\"\ntenant_id = \"t\"\nclient_id = \"c\"\n",
                "service[0].feed[0].client_secret",
                "client_secret_env",
            ),
        ];
        for (body, field, message) in cases {
            let e = parse_err(&format!("{SERVICE}[[service.feed]]\n{body}"));
            assert_eq!((e.line, e.field.as_str()), (5, field), "{body}: {e}");
            assert!(e.message.contains(message), "{body}: {e}");
        }
        let twice = format!(
            "{SERVICE}{0}{0}",
            "[[service.feed]]\nkind = \"statuspage\"\nurl = \"https://a/\"\n"
        );
        let e = parse_err(&twice);
        assert_eq!(
            (e.line, e.field.as_str()),
            (8, "service[0].feed[1].name"),
            "{e}"
        );
    }

    #[test]
    fn bad_probes_name_line_and_key() {
        // The probe's table starts on line 5 of each text.
        let cases = [
            (
                "kind = \"ftp\"\ntarget = \"a:21\"\n",
                5,
                "",
                "unknown variant `ftp`",
            ),
            ("kind = \"tcp\"\n", 5, "", "missing field `target`"),
            (
                "kind = \"tcp\"\ntarget = \"a:1\"\ncolour = \"red\"\n",
                5,
                "",
                "colour",
            ),
            (
                "kind = \"tcp\"\ntarget = \"a\"\n",
                5,
                "service[0].probe[0].target",
                "host:port",
            ),
            (
                "kind = \"tcp\"\ntarget = \"a:1\"\ninterval = \"soon\"\n",
                8,
                "",
                "duration",
            ),
            (
                "kind = \"http\"\nurl = \"ftp://a/\"\n",
                5,
                "service[0].probe[0].url",
                "http(s)",
            ),
            (
                "kind = \"http\"\nurl = \"http://a/\"\nbody_regex = \"(\"\n",
                5,
                "service[0].probe[0].body_regex",
                "regex",
            ),
            (
                "kind = \"dns\"\ndomain = \"a.example\"\nrecord = \"SRV\"\n",
                5,
                "",
                "unknown variant `SRV`",
            ),
            (
                "kind = \"dns\"\ndomain = \"a.example\"\nresolver = \"dns.google\"\n",
                5,
                "service[0].probe[0].resolver",
                "IP address",
            ),
            (
                "kind = \"smtp\"\ntarget = \"a:25\"\nmail_from = \"x@y\"\n",
                5,
                "",
                "missing field `rcpt_to`",
            ),
        ];
        for (body, line, field, message) in cases {
            let e = parse_err(&format!("{SERVICE}[[service.probe]]\n{body}"));
            assert_eq!((e.line, e.field.as_str()), (line, field), "{body}: {e}");
            assert!(e.message.contains(message), "{body}: {e}");
            assert!(
                e.to_string().starts_with(&format!("test.toml:{line}:")),
                "{e}"
            );
        }
        let e = parse_err(&format!(
            "{SERVICE}[[service.probe]]\nkind = \"tcp\"\ntarget = \"a:1\"\n[[service.probe]]\nkind = \"tcp\"\ntarget = \"a:1\"\n"
        ));
        assert_eq!(
            (e.line, e.field.as_str()),
            (8, "service[0].probe[1].name"),
            "{e}"
        );
    }
}
