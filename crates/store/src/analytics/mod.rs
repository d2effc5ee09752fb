//! Analytics read models (issue 6) in SQL: the projector side (`project`: facts,
//! context activities, progress, path definitions) and the query side (`reads`).
//!
//! Facts are bitemporal (visible from their own position until the position of their
//! voiding statement), so every query takes an [`AsOf`] and a time range through one
//! predicate, [`push_facts_filter`].

mod counters;
mod project;
mod reads;

pub(crate) use project::{define_path, delete_path, project, NewFact, VoidedFact};
pub(crate) use reads::AnalyticsReads;

use crate::sql::Sql;
use lrs_core::analytics::{AnalyticsFilter, AsOf, Fact};
use lrs_core::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The fact columns read back, in [`fact_from_row`] order.
pub(crate) const FACT_COLUMNS: &str = "f.statement_id, f.learner, f.activity, f.verb, f.ts_ms, \
     f.stored_ms, f.registration, f.completes, f.success, f.scaled, f.duration_cs";

pub(crate) fn fact_from_row(row: &AnyRow) -> Result<Fact, StoreError> {
    let e = crate::db_err;
    let success: Option<i64> = row.try_get(8).map_err(e)?;
    let completes: i64 = row.try_get(7).map_err(e)?;
    Ok(Fact {
        statement_id: row.try_get(0).map_err(e)?,
        learner: row.try_get(1).map_err(e)?,
        activity: row.try_get(2).map_err(e)?,
        verb: row.try_get(3).map_err(e)?,
        timestamp_ms: row.try_get(4).map_err(e)?,
        stored_ms: row.try_get(5).map_err(e)?,
        registration: row.try_get(6).map_err(e)?,
        completes: completes != 0,
        success: success.map(|s| s != 0),
        scaled: row.try_get(9).map_err(e)?,
        duration_cs: row.try_get(10).map_err(e)?,
        parents: Vec::new(),
        groupings: Vec::new(),
    })
}

/// Appends ` AND …` conditions selecting the facts (alias `f`) visible at `as_of`.
pub(crate) fn push_visibility(sql: &mut Sql, as_of: AsOf) {
    match as_of {
        AsOf::Now => {
            sql.push(" AND f.voided_offset IS NULL");
        }
        AsOf::Time(t) => {
            sql.push(" AND f.stored_ms <= ")
                .bind(t)
                .push(" AND (f.voided_ms IS NULL OR f.voided_ms > ")
                .bind(t)
                .push(")");
        }
        AsOf::Position(p) => {
            sql.push(" AND f.log_offset <= ")
                .bind(p)
                .push(" AND (f.voided_offset IS NULL OR f.voided_offset > ")
                .bind(p)
                .push(")");
        }
    }
}

/// Appends ` WHERE f.tenant = … AND …`: visibility, time range, learners, activities.
pub(crate) fn push_facts_filter(sql: &mut Sql, tenant: &str, filter: &AnalyticsFilter) {
    sql.push(" WHERE f.tenant = ").bind(tenant.to_owned());
    push_visibility(sql, filter.as_of);
    if let Some(since) = filter.since_ms {
        sql.push(" AND f.ts_ms >= ").bind(since);
    }
    if let Some(until) = filter.until_ms {
        sql.push(" AND f.ts_ms < ").bind(until);
    }
    if let Some(learners) = &filter.learners {
        push_in(sql, "f.learner", learners);
    }
    if let Some(activities) = &filter.activities {
        push_in(sql, "f.activity", activities);
    }
}

/// ` AND column IN (…)`, or a condition matching nothing for an empty list.
pub(crate) fn push_in(sql: &mut Sql, column: &str, values: &[String]) {
    if values.is_empty() {
        sql.push(" AND 1 = 0");
    } else {
        sql.push(&format!(" AND {column} IN "))
            .bind_list(values.iter().cloned());
    }
}
