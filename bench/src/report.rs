//! Case descriptions, measurements, and the console / JSON / Markdown reports.

use serde_json::{Value, json};

use crate::daemons::Setup;
use crate::workload::Workload;

/// One benchmark case.
#[derive(Debug)]
pub(crate) struct Case {
    /// Short id used on the command line and in the results.
    pub(crate) id: &'static str,
    /// One-line description.
    pub(crate) what: &'static str,
    /// The byte stream sent.
    pub(crate) workload: Workload,
    /// The daemon and its configuration.
    pub(crate) setup: Setup,
    /// Id of the loopback case this one is compared with.
    pub(crate) limit: Option<&'static str>,
    /// The goal printed beside the numbers.
    pub(crate) target: Target,
    /// Connections the workload is spread over.
    pub(crate) connections: usize,
    /// A second case whose rate this one's is compared with (besides the target's peer).
    pub(crate) also_vs: Option<&'static str>,
}

/// A goal printed beside a case's numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// No goal.
    None,
    /// At least this many messages per second.
    Rate(f64),
    /// At least this multiple of the named peer case's rate.
    VsPeer(&'static str, f64),
}

/// The numbers from one run of one case.
#[derive(Debug, Clone)]
pub(crate) struct Measurement {
    /// Data messages sent (the end marker not included).
    pub(crate) messages: u64,
    /// Bytes sent, end marker included.
    pub(crate) bytes: u64,
    /// First byte sent until the end marker appeared.
    pub(crate) elapsed_s: f64,
    /// utime + stime of the daemon during the run.
    pub(crate) daemon_cpu_s: f64,
    /// CPU time of the generator thread.
    pub(crate) generator_cpu_s: f64,
    /// Daemon VmRSS just before the first byte.
    pub(crate) rss_start_kb: Option<u64>,
    /// Daemon VmRSS when the end marker appeared.
    pub(crate) rss_end_kb: Option<u64>,
    /// Daemon VmHWM when the end marker appeared.
    pub(crate) peak_rss_kb: Option<u64>,
    /// (seconds since start, messages sent so far, VmRSS kB) samples.
    pub(crate) rss_samples: Vec<(f64, u64, u64)>,
    /// Anything odd about the run.
    pub(crate) note: Option<String>,
    /// Log-file cases only: threads, latency, writer.
    pub(crate) file: Option<FileStats>,
}

/// What the log-file cases measure besides rate, CPU and memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileStats {
    /// Most threads the daemon had at one of the samples.
    pub(crate) threads_max: Option<u64>,
    /// Last write by the writer until the output held every line (`f`).
    pub(crate) latency_s: Option<f64>,
    /// First to last write by the writer (`f`).
    pub(crate) writer_s: Option<f64>,
    /// Files written (`f`).
    pub(crate) files: Option<u64>,
}

impl Measurement {
    fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed_s
    }

    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed_s / 1e6
    }

    fn msgs_per_cpu_s(&self) -> Option<f64> {
        (self.daemon_cpu_s > 0.0).then(|| self.messages as f64 / self.daemon_cpu_s)
    }

    /// VmRSS once a tenth of the messages had been sent (start-up transients are over).
    fn rss_at_tenth_kb(&self) -> Option<u64> {
        self.rss_samples
            .iter()
            .find(|s| s.1 * 10 >= self.messages)
            .map(|s| s.2)
    }

    fn json(&self) -> Value {
        json!({
            "messages": self.messages,
            "bytes": self.bytes,
            "elapsed_s": self.elapsed_s,
            "msgs_per_s": self.msgs_per_s(),
            "mb_per_s": self.mb_per_s(),
            "daemon_cpu_s": self.daemon_cpu_s,
            "msgs_per_cpu_s": self.msgs_per_cpu_s(),
            "generator_cpu_s": self.generator_cpu_s,
            "rss_start_kb": self.rss_start_kb,
            "rss_at_10pct_kb": self.rss_at_tenth_kb(),
            "rss_end_kb": self.rss_end_kb,
            "peak_rss_kb": self.peak_rss_kb,
            "rss_samples": self.rss_samples.iter().map(|s| json!([s.0, s.1, s.2])).collect::<Vec<_>>(),
            "note": self.note,
            "threads_max": self.file.as_ref().and_then(|f| f.threads_max),
            "latency_s": self.file.as_ref().and_then(|f| f.latency_s),
            "writer_s": self.file.as_ref().and_then(|f| f.writer_s),
            "files": self.file.as_ref().and_then(|f| f.files),
        })
    }
}

