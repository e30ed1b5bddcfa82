//! Writes small MMDB files (the MaxMind DB format, version 2) for GeoIP tests.

use std::net::Ipv4Addr;

/// A value in the MMDB data section.
pub enum V {
    S(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    F64(f64),
    Map(Vec<(&'static str, V)>),
    Array(Vec<V>),
}

fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    assert!(size < 29, "small values only");
    if kind <= 7 {
        out.push(kind << 5 | size as u8);
    } else {
        out.push(size as u8);
        out.push(kind - 7);
    }
}

fn encode(out: &mut Vec<u8>, value: &V) {
    match value {
        V::S(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        V::F64(f) => {
            control(out, 3, 8);
            out.extend_from_slice(&f.to_be_bytes());
        }
        V::U16(n) => {
            control(out, 5, 2);
            out.extend_from_slice(&n.to_be_bytes());
        }
        V::U32(n) => {
            control(out, 6, 4);
            out.extend_from_slice(&n.to_be_bytes());
        }
        V::U64(n) => {
            control(out, 9, 8);
            out.extend_from_slice(&n.to_be_bytes());
        }
        V::Map(entries) => {
            control(out, 7, entries.len());
            for (key, value) in entries {
                encode(out, &V::S(key));
                encode(out, value);
            }
        }
        V::Array(items) => {
            control(out, 11, items.len());
            items.iter().for_each(|v| encode(out, v));
        }
    }
}

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv4 database mapping each network to its record.
pub fn ipv4_database(networks: &[(Ipv4Addr, u8, V)]) -> Vec<u8> {
    let mut nodes = vec![[Record::Empty; 2]];
    let mut data = Vec::new();
    for (address, length, value) in networks {
        let offset = data.len();
        encode(&mut data, value);
        let bits = u32::from(*address);
        let mut node = 0;
        for i in 0..*length as usize {
            let bit = (bits >> (31 - i) & 1) as usize;
            if i + 1 == *length as usize {
                nodes[node][bit] = Record::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Record::Node(next) => next,
                    _ => {
                        nodes.push([Record::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][bit] = Record::Node(next);
                        next
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for record in node {
            let value = match *record {
                Record::Empty => count,
                Record::Node(n) => n,
                Record::Data(offset) => count + 16 + offset,
            } as u32;
            out.extend_from_slice(&value.to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    let metadata = V::Map(vec![
        ("node_count", V::U32(count as u32)),
        ("record_size", V::U16(24)),
        ("ip_version", V::U16(4)),
        ("database_type", V::S("seismo-test-City")),
        ("languages", V::Array(vec![V::S("en")])),
        ("binary_format_major_version", V::U16(2)),
        ("binary_format_minor_version", V::U16(0)),
        ("build_epoch", V::U64(1_700_000_000)),
        (
            "description",
            V::Map(vec![("en", V::S("seismo test database"))]),
        ),
    ]);
    encode(&mut out, &metadata);
    out
}
