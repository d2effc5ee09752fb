//! Kafka event log: one topic, partitioned by tenant id.
//!
//! - Appends go through an idempotent producer with `acks=all`; `append` resolves with the
//!   delivery report, which is the durability point.
//! - The topic is created on connect if missing (`retention.ms=-1`: the log is the source
//!   of truth and must never expire).
//! - Consumers join a consumer group; each assigned partition is positioned from the read
//!   store (`ConsumerOptions::start_positions`) inside the rebalance callback, before the
//!   assignment takes effect (see `context`). Committed group offsets are only written
//!   for monitoring (`kafka-consumer-groups`, lag dashboards) and never read back: a
//!   read store that was rebuilt from scratch must start from the beginning, whatever the
//!   group committed.
//!
//! librdkafka calls that block (metadata, watermarks, closing a consumer) run off the
//! async runtime.

mod config;
mod consumer;
mod context;

pub use config::KafkaConfig;

use async_trait::async_trait;
use bytes::Bytes;
use consumer::KafkaConsumer;
use context::{PositioningContext, TracingContext};
use lrs_core::{Appended, ConsumerOptions, EventLog, LogConsumer, LogError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;
use tracing::{info, warn};

/// Maps a librdkafka error, saying what we were doing.
pub(crate) fn kafka_error(what: &str, error: KafkaError) -> LogError {
    match error.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::MessageTimedOut
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut,
        ) => LogError::Timeout(format!("{what}: {error}")),
        _ => LogError::Kafka(format!("{what}: {error}")),
    }
}

/// Runs a blocking librdkafka call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> Result<T, LogError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LogError::Kafka(format!("kafka task failed: {e}")))?
}

/// Partition count of `topic` in `metadata`, or `None` if the cluster does not know it.
fn partition_count(metadata: &Metadata, topic: &str) -> Option<i32> {
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().len() as i32)
        .filter(|&count| count > 0)
}

/// The Kafka log. Cheap to share behind an `Arc`; the producer is thread-safe.
pub struct KafkaLog {
    config: KafkaConfig,
    producer: FutureProducer<TracingContext>,
}

