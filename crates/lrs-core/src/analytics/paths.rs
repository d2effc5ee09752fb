//! Learning paths: an org admin's ordered steps with prerequisites, how far each learner
//! got along one, and the routes learners really take (observed transitions).

use super::progress::ProgressState;
use crate::xapi::is_valid_iri;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One step of a path: an activity, and the steps that must be completed first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub activity: String,
    /// Activities of earlier or later steps; absent means "the previous step".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<Vec<String>>,
}

/// A path as an admin defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathDefinition {
    pub name: String,
    pub steps: Vec<PathStep>,
}

/// Most steps in one path.
pub const MAX_STEPS: usize = 500;

impl PathDefinition {
    /// Checks an admin's JSON body; the error names the field.
    pub fn from_json(v: &Value) -> Result<PathDefinition, String> {
        let obj = v.as_object().ok_or("body: must be a JSON object")?;
        for key in obj.keys() {
            if key != "name" && key != "steps" {
                return Err(format!("{key}: unknown field (expected name and steps)"));
            }
        }
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err("name: must be a non-empty string".into()),
        };
        let steps = match obj.get("steps") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_STEPS => a,
            _ => return Err(format!("steps: must be an array of 1 to {MAX_STEPS} steps")),
        };
        let mut out = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            let at = |f: &str| format!("steps[{i}].{f}");
            let s = step
                .as_object()
                .ok_or(format!("steps[{i}]: must be an object"))?;
            for key in s.keys() {
                if key != "activity" && key != "prerequisites" {
                    return Err(format!("{}: unknown field", at(key)));
                }
            }
            let activity = match s.get("activity") {
                Some(Value::String(a)) if is_valid_iri(a) => a.clone(),
                _ => return Err(format!("{}: must be an activity IRI", at("activity"))),
            };
            let prerequisites = match s.get("prerequisites") {
                None => None,
                Some(Value::Array(list)) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(j, p)| {
                            p.as_str().map(str::to_owned).ok_or(format!(
                                "{}[{j}]: must be an activity IRI",
                                at("prerequisites")
                            ))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(_) => return Err(format!("{}: must be an array", at("prerequisites"))),
            };
            out.push(PathStep {
                activity,
                prerequisites,
            });
        }
        let def = PathDefinition { name, steps: out };
        def.check_references()?;
        Ok(def)
    }

    /// Steps are distinct, and prerequisites name other steps of the path.
    fn check_references(&self) -> Result<(), String> {
        let mut seen = HashMap::new();
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(j) = seen.insert(s.activity.as_str(), i) {
                return Err(format!(
                    "steps[{i}].activity: {} is already step {j}",
                    s.activity
                ));
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            for (j, p) in s.prerequisites.iter().flatten().enumerate() {
                if p == &s.activity || !seen.contains_key(p.as_str()) {
                    return Err(format!(
                        "steps[{i}].prerequisites[{j}]: {p} is not another step of this path"
                    ));
                }
            }
        }
        self.check_acyclic(&seen)
    }

    /// A step in a prerequisite cycle could never become `next`: refuse the cycle.
    fn check_acyclic(&self, index: &HashMap<&str, usize>) -> Result<(), String> {
        // 0 = unvisited, 1 = on the current path, 2 = done (iterative depth-first search).
        let mut state = vec![0u8; self.steps.len()];
        for start in 0..self.steps.len() {
            let mut stack = vec![(start, 0usize)];
            while let Some((i, k)) = stack.pop() {
                if k == 0 {
                    if state[i] == 2 {
                        continue;
                    }
                    state[i] = 1;
                }
                let prereqs = self.prerequisites(i);
                if let Some(p) = prereqs.get(k) {
                    stack.push((i, k + 1));
                    let j = index[p];
                    match state[j] {
                        1 => {
                            return Err(format!(
                                "steps[{i}].prerequisites: {p} leads back to {} (a cycle)",
                                self.steps[i].activity
                            ))
                        }
                        0 => stack.push((j, 0)),
                        _ => {}
                    }
                } else {
                    state[i] = 2;
                }
            }
        }
        Ok(())
    }

    /// The prerequisites of step `i`, defaults applied.
    pub fn prerequisites(&self, i: usize) -> Vec<&str> {
        match &self.steps[i].prerequisites {
            Some(list) => list.iter().map(String::as_str).collect(),
            None if i == 0 => Vec::new(),
            None => vec![self.steps[i - 1].activity.as_str()],
        }
    }
}

