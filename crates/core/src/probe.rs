//! Active probes as data: what the catalog declares (`[[service.probe]]`) and what a run
//! of one answers. Running them is `seismo-probe`'s work; the declarations live here so
//! the catalog, the engine, the store and the site share one compiler-checked shape.
//!
//! ```toml
//! [[service.probe]]
//! kind = "smtp"                  # http | tcp | dns | tls | smtp
//! target = "mx.example.com:25"
//! interval = "60s"
//! timeout = "10s"
//! mail_from = "probe@example.org"
//! rcpt_to = "postmaster@example.com"
//! starttls = "opportunistic"     # off | opportunistic | required
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// One probe of a service, as declared in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Names the probe on the site and in the API; by default `kind target`.
    #[serde(default)]
    pub name: String,
    /// Time between two runs; each run starts up to a tenth of it late (jitter), so
    /// probes declared together do not fire together.
    #[serde(with = "humantime_serde", default = "default_interval")]
    pub interval: Duration,
    /// A run that takes longer fails as a timeout.
    #[serde(with = "humantime_serde", default = "default_timeout")]
    pub timeout: Duration,
    /// Failed runs retried at once before the failure counts, so one lost packet is not
    /// an outage.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Locations that must agree before the probe calls the service failing; by
    /// default a majority of those reporting.
    #[serde(default)]
    pub quorum: Option<u16>,
    /// What to do, by kind.
    #[serde(flatten)]
    pub check: Check,
}

impl Probe {
    /// Locations that must fail for the probe to fail the service, of `reporting`: the
    /// declared quorum, or a majority.
    pub fn quorum_of(&self, reporting: u16) -> u16 {
        self.quorum.unwrap_or(reporting / 2 + 1).max(1)
    }

    /// How long a location's latest run speaks for it: two intervals and the timeout,
    /// and a minute more. A location silent for longer (an agent down) is not counted.
    pub fn fresh_for(&self) -> crate::time::Millis {
        (2 * self.interval + self.timeout).as_millis() as crate::time::Millis
            + crate::time::MINUTE_MS
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_retries() -> u8 {
    1
}

/// One probe of one service, to run from somewhere: what `seismo serve` schedules and
/// what an agent is assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The service's slug.
    pub service: String,
    pub probe: Probe,
}

/// What a probe does, by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    Http(HttpCheck),
    Tcp(TcpCheck),
    Dns(DnsCheck),
    Tls(TlsCheck),
    Smtp(SmtpCheck),
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
            Check::Tcp(_) => "tcp",
            Check::Dns(_) => "dns",
            Check::Tls(_) => "tls",
            Check::Smtp(_) => "smtp",
        }
    }

    /// What it is pointed at: a URL, `host:port`, or a DNS name.
    pub fn target(&self) -> &str {
        match self {
            Check::Http(http) => &http.url,
            Check::Tcp(TcpCheck { target })
            | Check::Tls(TlsCheck { target, .. })
            | Check::Smtp(SmtpCheck { target, .. }) => target,
            Check::Dns(dns) => &dns.domain,
        }
    }
}

/// An HTTP request and what its answer must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// `http://` or `https://`.
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Accepted status codes; none listed: any 2xx.
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// The body (its first MiB) must contain this text.
    pub body_contains: Option<String>,
    /// The body (its first MiB) must match this regular expression.
    pub body_regex: Option<String>,
    /// A slower answer fails as `unexpected`.
    #[serde(with = "humantime_serde", default)]
    pub max_latency: Option<Duration>,
    /// Redirects followed; 0 takes the first answer as it is.
    #[serde(default = "default_redirects")]
    pub max_redirects: u8,
    /// Check the server's certificate; off for a service known to use its own.
    #[serde(default = "yes")]
    pub verify_tls: bool,
}

impl HttpCheck {
    /// `GET url`, with every other setting at its default.
    pub fn get(url: impl Into<String>) -> HttpCheck {
        HttpCheck {
            url: url.into(),
            method: default_method(),
            headers: BTreeMap::new(),
            expect_status: Vec::new(),
            body_contains: None,
            body_regex: None,
            max_latency: None,
            max_redirects: default_redirects(),
            verify_tls: true,
        }
    }
}

fn default_method() -> String {
    "GET".into()
}

fn default_redirects() -> u8 {
    5
}

fn yes() -> bool {
    true
}

/// A TCP connection, timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// `host:port`.
    pub target: String,
}

