//! LogOutput: writes each encoded message to stdout as a log line.
//!
//! ```toml
//! [LogOutput]
//! message_matcher = "TRUE"
//! encoder = "PayloadEncoder"
//! ```
//!
//! No options of its own: as in Heka, any option is accepted and ignored (with a warning), 0.8's
//! `payload_only` among them. An encoder is required since Heka 0.10; a config written for Heka
//! 0.8/0.9 that names none gets PayloadEncoder (what those versions wrote) with a warning
//! (Heka 0.10 loaded it and then stopped the output with "Encoder required."). Each message is written as Go's `log`
//! package would: a prefix chosen by `[hekad] log_flags` (default 3: `2006/01/02 15:04:05 `
//! in the local zone; 0: none), the encoded bytes, and a newline unless the bytes already end
//! with one. A multi-line message gets the prefix once.
//!
//! Differences from Heka:
//! - Lines are collected per batch and written to stdout with one write after the batch.
//! - The `log_flags` bits for file names (8, 16) are ignored: Heka printed its own Go source
//!   position there, which means nothing for this implementation. Bit 64 (Go's `Lmsgprefix`)
//!   has no effect either, as the prefix is empty.

use std::io::Write;

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};

use crate::support::gotime::{WallClock, Zone};

/// Go's `log.Ldate`.
const LDATE: u32 = 1;
/// Go's `log.Ltime`.
const LTIME: u32 = 2;
/// Go's `log.Lmicroseconds`.
const LMICROSECONDS: u32 = 4;
/// Go's `log.LUTC`.
const LUTC: u32 = 32;

/// Writes Go `log`-style line prefixes.
#[derive(Debug, Clone)]
struct Prefixer {
    flags: u32,
    zone: Zone,
    /// The last rendered prefix and the second (or microsecond) it is for.
    cache: Option<(i64, String)>,
}

impl Prefixer {
    fn new(flags: u32) -> Prefixer {
        Prefixer {
            flags,
            zone: if flags & LUTC != 0 {
                Zone::Utc
            } else {
                Zone::local()
            },
            cache: None,
        }
    }

    /// Appends the prefix for `ts_ns` to `out`.
    fn write(&mut self, ts_ns: i64, out: &mut Vec<u8>) {
        if self.flags & (LDATE | LTIME | LMICROSECONDS) == 0 {
            return;
        }
        let key = if self.flags & LMICROSECONDS != 0 {
            ts_ns.div_euclid(1000)
        } else {
            ts_ns.div_euclid(1_000_000_000)
        };
        if let Some((k, s)) = &self.cache
            && *k == key
        {
            out.extend_from_slice(s.as_bytes());
            return;
        }
        use std::fmt::Write as _;
        let t = WallClock::at(ts_ns, &self.zone);
        let mut s = String::with_capacity(28);
        if self.flags & LDATE != 0 {
            let _ = write!(s, "{:04}/{:02}/{:02} ", t.year, t.month, t.day);
        }
        if self.flags & (LTIME | LMICROSECONDS) != 0 {
            let _ = write!(s, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
            if self.flags & LMICROSECONDS != 0 {
                let _ = write!(s, ".{:06}", t.nanos / 1000);
            }
            s.push(' ');
        }
        out.extend_from_slice(s.as_bytes());
        self.cache = Some((key, s));
    }
}

/// Appends one log line: prefix, `body`, and a newline unless `body` ends with one.
fn write_line(prefix: &mut Prefixer, ts_ns: i64, body: &[u8], out: &mut Vec<u8>) {
    prefix.write(ts_ns, out);
    out.extend_from_slice(body);
    if body.last() != Some(&b'\n') {
        out.push(b'\n');
    }
}

/// A LogOutput instance.
struct LogOutput {
    prefix: Prefixer,
    encoded: Vec<u8>,
    lines: Vec<u8>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    // No options of its own; Heka accepted and ignored any (0.8's `payload_only` among them).
    ctx.ignore_options();
    Ok(Box::new(LogOutput {
        prefix: Prefixer::new(ctx.globals.log_flags),
        encoded: Vec::new(),
        lines: Vec::new(),
    }))
}

impl LogOutput {
    fn write_out(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        // Heka compat: plugins/log_output.go writes through Go's log package, which ignores
        // write errors.
        let _ = stdout.write_all(&self.lines).and_then(|()| stdout.flush());
        self.lines.clear();
    }
}

impl Output for LogOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        self.encoded.clear();
        match ctx.encode(pack, &mut self.encoded) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(ProcessError::Drop(format!("error encoding message: {e}"))),
        }
        write_line(
            &mut self.prefix,
            heka_message::now_ns(),
            &self.encoded,
            &mut self.lines,
        );
        Ok(())
    }

    fn flush(&mut self, _ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        self.write_out();
        Ok(true)
    }

    fn shutdown(&mut self, _ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        self.write_out();
        Ok(())
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "LogOutput",
    summary: "Writes encoded messages to stdout as log lines.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: true,
    legacy_encoder: Some("PayloadEncoder"),
    framing: FramingDefault::Never,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: None,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-07 18:47:00.123456789 UTC.
    const T: i64 = 1_444_243_620_123_456_789;

    fn line(flags: u32, body: &[u8]) -> String {
        let mut p = Prefixer::new(flags);
        p.zone = Zone::Fixed {
            name: "X".into(),
            offset: 3600,
        };
        let mut out = Vec::new();
        write_line(&mut p, T, body, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn prefixes_follow_go_log_flags() {
        assert_eq!(line(3, b"hello"), "2015/10/07 19:47:00 hello\n");
        assert_eq!(line(0, b"hello"), "hello\n");
        assert_eq!(line(1, b"x"), "2015/10/07 x\n");
        assert_eq!(line(2, b"x"), "19:47:00 x\n");
        assert_eq!(line(7, b"x"), "2015/10/07 19:47:00.123456 x\n");
        assert_eq!(line(4, b"x"), "19:47:00.123456 x\n");
        assert_eq!(line(16, b"x"), "x\n");
        assert_eq!(Prefixer::new(32 | 3).zone, Zone::Utc);
    }

    #[test]
    fn newline_is_added_only_when_missing_and_prefix_is_cached() {
        assert_eq!(line(0, b"done\n"), "done\n");
        assert_eq!(line(2, b"a\nb"), "19:47:00 a\nb\n");
        let mut p = Prefixer::new(2);
        p.zone = Zone::Utc;
        let mut out = Vec::new();
        write_line(&mut p, T, b"1", &mut out);
        write_line(&mut p, T + 1000, b"2", &mut out);
        write_line(&mut p, T + 1_000_000_000, b"3", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "18:47:00 1\n18:47:00 2\n18:47:01 3\n"
        );
    }
}
