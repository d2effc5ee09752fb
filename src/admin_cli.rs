//! `lrs tenant …` and `lrs credential …`: a small client of a running LRS's admin API
//! (`/admin/…`, see `lrs_ingest::admin`). Going through the API rather than writing
//! events directly works the same for the embedded and the distributed deployment, and
//! keeps every change an authenticated, audited event.
//!
//! The admin credential comes from `--admin-key`/`--admin-secret` (or `LRS_ADMIN_KEY` /
//! `LRS_ADMIN_SECRET`, which keep the secret out of the process list), else from the
//! configured `bootstrap_credential`. Secrets returned by the server are printed once, to
//! stdout, and never logged.

use crate::config::Config;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

/// Where the LRS is and how to authenticate to its admin API.
#[derive(Args, Debug)]
pub struct Connection {
    /// Base URL of the LRS (not the xAPI path); default: http://<listen>.
    #[arg(long, env = "LRS_ADMIN_URL", global = true)]
    url: Option<String>,
    /// Key of a credential with the `admin` scope.
    #[arg(long, env = "LRS_ADMIN_KEY", global = true)]
    admin_key: Option<String>,
    /// Its secret (prefer the environment variable).
    #[arg(long, env = "LRS_ADMIN_SECRET", hide_env_values = true, global = true)]
    admin_secret: Option<String>,
    /// Print the server's JSON answer instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant (platform admin only).
    Create {
        /// Tenant id: 1-64 characters a-z, 0-9, '-', '_'.
        id: String,
        /// Display name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// List every tenant (platform admin only).
    List,
    /// Disable a tenant: its credentials and tokens stop working, its data stays.
    Disable { id: String },
}

#[derive(Subcommand, Debug)]
pub enum CredentialCommand {
    /// Create a credential; prints its key and secret (shown once).
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Scope to grant (repeat): statements/write, statements/read,
        /// statements/read/mine, state, define, profile, all/read, all, analytics/read, admin.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Label (also the authority's name).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List a tenant's credentials (never their secrets).
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Give a credential a new secret (printed once); the old one stops working.
    Rotate {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        key: String,
    },
    /// Revoke a credential for good.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        key: String,
    },
}

/// Ends the process after an admin command: a one-line error and exit code 1 on
/// failure (the server's message, no backtrace), 0 otherwise.
pub fn exit_on_error(result: anyhow::Result<()>) -> ! {
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1)
        }
    }
}

/// An admin API client with resolved URL and credential.
struct AdminClient {
    client: Client,
    base: String,
    key: String,
    secret: String,
    json: bool,
}

impl AdminClient {
    fn new(conn: Connection, config: &Config) -> anyhow::Result<AdminClient> {
        let base = match conn.url {
            Some(u) => u,
            None => format!("http://{}", config.listen.replace("0.0.0.0", "127.0.0.1")),
        };
        let (key, secret) = match (conn.admin_key, conn.admin_secret) {
            (Some(k), Some(s)) => (k, s),
            (None, None) => config
                .bootstrap_credential
                .as_deref()
                .and_then(|c| c.split_once(':'))
                .map(|(k, s)| (k.to_owned(), s.to_owned()))
                .context(
                    "no admin credential: give --admin-key and --admin-secret \
                     (or LRS_ADMIN_KEY / LRS_ADMIN_SECRET)",
                )?,
            _ => bail!("give both --admin-key and --admin-secret"),
        };
        Ok(AdminClient {
            client: Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            key,
            secret,
            json: conn.json,
        })
    }

    /// Sends a request; returns the status and the JSON body, or fails with the
    /// server's error message.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .basic_auth(&self.key, Some(&self.secret));
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or(text.as_str());
            bail!("{status}: {message}");
        }
        if status == StatusCode::ACCEPTED {
            eprintln!("note: recorded but not applied yet; check again shortly");
        }
        Ok((status, value))
    }

    /// Prints the raw answer when `--json` was given; true if it did.
    fn printed_json(&self, value: &Value) -> bool {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        }
        self.json
    }
}

fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn scopes_of(v: &Value) -> String {
    v.get("scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

pub async fn tenant(
    conn: Connection,
    config: &Config,
    command: TenantCommand,
) -> anyhow::Result<()> {
    let admin = AdminClient::new(conn, config)?;
    match command {
        TenantCommand::Create { id, name } => {
            let mut body = json!({ "id": id });
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            let (_, v) = admin
                .call(Method::POST, "/admin/tenants", Some(body))
                .await?;
            if !admin.printed_json(&v) {
                println!("created tenant {} ({})", text(&v, "id"), text(&v, "name"));
            }
        }
        TenantCommand::List => {
            let (_, v) = admin.call(Method::GET, "/admin/tenants", None).await?;
            if !admin.printed_json(&v) {
                println!("{:<24} {:<9} NAME", "ID", "STATUS");
                for t in v["tenants"].as_array().into_iter().flatten() {
                    let status = if t["disabled"].as_bool() == Some(true) {
                        "disabled"
                    } else {
                        "active"
                    };
                    println!("{:<24} {:<9} {}", text(t, "id"), status, text(t, "name"));
                }
            }
        }
        TenantCommand::Disable { id } => {
            let path = format!("/admin/tenants/{}/disable", segment(&id));
            let (_, v) = admin.call(Method::POST, &path, None).await?;
            if !admin.printed_json(&v) {
                println!("disabled tenant {id}");
            }
        }
    }
    Ok(())
}

pub async fn credential(
    conn: Connection,
    config: &Config,
    command: CredentialCommand,
) -> anyhow::Result<()> {
    let admin = AdminClient::new(conn, config)?;
    let base = |tenant: &str| format!("/admin/tenants/{}/credentials", segment(tenant));
    match command {
        CredentialCommand::Create {
            tenant,
            scopes,
            label,
        } => {
            let body = json!({ "scopes": scopes, "label": label });
            let (_, v) = admin.call(Method::POST, &base(&tenant), Some(body)).await?;
            if !admin.printed_json(&v) {
                println!(
                    "created a credential in tenant {tenant}\n  key:    {}\n  secret: {}\n  scopes: {}\n\
                     The secret is shown only once: store it now.",
                    text(&v, "key"),
                    text(&v, "secret"),
                    scopes_of(&v)
                );
            }
        }
        CredentialCommand::List { tenant } => {
            let (_, v) = admin.call(Method::GET, &base(&tenant), None).await?;
            if !admin.printed_json(&v) {
                println!("{:<26} {:<8} {:<40} LABEL", "KEY", "STATUS", "SCOPES");
                for c in v["credentials"].as_array().into_iter().flatten() {
                    let status = if c["revoked"].as_bool() == Some(true) {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<26} {:<8} {:<40} {}",
                        text(c, "key"),
                        status,
                        scopes_of(c),
                        text(c, "label")
                    );
                }
            }
        }
        CredentialCommand::Rotate { tenant, key } => {
            let path = format!("{}/{}/rotate", base(&tenant), segment(&key));
            let (_, v) = admin.call(Method::POST, &path, None).await?;
            if !admin.printed_json(&v) {
                println!(
                    "rotated credential {key} of tenant {tenant}\n  secret: {}\n\
                     The secret is shown only once; the previous one no longer works.",
                    text(&v, "secret")
                );
            }
        }
        CredentialCommand::Revoke { tenant, key } => {
            let path = format!("{}/{}/revoke", base(&tenant), segment(&key));
            let (_, v) = admin.call(Method::POST, &path, None).await?;
            if !admin.printed_json(&v) {
                println!("revoked credential {key} of tenant {tenant}");
            }
        }
    }
    Ok(())
}
