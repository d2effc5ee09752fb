use super::*;
use std::collections::{BTreeMap, HashMap, HashSet};

fn text(config: &CorpusConfig, n: usize) -> String {
    let mut out = String::new();
    for statement in Corpus::new(config.clone()).take(n) {
        out.push_str(&statement.to_string());
        out.push('\n');
    }
    out
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

#[test]
fn same_seed_gives_identical_text() {
    let config = CorpusConfig {
        voiding_ratio: 0.05,
        out_of_order_window: 8,
        ..CorpusConfig::default()
    };
    assert_eq!(text(&config, 3_000), text(&config, 3_000));
}

#[test]
fn different_seed_or_run_gives_different_text() {
    let base = CorpusConfig::default();
    let reference = text(&base, 200);
    assert_ne!(
        reference,
        text(
            &CorpusConfig {
                seed: 43,
                ..base.clone()
            },
            200
        )
    );
    assert_ne!(
        reference,
        text(
            &CorpusConfig {
                run: 1,
                ..base.clone()
            },
            200
        )
    );
}

/// Pins the start of the default corpus: a change here changes every benchmark's input,
/// so it must be deliberate (update the expected values and say so in the changelog).
#[test]
fn default_corpus_is_stable() {
    let first = Corpus::new(CorpusConfig::default()).next_statement();
    assert_eq!(
        str_at(&first, "/verb/id"),
        "http://adlnet.gov/expapi/verbs/launched"
    );
    assert!(str_at(&first, "/timestamp").starts_with("2024-01-08T"));
    let digest = text(&CorpusConfig::default(), 1_000).len();
    assert!(
        digest > 500_000,
        "corpus text shrank unexpectedly: {digest} bytes"
    );
}

#[test]
fn average_size_is_about_one_kilobyte() {
    for seed in [1, 42, 7_777] {
        let avg = measure_average_size(
            &CorpusConfig {
                seed,
                ..CorpusConfig::default()
            },
            5_000,
        );
        assert!(
            (700.0..=1_200.0).contains(&avg),
            "seed {seed}: average statement size {avg} bytes"
        );
    }
    let batch = Corpus::new(CorpusConfig::default()).batch(100);
    assert_eq!(batch.len(), 100);
    assert!(average_size(&batch) > 0.0);
    assert_eq!(average_size(&[]), 0.0);
}

fn is_uuid_v4(s: &str) -> bool {
    match uuid::Uuid::parse_str(s) {
        Ok(u) => {
            u.get_version_num() == 4
                && u.get_variant() == uuid::Variant::RFC4122
                && s == u.hyphenated().to_string()
        }
        Err(_) => false,
    }
}

fn is_iso_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("PT") else {
        return false;
    };
    let mut number = String::new();
    let mut units = Vec::new();
    for c in rest.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
        } else if matches!(c, 'H' | 'M' | 'S')
            && !number.is_empty()
            && number.parse::<f64>().is_ok()
        {
            units.push(c);
            number.clear();
        } else {
            return false;
        }
    }
    number.is_empty() && !units.is_empty() && units.windows(2).all(|w| w[0] != w[1])
}

