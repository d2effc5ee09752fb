use lrs_bench::corpus::*;
use std::collections::BTreeMap;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let mut by_verb: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let all: Vec<_> = Corpus::new(CorpusConfig::default()).take(n).collect();
    for s in &all {
        let v = s["verb"]["id"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let e = by_verb.entry(v).or_default();
        e.0 += 1;
        e.1 += serialized_size(s);
    }
    for (v, (c, b)) in &by_verb {
        println!("{v:12} {c:6} {:.0}", *b as f64 / *c as f64);
    }
    println!("avg {:.0}", average_size(&all));
    for s in all.iter() {
        eprintln!("{}", s);
    }
    let ans = all
        .iter()
        .find(|s| s["verb"]["id"].as_str().unwrap().ends_with("answered"))
        .unwrap();
    println!("{}", serde_json::to_string_pretty(ans).unwrap());
    println!("{}", all.last().unwrap()["timestamp"]);
}
