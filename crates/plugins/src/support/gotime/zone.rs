//! Time zones: UTC, fixed offsets, and IANA zones from the system's tz database (through
//! jiff, which reads the TZif files and extends them by their POSIX TZ rules).

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};

use super::timestamp;

/// Why a zone could not be loaded. The texts are Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ZoneError {
    /// A name with `..` or an absolute path.
    #[error("time: invalid location name")]
    InvalidName,
    /// No zone of that name in the tz database.
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
    /// A zone of the tz database (or the system's zone).
    Tz(Arc<TzZone>),
}

/// A jiff time zone, with the abbreviations it uses (collected when first needed).
#[derive(Debug)]
pub(crate) struct TzZone {
    tz: TimeZone,
    /// Each abbreviation the zone uses with its offset, in order of first use.
    names: OnceLock<Vec<(String, i32)>>,
}

impl PartialEq for TzZone {
    fn eq(&self, other: &TzZone) -> bool {
        self.tz == other.tz
    }
}

/// The zone in effect at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneInfo {
    /// Seconds east of UTC.
    pub(crate) offset: i32,
    /// Abbreviation (`UTC`, `CEST`, `-03`, …).
    pub(crate) abbrev: String,
}

/// Transitions past this instant (2200-01-01) are not searched for abbreviations: the zone's
/// POSIX rule repeats the same ones forever.
const NAMES_UNTIL: i64 = 7_258_118_400;

impl Zone {
    /// Go's `time.LoadLocation`: `""` and `"UTC"` are UTC, `"Local"` is [`Zone::local`], any
    /// other name is looked up in the directory `ZONEINFO` names (as Go does), then in the
    /// system's tz database (`/usr/share/zoneinfo`, or `TZDIR`).
    pub(crate) fn load(name: &str) -> Result<Zone, ZoneError> {
        match name {
            "" | "UTC" => return Ok(Zone::Utc),
            "Local" => return Ok(Zone::local()),
            _ => {}
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(ZoneError::InvalidName);
        }
        zoneinfo_env_db()
            .and_then(|db| db.get(name).ok())
            .or_else(|| TimeZone::get(name).ok())
            .map(Zone::from_jiff)
            .ok_or_else(|| ZoneError::Unknown(name.to_string()))
    }

    /// hekad's local zone: the system's (`TZ` — a zone name, a TZif path or a POSIX rule; `TZ=""`
    /// is UTC — else `/etc/localtime`), UTC when it can't be determined. Read once.
    pub(crate) fn local() -> Zone {
        static LOCAL: OnceLock<Zone> = OnceLock::new();
        LOCAL
            .get_or_init(|| match TimeZone::try_system() {
                Ok(tz) if tz != TimeZone::UTC => Zone::from_jiff(tz),
                _ => Zone::Utc,
            })
            .clone()
    }

    fn from_jiff(tz: TimeZone) -> Zone {
        Zone::Tz(Arc::new(TzZone {
            tz,
            names: OnceLock::new(),
        }))
    }

    /// Seconds east of UTC at `unix` seconds.
    pub(crate) fn offset_at(&self, unix: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed { offset, .. } => *offset,
            Zone::Tz(z) => z.tz.to_offset(timestamp(unix)).seconds(),
        }
    }

    /// The offset and abbreviation in effect at `unix` seconds.
    pub(crate) fn lookup(&self, unix: i64) -> ZoneInfo {
        match self {
            Zone::Utc => ZoneInfo {
                offset: 0,
                abbrev: "UTC".to_string(),
            },
            Zone::Fixed { name, offset } => ZoneInfo {
                offset: *offset,
                abbrev: name.clone(),
            },
            Zone::Tz(z) => {
                let info = z.tz.to_offset_info(timestamp(unix));
                ZoneInfo {
                    offset: info.offset().seconds(),
                    abbrev: info.abbreviation().to_string(),
                }
            }
        }
    }

    /// Seconds east of UTC of the zone abbreviated `name` near `unix` (Go's `lookupName`):
    /// an abbreviation of that name in effect at that time, else any use of that name.
    pub(super) fn lookup_name(&self, name: &str, unix: i64) -> Option<i32> {
        match self {
            Zone::Utc => (name == "UTC").then_some(0),
            Zone::Fixed { name: n, offset } => (n == name).then_some(*offset),
            Zone::Tz(z) => {
                let named = || z.names().iter().filter(|(n, _)| n == name);
                named()
                    .find_map(|&(_, offset)| {
                        let info = z.tz.to_offset_info(timestamp(unix - i64::from(offset)));
                        (info.abbreviation() == name).then(|| info.offset().seconds())
                    })
                    .or_else(|| named().next().map(|&(_, offset)| offset))
            }
        }
    }

    /// UTC seconds of the wall-clock time `wall` (seconds since the epoch as if the wall clock
    /// were UTC), resolved as Go's `time.Date` does. In a gap or an overlap Go takes the offset
    /// in effect at `wall` read as UTC, unless the instant that gives falls outside that
    /// offset's span, then the offset at that instant: so in a gap the wall clock moves forward
    /// east of Greenwich (Paris 02:30 → 03:30 CEST) and back west of it (New York 02:30 →
    /// 01:30 EST); in an overlap Paris gets the later instant and New York the earlier one.
    pub(crate) fn local_to_utc(&self, wall: i64) -> i64 {
        let guess = wall - i64::from(self.offset_at(wall));
        wall - i64::from(self.offset_at(guess))
    }
}

