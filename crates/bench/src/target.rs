//! The LRS under test: where it is, how to authenticate, and the HTTP client that talks
//! to it. Also the URL rules: statement resources hang off the base xAPI URL, and `more`
//! links are followed only when they stay on the same origin, so a benchmark never sends
//! load anywhere but the URL it was given.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Client, Url};
use std::time::Duration;

/// Default base xAPI URL: the LRS on loopback.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080/xapi";

/// Connection and authentication settings shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base xAPI URL; resources are `<url>/statements` and so on.
    pub url: String,
    /// Basic-auth credentials; none sends no `Authorization` header.
    pub user: Option<String>,
    pub password: Option<String>,
    /// Value of `X-Experience-API-Version`.
    pub xapi_version: String,
    /// Per-request timeout, so a stalled server cannot stretch a timed run forever.
    pub timeout: Duration,
    /// Server process whose memory to report (Linux `/proc`), if any.
    pub server_pid: Option<u32>,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            url: DEFAULT_URL.to_string(),
            user: None,
            password: None,
            xapi_version: "1.0.3".to_string(),
            timeout: Duration::from_secs(30),
            server_pid: None,
        }
    }
}

impl Target {
    /// A target at `url` with the other settings defaulted.
    pub fn new(url: impl Into<String>) -> Self {
        Target {
            url: url.into(),
            ..Target::default()
        }
    }

    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// The base URL, checked to be plain HTTP(S) and normalised to end with `/` so that
    /// joining `statements` appends rather than replaces the last segment.
    pub fn base_url(&self) -> anyhow::Result<Url> {
        let mut url =
            Url::parse(&self.url).with_context(|| format!("invalid --url {:?}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            bail!(
                "--url must be an http(s) URL with a host, got {:?}",
                self.url
            );
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }

    /// `<base>/statements`.
    pub fn statements_url(&self) -> anyhow::Result<Url> {
        Ok(self.base_url()?.join("statements")?)
    }

    /// A keep-alive client with room for `connections` pooled connections, sending the
    /// version and auth headers on every request.
    pub fn client(&self, connections: usize) -> anyhow::Result<Client> {
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-Experience-API-Version",
            HeaderValue::from_str(&self.xapi_version).context("invalid --xapi-version")?,
        );
        if let Some(value) = self.authorization() {
            let mut value =
                HeaderValue::from_str(&value).context("credentials are not valid header text")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(connections.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .build()
            .context("building the HTTP client")
    }

    /// Settings worth reporting (never the password).
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("url".to_string(), self.url.clone()),
            ("xapi_version".to_string(), self.xapi_version.clone()),
            (
                "user".to_string(),
                self.user.clone().unwrap_or_else(|| "(none)".into()),
            ),
            (
                "timeout".to_string(),
                crate::duration::format_duration(self.timeout),
            ),
        ];
        if let Some(pid) = self.server_pid {
            p.push(("server_pid".to_string(), pid.to_string()));
        }
        p
    }

    /// `Basic base64(user:password)`, when a user is set.
    fn authorization(&self) -> Option<String> {
        let user = self.user.as_deref()?;
        let password = self.password.as_deref().unwrap_or("");
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {token}"))
    }
}

/// Resolves a StatementResult `more` value against the base URL. xAPI makes `more` a path
/// relative to the server root (`/xapi/statements?...`); absolute URLs are accepted too.
/// Empty means no more pages (`None`); a link to another origin is an error.
pub fn resolve_more(base: &Url, more: &str) -> anyhow::Result<Option<Url>> {
    let more = more.trim();
    if more.is_empty() {
        return Ok(None);
    }
    let url = base
        .join(more)
        .with_context(|| format!("invalid more link {more:?}"))?;
    if url.origin() != base.origin() {
        bail!("refusing to follow more link {more:?} to another origin than {base}");
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_url_appends_to_the_base_path() {
        for base in ["http://127.0.0.1:8080/xapi", "http://127.0.0.1:8080/xapi/"] {
            let url = Target::new(base).statements_url().unwrap();
            assert_eq!(url.as_str(), "http://127.0.0.1:8080/xapi/statements");
        }
        let root = Target::new("http://lrs.local").statements_url().unwrap();
        assert_eq!(root.as_str(), "http://lrs.local/statements");
        assert!(Target::new("ftp://lrs.local/xapi").base_url().is_err());
        assert!(Target::new("not a url").base_url().is_err());
    }

    #[test]
    fn more_links_resolve_against_the_server_root() {
        let base = Target::new("http://127.0.0.1:8080/xapi")
            .base_url()
            .unwrap();
        let next = resolve_more(&base, "/xapi/statements?more=abc%3D&limit=10")
            .unwrap()
            .unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:8080/xapi/statements?more=abc%3D&limit=10"
        );
        // Servers mounted elsewhere return their own path; it is taken as is.
        let other = resolve_more(&base, "/lrs/more/123").unwrap().unwrap();
        assert_eq!(other.as_str(), "http://127.0.0.1:8080/lrs/more/123");
        // Some servers send absolute URLs.
        let absolute = resolve_more(&base, "http://127.0.0.1:8080/xapi/statements?p=2")
            .unwrap()
            .unwrap();
        assert_eq!(absolute.query(), Some("p=2"));
        assert_eq!(resolve_more(&base, "").unwrap(), None);
        assert_eq!(resolve_more(&base, "  ").unwrap(), None);
    }

    #[test]
    fn more_links_never_leave_the_target() {
        let base = Target::new("http://127.0.0.1:8080/xapi")
            .base_url()
            .unwrap();
        assert!(resolve_more(&base, "http://example.com/xapi/statements?more=1").is_err());
        assert!(resolve_more(&base, "//example.com/xapi/statements").is_err());
        assert!(resolve_more(&base, "http://127.0.0.1:9090/xapi/statements").is_err());
        assert!(resolve_more(&base, "https://127.0.0.1:8080/xapi/statements").is_err());
    }

    #[test]
    fn basic_auth_header() {
        let target = Target::new(DEFAULT_URL).with_basic_auth("key", "secret");
        assert_eq!(
            target.authorization().as_deref(),
            Some("Basic a2V5OnNlY3JldA==")
        );
        assert_eq!(Target::default().authorization(), None);
        assert!(target.client(4).is_ok());
    }
}
