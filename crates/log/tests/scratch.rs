mod support;
use bytes::Bytes;
use lrs_core::EventLog;
use lrs_log::{KafkaConfig, KafkaLog};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermark() {
    support::init_tracing();
    for storage in [
        "memory://tansu/".to_string(),
        format!(
            "sqlite://{}/t.db",
            tempfile::tempdir().unwrap().keep().display()
        ),
    ] {
        let broker = support::Tansu::start(&storage);
        let mut cfg = KafkaConfig::new(broker.brokers(), "wm");
        cfg.partitions = 1;
        let log = KafkaLog::connect(cfg).await.unwrap();
        let r =
            futures::future::join_all((0..3).map(|i| log.append("k", Bytes::from(format!("{i}")))))
                .await;
        println!(
            "{storage}: appended {:?}",
            r.iter()
                .map(|a| a.as_ref().unwrap().offset)
                .collect::<Vec<_>>()
        );
        println!("end offsets {:?}", log.end_offsets().await.unwrap());
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "end offsets after 2s {:?}",
            log.end_offsets().await.unwrap()
        );
        let r = log.append("k", Bytes::from("x")).await.unwrap();
        println!(
            "single append {r:?}; end offsets {:?}",
            log.end_offsets().await.unwrap()
        );
    }
}
