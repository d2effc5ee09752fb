//! Read-side queries. Every statement query is tenant-scoped by its first argument.

use crate::db_err;
use crate::index::IndexKind;
use crate::sql::{fetch_all, Sql};
use lrs_core::store::{
    CredentialInfo, CredentialRecord, EventOutcome, StatementPage, StatementQuery, StoreError,
    StoredStatement, TenantRecord,
};
use lrs_core::TenantId;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

pub(crate) async fn positions(
    pool: &AnyPool,
    consumer: &str,
) -> Result<Vec<(i32, i64)>, StoreError> {
    let mut sql = Sql::new("SELECT partition, last_offset FROM lrs_positions WHERE consumer = ");
    sql.bind(consumer.to_owned())
        .push(" AND last_offset >= 0 ORDER BY partition");
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>(0).map_err(db_err)? as i32,
                r.try_get::<i64, _>(1).map_err(db_err)?,
            ))
        })
        .collect()
}

pub(crate) async fn event_outcomes(
    pool: &AnyPool,
    ids: &[Uuid],
) -> Result<Vec<EventOutcome>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT event_id, tenant, event_type, partition, log_offset, status, detail FROM lrs_event_outcomes \
         WHERE event_id IN ",
    );
    sql.bind_list(ids.iter().map(|u| u.to_string()));
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0).map_err(db_err)?;
            Ok(EventOutcome {
                event_id: Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                tenant: r.try_get(1).map_err(db_err)?,
                event_type: r.try_get(2).map_err(db_err)?,
                partition: r.try_get::<i64, _>(3).map_err(db_err)? as i32,
                offset: r.try_get(4).map_err(db_err)?,
                status: r.try_get::<i64, _>(5).map_err(db_err)? as u16,
                detail: r.try_get(6).map_err(db_err)?,
            })
        })
        .collect()
}

fn stored_statement(row: &AnyRow) -> Result<StoredStatement, StoreError> {
    Ok(StoredStatement {
        id: row.try_get("id").map_err(db_err)?,
        seq: row.try_get("seq").map_err(db_err)?,
        stored_ms: row.try_get("stored_ms").map_err(db_err)?,
        voided: row.try_get::<i64, _>("voided").map_err(db_err)? != 0,
        body: row.try_get("body").map_err(db_err)?,
    })
}

pub(crate) async fn statement(
    pool: &AnyPool,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<StoredStatement>, StoreError> {
    let mut sql =
        Sql::new("SELECT seq, id, stored_ms, voided, body FROM xapi_statements WHERE tenant = ");
    sql.bind(tenant.as_str().to_owned())
        .push(" AND id = ")
        .bind(id.to_owned());
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    rows.first().map(stored_statement).transpose()
}

/// Walks one filter index (or the statements table) in `seq` order, checking the other
/// filters with `EXISTS`, and stops after `limit + 1` rows. `seq` order is `stored`
/// order because `stored` never decreases within a tenant.
pub(crate) async fn query_statements(
    pool: &AnyPool,
    tenant: &TenantId,
    q: &StatementQuery,
) -> Result<StatementPage, StoreError> {
    let t = tenant.as_str().to_owned();
    let max_seq = match q.max_seq {
        Some(m) => m,
        None => head_seq(pool, &t).await?,
    };
    let empty = |max_seq| StatementPage {
        statements: Vec::new(),
        next_after_seq: None,
        max_seq,
    };

    // Turn the stored-time window into a seq window: (lo, hi].
    let mut lo = 0i64;
    let mut hi = max_seq;
    if let Some(since) = q.since_ms {
        let mut sql = Sql::new("SELECT seq FROM xapi_statements WHERE tenant = ");
        sql.bind(t.clone())
            .push(" AND stored_ms > ")
            .bind(since)
            .push(" ORDER BY stored_ms, seq LIMIT 1");
        match fetch_all!(sql, pool).map_err(db_err)?.first() {
            Some(row) => lo = lo.max(row.try_get::<i64, _>(0).map_err(db_err)? - 1),
            None => return Ok(empty(max_seq)),
        }
    }
    if let Some(until) = q.until_ms {
        let mut sql = Sql::new("SELECT seq FROM xapi_statements WHERE tenant = ");
        sql.bind(t.clone())
            .push(" AND stored_ms <= ")
            .bind(until)
            .push(" ORDER BY stored_ms DESC, seq DESC LIMIT 1");
        match fetch_all!(sql, pool).map_err(db_err)?.first() {
            Some(row) => hi = hi.min(row.try_get::<i64, _>(0).map_err(db_err)?),
            None => return Ok(empty(max_seq)),
        }
    }
    if let Some(after) = q.after_seq {
        if q.ascending {
            lo = lo.max(after);
        } else {
            hi = hi.min(after - 1);
        }
    }
    if lo >= hi {
        return Ok(empty(max_seq));
    }

    let mut filters: Vec<(IndexKind, String)> = Vec::new();
    // Most selective first: it drives the walk.
    if let Some(r) = &q.registration {
        filters.push((IndexKind::Registration, r.clone()));
    }
    if let Some(a) = &q.agent {
        filters.push((
            if q.related_agents {
                IndexKind::RelatedAgent
            } else {
                IndexKind::Agent
            },
            a.clone(),
        ));
    }
    if let Some(a) = &q.activity {
        filters.push((
            if q.related_activities {
                IndexKind::RelatedActivity
            } else {
                IndexKind::Activity
            },
            a.clone(),
        ));
    }
    if let Some(v) = &q.verb {
        filters.push((IndexKind::Verb, v.clone()));
    }
    if let Some(k) = &q.authority {
        filters.push((IndexKind::Authority, k.clone()));
    }

    let limit = q.limit.max(1) as i64;
    let order = if q.ascending { "ASC" } else { "DESC" };
    let mut sql;
    match filters.split_first() {
        None => {
            sql = Sql::new("SELECT s.seq, s.id, s.stored_ms, s.voided, s.body FROM xapi_statements s WHERE s.tenant = ");
            sql.bind(t.clone());
        }
        Some(((kind, key), rest)) => {
            sql = Sql::new(
                "SELECT s.seq, s.id, s.stored_ms, s.voided, s.body FROM xapi_statement_index i \
                 JOIN xapi_statements s ON s.tenant = i.tenant AND s.seq = i.seq WHERE i.tenant = ",
            );
            sql.bind(t.clone())
                .push(" AND i.kind = ")
                .bind(*kind as i64)
                .push(" AND i.key = ")
                .bind(key.clone());
            for (kind, key) in rest {
                sql.push(" AND EXISTS (SELECT 1 FROM xapi_statement_index x WHERE x.tenant = s.tenant AND x.seq = s.seq AND x.kind = ")
                    .bind(*kind as i64)
                    .push(" AND x.key = ")
                    .bind(key.clone())
                    .push(")");
            }
        }
    }
    let seq_col = if filters.is_empty() { "s.seq" } else { "i.seq" };
    sql.push(&format!(" AND {seq_col} > "))
        .bind(lo)
        .push(&format!(" AND {seq_col} <= "))
        .bind(hi);
    sql.push(" AND s.voided = 0");
    sql.push(&format!(" ORDER BY {seq_col} {order} LIMIT "))
        .bind(limit + 1);

    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    let mut statements = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last_seq = None;
    for row in rows.iter().take(limit as usize) {
        last_seq = Some(row.try_get::<i64, _>("seq").map_err(db_err)?);
        statements.push(stored_statement(row)?);
    }
    let next_after_seq = if rows.len() as i64 > limit {
        last_seq
    } else {
        None
    };
    Ok(StatementPage {
        statements,
        next_after_seq,
        max_seq,
    })
}

async fn head_seq(pool: &AnyPool, tenant: &str) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT next_seq FROM lrs_tenants WHERE tenant = ");
    sql.bind(tenant.to_owned());
    Ok(match fetch_all!(sql, pool).map_err(db_err)?.first() {
        Some(row) => row.try_get::<i64, _>(0).map_err(db_err)? - 1,
        None => 0,
    })
}

