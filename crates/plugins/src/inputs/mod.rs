//! Inputs: sources of data.

pub mod logstreamer;
mod tcp;
mod udp;

use heka_pipeline::registry::InputSpec;

/// Every built-in input (keep sorted).
pub(crate) fn all() -> Vec<InputSpec> {
    vec![logstreamer::SPEC, tcp::SPEC, udp::SPEC]
}
