//! Applying log records to the read store: the projection.
//!
//! One call applies a batch of records in one transaction, together with the consumer's
//! new positions, so a crash anywhere neither loses nor doubles an effect. Records at or
//! below the stored position of their partition are skipped.
//!
//! Statements are applied batch-wise: everything the decisions need (existing rows with
//! the same ids, pending voids, tenant heads) is fetched up front with a few `IN (…)`
//! queries, decisions are made in memory in log order, and the writes go out as
//! multi-row inserts. Every decision depends only on the events and the store, never on
//! the clock, so a replay rebuilds the same rows.

use crate::analytics::{NewFact, VoidedFact};
use crate::index::{statement_index_keys, IndexKind};
use crate::sql::{execute, fetch_all, Sql};
use crate::{db_err, Dialect};
use lrs_core::analytics::Fact;
use lrs_core::event::{
    CredentialCreated, CredentialRevoked, CredentialRotated, DecodeError, EventEnvelope,
    EventPayload, StatementsSubmitted, TenantCreated,
};
use lrs_core::log::LogRecord;
use lrs_core::store::{EventOutcome, StoreError};
use lrs_core::xapi::{agent_key, format_timestamp, statements_equivalent, VOIDED_VERB};
use serde_json::Value;
use sqlx::any::Any;
use sqlx::{AnyPool, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tracing::warn;

type Tx = Transaction<'static, Any>;

use crate::MAX_PARAMS;

pub(crate) async fn apply(
    pool: &AnyPool,
    dialect: Dialect,
    consumer: &str,
    records: &[LogRecord],
) -> Result<Vec<EventOutcome>, StoreError> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx: Tx = pool.begin().await.map_err(db_err)?;
    let last = lock_positions(&mut tx, dialect, consumer, records).await?;
    let fresh: Vec<&LogRecord> = records
        .iter()
        .filter(|r| r.offset > last.get(&r.partition).copied().unwrap_or(-1))
        .collect();
    if fresh.is_empty() {
        tx.rollback().await.map_err(db_err)?;
        return Ok(Vec::new());
    }

    let mut events = Vec::with_capacity(fresh.len());
    for record in &fresh {
        match decode(record) {
            Ok(event) => events.push(event),
            // An undecodable record can never become decodable: skip it (its position
            // still advances) rather than wedge the projector.
            Err(e) => {
                warn!(partition = record.partition, offset = record.offset, error = %e, "skipping undecodable log record")
            }
        }
    }

    let mut batch = Batch::prefetch(&mut tx, &events).await?;
    let mut outcomes = Vec::with_capacity(events.len());
    for event in &mut events {
        let (status, detail) = batch.apply_event(&mut tx, event).await?;
        outcomes.push(EventOutcome {
            event_id: event.envelope.event_id,
            tenant: event.envelope.tenant.as_str().to_owned(),
            event_type: event.envelope.event_type.clone(),
            partition: event.partition,
            offset: event.offset,
            status,
            detail,
        });
    }
    batch.flush(&mut tx).await?;
    insert_outcomes(&mut tx, &events, &outcomes).await?;
    insert_event_statements(&mut tx, &events).await?;
    save_applied_positions(&mut tx, &events).await?;
    save_positions(&mut tx, consumer, &fresh).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(outcomes)
}

/// A decoded record. Statement bodies are parsed once here and reused.
struct Event {
    partition: i32,
    offset: i64,
    envelope: EventEnvelope,
    payload: EventPayload,
    statements: Vec<Value>,
}

fn decode(record: &LogRecord) -> Result<Event, DecodeError> {
    let envelope = EventEnvelope::from_bytes(&record.payload)?;
    let payload = envelope.decode_payload()?;
    let statements = match &payload {
        EventPayload::StatementsSubmitted(StatementsSubmitted { statements, .. }) => statements
            .iter()
            .map(|raw| serde_json::from_str(raw.get()))
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|source| DecodeError::Payload {
                event_type: envelope.event_type.clone(),
                source,
            })?,
        _ => Vec::new(),
    };
    Ok(Event {
        partition: record.partition,
        offset: record.offset,
        envelope,
        payload,
        statements,
    })
}

