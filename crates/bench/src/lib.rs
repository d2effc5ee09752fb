//! `lrs-bench`: a deterministic, realistic xAPI statement corpus ([`corpus`]) and a
//! benchmark tool that drives any LRS through its HTTP xAPI API (ingest, load, query,
//! replay), in the spirit of pgbench.

pub mod corpus;
