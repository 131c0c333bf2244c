//! Statsd-style stats: the [`Stat`] that StatsdInput parses out of datagrams and StatFilter
//! makes from messages, the statsd line grammar, and the [`StatSink`] through which such plugins
//! hand stats to a StatAccumInput.
//!
//! # The sink
//!
//! A StatAccumInput publishes its sink under its section name ([`heka_pipeline::registry::Links`]);
//! StatsdInput and StatFilter find it through their `stat_accum_name`. Heka sent every stat over a channel to
//! the accumulator's goroutine, which added it to its maps. Here the sink *is* those maps,
//! behind a mutex: a submitting plugin adds a whole datagram's stats under one lock, and the
//! accumulator takes the maps out (swapping in empty ones) when it flushes and formats them
//! outside the lock. So there is no queue that could grow, and the lock is held only for the
//! hash updates of one datagram or for swapping the maps and putting the idle buckets back,
//! never across I/O: a statsd reader never waits on the router.
//!
//! What the maps hold is bounded: at most [`MAX_BUCKETS`] buckets and [`MAX_VALUES`] timer
//! values and set members between two flushes. A stat beyond that is dropped and counted
//! (the accumulator logs the count at its next flush). A closed sink (its accumulator has
//! stopped for good) refuses stats; the submitter counts and logs them as undelivered, as
//! Heka's StatsdInput did.
//!
//! # Number syntax
//!
//! Values are parsed with Go's `strconv.ParseFloat` rules ([`parse_go_float`]), which Heka
//! used, so `+5`, `1e3`, `inf` and `NaN` read as Go read them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::support::gonum::{go_float_or_zero, parse_go_float};

/// Most buckets (counters, gauges, timers and sets together) a sink holds.
pub(crate) const MAX_BUCKETS: usize = 1 << 20;

/// Most timer values and set members a sink holds between two flushes (80 MB of timer values).
pub(crate) const MAX_VALUES: usize = 10_000_000;

/// What a stat updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `c` (and Heka's `h` and `m`, which it counted too): adds `value / sample rate`.
    Counter,
    /// `g`: sets the gauge.
    Gauge,
    /// `g` with a signed value, with statsd's semantics: adds to the gauge.
    GaugeDelta,
    /// `ms`: one timing.
    Timer,
    /// `s`, with statsd's semantics: one member of a set of distinct values.
    Set,
}

impl Kind {
    /// The statsd type letter(s).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "c",
            Kind::Gauge | Kind::GaugeDelta => "g",
            Kind::Timer => "ms",
            Kind::Set => "s",
        }
    }
}

/// One stat (Heka's `Stat`: bucket, value, modifier, sampling), borrowed from the datagram it
/// was read from. The value is kept as text, as Heka kept it: the accumulator parses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stat<'a> {
    /// The bucket (metric name).
    pub(crate) bucket: &'a [u8],
    /// The value as sent.
    pub(crate) value: &'a [u8],
    /// What it updates.
    pub(crate) kind: Kind,
    /// The sample rate (1 when none was given).
    pub(crate) sampling: f32,
}

/// Trims Heka's `" \t\n"` from both ends.
fn trim(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n');
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Parses one statsd datagram into `stats`, putting every line it rejects into `bad`.
///
/// The grammar is Heka's (plugins/statsd/statsd_input.go): the datagram is trimmed of
/// `" \t\n"`, split on `\n`, and each line trimmed again; empty lines are skipped. A line is
/// `<bucket>:<value>|<type>[|@<rate>]`: the bucket is what precedes the first `:`, the value
/// what lies between it and the next `|`. The type is `g`, `h`, `m`, `c` or `ms`; longer type
/// texts starting with `c`, `g` or `ms` take the sample rate from a `|@` that follows the type
/// letter (and one `s`), whatever else they hold. `h` and `m` count like `c`.
///
/// With `statsd_semantics` (statsd's own daemon, not Heka), a gauge whose value starts with
/// `+` or `-` adds to the gauge, and the type `s` adds a member to a set.
///
/// Rejected lines: no `:`, fewer than two bytes after it, no `|` after it, nothing after the
/// `|`, an unknown type, a sample rate that is not a number (Go syntax, within float32), and,
/// unlike Heka (which then counted infinities), a sample rate of zero or not finite.
pub(crate) fn parse_datagram<'a>(
    data: &'a [u8],
    statsd_semantics: bool,
    stats: &mut Vec<Stat<'a>>,
    bad: &mut Vec<&'a [u8]>,
) {
    for line in trim(data).split(|&c| c == b'\n') {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        match parse_line(line, statsd_semantics) {
            Some(s) => stats.push(s),
            None => bad.push(line),
        }
    }
}

