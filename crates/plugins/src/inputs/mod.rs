//! Inputs: sources of data.

mod tcp;
mod udp;

use heka_pipeline::registry::InputSpec;

/// Every built-in input (keep sorted).
pub(crate) fn all() -> Vec<InputSpec> {
    vec![tcp::SPEC, udp::SPEC]
}
