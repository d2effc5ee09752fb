//! The read store: statements, documents and read models, in SQLite (embedded default)
//! or PostgreSQL (distributed), through one SQL implementation on sqlx's `Any` driver.
//!
//! Only the projector writes (`apply`, in `apply.rs`); the HTTP API reads
//! (`statements.rs`, `auth.rs`). Dialect differences are confined to `Dialect`.

mod analytics;
mod apply;
mod attachments;
mod audit;
mod definitions;
mod documents;
mod index;
mod projections;
mod reads;
mod sql;
mod trainers;

use async_trait::async_trait;
use lrs_core::event::DocumentKey;
use lrs_core::log::LogRecord;
use lrs_core::store::{
    AgentAudit, AttachmentBody, AuditEvent, CredentialInfo, CredentialRecord, DocumentFilter,
    DocumentIds, EventOutcome, ReadStore, StatementAudit, StatementPage, StatementQuery,
    StoreError, StoredDocument, StoredStatement, TenantRecord,
};
use lrs_core::TenantId;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub use index::{authority_key, statement_index_keys, IndexKind};
pub use projections::{CopyOutcome, Projection};

/// The SQL flavour behind a store URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Result<Dialect, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::Database(format!(
                "unsupported store URL (expected sqlite:// or postgres://): {}",
                redact_url(url)
            )))
        }
    }
}

/// Removes a password from a database URL before it is logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Pool sizes and timeouts.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_read_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_read_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535.
pub(crate) const MAX_PARAMS: usize = 30_000;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// SQLite or PostgreSQL read store.
#[derive(Clone)]
pub struct SqlStore {
    /// The projector's connection(s). One for SQLite, which has a single writer anyway.
    writer: AnyPool,
    reader: AnyPool,
    dialect: Dialect,
    analytics: analytics::AnalyticsReads,
}

static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static MIGRATOR_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl SqlStore {
    /// Connects (creating an SQLite file if needed) without migrating.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        let connect_options =
            AnyConnectOptions::from_str(&sqlite_create_url(url, dialect)).map_err(db_err)?;
        // SQLite page cache per connection, in KiB: the single writer gets a large one
        // (it touches every index), readers a small one each, so memory stays bounded
        // (issue 8: ≤ 300 MB RSS). No mmap: mapped pages would count once per connection.
        let pool = |max: u32, cache_kib: u32| {
            let pragmas = format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; \
                 PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{cache_kib}; PRAGMA mmap_size=0;"
            );
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                .after_connect(move |conn, _| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        if dialect == Dialect::Sqlite {
                            // WAL: readers never block the writer. synchronous=NORMAL is
                            // safe here because the event log, not this file, is what makes
                            // acknowledged data durable; a lost tail is re-applied on start.
                            conn.execute(pragmas.as_str()).await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(connect_options.clone())
        };
        let writer_connections = match dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => 2,
        };
        let writer = pool(writer_connections, 65_536).await.map_err(db_err)?;
        let reader = pool(options.max_read_connections.max(1), 8_192)
            .await
            .map_err(db_err)?;
        Ok(SqlStore {
            analytics: analytics::AnalyticsReads {
                pool: reader.clone(),
            },
            writer,
            reader,
            dialect,
        })
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<SqlStore, StoreError> {
        let store = SqlStore::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations under `migrations/<dialect>/`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &MIGRATOR_SQLITE,
            Dialect::Postgres => &MIGRATOR_POSTGRES,
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// SQLite files are created on first start (`mode=rwc`) unless the URL says otherwise.
fn sqlite_create_url(url: &str, dialect: Dialect) -> String {
    if dialect == Dialect::Sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

#[async_trait]
impl ReadStore for SqlStore {
    fn kind(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn check(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn positions(&self, consumer: &str) -> Result<Vec<(i32, i64)>, StoreError> {
        reads::positions(&self.reader, consumer).await
    }

    async fn apply(
        &self,
        consumer: &str,
        records: &[LogRecord],
    ) -> Result<Vec<EventOutcome>, StoreError> {
        apply::apply(&self.writer, self.dialect, consumer, records).await
    }

    async fn event_outcomes(&self, event_ids: &[Uuid]) -> Result<Vec<EventOutcome>, StoreError> {
        reads::event_outcomes(&self.reader, event_ids).await
    }

    async fn statement(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<StoredStatement>, StoreError> {
        reads::statement(&self.reader, tenant, id).await
    }

    async fn query_statements(
        &self,
        tenant: &TenantId,
        query: &StatementQuery,
    ) -> Result<StatementPage, StoreError> {
        reads::query_statements(&self.reader, tenant, query).await
    }

    async fn credential(&self, key: &str) -> Result<Option<CredentialRecord>, StoreError> {
        reads::credential(&self.reader, key).await
    }

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        reads::tenants(&self.reader).await
    }

    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<CredentialInfo>, StoreError> {
        reads::credentials(&self.reader, tenant).await
    }

    async fn attachments(
        &self,
        tenant: &TenantId,
        sha2: &[String],
    ) -> Result<Vec<AttachmentBody>, StoreError> {
        attachments::fetch(&self.reader, tenant, sha2).await
    }

    async fn document(
        &self,
        tenant: &TenantId,
        key: &DocumentKey,
    ) -> Result<Option<StoredDocument>, StoreError> {
        documents::document(&self.reader, tenant, key).await
    }

    async fn document_ids(
        &self,
        tenant: &TenantId,
        filter: &DocumentFilter,
    ) -> Result<DocumentIds, StoreError> {
        documents::document_ids(&self.reader, tenant, filter).await
    }

    async fn activity_definition(
        &self,
        tenant: &TenantId,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        definitions::activity_definition(&self.reader, tenant, activity_id).await
    }

    async fn agent_names(&self, tenant: &TenantId, agent: &str) -> Result<Vec<String>, StoreError> {
        definitions::agent_names(&self.reader, tenant, agent).await
    }

    async fn audit_statement(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<StatementAudit, StoreError> {
        audit::statement(&self.reader, tenant, id).await
    }

    async fn audit_agent(
        &self,
        tenant: &TenantId,
        agent: &str,
        limit: u32,
    ) -> Result<AgentAudit, StoreError> {
        audit::agent(&self.reader, tenant, agent, limit).await
    }

    async fn audit_events(
        &self,
        tenant: &TenantId,
        event_type: Option<&str>,
        since: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        audit::events(&self.reader, tenant, event_type, since, limit).await
    }

    fn analytics(&self) -> &dyn lrs_core::analytics::AnalyticsStore {
        &self.analytics
    }

    async fn trainer_assignments(
        &self,
        tenant: &TenantId,
        trainer: &str,
    ) -> Result<lrs_core::store::TrainerAssignments, StoreError> {
        trainers::assignments(&self.reader, tenant, trainer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