/// One learner on one path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnerPath {
    pub learner: String,
    /// Completed steps, in path order.
    pub completed_steps: Vec<String>,
    /// 100 × completed steps / steps.
    pub percent: f64,
    /// Steps not completed whose prerequisites all are, in path order.
    pub next: Vec<String>,
    /// First statement on any step.
    pub started_ms: i64,
    /// When the last step got completed: the latest completion, once all steps are.
    pub finished_ms: Option<i64>,
}

/// Where `learner` stands on `path`, from their progress by activity; None if they have
/// no statement on any step.
pub fn learner_path(
    path: &PathDefinition,
    learner: &str,
    progress: &HashMap<&str, &ProgressState>,
) -> Option<LearnerPath> {
    let on = |a: &str| progress.get(a).copied();
    let started_ms = path
        .steps
        .iter()
        .filter_map(|s| on(&s.activity))
        .map(|p| p.first_ms)
        .min()?;
    let done = |a: &str| on(a).is_some_and(ProgressState::completed);
    let completed_steps: Vec<String> = path
        .steps
        .iter()
        .filter(|s| done(&s.activity))
        .map(|s| s.activity.clone())
        .collect();
    let next = (0..path.steps.len())
        .filter(|&i| !done(&path.steps[i].activity))
        .filter(|&i| path.prerequisites(i).into_iter().all(done))
        .map(|i| path.steps[i].activity.clone())
        .collect();
    let finished_ms = if completed_steps.len() == path.steps.len() {
        path.steps
            .iter()
            .filter_map(|s| on(&s.activity).and_then(|p| p.completed_ms))
            .max()
    } else {
        None
    };
    Some(LearnerPath {
        learner: learner.to_owned(),
        percent: 100.0 * completed_steps.len() as f64 / path.steps.len() as f64,
        completed_steps,
        next,
        started_ms,
        finished_ms,
    })
}

/// Every learner's standing on `path`, ordered by learner key.
pub fn learners_on_path(path: &PathDefinition, progress: &[ProgressState]) -> Vec<LearnerPath> {
    let mut by_learner: BTreeMap<&str, HashMap<&str, &ProgressState>> = BTreeMap::new();
    for p in progress {
        by_learner
            .entry(&p.learner)
            .or_default()
            .insert(&p.activity, p);
    }
    by_learner
        .into_iter()
        .filter_map(|(learner, states)| learner_path(path, learner, &states))
        .collect()
}

/// Figures of one path over its learners.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathSummary {
    pub learners_started: i64,
    pub learners_finished: i64,
    /// Median of `finished_at − started_at` in seconds over finished learners (mean of the
    /// two middle values for an even count); null if nobody finished.
    pub median_time_to_finish: Option<f64>,
    /// The step where most unfinished learners stopped (their first step, in path order,
    /// not completed), ties going to the earlier step; null if nobody is unfinished.
    pub drop_off: Option<StepCount>,
    /// Unfinished learners per stopping step, in path order (steps with none left out).
    pub stopped_at: Vec<StepCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepCount {
    pub activity: String,
    pub learners: i64,
}

pub fn path_summary(path: &PathDefinition, learners: &[LearnerPath]) -> PathSummary {
    let mut times: Vec<i64> = learners
        .iter()
        .filter_map(|l| l.finished_ms.map(|f| f - l.started_ms))
        .collect();
    times.sort_unstable();
    let median_ms = match times.len() {
        0 => None,
        n if n % 2 == 1 => Some(times[n / 2] as f64),
        n => Some((times[n / 2 - 1] as f64 + times[n / 2] as f64) / 2.0),
    };
    let mut stopped = vec![0i64; path.steps.len()];
    for l in learners.iter().filter(|l| l.finished_ms.is_none()) {
        if let Some(i) = path
            .steps
            .iter()
            .position(|s| !l.completed_steps.contains(&s.activity))
        {
            stopped[i] += 1;
        }
    }
    let stopped_at: Vec<StepCount> = stopped
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| StepCount {
            activity: path.steps[i].activity.clone(),
            learners: n,
        })
        .collect();
    // `max_by_key` keeps the last maximum; iterate in reverse so ties go to the earlier step.
    let drop_off = stopped_at.iter().rev().max_by_key(|s| s.learners).cloned();
    PathSummary {
        learners_started: learners.len() as i64,
        learners_finished: learners.iter().filter(|l| l.finished_ms.is_some()).count() as i64,
        median_time_to_finish: median_ms.map(|ms| ms / 1000.0),
        drop_off,
        stopped_at,
    }
}

/// A transition A → B between consecutive distinct activities of one registration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: i64,
}

