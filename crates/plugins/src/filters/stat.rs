//! StatFilter: turns the messages it matches into statsd-style stats (counters, timers, gauges)
//! for a StatAccumInput, from templates over each message's headers and fields.
//!
//! ```toml
//! [StatAccumInput]
//! ticker_interval = 10
//!
//! [Hits]
//! type = "StatFilter"
//! message_matcher = "Type == 'ApacheLogfile'"
//! # stat_accum_name = "StatAccumInput"   # the StatAccumInput section that accumulates
//!
//! [Hits.Metric.bandwidth]
//! type = "Counter"                 # Counter, Timer or Gauge
//! name = "httpd.bytes.%Hostname%"  # the bucket
//! value = "%Bytes%"
//! # replace_dot = false            # `.` → `_` in what the variables put in
//!
//! [Hits.Metric.method_counts]
//! type = "Counter"
//! name = "httpd.hits.%Method%.%Hostname%"
//! value = "1"
//! ```
//!
//! Each message makes one stat per metric: `name` and `value` with every `%word%` (word: ASCII
//! letters, digits and `_`) replaced by the message's variable `word`, type `c`, `ms` or `g`,
//! sample rate 1. The variables are `Logger`, `Hostname`, `Type` and `Payload` (the headers,
//! empty when unset) and every field by its name, with its first value: a STRING as it is, an
//! INTEGER in decimal, a DOUBLE as Go's `FormatFloat(v, 'f', -1, 64)` writes it (`1.5`, `3`). A
//! field named like a header replaces the header, and of several fields with one name the last
//! one counts. BYTES and BOOL fields, and fields without a value, are no variables.
//!
//! A variable the message does not have is written `<word>`, and the stat is sent all the same,
//! as Heka did: the bucket `httpd.hits.<Method>.web1`, the value `<Bytes>`. The value is text;
//! StatAccumInput reads it as Heka did (Go's `ParseFloat`; what does not parse counts as 0, and a
//! counter adds the integer part of what does).
//!
//! StatAccumInput makes its last flush when the inputs stop; stats of messages this filter
//! processes after that are not delivered (they are logged and counted), as in Heka. A missing
//! or misnamed StatAccumInput is a config error.
//!
//! Differences from Heka:
//! - The variables are those of the message at hand. Heka kept one map for every message, so a
//!   field missing from a message took its value from an earlier message, and a BYTES or BOOL
//!   field took the value rendered just before it (of another field).
//! - `replace_dot` applies to its own metric. Heka rewrote the shared map in place, so the
//!   metrics made after it (in Go's random map order), and later messages, saw the dots
//!   replaced too.
//! - Metrics are made in the order of their names (Heka: Go's random map order).
//! - `type` must be `Counter`, `Timer` or `Gauge`, and `name` and `value` must be given (Heka
//!   took a missing or unknown type as the type of the metric made before, or a counter, and a
//!   missing name or value as empty).
//! - An INTEGER or DOUBLE field without a value is no variable (Heka's filter crashed on it).
//! - Undelivered stats are logged at most ten times a second and counted at stop.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use heka_message::{Message, ValueType};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Filter, FilterContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FilterSpec, Link, Ticker};
use serde::Deserialize;

use crate::inputs::stat_accum::SINK_WHAT;
use crate::support::gonum::write_go_f_shortest;
use crate::support::stats::{Kind, LogLimit, Refused, Stat, StatSink};
use crate::support::template::{Piece, compile_value_with};

/// Log lines a second about undelivered stats.
const LOG_PER_SECOND: u32 = 10;

/// The headers a template may name.
const HEADERS: [&str; 4] = ["Logger", "Hostname", "Type", "Payload"];

/// StatFilter options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StatFilterConfig {
    /// The metric templates by id (Heka's TOML key is `Metric`; top-level keys are matched
    /// case-insensitively).
    metric: BTreeMap<String, MetricConfig>,
    /// The StatAccumInput section to hand stats to.
    stat_accum_name: String,
}

impl Default for StatFilterConfig {
    fn default() -> Self {
        StatFilterConfig {
            metric: BTreeMap::new(),
            stat_accum_name: "StatAccumInput".into(),
        }
    }
}

