//! The read store abstraction: what the projector writes and the HTTP API reads.
//!
//! The projector is the single writer (`apply`); everything else is a read. The SQL
//! implementation (crate `lrs-store`) serves both SQLite and PostgreSQL.

use crate::event::{DocumentKey, DocumentKind};
use crate::log::LogRecord;
use crate::TenantId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// The projector's verdict on one event, kept in the read store so that the ingest
/// process that appended the event (possibly another machine) can answer its client,
/// and so that auditors can see why an event was accepted or rejected.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventOutcome {
    pub event_id: Uuid,
    pub tenant: String,
    pub event_type: String,
    pub partition: i32,
    pub offset: i64,
    /// HTTP status the request should get: 200/204 accepted, 409/412/400 rejected.
    pub status: u16,
    /// Human-readable reason for a rejection (or a note for an accepted no-op).
    pub detail: Option<String>,
}

impl EventOutcome {
    pub fn accepted(&self) -> bool {
        self.status < 300
    }
}

/// A statement as stored: the JSON body (with `stored` and `timestamp` filled in) plus
/// the fields the API needs without parsing it.
#[derive(Clone, Debug)]
pub struct StoredStatement {
    pub id: String,
    /// Per-tenant log order (what `StatementQuery::after_seq` continues after).
    pub seq: i64,
    pub stored_ms: i64,
    pub voided: bool,
    pub body: String,
}

/// A statement query, already validated. `cursor` continues a previous page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatementQuery {
    pub agent: Option<String>,
    pub related_agents: bool,
    pub verb: Option<String>,
    pub activity: Option<String>,
    pub related_activities: bool,
    pub registration: Option<String>,
    /// `stored` strictly after (ms since epoch).
    pub since_ms: Option<i64>,
    /// `stored` at or before (ms since epoch).
    pub until_ms: Option<i64>,
    pub ascending: bool,
    pub limit: u32,
    /// Continue after this sequence number (exclusive), in the query's direction.
    pub after_seq: Option<i64>,
    /// Upper bound on sequence numbers considered, fixed by the first page so that
    /// paging never shows statements that arrived after the query started in the middle
    /// of a descending walk.
    pub max_seq: Option<i64>,
    /// Only statements whose own `authority` has this key (see
    /// `lrs_store::authority_key`): the `statements/read/mine` scope. Not a query
    /// filter, so StatementRef targets never make a statement match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

#[derive(Clone, Debug)]
pub struct StatementPage {
    pub statements: Vec<StoredStatement>,
    /// Set when more results may follow: the sequence number to continue after.
    pub next_after_seq: Option<i64>,
    /// Highest sequence number in the tenant when the first page ran.
    pub max_seq: i64,
}

/// A credential as the API needs it for authentication and authorisation.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialRecord {
    pub key: String,
    pub tenant: TenantId,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub authority: serde_json::Value,
    pub revoked: bool,
    pub tenant_disabled: bool,
}

/// A credential as the admin API lists it: everything but the secret hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CredentialInfo {
    pub key: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub authority: serde_json::Value,
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TenantRecord {
    pub tenant: String,
    pub name: String,
    pub disabled: bool,
}

/// What an org admin assigned to a trainer (`trainer.assigned`): the reach of the
/// `trainer` role, read on every trainer request so an unassignment applies at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrainerAssignments {
    /// Assigned learners: canonical agent key (`xapi::agent_key`) and the Agent as sent.
    pub learners: Vec<(String, serde_json::Value)>,
    /// Assigned course activity ids.
    pub courses: Vec<String>,
}

/// A stored document (State, Activity Profile or Agent Profile) as the API serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDocument {
    /// The Content-Type it was written with, returned unchanged.
    pub content_type: String,
    /// The bytes exactly as written (or as merged by a JSON POST).
    pub body: Vec<u8>,
    /// Lowercase hex SHA-1 of `body` (see [`document_etag`]), without quotes.
    pub etag: String,
    /// When it was last written: the log's received-at time of that event (ms).
    pub updated_ms: i64,
}

/// Which documents an id-list GET covers. Unused fields of a kind are "" as in
/// [`DocumentKey`].
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentFilter {
    pub kind: DocumentKind,
    pub activity_id: String,
    pub agent: String,
    /// State only: `None` covers every registration (and none), `Some` exactly one.
    pub registration: Option<String>,
    /// Only documents updated strictly after this time (ms).
    pub since_ms: Option<i64>,
}

/// The answer to an id-list GET.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DocumentIds {
    /// Distinct document ids, sorted by code point.
    pub ids: Vec<String>,
    /// Newest `updated_ms` among the listed documents.
    pub last_modified_ms: Option<i64>,
}

impl DocumentIds {
    /// The JSON array served for the list; its [`document_etag`] is the list's ETag,
    /// which a DELETE of all State documents may name in `If-Match`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.ids).unwrap_or_else(|_| "[]".into())
    }
}

/// Entity tag of a document body: lowercase hex SHA-1, as xAPI 1.0.3 requires (§3.5).
pub fn document_etag(body: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(body))
}

/// An attachment body as stored (content-addressed per tenant, §2.12).
#[derive(Clone, Debug, PartialEq)]
pub struct AttachmentBody {
    /// Lowercase hex SHA-2.
    pub sha2: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// One event as the audit trail shows it: its log position, envelope facts and the
/// projector's verdict. `principal` is `method:id` (never a secret).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEvent {
    pub event_id: String,
    pub event_type: String,
    pub partition: i32,
    pub offset: i64,
    pub received_at: String,
    pub principal: String,
    pub correlation_id: String,
    pub status: u16,
    pub detail: Option<String>,
}

