//! Authentication (HTTP Basic against credentials in the read store, or a JWT bearer
//! token from a configured issuer), scopes and roles.
//!
//! Secrets are stored as argon2 hashes. Verifying one costs tens of milliseconds by
//! design, so a successful verification is cached (moka, short TTL) under a SHA-256 of
//! key and secret: the hot path pays one hash and a map lookup, and no secret is ever
//! compared byte by byte (argon2's verification is constant-time). Revocation, rotation
//! and tenant disabling drop the cached entries of this process at once (`forget_*`);
//! other API processes notice within the TTL.
//!
//! Every principal is bound to exactly one tenant; nothing downstream can name another.

use crate::error::ApiError;
use crate::jwt::JwtVerifier;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lrs_core::store::ReadStore;
use lrs_core::xapi::agent_key;
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
    /// Manage the credentials of the principal's own tenant (and, for a platform admin,
    /// tenants and every tenant's credentials).
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
    "audit",
];

/// Whose records a principal may read (the analytics read models build on this).
///
/// Basic credentials are integrations (an LMS, a content player): they act for the whole
/// tenant, so they are `OrgAdmin`, or `PlatformAdmin` when they carry `admin` on the
/// platform tenant. JWT principals get the role their token names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Only records whose actor is their own agent.
    Learner,
    /// The learners and courses an org admin assigned to them (`trainer.assigned`,
    /// keyed by their principal id `<sub>#<iss>`; see `roles`), plus their own records.
    Trainer,
    /// The whole tenant, within the scopes held.
    OrgAdmin,
    /// Manages tenants; bound to the platform tenant, so it reads no learner data of any
    /// other tenant, and in its own only what its scopes grant.
    PlatformAdmin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "learner" => Some(Role::Learner),
            "trainer" => Some(Role::Trainer),
            "org_admin" => Some(Role::OrgAdmin),
            "platform_admin" => Some(Role::PlatformAdmin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Trainer => "trainer",
            Role::OrgAdmin => "org_admin",
            Role::PlatformAdmin => "platform_admin",
        }
    }
}

/// Whose records a principal may read, from its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Every record of its tenant.
    Tenant,
    /// Only records of this agent (canonical `xapi::agent_key`).
    OwnAgent(String),
    /// Nothing (a learner token whose agent has no identifier).
    Nothing,
}

