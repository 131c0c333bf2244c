//! Fuzzes StatsdInput's statsd line parser and StatAccumInput's flush (`support::stats`,
//! `inputs::stat_accum`, reached through `heka_plugins::fuzzing`).
//!
//! Input layout: byte 0 holds option bits (statsd semantics, legacy namespaces, payload and
//! fields, empty prefixes, a second percentile); byte 1 the ticker interval; the rest is split
//! on NUL bytes into datagrams.
//!
//! Nothing may panic. Every non-empty line of a datagram is either a stat or a bad line; a
//! stat written back as `<bucket>:<value>|<type>[|@<rate>]` parses to itself. Both flushes end
//! with the numStats line, every payload line ends with the flush's timestamp, and with
//! payload and fields both on there is one field per payload line plus `timestamp`.

#![no_main]

use heka_plugins::fuzzing::{FlushOptions, accumulate_and_flush, parse_statsd};
use libfuzzer_sys::fuzz_target;

/// The trimmed, non-empty lines of a datagram, as StatsdInput splits them.
fn lines(d: &[u8]) -> usize {
    let space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n');
    d.split(|&c| c == b'\n')
        .filter(|l| l.iter().any(|c| !space(c)))
        .count()
}

fuzz_target!(|data: &[u8]| {
    let [bits, interval, rest @ ..] = data else {
        return;
    };
    let statsd = bits & 1 != 0;
    let datagrams: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    for d in &datagrams {
        let p = parse_statsd(d, statsd);
        assert_eq!(p.stats.len() + p.bad.len(), lines(d), "{d:?}");
        for s in &p.stats {
            let mut line = s.bucket.clone();
            line.push(b':');
            line.extend_from_slice(&s.value);
            line.push(b'|');
            line.extend_from_slice(s.kind.as_bytes());
            if s.sampling != 1.0 {
                line.extend_from_slice(format!("|@{}", s.sampling).as_bytes());
            }
            let again = parse_statsd(&line, statsd);
            assert_eq!(again.stats, std::slice::from_ref(s), "{line:?} from {d:?}");
        }
    }
    let prefix = |name: &str| {
        if bits & 16 != 0 {
            String::new()
        } else {
            name.to_string()
        }
    };
    let (payload, fields) = match (bits >> 2) & 3 {
        0 => (true, false),
        1 => (false, true),
        _ => (true, true),
    };
    let o = FlushOptions {
        legacy: bits & 2 != 0,
        payload,
        fields,
        thresholds: if bits & 32 != 0 {
            vec![90, 0]
        } else {
            vec![95]
        },
        interval: u64::from(*interval).max(1),
        prefixes: [
            prefix("stats"),
            prefix("counters"),
            "timers.".to_string(),
            prefix("gauges"),
            "sets".to_string(),
            prefix("statsd"),
        ],
    };
    let ts = 1_400_000_000;
    for (i, (p, nfields)) in accumulate_and_flush(&datagrams, statsd, &o, ts)
        .iter()
        .enumerate()
    {
        let ts = ts + i as i64 * o.interval as i64;
        let suffix = format!(" {ts}");
        let text = String::from_utf8_lossy(p);
        let n = p.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count();
        if payload {
            assert!(p.ends_with(b"\n"));
            for l in p.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                assert!(l.ends_with(suffix.as_bytes()), "{text}");
            }
            let last = text.lines().last().unwrap_or_default();
            assert!(last.contains("numStats "), "{text}");
        } else {
            assert!(p.is_empty());
        }
        if payload && fields {
            assert_eq!(*nfields, n + 1, "{text}");
        }
    }
});
