//! strftime formats as rendered by the cactus/gostrftime version Heka pins.

use super::layout::hour12;
use super::zone::Zone;
use super::{LONG_DAYS, LONG_MONTHS, WallClock};

#[derive(Debug, Clone, PartialEq, Eq)]
enum StrfItem {
    Literal(String),
    Conversion(char),
}

/// A strftime format as cactus/gostrftime renders it at the commit Heka pins.
///
/// Supported: `%A %a %B %b %C %D %d %e %F %f %H %h %I %j %k %l %M %m %n %P %p %R %r %S %s %T
/// %t %v %w %Y %y %Z %z %%`. Any other conversion (including `%L` and `%N`, which later
/// gostrftime versions added) is copied verbatim, and a trailing lone `%` is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Strftime {
    items: Vec<StrfItem>,
}

const STRFTIME_CONVERSIONS: &str = "AaBbCDdeFfHhIjklMmnPpRrSsTtvwYyZz";

impl Strftime {
    /// Compiles a format.
    pub(crate) fn new(format: &str) -> Strftime {
        let mut items = Vec::new();
        let mut lit = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            match chars.next() {
                None => lit.push('%'),
                Some('%') => lit.push('%'),
                Some(n) if n.is_ascii() && STRFTIME_CONVERSIONS.contains(n) => {
                    if !lit.is_empty() {
                        items.push(StrfItem::Literal(std::mem::take(&mut lit)));
                    }
                    items.push(StrfItem::Conversion(n));
                }
                Some(n) => {
                    lit.push('%');
                    lit.push(n);
                }
            }
        }
        if !lit.is_empty() {
            items.push(StrfItem::Literal(lit));
        }
        Strftime { items }
    }

    /// Appends `ts_ns` rendered in `zone`.
    pub(crate) fn format(&self, ts_ns: i64, zone: &Zone, out: &mut String) {
        use std::fmt::Write as _;
        let needs_time = self
            .items
            .iter()
            .any(|i| matches!(i, StrfItem::Conversion(_)));
        let t = if needs_time {
            WallClock::at(ts_ns, zone)
        } else {
            WallClock::at(0, &Zone::Utc)
        };
        for item in &self.items {
            let c = match item {
                StrfItem::Literal(l) => {
                    out.push_str(l);
                    continue;
                }
                StrfItem::Conversion(c) => *c,
            };
            let month = LONG_MONTHS[t.month as usize - 1];
            let day = LONG_DAYS[t.weekday as usize];
            let am_pm = |upper: bool| match (t.hour < 12, upper) {
                (true, true) => "AM",
                (false, true) => "PM",
                (true, false) => "am",
                (false, false) => "pm",
            };
            // Writing to a String cannot fail.
            let _ = match c {
                'A' => write!(out, "{day}"),
                'a' => write!(out, "{}", &day[..3]),
                'B' => write!(out, "{month}"),
                'b' | 'h' => write!(out, "{}", &month[..3]),
                // Heka compat: gostrftime prints the whole year for %C.
                'C' => write!(out, "{:02}", t.year),
                'D' => write!(
                    out,
                    "{:02}/{:02}/{:02}",
                    t.month,
                    t.day,
                    t.year.rem_euclid(100)
                ),
                'd' => write!(out, "{:02}", t.day),
                'e' => write!(out, "{:2}", t.day),
                'F' => write!(out, "{:04}-{:02}-{:02}", t.year, t.month, t.day),
                'f' => write!(out, "{:06}", t.nanos / 1000),
                'H' => write!(out, "{:02}", t.hour),
                'I' => write!(out, "{:02}", hour12(t.hour)),
                'j' => write!(out, "{:03}", t.yday),
                'k' => write!(out, "{:2}", t.hour),
                'l' => write!(out, "{:2}", hour12(t.hour)),
                'M' => write!(out, "{:02}", t.minute),
                'm' => write!(out, "{:02}", t.month),
                'n' => out.write_char('\n'),
                'P' => write!(out, "{}", am_pm(false)),
                'p' => write!(out, "{}", am_pm(true)),
                'R' => write!(out, "{:02}:{:02}", t.hour, t.minute),
                'r' => write!(
                    out,
                    "{:02}:{:02}:{:02} {}",
                    hour12(t.hour),
                    t.minute,
                    t.second,
                    am_pm(true)
                ),
                'S' => write!(out, "{:02}", t.second),
                's' => write!(out, "{}", t.unix),
                'T' => write!(out, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second),
                't' => out.write_char('\t'),
                'v' => write!(out, "{:2}-{}-{:04}", t.day, &month[..3], t.year),
                'w' => write!(out, "{}", t.weekday),
                'Y' => write!(out, "{:04}", t.year),
                'y' => write!(out, "{:02}", t.year.rem_euclid(100)),
                'Z' => write!(out, "{}", t.abbrev),
                // Heka compat: gostrftime prints hours and minutes as two signed numbers, so
                // -03:30 renders as "-03-30".
                _ => {
                    let minutes = t.offset / 60;
                    write!(out, "{:+03}{:02}", minutes / 60, minutes % 60)
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::gotime::tests::{T, fixed};

    #[test]
    fn strftime_matches_gostrftime() {
        let cases: &[(&str, &str)] = &[
            ("[%Y/%b/%d:%H:%M:%S %z] ", "[2015/Oct/07:18:47:00 +0000] "),
            ("%a, %d %b %Y %H:%M:%S %Z", "Wed, 07 Oct 2015 18:47:00 UTC"),
            (
                "%A %B %e %k %l %I %p %P",
                "Wednesday October  7 18  6 06 PM pm",
            ),
            (
                "%C %D %F %f %j %R %r %T %v %w %y %s",
                "2015 10/07/15 2015-10-07 123456 280 18:47 06:47:00 PM 18:47:00  7-Oct-2015 3 15 1444243620",
            ),
            ("%L %N %q %%%n%t%", "%L %N %q %\n\t%"),
            ("no conversions", "no conversions"),
        ];
        for (f, want) in cases {
            let mut s = String::new();
            Strftime::new(f).format(T, &Zone::Utc, &mut s);
            assert_eq!(s, *want, "{f}");
        }
        let mut s = String::new();
        Strftime::new("%z %Z").format(T, &fixed("X", -(3 * 3600 + 30 * 60)), &mut s);
        assert_eq!(s, "-03-30 X");
    }
}
