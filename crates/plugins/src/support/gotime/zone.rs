//! Time zones: UTC, fixed offsets, and IANA zones read from TZif files and extended past
//! their last transition by the file's POSIX TZ rule.

use std::sync::{Arc, OnceLock};

use super::{SECS_PER_DAY, civil_from_days, days_from_civil, days_in_month, is_leap};

/// Why a zone could not be loaded. The texts are Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ZoneError {
    /// A name with `..` or an absolute path.
    #[error("time: invalid location name")]
    InvalidName,
    /// No readable TZif file of that name.
    #[error("unknown time zone {0}")]
    Unknown(String),
}

/// A time zone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Zone {
    /// Coordinated Universal Time.
    Utc,
    /// A fixed offset from UTC (seconds east), with a name (used by tests and fuzzing).
    Fixed {
        /// Zone abbreviation.
        name: String,
        /// Seconds east of UTC.
        offset: i32,
    },
    /// Rules read from a TZif file.
    Rules(Arc<TzRules>),
}

/// The zone in effect at one instant, with the span over which it stays in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ZoneInfo<'a> {
    /// Seconds east of UTC.
    pub(crate) offset: i32,
    /// Abbreviation.
    pub(crate) abbrev: &'a str,
    /// First second (UTC) of the span.
    pub(crate) start: i64,
    /// First second (UTC) after the span.
    pub(crate) end: i64,
}

/// One local time type of a TZif file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZoneType {
    offset: i32,
    is_dst: bool,
    abbrev: String,
}

/// The rules of one IANA zone.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TzRules {
    types: Vec<ZoneType>,
    /// Transition instants (UTC seconds), ascending, with the type each one switches to.
    transitions: Vec<(i64, usize)>,
    /// The POSIX TZ rule for instants after the last transition.
    extend: Option<PosixTz>,
}

/// The day a POSIX TZ rule switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleDay {
    /// `Jn`: day 1–365, February 29 never counted.
    Julian(u32),
    /// `n`: zero-based day of the year, 0–365.
    DayOfYear(u32),
    /// `Mm.w.d`: day `d` (Sunday = 0) of week `w` (5 = last) of month `m`.
    MonthWeekDay { month: u32, week: u32, weekday: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    day: RuleDay,
    /// Local time of the switch, in seconds (may be negative or above a day).
    time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixTz {
    std_name: String,
    std_offset: i32,
    dst: Option<PosixDst>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PosixDst {
    name: String,
    offset: i32,
    start: Rule,
    end: Rule,
}

const ZONEINFO_DIRS: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
];

impl Zone {
    /// Go's `time.LoadLocation`: `""` and `"UTC"` are UTC, `"Local"` is [`Zone::local`], any
    /// other name is read from the zoneinfo directories.
    pub(crate) fn load(name: &str) -> Result<Zone, ZoneError> {
        match name {
            "" | "UTC" => return Ok(Zone::Utc),
            "Local" => return Ok(Zone::local()),
            _ => {}
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(ZoneError::InvalidName);
        }
        let env_dir = std::env::var("ZONEINFO").ok();
        let dirs = env_dir.iter().map(String::as_str).chain(ZONEINFO_DIRS);
        for dir in dirs {
            let path = std::path::Path::new(dir).join(name);
            if let Ok(data) = std::fs::read(&path)
                && let Some(rules) = TzRules::parse(&data)
            {
                return Ok(Zone::Rules(Arc::new(rules)));
            }
        }
        Err(ZoneError::Unknown(name.to_string()))
    }

    /// hekad's local zone, as Go determines `time.Local`: `TZ` unset → `/etc/localtime`;
    /// `TZ=""` → UTC; `TZ=name` or `TZ=:name` → that zone (a path when absolute); UTC when
    /// nothing loads.
    pub(crate) fn local() -> Zone {
        static LOCAL: OnceLock<Zone> = OnceLock::new();
        LOCAL.get_or_init(load_local).clone()
    }

    /// The zone in effect at `unix` seconds.
    pub(crate) fn lookup(&self, unix: i64) -> ZoneInfo<'_> {
        match self {
            Zone::Utc => ZoneInfo {
                offset: 0,
                abbrev: "UTC",
                start: i64::MIN,
                end: i64::MAX,
            },
            Zone::Fixed { name, offset } => ZoneInfo {
                offset: *offset,
                abbrev: name,
                start: i64::MIN,
                end: i64::MAX,
            },
            Zone::Rules(r) => r.lookup(unix),
        }
    }

    /// Seconds east of UTC of the zone abbreviated `name` near `unix` (Go's `lookupName`):
    /// a type of that name in effect at that time, else any type of that name.
    pub(super) fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        match self {
            Zone::Utc => (name == "UTC").then_some(0),
            Zone::Fixed { name: n, offset } => (n == name).then_some(*offset),
            Zone::Rules(r) => {
                let named = || r.types.iter().filter(|t| t.abbrev == name);
                named()
                    .find(|t| r.lookup(unix - i64::from(t.offset)).abbrev == t.abbrev)
                    .or_else(|| named().next())
                    .map(|t| t.offset)
            }
        }
    }

    /// UTC seconds of the wall-clock time `local` (seconds since the epoch as if the wall clock
    /// were UTC), resolved as Go's `time.Date` does, including its choice in gaps and overlaps.
    pub(crate) fn local_to_utc(&self, local: i64) -> i64 {
        let info = self.lookup(local);
        if info.offset == 0 {
            return local;
        }
        let mut offset = info.offset;
        let utc = local - i64::from(offset);
        if utc < info.start || utc >= info.end {
            offset = self.lookup(utc).offset;
        }
        local - i64::from(offset)
    }
}

