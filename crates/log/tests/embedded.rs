//! Embedded log against real files (no mocks): round trips, group commit, recovery,
//! positioning, rollover, locking and tailing.

use bytes::Bytes;
use lrs_core::log::StartPositions;
use lrs_core::{ConsumerOptions, EventLog, LogConsumer, LogError, LogRecord};
use lrs_log::{EmbeddedLog, EmbeddedOptions};
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEADER: u64 = 16;

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("lrs_log=debug")
        .try_init();
}

fn open(dir: &Path) -> EmbeddedLog {
    EmbeddedLog::open(dir, EmbeddedOptions::default()).expect("open embedded log")
}

fn segment(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

fn from(start: Option<i64>) -> ConsumerOptions {
    let positions: StartPositions = Arc::new(move |_| start);
    ConsumerOptions {
        group_id: "test".into(),
        start_positions: positions,
    }
}

async fn append_all(log: &EmbeddedLog, records: &[(&str, String)]) -> Vec<i64> {
    let mut offsets = Vec::new();
    for (key, payload) in records {
        offsets.push(
            log.append(key, Bytes::from(payload.clone()))
                .await
                .expect("append")
                .offset,
        );
    }
    offsets
}

/// Reads until `count` records arrived (or fails after a generous timeout).
async fn read_n(consumer: &mut Box<dyn LogConsumer>, count: usize) -> Vec<LogRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records arrived",
            out.len()
        );
        out.extend(
            consumer
                .poll_batch(1000, Duration::from_millis(200))
                .await
                .expect("poll"),
        );
    }
    out
}

fn payloads(n: usize) -> Vec<(&'static str, String)> {
    (0..n)
        .map(|i| ("tenant-a", format!("{{\"n\":{i}}}")))
        .collect()
}

#[tokio::test]
async fn round_trip() {
    init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    assert_eq!(log.kind(), "embedded");
    assert!(log.end_offsets().await.expect("end offsets").is_empty());
    log.check().await.expect("healthy");

    let first = log
        .append("tenant-a", Bytes::from_static(b"{\"a\":1}"))
        .await
        .expect("append");
    let second = log
        .append("tenant-b", Bytes::from_static(b"{\"b\":2}"))
        .await
        .expect("append");
    let empty = log.append("", Bytes::new()).await.expect("append empty");
    assert_eq!(first.partition, 0);
    assert_eq!(first.offset, 0);
    assert_eq!(second.offset as u64, HEADER + 8 + 7);
    assert!(empty.offset > second.offset);
    assert_eq!(
        log.end_offsets().await.expect("end offsets"),
        vec![(0, empty.offset)]
    );

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, 3).await;
    assert_eq!(records[0].offset, first.offset);
    assert_eq!(&records[0].key[..], b"tenant-a");
    assert_eq!(&records[0].payload[..], b"{\"a\":1}");
    assert_eq!(records[1].offset, second.offset);
    assert_eq!(&records[1].key[..], b"tenant-b");
    assert_eq!(&records[1].payload[..], b"{\"b\":2}");
    assert_eq!(records[2].offset, empty.offset);
    assert!(records[2].key.is_empty() && records[2].payload.is_empty());
    // Nothing more: an empty batch after max_wait.
    let started = Instant::now();
    assert!(consumer
        .poll_batch(10, Duration::from_millis(100))
        .await
        .expect("poll")
        .is_empty());
    assert!(started.elapsed() >= Duration::from_millis(90));
    consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_distinct_ordered_and_grouped() {
    init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    const TASKS: usize = 16;
    const PER_TASK: usize = 200;

    let mut handles = Vec::new();
    for task in 0..TASKS {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("tenant-{task}");
            let mut offsets = Vec::new();
            for i in 0..PER_TASK {
                let appended = log
                    .append(&key, Bytes::from(format!("{task}:{i}")))
                    .await
                    .expect("append");
                offsets.push(appended.offset);
            }
            offsets
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        let offsets = handle.await.expect("task");
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "one appender's offsets must increase"
        );
        all.extend(offsets);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), TASKS * PER_TASK, "offsets must be distinct");

    let stats = log.stats();
    println!("{stats:?}");
    assert_eq!(stats.records, (TASKS * PER_TASK) as u64);
    assert!(
        stats.fsyncs < stats.records,
        "concurrent appends should share fsyncs: {stats:?}"
    );

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, TASKS * PER_TASK).await;
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, all, "everything read back, in offset order");
    let mut next_per_key: HashMap<Bytes, usize> = HashMap::new();
    for record in &records {
        let text = std::str::from_utf8(&record.payload).expect("utf8");
        let (task, i) = text.split_once(':').expect("task:i");
        assert_eq!(
            std::str::from_utf8(&record.key).expect("utf8"),
            format!("tenant-{task}")
        );
        let expected = next_per_key.entry(record.key.clone()).or_default();
        assert_eq!(
            i.parse::<usize>().expect("number"),
            *expected,
            "per-key order"
        );
        *expected += 1;
    }
}

