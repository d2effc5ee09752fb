//! Kafka log against a real broker (tansu; see `support`). Every test uses its own topic,
//! so the tests can share one broker.

mod support;

use bytes::Bytes;
use lrs_core::log::StartPositions;
use lrs_core::{ConsumerOptions, EventLog, LogConsumer, LogError, LogRecord};
use lrs_log::{KafkaConfig, KafkaLog};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{brokers, init_tracing, unique_topic};

async fn connect(topic: &str) -> KafkaLog {
    init_tracing();
    KafkaLog::connect(KafkaConfig::new(brokers(), topic))
        .await
        .expect("connect to kafka")
}

fn group() -> String {
    format!("lrs-test-group-{}", uuid::Uuid::new_v4().simple())
}

fn positions(map: HashMap<i32, i64>) -> StartPositions {
    Arc::new(move |partition| map.get(&partition).copied())
}

/// Appends `per_key` records for each key, payload `key:n`; returns them in append order.
async fn append_keys(
    log: &KafkaLog,
    keys: &[String],
    per_key: usize,
) -> Vec<(String, usize, i32, i64)> {
    let mut appended = Vec::new();
    for n in 0..per_key {
        // Concurrently across keys (as the ingest does), sequentially within a key.
        let results = futures::future::join_all(
            keys.iter()
                .map(|key| log.append(key, Bytes::from(format!("{key}:{n}")))),
        )
        .await;
        for (key, result) in keys.iter().zip(results) {
            let appended_at = result.expect("append");
            appended.push((key.clone(), n, appended_at.partition, appended_at.offset));
        }
    }
    appended
}

/// Polls until `count` records arrived.
async fn read_n(
    consumer: &mut Box<dyn LogConsumer>,
    count: usize,
    within: Duration,
) -> Vec<LogRecord> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records arrived",
            out.len()
        );
        out.extend(
            consumer
                .poll_batch(500, Duration::from_millis(200))
                .await
                .expect("poll"),
        );
    }
    out
}