#[test]
fn statements_are_structurally_sound() {
    let config = CorpusConfig {
        voiding_ratio: 0.02,
        ..CorpusConfig::default()
    };
    let corpus = Corpus::new(config);
    let activities: HashSet<String> = corpus
        .catalogue()
        .activity_ids()
        .map(str::to_string)
        .collect();
    let courses: HashSet<&str> = corpus
        .catalogue()
        .courses
        .iter()
        .map(|c| c.activity.id.as_str())
        .collect();
    let statements: Vec<Value> = Corpus::new(CorpusConfig {
        voiding_ratio: 0.02,
        ..CorpusConfig::default()
    })
    .take(20_000)
    .collect();
    let mut ids = HashSet::new();
    let mut verbs = BTreeMap::new();
    let mut interaction_types = HashSet::new();
    for s in &statements {
        let id = str_at(s, "/id");
        assert!(is_uuid_v4(id), "bad id {id}");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        assert!(s.get("actor").is_some() && s.get("verb").is_some() && s.get("object").is_some());
        let actor = &s["actor"];
        let ifis = ["mbox", "account"]
            .iter()
            .filter(|k| actor.get(**k).is_some())
            .count();
        assert_eq!(ifis, 1, "actor must have exactly one IFI: {actor}");
        if let Some(mbox) = actor.get("mbox").and_then(Value::as_str) {
            assert!(mbox.starts_with("mailto:") && mbox.contains('@'));
        } else {
            str_at(actor, "/account/homePage");
            str_at(actor, "/account/name");
        }
        let verb = str_at(s, "/verb/id");
        assert!(verb.starts_with("http://adlnet.gov/expapi/verbs/"));
        str_at(s, "/verb/display/en-US");
        *verbs
            .entry(verb.rsplit('/').next().unwrap_or_default().to_string())
            .or_insert(0) += 1;
        let ts = str_at(s, "/timestamp");
        assert!(ts.ends_with('Z') && ts.len() == 24, "timestamp {ts}");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok());
        if str_at(s, "/object/objectType") == "StatementRef" {
            assert_eq!(verb, Verb::Voided.iri());
            continue;
        }
        let object = str_at(s, "/object/id");
        assert!(activities.contains(object), "unknown object {object}");
        str_at(s, "/object/definition/name/en-US");
        str_at(s, "/object/definition/description/en-US");
        let kind = str_at(s, "/object/definition/type");
        assert!(kind.starts_with("http://adlnet.gov/expapi/activities/"));
        if kind.ends_with("cmi.interaction") {
            let it = str_at(s, "/object/definition/interactionType");
            interaction_types.insert(it.to_string());
            let pattern = s
                .pointer("/object/definition/correctResponsesPattern")
                .and_then(Value::as_array);
            assert!(pattern.is_some_and(|p| !p.is_empty()));
            if it == "choice" {
                let choices = s
                    .pointer("/object/definition/choices")
                    .and_then(Value::as_array);
                assert!(choices.is_some_and(|c| c.len() == 3 || c.len() == 4));
            }
            if verb.ends_with("answered") {
                let success = s.pointer("/result/success").and_then(Value::as_bool);
                let response = str_at(s, "/result/response");
                let correct = pattern.and_then(|p| p[0].as_str()).unwrap_or_default();
                assert_eq!(success, Some(response == correct), "{s}");
            }
        }
        assert!(is_uuid_v4(str_at(s, "/context/registration")));
        str_at(s, "/context/platform");
        str_at(s, "/context/language");
        let extensions = s.pointer("/context/extensions").and_then(Value::as_object);
        assert!(extensions.is_some_and(|e| e.keys().all(|k| k.starts_with("http"))));
        if let Some(ca) = s.pointer("/context/contextActivities") {
            let parent = str_at(ca, "/parent/0/id");
            assert!(activities.contains(parent), "unknown parent {parent}");
            assert!(
                object.starts_with(parent),
                "{parent} is not the parent of {object}"
            );
            assert!(courses.contains(str_at(ca, "/grouping/0/id")));
        } else {
            assert!(
                courses.contains(object),
                "only courses have no parent: {object}"
            );
        }
        if let Some(result) = s.get("result") {
            if let Some(d) = result.get("duration") {
                let d = d.as_str().unwrap_or_default();
                assert!(is_iso_duration(d), "duration {d}");
            }
            if let Some(score) = result.get("score") {
                let scaled = score["scaled"].as_f64().unwrap_or(f64::NAN);
                assert!((-1.0..=1.0).contains(&scaled), "{score}");
                let (raw, min, max) = (
                    score["raw"].as_f64(),
                    score["min"].as_f64(),
                    score["max"].as_f64(),
                );
                if let (Some(raw), Some(min), Some(max)) = (raw, min, max) {
                    assert!(min < max && min <= raw && raw <= max, "{score}");
                    assert!(((raw - min) / (max - min) - scaled).abs() < 1e-9, "{score}");
                }
            }
        }
    }
    let expected = [
        "launched",
        "initialized",
        "attempted",
        "experienced",
        "answered",
        "completed",
        "passed",
        "failed",
        "terminated",
        "progressed",
        "voided",
    ];
    for verb in expected {
        assert!(
            verbs.contains_key(verb),
            "verb {verb} never generated: {verbs:?}"
        );
    }
    for it in ["choice", "true-false", "fill-in", "numeric"] {
        assert!(
            interaction_types.contains(it),
            "interaction {it} never generated"
        );
    }
    // Mixed identification and languages.
    let accounts = statements
        .iter()
        .filter(|s| s.pointer("/actor/account").is_some())
        .count();
    assert!(accounts > 1_000 && accounts < 19_000);
    assert!(statements
        .iter()
        .any(|s| s.pointer("/object/definition/name/fr-FR").is_some()));
    assert!(statements
        .iter()
        .any(|s| s.pointer("/verb/display/fr-FR").is_some()));
}

