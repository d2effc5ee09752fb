use lrs_core::event::*;
use lrs_core::log::LogRecord;
use lrs_core::store::ReadStore;
use lrs_core::TenantId;
use lrs_store::{SqlStore, StoreOptions};
use serde_json::json;
use serde_json::value::RawValue;

async fn run(rich: bool) -> std::time::Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&format!("sqlite://{}", dir.path().join("s.db").display()), &StoreOptions::default()).await.unwrap();
    let mut off = 0i64;
    let mut rec = |p: &EventPayload| { let e = EventEnvelope::new(TenantId::parse("t").unwrap(), "c".into(), Principal::system(), chrono::Utc::now(), p); off += 1; LogRecord { partition: 0, offset: off, key: b"t".to_vec().into(), payload: e.to_bytes().into() } };
    store.apply("p", &[rec(&EventPayload::TenantCreated(TenantCreated { name: "t".into() }))]).await.unwrap();
    let mut total = std::time::Duration::ZERO;
    for b in 0..10 {
        let mut records = Vec::new();
        for e in 0..200 {
            let sts: Vec<Box<RawValue>> = (0..10).map(|i| {
                let n = b * 10000 + e * 10 + i;
                let s = if rich { json!({"id": uuid::Uuid::new_v4().to_string(), "actor": {"name": format!("User {}", n % 500), "mbox": format!("mailto:u{}@x.example", n % 500)}, "verb": {"id": "http://v.example/x"}, "object": {"id": format!("http://a.example/{}", n % 50), "definition": {"name": {"en-US": "A"}, "description": {"en-US": "d"}, "type": "http://t.example"}}, "context": {"contextActivities": {"parent": [{"id": "http://a.example/course", "definition": {"name": {"en": "Course"}}}]}}}) }
                else { json!({"id": uuid::Uuid::new_v4().to_string(), "actor": {"mbox": format!("mailto:u{}@x.example", n % 500)}, "verb": {"id": "http://v.example/x"}, "object": {"id": format!("http://a.example/{}", n % 50)}, "context": {"contextActivities": {"parent": [{"id": "http://a.example/course"}]}}}) };
                RawValue::from_string(s.to_string()).unwrap()
            }).collect();
            records.push(rec(&EventPayload::StatementsSubmitted(StatementsSubmitted { statements: sts, attachments: vec![], xapi_version: "2.0.0".into() })));
        }
        let t = std::time::Instant::now();
        store.apply("p", &records).await.unwrap();
        total += t.elapsed();
    }
    total
}

#[tokio::test]
async fn perf() {
    let plain = run(false).await;
    let rich = run(true).await;
    eprintln!("20000 statements: plain {plain:?}, with names+definitions {rich:?}");
}
