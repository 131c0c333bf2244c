//! StatAccumInput: accumulates statsd-style stats that other plugins submit (StatsdInput) and
//! emits them every `ticker_interval` seconds as one message of Graphite lines and/or fields.
//!
//! ```toml
//! [StatAccumInput]
//! ticker_interval = 10          # seconds between flushes, and the divisor of rates
//! # emit_in_payload = true      # Graphite plaintext lines in the Payload
//! # emit_in_fields = false      # one field per metric (and `timestamp`)
//! # percent_threshold = [90]    # mean_N / upper_N of timers
//! # message_type = "heka.statmetric"
//! # legacy_namespaces = false   # stats.<counter> (rate) and stats_counts.<counter>
//! # global_prefix = "stats"
//! # counter_prefix = "counters"
//! # timer_prefix = "timers"
//! # gauge_prefix = "gauges"
//! # set_prefix = "sets"         # not in Heka: sets exist with StatsdInput's statsd_semantics
//! # statsd_prefix = "statsd"    # namespace of numStats
//! # delete_idle_stats = false
//! ```
//!
//! Every flush (and once more when hekad stops) emits one message, Type `message_type`, Logger
//! the input's name, Hostname and Pid hekad's, whose Payload holds one line
//! `<name> <value> <unix seconds>` per metric (integers in decimal, floats with six decimals as
//! Go's `%f`) and, with `emit_in_fields`, an integer field `timestamp` followed by one field
//! per metric (integers INTEGER, floats DOUBLE). Names are joined from the prefixes, each
//! followed by a `.` unless it is empty or already ends with one:
//!
//! - counter `k` (count `c`, rate `c / ticker_interval`): `<global>.<counter>.<k>.rate` and
//!   `.count`; with `legacy_namespaces`, `<global>.<k>` = rate (an integer, truncated, in the
//!   fields) and `stats_counts.<k>` = count;
//! - gauge `k`: `<global>.<gauge>.<k>`;
//! - timer `k`: `<global>.<timer>.<k>.` `count`, `count_ps`, `lower`, `upper`, `sum`, `mean`,
//!   then `mean_<p>` and `upper_<p>` for each `percent_threshold` (Heka's rule: the lowest
//!   `n − round((100 − p)/100 · n)` values);
//! - set `k` (statsd semantics only): `<global>.<set>.<k>.count`, the distinct members;
//! - `<global>.<statsd>.numStats` (legacy: `<statsd>.numStats`): the buckets emitted.
//!
//! Counters come first, then gauges, timers and sets, each in bucket order, numStats last.
//! Without `delete_idle_stats` every bucket seen is emitted at every flush (counters 0, timers
//! all 0, sets 0, gauges their last value); with it, only the buckets updated since the last
//! flush. A flush with nothing to emit still sends the numStats line.
//!
//! Stats arrive through the input's stat sink (`support::stats`), which StatsdInput finds by
//! this section's name. The message goes through the input's decoder, if one is configured.
//!
//! Differences from Heka:
//! - Buckets are emitted in sorted order (Heka: Go's random map order).
//! - The accumulator holds at most 1,048,576 buckets and 10,000,000 timer values and set
//!   members between two flushes; stats beyond that are dropped, counted and logged (Heka grew
//!   without bound).
//! - A `percent_threshold` above 100 is a config error (Heka panicked at the first flush with
//!   timers); a single integer is accepted as well as a list (older Heka configs).
//! - A counter increment that is not a finite number (`inf|c`) adds nothing (Heka added Go's
//!   undefined conversion of it).
//! - At shutdown the last flush waits (up to 2 s) for the inputs that submit stats to stop, so
//!   what they received last is in it.
//! - Sets and `set_prefix` are new (see StatsdInput's `statsd_semantics`).

use std::time::Duration;

use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;
use std::sync::Arc;

use crate::support::stats::{MAX_BUCKETS, MAX_VALUES, Metrics, StatSink, write_go_f};
use crate::support::ticker::Ticker;

/// Default `ticker_interval` in seconds.
const DEFAULT_TICKER: u64 = 10;

/// How long the last flush waits for the plugins that submit stats to stop.
const USERS_GRACE: Duration = Duration::from_secs(2);

