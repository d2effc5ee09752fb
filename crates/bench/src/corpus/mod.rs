//! Deterministic, realistic xAPI 1.0.3 statement corpus.
//!
//! A [`Corpus`] simulates learners of one tenant taking courses: a fixed number of
//! concurrent sessions (one per registration) advance through planned journeys, and the
//! statement with the earliest timestamp is emitted next. Everything derives from
//! [`CorpusConfig::seed`] through ChaCha8 streams and integer-millisecond clocks from a
//! fixed base time, so one configuration yields byte-identical JSON on every platform.
//!
//! Independent streams keep options orthogonal: voiding and reordering never change the
//! underlying journeys, a different `tenant` keeps the course catalogue (overlapping
//! activity ids) but gets its own learners, and a different `run` keeps catalogue and
//! learners but produces new statement ids, registrations and journeys.

mod iso;
mod journey;
mod rng;
mod universe;
mod words;

pub use iso::{duration as iso_duration, timestamp as iso_timestamp, BASE_TIME_MS};
pub use journey::Verb;
pub use universe::{
    tenant_domain, Activity, Catalogue, Course, InteractionKind, Learner, Lesson, Module, Question,
    Quiz, ACTIVITY_BASE,
};

pub use rng::Rng;
pub(crate) use rng::{stream as rng_stream, Purpose};

use journey::{plan_attempt, Step, Target};
use rng::{below, between, chance, skewed, stream, uniform, uuid};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// Context extension: which attempt of the course (1 = first registration).
pub const ATTEMPT_EXTENSION: &str = "https://lms.example.com/xapi/attempt";

/// What to generate. `Default` gives a mid-sized catalogue and realistic statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorpusConfig {
    /// Root of all randomness.
    pub seed: u64,
    /// Which tenant's statements: same catalogue for every tenant, different learners.
    pub tenant: u32,
    /// Variant of the journeys: new statement ids, registrations and timings, same
    /// catalogue and learners. Lets repeated ingests into one store avoid id conflicts.
    pub run: u32,
    /// Learners per tenant.
    pub learners: usize,
    pub courses: usize,
    pub modules_per_course: usize,
    pub lessons_per_module: usize,
    pub questions_per_quiz: usize,
    /// Registrations in progress at any time; more interleaves learners more.
    pub concurrent_sessions: usize,
    /// Probability that a statement is followed by a voiding statement for one of the
    /// recently emitted ones.
    pub voiding_ratio: f64,
    /// 0 keeps timestamps ascending; `n` emits each statement up to about `n` positions
    /// away from its timestamp order.
    pub out_of_order_window: usize,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            seed: 42,
            tenant: 0,
            run: 0,
            learners: 1_000,
            courses: 12,
            modules_per_course: 4,
            lessons_per_module: 3,
            questions_per_quiz: 5,
            concurrent_sessions: 64,
            voiding_ratio: 0.0,
            out_of_order_window: 0,
        }
    }
}

