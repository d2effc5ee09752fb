//! Event log backends (see `lrs_core::EventLog`):
//!
//! - [`EmbeddedLog`]: fsync'd segment files in a local directory, with group commit. One
//!   partition; for single-machine deployments.
//! - [`KafkaLog`]: an Apache Kafka topic (or anything speaking the Kafka protocol).

pub mod embedded;
pub mod kafka;

pub use embedded::{EmbeddedLog, EmbeddedOptions, EmbeddedStats};
pub use kafka::{KafkaConfig, KafkaLog};