/// Ensures a position row per partition exists, then reads (and on PostgreSQL locks)
/// them: two projectors handing a partition over serialise here.
async fn lock_positions(
    tx: &mut Tx,
    dialect: Dialect,
    consumer: &str,
    records: &[LogRecord],
) -> Result<HashMap<i32, i64>, StoreError> {
    let partitions: BTreeSet<i32> = records.iter().map(|r| r.partition).collect();
    let mut insert =
        Sql::new("INSERT INTO lrs_positions (consumer, partition, last_offset) VALUES ");
    for (i, p) in partitions.iter().enumerate() {
        insert.push(if i == 0 { "(" } else { ", (" });
        insert
            .bind(consumer.to_owned())
            .push(", ")
            .bind(*p as i64)
            .push(", -1)");
    }
    insert.push(" ON CONFLICT (consumer, partition) DO NOTHING");
    execute!(insert, &mut **tx).map_err(db_err)?;

    let mut select = Sql::new("SELECT partition, last_offset FROM lrs_positions WHERE consumer = ");
    select
        .bind(consumer.to_owned())
        .push(" AND partition IN ")
        .bind_list(partitions.iter().map(|p| *p as i64));
    if dialect == Dialect::Postgres {
        select.push(" FOR UPDATE");
    }
    let rows = fetch_all!(select, &mut **tx).map_err(db_err)?;
    let mut out = HashMap::new();
    for row in rows {
        let p: i64 = row.try_get(0).map_err(db_err)?;
        let o: i64 = row.try_get(1).map_err(db_err)?;
        out.insert(p as i32, o);
    }
    Ok(out)
}

