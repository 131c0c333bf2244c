//! Go time layouts, strftime formats (written and read) and IANA time zones.
//!
//! Heka's plugins write and read times in two notations, Go layouts and strftime formats:
//!
//! * [`Layout`] (in `layout`): Go's reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`),
//!   parsed and formatted with the rules of Go's `time` package (`PayloadRegexDecoder`'s
//!   `timestamp_layout`, `RstEncoder`'s `Time.String()` rendering).
//! * [`Strftime`] (in `strftime`): strftime formats as rendered by the cactus/gostrftime
//!   version Heka pins (`PayloadEncoder`'s `ts_format`).
//! * [`StrftimeGrammar`] (in `strptime`): strftime formats read back as lua_sandbox's
//!   `date_time` module read them (JsonDecoder's `timestamp_format`, json.lua's).
//! * [`Zone`] (in `zone`): UTC, fixed offsets, and IANA zones of the system's tz database
//!   (`/usr/share/zoneinfo`), which jiff reads, POSIX TZ rules included. [`Zone::local`] is
//!   the system's zone (`TZ`, else `/etc/localtime`, else UTC).
//!
//! The parsers and formatters of both notations are ours (jiff knows neither Go layouts nor
//! gostrftime's quirks); the calendar arithmetic and zone rules under them are jiff's. This
//! module holds what the notations share: month and day names, Go's named layouts,
//! [`WallClock`] and the bridges to jiff.
//!
//! Times are `i64` nanoseconds since the Unix epoch, as in Heka messages.

mod layout;
mod strftime;
mod strptime;
mod zone;

pub(crate) use layout::Layout;
pub(crate) use strftime::Strftime;
pub(crate) use strptime::StrftimeGrammar;
pub(crate) use zone::Zone;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;

const NANOS_PER_SEC: i64 = 1_000_000_000;

const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Go's named layouts (`time.ANSIC` … `time.StampNano`), which Heka tries when a timestamp
/// does not match the configured layout.
pub(crate) const NAMED_LAYOUTS: [&str; 15] = [
    "Mon Jan _2 15:04:05 2006",
    "Mon Jan _2 15:04:05 MST 2006",
    "Mon Jan 02 15:04:05 -0700 2006",
    "02 Jan 06 15:04 MST",
    "02 Jan 06 15:04 -0700",
    "Monday, 02-Jan-06 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 MST",
    "Mon, 02 Jan 2006 15:04:05 -0700",
    "2006-01-02T15:04:05Z07:00",
    "2006-01-02T15:04:05.999999999Z07:00",
    "3:04PM",
    "Jan _2 15:04:05",
    "Jan _2 15:04:05.000",
    "Jan _2 15:04:05.000000",
    "Jan _2 15:04:05.000000000",
];

/// Go's `Time.String()` layout.
pub(crate) const TIME_STRING_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

// ---------------------------------------------------------------------------------------------
// Bridges to jiff, which does the calendar arithmetic.

/// The Unix epoch as a civil date-time.
const EPOCH: DateTime = jiff::civil::datetime(1970, 1, 1, 0, 0, 0, 0);

/// The instant `unix` seconds after the epoch, clamped to jiff's range (years −9999 to 9999,
/// far beyond the `i64` nanoseconds of messages).
fn timestamp(unix: i64) -> Timestamp {
    let unix = unix.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(unix).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Seconds since the epoch of a wall clock read as UTC.
pub(crate) fn wall_seconds(dt: DateTime) -> i64 {
    dt.duration_since(EPOCH).as_secs()
}

/// The date `year-month-day` of the proleptic Gregorian calendar, if it exists.
pub(crate) fn civil_date(year: i64, month: u32, day: u32) -> Option<Date> {
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// A broken-down wall-clock time in some zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WallClock {
    /// Year (e.g. 2015).
    pub(crate) year: i64,
    /// Month, 1–12.
    pub(crate) month: u32,
    /// Day of the month, 1–31.
    pub(crate) day: u32,
    /// Hour, 0–23.
    pub(crate) hour: u32,
    /// Minute, 0–59.
    pub(crate) minute: u32,
    /// Second, 0–59.
    pub(crate) second: u32,
    /// Nanoseconds, 0–999 999 999.
    pub(crate) nanos: u32,
    /// Day of the week, Sunday = 0.
    pub(crate) weekday: u32,
    /// Day of the year, 1–366.
    pub(crate) yday: u32,
    /// Offset from UTC in seconds (east positive).
    pub(crate) offset: i32,
    /// Zone abbreviation (`UTC`, `PDT`, …).
    pub(crate) abbrev: String,
    /// Seconds since the epoch (UTC).
    pub(crate) unix: i64,
}

impl WallClock {
    /// The wall clock in `zone` at `ts_ns` nanoseconds since the epoch.
    pub(crate) fn at(ts_ns: i64, zone: &Zone) -> WallClock {
        let unix = ts_ns.div_euclid(NANOS_PER_SEC);
        let nanos = ts_ns.rem_euclid(NANOS_PER_SEC) as u32;
        let info = zone.lookup(unix);
        let t = Offset::UTC.to_datetime(timestamp(unix + i64::from(info.offset)));
        let num = |n: i8| n.unsigned_abs().into();
        WallClock {
            year: t.year().into(),
            month: num(t.month()),
            day: num(t.day()),
            hour: num(t.hour()),
            minute: num(t.minute()),
            second: num(t.second()),
            nanos,
            weekday: t.weekday().to_sunday_zero_offset().unsigned_abs().into(),
            yday: t.day_of_year().unsigned_abs().into(),
            offset: info.offset,
            abbrev: info.abbrev,
            unix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-07 18:47:00.123456789 UTC.
    pub(super) const T: i64 = 1_444_243_620_123_456_789;

    pub(super) fn fixed(name: &str, offset: i32) -> Zone {
        Zone::Fixed {
            name: name.into(),
            offset,
        }
    }

    #[test]
    fn wall_clocks_come_from_the_zone_in_effect() {
        let w = WallClock::at(T, &Zone::Utc);
        assert_eq!(
            (w.year, w.month, w.day, w.hour, w.minute, w.second, w.nanos),
            (2015, 10, 7, 18, 47, 0, 123_456_789)
        );
        assert_eq!(
            (w.weekday, w.yday, w.offset, w.abbrev.as_str()),
            (3, 280, 0, "UTC")
        );
        assert_eq!(w.unix, 1_444_243_620);
        // Before the epoch, across a year end, in a zone west of UTC.
        let w = WallClock::at(-1, &fixed("X", -3600));
        assert_eq!(
            (w.year, w.month, w.day, w.hour, w.minute, w.second, w.nanos),
            (1969, 12, 31, 22, 59, 59, 999_999_999)
        );
        assert_eq!((w.weekday, w.yday, w.unix), (3, 365, -1));
        // The extremes of the i64 nanosecond range.
        assert_eq!(WallClock::at(i64::MIN, &Zone::Utc).year, 1677);
        assert_eq!(WallClock::at(i64::MAX, &Zone::Utc).year, 2262);
        let paris = Zone::load("Europe/Paris").unwrap();
        let w = WallClock::at(T, &paris);
        assert_eq!((w.hour, w.offset, w.abbrev.as_str()), (20, 7200, "CEST"));
        assert_eq!(
            wall_seconds(jiff::civil::datetime(2015, 10, 7, 18, 47, 0, 0)),
            w.unix
        );
    }
}
