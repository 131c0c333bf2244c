//! Go time layouts, strftime formats and IANA time zones.
//!
//! Heka's plugins write times in two notations, and both are implemented here:
//!
//! * [`Layout`] (in `layout`): Go's reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`),
//!   parsed and formatted with the rules of Go's `time` package (`PayloadRegexDecoder`'s
//!   `timestamp_layout`, `RstEncoder`'s `Time.String()` rendering).
//! * [`Strftime`] (in `strftime`): strftime formats as rendered by the cactus/gostrftime
//!   version Heka pins (`PayloadEncoder`'s `ts_format`).
//! * [`Zone`] (in `zone`): UTC, fixed offsets, and IANA zones read from the system's TZif files
//!   (`/usr/share/zoneinfo`, or the directory named by `ZONEINFO`), including the POSIX TZ rule
//!   that extends a zone past its last listed transition. [`Zone::local`] follows Go's rules
//!   for `time.Local` (`TZ`, else `/etc/localtime`, else UTC).
//!
//! This module holds what they share: the civil calendar arithmetic, month and day names,
//! Go's named layouts and [`WallClock`].
//!
//! Times are `i64` nanoseconds since the Unix epoch, as in Heka messages.

mod layout;
mod strftime;
mod zone;

pub(crate) use layout::Layout;
pub(crate) use strftime::Strftime;
pub(crate) use zone::Zone;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

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
// Civil calendar arithmetic (proleptic Gregorian).

/// Days since 1970-01-01 of a date. `day` may exceed the month's length: the count goes on
/// into the following months, as Go's `time.Date` normalises it.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day counted from 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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
        let local = unix + i64::from(info.offset);
        let days = local.div_euclid(SECS_PER_DAY);
        let sod = local.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        WallClock {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
            offset: info.offset,
            abbrev: info.abbrev.to_string(),
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
    fn civil_round_trip_across_four_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // Days past the end of a month roll over, as in Go's time.Date.
        assert_eq!(days_from_civil(2015, 2, 29), days_from_civil(2015, 3, 1));
        assert_eq!(days_from_civil(2015, 12, 32), days_from_civil(2016, 1, 1));
    }
}