async fn save_positions(
    tx: &mut Tx,
    consumer: &str,
    fresh: &[&LogRecord],
) -> Result<(), StoreError> {
    let mut max: BTreeMap<i32, i64> = BTreeMap::new();
    for r in fresh {
        let e = max.entry(r.partition).or_insert(r.offset);
        *e = (*e).max(r.offset);
    }
    for (p, o) in max {
        let mut sql = Sql::new("UPDATE lrs_positions SET last_offset = ");
        sql.bind(o)
            .push(" WHERE consumer = ")
            .bind(consumer.to_owned())
            .push(" AND partition = ")
            .bind(p as i64);
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// Freshness per tenant (`lrs_tenants.applied_*`): the last event of the batch for it.
async fn save_applied_positions(tx: &mut Tx, events: &[Event]) -> Result<(), StoreError> {
    let mut last: BTreeMap<&str, &Event> = BTreeMap::new();
    for e in events {
        last.insert(e.envelope.tenant.as_str(), e);
    }
    for (tenant, e) in last {
        let mut sql = Sql::new("UPDATE lrs_tenants SET applied_partition = ");
        sql.bind(e.partition as i64)
            .push(", applied_offset = ")
            .bind(e.offset)
            .push(", applied_ms = ")
            .bind(e.envelope.received_at.timestamp_millis())
            .push(" WHERE tenant = ")
            .bind(tenant.to_owned());
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

async fn insert_outcomes(
    tx: &mut Tx,
    events: &[Event],
    outcomes: &[EventOutcome],
) -> Result<(), StoreError> {
    const COLS: usize = 10;
    for chunk in events
        .iter()
        .zip(outcomes)
        .collect::<Vec<_>>()
        .chunks(MAX_PARAMS / COLS)
    {
        let mut sql = Sql::new(
            "INSERT INTO lrs_event_outcomes (event_id, tenant, event_type, partition, log_offset, status, detail, \
             correlation_id, principal, received_at) VALUES ",
        );
        for (i, (event, outcome)) in chunk.iter().enumerate() {
            let env = &event.envelope;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(outcome.event_id.to_string())
                .push(", ")
                .bind(outcome.tenant.clone())
                .push(", ")
                .bind(outcome.event_type.clone())
                .push(", ")
                .bind(outcome.partition as i64)
                .push(", ")
                .bind(outcome.offset)
                .push(", ")
                .bind(outcome.status as i64)
                .push(", ")
                .bind(outcome.detail.clone())
                .push(", ")
                .bind(env.correlation_id.clone())
                .push(", ")
                .bind(format!("{}:{}", env.principal.method, env.principal.id))
                .push(", ")
                .bind(format_timestamp(&env.received_at))
                .push(")");
        }
        // The same event appended twice (a producer retry) keeps its first verdict.
        sql.push(" ON CONFLICT (event_id) DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// Audit index: every statement id (and voided target) of every statements event,
/// accepted or not, lowercase (`lrs_event_statements`).
async fn insert_event_statements(tx: &mut Tx, events: &[Event]) -> Result<(), StoreError> {
    let mut rows: BTreeSet<(String, String, String)> = BTreeSet::new();
    for event in events {
        let tenant = event.envelope.tenant.as_str();
        let event_id = event.envelope.event_id.to_string();
        for stmt in &event.statements {
            let ids = stmt.get("id").and_then(Value::as_str).into_iter();
            for id in ids.chain(voided_target(stmt)) {
                rows.insert((tenant.to_owned(), id.to_ascii_lowercase(), event_id.clone()));
            }
        }
    }
    let rows: Vec<_> = rows.into_iter().collect();
    for chunk in rows.chunks(MAX_PARAMS / 3) {
        let mut sql =
            Sql::new("INSERT INTO lrs_event_statements (tenant, statement_id, event_id) VALUES ");
        for (i, (tenant, id, event_id)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(tenant.clone())
                .push(", ")
                .bind(id.clone())
                .push(", ")
                .bind(event_id.clone())
                .push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// Per-tenant counters that make `seq` the log order and `stored` monotonic.
#[derive(Clone, Debug)]
struct TenantHead {
    next_seq: i64,
    last_stored_ms: i64,
    disabled: bool,
    dirty: bool,
}

/// A statement already in the store that shares an id with one in the batch (or is
/// the target of a voiding statement in the batch).
struct Existing {
    body: String,
    is_voider: bool,
}

struct NewStatement {
    tenant: String,
    seq: i64,
    id: String,
    stored_ms: i64,
    voided: bool,
    is_voider: bool,
    object_ref: Option<String>,
    verb: String,
    registration: Option<String>,
    actor: Option<String>,
    event_id: String,
    body: String,
    keys: Vec<(IndexKind, String)>,
    /// What the statement contributes to the analytics read models, if it counts.
    fact: Option<Fact>,
    log_offset: i64,
    /// (log offset, stored ms) of the void that voided it in this batch or before.
    voided_at: Option<(i64, i64)>,
}

type Key = (String, String);

/// In-memory state of one `apply` call.
struct Batch {
    heads: HashMap<String, TenantHead>,
    existing: HashMap<Key, Existing>,
    /// (tenant, target) of voids already stored, for ids arriving in this batch.
    stored_void_targets: HashSet<Key>,
    /// (tenant, target) of voids made by this batch.
    batch_void_targets: HashSet<Key>,
    new_statements: Vec<NewStatement>,
    new_by_id: HashMap<Key, usize>,
    new_voids: Vec<(String, String, String)>,
    /// Stored statements voided by this batch, with the void's (log offset, stored ms).
    void_existing: Vec<(Key, i64, i64)>,
    /// Attachment bodies of accepted statement events.
    new_attachments: Vec<crate::attachments::NewAttachment>,
}

impl Batch {
    async fn prefetch(tx: &mut Tx, events: &[Event]) -> Result<Batch, StoreError> {
        let mut tenants: BTreeSet<String> = BTreeSet::new();
        let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut new_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for event in events {
            let tenant = event.envelope.tenant.as_str();
            tenants.insert(tenant.to_owned());
            for stmt in &event.statements {
                if let Some(id) = stmt.get("id").and_then(Value::as_str) {
                    ids.entry(tenant.to_owned())
                        .or_default()
                        .insert(id.to_owned());
                    new_ids
                        .entry(tenant.to_owned())
                        .or_default()
                        .insert(id.to_owned());
                }
                if let Some(target) = voided_target(stmt) {
                    ids.entry(tenant.to_owned())
                        .or_default()
                        .insert(target.to_owned());
                }
            }
        }

        let mut heads = HashMap::new();
        if !tenants.is_empty() {
            let mut sql = Sql::new("SELECT tenant, next_seq, last_stored_ms, disabled FROM lrs_tenants WHERE tenant IN ");
            sql.bind_list(tenants.iter().cloned());
            for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                let tenant: String = row.try_get(0).map_err(db_err)?;
                let disabled: i64 = row.try_get(3).map_err(db_err)?;
                heads.insert(
                    tenant,
                    TenantHead {
                        next_seq: row.try_get(1).map_err(db_err)?,
                        last_stored_ms: row.try_get(2).map_err(db_err)?,
                        disabled: disabled != 0,
                        dirty: false,
                    },
                );
            }
        }

        let mut existing = HashMap::new();
        for (tenant, set) in &ids {
            let all: Vec<&String> = set.iter().collect();
            for chunk in all.chunks(MAX_PARAMS - 1) {
                let mut sql =
                    Sql::new("SELECT id, body, is_voider FROM xapi_statements WHERE tenant = ");
                sql.bind(tenant.clone())
                    .push(" AND id IN ")
                    .bind_list(chunk.iter().map(|s| (*s).clone()));
                for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                    let id: String = row.try_get(0).map_err(db_err)?;
                    let is_voider: i64 = row.try_get(2).map_err(db_err)?;
                    existing.insert(
                        (tenant.clone(), id),
                        Existing {
                            body: row.try_get(1).map_err(db_err)?,
                            is_voider: is_voider != 0,
                        },
                    );
                }
            }
        }

        let mut stored_void_targets = HashSet::new();
        for (tenant, set) in &new_ids {
            let all: Vec<&String> = set.iter().collect();
            for chunk in all.chunks(MAX_PARAMS - 1) {
                let mut sql = Sql::new("SELECT target_id FROM xapi_voids WHERE tenant = ");
                sql.bind(tenant.clone())
                    .push(" AND target_id IN ")
                    .bind_list(chunk.iter().map(|s| (*s).clone()));
                for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                    stored_void_targets
                        .insert((tenant.clone(), row.try_get::<String, _>(0).map_err(db_err)?));
                }
            }
        }

        Ok(Batch {
            heads,
            existing,
            stored_void_targets,
            batch_void_targets: HashSet::new(),
            new_statements: Vec::new(),
            new_by_id: HashMap::new(),
            new_voids: Vec::new(),
            void_existing: Vec::new(),
            new_attachments: Vec::new(),
        })
    }

    /// Decides one event. Returns the HTTP-style status and a reason.
    async fn apply_event(
        &mut self,
        tx: &mut Tx,
        event: &mut Event,
    ) -> Result<(u16, Option<String>), StoreError> {
        let tenant = event.envelope.tenant.as_str().to_owned();
        match &event.payload {
            EventPayload::StatementsSubmitted(_) => Ok(self.apply_statements(&tenant, event)),
            EventPayload::TenantCreated(created) => self.create_tenant(tx, &tenant, created).await,
            EventPayload::TenantDisabled(_) => {
                let mut sql = Sql::new("UPDATE lrs_tenants SET disabled = 1 WHERE tenant = ");
                sql.bind(tenant.clone());
                let done = execute!(sql, &mut **tx).map_err(db_err)?.rows_affected();
                if let Some(head) = self.heads.get_mut(&tenant) {
                    head.disabled = true;
                }
                Ok(if done == 0 {
                    (404, Some("no such tenant".into()))
                } else {
                    (204, None)
                })
            }
            EventPayload::CredentialCreated(_) if !self.heads.contains_key(&tenant) => {
                Ok((404, Some(format!("no tenant {tenant:?}"))))
            }
            EventPayload::CredentialCreated(created) => {
                create_credential(tx, &tenant, created).await
            }
            EventPayload::CredentialRotated(CredentialRotated { key, secret_hash }) => {
                // A revoked credential stays revoked: rotating it is refused.
                let mut sql = Sql::new("UPDATE lrs_credentials SET secret_hash = ");
                sql.bind(secret_hash.clone())
                    .push(" WHERE key = ")
                    .bind(key.clone())
                    .push(" AND tenant = ")
                    .bind(tenant.clone())
                    .push(" AND revoked = 0");
                let done = execute!(sql, &mut **tx).map_err(db_err)?.rows_affected();
                Ok(if done == 0 {
                    (
                        404,
                        Some(format!("no active credential {key:?} in this tenant")),
                    )
                } else {
                    (200, None)
                })
            }
            EventPayload::CredentialRevoked(CredentialRevoked { key }) => {
                let mut sql = Sql::new("UPDATE lrs_credentials SET revoked = 1 WHERE key = ");
                sql.bind(key.clone())
                    .push(" AND tenant = ")
                    .bind(tenant.clone());
                let done = execute!(sql, &mut **tx).map_err(db_err)?.rows_affected();
                Ok(if done == 0 {
                    (404, Some(format!("no credential {key:?} in this tenant")))
                } else {
                    (204, None)
                })
            }
            EventPayload::DocumentWritten(_) | EventPayload::DocumentsDeleted(_)
                if !self.tenant_active(&tenant) =>
            {
                Ok((
                    403,
                    Some(format!("tenant {tenant:?} does not exist or is disabled")),
                ))
            }
            EventPayload::DocumentWritten(w) => {
                let event_id = event.envelope.event_id.to_string();
                crate::documents::write(tx, &tenant, event.envelope.received_at, &event_id, w).await
            }
            EventPayload::DocumentsDeleted(d) => crate::documents::delete(tx, &tenant, d).await,
            EventPayload::TrainerAssigned(_) | EventPayload::TrainerUnassigned(_)
                if !self.tenant_active(&tenant) =>
            {
                Ok((
                    403,
                    Some(format!("tenant {tenant:?} does not exist or is disabled")),
                ))
            }
            EventPayload::TrainerAssigned(a) => crate::trainers::assign(tx, &tenant, a).await,
            EventPayload::TrainerUnassigned(u) => crate::trainers::unassign(tx, &tenant, u).await,
            EventPayload::PathDefined(_) | EventPayload::PathDeleted(_)
                if !self.tenant_active(&tenant) =>
            {
                Ok((
                    403,
                    Some(format!("tenant {tenant:?} does not exist or is disabled")),
                ))
            }
            EventPayload::PathDefined(p) => {
                let ms = event.envelope.received_at.timestamp_millis();
                crate::analytics::define_path(tx, &tenant, event.offset, ms, p).await
            }
            EventPayload::PathDeleted(p) => {
                let ms = event.envelope.received_at.timestamp_millis();
                crate::analytics::delete_path(tx, &tenant, event.offset, ms, p).await
            }
        }
    }

    /// Whether `tenant` exists and is not disabled.
    fn tenant_active(&self, tenant: &str) -> bool {
        self.heads.get(tenant).is_some_and(|h| !h.disabled)
    }

    async fn create_tenant(
        &mut self,
        tx: &mut Tx,
        tenant: &str,
        created: &TenantCreated,
    ) -> Result<(u16, Option<String>), StoreError> {
        let mut sql = Sql::new("INSERT INTO lrs_tenants (tenant, name) VALUES (");
        sql.bind(tenant.to_owned())
            .push(", ")
            .bind(created.name.clone())
            .push(") ON CONFLICT (tenant) DO NOTHING");
        if execute!(sql, &mut **tx).map_err(db_err)?.rows_affected() == 0 {
            return Ok((409, Some(format!("tenant {tenant:?} already exists"))));
        }
        self.heads.insert(
            tenant.to_owned(),
            TenantHead {
                next_seq: 1,
                last_stored_ms: 0,
                disabled: false,
                dirty: false,
            },
        );
        Ok((201, None))
    }

    /// Decides a batch of statements: all or nothing.
    fn apply_statements(&mut self, tenant: &str, event: &mut Event) -> (u16, Option<String>) {
        let Some(head) = self.heads.get(tenant) else {
            return (403, Some(format!("tenant {tenant:?} does not exist")));
        };
        if head.disabled {
            return (403, Some(format!("tenant {tenant:?} is disabled")));
        }
        let attachments = match &event.payload {
            EventPayload::StatementsSubmitted(s) => {
                match crate::attachments::decode(tenant, &s.attachments) {
                    Ok(a) => a,
                    Err(e) => return (400, Some(e)),
                }
            }
            _ => Vec::new(),
        };

        // 1. Duplicate ids: equivalent => no-op, different => the whole batch is refused.
        let mut skip = vec![false; event.statements.len()];
        let mut seen_in_event: HashMap<&str, usize> = HashMap::new();
        for (i, stmt) in event.statements.iter().enumerate() {
            let Some(id) = stmt.get("id").and_then(Value::as_str) else {
                return (
                    400,
                    Some(format!("statement[{i}]: no id (ingest always assigns one)")),
                );
            };
            let key = (tenant.to_owned(), id.to_owned());
            let prior: Option<Value> = if let Some(&j) = seen_in_event.get(id) {
                Some(event.statements[j].clone())
            } else if let Some(&ix) = self.new_by_id.get(&key) {
                serde_json::from_str(&self.new_statements[ix].body).ok()
            } else if let Some(ex) = self.existing.get(&key) {
                serde_json::from_str(&ex.body).ok()
            } else {
                None
            };
            if let Some(prior) = prior {
                if statements_equivalent(&prior, stmt) {
                    skip[i] = true;
                } else {
                    return (
                        409,
                        Some(format!(
                            "statement[{i}]: a different statement with id {id} is already stored"
                        )),
                    );
                }
            }
            seen_in_event.insert(id, i);
        }

        // 2. Accept: assign seq and stored, index, void.
        let Some(head) = self.heads.get_mut(tenant) else {
            return (403, Some(format!("tenant {tenant:?} does not exist")));
        };
        let stored_ms = event
            .envelope
            .received_at
            .timestamp_millis()
            .max(head.last_stored_ms);
        head.last_stored_ms = stored_ms;
        head.dirty = true;
        let mut next_seq = head.next_seq;
        let stored = chrono::DateTime::from_timestamp_millis(stored_ms)
            .unwrap_or(event.envelope.received_at);
        let stored_text = Value::String(format_timestamp(&stored));
        let event_id = event.envelope.event_id.to_string();
        let mut accepted = 0usize;
        for (i, stmt) in event.statements.iter_mut().enumerate() {
            if skip[i] {
                continue;
            }
            accepted += 1;
            let Some(obj) = stmt.as_object_mut() else {
                continue;
            };
            obj.insert("stored".into(), stored_text.clone());
            if !obj.contains_key("timestamp") {
                obj.insert("timestamp".into(), stored_text.clone());
            }
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let verb = stmt
                .pointer("/verb/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let object_ref = (stmt.pointer("/object/objectType").and_then(Value::as_str)
                == Some("StatementRef"))
            .then(|| {
                stmt.pointer("/object/id")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            })
            .flatten();
            let is_voider = verb == VOIDED_VERB && object_ref.is_some();
            let key = (tenant.to_owned(), id.clone());
            let mut voided = false;
            if is_voider {
                if let Some(target) = &object_ref {
                    self.void_target(tenant, target, &id, (event.offset, stored_ms));
                }
            } else {
                voided = self.stored_void_targets.contains(&key)
                    || self.batch_void_targets.contains(&key);
            }
            let fact = if is_voider {
                None
            } else {
                Fact::from_statement(stmt, stored_ms)
            };
            let seq = next_seq;
            next_seq += 1;
            let new = NewStatement {
                tenant: tenant.to_owned(),
                seq,
                id,
                stored_ms,
                voided,
                is_voider,
                object_ref,
                verb,
                registration: stmt
                    .pointer("/context/registration")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                actor: stmt.get("actor").and_then(agent_key),
                event_id: event_id.clone(),
                keys: statement_index_keys(stmt),
                body: stmt.to_string(),
                fact,
                log_offset: event.offset,
                voided_at: voided.then_some((event.offset, stored_ms)),
            };
            self.new_by_id.insert(key, self.new_statements.len());
            self.new_statements.push(new);
        }
        if let Some(head) = self.heads.get_mut(tenant) {
            head.next_seq = next_seq;
        }
        self.new_attachments.extend(attachments);
        if accepted == 0 && !event.statements.is_empty() {
            (
                200,
                Some("every statement was already stored; nothing changed".into()),
            )
        } else {
            (200, None)
        }
    }

    /// Records a void and marks its target voided if it is here and is not itself a
    /// voiding statement (those cannot be voided).
    fn void_target(&mut self, tenant: &str, target: &str, voider: &str, at: (i64, i64)) {
        let key = (tenant.to_owned(), target.to_owned());
        self.new_voids
            .push((tenant.to_owned(), target.to_owned(), voider.to_owned()));
        self.batch_void_targets.insert(key.clone());
        if let Some(&ix) = self.new_by_id.get(&key) {
            let t = &mut self.new_statements[ix];
            if !t.is_voider && !t.voided {
                t.voided = true;
                t.voided_at = Some(at);
            }
        } else if let Some(ex) = self.existing.get(&key) {
            if !ex.is_voider {
                self.void_existing.push((key, at.0, at.1));
            }
        }
    }

    /// Writes everything decided, as multi-row statements.
    async fn flush(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        self.insert_statements(tx).await?;
        crate::attachments::insert(tx, &self.new_attachments).await?;
        let accepted = self.new_statements.iter();
        crate::definitions::update(
            tx,
            accepted.map(|s| (s.tenant.as_str(), s.seq, s.body.as_str())),
        )
        .await?;
        self.insert_index(tx).await?;
        self.write_voids(tx).await?;
        self.project_analytics(tx).await?;
        self.inherit_through_statement_refs(tx).await?;
        for (tenant, head) in &self.heads {
            if head.dirty {
                let mut sql = Sql::new("UPDATE lrs_tenants SET next_seq = ");
                sql.bind(head.next_seq)
                    .push(", last_stored_ms = ")
                    .bind(head.last_stored_ms)
                    .push(" WHERE tenant = ")
                    .bind(tenant.clone());
                execute!(sql, &mut **tx).map_err(db_err)?;
            }
        }
        Ok(())
    }

    async fn insert_statements(&self, tx: &mut Tx) -> Result<(), StoreError> {
        const COLS: usize = 12;
        for chunk in self.new_statements.chunks(MAX_PARAMS / COLS) {
            let mut sql = Sql::new(
                "INSERT INTO xapi_statements (tenant, seq, id, stored_ms, voided, is_voider, object_ref, verb, \
                 registration, actor, event_id, body) VALUES ",
            );
            for (i, s) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(s.tenant.clone())
                    .push(", ")
                    .bind(s.seq)
                    .push(", ")
                    .bind(s.id.clone())
                    .push(", ")
                    .bind(s.stored_ms)
                    .push(", ")
                    .bind(s.voided as i64)
                    .push(", ")
                    .bind(s.is_voider as i64)
                    .push(", ")
                    .bind(s.object_ref.clone())
                    .push(", ")
                    .bind(s.verb.clone())
                    .push(", ")
                    .bind(s.registration.clone())
                    .push(", ")
                    .bind(s.actor.clone())
                    .push(", ")
                    .bind(s.event_id.clone())
                    .push(", ")
                    .bind(s.body.clone())
                    .push(")");
            }
            execute!(sql, &mut **tx).map_err(db_err)?;
        }
        Ok(())
    }

    async fn insert_index(&self, tx: &mut Tx) -> Result<(), StoreError> {
        const COLS: usize = 4;
        let rows: Vec<(&str, i64, &str, i64)> = self
            .new_statements
            .iter()
            .flat_map(|s| {
                s.keys
                    .iter()
                    .map(move |(k, key)| (s.tenant.as_str(), *k as i64, key.as_str(), s.seq))
            })
            .collect();
        for chunk in rows.chunks(MAX_PARAMS / COLS) {
            let mut sql =
                Sql::new("INSERT INTO xapi_statement_index (tenant, kind, key, seq) VALUES ");
            for (i, (tenant, kind, key, seq)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind((*tenant).to_owned())
                    .push(", ")
                    .bind(*kind)
                    .push(", ")
                    .bind((*key).to_owned())
                    .push(", ")
                    .bind(*seq)
                    .push(")");
            }
            sql.push(" ON CONFLICT DO NOTHING");
            execute!(sql, &mut **tx).map_err(db_err)?;
        }
        Ok(())
    }

    async fn write_voids(&self, tx: &mut Tx) -> Result<(), StoreError> {
        for chunk in self.new_voids.chunks(MAX_PARAMS / 3) {
            let mut sql = Sql::new("INSERT INTO xapi_voids (tenant, target_id, voider_id) VALUES ");
            for (i, (tenant, target, voider)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(tenant.clone())
                    .push(", ")
                    .bind(target.clone())
                    .push(", ")
                    .bind(voider.clone())
                    .push(")");
            }
            sql.push(" ON CONFLICT DO NOTHING");
            execute!(sql, &mut **tx).map_err(db_err)?;
        }
        for ((tenant, target), _, _) in &self.void_existing {
            let mut sql = Sql::new("UPDATE xapi_statements SET voided = 1 WHERE tenant = ");
            sql.bind(tenant.clone())
                .push(" AND id = ")
                .bind(target.clone())
                .push(" AND is_voider = 0");
            execute!(sql, &mut **tx).map_err(db_err)?;
        }
        Ok(())
    }

    /// Hands the batch's facts and voids to the analytics read models. The facts are
    /// moved out: nothing after this needs them.
    async fn project_analytics(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let new: Vec<NewFact> = self
            .new_statements
            .iter_mut()
            .filter_map(|s| {
                s.fact.take().map(|fact| NewFact {
                    tenant: s.tenant.clone(),
                    fact,
                    log_offset: s.log_offset,
                    voided_at: s.voided_at,
                })
            })
            .collect();
        // A stored target's pair comes from its body (prefetched with it); one that does
        // not count (e.g. a Group actor) has no fact to void.
        let voided: Vec<VoidedFact> = self
            .void_existing
            .iter()
            .filter_map(|(key, log_offset, stored_ms)| {
                let body: Value = serde_json::from_str(&self.existing.get(key)?.body).ok()?;
                let fact = Fact::from_statement(&body, *stored_ms)?;
                Some(VoidedFact {
                    tenant: key.0.clone(),
                    fact,
                    log_offset: *log_offset,
                    stored_ms: *stored_ms,
                })
            })
            .collect();
        crate::analytics::project(tx, &new, &voided).await
    }

    /// A statement whose object is a StatementRef matches every filter its target
    /// matches (recursively). Copy the target's index rows to the referrer, in both
    /// arrival orders, until nothing changes.
    async fn inherit_through_statement_refs(&self, tx: &mut Tx) -> Result<(), StoreError> {
        // Referrers in this batch whose target is already stored.
        for s in &self.new_statements {
            if let Some(target) = &s.object_ref {
                copy_index_rows(tx, &s.tenant, target, s.seq).await?;
            }
        }
        // Statements (stored earlier or in this batch) pointing at statements that just
        // arrived or just gained rows.
        let mut frontier: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in &self.new_statements {
            frontier
                .entry(s.tenant.clone())
                .or_default()
                .insert(s.id.clone());
        }
        for _round in 0..16 {
            let mut next: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (tenant, ids) in &frontier {
                let all: Vec<&String> = ids.iter().collect();
                for chunk in all.chunks(MAX_PARAMS - 1) {
                    let mut sql =
                        Sql::new("SELECT id, seq, object_ref FROM xapi_statements WHERE tenant = ");
                    sql.bind(tenant.clone())
                        .push(" AND object_ref IN ")
                        .bind_list(chunk.iter().map(|s| (*s).clone()));
                    for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                        let id: String = row.try_get(0).map_err(db_err)?;
                        let seq: i64 = row.try_get(1).map_err(db_err)?;
                        let target: String = row.try_get(2).map_err(db_err)?;
                        if copy_index_rows(tx, tenant, &target, seq).await? > 0 {
                            next.entry(tenant.clone()).or_default().insert(id);
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(())
    }
}

/// Copies the index rows of statement `target_id` to the statement at `seq`, except the
/// authority row: `statements/read/mine` looks at a statement's own authority only.
async fn copy_index_rows(
    tx: &mut Tx,
    tenant: &str,
    target_id: &str,
    seq: i64,
) -> Result<u64, StoreError> {
    let mut sql = Sql::new("INSERT INTO xapi_statement_index (tenant, kind, key, seq) SELECT i.tenant, i.kind, i.key, ");
    sql.bind(seq)
        .push(" FROM xapi_statement_index i JOIN xapi_statements t ON t.tenant = i.tenant AND t.seq = i.seq WHERE t.tenant = ")
        .bind(tenant.to_owned())
        .push(" AND t.id = ")
        .bind(target_id.to_owned())
        .push(" AND i.kind <> ")
        .bind(IndexKind::Authority as i64)
        .push(" ON CONFLICT DO NOTHING");
    Ok(execute!(sql, &mut **tx).map_err(db_err)?.rows_affected())
}

async fn create_credential(
    tx: &mut Tx,
    tenant: &str,
    created: &CredentialCreated,
) -> Result<(u16, Option<String>), StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO lrs_credentials (key, tenant, secret_hash, scopes, authority, label) VALUES (",
    );
    sql.bind(created.key.clone())
        .push(", ")
        .bind(tenant.to_owned())
        .push(", ")
        .bind(created.secret_hash.clone())
        .push(", ")
        .bind(serde_json::to_string(&created.scopes).unwrap_or_else(|_| "[]".into()))
        .push(", ")
        .bind(created.authority.to_string())
        .push(", ")
        .bind(created.label.clone())
        .push(") ON CONFLICT (key) DO NOTHING");
    if execute!(sql, &mut **tx).map_err(db_err)?.rows_affected() == 0 {
        return Ok((
            409,
            Some(format!("credential key {:?} already exists", created.key)),
        ));
    }
    Ok((201, None))
}

/// The target id of a voiding statement, if `stmt` is one.
fn voided_target(stmt: &Value) -> Option<&str> {
    if stmt.pointer("/verb/id").and_then(Value::as_str) == Some(VOIDED_VERB)
        && stmt.pointer("/object/objectType").and_then(Value::as_str) == Some("StatementRef")
    {
        stmt.pointer("/object/id").and_then(Value::as_str)
    } else {
        None
    }
}