fn load_local() -> Zone {
    let from_file = |path: &str| {
        std::fs::read(path)
            .ok()
            .and_then(|d| TzRules::parse(&d))
            .map(|r| Zone::Rules(Arc::new(r)))
    };
    match std::env::var("TZ") {
        Err(_) => from_file("/etc/localtime"),
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            if tz.is_empty() || tz == "UTC" {
                None
            } else if tz.starts_with('/') {
                from_file(tz)
            } else {
                Zone::load(tz).ok()
            }
        }
    }
    .unwrap_or(Zone::Utc)
}

/// Reads big-endian integers from a TZif file.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Option<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(i64::from_be_bytes(a))
    }
}

struct TzifHeader {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn tzif_header(r: &mut Reader<'_>) -> Option<TzifHeader> {
    if r.take(4)? != b"TZif" {
        return None;
    }
    let version = r.u8()?;
    r.take(15)?;
    let mut n = || r.u32().map(|v| v as usize);
    Some(TzifHeader {
        version,
        isutcnt: n()?,
        isstdcnt: n()?,
        leapcnt: n()?,
        timecnt: n()?,
        typecnt: n()?,
        charcnt: n()?,
    })
}

impl TzRules {
    /// Parses a TZif file (versions 1–4); `None` when it is not one.
    fn parse(data: &[u8]) -> Option<TzRules> {
        let mut r = Reader { data, pos: 0 };
        let mut h = tzif_header(&mut r)?;
        let mut wide = false;
        if h.version >= b'2' {
            // Skip the 32-bit body; the 64-bit one follows with its own header.
            let v1_len =
                h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
            r.take(v1_len)?;
            h = tzif_header(&mut r)?;
            wide = true;
        }
        let mut times = Vec::with_capacity(h.timecnt);
        for _ in 0..h.timecnt {
            times.push(if wide {
                r.i64()?
            } else {
                i64::from(r.u32()? as i32)
            });
        }
        let indices = r.take(h.timecnt)?.to_vec();
        let mut raw_types = Vec::with_capacity(h.typecnt);
        for _ in 0..h.typecnt {
            let offset = r.u32()? as i32;
            let is_dst = r.u8()? != 0;
            let idx = usize::from(r.u8()?);
            raw_types.push((offset, is_dst, idx));
        }
        let chars = r.take(h.charcnt)?;
        r.take(h.leapcnt * if wide { 12 } else { 8 } + h.isstdcnt + h.isutcnt)?;
        let types: Vec<ZoneType> = raw_types
            .into_iter()
            .map(|(offset, is_dst, idx)| {
                let tail = chars.get(idx..).unwrap_or(&[]);
                let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
                ZoneType {
                    offset,
                    is_dst,
                    abbrev: String::from_utf8_lossy(&tail[..end]).into_owned(),
                }
            })
            .collect();
        if types.is_empty() {
            return None;
        }
        let mut transitions = Vec::with_capacity(times.len());
        for (t, i) in times.into_iter().zip(indices) {
            let i = usize::from(i);
            if i >= types.len() {
                return None;
            }
            transitions.push((t, i));
        }
        let extend = if wide {
            let footer = r.data.get(r.pos..).unwrap_or(&[]);
            std::str::from_utf8(footer)
                .ok()
                .and_then(|s| s.strip_prefix('\n'))
                .and_then(|s| s.split('\n').next())
                .filter(|s| !s.is_empty())
                .and_then(PosixTz::parse)
        } else {
            None
        };
        Some(TzRules {
            types,
            transitions,
            extend,
        })
    }

