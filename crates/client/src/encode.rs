//! Encoding messages into framed, optionally signed records.

use heka_message::framing::{FramingError, encode_frame};
use heka_message::signing::SigningConfig;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message};

/// Appends one framed record holding `message` to `out`: the protobuf encoding of the message
/// behind a Heka stream header, signed with `signer` when given.
///
/// Fails, appending nothing, when the encoded message is longer than `max_message_size`
/// (hekad's `max_message_size`, 64 KiB by default) or the header would not fit its length
/// byte (a signer name of about 200 bytes or more).
pub fn encode_message(
    message: &Message,
    signer: Option<&SigningConfig>,
    max_message_size: u32,
    out: &mut Vec<u8>,
) -> Result<(), FramingError> {
    let mut scratch = Vec::new();
    message.encode_to_vec_into(&mut scratch);
    encode_frame(&scratch, signer, max_message_size, out)
}

/// Heka's `ProtobufEncoder`: frames messages (and signs them when it has a signer), reusing
/// one scratch buffer for the protobuf bytes.
#[derive(Clone, Debug)]
pub struct ProtobufEncoder {
    signer: Option<SigningConfig>,
    max_message_size: u32,
    scratch: Vec<u8>,
}

impl Default for ProtobufEncoder {
    fn default() -> Self {
        ProtobufEncoder::new(None)
    }
}

impl ProtobufEncoder {
    /// An encoder that signs with `signer` when given, with the default maximum message size.
    pub fn new(signer: Option<SigningConfig>) -> Self {
        ProtobufEncoder {
            signer,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            scratch: Vec::new(),
        }
    }

    /// Sets the largest message (protobuf bytes, without framing) the encoder accepts.
    pub fn with_max_message_size(mut self, max_message_size: u32) -> Self {
        self.max_message_size = max_message_size;
        self
    }

    /// The signer, if any.
    pub fn signer(&self) -> Option<&SigningConfig> {
        self.signer.as_ref()
    }

    /// The largest message the encoder accepts.
    pub fn max_message_size(&self) -> u32 {
        self.max_message_size
    }

    /// Appends the framed record of `message` to `out`; on error nothing is appended.
    pub fn encode(&mut self, message: &Message, out: &mut Vec<u8>) -> Result<(), FramingError> {
        self.scratch.clear();
        message.encode_to_vec_into(&mut self.scratch);
        encode_frame(
            &self.scratch,
            self.signer.as_ref(),
            self.max_message_size,
            out,
        )
    }