/// Counts transitions over `(registration, activity)` rows ordered by registration, then
/// `timestamp`, `stored`, `id`. Repeats of the same activity collapse into one visit.
/// Ordered by count (descending), then from, then to.
pub fn transitions<I>(rows: I) -> Vec<Transition>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut previous: Option<(String, String)> = None;
    for (registration, activity) in rows {
        if let Some((reg, last)) = &previous {
            if *reg == registration {
                if *last != activity {
                    *counts.entry((last.clone(), activity.clone())).or_default() += 1;
                } else {
                    continue;
                }
            }
        }
        previous = Some((registration, activity));
    }
    let mut out: Vec<Transition> = counts
        .into_iter()
        .map(|((from, to), count)| Transition { from, to, count })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> PathDefinition {
        PathDefinition::from_json(&json!({"name": "P", "steps": [
            {"activity": "http://x/a"},
            {"activity": "http://x/b"},
            {"activity": "http://x/c", "prerequisites": ["http://x/a"]}
        ]}))
        .unwrap()
    }

    fn done(learner: &str, activity: &str, first: i64, completed: Option<i64>) -> ProgressState {
        let mut p = ProgressState::new(learner, activity);
        p.statements = 1;
        p.first_ms = first;
        p.last_ms = completed.unwrap_or(first);
        p.completed_ms = completed;
        p
    }

    #[test]
    fn rejects_bad_definitions_naming_the_field() {
        let e = PathDefinition::from_json(&json!({"name": "P", "steps": []})).unwrap_err();
        assert!(e.starts_with("steps:"), "{e}");
        let e = PathDefinition::from_json(&json!({"name": "P", "steps": [
            {"activity": "http://x/a", "prerequisites": ["http://x/z"]}]}))
        .unwrap_err();
        assert!(e.starts_with("steps[0].prerequisites[0]"), "{e}");
        let e = PathDefinition::from_json(&json!({"name": "P", "steps": [
            {"activity": "http://x/a"}, {"activity": "http://x/a"}]}))
        .unwrap_err();
        assert!(e.starts_with("steps[1].activity"), "{e}");
        let e = PathDefinition::from_json(&json!({"name": "P", "steps": [
            {"activity": "http://x/a", "prerequisites": ["http://x/c"]},
            {"activity": "http://x/b"},
            {"activity": "http://x/c"}]}))
        .unwrap_err();
        assert!(e.contains("cycle"), "{e}");
    }

    #[test]
    fn next_follows_default_and_explicit_prerequisites() {
        let p = def();
        let rows = vec![done("L", "http://x/a", 10, Some(20))];
        let l = learners_on_path(&p, &rows);
        assert_eq!(l[0].next, vec!["http://x/b", "http://x/c"]);
        assert_eq!(l[0].completed_steps, vec!["http://x/a"]);
        assert!((l[0].percent - 100.0 / 3.0).abs() < 1e-12);
        assert_eq!(l[0].finished_ms, None);
    }

    #[test]
    fn summary_median_and_drop_off() {
        let p = def();
        let mut rows = vec![];
        for (l, start, end) in [("L1", 0, 10_000), ("L2", 0, 30_000)] {
            for a in ["http://x/a", "http://x/b", "http://x/c"] {
                rows.push(done(l, a, start, Some(end)));
            }
        }
        rows.push(done("L3", "http://x/a", 0, Some(5)));
        rows.push(done("L4", "http://x/a", 0, None));
        rows.push(done("L5", "http://x/a", 0, Some(5)));
        let learners = learners_on_path(&p, &rows);
        let s = path_summary(&p, &learners);
        assert_eq!((s.learners_started, s.learners_finished), (5, 2));
        assert_eq!(s.median_time_to_finish, Some(20.0));
        assert_eq!(
            s.drop_off,
            Some(StepCount {
                activity: "http://x/b".into(),
                learners: 2
            })
        );
    }

    #[test]
    fn transitions_collapse_repeats_per_registration() {
        let rows = [
            ("r1", "a"),
            ("r1", "a"),
            ("r1", "b"),
            ("r1", "a"),
            ("r2", "a"),
            ("r2", "b"),
        ]
        .map(|(r, a)| (r.to_owned(), a.to_owned()));
        let t = transitions(rows);
        assert_eq!(
            t,
            vec![
                Transition {
                    from: "a".into(),
                    to: "b".into(),
                    count: 2
                },
                Transition {
                    from: "b".into(),
                    to: "a".into(),
                    count: 1
                },
            ]
        );
    }
}
