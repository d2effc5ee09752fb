//! Requests with explicit credentials, outside or inside the xAPI base path, and the
//! admin calls tests use to set up tenants and credentials.

use super::{TestLrs, KEY, SECRET};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// A Basic credential: (key, secret).
pub type Cred = (String, String);

/// The bootstrap credential (all scopes, platform admin).
pub fn bootstrap() -> Cred {
    (KEY.to_owned(), SECRET.to_owned())
}

/// The server root (without the xAPI base path).
pub fn root(lrs: &TestLrs) -> String {
    lrs.base.trim_end_matches("/xapi").to_owned()
}

/// A request to a route outside the xAPI base path (`/admin`, `/audit`, `/analytics`).
pub fn at_root(lrs: &TestLrs, cred: &Cred, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", root(lrs)))
        .basic_auth(&cred.0, Some(&cred.1))
}

/// An xAPI request with the given credential.
pub fn xapi_as(lrs: &TestLrs, cred: &Cred, method: Method, path: &str) -> RequestBuilder {
    lrs.client
        .request(method, format!("{}{path}", lrs.base))
        .basic_auth(&cred.0, Some(&cred.1))
        .header("X-Experience-API-Version", lrs.version)
}

/// Sends and returns (status, JSON body or Null).
pub async fn send(rb: RequestBuilder) -> (u16, Value) {
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a tenant as the platform admin.
pub async fn create_tenant(lrs: &TestLrs, id: &str) {
    let rb = at_root(lrs, &bootstrap(), Method::POST, "/admin/tenants").json(&json!({"id": id}));
    let (status, body) = send(rb).await;
    assert_eq!(status, 201, "create tenant {id}: {body}");
}

/// Creates a credential in `tenant` with `scopes`, as the platform admin.
pub async fn create_credential(lrs: &TestLrs, tenant: &str, scopes: &[&str]) -> Cred {
    let path = format!("/admin/tenants/{tenant}/credentials");
    let rb = at_root(lrs, &bootstrap(), Method::POST, &path)
        .json(&json!({"scopes": scopes, "label": scopes.join(" ")}));
    let (status, body) = send(rb).await;
    assert_eq!(status, 201, "create credential: {body}");
    let key = body["key"].as_str().expect("key").to_owned();
    let secret = body["secret"].as_str().expect("secret").to_owned();
    (key, secret)
}