impl KafkaLog {
    /// Connects, creating the topic if it does not exist yet.
    pub async fn connect(config: KafkaConfig) -> Result<KafkaLog, LogError> {
        let producer: FutureProducer<TracingContext> = config
            .producer()
            .create_with_context(TracingContext)
            .map_err(|e| kafka_error("creating the kafka producer", e))?;
        let log = KafkaLog { config, producer };
        let partitions = log.ensure_topic().await?;
        info!(
            brokers = %log.config.brokers,
            topic = %log.config.topic,
            partitions,
            compression = %log.config.compression,
            "connected to kafka"
        );
        Ok(log)
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Cluster metadata for all topics. Asking for one topic by name could make a broker
    /// with `auto.create.topics.enable` create it with the wrong settings.
    async fn all_metadata(&self) -> Result<Metadata, LogError> {
        let producer = self.producer.clone();
        let timeout = self.config.operation_timeout();
        blocking(move || {
            producer
                .client()
                .fetch_metadata(None, timeout)
                .map_err(|e| kafka_error("fetching kafka metadata", e))
        })
        .await
    }

    /// Makes sure the topic exists; returns its partition count.
    async fn ensure_topic(&self) -> Result<i32, LogError> {
        let topic = &self.config.topic;
        if let Some(count) = partition_count(&self.all_metadata().await?, topic) {
            if count != self.config.partitions {
                warn!(
                    topic = %topic,
                    existing = count,
                    configured = self.config.partitions,
                    "kafka topic exists with a different partition count; using it as is"
                );
            }
            return Ok(count);
        }

        let admin: AdminClient<TracingContext> = self
            .config
            .admin()
            .create_with_context(TracingContext)
            .map_err(|e| kafka_error("creating the kafka admin client", e))?;
        let new_topic = NewTopic::new(
            topic,
            self.config.partitions,
            TopicReplication::Fixed(i32::from(self.config.replication_factor)),
        )
        .set("retention.ms", "-1")
        .set("retention.bytes", "-1");
        let options = AdminOptions::new().operation_timeout(Some(self.config.operation_timeout()));
        let results = admin
            .create_topics([&new_topic], &options)
            .await
            .map_err(|e| kafka_error("creating the kafka topic", e))?;
        for result in results {
            match result {
                Ok(name) => {
                    info!(topic = %name, partitions = self.config.partitions, "created kafka topic")
                }
                // Another process created it meanwhile: fine.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(LogError::Kafka(format!(
                        "creating kafka topic {name}: {code}"
                    )));
                }
            }
        }

        // Creation is asynchronous on the brokers: wait until metadata shows the topic.
        let deadline = tokio::time::Instant::now() + self.config.operation_timeout();
        loop {
            if let Some(count) = partition_count(&self.all_metadata().await?, topic) {
                return Ok(count);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LogError::Timeout(format!(
                    "kafka topic {topic} did not appear after creation"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The offsets last committed by `group`, as "last applied" offsets (the inverse of
    /// `LogConsumer::commit`). Partitions without a commit are omitted. For operations
    /// and monitoring; consumers never start from these.
    pub async fn committed_positions(&self, group: &str) -> Result<Vec<(i32, i64)>, LogError> {
        let metadata = self.all_metadata().await?;
        let topic = self.config.topic.clone();
        let partitions = partition_count(&metadata, &topic)
            .ok_or_else(|| LogError::Kafka(format!("kafka topic {topic} does not exist")))?;
        let consumer: BaseConsumer<TracingContext> = self
            .config
            .consumer(group)
            .create_with_context(TracingContext)
            .map_err(|e| kafka_error("creating a kafka consumer", e))?;
        let timeout = self.config.operation_timeout();
        let (consumer, committed) = tokio::task::spawn_blocking(move || {
            let mut tpl = TopicPartitionList::with_capacity(partitions as usize);
            for partition in 0..partitions {
                tpl.add_partition(&topic, partition);
            }
            let committed = consumer.committed_offsets(tpl, timeout);
            (consumer, committed)
        })
        .await
        .map_err(|e| LogError::Kafka(format!("kafka task failed: {e}")))?;
        // Never joined the group, but librdkafka still closes it as a group member on
        // drop: keep that off this thread.
        std::thread::spawn(move || drop(consumer));
        let committed =
            committed.map_err(|e| kafka_error("fetching committed kafka offsets", e))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(next) if next > 0 => Some((e.partition(), next - 1)),
                _ => None,
            })
            .collect())
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, key: &str, payload: Bytes) -> Result<Appended, LogError> {
        let record = FutureRecord::to(&self.config.topic)
            .key(key)
            .payload(payload.as_ref());
        let queue_timeout = Timeout::After(Duration::from_millis(u64::from(
            self.config.delivery_timeout_ms,
        )));
        // Resolves with the delivery report: acknowledged by all in-sync replicas.
        match self.producer.send(record, queue_timeout).await {
            Ok((partition, offset)) => Ok(Appended { partition, offset }),
            Err((error, _)) => Err(kafka_error("appending to kafka", error)),
        }
    }

    async fn consumer(&self, options: ConsumerOptions) -> Result<Box<dyn LogConsumer>, LogError> {
        let topic = self.config.topic.clone();
        let context = PositioningContext {
            topic: topic.clone(),
            group: options.group_id.clone(),
            start_positions: options.start_positions,
        };
        let consumer: StreamConsumer<PositioningContext> = self
            .config
            .consumer(&options.group_id)
            .create_with_context(context)
            .map_err(|e| kafka_error("creating the kafka consumer", e))?;
        consumer
            .subscribe(&[&topic])
            .map_err(|e| kafka_error("subscribing to the kafka topic", e))?;
        info!(group = %options.group_id, topic = %topic, "kafka consumer subscribed");
        Ok(Box::new(KafkaConsumer::new(
            consumer,
            topic,
            options.group_id,
            self.config.operation_timeout(),
        )))
    }

    async fn check(&self) -> Result<(), LogError> {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            return Err(LogError::Kafka(format!(
                "kafka producer failed permanently ({code}): {reason}"
            )));
        }
        let producer = self.producer.clone();
        let topic = self.config.topic.clone();
        let timeout = self.config.operation_timeout();
        blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| kafka_error("fetching kafka metadata", e))?;
            match partition_count(&metadata, &topic) {
                Some(_) => Ok(()),
                None => Err(LogError::Kafka(format!(
                    "kafka topic {topic} is not available"
                ))),
            }
        })
        .await
    }

    async fn end_offsets(&self) -> Result<Vec<(i32, i64)>, LogError> {
        let producer = self.producer.clone();
        let topic = self.config.topic.clone();
        let timeout = self.config.operation_timeout();
        blocking(move || {
            let client = producer.client();
            let metadata = client
                .fetch_metadata(Some(&topic), timeout)
                .map_err(|e| kafka_error("fetching kafka metadata", e))?;
            let partitions = partition_count(&metadata, &topic)
                .ok_or_else(|| LogError::Kafka(format!("kafka topic {topic} is not available")))?;
            let mut ends = Vec::new();
            for partition in 0..partitions {
                let (low, high) = client
                    .fetch_watermarks(&topic, partition, timeout)
                    .map_err(|e| kafka_error("fetching kafka watermarks", e))?;
                // Empty partitions are omitted: a replay waiting for them would never finish.
                if high > low {
                    ends.push((partition, high - 1));
                }
            }
            Ok(ends)
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "kafka"
    }
}