/// One trimmed, non-empty line (see [`parse_datagram`]).
fn parse_line(line: &[u8], statsd_semantics: bool) -> Option<Stat<'_>> {
    let colon = memchr::memchr(b':', line)?;
    if line.len() < colon + 3 {
        return None;
    }
    let pipe = colon + 1 + memchr::memchr(b'|', &line[colon + 1..])?;
    if line.len() < pipe + 2 {
        return None;
    }
    let bucket = &line[..colon];
    let value = &line[colon + 1..pipe];
    let modifier = &line[pipe + 1..];
    let set = statsd_semantics.then_some(b's');
    // Heka compat: extractModifier. One letter: g, h, m, c; two: only `ms`; longer: a type
    // letter followed by anything, where a sample rate may be found.
    let (kind, longer) = match modifier {
        [c] => (letter_kind(*c, set)?, false),
        b"ms" => (Kind::Timer, false),
        [_, _] => return None,
        [b'c', ..] => (Kind::Counter, true),
        [b'g', ..] => (Kind::Gauge, true),
        [b'm', b's', ..] => (Kind::Timer, true),
        [c, ..] if Some(*c) == set => (Kind::Set, true),
        _ => return None,
    };
    let mut sampling = 1.0f32;
    if longer {
        // Heka compat: extractSampleRate drops one leading `s` (left over from `ms`) whatever
        // the type was, then wants `|@` and at least one more byte.
        let mut rest = &modifier[1..];
        if let [b's', tail @ ..] = rest {
            rest = tail;
        }
        if rest.len() >= 3 && rest.starts_with(b"|@") {
            let rate = parse_go_float(&rest[2..], true).ok()? as f32;
            if !rate.is_finite() || rate == 0.0 {
                return None;
            }
            sampling = rate;
        }
    }
    let kind = match kind {
        Kind::Gauge if statsd_semantics && matches!(value.first(), Some(b'+' | b'-')) => {
            Kind::GaugeDelta
        }
        k => k,
    };
    Some(Stat {
        bucket,
        value,
        kind,
        sampling,
    })
}

fn letter_kind(c: u8, set: Option<u8>) -> Option<Kind> {
    match c {
        b'g' => Some(Kind::Gauge),
        b'h' | b'm' | b'c' => Some(Kind::Counter),
        _ if Some(c) == set => Some(Kind::Set),
        _ => None,
    }
}

/// Appends `v` as Go's `%f` prints a float64: six decimals, `NaN`, `+Inf`, `-Inf`.
pub(crate) fn write_go_f(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        let _ = write!(out, "{v:.6}");
    }
}

/// The stats accumulated between two flushes (Heka's StatAccumInput maps, plus statsd's sets).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Counter buckets: Heka's Go `int` sums.
    pub(crate) counters: HashMap<Vec<u8>, i64>,
    /// Gauge buckets: the last value (or the sum of deltas).
    pub(crate) gauges: HashMap<Vec<u8>, f64>,
    /// Timer buckets: every timing since the last flush.
    pub(crate) timers: HashMap<Vec<u8>, Vec<f64>>,
    /// Set buckets: the distinct members since the last flush.
    pub(crate) sets: HashMap<Vec<u8>, HashSet<Vec<u8>>>,
    /// Timer values and set members held.
    values: usize,
}

impl Metrics {
    fn buckets(&self) -> usize {
        self.counters.len() + self.gauges.len() + self.timers.len() + self.sets.len()
    }

