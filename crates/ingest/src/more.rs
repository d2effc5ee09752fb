//! `more` links. All query state lives in an opaque token (stateless, so links never
//! expire and any ingest process can serve them). The token names its tenant and is
//! refused for another, so a leaked link reveals nothing across tenants.

use crate::error::ApiError;
use crate::format::Format;
use base64::Engine;
use lrs_core::store::StatementQuery;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct MoreToken {
    pub tenant: String,
    pub query: StatementQuery,
    pub format: Format,
    pub attachments: bool,
}

impl MoreToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(token: &str, tenant: &str) -> Result<MoreToken, ApiError> {
        let bad = || ApiError::bad_request("invalid or foreign 'more' token");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad())?;
        let t: MoreToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if t.tenant != tenant {
            return Err(bad());
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tenant_binding() {
        let t = MoreToken {
            tenant: "a".into(),
            query: StatementQuery {
                verb: Some("http://v".into()),
                after_seq: Some(9),
                max_seq: Some(20),
                limit: 5,
                ..Default::default()
            },
            format: Format::Ids,
            attachments: false,
        };
        let s = t.encode();
        assert_eq!(MoreToken::decode(&s, "a").unwrap(), t);
        assert!(MoreToken::decode(&s, "b").is_err());
        assert!(MoreToken::decode("!!!", "a").is_err());
    }
}
