//! strftime formats read back, as lua_sandbox's `date_time.build_strftime_grammar` reads them
//! (modules/date_time.lua at 97331863, which json.lua's `timestamp_format` used).
//!
//! The format becomes a sequence of PEG items matched against the start of the text: each
//! white-space character of the format matches exactly one white-space character; each
//! conversion matches what `date_time` matches for it; anything else matches itself. Trailing
//! text after the last item is ignored. The conversions and what they take:
//!
//! | conversion | matches | sets |
//! |---|---|---|
//! | `%Y` `%G` | four digits | year |
//! | `%y` `%g` | two digits | year, in the current century |
//! | `%C` | two digits | — |
//! | `%m` | `01`–`12` | month |
//! | `%b` `%h` / `%B` | `Jan`…`Dec` / `January`…`December` | month |
//! | `%d` / `%e` | `01`–`31` / ` 1`–`31` | day |
//! | `%H` / `%k` | `00`–`23` / ` 0`–`23` | hour |
//! | `%I` / `%l` | `00`–`12` / ` 0`–`12` (any white space first) | hour |
//! | `%p` | `AM`, `PM` | 12-hour clock |
//! | `%M` | `00`–`59` | minute |
//! | `%S` | `00`–`61` | second |
//! | `%s` | digits | seconds since the epoch (everything else is then ignored) |
//! | `%z` | `+hhmm`, `-hhmm` | offset |
//! | `%Z` | `UTC`, `PST`, `PDT`, `MST`, `MDT`, `CST`, `CDT`, `EST`, `EDT`; otherwise 0–5 letters, read as UTC | offset |
//! | `%a` `%A` `%j` `%u` `%U` `%V` `%w` `%W` | day names, day of year, week numbers | — |
//! | `%D` `%x` / `%F` / `%T` `%X` / `%R` / `%r` / `%c` | `%m/%d/%y` / `%Y-%m-%d` / `%H:%M:%S` (seconds to 60) / `%H:%M` / `%I:%M:%S %p` / `%a %b %e %T %Y` | |
//! | `%n` `%t` `%%` | newline, tab, `%` | — |
//!
//! Any other letter or digit after `%` is an error when the format is compiled; `%` before
//! anything else is a literal. The time is then made as Lua's `os.time` (running in UTC) made
//! it: a missing hour is noon, missing minutes and seconds are 0, a day past the month's end
//! runs into the next month; the offset, if any, is applied.

use jiff::civil::Time;

use super::zone::Zone;
use super::{LONG_DAYS, LONG_MONTHS, civil_date, wall_seconds};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Parts of a compound conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// A conversion of the table.
    Conv(u8),
    /// One literal byte.
    Byte(u8),
    /// Lua's `%S`-less seconds (`00`–`59` or `60`), as `%T` and `%r` take them.
    Second60,
}

/// One item of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Exactly one white-space character.
    Space,
    Literal(Vec<u8>),
    Conv(u8),
}

/// A strftime format compiled for reading.
#[derive(Debug, Clone)]
pub(crate) struct StrftimeGrammar {
    items: Vec<Item>,
    /// The century `%y` years fall in (from the current year when compiled, as `date_time`).
    century: i64,
}

/// What a text gave for each part of a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    pm: Option<bool>,
    /// `%s`.
    unix: Option<i64>,
    /// Seconds east of UTC.
    offset: Option<i64>,
}

/// Lua's `%s` class: ASCII white space.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

