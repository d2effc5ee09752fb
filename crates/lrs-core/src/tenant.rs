//! Tenant identity. A tenant id is a short slug; it keys log records (Kafka partition
//! key), every read-store row and every cache entry.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifier of a tenant (an organisation). Validated on construction so that it can be
/// used as a Kafka key, a path segment and an SQL value without escaping surprises.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// Accepts 1–64 characters from `[a-z0-9_-]`, starting with a letter or digit.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && s.as_bytes()[0].is_ascii_alphanumeric();
        if ok {
            Ok(TenantId(s.to_owned()))
        } else {
            Err(format!(
                "invalid tenant id {s:?}: use 1-64 characters a-z, 0-9, '-' or '_'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TenantId::parse(&s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
