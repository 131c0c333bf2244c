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
    fn rejects_unknown_options_and_has_heka_defaults() {
        assert!(build_from("delimiter = \"x\"").is_err());
        assert_eq!(SPEC.min_buffer_size, 65_536);
        const { assert!(!SPEC.use_message_bytes) };
    }
}
