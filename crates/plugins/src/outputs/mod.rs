//! Outputs: write matched messages outside hekad.

mod carbon;
mod file;
mod log;
mod tcp;
mod udp;

use heka_pipeline::registry::OutputSpec;

/// Every built-in output (keep sorted).
pub(crate) fn all() -> Vec<OutputSpec> {
    vec![carbon::SPEC, file::SPEC, log::SPEC, tcp::SPEC, udp::SPEC]
}
