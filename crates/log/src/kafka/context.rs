//! librdkafka callbacks: logging into `tracing`, and positioning assigned partitions from
//! the read store.

use lrs_core::log::StartPositions;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

/// Forwards librdkafka's own logs and errors to `tracing`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingContext;

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client_error(error, reason);
    }
}

/// For consumers that never join the group (committed offset lookups).
impl ConsumerContext for TracingContext {}

fn log_to_tracing(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            error!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Warning => warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => debug!(target: "librdkafka", facility, "{message}"),
    }
}

/// librdkafka reports connection trouble here and recovers by itself, so these are
/// warnings; appends and polls surface the failures that matter.
fn client_error(error: KafkaError, reason: &str) {
    warn!(target: "librdkafka", %error, reason, "kafka client error");
}

/// Consumer context that decides where each newly assigned partition starts.
///
/// Offsets are written into the assignment before it is applied, so the consumer never
/// fetches from the group's committed offset (which may be ahead of what the read store
/// applied, or behind it) even for a moment.
pub struct PositioningContext {
    pub topic: String,
    pub group: String,
    pub start_positions: StartPositions,
}

impl PositioningContext {
    /// `Some(last applied)` resumes right after it (Kafka offsets are dense, so nothing
    /// before the stored offset is ever delivered); `None` reads from the beginning.
    fn position(&self, partition: i32) -> Offset {
        match (self.start_positions)(partition) {
            Some(last_applied) => Offset::Offset(last_applied + 1),
            None => Offset::Beginning,
        }
    }

    fn assign(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
    ) -> KafkaResult<()> {
        let partitions: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let mut placed = Vec::with_capacity(partitions.len());
        for (topic, partition) in &partitions {
            let offset = if *topic == self.topic {
                self.position(*partition)
            } else {
                Offset::Beginning
            };
            tpl.set_partition_offset(topic, *partition, offset)?;
            placed.push(format!("{partition}@{offset:?}"));
        }
        info!(
            group = %self.group,
            topic = %self.topic,
            partitions = ?placed,
            "kafka partitions assigned"
        );
        match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_assign(tpl),
            _ => consumer.assign(tpl),
        }
    }

    fn revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) -> KafkaResult<()> {
        let partitions: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        info!(group = %self.group, topic = %self.topic, ?partitions, "kafka partitions revoked");
        match consumer.rebalance_protocol() {
            RebalanceProtocol::Cooperative => consumer.incremental_unassign(tpl),
            _ => consumer.unassign(),
        }
    }
}

impl ClientContext for PositioningContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_to_tracing(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        client_error(error, reason);
    }
}

impl ConsumerContext for PositioningContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.assign(consumer, tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.revoke(consumer, tpl),
            other => {
                // librdkafka asks the application to drop its assignment on errors; it
                // rejoins the group by itself.
                warn!(
                    group = %self.group,
                    error = ?other,
                    "kafka rebalance failed; dropping the assignment"
                );
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            error!(group = %self.group, error = %e, "applying a kafka rebalance failed");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => {
                debug!(group = %self.group, count = offsets.count(), "kafka offsets committed")
            }
            // Commits are informational (the read store holds the real positions).
            Err(e) => warn!(group = %self.group, error = %e, "committing kafka offsets failed"),
        }
    }
}
