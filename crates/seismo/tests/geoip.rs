//! Reports placed by IP address through an MMDB file given with `--geoip`.

mod support;

use std::net::Ipv4Addr;

use serde_json::json;
use support::Server;
use support::mmdb::{V, ipv4_database};

fn names(en: &'static str) -> V {
    V::Map(vec![("en", V::S(en))])
}

#[test]
fn reports_are_placed_by_ip_field_or_by_sender() {
    let dir = tempfile::tempdir().unwrap();
    let database = ipv4_database(&[
        // MaxMind layout: the city's GeoNames id.
        (
            Ipv4Addr::new(203, 0, 113, 0),
            24,
            V::Map(vec![(
                "city",
                V::Map(vec![
                    ("geoname_id", V::U32(5_037_649)),
                    ("names", names("Minneapolis")),
                ]),
            )]),
        ),
        // DB-IP lite layout: names and coordinates, no GeoNames id.
        (
            Ipv4Addr::new(198, 51, 100, 0),
            24,
            V::Map(vec![
                ("city", V::Map(vec![("names", names("Phoenix"))])),
                ("country", V::Map(vec![("iso_code", V::S("US"))])),
                (
                    "subdivisions",
                    V::Array(vec![V::Map(vec![("names", names("Arizona"))])]),
                ),
                (
                    "location",
                    V::Map(vec![
                        ("latitude", V::F64(33.45)),
                        ("longitude", V::F64(-112.07)),
                    ]),
                ),
            ]),
        ),
        // Coordinates only: the nearest city.
        (
            Ipv4Addr::new(192, 0, 2, 0),
            24,
            V::Map(vec![(
                "location",
                V::Map(vec![
                    ("latitude", V::F64(32.78)),
                    ("longitude", V::F64(-96.80)),
                ]),
            )]),
        ),
        // The test's own address: reports that name no place come from Seattle.
        (
            Ipv4Addr::new(127, 0, 0, 1),
            32,
            V::Map(vec![(
                "city",
                V::Map(vec![("geoname_id", V::U32(5_809_844))]),
            )]),
        ),
    ]);
    let path = dir.path().join("test.mmdb");
    std::fs::write(&path, database).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--geoip", path.to_str().unwrap()],
    );
    // Each from a network of its own, so that each counts.
    for (n, ip) in ["203.0.113.9", "198.51.100.20", "192.0.2.1", "10.1.1.1"]
        .into_iter()
        .enumerate()
    {
        let response = support::client_from([127, 0, n as u8 + 1, 1])
            .post(server.url("/api/v1/reports"))
            .json(&json!({"service": "zoom", "ip": ip}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 202, "{ip}");
    }
    let response = support::client_from([127, 0, 0, 1])
        .post(server.url("/api/v1/reports"))
        .json(&json!({"service": "zoom"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);

    let series = server.get("/api/v1/services/zoom/series?step=86400&by=city");
    let mut places: Vec<String> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_string())
        .collect();
    places.sort();
    assert_eq!(
        places,
        [
            "Dallas, Texas, US",
            "Minneapolis, Minnesota, US",
            "Phoenix, Arizona, US",
            "Seattle, Washington, US",
            "unknown"
        ]
    );
}

#[test]
fn a_bad_geoip_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.mmdb");
    std::fs::write(&path, b"not a database").unwrap();
    let output = support::seismo()
        .args(["serve", "--listen", "127.0.0.1:0", "--geoip"])
        .arg(&path)
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.mmdb: not a usable MMDB file"),
        "{stderr}"
    );
}