/// One `[<name>.Metric.<id>]` table. Heka matched these keys case-insensitively; the
/// capitalised spellings (`Type`, `Name`, `Value`, `Replace_Dot`) are accepted besides the
/// lower-case ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricConfig {
    #[serde(rename = "type", alias = "Type", default)]
    kind: String,
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value")]
    value: String,
    #[serde(alias = "Replace_Dot", default)]
    replace_dot: bool,
}

/// A metric, compiled: its templates refer to variables by index.
#[derive(Debug)]
struct Metric {
    kind: Kind,
    name: Vec<Piece>,
    value: Vec<Piece>,
    replace_dot: bool,
}

/// The variables of one message: a value for each name the templates use, or none.
#[derive(Debug, Default)]
struct Variables {
    values: Vec<Vec<u8>>,
    present: Vec<bool>,
}

impl Variables {
    fn with_len(n: usize) -> Variables {
        Variables {
            values: vec![Vec::new(); n],
            present: vec![false; n],
        }
    }

    fn clear(&mut self) {
        self.present.iter_mut().for_each(|p| *p = false);
    }

    /// The buffer of variable `i`, emptied and marked present.
    fn set(&mut self, i: usize) -> &mut Vec<u8> {
        self.present[i] = true;
        let v = &mut self.values[i];
        v.clear();
        v
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        self.present[i].then(|| self.values[i].as_slice())
    }
}

/// The metrics compiled, and what rendering them needs.
#[derive(Debug)]
struct Templates {
    metrics: Vec<Metric>,
    /// The index of each variable the templates name, by name.
    by_name: HashMap<Vec<u8>, usize>,
    /// The indexes of the headers the templates name (in [`HEADERS`] order).
    headers: [Option<usize>; 4],
    vars: Variables,
    /// Rendered buckets and values of the current message.
    out: Vec<u8>,
}

/// A StatFilter instance.
struct StatFilter {
    templates: Templates,
    accumulator: Link<StatSink>,
    sink: Option<Arc<StatSink>>,
    undelivered: Undelivered,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, ConfigError> {
    let c: StatFilterConfig = ctx.options.parse()?;
    let templates = Templates::compile(&c.metric).map_err(|e| ctx.error(Some("metric"), e))?;
    let accumulator = ctx.link("stat_accum_name", &c.stat_accum_name, SINK_WHAT);
    Ok(Box::new(StatFilter {
        templates,
        accumulator,
        sink: None,
        undelivered: Undelivered {
            count: 0,
            log: LogLimit::new(LOG_PER_SECOND),
        },
    }))
}

/// Appends `v` to `out`, with every `.` written `_` when `replace_dot` is set.
fn put(out: &mut Vec<u8>, v: &[u8], replace_dot: bool) {
    if replace_dot {
        out.extend(v.iter().map(|&c| if c == b'.' { b'_' } else { c }));
    } else {
        out.extend_from_slice(v);
    }
}

/// Appends the template `pieces` rendered with `vars` to `out`.
fn render(out: &mut Vec<u8>, pieces: &[Piece], vars: &Variables, replace_dot: bool) {
    for p in pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t),
            Piece::Capture { index, absent } => match vars.get(*index) {
                Some(v) => put(out, v, replace_dot),
                // Heka compat: pipeline/message_template.go InterpolateString writes an
                // unknown variable as `<name>`.
                None => out.extend_from_slice(absent),
            },
        }
    }
}

impl Templates {
    /// Compiles the `metric` tables; an error names the metric that is wrong.
    fn compile(config: &BTreeMap<String, MetricConfig>) -> Result<Templates, String> {
        let mut by_name: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut metrics = Vec::with_capacity(config.len());
        for (id, m) in config {
            let kind = match m.kind.as_str() {
                "Counter" => Kind::Counter,
                "Timer" => Kind::Timer,
                "Gauge" => Kind::Gauge,
                "" => {
                    return Err(format!(
                        "metric '{id}' has no type (Counter, Timer or Gauge)"
                    ));
                }
                other => {
                    return Err(format!(
                        "metric '{id}': unknown type \"{other}\" (Counter, Timer or Gauge, \
                         spelled so)"
                    ));
                }
            };
            let mut index = |name: &str| {
                let next = by_name.len();
                Some(*by_name.entry(name.as_bytes().to_vec()).or_insert(next))
            };
            metrics.push(Metric {
                kind,
                name: compile_value_with(&m.name, &mut index),
                value: compile_value_with(&m.value, &mut index),
                replace_dot: m.replace_dot,
            });
        }
        Ok(Templates {
            metrics,
            headers: HEADERS.map(|h| by_name.get(h.as_bytes()).copied()),
            vars: Variables::with_len(by_name.len()),
            by_name,
            out: Vec::new(),
        })
    }

