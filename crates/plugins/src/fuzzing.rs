//! Entry points for the fuzz targets in `fuzz/`, which build outside this crate.
//!
//! The plugins themselves are reached through [`crate::builtin`]; only the Go time code
//! (`support::gotime`), which is private to this crate, needs a door. This module is not part
//! of the crate's API: it exists for fuzzing and may change at any time.

use crate::support::gotime::{Layout, NAMED_LAYOUTS, Strftime, Zone};

/// Go's named layouts (`time.ANSIC` … `time.StampNano`), which PayloadRegexDecoder tries after
/// its configured layout.
pub const GO_NAMED_LAYOUTS: &[&str] = &NAMED_LAYOUTS;

/// A time zone for parsing and formatting.
#[derive(Debug, Clone)]
pub struct TimeZone(Zone);

impl TimeZone {
    /// A zone as `timestamp_location` names it (`UTC`, `Local` or an IANA name read from the
    /// system's zoneinfo); `None` when it can't be loaded.
    pub fn load(name: &str) -> Option<TimeZone> {
        Zone::load(name).ok().map(TimeZone)
    }

    /// A fixed offset of `offset` seconds east of UTC, called `name`.
    pub fn fixed(name: &str, offset: i32) -> TimeZone {
        TimeZone(Zone::Fixed {
            name: name.to_string(),
            offset,
        })
    }
}

/// Parses `value` with the Go layout `layout` (Go's `time.ParseInLocation`), placing a time
/// that carries no zone in `location`: nanoseconds since the epoch, `Ok(None)` when outside
/// the `i64` range, or the parse error's text.
pub fn parse_go_time(
    layout: &str,
    value: &[u8],
    location: &TimeZone,
) -> Result<Option<i64>, String> {
    Layout::new(layout)
        .parse(value)
        .map(|t| t.to_unix_nanos(&location.0))
        .map_err(|e| e.to_string())
}

/// `ts_ns` rendered with the Go layout `layout` in `zone` (Go's `Time.Format`).
pub fn format_go_time(layout: &str, ts_ns: i64, zone: &TimeZone) -> String {
    let mut out = String::new();
    Layout::new(layout).format(ts_ns, &zone.0, &mut out);
    out
}

/// `ts_ns` rendered with the strftime format `format` in `zone` (PayloadEncoder's
/// `ts_format`, FileOutput's rotated `path`).
pub fn format_strftime(format: &str, ts_ns: i64, zone: &TimeZone) -> String {
    let mut out = String::new();
    Strftime::new(format).format(ts_ns, &zone.0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_through_the_fuzzing_door() {
        let utc = TimeZone::load("UTC").unwrap();
        let rfc3339_nano = "2006-01-02T15:04:05.999999999Z07:00";
        let t = 1_444_243_620_123_456_789;
        assert_eq!(
            format_go_time(rfc3339_nano, t, &utc),
            "2015-10-07T18:47:00.123456789Z"
        );
        let plus2 = TimeZone::fixed("CEST", 7200);
        let text = format_go_time(rfc3339_nano, t, &plus2);
        assert_eq!(text, "2015-10-07T20:47:00.123456789+02:00");
        assert_eq!(
            parse_go_time(rfc3339_nano, text.as_bytes(), &utc),
            Ok(Some(t))
        );
        assert!(parse_go_time(rfc3339_nano, b"yesterday", &utc).is_err());
        assert_eq!(format_strftime("%Y%m%d-%H", t, &plus2), "20151007-20");
        assert!(GO_NAMED_LAYOUTS.contains(&rfc3339_nano));
    }
}