/// `append` answering Ok means the writer had already fdatasync'd the record: the writer
/// publishes the durable end and replies only after `sync_data` returned (see
/// `writer::Writer::commit`). Observable consequences checked here: every acknowledged
/// record lies below the durable end, an fsync was counted for it, and the bytes are in
/// the file as seen through an independent file handle.
#[tokio::test]
async fn acknowledged_means_fsynced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    for i in 0..20 {
        let payload = format!("{{\"i\":{i}}}");
        let before = log.stats().fsyncs;
        let appended = log
            .append("t", Bytes::from(payload.clone()))
            .await
            .expect("append");
        let stats = log.stats();
        assert!(
            stats.fsyncs > before,
            "no fsync happened before the acknowledgement"
        );
        assert!(stats.durable_end > appended.offset as u64);
        let file = std::fs::File::open(segment(dir.path(), 0)).expect("open segment");
        let mut on_disk = vec![0u8; payload.len()];
        file.read_exact_at(&mut on_disk, appended.offset as u64 + HEADER + 1)
            .expect("record is in the file");
        assert_eq!(on_disk, payload.as_bytes());
    }
}

#[tokio::test]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let offsets = {
        let log = open(dir.path());
        append_all(&log, &payloads(50)).await
    };
    let log = open(dir.path());
    assert_eq!(
        log.end_offsets().await.expect("end"),
        vec![(0, *offsets.last().expect("some"))]
    );
    let next = log
        .append("tenant-a", Bytes::from_static(b"after"))
        .await
        .expect("append");
    assert!(next.offset > *offsets.last().expect("some"));

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, 51).await;
    let read: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(&read[..50], &offsets[..]);
    assert_eq!(read[50], next.offset);
    assert_eq!(&records[50].payload[..], b"after");
}

#[tokio::test]
async fn torn_tail_is_truncated_on_open() {
    init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let offsets = {
        let log = open(dir.path());
        append_all(&log, &payloads(5)).await
    };
    let path = segment(dir.path(), 0);
    let full = std::fs::metadata(&path).expect("stat").len();
    // Crash in the middle of writing the last record.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(full - 3)
        .expect("truncate");

    let log = open(dir.path());
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        offsets[4] as u64,
        "torn record cut off"
    );
    assert_eq!(log.end_offsets().await.expect("end"), vec![(0, offsets[3])]);
    let again = log
        .append("tenant-a", Bytes::from_static(b"again"))
        .await
        .expect("append");
    assert_eq!(
        again.offset, offsets[4],
        "appending continues where the torn record began"
    );

    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, 5).await;
    assert_eq!(
        records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        offsets
    );
    assert_eq!(&records[4].payload[..], b"again");
}