pub(crate) async fn credential(
    pool: &AnyPool,
    key: &str,
) -> Result<Option<CredentialRecord>, StoreError> {
    let mut sql = Sql::new(
        "SELECT c.key, c.tenant, c.secret_hash, c.scopes, c.authority, c.revoked, t.disabled \
         FROM lrs_credentials c JOIN lrs_tenants t ON t.tenant = c.tenant WHERE c.key = ",
    );
    sql.bind(key.to_owned());
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let corrupt = |e: String| StoreError::Corrupt(format!("credential {key}: {e}"));
    let tenant: String = r.try_get(1).map_err(db_err)?;
    let scopes: String = r.try_get(3).map_err(db_err)?;
    let authority: String = r.try_get(4).map_err(db_err)?;
    Ok(Some(CredentialRecord {
        key: r.try_get(0).map_err(db_err)?,
        tenant: TenantId::parse(&tenant).map_err(corrupt)?,
        secret_hash: r.try_get(2).map_err(db_err)?,
        scopes: serde_json::from_str(&scopes).map_err(|e| corrupt(e.to_string()))?,
        authority: serde_json::from_str(&authority).map_err(|e| corrupt(e.to_string()))?,
        revoked: r.try_get::<i64, _>(5).map_err(db_err)? != 0,
        tenant_disabled: r.try_get::<i64, _>(6).map_err(db_err)? != 0,
    }))
}

pub(crate) async fn tenants(pool: &AnyPool) -> Result<Vec<TenantRecord>, StoreError> {
    let rows = sqlx::query("SELECT tenant, name, disabled FROM lrs_tenants ORDER BY tenant")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(TenantRecord {
                tenant: r.try_get(0).map_err(db_err)?,
                name: r.try_get(1).map_err(db_err)?,
                disabled: r.try_get::<i64, _>(2).map_err(db_err)? != 0,
            })
        })
        .collect()
}

pub(crate) async fn credentials(
    pool: &AnyPool,
    tenant: &TenantId,
) -> Result<Vec<CredentialInfo>, StoreError> {
    let mut sql = Sql::new(
        "SELECT key, label, scopes, authority, revoked FROM lrs_credentials WHERE tenant = ",
    );
    sql.bind(tenant.as_str().to_owned()).push(" ORDER BY key");
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let key: String = r.try_get(0).map_err(db_err)?;
            let corrupt =
                |e: serde_json::Error| StoreError::Corrupt(format!("credential {key}: {e}"));
            let scopes: String = r.try_get(2).map_err(db_err)?;
            let authority: String = r.try_get(3).map_err(db_err)?;
            Ok(CredentialInfo {
                label: r.try_get(1).map_err(db_err)?,
                scopes: serde_json::from_str(&scopes).map_err(corrupt)?,
                authority: serde_json::from_str(&authority).map_err(corrupt)?,
                revoked: r.try_get::<i64, _>(4).map_err(db_err)? != 0,
                key,
            })
        })
        .collect()
}