/// One DNS question to one resolver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheck {
    /// The name asked about (`name` is the probe's own).
    pub domain: String,
    #[serde(default)]
    pub record: RecordKind,
    /// `ip:port` or `ip` (port 53); none: the first `nameserver` of /etc/resolv.conf.
    pub resolver: Option<String>,
    /// Answers that must all be present (as the record's text: `192.0.2.1`,
    /// `10 mx.example.com.`); none listed: any answer.
    #[serde(default)]
    pub expect: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum RecordKind {
    #[default]
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "TXT")]
    Txt,
}

/// A TLS handshake, and what the certificate says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// `host:port`.
    pub target: String,
    /// The name asked for (SNI) and checked; by default the target's host.
    pub server_name: Option<String>,
    /// Require a chain the system trusts; off still reports the chain and its expiry.
    #[serde(default = "yes")]
    pub verify: bool,
    /// Fewer days left before the certificate expires fail the probe.
    #[serde(default = "default_min_days")]
    pub min_days_left: u32,
}

fn default_min_days() -> u32 {
    7
}

/// The SMTP dialogue up to RCPT TO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpCheck {
    /// `host:port` of the mail server.
    pub target: String,
    /// The name the probe gives in EHLO.
    #[serde(default = "default_helo")]
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: String,
    #[serde(default)]
    pub starttls: StartTls,
}

fn default_helo() -> String {
    "seismo.invalid".into()
}

/// Whether the dialogue moves to TLS after EHLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    Off,
    /// When the server offers it; as mail servers do, without checking the certificate.
    #[default]
    Opportunistic,
    /// A server that does not offer it, or whose handshake fails, fails the probe.
    Required,
}

/// Why a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No answer in time.
    Timeout,
    /// The port is closed.
    Refused,
    /// Any other failure to connect (unreachable network, reset).
    Connect,
    /// A name did not resolve, or a DNS answer was an error (NXDOMAIN, SERVFAIL).
    Dns,
    /// The TLS handshake failed, or the certificate is untrusted, expiring or for
    /// another name.
    Tls,
    /// The remote does not speak the protocol.
    Protocol,
    /// The remote answered, but not as expected: a status, a reply code, an answer.
    Unexpected,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Timeout,
        FailureKind::Refused,
        FailureKind::Connect,
        FailureKind::Dns,
        FailureKind::Tls,
        FailureKind::Protocol,
        FailureKind::Unexpected,
    ];

    /// The kind [`FailureKind::as_str`] names.
    pub fn parse(name: &str) -> Option<FailureKind> {
        FailureKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Refused => "refused",
            FailureKind::Connect => "connect",
            FailureKind::Dns => "dns",
            FailureKind::Tls => "tls",
            FailureKind::Protocol => "protocol",
            FailureKind::Unexpected => "unexpected",
        }
    }
}

/// A failed run: its kind, and in `message` the remote's own words where it said any
/// (`RCPT TO answered 451 4.3.2 Temporary server error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// What one run of a probe found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub ok: bool,
    pub latency_ms: u64,
    pub failure: Option<Failure>,
    /// What the remote said, by kind.
    pub detail: Detail,
}

/// The kind's own account of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Detail {
    Http {
        /// The last answer's status; none when no answer came.
        status: Option<u16>,
        /// Redirects followed.
        redirects: u8,
    },
    Tcp {},
    Dns {
        /// `NoError`, `NXDomain`, `ServFail`, …; none when no answer came.
        rcode: Option<String>,
        answers: Vec<String>,
    },
    Tls {
        /// From the server's certificate to the last one it sent.
        chain: Vec<Certificate>,
        /// Days until the server's certificate expires; negative once expired.
        days_left: Option<i64>,
        hostname_match: Option<bool>,
        /// Why the chain is not trusted, when it is not.
        untrusted: Option<String>,
    },
    Smtp {
        steps: Vec<SmtpStep>,
        /// Whether the dialogue moved to TLS.
        tls: bool,
    },
}

/// One certificate of a chain, as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
}

/// One step of the SMTP dialogue and the server's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpStep {
    /// `banner`, `ehlo`, `starttls`, `mail_from`, `rcpt_to` or `quit`.
    pub step: String,
    pub code: u16,
    /// RFC 3463 `class.subject.detail`, when the server gave one.
    pub enhanced_code: Option<String>,
    pub class: ReplyClass,
    /// The reply's text, lines joined, without the codes.
    pub text: String,
    pub elapsed_ms: u64,
}