#[tokio::test]
async fn torn_header_and_unwritten_blocks_are_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = segment(dir.path(), 0);
    let big = "x".repeat(4000);
    let offsets = {
        let log = open(dir.path());
        let mut offsets = append_all(&log, &payloads(3)).await;
        offsets.push(
            log.append("tenant-a", Bytes::from(big.clone()))
                .await
                .expect("append")
                .offset,
        );
        offsets
    };

    // 1. Only part of a header made it to disk.
    let full = std::fs::metadata(&path).expect("stat").len();
    {
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        file.write_all_at(&[0x42; 7], full)
            .expect("write partial header");
    }
    drop(open(dir.path()));
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), full);

    // 2. The file grew but the data never arrived (zeros), a whole 4 KiB page of it.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(full + 4096)
        .expect("extend");
    drop(open(dir.path()));
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), full);

    // 3. A sector in the middle of the last (big) record was never written.
    let zero_from = (offsets[3] as u64 + 1024) / 512 * 512;
    {
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        file.write_all_at(&[0u8; 512], zero_from)
            .expect("zero a sector");
    }
    let log = open(dir.path());
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        offsets[3] as u64
    );
    assert_eq!(log.end_offsets().await.expect("end"), vec![(0, offsets[2])]);
}

#[tokio::test]
async fn corruption_in_the_middle_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let offsets = {
        let log = open(dir.path());
        append_all(&log, &payloads(5)).await
    };
    let path = segment(dir.path(), 0);
    let original = std::fs::read(&path).expect("read");

    // A flipped payload bit in record 2.
    let mut damaged = original.clone();
    damaged[offsets[2] as usize + HEADER as usize + 10] ^= 0x01;
    std::fs::write(&path, &damaged).expect("write");
    match EmbeddedLog::open(dir.path(), EmbeddedOptions::default()) {
        Err(LogError::Corrupt { offset, reason }) => {
            assert_eq!(offset, offsets[2]);
            assert!(reason.contains("checksum"), "{reason}");
        }
        Err(other) => panic!("expected corruption, got {other}"),
        Ok(_) => panic!("expected corruption, the log opened"),
    }

    // A flipped length bit in record 1's header (the header checksum catches it).
    let mut damaged = original.clone();
    damaged[offsets[1] as usize + 1] ^= 0x10;
    std::fs::write(&path, &damaged).expect("write");
    match EmbeddedLog::open(dir.path(), EmbeddedOptions::default()) {
        Err(LogError::Corrupt { offset, .. }) => assert_eq!(offset, offsets[1]),
        Err(other) => panic!("expected corruption, got {other}"),
        Ok(_) => panic!("expected corruption, the log opened"),
    }

    // Nothing was "repaired" away.
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        original.len() as u64
    );
}

/// Old segments skipped at open (verify_on_open = false) are still verified when read.
#[tokio::test]
async fn readers_verify_checksums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = EmbeddedOptions {
        segment_size: 256,
        verify_on_open: false,
        ..EmbeddedOptions::default()
    };
    let offsets = {
        let log = EmbeddedLog::open(dir.path(), options.clone()).expect("open");
        append_all(&log, &payloads(20)).await
    };
    let path = segment(dir.path(), 0);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[offsets[1] as usize + HEADER as usize + 10] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");

    let log = EmbeddedLog::open(dir.path(), options).expect("old segments are not scanned");
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let mut delivered = Vec::new();
    let error = loop {
        match consumer.poll_batch(1, Duration::from_secs(1)).await {
            Ok(records) => delivered.extend(records.into_iter().map(|r| r.offset)),
            Err(error) => break error,
        }
    };
    assert_eq!(delivered, vec![offsets[0]]);
    assert!(
        matches!(error, LogError::Corrupt { offset, .. } if offset == offsets[1]),
        "{error}"
    );
}

