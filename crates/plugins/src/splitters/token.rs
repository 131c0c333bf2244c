//! TokenSplitter: a record ends after every `count`-th occurrence of a one-byte delimiter.
//!
//! ```toml
//! [tab_records]
//! type = "TokenSplitter"
//! delimiter = "\t"   # exactly one byte; default "\n"
//! count = 1          # records end after this many delimiters; 0 behaves as 1
//! ```
//!
//! The delimiters stay in the record. Until `count` delimiters are buffered nothing is
//! consumed (the runner waits for more data; `deliver_incomplete_final` delivers a trailing
//! partial group at the end of the stream).
//!
//! Differences from Heka: none.

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Split, Splitter};
use heka_pipeline::registry::{BuildContext, SplitterSpec};
use serde::Deserialize;

/// TokenSplitter options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TokenSplitterConfig {
    /// The delimiter, exactly one byte.
    delimiter: String,
    /// Delimiters per record.
    count: u32,
}

impl Default for TokenSplitterConfig {
    fn default() -> Self {
        TokenSplitterConfig {
            delimiter: "\n".into(),
            count: 1,
        }
    }
}

/// Splits after every `count`-th `delimiter`.
#[derive(Debug)]
struct TokenSplitter {
    delimiter: u8,
    count: usize,
}

impl Splitter for TokenSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        match memchr::memchr_iter(self.delimiter, buf).nth(self.count - 1) {
            Some(i) => Split {
                consumed: i + 1,
                record: Some(0..i + 1),
                signer: None,
            },
            None => Split::default(),
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Splitter>, ConfigError> {
    let c: TokenSplitterConfig = ctx.options.parse()?;
    let &[delimiter] = c.delimiter.as_bytes() else {
        // Heka compat: the text of pipeline/splitters.go.
        let err = ctx.error(
            Some("delimiter"),
            "TokenSplitter delimiter must be a single character.",
        );
        // `'\n'` is two characters: TOML's single quotes keep the backslash.
        return Err(match c.delimiter.as_str() {
            e @ ("\\n" | "\\t" | "\\r") => err.with_hint(format!(
                "write \"{e}\" in double quotes: in single quotes the backslash stays"
            )),
            _ => err,
        });
    };
    Ok(Box::new(TokenSplitter {
        delimiter,
        count: c.count.max(1) as usize,
    }))
}

pub(super) const SPEC: SplitterSpec = SplitterSpec {
    type_name: "TokenSplitter",
    summary: "Splits after every Nth occurrence of a one-byte delimiter (default newline).",
    use_message_bytes: false,
    min_buffer_size: 8192,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::check_split;

    fn build_from(options: &str) -> Result<Box<dyn Splitter>, ConfigError> {
        crate::support::testing::build(SPEC.build, "s", "TokenSplitter", options)
    }

    fn check(options: &str, input: &str, steps: &[(usize, &str)], rest: &str) {
        check_split(&SPEC, options, input, steps, rest);
    }

    const LINES: &str = "test1\ntest12\ntest123\npartial";

    #[test]
    fn splits_on_single_byte_delimiters() {
        // Heka's pipeline/splitters_test.go cases first.
        check(
            "",
            LINES,
            &[(6, "test1\n"), (7, "test12\n"), (8, "test123\n")],
            "partial",
        );
        check(
            r#"delimiter = "\t""#,
            "test1\ttest2\t",
            &[(6, "test1\t"), (6, "test2\t")],
            "",
        );
        check(
            "count = 2",
            LINES,
            &[(13, "test1\ntest12\n")],
            "test123\npartial",
        );
        check("count = 4", LINES, &[], LINES);
        check("count = 0", "a\nb\n", &[(2, "a\n"), (2, "b\n")], "");
        check("", "\n\nx", &[(1, "\n"), (1, "\n")], "x");
        check("", "", &[], "");
        check(r#"delimiter = "|""#, "a|b|c", &[(2, "a|"), (2, "b|")], "c");
    }

    #[test]
    fn a_delimiter_must_be_one_byte() {
        for bad in [
            r#"delimiter = """#,
            r#"delimiter = "ab""#,
            r#"delimiter = "é""#,
        ] {
            let e = build_from(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.to_string().contains("must be a single character"), "{e}");
        }
        let e = build_from(r"delimiter = '\n'")
            .err()
            .expect("two characters");
        assert_eq!(
            e.hint(),
            Some(r#"write "\n" in double quotes: in single quotes the backslash stays"#)
        );
        assert!(build_from("count = -1").is_err());
        assert!(build_from("separator = \"x\"").is_err());
    }
}
