//! Configuration of the Kafka backend and the librdkafka client settings derived from it.

use rdkafka::ClientConfig;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the log lives in Kafka and how the clients behave. Deserializable so the CLI
/// configuration can embed it; every field has a default.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated (`host:port,host:port`).
    pub brokers: String,
    pub topic: String,
    /// Partitions when the topic is created by us (an existing topic keeps its own).
    pub partitions: i32,
    /// Replication factor when the topic is created by us.
    pub replication_factor: i16,
    pub client_id: String,
    /// Producer compression codec: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: String,
    /// How long the producer waits to batch concurrent appends (milliseconds). Default 0:
    /// appends that arrive while requests are in flight are batched anyway, and every
    /// append waits for its acknowledgement, so lingering mostly adds latency (measured
    /// against tansu with 16 concurrent appenders: 0 ms ~10,700 appends/s, 1 ms ~8,400,
    /// 2 ms ~5,100, 5 ms ~2,600).
    pub linger_ms: u32,
    /// Longest the broker may hold a fetch waiting for data (milliseconds). Low values
    /// trade a few idle requests for low end-to-end latency.
    pub fetch_wait_max_ms: u32,
    /// Longest an append may take, retries included, before it fails (milliseconds).
    pub delivery_timeout_ms: u32,
    /// Timeout of admin and metadata requests, and of closing a consumer (milliseconds).
    pub operation_timeout_ms: u32,
    /// Extra librdkafka properties for every client (security, SASL, tuning), applied last
    /// so they override the settings above. In TOML either a table
    /// (`extra = { "security.protocol" = "ssl" }`) or a list of pairs.
    #[serde(deserialize_with = "pairs_or_table")]
    pub extra: Vec<(String, String)>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "localhost:9092".into(),
            topic: "lrs-events".into(),
            partitions: 8,
            replication_factor: 1,
            client_id: "lrs".into(),
            compression: "lz4".into(),
            linger_ms: 0,
            fetch_wait_max_ms: 10,
            delivery_timeout_ms: 30_000,
            operation_timeout_ms: 10_000,
            extra: Vec::new(),
        }
    }
}

impl KafkaConfig {
    /// Defaults for everything but the cluster and the topic.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            ..KafkaConfig::default()
        }
    }

    pub(super) fn operation_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.operation_timeout_ms))
    }

    fn client(&self, role: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", format!("{}-{role}", self.client_id))
            .set("socket.keepalive.enable", "true");
        config
    }

    fn with_extra(&self, mut config: ClientConfig) -> ClientConfig {
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }

    /// Producer: an append is acknowledged only once every in-sync replica has it, and
    /// idempotence keeps retries from duplicating or reordering records of one key.
    pub(super) fn producer(&self) -> ClientConfig {
        let mut config = self.client("producer");
        config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", &self.compression)
            .set("linger.ms", self.linger_ms.to_string())
            .set("delivery.timeout.ms", self.delivery_timeout_ms.to_string())
            // Java-compatible key hashing, so other producers agree on partitions.
            .set("partitioner", "murmur2_random")
            // A missing topic is an error, never silently created with broker defaults.
            .set("allow.auto.create.topics", "false");
        self.with_extra(config)
    }

    /// Consumer in `group`: positions come from the read store (see `context`), so
    /// nothing is auto-committed and committed group offsets are informational.
    pub(super) fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = self.client("consumer");
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Every assigned partition gets an explicit position (see `context`), so the
            // reset policy only matters when that position is out of range: the read store
            // is ahead of the topic (wrong topic, topic recreated). Rewinding to the start
            // would make the projector skip new records as "already applied"; fail loudly.
            .set("auto.offset.reset", "error")
            .set("enable.partition.eof", "false")
            // A crashed projector's partitions move to the survivors after 10 s instead
            // of the default 45 s.
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("fetch.wait.max.ms", self.fetch_wait_max_ms.to_string())
            // Without this, a consumer that caught up waits up to 1 s before fetching again.
            .set("fetch.queue.backoff.ms", self.fetch_wait_max_ms.to_string());
        self.with_extra(config)
    }

    pub(super) fn admin(&self) -> ClientConfig {
        self.with_extra(self.client("admin"))
    }
}

fn pairs_or_table<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Extra {
        Table(BTreeMap<String, String>),
        Pairs(Vec<(String, String)>),
    }
    Ok(match Extra::deserialize(deserializer)? {
        Extra::Table(table) => table.into_iter().collect(),
        Extra::Pairs(pairs) => pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_defaults() {
        let config: KafkaConfig =
            serde_json::from_str(r#"{"brokers": "k1:9092,k2:9092", "topic": "events"}"#)
                .expect("valid config");
        assert_eq!(config.brokers, "k1:9092,k2:9092");
        assert_eq!(config.topic, "events");
        assert_eq!(config.partitions, 8);
        assert_eq!(config.replication_factor, 1);
        assert!(config.extra.is_empty());
    }

    #[test]
    fn extra_is_a_table_or_pairs() {
        let table: KafkaConfig =
            serde_json::from_str(r#"{"extra": {"security.protocol": "ssl", "a": "b"}}"#)
                .expect("table");
        assert_eq!(
            table.extra,
            vec![
                ("a".into(), "b".into()),
                ("security.protocol".into(), "ssl".into())
            ]
        );
        let pairs: KafkaConfig =
            serde_json::from_str(r#"{"extra": [["x", "1"], ["x", "2"]]}"#).expect("pairs");
        assert_eq!(
            pairs.extra,
            vec![("x".into(), "1".into()), ("x".into(), "2".into())]
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_str::<KafkaConfig>(r#"{"brokerz": "x"}"#).is_err());
    }

    #[test]
    fn extra_overrides_built_in_settings() {
        let config = KafkaConfig {
            extra: vec![
                ("compression.type".into(), "zstd".into()),
                ("security.protocol".into(), "ssl".into()),
            ],
            ..KafkaConfig::default()
        };
        let producer = config.producer();
        assert_eq!(producer.get("compression.type"), Some("zstd"));
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(config.consumer("g").get("security.protocol"), Some("ssl"));
        assert_eq!(
            config.consumer("g").get("enable.auto.commit"),
            Some("false")
        );
    }
}