/// What happened to one run of one case.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Measured.
    Ok(Measurement),
    /// Not run (missing binary), with the reason.
    Skipped(String),
    /// Started but did not finish, with the error.
    Failed(String),
}

impl Outcome {
    /// One progress line.
    pub(crate) fn line(&self) -> String {
        match self {
            Outcome::Ok(m) => {
                let unit = if m.file.is_some() { "lines" } else { "msg" };
                let mut line = format!(
                    "{:>12} {unit}/s {:>8.1} MB/s {:>12} {unit}/CPU-s  peak RSS {}",
                    thousands(m.msgs_per_s()),
                    m.mb_per_s(),
                    m.msgs_per_cpu_s().map_or("-".into(), thousands),
                    mb(m.peak_rss_kb)
                );
                if let Some(t) = m.file.as_ref().and_then(|f| f.threads_max) {
                    line.push_str(&format!("  threads {t}"));
                }
                if let Some(l) = m.file.as_ref().and_then(|f| f.latency_s) {
                    line.push_str(&format!("  latency {l:.2} s"));
                }
                if let Some(n) = &m.note {
                    line.push_str(&format!("  ({n})"));
                }
                line
            }
            Outcome::Skipped(why) => format!("skipped: {why}"),
            Outcome::Failed(why) => format!("FAILED: {why}"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Outcome::Ok(m) => m.json(),
            Outcome::Skipped(why) => json!({ "skipped": why }),
            Outcome::Failed(why) => json!({ "failed": why }),
        }
    }
}

/// One case's line in the report.
#[derive(Debug)]
struct Row {
    case: &'static Case,
    runs: Vec<Value>,
    /// The median run (by rate), if any run succeeded.
    median: Option<Measurement>,
    /// Why there is no median.
    problem: Option<String>,
    pct_of_loopback: Option<f64>,
    ratio_to_peer: Option<f64>,
    /// Rate over the rate of `case.also_vs`.
    ratio_also: Option<f64>,
    target: Option<(String, bool)>,
}

/// Everything one benchmark run found.
#[derive(Debug)]
pub(crate) struct Summary {
    meta: Value,
    rows: Vec<Row>,
}

impl Summary {
    /// Computes medians, loopback percentages, peer ratios and target verdicts.
    pub(crate) fn new(meta: Value, outcomes: &[(&'static Case, Vec<Outcome>)]) -> Summary {
        let mut rows: Vec<Row> = outcomes
            .iter()
            .map(|(case, runs)| {
                let mut ok: Vec<&Measurement> = runs
                    .iter()
                    .filter_map(|o| match o {
                        Outcome::Ok(m) => Some(m),
                        _ => None,
                    })
                    .collect();
                ok.sort_by(|a, b| a.msgs_per_s().total_cmp(&b.msgs_per_s()));
                let median = ok.get(ok.len() / 2).map(|m| (*m).clone());
                let problem = runs.iter().find_map(|o| match o {
                    Outcome::Skipped(w) => Some(format!("skipped: {w}")),
                    Outcome::Failed(w) => Some(format!("failed: {w}")),
                    Outcome::Ok(_) => None,
                });
                Row {
                    case,
                    runs: runs.iter().map(Outcome::json).collect(),
                    median,
                    problem,
                    pct_of_loopback: None,
                    ratio_to_peer: None,
                    ratio_also: None,
                    target: None,
                }
            })
            .collect();
        let rate = |rows: &[Row], id: &str| {
            rows.iter()
                .find(|r| r.case.id == id)
                .and_then(|r| r.median.as_ref())
                .map(Measurement::msgs_per_s)
        };
        for i in 0..rows.len() {
            let Some(ours) = rows[i].median.as_ref().map(Measurement::msgs_per_s) else {
                continue;
            };
            let case = rows[i].case;
            let pct = case
                .limit
                .and_then(|l| rate(&rows, l))
                .map(|l| 100.0 * ours / l);
            let (ratio, target) = match case.target {
                Target::None => (None, None),
                Target::Rate(goal) => (
                    None,
                    Some((format!(">= {} msg/s", thousands(goal)), ours >= goal)),
                ),
                Target::VsPeer(peer, goal) => {
                    let ratio = rate(&rows, peer).map(|p| ours / p);
                    let verdict = ratio.map(|r| (format!(">= {goal}x {peer}"), r >= goal));
                    (ratio, verdict)
                }
            };
            rows[i].pct_of_loopback = pct;
            rows[i].ratio_also = case.also_vs.and_then(|p| rate(&rows, p)).map(|p| ours / p);
            rows[i].ratio_to_peer = ratio;
            rows[i].target = target;
        }
        Summary { meta, rows }
    }

    /// The results as JSON (raw runs plus the derived numbers).
    pub(crate) fn json(&self) -> Value {
        let cases: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.case.id,
                    "what": r.case.what,
                    "workload": format!("{:?}", r.case.workload),
                    "median": r.median.as_ref().map(Measurement::json),
                    "problem": r.problem,
                    "pct_of_loopback": r.pct_of_loopback,
                    "loopback_case": r.case.limit,
                    "ratio_to_peer": r.ratio_to_peer,
                    "also_vs": r.case.also_vs,
                    "ratio_to_also_vs": r.ratio_also,
                    "target": r.target.as_ref().map(|t| json!({ "goal": t.0, "met": t.1 })),
                    "runs": r.runs,
                })
            })
            .collect();
        let mut v = self.meta.clone();
        v["cases"] = Value::Array(cases);
        v
    }

    /// Cells of one row of the connection cases: case, msg/s, MB/s, msg/CPU-s, CPU-s, peak
    /// RSS, RSS 10%→end, % loopback, vs peer, target.
    fn cells(r: &Row) -> Vec<String> {
        let Some(m) = &r.median else {
            let mut v = vec![r.case.id.to_string()];
            v.push(r.problem.clone().unwrap_or_default());
            return v;
        };
        vec![
            r.case.id.to_string(),
            thousands(m.msgs_per_s()),
            format!("{:.1}", m.mb_per_s()),
            m.msgs_per_cpu_s().map_or("-".into(), thousands),
            format!("{:.2}", m.daemon_cpu_s),
            mb(m.peak_rss_kb),
            format!("{} -> {}", mb(m.rss_at_tenth_kb()), mb(m.rss_end_kb)),
            r.pct_of_loopback
                .map_or("-".into(), |p| format!("{p:.1} %")),
            r.ratio_to_peer.map_or("-".into(), |x| format!("{x:.2}x")),
            Self::verdict(r),
        ]
    }

    fn verdict(r: &Row) -> String {
        r.target.as_ref().map_or("-".into(), |(goal, met)| {
            format!("{goal}: {}", if *met { "met" } else { "NOT met" })
        })
    }

    const HEADER: [&'static str; 10] = [
        "case",
        "msg/s",
        "MB/s",
        "msg/CPU-s",
        "CPU-s",
        "peak RSS MB",
        "RSS MB 10%->end",
        "% loopback",
        "vs rsyslog",
        "target",
    ];

    /// Cells of one row of the log-file cases: case, lines/s, MB/s, lines/CPU-s, CPU-s, peak
    /// RSS, RSS 10%→end, threads, latency, % of the read limit, ratios to peers, target.
    fn file_cells(r: &Row) -> Vec<String> {
        let Some(m) = &r.median else {
            let mut v = vec![r.case.id.to_string()];
            v.push(r.problem.clone().unwrap_or_default());
            return v;
        };
        let f = m.file.clone().unwrap_or_default();
        let mut ratios = Vec::new();
        if let (Target::VsPeer(peer, _), Some(x)) = (r.case.target, r.ratio_to_peer) {
            ratios.push(format!("{x:.2}x {peer}"));
        }
        if let (Some(peer), Some(x)) = (r.case.also_vs, r.ratio_also) {
            ratios.push(format!("{x:.2}x {peer}"));
        }
        vec![
            r.case.id.to_string(),
            thousands(m.msgs_per_s()),
            format!("{:.1}", m.mb_per_s()),
            m.msgs_per_cpu_s().map_or("-".into(), thousands),
            format!("{:.2}", m.daemon_cpu_s),
            mb(m.peak_rss_kb),
            format!("{} -> {}", mb(m.rss_at_tenth_kb()), mb(m.rss_end_kb)),
            f.threads_max.map_or("-".into(), |t| t.to_string()),
            f.latency_s.map_or("-".into(), |l| format!("{l:.2}")),
            r.pct_of_loopback
                .map_or("-".into(), |p| format!("{p:.1} %")),
            if ratios.is_empty() {
                "-".into()
            } else {
                ratios.join(", ")
            },
            Self::verdict(r),
        ]
    }

    const FILE_HEADER: [&'static str; 12] = [
        "case",
        "lines/s",
        "MB/s",
        "lines/CPU-s",
        "CPU-s",
        "peak RSS MB",
        "RSS MB 10%->end",
        "threads",
        "latency s",
        "% of e-cat",
        "vs peer",
        "target",
    ];

    /// The rows of one group (connection cases, or log-file cases) as cells, with the header.
    fn group(&self, files: bool) -> Option<(&'static [&'static str], Vec<Vec<String>>)> {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .filter(|r| is_file_case(r.case) == files)
            .map(|r| {
                if files {
                    Self::file_cells(r)
                } else {
                    Self::cells(r)
                }
            })
            .collect();
        let header: &'static [&'static str] = if files {
            &Self::FILE_HEADER
        } else {
            &Self::HEADER
        };
        (!rows.is_empty()).then_some((header, rows))
    }

    /// A plain-text table for the console.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        for files in [false, true] {
            let Some((header, rows)) = self.group(files) else {
                continue;
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&plain_table(header, &rows));
        }
        out
    }

    /// The short Markdown report.
    pub(crate) fn markdown(&self) -> String {
        let m = &self.meta;
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), String::from);
        let mut out = format!(
            "# heka-bench results, {}\n\n\
             Machine: {} — {} × {}, {}, kernel {}. Git: {}. Peer: {}.\n\n",
            text(&m["timestamp"]),
            text(&m["machine"]["hostname"]),
            text(&m["machine"]["cpus"]),
            text(&m["machine"]["cpu_model"]),
            text(&m["machine"]["os"]),
            text(&m["machine"]["kernel"]),
            text(&m["git"]),
            text(&m["rsyslogd_version"]),
        );
        if let Some((header, rows)) = self.group(false) {
            out.push_str(&format!(
                "{} data messages per case (framed message {:.0} B, line {:.0} B), {} run(s) per case, median shown.\n\
                 Time = first byte sent until the end marker appeared. CPU = daemon utime+stime over that time.\n\n",
                text(&m["options"]["count"]),
                m["workloads"]["framed"]["message_bytes"]
                    .as_f64()
                    .unwrap_or(0.0),
                m["workloads"]["lines"]["message_bytes"]
                    .as_f64()
                    .unwrap_or(0.0),
                text(&m["options"]["repeat"]),
            ));
            out.push_str(&markdown_table(header, &rows));
            out.push_str(
                "\nTargets: b >= 1,000,000 msg/s; c >= 500,000 msg/s; d-hekad >= 1.5x d-rsyslog; \
                 hekad RSS flat across 10 M messages (compare `RSS MB 10%->end`, run with \
                 `--count 10000000`; `rss_samples` in results.json has the whole curve).\n",
            );
        }
        if let Some((header, rows)) = self.group(true) {
            if self.group(false).is_some() {
                out.push_str("\n## Log-file cases\n\n");
            }
            let log = &m["workloads"]["nginx_log"];
            let files = &m["workloads"]["many_files"];
            out.push_str(&format!(
                "e: one nginx access log of {} lines, {:.1} MB ({:.0} B a line), in page cache ({}). \
                 f: {} files, {} lines each, appended {} lines at a time to each file in turn{}. \
                 {} run(s) per case, median shown.\n\
                 Time = daemon start (e) or first write (f) until the output file held every line. \
                 CPU = the process's utime+stime over that time. Threads = most seen in \
                 `/proc/PID/status` (sampled every {} ms). Latency (f) = last write until the \
                 output held every line.\n\n",
                text(&log["lines"]),
                log["bytes"].as_f64().unwrap_or(0.0) / 1e6,
                log["bytes"].as_f64().unwrap_or(0.0) / log["lines"].as_f64().unwrap_or(1.0).max(1.0),
                text(&log["dir"]),
                text(&files["files"]),
                text(&files["lines_per_file"]),
                text(&files["lines_per_write"]),
                files["rate"]
                    .as_f64()
                    .map_or(String::from(", as fast as the writer can"), |r| {
                        format!(", {} lines/s in all", thousands(r))
                    }),
                text(&m["options"]["repeat"]),
                text(&m["options"]["sample_interval_ms"]),
            ));
            out.push_str(&markdown_table(header, &rows));
            out.push_str(
                "\nTargets (issue 9): e-hekad >= 2x e-rsyslog in lines/s, hekad RSS flat across the \
                 file (`RSS MB 10%->end`; `rss_samples` in results.json: [s, lines, VmRSS kB]); \
                 f: lines/s and threads reported.\n",
            );
        }
        let notes: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| {
                let m = r.median.as_ref()?;
                m.note.as_ref().map(|n| format!("- `{}`: {n}\n", r.case.id))
            })
            .collect();
        if !notes.is_empty() {
            out.push_str("\nNotes on the median runs:\n");
            out.extend(notes);
        }
        out.push_str("\nCases:\n");
        for r in &self.rows {
            out.push_str(&format!("- `{}`: {}\n", r.case.id, r.case.what));
        }
        out
    }
}

