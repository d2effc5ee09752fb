//! Counters of the current facts (`analytics_learner_days`, `_learner_verbs`,
//! `_learner_sessions`, `analytics_children`): the projector adds each batch's deltas
//! (+1 per new fact, −1 per voided one) so the current figures are read from a few
//! small rows instead of a scan of every fact.

use crate::sql::{execute, Sql};
use crate::{db_err, MAX_PARAMS};
use lrs_core::analytics::{day_of, Fact};
use lrs_core::store::StoreError;
use sqlx::any::Any;
use sqlx::Transaction;
use std::collections::BTreeMap;

type Tx = Transaction<'static, Any>;
/// (tenant, first key, second key) → (statements, time spent in cs).
type Deltas = BTreeMap<(String, String, String), (i64, i64)>;

/// The counter tables and their two key columns after `tenant`.
const TABLES: [(&str, &str, &str); 4] = [
    ("analytics_learner_days", "learner", "day"),
    ("analytics_learner_verbs", "learner", "verb"),
    ("analytics_learner_sessions", "learner", "registration"),
    ("analytics_children", "parent", "child"),
];

/// A batch's deltas, per table in [`TABLES`] order.
#[derive(Default)]
pub(crate) struct Counters([Deltas; 4]);

impl Counters {
    /// Counts `fact` in (`sign` = 1) or out (−1).
    pub fn add(&mut self, tenant: &str, f: &Fact, sign: i64) {
        let cs = f.duration_cs * sign;
        let mut bump = |table: usize, a: &str, b: &str| {
            let e = self.0[table]
                .entry((tenant.to_owned(), a.to_owned(), b.to_owned()))
                .or_default();
            e.0 += sign;
            e.1 += cs;
        };
        bump(0, &f.learner, &day_of(f.timestamp_ms));
        bump(1, &f.learner, &f.verb);
        bump(2, &f.learner, f.registration.as_deref().unwrap_or(""));
        for parent in &f.parents {
            bump(3, parent, &f.activity);
        }
    }

    /// Applies the deltas; rows counted down to zero are removed.
    pub async fn write(self, tx: &mut Tx) -> Result<(), StoreError> {
        for ((table, a, b), deltas) in TABLES.iter().zip(self.0) {
            let rows: Vec<_> = deltas.into_iter().filter(|(_, d)| *d != (0, 0)).collect();
            for chunk in rows.chunks(MAX_PARAMS / 5) {
                let mut sql = Sql::new(&format!(
                    "INSERT INTO {table} (tenant, {a}, {b}, statements, time_spent_cs) VALUES "
                ));
                for (i, ((tenant, ka, kb), (n, cs))) in chunk.iter().enumerate() {
                    sql.push(if i == 0 { "(" } else { ", (" })
                        .bind(tenant.clone())
                        .push(", ")
                        .bind(ka.clone())
                        .push(", ")
                        .bind(kb.clone())
                        .push(", ")
                        .bind(*n)
                        .push(", ")
                        .bind(*cs)
                        .push(")");
                }
                sql.push(&format!(
                    " ON CONFLICT (tenant, {a}, {b}) DO UPDATE SET \
                     statements = {table}.statements + excluded.statements, \
                     time_spent_cs = {table}.time_spent_cs + excluded.time_spent_cs"
                ));
                execute!(sql, &mut **tx).map_err(db_err)?;
            }
            for ((tenant, ka, kb), _) in rows.iter().filter(|(_, d)| d.0 < 0) {
                let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE tenant = "));
                sql.bind(tenant.clone())
                    .push(&format!(" AND {a} = "))
                    .bind(ka.clone())
                    .push(&format!(" AND {b} = "))
                    .bind(kb.clone())
                    .push(" AND statements <= 0");
                execute!(sql, &mut **tx).map_err(db_err)?;
            }
        }
        Ok(())
    }
}
