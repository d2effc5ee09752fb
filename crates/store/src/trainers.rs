//! Trainer assignments (`lrs_trainer_assignments`): written by the projector from
//! `trainer.assigned` / `trainer.unassigned`, read by the role rules on every trainer
//! request (no cache, so an unassignment takes effect as soon as it is applied).

use crate::db_err;
use crate::sql::{execute, fetch_all, Sql};
use lrs_core::event::{TrainerAssigned, TrainerUnassigned};
use lrs_core::store::{StoreError, TrainerAssignments};
use lrs_core::xapi::agent_key;
use lrs_core::TenantId;
use sqlx::any::Any;
use sqlx::{AnyPool, Row, Transaction};
use std::collections::BTreeMap;

type Tx = Transaction<'static, Any>;

const LEARNER: &str = "learner";
const COURSE: &str = "course";

async fn delete_all(tx: &mut Tx, tenant: &str, trainer: &str) -> Result<u64, StoreError> {
    let mut sql = Sql::new("DELETE FROM lrs_trainer_assignments WHERE tenant = ");
    sql.bind(tenant.to_owned())
        .push(" AND trainer = ")
        .bind(trainer.to_owned());
    Ok(execute!(sql, &mut **tx).map_err(db_err)?.rows_affected())
}

/// Replaces the trainer's set. Learners without an identifier (ingest refuses them;
/// a hand-written event might not) are skipped rather than stored unmatchable.
pub(crate) async fn assign(
    tx: &mut Tx,
    tenant: &str,
    a: &TrainerAssigned,
) -> Result<(u16, Option<String>), StoreError> {
    delete_all(tx, tenant, &a.trainer).await?;
    // Deduplicated by key so the multi-row insert never hits its own primary key.
    let mut rows: BTreeMap<(&str, String), String> = BTreeMap::new();
    for agent in &a.learners {
        if let Some(key) = agent_key(agent) {
            rows.entry((LEARNER, key))
                .or_insert_with(|| agent.to_string());
        }
    }
    for course in &a.courses {
        rows.entry((COURSE, course.clone())).or_default();
    }
    // 5 parameters a row; far below the backends' limits per chunk.
    let rows: Vec<_> = rows.into_iter().collect();
    for chunk in rows.chunks(1_000) {
        let mut sql = Sql::new(
            "INSERT INTO lrs_trainer_assignments (tenant, trainer, kind, value, agent) VALUES ",
        );
        for (i, ((kind, value), agent)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(tenant.to_owned())
                .push(", ")
                .bind(a.trainer.clone())
                .push(", ")
                .bind((*kind).to_owned())
                .push(", ")
                .bind(value.clone())
                .push(", ")
                .bind(agent.clone())
                .push(")");
        }
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok((200, None))
}

/// Removes the trainer's set; idempotent (204 whether or not anything was assigned).
pub(crate) async fn unassign(
    tx: &mut Tx,
    tenant: &str,
    u: &TrainerUnassigned,
) -> Result<(u16, Option<String>), StoreError> {
    delete_all(tx, tenant, &u.trainer).await?;
    Ok((204, None))
}

pub(crate) async fn assignments(
    pool: &AnyPool,
    tenant: &TenantId,
    trainer: &str,
) -> Result<TrainerAssignments, StoreError> {
    let mut sql =
        Sql::new("SELECT kind, value, agent FROM lrs_trainer_assignments WHERE tenant = ");
    sql.bind(tenant.as_str().to_owned())
        .push(" AND trainer = ")
        .bind(trainer.to_owned())
        .push(" ORDER BY kind, value");
    let rows = fetch_all!(sql, pool).map_err(db_err)?;
    let mut out = TrainerAssignments::default();
    for r in &rows {
        let kind: String = r.try_get(0).map_err(db_err)?;
        let value: String = r.try_get(1).map_err(db_err)?;
        if kind == LEARNER {
            let agent: String = r.try_get(2).map_err(db_err)?;
            let agent = serde_json::from_str(&agent)
                .map_err(|e| StoreError::Corrupt(format!("trainer assignment {value}: {e}")))?;
            out.learners.push((value, agent));
        } else {
            out.courses.push(value);
        }
    }
    Ok(out)
}