const SHORT_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl StrftimeGrammar {
    /// Compiles `format`; an unknown conversion or an empty format is an error (with
    /// `date_time`'s text).
    pub(crate) fn new(format: &str) -> Result<StrftimeGrammar, String> {
        let b = format.as_bytes();
        let mut items = Vec::new();
        let mut literal = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let conv = (c == b'%')
                .then(|| b.get(i + 1).copied())
                .flatten()
                .filter(|n| n.is_ascii_alphanumeric() || *n == b'%');
            if (is_space(c) || conv.is_some()) && !literal.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut literal)));
            }
            if is_space(c) {
                items.push(Item::Space);
                i += 1;
            } else if let Some(n) = conv {
                if !KNOWN.contains(&n) {
                    return Err(format!("unknown strftime specifier: {}", n as char));
                }
                items.push(Item::Conv(n));
                i += 2;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        if items.is_empty() {
            return Err("could not parse the strftime format".to_string());
        }
        let year = super::WallClock::at(heka_message::now_ns(), &Zone::Utc).year;
        Ok(StrftimeGrammar {
            items,
            century: year.div_euclid(100),
        })
    }

    /// Whether every text the format matches gives a date (a year, a month and a day, or
    /// `%s`); `os.time` refused a time without one.
    pub(crate) fn gives_date(&self) -> bool {
        let mut t = ParsedTime::default();
        for item in &self.items {
            if let Item::Conv(c) = item {
                mark(*c, &mut t);
            }
        }
        t.unix.is_some() || (t.year.is_some() && t.month.is_some() && t.day.is_some())
    }

    /// Reads the start of `text`; `None` if it does not match.
    pub(crate) fn parse(&self, text: &[u8]) -> Option<ParsedTime> {
        let mut r = Reader {
            text,
            at: 0,
            century: self.century,
        };
        let mut t = ParsedTime::default();
        for item in &self.items {
            match item {
                Item::Space => {
                    if !r.next().is_some_and(is_space) {
                        return None;
                    }
                }
                Item::Literal(l) => r.literal(l)?,
                Item::Conv(c) => r.conv(*c, &mut t)?,
            }
        }
        Some(t)
    }
}

/// Every conversion `date_time` knows.
const KNOWN: &[u8] = b"aAbBCyDdeFgGhHIjklmMnprRsStTuUVwWxXYzZc%";

/// Marks in `t` the parts conversion `c` sets (with a placeholder value).
fn mark(c: u8, t: &mut ParsedTime) {
    for p in expand(c) {
        let Part::Conv(c) = *p else { continue };
        match c {
            b'Y' | b'G' | b'y' | b'g' => t.year = Some(0),
            b'm' | b'b' | b'h' | b'B' => t.month = Some(0),
            b'd' | b'e' => t.day = Some(0),
            b's' => t.unix = Some(0),
            _ => {}
        }
    }
}

/// The parts of a conversion: itself, or what a compound one is made of.
fn expand(c: u8) -> &'static [Part] {
    use Part::{Byte, Conv, Second60};
    match c {
        b'D' | b'x' => &[Conv(b'm'), Byte(b'/'), Conv(b'd'), Byte(b'/'), Conv(b'y')],
        b'F' => &[Conv(b'Y'), Byte(b'-'), Conv(b'm'), Byte(b'-'), Conv(b'd')],
        b'T' | b'X' => &[Conv(b'H'), Byte(b':'), Conv(b'M'), Byte(b':'), Second60],
        b'R' => &[Conv(b'H'), Byte(b':'), Conv(b'M')],
        b'r' => &[
            Conv(b'I'),
            Byte(b':'),
            Conv(b'M'),
            Byte(b':'),
            Second60,
            Byte(b' '),
            Conv(b'p'),
        ],
        b'c' => &[
            Conv(b'a'),
            Byte(b' '),
            Conv(b'b'),
            Byte(b' '),
            Conv(b'e'),
            Byte(b' '),
            Conv(b'H'),
            Byte(b':'),
            Conv(b'M'),
            Byte(b':'),
            Second60,
            Byte(b' '),
            Conv(b'Y'),
        ],
        b'a' => &[Conv(b'a')],
        b'A' => &[Conv(b'A')],
        b'b' => &[Conv(b'b')],
        b'B' => &[Conv(b'B')],
        b'C' => &[Conv(b'C')],
        b'y' => &[Conv(b'y')],
        b'd' => &[Conv(b'd')],
        b'e' => &[Conv(b'e')],
        b'g' => &[Conv(b'g')],
        b'G' => &[Conv(b'G')],
        b'h' => &[Conv(b'h')],
        b'H' => &[Conv(b'H')],
        b'I' => &[Conv(b'I')],
        b'j' => &[Conv(b'j')],
        b'k' => &[Conv(b'k')],
        b'l' => &[Conv(b'l')],
        b'm' => &[Conv(b'm')],
        b'M' => &[Conv(b'M')],
        b'n' => &[Conv(b'n')],
        b'p' => &[Conv(b'p')],
        b's' => &[Conv(b's')],
        b'S' => &[Conv(b'S')],
        b't' => &[Conv(b't')],
        b'u' => &[Conv(b'u')],
        b'U' => &[Conv(b'U')],
        b'V' => &[Conv(b'V')],
        b'w' => &[Conv(b'w')],
        b'W' => &[Conv(b'W')],
        b'Y' => &[Conv(b'Y')],
        b'z' => &[Conv(b'z')],
        b'Z' => &[Conv(b'Z')],
        _ => &[Conv(b'%')],
    }
}

