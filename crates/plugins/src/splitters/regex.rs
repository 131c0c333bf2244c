//! RegexSplitter: records end (or start) at matches of a regular expression.
//!
//! ```toml
//! [syslog_lines]
//! type = "RegexSplitter"
//! delimiter = '\n(\d{4}-\d{2}-\d{2})'   # Go RE2 syntax; default "\n"
//! delimiter_eol = false                 # the captured date starts the next record
//! ```
//!
//! Options:
//! - `delimiter`: the regex (Go RE2 semantics, see `heka_matcher::go_regex`), with at most one
//!   capture group.
//! - `delimiter_eol` (default true): without a capture group the whole match is discarded.
//!   With one, the captured text is kept: at the end of the record before the match (true), or
//!   at the start of the record after it (false). The rest of the match is discarded.
//!
//! A match at the very start of the buffer without a capture produces an empty record, which
//! is consumed and not delivered.
//!
//! Differences from Heka:
//! - An invalid regex is reported with the Rust regex library's message, not Go's.
//! - A capture group that does not take part in the match (`(x)?`) is treated as if the
//!   regex had no capture group; Heka crashed on it.

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Split, Splitter};
use heka_pipeline::registry::{BuildContext, SplitterSpec};
use regex::bytes::Regex;
use serde::Deserialize;

/// RegexSplitter options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RegexSplitterConfig {
    /// The delimiter regex.
    delimiter: String,
    /// Whether a captured delimiter ends the previous record (true) or starts the next.
    delimiter_eol: bool,
}

impl Default for RegexSplitterConfig {
    fn default() -> Self {
        RegexSplitterConfig {
            delimiter: "\n".into(),
            delimiter_eol: true,
        }
    }
}

/// Splits at regex matches.
#[derive(Debug)]
struct RegexSplitter {
    delimiter: Regex,
    has_capture: bool,
    eol: bool,
    /// With `eol = false`: length of the captured delimiter at the start of the buffer, which
    /// belongs to the next record and must not be matched again.
    capture_len: usize,
}

fn record(end: usize) -> Option<std::ops::Range<usize>> {
    (end > 0).then_some(0..end)
}

