//! FilePollingInput: reads a whole file every `ticker_interval` seconds.
//!
//! ```toml
//! [loadavg]
//! type = "FilePollingInput"
//! file_path = "/proc/loadavg"
//! ticker_interval = 5        # seconds (the default); the first read is one interval after start
//! # splitter = "NullSplitter"
//! ```
//!
//! Options: `file_path` (required). On each tick the file is opened and read to its end through
//! the input's one stream (splitter and decoder instances kept for the input's life), then
//! closed. With the NullSplitter each read (64 KiB at most) is one message, so a small file is
//! one message per tick. Messages get Type `heka.file.polling`, Hostname = hekad's, Logger = the
//! input's name, Payload = the record, and the fields `TickerInterval` (integer, seconds) and
//! `FilePath`. A file that cannot be opened is logged (`Error opening file: …`) and tried again
//! at the next tick; a read error is logged (`Error reading file: …`) and ends that poll.
//!
//! Differences from Heka:
//! - The file is closed after each poll; Heka never closed it and leaked a descriptor per tick.
//! - Each poll is a source of its own: an incomplete final record (a last line without its
//!   newline) is dropped at the end of the poll, or delivered with `deliver_incomplete_final`.
//!   Heka kept it in the splitter's buffer and joined it to the start of the file at the next
//!   poll, making a record of the file's end and its beginning.
//! - An empty or missing `file_path` is a config error (Heka logged an open error every tick),
//!   and `ticker_interval = 0` means the default, 5 s (Heka never read the file).

use std::time::Duration;

use bytes::Bytes;
use heka_message::Field;
use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;

use crate::support::ticker::Ticker;

/// Default `ticker_interval` in seconds.
const DEFAULT_TICKER: u64 = 5;

/// FilePollingInput options (`ticker_interval` is a common option).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FilePollingInputConfig {
    file_path: String,
}

/// A FilePollingInput instance.
struct FilePollingInput {
    file_path: String,
    hostname: Bytes,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: FilePollingInputConfig = ctx.options.parse()?;
    if c.file_path.is_empty() {
        return Err(ctx.error(Some("file_path"), "file_path is required"));
    }
    Ok(Box::new(FilePollingInput {
        file_path: c.file_path,
        hostname: Bytes::from(ctx.globals.hostname.clone()),
    }))
}

impl Input for FilePollingInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let interval = ctx
            .ticker_interval()
            .unwrap_or(Duration::from_secs(DEFAULT_TICKER));
        let mut stream = ctx.stream()?;
        stream.set_decoration(
            Some(Bytes::from_static(b"heka.file.polling")),
            Some(self.hostname.clone()),
        );
        stream.set_fields(vec![
            Field::new_integer(
                "TickerInterval",
                i64::try_from(interval.as_secs()).unwrap_or(i64::MAX),
            ),
            Field::new_string("FilePath", self.file_path.clone()),
        ]);
        let mut ticker = Ticker::new(interval);
        while ticker.wait(|d| ctx.sleep(d)) {
            let mut file = match std::fs::File::open(&self.file_path) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(input = %ctx.name(), "Error opening file: {e}");
                    continue;
                }
            };
            while !ctx.stopping() {
                match stream.read_from(&mut file) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::error!(input = %ctx.name(), "Error reading file: {e}");
                        break;
                    }
                }
            }
            stream.finish();
        }
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "FilePollingInput",
    summary: "Reads a whole file every ticker_interval seconds.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use heka_message::FieldValue;

    use crate::support::net::testing::{
        build_error, file_output, start, stop_within, unframe_all, wait_for,
    };

    #[test]
    fn reads_the_file_again_at_each_tick() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let polled = dir.path().join("polled.txt");
        std::fs::write(&polled, "first\n").unwrap();
        let running = start(&format!(
            "[hekad]\nhostname = 'box'\n[poll]\ntype = 'FilePollingInput'\nfile_path = '{}'\nticker_interval = 1\n{}",
            polled.display(),
            file_output(&out)
        ));
        let first = wait_for("the first poll", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (!m.is_empty()).then_some(m)
        });
        std::fs::write(&polled, "second\n").unwrap();
        let msgs = wait_for("a poll of the changed file", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            m.iter()
                .any(|(_, m)| m.payload_bytes() == b"second\n")
                .then_some(m)
        });
        stop_within(running, 10);
        let m = &first[0].1;
        assert_eq!(m.payload_bytes(), b"first\n");
        assert_eq!(m.type_bytes(), b"heka.file.polling");
        assert_eq!(m.logger_bytes(), b"poll");
        assert_eq!(m.hostname_bytes(), b"box");
        assert_eq!(
            m.field_value(b"TickerInterval"),
            Some(Some(FieldValue::Integer(1)))
        );
        let path = polled.display().to_string();
        assert_eq!(
            m.field_value(b"FilePath"),
            Some(Some(FieldValue::String(path.as_bytes())))
        );
        // Every poll is the whole file, never a part of it joined to another.
        for (_, m) in &msgs {
            assert!(
                [&b"first\n"[..], b"second\n"].contains(&m.payload_bytes()),
                "{:?}",
                m.payload_bytes()
            );
        }
    }

    #[test]
    fn an_unterminated_last_line_is_not_joined_to_the_next_poll() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let polled = dir.path().join("polled.txt");
        std::fs::write(&polled, "a\nb").unwrap();
        let running = start(&format!(
            "[poll]\ntype = 'FilePollingInput'\nfile_path = '{}'\nticker_interval = 1\nsplitter = 'TokenSplitter'\n{}",
            polled.display(),
            file_output(&out)
        ));
        let msgs = wait_for("two polls", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (m.len() >= 2).then_some(m)
        });
        stop_within(running, 10);
        assert!(msgs.iter().all(|(_, m)| m.payload_bytes() == b"a\n"));
    }

    #[test]
    fn a_missing_file_is_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let polled = dir.path().join("later.txt");
        let running = start(&format!(
            "[poll]\ntype = 'FilePollingInput'\nfile_path = '{}'\nticker_interval = 1\n{}",
            polled.display(),
            file_output(&out)
        ));
        std::thread::sleep(std::time::Duration::from_millis(1200));
        std::fs::write(&polled, "now\n").unwrap();
        let msgs = wait_for("the file once it exists", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (!m.is_empty()).then_some(m)
        });
        stop_within(running, 10);
        assert_eq!(msgs[0].1.payload_bytes(), b"now\n");
    }

    #[test]
    fn config_errors() {
        let e = build_error("[FilePollingInput]\n");
        assert!(e.contains("file_path is required"), "{e}");
        let e = build_error("[FilePollingInput]\nfile_path = '/x'\ncolour = 1\n");
        assert!(e.contains("colour"), "{e}");
    }
}