#[tokio::test]
async fn start_positions_are_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let offsets = append_all(&log, &payloads(10)).await;

    let mut consumer = log
        .consumer(from(Some(offsets[4])))
        .await
        .expect("consumer");
    let records = read_n(&mut consumer, 5).await;
    assert_eq!(
        records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        offsets[5..].to_vec()
    );
    assert_eq!(&records[0].payload[..], b"{\"n\":5}");

    // The last record as the start: nothing is delivered until something new arrives.
    let mut consumer = log
        .consumer(from(Some(offsets[9])))
        .await
        .expect("consumer");
    assert!(consumer
        .poll_batch(10, Duration::from_millis(50))
        .await
        .expect("poll")
        .is_empty());
    let next = log
        .append("tenant-a", Bytes::from_static(b"next"))
        .await
        .expect("append");
    let records = read_n(&mut consumer, 1).await;
    assert_eq!(records[0].offset, next.offset);

    // Offsets that are not record boundaries, or beyond the log, are refused loudly.
    let mut consumer = log
        .consumer(from(Some(offsets[4] + 3)))
        .await
        .expect("consumer");
    let error = consumer
        .poll_batch(10, Duration::from_millis(50))
        .await
        .expect_err("not a boundary");
    assert!(matches!(error, LogError::Corrupt { .. }), "{error}");
    let error = log
        .consumer(from(Some(next.offset + 1000)))
        .await
        .err()
        .expect("beyond the end");
    assert!(matches!(error, LogError::Corrupt { .. }), "{error}");
}

#[tokio::test]
async fn segments_roll_over() {
    init_tracing();
    let dir = tempfile::tempdir().expect("tempdir");
    let options = EmbeddedOptions {
        segment_size: 1024,
        read_chunk: 300,
        ..EmbeddedOptions::default()
    };
    let records: Vec<(&str, String)> = (0..100)
        .map(|i| {
            (
                "tenant-a",
                format!("{{\"n\":{i:03},\"pad\":\"{}\"}}", "p".repeat(60)),
            )
        })
        .collect();
    let offsets = {
        let log = EmbeddedLog::open(dir.path(), options.clone()).expect("open");
        let offsets = append_all(&log, &records).await;
        // A record bigger than a segment gets one of its own.
        log.append("tenant-a", Bytes::from("y".repeat(3000)))
            .await
            .expect("big append");
        offsets
    };
    let files = segments(dir.path());
    assert!(
        files.len() > 5,
        "expected several segments, got {}",
        files.len()
    );
    let mut expected_base = 0;
    for file in &files {
        let len = std::fs::metadata(file).expect("stat").len();
        assert_eq!(
            file,
            &segment(dir.path(), expected_base),
            "segments are contiguous"
        );
        assert!(
            len <= 1024 || len == 3000 + HEADER + 8,
            "segment {} too large: {len}",
            file.display()
        );
        expected_base += len;
    }

    let log = EmbeddedLog::open(dir.path(), options).expect("reopen");
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let read = read_n(&mut consumer, 101).await;
    assert_eq!(
        read[..100].iter().map(|r| r.offset).collect::<Vec<_>>(),
        offsets
    );
    for (record, (_, payload)) in read.iter().zip(&records) {
        assert_eq!(&record.payload[..], payload.as_bytes());
    }
    assert_eq!(read[100].payload.len(), 3000);

    // Starting in the middle of a later segment.
    let mut consumer = log
        .consumer(from(Some(offsets[70])))
        .await
        .expect("consumer");
    let read = read_n(&mut consumer, 30).await;
    assert_eq!(
        read[..29].iter().map(|r| r.offset).collect::<Vec<_>>(),
        offsets[71..].to_vec()
    );
}

#[tokio::test]
async fn directory_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let error = EmbeddedLog::open(dir.path(), EmbeddedOptions::default())
        .err()
        .expect("second open must fail");
    let message = error.to_string();
    assert!(message.contains("already open"), "{message}");
    assert!(
        message.contains(&std::process::id().to_string()),
        "{message}"
    );
    drop(log);
    let _reopened = open(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_tails_new_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < 30 {
            let batch = consumer
                .poll_batch(7, Duration::from_secs(10))
                .await
                .expect("poll");
            assert!(
                !batch.is_empty(),
                "a record appended meanwhile was not delivered"
            );
            assert!(batch.len() <= 7);
            seen.extend(batch);
        }
        seen
    });
    let mut offsets = Vec::new();
    for i in 0..30 {
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        offsets.push(
            log.append("t", Bytes::from(format!("{i}")))
                .await
                .expect("append")
                .offset,
        );
    }
    let seen = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("in time")
        .expect("reader");
    assert_eq!(seen.iter().map(|r| r.offset).collect::<Vec<_>>(), offsets);
}