impl Splitter for RegexSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        if self.capture_len > buf.len() {
            // The buffer no longer starts with the carried-over capture (a new datagram).
            self.capture_len = 0;
        }
        let skip = self.capture_len;
        // Heka compat: pipeline/splitters.go searches the buffer sliced after the carried
        // capture, so `^` anchors there.
        let Some(caps) = self.delimiter.captures(&buf[skip..]) else {
            return Split::default();
        };
        let Some(whole) = caps.get(0) else {
            return Split::default();
        };
        let (start, end) = (skip + whole.start(), skip + whole.end());
        let capture = if self.has_capture { caps.get(1) } else { None };
        let (consumed, rec) = match capture {
            None => {
                // The whole match is dropped, so the next buffer starts after it, with no
                // capture carried over from an earlier match.
                self.capture_len = 0;
                (end, record(start))
            }
            Some(c) if self.eol => (end, record(skip + c.end())),
            Some(c) => {
                self.capture_len = c.len();
                (skip + c.start(), record(start))
            }
        };
        Split {
            consumed,
            record: rec,
            signer: None,
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Splitter>, ConfigError> {
    let c: RegexSplitterConfig = ctx.options.parse()?;
    let delimiter = heka_matcher::go_regex::compile(&c.delimiter)
        .map_err(|e| ctx.error(Some("delimiter"), e))?;
    let groups = delimiter.captures_len() - 1;
    if groups > 1 {
        // Heka compat: the text of pipeline/splitters.go.
        return Err(ctx.error(
            Some("delimiter"),
            format!(
                "regex must not contain more than one capture group: {}",
                c.delimiter
            ),
        ));
    }
    Ok(Box::new(RegexSplitter {
        delimiter,
        has_capture: groups == 1,
        eol: c.delimiter_eol,
        capture_len: 0,
    }))
}

pub(super) const SPEC: SplitterSpec = SplitterSpec {
    type_name: "RegexSplitter",
    summary: "Splits at matches of a regex, optionally keeping one captured part.",
    use_message_bytes: false,
    min_buffer_size: 8192,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::check_split;

    fn build_from(options: &str) -> Result<Box<dyn Splitter>, ConfigError> {
        crate::support::testing::build(SPEC.build, "s", "RegexSplitter", options)
    }

    /// [`check_split`], and no empty record is ever delivered.
    fn check(options: &str, input: &str, steps: &[(usize, &str)], rest: &str) {
        let got = check_split(&SPEC, options, input, steps, rest);
        assert!(
            got.iter()
                .all(|(_, r, _)| r.as_ref().is_none_or(|r| !r.is_empty())),
            "empty records are never delivered"
        );
    }

    const LINES: &str = "test1\ntest12\ntest123\npartial";

    #[test]
    fn splits_like_heka() {
        // Heka's pipeline/splitters_test.go cases.
        check(
            "",
            LINES,
            &[(6, "test1"), (7, "test12"), (8, "test123")],
            "partial",
        );
        check(
            r#"delimiter = '(\n)'"#,
            LINES,
            &[(6, "test1\n"), (7, "test12\n"), (8, "test123\n")],
            "partial",
        );
        check(
            "delimiter = '(\\n)'\ndelimiter_eol = false",
            LINES,
            &[(5, "test1"), (7, "\ntest12"), (8, "\ntest123")],
            "\npartial",
        );
        check(
            "delimiter = '(\\n)'\ndelimiter_eol = false",
            "\ntest",
            &[],
            "\ntest",
        );
        check("delimiter_eol = false", "\ntest", &[(1, "")], "test");
    }

    #[test]
    fn keeps_only_the_captured_part_of_a_delimiter() {
        check(
            r#"delimiter = '(;)\s*'"#,
            "a; b;c",
            &[(3, "a;"), (2, "b;")],
            "c",
        );
        // Multi-line records that start with a date.
        check(
            "delimiter = '\\n(\\d{4}-)'\ndelimiter_eol = false",
            "2015-a\n  more\n2015-b\n2016-c\n",
            &[(14, "2015-a\n  more"), (7, "2015-b")],
            "2016-c\n",
        );
        // An optional group that did not take part: the match is a plain delimiter.
        check(
            r#"delimiter = '(x)?;'"#,
            "a;bx;c",
            &[(2, "a"), (3, "bx")],
            "c",
        );
        // Go semantics: \d is ASCII only.
        check(r#"delimiter = '\d'"#, "a١b2c", &[(5, "a١b")], "c");
    }

    /// Found by the `splitters` fuzz target: after a match whose optional group took no part,
    /// the capture carried from the match before was still skipped at the start of the next
    /// buffer, so a delimiter there was missed and ended up inside a record.
    #[test]
    fn a_match_without_its_capture_ends_the_carried_capture() {
        check(
            "delimiter = '\\n(\\d)?'\ndelimiter_eol = false",
            "x\n1 first\n2 second\n\nplain\n3 third\n",
            &[
                (2, "x"),
                (8, "1 first"),
                (9, "2 second"),
                (1, ""),
                (6, "plain"),
                (8, "3 third"),
            ],
            "",
        );
    }

    #[test]
    fn a_carried_capture_longer_than_a_new_buffer_is_forgotten() {
        let mut s = build_from("delimiter = '(--)'\ndelimiter_eol = false").unwrap();
        let r = s.find_record(b"a--b");
        assert_eq!((r.consumed, r.record), (1, Some(0..1)));
        // A new datagram that does not start with the carried "--".
        let r = s.find_record(b"x");
        assert_eq!((r.consumed, r.record), (0, None));
        let r = s.find_record(b"x--y");
        assert_eq!((r.consumed, r.record), (1, Some(0..1)));
    }

    #[test]
    fn config_errors() {
        let e = build_from(r#"delimiter = '(\r)(\n)'"#).err().unwrap();
        assert!(
            e.to_string()
                .contains(r"regex must not contain more than one capture group: (\r)(\n)"),
            "{e}"
        );
        assert!(build_from(r#"delimiter = '\y'"#).is_err());
        assert!(build_from("delimiter_eol = 1").is_err());
        assert!(build_from("count = 1").is_err());
    }
}
