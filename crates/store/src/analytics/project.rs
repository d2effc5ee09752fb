//! The projector's side of the analytics read models: facts in, progress kept current.
//!
//! New facts are added to the stored progress states (the fold is order-independent);
//! a void marks its fact and folds the pair's remaining facts afresh, because a `max` or
//! a "latest" may have come from the voided statement.

use super::counters::Counters;
use super::{fact_from_row, FACT_COLUMNS};
use crate::sql::{execute, fetch_all, Sql};
use crate::{db_err, MAX_PARAMS};
use lrs_core::analytics::paths::PathDefinition;
use lrs_core::analytics::{day_of, ContextKind, Fact, ProgressState};
use lrs_core::event::{PathDefined, PathDeleted};
use lrs_core::store::StoreError;
use sqlx::any::Any;
use sqlx::{Row, Transaction};
use std::collections::{BTreeMap, BTreeSet};

type Tx = Transaction<'static, Any>;
type Pair = (String, String, String);

/// The fact of a statement accepted in this batch.
pub(crate) struct NewFact {
    pub tenant: String,
    pub fact: Fact,
    pub log_offset: i64,
    /// (log offset, stored ms) of the void, when the statement is voided on arrival
    /// (its voiding statement came first, or later in the same batch).
    pub voided_at: Option<(i64, i64)>,
}

/// A counting statement stored earlier that this batch voids: its fact (derived again
/// from its stored body) and the void's position.
pub(crate) struct VoidedFact {
    pub tenant: String,
    pub fact: Fact,
    pub log_offset: i64,
    pub stored_ms: i64,
}

/// Writes the batch's facts and voids and brings the touched progress states up to date.
pub(crate) async fn project(
    tx: &mut Tx,
    new: &[NewFact],
    voided: &[VoidedFact],
) -> Result<(), StoreError> {
    insert_facts(tx, new).await?;
    insert_context(tx, new).await?;
    let mut counters = Counters::default();
    for n in new.iter().filter(|n| n.voided_at.is_none()) {
        counters.add(&n.tenant, &n.fact, 1);
    }
    let mut refold: BTreeSet<Pair> = BTreeSet::new();
    for v in voided {
        let f = &v.fact;
        let mut sql = Sql::new("UPDATE analytics_facts SET voided_offset = ");
        sql.bind(v.log_offset)
            .push(", voided_ms = ")
            .bind(v.stored_ms)
            .push(" WHERE tenant = ")
            .bind(v.tenant.clone())
            .push(" AND learner = ")
            .bind(f.learner.clone())
            .push(" AND activity = ")
            .bind(f.activity.clone())
            .push(" AND statement_id = ")
            .bind(f.statement_id.clone())
            .push(" AND voided_offset IS NULL");
        if execute!(sql, &mut **tx).map_err(db_err)?.rows_affected() > 0 {
            counters.add(&v.tenant, f, -1);
            refold.insert((v.tenant.clone(), f.learner.clone(), f.activity.clone()));
        }
    }
    counters.write(tx).await?;
    let mut additions: BTreeMap<Pair, Vec<&Fact>> = BTreeMap::new();
    for n in new.iter().filter(|n| n.voided_at.is_none()) {
        let pair = (
            n.tenant.clone(),
            n.fact.learner.clone(),
            n.fact.activity.clone(),
        );
        if !refold.contains(&pair) {
            additions.entry(pair).or_default().push(&n.fact);
        }
    }
    let mut states = load_states(tx, additions.keys()).await?;
    let mut changed: Vec<(String, ProgressState)> = Vec::with_capacity(additions.len());
    for ((tenant, learner, activity), facts) in additions {
        let key = (tenant, learner, activity);
        let mut state = states
            .remove(&key)
            .unwrap_or_else(|| ProgressState::new(&key.1, &key.2));
        for f in facts {
            state.add(f);
        }
        changed.push((key.0, state));
    }
    for pair in &refold {
        match refold_pair(tx, pair).await? {
            Some(state) => changed.push((pair.0.clone(), state)),
            None => delete_state(tx, pair).await?,
        }
    }
    upsert_states(tx, &changed).await
}

