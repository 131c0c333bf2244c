//! Entry points for the fuzz targets in `fuzz/`, which build outside this crate.
//!
//! The plugins themselves are reached through [`crate::builtin`]; only the Go time code
//! (`support::gotime`) and the statsd code (`support::stats`, StatAccumInput's flush), which
//! are private to this crate, need a door. This module is not part of the crate's API: it
//! exists for fuzzing and may change at any time.

use crate::inputs::stat_accum::{FlushFormat, Prefixes, format_flush};
use crate::support::gotime::{Layout, NAMED_LAYOUTS, Strftime, Zone};
use crate::support::stats::{StatSink, parse_datagram};

/// Go's named layouts (`time.ANSIC` … `time.StampNano`), which PayloadRegexDecoder tries after
/// its configured layout.
pub const GO_NAMED_LAYOUTS: &[&str] = &NAMED_LAYOUTS;

/// A time zone for parsing and formatting.
#[derive(Debug, Clone)]
pub struct TimeZone(Zone);

impl TimeZone {
    /// A zone as `timestamp_location` names it (`UTC`, `Local` or an IANA name read from the
    /// system's zoneinfo); `None` when it can't be loaded.
    pub fn load(name: &str) -> Option<TimeZone> {
        Zone::load(name).ok().map(TimeZone)
    }

    /// A fixed offset of `offset` seconds east of UTC, called `name`.
    pub fn fixed(name: &str, offset: i32) -> TimeZone {
        TimeZone(Zone::Fixed {
            name: name.to_string(),
            offset,
        })
    }
}

/// Parses `value` with the Go layout `layout` (Go's `time.ParseInLocation`), placing a time
/// that carries no zone in `location`: nanoseconds since the epoch, `Ok(None)` when outside
/// the `i64` range, or the parse error's text.
pub fn parse_go_time(
    layout: &str,
    value: &[u8],
    location: &TimeZone,
) -> Result<Option<i64>, String> {
    Layout::new(layout)
        .parse(value)
        .map(|t| t.to_unix_nanos(&location.0))
        .map_err(|e| e.to_string())
}

/// `ts_ns` rendered with the Go layout `layout` in `zone` (Go's `Time.Format`).
pub fn format_go_time(layout: &str, ts_ns: i64, zone: &TimeZone) -> String {
    let mut out = String::new();
    Layout::new(layout).format(ts_ns, &zone.0, &mut out);
    out
}

/// `ts_ns` rendered with the strftime format `format` in `zone` (PayloadEncoder's
/// `ts_format`, FileOutput's rotated `path`).
pub fn format_strftime(format: &str, ts_ns: i64, zone: &TimeZone) -> String {
    let mut out = String::new();
    Strftime::new(format).format(ts_ns, &zone.0, &mut out);
    out
}

/// One stat StatsdInput read from a datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsdStat {
    /// The bucket.
    pub bucket: Vec<u8>,
    /// The value as sent.
    pub value: Vec<u8>,
    /// Its statsd type: `c`, `g`, `ms` or `s` (Heka's `h` and `m` read as `c`).
    pub kind: &'static str,
    /// Whether it is a gauge delta (statsd semantics only).
    pub delta: bool,
    /// The sample rate.
    pub sampling: f32,
}

/// What StatsdInput makes of one datagram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsdParse {
    /// The stats, in order.
    pub stats: Vec<StatsdStat>,
    /// The lines rejected.
    pub bad: Vec<Vec<u8>>,
}

/// Parses a statsd datagram as StatsdInput does, with Heka's grammar or (`statsd_semantics`)
/// statsd's gauge deltas and sets.
pub fn parse_statsd(data: &[u8], statsd_semantics: bool) -> StatsdParse {
    let mut stats = Vec::new();
    let mut bad = Vec::new();
    parse_datagram(data, statsd_semantics, &mut stats, &mut bad);
    StatsdParse {
        stats: stats
            .iter()
            .map(|s| StatsdStat {
                bucket: s.bucket.to_vec(),
                value: s.value.to_vec(),
                kind: s.kind.as_str(),
                delta: s.kind == crate::support::stats::Kind::GaugeDelta,
                sampling: s.sampling,
            })
            .collect(),
        bad: bad.iter().map(|b| b.to_vec()).collect(),
    }
}

