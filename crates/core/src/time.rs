//! Times are epoch milliseconds (UTC) inside seismo and RFC 3339 on the wire.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub const MINUTE_MS: Millis = 60_000;
/// The span of a roll-up bucket, aligned to the epoch: old counts are kept in these
/// (the engine's series after two days, the store's roll-ups after the reports go).
pub const ROLLUP_MS: Millis = 15 * MINUTE_MS;
pub const HOUR_MS: Millis = 60 * MINUTE_MS;
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// Parses an RFC 3339 time with any offset.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats as RFC 3339 UTC, `2026-01-22T18:15:00Z`, with milliseconds only when present.
pub fn format_rfc3339(at: Millis) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(at) else {
        return at.to_string();
    };
    let format = if at % 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    t.to_rfc3339_opts(format, true)
}

/// The start of the minute that holds `at`.
pub fn minute_floor(at: Millis) -> Millis {
    at.div_euclid(MINUTE_MS) * MINUTE_MS
}

/// Serde of [`Millis`] as RFC 3339 text, the wire's form of a time
/// (`#[serde(with = "seismo_core::time::rfc3339")]`).
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::{Millis, format_rfc3339, parse_rfc3339};

    pub fn serialize<S: Serializer>(at: &Millis, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_rfc3339(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Millis, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse_rfc3339(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }

    /// The same for an optional time (`null` when there is none).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use crate::time::Millis;

        pub fn serialize<S: Serializer>(
            at: &Option<Millis>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Millis>, D::Error> {
            #[derive(Deserialize)]
            struct Time(#[serde(with = "super")] Millis);
            Ok(Option::<Time>::deserialize(deserializer)?.map(|Time(at)| at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_offsets() {
        let t = parse_rfc3339("2026-01-22T13:15:00-05:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-01-22T18:15:00Z");
        assert_eq!(
            format_rfc3339(parse_rfc3339("2026-01-22T18:15:00.250Z").unwrap()),
            "2026-01-22T18:15:00.250Z"
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(minute_floor(t + 59_999), t);
        assert_eq!(minute_floor(-1), -MINUTE_MS);
    }
}