#[test]
fn journeys_follow_a_plausible_order() {
    let statements: Vec<Value> = Corpus::new(CorpusConfig::default()).take(20_000).collect();
    let mut timestamps = statements.iter().map(|s| str_at(s, "/timestamp"));
    let mut previous = timestamps.next().unwrap_or_default();
    for ts in timestamps {
        assert!(ts >= previous, "timestamps go back: {previous} then {ts}");
        previous = ts;
    }
    let mut by_registration: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in &statements {
        let verb = str_at(s, "/verb/id").rsplit('/').next().unwrap_or_default();
        by_registration
            .entry(str_at(s, "/context/registration"))
            .or_default()
            .push(verb);
    }
    let mut finished = 0;
    let mut retried = HashSet::new();
    for verbs in by_registration.values() {
        // The stream starts with every registration's launch (no registration is cut at
        // the start), and a registration ends with `terminated` once it is over.
        assert_eq!(verbs[0], "launched");
        if let Some(end) = verbs.iter().position(|v| *v == "terminated") {
            assert_eq!(
                end,
                verbs.len() - 1,
                "statements after terminated: {verbs:?}"
            );
            finished += 1;
        }
    }
    for s in &statements {
        let attempt = s.pointer(&format!(
            "/context/extensions/{}",
            ATTEMPT_EXTENSION.replace('/', "~1")
        ));
        if attempt.and_then(Value::as_u64).is_some_and(|a| a > 1) {
            retried.insert(str_at(s, "/context/registration"));
        }
    }
    assert!(finished > 100, "only {finished} registrations finished");
    assert!(
        !retried.is_empty(),
        "no learner ever retried a course with a new registration"
    );
}

#[test]
fn voiding_targets_earlier_plain_statements_once() {
    let plain: Vec<Value> = Corpus::new(CorpusConfig::default()).take(5_000).collect();
    let config = CorpusConfig {
        voiding_ratio: 0.1,
        ..CorpusConfig::default()
    };
    let mut seen = HashSet::new();
    let mut voided = HashSet::new();
    let mut without_voids = Vec::new();
    for s in Corpus::new(config).take(5_500) {
        if str_at(&s, "/verb/id") == Verb::Voided.iri() {
            assert_eq!(str_at(&s, "/object/objectType"), "StatementRef");
            let target = str_at(&s, "/object/id").to_string();
            assert!(seen.contains(&target), "voids a statement not yet emitted");
            assert!(voided.insert(target), "voided twice");
            assert!(
                s.pointer("/context/platform").is_none(),
                "platform is only for activities"
            );
        } else {
            without_voids.push(s.clone());
        }
        seen.insert(str_at(&s, "/id").to_string());
    }
    let ratio = voided.len() as f64 / without_voids.len() as f64;
    assert!((0.07..0.13).contains(&ratio), "voided ratio {ratio}");
    // Voiding is layered on top: the underlying journeys are unchanged.
    assert_eq!(
        &plain[..without_voids.len().min(5_000)],
        &without_voids[..without_voids.len().min(5_000)]
    );
}

