//! HekaFramingSplitter: Heka's stream framing, with optional HMAC authentication.
//!
//! ```toml
//! [signed_framing]
//! type = "HekaFramingSplitter"
//! # skip_authentication = false
//! # use_message_bytes = true
//!
//! [signed_framing.signer.ops_0]   # "<signer name>_<key version>"
//! hmac_key = "4865ey9urgkidls xtb0[7lf9rzcivthkm"
//! ```
//!
//! Each record is `0x1E`, a header-length byte, a protobuf `Header`, `0x1F` and the message
//! bytes (see `heka_message::framing`). The record handed on is the **message bytes** only, so
//! with the default `use_message_bytes = true` a `ProtobufDecoder` reads them without a copy.
//! Garbage between frames, and frames whose header is invalid or announces a message longer
//! than `[hekad] max_message_size`, are skipped: the stream resynchronises on the next valid
//! frame. Header errors other than a missing unit separator are logged.
//!
//! Options:
//! - `signer`: accepted signers, one sub-table per `<name>_<version>` with its `hmac_key`.
//! - `skip_authentication` (default false): accept every frame and never set a signer.
//!
//! Authentication: a header of at most 13 bytes cannot carry an HMAC and is accepted unsigned.
//! A frame with an HMAC must name a configured `<signer>_<version>` and its HMAC-MD5 or
//! HMAC-SHA1 over the message bytes must match; otherwise the frame is consumed and dropped
//! silently. A verified frame carries its signer name, which filters and outputs select with
//! `message_signer`.
//!
//! Differences from Heka:
//! - A header that names a signer but carries no HMAC is accepted without a signer; Heka set
//!   the signer anyway, so anyone could claim one.
//! - An unknown `hmac_hash_function` drops the frame; Heka crashed.

use std::collections::BTreeMap;

use bytes::Bytes;
use heka_message::framing::{self, Frame, FramingError};
use heka_message::signing::{SignerKeys, Verification};
use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Split, Splitter};
use heka_pipeline::registry::{BuildContext, SplitterSpec};
use serde::Deserialize;

/// One `[<splitter>.signer.<name>_<version>]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerConfig {
    /// The HMAC key (used as raw bytes).
    hmac_key: String,
}

/// HekaFramingSplitter options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct HekaFramingSplitterConfig {
    /// Accepted signers keyed `<name>_<version>`.
    signer: BTreeMap<String, SignerConfig>,
    /// Accept every frame without verifying HMACs.
    skip_authentication: bool,
}

/// Headers up to this many bytes cannot hold an HMAC (Heka compares the header length plus the
/// three framing bytes with the 16-byte UUID size).
const MAX_UNSIGNED_HEADER: usize = 13;

/// Finds framed records and authenticates them.
#[derive(Debug)]
struct HekaFramingSplitter {
    name: String,
    keys: SignerKeys,
    skip_authentication: bool,
    max_message_size: u32,
}

impl HekaFramingSplitter {
    /// The verified signer of `frame` (`Ok(None)` when unsigned), or `Err` to drop it.
    fn authenticate(&self, frame: &Frame, buf: &[u8]) -> Result<Option<Bytes>, ()> {
        if self.skip_authentication || frame.header_bytes.len() <= MAX_UNSIGNED_HEADER {
            return Ok(None);
        }
        match self.keys.verify(&frame.header, &buf[frame.message.clone()]) {
            Verification::Unsigned => Ok(None),
            Verification::Signed(name) => Ok(Some(name)),
            Verification::Rejected => Err(()),
        }
    }
}