/// A position in the text being read.
struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    century: i64,
}

/// A digit class of `date_time`'s grammars: `b'd'` any digit, else a range `lo..=hi`.
type Class = (u8, u8);
const DIGIT: Class = (b'0', b'9');

impl Reader<'_> {
    fn next(&mut self) -> Option<u8> {
        let b = *self.text.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn literal(&mut self, l: &[u8]) -> Option<()> {
        let rest = self.text.get(self.at..)?;
        rest.starts_with(l).then(|| self.at += l.len())
    }

    /// The first alternative whose every byte is in its class: the matched text's value
    /// (digits only; a space reads as nothing), consuming it. PEG: the first alternative that
    /// matches is taken.
    fn alternatives(&mut self, alts: &[&[Class]]) -> Option<i64> {
        let rest = self.text.get(self.at..)?;
        for alt in alts {
            if rest.len() >= alt.len()
                && alt
                    .iter()
                    .zip(rest)
                    .all(|(&(lo, hi), b)| (lo..=hi).contains(b))
            {
                self.at += alt.len();
                return Some(
                    rest[..alt.len()]
                        .iter()
                        .filter(|b| b.is_ascii_digit())
                        .fold(0, |v, b| v * 10 + i64::from(b - b'0')),
                );
            }
        }
        None
    }

    /// One of `words` (tried in order); its index.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = self.text.get(self.at..)?;
        let i = words.iter().position(|w| rest.starts_with(w.as_bytes()))?;
        self.at += words[i].len();
        Some(i)
    }

    fn conv(&mut self, c: u8, t: &mut ParsedTime) -> Option<()> {
        for part in expand(c) {
            match *part {
                Part::Byte(b) => self.literal(&[b])?,
                Part::Second60 => {
                    t.second =
                        Some(self.alternatives(&[
                            &[(b'0', b'5'), DIGIT],
                            &[(b'6', b'6'), (b'0', b'0')],
                        ])?);
                }
                Part::Conv(c) => self.simple(c, t)?,
            }
        }
        Some(())
    }

    fn simple(&mut self, c: u8, t: &mut ParsedTime) -> Option<()> {
        const SP: Class = (b' ', b' ');
        let month = [
            &[(b'0', b'0'), (b'1', b'9')][..],
            &[(b'1', b'1'), (b'0', b'2')],
        ];
        let hour24 = [&[(b'0', b'1'), DIGIT][..], &[(b'2', b'2'), (b'0', b'3')]];
        let week = [&[(b'0', b'4'), DIGIT][..], &[(b'5', b'5'), (b'0', b'3')]];
        match c {
            b'a' => {
                self.word(&SHORT_DAYS)?;
            }
            b'A' => {
                self.word(&LONG_DAYS_FROM_MONDAY)?;
            }
            b'b' | b'h' => t.month = Some(self.word(&SHORT_MONTHS)? as i64 + 1),
            b'B' => t.month = Some(self.word(&LONG_MONTHS)? as i64 + 1),
            b'C' => {
                self.alternatives(&[&[DIGIT, DIGIT]])?;
            }
            b'y' | b'g' => {
                t.year = Some(self.century * 100 + self.alternatives(&[&[DIGIT, DIGIT]])?);
            }
            b'Y' | b'G' => t.year = Some(self.alternatives(&[&[DIGIT; 4]])?),
            b'm' => t.month = Some(self.alternatives(&month)?),
            b'd' => {
                t.day = Some(self.alternatives(&[
                    &[(b'0', b'0'), (b'1', b'9')],
                    &[(b'1', b'2'), DIGIT],
                    &[(b'3', b'3'), (b'0', b'1')],
                ])?);
            }
            b'e' => {
                t.day = Some(self.alternatives(&[
                    &[SP, (b'1', b'9')],
                    &[(b'1', b'2'), DIGIT],
                    &[(b'3', b'3'), (b'0', b'1')],
                ])?);
            }
            b'H' => t.hour = Some(self.alternatives(&hour24)?),
            b'k' => {
                t.hour = Some(self.alternatives(&[
                    &[SP, DIGIT],
                    &[(b'1', b'1'), DIGIT],
                    &[(b'2', b'2'), (b'0', b'3')],
                ])?);
            }
            b'I' => {
                t.hour = Some(
                    self.alternatives(&[&[(b'0', b'0'), DIGIT], &[(b'1', b'1'), (b'0', b'2')]])?,
                );
            }
            b'l' => {
                // Any white space, then a digit; or 10–12.
                let rest = self.text.get(self.at..)?;
                t.hour = Some(match rest {
                    [s, d, ..] if is_space(*s) && d.is_ascii_digit() => {
                        self.at += 2;
                        i64::from(d - b'0')
                    }
                    _ => self.alternatives(&[&[(b'1', b'1'), (b'0', b'2')]])?,
                });
            }
            b'j' => {
                self.alternatives(&[
                    &[(b'0', b'0'), (b'0', b'0'), (b'1', b'9')],
                    &[(b'0', b'0'), DIGIT, DIGIT],
                    &[(b'1', b'2'), DIGIT, DIGIT],
                    &[(b'3', b'3'), (b'0', b'5'), DIGIT],
                    &[(b'3', b'3'), (b'6', b'6'), (b'0', b'6')],
                ])?;
            }
            b'M' => t.minute = Some(self.alternatives(&[&[(b'0', b'5'), DIGIT]])?),
            b'S' => {
                t.second = Some(
                    self.alternatives(&[&[(b'0', b'5'), DIGIT], &[(b'6', b'6'), (b'0', b'1')]])?,
                );
            }
            b'p' => t.pm = Some(self.word(&["AM", "PM"])? == 1),
            b's' => {
                let rest = self.text.get(self.at..)?;
                let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                self.at += n;
                // Beyond i64 seconds no time fits in a message anyway.
                t.unix = Some(std::str::from_utf8(&rest[..n]).ok()?.parse().ok()?);
            }
            b'n' => self.literal(b"\n")?,
            b't' => self.literal(b"\t")?,
            b'u' => {
                self.alternatives(&[&[(b'1', b'7')]])?;
            }
            b'w' => {
                self.alternatives(&[&[(b'0', b'6')]])?;
            }
            b'U' | b'V' | b'W' => {
                self.alternatives(&week)?;
            }
            b'z' => {
                let sign = match self.next()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let h = self.alternatives(&hour24)?;
                let m = self.alternatives(&[&[(b'0', b'5'), DIGIT]])?;
                t.offset = Some(sign * (h * 3600 + m * 60));
            }
            b'Z' => {
                const ZONES: [(&str, i64); 9] = [
                    ("UTC", 0),
                    ("PST", -8),
                    ("PDT", -7),
                    ("MST", -7),
                    ("MDT", -6),
                    ("CST", -6),
                    ("CDT", -5),
                    ("EST", -5),
                    ("EDT", -4),
                ];
                let names = ZONES.map(|(n, _)| n);
                t.offset = Some(match self.word(&names) {
                    Some(i) => ZONES[i].1 * 3600,
                    None => {
                        // Up to five letters, any zone else, read as UTC.
                        let rest = self.text.get(self.at..).unwrap_or_default();
                        self.at += rest
                            .iter()
                            .take(5)
                            .take_while(|b| b.is_ascii_alphabetic())
                            .count();
                        0
                    }
                });
            }
            _ => self.literal(b"%")?,
        }
        Some(())
    }
}

