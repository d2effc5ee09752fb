//! The query side of the analytics read models.

use super::{fact_from_row, push_facts_filter, push_in, FACT_COLUMNS};
use crate::db_err;
use crate::sql::{fetch_all, Backend, Sql};
use async_trait::async_trait;
use futures::TryStreamExt;
use lrs_core::analytics::figures::{DayCounts, LearnerCounts};
use lrs_core::analytics::paths::{PathDefinition, Transition};
use lrs_core::analytics::{
    day_of, AnalyticsFilter, AnalyticsStore, AppliedPosition, AsOf, ContextKind, ProgressState,
    StoredPath,
};
use lrs_core::store::StoreError;
use lrs_core::TenantId;
use sqlx::{AnyPool, Row};
use std::collections::BTreeMap;

#[derive(Clone)]
pub(crate) struct AnalyticsReads {
    pub pool: AnyPool,
}

impl AnalyticsReads {
    async fn stored_progress(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<ProgressState>, StoreError> {
        let mut sql = Sql::new("SELECT f.state FROM analytics_progress f");
        if filter.learners.is_none() && filter.activities.is_some() && self.pool.is_sqlite() {
            // Without statistics SQLite walks the primary key's tenant prefix (every row
            // of the tenant) rather than this index.
            sql.push(" INDEXED BY analytics_progress_activity");
        }
        sql.push(" WHERE f.tenant = ")
            .bind(tenant.as_str().to_owned());
        if let Some(learners) = &filter.learners {
            push_in(&mut sql, "f.learner", learners);
        }
        if let Some(activities) = &filter.activities {
            push_in(&mut sql, "f.activity", activities);
        }
        // Sorted here: an ORDER BY would lead SQLite to walk the primary key instead of
        // the activity index.
        let mut states = fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                let text: String = row.try_get(0).map_err(db_err)?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Database(format!("analytics_progress.state: {e}")))
            })
            .collect::<Result<Vec<ProgressState>, _>>()?;
        states.sort_by(|a, b| (&a.learner, &a.activity).cmp(&(&b.learner, &b.activity)));
        Ok(states)
    }

    /// Streams the matching facts ordered by pair and folds each pair.
    async fn folded_progress(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<ProgressState>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {FACT_COLUMNS} FROM analytics_facts f"));
        push_facts_filter(&mut sql, tenant.as_str(), filter);
        sql.push(" ORDER BY f.learner, f.activity");
        let (text, args) = sql.build(self.pool.is_sqlite());
        let mut rows = sqlx::query_with(&text, args).fetch(&self.pool);
        let mut out: Vec<ProgressState> = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(db_err)? {
            let fact = fact_from_row(&row)?;
            match out.last_mut() {
                Some(s) if s.learner == fact.learner && s.activity == fact.activity => s.add(&fact),
                _ => {
                    let mut s = ProgressState::new(&fact.learner, &fact.activity);
                    s.add(&fact);
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    /// children(A) over the facts visible under `filter` (any learner, any activity).
    fn children_from_facts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        parents: &[String],
    ) -> Sql {
        let mut sql = Sql::new(
            "SELECT DISTINCT c.activity, f.activity FROM analytics_fact_context c \
             JOIN analytics_facts f ON f.tenant = c.tenant AND f.learner = c.learner \
             AND f.activity = c.child AND f.statement_id = c.statement_id",
        );
        let any_learner = AnalyticsFilter {
            learners: None,
            activities: None,
            ..filter.clone()
        };
        push_facts_filter(&mut sql, tenant.as_str(), &any_learner);
        sql.push(" AND c.kind = ").bind(ContextKind::Parent as i64);
        push_in(&mut sql, "c.activity", parents);
        sql
    }
}

#[async_trait]
impl AnalyticsStore for AnalyticsReads {
    async fn progress(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<ProgressState>, StoreError> {
        if filter.is_current_and_unbounded() {
            self.stored_progress(tenant, filter).await
        } else {
            self.folded_progress(tenant, filter).await
        }
    }

    async fn children(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        parents: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if parents.is_empty() {
            return Ok(out);
        }
        let mut sql = if filter.is_current_and_unbounded() {
            let mut sql =
                Sql::new("SELECT parent, child FROM analytics_children f WHERE f.tenant = ");
            sql.bind(tenant.as_str().to_owned());
            push_in(&mut sql, "f.parent", parents);
            sql
        } else {
            self.children_from_facts(tenant, filter, parents)
        };
        sql.push(" ORDER BY 1, 2");
        for row in fetch_all!(sql, &self.pool).map_err(db_err)? {
            let parent: String = row.try_get(0).map_err(db_err)?;
            out.entry(parent)
                .or_default()
                .push(row.try_get(1).map_err(db_err)?);
        }
        Ok(out)
    }

    async fn completions_per_day(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if !filter.is_current_and_unbounded() {
            let mut days: BTreeMap<String, i64> = BTreeMap::new();
            for p in self.folded_progress(tenant, filter).await? {
                if let Some(ms) = p.completed_ms {
                    *days.entry(day_of(ms)).or_default() += 1;
                }
            }
            return Ok(days.into_iter().collect());
        }
        let mut sql = Sql::new(
            "SELECT f.completed_day, COUNT(*) FROM analytics_progress f WHERE f.tenant = ",
        );
        sql.bind(tenant.as_str().to_owned())
            .push(" AND f.completed_day IS NOT NULL");
        if let Some(learners) = &filter.learners {
            push_in(&mut sql, "f.learner", learners);
        }
        if let Some(activities) = &filter.activities {
            push_in(&mut sql, "f.activity", activities);
        }
        sql.push(" GROUP BY f.completed_day ORDER BY 1");
        fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0).map_err(db_err)?,
                    row.try_get(1).map_err(db_err)?,
                ))
            })
            .collect()
    }

    async fn day_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<DayCounts>, StoreError> {
        let mut sql = if filter.counters_answer() {
            let mut sql = Sql::new(
                "SELECT f.day, CAST(SUM(f.statements) AS BIGINT), COUNT(*), \
                 CAST(SUM(f.time_spent_cs) AS BIGINT) FROM analytics_learner_days f",
            );
            push_counters_filter(&mut sql, tenant.as_str(), filter);
            sql
        } else {
            let mut sql = Sql::new(
                "SELECT f.day, COUNT(*), COUNT(DISTINCT f.learner), \
                 CAST(SUM(f.duration_cs) AS BIGINT) FROM analytics_facts f",
            );
            push_facts_filter(&mut sql, tenant.as_str(), filter);
            sql
        };
        sql.push(" GROUP BY f.day ORDER BY f.day");
        fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(DayCounts {
                    day: row.try_get(0).map_err(db_err)?,
                    statements: row.try_get(1).map_err(db_err)?,
                    active_learners: row.try_get(2).map_err(db_err)?,
                    time_spent_cs: row.try_get(3).map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn verb_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut sql = if filter.counters_answer() {
            let mut sql = Sql::new(
                "SELECT f.verb, CAST(SUM(f.statements) AS BIGINT) FROM analytics_learner_verbs f",
            );
            push_counters_filter(&mut sql, tenant.as_str(), filter);
            sql
        } else {
            let mut sql = Sql::new("SELECT f.verb, COUNT(*) FROM analytics_facts f");
            push_facts_filter(&mut sql, tenant.as_str(), filter);
            sql
        };
        sql.push(" GROUP BY f.verb ORDER BY 2 DESC, 1");
        fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(0).map_err(db_err)?,
                    row.try_get(1).map_err(db_err)?,
                ))
            })
            .collect()
    }

    async fn learner_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        window: (&str, &str),
    ) -> Result<Vec<LearnerCounts>, StoreError> {
        let mut sql =
            Sql::new("SELECT f.learner, COUNT(DISTINCT f.day), COUNT(DISTINCT CASE WHEN f.day >= ");
        sql.bind(window.0.to_owned())
            .push(" AND f.day <= ")
            .bind(window.1.to_owned());
        if filter.counters_answer() {
            sql.push(
                " THEN f.day END), (SELECT COUNT(*) FROM analytics_learner_sessions s \
                 WHERE s.tenant = ",
            )
            .bind(tenant.as_str().to_owned())
            .push(" AND s.learner = f.learner) FROM analytics_learner_days f");
            push_counters_filter(&mut sql, tenant.as_str(), filter);
        } else {
            sql.push(
                " THEN f.day END), COUNT(DISTINCT COALESCE(f.registration, '')) FROM analytics_facts f",
            );
            push_facts_filter(&mut sql, tenant.as_str(), filter);
        }
        sql.push(" GROUP BY f.learner ORDER BY f.learner");
        fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(LearnerCounts {
                    learner: row.try_get(0).map_err(db_err)?,
                    active_days: row.try_get(1).map_err(db_err)?,
                    engagement: row.try_get(2).map_err(db_err)?,
                    sessions: row.try_get(3).map_err(db_err)?,
                })
            })
            .collect()
    }

    /// Consecutive statements of a registration (by timestamp, stored, id) on different
    /// activities make one transition; repeats of an activity collapse into one visit.
    async fn transitions(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        grouping: Option<&str>,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut sql = Sql::new(
            "SELECT previous, activity, COUNT(*) FROM (SELECT f.activity, LAG(f.activity) OVER \
             (PARTITION BY f.registration ORDER BY f.ts_ms, f.stored_ms, f.statement_id) AS previous \
             FROM analytics_facts f",
        );
        push_facts_filter(&mut sql, tenant.as_str(), filter);
        sql.push(" AND f.registration IS NOT NULL");
        if let Some(g) = grouping {
            sql.push(
                " AND EXISTS (SELECT 1 FROM analytics_fact_context c WHERE c.tenant = f.tenant \
                 AND c.kind = ",
            )
            .bind(ContextKind::Grouping as i64)
            .push(" AND c.activity = ")
            .bind(g.to_owned())
            .push(
                " AND c.learner = f.learner AND c.child = f.activity \
                 AND c.statement_id = f.statement_id)",
            );
        }
        sql.push(
            ") t WHERE previous IS NOT NULL AND previous <> activity GROUP BY previous, activity \
             ORDER BY 3 DESC, 1, 2",
        );
        fetch_all!(sql, &self.pool)
            .map_err(db_err)?
            .iter()
            .map(|row| {
                Ok(Transition {
                    from: row.try_get(0).map_err(db_err)?,
                    to: row.try_get(1).map_err(db_err)?,
                    count: row.try_get(2).map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn paths(&self, tenant: &TenantId, as_of: AsOf) -> Result<Vec<StoredPath>, StoreError> {
        let mut sql = Sql::new(
            "SELECT path_id, log_offset, stored_ms, definition FROM analytics_paths WHERE tenant = ",
        );
        sql.bind(tenant.as_str().to_owned());
        match as_of {
            AsOf::Now => {}
            AsOf::Time(t) => {
                sql.push(" AND stored_ms <= ").bind(t);
            }
            AsOf::Position(p) => {
                sql.push(" AND log_offset <= ").bind(p);
            }
        }
        sql.push(" ORDER BY path_id, log_offset");
        let mut latest: BTreeMap<String, (i64, i64, Option<String>)> = BTreeMap::new();
        for row in fetch_all!(sql, &self.pool).map_err(db_err)? {
            latest.insert(
                row.try_get(0).map_err(db_err)?,
                (
                    row.try_get(1).map_err(db_err)?,
                    row.try_get(2).map_err(db_err)?,
                    row.try_get(3).map_err(db_err)?,
                ),
            );
        }
        let mut out = Vec::new();
        for (path_id, (log_offset, updated_ms, definition)) in latest {
            let Some(text) = definition else { continue };
            let definition: PathDefinition = serde_json::from_str(&text)
                .map_err(|e| StoreError::Database(format!("analytics_paths.definition: {e}")))?;
            out.push(StoredPath {
                path_id,
                definition,
                updated_ms,
                log_offset,
            });
        }
        Ok(out)
    }

    async fn position_time(
        &self,
        tenant: &TenantId,
        offset: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut sql = Sql::new("SELECT MAX(f.stored_ms) FROM analytics_facts f WHERE f.tenant = ");
        sql.bind(tenant.as_str().to_owned())
            .push(" AND f.log_offset <= ")
            .bind(offset);
        let rows = fetch_all!(sql, &self.pool).map_err(db_err)?;
        match rows.first() {
            Some(row) => row.try_get::<Option<i64>, _>(0).map_err(db_err),
            None => Ok(None),
        }
    }

    async fn applied_position(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<AppliedPosition>, StoreError> {
        let mut sql = Sql::new(
            "SELECT applied_partition, applied_offset, applied_ms FROM lrs_tenants WHERE tenant = ",
        );
        sql.bind(tenant.as_str().to_owned());
        let rows = fetch_all!(sql, &self.pool).map_err(db_err)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let offset: i64 = row.try_get(1).map_err(db_err)?;
        Ok((offset >= 0)
            .then(|| -> Result<AppliedPosition, StoreError> {
                Ok(AppliedPosition {
                    partition: row.try_get(0).map_err(db_err)?,
                    offset,
                    received_ms: row.try_get(2).map_err(db_err)?,
                })
            })
            .transpose()?)
    }
}

/// ` WHERE f.tenant = … [AND f.learner IN …]` over a counter table.
fn push_counters_filter(sql: &mut Sql, tenant: &str, filter: &AnalyticsFilter) {
    sql.push(" WHERE f.tenant = ").bind(tenant.to_owned());
    if let Some(learners) = &filter.learners {
        push_in(sql, "f.learner", learners);
    }
}
