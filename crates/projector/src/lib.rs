//! The projector: folds the event log into the read store.
//!
//! It is the single writer of the read store. Each polled batch is applied in one store
//! transaction together with the consumed positions (see `lrs_store`), so a crash at any
//! point neither loses nor doubles an effect; on restart it resumes from the positions
//! in the store. Verdicts are handed to waiting ingest requests through `OutcomeHub`.

mod hub;
mod worker;

pub use hub::{OutcomeHub, Waiter};
pub use worker::{Projector, ProjectorConfig, ProjectorError};
