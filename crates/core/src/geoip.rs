//! Place of an IP address from an MMDB file (DB-IP lite or MaxMind GeoLite2 City layout).

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{Reader, geoip2};

use crate::gazetteer::{Gazetteer, Place};

pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: not a usable MMDB file: {source}")]
pub struct GeoIpError {
    path: String,
    source: maxminddb::MaxMindDbError,
}

impl GeoIp {
    pub fn open(path: &Path) -> Result<GeoIp, GeoIpError> {
        let reader = Reader::open_readfile(path).map_err(|source| GeoIpError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(GeoIp { reader })
    }

    /// The place of `ip`: the city by GeoNames id when the file has one, else by
    /// names, else the city nearest to the file's coordinates. `None` when the file
    /// knows nothing of the address.
    pub fn locate(&self, gazetteer: &Gazetteer, ip: IpAddr) -> Option<Place> {
        let record: geoip2::City = self.reader.lookup(ip).ok()?.decode().ok()??;
        if let Some(id) = record
            .city
            .geoname_id
            .and_then(|g| gazetteer.city_by_geonameid(g))
        {
            return Some(gazetteer.place_of(id));
        }
        let country = record.country.iso_code;
        let region = record
            .subdivisions
            .first()
            .and_then(|s| s.iso_code.or(s.names.english));
        let named = gazetteer.resolve_named(record.city.names.english, country, region);
        if named.city.is_some() {
            return Some(named);
        }
        let near = match (record.location.latitude, record.location.longitude) {
            (Some(lat), Some(lon)) => gazetteer.nearest_city(lat, lon),
            _ => None,
        };
        Some(near.map_or(named, |id| gazetteer.place_of(id)))
    }
}
