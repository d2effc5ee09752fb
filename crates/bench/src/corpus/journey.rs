//! Learner journeys: what one learner does during one attempt (registration) of a course,
//! planned up front as timed steps. Launch, lessons in order, quizzes (answers, then passed
//! or failed, sometimes retried), module and course completion, or dropping out.

use super::iso;
use super::rng::{between, chance, skewed, uniform, Rng};
use super::universe::{Course, Learner};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// The ADL verbs the corpus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Launched,
    Initialized,
    Attempted,
    Experienced,
    Answered,
    Completed,
    Passed,
    Failed,
    Terminated,
    Progressed,
    Voided,
}

impl Verb {
    pub const ALL: [Verb; 11] = [
        Verb::Launched,
        Verb::Initialized,
        Verb::Attempted,
        Verb::Experienced,
        Verb::Answered,
        Verb::Completed,
        Verb::Passed,
        Verb::Failed,
        Verb::Terminated,
        Verb::Progressed,
        Verb::Voided,
    ];

    /// The last segment of the ADL IRI, also the English display.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Launched => "launched",
            Verb::Initialized => "initialized",
            Verb::Attempted => "attempted",
            Verb::Experienced => "experienced",
            Verb::Answered => "answered",
            Verb::Completed => "completed",
            Verb::Passed => "passed",
            Verb::Failed => "failed",
            Verb::Terminated => "terminated",
            Verb::Progressed => "progressed",
            Verb::Voided => "voided",
        }
    }

    pub fn iri(self) -> String {
        format!("http://adlnet.gov/expapi/verbs/{}", self.name())
    }

    fn french(self) -> &'static str {
        match self {
            Verb::Launched => "a lancé",
            Verb::Initialized => "a initialisé",
            Verb::Attempted => "a tenté",
            Verb::Experienced => "a consulté",
            Verb::Answered => "a répondu",
            Verb::Completed => "a terminé",
            Verb::Passed => "a réussi",
            Verb::Failed => "a échoué",
            Verb::Terminated => "a quitté",
            Verb::Progressed => "a progressé",
            Verb::Voided => "a annulé",
        }
    }

    /// The statement `verb`: id and a display map in English, plus French for French
    /// speakers (tools localise the display to the learner's language).
    pub fn json(self, language: &str) -> Value {
        let mut display = Map::new();
        display.insert("en-US".into(), Value::from(self.name()));
        if language == "fr-FR" {
            display.insert("fr-FR".into(), Value::from(self.french()));
        }
        json!({ "id": self.iri(), "display": display })
    }
}

/// What a step is about, as indices into the session's course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Course,
    Module(usize),
    Lesson(usize, usize),
    Quiz(usize),
    Question(usize, usize),
}

/// One statement to emit, `after_ms` after the session's previous one.
#[derive(Debug, Clone)]
pub struct Step {
    pub after_ms: i64,
    pub verb: Verb,
    pub target: Target,
    pub result: Option<Value>,
}

/// A planned attempt, and whether the learner will come back with a new registration.
#[derive(Debug)]
pub struct Plan {
    pub steps: VecDeque<Step>,
    pub retry_later: bool,
}

/// The cmi5 progress extension (an integer percentage).
const PROGRESS_EXTENSION: &str = "https://w3id.org/xapi/cmi5/result/extensions/progress";
/// How many times a learner may take one quiz within a registration.
const MAX_QUIZ_TRIES: u32 = 3;
/// Chance of dropping out before each module after the first.
const DROPOUT: f64 = 0.04;

/// Accumulates steps and the time they take.
struct Planner {
    steps: VecDeque<Step>,
    elapsed_ms: i64,
}

impl Planner {
    fn push(&mut self, after_ms: i64, verb: Verb, target: Target, result: Option<Value>) {
        self.elapsed_ms += after_ms;
        self.steps.push_back(Step {
            after_ms,
            verb,
            target,
            result,
        });
    }
}

/// Milliseconds of think time: a few seconds, sometimes a minute.
fn think(rng: &mut Rng) -> i64 {
    1_000 + skewed(rng, 8_000.0) as i64
}

