//! The things statements are about: the course catalogue (shared by every tenant, so
//! activity ids overlap across tenants) and each tenant's learners. Built once from the
//! seed; definitions are prebuilt JSON so that emitting a statement only clones them.

use super::rng::{below, chance, uniform, Rng};
use super::words::*;
use serde_json::{json, Map, Value};

/// Where activity ids live. Fixed: it is part of the corpus format.
pub const ACTIVITY_BASE: &str = "https://lms.example.com";
/// Prefix of the ADL activity types.
const ACTIVITY_TYPE: &str = "http://adlnet.gov/expapi/activities/";

/// One activity with its prebuilt `definition`.
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: String,
    pub definition: Value,
}

impl Activity {
    /// The statement `object` form: objectType, id and the full definition.
    pub fn object(&self) -> Value {
        json!({ "objectType": "Activity", "id": self.id, "definition": self.definition })
    }

    /// The context-activity form: id only, as most learning tools send it.
    pub fn reference(&self) -> Value {
        json!({ "id": self.id })
    }
}

#[derive(Debug, Clone)]
pub struct Course {
    pub activity: Activity,
    pub modules: Vec<Module>,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub activity: Activity,
    pub lessons: Vec<Lesson>,
    pub quiz: Quiz,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub activity: Activity,
    /// Video lessons report `progressed` then `completed`; others are `experienced`.
    pub video: bool,
}

#[derive(Debug, Clone)]
pub struct Quiz {
    pub activity: Activity,
    pub questions: Vec<Question>,
    /// Scaled score needed to pass.
    pub mastery: f64,
}

/// The xAPI interaction types the corpus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    Choice,
    TrueFalse,
    FillIn,
    Numeric,
}

#[derive(Debug, Clone)]
pub struct Question {
    pub activity: Activity,
    pub kind: InteractionKind,
    /// The response that is correct.
    pub correct: String,
    /// Plausible wrong responses (never empty).
    pub wrong: Vec<String>,
    /// 0 (easy) ..= 1 (hard): lowers the chance of a right answer.
    pub difficulty: f64,
}

/// A learner: the actor JSON plus the traits that drive their journeys.
#[derive(Debug, Clone)]
pub struct Learner {
    /// Full `actor` (objectType, name and one IFI: mbox or account).
    pub actor: Value,
    /// 0..1: how likely they answer right.
    pub ability: f64,
    /// `context.language` and the language of verb displays.
    pub language: &'static str,
    /// The learning platform they use (`context.platform`).
    pub platform: &'static str,
}

/// The shape of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct CatalogueShape {
    pub courses: usize,
    pub modules_per_course: usize,
    pub lessons_per_module: usize,
    pub questions_per_quiz: usize,
}

/// The course catalogue, shared by all tenants of one seed.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub courses: Vec<Course>,
}

impl Catalogue {
    pub fn build(shape: CatalogueShape, rng: &mut Rng) -> Self {
        let courses = (0..shape.courses)
            .map(|c| build_course(c, shape, rng))
            .collect();
        Catalogue { courses }
    }

    /// Every activity id, courses first, in catalogue order.
    pub fn activity_ids(&self) -> impl Iterator<Item = &str> {
        self.courses.iter().flat_map(|c| {
            std::iter::once(c.activity.id.as_str()).chain(c.modules.iter().flat_map(|m| {
                std::iter::once(m.activity.id.as_str())
                    .chain(m.lessons.iter().map(|l| l.activity.id.as_str()))
                    .chain(std::iter::once(m.quiz.activity.id.as_str()))
                    .chain(m.quiz.questions.iter().map(|q| q.activity.id.as_str()))
            }))
        })
    }
}

fn lang_map(en: &str, fr: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("en-US".into(), Value::from(en));
    if let Some(fr) = fr {
        m.insert("fr-FR".into(), Value::from(fr));
    }
    Value::Object(m)
}

fn definition(kind: &str, name: Value, description: Value) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("name".into(), name);
    d.insert("description".into(), description);
    d.insert("type".into(), Value::from(format!("{ACTIVITY_TYPE}{kind}")));
    d
}

