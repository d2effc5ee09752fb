//! The `lrs` binary's wiring, as a library so that integration tests start exactly what
//! production starts: `config` (file + environment) and `run` (backends and roles).

pub mod admin_cli;
pub mod config;
pub mod export;
pub mod replay;
pub mod run;