    /// The stats of the message `m`, one per metric.
    fn stats(&mut self, m: &Message) -> Vec<Stat<'_>> {
        self.read_variables(m);
        render_stats(&self.metrics, &self.vars, &mut self.out)
    }

    /// Sets the variables of `m`.
    fn read_variables(&mut self, m: &Message) {
        self.vars.clear();
        let header: [&[u8]; 4] = [
            m.logger_bytes(),
            m.hostname_bytes(),
            m.type_bytes(),
            m.payload_bytes(),
        ];
        for (i, h) in self.headers.iter().zip(header) {
            if let Some(i) = *i {
                self.vars.set(i).extend_from_slice(h);
            }
        }
        for f in &m.fields {
            let Some(&i) = self.by_name.get(&f.name[..]) else {
                continue;
            };
            // Heka compat: plugins/statsd/stat_filter.go renders the first value of STRING,
            // DOUBLE and INTEGER fields.
            match f.value_type() {
                ValueType::String => {
                    if let Some(s) = f.value_string.first() {
                        self.vars.set(i).extend_from_slice(s);
                    }
                }
                ValueType::Integer => {
                    if let Some(n) = f.value_integer.first() {
                        use std::io::Write;
                        let _ = write!(self.vars.set(i), "{n}");
                    }
                }
                ValueType::Double => {
                    if let Some(d) = f.value_double.first() {
                        write_go_f_shortest(self.vars.set(i), *d);
                    }
                }
                ValueType::Bytes | ValueType::Bool => {}
            }
        }
    }
}

/// The stats of `metrics` over `vars`, their buckets and values rendered into `out`.
fn render_stats<'a>(metrics: &[Metric], vars: &Variables, out: &'a mut Vec<u8>) -> Vec<Stat<'a>> {
    out.clear();
    let mut spans = Vec::with_capacity(metrics.len());
    for m in metrics {
        let start = out.len();
        render(out, &m.name, vars, m.replace_dot);
        let mid = out.len();
        render(out, &m.value, vars, m.replace_dot);
        spans.push((start, mid, out.len(), m.kind));
    }
    let out: &'a [u8] = out;
    spans
        .into_iter()
        .map(|(start, mid, end, kind)| Stat {
            bucket: &out[start..mid],
            value: &out[mid..end],
            kind,
            sampling: 1.0,
        })
        .collect()
}

impl Filter for StatFilter {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        let sink = match &self.sink {
            Some(s) => s.clone(),
            None => {
                // Checked when the config was built; a filter started at run time may name a
                // section that is not there.
                let s = self.accumulator.get().ok_or_else(|| {
                    // Heka compat: pipeline/config.go's text (without its closing quote).
                    ProcessError::Fatal(format!("No Input named '{}", self.accumulator.target()))
                })?;
                self.sink = Some(s.clone());
                s
            }
        };
        if self.templates.metrics.is_empty() {
            return Ok(());
        }
        let stats = self.templates.stats(pack.message());
        self.undelivered.submit(&sink, &stats, ctx.name());
        Ok(())
    }

    fn shutdown(&mut self, ctx: &mut FilterContext<'_>) {
        if self.undelivered.count > 0 {
            tracing::info!(filter = %ctx.name(), "{} stats undelivered", self.undelivered.count);
        }
    }
}

/// The stats a stopped accumulator refused: counted, and logged at most
/// [`LOG_PER_SECOND`] times a second.
#[derive(Debug)]
struct Undelivered {
    count: u64,
    log: LogLimit,
}