    /// The type used before the first transition (Go's `lookupFirstZone`).
    fn first_type(&self) -> usize {
        let used = |i: usize| self.transitions.iter().any(|&(_, t)| t == i);
        if !used(0) {
            return 0;
        }
        if let Some(&(_, first)) = self.transitions.first()
            && self.types[first].is_dst
            && let Some(i) = (0..first).rev().find(|&i| !self.types[i].is_dst)
        {
            return i;
        }
        self.types.iter().position(|t| !t.is_dst).unwrap_or(0)
    }

    fn lookup(&self, unix: i64) -> ZoneInfo<'_> {
        let tx = &self.transitions;
        if tx.first().is_some_and(|&(t, _)| unix < t) {
            let z = &self.types[self.first_type()];
            return ZoneInfo {
                offset: z.offset,
                abbrev: &z.abbrev,
                start: i64::MIN,
                end: tx[0].0,
            };
        }
        // Index of the last transition at or before `unix` (a file without transitions has
        // type 0 from the beginning of time).
        let n = tx.partition_point(|&(t, _)| t <= unix);
        let (start, ty, end) = match n.checked_sub(1) {
            Some(lo) => (
                tx[lo].0,
                tx[lo].1,
                tx.get(lo + 1).map_or(i64::MAX, |&(t, _)| t),
            ),
            None => (i64::MIN, 0, i64::MAX),
        };
        if end == i64::MAX
            && let Some(ext) = &self.extend
        {
            return ext.lookup(start, unix);
        }
        let z = &self.types[ty];
        ZoneInfo {
            offset: z.offset,
            abbrev: &z.abbrev,
            start,
            end,
        }
    }
}

impl PosixTz {
    /// Parses a POSIX TZ string such as `PST8PDT,M3.2.0,M11.1.0`.
    fn parse(s: &str) -> Option<PosixTz> {
        let mut p = s.as_bytes();
        let std_name = tz_name(&mut p)?;
        let std_offset = -tz_offset(&mut p)?;
        if p.is_empty() {
            return Some(PosixTz {
                std_name,
                std_offset,
                dst: None,
            });
        }
        let name = tz_name(&mut p)?;
        let offset = if p.first().is_some_and(|&c| c != b',') {
            -tz_offset(&mut p)?
        } else {
            std_offset + 3600
        };
        let (start, end) = if p.is_empty() {
            // The rule POSIX leaves to the implementation; Go uses the US one.
            (
                Rule {
                    day: RuleDay::MonthWeekDay {
                        month: 3,
                        week: 2,
                        weekday: 0,
                    },
                    time: 7200,
                },
                Rule {
                    day: RuleDay::MonthWeekDay {
                        month: 11,
                        week: 1,
                        weekday: 0,
                    },
                    time: 7200,
                },
            )
        } else {
            p = p.strip_prefix(b",")?;
            let start = tz_rule(&mut p)?;
            p = p.strip_prefix(b",")?;
            let end = tz_rule(&mut p)?;
            if !p.is_empty() {
                return None;
            }
            (start, end)
        };
        Some(PosixTz {
            std_name,
            std_offset,
            dst: Some(PosixDst {
                name,
                offset,
                start,
                end,
            }),
        })
    }