fn parse(record: &LogRecord) -> (String, usize) {
    let text = std::str::from_utf8(&record.payload).expect("utf8");
    let (key, n) = text.rsplit_once(':').expect("key:n");
    assert_eq!(record.key, key.as_bytes(), "record key");
    (key.to_string(), n.parse().expect("number"))
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("tenant-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_returns_dense_offsets_per_partition() {
    let topic = unique_topic("append");
    let log = connect(&topic).await;
    assert_eq!(log.kind(), "kafka");
    log.check().await.expect("healthy");

    let appended = append_keys(&log, &keys(12), 5).await;
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut partition_of_key = HashMap::new();
    for (key, _, partition, offset) in &appended {
        assert!((0..8).contains(partition));
        assert_eq!(
            *partition_of_key.entry(key.clone()).or_insert(*partition),
            *partition,
            "a key stays on its partition"
        );
        per_partition.entry(*partition).or_default().push(*offset);
    }
    for offsets in per_partition.values_mut() {
        offsets.sort_unstable();
        assert_eq!(
            *offsets,
            (0..offsets.len() as i64).collect::<Vec<_>>(),
            "offsets are dense from 0"
        );
    }
    assert!(
        per_partition.len() > 1,
        "12 keys should spread over several partitions"
    );

    // Reconnecting to the existing topic is fine.
    let again = KafkaLog::connect(KafkaConfig::new(brokers(), &topic))
        .await
        .expect("reconnect");
    again.check().await.expect("healthy");
}

/// Appends one at a time: tansu's in-memory storage reports the high watermark of a
/// partition as "first offset of the newest batch + 1", so with batches of several
/// records `end_offsets` would lag behind there (its sqlite storage, and Kafka, are exact).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_offsets_report_the_last_record() {
    let topic = unique_topic("end");
    let log = connect(&topic).await;
    assert!(
        log.end_offsets().await.expect("end offsets").is_empty(),
        "empty partitions are omitted"
    );
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for key in keys(6) {
        for n in 0..3 {
            let appended = log
                .append(&key, Bytes::from(format!("{key}:{n}")))
                .await
                .expect("append");
            last.insert(appended.partition, appended.offset);
        }
    }
    let expected: Vec<(i32, i64)> = last.into_iter().collect();
    assert_eq!(log.end_offsets().await.expect("end offsets"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_consumer_reads_everything_in_key_order() {
    let topic = unique_topic("order");
    let log = connect(&topic).await;
    let appended = append_keys(&log, &keys(10), 20).await;

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning(group()))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, appended.len(), Duration::from_secs(60)).await;
    assert_eq!(records.len(), appended.len());
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut seen = BTreeSet::new();
    for record in &records {
        assert!(
            seen.insert((record.partition, record.offset)),
            "duplicate delivery"
        );
        let (key, n) = parse(record);
        let expected = next.entry(key.clone()).or_default();
        assert_eq!(n, *expected, "{key} out of order");
        *expected += 1;
    }
    assert!(next.values().all(|&n| n == 20));
    // Nothing else arrives.
    assert!(consumer
        .poll_batch(10, Duration::from_millis(300))
        .await
        .expect("poll")
        .is_empty());
    consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_positions_are_honoured() {
    let topic = unique_topic("start");
    let log = connect(&topic).await;
    let appended = append_keys(&log, &keys(4), 25).await;

    // Pretend the read store applied the first 10 records of every partition.
    let mut applied = HashMap::new();
    for (_, _, partition, offset) in &appended {
        if *offset == 9 {
            applied.insert(*partition, 9);
        }
    }
    let expected = appended
        .iter()
        .filter(|(_, _, p, o)| applied.get(p).is_none_or(|&a| *o > a))
        .count();
    assert!(expected < appended.len());
    let options = ConsumerOptions {
        group_id: group(),
        start_positions: positions(applied.clone()),
    };
    let mut consumer = log.consumer(options).await.expect("consumer");
    let records = read_n(&mut consumer, expected, Duration::from_secs(60)).await;
    assert_eq!(records.len(), expected);
    for record in &records {
        if let Some(&last) = applied.get(&record.partition) {
            assert!(
                record.offset > last,
                "delivered {}@{} before the start position",
                record.partition,
                record.offset
            );
        }
    }
    assert!(consumer
        .poll_batch(10, Duration::from_millis(300))
        .await
        .expect("poll")
        .is_empty());
    consumer.close().await;
}

/// A read store that is ahead of the topic (it applied offsets the topic does not have)
/// must never lead to a silent rewind to the beginning. Kafka answers such a fetch with
/// OFFSET_OUT_OF_RANGE, which `auto.offset.reset=error` turns into a poll error; tansu
/// just returns nothing, which is also acceptable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_position_beyond_the_end_never_rewinds() {
    let topic = unique_topic("ahead");
    let log = connect(&topic).await;
    let appended = log
        .append("tenant", Bytes::from_static(b"only"))
        .await
        .expect("append");
    let ahead = HashMap::from([(appended.partition, 1_000)]);
    let options = ConsumerOptions {
        group_id: group(),
        start_positions: positions(ahead),
    };
    let mut consumer = log.consumer(options).await.expect("consumer");
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        match consumer.poll_batch(10, Duration::from_millis(200)).await {
            Ok(records) => assert!(
                records.is_empty(),
                "delivered {records:?} from before the start position"
            ),
            Err(error) => {
                assert!(matches!(error, LogError::Kafka(_)), "{error}");
                println!("reported: {error}");
                break;
            }
        }
    }
    consumer.close().await;
}

