//! Decoders: turn records into structured messages.

mod apache_access;
mod geo_ip;
mod json;
mod multi;
mod nginx_access;
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
        apache_access::SPEC,
        geo_ip::SPEC,
        json::SPEC,
        multi::SPEC,
        nginx_access::SPEC,
        payload_regex::SPEC,
        payload_xml::SPEC,
        protobuf::SPEC,
        sandbox::SPEC,
        scribble::SPEC,
        stats_to_fields::SPEC,
    ]
}
