//! ProtobufDecoder: decodes the record's protobuf bytes into the pack's message.
//!
//! ```toml
//! [TcpInput]
//! address = ":5565"
//! splitter = "HekaFramingSplitter"
//! decoder = "ProtobufDecoder"   # always available without a section of its own
//! ```
//!
//! No options. The record must have been delivered as message bytes (`use_message_bytes =
//! true`, the default of `HekaFramingSplitter`). The decoded message replaces the pack's message
//! entirely; its string fields share the record's buffer (no copy), and the bytes stay on the
//! pack as its trusted encoding, so a `ProtobufEncoder` or a framed output re-sends them as
//! they came. As in Heka, `uuid` and `timestamp` are not required.
//!
//! Failures (malformed protobuf, or a pack without message bytes) are counted and logged by
//! the input's decode runner, which also handles `send_decode_failures`.
//!
//! Differences from Heka:
//! - A failed decode leaves the pack's message as it was instead of partly filled in.
//! - No `heka.all-report` timing fields (`ProcessMessageCount` etc.); the decode counters are
//!   kept per input by the runner.

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};

/// Decodes `pack.raw` into `pack.message`.
#[derive(Debug, Default)]
struct ProtobufDecoder;

impl Decoder for ProtobufDecoder {
    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        pack.decode_record()
            .map_err(|e| CodecError::new(e.to_string()))?;
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    // No options of its own; Heka accepted and ignored any.
    ctx.ignore_options();
    Ok(Box::new(ProtobufDecoder))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "ProtobufDecoder",
    summary: "Decodes Heka protobuf message bytes.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use heka_message::framing;
    use heka_message::{Field, FieldValue, Message};

    fn decode(raw: Option<Bytes>) -> (Result<Decoded, CodecError>, Pack) {
        let mut pack = raw.map(Pack::from_record).unwrap_or_default();
        let mut extra = Vec::new();
        let r = ProtobufDecoder.decode(&mut pack, &mut extra);
        assert!(extra.is_empty());
        (r, pack)
    }

    #[test]
    fn decodes_heka_recorded_stream() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/heka/protobuf.log"
        );
        let data = Bytes::from(std::fs::read(path).unwrap());
        let mut off = 0;
        let mut messages = Vec::new();
        while off < data.len() {
            let s = framing::scan(&data[off..], heka_message::DEFAULT_MAX_MESSAGE_SIZE);
            let Some(f) = s.frame else { break };
            let raw = data.slice(off + f.message.start..off + f.message.end);
            let (r, pack) = decode(Some(raw.clone()));
            assert_eq!(r, Ok(Decoded::Keep));
            // The bytes stay as the trusted encoding and re-encode identically.
            assert_eq!(pack.raw(), Some(&raw));
            assert_eq!(pack.message().to_bytes(), raw.to_vec());
            messages.push(pack.into_message());
            off += s.consumed;
        }
        assert_eq!(off, data.len(), "the whole file is framed messages");
        assert_eq!(messages.len(), 7);
        for m in &messages {
            assert_eq!(m.uuid.len(), 16);
            assert!(m.timestamp > 0);
            assert!(!m.fields.is_empty());
        }
        // Every value type is present somewhere in the recording.
        let kinds: std::collections::BTreeSet<_> = messages
            .iter()
            .flat_map(|m| m.fields.iter().map(Field::value_type))
            .collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
    }

    #[test]
    fn strings_share_the_record_buffer() {
        let mut m = Message::new_now();
        m.set_payload("a payload long enough to look for");
        m.add_field(Field::new_string("name", "value"));
        let raw = Bytes::from(m.to_bytes());
        let (r, pack) = decode(Some(raw.clone()));
        assert_eq!(r, Ok(Decoded::Keep));
        let payload = pack.message().payload.as_ref().unwrap();
        let range = raw.as_ptr() as usize..raw.as_ptr() as usize + raw.len();
        assert!(
            range.contains(&(payload.as_ptr() as usize)),
            "payload was copied"
        );
        assert_eq!(
            pack.message().field_value(b"name"),
            Some(Some(FieldValue::String(b"value")))
        );
    }

    #[test]
    fn errors() {
        let (r, _) = decode(None);
        assert!(r.unwrap_err().0.contains("no message bytes"));
        // A truncated length-delimited field.
        let (r, pack) = decode(Some(Bytes::from_static(b"\x1a\x10abc")));
        assert!(r.is_err());
        assert_eq!(*pack.message(), Message::default());
        // Empty bytes decode to an empty message, as in Heka (required fields not enforced).
        let (r, pack) = decode(Some(Bytes::new()));
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(*pack.message(), Message::default());
    }
}
