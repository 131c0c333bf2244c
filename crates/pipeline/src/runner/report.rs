//! The all-report: Heka's SIGUSR1 text table of every plugin's channels and counters.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::Receiver;

use crate::pack::Batch;
use crate::router::Router;
use crate::runner::filter_output::FoStats;
use crate::runner::stream::StreamStats;

enum Kind {
    Input(Arc<StreamStats>),
    FilterOutput {
        output: bool,
        rx: Receiver<Arc<Batch>>,
        stats: Arc<FoStats>,
    },
}

/// One plugin's line in the report.
pub(crate) struct ReportEntry {
    name: String,
    kind: Kind,
}

impl ReportEntry {
    pub(crate) fn input(name: &str, stats: Arc<StreamStats>) -> ReportEntry {
        ReportEntry {
            name: name.to_string(),
            kind: Kind::Input(stats),
        }
    }

    pub(crate) fn filter_output(
        name: &str,
        output: bool,
        rx: Receiver<Arc<Batch>>,
        stats: Arc<FoStats>,
    ) -> ReportEntry {
        ReportEntry {
            name: name.to_string(),
            kind: Kind::FilterOutput { output, rx, stats },
        }
    }
}

/// Everything the report reads.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) entries: Vec<ReportEntry>,
}

impl Report {
    /// Heka's text layout: a banner, one section per kind, `    Field: value` lines.
    pub(crate) fn text(&self, router: &Router) -> String {
        let mut s = String::from("========[heka.all-report]========\n====Globals====\nRouter:\n");
        let _ = writeln!(s, "    ProcessMessageCount: {}", router.processed());
        let section = |s: &mut String, title: &str, want: &dyn Fn(&Kind) -> bool| {
            let _ = writeln!(s, "===={title}====");
            let mut any = false;
            for e in self.entries.iter().filter(|e| want(&e.kind)) {
                any = true;
                let _ = writeln!(s, "{}:", e.name);
                match &e.kind {
                    Kind::Input(st) => {
                        let _ = writeln!(
                            s,
                            "    ProcessMessageCount: {}",
                            st.records.load(Ordering::Relaxed)
                        );
                        let _ = writeln!(
                            s,
                            "    ProcessMessageFailures: {}",
                            st.decode_failures.load(Ordering::Relaxed)
                        );
                    }
                    Kind::FilterOutput { rx, stats, .. } => {
                        let _ = writeln!(s, "    InChanCapacity: {}", rx.capacity().unwrap_or(0));
                        let _ = writeln!(s, "    InChanLength: {}", rx.len());
                        let _ = writeln!(
                            s,
                            "    ProcessMessageCount: {}",
                            stats.matched.load(Ordering::Relaxed)
                        );
                        let _ = writeln!(
                            s,
                            "    InjectMessageCount: {}",
                            stats.injected.load(Ordering::Relaxed)
                        );
                        let _ = writeln!(
                            s,
                            "    ProcessMessageFailures: {}",
                            stats.failures.load(Ordering::Relaxed)
                        );
                    }
                }
            }
            if !any {
                s.push_str("NONE\n");
            }
        };
        section(&mut s, "Inputs", &|k| matches!(k, Kind::Input(_)));
        section(&mut s, "Filters", &|k| {
            matches!(k, Kind::FilterOutput { output: false, .. })
        });
        section(&mut s, "Outputs", &|k| {
            matches!(k, Kind::FilterOutput { output: true, .. })
        });
        s.push_str("========\n");
        s
    }
}
