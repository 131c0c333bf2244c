//! ProtobufEncoder: the message's protobuf encoding, unframed.
//!
//! ```toml
//! [TcpOutput]
//! address = "127.0.0.1:5565"
//! message_matcher = "TRUE"
//! encoder = "ProtobufEncoder"   # always available without a section of its own
//! ```
//!
//! No options. The trusted encoding a pack carries (the bytes a `ProtobufDecoder` read, or the
//! encoding made when a filter injected the message) is written as it is; otherwise the message
//! is encoded. Stream framing is the output's job (`use_framing`, on by default for outputs
//! that use this encoder).
//!
//! Differences from Heka: no `heka.all-report` timing fields.

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Encoder};
use heka_pipeline::registry::{BuildContext, EncoderSpec};
use serde::Deserialize;

/// ProtobufEncoder has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtobufEncoderConfig {}

/// Appends the protobuf encoding of each message.
#[derive(Debug, Default)]
struct ProtobufEncoder;

impl Encoder for ProtobufEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match &pack.raw {
            Some(raw) => out.extend_from_slice(raw),
            None => pack.message.encode_to_vec_into(out),
        }
        Ok(())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Encoder>, ConfigError> {
    let _: ProtobufEncoderConfig = ctx.options.parse()?;
    Ok(Box::new(ProtobufEncoder))
}

pub(super) const SPEC: EncoderSpec = EncoderSpec {
    type_name: "ProtobufEncoder",
    summary: "Encodes messages as Heka protobuf (framing is added by the output).",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use heka_message::{Field, Message};

    fn message() -> Message {
        let mut m = Message::new_now();
        m.set_type("test.type");
        m.set_payload("payload");
        m.add_field(Field::new_integer("n", 42).with_representation("count"));
        m
    }

    #[test]
    fn writes_trusted_bytes_as_they_are() {
        let m = message();
        // Trusted bytes win even when they differ from a fresh encoding (e.g. unknown fields
        // that the producer sent, or Heka's own byte layout).
        let raw = Bytes::from_static(b"\x0a\x10exactly-16-byte\x10\x01");
        let pack = Pack {
            message: m,
            raw: Some(raw.clone()),
            ..Pack::default()
        };
        let mut out = b"prefix".to_vec();
        ProtobufEncoder.encode(&pack, &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix", "appends");
        assert_eq!(&out[6..], &raw[..]);
    }

    #[test]
    fn encodes_messages_without_trusted_bytes() {
        let m = message();
        let mut out = Vec::new();
        ProtobufEncoder
            .encode(&Pack::new(m.clone()), &mut out)
            .unwrap();
        assert_eq!(out, m.to_bytes());
        assert_eq!(Message::decode_slice(&out).unwrap(), m);
    }
}
