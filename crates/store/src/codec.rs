//! What every store writes the same way, whatever its SQL: digests as hex, bodies as
//! JSON, roles and probe failures by name; and how it reports what it cannot read.

use chrono::{Datelike, TimeZone, Utc};
use seismo_core::access::{Role, SecretDigest};
use seismo_core::probe::{Failure, FailureKind};
use seismo_core::time::Millis;

use crate::StoreError;

/// A value the database holds but seismo cannot read.
pub(crate) fn corrupt(context: &'static str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        context,
        source: what.to_string().into(),
    }
}

/// A key per service slug for the counting rule.
pub(crate) fn service_key(slug: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(slug)
}

pub(crate) fn hex(digest: &SecretDigest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(context: &'static str, text: &str) -> Result<SecretDigest, StoreError> {
    let invalid = || corrupt(context, format!("digest {text:?} is not 64 hex digits"));
    let mut digest = [0u8; 32];
    if text.len() != 64 {
        return Err(invalid());
    }
    for (i, byte) in digest.iter_mut().enumerate() {
        let pair = text.get(2 * i..2 * i + 2).ok_or_else(invalid)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(digest)
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("seismo's own records serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    context: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| corrupt(context, error))
}

pub(crate) fn role(context: &'static str, name: &str) -> Result<Role, StoreError> {
    name.parse::<Role>()
        .map_err(|error| corrupt(context, error))
}

/// A probe's failure from its kind and message columns.
pub(crate) fn failure(
    context: &'static str,
    kind: Option<&str>,
    message: Option<String>,
) -> Result<Option<Failure>, StoreError> {
    kind.map(|kind| {
        Ok(Failure {
            kind: FailureKind::parse(kind)
                .ok_or_else(|| corrupt(context, format!("failure kind {kind:?}")))?,
            message: message.unwrap_or_default(),
        })
    })
    .transpose()
}

/// The first millisecond of the month (UTC) that holds `at`, and of the next; `None`
/// beyond the calendar's range (such reports go to the default partition).
pub(crate) fn month_of(at: Millis) -> Option<(Millis, Millis)> {
    let day = Utc.timestamp_millis_opt(at).single()?;
    let start = |year: i32, month: u32| {
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .map(|t| t.timestamp_millis())
    };
    let (year, month) = (day.year(), day.month());
    let next = if month == 12 {
        start(year + 1, 1)
    } else {
        start(year, month + 1)
    };
    Some((start(year, month)?, next?))
}