/// What a [`heka_pipeline::registry::Link`] to this input's sink is called in errors.
pub(crate) const SINK_WHAT: &str = "a stat accumulator (a StatAccumInput)";

/// `percent_threshold`: a list, or (older Heka) one integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Thresholds {
    One(i64),
    Many(Vec<i64>),
}

/// StatAccumInput options (`ticker_interval` is a common option).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StatAccumInputConfig {
    emit_in_payload: bool,
    emit_in_fields: bool,
    percent_threshold: Thresholds,
    message_type: String,
    legacy_namespaces: bool,
    global_prefix: String,
    counter_prefix: String,
    timer_prefix: String,
    gauge_prefix: String,
    set_prefix: String,
    statsd_prefix: String,
    delete_idle_stats: bool,
}

impl Default for StatAccumInputConfig {
    fn default() -> Self {
        StatAccumInputConfig {
            emit_in_payload: true,
            emit_in_fields: false,
            percent_threshold: Thresholds::Many(vec![90]),
            message_type: "heka.statmetric".into(),
            legacy_namespaces: false,
            global_prefix: "stats".into(),
            counter_prefix: "counters".into(),
            timer_prefix: "timers".into(),
            gauge_prefix: "gauges".into(),
            set_prefix: "sets".into(),
            statsd_prefix: "statsd".into(),
            delete_idle_stats: false,
        }
    }
}

/// How a flush is written out: what to emit, and the names.
#[derive(Debug, Clone)]
pub(crate) struct FlushFormat {
    pub(crate) emit_in_payload: bool,
    pub(crate) emit_in_fields: bool,
    pub(crate) thresholds: Vec<i64>,
    pub(crate) legacy: bool,
    /// The namespace prefixes, each ending in `.` unless empty.
    global: Vec<u8>,
    counter: Vec<u8>,
    timer: Vec<u8>,
    gauge: Vec<u8>,
    set: Vec<u8>,
    num_stats: Vec<u8>,
    stats_counts: Vec<u8>,
}

/// Heka's namespace joining: `parent` + `name` + `.`, without the `.` when `name` is empty or
/// already ends with one.
fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(parent.len() + name.len() + 1);
    p.extend_from_slice(parent);
    p.extend_from_slice(name);
    if !name.is_empty() && !name.ends_with(b".") {
        p.push(b'.');
    }
    p
}

/// The prefixes named in Heka's options (used by the fuzz target too).
#[derive(Debug, Clone)]
pub(crate) struct Prefixes<'a> {
    pub(crate) global: &'a str,
    pub(crate) counter: &'a str,
    pub(crate) timer: &'a str,
    pub(crate) gauge: &'a str,
    pub(crate) set: &'a str,
    pub(crate) statsd: &'a str,
}

impl FlushFormat {
    pub(crate) fn new(
        emit_in_payload: bool,
        emit_in_fields: bool,
        thresholds: Vec<i64>,
        legacy: bool,
        p: &Prefixes<'_>,
    ) -> FlushFormat {
        let global = join(b"", p.global.as_bytes());
        let num_stats = if legacy {
            join(b"", p.statsd.as_bytes())
        } else {
            join(&global, p.statsd.as_bytes())
        };
        FlushFormat {
            emit_in_payload,
            emit_in_fields,
            thresholds,
            legacy,
            counter: join(&global, p.counter.as_bytes()),
            timer: join(&global, p.timer.as_bytes()),
            gauge: join(&global, p.gauge.as_bytes()),
            set: join(&global, p.set.as_bytes()),
            stats_counts: join(b"", b"stats_counts"),
            num_stats,
            global,
        }
    }
}

/// A metric value: Go `int` or `float64`, which Heka printed and typed differently.
#[derive(Debug, Clone, Copy)]
enum Value {
    Int(i64),
    Float(f64),
}

/// Writes metrics into a payload and a field list, as Heka's emitters did.
struct Emitter<'a> {
    format: &'a FlushFormat,
    ts: i64,
    payload: Vec<u8>,
    fields: Vec<Field>,
    name: Vec<u8>,
}

