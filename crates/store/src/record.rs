//! The stored form of a report and its conversion to and from [`Report`].
//!
//! A stored report names its service, problem and place (slug, problem name,
//! GeoNames id, country and region codes) rather than holding in-memory indexes, so
//! the store stays valid when the catalog or the gazetteer changes.

use seismo_core::catalog::{Catalog, ProblemId};
use seismo_core::gazetteer::{Gazetteer, Place};
use seismo_core::report::Report;
use seismo_core::time::Millis;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredReport<'a> {
    pub at: Millis,
    pub received: Millis,
    pub service: &'a str,
    pub problem: &'a str,
    pub city_geonameid: Option<u32>,
    pub region: Option<&'a str>,
    pub country: Option<&'a str>,
    pub client: u64,
    pub block: u64,
}

impl<'a> StoredReport<'a> {
    pub fn from_report(
        report: &Report,
        catalog: &'a Catalog,
        gazetteer: &'a Gazetteer,
    ) -> StoredReport<'a> {
        let service = catalog.service(report.service);
        StoredReport {
            at: report.at,
            received: report.received,
            service: &service.slug,
            problem: &service.problems[report.problem.0 as usize],
            city_geonameid: report.place.city.map(|c| gazetteer.city(c).geonameid),
            region: report
                .place
                .region
                .map(|r| gazetteer.region(r).code.as_str()),
            country: report
                .place
                .country
                .map(|c| gazetteer.country(c).code.as_str()),
            client: report.client,
            block: report.block,
        }
    }

    /// The report in terms of the current catalog and gazetteer; `None` when its
    /// service is no longer in the catalog. A problem the service no longer lists
    /// becomes `other`; a place no longer known becomes unknown.
    pub fn to_report(&self, catalog: &Catalog, gazetteer: &Gazetteer) -> Option<Report> {
        let service_id = catalog.by_slug(self.service)?;
        let service = catalog.service(service_id);
        let problem: ProblemId = service
            .problem(self.problem)
            .unwrap_or(service.other_problem());
        let place = match self
            .city_geonameid
            .and_then(|g| gazetteer.city_by_geonameid(g))
        {
            Some(city) => gazetteer.place_of(city),
            None => {
                let country = self.country.and_then(|c| gazetteer.find_country(c));
                Place {
                    city: None,
                    region: country
                        .zip(self.region)
                        .and_then(|(c, r)| gazetteer.find_region(c, r)),
                    country,
                }
            }
        };
        Some(Report {
            at: self.at,
            received: self.received,
            service: service_id,
            problem,
            place,
            client: self.client,
            block: self.block,
        })
    }
}
