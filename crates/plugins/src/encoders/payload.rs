//! PayloadEncoder: the message's payload, optionally with a timestamp prefix and a newline.
//!
//! ```toml
//! [PayloadEncoder]
//! append_newlines = true                 # default true
//! prefix_ts = true                       # default false
//! ts_from_message = true                 # default true: the message's Timestamp, else now
//! ts_format = "[%Y/%b/%d:%H:%M:%S %z]"   # strftime; the default
//! ```
//!
//! Output: `[formatted timestamp + " "]` (only with `prefix_ts`) + payload + `["\n"]`. The
//! payload is written verbatim; a missing payload is empty. A space is appended to `ts_format`
//! unless it already ends with one. The timestamp is rendered in hekad's local time zone
//! (`TZ`, else `/etc/localtime`).
//!
//! `ts_format` is a strftime format as Heka 0.10 renders it (cactus/gostrftime): `%Y %m %d %H
//! %M %S %b %B %a %A %e %j %k %l %I %p %P %y %C %D %F %T %R %r %v %s %f %w %z %Z %n %t %%`;
//! other conversions (including `%L`/`%N`) are written as they are, and `%C` is the full year.
//!
//! Differences from Heka: none. (Heka's older documentation described `ts_format` as a Go
//! layout; Heka 0.10 and later use strftime, as here.)

use heka_message::MessageView;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Encoder};
use heka_pipeline::registry::{BuildContext, EncoderSpec};
use serde::Deserialize;

use crate::support::gotime::{Strftime, Zone};

/// PayloadEncoder options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PayloadEncoderConfig {
    /// Append `\n` after the payload.
    append_newlines: bool,
    /// Prepend a formatted timestamp.
    prefix_ts: bool,
    /// Take the timestamp from the message (true) or the clock (false).
    ts_from_message: bool,
    /// strftime format of the prefix.
    ts_format: String,
}

impl Default for PayloadEncoderConfig {
    fn default() -> Self {
        PayloadEncoderConfig {
            append_newlines: true,
            prefix_ts: false,
            ts_from_message: true,
            ts_format: "[%Y/%b/%d:%H:%M:%S %z]".into(),
        }
    }
}

/// Writes payloads.
#[derive(Debug)]
struct PayloadEncoder {
    append_newlines: bool,
    /// The timestamp format (with its trailing space) when `prefix_ts` is on.
    prefix: Option<Strftime>,
    ts_from_message: bool,
    zone: Zone,
    scratch: String,
}

impl PayloadEncoder {
    fn new(c: PayloadEncoderConfig, zone: Zone) -> PayloadEncoder {
        let mut format = c.ts_format;
        if !format.ends_with(' ') {
            format.push(' ');
        }
        PayloadEncoder {
            append_newlines: c.append_newlines,
            prefix: c.prefix_ts.then(|| Strftime::new(&format)),
            ts_from_message: c.ts_from_message,
            zone,
            scratch: String::new(),
        }
    }
}

impl Encoder for PayloadEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        if let Some(format) = &self.prefix {
            let ts = if self.ts_from_message {
                pack.view().timestamp()
            } else {
                heka_message::now_ns()
            };
            self.scratch.clear();
            format.format(ts, &self.zone, &mut self.scratch);
            out.extend_from_slice(self.scratch.as_bytes());
        }
        out.extend_from_slice(pack.view().payload_bytes());
        if self.append_newlines {
            out.push(b'\n');
        }
        Ok(())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Encoder>, ConfigError> {
    let c: PayloadEncoderConfig = ctx.options.parse()?;
    Ok(Box::new(PayloadEncoder::new(c, Zone::local())))
}

pub(super) const SPEC: EncoderSpec = EncoderSpec {
    type_name: "PayloadEncoder",
    summary: "Writes the payload, optionally with a timestamp prefix and a newline.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Message;

    /// 2015-10-07 18:47:00 UTC.
    const TS: i64 = 1_444_243_620_000_000_000;

    fn config(options: &str) -> Result<PayloadEncoderConfig, ConfigError> {
        // The registered build function accepts it too.
        crate::support::testing::build(SPEC.build, "e", "PayloadEncoder", options)?;
        crate::support::testing::options("e", "PayloadEncoder", options)
    }

    /// Encodes a message with `payload` and timestamp [`TS`] with an encoder built from
    /// `options`, rendering times in `zone`.
    fn check(options: &str, zone: Zone, payload: Option<&str>, want: &str) {
        let mut e = PayloadEncoder::new(config(options).unwrap(), zone);
        let mut m = Message {
            timestamp: TS,
            ..Message::default()
        };
        if let Some(p) = payload {
            m.set_payload(p.to_string());
        }
        let mut out = Vec::new();
        e.encode(&Pack::new(m), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want, "{options:?}");
    }

    #[test]
    fn encodes_payloads() {
        let p = Some("This is the payload!");
        check("", Zone::Utc, p, "This is the payload!\n");
        check(
            "append_newlines = false",
            Zone::Utc,
            p,
            "This is the payload!",
        );
        check("", Zone::Utc, None, "\n");
        check(
            "prefix_ts = true",
            Zone::Utc,
            p,
            "[2015/Oct/07:18:47:00 +0000] This is the payload!\n",
        );
        let chicago = Zone::load("America/Chicago").unwrap();
        check(
            "prefix_ts = true\nappend_newlines = false",
            chicago.clone(),
            p,
            "[2015/Oct/07:13:47:00 -0500] This is the payload!",
        );
        // Heka's RFC1123-style alternate format; a trailing space is not doubled.
        check(
            "prefix_ts = true\nts_format = \"%a, %d %b %Y %H:%M:%S %Z \"",
            chicago,
            p,
            "Wed, 07 Oct 2015 13:47:00 CDT This is the payload!\n",
        );
        check(
            "prefix_ts = true\nts_format = \"%L|\"",
            Zone::Utc,
            Some("x"),
            "%L| x\n",
        );
    }

    #[test]
    fn can_stamp_the_current_time() {
        let mut e = PayloadEncoder::new(
            config("prefix_ts = true\nts_from_message = false\nts_format = \"%s\"").unwrap(),
            Zone::Utc,
        );
        let mut m = Message {
            timestamp: TS,
            ..Message::default()
        };
        m.set_payload("p");
        let before = heka_message::now_ns() / 1_000_000_000;
        let mut out = Vec::new();
        e.encode(&Pack::new(m), &mut out).unwrap();
        let after = heka_message::now_ns() / 1_000_000_000;
        let text = String::from_utf8(out).unwrap();
        let (secs, rest) = text.split_once(' ').unwrap();
        let secs: i64 = secs.parse().unwrap();
        assert!((before..=after).contains(&secs), "{text}");
        assert_eq!(rest, "p\n");
    }

    #[test]
    fn rejects_unknown_options() {
        assert!(config("prefix = true").is_err());
        assert!(config("prefix_ts = \"yes\"").is_err());
    }
}