impl Undelivered {
    /// Hands `stats` to `sink`, counting and logging them when it refuses them all.
    fn submit(&mut self, sink: &StatSink, stats: &[Stat<'_>], filter: &str) {
        match sink.submit(stats) {
            Ok(()) => {}
            Err(Refused::Closed) => {
                let Some(first) = stats.first() else {
                    return;
                };
                let n = stats.len() as u64;
                self.count += n;
                if let Some(held) = self.log.allow() {
                    // Heka compat: plugins/statsd/stat_filter.go logs `undelivered stat`.
                    let first = format!(
                        "{}:{}|{}",
                        String::from_utf8_lossy(first.bucket),
                        String::from_utf8_lossy(first.value),
                        first.kind.as_str()
                    );
                    let more = held + n - 1;
                    if more > 0 {
                        tracing::error!(filter = %filter, "undelivered stat: {first} (and {more} more not logged)");
                    } else {
                        tracing::error!(filter = %filter, "undelivered stat: {first}");
                    }
                }
            }
            // Counted and logged by the accumulator.
            Err(Refused::OverLimit(_)) => {}
        }
    }
}

pub(super) const SPEC: FilterSpec = FilterSpec {
    type_name: "StatFilter",
    summary: "Turns message headers and fields into statsd-style stats for a StatAccumInput.",
    default_matcher: None,
    ticker: Ticker::Optional,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::Field;

    use crate::support::net::testing::build_error;

    fn templates(options: &str) -> Result<Templates, String> {
        let options = format!("message_matcher = 'TRUE'\n{options}");
        let c: StatFilterConfig = crate::support::testing::options("Hits", "StatFilter", &options)
            .map_err(|e| e.to_string())?;
        Templates::compile(&c.metric)
    }

    /// The stats of `m` as statsd lines.
    fn lines(t: &mut Templates, m: &Message) -> Vec<String> {
        t.stats(m)
            .iter()
            .map(|s| {
                assert_eq!(s.sampling, 1.0);
                format!(
                    "{}:{}|{}",
                    String::from_utf8_lossy(s.bucket),
                    String::from_utf8_lossy(s.value),
                    s.kind.as_str()
                )
            })
            .collect()
    }

    fn message(fields: Vec<Field>) -> Message {
        let mut m = Message::default();
        m.set_type("access".to_string());
        m.set_logger("nginx".to_string());
        m.set_hostname("web1.example.com".to_string());
        m.set_payload("GET /".to_string());
        m.fields = fields;
        m
    }

    #[test]
    fn headers_and_fields_are_interpolated() {
        let mut t = templates(
            "[Hits.Metric.a]\ntype = 'Counter'\nname = '%Type%.%Logger%.%Hostname%'\n\
             value = '%Payload%'\n\
             [Hits.Metric.b]\ntype = 'Timer'\nname = 'x.%Method%.%Bytes%.%Ratio%.%Whole%'\n\
             value = '%Ratio%'\n\
             [Hits.Metric.c]\ntype = 'Gauge'\nname = '100%% %Method %'\nvalue = '%Bytes%%'\n",
        )
        .unwrap();
        let m = message(vec![
            Field::new_string("Method", "GET"),
            Field::new_integer("Bytes", -1234),
            Field::new_double("Ratio", 1.5),
            Field::new_double("Whole", 3.0),
        ]);
        assert_eq!(
            lines(&mut t, &m),
            [
                "access.nginx.web1.example.com:GET /|c",
                "x.GET.-1234.1.5.3:1.5|ms",
                // Only `%word%` is a variable; other `%` are text.
                "100%% %Method %:-1234%|g",
            ]
        );
    }

    #[test]
    fn a_missing_variable_is_written_in_angle_brackets() {
        let mut t = templates(
            "[Hits.Metric.hits]\ntype = 'Counter'\nname = 'hits.%Method%.%Hostname%'\n\
             value = '%Bytes%'\n",
        )
        .unwrap();
        let mut m = message(vec![]);
        m.hostname = None;
        // The stat is still made, as Heka made it; an unset header is empty.
        assert_eq!(lines(&mut t, &m), ["hits.<Method>.:<Bytes>|c"]);
        // Header names that Heka did not interpolate are no variables either.
        let mut t = templates(
            "[Hits.Metric.x]\ntype = 'Counter'\nname = '%Pid%.%Severity%.%Uuid%.%type%'\n\
             value = '1'\n",
        )
        .unwrap();
        assert_eq!(
            lines(&mut t, &message(vec![])),
            ["<Pid>.<Severity>.<Uuid>.<type>:1|c"]
        );
    }

    #[test]
    fn which_field_values_are_variables() {
        let mut t = templates(
            "[Hits.Metric.x]\ntype = 'Counter'\n\
             name = '%Hostname%.%Dup%.%Flag%.%Raw%.%Empty%.%NoInt%'\nvalue = '%Multi%'\n",
        )
        .unwrap();
        let mut no_int = Field::new_integer("NoInt", 0);
        no_int.value_integer.clear();
        let mut empty = Field::new_string("Empty", "");
        empty.value_string.clear();
        let m = message(vec![
            // A field named like a header replaces it.
            Field::new_string("Hostname", "from.field"),
            // Of several fields with one name the last counts.
            Field::new_string("Dup", "first"),
            Field::new_integer("Dup", 2),
            // BYTES and BOOL fields, and fields without a value, are no variables.
            Field::new_bool("Flag", true),
            Field::new_bytes("Raw", "bytes"),
            empty,
            no_int,
            // The first value of several.
            Field::new_integers("Multi", &[7, 8]),
        ]);
        assert_eq!(
            lines(&mut t, &m),
            ["from.field.2.<Flag>.<Raw>.<Empty>.<NoInt>:7|c"]
        );
    }

    #[test]
    fn variables_are_those_of_the_message_at_hand() {
        // Deliberate difference: Heka kept the values of earlier messages.
        let mut t =
            templates("[Hits.Metric.x]\ntype = 'Counter'\nname = 'hits.%Method%'\nvalue = '1'\n")
                .unwrap();
        let get = message(vec![Field::new_string("Method", "GET")]);
        assert_eq!(lines(&mut t, &get), ["hits.GET:1|c"]);
        assert_eq!(lines(&mut t, &message(vec![])), ["hits.<Method>:1|c"]);
    }

    #[test]
    fn replace_dot_applies_to_the_variables_of_its_metric() {
        let mut t = templates(
            "[Hits.Metric.a]\ntype = 'Gauge'\nname = 'a.%Hostname%'\nvalue = '%Ratio%'\n\
             replace_dot = true\n\
             [Hits.Metric.b]\ntype = 'Gauge'\nname = 'b.%Hostname%'\nvalue = '%Ratio%'\n",
        )
        .unwrap();
        let m = message(vec![Field::new_double("Ratio", 0.25)]);
        assert_eq!(
            lines(&mut t, &m),
            ["a.web1_example_com:0_25|g", "b.web1.example.com:0.25|g"]
        );
    }

    #[test]
    fn metric_tables_and_their_keys() {
        // Heka's keys (`Metric`, Go field names) and the metrics in the order of their ids.
        let mut t = templates(
            "[Hits.Metric.z]\nType = 'Timer'\nName = 'z.%Hostname%'\nValue = '2'\n\
             Replace_Dot = true\n\
             [Hits.Metric.a]\ntype = 'Gauge'\nname = 'a'\nvalue = '3'\n",
        )
        .unwrap();
        assert_eq!(
            lines(&mut t, &message(vec![])),
            ["a:3|g", "z.web1_example_com:2|ms"]
        );
        // `metric` is matched case-insensitively as well, but not in two spellings at once.
        let mut t =
            templates("[Hits.metric.a]\ntype = 'Gauge'\nname = 'a'\nvalue = '3'\n").unwrap();
        assert_eq!(lines(&mut t, &message(vec![])), ["a:3|g"]);
        let e = templates(
            "[Hits.Metric.z]\ntype = 'Timer'\nname = 'z'\nvalue = '2'\n\
             [Hits.metric.a]\ntype = 'Gauge'\nname = 'a'\nvalue = '3'\n",
        )
        .err()
        .unwrap();
        assert!(e.contains("Metric") && e.contains("metric"), "{e}");
        // No metric: nothing to make.
        let mut t = templates("").unwrap();
        assert!(lines(&mut t, &message(vec![])).is_empty());
    }

    #[test]
    fn metric_config_errors() {
        let e = templates("[Hits.Metric.x]\ntype = 'counter'\nname = 'x'\nvalue = '1'\n");
        let e = e.err().unwrap();
        assert!(
            e.contains("metric 'x': unknown type \"counter\" (Counter, Timer or Gauge"),
            "{e}"
        );
        let e = templates("[Hits.Metric.x]\nname = 'x'\nvalue = '1'\n")
            .err()
            .unwrap();
        assert!(e.contains("metric 'x' has no type"), "{e}");
        let e = templates("[Hits.Metric.x]\ntype = 'Counter'\nvalue = '1'\n")
            .err()
            .unwrap();
        assert!(e.contains("name"), "{e}");
        let e = templates("[Hits.Metric.x]\ntype = 'Counter'\nname = 'x'\n")
            .err()
            .unwrap();
        assert!(e.contains("value"), "{e}");
        let e = templates("[Hits.Metric.x]\ntype = 'Counter'\nname = 'x'\nvalue = '1'\nrate = 2\n")
            .err()
            .unwrap();
        assert!(e.contains("rate"), "{e}");
    }

    #[test]
    fn the_accumulator_reads_values_as_heka_did() {
        let mut t = templates(
            "[Hits.Metric.bytes]\ntype = 'Counter'\nname = 'bytes'\nvalue = '%Bytes%'\n\
             [Hits.Metric.lat]\ntype = 'Timer'\nname = 'lat'\nvalue = '%Ms%'\n\
             [Hits.Metric.load]\ntype = 'Gauge'\nname = 'load'\nvalue = '%Load%'\n",
        )
        .unwrap();
        let sink = StatSink::default();
        for m in [
            message(vec![
                Field::new_double("Bytes", 1.9),
                Field::new_double("Ms", 12.5),
                Field::new_string("Load", "0.75"),
            ]),
            message(vec![
                Field::new_string("Bytes", "20"),
                Field::new_integer("Ms", 30),
                Field::new_string("Load", "1e1"),
            ]),
            // Missing and non-numeric values count as 0.
            message(vec![Field::new_string("Ms", "slow")]),
        ] {
            sink.submit(&t.stats(&m)).unwrap();
        }
        let (metrics, _) = sink.take();
        // A counter adds the integer part of each value: 1 + 20 + 0.
        assert_eq!(metrics.counters[&b"bytes"[..]], 21);
        assert_eq!(metrics.timers[&b"lat"[..]], [12.5, 30.0, 0.0]);
        assert_eq!(metrics.gauges[&b"load"[..]], 0.0);
    }

    #[test]
    fn the_stat_accumulator_must_exist() {
        let filter = "[Hits]\ntype = 'StatFilter'\nmessage_matcher = 'TRUE'\n";
        let metric = "[Hits.Metric.x]\ntype = 'Counter'\nname = 'x'\nvalue = '1'\n";
        let e = build_error(&format!("{filter}{metric}"));
        assert!(
            e.contains("stat_accum_name")
                && e.contains("no section named 'StatAccumInput' provides a stat accumulator"),
            "{e}"
        );
        let e = build_error(&format!(
            "{filter}stat_accum_name = 'udp'\n{metric}\
             [udp]\ntype = 'UdpInput'\naddress = '127.0.0.1:0'\n"
        ));
        assert!(
            e.contains("section 'udp' (type UdpInput) does not provide a stat accumulator"),
            "{e}"
        );
        let e = build_error(
            "[Hits]\ntype = 'StatFilter'\nmessage_matcher = 'TRUE'\n[StatAccumInput]\n\
             [Hits.Metric.x]\ntype = 'Timers'\nname = 'x'\nvalue = '1'\n",
        );
        assert!(
            e.contains("Hits") && e.contains("unknown type \"Timers\""),
            "{e}"
        );
    }

    #[test]
    fn a_stopped_accumulator_refuses_and_the_stats_are_counted() {
        let mut t = templates(
            "[Hits.Metric.a]\ntype = 'Counter'\nname = 'a'\nvalue = '1'\n\
             [Hits.Metric.b]\ntype = 'Gauge'\nname = 'b'\nvalue = '2'\n",
        )
        .unwrap();
        let sink = StatSink::default();
        let mut u = Undelivered {
            count: 0,
            log: LogLimit::new(1),
        };
        let m = message(vec![]);
        u.submit(&sink, &t.stats(&m), "Hits");
        assert_eq!(u.count, 0);
        sink.close();
        u.submit(&sink, &t.stats(&m), "Hits");
        u.submit(&sink, &t.stats(&m), "Hits");
        assert_eq!(u.count, 4);
        let (metrics, _) = sink.take();
        assert_eq!(metrics.counters[&b"a"[..]], 1);
        assert_eq!(metrics.gauges[&b"b"[..]], 2.0);
    }
}
