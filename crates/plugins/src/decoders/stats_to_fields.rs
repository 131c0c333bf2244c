//! StatsToFieldsDecoder: turns Graphite plaintext lines in the payload into numeric fields.
//!
//! ```toml
//! [graphite_in]
//! type = "StatsToFieldsDecoder"
//! ```
//!
//! No options. The payload holds lines `<name> <value> <unix seconds>` (as StatAccumInput and
//! carbon emit them); leading and trailing newlines are ignored. For each line the message gets a
//! double field `<name>` = value, and at the end an integer field `timestamp`: the first
//! non-zero timestamp of the payload. Fields already on the message are kept.
//!
//! Every line whose timestamp differs from that one also goes into an extra message, one per
//! distinct timestamp in order of appearance: a copy of the message's headers with an empty
//! payload, an integer field `timestamp` first, then those lines' double fields. As in Heka,
//! such lines stay on the main message too.
//!
//! A line must have exactly three whitespace-separated parts (else `malformed statmetric line:
//! '<line>'`), the timestamp must be an unsigned 32-bit integer (Go syntax: `0x` hex and
//! leading-`0` octal accepted; else `invalid timestamp: '<line>'`) and the value a number
//! (else `invalid value: '<line>'`). One bad line fails the whole payload.
//!
//! Differences from Heka:
//! - A failed decode leaves the message unchanged; Heka had already added the fields of the
//!   lines before the bad one.
//! - Extra messages get UUIDs of their own; Heka copied the original's, so several messages
//!   shared one UUID.

use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};

use crate::support::gonum::{go_fields, parse_go_float, parse_go_uint32};

/// One parsed line.
struct Stat {
    name: Bytes,
    value: f64,
    timestamp: u32,
}

/// Parses Graphite lines into fields.
#[derive(Debug, Default)]
struct StatsToFieldsDecoder;

fn parse_line(line: &Bytes) -> Result<Stat, CodecError> {
    let text = || String::from_utf8_lossy(line);
    let parts: Vec<Bytes> = go_fields(line)
        .into_iter()
        .map(|p| line.slice_ref(p))
        .collect();
    let [name, value, timestamp]: [Bytes; 3] = parts.try_into().map_err(|_| {
        // Heka compat: plugins/statsd/stats_to_fields_decoder.go's error texts.
        CodecError::new(format!("malformed statmetric line: '{}'", text()))
    })?;
    let timestamp = parse_go_uint32(&timestamp)
        .map_err(|_| CodecError::new(format!("invalid timestamp: '{}'", text())))?;
    let value = parse_go_float(&value, false)
        .map_err(|_| CodecError::new(format!("invalid value: '{}'", text())))?;
    Ok(Stat {
        name,
        value,
        timestamp,
    })
}