impl TzZone {
    /// The abbreviations the zone uses, with their offsets, in order of first use (Go looks
    /// them up in its list of the zone's types).
    fn names(&self) -> &[(String, i32)] {
        self.names.get_or_init(|| {
            let first = self.tz.to_offset_info(Timestamp::MIN);
            let mut names = vec![(first.abbreviation().to_string(), first.offset().seconds())];
            for t in self
                .tz
                .following(Timestamp::MIN)
                .take_while(|t| t.timestamp().as_second() < NAMES_UNTIL)
            {
                let entry = (t.abbreviation().to_string(), t.offset().seconds());
                if !names.contains(&entry) {
                    names.push(entry);
                }
            }
            names
        })
    }
}

/// The tz database in the directory `ZONEINFO` names, which Go searches first.
fn zoneinfo_env_db() -> Option<&'static TimeZoneDatabase> {
    static DB: OnceLock<Option<TimeZoneDatabase>> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = std::env::var_os("ZONEINFO").filter(|d| !d.is_empty())?;
        TimeZoneDatabase::from_dir(dir).ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::gotime::Layout;

    fn zone(name: &str) -> Zone {
        Zone::load(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn loads_iana_zones_with_dst_from_the_tz_database() {
        let la = zone("America/Los_Angeles");
        // Summer (PDT) and winter (PST), before and far after the last listed transition.
        for (ts, offset, abbrev) in [
            (1_366_318_828, -7 * 3600, "PDT"),
            (1_356_998_400, -8 * 3600, "PST"),
            (4_102_444_800 + 180 * 86_400, -7 * 3600, "PDT"),
            (4_102_444_800, -8 * 3600, "PST"),
            // Local mean time before 1883: an offset with seconds.
            (-3_000_000_000, -(7 * 3600 + 52 * 60 + 58), "LMT"),
        ] {
            let z = la.lookup(ts);
            assert_eq!((z.offset, z.abbrev.as_str()), (offset, abbrev), "{ts}");
            assert_eq!(la.offset_at(ts), offset);
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
        assert_eq!(zone("Europe/Paris"), zone("Europe/Paris"));
        assert_ne!(zone("Europe/Paris"), zone("Europe/Berlin"));
        // jiff's database matches names without regard to case (Go: exactly).
        assert_eq!(zone("europe/paris").lookup(1_625_140_800).abbrev, "CEST");
        assert_eq!(
            Zone::load("Nowhere/Special"),
            Err(ZoneError::Unknown("Nowhere/Special".into()))
        );
        assert_eq!(Zone::load("../etc/passwd"), Err(ZoneError::InvalidName));
        assert_eq!(Zone::load("/etc/passwd"), Err(ZoneError::InvalidName));
    }

    #[test]
    fn abbreviations_resolve_to_the_offset_in_effect_when_the_name_is_reused() {
        let paris = zone("Europe/Paris");
        // 2021-07-01 12:00 as if UTC.
        let summer = 1_625_140_800;
        assert_eq!(paris.lookup_name("CEST", summer), Some(7200));
        assert_eq!(paris.lookup_name("CET", summer), Some(3600));
        assert_eq!(paris.lookup_name("EST", summer), None);
        // Paris used "PMT" (Paris Mean Time, +00:09:21) until 1911.
        assert_eq!(paris.lookup_name("PMT", summer), Some(561));
        let utc = Zone::Utc;
        assert_eq!(utc.lookup_name("UTC", summer), Some(0));
        assert_eq!(utc.lookup_name("GMT", summer), None);
    }

    /// Go's `time.Date` in the gaps and overlaps of a zone east and a zone west of Greenwich
    /// (the results below are Go's).
    #[test]
    fn wall_clocks_in_gaps_and_overlaps_resolve_as_in_go() {
        let wall = |y: i16, mo: i8, d: i8, h: i8, mi: i8| {
            super::super::wall_seconds(jiff::civil::datetime(y, mo, d, h, mi, 0, 0))
        };
        let paris = zone("Europe/Paris");
        // Gap: 2021-03-28 02:00 → 03:00. 02:30 becomes 03:30 CEST = 01:30Z.
        assert_eq!(paris.local_to_utc(wall(2021, 3, 28, 2, 30)), 1_616_895_000);
        // Overlap: 2021-10-31 03:00 CEST → 02:00 CET. 02:30 is read as CET = 01:30Z.
        assert_eq!(paris.local_to_utc(wall(2021, 10, 31, 2, 30)), 1_635_643_800);
        // Either side of the changes.
        assert_eq!(paris.local_to_utc(wall(2021, 3, 28, 1, 59)), 1_616_893_140);
        assert_eq!(paris.local_to_utc(wall(2021, 3, 28, 3, 0)), 1_616_893_200);
        assert_eq!(paris.local_to_utc(wall(2021, 10, 31, 1, 59)), 1_635_638_340);
        assert_eq!(paris.local_to_utc(wall(2021, 10, 31, 3, 0)), 1_635_645_600);
        let ny = zone("America/New_York");
        // Gap: 2021-03-14 02:00 → 03:00. 02:30 becomes 01:30 EST = 06:30Z.
        assert_eq!(ny.local_to_utc(wall(2021, 3, 14, 2, 30)), 1_615_703_400);
        // Overlap: 2021-11-07 02:00 EDT → 01:00 EST. 01:30 is read as EDT = 05:30Z.
        assert_eq!(ny.local_to_utc(wall(2021, 11, 7, 1, 30)), 1_636_263_000);
        assert_eq!(ny.local_to_utc(wall(2021, 3, 14, 3, 0)), 1_615_705_200);
        assert_eq!(ny.local_to_utc(wall(2021, 11, 7, 2, 0)), 1_636_268_400);
    }
}
