//! Rebuilding chosen projections in place (`lrs replay --projection`): the tables of a
//! projection, freshly replayed into a scratch store, replace the live ones in one
//! transaction, taken under the live projector's position lock and only if the live
//! store has applied exactly the log prefix the scratch store was built from, so no
//! event is missing from, or applied twice to, the copied rows.

use crate::sql::{execute, fetch_all, Backend, Sql};
use crate::{db_err, SqlStore, MAX_PARAMS};
use futures::TryStreamExt;
use lrs_core::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// A read model that can be rebuilt on its own: it is derived from events and depends on
/// no other table being rebuilt with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    /// Facts, progress and learning paths (issue 6).
    Analytics,
    /// State, Activity Profile and Agent Profile documents.
    Documents,
    /// The statement-to-event index of the audit trail.
    Audit,
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Float,
    Text,
    Blob,
}

use Kind::{Blob, Float, Int, Text};

type Table = (&'static str, &'static [(&'static str, Kind)]);

impl Projection {
    pub fn parse(s: &str) -> Option<Projection> {
        match s {
            "analytics" => Some(Projection::Analytics),
            "documents" => Some(Projection::Documents),
            "audit" => Some(Projection::Audit),
            _ => None,
        }
    }

    pub const NAMES: &'static str = "analytics, documents, audit";

    /// Its tables with their columns (every one has a `tenant` column).
    fn tables(self) -> &'static [Table] {
        match self {
            Projection::Analytics => &[
                (
                    "analytics_facts",
                    &[
                        ("tenant", Text),
                        ("statement_id", Text),
                        ("learner", Text),
                        ("activity", Text),
                        ("verb", Text),
                        ("ts_ms", Int),
                        ("day", Text),
                        ("stored_ms", Int),
                        ("registration", Text),
                        ("completes", Int),
                        ("success", Int),
                        ("scaled", Float),
                        ("duration_cs", Int),
                        ("log_offset", Int),
                        ("voided_offset", Int),
                        ("voided_ms", Int),
                    ],
                ),
                (
                    "analytics_fact_context",
                    &[
                        ("tenant", Text),
                        ("kind", Int),
                        ("activity", Text),
                        ("learner", Text),
                        ("child", Text),
                        ("statement_id", Text),
                    ],
                ),
                (
                    "analytics_progress",
                    &[
                        ("tenant", Text),
                        ("learner", Text),
                        ("activity", Text),
                        ("statements", Int),
                        ("first_ms", Int),
                        ("last_ms", Int),
                        ("completed_ms", Int),
                        ("completed_day", Text),
                        ("status", Text),
                        ("best_score", Float),
                        ("last_score", Float),
                        ("time_spent_cs", Int),
                        ("attempts", Int),
                        ("state", Text),
                    ],
                ),
                (
                    "analytics_learner_days",
                    &[
                        ("tenant", Text),
                        ("learner", Text),
                        ("day", Text),
                        ("statements", Int),
                        ("time_spent_cs", Int),
                    ],
                ),
                (
                    "analytics_learner_verbs",
                    &[
                        ("tenant", Text),
                        ("learner", Text),
                        ("verb", Text),
                        ("statements", Int),
                        ("time_spent_cs", Int),
                    ],
                ),
                (
                    "analytics_learner_sessions",
                    &[
                        ("tenant", Text),
                        ("learner", Text),
                        ("registration", Text),
                        ("statements", Int),
                        ("time_spent_cs", Int),
                    ],
                ),
                (
                    "analytics_children",
                    &[
                        ("tenant", Text),
                        ("parent", Text),
                        ("child", Text),
                        ("statements", Int),
                        ("time_spent_cs", Int),
                    ],
                ),
                (
                    "analytics_paths",
                    &[
                        ("tenant", Text),
                        ("path_id", Text),
                        ("log_offset", Int),
                        ("stored_ms", Int),
                        ("definition", Text),
                    ],
                ),
            ],
            Projection::Documents => &[(
                "xapi_documents",
                &[
                    ("tenant", Text),
                    ("kind", Text),
                    ("activity_id", Text),
                    ("agent", Text),
                    ("registration", Text),
                    ("document_id", Text),
                    ("content_type", Text),
                    ("body", Blob),
                    ("etag", Text),
                    ("updated_ms", Int),
                    ("event_id", Text),
                ],
            )],
            Projection::Audit => &[(
                "lrs_event_statements",
                &[("tenant", Text), ("statement_id", Text), ("event_id", Text)],
            )],
        }
    }
}

/// What a copy attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The tables were replaced; rows copied.
    Copied(u64),
    /// The live store's positions are not the ones the scratch store was built to (the
    /// live projector moved on, or is behind): nothing changed. Its positions now.
    PositionsDiffer(BTreeMap<i32, i64>),
}

/// One column value, bound with its column's type (nulls included).
enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

fn read(row: &AnyRow, i: usize, kind: Kind) -> Result<Value, StoreError> {
    Ok(match kind {
        Int => Value::Int(row.try_get(i).map_err(db_err)?),
        Float => Value::Float(row.try_get(i).map_err(db_err)?),
        Text => Value::Text(row.try_get(i).map_err(db_err)?),
        Blob => Value::Blob(row.try_get(i).map_err(db_err)?),
    })
}

fn bind(sql: &mut Sql, v: Value) {
    match v {
        Value::Int(v) => sql.bind(v),
        Value::Float(v) => sql.bind_f64_or_null(v),
        Value::Text(v) => sql.bind(v),
        Value::Blob(v) => sql.bind(v),
    };
}

/// `tenant IN (…)` for the chosen tenants, or nothing for all.
fn push_tenants(sql: &mut Sql, tenants: &[String]) {
    if !tenants.is_empty() {
        sql.push(" WHERE tenant IN ")
            .bind_list(tenants.iter().cloned());
    }
}

impl SqlStore {
    /// Replaces `projection`'s rows (of `tenants`, or all) in this store by those of
    /// `source`, if this store's positions for `consumer` equal `expected`.
    pub async fn replace_projection(
        &self,
        source: &SqlStore,
        projection: Projection,
        tenants: &[String],
        consumer: &str,
        expected: &BTreeMap<i32, i64>,
    ) -> Result<CopyOutcome, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        // Take the projector's lock first: SQLite by writing, PostgreSQL row locks.
        let mut touch =
            Sql::new("UPDATE lrs_positions SET last_offset = last_offset WHERE consumer = ");
        touch.bind(consumer.to_owned());
        execute!(touch, &mut *tx).map_err(db_err)?;
        let mut select =
            Sql::new("SELECT partition, last_offset FROM lrs_positions WHERE consumer = ");
        select.bind(consumer.to_owned());
        if !Backend::is_sqlite(&*tx) {
            select.push(" FOR UPDATE");
        }
        let mut live = BTreeMap::new();
        for row in fetch_all!(select, &mut *tx).map_err(db_err)? {
            let p: i64 = row.try_get(0).map_err(db_err)?;
            live.insert(p as i32, row.try_get::<i64, _>(1).map_err(db_err)?);
        }
        if &live != expected {
            tx.rollback().await.map_err(db_err)?;
            return Ok(CopyOutcome::PositionsDiffer(live));
        }
        let mut copied = 0u64;
        for (table, columns) in projection.tables() {
            let mut delete = Sql::new(&format!("DELETE FROM {table}"));
            push_tenants(&mut delete, tenants);
            execute!(delete, &mut *tx).map_err(db_err)?;
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let mut select = Sql::new(&format!("SELECT {} FROM {table}", names.join(", ")));
            push_tenants(&mut select, tenants);
            let (text, args) = select.build(source.reader.is_sqlite());
            let mut rows = sqlx::query_with(&text, args).fetch(&source.reader);
            let per_chunk = MAX_PARAMS / (columns.len() * 2);
            let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(per_chunk);
            loop {
                let row = rows.try_next().await.map_err(db_err)?;
                if let Some(row) = &row {
                    let values = columns
                        .iter()
                        .enumerate()
                        .map(|(i, (_, kind))| read(row, i, *kind))
                        .collect::<Result<Vec<_>, _>>()?;
                    chunk.push(values);
                }
                if chunk.len() >= per_chunk || (row.is_none() && !chunk.is_empty()) {
                    copied += chunk.len() as u64;
                    let mut insert = Sql::new(&format!(
                        "INSERT INTO {table} ({}) VALUES ",
                        names.join(", ")
                    ));
                    for (r, values) in chunk.drain(..).enumerate() {
                        insert.push(if r == 0 { "(" } else { ", (" });
                        for (i, v) in values.into_iter().enumerate() {
                            if i > 0 {
                                insert.push(", ");
                            }
                            bind(&mut insert, v);
                        }
                        insert.push(")");
                    }
                    execute!(insert, &mut *tx).map_err(db_err)?;
                }
                if row.is_none() {
                    break;
                }
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(CopyOutcome::Copied(copied))
    }
}
