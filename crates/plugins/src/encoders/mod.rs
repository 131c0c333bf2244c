//! Encoders: serialise messages for outputs.

mod payload;
mod protobuf;
mod rst;
mod sandbox;

use heka_pipeline::registry::EncoderSpec;

/// Every built-in encoder (keep sorted).
pub(crate) fn all() -> Vec<EncoderSpec> {
    vec![payload::SPEC, protobuf::SPEC, rst::SPEC, sandbox::SPEC]
}
