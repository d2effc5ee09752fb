//! Analytics read models (issue 6): the definitions, as pure functions over facts and
//! progress states, shared by the projector (which keeps them current) and the query
//! side (which folds them afresh for a time range or a point in time).
//!
//! Layout: `fact` (what one statement contributes), `progress` (the per learner ×
//! activity fold), `figures` (per activity, per learner, daily), `paths` (learning paths
//! and observed transitions). The definitions are spelled out in `docs/analytics.md`.

pub mod fact;
pub mod figures;
pub mod paths;
pub mod progress;
pub mod query;

pub use fact::{day_of, ContextKind, Fact};
pub use progress::{ProgressState, Status};
pub use query::{AnalyticsFilter, AnalyticsStore, AppliedPosition, AsOf, StoredPath};