    /// The zone at `unix`, for instants after the last transition at `last_tx` (Go's `tzset`).
    fn lookup(&self, last_tx: i64, unix: i64) -> ZoneInfo<'_> {
        let Some(dst) = &self.dst else {
            return ZoneInfo {
                offset: self.std_offset,
                abbrev: &self.std_name,
                start: last_tx,
                end: i64::MAX,
            };
        };
        let days = unix.div_euclid(SECS_PER_DAY);
        let (year, _, _) = civil_from_days(days);
        let year_start = days_from_civil(year, 1, 1) * SECS_PER_DAY;
        let ysec = unix - year_start;
        let mut std = (self.std_name.as_str(), self.std_offset);
        let mut dst_zone = (dst.name.as_str(), dst.offset);
        let mut start = rule_time(year, dst.start, self.std_offset);
        let mut end = rule_time(year, dst.end, dst.offset);
        if end < start {
            // Southern hemisphere: the year starts in summer time.
            std::mem::swap(&mut start, &mut end);
            std::mem::swap(&mut std, &mut dst_zone);
        }
        let (zone, from, to) = if ysec < start {
            (std, year_start, year_start + start)
        } else if ysec >= end {
            (std, year_start + end, year_start + 365 * SECS_PER_DAY)
        } else {
            (dst_zone, year_start + start, year_start + end)
        };
        ZoneInfo {
            offset: zone.1,
            abbrev: zone.0,
            start: from,
            end: to,
        }
    }
}

/// Seconds from the start of `year` (UTC) at which `rule` switches, `offset` being the offset
/// in effect before the switch.
fn rule_time(year: i64, rule: Rule, offset: i32) -> i64 {
    let day = match rule.day {
        RuleDay::Julian(n) => {
            let n = i64::from(n) - 1;
            if is_leap(year) && n >= 59 { n + 1 } else { n }
        }
        RuleDay::DayOfYear(n) => i64::from(n),
        RuleDay::MonthWeekDay {
            month,
            week,
            weekday,
        } => {
            let first = days_from_civil(year, month, 1);
            let first_dow = (first + 4).rem_euclid(7);
            let mut d = (i64::from(weekday) - first_dow).rem_euclid(7);
            let len = i64::from(days_in_month(year, month));
            for _ in 1..week {
                if d + 7 >= len {
                    break;
                }
                d += 7;
            }
            first + d - days_from_civil(year, 1, 1)
        }
    };
    day * SECS_PER_DAY + rule.time - i64::from(offset)
}

fn tz_name(p: &mut &[u8]) -> Option<String> {
    let s = *p;
    if let Some(rest) = s.strip_prefix(b"<") {
        let end = rest.iter().position(|&c| c == b'>')?;
        *p = &rest[end + 1..];
        return Some(String::from_utf8_lossy(&rest[..end]).into_owned());
    }
    let end = s
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    if end < 3 {
        return None;
    }
    *p = &s[end..];
    Some(String::from_utf8_lossy(&s[..end]).into_owned())
}

fn tz_num(p: &mut &[u8]) -> Option<i64> {
    let s = *p;
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 || end > 4 {
        return None;
    }
    *p = &s[end..];
    std::str::from_utf8(&s[..end]).ok()?.parse().ok()
}

/// `[+-]hh[:mm[:ss]]` in seconds, POSIX sign (west positive), as an `i32`.
fn tz_offset(p: &mut &[u8]) -> Option<i32> {
    i32::try_from(tz_time(p)?).ok()
}

fn tz_time(p: &mut &[u8]) -> Option<i64> {
    let mut sign = 1;
    if let Some(&c @ (b'+' | b'-')) = p.first() {
        if c == b'-' {
            sign = -1;
        }
        *p = &p[1..];
    }
    let mut secs = tz_num(p)? * 3600;
    for mult in [60, 1] {
        match p.strip_prefix(b":") {
            Some(rest) => {
                *p = rest;
                secs += tz_num(p)? * mult;
            }
            None => break,
        }
    }
    Some(sign * secs)
}

