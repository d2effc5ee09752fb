//! `lrs-bench`: a deterministic, realistic xAPI statement corpus ([`corpus`]) and a
//! benchmark tool that drives any LRS through its HTTP xAPI API, in the spirit of pgbench.
//!
//! The benchmarks are library functions so tests can run them in-process:
//! [`run_ingest`], [`run_load`], [`run_query`], [`run_replay`], each returning a
//! [`Report`]. All load goes only to the configured URL and is bounded in time and count.

pub mod cli;
pub mod corpus;
pub mod duration;
mod feed;
pub mod generate;
pub mod ingest;
pub mod inprocess;
pub mod latency;
pub mod load;
pub mod memory;
pub mod query;
pub mod replay;
pub mod report;
pub mod stats;
pub mod target;
mod writer;

pub use ingest::{run_ingest, IngestOptions};
pub use load::{run_load, LoadOptions};
pub use query::{run_query, QueryKind, QueryOptions};
pub use replay::{run_replay, ReplayOptions};
pub use report::Report;
pub use target::Target;
