//! The accept loop: every connection is bounded before a request is read.
//!
//! `axum::serve` sets no timer, so hyper's header timeout never fires there and a
//! socket that sends nothing is held forever. This loop gives each connection a
//! header-read timeout (which also closes keep-alive connections left idle), caps the
//! open connections in all and per address (a trusted proxy's are not capped per
//! address: it speaks for many), and ends them gracefully on shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use tower::ServiceExt;

use crate::AppState;

/// Bounds on connections and on how long a request may take to arrive.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Open connections at most; more are closed as soon as they are accepted.
    pub connections: usize,
    /// Open connections from one address at most.
    pub connections_per_ip: usize,
    /// A request's headers must arrive within this, and an idle keep-alive connection
    /// is closed after it.
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// Open live-event streams at most.
    pub event_streams: usize,
    /// Open live-event streams from one address at most.
    pub event_streams_per_ip: usize,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            connections: 10_000,
            connections_per_ip: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            event_streams: 5_000,
            event_streams_per_ip: 8,
        }
    }
}

/// Counts of open things (connections, event streams) in all and per address, with
/// their caps; a [`Slot`] holds one place until dropped.
#[derive(Debug)]
pub struct Occupancy {
    total: usize,
    per_ip: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One place taken in an [`Occupancy`], given back when dropped.
pub struct Slot {
    occupancy: Arc<Occupancy>,
    ip: Option<IpAddr>,
}

impl Occupancy {
    pub fn new(total: usize, per_ip: usize) -> Arc<Occupancy> {
        Arc::new(Occupancy {
            total,
            per_ip,
            open: Mutex::default(),
        })
    }

    /// A place for `ip` (`None`: not capped per address), or `None` when full.
    /// The places taken now.
    pub fn taken(&self) -> usize {
        self.open.lock().expect("occupancy lock").0
    }

    pub fn take(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<Slot> {
        let mut open = self.open.lock().expect("occupancy lock");
        let (total, per_ip) = &mut *open;
        if *total >= self.total {
            return None;
        }
        if let Some(ip) = ip {
            let mine = per_ip.entry(ip).or_default();
            if *mine >= self.per_ip {
                return None;
            }
            *mine += 1;
        }
        *total += 1;
        Some(Slot {
            occupancy: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.occupancy.open.lock().expect("occupancy lock");
        let (total, per_ip) = &mut *open;
        *total -= 1;
        if let Some(ip) = self.ip
            && let Some(mine) = per_ip.get_mut(&ip)
        {
            *mine -= 1;
            if *mine == 0 {
                per_ip.remove(&ip);
            }
        }
    }
}

/// Serves the app of `state` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = crate::app(state.clone());
    let bounds = state.config.bounds.clone();
    let trusted_proxies = state.config.trusted_proxies.clone();
    let connections = Occupancy::new(bounds.connections, bounds.connections_per_ip);
    // HTTP/1.1 only: telling it from cleartext HTTP/2 means reading the first bytes
    // before any timer runs, which a silent socket never sends. Browsers speak HTTP/2
    // only over TLS, which a proxy in front ends.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_timeout)
        .max_buf_size(64 * 1024);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let capped_ip = (!is_trusted(&trusted_proxies, peer.ip())).then_some(peer.ip());
        let Some(slot) = connections.take(capped_ip) else {
            tracing::debug!(%peer, "connection refused: too many open");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request.map(Body::new)
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

pub fn is_trusted(trusted_proxies: &[IpNet], ip: IpAddr) -> bool {
    trusted_proxies.iter().any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_in_all_and_per_address_and_given_back() {
        let occupancy = Occupancy::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = occupancy.take(Some(a)).unwrap();
        let _second = occupancy.take(Some(a)).unwrap();
        assert!(occupancy.take(Some(a)).is_none(), "two per address");
        let _third = occupancy.take(Some(b)).unwrap();
        assert!(occupancy.take(None).is_none(), "three in all");
        drop(first);
        let again = occupancy.take(Some(a));
        assert!(again.is_some(), "a place given back is free");
        assert!(occupancy.take(Some(b)).is_none(), "and taken again");
    }
}
