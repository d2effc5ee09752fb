//! The tenant figures of issue 6 that derive from progress states: per activity, per
//! learner, and the completions of the daily series. Statement-level counts (statements
//! and active learners per day, per verb, active days, sessions) are aggregated by the
//! store in SQL and joined here.

use super::progress::{ProgressState, Status};
use serde::Serialize;
use std::collections::BTreeMap;

/// One day of the daily series (UTC date of `timestamp`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyFigures {
    pub day: String,
    pub statements: i64,
    pub active_learners: i64,
    /// (learner, activity) pairs whose `completed_at` falls on the day.
    pub completions: i64,
    /// Seconds.
    pub time_spent: f64,
}

/// Statement-level counts of one day, from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct DayCounts {
    pub day: String,
    pub statements: i64,
    pub active_learners: i64,
    pub time_spent_cs: i64,
}

/// Joins the day counts with the completions per day, ordered by day.
pub fn daily(days: Vec<DayCounts>, completions: Vec<(String, i64)>) -> Vec<DailyFigures> {
    let mut out: BTreeMap<String, DailyFigures> = days
        .into_iter()
        .map(|d| {
            (
                d.day.clone(),
                DailyFigures {
                    day: d.day,
                    statements: d.statements,
                    active_learners: d.active_learners,
                    completions: 0,
                    time_spent: d.time_spent_cs as f64 / 100.0,
                },
            )
        })
        .collect();
    for (day, n) in completions {
        out.entry(day.clone())
            .or_insert_with(|| DailyFigures {
                day,
                statements: 0,
                active_learners: 0,
                completions: 0,
                time_spent: 0.0,
            })
            .completions += n;
    }
    out.into_values().collect()
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityFigures {
    pub activity: String,
    pub learners: i64,
    pub completed_learners: i64,
    pub completion_rate: f64,
    pub passed_learners: i64,
    pub failed_learners: i64,
    /// Mean best scaled score over the learners having one; null if none has.
    pub avg_best_score: Option<f64>,
    /// Mean time spent (seconds) over all learners of the activity.
    pub avg_time_spent: f64,
}

/// Per-activity figures, ordered by activity id.
pub fn per_activity(progress: &[ProgressState]) -> Vec<ActivityFigures> {
    let mut by_activity: BTreeMap<&str, Vec<&ProgressState>> = BTreeMap::new();
    for p in progress {
        by_activity.entry(&p.activity).or_default().push(p);
    }
    by_activity
        .into_iter()
        .map(|(activity, rows)| {
            let learners = rows.len() as i64;
            let count =
                |f: &dyn Fn(&ProgressState) -> bool| rows.iter().filter(|p| f(p)).count() as i64;
            let completed_learners = count(&|p| p.completed());
            let scores: Vec<f64> = rows.iter().filter_map(|p| p.best_score).collect();
            let time_cs: i64 = rows.iter().map(|p| p.time_spent_cs).sum();
            ActivityFigures {
                activity: activity.to_owned(),
                learners,
                completed_learners,
                completion_rate: completed_learners as f64 / learners as f64,
                passed_learners: count(&|p| p.status == Some(Status::Passed)),
                failed_learners: count(&|p| p.status == Some(Status::Failed)),
                avg_best_score: mean(&scores),
                avg_time_spent: time_cs as f64 / 100.0 / learners as f64,
            }
        })
        .collect()
}

/// Statement-level counts of one learner, from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnerCounts {
    pub learner: String,
    pub active_days: i64,
    /// Active days within the 28-day window ending at `as_of`.
    pub engagement: i64,
    pub sessions: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnerFigures {
    pub learner: String,
    pub active_days: i64,
    pub engagement: i64,
    pub sessions: i64,
    /// Seconds.
    pub time_spent: f64,
    pub completions: i64,
    /// Completions per 7 days over [first_at, last_at], the span counted as ≥ 1 day.
    pub velocity: f64,
    /// Mean best scaled score over the learner's activities having one.
    pub mastery: Option<f64>,
    /// Activities whose status is `failed`, ordered by id.
    pub skill_gaps: Vec<String>,
    pub first_ms: i64,
    pub last_ms: i64,
}

const DAY_MS: f64 = 86_400_000.0;

/// Per-learner figures for the learners in `counts`, ordered by learner key.
pub fn per_learner(counts: Vec<LearnerCounts>, progress: &[ProgressState]) -> Vec<LearnerFigures> {
    let mut by_learner: BTreeMap<&str, Vec<&ProgressState>> = BTreeMap::new();
    for p in progress {
        by_learner.entry(&p.learner).or_default().push(p);
    }
    let mut out: Vec<LearnerFigures> = counts
        .into_iter()
        .filter_map(|c| {
            let rows = by_learner.get(c.learner.as_str())?;
            let completions = rows.iter().filter(|p| p.completed()).count() as i64;
            let first_ms = rows.iter().map(|p| p.first_ms).min()?;
            let last_ms = rows.iter().map(|p| p.last_ms).max()?;
            let span_days = ((last_ms - first_ms) as f64 / DAY_MS).max(1.0);
            let scores: Vec<f64> = rows.iter().filter_map(|p| p.best_score).collect();
            let mut skill_gaps: Vec<String> = rows
                .iter()
                .filter(|p| p.status == Some(Status::Failed))
                .map(|p| p.activity.clone())
                .collect();
            skill_gaps.sort();
            Some(LearnerFigures {
                active_days: c.active_days,
                engagement: c.engagement,
                sessions: c.sessions,
                time_spent: rows.iter().map(|p| p.time_spent_cs).sum::<i64>() as f64 / 100.0,
                completions,
                velocity: completions as f64 * 7.0 / span_days,
                mastery: mean(&scores),
                skill_gaps,
                first_ms,
                last_ms,
                learner: c.learner,
            })
        })
        .collect();
    out.sort_by(|a, b| a.learner.cmp(&b.learner));
    out
}

/// Arithmetic mean, summed in the given order (callers pass a deterministic order).
fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Roll-up: the share of `children` the learner completed; None without children.
pub fn rollup(children: &[String], completed_by_learner: impl Fn(&str) -> bool) -> Option<f64> {
    if children.is_empty() {
        return None;
    }
    let done = children.iter().filter(|c| completed_by_learner(c)).count();
    Some(done as f64 / children.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(learner: &str, activity: &str) -> ProgressState {
        let mut p = ProgressState::new(learner, activity);
        p.statements = 1;
        p.first_ms = 0;
        p.last_ms = 0;
        p
    }

    #[test]
    fn per_activity_rates_and_means() {
        let mut a = state("L1", "A");
        a.completed_ms = Some(0);
        a.best_score = Some(0.5);
        a.status = Some(Status::Passed);
        a.time_spent_cs = 1000;
        let mut b = state("L2", "A");
        b.status = Some(Status::Failed);
        let rows = per_activity(&[a, b]);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.learners, r.completed_learners), (2, 1));
        assert_eq!(r.completion_rate, 0.5);
        assert_eq!((r.passed_learners, r.failed_learners), (1, 1));
        assert_eq!(r.avg_best_score, Some(0.5));
        assert_eq!(r.avg_time_spent, 5.0);
    }

    #[test]
    fn velocity_counts_a_short_span_as_one_day() {
        let mut a = state("L", "A");
        a.completed_ms = Some(0);
        let mut b = state("L", "B");
        b.completed_ms = Some(0);
        b.last_ms = 3_600_000;
        let counts = vec![LearnerCounts {
            learner: "L".into(),
            active_days: 1,
            engagement: 1,
            sessions: 1,
        }];
        let rows = per_learner(counts, &[a, b]);
        assert_eq!(rows[0].completions, 2);
        assert_eq!(rows[0].velocity, 14.0);
        assert_eq!(rows[0].mastery, None);
    }

    #[test]
    fn rollup_is_absent_without_children() {
        assert_eq!(rollup(&[], |_| true), None);
        let kids = vec!["x".to_owned(), "y".to_owned()];
        assert_eq!(rollup(&kids, |c| c == "x"), Some(0.5));
    }
}
