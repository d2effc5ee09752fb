//! `LogConsumer` over a Kafka consumer group.

use super::context::PositioningContext;
use super::kafka_error;
use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt;
use lrs_core::{LogConsumer, LogError, LogRecord};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// A member of a consumer group. `poll_batch` is cancel-safe: a message leaves
/// librdkafka's queue only when a poll returns it.
pub(super) struct KafkaConsumer {
    /// `None` once closed.
    consumer: Option<StreamConsumer<PositioningContext>>,
    topic: String,
    group: String,
    close_timeout: Duration,
}

impl KafkaConsumer {
    pub fn new(
        consumer: StreamConsumer<PositioningContext>,
        topic: String,
        group: String,
        close_timeout: Duration,
    ) -> Self {
        KafkaConsumer {
            consumer: Some(consumer),
            topic,
            group,
            close_timeout,
        }
    }
}

fn to_record(message: &BorrowedMessage<'_>) -> LogRecord {
    LogRecord {
        partition: message.partition(),
        offset: message.offset(),
        key: message
            .key()
            .map(Bytes::copy_from_slice)
            .unwrap_or_default(),
        payload: message
            .payload()
            .map(Bytes::copy_from_slice)
            .unwrap_or_default(),
    }
}

/// Errors after which polling again cannot help (configuration, authorisation, a fatal
/// client state, a start position beyond the end of the partition). Everything else
/// (broker restarts, leader moves, timeouts) librdkafka retries on its own, so those are
/// logged and polling continues.
fn is_permanent(error: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(error, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            error.rdkafka_error_code(),
            Some(
                Code::Fatal
                    | Code::TopicAuthorizationFailed
                    | Code::GroupAuthorizationFailed
                    | Code::ClusterAuthorizationFailed
                    | Code::SaslAuthenticationFailed
                    | Code::UnknownTopic
                    | Code::InvalidConfig
                    | Code::AutoOffsetReset
                    | Code::OffsetOutOfRange
            )
        )
}

/// Closing a group consumer leaves the group and may wait on the broker (with some
/// brokers, for a long time). It runs on a detached OS thread: not on the async runtime,
/// and not on tokio's blocking pool either, whose shutdown would wait for it.
fn close_in_background(
    consumer: StreamConsumer<PositioningContext>,
    group: String,
) -> tokio::sync::oneshot::Receiver<()> {
    let (done, finished) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("lrs-kafka-close".into())
        .spawn(move || {
            consumer.unsubscribe();
            drop(consumer);
            let _ = done.send(());
        });
    if let Err(e) = spawned {
        warn!(
            %group,
            error = %e,
            "could not start a thread to close the kafka consumer; it is leaked"
        );
    }
    finished
}

#[async_trait]
impl LogConsumer for KafkaConsumer {
    async fn poll_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
    ) -> Result<Vec<LogRecord>, LogError> {
        let consumer = self.consumer.as_ref().ok_or(LogError::Closed)?;
        let deadline = Instant::now() + max_wait;
        let mut records = Vec::new();

        // Wait (up to the deadline) for the first record. `recv` is cancel-safe: a message
        // is taken off the queue only when the future completes.
        while records.is_empty() {
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Err(_) => return Ok(records),
                Ok(Ok(message)) => records.push(to_record(&message)),
                Ok(Err(e)) if is_permanent(&e) => return Err(kafka_error("consuming", e)),
                Ok(Err(e)) => {
                    warn!(group = %self.group, error = %e, "kafka consumer error (retrying)")
                }
            }
        }
        // Then take whatever else is already fetched, without waiting.
        while records.len() < max {
            match consumer.recv().now_or_never() {
                Some(Ok(message)) => records.push(to_record(&message)),
                Some(Err(e)) => {
                    warn!(group = %self.group, error = %e, "kafka consumer error (retrying)");
                    break;
                }
                None => break,
            }
        }
        Ok(records)
    }

    async fn commit(&mut self, positions: &[(i32, i64)]) -> Result<(), LogError> {
        let consumer = self.consumer.as_ref().ok_or(LogError::Closed)?;
        if positions.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::with_capacity(positions.len());
        for &(partition, last_applied) in positions {
            // Kafka convention: the committed offset is the next one to read.
            offsets
                .add_partition_offset(&self.topic, partition, Offset::Offset(last_applied + 1))
                .map_err(|e| kafka_error("committing", e))?;
        }
        // Async: only queues the request; the outcome is logged by the context.
        consumer
            .commit(&offsets, CommitMode::Async)
            .map_err(|e| kafka_error("committing", e))
    }

    async fn close(mut self: Box<Self>) {
        let Some(consumer) = self.consumer.take() else {
            return;
        };
        let finished = close_in_background(consumer, self.group.clone());
        match tokio::time::timeout(self.close_timeout, finished).await {
            Ok(_) => info!(group = %self.group, "kafka consumer closed"),
            Err(_) => warn!(
                group = %self.group,
                timeout = ?self.close_timeout,
                "closing the kafka consumer timed out; it finishes in the background"
            ),
        }
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Dropped without `close`: still never block the caller's thread, and nobody
        // waits for the outcome.
        if let Some(consumer) = self.consumer.take() {
            drop(close_in_background(consumer, self.group.clone()));
        }
    }
}
