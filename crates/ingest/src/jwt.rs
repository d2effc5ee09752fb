//! JWT bearer tokens (LMS single sign-on), verified with `jsonwebtoken` against the
//! issuers in the configuration (`[[jwt.issuers]]`).
//!
//! A token is accepted when its `iss` names a configured issuer, its header algorithm is
//! that issuer's, its signature verifies with the issuer's key (HS* shared secret, RS*/
//! PS*/ES* public key PEM file, or a JWKS file selected by `kid`), `exp` is in the future,
//! `nbf` (if any) is past, and `aud` contains the issuer's audience. Its claims then give
//! the principal: `sub` (the user), `tenant` (which the issuer must be allowed to sign
//! for), `role`, `scope` (space-separated string or array; unknown scopes are ignored, as
//! OAuth tokens often carry others) and optionally `agent` (the learner's xAPI Agent) and
//! `groups` (a trainer's assignments). Each failure has its own 401 reason.
//!
//! The statement `authority` of a token user is an account Agent derived from issuer and
//! subject (`homePage` = the issuer, or its `home_page`; `name` = `sub`), so it is the same
//! on every request and never chosen by the token. Without an `agent` claim, the user's
//! own agent is that same account Agent.

use crate::auth::{Role, KNOWN_SCOPES};
use jsonwebtoken::dangerous::insecure_decode_claims;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey};
use jsonwebtoken::{AlgorithmFamily, Validation};
use lrs_core::xapi::{is_valid_iri, validate_document_agent};
use lrs_core::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::str::FromStr;

