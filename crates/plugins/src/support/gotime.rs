//! Go time layouts, strftime formats and IANA time zones.
//!
//! Heka's plugins write times in two notations, and both are implemented here:
//!
//! * [`Layout`]: Go's reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`), parsed and
//!   formatted with the rules of Go's `time` package (`PayloadRegexDecoder`'s
//!   `timestamp_layout`, `RstEncoder`'s `Time.String()` rendering).
//! * [`Strftime`]: strftime formats as rendered by the cactus/gostrftime version Heka pins
//!   (`PayloadEncoder`'s `ts_format`).
//! * [`Zone`]: UTC, fixed offsets, and IANA zones read from the system's TZif files
//!   (`/usr/share/zoneinfo`, or the directory named by `ZONEINFO`), including the POSIX TZ rule
//!   that extends a zone past its last listed transition. [`Zone::local`] follows Go's rules
//!   for `time.Local` (`TZ`, else `/etc/localtime`, else UTC).
//!
//! Times are `i64` nanoseconds since the Unix epoch, as in Heka messages.

use std::sync::{Arc, OnceLock};

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

// ---------------------------------------------------------------------------------------------
// Zones.

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
    /// A fixed offset from UTC (seconds east), with a name.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only tests render times at a fixed offset")
    )]
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
    fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
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

// ---------------------------------------------------------------------------------------------
// Go layouts.

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
}

impl ParsedTime {
    /// Nanoseconds since the epoch, with `location` applying when the text carried no zone
    /// (Go's `ParseInLocation`). `None` when out of the `i64` nanosecond range.
    pub(crate) fn to_unix_nanos(&self, location: &Zone) -> Option<i64> {
        let days = days_from_civil(self.year, self.month, self.day);
        let wall = days
            .checked_mul(SECS_PER_DAY)?
            .checked_add(i64::from(self.hour * 3600 + self.minute * 60 + self.second))?;
        let secs = match &self.zone {
            ParsedZone::Location => location.local_to_utc(wall),
            ParsedZone::Utc => wall,
            ParsedZone::Offset(o) => wall - i64::from(*o),
            ParsedZone::Abbrev(name) => match location.lookup_name(name, wall) {
                Some(o) => wall - i64::from(o),
                None => wall - i64::from(gmt_offset(name).unwrap_or(0)),
            },
        };
        secs.checked_mul(NANOS_PER_SEC)?
            .checked_add(i64::from(self.nanos))
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
                }
                Std::LongYear => {
                    let y = atoi(v.get(..4).ok_or_else(mismatch)?).ok_or_else(mismatch)?;
                    v = &v[4..];
                    p.year = i64::from(y);
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
                    v = &v[len..];
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(v, std == Std::ZeroMonth).ok_or_else(mismatch)?;
                    if !(1..=12).contains(&m) {
                        return Err(TimeParseError::OutOfRange("month"));
                    }
                    p.month = m;
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
        if p.day < 1 || p.day > days_in_month(p.year, p.month) {
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

fn hour12(h: u32) -> u32 {
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

// ---------------------------------------------------------------------------------------------
// strftime.

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

    /// 2015-10-07 18:47:00.123456789 UTC.
    const T: i64 = 1_444_243_620_123_456_789;

    fn fmt_layout(layout: &str, ts: i64, zone: &Zone) -> String {
        let mut s = String::new();
        Layout::new(layout).format(ts, zone, &mut s);
        s
    }

    fn fixed(name: &str, offset: i32) -> Zone {
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