impl CorpusConfig {
    /// Every field as `(name, value)`, for reports: enough to regenerate the same corpus.
    pub fn parameters(&self) -> Vec<(String, String)> {
        [
            ("seed", self.seed.to_string()),
            ("tenant", self.tenant.to_string()),
            ("run", self.run.to_string()),
            ("learners", self.learners.to_string()),
            ("courses", self.courses.to_string()),
            ("modules_per_course", self.modules_per_course.to_string()),
            ("lessons_per_module", self.lessons_per_module.to_string()),
            ("questions_per_quiz", self.questions_per_quiz.to_string()),
            ("concurrent_sessions", self.concurrent_sessions.to_string()),
            ("voiding_ratio", self.voiding_ratio.to_string()),
            ("out_of_order_window", self.out_of_order_window.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Rejects shapes the simulation cannot run (nothing to learn, nobody to learn it).
    pub fn validate(&self) -> Result<(), String> {
        if self.learners == 0 || self.courses == 0 || self.concurrent_sessions == 0 {
            return Err("learners, courses and concurrent_sessions must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.voiding_ratio) {
            return Err(format!(
                "voiding_ratio must be within [0, 1], got {}",
                self.voiding_ratio
            ));
        }
        Ok(())
    }
}

/// One registration in progress.
struct Session {
    learner: usize,
    course: usize,
    attempt: u32,
    registration: String,
    /// Timestamp of the next step.
    next_ms: i64,
    steps: VecDeque<Step>,
    retry_later: bool,
}

/// The generator. An endless iterator of statements (`serde_json::Value`).
pub struct Corpus {
    config: CorpusConfig,
    catalogue: Catalogue,
    learners: Vec<Learner>,
    /// Cumulative popularity of courses (a few courses get most learners).
    course_weights: Vec<f64>,
    admin: Value,
    journeys: Rng,
    reorder_rng: Rng,
    voiding_rng: Rng,
    sessions: Vec<Session>,
    reorder: Vec<Value>,
    /// Recently emitted, not yet voided statement ids: the voiding candidates.
    recent_ids: Vec<String>,
    pending_void: Option<Value>,
    latest_ms: i64,
}

/// How many recent ids voiding statements choose from.
const RECENT_IDS: usize = 256;

impl Corpus {
    /// Builds the catalogue and learners and starts the first sessions.
    ///
    /// Panics if the config is invalid (see [`CorpusConfig::validate`]): configurations
    /// are written by programmers or checked by the CLI.
    pub fn new(config: CorpusConfig) -> Self {
        if let Err(e) = config.validate() {
            panic!("invalid corpus config: {e}");
        }
        let shape = universe::CatalogueShape {
            courses: config.courses,
            modules_per_course: config.modules_per_course,
            lessons_per_module: config.lessons_per_module,
            questions_per_quiz: config.questions_per_quiz,
        };
        let catalogue = Catalogue::build(shape, &mut stream(config.seed, Purpose::Catalogue, 0, 0));
        let learners = universe::build_learners(
            config.learners,
            config.tenant,
            &mut stream(config.seed, Purpose::Learners, config.tenant, 0),
        );
        let mut total = 0.0;
        let course_weights = (0..config.courses)
            .map(|i| {
                total += 1.0 / (i as f64 + 1.0);
                total
            })
            .collect();
        let admin = json!({
            "objectType": "Agent",
            "name": "Learning Administrator",
            "mbox": format!("mailto:lrs-admin@{}", tenant_domain(config.tenant)),
        });
        let (t, r) = (config.tenant, config.run);
        let mut corpus = Corpus {
            catalogue,
            learners,
            course_weights,
            admin,
            journeys: stream(config.seed, Purpose::Journeys, t, r),
            reorder_rng: stream(config.seed, Purpose::Reorder, t, r),
            voiding_rng: stream(config.seed, Purpose::Voiding, t, r),
            sessions: Vec::with_capacity(config.concurrent_sessions),
            reorder: Vec::with_capacity(config.out_of_order_window + 1),
            recent_ids: Vec::with_capacity(RECENT_IDS),
            pending_void: None,
            latest_ms: BASE_TIME_MS,
            config,
        };
        for _ in 0..corpus.config.concurrent_sessions {
            // Stagger the first sessions over the first morning.
            let start = BASE_TIME_MS + between(&mut corpus.journeys, 0, 4 * 3_600_000);
            let session = corpus.fresh_session(start);
            corpus.sessions.push(session);
        }
        corpus
    }

    pub fn config(&self) -> &CorpusConfig {
        &self.config
    }

    /// The course catalogue (identical for every tenant and run of a seed).
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// This tenant's learners.
    pub fn learners(&self) -> &[Learner] {
        &self.learners
    }

    /// The next `n` statements.
    pub fn batch(&mut self, n: usize) -> Vec<Value> {
        self.by_ref().take(n).collect()
    }

    /// The next statement, after reordering and voiding.
    pub fn next_statement(&mut self) -> Value {
        if let Some(void) = self.pending_void.take() {
            return void;
        }
        let statement = self.next_reordered();
        if self.config.voiding_ratio > 0.0 {
            self.consider_voiding(&statement);
        }
        statement
    }

    fn next_reordered(&mut self) -> Value {
        let window = self.config.out_of_order_window;
        if window == 0 {
            return self.simulate();
        }
        while self.reorder.len() <= window {
            let statement = self.simulate();
            self.reorder.push(statement);
        }
        let pick = below(&mut self.reorder_rng, self.reorder.len());
        self.reorder.swap_remove(pick)
    }

    /// Remembers `statement` as a voiding candidate and sometimes queues a voiding
    /// statement for a recent one. Targets are always already emitted, never voiding
    /// statements themselves (which xAPI forbids voiding) and never voided twice.
    fn consider_voiding(&mut self, statement: &Value) {
        if let Some(id) = statement.get("id").and_then(Value::as_str) {
            if self.recent_ids.len() == RECENT_IDS {
                let evict = below(&mut self.voiding_rng, RECENT_IDS);
                self.recent_ids.swap_remove(evict);
            }
            self.recent_ids.push(id.to_string());
        }
        if !chance(&mut self.voiding_rng, self.config.voiding_ratio) {
            return;
        }
        let pick = below(&mut self.voiding_rng, self.recent_ids.len());
        let target = self.recent_ids.swap_remove(pick);
        let at = self.latest_ms + between(&mut self.voiding_rng, 1_000, 600_000);
        let language = "en-US";
        self.pending_void = Some(json!({
            "id": uuid(&mut self.voiding_rng),
            "actor": self.admin,
            "verb": Verb::Voided.json(language),
            "object": { "objectType": "StatementRef", "id": target },
            "context": { "language": language },
            "timestamp": iso::timestamp(at),
        }));
    }

    /// Emits the step of the session whose next timestamp is earliest.
    fn simulate(&mut self) -> Value {
        loop {
            let slot = (0..self.sessions.len())
                .min_by_key(|&i| (self.sessions[i].next_ms, i))
                .unwrap_or(0);
            let at = self.sessions[slot].next_ms;
            // Plans are never empty; if one were, the session is replaced and we go on.
            let step = self.sessions[slot].steps.pop_front();
            let statement = step.map(|step| self.build_statement(slot, &step, at));
            self.latest_ms = self.latest_ms.max(at);
            self.advance(slot, at);
            if let Some(statement) = statement {
                return statement;
            }
        }
    }

    /// Moves a session's clock to its next step, or replaces the finished session: by the
    /// same learner's next attempt if they come back, else by a new learner.
    fn advance(&mut self, slot: usize, at: i64) {
        let session = &mut self.sessions[slot];
        if let Some(next) = session.steps.front() {
            session.next_ms += next.after_ms;
            return;
        }
        let replacement = if session.retry_later {
            let (learner, course, attempt) = (session.learner, session.course, session.attempt + 1);
            // Comes back after an hour to a few days, with a new registration.
            let start = at + between(&mut self.journeys, 3_600_000, 259_200_000);
            self.session(learner, course, attempt, start)
        } else {
            let start = at + 1_000 + skewed(&mut self.journeys, 300_000.0) as i64;
            self.fresh_session(start)
        };
        self.sessions[slot] = replacement;
    }

    /// A new learner starts a course, popular courses more often.
    fn fresh_session(&mut self, start_ms: i64) -> Session {
        let learner = below(&mut self.journeys, self.learners.len());
        let total = self.course_weights.last().copied().unwrap_or(1.0);
        let u = uniform(&mut self.journeys) * total;
        let course = self
            .course_weights
            .iter()
            .position(|w| u < *w)
            .unwrap_or(self.course_weights.len() - 1);
        self.session(learner, course, 1, start_ms)
    }

    fn session(&mut self, learner: usize, course: usize, attempt: u32, start_ms: i64) -> Session {
        let registration = uuid(&mut self.journeys);
        let plan = plan_attempt(
            &self.catalogue.courses[course],
            &self.learners[learner],
            &mut self.journeys,
        );
        Session {
            learner,
            course,
            attempt,
            registration,
            next_ms: start_ms + plan.steps.front().map_or(0, |s| s.after_ms),
            steps: plan.steps,
            retry_later: plan.retry_later,
        }
    }

    fn build_statement(&mut self, slot: usize, step: &Step, at_ms: i64) -> Value {
        let id = uuid(&mut self.journeys);
        let session = &self.sessions[slot];
        let learner = &self.learners[session.learner];
        let course = &self.catalogue.courses[session.course];
        let (object, parent) = match step.target {
            Target::Course => (&course.activity, None),
            Target::Module(m) => (&course.modules[m].activity, Some(&course.activity)),
            Target::Lesson(m, l) => (
                &course.modules[m].lessons[l].activity,
                Some(&course.modules[m].activity),
            ),
            Target::Quiz(m) => (
                &course.modules[m].quiz.activity,
                Some(&course.modules[m].activity),
            ),
            Target::Question(m, q) => (
                &course.modules[m].quiz.questions[q].activity,
                Some(&course.modules[m].quiz.activity),
            ),
        };
        let mut context = Map::new();
        context.insert(
            "registration".into(),
            Value::from(session.registration.as_str()),
        );
        if let Some(parent) = parent {
            context.insert(
                "contextActivities".into(),
                json!({ "parent": [parent.reference()], "grouping": [course.activity.reference()] }),
            );
        }
        context.insert("platform".into(), Value::from(learner.platform));
        context.insert("language".into(), Value::from(learner.language));
        context.insert(
            "extensions".into(),
            json!({
                ATTEMPT_EXTENSION: session.attempt,
            }),
        );
        let mut statement = Map::new();
        statement.insert("id".into(), Value::from(id));
        statement.insert("actor".into(), learner.actor.clone());
        statement.insert("verb".into(), step.verb.json(learner.language));
        statement.insert("object".into(), object.object());
        if let Some(result) = &step.result {
            statement.insert("result".into(), result.clone());
        }
        statement.insert("context".into(), Value::Object(context));
        statement.insert("timestamp".into(), Value::from(iso::timestamp(at_ms)));
        Value::Object(statement)
    }
}

impl Iterator for Corpus {
    type Item = Value;

    /// Never `None`: the corpus is endless; bound it with `take`.
    fn next(&mut self) -> Option<Value> {
        Some(self.next_statement())
    }
}

/// Several tenants' corpora interleaved round-robin, tagged with the tenant index. The
/// tenants share the catalogue, so their activity ids overlap.
pub struct MultiTenantCorpus {
    tenants: Vec<Corpus>,
    next: usize,
}

impl MultiTenantCorpus {
    /// Tenants `0..tenants` of `config` (its own `tenant` field is ignored).
    pub fn new(config: &CorpusConfig, tenants: u32) -> Self {
        let tenants = (0..tenants.max(1))
            .map(|t| {
                Corpus::new(CorpusConfig {
                    tenant: t,
                    ..config.clone()
                })
            })
            .collect();
        MultiTenantCorpus { tenants, next: 0 }
    }
}

impl Iterator for MultiTenantCorpus {
    type Item = (u32, Value);

    fn next(&mut self) -> Option<(u32, Value)> {
        let index = self.next;
        self.next = (self.next + 1) % self.tenants.len();
        let statement = self.tenants[index].next_statement();
        Some((self.tenants[index].config.tenant, statement))
    }
}

/// Size of the compact JSON encoding, without building the string.
pub fn serialized_size(statement: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a Value into an infallible writer cannot fail.
    let _ = serde_json::to_writer(&mut counter, statement);
    counter.0
}

/// Mean compact-JSON size in bytes (0 for no statements).
pub fn average_size(statements: &[Value]) -> f64 {
    if statements.is_empty() {
        return 0.0;
    }
    statements.iter().map(serialized_size).sum::<usize>() as f64 / statements.len() as f64
}

/// Mean size of the first `n` statements of `config`'s corpus.
pub fn measure_average_size(config: &CorpusConfig, n: usize) -> f64 {
    let mut corpus = Corpus::new(config.clone());
    let total: usize = (0..n)
        .map(|_| serialized_size(&corpus.next_statement()))
        .sum();
    if n == 0 {
        0.0
    } else {
        total as f64 / n as f64
    }
}

#[cfg(test)]
mod tests;
