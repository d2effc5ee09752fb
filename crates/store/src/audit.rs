//! Audit reads: the events that touched a statement, everything recorded for an agent,
//! and a tenant's event list. Every query is tenant-scoped by its first argument.
//!
//! Events of one tenant share a log partition (the tenant is the partition key), so
//! ordering by (partition, offset) is log order.

use crate::db_err;
use crate::index::IndexKind;
use crate::sql::{fetch_all, Sql};
use lrs_core::store::{
    AgentAudit, AgentDocument, AgentStatement, AuditEvent, StatementAudit, StoreError,
};
use lrs_core::TenantId;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

const EVENT_COLUMNS: &str = "o.event_id, o.event_type, o.partition, o.log_offset, o.received_at, \
     o.principal, o.correlation_id, o.status, o.detail";

fn audit_event(r: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        event_id: r.try_get(0).map_err(db_err)?,
        event_type: r.try_get(1).map_err(db_err)?,
        partition: r.try_get::<i64, _>(2).map_err(db_err)? as i32,
        offset: r.try_get(3).map_err(db_err)?,
        received_at: r.try_get(4).map_err(db_err)?,
        principal: r.try_get(5).map_err(db_err)?,
        correlation_id: r.try_get(6).map_err(db_err)?,
        status: r.try_get::<i64, _>(7).map_err(db_err)? as u16,
        detail: r.try_get(8).map_err(db_err)?,
    })
}

pub(crate) async fn statement(
    pool: &AnyPool,
    tenant: &TenantId,
    id: &str,
) -> Result<StatementAudit, StoreError> {
    let tenant = tenant.as_str().to_owned();
    let mut sql = Sql::new(&format!(
        "SELECT {EVENT_COLUMNS} FROM lrs_event_statements s JOIN lrs_event_outcomes o \
         ON o.event_id = s.event_id AND o.tenant = s.tenant WHERE s.tenant = "
    ));
    sql.bind(tenant.clone())
        .push(" AND s.statement_id = ")
        .bind(id.to_owned())
        .push(" ORDER BY o.partition, o.log_offset");
    let events = fetch_all!(sql, pool)
        .map_err(db_err)?
        .iter()
        .map(audit_event)
        .collect::<Result<Vec<_>, _>>()?;

    let mut audit = StatementAudit {
        events,
        ..StatementAudit::default()
    };
    let mut sql = Sql::new(
        "SELECT event_id, voided, is_voider, object_ref FROM xapi_statements WHERE tenant = ",
    );
    sql.bind(tenant.clone())
        .push(" AND id = ")
        .bind(id.to_owned());
    if let Some(r) = fetch_all!(sql, pool).map_err(db_err)?.first() {
        audit.accepted_event_id = Some(r.try_get(0).map_err(db_err)?);
        audit.voided = r.try_get::<i64, _>(1).map_err(db_err)? != 0;
        if r.try_get::<i64, _>(2).map_err(db_err)? != 0 {
            audit.voids = r.try_get(3).map_err(db_err)?;
        }
    }
    let mut sql = Sql::new("SELECT voider_id FROM xapi_voids WHERE tenant = ");
    sql.bind(tenant)
        .push(" AND target_id = ")
        .bind(id.to_owned())
        .push(" ORDER BY voider_id");
    for r in fetch_all!(sql, pool).map_err(db_err)? {
        audit.voided_by.push(r.try_get(0).map_err(db_err)?);
    }
    Ok(audit)
}

pub(crate) async fn agent(
    pool: &AnyPool,
    tenant: &TenantId,
    agent: &str,
    limit: u32,
) -> Result<AgentAudit, StoreError> {
    let tenant = tenant.as_str().to_owned();
    let fetch = i64::from(limit) + 1;
    let mut sql = Sql::new(
        "SELECT st.id, st.stored_ms, st.voided, st.event_id, o.partition, o.log_offset \
         FROM xapi_statement_index i JOIN xapi_statements st ON st.tenant = i.tenant AND st.seq = i.seq \
         LEFT JOIN lrs_event_outcomes o ON o.event_id = st.event_id WHERE i.tenant = ",
    );
    sql.bind(tenant.clone())
        .push(" AND i.kind = ")
        .bind(IndexKind::Agent as i64)
        .push(" AND i.key = ")
        .bind(agent.to_owned())
        .push(" ORDER BY i.seq LIMIT ")
        .bind(fetch);
    let mut statements = Vec::new();
    for r in fetch_all!(sql, pool).map_err(db_err)? {
        statements.push(AgentStatement {
            id: r.try_get(0).map_err(db_err)?,
            stored_ms: r.try_get(1).map_err(db_err)?,
            voided: r.try_get::<i64, _>(2).map_err(db_err)? != 0,
            event_id: r.try_get(3).map_err(db_err)?,
            partition: r
                .try_get::<Option<i64>, _>(4)
                .map_err(db_err)?
                .map(|p| p as i32),
            offset: r.try_get(5).map_err(db_err)?,
        });
    }

    let mut sql = Sql::new(
        "SELECT d.kind, d.activity_id, d.registration, d.document_id, d.content_type, d.etag, \
         d.updated_ms, d.event_id, o.partition, o.log_offset FROM xapi_documents d \
         LEFT JOIN lrs_event_outcomes o ON o.event_id = d.event_id WHERE d.tenant = ",
    );
    sql.bind(tenant)
        .push(" AND d.agent = ")
        .bind(agent.to_owned())
        .push(" ORDER BY d.kind, d.activity_id, d.registration, d.document_id LIMIT ")
        .bind(fetch);
    let mut documents = Vec::new();
    for r in fetch_all!(sql, pool).map_err(db_err)? {
        documents.push(AgentDocument {
            kind: r.try_get(0).map_err(db_err)?,
            activity_id: r.try_get(1).map_err(db_err)?,
            registration: r.try_get(2).map_err(db_err)?,
            document_id: r.try_get(3).map_err(db_err)?,
            content_type: r.try_get(4).map_err(db_err)?,
            etag: r.try_get(5).map_err(db_err)?,
            updated_ms: r.try_get(6).map_err(db_err)?,
            event_id: r.try_get(7).map_err(db_err)?,
            partition: r
                .try_get::<Option<i64>, _>(8)
                .map_err(db_err)?
                .map(|p| p as i32),
            offset: r.try_get(9).map_err(db_err)?,
        });
    }
    let limit = limit as usize;
    let truncated = statements.len() > limit || documents.len() > limit;
    statements.truncate(limit);
    documents.truncate(limit);
    Ok(AgentAudit {
        statements,
        documents,
        truncated,
    })
}

pub(crate) async fn events(
    pool: &AnyPool,
    tenant: &TenantId,
    event_type: Option<&str>,
    since: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {EVENT_COLUMNS} FROM lrs_event_outcomes o WHERE o.tenant = "
    ));
    sql.bind(tenant.as_str().to_owned());
    if let Some(t) = event_type {
        sql.push(" AND o.event_type = ").bind(t.to_owned());
    }
    if let Some(s) = since {
        sql.push(" AND o.received_at >= ").bind(s.to_owned());
    }
    sql.push(" ORDER BY o.partition, o.log_offset LIMIT ")
        .bind(i64::from(limit));
    fetch_all!(sql, pool)
        .map_err(db_err)?
        .iter()
        .map(audit_event)
        .collect()
}