    /// Adds one stat with Heka's accumulation rules; false when a limit refuses it.
    fn add(&mut self, s: &Stat<'_>, limits: Limits) -> bool {
        let full = self.buckets() >= limits.buckets;
        match s.kind {
            Kind::Timer => {
                if self.values >= limits.values {
                    return false;
                }
                let v = go_float_or_zero(s.value, false);
                match self.timers.get_mut(s.bucket) {
                    Some(t) => t.push(v),
                    None if full => return false,
                    None => {
                        self.timers.insert(s.bucket.to_vec(), vec![v]);
                    }
                }
                self.values += 1;
            }
            Kind::Gauge | Kind::GaugeDelta => {
                let v = go_float_or_zero(s.value, false);
                match self.gauges.get_mut(s.bucket) {
                    Some(g) if s.kind == Kind::GaugeDelta => *g += v,
                    Some(g) => *g = v,
                    None if full => return false,
                    None => {
                        self.gauges.insert(s.bucket.to_vec(), v);
                    }
                }
            }
            Kind::Counter => {
                // Heka compat: pipeline/stat_accum_input.go computes in float32 and truncates
                // each stat on its own: `int(float32(value) * (1 / sampling))`.
                let v = go_float_or_zero(s.value, true) as f32;
                let product = v * (1.0 / s.sampling);
                // Deliberate difference: Go's conversion of a product that is not a finite
                // int is undefined (the minimum int64 on amd64); it adds nothing here.
                let add = if product.is_finite() && product.abs() < 9.2e18 {
                    product as i64
                } else {
                    0
                };
                match self.counters.get_mut(s.bucket) {
                    Some(c) => *c = c.wrapping_add(add),
                    None if full => return false,
                    None => {
                        self.counters.insert(s.bucket.to_vec(), add);
                    }
                }
            }
            Kind::Set => {
                match self.sets.get_mut(s.bucket) {
                    Some(set) => {
                        if set.contains(s.value) {
                            return true;
                        }
                        if self.values >= limits.values {
                            return false;
                        }
                        set.insert(s.value.to_vec());
                    }
                    None if full || self.values >= limits.values => return false,
                    None => {
                        self.sets
                            .insert(s.bucket.to_vec(), HashSet::from([s.value.to_vec()]));
                    }
                }
                self.values += 1;
            }
        }
        true
    }
}

/// How much a sink holds at most.
#[derive(Debug, Clone, Copy)]
struct Limits {
    buckets: usize,
    values: usize,
}

/// Where plugins hand stats to a StatAccumInput (see the module docs).
#[derive(Debug)]
pub(crate) struct StatSink {
    metrics: Mutex<Metrics>,
    limits: Limits,
    /// Set once the accumulator has made its last flush.
    closed: AtomicBool,
    /// Plugins that submit stats right now (see [`StatSink::attach`]).
    users: AtomicUsize,
    /// Stats a limit refused since the last flush.
    over_limit: AtomicU64,
}

/// A plugin's registration as a user of a sink; dropping it ends the registration.
#[derive(Debug)]
pub(crate) struct SinkUser(Arc<StatSink>);

impl SinkUser {
    /// The sink.
    pub(crate) fn sink(&self) -> &StatSink {
        &self.0
    }
}

impl Drop for SinkUser {
    fn drop(&mut self) {
        self.0.users.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why [`StatSink::submit`] took fewer stats than it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The accumulator has stopped: none was taken.
    Closed,
    /// The sink's limits refused this many (they are counted and logged by the accumulator).
    OverLimit(usize),
}

impl Default for StatSink {
    fn default() -> Self {
        StatSink::with_limits(MAX_BUCKETS, MAX_VALUES)
    }
}

impl StatSink {
    /// A sink that holds at most `buckets` buckets and `values` timer values and set members.
    fn with_limits(buckets: usize, values: usize) -> StatSink {
        StatSink {
            metrics: Mutex::default(),
            limits: Limits { buckets, values },
            closed: AtomicBool::new(false),
            users: AtomicUsize::new(0),
            over_limit: AtomicU64::new(0),
        }
    }

    /// Registers a plugin that is about to submit stats. When the accumulator stops, it waits
    /// (a little) for its users to stop first, so that their last stats make its last flush.
    pub(crate) fn attach(self: &Arc<Self>) -> SinkUser {
        self.users.fetch_add(1, Ordering::AcqRel);
        SinkUser(self.clone())
    }

