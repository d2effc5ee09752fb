//! Authentication (HTTP Basic against credentials in the read store) and scopes.
//!
//! Secrets are stored as argon2 hashes. Verifying one costs tens of milliseconds by
//! design, so a successful verification is cached (moka, short TTL) under a SHA-256 of
//! key and secret: the hot path pays one hash and a map lookup. Revocation takes effect
//! within the TTL.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use lrs_core::store::ReadStore;
use lrs_core::TenantId;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// What a request may do. Scope names follow xAPI (1.0.3 §4.2) plus our own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    WriteStatements,
    ReadStatements,
    ReadState,
    WriteState,
    ReadProfiles,
    WriteProfiles,
    Define,
    ReadAnalytics,
    Admin,
}

/// Every scope a credential may carry.
pub const KNOWN_SCOPES: &[&str] = &[
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "state",
    "define",
    "profile",
    "all/read",
    "all",
    "analytics/read",
    "admin",
];

/// An authenticated caller, always bound to exactly one tenant.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant: TenantId,
    /// Credential key (never the secret).
    pub key: String,
    pub scopes: Vec<String>,
    /// The Agent recorded as `authority` on statements this principal sends.
    pub authority: Value,
    pub method: &'static str,
}

impl Principal {
    fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn may(&self, permission: Permission) -> bool {
        let all = self.has("all");
        let all_read = all || self.has("all/read");
        match permission {
            Permission::WriteStatements => all || self.has("statements/write"),
            Permission::ReadStatements => {
                all_read || self.has("statements/read") || self.has("statements/read/mine")
            }
            Permission::ReadState => all_read || self.has("state"),
            Permission::WriteState => all || self.has("state"),
            Permission::ReadProfiles => all_read || self.has("profile"),
            Permission::WriteProfiles => all || self.has("profile"),
            Permission::Define => all || self.has("define"),
            Permission::ReadAnalytics => all || self.has("analytics/read") || self.has("admin"),
            Permission::Admin => self.has("admin"),
        }
    }

    /// Only `statements/read/mine`: reads are limited to statements this credential's
    /// authority sent.
    pub fn reads_only_own_statements(&self) -> bool {
        !(self.has("all") || self.has("all/read") || self.has("statements/read"))
            && self.has("statements/read/mine")
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "credential {:?} lacks the scope for {permission:?}",
                self.key
            )))
        }
    }
}

/// Hashes a secret for storage (argon2id with a random salt).
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub struct Authenticator {
    store: Arc<dyn ReadStore>,
    verified: moka::future::Cache<[u8; 32], Principal>,
}

impl Authenticator {
    pub fn new(store: Arc<dyn ReadStore>, ttl: Duration) -> Self {
        Authenticator {
            store,
            verified: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Authenticates an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, ApiError> {
        let Some(value) = authorization else {
            return Err(ApiError::Unauthorized(
                "authentication required (HTTP Basic)".into(),
            ));
        };
        let Some(encoded) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return Err(ApiError::Unauthorized(
                "unsupported authorization scheme (use Basic)".into(),
            ));
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::Unauthorized("malformed Basic credentials".into()))?;
        let (key, secret) = decoded
            .split_once(':')
            .ok_or_else(|| ApiError::Unauthorized("malformed Basic credentials".into()))?;
        if key.is_empty() {
            return Err(ApiError::Unauthorized("authentication required".into()));
        }
        let mut hasher = Sha256::new();
        hasher.update(key.as_bytes());
        hasher.update([0u8]);
        hasher.update(secret.as_bytes());
        let cache_key: [u8; 32] = hasher.finalize().into();
        if let Some(p) = self.verified.get(&cache_key).await {
            return Ok(p);
        }
        let refused = || ApiError::Unauthorized("invalid credentials".into());
        let record = self.store.credential(key).await?.ok_or_else(refused)?;
        if record.revoked || record.tenant_disabled {
            return Err(refused());
        }
        let (secret, hash) = (secret.to_owned(), record.secret_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !ok {
            return Err(refused());
        }
        let principal = Principal {
            tenant: record.tenant,
            key: record.key,
            scopes: record.scopes,
            authority: record.authority,
            method: "basic",
        };
        self.verified.insert(cache_key, principal.clone()).await;
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[&str]) -> Principal {
        Principal {
            tenant: TenantId::parse("t").unwrap(),
            key: "k".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            authority: Value::Null,
            method: "basic",
        }
    }

    #[test]
    fn scope_matrix() {
        let all = principal(&["all"]);
        assert!(
            all.may(Permission::WriteStatements)
                && all.may(Permission::WriteState)
                && !all.may(Permission::Admin)
        );
        let read = principal(&["all/read"]);
        assert!(read.may(Permission::ReadStatements) && read.may(Permission::ReadState));
        assert!(!read.may(Permission::WriteStatements) && !read.may(Permission::WriteProfiles));
        let write = principal(&["statements/write"]);
        assert!(write.may(Permission::WriteStatements) && !write.may(Permission::ReadStatements));
        let mine = principal(&["statements/read/mine"]);
        assert!(mine.may(Permission::ReadStatements) && mine.reads_only_own_statements());
        assert!(!principal(&["statements/read"]).reads_only_own_statements());
    }

    #[test]
    fn hashes_verify_and_reject() {
        let h = hash_secret("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_secret("s3cret", &h));
        assert!(!verify_secret("wrong", &h));
        assert!(!verify_secret("s3cret", "not a hash"));
    }
}
