//! Shared domain of the LRS: the xAPI model and its validation, the events that flow
//! through the log, and the two backend traits (event log, read store) that let the
//! embedded and distributed deployments share every line of domain logic.

pub mod analytics;
pub mod event;
pub mod log;
pub mod store;
pub mod tenant;
pub mod xapi;

pub use event::{EventEnvelope, EventPayload, ENVELOPE_SCHEMA_VERSION};
pub use log::{Appended, ConsumerOptions, EventLog, LogConsumer, LogError, LogRecord};
pub use store::{ReadStore, StoreError};
pub use tenant::TenantId;