#[tokio::test]
async fn closing_the_log_ends_waiting_consumers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    log.append("t", Bytes::from_static(b"1"))
        .await
        .expect("append");
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    drop(log);
    // What was durable is still delivered, then the consumer reports the closed log.
    assert_eq!(
        consumer
            .poll_batch(10, Duration::from_secs(1))
            .await
            .expect("poll")
            .len(),
        1
    );
    let error = consumer
        .poll_batch(10, Duration::from_secs(1))
        .await
        .expect_err("closed");
    assert!(matches!(error, LogError::Closed), "{error}");
}

#[tokio::test]
async fn large_records_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = EmbeddedOptions {
        read_chunk: 4096,
        ..EmbeddedOptions::default()
    };
    let log = EmbeddedLog::open(dir.path(), options).expect("open");
    let payloads: Vec<Bytes> = (0..10u8)
        .map(|i| Bytes::from(vec![b'a' + i; 90_000 + usize::from(i)]))
        .collect();
    for payload in &payloads {
        log.append("tenant", payload.clone()).await.expect("append");
    }
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let read = read_n(&mut consumer, 10).await;
    for (record, payload) in read.iter().zip(&payloads) {
        assert_eq!(&record.payload, payload);
    }
}

/// Runs `groups` of (appenders, record size) concurrently for `run_for`; returns the
/// appends per second of each group.
async fn measure(log: &Arc<EmbeddedLog>, groups: &[(usize, usize)], run_for: Duration) -> Vec<f64> {
    let started = Instant::now();
    let mut handles = Vec::new();
    for (group, &(appenders, size)) in groups.iter().enumerate() {
        let payload = Bytes::from(vec![b'x'; size]);
        for task in 0..appenders {
            let (log, payload) = (log.clone(), payload.clone());
            handles.push((
                group,
                tokio::spawn(async move {
                    let key = format!("tenant-{task}");
                    let mut count = 0u64;
                    while started.elapsed() < run_for {
                        log.append(&key, payload.clone()).await.expect("append");
                        count += 1;
                    }
                    count
                }),
            ));
        }
    }
    let mut totals = vec![0u64; groups.len()];
    for (group, handle) in handles {
        totals[group] += handle.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    totals
        .into_iter()
        .map(|total| total as f64 / elapsed)
        .collect()
}

/// Throughput of the append path (not asserted):
/// `cargo test -p lrs-log --test embedded -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let cases: [(&str, &[(usize, usize)]); 4] = [
        ("16 appenders x 1 KB", &[(16, 1_000)]),
        ("16 appenders x 90 KB", &[(16, 90_000)]),
        ("4 appenders x 90 KB", &[(4, 90_000)]),
        ("mixed: 16 x 1 KB + 4 x 90 KB", &[(16, 1_000), (4, 90_000)]),
    ];
    for (label, groups) in cases {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let log = Arc::new(open(dir.path()));
        let rates = measure(&log, groups, Duration::from_secs(3)).await;
        let stats = log.stats();
        let rates: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{label}: {} appends/s, {:.1} records per fsync ({} fsyncs, {:.0} MB written)",
            rates.join(" + "),
            stats.records as f64 / stats.fsyncs.max(1) as f64,
            stats.fsyncs,
            stats.bytes as f64 / 1e6
        );
    }
}

/// A poll abandoned mid-read (e.g. lost a `select!` against shutdown) loses nothing: the
/// next poll returns what the abandoned one read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_polls_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let offsets = append_all(&log, &payloads(200)).await;
    let mut consumer = log
        .consumer(ConsumerOptions::from_beginning("g"))
        .await
        .expect("consumer");
    let mut read = Vec::new();
    for _ in 0..20 {
        if let Ok(batch) = tokio::time::timeout(
            Duration::ZERO,
            consumer.poll_batch(10, Duration::from_secs(1)),
        )
        .await
        {
            read.extend(batch.expect("poll"));
        }
    }
    let rest = read_n(&mut consumer, 200 - read.len()).await;
    read.extend(rest);
    assert_eq!(read.iter().map(|r| r.offset).collect::<Vec<_>>(), offsets);
}