/// Two consumers of one group split the partitions. Like the projector, each skips what
/// the shared "read store" already applied, and stores what it applies. Records keep
/// coming while the second consumer joins and the group rebalances, so partitions move
/// from one consumer to the other and must resume exactly where the store says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consumers_split_the_partitions() {
    let topic = unique_topic("split");
    let log = Arc::new(connect(&topic).await);
    let group = group();
    let store: Arc<Mutex<HashMap<i32, i64>>> = Arc::default();
    let start: StartPositions = {
        let store = store.clone();
        Arc::new(move |partition| store.lock().expect("lock").get(&partition).copied())
    };
    // Set once appending is over: consumers stop when everything appended was applied.
    let appended_total = Arc::new(AtomicUsize::new(usize::MAX));
    let applied_by: Arc<Mutex<BTreeMap<&'static str, usize>>> = Arc::default();

    // Append rounds (one record per key) until both consumers have applied something,
    // i.e. the group has rebalanced and split the partitions.
    let appender = {
        let (log, applied_by) = (log.clone(), applied_by.clone());
        tokio::spawn(async move {
            let keys = keys(40);
            let mut appended = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            for round in 0.. {
                let results = futures::future::join_all(
                    keys.iter()
                        .map(|key| log.append(key, Bytes::from(format!("{key}:{round}")))),
                )
                .await;
                appended.extend(results.into_iter().map(|r| r.expect("append")));
                if applied_by.lock().expect("lock").len() == 2 || Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            appended
        })
    };

    let mut tasks = Vec::new();
    for name in ["a", "b"] {
        let options = ConsumerOptions {
            group_id: group.clone(),
            start_positions: start.clone(),
        };
        let mut consumer = log.consumer(options).await.expect("consumer");
        let (store, appended_total, applied_by) =
            (store.clone(), appended_total.clone(), applied_by.clone());
        tasks.push(tokio::spawn(async move {
            let mut applied: Vec<(i32, i64)> = Vec::new();
            let mut redelivered = 0usize;
            let deadline = Instant::now() + Duration::from_secs(120);
            while applied_total(&store) < appended_total.load(Ordering::SeqCst)
                && Instant::now() < deadline
            {
                for record in consumer
                    .poll_batch(100, Duration::from_millis(100))
                    .await
                    .expect("poll")
                {
                    let mut store = store.lock().expect("lock");
                    let last = store.get(&record.partition).copied();
                    match last {
                        Some(last) if record.offset <= last => redelivered += 1,
                        _ => {
                            // Never skip: the next record of a partition is exactly last+1.
                            assert_eq!(
                                record.offset,
                                last.map_or(0, |l| l + 1),
                                "{name}: gap in partition {}",
                                record.partition
                            );
                            store.insert(record.partition, record.offset);
                            applied.push((record.partition, record.offset));
                            *applied_by.lock().expect("lock").entry(name).or_default() += 1;
                        }
                    }
                }
            }
            consumer.close().await;
            (name, applied, redelivered)
        }));
        // The second consumer joins while the first is busy: a rolling start.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let appended = appender.await.expect("appender");
    appended_total.store(appended.len(), Ordering::SeqCst);

    let mut everything = BTreeSet::new();
    for task in tasks {
        let (name, applied, redelivered) = task.await.expect("consumer task");
        let partitions: BTreeSet<i32> = applied.iter().map(|(p, _)| *p).collect();
        println!(
            "consumer {name}: applied {} records from partitions {partitions:?}, \
             skipped {redelivered} redeliveries",
            applied.len()
        );
        assert!(!applied.is_empty(), "consumer {name} never got partitions");
        for position in &applied {
            assert!(everything.insert(*position), "{position:?} applied twice");
        }
    }
    let expected: BTreeSet<(i32, i64)> = appended.iter().map(|a| (a.partition, a.offset)).collect();
    assert_eq!(everything, expected, "every record applied exactly once");
}

fn applied_total(store: &Mutex<HashMap<i32, i64>>) -> usize {
    store
        .lock()
        .expect("lock")
        .values()
        .map(|&last| (last + 1) as usize)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_reopen_resumes() {
    let topic = unique_topic("commit");
    let log = connect(&topic).await;
    let group = group();
    let first = append_keys(&log, &keys(6), 5).await;

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning(group.clone()))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, first.len(), Duration::from_secs(60)).await;
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for record in &records {
        let entry = last.entry(record.partition).or_insert(record.offset);
        *entry = (*entry).max(record.offset);
    }
    let positions_to_commit: Vec<(i32, i64)> = last.iter().map(|(&p, &o)| (p, o)).collect();
    consumer.commit(&positions_to_commit).await.expect("commit");
    // Async commit: give it a moment to reach the broker before leaving.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        consumer
            .poll_batch(10, Duration::from_millis(100))
            .await
            .expect("poll");
        if log.committed_positions(&group).await.expect("committed") == positions_to_commit {
            break;
        }
        assert!(Instant::now() < deadline, "commit never became visible");
    }
    let started = Instant::now();
    consumer.close().await;
    println!("close took {:?}", started.elapsed());

    let second = append_keys(&log, &keys(6), 3).await;
    let committed: HashMap<i32, i64> = log
        .committed_positions(&group)
        .await
        .expect("committed")
        .into_iter()
        .collect();
    let options = ConsumerOptions {
        group_id: group.clone(),
        start_positions: positions(committed),
    };
    let mut consumer = log.consumer(options).await.expect("consumer");
    let records = read_n(&mut consumer, second.len(), Duration::from_secs(60)).await;
    let resumed: BTreeSet<(i32, i64)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    let expected: BTreeSet<(i32, i64)> = second.iter().map(|(_, _, p, o)| (*p, *o)).collect();
    assert_eq!(
        resumed, expected,
        "exactly the records after the committed positions"
    );
    consumer.close().await;
}