/// StatAccumInput's options that shape a flush.
#[derive(Debug, Clone)]
pub struct FlushOptions {
    /// `legacy_namespaces`.
    pub legacy: bool,
    /// `emit_in_payload`.
    pub payload: bool,
    /// `emit_in_fields`.
    pub fields: bool,
    /// `percent_threshold`.
    pub thresholds: Vec<i64>,
    /// `ticker_interval` in seconds.
    pub interval: u64,
    /// `global_prefix`, then counter, timer, gauge, set and statsd prefixes.
    pub prefixes: [String; 6],
}

/// Feeds the stats of each datagram to a StatAccumInput's sink and formats two flushes, as
/// StatAccumInput does at Unix time `ts` and `ts + interval`, keeping idle buckets between
/// them: their payloads and their field counts.
pub fn accumulate_and_flush(
    datagrams: &[&[u8]],
    statsd_semantics: bool,
    o: &FlushOptions,
    ts: i64,
) -> [(Vec<u8>, usize); 2] {
    let sink = StatSink::default();
    for d in datagrams {
        let mut stats = Vec::new();
        let mut bad = Vec::new();
        parse_datagram(d, statsd_semantics, &mut stats, &mut bad);
        let _ = sink.submit(&stats);
    }
    let [global, counter, timer, gauge, set, statsd] = &o.prefixes;
    let f = FlushFormat::new(
        o.payload,
        o.fields,
        o.thresholds.clone(),
        o.legacy,
        &Prefixes {
            global,
            counter,
            timer,
            gauge,
            set,
            statsd,
        },
    );
    let (mut m, _) = sink.take();
    let (p1, f1) = format_flush(&f, &mut m, o.interval, ts);
    sink.keep_idle(m);
    let (mut m, _) = sink.take();
    let (p2, f2) = format_flush(&f, &mut m, o.interval, ts + o.interval as i64);
    [(p1, f1.len()), (p2, f2.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_through_the_fuzzing_door() {
        let utc = TimeZone::load("UTC").unwrap();
        let rfc3339_nano = "2006-01-02T15:04:05.999999999Z07:00";
        let t = 1_444_243_620_123_456_789;
        assert_eq!(
            format_go_time(rfc3339_nano, t, &utc),
            "2015-10-07T18:47:00.123456789Z"
        );
        let plus2 = TimeZone::fixed("CEST", 7200);
        let text = format_go_time(rfc3339_nano, t, &plus2);
        assert_eq!(text, "2015-10-07T20:47:00.123456789+02:00");
        assert_eq!(
            parse_go_time(rfc3339_nano, text.as_bytes(), &utc),
            Ok(Some(t))
        );
        assert!(parse_go_time(rfc3339_nano, b"yesterday", &utc).is_err());
        assert_eq!(format_strftime("%Y%m%d-%H", t, &plus2), "20151007-20");
        assert!(GO_NAMED_LAYOUTS.contains(&rfc3339_nano));
    }

    #[test]
    fn statsd_through_the_fuzzing_door() {
        let p = parse_statsd(b"a:1|c|@0.5\nb:+2|g\nbad", true);
        assert_eq!(p.bad, [b"bad".to_vec()]);
        assert_eq!(p.stats[0].sampling, 0.5);
        assert!(p.stats[1].delta);
        let o = FlushOptions {
            legacy: false,
            payload: true,
            fields: true,
            thresholds: vec![90],
            interval: 10,
            prefixes: ["stats", "counters", "timers", "gauges", "sets", "statsd"].map(String::from),
        };
        let [(p1, f1), (p2, f2)] = accumulate_and_flush(&[b"a:1|c"], false, &o, 100);
        assert_eq!(
            String::from_utf8(p1).unwrap(),
            "stats.counters.a.rate 0.100000 100\nstats.counters.a.count 1 100\n\
             stats.statsd.numStats 1 100\n"
        );
        assert_eq!(f1, 4);
        assert!(
            String::from_utf8(p2)
                .unwrap()
                .contains("stats.counters.a.count 0 110\n")
        );
        assert_eq!(f2, 4);
    }
}
