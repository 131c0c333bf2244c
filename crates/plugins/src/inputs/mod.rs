//! Inputs: sources of data.

mod file_polling;
pub mod logstreamer;
mod process;
mod process_directory;
mod sandbox;
pub(crate) mod stat_accum;
mod statsd;
mod tcp;
mod udp;

use heka_pipeline::registry::InputSpec;

/// Every built-in input (keep sorted).
pub(crate) fn all() -> Vec<InputSpec> {
    vec![
        file_polling::SPEC,
        logstreamer::SPEC,
        process::SPEC,
        process_directory::SPEC,
        sandbox::SPEC,
        stat_accum::SPEC,
        statsd::SPEC,
        tcp::SPEC,
        udp::SPEC,
    ]
}