impl Decoder for StatsToFieldsDecoder {
    fn decode(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        let payload = pack.message().payload.clone().unwrap_or_default();
        let start = payload.iter().position(|&c| c != b'\n').unwrap_or(0);
        let end = payload
            .iter()
            .rposition(|&c| c != b'\n')
            .map_or(start, |e| e + 1);
        let body = payload.slice(start..end);
        let stats = body
            .split(|&c| c == b'\n')
            .map(|l| parse_line(&body.slice_ref(l)))
            .collect::<Result<Vec<_>, _>>()?;

        // Heka compat: the message's timestamp is the first non-zero one; a line with another
        // (zero included, once one is set) also goes into the extra message of its timestamp.
        let mut timestamp = 0;
        let mut extras: Vec<(u32, Message)> = Vec::new();
        let msg = pack.message_mut();
        for s in &stats {
            if s.timestamp != timestamp {
                if timestamp == 0 {
                    timestamp = s.timestamp;
                } else {
                    let i = match extras.iter().position(|(t, _)| *t == s.timestamp) {
                        Some(i) => i,
                        None => {
                            let mut m = Message {
                                uuid: Message::new_now().uuid,
                                fields: Vec::new(),
                                payload: Some(Bytes::new()),
                                ..msg.clone()
                            };
                            m.add_field(Field::new_integer("timestamp", i64::from(s.timestamp)));
                            extras.push((s.timestamp, m));
                            extras.len() - 1
                        }
                    };
                    extras[i]
                        .1
                        .add_field(Field::new_double(s.name.clone(), s.value));
                }
            }
            msg.add_field(Field::new_double(s.name.clone(), s.value));
        }
        msg.add_field(Field::new_integer("timestamp", i64::from(timestamp)));
        extra.extend(extras.into_iter().map(|(_, m)| Pack::new(m)));
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    // No options of its own; Heka accepted and ignored any.
    ctx.ignore_options();
    Ok(Box::new(StatsToFieldsDecoder))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "StatsToFieldsDecoder",
    summary: "Turns Graphite plaintext lines in the payload into numeric fields.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    fn pack(payload: &str) -> Pack {
        let mut m = Message::new_now();
        m.set_payload(payload.to_string());
        m.set_type("stats");
        m.set_hostname("h1");
        m.add_field(Field::new_string("origin", "x"));
        Pack::new(m)
    }

    fn decode(payload: &str) -> (Result<Decoded, CodecError>, Message, Vec<Message>) {
        let mut d =
            crate::support::testing::build(SPEC.build, "d", "StatsToFieldsDecoder", "").unwrap();
        let mut p = pack(payload);
        let mut extra = Vec::new();
        let r = d.decode(&mut p, &mut extra);
        let extra = extra.into_iter().map(Pack::into_message).collect();
        (r, p.into_message(), extra)
    }

    fn double(m: &Message, name: &str) -> Option<f64> {
        match m.field_value(name.as_bytes()) {
            Some(Some(FieldValue::Double(v))) => Some(v),
            _ => None,
        }
    }

    fn integer(m: &Message, name: &str) -> Option<i64> {
        match m.field_value(name.as_bytes()) {
            Some(Some(FieldValue::Integer(v))) => Some(v),
            _ => None,
        }
    }

    fn names(m: &Message) -> Vec<String> {
        m.fields
            .iter()
            .map(|f| String::from_utf8_lossy(&f.name).into_owned())
            .collect()
    }