impl Emitter<'_> {
    /// Sets the name of the next metric to `prefix` + `parts` joined as namespaces, the last
    /// part being the key itself (no `.` after it).
    fn name(&mut self, prefix: &[u8], parts: &[&[u8]]) {
        self.name.clear();
        self.name.extend_from_slice(prefix);
        if let Some((last, ns)) = parts.split_last() {
            for part in ns {
                self.name.extend_from_slice(part);
                if !part.is_empty() && !part.ends_with(b".") {
                    self.name.push(b'.');
                }
            }
            self.name.extend_from_slice(last);
        }
    }

    fn in_payload(&mut self, v: Value) {
        if !self.format.emit_in_payload {
            return;
        }
        use std::io::Write;
        self.payload.extend_from_slice(&self.name);
        self.payload.push(b' ');
        match v {
            Value::Int(i) => {
                let _ = write!(self.payload, "{i}");
            }
            Value::Float(f) => write_go_f(&mut self.payload, f),
        }
        let _ = writeln!(self.payload, " {}", self.ts);
    }

    fn in_field(&mut self, v: Value) {
        if !self.format.emit_in_fields {
            return;
        }
        let name = Bytes::copy_from_slice(&self.name);
        self.fields.push(match v {
            Value::Int(i) => Field::new_integer(name, i),
            Value::Float(f) => Field::new_double(name, f),
        });
    }

    fn emit(&mut self, v: Value) {
        self.in_payload(v);
        self.in_field(v);
    }
}