fn tz_rule(p: &mut &[u8]) -> Option<Rule> {
    let day = match p.first()? {
        b'J' => {
            *p = &p[1..];
            let n = tz_num(p)?;
            RuleDay::Julian(u32::try_from(n).ok().filter(|n| (1..=365).contains(n))?)
        }
        b'M' => {
            *p = &p[1..];
            let month = tz_num(p)?;
            *p = p.strip_prefix(b".")?;
            let week = tz_num(p)?;
            *p = p.strip_prefix(b".")?;
            let weekday = tz_num(p)?;
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || weekday > 6 {
                return None;
            }
            RuleDay::MonthWeekDay {
                month: month as u32,
                week: week as u32,
                weekday: weekday as u32,
            }
        }
        _ => RuleDay::DayOfYear(u32::try_from(tz_num(p)?).ok().filter(|n| *n <= 365)?),
    };
    let time = match p.strip_prefix(b"/") {
        Some(rest) => {
            *p = rest;
            tz_time(p)?
        }
        None => 7200,
    };
    Some(Rule { day, time })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::gotime::Layout;

    fn zone(name: &str) -> Zone {
        Zone::load(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn loads_iana_zones_with_dst_from_zoneinfo() {
        let la = zone("America/Los_Angeles");
        // Summer (PDT) and winter (PST), before and far after the last listed transition.
        for (ts, offset, abbrev) in [
            (1_366_318_828, -7 * 3600, "PDT"),
            (1_356_998_400, -8 * 3600, "PST"),
            (4_102_444_800 + 180 * 86_400, -7 * 3600, "PDT"),
            (4_102_444_800, -8 * 3600, "PST"),
        ] {
            let z = la.lookup(ts);
            assert_eq!((z.offset, z.abbrev), (offset, abbrev), "{ts}");
        }
        // 2013-04-18 14:00:28 wall clock in Los Angeles is 21:00:28 UTC.
        let p = Layout::new("02/Jan/2006:15:04:05")
            .parse(b"18/Apr/2013:14:00:28")
            .unwrap();
        assert_eq!(p.to_unix_nanos(&la), Some(1_366_318_828_000_000_000));
        // A zone abbreviation of the location is resolved with it.
        let p = Layout::new("2006-01-02 15:04 MST")
            .parse(b"2013-01-01 00:00 PST")
            .unwrap();
        assert_eq!(p.to_unix_nanos(&la), Some(1_357_027_200_000_000_000));
        let syd = zone("Australia/Sydney");
        assert_eq!(syd.lookup(1_356_998_400).abbrev, "AEDT");
        assert_eq!(syd.lookup(1_356_998_400 + 180 * 86_400).abbrev, "AEST");
        assert_eq!(zone("UTC"), Zone::Utc);
        assert_eq!(zone(""), Zone::Utc);
        assert_eq!(
            Zone::load("Nowhere/Special"),
            Err(ZoneError::Unknown("Nowhere/Special".into()))
        );
        assert_eq!(Zone::load("../etc/passwd"), Err(ZoneError::InvalidName));
    }

    #[test]
    fn posix_rules_switch_on_the_right_days() {
        let tz = PosixTz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        // 2030-03-10 is the second Sunday of March: EDT from 07:00 UTC.
        let switch = days_from_civil(2030, 3, 10) * SECS_PER_DAY + 7 * 3600;
        assert_eq!(tz.lookup(0, switch - 1).abbrev, "EST");
        assert_eq!(tz.lookup(0, switch).abbrev, "EDT");
        assert_eq!(tz.lookup(0, switch).offset, -4 * 3600);
        let tz = PosixTz::parse("<+0330>-3:30").unwrap();
        assert_eq!(
            (tz.lookup(0, 0).offset, tz.lookup(0, 0).abbrev),
            (12_600, "+0330")
        );
        assert!(PosixTz::parse("X5").is_none());
    }
}
