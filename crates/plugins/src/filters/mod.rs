//! Filters: process matched messages and inject new ones.

mod counter;
mod sandbox;
mod sandbox_manager;
mod stat;

use heka_pipeline::registry::FilterSpec;

/// Every built-in filter (keep sorted).
pub(crate) fn all() -> Vec<FilterSpec> {
    vec![
        counter::SPEC,
        sandbox::SPEC,
        sandbox_manager::SPEC,
        stat::SPEC,
    ]
}