/// What the first digit of an SMTP reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyClass {
    /// 2xx, 3xx.
    Success,
    /// 4xx: try again later.
    Transient,
    /// 5xx: will not work as it is.
    Permanent,
}

impl ReplyClass {
    pub fn of(code: u16) -> ReplyClass {
        match code / 100 {
            4 => ReplyClass::Transient,
            5 => ReplyClass::Permanent,
            _ => ReplyClass::Success,
        }
    }
}

/// One run of one probe from one location: what is stored, served and fed to the
/// engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The service's slug.
    pub service: String,
    /// The probe's name, unique within its service.
    pub probe: String,
    /// Where it ran: the server's own location or an agent's (`Dallas, US`).
    pub location: String,
    /// When the run started.
    #[serde(with = "crate::time::rfc3339")]
    pub at: Millis,
    /// Runs it took: 1, or more when failures were retried.
    pub attempts: u8,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Checks what serde cannot: targets, URLs, patterns. The error names the key.
pub fn validate(probe: &Probe) -> Result<(), (&'static str, String)> {
    match &probe.check {
        Check::Http(http) => {
            let url = url::Url::parse(&http.url).map_err(|e| ("url", format!("{e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(("url", format!("{:?} is not an http(s) URL", http.url)));
            }
            if http.method.is_empty() || !http.method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(("method", format!("{:?} is not an HTTP method", http.method)));
            }
            if let Some(&bad) = http.expect_status.iter().find(|s| !(100..600).contains(*s)) {
                return Err(("expect_status", format!("{bad} is not an HTTP status")));
            }
            if let Some(pattern) = &http.body_regex {
                regex::Regex::new(pattern).map_err(|e| ("body_regex", e.to_string()))?;
            }
        }
        Check::Tcp(TcpCheck { target })
        | Check::Tls(TlsCheck { target, .. })
        | Check::Smtp(SmtpCheck { target, .. }) => {
            host_port(target).map_err(|message| ("target", message))?;
        }
        Check::Dns(dns) => {
            if dns.domain.is_empty() || dns.domain.len() > 253 {
                return Err(("domain", format!("{:?} is not a DNS name", dns.domain)));
            }
            if let Some(resolver) = &dns.resolver {
                resolver_address(resolver).map_err(|message| ("resolver", message))?;
            }
        }
    }
    if probe.timeout.is_zero() || probe.interval < Duration::from_secs(1) {
        return Err(("interval", "interval must be ≥ 1s and timeout > 0".into()));
    }
    if probe.quorum == Some(0) {
        return Err(("quorum", "quorum must be at least 1".into()));
    }
    Ok(())
}

/// Splits `host:port` (`[v6]:port` for IPv6 addresses).
pub fn host_port(target: &str) -> Result<(&str, u16), String> {
    let bad = || format!("{target:?} is not host:port");
    let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || host.contains(':') && !target.starts_with('[') || port == 0 {
        return Err(bad());
    }
    Ok((host, port))
}

/// A resolver's socket address: `ip:port`, `[v6]:port` or a bare IP (port 53).
pub fn resolver_address(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse()
        .or_else(|_| {
            text.parse::<std::net::IpAddr>()
                .map(|ip| std::net::SocketAddr::new(ip, 53))
        })
        .map_err(|_| format!("{text:?} is not an IP address with an optional port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_takes_names_addresses_and_bracketed_v6() {
        assert_eq!(host_port("mx.example.com:25"), Ok(("mx.example.com", 25)));
        assert_eq!(host_port("[::1]:587"), Ok(("::1", 587)));
        for bad in ["mx.example.com", "::1:25", ":25", "a:0", "a:99999", "a:x"] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolver_defaults_to_port_53() {
        assert_eq!(resolver_address("10.0.0.1").unwrap().port(), 53);
        assert_eq!(resolver_address("[::1]:5353").unwrap().port(), 5353);
        assert!(resolver_address("dns.example").is_err());
    }

    #[test]
    fn reply_class_is_the_first_digit() {
        assert_eq!(ReplyClass::of(250), ReplyClass::Success);
        assert_eq!(ReplyClass::of(354), ReplyClass::Success);
        assert_eq!(ReplyClass::of(451), ReplyClass::Transient);
        assert_eq!(ReplyClass::of(550), ReplyClass::Permanent);
    }
}