impl Splitter for HekaFramingSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        let scan = framing::scan(buf, self.max_message_size);
        match &scan.error {
            // Heka compat: pipeline/splitters.go logs header decode and size errors, but not a
            // missing unit separator.
            None | Some(FramingError::MissingUnitSeparator) => {}
            Some(e) => tracing::error!(splitter = %self.name, "{e}"),
        }
        let Some(frame) = scan.frame else {
            return Split {
                consumed: scan.consumed,
                record: None,
                signer: None,
            };
        };
        match self.authenticate(&frame, buf) {
            Ok(signer) => Split {
                consumed: scan.consumed,
                record: Some(frame.message),
                signer,
            },
            Err(()) => {
                tracing::debug!(splitter = %self.name, "dropping a frame that failed authentication");
                Split {
                    consumed: scan.consumed,
                    record: None,
                    signer: None,
                }
            }
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Splitter>, ConfigError> {
    let c: HekaFramingSplitterConfig = ctx.options.parse()?;
    let mut keys = SignerKeys::default();
    for (name_version, signer) in c.signer {
        keys.insert(name_version, signer.hmac_key.into_bytes());
    }
    Ok(Box::new(HekaFramingSplitter {
        name: ctx.name.to_string(),
        keys,
        skip_authentication: c.skip_authentication,
        max_message_size: ctx.globals.max_message_size,
    }))
}

pub(super) const SPEC: SplitterSpec = SplitterSpec {
    type_name: "HekaFramingSplitter",
    summary: "Heka's stream framing with optional HMAC authentication; records are message bytes.",
    use_message_bytes: true,
    min_buffer_size: 8192,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::split_all;
    use heka_message::framing::Header;
    use heka_message::signing::{HmacHash, SigningConfig};

    const SIGNERS: &str = "[s.signer.test_1]\nhmac_key = \"testkey\"\n\
                           [s.signer.other_0]\nhmac_key = \"otherkey\"\n";

    fn build_from(options: &str) -> Result<Box<dyn Splitter>, ConfigError> {
        crate::support::testing::build(SPEC.build, "s", "HekaFramingSplitter", options)
    }

    type Step<'a> = (usize, Option<&'a [u8]>, Option<&'a str>);

    /// Splits `input` as the stream runner does (calling until nothing is consumed) and
    /// compares each `(consumed, message bytes, signer)` step and the leftover bytes.
    fn check(options: &str, input: &[u8], steps: &[Step<'_>], rest: &[u8]) {
        let mut s = build_from(options).unwrap();
        let (got, off) = split_all(&mut *s, input);
        let want: Vec<_> = steps
            .iter()
            .map(|(n, r, s)| (*n, r.map(<[u8]>::to_vec), s.map(str::to_string)))
            .collect();
        assert_eq!(got, want, "{options:?}");
        assert_eq!(&input[off..], rest, "{options:?}");
    }

    /// One 67-byte frame from Heka's pipeline/splitters_test.go (header of 2 bytes).
    const FRAME: &[u8] = b"\x1e\x02\x08\x3e\x1f\x0a\x10\x90\x1d\x56\x27\xec\x49\x4c\x8f\xba\
        \x8e\x84\x9b\xaa\xf7\xa6\xf6\x10\xa6\x97\x8a\x8f\xb6\xc1\xae\x8e\x13\x1a\x09\x68\x65\
        \x6b\x61\x62\x65\x6e\x63\x68\x28\x06\x3a\x03\x30\x2e\x38\x40\xbf\xe5\x01\x4a\x0a\x74\
        \x72\x69\x6e\x6b\x2d\x78\x32\x33\x30";

    fn msg() -> &'static [u8] {
        &FRAME[5..]
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn signed(name: &str, hash: HmacHash, key: &str, version: u32, message: &[u8]) -> Vec<u8> {
        let signer = SigningConfig {
            name: name.into(),
            hash,
            key: key.as_bytes().to_vec(),
            version,
        };
        let mut out = Vec::new();
        framing::encode_frame(message, Some(&signer), 65_536, &mut out).unwrap();
        out
    }

    /// A frame with an explicit header.
    fn with_header(h: &Header, message: &[u8]) -> Vec<u8> {
        let mut hb = Vec::new();
        h.encode(&mut hb);
        cat(&[&[0x1e, hb.len() as u8], &hb, &[0x1f], message])
    }

    #[test]
    fn splits_and_resynchronises_after_garbage() {
        assert_eq!(FRAME.len(), 67);
        // Heka's vector: F F BOGUS F BOGUS + an incomplete header.
        let input = cat(&[FRAME, FRAME, b"BOGUS", FRAME, b"BOGUS\x1e\x02\x08"]);
        check(
            "",
            &input,
            &[
                (67, Some(msg()), None),
                (67, Some(msg()), None),
                (72, Some(msg()), None),
                (5, None, None),
            ],
            b"\x1e\x02\x08",
        );
        // A header without its unit separator: skipped one byte at a time.
        let input = cat(&[b"\x1e\x02\x08\x3e\xff", FRAME]);
        check("", &input, &[(72, Some(msg()), None)], b"");
        // Garbage with no separator at all is consumed.
        check("", b"no frames here", &[(14, None, None)], b"");
        // Leading garbage goes even while the frame after it is incomplete.
        let input = cat(&[b"junk", &FRAME[..40]]);
        check("", &input, &[(4, None, None)], &FRAME[..40]);
        // A zero-length message is a record (decoding it yields an empty message).
        check("", b"\x1e\x02\x08\x00\x1f", &[(5, Some(b""), None)], b"");
    }

    #[test]
    fn skips_headers_announcing_oversized_messages() {
        let too_big = Header {
            message_length: 65_537,
            ..Header::default()
        };
        let input = cat(&[&with_header(&too_big, b"xx"), FRAME]);
        let skipped = input.len() - FRAME.len();
        check("", &input, &[(skipped + 67, Some(msg()), None)], b"");
        // The limit follows [hekad] max_message_size.
        let big = vec![b'x'; 3000];
        let frame = with_header(
            &Header {
                message_length: 3000,
                ..Header::default()
            },
            &big,
        );
        check("", &frame, &[(frame.len(), Some(&big), None)], b"");
        let section = crate::support::testing::TestSection {
            name: "s",
            type_name: "HekaFramingSplitter",
            options: "",
            hekad: "max_message_size = 2048",
        };
        let mut s = crate::support::testing::build_section(SPEC.build, section).unwrap();
        let r = s.find_record(&frame);
        assert_eq!(
            (r.consumed, r.record),
            (frame.len(), None),
            "resynchronised past it"
        );
    }

    #[test]
    fn authenticates_hmac_signatures() {
        let m = msg();
        let md5 = signed("test", HmacHash::Md5, "testkey", 1, m);
        let sha1 = signed("test", HmacHash::Sha1, "testkey", 1, m);
        check(SIGNERS, &md5, &[(md5.len(), Some(m), Some("test"))], b"");
        check(SIGNERS, &sha1, &[(sha1.len(), Some(m), Some("test"))], b"");
        let other = signed("other", HmacHash::Sha1, "otherkey", 0, m);
        check(
            SIGNERS,
            &other,
            &[(other.len(), Some(m), Some("other"))],
            b"",
        );
        // Rejected frames are consumed and not delivered; the next frame still is.
        for bad in [
            signed("test", HmacHash::Md5, "wrongkey", 1, m),
            signed("test", HmacHash::Md5, "testkey", 11, m),
            signed("nobody", HmacHash::Sha1, "testkey", 1, m),
        ] {
            let input = cat(&[&bad, FRAME]);
            check(
                SIGNERS,
                &input,
                &[(bad.len(), None, None), (67, Some(m), None)],
                b"",
            );
        }
        // A tampered message fails its HMAC.
        let mut tampered = md5.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        check(SIGNERS, &tampered, &[(md5.len(), None, None)], b"");
        // Without any signer configured every signed frame is rejected.
        check("", &md5, &[(md5.len(), None, None)], b"");
    }

    #[test]
    fn skip_authentication_accepts_everything_without_a_signer() {
        let m = msg();
        let opts = format!("skip_authentication = true\n{SIGNERS}");
        let good = signed("test", HmacHash::Md5, "testkey", 1, m);
        let bad = signed("test", HmacHash::Md5, "wrongkey", 1, m);
        check(&opts, &good, &[(good.len(), Some(m), None)], b"");
        check(&opts, &bad, &[(bad.len(), Some(m), None)], b"");
    }

    #[test]
    fn small_or_hmac_less_headers_are_accepted_unsigned() {
        let m = msg();
        // A header of at most 13 bytes is never authenticated.
        let short = Header {
            message_length: m.len() as u32,
            hmac_signer: Some(Bytes::from_static(b"test")),
            hmac_key_version: Some(1),
            ..Header::default()
        };
        let frame = with_header(&short, m);
        assert!(frame[1] as usize <= MAX_UNSIGNED_HEADER);
        check(SIGNERS, &frame, &[(frame.len(), Some(m), None)], b"");
        // A longer header naming a signer without an HMAC is not trusted with that name.
        let long = Header {
            hmac_signer: Some(Bytes::from_static(b"a-rather-long-signer-name")),
            ..short
        };
        let frame = with_header(&long, m);
        assert!(frame[1] as usize > MAX_UNSIGNED_HEADER);
        check(SIGNERS, &frame, &[(frame.len(), Some(m), None)], b"");
    }

    #[test]
    fn config_errors() {
        assert!(build_from("[s.signer.x_1]\nkey = \"k\"\n").is_err());
        assert!(build_from("skip_authentication = \"yes\"").is_err());
        assert!(build_from("delimiter = \"x\"").is_err());
    }

    /// By default the records handed on are the message bytes themselves: a ProtobufDecoder
    /// decodes them as they are, and a FileOutput writes the message out byte for byte.
    #[test]
    fn records_are_the_message_bytes_by_default() {
        use crate::support::net::testing::{bound_port, file_output, start, wait_for};

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[UdpInput]\naddress = '127.0.0.1:0'\nsplitter = 'HekaFramingSplitter'\n\
             decoder = 'ProtobufDecoder'\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "UdpInput");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(FRAME, ("127.0.0.1", port)).unwrap();
        let got = wait_for("the message", || {
            let b = std::fs::read(&out).unwrap_or_default();
            (b.len() >= FRAME.len()).then_some(b)
        });
        running.stop();
        // Framed again with the same 2-byte header: the very bytes that were sent.
        assert_eq!(got, FRAME);
    }

    /// The read buffer starts at 8 KiB, so the largest record (`max_message_size` plus 258
    /// bytes of framing) must be at least that.
    #[test]
    fn min_buffer_size_defaults_to_8_kib() {
        use crate::support::net::testing::build_error;
        let config = |max: u32| {
            format!(
                "[hekad]\nmax_message_size = {max}\n[UdpInput]\naddress = '127.0.0.1:0'\n\
                 splitter = 'HekaFramingSplitter'\n[LogOutput]\nmessage_matcher = 'TRUE'\nencoder = 'ProtobufEncoder'\n"
            )
        };
        let e = build_error(&config(8191 - 258));
        assert!(
            e.contains("'min_buffer_size' (8192) can't be larger than MAX_RECORD_SIZE (8191)"),
            "{e}"
        );
        let cfg =
            heka_pipeline::config::load_str(&config(8192 - 258), "test.toml".as_ref()).unwrap();
        let built = heka_pipeline::runner::build::Pipeline::build(&cfg, &crate::builtin());
        assert!(built.is_ok(), "{:?}", built.err().map(|e| e.to_string()));
    }
}