/// The broker is restarted (sqlite storage keeps the data): appends keep working after
/// it is back, offsets continue, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_broker_restart() {
    init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = format!("sqlite://{}/tansu.db", dir.path().display());
    let broker = support::Tansu::start(&storage);
    let topic = unique_topic("restart");
    let log = KafkaLog::connect(KafkaConfig::new(broker.brokers(), &topic))
        .await
        .expect("connect");
    let before = append_keys(&log, &keys(3), 5).await;

    broker.stop();
    support::Tansu::start_on(broker.port, &storage);
    let after = append_keys(&log, &keys(3), 5).await;
    for key in keys(3) {
        let offsets: Vec<i64> = before
            .iter()
            .chain(&after)
            .filter(|a| a.0 == key)
            .map(|a| a.3)
            .collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{key}: offsets must keep increasing: {offsets:?}"
        );
    }
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning(group()))
        .await
        .expect("consumer");
    let records = read_n(
        &mut consumer,
        before.len() + after.len(),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(records.len(), before.len() + after.len());
    consumer.close().await;
}

/// Throughput and end-to-end latency against the test broker (not asserted):
/// `cargo test -p lrs-log --release --test kafka -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_and_latency() {
    for (label, size, linger_ms) in [
        ("1 KB", 1_000usize, 0),
        ("1 KB", 1_000, 1),
        ("1 KB", 1_000, 2),
        ("1 KB", 1_000, 5),
        ("90 KB", 90_000, 0),
        ("90 KB", 90_000, 2),
    ] {
        let mut config = KafkaConfig::new(brokers(), unique_topic("throughput"));
        config.linger_ms = linger_ms;
        let log = Arc::new(KafkaLog::connect(config).await.expect("connect"));
        let payload = Bytes::from(vec![b'x'; size]);
        let run_for = Duration::from_secs(3);
        let started = Instant::now();
        let mut handles = Vec::new();
        for task in 0..16 {
            let (log, payload) = (log.clone(), payload.clone());
            handles.push(tokio::spawn(async move {
                let key = format!("tenant-{task}");
                let mut count = 0u64;
                while started.elapsed() < run_for {
                    log.append(&key, payload.clone()).await.expect("append");
                    count += 1;
                }
                count
            }));
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("task");
        }
        println!(
            "16 appenders x {label}, linger.ms={linger_ms}: {:.0} appends/s",
            total as f64 / started.elapsed().as_secs_f64()
        );
    }

    // Append-to-delivery latency of a tailing consumer.
    let log = connect(&unique_topic("latency")).await;
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning(group()))
        .await
        .expect("consumer");
    log.append("warm-up", Bytes::from_static(b"0"))
        .await
        .expect("append");
    read_n(&mut consumer, 1, Duration::from_secs(30)).await;
    let mut latencies = Vec::new();
    for i in 0..50 {
        let sent = Instant::now();
        log.append("tenant", Bytes::from(format!("{i}")))
            .await
            .expect("append");
        let acked = sent.elapsed();
        read_n(&mut consumer, 1, Duration::from_secs(30)).await;
        latencies.push((acked, sent.elapsed()));
    }
    latencies.sort_by_key(|(_, delivered)| *delivered);
    let (ack_p50, p50) = latencies[latencies.len() / 2];
    let (_, p99) = latencies[latencies.len() * 99 / 100];
    println!("append ack p50 {ack_p50:?}; append-to-delivery p50 {p50:?}, p99 {p99:?}");
    consumer.close().await;
}