    #[test]
    fn converts_stats_to_fields() {
        // Heka's stats_to_fields_decoder_test.go case.
        let (r, m, extra) = decode(
            "stat.one 1 1380047333\nstat.two 2 1380047333\nstat.three 3 1380047333\n\
             stat.four 4 1380047333\nstat.five 5 1380047333",
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert!(extra.is_empty());
        for (i, name) in ["one", "two", "three", "four", "five"].iter().enumerate() {
            assert_eq!(double(&m, &format!("stat.{name}")), Some(i as f64 + 1.0));
        }
        assert_eq!(integer(&m, "timestamp"), Some(1_380_047_333));
        assert_eq!(
            names(&m),
            [
                "origin",
                "stat.one",
                "stat.two",
                "stat.three",
                "stat.four",
                "stat.five",
                "timestamp"
            ]
        );
        assert!(
            m.payload_bytes().starts_with(b"stat.one 1 "),
            "the payload stays"
        );
    }

    #[test]
    fn other_timestamps_make_extra_messages() {
        // Heka's multiple-timestamps case.
        let (r, m, extra) = decode(
            "\n\nstat.one 1 1380047333\nstat.two 2 1380047333\nstat.three 3 1380047331\n\
             stat.four 4 1380047333\nstat.five 5 1380047332\nstat.six 6.5e-1 1380047331\n",
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(integer(&m, "timestamp"), Some(1_380_047_333));
        // Heka compat: the other-timestamp stats are on the main message too.
        assert_eq!(m.fields.len(), 1 + 6 + 1);
        assert_eq!(extra.len(), 2);
        assert_eq!(
            names(&extra[0]),
            ["timestamp", "stat.three", "stat.six"],
            "timestamp first, then the stats"
        );
        assert_eq!(integer(&extra[0], "timestamp"), Some(1_380_047_331));
        assert_eq!(double(&extra[0], "stat.six"), Some(0.65));
        assert_eq!(names(&extra[1]), ["timestamp", "stat.five"]);
        assert_eq!(integer(&extra[1], "timestamp"), Some(1_380_047_332));
        for e in &extra {
            assert_eq!(e.type_bytes(), b"stats");
            assert_eq!(e.hostname_bytes(), b"h1");
            assert_eq!(e.timestamp, m.timestamp);
            assert_eq!(e.payload, Some(Bytes::new()));
            assert_ne!(e.uuid, m.uuid, "extras get their own UUID");
        }
    }

    #[test]
    fn the_first_non_zero_timestamp_wins() {
        let (_, m, extra) = decode("a 1 0\nb 2 0x10\nc 3 010\nd 4 0\n");
        assert_eq!(integer(&m, "timestamp"), Some(16));
        // `c` (octal 010 = 8) and `d` (0, once 16 is set) get extras; `a` does not.
        assert_eq!(extra.len(), 2);
        assert_eq!(integer(&extra[0], "timestamp"), Some(8));
        assert_eq!(integer(&extra[1], "timestamp"), Some(0));
        assert_eq!(names(&extra[1]), ["timestamp", "d"]);
    }

    #[test]
    fn bad_lines_fail_the_whole_payload() {
        let cases = [
            // Heka's vectors.
            (
                "stat.one 1 1380047333\nstat.two 2 1380047333\nstat.three 3 1380047333c\n\
                 stat.four 4 1380047333\nstat.five 5 1380047332",
                "invalid timestamp: 'stat.three 3 1380047333c'",
            ),
            (
                "stat.one 1 1380047333\nstat.two 2 1380047333\nstat.three 3 1380047333\n\
                 stat.four 4d 1380047333\nstat.five 5 1380047332",
                "invalid value: 'stat.four 4d 1380047333'",
            ),
            ("a 1 2\n\nb 1 2", "malformed statmetric line: ''"),
            ("", "malformed statmetric line: ''"),
            ("a 1 2 3", "malformed statmetric line: 'a 1 2 3'"),
            ("a 1 4294967296", "invalid timestamp: 'a 1 4294967296'"),
            ("a 1 -1", "invalid timestamp: 'a 1 -1'"),
            ("a 1 +1", "invalid timestamp: 'a 1 +1'"),
            ("a 1 09", "invalid timestamp: 'a 1 09'"),
            ("a 1e999 1", "invalid value: 'a 1e999 1'"),
        ];
        for (payload, err) in cases {
            let (r, m, extra) = decode(payload);
            assert_eq!(r, Err(CodecError::new(err)), "{payload:?}");
            assert_eq!(m.fields.len(), 1, "unchanged: {payload:?}");
            assert!(extra.is_empty());
        }
    }

    #[test]
    fn numbers_in_go_syntax() {
        let (r, m, _) = decode("a\t-Inf 4294967295\r\nb NaN 4294967295\nc 1_0 1");
        assert_eq!(r, Err(CodecError::new("invalid value: 'c 1_0 1'")));
        assert_eq!(m.fields.len(), 1);
        let (r, m, _) = decode("a\t-Inf 4294967295\r\nb  +.5   4294967295\u{a0}");
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(double(&m, "a"), Some(f64::NEG_INFINITY));
        assert_eq!(double(&m, "b"), Some(0.5));
        assert_eq!(integer(&m, "timestamp"), Some(4_294_967_295));
        assert_eq!(parse_go_uint32(b"0").ok(), Some(0));
        assert_eq!(parse_go_uint32(b"0x").ok(), None);
        assert_eq!(parse_go_uint32(b"0xfF").ok(), Some(255));
    }
}
