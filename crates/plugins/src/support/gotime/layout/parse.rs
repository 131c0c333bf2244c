//! Parsing text with a Go layout (Go's `time.Parse` rules).

use super::{Chunk, Layout, Std};
use crate::support::gotime::zone::Zone;
use jiff::civil::Date;
use jiff::tz::Offset;

use crate::support::gotime::{
    LONG_DAYS, LONG_MONTHS, NANOS_PER_SEC, civil_date, timestamp, wall_seconds,
};

/// Why a time did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TimeParseError {
    /// The text does not have the layout's shape.
    #[error("cannot parse {value:?} as {layout:?}")]
    Mismatch {
        /// The text.
        value: String,
        /// The layout.
        layout: String,
    },
    /// A number is out of range.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// Text left after the layout.
    #[error("extra text: {0:?}")]
    ExtraText(String),
}

/// The zone information a parsed time carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParsedZone {
    /// None: the default location applies.
    Location,
    /// `Z` or `UTC`.
    Utc,
    /// A numeric offset in seconds east.
    Offset(i32),
    /// A zone abbreviation without an offset.
    Abbrev(String),
}

/// A parsed wall-clock time, not yet placed in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    /// Year; 0 when the layout has none.
    pub(crate) year: i64,
    /// Month, 1–12 (1 when the layout has none).
    pub(crate) month: u32,
    /// Day, 1–31 (1 when the layout has none).
    pub(crate) day: u32,
    /// Hour, 0–23.
    pub(crate) hour: u32,
    /// Minute.
    pub(crate) minute: u32,
    /// Second.
    pub(crate) second: u32,
    /// Nanoseconds.
    pub(crate) nanos: u32,
    /// Zone from the text.
    pub(crate) zone: ParsedZone,
    /// Whether the layout has a year (`2006`, `06`).
    pub(crate) has_year: bool,
    /// Whether the layout has a month or a day of the month.
    pub(crate) has_date: bool,
}

impl ParsedTime {
    /// Nanoseconds since the epoch, with `location` applying when the text carried no zone
    /// (Go's `ParseInLocation`). `None` when out of the `i64` nanosecond range.
    pub(crate) fn to_unix_nanos(&self, location: &Zone) -> Option<i64> {
        let date = civil_date(self.year, self.month, self.day)?;
        let time = jiff::civil::Time::new(
            i8::try_from(self.hour).ok()?,
            i8::try_from(self.minute).ok()?,
            i8::try_from(self.second).ok()?,
            0,
        )
        .ok()?;
        let wall = wall_seconds(date.to_datetime(time));
        let secs = match &self.zone {
            ParsedZone::Location => location.local_to_utc(wall),
            ParsedZone::Utc => wall,
            ParsedZone::Offset(o) => wall - i64::from(*o),
            ParsedZone::Abbrev(name) => match location.lookup_name(name, wall) {
                Some(o) => wall - i64::from(o),
                None => wall - i64::from(gmt_offset(name).unwrap_or(0)),
            },
        };
        // In i128: the first second of the range starts before i64::MIN nanoseconds, yet its
        // later nanoseconds are inside it.
        let nanos = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(self.nanos);
        i64::try_from(nanos).ok()
    }
}

/// How far past now a date without a year may fall before the year before is taken instead
/// (clock skew and a misconfigured zone stay well inside it).
const YEARLESS_AHEAD_NS: i64 = 2 * 86_400 * NANOS_PER_SEC;
/// How far past now a time of day without a date may fall before the day before is taken.
const DATELESS_AHEAD_NS: i64 = 3600 * NANOS_PER_SEC;

