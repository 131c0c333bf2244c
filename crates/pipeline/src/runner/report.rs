//! The all-report: Heka's SIGUSR1 text table of every plugin's channels and counters
//! (buffering-tools spec §3.2).
//!
//! Layout: `========[heka.all-report]========`, then for each category in the order globals,
//! inputs, splitters, decoders, filters, outputs, encoders a `====Title====` line and either
//! `NONE` or one `Name:` block per component with `    Field: value` lines, only for Heka's
//! fixed list of fields and in its order, then `========`. Numbers print as Go's `%v` of a
//! float64 does (`1e+06` from a million up), as log scrapers written against Heka expect.
//!
//! Plugins add fields of their own ([`crate::stats`], Heka's `ReportingPlugin`): a plugin's
//! field replaces the runner's of the same name (a SandboxFilter's `ProcessMessageCount` is
//! its own count of calls). Like Heka's, the text shows only the fields of its fixed list;
//! the others (`ProcessMessageFailures`, `ProcessMessageSamples`, …) are in
//! [`Report::fields`].
//!
//! What Heka reports and we cannot: there are no pack pools (`inputRecycleChan`,
//! `injectRecycleChan`), and no separate match channels.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use crate::router::{Delivery, Lanes, MatchStats, Router};
use crate::runner::filter_output::FoStats;
use crate::runner::stream::StreamStats;
use crate::stats::{StatValue, StatsSlot};

/// Heka's text report shows only these fields, in this order.
const SHOWN: &[&str] = &[
    "Address",
    "Connections",
    "ConnectionsAccepted",
    "InChanCapacity",
    "InChanLength",
    // Not Heka's: the bytes in a buffered plugin's disk queue.
    "QueueBytes",
    "MatchChanCapacity",
    "MatchChanLength",
    "MatchAvgDuration",
    "ProcessMessageCount",
    "InjectMessageCount",
    "Memory",
    "MaxMemory",
    "MaxInstructions",
    "MaxOutput",
    "ProcessMessageAvgDuration",
    "TimerEventAvgDuration",
    "SynchronousDecode",
];

enum Kind {
    Input {
        stats: Arc<StreamStats>,
        splitter: String,
        decoder: Option<String>,
    },
    FilterOutput {
        output: bool,
        main: Receiver<Delivery>,
        inject: Receiver<Delivery>,
        stats: Arc<FoStats>,
        matched: Arc<MatchStats>,
        encoder: Option<String>,
    },
}

/// One plugin's part of the report.
pub(crate) struct ReportEntry {
    name: String,
    kind: Kind,
    /// The plugin's own fields, and its decoder's or encoder's.
    plugin: StatsSlot,
    codec: StatsSlot,
}

impl ReportEntry {
    pub(crate) fn input(
        name: &str,
        stats: Arc<StreamStats>,
        splitter: &str,
        decoder: Option<&str>,
        [plugin, codec]: [StatsSlot; 2],
    ) -> ReportEntry {
        ReportEntry {
            name: name.to_string(),
            plugin,
            codec,
            kind: Kind::Input {
                stats,
                splitter: format!("{name}-{splitter}"),
                decoder: decoder.map(|d| format!("{name}-{d}")),
            },
        }
    }

    pub(crate) fn filter_output(
        name: &str,
        output: bool,
        lanes: &Lanes,
        stats: Arc<FoStats>,
        matched: Arc<MatchStats>,
        encoder: Option<&str>,
        [plugin, codec]: [StatsSlot; 2],
    ) -> ReportEntry {
        ReportEntry {
            name: name.to_string(),
            plugin,
            codec,
            kind: Kind::FilterOutput {
                output,
                main: lanes.main.clone(),
                inject: lanes.inject.clone(),
                stats,
                matched,
                encoder: encoder.map(|e| format!("{name}-{e}")),
            },
        }
    }

    /// The component's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// "name: N messages" for a filter or output with messages waiting in its channels.
    fn waiting(&self) -> Option<String> {
        match &self.kind {
            Kind::FilterOutput { main, inject, .. } => {
                let n: usize = main.len() + inject.len();
                (n > 0).then(|| format!("{}: {n} batches", self.name))
            }
            Kind::Input { .. } => None,
        }
    }
}