/// Plans one attempt of `course` by `learner`.
pub fn plan_attempt(course: &Course, learner: &Learner, rng: &mut Rng) -> Plan {
    let mut p = Planner {
        steps: VecDeque::new(),
        elapsed_ms: 0,
    };
    p.push(0, Verb::Launched, Target::Course, None);
    p.push(
        between(rng, 500, 4_000),
        Verb::Initialized,
        Target::Course,
        None,
    );
    let mut quiz_scores = Vec::with_capacity(course.modules.len());
    let mut outcome = Outcome::Finished;
    for (m, module) in course.modules.iter().enumerate() {
        if m > 0 && chance(rng, DROPOUT) {
            outcome = Outcome::DroppedOut;
            break;
        }
        // Some learners stop for the day between modules.
        let module_start_gap = if m > 0 && chance(rng, 0.25) {
            between(rng, 3_600_000, 172_800_000)
        } else {
            0
        };
        let module_start = p.elapsed_ms + module_start_gap;
        let mut first = true;
        for (l, lesson) in module.lessons.iter().enumerate() {
            let lead = if first { module_start_gap } else { 0 } + think(rng);
            first = false;
            let length = 60_000 + skewed(rng, 300_000.0) as i64;
            if lesson.video {
                let half = length / 2;
                let progress = json!({ "extensions": { PROGRESS_EXTENSION: 50 } });
                p.push(
                    lead + half,
                    Verb::Progressed,
                    Target::Lesson(m, l),
                    Some(progress),
                );
                let done = json!({ "completion": true, "duration": iso::duration(length) });
                p.push(
                    length - half,
                    Verb::Completed,
                    Target::Lesson(m, l),
                    Some(done),
                );
            } else {
                let done = json!({ "duration": iso::duration(length) });
                p.push(
                    lead + length,
                    Verb::Experienced,
                    Target::Lesson(m, l),
                    Some(done),
                );
            }
        }
        match take_quiz(&mut p, course, learner, m, rng) {
            Some(scaled) => quiz_scores.push(scaled),
            None => {
                outcome = Outcome::GaveUp;
                quiz_scores.push(0.0);
                break;
            }
        }
        let module_time = p.elapsed_ms - module_start;
        let done = json!({ "completion": true, "duration": iso::duration(module_time) });
        p.push(
            between(rng, 300, 3_000),
            Verb::Completed,
            Target::Module(m),
            Some(done),
        );
    }
    // Course score: mean of the quiz scores as a percentage, so raw/max == scaled exactly.
    let raw = if quiz_scores.is_empty() {
        0
    } else {
        (quiz_scores.iter().sum::<f64>() / quiz_scores.len() as f64 * 100.0).round() as i64
    };
    let score = json!({ "scaled": raw as f64 / 100.0, "raw": raw, "min": 0, "max": 100 });
    let retry_later = match outcome {
        Outcome::Finished => {
            let done = json!({ "completion": true, "duration": iso::duration(p.elapsed_ms) });
            p.push(
                between(rng, 300, 3_000),
                Verb::Completed,
                Target::Course,
                Some(done),
            );
            let passed = json!({ "score": score, "success": true, "completion": true });
            p.push(
                between(rng, 50, 500),
                Verb::Passed,
                Target::Course,
                Some(passed),
            );
            false
        }
        Outcome::GaveUp => {
            let failed = json!({ "score": score, "success": false, "completion": false });
            p.push(
                between(rng, 300, 3_000),
                Verb::Failed,
                Target::Course,
                Some(failed),
            );
            chance(rng, 0.6)
        }
        Outcome::DroppedOut => chance(rng, 0.3),
    };
    let session = json!({ "duration": iso::duration(p.elapsed_ms) });
    p.push(
        between(rng, 500, 5_000),
        Verb::Terminated,
        Target::Course,
        Some(session),
    );
    Plan {
        steps: p.steps,
        retry_later,
    }
}

enum Outcome {
    Finished,
    GaveUp,
    DroppedOut,
}

/// Takes module `m`'s quiz, retrying after a failure. Returns the passing scaled score,
/// or `None` when the learner gives up.
fn take_quiz(
    p: &mut Planner,
    course: &Course,
    learner: &Learner,
    m: usize,
    rng: &mut Rng,
) -> Option<f64> {
    let quiz = &course.modules[m].quiz;
    for attempt in 0..MAX_QUIZ_TRIES {
        let lead = if attempt == 0 {
            think(rng)
        } else {
            between(rng, 30_000, 600_000)
        };
        p.push(lead, Verb::Attempted, Target::Quiz(m), None);
        let started = p.elapsed_ms;
        let mut correct = 0i64;
        for (q, question) in quiz.questions.iter().enumerate() {
            let p_right = (0.25 + 0.7 * learner.ability - 0.35 * question.difficulty
                + 0.08 * attempt as f64)
                .clamp(0.05, 0.97);
            let right = uniform(rng) < p_right;
            let response = if right {
                correct += 1;
                question.correct.clone()
            } else {
                question.wrong[super::rng::below(rng, question.wrong.len())].clone()
            };
            let took = 5_000 + skewed(rng, 25_000.0) as i64;
            let result =
                json!({ "success": right, "response": response, "duration": iso::duration(took) });
            p.push(took, Verb::Answered, Target::Question(m, q), Some(result));
        }
        let max = quiz.questions.len() as i64;
        // A quiz without questions is passed; its score has no raw range (max > min).
        let (scaled, score) = if max == 0 {
            (1.0, json!({ "scaled": 1.0 }))
        } else {
            let scaled = correct as f64 / max as f64;
            (
                scaled,
                json!({ "scaled": scaled, "raw": correct, "min": 0, "max": max }),
            )
        };
        let passed = scaled >= quiz.mastery;
        let result = json!({
            "score": score,
            "success": passed,
            "completion": true,
            "duration": iso::duration(p.elapsed_ms - started),
        });
        let verb = if passed { Verb::Passed } else { Verb::Failed };
        p.push(
            between(rng, 500, 3_000),
            verb,
            Target::Quiz(m),
            Some(result),
        );
        if passed {
            return Some(scaled);
        }
        if !chance(rng, 0.6) {
            return None;
        }
    }
    None
}