fn build_course(index: usize, shape: CatalogueShape, rng: &mut Rng) -> Course {
    let (title_en, title_fr, slug) = COURSE_TOPICS[index % COURSE_TOPICS.len()];
    // Catalogues bigger than the topic list get numbered editions.
    let edition = index / COURSE_TOPICS.len();
    let (title_en, title_fr) = if edition == 0 {
        (title_en.to_string(), title_fr.to_string())
    } else {
        (
            format!("{title_en} ({})", edition + 1),
            format!("{title_fr} ({})", edition + 1),
        )
    };
    let id = match edition {
        0 => format!("{ACTIVITY_BASE}/courses/{slug}"),
        n => format!("{ACTIVITY_BASE}/courses/{slug}-{}", n + 1),
    };
    let bilingual = chance(rng, 0.4);
    let fr = bilingual.then_some(title_fr.as_str());
    let def = definition(
        "course",
        lang_map(&title_en, fr),
        lang_map(
            &format!("Self-paced course, {} modules.", shape.modules_per_course),
            bilingual
                .then(|| format!("Cours en autonomie, {} modules.", shape.modules_per_course))
                .as_deref(),
        ),
    );
    let modules = (0..shape.modules_per_course)
        .map(|m| build_module(&id, m, bilingual, shape, rng))
        .collect();
    Course {
        activity: Activity {
            id,
            definition: Value::Object(def),
        },
        modules,
    }
}

fn build_module(
    course_id: &str,
    index: usize,
    bilingual: bool,
    shape: CatalogueShape,
    rng: &mut Rng,
) -> Module {
    let id = format!("{course_id}/m{}", index + 1);
    let title = format!(
        "Module {}: {}",
        index + 1,
        MODULE_NAMES[index % MODULE_NAMES.len()]
    );
    let fr = format!("Module {}", index + 1);
    let def = definition(
        "module",
        lang_map(&title, bilingual.then_some(fr.as_str())),
        lang_map(
            &format!("{} lessons and a quiz.", shape.lessons_per_module),
            None,
        ),
    );
    let lessons = (0..shape.lessons_per_module)
        .map(|l| build_lesson(&id, l, rng))
        .collect();
    let quiz = build_quiz(&id, index, shape.questions_per_quiz, rng);
    Module {
        activity: Activity {
            id,
            definition: Value::Object(def),
        },
        lessons,
        quiz,
    }
}

fn build_lesson(module_id: &str, index: usize, rng: &mut Rng) -> Lesson {
    let concept = CONCEPTS[below(rng, CONCEPTS.len())];
    let pattern = LESSON_PATTERNS[below(rng, LESSON_PATTERNS.len())];
    let mut title = pattern.replace("{}", concept);
    capitalise(&mut title);
    let video = chance(rng, 0.3);
    let kind = if video { "A short video" } else { "A reading" };
    let def = definition(
        "lesson",
        lang_map(&title, None),
        lang_map(&format!("{kind} about {concept}."), None),
    );
    let id = format!("{module_id}/l{}", index + 1);
    Lesson {
        activity: Activity {
            id,
            definition: Value::Object(def),
        },
        video,
    }
}

fn build_quiz(module_id: &str, module_index: usize, questions: usize, rng: &mut Rng) -> Quiz {
    let id = format!("{module_id}/quiz");
    let def = definition(
        "assessment",
        lang_map(&format!("Module {} quiz", module_index + 1), None),
        lang_map(&format!("{questions} questions on this module."), None),
    );
    let questions = (0..questions)
        .map(|q| build_question(&id, q, rng))
        .collect();
    let mastery = [0.6, 0.7, 0.8][below(rng, 3)];
    Quiz {
        activity: Activity {
            id,
            definition: Value::Object(def),
        },
        questions,
        mastery,
    }
}

/// What distinguishes one interaction type from another in a question.
struct InteractionSpec {
    kind: InteractionKind,
    text: String,
    correct: String,
    wrong: Vec<String>,
    /// The `choices` component, for choice questions.
    choices: Option<Value>,
}

