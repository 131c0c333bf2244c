//! What the sandbox plugins share: Go's time parsing for `write_message("Timestamp", text)`,
//! the `config.tz` option, and the fields they show in the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use heka_pipeline::config::ConfigError;
use heka_pipeline::registry::BuildContext;
use heka_pipeline::stats::{ReportFields, StatValue};
use heka_sandbox::{Kind, Sandbox, Usage};

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

/// A sandbox plugin's report fields (Heka's `ReportMsg` of the five sandbox plugins): the
/// sandbox's usage and the plugin's counters, updated by the plugin's thread, read by the
/// report's. The instances of one plugin (a decoder's streams, a restarted plugin) share one.
#[derive(Debug)]
pub(crate) struct SandboxStats {
    kind: Kind,
    usage: Arc<Usage>,
    /// Calls (filters, decoders, encoders), successful calls (outputs) or injected messages
    /// (inputs).
    process_count: AtomicU64,
    process_failures: AtomicU64,
    /// Filters: messages injected.
    inject_count: AtomicU64,
    /// Inputs: bytes of the messages injected.
    process_bytes: AtomicU64,
    process_samples: AtomicU64,
    process_ns: AtomicU64,
    timer_samples: AtomicU64,
    timer_ns: AtomicU64,
}

impl SandboxStats {
    fn new(kind: Kind) -> SandboxStats {
        SandboxStats {
            kind,
            usage: Arc::default(),
            process_count: AtomicU64::new(0),
            process_failures: AtomicU64::new(0),
            inject_count: AtomicU64::new(0),
            process_bytes: AtomicU64::new(0),
            process_samples: AtomicU64::new(0),
            process_ns: AtomicU64::new(0),
            timer_samples: AtomicU64::new(0),
            timer_ns: AtomicU64::new(0),
        }
    }

    /// The stats of the plugin `ctx` builds (shared with its other instances), and the
    /// sampling of its durations; `sandbox` keeps its usage in them from now on.
    pub(crate) fn publish(
        ctx: &BuildContext<'_>,
        kind: Kind,
        sandbox: &mut Sandbox,
    ) -> (Arc<SandboxStats>, Sampler) {
        let stats = ctx.stats.publish(|| SandboxStats::new(kind));
        sandbox.set_usage(stats.usage.clone());
        let sampler = Sampler {
            denominator: ctx.globals.sample_denominator.max(1),
            sample: true,
        };
        (stats, sampler)
    }

    /// One more call (or, for an output, successful call; for an input, injected message).
    pub(crate) fn count(&self) {
        self.process_count.fetch_add(1, Ordering::Relaxed);
    }