/// One trusted token issuer, as configured. (`Debug` hides the secret.)
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` value its tokens carry.
    pub issuer: String,
    /// The `aud` value a token must contain to be meant for this LRS.
    pub audience: String,
    /// Signature algorithm: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384.
    pub algorithm: String,
    /// Shared secret (HS* only; at least 32 bytes).
    pub secret: Option<String>,
    /// Public key, PEM (RS*/PS*/ES*).
    pub public_key_file: Option<PathBuf>,
    /// Public keys as a JWKS document, chosen by the token's `kid` (RS*/PS*/ES*).
    pub jwks_file: Option<PathBuf>,
    /// Tenants this issuer may sign tokens for; `"*"` allows any. With exactly one
    /// tenant, tokens may leave out the `tenant` claim.
    pub tenants: Vec<String>,
    /// `account.homePage` of the agents derived from subjects; default: `issuer`.
    pub home_page: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            issuer: String::new(),
            audience: String::new(),
            algorithm: "RS256".into(),
            secret: None,
            public_key_file: None,
            jwks_file: None,
            tenants: Vec::new(),
            home_page: None,
            leeway_secs: 30,
        }
    }
}

impl std::fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("public_key_file", &self.public_key_file)
            .field("jwks_file", &self.jwks_file)
            .field("tenants", &self.tenants)
            .field("home_page", &self.home_page)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

impl IssuerConfig {
    /// The same configuration with the shared secret hidden (for `lrs config`).
    pub fn redacted(&self) -> IssuerConfig {
        IssuerConfig {
            secret: self.secret.as_ref().map(|_| "***".into()),
            ..self.clone()
        }
    }
}

/// What a verified token says about its holder.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    pub tenant: TenantId,
    pub role: Role,
    /// Known scopes only.
    pub scopes: Vec<String>,
    /// The holder's own xAPI Agent.
    pub agent: Value,
    /// Statement authority: the account Agent of issuer and subject.
    pub authority: Value,
    pub groups: Vec<String>,
}

struct Issuer {
    config: IssuerConfig,
    algorithm: Algorithm,
    /// (kid, key); a single PEM key or secret has no kid.
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
    home_page: String,
    /// None: any tenant.
    tenants: Option<Vec<TenantId>>,
}

/// The configured issuers, keys loaded. Empty: bearer tokens are refused.
#[derive(Default)]
pub struct JwtVerifier {
    issuers: Vec<Issuer>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and secrets stay out of debug output.
        f.debug_list()
            .entries(self.issuers.iter().map(|i| &i.config.issuer))
            .finish()
    }
}

/// Claims as they arrive; every field optional so that a missing one gets its own
/// reason instead of a generic parse error.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    tenant: Option<String>,
    role: Option<String>,
    scope: Option<ScopeClaim>,
    agent: Option<Value>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<Value>,
}

impl JwtVerifier {
    /// Loads the keys of every issuer. Errors name the issuer and what is wrong.
    pub fn new(configs: &[IssuerConfig]) -> Result<JwtVerifier, String> {
        let mut issuers: Vec<Issuer> = Vec::with_capacity(configs.len());
        for c in configs {
            let issuer = load_issuer(c).map_err(|e| format!("jwt issuer {:?}: {e}", c.issuer))?;
            if issuers.iter().any(|i| i.config.issuer == c.issuer) {
                return Err(format!("jwt issuer {:?} is configured twice", c.issuer));
            }
            issuers.push(issuer);
        }
        Ok(JwtVerifier { issuers })
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Verifies a compact JWS token. The error is the reason given to the client.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, String> {
        let header = decode_header(token)
            .map_err(|_| "malformed bearer token: not a signed JWT".to_owned())?;
        // Unverified, only to pick the issuer whose key then verifies everything.
        let peek: Peek = insecure_decode_claims(token)
            .map_err(|_| "malformed bearer token: its claims are not a JSON object".to_owned())?;
        let iss = peek
            .iss
            .as_ref()
            .and_then(Value::as_str)
            .ok_or("token lacks the required claim iss")?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.config.issuer == iss)
            .ok_or_else(|| format!("token issuer {iss:?} is not trusted by this LRS"))?;
        if header.alg != issuer.algorithm {
            return Err(format!(
                "token algorithm {:?} is not accepted from issuer {iss:?} (expected {:?})",
                header.alg, issuer.algorithm
            ));
        }
        let key = issuer.key_for(header.kid.as_deref())?;
        let claims = decode::<Claims>(token, key, &issuer.validation)
            .map_err(|e| reason(e.kind(), issuer))?
            .claims;
        issuer.principal(claims)
    }
}

fn load_issuer(c: &IssuerConfig) -> Result<Issuer, String> {
    if c.issuer.is_empty() {
        return Err("`issuer` is required".into());
    }
    if c.audience.is_empty() {
        return Err("`audience` is required (tokens must be meant for this LRS)".into());
    }
    let algorithm = Algorithm::from_str(&c.algorithm)
        .map_err(|_| format!("unknown algorithm {:?}", c.algorithm))?;
    let keys = match algorithm.family() {
        AlgorithmFamily::Hmac => {
            let secret = c.secret.as_deref().unwrap_or("");
            if secret.len() < 32 {
                return Err(format!(
                    "{} needs `secret` of at least 32 bytes",
                    c.algorithm
                ));
            }
            if c.public_key_file.is_some() || c.jwks_file.is_some() {
                return Err(format!("{} uses `secret`, not key files", c.algorithm));
            }
            vec![(None, DecodingKey::from_secret(secret.as_bytes()))]
        }
        AlgorithmFamily::Rsa | AlgorithmFamily::Ec => {
            if c.secret.is_some() {
                return Err(format!("{} uses a public key, not `secret`", c.algorithm));
            }
            match (&c.public_key_file, &c.jwks_file) {
                (Some(pem), None) => {
                    let bytes = std::fs::read(pem)
                        .map_err(|e| format!("reading {}: {e}", pem.display()))?;
                    let key = if algorithm.family() == AlgorithmFamily::Rsa {
                        DecodingKey::from_rsa_pem(&bytes)
                    } else {
                        DecodingKey::from_ec_pem(&bytes)
                    }
                    .map_err(|e| {
                        format!(
                            "{}: not a {} public key PEM: {e}",
                            pem.display(),
                            c.algorithm
                        )
                    })?;
                    vec![(None, key)]
                }
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("reading {}: {e}", path.display()))?;
                    let set: JwkSet = serde_json::from_str(&text)
                        .map_err(|e| format!("{}: not a JWKS document: {e}", path.display()))?;
                    let mut keys = Vec::with_capacity(set.keys.len());
                    for jwk in &set.keys {
                        let key = DecodingKey::from_jwk(jwk)
                            .map_err(|e| format!("{}: unusable key: {e}", path.display()))?;
                        keys.push((jwk.common.key_id.clone(), key));
                    }
                    if keys.is_empty() {
                        return Err(format!("{}: the JWKS has no keys", path.display()));
                    }
                    keys
                }
                _ => {
                    return Err(format!(
                        "{} needs exactly one of `public_key_file` and `jwks_file`",
                        c.algorithm
                    ))
                }
            }
        }
        AlgorithmFamily::Ed => return Err("EdDSA is not supported".into()),
    };
    let home_page = c.home_page.clone().unwrap_or_else(|| c.issuer.clone());
    if !is_valid_iri(&home_page) {
        return Err(format!(
            "{home_page:?} is not an absolute IRI; set `home_page` (used as the account homePage of token users)"
        ));
    }
    let tenants = if c.tenants.iter().any(|t| t == "*") {
        None
    } else if c.tenants.is_empty() {
        return Err("`tenants` is required: the tenants it may sign for, or [\"*\"]".into());
    } else {
        Some(
            c.tenants
                .iter()
                .map(|t| TenantId::parse(t))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&c.issuer]);
    validation.set_audience(&[&c.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = c.leeway_secs;
    Ok(Issuer {
        config: c.clone(),
        algorithm,
        keys,
        validation,
        home_page,
        tenants,
    })
}

/// The client-facing reason for a failed verification.
fn reason(kind: &ErrorKind, issuer: &Issuer) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".into(),
        ErrorKind::InvalidSignature => "token signature is invalid".into(),
        ErrorKind::InvalidAudience => format!(
            "token audience does not include {:?}",
            issuer.config.audience
        ),
        ErrorKind::InvalidIssuer => "token issuer does not match".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("token lacks the required claim {c}"),
        ErrorKind::InvalidClaimFormat(c) => format!("token claim {c} has the wrong type"),
        ErrorKind::InvalidAlgorithm => "token algorithm does not match the issuer's key".into(),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::Base64(_) => {
            "malformed bearer token: its claims are not valid".into()
        }
        _ => "token could not be verified".into(),
    }
}

impl Issuer {
    fn key_for(&self, kid: Option<&str>) -> Result<&DecodingKey, String> {
        match (kid, self.keys.as_slice()) {
            (_, [(None, key)]) => Ok(key),
            (Some(kid), keys) => keys
                .iter()
                .find(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, key)| key)
                .ok_or_else(|| format!("token key id {kid:?} is not in the issuer's key set")),
            (None, [(_, key)]) => Ok(key),
            (None, _) => Err("token has no key id (kid) and the issuer has several keys".into()),
        }
    }

    /// Turns verified claims into the token's principal data.
    fn principal(&self, claims: Claims) -> Result<VerifiedToken, String> {
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or("token claim sub is empty")?;
        let tenant = match (claims.tenant, &self.tenants) {
            (Some(t), allowed) => {
                let t = TenantId::parse(&t)
                    .map_err(|_| format!("token claim tenant {t:?} is not a tenant id"))?;
                if allowed.as_ref().is_some_and(|a| !a.contains(&t)) {
                    return Err(format!(
                        "issuer {:?} may not sign tokens for tenant {:?}",
                        self.config.issuer,
                        t.as_str()
                    ));
                }
                t
            }
            (None, Some(only)) if only.len() == 1 => only[0].clone(),
            (None, _) => return Err("token lacks the required claim tenant".into()),
        };
        let role = claims.role.ok_or("token lacks the required claim role")?;
        let role = Role::parse(&role).ok_or_else(|| {
            format!("token role {role:?} is not one of learner, trainer, org_admin, platform_admin")
        })?;
        let granted: Vec<String> =
            match claims.scope.ok_or("token lacks the required claim scope")? {
                ScopeClaim::Text(s) => s.split_whitespace().map(str::to_owned).collect(),
                ScopeClaim::List(l) => l,
            };
        let mut scopes: Vec<String> = Vec::new();
        for s in granted {
            if KNOWN_SCOPES.contains(&s.as_str()) && !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let authority = json!({
            "objectType": "Agent",
            "account": { "homePage": self.home_page, "name": subject },
        });
        let agent = match claims.agent {
            Some(a) => {
                validate_document_agent(&a, "agent")
                    .map_err(|e| format!("token claim agent is not an xAPI Agent: {e}"))?;
                a
            }
            None => authority.clone(),
        };
        Ok(VerifiedToken {
            issuer: self.config.issuer.clone(),
            subject,
            tenant,
            role,
            scopes,
            agent,
            authority,
            groups: claims.groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(&[IssuerConfig {
            issuer: "https://lms.example.com".into(),
            audience: "lrs".into(),
            algorithm: "HS256".into(),
            secret: Some(SECRET.into()),
            tenants: vec!["acme".into()],
            ..IssuerConfig::default()
        }])
        .unwrap()
    }

    fn token(claims: Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": "https://lms.example.com", "aud": "lrs", "sub": "u1",
            "exp": jsonwebtoken::get_current_timestamp() + 600,
            "role": "learner", "scope": "statements/read openid statements/write",
        })
    }

    #[test]
    fn accepts_a_valid_token_and_derives_the_agent() {
        let t = verifier().verify(&token(claims(), SECRET)).unwrap();
        assert_eq!(t.tenant.as_str(), "acme", "the issuer's only tenant");
        assert_eq!(t.role, Role::Learner);
        assert_eq!(t.scopes, ["statements/read", "statements/write"]);
        assert_eq!(
            t.authority["account"],
            json!({"homePage": "https://lms.example.com", "name": "u1"})
        );
        assert_eq!(t.agent, t.authority);
    }

    #[test]
    fn each_failure_has_its_reason() {
        let v = verifier();
        let check = |claims: Value, secret: &str, want: &str| {
            let err = v.verify(&token(claims, secret)).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        };
        let mut c = claims();
        c["exp"] = json!(jsonwebtoken::get_current_timestamp() - 3600);
        check(c, SECRET, "expired");
        check(claims(), "another-secret-another-secret-xx", "signature");
        let mut c = claims();
        c["aud"] = json!("someone-else");
        check(c, SECRET, "audience");
        let mut c = claims();
        c["iss"] = json!("https://evil.example.com");
        check(c, SECRET, "not trusted");
        for missing in ["sub", "exp", "role", "scope"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(missing);
            check(c, SECRET, &format!("claim {missing}"));
        }
        let mut c = claims();
        c["tenant"] = json!("other");
        check(c, SECRET, "may not sign tokens for tenant");
        let mut c = claims();
        c["agent"] = json!({"name": "no identifier"});
        check(c, SECRET, "agent");
        assert!(v.verify("not-a-token").unwrap_err().contains("malformed"));
    }

    #[test]
    fn configuration_errors_are_refused() {
        let base = IssuerConfig {
            issuer: "https://lms.example.com".into(),
            audience: "lrs".into(),
            algorithm: "HS256".into(),
            secret: Some(SECRET.into()),
            tenants: vec!["*".into()],
            ..IssuerConfig::default()
        };
        assert!(JwtVerifier::new(std::slice::from_ref(&base)).is_ok());
        let short = IssuerConfig {
            secret: Some("short".into()),
            ..base.clone()
        };
        assert!(JwtVerifier::new(&[short]).is_err());
        let no_tenants = IssuerConfig {
            tenants: vec![],
            ..base.clone()
        };
        assert!(JwtVerifier::new(&[no_tenants]).is_err());
        let no_key = IssuerConfig {
            algorithm: "RS256".into(),
            secret: None,
            ..base.clone()
        };
        assert!(JwtVerifier::new(&[no_key]).is_err());
        assert!(
            !format!("{base:?}").contains(SECRET),
            "Debug hides the secret"
        );
        assert!(
            JwtVerifier::new(&[base.clone(), base]).is_err(),
            "duplicate issuer"
        );
    }
}
