//! Decoders: turn records into structured messages.

mod geo_ip;
mod json;
mod multi;
mod payload_regex;
mod payload_xml;
mod protobuf;
mod sandbox;
mod scribble;
mod stats_to_fields;

use heka_pipeline::registry::DecoderSpec;

/// Every built-in decoder (keep sorted).
pub(crate) fn all() -> Vec<DecoderSpec> {
    vec![
        geo_ip::SPEC,
        json::SPEC,
        multi::SPEC,
        payload_regex::SPEC,
        payload_xml::SPEC,
        protobuf::SPEC,
        sandbox::SPEC,
        scribble::SPEC,
        stats_to_fields::SPEC,
    ]
}
