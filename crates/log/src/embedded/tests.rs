//! White-box tests of the writer that need to control exactly what is queued.

use super::format::{encode_header, HEADER_LEN};
use super::segment::{recover, segment_path};
use super::writer::{AppendRequest, Writer};
use super::{Durable, Shared};
use bytes::Bytes;
use std::fs::OpenOptions;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

fn request(
    key: &str,
    payload: &[u8],
) -> (
    AppendRequest,
    oneshot::Receiver<Result<u64, lrs_core::LogError>>,
) {
    let mut head = encode_header(key.as_bytes(), payload).to_vec();
    head.extend_from_slice(key.as_bytes());
    let (reply, replied) = oneshot::channel();
    (
        AppendRequest {
            head,
            payload: Bytes::copy_from_slice(payload),
            reply,
        },
        replied,
    )
}

/// Everything queued when the writer wakes up is committed with a single fdatasync, and
/// nobody is answered before the durable end covers their record.
#[test]
fn queued_requests_share_one_fsync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recovered = recover(dir.path(), true).expect("recover empty dir");
    assert_eq!(recovered.end, 0);
    let file = OpenOptions::new()
        .append(true)
        .open(segment_path(dir.path(), 0))
        .expect("open segment");
    let shared = Arc::new(Shared::default());
    let (durable_tx, durable_rx) = watch::channel(Durable {
        end: 0,
        last_record: None,
    });
    let mut writer = Writer::new(
        dir.path().to_path_buf(),
        file,
        0,
        0,
        1 << 30,
        1 << 24,
        None,
        shared.clone(),
        durable_tx,
    );

    let (requests_tx, mut requests_rx) = mpsc::channel(1000);
    let mut replies = Vec::new();
    for i in 0..100 {
        let (request, replied) = request("tenant", format!("{{\"n\":{i}}}").as_bytes());
        requests_tx.try_send(request).expect("queue has room");
        replies.push(replied);
    }
    let first = requests_rx.try_recv().expect("queued");
    writer
        .run_group(first, &mut requests_rx)
        .expect("group commit");

    assert_eq!(shared.stats.fsyncs.load(Ordering::Relaxed), 1);
    assert_eq!(shared.stats.groups.load(Ordering::Relaxed), 1);
    assert_eq!(shared.stats.records.load(Ordering::Relaxed), 100);
    let durable = *durable_rx.borrow();
    let mut previous = None;
    for mut replied in replies {
        let offset = replied.try_recv().expect("answered").expect("appended");
        assert!(
            offset < durable.end,
            "acknowledged record beyond the durable end"
        );
        assert!(previous.is_none_or(|p| p < offset), "offsets must increase");
        previous = Some(offset);
    }
    assert_eq!(durable.last_record, previous);
    let on_disk = std::fs::metadata(segment_path(dir.path(), 0))
        .expect("stat")
        .len();
    assert_eq!(on_disk, durable.end);
    assert!(durable.end > 100 * HEADER_LEN as u64);
}

/// A group that crosses the segment size is split over two segments, each fsync'd.
#[test]
fn group_rolls_segments_at_record_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    recover(dir.path(), true).expect("recover empty dir");
    let file = OpenOptions::new()
        .append(true)
        .open(segment_path(dir.path(), 0))
        .expect("open segment");
    let shared = Arc::new(Shared::default());
    let (durable_tx, durable_rx) = watch::channel(Durable {
        end: 0,
        last_record: None,
    });
    let record_len = (HEADER_LEN + 1 + 100) as u64;
    let mut writer = Writer::new(
        dir.path().to_path_buf(),
        file,
        0,
        0,
        record_len * 3,
        1 << 24,
        None,
        shared.clone(),
        durable_tx,
    );
    let (requests_tx, mut requests_rx) = mpsc::channel(10);
    let mut replies = Vec::new();
    for _ in 0..5 {
        let (request, replied) = request("k", &[b'x'; 100]);
        requests_tx.try_send(request).expect("queue has room");
        replies.push(replied);
    }
    let first = requests_rx.try_recv().expect("queued");
    writer
        .run_group(first, &mut requests_rx)
        .expect("group commit");

    assert_eq!(durable_rx.borrow().end, 5 * record_len);
    assert_eq!(shared.stats.fsyncs.load(Ordering::Relaxed), 2);
    assert_eq!(
        std::fs::metadata(segment_path(dir.path(), 0))
            .expect("stat")
            .len(),
        3 * record_len
    );
    assert_eq!(
        std::fs::metadata(segment_path(dir.path(), 3 * record_len))
            .expect("stat")
            .len(),
        2 * record_len
    );
    let offsets: Vec<u64> = replies
        .into_iter()
        .map(|mut r| r.try_recv().expect("answered").expect("appended"))
        .collect();
    assert_eq!(offsets, (0..5).map(|i| i * record_len).collect::<Vec<_>>());
}