    /// Adds `stats` under one lock.
    pub(crate) fn submit(&self, stats: &[Stat<'_>]) -> Result<(), Refused> {
        if stats.is_empty() {
            return Ok(());
        }
        let mut m = self.metrics.lock();
        // Checked under the lock: the accumulator closes the sink, then takes the maps.
        if self.closed.load(Ordering::Acquire) {
            return Err(Refused::Closed);
        }
        let refused = stats.iter().filter(|s| !m.add(s, self.limits)).count();
        drop(m);
        if refused > 0 {
            self.over_limit.fetch_add(refused as u64, Ordering::Relaxed);
            return Err(Refused::OverLimit(refused));
        }
        Ok(())
    }

    /// Takes everything accumulated, leaving the sink empty; also returns how many stats the
    /// limits refused since the last take.
    pub(crate) fn take(&self) -> (Metrics, u64) {
        let m = std::mem::take(&mut *self.metrics.lock());
        (m, self.over_limit.swap(0, Ordering::Relaxed))
    }

    /// Puts back the buckets of `flushed` (what [`StatSink::take`] returned and the flush
    /// emitted) that received nothing since, reset as Heka reset them when it kept idle stats:
    /// counters to 0, timers and sets emptied, gauges with their value.
    pub(crate) fn keep_idle(&self, flushed: Metrics) {
        let mut m = self.metrics.lock();
        for (k, _) in flushed.counters {
            m.counters.entry(k).or_insert(0);
        }
        for (k, v) in flushed.gauges {
            m.gauges.entry(k).or_insert(v);
        }
        for (k, mut v) in flushed.timers {
            m.timers.entry(k).or_insert_with(|| {
                v.clear();
                v
            });
        }
        for (k, mut v) in flushed.sets {
            m.sets.entry(k).or_insert_with(|| {
                v.clear();
                v
            });
        }
    }

    /// Refuses stats from now on (the accumulator's last flush follows).
    pub(crate) fn close(&self) {
        let _m = self.metrics.lock();
        self.closed.store(true, Ordering::Release);
    }

    /// Takes stats again (a restarted accumulator).
    pub(crate) fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    /// Waits up to `timeout` for every user to detach; false when some are still attached.
    pub(crate) fn wait_detached(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.users.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// Logs at most a few lines a second; what it holds back is counted and summed up in the next
/// line it lets through. For errors caused by what clients send (a flood of bad statsd lines
/// must not turn into a flood of log lines).
#[derive(Debug)]
pub(crate) struct LogLimit {
    per_second: u32,
    window: Instant,
    in_window: u32,
    suppressed: u64,
}

impl LogLimit {
    /// A limit of `per_second` lines a second.
    pub(crate) fn new(per_second: u32) -> LogLimit {
        LogLimit {
            per_second,
            window: Instant::now(),
            in_window: 0,
            suppressed: 0,
        }
    }

    /// Whether a line may be logged now; when it may, also how many were held back before.
    pub(crate) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.in_window = 0;
        }
        if self.in_window >= self.per_second {
            self.suppressed += 1;
            return None;
        }
        self.in_window += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed stat as (bucket, value, kind, sampling).
    type Parsed = (String, String, Kind, f32);

    fn parse(data: &str, statsd: bool) -> (Vec<Parsed>, Vec<String>) {
        let mut stats = Vec::new();
        let mut bad = Vec::new();
        parse_datagram(data.as_bytes(), statsd, &mut stats, &mut bad);
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            stats
                .iter()
                .map(|x| (s(x.bucket), s(x.value), x.kind, x.sampling))
                .collect(),
            bad.iter().map(|b| s(b)).collect(),
        )
    }

    fn one(line: &str) -> Option<Parsed> {
        let (mut stats, bad) = parse(line, false);
        assert_eq!(stats.len() + bad.len(), 1, "{line}");
        stats.pop()
    }

    #[test]
    fn heka_accepts_these_lines() {
        // Vectors of Heka's plugins/statsd/statsd_input_test.go, and the spec's.
        let c = Kind::Counter;
        for (line, bucket, value, kind, rate) in [
            (
                "sample.gauge:123|g",
                "sample.gauge",
                "123",
                Kind::Gauge,
                1.0,
            ),
            ("sample.count:303|c", "sample.count", "303", c, 1.0),
            (
                "sample.timer:1234|ms",
                "sample.timer",
                "1234",
                Kind::Timer,
                1.0,
            ),
            ("x:1234|h", "x", "1234", c, 1.0),
            ("x:1234|m", "x", "1234", c, 1.0),
            ("x:123|c|@0.9", "x", "123", c, 0.9),
            ("x:1234|ms|@0.5", "x", "1234", Kind::Timer, 0.5),
            ("x:5|g|@0.5", "x", "5", Kind::Gauge, 0.5),
            // Heka compat: the `s` of `ms` is dropped whatever the type.
            ("x:1|cs|@0.5", "x", "1", c, 0.5),
            // A longer type with no `|@` after it: rate 1.
            ("x:1|cfoo", "x", "1", c, 1.0),
            ("x:1|c|x", "x", "1", c, 1.0),
            ("x:1|c|@", "x", "1", c, 1.0),
            ("x:1|msx", "x", "1", Kind::Timer, 1.0),
            // Bucket and value are not checked.
            (":1|c", "", "1", c, 1.0),
            ("x:abc|c", "x", "abc", c, 1.0),
            ("x:|c", "x", "", c, 1.0),
            ("x:+5|g", "x", "+5", Kind::Gauge, 1.0),
            ("a:b:1|c", "a", "b:1", c, 1.0),
            ("x:1|c|@1e-1", "x", "1", c, 0.1),
        ] {
            assert_eq!(
                one(line),
                Some((bucket.into(), value.into(), kind, rate)),
                "{line}"
            );
        }
    }

    #[test]
    fn heka_rejects_these_lines() {
        for line in [
            "foo.bar.baz:",
            "foo.bar.baz|",
            "foo.bar.baz:1234|x",
            "x:1",
            "x:1|",
            "x:1|cc",
            "x:1|s",
            "x:1|hh",
            "x:1|mx",
            "x:1|hxx",
            "x:1|mfoo",
            "x:1|c|@abc",
            "x:1|c|@1e50",
            "x:1|c|@0",
            "x:1|c|@nan",
            "x:1|c|@-nan",
            "x:1|d",
            "nocolon",
            "x:|",
        ] {
            assert_eq!(one(line), None, "{line}");
        }
    }

    #[test]
    fn datagrams_hold_several_lines_and_bad_ones_do_not_stop_the_rest() {
        let (stats, bad) = parse(" \tfoo:1|c\n\n bar:2|g \t\nbad line\nbaz:3|ms\n\n", false);
        let names: Vec<_> = stats.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, ["foo", "bar", "baz"]);
        assert_eq!(bad, ["bad line"]);
        let (stats, bad) = parse("", false);
        assert!(stats.is_empty() && bad.is_empty());
    }

