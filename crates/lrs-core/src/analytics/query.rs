//! What the query side asks of the read store for analytics: the filter every figure
//! takes, and the [`AnalyticsStore`] trait the SQL store implements.

use super::figures::{DayCounts, LearnerCounts};
use super::paths::{PathDefinition, Transition};
use super::progress::ProgressState;
use crate::store::StoreError;
use crate::TenantId;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// The moment figures are computed for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AsOf {
    /// The current read models.
    #[default]
    Now,
    /// As they stood when the LRS had stored everything up to this time (ms).
    Time(i64),
    /// As they stood after the tenant's events up to this log offset (a tenant's events
    /// all live in one partition: the Kafka key is the tenant).
    Position(i64),
}

/// Which statements count for a figure. Every filter restricts the facts the figure is
/// computed from, so a time range gives the figures as if only those statements existed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalyticsFilter {
    pub as_of: AsOf,
    /// `timestamp` ≥ since (ms).
    pub since_ms: Option<i64>,
    /// `timestamp` < until (ms).
    pub until_ms: Option<i64>,
    /// Only these activities (object ids).
    pub activities: Option<Vec<String>>,
    /// Only these learners (agent keys).
    pub learners: Option<Vec<String>>,
}

impl AnalyticsFilter {
    /// Whether the stored progress table answers as is (no range, current state).
    pub fn is_current_and_unbounded(&self) -> bool {
        self.as_of == AsOf::Now && self.since_ms.is_none() && self.until_ms.is_none()
    }

    /// Whether the projector's counters answer as is (current, unbounded, any activity).
    pub fn counters_answer(&self) -> bool {
        self.is_current_and_unbounded() && self.activities.is_none()
    }

    /// The same statements, any activity (roll-ups look at children of an activity).
    pub fn without_activities(&self) -> AnalyticsFilter {
        AnalyticsFilter {
            activities: None,
            ..self.clone()
        }
    }
}

/// A path definition as stored, with when it was last changed.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPath {
    pub path_id: String,
    pub definition: PathDefinition,
    pub updated_ms: i64,
    pub log_offset: i64,
}

/// Freshness of a tenant's read models: the last log position applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppliedPosition {
    pub partition: i64,
    pub offset: i64,
    /// `received_at` of that event (ms).
    pub received_ms: i64,
}

/// Read side of the analytics read models.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Progress states matching `filter`, ordered by (learner, activity): the stored ones
    /// when the filter allows, else folded from the visible facts.
    async fn progress(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<ProgressState>, StoreError>;

    /// children(A) for each of `parents`: distinct activities of visible facts having A
    /// as a `parent` context activity.
    async fn children(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        parents: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, StoreError>;

    /// (learner, activity) pairs completed per UTC day of `completed_at`, by day.
    async fn completions_per_day(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Statements, distinct learners and time spent per UTC day.
    async fn day_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<DayCounts>, StoreError>;

    /// Statements per verb.
    async fn verb_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
    ) -> Result<Vec<(String, i64)>, StoreError>;

    /// Active days, days active in `[window.0, window.1]` (UTC dates) and sessions per
    /// learner.
    async fn learner_counts(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        window: (&str, &str),
    ) -> Result<Vec<LearnerCounts>, StoreError>;

    /// Observed transitions, optionally only over statements with `grouping` among their
    /// grouping context activities.
    async fn transitions(
        &self,
        tenant: &TenantId,
        filter: &AnalyticsFilter,
        grouping: Option<&str>,
    ) -> Result<Vec<Transition>, StoreError>;

    /// Path definitions as of `as_of`, ordered by id.
    async fn paths(&self, tenant: &TenantId, as_of: AsOf) -> Result<Vec<StoredPath>, StoreError>;

    /// The latest `stored` (ms) of the tenant's facts up to log offset `offset`: the
    /// moment a log position stands for.
    async fn position_time(
        &self,
        tenant: &TenantId,
        offset: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// The last position applied for the tenant (None before its first event).
    async fn applied_position(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<AppliedPosition>, StoreError>;
}
