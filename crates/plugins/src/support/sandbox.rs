//! What the sandbox plugins share: Go's time parsing for `write_message("Timestamp", text)`
//! and the `config.tz` option.

use heka_pipeline::config::ConfigError;
use heka_pipeline::registry::BuildContext;

use crate::support::gotime::{Layout, Zone};

/// Heka's `ForgivingTimeParse` with no layout, in UTC: the first of Go's named layouts
/// (`ANSIC` … `StampNano`) that reads `text`, as nanoseconds since the epoch. (Go tried them in
/// map order, which varies; a text that two layouts read gives the same instant either way
/// except for the year-less `Stamp` family.)
pub(crate) fn forgiving_time(text: &[u8]) -> Option<i64> {
    crate::support::gotime::NAMED_LAYOUTS
        .iter()
        .find_map(|l| Layout::new(l).parse(text).ok()?.to_unix_nanos(&Zone::Utc))
}

/// The zone `config.tz` names (Go's `time.LoadLocation`), `None` for UTC or when unset. An
/// unknown zone or a value that is not a string is a config error (Heka failed to start, or
/// panicked on a non-string).
pub(crate) fn config_tz(
    ctx: &BuildContext<'_>,
    config: &toml::Table,
) -> Result<Option<Zone>, ConfigError> {
    let Some(tz) = config.get("tz") else {
        return Ok(None);
    };
    let Some(name) = tz.as_str() else {
        return Err(ctx.error(
            Some("config"),
            "config.tz must be a string (a time zone name)",
        ));
    };
    match Zone::load(name) {
        Ok(Zone::Utc) => Ok(None),
        Ok(z) => Ok(Some(z)),
        Err(e) => Err(ctx.error(Some("config"), format!("unknown tz '{name}': {e}"))),
    }
}

/// Reads the wall clock of `ts` (ns, as UTC) as a wall clock in `zone`: Heka's `tz` fix-up of
/// injected timestamps.
pub(crate) fn rezone(ts: i64, zone: &Zone) -> i64 {
    const NS: i64 = 1_000_000_000;
    let (secs, nanos) = (ts.div_euclid(NS), ts.rem_euclid(NS));
    zone.local_to_utc(secs)
        .saturating_mul(NS)
        .saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgiving_time_reads_go_named_layouts() {
        assert_eq!(
            forgiving_time(b"2013-12-02T07:21:54.904958136Z"),
            Some(1_385_968_914_904_958_136)
        );
        assert_eq!(
            forgiving_time(b"Mon, 02 Dec 2013 07:21:54 +0100"),
            Some(1_385_965_314_000_000_000)
        );
        assert_eq!(forgiving_time(b"not a time"), None);
    }

    #[test]
    fn rezone_reads_the_wall_clock_in_the_zone() {
        let paris = Zone::load("Europe/Paris").unwrap();
        // 2015-10-07 18:47:00 UTC read as Paris summer time (UTC+2) is 16:47 UTC.
        let t = 1_444_243_620_123_456_789;
        assert_eq!(rezone(t, &paris), t - 7200 * 1_000_000_000);
        assert_eq!(rezone(-1, &Zone::Utc), -1);
    }
}
