//! What PayloadRegexDecoder and PayloadXmlDecoder do with the captures named `Timestamp` and
//! `Severity` before they apply their message template (Heka's
//! plugins/payload/payload_decoder_helper.go).
//!
//! - `Timestamp` is parsed with `timestamp_layout` (a Go layout, or `Epoch`, `EpochMilli`,
//!   `EpochMicro`, `EpochNano`), then with each of Go's named layouts; a time that carries no
//!   zone is read in `timestamp_location`. A value no layout fits is logged and the message
//!   keeps its timestamp (Heka stored an overflowed value).
//! - `Severity` is looked up in `severity_map`, else parsed as an integer; a value that is
//!   neither is logged and the severity left alone. The decoders drop the `Severity` capture
//!   from what their template sees, as Heka deleted it.

use std::collections::{BTreeMap, HashMap};

use heka_message::Message;
use heka_pipeline::config::ConfigError;
use heka_pipeline::registry::BuildContext;

use crate::support::gotime::{Layout, NAMED_LAYOUTS, Zone};
use crate::support::template::parse_go_int32;

/// How the `Timestamp` capture is read.
#[derive(Debug)]
enum TimestampFormat {
    /// Decimal seconds scaled by 10^digits to nanoseconds (`Epoch` = 9 … `EpochNano` = 0).
    Epoch(usize),
    /// A Go layout, tried before the named layouts.
    Layout(Box<Layout>),
}

/// The `Timestamp` and `Severity` handling of one decoder instance.
#[derive(Debug)]
pub(crate) struct CaptureHelper {
    /// The decoder instance, for log lines.
    name: String,
    timestamp: TimestampFormat,
    fallbacks: Vec<Layout>,
    location: Zone,
    severity_map: HashMap<Vec<u8>, i32>,
}

impl CaptureHelper {
    /// Builds the helper of the decoder `ctx` builds, of Heka type `type_name` (which config
    /// errors name, as Heka's did), from its `timestamp_layout`, `timestamp_location` and
    /// `severity_map` options.
    pub(crate) fn new(
        ctx: &BuildContext<'_>,
        type_name: &str,
        timestamp_layout: &str,
        timestamp_location: &str,
        severity_map: BTreeMap<String, i32>,
    ) -> Result<CaptureHelper, ConfigError> {
        let timestamp = match timestamp_layout.strip_prefix("Epoch") {
            Some(unit) => TimestampFormat::Epoch(match unit {
                "" => 9,
                "Milli" => 6,
                "Micro" => 3,
                "Nano" => 0,
                _ => {
                    return Err(ctx.error(
                        Some("timestamp_layout"),
                        format!("unrecognized `Epoch` time format: {timestamp_layout}"),
                    ));
                }
            }),
            None => TimestampFormat::Layout(Box::new(Layout::new(timestamp_layout))),
        };
        let location = Zone::load(timestamp_location).map_err(|e| {
            ctx.error(
                Some("timestamp_location"),
                format!("{type_name} unknown timestamp_location '{timestamp_location}': {e}"),
            )
        })?;
        Ok(CaptureHelper {
            name: ctx.name.to_string(),
            timestamp,
            fallbacks: NAMED_LAYOUTS.iter().map(|l| Layout::new(l)).collect(),
            location,
            severity_map: severity_map
                .into_iter()
                .map(|(k, v)| (k.into_bytes(), v))
                .collect(),
        })
    }

    /// Sets `m`'s timestamp from the `Timestamp` capture `v`, or logs that no layout fits.
    pub(crate) fn decode_timestamp(&self, m: &mut Message, v: &[u8]) {
        match self.parse_timestamp(v) {
            Some(ts) => m.timestamp = ts,
            None => tracing::error!(
                decoder = %self.name,
                "don't recognize Timestamp: '{}'",
                String::from_utf8_lossy(v)
            ),
        }
    }

    /// Sets `m`'s severity from the `Severity` capture `v`, or logs that it is no severity.
    pub(crate) fn decode_severity(&self, m: &mut Message, v: &[u8]) {
        match self.severity_map.get(v) {
            Some(s) => m.severity = Some(*s),
            None => match parse_go_int32(v) {
                Ok(s) => m.severity = Some(s),
                Err(_) => tracing::error!(
                    decoder = %self.name,
                    "don't recognize severity: '{}'",
                    String::from_utf8_lossy(v)
                ),
            },
        }
    }

    /// Nanoseconds since the epoch of a `Timestamp` capture, or `None` if no layout fits.
    fn parse_timestamp(&self, v: &[u8]) -> Option<i64> {
        let layout = match &self.timestamp {
            TimestampFormat::Epoch(digits) => return parse_epoch(v, *digits),
            TimestampFormat::Layout(l) => l,
        };
        let parsed = std::iter::once(&**layout)
            .chain(&self.fallbacks)
            .find_map(|l| l.parse(v).ok())?;
        // A time without a year (syslog) or without a date (Kitchen) is completed to the most
        // recent such time, not to this year or today as Heka did (docs/differences.md).
        parsed.to_unix_nanos_near(&self.location, heka_message::now_ns())
    }
}

/// Heka's `Epoch*` parsing: integer or decimal text scaled to nanoseconds without floats.
pub(crate) fn parse_epoch(v: &[u8], digits: usize) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if digits == 0 && s.contains('.') {
        return None;
    }
    // The fraction is cut to `digits` bytes, not characters: a cut through a multi-byte
    // character leaves a non-digit byte, which fails the check below like any other.
    let frac = &frac.as_bytes()[..frac.len().min(digits)];
    let mut text = Vec::with_capacity(int.len() + digits);
    text.extend_from_slice(int.as_bytes());
    text.extend_from_slice(frac);
    text.resize(int.len() + digits, b'0');
    // Go's ParseUint: digits only.
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&text)
        .ok()?
        .parse::<u64>()
        .ok()
        .and_then(|n| i64::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `payload_regex` fuzz target: cutting an `Epoch*` fraction to its digits
    /// went through a multi-byte character and panicked. Such a value is no timestamp.
    #[test]
    fn an_epoch_fraction_cut_inside_a_character_is_no_timestamp() {
        // A character inside the kept digits spoils them; beyond them it is ignored, as the
        // rest of a longer fraction is.
        assert_eq!(parse_epoch("1.23456\u{e9}".as_bytes(), 6), None);
        assert_eq!(parse_epoch("1.234567\u{e9}".as_bytes(), 6), Some(1_234_567));
        assert_eq!(parse_epoch(b"1.2345678", 6), Some(1_234_567));
        assert_eq!(parse_epoch("1.24\u{3}6:\u{32b}T".as_bytes(), 6), None);
    }

    #[test]
    fn epoch_units() {
        assert_eq!(
            parse_epoch(b"1414448234.638504391", 9),
            Some(1_414_448_234_638_504_391)
        );
        assert_eq!(
            parse_epoch(b"1414448234", 9),
            Some(1_414_448_234_000_000_000)
        );
        assert_eq!(
            parse_epoch(b"1414448234638504391", 0),
            Some(1_414_448_234_638_504_391)
        );
        assert_eq!(parse_epoch(b"1.5", 0), None);
        // Empty text is zero seconds (Go pads it with zeros too).
        assert_eq!(parse_epoch(b"", 9), Some(0));
        assert_eq!(parse_epoch(b"-1", 9), None);
        assert_eq!(
            parse_epoch(b"99999999999", 9),
            None,
            "beyond i64 nanoseconds"
        );
    }
}
