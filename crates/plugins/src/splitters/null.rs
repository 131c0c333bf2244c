//! NullSplitter: no splitting; whatever one read (or one datagram) returned is one record.
//!
//! ```toml
//! [raw_chunks]
//! type = "NullSplitter"
//! # min_buffer_size = 65536
//! ```
//!
//! No options besides the common splitter options; `min_buffer_size` defaults to 64 KiB here.
//! Record boundaries are whatever the input's reads return, so use it with datagram inputs or
//! inputs that deliver whole bodies, not with TCP streams.
//!
//! Differences from Heka: none.

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Split, Splitter};
use heka_pipeline::registry::{BuildContext, SplitterSpec};
use serde::Deserialize;

/// NullSplitter has no options of its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NullSplitterConfig {}

/// Returns the whole buffer as one record.
#[derive(Debug, Default)]
struct NullSplitter;

impl Splitter for NullSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        Split {
            consumed: buf.len(),
            record: (!buf.is_empty()).then_some(0..buf.len()),
            signer: None,
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Splitter>, ConfigError> {
    let _: NullSplitterConfig = ctx.options.parse()?;
    Ok(Box::new(NullSplitter))
}

pub(super) const SPEC: SplitterSpec = SplitterSpec {
    type_name: "NullSplitter",
    summary: "Every read or datagram is one record.",
    use_message_bytes: false,
    min_buffer_size: 64 * 1024,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn build_from(options: &str) -> Result<Box<dyn Splitter>, ConfigError> {
        crate::support::testing::build(SPEC.build, "s", "NullSplitter", options)
    }

    /// Runs `input` through a fresh splitter and compares each `(consumed, record)` step.
    fn check(input: &[u8], want: &[(usize, Option<&[u8]>)]) {
        let mut s = build_from("").unwrap();
        let got = s.find_record(input);
        let record = got.record.map(|r| &input[r]);
        assert_eq!(vec![(got.consumed, record)], want, "{input:?}");
    }

    #[test]
    fn the_whole_buffer_is_one_record() {
        check(b"one\ntwo\n", &[(8, Some(b"one\ntwo\n"))]);
        check(b"x", &[(1, Some(b"x"))]);
        check(b"", &[(0, None)]);
    }

    #[test]
    fn rejects_unknown_options() {
        assert!(build_from("delimiter = \"x\"").is_err());
    }

    /// Records are not message bytes: each datagram becomes the payload of a new message.
    #[test]
    fn each_datagram_becomes_the_payload_of_a_new_message() {
        use crate::support::net::testing::{bound_port, file_output, start, unframe_all, wait_for};

        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[in]\ntype = 'UdpInput'\naddress = '127.0.0.1:0'\nsplitter = 'NullSplitter'\n{}",
            file_output(&out)
        ));
        let port = bound_port(&running, "in");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // Protobuf-looking bytes stay a payload: nothing decodes them.
        let datagram = b"\x0a\x10 not a message\nsecond line";
        tx.send_to(datagram, ("127.0.0.1", port)).unwrap();
        let got = wait_for("the message", || {
            let msgs = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (!msgs.is_empty()).then_some(msgs)
        });
        running.stop();
        assert_eq!(got.len(), 1);
        let m = &got[0].1;
        assert_eq!(m.payload_bytes(), datagram);
        assert_eq!(m.logger_bytes(), b"in");
        assert_eq!(m.uuid.len(), 16);
        assert!(m.fields.is_empty());
    }

    /// The read buffer starts at 64 KiB, so the largest record (`max_message_size` plus 258
    /// bytes of framing) must be at least that.
    #[test]
    fn min_buffer_size_defaults_to_64_kib() {
        use crate::support::net::testing::build_error;
        let config = |max: u32| {
            format!(
                "[hekad]\nmax_message_size = {max}\n[UdpInput]\naddress = '127.0.0.1:0'\n\
                 [LogOutput]\nmessage_matcher = 'TRUE'\nencoder = 'ProtobufEncoder'\n"
            )
        };
        let e = build_error(&config(65_535 - 258));
        assert!(
            e.contains("'min_buffer_size' (65536) can't be larger than MAX_RECORD_SIZE (65535)"),
            "{e}"
        );
        let cfg =
            heka_pipeline::config::load_str(&config(65_536 - 258), "test.toml".as_ref()).unwrap();
        let built = heka_pipeline::runner::build::Pipeline::build(&cfg, &crate::builtin());
        assert!(built.is_ok(), "{:?}", built.err().map(|e| e.to_string()));
    }
}
