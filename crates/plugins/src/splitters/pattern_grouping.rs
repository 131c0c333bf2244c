//! PatternGroupingSplitter: splits like RegexSplitter, then joins contiguous records that match a
//! second regex into one (stack traces among ordinary log lines).
//!
//! ```toml
//! [java_traces]
//! type = "PatternGroupingSplitter"
//! delimiter = '\n'                     # Go RE2 syntax; default "\n"
//! grouping = '(\A\s*.+Exception: .)|(at \S+\(\S+\))|(\A\s+... \d+ more)|(\A\s*Caused by:.)'
//! max_lines = 99                       # default 99; negative = no limit
//! ```
//!
//! Options:
//! - `delimiter`: the record boundary regex. The match always stays at the end of the record.
//! - `grouping` (default `""`, which matches everything): a line is joined to the record
//!   before it while this regex is found in it (searched, not anchored; `\A` anchors at the
//!   start of the line).
//! - `max_lines` (default 99): at most this many delimiters are looked at per record, so a
//!   group holds at most this many lines; the rest starts a new record. Negative: no limit.
//!
//! A record starts with one line (text up to and including a delimiter match). If `grouping`
//! is not found in that line, the line is the record. Otherwise the following lines are joined
//! while `grouping` is found in each (the line without its delimiter). As in Heka, the second
//! line is tested together with the first (`line 0 + delimiter + line 1`), so it is in practice
//! always joined. Grouping only sees what is buffered: lines of a group that arrive in a later
//! read start a record of their own, and an unterminated last line waits for its delimiter.
//!
//! Differences from Heka:
//! - When the joined test of the second line fails (possible with an end anchor such as `\z`
//!   in `grouping`), the first line is returned as a record; Heka returned nothing, again and
//!   again for the same bytes, until the buffer overflowed and the data was dropped.
//! - `max_lines = 0` is a config error; in Heka it made the splitter never find a record.
//! - An invalid regex is reported with the Rust regex library's message, not Go's.

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Split, Splitter};
use heka_pipeline::registry::{BuildContext, SplitterSpec};
use regex::bytes::Regex;
use serde::Deserialize;

/// PatternGroupingSplitter options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PatternGroupingSplitterConfig {
    /// The record boundary regex.
    delimiter: String,
    /// Lines in which this regex is found are joined to the record before them.
    grouping: String,
    /// Most delimiters looked at per record; negative = no limit.
    max_lines: i64,
}

impl Default for PatternGroupingSplitterConfig {
    fn default() -> Self {
        PatternGroupingSplitterConfig {
            delimiter: "\n".into(),
            grouping: String::new(),
            max_lines: 99,
        }
    }
}

/// Splits at delimiter matches and joins grouped lines.
#[derive(Debug)]
struct PatternGroupingSplitter {
    delimiter: Regex,
    grouping: Regex,
    /// Most delimiter matches looked at per call (`usize::MAX` = no limit).
    max_lines: usize,
}