    #[test]
    fn statsd_semantics_add_gauge_deltas_and_sets() {
        let (stats, bad) = parse("g:+5|g\ng:-3|g\ng:7|g\nu:alice|s\nu:bob|s|@0.5", true);
        let kinds: Vec<_> = stats.iter().map(|s| s.2).collect();
        assert_eq!(
            kinds,
            [
                Kind::GaugeDelta,
                Kind::GaugeDelta,
                Kind::Gauge,
                Kind::Set,
                Kind::Set
            ]
        );
        assert!(bad.is_empty());
        // Without them, a signed gauge is a plain value and `s` an unknown type.
        let (stats, bad) = parse("g:+5|g\nu:alice|s", false);
        assert_eq!(stats[0].2, Kind::Gauge);
        assert_eq!(bad, ["u:alice|s"]);
    }

    fn stat<'a>(bucket: &'a str, value: &'a str, kind: Kind, sampling: f32) -> Stat<'a> {
        Stat {
            bucket: bucket.as_bytes(),
            value: value.as_bytes(),
            kind,
            sampling,
        }
    }

    #[test]
    fn accumulation_follows_heka() {
        let sink = Arc::new(StatSink::default());
        let c = Kind::Counter;
        let stats = [
            stat("c", "1", c, 1.0),
            stat("c", "1", c, 0.3),   // 3.33 truncated: 3
            stat("c", "0.5", c, 1.0), // 0
            stat("c", "abc", c, 1.0), // parse failure: 0
            stat("c", "1", c, 0.1),   // 10
            stat("c", "inf", c, 1.0), // not finite: nothing
            stat("g", "3", Kind::Gauge, 1.0),
            stat("g", "+5", Kind::Gauge, 1.0),
            stat("d", "10", Kind::Gauge, 1.0),
            stat("d", "-4", Kind::GaugeDelta, 1.0),
            stat("d", "+1.5", Kind::GaugeDelta, 1.0),
            stat("n", "-2", Kind::GaugeDelta, 1.0),
            stat("t", "20", Kind::Timer, 0.1),
            stat("t", "x", Kind::Timer, 1.0),
            stat("t", "1e400", Kind::Timer, 1.0),
            stat("s", "a", Kind::Set, 1.0),
            stat("s", "b", Kind::Set, 1.0),
            stat("s", "a", Kind::Set, 1.0),
        ];
        sink.submit(&stats).unwrap();
        let (m, over) = sink.take();
        assert_eq!(over, 0);
        assert_eq!(m.counters[&b"c"[..]], 14);
        assert_eq!(m.gauges[&b"g"[..]], 5.0);
        assert_eq!(m.gauges[&b"d"[..]], 7.5);
        assert_eq!(m.gauges[&b"n"[..]], -2.0);
        assert_eq!(m.timers[&b"t"[..]], [20.0, 0.0, f64::INFINITY]);
        assert_eq!(m.sets[&b"s"[..]].len(), 2);
        // Idle buckets come back reset; fresh values win over kept ones.
        sink.submit(&[stat("c", "2", c, 1.0)]).unwrap();
        sink.keep_idle(m);
        let (m, _) = sink.take();
        assert_eq!(m.counters[&b"c"[..]], 2);
        assert_eq!(m.gauges[&b"g"[..]], 5.0);
        assert!(m.timers[&b"t"[..]].is_empty());
        assert!(m.sets[&b"s"[..]].is_empty());
        // A closed sink refuses everything.
        sink.close();
        assert_eq!(sink.submit(&[stat("c", "1", c, 1.0)]), Err(Refused::Closed));
        sink.reopen();
        assert_eq!(sink.submit(&[stat("c", "1", c, 1.0)]), Ok(()));
    }

