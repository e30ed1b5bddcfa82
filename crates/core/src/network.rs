//! The network a sender is known by. One household or office usually holds one
//! address, or a few neighbouring ones; a provider hands out IPv6 prefixes of /48 to
//! /64. So one anonymous voice is one IPv4 /24 or one IPv6 /48: a sender who rotates
//! addresses inside its own block still speaks once.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 /24 or an IPv6 /48.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    V4([u8; 3]),
    V6([u8; 6]),
}

impl Network {
    /// The network holding `ip`; an IPv4 address mapped into IPv6 is the IPv4 one.
    pub fn of(ip: IpAddr) -> Network {
        match ip {
            IpAddr::V4(v4) => Network::v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Network::v4(v4),
                None => {
                    let o = v6.octets();
                    Network::V6([o[0], o[1], o[2], o[3], o[4], o[5]])
                }
            },
        }
    }

    fn v4(ip: Ipv4Addr) -> Network {
        let [a, b, c, _] = ip.octets();
        Network::V4([a, b, c])
    }

    /// Bytes naming the block of addresses holding `ip`: its IPv4 /16 or IPv6 /32,
    /// about what one provider hands one region. Many people's reports of a real
    /// outage come from many blocks; one sender's rarely does.
    pub fn block_key(ip: IpAddr) -> Vec<u8> {
        match Network::of(ip) {
            Network::V4([a, b, _]) => vec![4, a, b],
            Network::V6([a, b, c, d, ..]) => vec![6, a, b, c, d],
        }
    }

    /// Bytes naming the network, distinct between the two families.
    pub fn key(&self) -> Vec<u8> {
        match self {
            Network::V4(p) => [&[4u8][..], p].concat(),
            Network::V6(p) => [&[6u8][..], p].concat(),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Network::V4([a, b, c]) => write!(f, "{}/24", Ipv4Addr::new(a, b, c, 0)),
            Network::V6(p) => {
                let mut o = [0u8; 16];
                o[..6].copy_from_slice(&p);
                write!(f, "{}/48", Ipv6Addr::from(o))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(ip: &str) -> Network {
        Network::of(ip.parse().unwrap())
    }

    #[test]
    fn addresses_of_one_block_are_one_network() {
        assert_eq!(net("203.0.113.7"), net("203.0.113.250"));
        assert_ne!(net("203.0.113.7"), net("203.0.114.7"));
        assert_eq!(net("2001:db8:1:ff::1"), net("2001:db8:1:2::9"));
        assert_ne!(net("2001:db8:1::1"), net("2001:db8:2::1"));
        assert_eq!(net("::ffff:203.0.113.9"), net("203.0.113.1"));
        assert_ne!(net("0.0.0.1").key(), net("::1").key());
        let block = |ip: &str| Network::block_key(ip.parse().unwrap());
        assert_eq!(block("203.0.113.7"), block("203.0.7.1"));
        assert_ne!(block("203.0.113.7"), block("203.1.113.7"));
        assert_eq!(block("2001:db8:1::1"), block("2001:db8:ffff::1"));
        assert_ne!(block("2001:db8::1"), block("2001:db9::1"));
    }

    #[test]
    fn networks_print_as_prefixes() {
        assert_eq!(net("203.0.113.7").to_string(), "203.0.113.0/24");
        assert_eq!(net("2001:db8:1:ff::1").to_string(), "2001:db8:1::/48");
    }
}
