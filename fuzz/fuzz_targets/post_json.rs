//! One post's JSON through the parser, the rules and the classifier: an error or a
//! classified post, never a panic, whatever the bytes and whoever sends them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use seismo_core::post::{Classifier, PostInput, PostSource};
use seismo_core::report::{Received, ReportRules, TimeLimits};
use seismo_core::{Catalog, Gazetteer};

fuzz_target!(|data: &[u8]| {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    let catalog = CATALOG.get_or_init(Catalog::demo);
    let classifier = CLASSIFIER.get_or_init(|| Classifier::new(catalog));
    let rules = ReportRules {
        catalog,
        gazetteer: Gazetteer::embedded(),
        geoip: None,
        limits: TimeLimits::default(),
        client_salt: 1,
    };
    let Ok(input) = PostInput::from_json(data) else {
        return;
    };
    for trusted in [false, true] {
        let received = Received {
            now: 1_769_105_400_000,
            peer_ip: None,
            sender: b"net",
            block: b"block",
            trusted,
        };
        if let Ok(post) = rules.validate_post(&input, &received, PostSource::Api, classifier) {
            assert!(!post.text.is_empty());
            assert!(trusted || post.author_shown.is_none());
            assert_eq!(post.classification.problem.is_some(), post.classification.service.is_some());
        }
    }
});