/// A component's name and its fields (value as text).
type Component = (String, Vec<(&'static str, String)>);

/// Everything the report reads.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) entries: Vec<ReportEntry>,
    /// The filters started at run time (kept by [`crate::runner::dynamic::FilterControl`]).
    pub(crate) dynamic: Arc<Mutex<Vec<ReportEntry>>>,
}

/// `fields` with the plugin's own fields from `slot`: each replaces the runner's field of its
/// name, or is added.
fn with_plugin_fields(
    mut fields: Vec<(&'static str, String)>,
    slot: &StatsSlot,
) -> Vec<(&'static str, String)> {
    for (name, value) in slot.fields() {
        let value = match value {
            StatValue::Number(n) => go_number(n),
            StatValue::Text(t) => t,
        };
        match fields.iter_mut().find(|(f, _)| *f == name) {
            Some(f) => f.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

/// Go's `%v` of a float64 holding `n`: plain below a million, else shortest exponent form.
fn go_number(n: u64) -> String {
    if n < 1_000_000 {
        return n.to_string();
    }
    let digits = n.to_string();
    let exp = digits.len() - 1;
    let mantissa = digits.trim_end_matches('0');
    match mantissa.len() {
        1 => format!("{mantissa}e+{exp:02}"),
        _ => format!("{}.{}e+{exp:02}", &mantissa[..1], &mantissa[1..]),
    }
}

impl Report {
    fn categories(&self, router: &Router) -> Vec<(&'static str, Vec<Component>)> {
        let count = |n: u64| go_number(n);
        let mut globals = vec![(
            "Router".to_string(),
            vec![("ProcessMessageCount", count(router.processed()))],
        )];
        let (mut inputs, mut splitters, mut decoders) = (Vec::new(), Vec::new(), Vec::new());
        let (mut filters, mut outputs, mut encoders) = (Vec::new(), Vec::new(), Vec::new());
        let dynamic = self.dynamic.lock();
        for e in self.entries.iter().chain(dynamic.iter()) {
            match &e.kind {
                Kind::Input {
                    stats,
                    splitter,
                    decoder,
                } => {
                    // Decoding happens in the input's thread: Heka's synchronous decode.
                    let mut fields = vec![
                        (
                            "ProcessMessageCount",
                            count(stats.records.load(Ordering::Relaxed)),
                        ),
                        ("SynchronousDecode", "true".to_string()),
                    ];
                    let address = stats.address.lock().clone();
                    if !address.is_empty() {
                        fields.push(("Address", address));
                    }
                    if stats.serves_connections.load(Ordering::Relaxed) {
                        let open = stats.connections_open.load(Ordering::Relaxed);
                        fields.push(("Connections", count(open.max(0) as u64)));
                        fields.push((
                            "ConnectionsAccepted",
                            count(stats.connections_accepted.load(Ordering::Relaxed)),
                        ));
                    }
                    inputs.push((e.name.clone(), with_plugin_fields(fields, &e.plugin)));
                    splitters.push((splitter.clone(), Vec::new()));
                    if let Some(d) = decoder {
                        decoders.push((d.clone(), with_plugin_fields(Vec::new(), &e.codec)));
                    }
                }
                Kind::FilterOutput {
                    output,
                    main,
                    inject,
                    stats,
                    matched,
                    encoder,
                } => {
                    let samples = matched.samples.load(Ordering::Relaxed);
                    let match_avg = matched.sample_ns.load(Ordering::Relaxed) / samples.max(1);
                    let mut fields = vec![
                        ("InChanCapacity", count(main.capacity().unwrap_or(0) as u64)),
                        ("InChanLength", count((main.len() + inject.len()) as u64)),
                        ("MatchAvgDuration", count(match_avg)),
                        (
                            "ProcessMessageCount",
                            count(matched.matched.load(Ordering::Relaxed)),
                        ),
                        (
                            "InjectMessageCount",
                            count(stats.injected.load(Ordering::Relaxed)),
                        ),
                    ];
                    if let Some(q) = stats.queue.get() {
                        fields.push(("QueueBytes", count(q.bytes())));
                    }
                    let fields = with_plugin_fields(fields, &e.plugin);
                    if *output {
                        outputs.push((e.name.clone(), fields));
                    } else {
                        filters.push((e.name.clone(), fields));
                    }
                    if let Some(enc) = encoder {
                        encoders.push((enc.clone(), with_plugin_fields(Vec::new(), &e.codec)));
                    }
                }
            }
        }
        globals.sort();
        vec![
            ("Globals", globals),
            ("Inputs", inputs),
            ("Splitters", splitters),
            ("Decoders", decoders),
            ("Filters", filters),
            ("Outputs", outputs),
            ("Encoders", encoders),
        ]
    }

    /// Every component's fields by category (`Inputs`, `Decoders`, …), all of them: the text
    /// shows only Heka's fixed list.
    pub(crate) fn fields(&self, router: &Router) -> Vec<(&'static str, Vec<Component>)> {
        self.categories(router)
    }

    /// The address the input `name` said it listens on, once it did.
    pub(crate) fn address(&self, name: &str) -> Option<String> {
        self.entries.iter().find_map(|e| match &e.kind {
            Kind::Input { stats, .. } if e.name == name => {
                let a = stats.address.lock().clone();
                (!a.is_empty()).then_some(a)
            }
            _ => None,
        })
    }

    /// One line per filter or output with deliveries still waiting in its channels.
    pub(crate) fn waiting(&self) -> Vec<String> {
        let dynamic = self.dynamic.lock();
        self.entries
            .iter()
            .chain(dynamic.iter())
            .filter_map(ReportEntry::waiting)
            .collect()
    }

    /// The text report, laid out exactly as Heka's.
    pub(crate) fn text(&self, router: &Router) -> String {
        let mut lines = Vec::new();
        for (title, components) in self.categories(router) {
            lines.push(format!("\n===={title}===="));
            if components.is_empty() {
                lines.push("NONE\n".to_string());
                continue;
            }
            for (name, fields) in components {
                let mut block = format!("{name}:");
                for shown in SHOWN {
                    for (f, v) in fields.iter().filter(|(f, _)| f == shown) {
                        let _ = write!(block, "\n    {f}: {v}");
                    }
                }
                lines.push(block);
            }
        }
        format!(
            "========[heka.all-report]========\n{}\n========\n",
            lines.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_go_prints_a_float64() {
        assert_eq!(go_number(0), "0");
        assert_eq!(go_number(999_999), "999999");
        assert_eq!(go_number(1_000_000), "1e+06");
        assert_eq!(go_number(26_000_000), "2.6e+07");
        assert_eq!(go_number(1_234_567), "1.234567e+06");
    }

    struct Fields(Vec<(&'static str, StatValue)>);

    impl crate::stats::ReportFields for Fields {
        fn fields(&self, out: &mut Vec<(&'static str, StatValue)>) {
            out.extend(self.0.iter().cloned());
        }
    }

    #[test]
    fn plugins_add_their_own_fields() {
        let (_tx, lanes) = crate::router::lanes(30);
        let (plugin, codec) = (StatsSlot::default(), StatsSlot::default());
        plugin.publish(|| {
            Fields(vec![
                ("Memory", StatValue::Number(2_500_000)),
                // Replaces the runner's count.
                ("ProcessMessageCount", StatValue::Number(7)),
                // Not in Heka's text.
                ("ProcessMessageFailures", StatValue::Number(1)),
            ])
        });
        codec.publish(|| Fields(vec![("MaxOutput", StatValue::Text("12".into()))]));
        let r = Report {
            entries: vec![ReportEntry::filter_output(
                "out",
                true,
                &lanes,
                Default::default(),
                Default::default(),
                Some("enc"),
                [plugin, codec],
            )],
            dynamic: Default::default(),
        };
        let router = Router::default();
        assert!(r.text(&router).contains(
            "\n====Outputs====\nout:\n    InChanCapacity: 30\n    InChanLength: 0\n    \
             MatchAvgDuration: 0\n    ProcessMessageCount: 7\n    InjectMessageCount: 0\n    \
             Memory: 2.5e+06\n\n====Encoders====\nout-enc:\n    MaxOutput: 12\n========\n"
        ));
        let fields = r.fields(&router);
        let outputs = &fields.iter().find(|(c, _)| *c == "Outputs").unwrap().1;
        assert!(
            outputs[0]
                .1
                .contains(&("ProcessMessageFailures", "1".to_string()))
        );
    }

    #[test]
    fn layout_follows_heka() {
        let (_tx, lanes) = crate::router::lanes(30);
        let r = Report {
            entries: vec![
                ReportEntry::input(
                    "TcpInput",
                    Default::default(),
                    "HekaFramingSplitter",
                    Some("ProtobufDecoder"),
                    Default::default(),
                ),
                ReportEntry::filter_output(
                    "out",
                    true,
                    &lanes,
                    Default::default(),
                    Default::default(),
                    Some("ProtobufEncoder"),
                    Default::default(),
                ),
            ],
            dynamic: Default::default(),
        };
        let text = r.text(&Router::default());
        let want = "========[heka.all-report]========\n\
\n====Globals====\nRouter:\n    ProcessMessageCount: 0\n\
\n====Inputs====\nTcpInput:\n    ProcessMessageCount: 0\n    SynchronousDecode: true\n\
\n====Splitters====\nTcpInput-HekaFramingSplitter:\n\
\n====Decoders====\nTcpInput-ProtobufDecoder:\n\
\n====Filters====\nNONE\n\n\
\n====Outputs====\nout:\n    InChanCapacity: 30\n    InChanLength: 0\n    MatchAvgDuration: 0\n    ProcessMessageCount: 0\n    InjectMessageCount: 0\n\
\n====Encoders====\nout-ProtobufEncoder:\n========\n";
        assert_eq!(text, want);
    }
}