fn build_question(quiz_id: &str, index: usize, rng: &mut Rng) -> Question {
    let concept = CONCEPTS[below(rng, CONCEPTS.len())];
    let roll = uniform(rng);
    let spec = if roll < 0.4 {
        let mut stems: Vec<&str> = CHOICE_STEMS.to_vec();
        let ids = &["a", "b", "c", "d"][..3 + below(rng, 2)];
        let choices: Vec<Value> = ids
            .iter()
            .map(|id| {
                let stem = stems.swap_remove(below(rng, stems.len()));
                json!({ "id": id, "description": { "en-US": stem } })
            })
            .collect();
        let correct = ids[below(rng, ids.len())].to_string();
        let wrong = ids
            .iter()
            .filter(|c| **c != correct)
            .map(|c| c.to_string())
            .collect();
        InteractionSpec {
            kind: InteractionKind::Choice,
            text: format!("What is the best approach to {concept}?"),
            correct,
            wrong,
            choices: Some(Value::Array(choices)),
        }
    } else if roll < 0.7 {
        let truth = chance(rng, 0.5);
        InteractionSpec {
            kind: InteractionKind::TrueFalse,
            text: format!("True or false: {concept} is only for specialists."),
            correct: if truth { "true" } else { "false" }.to_string(),
            wrong: vec![if truth { "false" } else { "true" }.to_string()],
            choices: None,
        }
    } else if roll < 0.85 {
        let answer = FILL_IN_ANSWERS[below(rng, FILL_IN_ANSWERS.len())];
        let wrong = FILL_IN_ANSWERS
            .iter()
            .filter(|w| **w != answer)
            .take(3)
            .map(|w| w.to_string())
            .collect();
        InteractionSpec {
            kind: InteractionKind::FillIn,
            text: format!("Complete: with {concept}, the key word is ____."),
            correct: answer.to_string(),
            wrong,
            choices: None,
        }
    } else {
        let answer = 2 + below(rng, 29);
        InteractionSpec {
            kind: InteractionKind::Numeric,
            text: format!("How many days before escalating {concept}?"),
            correct: answer.to_string(),
            wrong: vec![
                (answer + 1).to_string(),
                (answer + 7).to_string(),
                (answer / 2).to_string(),
            ],
            choices: None,
        }
    };
    let InteractionSpec {
        kind,
        text,
        correct,
        wrong,
        choices,
    } = spec;
    let interaction_type = match kind {
        InteractionKind::Choice => "choice",
        InteractionKind::TrueFalse => "true-false",
        InteractionKind::FillIn => "fill-in",
        InteractionKind::Numeric => "numeric",
    };
    let mut def = definition(
        "cmi.interaction",
        lang_map(&format!("Question {}", index + 1), None),
        lang_map(&text, None),
    );
    def.insert("interactionType".into(), Value::from(interaction_type));
    def.insert("correctResponsesPattern".into(), json!([correct]));
    if let Some(choices) = choices {
        def.insert("choices".into(), choices);
    }
    let id = format!("{quiz_id}/q{}", index + 1);
    let difficulty = uniform(rng);
    Question {
        activity: Activity {
            id,
            definition: Value::Object(def),
        },
        kind,
        correct,
        wrong,
        difficulty,
    }
}

fn capitalise(s: &mut String) {
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
}

/// Domain of a tenant's organisation; learners' emails and accounts live there.
pub fn tenant_domain(tenant: u32) -> String {
    format!("org{tenant}.example.org")
}

/// The tenant's learners: ~60% identified by mbox, the rest by an SSO account.
pub fn build_learners(count: usize, tenant: u32, rng: &mut Rng) -> Vec<Learner> {
    let domain = tenant_domain(tenant);
    (0..count)
        .map(|i| {
            let first = FIRST_NAMES[below(rng, FIRST_NAMES.len())];
            let last = LAST_NAMES[below(rng, LAST_NAMES.len())];
            let name = format!("{first} {last}");
            // The index keeps identifiers unique however the names collide.
            let actor = if chance(rng, 0.6) {
                let local = email_local_part(&format!("{first}.{last}"));
                json!({ "objectType": "Agent", "name": name, "mbox": format!("mailto:{local}.{i}@{domain}") })
            } else {
                json!({
                    "objectType": "Agent",
                    "name": name,
                    "account": { "homePage": format!("https://sso.{domain}"), "name": format!("u{:06}", 100_000 + i) }
                })
            };
            let language = if chance(rng, 0.2) { "fr-FR" } else { "en-US" };
            Learner {
                actor,
                ability: 0.3 + 0.7 * uniform(rng),
                language,
                platform: PLATFORMS[below(rng, PLATFORMS.len())],
            }
        })
        .collect()
}

/// `Chloé.O'Brien` -> `chloe.obrien`: what an email system would make of a name.
fn email_local_part(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'í' | 'ï' => 'i',
                'ó' | 'ô' | 'ö' => 'o',
                'ú' | 'ü' => 'u',
                'ç' => 'c',
                'ñ' => 'n',
                c => c,
            };
            (c.is_ascii_alphanumeric() || c == '.').then(|| c.to_ascii_lowercase())
        })
        .collect()
}