/// Go's `sort.Float64s` order: NaN first, then ascending.
fn go_float_order(a: &f64, b: &f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Sorted keys of a bucket map.
fn sorted<V>(m: &std::collections::HashMap<Vec<u8>, V>) -> Vec<&Vec<u8>> {
    let mut keys: Vec<_> = m.keys().collect();
    keys.sort_unstable();
    keys
}

/// Formats one flush of `m` taken at `ts` (Unix seconds) with a ticker of `interval` seconds:
/// the payload (empty without `emit_in_payload`) and the fields (empty without
/// `emit_in_fields`). Sorts the timers' values in place.
pub(crate) fn format_flush(
    f: &FlushFormat,
    m: &mut Metrics,
    interval: u64,
    ts: i64,
) -> (Vec<u8>, Vec<Field>) {
    let mut e = Emitter {
        format: f,
        ts,
        payload: Vec::new(),
        fields: Vec::new(),
        name: Vec::new(),
    };
    e.name(b"", &[b"timestamp"]);
    e.in_field(Value::Int(ts));
    let secs = interval as f64;
    let mut num_stats: i64 = 0;
    for k in sorted(&m.counters) {
        let c = m.counters[k];
        let rate = c as f64 / secs;
        if f.legacy {
            e.name(&f.global, &[k]);
            // Heka compat: the legacy rate is truncated to an int in the fields only.
            e.in_field(Value::Int(rate as i64));
            e.in_payload(Value::Float(rate));
            e.name(&f.stats_counts, &[k]);
            e.emit(Value::Int(c));
        } else {
            e.name(&f.counter, &[k, b"rate"]);
            e.emit(Value::Float(rate));
            e.name(&f.counter, &[k, b"count"]);
            e.emit(Value::Int(c));
        }
        num_stats += 1;
    }
    for k in sorted(&m.gauges) {
        e.name(&f.gauge, &[k]);
        e.emit(Value::Float(m.gauges[k]));
        num_stats += 1;
    }
    let mut keys: Vec<Vec<u8>> = m.timers.keys().cloned().collect();
    keys.sort_unstable();
    for k in &keys {
        let Some(t) = m.timers.get_mut(k) else {
            continue;
        };
        t.sort_by(go_float_order);
        let n = t.len();
        let mut pct = vec![(0.0, 0.0); f.thresholds.len()];
        let (mut lower, mut upper, mut sum, mut mean, mut rate) = (0.0, 0.0, 0.0, 0.0, 0.0);
        if n > 0 {
            let mut cumulative = Vec::with_capacity(n);
            let mut acc = 0.0;
            for v in t.iter() {
                acc += v;
                cumulative.push(acc);
            }
            rate = n as f64 / secs;
            lower = t[0];
            upper = t[n - 1];
            for (i, p) in f.thresholds.iter().enumerate() {
                // Heka compat: `count - int(math.Floor(tmp+0.5))`, JS's Math.round.
                let tmp = (100.0 - *p as f64) / 100.0 * n as f64;
                let within = n as i64 - (tmp + 0.5).floor() as i64;
                pct[i] = if within > 0 {
                    // Thresholds above 100 are refused at load time, so `within <= n`.
                    let m = (within as usize).min(n);
                    (cumulative[m - 1] / m as f64, t[m - 1])
                } else {
                    (lower, upper)
                };
            }
            sum = cumulative[n - 1];
            mean = sum / n as f64;
        }
        let ns: &[u8] = k;
        for (stat, v) in [
            (&b"count"[..], Value::Int(n as i64)),
            (b"count_ps", Value::Float(rate)),
            (b"lower", Value::Float(lower)),
            (b"upper", Value::Float(upper)),
            (b"sum", Value::Float(sum)),
            (b"mean", Value::Float(mean)),
        ] {
            e.name(&f.timer, &[ns, stat]);
            e.emit(v);
        }
        for (p, (mean_p, upper_p)) in f.thresholds.iter().zip(pct) {
            e.name(&f.timer, &[ns, format!("mean_{p}").as_bytes()]);
            e.emit(Value::Float(mean_p));
            e.name(&f.timer, &[ns, format!("upper_{p}").as_bytes()]);
            e.emit(Value::Float(upper_p));
        }
        num_stats += 1;
    }
    for k in sorted(&m.sets) {
        e.name(&f.set, &[k, b"count"]);
        e.emit(Value::Int(m.sets[k].len() as i64));
        num_stats += 1;
    }
    e.name(&f.num_stats, &[b"numStats"]);
    e.emit(Value::Int(num_stats));
    (e.payload, e.fields)
}

/// A StatAccumInput instance.
struct StatAccumInput {
    sink: Arc<StatSink>,
    format: FlushFormat,
    message_type: Bytes,
    delete_idle: bool,
    hostname: Bytes,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: StatAccumInputConfig = ctx.options.parse()?;
    // Heka compat: its own TickerInterval option refused 0 (the common option reads 0 as
    // "unset").
    if let Some(toml::Value::Integer(0)) = ctx.section.get("ticker_interval") {
        return Err(ctx.error(
            Some("ticker_interval"),
            "TickerInterval must be greater than 0.",
        ));
    }
    if !c.emit_in_payload && !c.emit_in_fields {
        return Err(ctx.error(
            Some("emit_in_payload"),
            "One of either `EmitInPayload` or `EmitInFields` must be set to true.",
        ));
    }
    let thresholds = match c.percent_threshold {
        Thresholds::One(p) => vec![p],
        Thresholds::Many(v) => v,
    };
    if let Some(p) = thresholds.iter().find(|p| **p > 100) {
        return Err(ctx.error(
            Some("percent_threshold"),
            format!("percent_threshold {p} is above 100"),
        ));
    }
    let format = FlushFormat::new(
        c.emit_in_payload,
        c.emit_in_fields,
        thresholds,
        c.legacy_namespaces,
        &Prefixes {
            global: &c.global_prefix,
            counter: &c.counter_prefix,
            timer: &c.timer_prefix,
            gauge: &c.gauge_prefix,
            set: &c.set_prefix,
            statsd: &c.statsd_prefix,
        },
    );
    // A restarted instance finds the sink of the one it replaces, with what it accumulated.
    let sink = ctx.links().publish(&ctx.section.name, StatSink::default);
    Ok(Box::new(StatAccumInput {
        sink,
        format,
        message_type: Bytes::from(c.message_type),
        delete_idle: c.delete_idle_stats,
        hostname: Bytes::from(ctx.globals.hostname.clone()),
    }))
}

impl StatAccumInput {
    /// Emits everything accumulated since the last flush as one message.
    fn flush(&self, stream: &mut heka_pipeline::plugin::Stream, name: &str, interval: u64) {
        let (mut metrics, over_limit) = self.sink.take();
        if over_limit > 0 {
            tracing::error!(
                input = %name,
                "{over_limit} stats dropped since the last flush: at most {MAX_BUCKETS} buckets \
                 and {MAX_VALUES} timer values and set members are held"
            );
        }
        let mut m = Message::new_now();
        let ts = m.timestamp.div_euclid(1_000_000_000);
        let (payload, fields) = format_flush(&self.format, &mut metrics, interval, ts);
        if !self.delete_idle {
            self.sink.keep_idle(metrics);
        }
        m.r#type = Some(self.message_type.clone());
        m.logger = Some(Bytes::from(name.to_string()));
        m.hostname = Some(self.hostname.clone());
        m.pid = i32::try_from(std::process::id()).ok();
        m.payload = Some(Bytes::from(payload));
        m.fields = fields;
        stream.deliver_message(m);
    }
}

impl Input for StatAccumInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let interval = ctx
            .ticker_interval()
            .unwrap_or(Duration::from_secs(DEFAULT_TICKER));
        let secs = interval.as_secs().max(1);
        let mut stream = ctx.stream()?;
        self.sink.reopen();
        let mut ticker = Ticker::new(interval);
        while ticker.wait(|d| ctx.sleep(d)) {
            self.flush(&mut stream, ctx.name(), secs);
        }
        // Stopping: the inputs that feed us stop at the same time; take what they received
        // last into the last flush, then refuse what comes later.
        if !self.sink.wait_detached(USERS_GRACE) {
            tracing::warn!(input = %ctx.name(), "inputs submitting stats are still running; flushing without them");
        }
        self.sink.close();
        self.flush(&mut stream, ctx.name(), secs);
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "StatAccumInput",
    summary: "Accumulates statsd-style stats from other plugins and emits them as Graphite lines every ticker_interval.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::stats::{Kind, Stat};

    fn format(legacy: bool, fields: bool, thresholds: Vec<i64>, p: Prefixes<'_>) -> FlushFormat {
        FlushFormat::new(true, fields, thresholds, legacy, &p)
    }

    fn defaults() -> Prefixes<'static> {
        Prefixes {
            global: "stats",
            counter: "counters",
            timer: "timers",
            gauge: "gauges",
            set: "sets",
            statsd: "statsd",
        }
    }

    fn metrics(stats: &[(&str, &str, Kind, f32)]) -> Metrics {
        let sink = StatSink::default();
        let stats: Vec<_> = stats
            .iter()
            .map(|(b, v, kind, sampling)| Stat {
                bucket: b.as_bytes(),
                value: v.as_bytes(),
                kind: *kind,
                sampling: *sampling,
            })
            .collect();
        sink.submit(&stats).unwrap();
        sink.take().0
    }

    fn payload(f: &FlushFormat, m: &mut Metrics, interval: u64) -> Vec<String> {
        let (p, _) = format_flush(f, m, interval, 1_400_000_000);
        String::from_utf8(p)
            .unwrap()
            .lines()
            .map(|l| l.strip_suffix(" 1400000000").unwrap().to_string())
            .collect()
    }

    #[test]
    fn counters_gauges_and_num_stats_as_heka_names_them() {
        let mut m = metrics(&[
            ("foo", "5", Kind::Counter, 1.0),
            ("bar", "303", Kind::Counter, 0.1),
            ("g", "30.3", Kind::Gauge, 1.0),
        ]);
        assert_eq!(
            payload(&format(false, false, vec![90], defaults()), &mut m, 10),
            [
                "stats.counters.bar.rate 303.000000",
                "stats.counters.bar.count 3030",
                "stats.counters.foo.rate 0.500000",
                "stats.counters.foo.count 5",
                "stats.gauges.g 30.300000",
                "stats.statsd.numStats 3",
            ]
        );
        assert_eq!(
            payload(&format(true, false, vec![90], defaults()), &mut m, 10),
            [
                "stats.bar 303.000000",
                "stats_counts.bar 3030",
                "stats.foo 0.500000",
                "stats_counts.foo 5",
                "stats.gauges.g 30.300000",
                "statsd.numStats 3",
            ]
        );
    }

    #[test]
    fn timers_follow_heka_vector() {
        // The spec's vector: 11 values, p = 90.
        let values = [
            "220", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100",
        ];
        let stats: Vec<_> = values.iter().map(|v| ("t", *v, Kind::Timer, 1.0)).collect();
        let mut m = metrics(&stats);
        assert_eq!(
            payload(&format(false, false, vec![90, 50], defaults()), &mut m, 10),
            [
                "stats.timers.t.count 11",
                "stats.timers.t.count_ps 1.100000",
                "stats.timers.t.lower 10.000000",
                "stats.timers.t.upper 220.000000",
                "stats.timers.t.sum 770.000000",
                "stats.timers.t.mean 70.000000",
                "stats.timers.t.mean_90 55.000000",
                "stats.timers.t.upper_90 100.000000",
                "stats.timers.t.mean_50 30.000000",
                "stats.timers.t.upper_50 50.000000",
                "stats.statsd.numStats 1",
            ]
        );
        // An idle timer: everything 0. A threshold of 0: lower and upper.
        let mut m = metrics(&[("t", "5", Kind::Timer, 1.0), ("t", "7", Kind::Timer, 1.0)]);
        m.timers.insert(b"idle".to_vec(), Vec::new());
        let lines = payload(&format(false, false, vec![0], defaults()), &mut m, 1);
        assert_eq!(lines[0], "stats.timers.idle.count 0");
        assert!(
            lines[1..8].iter().all(|l| l.ends_with(" 0.000000")),
            "{lines:?}"
        );
        assert_eq!(lines[14], "stats.timers.t.mean_0 5.000000");
        assert_eq!(lines[15], "stats.timers.t.upper_0 7.000000");
    }

    #[test]
    fn prefixes_join_like_heka_namespaces() {
        let mut m = metrics(&[
            ("c.", "1", Kind::Counter, 1.0),
            ("", "2", Kind::Gauge, 1.0),
            ("s", "x", Kind::Set, 1.0),
        ]);
        let p = Prefixes {
            global: "",
            counter: "cnt.",
            gauge: "",
            ..defaults()
        };
        assert_eq!(
            payload(&format(false, false, vec![90], p), &mut m, 1),
            [
                "cnt.c.rate 1.000000",
                "cnt.c.count 1",
                " 2.000000",
                "sets.s.count 1",
                "statsd.numStats 3",
            ]
        );
    }

    #[test]
    fn fields_carry_the_timestamp_first_and_legacy_rates_as_integers() {
        let mut m = metrics(&[("foo", "25", Kind::Counter, 1.0)]);
        let f = FlushFormat::new(false, true, vec![90], true, &defaults());
        let (p, fields) = format_flush(&f, &mut m, 10, 1_400_000_000);
        assert!(p.is_empty());
        let got: Vec<_> = fields
            .iter()
            .map(|f| {
                let v = match f.value(0) {
                    Some(heka_message::FieldValue::Integer(i)) => format!("i{i}"),
                    Some(heka_message::FieldValue::Double(d)) => format!("d{d}"),
                    other => format!("{other:?}"),
                };
                format!("{}={v}", String::from_utf8_lossy(&f.name))
            })
            .collect();
        assert_eq!(
            got,
            [
                "timestamp=i1400000000",
                "stats.foo=i2",
                "stats_counts.foo=i25",
                "statsd.numStats=i1"
            ]
        );
    }

    #[test]
    fn an_empty_flush_is_the_num_stats_line() {
        let mut m = Metrics::default();
        assert_eq!(
            payload(&format(false, false, vec![90], defaults()), &mut m, 10),
            ["stats.statsd.numStats 0"]
        );
    }

    #[test]
    fn config_errors() {
        use crate::support::testing::build as build_one;
        let e = |opts: &str| match build_one(build, "acc", "StatAccumInput", opts) {
            Ok(_) => panic!("{opts}: built"),
            Err(e) => e.to_string(),
        };
        assert!(e("ticker_interval = 0").contains("TickerInterval must be greater than 0."));
        assert!(
            e("emit_in_payload = false")
                .contains("One of either `EmitInPayload` or `EmitInFields` must be set to true.")
        );
        assert!(e("percent_threshold = [90, 101]").contains("above 100"));
        assert!(e("percent_thresholds = [90]").contains("percent_thresholds"));
        assert!(build_one(build, "acc", "StatAccumInput", "percent_threshold = 95").is_ok());
    }
}
