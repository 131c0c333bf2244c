//! Decoders: turn records into structured messages.

mod multi;
mod payload_regex;
mod protobuf;
mod sandbox;
mod scribble;
mod stats_to_fields;

use heka_pipeline::registry::DecoderSpec;

/// Every built-in decoder (keep sorted).
pub(crate) fn all() -> Vec<DecoderSpec> {
    vec![
        multi::SPEC,
        payload_regex::SPEC,
        protobuf::SPEC,
        sandbox::SPEC,
        scribble::SPEC,
        stats_to_fields::SPEC,
    ]
}