impl ParsedTime {
    /// Nanoseconds since the epoch as [`ParsedTime::to_unix_nanos`] gives them, for a layout
    /// without a year (or without a date) completed to the most recent such time, `now_ns`
    /// being now:
    /// - a date without a year (syslog's `Jan _2 15:04:05`) gets the latest year, from next
    ///   year back, that puts it at most two days after now (so December lines read in January
    ///   are last year's, and a February 29 gets the latest leap year);
    /// - a time of day without a date (`Kitchen`, `3:04PM`) gets tomorrow's, today's or
    ///   yesterday's date (in the zone it is read in), the latest that puts it at most an hour
    ///   after now.
    ///
    /// `None` when the time does not fit the `i64` nanosecond range.
    pub(crate) fn to_unix_nanos_near(&self, location: &Zone, now_ns: i64) -> Option<i64> {
        if self.has_year {
            return self.to_unix_nanos(location);
        }
        let now = now_ns.div_euclid(NANOS_PER_SEC);
        let offset = match self.zone {
            ParsedZone::Utc => 0,
            ParsedZone::Offset(o) => o,
            ParsedZone::Location | ParsedZone::Abbrev(_) => location.offset_at(now),
        };
        let today = Offset::UTC
            .to_datetime(timestamp(now + i64::from(offset)))
            .date();
        let mut t = self.clone();
        let mut fits = |date: Date| {
            t.year = date.year().into();
            t.month = date.month().unsigned_abs().into();
            t.day = date.day().unsigned_abs().into();
            t.to_unix_nanos(location)
        };
        if self.has_date {
            let limit = now_ns.saturating_add(YEARLESS_AHEAD_NS);
            // Eight years back reach a leap year even across 2100.
            let this_year = i64::from(today.year());
            (this_year - 8..=this_year + 1)
                .rev()
                .filter_map(|y| civil_date(y, self.month, self.day))
                .filter_map(&mut fits)
                .find(|&ns| ns <= limit)
        } else {
            let limit = now_ns.saturating_add(DATELESS_AHEAD_NS);
            [today.tomorrow(), Ok(today), today.yesterday()]
                .into_iter()
                .filter_map(Result::ok)
                .filter_map(&mut fits)
                .find(|&ns| ns <= limit)
        }
    }
}

/// The offset of a `GMT+3` / `GMT-10` style name, in seconds east.
fn gmt_offset(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("GMT")?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.parse::<i32>().ok().map(|h| h * 3600)
}

fn starts_with_fold(s: &[u8], prefix: &str) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Go's `getnum`: one or two digits (exactly two when `fixed`).
fn getnum(v: &[u8], fixed: bool) -> Option<(u32, &[u8])> {
    let d0 = v.first().filter(|c| c.is_ascii_digit())?;
    match v.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &v[2..])),
        None if fixed => None,
        None => Some((u32::from(d0 - b'0'), &v[1..])),
    }
}