async fn insert_facts(tx: &mut Tx, new: &[NewFact]) -> Result<(), StoreError> {
    const COLS: usize = 16;
    for chunk in new.chunks(MAX_PARAMS / (COLS + 2)) {
        let mut sql = Sql::new(
            "INSERT INTO analytics_facts (tenant, statement_id, learner, activity, verb, ts_ms, day, \
             stored_ms, registration, completes, success, scaled, duration_cs, log_offset, \
             voided_offset, voided_ms) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            let f = &n.fact;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(n.tenant.clone())
                .push(", ")
                .bind(f.statement_id.clone())
                .push(", ")
                .bind(f.learner.clone())
                .push(", ")
                .bind(f.activity.clone())
                .push(", ")
                .bind(f.verb.clone())
                .push(", ")
                .bind(f.timestamp_ms)
                .push(", ")
                .bind(day_of(f.timestamp_ms))
                .push(", ")
                .bind(f.stored_ms)
                .push(", ")
                .bind(f.registration.clone())
                .push(", ")
                .bind(f.completes as i64)
                .push(", ")
                .bind(f.success.map(|s| s as i64))
                .push(", ")
                .bind_f64_or_null(f.scaled)
                .push(", ")
                .bind(f.duration_cs)
                .push(", ")
                .bind(n.log_offset)
                .push(", ")
                .bind(n.voided_at.map(|v| v.0))
                .push(", ")
                .bind(n.voided_at.map(|v| v.1))
                .push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

async fn insert_context(tx: &mut Tx, new: &[NewFact]) -> Result<(), StoreError> {
    let rows: Vec<(&NewFact, i64, &str)> = new
        .iter()
        .flat_map(|n| {
            let f = &n.fact;
            let parents = f.parents.iter().map(|a| (ContextKind::Parent, a));
            let groupings = f.groupings.iter().map(|a| (ContextKind::Grouping, a));
            parents
                .chain(groupings)
                .map(move |(kind, a)| (n, kind as i64, a.as_str()))
        })
        .collect();
    for chunk in rows.chunks(MAX_PARAMS / 6) {
        let mut sql = Sql::new(
            "INSERT INTO analytics_fact_context (tenant, kind, activity, learner, child, \
             statement_id) VALUES ",
        );
        for (i, (n, kind, activity)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(n.tenant.clone())
                .push(", ")
                .bind(*kind)
                .push(", ")
                .bind((*activity).to_owned())
                .push(", ")
                .bind(n.fact.learner.clone())
                .push(", ")
                .bind(n.fact.activity.clone())
                .push(", ")
                .bind(n.fact.statement_id.clone())
                .push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// Stored states of exactly the given pairs (`(learner, activity) IN (VALUES …)`, one
/// query per tenant and chunk; both backends answer it from the primary key).
async fn load_states<'a>(
    tx: &mut Tx,
    pairs: impl Iterator<Item = &'a Pair>,
) -> Result<BTreeMap<Pair, ProgressState>, StoreError> {
    let mut by_tenant: BTreeMap<&str, Vec<&Pair>> = BTreeMap::new();
    for p in pairs {
        by_tenant.entry(&p.0).or_default().push(p);
    }
    let mut out = BTreeMap::new();
    for (tenant, pairs) in by_tenant {
        for chunk in pairs.chunks(MAX_PARAMS / 2 - 1) {
            let mut sql = Sql::new("SELECT state FROM analytics_progress WHERE tenant = ");
            sql.bind(tenant.to_owned())
                .push(" AND (learner, activity) IN (VALUES ");
            for (i, (_, learner, activity)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" })
                    .bind(learner.clone())
                    .push(", ")
                    .bind(activity.clone())
                    .push(")");
            }
            sql.push(")");
            for row in fetch_all!(sql, &mut **tx).map_err(db_err)? {
                let text: String = row.try_get(0).map_err(db_err)?;
                let state: ProgressState = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Database(format!("analytics_progress.state: {e}")))?;
                let key = (
                    tenant.to_owned(),
                    state.learner.clone(),
                    state.activity.clone(),
                );
                out.insert(key, state);
            }
        }
    }
    Ok(out)
}

/// Folds the pair's visible facts afresh; None when none is left.
async fn refold_pair(tx: &mut Tx, pair: &Pair) -> Result<Option<ProgressState>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {FACT_COLUMNS} FROM analytics_facts f WHERE f.tenant = "
    ));
    sql.bind(pair.0.clone())
        .push(" AND f.learner = ")
        .bind(pair.1.clone())
        .push(" AND f.activity = ")
        .bind(pair.2.clone())
        .push(" AND f.voided_offset IS NULL");
    let facts = fetch_all!(sql, &mut **tx)
        .map_err(db_err)?
        .iter()
        .map(fact_from_row)
        .collect::<Result<Vec<Fact>, _>>()?;
    Ok(ProgressState::from_facts(&facts))
}

async fn delete_state(tx: &mut Tx, pair: &Pair) -> Result<(), StoreError> {
    let mut sql = Sql::new("DELETE FROM analytics_progress WHERE tenant = ");
    sql.bind(pair.0.clone())
        .push(" AND learner = ")
        .bind(pair.1.clone())
        .push(" AND activity = ")
        .bind(pair.2.clone());
    execute!(sql, &mut **tx).map_err(db_err)?;
    Ok(())
}

async fn upsert_states(tx: &mut Tx, states: &[(String, ProgressState)]) -> Result<(), StoreError> {
    const COLS: usize = 14;
    for chunk in states.chunks(MAX_PARAMS / (COLS + 2)) {
        let mut sql = Sql::new(
            "INSERT INTO analytics_progress (tenant, learner, activity, statements, first_ms, last_ms, \
             completed_ms, completed_day, status, best_score, last_score, time_spent_cs, attempts, \
             state) VALUES ",
        );
        for (i, (tenant, s)) in chunk.iter().enumerate() {
            let state = serde_json::to_string(s)
                .map_err(|e| StoreError::Database(format!("progress state: {e}")))?;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(tenant.clone())
                .push(", ")
                .bind(s.learner.clone())
                .push(", ")
                .bind(s.activity.clone())
                .push(", ")
                .bind(s.statements)
                .push(", ")
                .bind(s.first_ms)
                .push(", ")
                .bind(s.last_ms)
                .push(", ")
                .bind(s.completed_ms)
                .push(", ")
                .bind(s.completed_ms.map(day_of))
                .push(", ")
                .bind(s.status.map(|st| st.as_str().to_owned()))
                .push(", ")
                .bind_f64_or_null(s.best_score)
                .push(", ")
                .bind_f64_or_null(s.last_score)
                .push(", ")
                .bind(s.time_spent_cs)
                .push(", ")
                .bind(s.attempts())
                .push(", ")
                .bind(state)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (tenant, learner, activity) DO UPDATE SET statements = excluded.statements, \
             first_ms = excluded.first_ms, last_ms = excluded.last_ms, completed_ms = excluded.completed_ms, \
             completed_day = excluded.completed_day, \
             status = excluded.status, best_score = excluded.best_score, last_score = excluded.last_score, \
             time_spent_cs = excluded.time_spent_cs, attempts = excluded.attempts, state = excluded.state",
        );
        execute!(sql, &mut **tx).map_err(db_err)?;
    }
    Ok(())
}

/// The current definition of a path (None if it never existed or was deleted).
async fn current_definition(
    tx: &mut Tx,
    tenant: &str,
    path_id: &str,
) -> Result<Option<String>, StoreError> {
    let mut sql = Sql::new("SELECT definition FROM analytics_paths WHERE tenant = ");
    sql.bind(tenant.to_owned())
        .push(" AND path_id = ")
        .bind(path_id.to_owned())
        .push(" ORDER BY log_offset DESC LIMIT 1");
    Ok(match fetch_all!(sql, &mut **tx).map_err(db_err)?.first() {
        Some(row) => row.try_get::<Option<String>, _>(0).map_err(db_err)?,
        None => None,
    })
}

async fn insert_version(
    tx: &mut Tx,
    tenant: &str,
    path_id: &str,
    log_offset: i64,
    stored_ms: i64,
    definition: Option<String>,
) -> Result<(), StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO analytics_paths (tenant, path_id, log_offset, stored_ms, definition) VALUES (",
    );
    sql.bind(tenant.to_owned())
        .push(", ")
        .bind(path_id.to_owned())
        .push(", ")
        .bind(log_offset)
        .push(", ")
        .bind(stored_ms)
        .push(", ")
        .bind(definition)
        .push(") ON CONFLICT DO NOTHING");
    execute!(sql, &mut **tx).map_err(db_err)?;
    Ok(())
}

