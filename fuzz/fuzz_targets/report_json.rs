//! One report's JSON through the parser and the rules: an error or a report, never a
//! panic, whatever the bytes and whoever sends them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use seismo_core::report::{Received, ReportInput, ReportRules, TimeLimits};
use seismo_core::{Catalog, Gazetteer};

fuzz_target!(|data: &[u8]| {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    let rules = ReportRules {
        catalog: CATALOG.get_or_init(Catalog::demo),
        gazetteer: Gazetteer::embedded(),
        geoip: None,
        limits: TimeLimits::default(),
        client_salt: 1,
    };
    let Ok(input) = ReportInput::from_json(data) else {
        return;
    };
    for trusted in [false, true] {
        let received = Received {
            now: 1_769_105_400_000,
            peer_ip: Some([203, 0, 113, 9].into()),
            sender: b"net",
            block: b"block",
            trusted,
        };
        if let Ok(report) = rules.validate(&input, &received) {
            assert!(report.at <= received.now + rules.limits.max_future);
            assert!(trusted || report.at >= received.now - rules.limits.max_age);
        }
    }
});