fn atoi(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Go's `skip`: match layout literal text, where a run of spaces matches any run of spaces.
fn skip<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Option<&'v [u8]> {
    let cutspace = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b' ').count() };
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            prefix = &prefix[cutspace(prefix)..];
            value = &value[cutspace(value)..];
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `v`.
fn zone_abbrev_len(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        let rest = &v[3..];
        if let Some(&s @ (b'+' | b'-')) = rest.first() {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let ok = digits > 0
                && std::str::from_utf8(&rest[1..1 + digits])
                    .ok()
                    .and_then(|d| d.parse::<i64>().ok())
                    .is_some_and(|h| h <= 23 || (s == b'+' && h <= 14));
            return Some(if ok { 4 + digits } else { 3 });
        }
        return Some(3);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        5 if v[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Parses nanoseconds from `.ddd` (`v[0]` is the separator), `n` bytes long in total.
fn parse_nanos(v: &[u8], n: usize) -> Option<u32> {
    if !matches!(v.first(), Some(b'.' | b',')) {
        return None;
    }
    let digits = v.get(1..n)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ns: u32 = 0;
    for i in 0..9 {
        ns = ns * 10 + digits.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    Some(ns)
}
impl Layout {
    /// Parses `value` with this layout (Go's `time.Parse` rules, without placing the result
    /// in a zone).
    pub(crate) fn parse(&self, value: &[u8]) -> Result<ParsedTime, TimeParseError> {
        let mismatch = || TimeParseError::Mismatch {
            value: String::from_utf8_lossy(value).into_owned(),
            layout: self.text(),
        };
        let mut v = value;
        let mut p = ParsedTime {
            year: 0,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            zone: ParsedZone::Location,
            has_year: false,
            has_date: false,
        };
        let (mut pm, mut am) = (false, false);
        let mut offset: Option<i32> = None;
        let mut abbrev: Option<String> = None;
        let mut utc = false;
        for (idx, c) in self.chunks.iter().enumerate() {
            let std = match c {
                Chunk::Literal(l) => {
                    v = skip(v, l.as_bytes()).ok_or_else(mismatch)?;
                    continue;
                }
                Chunk::Std(s) => *s,
            };
            match std {
                Std::Year => {
                    let y = atoi(v.get(..2).ok_or_else(mismatch)?).ok_or_else(mismatch)?;
                    v = &v[2..];
                    p.year = i64::from(y) + if y >= 69 { 1900 } else { 2000 };
                    p.has_year = true;
                }
                Std::LongYear => {
                    let y = atoi(v.get(..4).ok_or_else(mismatch)?).ok_or_else(mismatch)?;
                    v = &v[4..];
                    p.year = i64::from(y);
                    p.has_year = true;
                }
                Std::Month | Std::LongMonth => {
                    let (m, len) = LONG_MONTHS
                        .iter()
                        .enumerate()
                        .find_map(|(i, name)| {
                            let name = if std == Std::Month { &name[..3] } else { name };
                            starts_with_fold(v, name).then_some((i as u32 + 1, name.len()))
                        })
                        .ok_or_else(mismatch)?;
                    p.month = m;
                    p.has_date = true;
                    v = &v[len..];
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(v, std == Std::ZeroMonth).ok_or_else(mismatch)?;
                    if !(1..=12).contains(&m) {
                        return Err(TimeParseError::OutOfRange("month"));
                    }
                    p.month = m;
                    p.has_date = true;
                    v = rest;
                }
                Std::WeekDay | Std::LongWeekDay => {
                    let len = LONG_DAYS
                        .iter()
                        .find_map(|name| {
                            let name = if std == Std::WeekDay {
                                &name[..3]
                            } else {
                                name
                            };
                            starts_with_fold(v, name).then_some(name.len())
                        })
                        .ok_or_else(mismatch)?;
                    v = &v[len..];
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && v.first() == Some(&b' ') {
                        v = &v[1..];
                    }
                    let (d, rest) = getnum(v, std == Std::ZeroDay).ok_or_else(mismatch)?;
                    p.day = d;
                    p.has_date = true;
                    v = rest;
                }
                Std::Hour => {
                    let (h, rest) = getnum(v, false).ok_or_else(mismatch)?;
                    if h >= 24 {
                        return Err(TimeParseError::OutOfRange("hour"));
                    }
                    p.hour = h;
                    v = rest;
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    let (h, rest) = getnum(v, std == Std::ZeroHour12).ok_or_else(mismatch)?;
                    if h > 12 {
                        return Err(TimeParseError::OutOfRange("hour"));
                    }
                    p.hour = h;
                    v = rest;
                }
                Std::Minute | Std::ZeroMinute => {
                    let (m, rest) = getnum(v, std == Std::ZeroMinute).ok_or_else(mismatch)?;
                    if m >= 60 {
                        return Err(TimeParseError::OutOfRange("minute"));
                    }
                    p.minute = m;
                    v = rest;
                }
                Std::Second | Std::ZeroSecond => {
                    let (s, rest) = getnum(v, std == Std::ZeroSecond).ok_or_else(mismatch)?;
                    if s >= 60 {
                        return Err(TimeParseError::OutOfRange("second"));
                    }
                    p.second = s;
                    v = rest;
                    // A fraction in the text that the layout does not spell out is accepted.
                    let next_is_frac = matches!(
                        self.chunks.get(idx + 1),
                        Some(Chunk::Std(Std::FracSecond0(..) | Std::FracSecond9(..)))
                    );
                    if !next_is_frac && v.len() >= 2 && v[0] == b'.' && v[1].is_ascii_digit() {
                        let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                        p.nanos = parse_nanos(v, n).ok_or_else(mismatch)?;
                        v = &v[n..];
                    }
                }
                Std::Pm | Std::PmLower => {
                    let s = v.get(..2).ok_or_else(mismatch)?;
                    let (pm_s, am_s): (&[u8], &[u8]) = if std == Std::Pm {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if s == pm_s {
                        pm = true;
                    } else if s == am_s {
                        am = true;
                    } else {
                        return Err(mismatch());
                    }
                    v = &v[2..];
                }
                Std::Iso8601Tz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601ColonSecondsTz
                    if v.first() == Some(&b'Z') =>
                {
                    v = &v[1..];
                    utc = true;
                }
                Std::Iso8601Tz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601ColonSecondsTz
                | Std::NumTz
                | Std::NumSecondsTz
                | Std::NumShortTz
                | Std::NumColonTz
                | Std::NumColonSecondsTz => {
                    let (o, rest) = parse_offset(std, v).ok_or_else(mismatch)?;
                    offset = Some(o);
                    v = rest;
                }
                Std::Tz => {
                    if v.starts_with(b"UTC") {
                        utc = true;
                        v = &v[3..];
                    } else {
                        let n = zone_abbrev_len(v).ok_or_else(mismatch)?;
                        abbrev = Some(String::from_utf8_lossy(&v[..n]).into_owned());
                        v = &v[n..];
                    }
                }
                Std::FracSecond0(_, n) => {
                    p.nanos = parse_nanos(v, 1 + n).ok_or_else(mismatch)?;
                    v = &v[1 + n..];
                }
                Std::FracSecond9(..) => {
                    if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
                        // The fraction is optional.
                        continue;
                    }
                    let n = 1 + v[1..]
                        .iter()
                        .take(9)
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    p.nanos = parse_nanos(v, n).ok_or_else(mismatch)?;
                    v = &v[n..];
                }
            }
        }
        if !v.is_empty() {
            return Err(TimeParseError::ExtraText(
                String::from_utf8_lossy(v).into_owned(),
            ));
        }
        if pm && p.hour < 12 {
            p.hour += 12;
        } else if am && p.hour == 12 {
            p.hour = 0;
        }
        if civil_date(p.year, p.month, p.day).is_none() {
            return Err(TimeParseError::OutOfRange("day"));
        }
        p.zone = if utc {
            ParsedZone::Utc
        } else if let Some(o) = offset {
            ParsedZone::Offset(o)
        } else if let Some(a) = abbrev {
            ParsedZone::Abbrev(a)
        } else {
            ParsedZone::Location
        };
        Ok(p)
    }
}

/// Parses a numeric offset of the shape `std` asks for; returns seconds east and the rest.
fn parse_offset(std: Std, v: &[u8]) -> Option<(i32, &[u8])> {
    // Total length, where minutes and seconds start, and where colons must be.
    let (len, mm, ss, colons): (usize, Option<usize>, Option<usize>, &[usize]) = match std {
        Std::Iso8601ColonTz | Std::NumColonTz => (6, Some(4), None, &[3]),
        Std::Iso8601ShortTz | Std::NumShortTz => (3, None, None, &[]),
        Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz => (9, Some(4), Some(7), &[3, 6]),
        Std::Iso8601SecondsTz | Std::NumSecondsTz => (7, Some(3), Some(5), &[]),
        _ => (5, Some(3), None, &[]),
    };
    if v.len() < len || colons.iter().any(|&c| v[c] != b':') {
        return None;
    }
    let two = |at: Option<usize>| at.map_or(Some(0), |at| atoi(&v[at..at + 2]));
    let secs = ((two(Some(1))? * 60 + two(mm)?) * 60 + two(ss)?) as i32;
    let off = match v[0] {
        b'+' => secs,
        b'-' => -secs,
        _ => return None,
    };
    Some((off, &v[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::gotime::NAMED_LAYOUTS;
    use crate::support::gotime::tests::T;

    /// Found by the `gotime` fuzz target: the earliest representable instants (in the second
    /// that starts before `i64::MIN` nanoseconds) were reported out of range.
    #[test]
    fn the_whole_i64_nanosecond_range_converts() {
        let layout = Layout::new("2006-01-02T15:04:05.999999999Z07:00");
        let ns = |text: &str| {
            layout
                .parse(text.as_bytes())
                .unwrap()
                .to_unix_nanos(&Zone::Utc)
        };
        assert_eq!(ns("1677-09-21T00:12:43.145224192Z"), Some(i64::MIN));
        assert_eq!(
            ns("1677-09-21T00:12:43.145224213Z"),
            Some(-9_223_372_036_854_775_787)
        );
        assert_eq!(ns("1677-09-21T00:12:43.145224191Z"), None);
        assert_eq!(ns("2262-04-11T23:47:16.854775807Z"), Some(i64::MAX));
        assert_eq!(ns("2262-04-11T23:47:16.854775808Z"), None);
    }

    #[test]
    fn parses_go_layouts() {
        let ok: &[(&str, &str, i64)] = &[
            (
                "02/Jan/2006:15:04:05 -0700",
                "18/Apr/2013:14:00:28 -0700",
                1_366_318_828_000_000_000,
            ),
            (
                "2006-01-02T15:04:05Z07:00",
                "2013-04-18T21:00:28Z",
                1_366_318_828_000_000_000,
            ),
            (
                "2006-01-02T15:04:05Z07:00",
                "2013-04-18T23:00:28+02:00",
                1_366_318_828_000_000_000,
            ),
            // A fraction the layout does not mention is accepted after the seconds.
            (
                "2006-01-02 15:04:05",
                "2013-04-18 21:00:28.5",
                1_366_318_828_500_000_000,
            ),
            (
                "2006-01-02 15:04:05.000",
                "2013-04-18 21:00:28.250",
                1_366_318_828_250_000_000,
            ),
            // Runs of spaces in the layout match runs of spaces in the text.
            (
                "Jan _2 2006 15:04:05",
                "Apr  8 2013 21:00:28",
                1_365_454_828_000_000_000,
            ),
            (
                "Jan _2 2006 15:04:05",
                "Apr 18 2013 21:00:28",
                1_366_318_828_000_000_000,
            ),
            (
                "3:04PM 2006-01-02",
                "9:00PM 2013-04-18",
                1_366_318_800_000_000_000,
            ),
            (
                "3:04PM 2006-01-02",
                "12:00AM 2013-04-18",
                1_366_243_200_000_000_000,
            ),
            (
                "02 Jan 06 15:04 MST",
                "18 Apr 13 21:00 UTC",
                1_366_318_800_000_000_000,
            ),
            // An abbreviation the location does not know counts as UTC (Go's fake zone).
            (
                "02 Jan 06 15:04 MST",
                "18 Apr 13 21:00 XYZ",
                1_366_318_800_000_000_000,
            ),
            (
                "02 Jan 06 15:04 MST",
                "18 Apr 13 21:00 GMT+2",
                1_366_311_600_000_000_000,
            ),
        ];
        for (layout, value, want) in ok {
            let p = Layout::new(layout)
                .parse(value.as_bytes())
                .unwrap_or_else(|e| panic!("{layout} / {value}: {e}"));
            assert_eq!(
                p.to_unix_nanos(&Zone::Utc),
                Some(*want),
                "{layout} / {value}"
            );
        }
        let bad: &[(&str, &str)] = &[
            ("2006-01-02", "2013-4-18"),
            ("2006-01-02", "2013-04-31"),
            ("2006-01-02", "2013-13-01"),
            ("15:04", "24:00"),
            ("2006", "2013x"),
            ("Jan", "Foo"),
            ("-0700", "+07"),
            ("3PM", "3XM"),
        ];
        for (layout, value) in bad {
            assert!(
                Layout::new(layout).parse(value.as_bytes()).is_err(),
                "{layout} / {value}"
            );
        }
    }

    /// `text` parsed with `layout` and completed with `now` (seconds) in `zone`, in seconds
    /// when whole.
    fn near(layout: &str, text: &str, zone: &Zone, now: i64) -> i64 {
        let p = Layout::new(layout)
            .parse(text.as_bytes())
            .unwrap_or_else(|e| panic!("{layout} / {text}: {e}"));
        let ns = p
            .to_unix_nanos_near(zone, now * NANOS_PER_SEC)
            .unwrap_or_else(|| panic!("{layout} / {text}: out of range"));
        if ns % NANOS_PER_SEC == 0 {
            ns / NANOS_PER_SEC
        } else {
            ns
        }
    }

    #[test]
    fn dates_without_a_year_get_the_most_recent_year() {
        let utc = &Zone::Utc;
        let stamp = NAMED_LAYOUTS[11];
        assert_eq!(stamp, "Jan _2 15:04:05");
        // Now: 2015-10-08 00:00:00 UTC.
        let now = 1_444_262_400;
        assert_eq!(near(stamp, "Oct  7 18:47:00", utc, now), 1_444_243_620);
        assert_eq!(
            near(NAMED_LAYOUTS[12], "Oct  7 18:47:00.123", utc, now),
            1_444_243_620_123_000_000
        );
        assert_eq!(
            near(NAMED_LAYOUTS[13], "Oct  7 18:47:00.123456", utc, now),
            1_444_243_620_123_456_000
        );
        assert_eq!(
            near(NAMED_LAYOUTS[14], "Oct  7 18:47:00.123456789", utc, now),
            1_444_243_620_123_456_789
        );
        // Up to two days ahead (clock skew, zones) stays this year; further is last year.
        assert_eq!(near(stamp, "Oct  9 18:47:00", utc, now), 1_444_416_420);
        assert_eq!(near(stamp, "Oct 11 00:00:00", utc, now), 1_412_985_600);
        // Heka dated a yearless January 1 today; it is January 1.
        assert_eq!(near(stamp, "Jan  1 10:00:00", utc, now), 1_420_106_400);
        // February 29 gets the latest leap year: 2012, then 2016 once it has begun.
        assert_eq!(near(stamp, "Feb 29 12:00:00", utc, now), 1_330_516_800);
        assert_eq!(
            near(stamp, "Feb 29 12:00:00", utc, 1_456_790_400),
            1_456_747_200
        );
        // New year: last year's December 31 read on January 1 (Heka: December 31 of the
        // new year), and the first seconds of the new year read a minute before it.
        assert_eq!(
            near(stamp, "Dec 31 23:59:59", utc, 1_420_070_400),
            1_420_070_399
        );
        assert_eq!(
            near(stamp, "Jan  1 00:00:05", utc, 1_420_070_400),
            1_420_070_405
        );
        assert_eq!(
            near(stamp, "Jan  1 00:00:05", utc, 1_420_070_340),
            1_420_070_405
        );
        // In a location: 20:47 CEST is 18:47 UTC.
        let paris = Zone::load("Europe/Paris").unwrap();
        assert_eq!(near(stamp, "Oct  7 20:47:00", &paris, now), 1_444_243_620);
        // A zone in the text applies.
        assert_eq!(
            near(
                "Jan _2 15:04:05 -0700",
                "Oct  7 11:47:00 -0700",
                &paris,
                now
            ),
            1_444_243_620
        );
        // A layout with a year is left alone, even year 0 (out of range).
        assert_eq!(
            near("2006 Jan _2 15:04:05", "2014 Oct  7 18:47:00", utc, now),
            1_412_707_620
        );
        let p = Layout::new("2006 Jan 2").parse(b"0000 Oct 7").unwrap();
        assert_eq!(p.to_unix_nanos_near(utc, now * NANOS_PER_SEC), None);
    }

    #[test]
    fn times_of_day_get_the_most_recent_date() {
        let kitchen = NAMED_LAYOUTS[10];
        assert_eq!(kitchen, "3:04PM");
        let utc = &Zone::Utc;
        // Now: 2015-10-08 00:00:30 UTC. 11:59PM was a minute ago, yesterday.
        let now = 1_444_262_430;
        assert_eq!(near(kitchen, "11:59PM", utc, now), 1_444_262_340);
        assert_eq!(near(kitchen, "12:00AM", utc, now), 1_444_262_400);
        assert_eq!(near(kitchen, "5:16PM", utc, now), 1_444_238_160);
        // Half an hour ahead (clock skew) is tomorrow's when now is just before midnight.
        assert_eq!(near(kitchen, "12:30AM", utc, 1_444_262_370), 1_444_264_200);
        // The date is the location's: 00:30 CEST on October 8 is 22:30 UTC on October 7.
        let paris = Zone::load("Europe/Paris").unwrap();
        assert_eq!(
            near(kitchen, "11:45PM", &paris, 1_444_257_000),
            1_444_254_300
        );
        assert_eq!(
            near(kitchen, "12:15AM", &paris, 1_444_257_000),
            1_444_256_100
        );
    }

    #[test]
    fn time_only_layout_leaves_year_zero() {
        let p = Layout::new("3:04PM").parse(b"5:16PM").unwrap();
        assert_eq!(
            (p.year, p.month, p.day, p.hour, p.minute),
            (0, 1, 1, 17, 16)
        );
        let p = Layout::new("Jan _2 15:04:05")
            .parse(b"Feb 29 01:02:03")
            .unwrap();
        assert_eq!(
            (p.year, p.month, p.day),
            (0, 2, 29),
            "year 0 is a leap year"
        );
    }

    /// What the `gotime` fuzz target checks, over instants from 1677 to 2262 (local mean
    /// times with offsets in seconds, DST, half-hour shifts, the POSIX rule past 2037).
    #[test]
    fn instants_formatted_in_a_zone_parse_back() {
        let layout = Layout::new("2006-01-02T15:04:05.999999999Z07:00:00");
        let zones: Vec<Zone> = ["America/Los_Angeles", "Australia/Lord_Howe", "Europe/Paris"]
            .iter()
            .map(|n| Zone::load(n).unwrap())
            .chain([Zone::Utc])
            .collect();
        let step = (i64::MAX / 5_000).wrapping_mul(2) + 7_919;
        let mut ts = i64::MIN + 1_000_000_000;
        while ts < i64::MAX - step {
            for zone in &zones {
                let mut text = String::new();
                layout.format(ts, zone, &mut text);
                let back = layout.parse(text.as_bytes()).unwrap();
                assert_eq!(back.to_unix_nanos(&Zone::Utc), Some(ts), "{text}");
            }
            ts += step;
        }
    }

    #[test]
    fn named_layouts_parse_their_own_output() {
        for layout in NAMED_LAYOUTS {
            let l = Layout::new(layout);
            let mut s = String::new();
            l.format(T, &Zone::Utc, &mut s);
            let p = l
                .parse(s.as_bytes())
                .unwrap_or_else(|e| panic!("{layout}: {e}"));
            assert_eq!((p.hour, p.minute), (18, 47), "{layout}");
            if layout != "3:04PM" {
                assert_eq!((p.month, p.day), (10, 7), "{layout}");
            }
            if p.year != 0 {
                assert_eq!(p.year, 2015, "{layout}");
                assert!(p.to_unix_nanos(&Zone::Utc).is_some(), "{layout}");
            }
        }
    }
}
