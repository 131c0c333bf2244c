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

/// Appends the protobuf encoding of each message.
#[derive(Debug, Default)]
struct ProtobufEncoder;

impl Encoder for ProtobufEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match pack.raw() {
            Some(raw) => out.extend_from_slice(raw),
            None => pack.message().encode_to_vec_into(out),
        }
        Ok(())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Encoder>, ConfigError> {
    // No options of its own; Heka accepted and ignored any.
    ctx.ignore_options();
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

    #[test]
    fn writes_trusted_bytes_as_they_are() {
        // Trusted bytes win even when they differ from a fresh encoding (here an unknown
        // field, tag 15, that the producer sent and that re-encoding would drop).
        let raw = Bytes::from_static(b"\x0a\x10exactly-16-bytes\x10\x01\x78\x01");
        let pack = Pack::from_encoded(raw.clone()).unwrap();
        assert_ne!(pack.message().to_bytes(), &raw[..]);
        let mut out = b"prefix".to_vec();
        ProtobufEncoder.encode(&pack, &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix", "appends");
        assert_eq!(&out[6..], &raw[..]);
    }

    #[test]
    fn encodes_messages_without_trusted_bytes_as_heka_does() {
        let mut m = Message {
            uuid: Bytes::from_static(&[
                0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                0x0e, 0x0f,
            ]),
            timestamp: 1_444_243_620_123_456_789,
            ..Message::default()
        };
        m.set_type("test.type");
        m.set_payload("payload");
        m.add_field(Field::new_integer("n", 42).with_representation("count"));
        // message.proto's fields in tag order, each as `key, [length,] value`.
        let mut want = vec![0x0a, 0x10]; // uuid (1), 16 bytes
        want.extend(0x00..=0x0f);
        want.extend([0x10, 0x95, 0xea, 0xd4, 0xd4, 0xba, 0xfd, 0xbe, 0x85, 0x14]); // timestamp (2)
        want.extend(b"\x1a\x09test.type"); // type (3)
        want.extend(b"\x32\x07payload"); // payload (6)
        want.extend([0x52, 0x0f]); // fields (10), a 15-byte Field:
        want.extend(b"\x0a\x01n"); //   name (1)
        want.extend([0x10, 0x02]); //   value_type (2) = INTEGER
        want.extend(b"\x1a\x05count"); //   representation (3)
        want.extend([0x32, 0x01, 0x2a]); //   value_integer (6), packed: [42]
        let mut out = b"prefix".to_vec();
        ProtobufEncoder.encode(&Pack::new(m), &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix", "appends");
        assert_eq!(out[6..], want);
    }

    /// Every message of Heka's recorded `protobuf.log` (fields of every type, large payloads),
    /// encoded from its decoded form without the trusted bytes, gives exactly the bytes Heka
    /// wrote.
    #[test]
    fn encodes_heka_recorded_messages_byte_for_byte() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/heka/protobuf.log"
        );
        let data = std::fs::read(path).unwrap();
        let mut off = 0;
        let mut count = 0;
        while off < data.len() {
            let s =
                heka_message::framing::scan(&data[off..], heka_message::DEFAULT_MAX_MESSAGE_SIZE);
            let f = s.frame.expect("the file holds only framed messages");
            let recorded = &data[off..][f.message];
            let pack = Pack::new(Message::decode_slice(recorded).unwrap());
            assert_eq!(pack.raw(), None);
            let mut out = Vec::new();
            ProtobufEncoder.encode(&pack, &mut out).unwrap();
            assert!(out == recorded, "message {count} differs from Heka's bytes");
            off += s.consumed;
            count += 1;
        }
        assert_eq!(count, 7);
    }
}