impl Splitter for PatternGroupingSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        let mut delimiters = self.delimiter.find_iter(buf).take(self.max_lines);
        let Some(first) = delimiters.next() else {
            return Split::default();
        };
        let mut end = first.end();
        if self.grouping.is_match(&buf[..end]) {
            // Heka compat: pipeline/splitters.go starts the walk at the buffer start, so the
            // first segment tested is the first line, its delimiter and the second line.
            let mut from = 0;
            for d in delimiters {
                if !self.grouping.is_match(&buf[from..d.start()]) {
                    break;
                }
                from = d.end();
                end = d.end();
            }
        }
        if end == 0 {
            // A delimiter that matched nothing at the start: wait for more data.
            return Split::default();
        }
        Split {
            consumed: end,
            record: Some(0..end),
            signer: None,
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Splitter>, ConfigError> {
    let c: PatternGroupingSplitterConfig = ctx.options.parse()?;
    let delimiter = heka_matcher::go_regex::compile(&c.delimiter)
        .map_err(|e| ctx.error(Some("delimiter"), e))?;
    let grouping =
        heka_matcher::go_regex::compile(&c.grouping).map_err(|e| ctx.error(Some("grouping"), e))?;
    let max_lines = match c.max_lines {
        0 => {
            return Err(ctx.error(
                Some("max_lines"),
                "max_lines must not be 0: no record would ever be found (negative = no limit)",
            ));
        }
        n if n < 0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Ok(Box::new(PatternGroupingSplitter {
        delimiter,
        grouping,
        max_lines,
    }))
}

pub(super) const SPEC: SplitterSpec = SplitterSpec {
    type_name: "PatternGroupingSplitter",
    summary: "Splits at matches of a regex, joining contiguous records that match a second one.",
    use_message_bytes: false,
    min_buffer_size: 8192,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::check_split;

    fn build_from(options: &str) -> Result<Box<dyn Splitter>, ConfigError> {
        crate::support::testing::build(SPEC.build, "s", "PatternGroupingSplitter", options)
    }

    fn check(options: &str, input: &str, steps: &[(usize, &str)], rest: &str) {
        check_split(&SPEC, options, input, steps, rest);
    }

    /// The grouping of Heka's pipeline/splitters_test.go.
    const JAVA: &str = r#"grouping = '(\A\s*.+Exception: .)|(at \S+\(\S+\))|(\A\s+... \d+ more)|(\A\s*Caused by:.)|(\A\s*Grave:)'"#;

    #[test]
    fn groups_like_heka() {
        // Heka's pipeline/splitters_test.go vectors.
        check(JAVA, "\n\n", &[(1, "\n"), (1, "\n")], "");
        let trace = "java.io.FileNotFoundException: fred.txt\n\
                     \tat java.io.FileInputStream.<init>(FileInputStream.java)\n\
                     \tat java.io.FileInputStream.<init>(FileInputStream.java)\n\
                     \tat ExTest.readMyFile(ExTest.java:19)\n\
                     \tat ExTest.main(ExTest.java:7)\n";
        check(
            JAVA,
            &format!("{trace}\nDon't capture me\nMore"),
            &[(223, trace), (1, "\n"), (17, "Don't capture me\n")],
            "More",
        );
        let juil = "juil. 25, 2012 10:49:46 AM hudson.triggers.SafeTimerTask run\n";
        let grave = "Grave: Timer task com.base2services.jenkins.SqsQueueHandler@32eea79d failed\n\
                     \tcom.amazonaws.AmazonClientException: Unable to calculate a request signature: Unable to calculate a request signature: Empty key\n\
                     \tat com.amazonaws.auth.AbstractAWSSigner.signAndBase64Encode(AbstractAWSSigner.java:71)\n\
                     \tat com.amazonaws.auth.AbstractAWSSigner.signAndBase64Encode(AbstractAWSSigner.java:55)\n\
                     \tat com.amazonaws.auth.QueryStringSigner.sign(QueryStringSigner.java:83)\n\
                     Caused by: com.amazonaws.AmazonClientException: Unable to calculate a request signature: Empty key\n";
        check(
            JAVA,
            &format!("\n\n{juil}{grave}partial"),
            &[(1, "\n"), (1, "\n"), (61, juil), (554, grave)],
            "partial",
        );
        check(
            JAVA,
            "test1\ntest2\npartial",
            &[(6, "test1\n"), (6, "test2\n")],
            "partial",
        );
    }

    #[test]
    fn the_default_grouping_joins_up_to_max_lines() {
        // The default-registered section: an empty grouping matches every line.
        check("", "a\nb\nc\nd", &[(6, "a\nb\nc\n")], "d");
        check(
            "max_lines = 2",
            "a\nb\nc\nd\n",
            &[(4, "a\nb\n"), (4, "c\nd\n")],
            "",
        );
        check("max_lines = 1", "a\nb\n", &[(2, "a\n"), (2, "b\n")], "");
        check("max_lines = -1", "a\nb\nc\n", &[(6, "a\nb\nc\n")], "");
    }

    #[test]
    fn multi_byte_delimiters_stay_at_the_end() {
        check(
            r#"delimiter = '\r?\n'
grouping = '^\s'"#,
            "x\r\n y\r\n z\r\nw\n v\nu",
            &[(3, "x\r\n"), (8, " y\r\n z\r\n"), (2, "w\n"), (3, " v\n")],
            "u",
        );
        // An indented continuation joins the line before it (the second line is always
        // joined); the first non-indented line ends the group.
        check(
            r#"grouping = '^(ERROR|\s)'"#,
            "ERROR boom\n  at a\n  at b\nINFO ok\n",
            &[(25, "ERROR boom\n  at a\n  at b\n"), (8, "INFO ok\n")],
            "",
        );
    }

    /// In Heka a failing joined test of the second line returned nothing, for ever.
    #[test]
    fn a_failing_first_join_returns_the_first_line() {
        check(
            r#"grouping = '^x\n\z'"#,
            "x\ny\nz\n",
            &[(2, "x\n"), (2, "y\n"), (2, "z\n")],
            "",
        );
    }

    #[test]
    fn config_errors() {
        assert!(build_from("max_lines = 0").is_err());
        assert!(build_from(r#"delimiter = '\y'"#).is_err());
        let e = build_from(r#"grouping = '('"#).err().unwrap();
        assert!(e.to_string().contains("grouping"), "{e}");
        assert!(build_from("max_lines = 'x'").is_err());
        assert!(build_from("delimiter_eol = true").is_err());
    }
}