    /// Appends a record framing `message_bytes`, an already protobuf-encoded message, to `out`.
    pub fn encode_bytes(
        &self,
        message_bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), FramingError> {
        encode_frame(
            message_bytes,
            self.signer.as_ref(),
            self.max_message_size,
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageBuilder;
    use heka_message::framing::{Header, scan};
    use heka_message::signing::{HmacHash, SignerKeys, Verification};

    fn sample() -> Message {
        MessageBuilder::new()
            .message_type("test")
            .payload("hello")
            .severity(4)
            .string_field("k", "v")
            .build()
    }

    fn signer(hash: HmacHash) -> SigningConfig {
        SigningConfig {
            name: "test".into(),
            hash,
            key: b"4865ey9urgkidls xtb0[7lf9rzcivthkm".to_vec(),
            version: 1,
        }
    }

    #[test]
    fn unsigned_frame_decodes_to_the_same_message() {
        let msg = sample();
        let mut out = vec![b'x'];
        encode_message(&msg, None, DEFAULT_MAX_MESSAGE_SIZE, &mut out).unwrap();
        let found = scan(&out, DEFAULT_MAX_MESSAGE_SIZE);
        let frame = found.frame.unwrap();
        assert_eq!(frame.record.start, 1);
        assert_eq!(found.consumed, out.len());
        assert_eq!(frame.header.hmac, None);
        let decoded = Message::decode_slice(&out[frame.message]).unwrap();
        assert_eq!(decoded, msg);
        // Header: only message_length.
        let mut want = Vec::new();
        Header {
            message_length: msg.to_bytes().len() as u32,
            ..Header::default()
        }
        .encode(&mut want);
        assert_eq!(&out[frame.header_bytes], &want[..]);
    }

    #[test]
    fn signed_frames_verify_with_the_signer_key() {
        for hash in [HmacHash::Md5, HmacHash::Sha1] {
            let msg = sample();
            let mut enc = ProtobufEncoder::new(Some(signer(hash)));
            let mut out = Vec::new();
            enc.encode(&msg, &mut out).unwrap();
            let frame = scan(&out, DEFAULT_MAX_MESSAGE_SIZE).frame.unwrap();
            let mut keys = SignerKeys::default();
            keys.insert("test_1", b"4865ey9urgkidls xtb0[7lf9rzcivthkm".to_vec());
            assert_eq!(
                keys.verify(&frame.header, &out[frame.message.clone()]),
                Verification::Signed("test".into())
            );
            let mut wrong = SignerKeys::default();
            wrong.insert("test_1", b"other".to_vec());
            assert_eq!(
                wrong.verify(&frame.header, &out[frame.message.clone()]),
                Verification::Rejected
            );
            assert_eq!(Message::decode_slice(&out[frame.message]).unwrap(), msg);
        }
    }

    #[test]
    fn encoder_reuse_appends_consecutive_frames() {
        let mut enc = ProtobufEncoder::default();
        let mut out = Vec::new();
        let a = MessageBuilder::new().payload("a").build();
        let b = MessageBuilder::new().payload("bb").build();
        enc.encode(&a, &mut out).unwrap();
        enc.encode(&b, &mut out).unwrap();
        let first = scan(&out, DEFAULT_MAX_MESSAGE_SIZE);
        let second = scan(&out[first.consumed..], DEFAULT_MAX_MESSAGE_SIZE);
        let m1 = Message::decode_slice(&out[first.frame.unwrap().message]).unwrap();
        let rest = &out[first.consumed..];
        let m2 = Message::decode_slice(&rest[second.frame.unwrap().message]).unwrap();
        assert_eq!(m1.payload_bytes(), b"a");
        assert_eq!(m2.payload_bytes(), b"bb");
        assert_eq!(first.consumed + second.consumed, out.len());
    }

    #[test]
    fn too_big_messages_are_rejected_and_nothing_is_written() {
        let msg = MessageBuilder::new().payload(vec![b'a'; 2000]).build();
        let mut enc = ProtobufEncoder::default().with_max_message_size(1024);
        assert_eq!(enc.max_message_size(), 1024);
        let mut out = vec![1, 2, 3];
        let err = enc.encode(&msg, &mut out).unwrap_err();
        assert!(matches!(err, FramingError::MessageTooBig { max: 1024, .. }));
        assert_eq!(out, vec![1, 2, 3]);
        assert!(encode_message(&msg, None, 1024, &mut out).is_err());
        assert_eq!(out, vec![1, 2, 3]);
        encode_message(&msg, None, 4096, &mut out).unwrap();
        assert!(out.len() > 2000);
    }

    #[test]
    fn encode_bytes_frames_pre_encoded_messages() {
        let msg = sample();
        let enc = ProtobufEncoder::new(Some(signer(HmacHash::Md5)));
        assert_eq!(enc.signer().map(|s| s.name.as_str()), Some("test"));
        let mut out = Vec::new();
        enc.encode_bytes(&msg.to_bytes(), &mut out).unwrap();
        let frame = scan(&out, DEFAULT_MAX_MESSAGE_SIZE).frame.unwrap();
        assert!(frame.header.hmac.is_some());
        assert_eq!(Message::decode_slice(&out[frame.message]).unwrap(), msg);
    }
}