/// Everything recorded about one statement id in a tenant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatementAudit {
    /// Events that carried the id (or voided it), in log order.
    pub events: Vec<AuditEvent>,
    /// The event whose copy of the statement was stored, if any.
    pub accepted_event_id: Option<String>,
    pub voided: bool,
    /// Ids of the statements that void this one.
    pub voided_by: Vec<String>,
    /// The id this statement voids, if it is a voiding statement.
    pub voids: Option<String>,
}

/// A stored statement in which an agent is actor or object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentStatement {
    pub id: String,
    pub stored_ms: i64,
    pub voided: bool,
    pub event_id: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
}

/// A State or Agent Profile document keyed by an agent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentDocument {
    /// "state" or "agent_profile".
    pub kind: String,
    pub activity_id: String,
    pub registration: String,
    pub document_id: String,
    pub content_type: String,
    pub etag: String,
    pub updated_ms: i64,
    /// The event that last wrote it, and its log position (empty / None for documents
    /// written before event ids were kept).
    pub event_id: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
}

/// Everything recorded for an agent, capped at a limit per list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentAudit {
    pub statements: Vec<AgentStatement>,
    pub documents: Vec<AgentDocument>,
    /// True when a list was cut at the limit.
    pub truncated: bool,
}

/// Read-side and write-side operations of a read store.
#[async_trait]
pub trait ReadStore: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn kind(&self) -> &'static str;

    /// Readiness probe.
    async fn check(&self) -> Result<(), StoreError>;

    // --- Projector side: the single writer ---------------------------------------------

    /// Last applied offset per partition for a consumer (a projector group, or a replay).
    async fn positions(&self, consumer: &str) -> Result<Vec<(i32, i64)>, StoreError>;

    /// Applies log records in one transaction together with the consumer's new
    /// positions. Records at or below the stored position of their partition are
    /// skipped (exactly-once effects). Returns the outcome of every applied event.
    async fn apply(
        &self,
        consumer: &str,
        records: &[LogRecord],
    ) -> Result<Vec<EventOutcome>, StoreError>;

    // --- Read side -----------------------------------------------------------------------

    async fn event_outcomes(&self, event_ids: &[Uuid]) -> Result<Vec<EventOutcome>, StoreError>;

    /// One statement by id; `voided` selects between the statementId and the
    /// voidedStatementId lookups.
    async fn statement(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<StoredStatement>, StoreError>;

    async fn query_statements(
        &self,
        tenant: &TenantId,
        query: &StatementQuery,
    ) -> Result<StatementPage, StoreError>;

    async fn credential(&self, key: &str) -> Result<Option<CredentialRecord>, StoreError>;

    /// Attachment bodies of `tenant` by lowercase hex SHA-2 (for `attachments=true`
    /// responses). Hashes with no stored body (e.g. `fileUrl`-only attachments) are
    /// left out.
    async fn attachments(
        &self,
        tenant: &TenantId,
        sha2: &[String],
    ) -> Result<Vec<AttachmentBody>, StoreError>;

    /// One document by its full key, within `tenant`.
    async fn document(
        &self,
        tenant: &TenantId,
        key: &DocumentKey,
    ) -> Result<Option<StoredDocument>, StoreError>;

    /// The ids of the documents a filter covers, within `tenant`.
    async fn document_ids(
        &self,
        tenant: &TenantId,
        filter: &DocumentFilter,
    ) -> Result<DocumentIds, StoreError>;

    /// The canonical definition of an activity (a JSON object), if any statement
    /// accepted in `tenant` defined it.
    async fn activity_definition(
        &self,
        tenant: &TenantId,
        activity_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError>;

    /// Every name seen with an agent identifier (canonical key, see `xapi::agent_key`)
    /// in accepted statements of `tenant`, in order of first appearance.
    async fn agent_names(&self, tenant: &TenantId, agent: &str) -> Result<Vec<String>, StoreError>;

    async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;

    /// The credentials of `tenant`, by key (revoked ones included, flagged).
    async fn credentials(&self, tenant: &TenantId) -> Result<Vec<CredentialInfo>, StoreError>;

    /// What is assigned to `trainer` (principal id `<sub>#<iss>`) in `tenant`; empty
    /// when nothing is.
    async fn trainer_assignments(
        &self,
        tenant: &TenantId,
        trainer: &str,
    ) -> Result<TrainerAssignments, StoreError>;

    /// The analytics read models (issue 6).
    fn analytics(&self) -> &dyn crate::analytics::AnalyticsStore;

    // --- Audit ---------------------------------------------------------------------------

    /// Every event of `tenant` that touched statement `id` (lowercase), with its verdict.
    async fn audit_statement(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<StatementAudit, StoreError>;

    /// Statements where agent `agent` (canonical key) is actor or object, and its State
    /// and Agent Profile documents, at most `limit` of each.
    async fn audit_agent(
        &self,
        tenant: &TenantId,
        agent: &str,
        limit: u32,
    ) -> Result<AgentAudit, StoreError>;

    /// Events of `tenant` in log order, optionally of one type and received at or after
    /// `since` (RFC 3339 text as stored), at most `limit`.
    async fn audit_events(
        &self,
        tenant: &TenantId,
        event_type: Option<&str>,
        since: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}