    #[test]
    fn limits_refuse_and_count() {
        let sink = StatSink::with_limits(3, 4);
        let t = stat("t", "1", Kind::Timer, 1.0);
        sink.submit(&[t, t, stat("s", "a", Kind::Set, 1.0)])
            .unwrap();
        assert_eq!(
            sink.submit(&[
                t,
                t,
                stat("s", "a", Kind::Set, 1.0),
                stat("c", "1", Kind::Counter, 1.0)
            ]),
            Err(Refused::OverLimit(1))
        );
        // Three buckets: a fourth is refused, the ones held still count.
        assert_eq!(
            sink.submit(&[
                stat("g", "1", Kind::Gauge, 1.0),
                stat("c", "1", Kind::Counter, 1.0)
            ]),
            Err(Refused::OverLimit(1))
        );
        let (m, over) = sink.take();
        assert_eq!(over, 2);
        assert_eq!(m.timers[&b"t"[..]].len(), 3);
        assert_eq!(m.counters[&b"c"[..]], 2);
        assert!(m.gauges.is_empty());
        // The value limit is per flush.
        sink.submit(&[t, t, t, t]).unwrap();
    }

    #[test]
    fn users_detach_when_dropped() {
        let sink = Arc::new(StatSink::default());
        let u = sink.attach();
        assert!(!sink.wait_detached(Duration::from_millis(20)));
        drop(u);
        assert!(sink.wait_detached(Duration::from_millis(20)));
    }

    #[test]
    fn go_percent_f() {
        let f = |v: f64| {
            let mut out = Vec::new();
            write_go_f(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(30.3), "30.300000");
        assert_eq!(f(0.5), "0.500000");
        assert_eq!(f(-0.0), "-0.000000");
        assert_eq!(f(1e21), "1000000000000000000000.000000");
        // An exact tie at the sixth decimal rounds to even, as Go's strconv does.
        assert_eq!(f(0.0078125), "0.007812");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn log_limit_counts_what_it_holds_back() {
        let mut l = LogLimit::new(2);
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
        assert_eq!(l.suppressed, 2);
        l.window -= Duration::from_secs(2);
        assert_eq!(l.allow(), Some(2));
    }
}