    /// One more failed call (status < 0).
    pub(crate) fn failure(&self) {
        self.process_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// One more message injected by a filter.
    pub(crate) fn injected(&self) {
        self.inject_count.fetch_add(1, Ordering::Relaxed);
    }

    /// An input injected a message of `bytes` bytes.
    pub(crate) fn input_message(&self, bytes: usize) {
        self.count();
        self.process_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        self.usage.note_output(bytes);
    }

    /// A `timer_event` call that started at `started` has returned (every one is timed, as in
    /// Heka).
    pub(crate) fn timer_done(&self, started: Instant) {
        self.timer_ns
            .fetch_add(elapsed_ns(started), Ordering::Relaxed);
        self.timer_samples.fetch_add(1, Ordering::Relaxed);
    }
}

fn elapsed_ns(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn avg(total: &AtomicU64, samples: u64) -> u64 {
    total.load(Ordering::Relaxed) / samples.max(1)
}

impl ReportFields for SandboxStats {
    fn fields(&self, out: &mut Vec<(&'static str, StatValue)>) {
        let n = |v: u64| StatValue::Number(v);
        let load = |a: &AtomicU64| n(a.load(Ordering::Relaxed));
        let u = &self.usage;
        out.push(("Memory", n(u.memory())));
        out.push(("MaxMemory", n(u.max_memory())));
        out.push(("MaxInstructions", n(u.max_instructions())));
        if self.kind != Kind::Output {
            out.push(("MaxOutput", n(u.max_output())));
        }
        out.push(("ProcessMessageCount", load(&self.process_count)));
        out.push(("ProcessMessageFailures", load(&self.process_failures)));
        if self.kind == Kind::Input {
            out.push(("ProcessMessageBytes", load(&self.process_bytes)));
            return;
        }
        if self.kind == Kind::Filter {
            out.push(("InjectMessageCount", load(&self.inject_count)));
        }
        let samples = self.process_samples.load(Ordering::Relaxed);
        out.push(("ProcessMessageSamples", n(samples)));
        let timers = matches!(self.kind, Kind::Filter | Kind::Output);
        let timer_samples = self.timer_samples.load(Ordering::Relaxed);
        if timers {
            out.push(("TimerEventSamples", n(timer_samples)));
        }
        out.push((
            "ProcessMessageAvgDuration",
            n(avg(&self.process_ns, samples)),
        ));
        if timers {
            out.push((
                "TimerEventAvgDuration",
                n(avg(&self.timer_ns, timer_samples)),
            ));
        }
    }
}

/// Times one `process_message` call in `sample_denominator` (Heka: the first call, then each
/// one with a chance of 1 in `sample_denominator`).
#[derive(Debug)]
pub(crate) struct Sampler {
    denominator: u64,
    sample: bool,
}

impl Sampler {
    /// A call starts: its start time if it is sampled.
    pub(crate) fn start(&self) -> Option<Instant> {
        self.sample.then(Instant::now)
    }

    /// The call that started at `started` has returned; decides whether the next is sampled.
    pub(crate) fn done(&mut self, stats: &SandboxStats, started: Option<Instant>) {
        if let Some(t) = started {
            stats.process_ns.fetch_add(elapsed_ns(t), Ordering::Relaxed);
            stats.process_samples.fetch_add(1, Ordering::Relaxed);
        }
        self.sample = fastrand::u64(0..self.denominator) == 0;
    }
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

    fn names(kind: Kind) -> Vec<&'static str> {
        let mut out = Vec::new();
        SandboxStats::new(kind).fields(&mut out);
        out.into_iter().map(|(n, _)| n).collect()
    }

    /// Each kind reports Heka's fields (sandbox_*.go `ReportMsg`), in Heka's order.
    #[test]
    fn each_kind_has_hekas_fields() {
        let usage = ["Memory", "MaxMemory", "MaxInstructions"];
        let with = |more: &[&'static str]| [&usage[..], more].concat();
        assert_eq!(
            names(Kind::Filter),
            with(&[
                "MaxOutput",
                "ProcessMessageCount",
                "ProcessMessageFailures",
                "InjectMessageCount",
                "ProcessMessageSamples",
                "TimerEventSamples",
                "ProcessMessageAvgDuration",
                "TimerEventAvgDuration",
            ])
        );
        let codec = with(&[
            "MaxOutput",
            "ProcessMessageCount",
            "ProcessMessageFailures",
            "ProcessMessageSamples",
            "ProcessMessageAvgDuration",
        ]);
        assert_eq!(names(Kind::Decoder), codec);
        assert_eq!(names(Kind::Encoder), codec);
        assert_eq!(
            names(Kind::Input),
            with(&[
                "MaxOutput",
                "ProcessMessageCount",
                "ProcessMessageFailures",
                "ProcessMessageBytes",
            ])
        );
        assert_eq!(
            names(Kind::Output),
            with(&[
                "ProcessMessageCount",
                "ProcessMessageFailures",
                "ProcessMessageSamples",
                "TimerEventSamples",
                "ProcessMessageAvgDuration",
                "TimerEventAvgDuration",
            ])
        );
    }

    #[test]
    fn durations_are_sampled_and_averaged() {
        let stats = SandboxStats::new(Kind::Filter);
        let value = |name: &str| {
            let mut out = Vec::new();
            stats.fields(&mut out);
            match out.into_iter().find(|(n, _)| *n == name).unwrap().1 {
                StatValue::Number(n) => n,
                StatValue::Text(t) => panic!("{t}"),
            }
        };
        // The first call is always timed; with a denominator of 1, every one is.
        let mut every = Sampler {
            denominator: 1,
            sample: true,
        };
        for _ in 0..3 {
            let started = every.start();
            assert!(started.is_some());
            std::thread::sleep(std::time::Duration::from_millis(1));
            every.done(&stats, started);
        }
        assert_eq!(value("ProcessMessageSamples"), 3);
        let avg = value("ProcessMessageAvgDuration");
        assert!((1_000_000..1_000_000_000).contains(&avg), "{avg}");
        // One in a million: the first, then (almost surely) none of the next hundred.
        let mut rare = Sampler {
            denominator: 1_000_000,
            sample: true,
        };
        let timed = (0..100)
            .filter(|_| {
                let started = rare.start();
                rare.done(&stats, started);
                started.is_some()
            })
            .count();
        assert_eq!(timed, 1);
        assert_eq!(value("ProcessMessageSamples"), 4);
        assert_eq!(value("TimerEventAvgDuration"), 0, "no timer yet");
        stats.timer_done(Instant::now());
        assert_eq!(value("TimerEventSamples"), 1);
    }

    /// The five sandbox plugins in a pipeline, with the fields the text report leaves out.
    #[test]
    fn the_plugins_count_calls_failures_samples_and_bytes() {
        use heka_pipeline::config::load_str;
        use heka_pipeline::runner::build::Pipeline;
        use std::time::Duration;

        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                "in.lua",
                r#"
                n = 0
                function process_message()
                    n = n + 1
                    if n == 2 then return -1, "second call fails" end
                    if n == 1 then
                        inject_message({Type = "gen", Payload = "x"})
                        inject_message({Type = "gen", Payload = "y"})
                    end
                    return 0
                end"#,
            ),
            (
                "dec.lua",
                r#"
                function process_message()
                    if read_message("Payload") == "bad\n" then return -1 end
                    inject_message({Type = "line", Payload = read_message("Payload")})
                    return 0
                end"#,
            ),
            (
                "filter.lua",
                r#"
                function process_message()
                    if read_message("Payload") == "fail\n" then return -1 end
                    inject_payload("txt", "echo", read_message("Payload"))
                    return 0
                end
                function timer_event(ns) end"#,
            ),
            (
                "enc.lua",
                r#"
                function process_message()
                    if read_message("Payload") == "fail\n" then return -1, "no" end
                    return 0
                end"#,
            ),
            (
                "out.lua",
                r#"
                function process_message()
                    if read_message("Payload") == "ok\n" then return 0 end
                    return -1
                end"#,
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let port = crate::support::testing::free_udp_port();
        let toml = format!(
            r#"
[hekad]
share_dir = "{dir}"
base_dir = "{dir}"
sample_denominator = 1

[gen]
type = "SandboxInput"
filename = "in.lua"
ticker_interval = 1

[lines]
type = "UdpInput"
address = "127.0.0.1:{port}"
splitter = "TokenSplitter"
decoder = "dec"

[dec]
type = "SandboxDecoder"
filename = "dec.lua"

[filter]
type = "SandboxFilter"
filename = "filter.lua"
message_matcher = "Type == 'line'"
ticker_interval = 1

[enc]
type = "SandboxEncoder"
filename = "enc.lua"

[file]
type = "FileOutput"
message_matcher = "Type == 'line'"
path = "{dir}/file.log"
encoder = "enc"

[out]
type = "SandboxOutput"
filename = "out.lua"
message_matcher = "Type == 'line'"
ticker_interval = 1
"#,
            dir = dir.path().display(),
        );
        let cfg = load_str(&toml, std::path::Path::new("t.toml")).unwrap();
        let running = Pipeline::build(&cfg, &crate::builtin())
            .unwrap()
            .start()
            .unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(
            b"ok
bad
fail
ok
",
            ("127.0.0.1", port),
        )
        .unwrap();
        let field = |c: &str, n: &str, f: &str| {
            let fields = running.report_fields(c, n).unwrap_or_default();
            fields.into_iter().find(|(k, _)| *k == f).map(|(_, v)| v)
        };
        let want = [
            ("Inputs", "gen", "ProcessMessageCount", "2"),
            ("Inputs", "gen", "ProcessMessageFailures", "1"),
            ("Decoders", "lines-dec", "ProcessMessageCount", "4"),
            ("Decoders", "lines-dec", "ProcessMessageFailures", "1"),
            ("Decoders", "lines-dec", "ProcessMessageSamples", "4"),
            ("Filters", "filter", "ProcessMessageCount", "3"),
            ("Filters", "filter", "ProcessMessageFailures", "1"),
            ("Filters", "filter", "ProcessMessageSamples", "3"),
            ("Filters", "filter", "InjectMessageCount", "2"),
            ("Encoders", "file-enc", "ProcessMessageCount", "3"),
            ("Encoders", "file-enc", "ProcessMessageFailures", "1"),
            ("Encoders", "file-enc", "ProcessMessageSamples", "3"),
            // An output counts the messages its script took.
            ("Outputs", "out", "ProcessMessageCount", "2"),
            ("Outputs", "out", "ProcessMessageFailures", "1"),
            ("Outputs", "out", "ProcessMessageSamples", "3"),
        ];
        let deadline = Instant::now() + Duration::from_secs(20);
        let ticked = || {
            ["filter", "out"].iter().all(|n| {
                let c = if *n == "out" { "Outputs" } else { "Filters" };
                field(c, n, "TimerEventSamples").is_some_and(|v| v != "0")
            })
        };
        while Instant::now() < deadline
            && !(ticked()
                && want
                    .iter()
                    .all(|(c, n, f, v)| field(c, n, f).as_deref() == Some(*v)))
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        for (c, n, f, v) in want {
            assert_eq!(field(c, n, f).as_deref(), Some(v), "{c} {n} {f}");
        }
        assert!(ticked());
        // Two messages of protobuf bytes (Uuid, Timestamp, Type, Payload, Pid, Hostname…).
        let bytes: u64 = field("Inputs", "gen", "ProcessMessageBytes")
            .unwrap()
            .parse()
            .unwrap();
        assert!(bytes > 2 * 20, "{bytes}");
        running.stop();
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
