//! Go reference-time layouts: splitting a layout into its elements and formatting times with
//! it, with the rules of Go's `time` package. Parsing text with a layout is in `parse`.

mod parse;

use super::zone::Zone;
use super::{LONG_DAYS, LONG_MONTHS, WallClock};

/// One element of a Go layout (Go's `std*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000` (exact digits), with its separator and digit count.
    FracSecond0(u8, usize),
    /// `.999` (trailing zeros trimmed).
    FracSecond9(u8, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    Literal(String),
    Std(Std),
}

/// A Go reference-time layout, split into literal text and layout elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    chunks: Vec<Chunk>,
}
impl Layout {
    /// Splits a Go layout into its elements (Go's `nextStdChunk` rules).
    pub(crate) fn new(layout: &str) -> Layout {
        let b = layout.as_bytes();
        let mut chunks = Vec::new();
        let mut lit_start = 0;
        let mut i = 0;
        while i < b.len() {
            let rest = &b[i..];
            let (std, len) = match rest[0] {
                b'J' if rest.starts_with(b"January") => (Some(Std::LongMonth), 7),
                b'J' if rest.starts_with(b"Jan") => (Some(Std::Month), 3),
                b'M' if rest.starts_with(b"Monday") => (Some(Std::LongWeekDay), 6),
                b'M' if rest.starts_with(b"Mon") => (Some(Std::WeekDay), 3),
                b'M' if rest.starts_with(b"MST") => (Some(Std::Tz), 3),
                b'0' if matches!(rest.get(1), Some(b'1'..=b'6')) => {
                    let s = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(rest[1] - b'1')];
                    (Some(s), 2)
                }
                b'1' if rest.get(1) == Some(&b'5') => (Some(Std::Hour), 2),
                b'1' => (Some(Std::NumMonth), 1),
                b'2' if rest.starts_with(b"2006") => (Some(Std::LongYear), 4),
                b'2' => (Some(Std::Day), 1),
                b'_' if rest.starts_with(b"_2006") => {
                    // Go reads `_2006` as a literal `_` followed by the year.
                    i += 1;
                    continue;
                }
                b'_' if rest.get(1) == Some(&b'2') => (Some(Std::UnderDay), 2),
                b'3' => (Some(Std::Hour12), 1),
                b'4' => (Some(Std::Minute), 1),
                b'5' => (Some(Std::Second), 1),
                b'P' if rest.get(1) == Some(&b'M') => (Some(Std::Pm), 2),
                b'p' if rest.get(1) == Some(&b'm') => (Some(Std::PmLower), 2),
                b'-' if rest.starts_with(b"-070000") => (Some(Std::NumSecondsTz), 7),
                b'-' if rest.starts_with(b"-07:00:00") => (Some(Std::NumColonSecondsTz), 9),
                b'-' if rest.starts_with(b"-0700") => (Some(Std::NumTz), 5),
                b'-' if rest.starts_with(b"-07:00") => (Some(Std::NumColonTz), 6),
                b'-' if rest.starts_with(b"-07") => (Some(Std::NumShortTz), 3),
                b'Z' if rest.starts_with(b"Z070000") => (Some(Std::Iso8601SecondsTz), 7),
                b'Z' if rest.starts_with(b"Z07:00:00") => (Some(Std::Iso8601ColonSecondsTz), 9),
                b'Z' if rest.starts_with(b"Z0700") => (Some(Std::Iso8601Tz), 5),
                b'Z' if rest.starts_with(b"Z07:00") => (Some(Std::Iso8601ColonTz), 6),
                b'Z' if rest.starts_with(b"Z07") => (Some(Std::Iso8601ShortTz), 3),
                sep @ (b'.' | b',') if matches!(rest.get(1), Some(b'0' | b'9')) => {
                    let ch = rest[1];
                    let run = rest[1..].iter().take_while(|&&c| c == ch).count();
                    if rest.get(1 + run).is_some_and(u8::is_ascii_digit) {
                        (None, 1)
                    } else if ch == b'0' {
                        (Some(Std::FracSecond0(sep, run)), 1 + run)
                    } else {
                        (Some(Std::FracSecond9(sep, run)), 1 + run)
                    }
                }
                _ => (None, 1),
            };
            match std {
                Some(s) => {
                    if lit_start < i {
                        chunks.push(Chunk::Literal(layout[lit_start..i].to_string()));
                    }
                    chunks.push(Chunk::Std(s));
                    i += len;
                    lit_start = i;
                }
                None => i += len,
            }
        }
        if lit_start < b.len() {
            chunks.push(Chunk::Literal(layout[lit_start..].to_string()));
        }
        Layout { chunks }
    }

    /// The layout text back (for messages).
    fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.chunks {
            match c {
                Chunk::Literal(l) => s.push_str(l),
                Chunk::Std(std) => s.push_str(std_text(*std).as_str()),
            }
        }
        s
    }

    /// Appends `ts_ns` rendered in `zone` (Go's `Time.Format`).
    pub(crate) fn format(&self, ts_ns: i64, zone: &Zone, out: &mut String) {
        use std::fmt::Write as _;
        let t = WallClock::at(ts_ns, zone);
        for c in &self.chunks {
            let std = match c {
                Chunk::Literal(l) => {
                    out.push_str(l);
                    continue;
                }
                Chunk::Std(s) => *s,
            };
            // Writing to a String cannot fail.
            let _ = match std {
                Std::Year => write!(out, "{:02}", t.year.rem_euclid(100)),
                Std::LongYear => write!(out, "{:04}", t.year),
                Std::Month => write!(out, "{}", &LONG_MONTHS[t.month as usize - 1][..3]),
                Std::LongMonth => write!(out, "{}", LONG_MONTHS[t.month as usize - 1]),
                Std::NumMonth => write!(out, "{}", t.month),
                Std::ZeroMonth => write!(out, "{:02}", t.month),
                Std::WeekDay => write!(out, "{}", &LONG_DAYS[t.weekday as usize][..3]),
                Std::LongWeekDay => write!(out, "{}", LONG_DAYS[t.weekday as usize]),
                Std::Day => write!(out, "{}", t.day),
                Std::UnderDay => write!(out, "{:>2}", t.day),
                Std::ZeroDay => write!(out, "{:02}", t.day),
                Std::Hour => write!(out, "{:02}", t.hour),
                Std::Hour12 => write!(out, "{}", hour12(t.hour)),
                Std::ZeroHour12 => write!(out, "{:02}", hour12(t.hour)),
                Std::Minute => write!(out, "{}", t.minute),
                Std::ZeroMinute => write!(out, "{:02}", t.minute),
                Std::Second => write!(out, "{}", t.second),
                Std::ZeroSecond => write!(out, "{:02}", t.second),
                Std::Pm => write!(out, "{}", if t.hour >= 12 { "PM" } else { "AM" }),
                Std::PmLower => write!(out, "{}", if t.hour >= 12 { "pm" } else { "am" }),
                Std::Tz if !t.abbrev.is_empty() => write!(out, "{}", t.abbrev),
                Std::Tz => write_offset(out, t.offset, false, true, false),
                Std::Iso8601Tz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601ColonSecondsTz
                    if t.offset == 0 =>
                {
                    write!(out, "Z")
                }
                Std::Iso8601Tz | Std::NumTz => write_offset(out, t.offset, false, true, false),
                Std::Iso8601SecondsTz | Std::NumSecondsTz => {
                    write_offset(out, t.offset, false, true, true)
                }
                Std::Iso8601ShortTz | Std::NumShortTz => {
                    write_offset(out, t.offset, false, false, false)
                }
                Std::Iso8601ColonTz | Std::NumColonTz => {
                    write_offset(out, t.offset, true, true, false)
                }
                Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz => {
                    write_offset(out, t.offset, true, true, true)
                }
                Std::FracSecond0(sep, n) => {
                    let digits = format!("{:09}", t.nanos);
                    out.push(char::from(sep));
                    write!(out, "{}", &digits[..n.min(9)])
                }
                Std::FracSecond9(sep, n) => {
                    let digits = format!("{:09}", t.nanos);
                    let d = digits[..n.min(9)].trim_end_matches('0');
                    if !d.is_empty() {
                        out.push(char::from(sep));
                        out.push_str(d);
                    }
                    Ok(())
                }
            };
        }
    }
}

