//! Active probes: what a service answers, step by step, from where seismo runs.
//!
//! One module per kind ([`http`], [`tcp`], [`dns`], [`tls`], [`smtp`]) turns a
//! declaration of `seismo_core::probe` into an [`Outcome`]: ok or a typed failure with
//! the remote's own words, the latency, and what the remote said by kind. A run never
//! outlives its timeout, and nothing a remote sends is kept beyond a bounded size.

pub mod dns;
pub mod http;
pub mod schedule;
pub mod smtp;
pub mod tcp;
pub mod tls;

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seismo_core::probe::{Check, Detail, Failure, FailureKind, Outcome};
use tokio::net::{TcpSocket, TcpStream};

/// Runs probes; cheap to clone, and meant to be shared: it holds the HTTP clients and
/// TLS settings every run would otherwise build again.
#[derive(Clone)]
pub struct Prober {
    http: http::Clients,
    tls: Arc<tls::Settings>,
    /// The address probes connect from, on a machine with several.
    local: Option<IpAddr>,
}

impl Prober {
    /// A prober trusting the system's certificate authorities (Mozilla's when the
    /// system has none) and the `extra_roots` given, connecting from `local` (any
    /// address of the machine when none).
    pub fn new(
        extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
        local: Option<IpAddr>,
    ) -> Result<Prober, String> {
        let tls = Arc::new(tls::Settings::new(extra_roots)?);
        Ok(Prober {
            http: http::Clients::new(&tls, local)?,
            tls,
            local,
        })
    }

    /// Runs `check` once, within `timeout`.
    pub async fn run(&self, check: &Check, timeout: Duration) -> Outcome {
        let started = Instant::now();
        let (detail, failure) = match check {
            Check::Http(http) => self.http.run(http, timeout).await,
            Check::Tcp(tcp) => tcp::run(tcp, timeout, self.local).await,
            Check::Dns(dns) => dns::run(dns, timeout, self.local).await,
            Check::Tls(check) => tls::run(&self.tls, check, timeout, self.local).await,
            Check::Smtp(smtp) => smtp::run(&self.tls, smtp, timeout, self.local).await,
        };
        Outcome {
            ok: failure.is_none(),
            latency_ms: started.elapsed().as_millis() as u64,
            failure,
            detail,
        }
    }
}

/// `work` bounded by `timeout`: running out of time is a [`FailureKind::Timeout`].
pub(crate) async fn within<T>(
    timeout: Duration,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::new(
                FailureKind::Timeout,
                format!("no answer within {} ms", timeout.as_millis()),
            ))
        })
}

/// Connects to `host:port` from `local` (any address when none), telling a name that
/// does not resolve, a closed port and other failures apart.
pub(crate) async fn connect(target: &str, local: Option<IpAddr>) -> Result<TcpStream, Failure> {
    let addresses: Vec<_> = tokio::net::lookup_host(target)
        .await
        .map_err(|e| Failure::new(FailureKind::Dns, format!("cannot resolve {target}: {e}")))?
        .collect();
    let mut last = None;
    for address in addresses {
        match connect_from(address, local).await {
            Ok(stream) => {
                // Probes exchange a few small messages; waiting to coalesce them only
                // adds latency to what is measured.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last = Some(error),
        }
    }
    Err(match last {
        Some(error) if error.kind() == io::ErrorKind::ConnectionRefused => Failure::new(
            FailureKind::Refused,
            format!("{target} refused the connection"),
        ),
        Some(error) => Failure::new(FailureKind::Connect, format!("{target}: {error}")),
        None => Failure::new(FailureKind::Dns, format!("{target} has no address")),
    })
}

async fn connect_from(address: SocketAddr, local: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(address).await;
    };
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(address).await
}

/// The detail and failure a kind's run ends with.
pub(crate) type Finding = (Detail, Option<Failure>);
