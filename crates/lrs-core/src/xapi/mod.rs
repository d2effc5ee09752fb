//! xAPI statements: strict parsing, validation, normalisation and equivalence, for xAPI
//! 1.0.3 and 2.0 (IEEE 9274.1.1-2023). Section numbers (§) refer to the requirements digest
//! `xapi-lrs-requirements.md`.
//!
//! Request flow for POST/PUT statements:
//! 1. [`XapiVersion::parse_header`] on `X-Experience-API-Version`;
//! 2. [`parse_statement_batch`]: strict JSON (duplicate keys rejected) + [`validate_statement`]
//!    on every statement + duplicate ids in the batch;
//! 3. the caller assigns `id`/`stored`/`timestamp`/`authority`/`version`, then
//!    [`normalize_statement`] before storing;
//! 4. on an id already stored, [`statements_equivalent`] decides no-op vs 409.
//!
//! Every error is a [`ValidationError`] naming the JSON path in the request, e.g.
//! `statement[3].actor.mbox: not a mailto IRI …`.
//!
//! Layout: `json` (strict parser), `version`, `formats` / `langtag` / `timestamp` /
//! `duration` (value formats), `schema` (JSON Schema structure), `statement` (rules and
//! entry points), `agent` (Agents/Groups, IFI keys), `normalize`, `equivalence`,
//! `error` (error and path types).

mod agent;
mod duration;
mod equivalence;
mod error;
mod formats;
mod json;
mod langtag;
mod normalize;
mod schema;
mod statement;
mod timestamp;
mod version;

pub use agent::{agent_key, mbox_sha1, validate_agent_filter, validate_document_agent};
pub use duration::{duration_seconds, is_valid_duration};
pub use equivalence::statements_equivalent;
pub use error::ValidationError;
pub use formats::{
    is_sha1_hex, is_sha2_hex, is_valid_iri, is_valid_mailto, is_valid_media_type, is_valid_uuid,
};
pub use json::parse_json_strict;
pub use langtag::is_valid_language_tag;
pub use normalize::normalize_statement;
pub use schema::warm_up;
pub use statement::{parse_statement_batch, validate_statement, SIGNATURE_USAGE_TYPE, VOIDED_VERB};
pub use timestamp::{format_timestamp, parse_timestamp};
pub use version::XapiVersion;