#[test]
fn out_of_order_shuffles_within_the_window() {
    let ordered: Vec<Value> = Corpus::new(CorpusConfig::default()).take(3_000).collect();
    let window = 16;
    let shuffled: Vec<Value> = Corpus::new(CorpusConfig {
        out_of_order_window: window,
        ..CorpusConfig::default()
    })
    .take(3_000)
    .collect();
    assert_ne!(ordered, shuffled);
    let inversions = shuffled
        .windows(2)
        .filter(|w| str_at(&w[0], "/timestamp") > str_at(&w[1], "/timestamp"))
        .count();
    assert!(inversions > 100, "only {inversions} timestamp inversions");
    // Same statements, displaced only locally.
    let position: HashMap<&str, usize> = ordered
        .iter()
        .enumerate()
        .map(|(i, s)| (str_at(s, "/id"), i))
        .collect();
    let mut displaced = 0;
    for (i, s) in shuffled.iter().enumerate().take(2_000) {
        let original = position.get(str_at(s, "/id")).copied();
        let original =
            original.unwrap_or_else(|| panic!("statement {i} is not in the ordered stream"));
        assert!(
            original + 200 > i,
            "statement {original} emitted far too late at {i}"
        );
        displaced += usize::from(original != i);
    }
    assert!(displaced > 1_000);
}

#[test]
fn tenants_share_activities_not_learners() {
    let a: Vec<Value> = Corpus::new(CorpusConfig::default()).take(2_000).collect();
    let b: Vec<Value> = Corpus::new(CorpusConfig {
        tenant: 1,
        ..CorpusConfig::default()
    })
    .take(2_000)
    .collect();
    let objects = |v: &[Value]| -> HashSet<String> {
        v.iter()
            .map(|s| str_at(s, "/object/id").to_string())
            .collect()
    };
    let actors =
        |v: &[Value]| -> HashSet<String> { v.iter().map(|s| s["actor"].to_string()).collect() };
    let ids = |v: &[Value]| -> HashSet<String> {
        v.iter().map(|s| str_at(s, "/id").to_string()).collect()
    };
    assert!(objects(&a).intersection(&objects(&b)).count() > 50);
    assert_eq!(actors(&a).intersection(&actors(&b)).count(), 0);
    assert_eq!(ids(&a).intersection(&ids(&b)).count(), 0);

    let mut multi = MultiTenantCorpus::new(&CorpusConfig::default(), 3);
    let tags: Vec<u32> = multi.by_ref().take(6).map(|(t, _)| t).collect();
    assert_eq!(tags, [0, 1, 2, 0, 1, 2]);
    // Each tenant's sub-stream is that tenant's own corpus.
    let tenant1: Vec<Value> = MultiTenantCorpus::new(&CorpusConfig::default(), 3)
        .filter(|(t, _)| *t == 1)
        .map(|(_, s)| s)
        .take(50)
        .collect();
    assert_eq!(tenant1, b[..50]);
}

#[test]
fn small_and_degenerate_shapes_work() {
    let tiny = CorpusConfig {
        learners: 1,
        courses: 1,
        modules_per_course: 1,
        lessons_per_module: 0,
        questions_per_quiz: 1,
        concurrent_sessions: 1,
        ..CorpusConfig::default()
    };
    assert_eq!(Corpus::new(tiny).take(500).count(), 500);
    let big = CorpusConfig {
        courses: 40,
        ..CorpusConfig::default()
    };
    let corpus = Corpus::new(big);
    let ids: HashSet<&str> = corpus.catalogue().activity_ids().collect();
    assert_eq!(
        ids.len(),
        corpus.catalogue().activity_ids().count(),
        "activity ids collide"
    );
    assert!(CorpusConfig {
        learners: 0,
        ..CorpusConfig::default()
    }
    .validate()
    .is_err());
    assert!(CorpusConfig {
        voiding_ratio: 1.5,
        ..CorpusConfig::default()
    }
    .validate()
    .is_err());
}
