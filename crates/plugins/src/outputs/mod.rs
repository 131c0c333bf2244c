//! Outputs: write matched messages outside hekad.

mod carbon;
mod file;
mod log;
mod sandbox;
mod tcp;
mod udp;
mod whisper;

use heka_pipeline::registry::OutputSpec;

/// Every built-in output (keep sorted).
pub(crate) fn all() -> Vec<OutputSpec> {
    vec![
        carbon::SPEC,
        file::SPEC,
        log::SPEC,
        sandbox::SPEC,
        tcp::SPEC,
        udp::SPEC,
        whisper::SPEC,
    ]
}