/// `date_time`'s `%A` alternatives, Monday first.
const LONG_DAYS_FROM_MONDAY: [&str; 7] = [
    LONG_DAYS[1],
    LONG_DAYS[2],
    LONG_DAYS[3],
    LONG_DAYS[4],
    LONG_DAYS[5],
    LONG_DAYS[6],
    LONG_DAYS[0],
];

impl ParsedTime {
    /// Nanoseconds since the epoch, as `date_time.time_to_ns` computed them (`os.time` in
    /// UTC), except that a time without an offset is read in `zone`. `None` when the text gave
    /// no date or the time is outside the `i64` nanosecond range.
    pub(crate) fn to_unix_nanos(&self, zone: &Zone) -> Option<i64> {
        if let Some(unix) = self.unix {
            return unix.checked_mul(NANOS_PER_SEC);
        }
        let mut hour = self.hour.unwrap_or(12);
        match self.pm {
            Some(false) if hour == 12 => hour = 0,
            Some(true) if hour < 12 => hour += 12,
            _ => {}
        }
        let first = civil_date(self.year?, u32::try_from(self.month?).ok()?, 1)?;
        let wall = wall_seconds(first.to_datetime(Time::midnight()))
            + (self.day? - 1) * 86_400
            + hour * 3600
            + self.minute.unwrap_or(0) * 60
            + self.second.unwrap_or(0);
        let unix = match self.offset {
            Some(east) => wall - east,
            None => zone.local_to_utc(wall),
        };
        unix.checked_mul(NANOS_PER_SEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(format: &str, text: &str) -> Option<i64> {
        StrftimeGrammar::new(format)
            .unwrap_or_else(|e| panic!("{format}: {e}"))
            .parse(text.as_bytes())?
            .to_unix_nanos(&Zone::Utc)
    }

    /// 2014-05-07 15:12:24 UTC, the time of Heka's json.lua test.
    const T: i64 = 1_399_475_544_000_000_000;

    #[test]
    fn heka_json_decoder_vector() {
        assert_eq!(ns("%m/%d/%Y %H:%M:%S", "05/07/2014 15:12:24"), Some(T));
    }

    #[test]
    fn conversions() {
        let year = super::super::WallClock::at(heka_message::now_ns(), &Zone::Utc).year;
        let cases: &[(&str, &str, i64)] = &[
            ("%Y-%m-%dT%H:%M:%S", "2014-05-07T15:12:24", T),
            ("%FT%T%z", "2014-05-07T17:12:24+0200", T),
            ("%FT%T%z", "2014-05-07T08:12:24-0700", T),
            ("%F %T %Z", "2014-05-07 08:12:24 PDT", T),
            ("%F %T %Z", "2014-05-07 15:12:24 GMT", T),
            ("%F %T %Z", "2014-05-07 15:12:24 ", T),
            ("%d/%b/%Y:%H:%M:%S %z", "07/May/2014:15:12:24 +0000", T),
            ("%A, %d %B %Y %T", "Wednesday, 07 May 2014 15:12:24", T),
            ("%a %b %e %T %Y", "Wed May  7 15:12:24 2014", T),
            ("%c", "Wed May  7 15:12:24 2014", T),
            ("%D %r", "05/07/14 03:12:24 PM", T),
            ("%x %X", "05/07/14 15:12:24", T),
            (
                "%F %I:%M:%S %p",
                "2014-05-07 12:00:00 AM",
                T - 54_744_000_000_000,
            ),
            ("%F %l:%M %p", "2014-05-07  3:12 PM", T - 24_000_000_000),
            ("%F %k.%M", "2014-05-07 15.12", T - 24_000_000_000),
            ("%F %R", "2014-05-07 15:12", T - 24_000_000_000),
            ("%s", "1399475544", T),
            ("%s %Y", "1399475544 1999", T),
            (
                "%j %u %U %V %w %W %C %G-%m-%d %T",
                "127 3 18 19 3 18 20 2014-05-07 15:12:24",
                T,
            ),
            ("%Y%m%d%n%H%M%S%t%%", "20140507\n151224\t%", T),
            // No hour: noon, as os.time.
            (
                "%Y-%m-%d",
                "2014-05-07",
                T - 3 * 3_600_000_000_000 - 744_000_000_000,
            ),
            // A day past the month's end runs into the next month; leap seconds too.
            ("%F", "2014-02-31", 1_393_848_000_000_000_000),
            ("%F %T", "2014-05-07 15:12:60", T + 36_000_000_000),
            // Trailing text is ignored; white space in the format is any one white space.
            ("%F %T", "2014-05-07\t15:12:24.509926234Z", T),
            // `%` before a non-letter is a literal.
            ("%-%F %T", "%-2014-05-07 15:12:24", T),
        ];
        for (format, text, want) in cases {
            assert_eq!(ns(format, text), Some(*want), "{format} / {text:?}");
        }
        // Two-digit years fall in the current century.
        let got = ns("%y-%m-%d %T", "14-05-07 15:12:24").unwrap();
        let want = jiff::civil::date(i16::try_from(year / 100 * 100 + 14).unwrap(), 5, 7)
            .at(15, 12, 24, 0)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_nanosecond();
        assert_eq!(i128::from(got), want);
    }

    #[test]
    fn mismatches() {
        for (format, text) in [
            ("%m/%d/%Y", "5/07/2014"),
            ("%m/%d/%Y", "13/07/2014"),
            ("%d", "32"),
            ("%d", "00"),
            ("%H", "24"),
            ("%F %T", "2014-05-07  15:12:24"),
            ("%F", "2014-05"),
            ("%F %p", "2014-05-07 pm"),
            ("%F %z", "2014-05-07 0200"),
            ("%F %z", "2014-05-07 +2400"),
            ("%s", "x"),
            ("%s", "99999999999999999999999"),
            ("%Y", "99999999999"),
        ] {
            let g = StrftimeGrammar::new(format).unwrap();
            let t = g.parse(text.as_bytes());
            assert!(
                t.as_ref()
                    .and_then(|t| t.to_unix_nanos(&Zone::Utc))
                    .is_none(),
                "{format} / {text:?}: {t:?}"
            );
        }
    }

    #[test]
    fn formats_and_dates() {
        assert_eq!(
            StrftimeGrammar::new("%Y-%Q").err().as_deref(),
            Some("unknown strftime specifier: Q")
        );
        assert!(StrftimeGrammar::new("").is_err());
        assert!(StrftimeGrammar::new("%").is_ok());
        for (format, gives) in [
            ("%F", true),
            ("%D", true),
            ("%c", true),
            ("%s", true),
            ("%Y-%b-%e", true),
            ("%H:%M:%S", false),
            ("%Y-%m", false),
            ("%m-%d", false),
        ] {
            assert_eq!(
                StrftimeGrammar::new(format).unwrap().gives_date(),
                gives,
                "{format}"
            );
        }
    }

    #[test]
    fn a_time_without_offset_is_read_in_the_zone() {
        let paris = Zone::load("Europe/Paris").unwrap();
        let g = StrftimeGrammar::new("%F %T").unwrap();
        let t = g.parse(b"2014-05-07 17:12:24").unwrap();
        assert_eq!(t.to_unix_nanos(&paris), Some(T));
        // An explicit offset wins.
        let g = StrftimeGrammar::new("%F %T %z").unwrap();
        let t = g.parse(b"2014-05-07 15:12:24 +0000").unwrap();
        assert_eq!(t.to_unix_nanos(&paris), Some(T));
    }
}