/// Whether a case is one of the log-file cases (its own table).
fn is_file_case(case: &Case) -> bool {
    matches!(case.workload, Workload::Logfile | Workload::ManyFiles)
}

/// Right-aligned columns; a row with fewer cells (a failed case) is not aligned.
fn plain_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    let columns = widths.len();
    for r in rows.iter().filter(|r| r.len() == columns) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt = |cells: &[String]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = if cells.len() == widths.len() {
                widths[i]
            } else {
                0
            };
            line.push_str(&format!("{c:>w$}  "));
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = fmt(&header.iter().map(|h| (*h).to_string()).collect::<Vec<_>>());
    for r in rows {
        out.push_str(&fmt(r));
    }
    out
}

fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        let mut cells = r.clone();
        cells.resize(header.len(), String::new());
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// `1234567.8` → `1,234,568`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// kB → `"12.3"` MB, or `-`.
fn mb(kb: Option<u64>) -> String {
    kb.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(messages: u64, elapsed_s: f64) -> Measurement {
        Measurement {
            messages,
            bytes: messages * 100,
            elapsed_s,
            daemon_cpu_s: elapsed_s * 2.0,
            generator_cpu_s: 0.1,
            rss_start_kb: Some(1000),
            rss_end_kb: Some(3072),
            peak_rss_kb: Some(4096),
            rss_samples: vec![
                (0.1, 0, 1000),
                (0.5, messages / 5, 2048),
                (1.0, messages, 3072),
            ],
            note: None,
            file: None,
        }
    }

    const PEER: Case = Case {
        id: "peer",
        what: "the peer",
        workload: Workload::Lines,
        setup: Setup::Rsyslog,
        limit: Some("loop"),
        target: Target::None,
        connections: 1,
        also_vs: None,
    };
    const LOOP: Case = Case {
        id: "loop",
        what: "loopback",
        workload: Workload::Lines,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1,
        also_vs: None,
    };
    const OURS: Case = Case {
        id: "ours",
        what: "ours",
        workload: Workload::Lines,
        setup: Setup::HekadLines,
        limit: Some("loop"),
        target: Target::VsPeer("peer", 1.5),
        connections: 1,
        also_vs: None,
    };
    const RATE: Case = Case {
        id: "rate",
        what: "rate goal",
        workload: Workload::Framed,
        setup: Setup::HekadCounter,
        limit: None,
        target: Target::Rate(1_000_000.0),
        connections: 1,
        also_vs: None,
    };

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn measurement_rates_and_rss_at_a_tenth() {
        let x = m(1_000_000, 2.0);
        assert_eq!(x.msgs_per_s(), 500_000.0);
        assert_eq!(x.mb_per_s(), 50.0);
        assert_eq!(x.msgs_per_cpu_s(), Some(250_000.0));
        assert_eq!(x.rss_at_tenth_kb(), Some(2048));
    }

    #[test]
    fn summary_takes_medians_and_derives_ratios_and_verdicts() {
        static CASES: [Case; 4] = [LOOP, OURS, PEER, RATE];
        let outcomes = vec![
            (&CASES[0], vec![Outcome::Ok(m(1000, 0.001))]),
            (
                &CASES[1],
                vec![
                    Outcome::Ok(m(1000, 1.0)),
                    Outcome::Ok(m(1000, 0.01)),
                    Outcome::Ok(m(1000, 0.1)),
                ],
            ),
            (&CASES[2], vec![Outcome::Ok(m(1000, 0.2))]),
            (&CASES[3], vec![Outcome::Skipped("no hekad".into())]),
        ];
        let s = Summary::new(json!({}), &outcomes);
        let j = s.json();
        let ours = &j["cases"][1];
        assert_eq!(ours["median"]["msgs_per_s"], 10_000.0);
        assert_eq!(ours["runs"].as_array().unwrap().len(), 3);
        assert!((ours["pct_of_loopback"].as_f64().unwrap() - 1.0).abs() < 1e-9);
        assert!((ours["ratio_to_peer"].as_f64().unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(ours["target"]["met"], true);
        assert_eq!(j["cases"][3]["problem"], "skipped: no hekad");
        assert!(j["cases"][3]["median"].is_null());
        let table = s.table();
        assert!(table.contains("10,000"), "{table}");
        assert!(table.contains("2.00x"), "{table}");
        assert!(table.contains("skipped: no hekad"), "{table}");
        let md = s.markdown();
        assert!(md.contains("| ours | 10,000 |"), "{md}");
        assert!(md.contains(">= 1.5x peer: met"), "{md}");
    }
}