/// `path.defined`: 201 for a new path, 200 for a replaced one, 400 for a definition
/// that does not hold (ingest checks first; a hand-written event might not).
pub(crate) async fn define_path(
    tx: &mut Tx,
    tenant: &str,
    log_offset: i64,
    stored_ms: i64,
    p: &PathDefined,
) -> Result<(u16, Option<String>), StoreError> {
    let definition = serde_json::json!({"name": p.name, "steps": p.steps});
    let checked = match PathDefinition::from_json(&definition) {
        Ok(d) => d,
        Err(e) => return Ok((400, Some(e))),
    };
    let existed = current_definition(tx, tenant, &p.path_id).await?.is_some();
    let text = serde_json::to_string(&checked)
        .map_err(|e| StoreError::Database(format!("path definition: {e}")))?;
    insert_version(tx, tenant, &p.path_id, log_offset, stored_ms, Some(text)).await?;
    Ok(if existed { (200, None) } else { (201, None) })
}

/// `path.deleted`: 204, or 404 when there is no such path.
pub(crate) async fn delete_path(
    tx: &mut Tx,
    tenant: &str,
    log_offset: i64,
    stored_ms: i64,
    p: &PathDeleted,
) -> Result<(u16, Option<String>), StoreError> {
    if current_definition(tx, tenant, &p.path_id).await?.is_none() {
        return Ok((404, Some(format!("no learning path {:?}", p.path_id))));
    }
    insert_version(tx, tenant, &p.path_id, log_offset, stored_ms, None).await?;
    Ok((204, None))
}