/// An authenticated caller, always bound to exactly one tenant.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant: TenantId,
    /// Credential key, or `<subject>#<issuer>` for a token (never a secret).
    pub key: String,
    pub scopes: Vec<String>,
    /// The Agent recorded as `authority` on statements this principal sends.
    pub authority: Value,
    /// "basic" or "jwt".
    pub method: &'static str,
    pub role: Role,
    /// The learner's (or trainer's) own xAPI Agent: what "their records" means. None for
    /// Basic credentials.
    pub agent: Option<Value>,
    /// Token claim `groups`, informational only: a trainer's reach comes from the
    /// admin-managed assignments (`trainer.assigned`), which the issuer cannot widen.
    pub groups: Vec<String>,
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
            Permission::Admin => {
                self.has("admin") && matches!(self.role, Role::OrgAdmin | Role::PlatformAdmin)
            }
        }
    }

    /// Only `statements/read/mine`: reads are limited to statements this credential's
    /// authority sent.
    pub fn reads_only_own_statements(&self) -> bool {
        !(self.has("all") || self.has("all/read") || self.has("statements/read"))
            && self.has("statements/read/mine")
    }

    /// Whose records this principal's role lets it read (scopes decide which kinds).
    /// Fails closed: a learner without an identifiable agent reads nothing.
    pub fn reach(&self) -> Reach {
        match self.role {
            Role::Learner | Role::Trainer => match self.agent.as_ref().and_then(agent_key) {
                Some(key) => Reach::OwnAgent(key),
                None => Reach::Nothing,
            },
            Role::OrgAdmin | Role::PlatformAdmin => Reach::Tenant,
        }
    }

    /// Whether this principal may manage `tenant` (its credentials): a platform admin
    /// any tenant, an admin of a tenant only that one.
    pub fn may_manage(&self, tenant: &TenantId) -> bool {
        self.may(Permission::Admin) && (self.role == Role::PlatformAdmin || &self.tenant == tenant)
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

/// Constant-time verification of a secret against its argon2 hash.
fn verify_secret(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A copy of an authentication error shared by coalesced requests.
fn shared_error(e: &ApiError) -> ApiError {
    match e {
        ApiError::Unauthorized(m) => ApiError::Unauthorized(m.clone()),
        ApiError::Forbidden(m) => ApiError::Forbidden(m.clone()),
        ApiError::Unavailable(m) => ApiError::Unavailable(m.clone()),
        ApiError::Internal(m) => ApiError::Internal(m.clone()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Whether a tenant exists and is enabled, as the token path needs it (Basic gets it
/// with the credential row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TenantState {
    Missing,
    Active,
    Disabled,
}

pub struct Authenticator {
    store: Arc<dyn ReadStore>,
    verified: moka::future::Cache<[u8; 32], Principal>,
    tenants: moka::future::Cache<String, TenantState>,
    jwt: Arc<JwtVerifier>,
    platform_tenant: String,
}

impl Authenticator {
    pub fn new(store: Arc<dyn ReadStore>, ttl: Duration) -> Self {
        Authenticator {
            store,
            verified: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            tenants: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            jwt: Arc::new(JwtVerifier::default()),
            platform_tenant: "default".into(),
        }
    }

    /// The tenant whose `admin` credentials are platform admins.
    pub fn with_platform_tenant(mut self, tenant: &str) -> Self {
        self.platform_tenant = tenant.to_owned();
        self
    }

    /// Accept bearer tokens from these issuers.
    pub fn with_jwt(mut self, jwt: Arc<JwtVerifier>) -> Self {
        self.jwt = jwt;
        self
    }

    pub fn platform_tenant(&self) -> &str {
        &self.platform_tenant
    }

    /// Drops cached verifications of one credential (after a revocation or rotation).
    pub fn forget_credential(&self, key: &str) {
        let key = key.to_owned();
        // Fails only if closures were not enabled at build time; the TTL still applies.
        let _ = self
            .verified
            .invalidate_entries_if(move |_, p| p.method == "basic" && p.key == key);
    }

    /// Drops everything cached about a tenant (after it was disabled).
    pub async fn forget_tenant(&self, tenant: &TenantId) {
        let t = tenant.clone();
        let _ = self
            .verified
            .invalidate_entries_if(move |_, p| p.tenant == t);
        self.tenants.invalidate(tenant.as_str()).await;
    }

    /// Authenticates an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, ApiError> {
        let Some(value) = authorization else {
            return Err(ApiError::Unauthorized(
                "authentication required (HTTP Basic or a Bearer token)".into(),
            ));
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            self.basic(rest.trim()).await
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.bearer(rest.trim()).await
        } else {
            Err(ApiError::Unauthorized(
                "unsupported authorization scheme (use Basic or Bearer)".into(),
            ))
        }
    }

    async fn basic(&self, encoded: &str) -> Result<Principal, ApiError> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::Unauthorized("malformed Basic credentials".into()))?;
        let (key, secret) = decoded
            .split_once(':')
            .ok_or_else(|| ApiError::Unauthorized("malformed Basic credentials".into()))?;
        if key.is_empty() {
            // `Basic Og==` (1.0.3 §4.1): an explicitly anonymous request.
            return Err(ApiError::Unauthorized(
                "anonymous access is not enabled; authenticate with a credential".into(),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(key.as_bytes());
        hasher.update([0u8]);
        hasher.update(secret.as_bytes());
        let cache_key: [u8; 32] = hasher.finalize().into();
        // Concurrent first requests of one credential share a single verification
        // (moka coalesces them); only successes are cached.
        self.verified
            .try_get_with(cache_key, self.verify(key, secret))
            .await
            .map_err(|e| shared_error(&e))
    }

    /// Looks the credential up and checks the secret (the slow path).
    async fn verify(&self, key: &str, secret: &str) -> Result<Principal, ApiError> {
        let refused = || ApiError::Unauthorized("invalid credentials".into());
        let record = self.store.credential(key).await?.ok_or_else(refused)?;
        let (secret, hash) = (secret.to_owned(), record.secret_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !ok {
            return Err(refused());
        }
        // Reasons are given only to a caller that proved it holds the secret.
        if record.revoked {
            return Err(ApiError::Unauthorized(format!(
                "credential {:?} has been revoked",
                record.key
            )));
        }
        if record.tenant_disabled {
            return Err(ApiError::Forbidden(format!(
                "tenant {:?} is disabled",
                record.tenant.as_str()
            )));
        }
        let role = if record.tenant.as_str() == self.platform_tenant
            && record.scopes.iter().any(|s| s == "admin")
        {
            Role::PlatformAdmin
        } else {
            Role::OrgAdmin
        };
        Ok(Principal {
            tenant: record.tenant,
            key: record.key,
            scopes: record.scopes,
            authority: record.authority,
            method: "basic",
            role,
            agent: None,
            groups: Vec::new(),
        })
    }

    async fn bearer(&self, token: &str) -> Result<Principal, ApiError> {
        if self.jwt.is_empty() {
            return Err(ApiError::Unauthorized(
                "bearer tokens are not accepted: no token issuer is configured".into(),
            ));
        }
        let t = self.jwt.verify(token).map_err(ApiError::Unauthorized)?;
        if t.role == Role::PlatformAdmin && t.tenant.as_str() != self.platform_tenant {
            return Err(ApiError::Unauthorized(format!(
                "token role platform_admin is only valid for the platform tenant {:?}",
                self.platform_tenant
            )));
        }
        match self.tenant_state(&t.tenant).await? {
            TenantState::Active => {}
            TenantState::Missing => {
                return Err(ApiError::Unauthorized(format!(
                    "token tenant {:?} does not exist",
                    t.tenant.as_str()
                )))
            }
            TenantState::Disabled => {
                return Err(ApiError::Forbidden(format!(
                    "tenant {:?} is disabled",
                    t.tenant.as_str()
                )))
            }
        }
        Ok(Principal {
            tenant: t.tenant,
            key: format!("{}#{}", t.subject, t.issuer),
            scopes: t.scopes,
            authority: t.authority,
            method: "jwt",
            role: t.role,
            agent: Some(t.agent),
            groups: t.groups,
        })
    }

    async fn tenant_state(&self, tenant: &TenantId) -> Result<TenantState, ApiError> {
        if let Some(s) = self.tenants.get(tenant.as_str()).await {
            return Ok(s);
        }
        let state = match self
            .store
            .tenants()
            .await?
            .into_iter()
            .find(|t| t.tenant == tenant.as_str())
        {
            None => TenantState::Missing,
            Some(t) if t.disabled => TenantState::Disabled,
            Some(_) => TenantState::Active,
        };
        self.tenants.insert(tenant.as_str().to_owned(), state).await;
        Ok(state)
    }
}

/// Authenticates, rate-limits and applies the role rules (`roles`) once per request,
/// then leaves the principal in the request for the `Principal` extractor. Mounted as
/// a route layer on the xAPI resources (not on About, which is open).
pub async fn require_principal(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match principal_of(&state, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (method, uri) = (req.method().clone(), req.uri().clone());
    if let Err(e) = crate::roles::guard(&state, &principal, &method, &uri).await {
        return e.into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Authenticates the request's `Authorization` header and charges its rate limit.
pub async fn principal_of(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let principal = state.auth.authenticate(value).await?;
    state.limiter.check(&principal)?;
    Ok(principal)
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
            role: Role::OrgAdmin,
            agent: None,
            groups: Vec::new(),
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
    fn admin_scope_needs_an_admin_role_and_manages_only_its_tenant() {
        let mut admin = principal(&["admin"]);
        let own = TenantId::parse("t").unwrap();
        let other = TenantId::parse("u").unwrap();
        assert!(admin.may_manage(&own) && !admin.may_manage(&other));
        admin.role = Role::PlatformAdmin;
        assert!(admin.may_manage(&other));
        admin.role = Role::Learner;
        assert!(!admin.may(Permission::Admin) && !admin.may_manage(&own));
    }

    #[test]
    fn learners_own_agent_is_their_key() {
        let mut p = principal(&["statements/read"]);
        p.agent = Some(serde_json::json!({"mbox": "mailto:a@example.com"}));
        assert_eq!(p.reach(), Reach::Tenant, "org admins are not limited");
        p.role = Role::Learner;
        assert_eq!(
            p.reach(),
            Reach::OwnAgent("mbox:mailto:a@example.com".into())
        );
        p.agent = None;
        assert_eq!(p.reach(), Reach::Nothing, "fails closed");
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