pub(super) fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

/// Writes `±hh[[:]mm[[:]ss]]` for an offset in seconds east.
fn write_offset(
    out: &mut String,
    offset: i32,
    colon: bool,
    minutes: bool,
    seconds: bool,
) -> std::fmt::Result {
    use std::fmt::Write as _;
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    write!(out, "{sign}{:02}", abs / 3600)?;
    let sep = if colon { ":" } else { "" };
    if minutes {
        write!(out, "{sep}{:02}", abs / 60 % 60)?;
    }
    if seconds {
        write!(out, "{sep}{:02}", abs % 60)?;
    }
    Ok(())
}
fn std_text(s: Std) -> String {
    let fixed = match s {
        Std::LongMonth => "January",
        Std::Month => "Jan",
        Std::NumMonth => "1",
        Std::ZeroMonth => "01",
        Std::LongWeekDay => "Monday",
        Std::WeekDay => "Mon",
        Std::Day => "2",
        Std::UnderDay => "_2",
        Std::ZeroDay => "02",
        Std::Hour => "15",
        Std::Hour12 => "3",
        Std::ZeroHour12 => "03",
        Std::Minute => "4",
        Std::ZeroMinute => "04",
        Std::Second => "5",
        Std::ZeroSecond => "05",
        Std::LongYear => "2006",
        Std::Year => "06",
        Std::Pm => "PM",
        Std::PmLower => "pm",
        Std::Tz => "MST",
        Std::Iso8601Tz => "Z0700",
        Std::Iso8601SecondsTz => "Z070000",
        Std::Iso8601ShortTz => "Z07",
        Std::Iso8601ColonTz => "Z07:00",
        Std::Iso8601ColonSecondsTz => "Z07:00:00",
        Std::NumTz => "-0700",
        Std::NumSecondsTz => "-070000",
        Std::NumShortTz => "-07",
        Std::NumColonTz => "-07:00",
        Std::NumColonSecondsTz => "-07:00:00",
        Std::FracSecond0(sep, n) => {
            return format!("{}{}", char::from(sep), "0".repeat(n));
        }
        Std::FracSecond9(sep, n) => {
            return format!("{}{}", char::from(sep), "9".repeat(n));
        }
    };
    fixed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::gotime::TIME_STRING_LAYOUT;
    use crate::support::gotime::tests::{T, fixed};

    fn fmt_layout(layout: &str, ts: i64, zone: &Zone) -> String {
        let mut s = String::new();
        Layout::new(layout).format(ts, zone, &mut s);
        s
    }

    #[test]
    fn formats_go_layouts() {
        let cases: &[(&str, &str)] = &[
            (
                TIME_STRING_LAYOUT,
                "2015-10-07 18:47:00.123456789 +0000 UTC",
            ),
            ("Mon Jan _2 15:04:05 2006", "Wed Oct  7 18:47:00 2015"),
            (
                "Monday, 02-Jan-06 03:04:05PM",
                "Wednesday, 07-Oct-15 06:47:00PM",
            ),
            ("January 2 3:4:5 pm", "October 7 6:47:0 pm"),
            ("2006-01-02T15:04:05.000Z07:00", "2015-10-07T18:47:00.123Z"),
            ("15:04:05.999999", "18:47:00.123456"),
            ("15:04:05,000000000", "18:47:00,123456789"),
            ("2006_2006 x", "2015_2015 x"),
        ];
        for (layout, want) in cases {
            assert_eq!(fmt_layout(layout, T, &Zone::Utc), *want, "{layout}");
        }
        // Fraction trimmed entirely when zero; numeric zones in all shapes.
        let z = fixed("X", -(3 * 3600 + 30 * 60));
        let whole = 1_444_243_620_000_000_000;
        assert_eq!(
            fmt_layout("15:04:05.999 -0700 -07:00 -07 Z07:00 MST", whole, &z),
            "15:17:00 -0330 -03:30 -03 -03:30 X"
        );
        assert_eq!(fmt_layout("MST", whole, &fixed("", 3600)), "+0100");
    }
}
