//! Rate limits on every write route: token buckets per address, per network and per
//! token (GCRA, through `governor`). Anonymous senders are held to both their address's
//! and their network's bucket; a token's holder only to its token's, which is larger.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use seismo_core::Network;

use crate::ApiError;
use crate::intake::Sender;

/// Requests per minute allowed to each kind of sender; each bucket holds a minute's worth,
/// so a burst of that many passes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub per_ip_per_minute: NonZeroU32,
    pub per_network_per_minute: NonZeroU32,
    pub per_token_per_minute: NonZeroU32,
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            per_ip_per_minute: NonZeroU32::new(30).expect("not zero"),
            per_network_per_minute: NonZeroU32::new(120).expect("not zero"),
            per_token_per_minute: NonZeroU32::new(6_000).expect("not zero"),
        }
    }
}

/// After this many checks, buckets that have refilled are forgotten, so that the
/// memory of the limiter follows the senders of the last minute, not of all time.
const SWEEP_EVERY: u64 = 4_096;

pub struct Limiter {
    address: DefaultKeyedRateLimiter<IpAddr>,
    network: DefaultKeyedRateLimiter<Network>,
    token: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

impl Limiter {
    pub fn new(rates: Rates) -> Limiter {
        Limiter {
            address: RateLimiter::keyed(Quota::per_minute(rates.per_ip_per_minute)),
            network: RateLimiter::keyed(Quota::per_minute(rates.per_network_per_minute)),
            token: RateLimiter::keyed(Quota::per_minute(rates.per_token_per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from the sender's buckets, or says how long to wait: 429
    /// `rate_limited` with `Retry-After`.
    pub fn admit(&self, sender: &Sender) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let refused = match (&sender.importer, sender.ip) {
            (Some(grant), _) => self.token.check_key(&grant.name).err(),
            (None, Some(ip)) => self
                .address
                .check_key(&address_key(ip))
                .and_then(|()| self.network.check_key(&Network::of(ip)))
                .err(),
            // No address is known only to callers inside the process (tests).
            (None, None) => None,
        };
        match refused {
            None => Ok(()),
            Some(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::rate_limited(wait.as_secs() + 1))
            }
        }
    }

    fn sweep(&self) {
        self.address.retain_recent();
        self.address.shrink_to_fit();
        self.network.retain_recent();
        self.network.shrink_to_fit();
        self.token.retain_recent();
    }
}

/// An IPv4 address, or the /64 of an IPv6 one: what one host usually holds.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

impl ApiError {
    /// 429: too many requests; try again after `seconds`.
    pub fn rate_limited(seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests from this sender; try again in {seconds} s"),
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_its_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = address_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(
            address_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }
}
