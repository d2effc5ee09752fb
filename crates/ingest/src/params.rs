//! Strict query-string handling: xAPI parameter names are case-exact and an unknown or
//! repeated parameter is a 400, never silently ignored.

use crate::error::ApiError;
use lrs_core::xapi::{parse_json_strict, parse_timestamp, ValidationError};
use std::collections::BTreeMap;

/// Parsed query parameters, each at most once.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Result<Params, ApiError> {
        let mut map = BTreeMap::new();
        if let Some(raw) = raw {
            for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
                if map.insert(k.to_string(), v.to_string()).is_some() {
                    return Err(ApiError::bad_request(format!(
                        "parameter {k:?} given more than once"
                    )));
                }
            }
        }
        Ok(Params(map))
    }

    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Params, ApiError> {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if map.contains_key(&k) {
                return Err(ApiError::bad_request(format!(
                    "parameter {k:?} given more than once"
                )));
            }
            map.insert(k, v);
        }
        Ok(Params(map))
    }

    /// Rejects any parameter not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad_request(format!(
                "unexpected parameter {k:?} for this resource"
            ))),
            None => Ok(()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("missing required parameter {name:?}")))
    }

    /// `true`/`false` exactly; absent means `default`.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::bad_request(format!(
                "parameter {name:?} must be true or false, not {other:?}"
            ))),
        }
    }

    pub fn timestamp_ms(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_timestamp(v)
                    .map(|t| t.timestamp_millis())
                    .map_err(|e| ApiError::bad_request(format!("parameter {name:?}: {e}")))
            })
            .transpose()
    }

    pub fn json(&self, name: &str) -> Result<Option<serde_json::Value>, ApiError> {
        self.get(name)
            .map(|v| parse_json_strict(v.as_bytes(), name).map_err(ApiError::from))
            .transpose()
    }

    pub fn iri(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some(v) if !lrs_core::xapi::is_valid_iri(v) => Err(ValidationError {
                path: name.into(),
                message: "not a valid IRI".into(),
            }
            .into()),
            other => Ok(other),
        }
    }

    pub fn uuid(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some(v) if !lrs_core::xapi::is_valid_uuid(v) => Err(ValidationError {
                path: name.into(),
                message: "not a valid UUID".into(),
            }
            .into()),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_repeats_unknowns_and_bad_booleans() {
        assert!(Params::parse(Some("a=1&a=2")).is_err());
        let p = Params::parse(Some("ascending=TRUE&limit=3")).unwrap();
        assert!(p.only(&["ascending"]).is_err());
        assert!(p.bool("ascending", false).is_err());
        assert_eq!(
            Params::parse(Some("x=%7B%7D")).unwrap().get("x"),
            Some("{}")
        );
    }
}
