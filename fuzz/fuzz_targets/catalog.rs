//! A catalog file: a catalog or an error naming where, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seismo_core::Catalog;

fuzz_target!(|text: &str| {
    if let Ok(catalog) = Catalog::parse("fuzz.toml", text) {
        for service in catalog.services() {
            assert_eq!(
                catalog
                    .by_slug(&service.slug)
                    .map(|id| catalog.service(id).slug.as_str()),
                Some(service.slug.as_str())
            );
        }
    }
});
