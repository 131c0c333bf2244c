//! The runtime with tiny fakes of our own plugin traits: routing and matching, injection and its
//! guards, `can_exit` termination, retries and delivery acknowledgement.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use heka_pipeline::config;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::*;
use heka_pipeline::registry::*;
use heka_pipeline::runner::build::Pipeline;
use serde::Deserialize;

/// What the fake outputs and inputs observed, by sink name.
static SINKS: LazyLock<Mutex<BTreeMap<String, Vec<String>>>> = LazyLock::new(Default::default);

/// The sinks, even after a failed test panicked while holding them.
fn sinks() -> std::sync::MutexGuard<'static, BTreeMap<String, Vec<String>>> {
    SINKS.lock().unwrap_or_else(|e| e.into_inner())
}

fn record(sink: &str, what: String) {
    sinks().entry(sink.to_string()).or_default().push(what);
}

fn sink(name: &str) -> Vec<String> {
    sinks().get(name).cloned().unwrap_or_default()
}

fn sink_len(name: &str) -> usize {
    sinks().get(name).map_or(0, Vec::len)
}

fn wait_sink(name: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if sink_len(name) >= n {
            return sink(name);
        }
        assert!(
            Instant::now() < deadline,
            "sink {name} has {} entries, wanted {n}",
            sink_len(name)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits up to `secs` seconds for `name` to hold `n` entries (without copying it each time).
fn wait_len(name: &str, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while sink_len(name) < n {
        assert!(
            Instant::now() < deadline,
            "sink {name} has {} entries, wanted {n}",
            sink_len(name)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LinesConfig {
    lines: Vec<String>,
    ack_sink: Option<String>,
    /// Records the index of each line once the stream has routed it.
    progress_sink: Option<String>,
    /// Also sends this many lines "l0", "l1", ... after `lines`.
    count: usize,
    /// Fails to build unless the build only checks the config (stands for a resource, such as
    /// a port, that another process holds).
    resource_taken: bool,
}

/// Feeds its configured lines into one stream, then waits for the stop.
struct LinesInput(LinesConfig);

impl Input for LinesInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let mut s = ctx.stream()?;
        if self.0.ack_sink.is_some() {
            s.enable_ack();
        }
        let generated = (0..self.0.count).map(|i| format!("l{i}"));
        for (i, l) in self.0.lines.iter().cloned().chain(generated).enumerate() {
            s.push_bytes(format!("{l}\n").as_bytes());
            if let Some(p) = &self.0.progress_sink {
                record(p, i.to_string());
            }
        }
        s.finish();
        if let Some(name) = &self.0.ack_sink {
            let acks = s.acks().unwrap();
            let total = (self.0.lines.len() + self.0.count) as u64;
            loop {
                let done = acks.wait(Duration::from_millis(20));
                record(name, format!("acked {done}"));
                if done == total || ctx.stopping() {
                    break;
                }
            }
        }
        while !ctx.sleep(Duration::from_secs(5)) {}
        Ok(())
    }
}

struct LineSplitter;
impl Splitter for LineSplitter {
    fn find_record(&mut self, buf: &[u8]) -> Split {
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => Split {
                consumed: i + 1,
                record: Some(0..i),
                signer: None,
            },
            None => Split::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EchoConfig {
    copies: usize,
    echo_type: String,
    /// Where refused injections are recorded (default "inject-errors").
    errors_sink: Option<String>,
    /// Injects one message of this type on every tick.
    tick_type: Option<String>,
    /// Sleeps this long per message (a slow filter).
    delay_ms: u64,
}

/// Injects `copies` messages of type `echo_type` per message; on "die" fails fatally.
struct EchoFilter(EchoConfig);
impl Filter for EchoFilter {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        if self.0.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.0.delay_ms));
        }
        let p = String::from_utf8_lossy(pack.message().payload_bytes()).into_owned();
        if p == "die" {
            return Err(ProcessError::Fatal("asked to die".into()));
        }
        if p == "panic" {
            panic!("filter test panic");
        }
        for _ in 0..self.0.copies {
            let mut m = ctx.new_message();
            m.set_type(self.0.echo_type.clone());
            m.set_payload(format!("echo {p}"));
            if let Err(e) = ctx.inject(m) {
                let sink = self.0.errors_sink.as_deref().unwrap_or("inject-errors");
                record(sink, e.to_string());
            }
        }
        Ok(())
    }

    fn timer_event(&mut self, ctx: &mut FilterContext<'_>, _: i64) -> Result<(), ProcessError> {
        if let Some(t) = &self.0.tick_type {
            let mut m = ctx.new_message();
            m.set_type(t.clone());
            m.set_payload("tick");
            ctx.inject(m)
                .map_err(|e| ProcessError::Drop(e.to_string()))?;
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct CollectConfig {
    sink: String,
    hold_until: usize,
    /// Blocks in `process_message` until [`GATE`] opens.
    gated: bool,
    /// Sleeps this long per message (a slow destination).
    delay_ms: u64,
    /// Every delivery fails with a retry (a destination that is down).
    down: bool,
    /// Writes everything out when the runner asks (`flush_requested`), whatever `hold_until`.
    obey_flush_request: bool,
    /// Panics on a message with payload "panic": every time, or (`panic_once`) only the first
    /// time the sink `<sink>-panics` is empty. Each panic is recorded there.
    panic_on_panic: bool,
    panic_once: bool,
    /// `shutdown` panics (what it holds cannot be written out).
    panic_in_shutdown: bool,
    /// Records what the output's encoder makes of each message (or its error) instead.
    encode: bool,
}

/// Opens the gate of gated outputs.
static GATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records "<type>:<payload>" of each message; with `hold_until`, claims nothing is written
/// until that many messages arrived.
struct CollectOutput {
    cfg: CollectConfig,
    seen: usize,
}
impl Output for CollectOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        if self.cfg.down {
            return Err(ProcessError::Retry("destination down".into()));
        }
        if self.cfg.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.cfg.delay_ms));
        }
        if self.cfg.gated {
            record("gate-reached", String::new());
            while !GATE.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if self.cfg.panic_on_panic && pack.message().payload_bytes() == b"panic" {
            let panics = format!("{}-panics", self.cfg.sink);
            if !self.cfg.panic_once || sink_len(&panics) == 0 {
                record(&panics, "panic".into());
                panic!("output test panic");
            }
        }
        self.seen += 1;
        if self.cfg.encode {
            let mut out = Vec::new();
            let what = match ctx.encode(pack, &mut out) {
                Ok(_) => String::from_utf8_lossy(&out).into_owned(),
                Err(e) => format!("error: {e}"),
            };
            record(&self.cfg.sink, what);
            return Ok(());
        }
        let m = pack.message();
        record(
            &self.cfg.sink,
            format!(
                "{}:{}",
                String::from_utf8_lossy(m.type_bytes()),
                String::from_utf8_lossy(m.payload_bytes())
            ),
        );
        Ok(())
    }
    fn flush(&mut self, ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        if self.cfg.obey_flush_request && ctx.flush_requested() {
            self.cfg.hold_until = 0;
        }
        Ok(self.seen >= self.cfg.hold_until)
    }
    fn shutdown(&mut self, _: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        if self.cfg.panic_in_shutdown && self.seen < self.cfg.hold_until {
            panic!("shutdown test panic");
        }
        Ok(())
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PanicConfig {
    sink: String,
}

/// Encodes a message as its payload; panics on the payload "panic" (after writing some bytes).
struct PanicEncoder;
impl Encoder for PanicEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let payload = pack.message().payload_bytes();
        out.extend_from_slice(payload);
        if payload == b"panic" {
            panic!("encoder test panic");
        }
        Ok(())
    }
}

/// Records "run" in its sink, routes one line "run <n>", then panics.
struct PanicInput(PanicConfig);
impl Input for PanicInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        record(&self.0.sink, "run".into());
        let mut s = ctx.stream()?;
        s.push_bytes(format!("run {}\n", sink_len(&self.0.sink)).as_bytes());
        panic!("input test panic");
    }
}

/// Starts and stops filters at run time: on "start" it starts the EchoFilter `dyn-echo`
/// (answering Type `ping` with Type `pong`) and injects a `ping`; on "stop" it stops it and
/// injects another `ping`; records what the calls said in the sink "starter".
struct StarterFilter;
impl Filter for StarterFilter {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        let p = String::from_utf8_lossy(pack.message().payload_bytes()).into_owned();
        let echo = r#"
[dyn-echo]
type = "EchoFilter"
message_matcher = "Type == 'ping'"
copies = 1
echo_type = "pong"
[an-output]
type = "CollectOutput"
[no-such]
type = "NoSuchFilter"
"#;
        let cfg = config::load_str(echo, Path::new("dyn.toml")).unwrap();
        let what = match p.as_str() {
            "start" => match ctx.filters().start(cfg.section("dyn-echo").unwrap()) {
                Ok(()) => "started".to_string(),
                Err(e) => e.to_string(),
            },
            "others" => {
                let a = ctx.filters().start(cfg.section("an-output").unwrap());
                let b = ctx.filters().start(cfg.section("no-such").unwrap());
                format!("{} / {}", a.unwrap_err(), b.unwrap_err())
            }
            "stop" => format!("{}", ctx.filters().stop("dyn-echo")),
            _ => String::new(),
        };
        record("starter", format!("{what} {:?}", ctx.filters().running()));
        let mut m = ctx.new_message();
        m.set_type("ping");
        m.set_payload(p);
        ctx.inject(m)
            .map_err(|e| ProcessError::Drop(e.to_string()))?;
        Ok(())
    }
}

fn registry() -> Registry {
    Registry {
        inputs: vec![
            InputSpec {
                type_name: "LinesInput",
                summary: "test",
                default_splitter: "LineSplitter",
                default_decoder: None,
                can_exit: false,
                build: |c| {
                    let cfg: LinesConfig = c.options.parse()?;
                    if cfg.resource_taken && !c.check_only {
                        return Err(c.error(Some("resource_taken"), "the resource is taken"));
                    }
                    Ok(Box::new(LinesInput(cfg)))
                },
            },
            InputSpec {
                type_name: "PanicInput",
                summary: "test",
                default_splitter: "LineSplitter",
                default_decoder: None,
                can_exit: false,
                build: |c| Ok(Box::new(PanicInput(c.options.parse()?))),
            },
        ],
        splitters: vec![SplitterSpec {
            type_name: "LineSplitter",
            summary: "test",
            use_message_bytes: false,
            min_buffer_size: 1024,
            build: |_| Ok(Box::new(LineSplitter)),
        }],
        decoders: vec![],
        filters: vec![
            FilterSpec {
                type_name: "EchoFilter",
                summary: "test",
                default_matcher: None,
                ticker: Ticker::Unsupported,
                can_exit: false,
                build: |c| Ok(Box::new(EchoFilter(c.options.parse()?))),
            },
            FilterSpec {
                type_name: "StarterFilter",
                summary: "test",
                default_matcher: None,
                ticker: Ticker::Unsupported,
                can_exit: false,
                build: |_| Ok(Box::new(StarterFilter)),
            },
            FilterSpec {
                type_name: "TickingEchoFilter",
                summary: "test",
                default_matcher: None,
                ticker: Ticker::Optional,
                can_exit: false,
                build: |c| Ok(Box::new(EchoFilter(c.options.parse()?))),
            },
        ],
        encoders: vec![EncoderSpec {
            type_name: "PanicEncoder",
            summary: "test",
            build: |_| Ok(Box::new(PanicEncoder)),
        }],
        outputs: vec![OutputSpec {
            type_name: "CollectOutput",
            summary: "test",
            default_matcher: None,
            default_encoder: None,
            encoder_required: false,
            legacy_encoder: None,
            framing: FramingDefault::Never,
            ticker: Ticker::Optional,
            can_exit: false,
            buffering: None,
            build: |c| {
                Ok(Box::new(CollectOutput {
                    cfg: c.options.parse()?,
                    seen: 0,
                }))
            },
        }],
    }
}

/// Runs `f` on a thread of its own and fails the test if it has not returned after `secs`
/// seconds (so that a deadlock fails instead of hanging the suite).
fn within<T: Send + 'static>(what: &str, secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s: deadlock?"),
    }
}

fn run(toml: &str) -> heka_pipeline::runner::build::Running {
    let cfg = config::load_str(toml, Path::new("test.toml")).unwrap();
    Pipeline::build(&cfg, &registry()).unwrap().start().unwrap()
}

fn build_err(toml: &str) -> String {
    let cfg = config::load_str(toml, Path::new("test.toml")).unwrap();
    match Pipeline::build(&cfg, &registry()) {
        Ok(_) => panic!("config should not build"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_matching_destination_gets_each_message_once() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a", "b", "c"]
[all]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "fanout-all"
[only_b]
type = "CollectOutput"
message_matcher = "Payload == 'b'"
sink = "fanout-b"
[none]
type = "CollectOutput"
message_matcher = "FALSE"
sink = "fanout-none"
"#);
    assert_eq!(wait_sink("fanout-all", 3), vec![":a", ":b", ":c"]);
    assert_eq!(wait_sink("fanout-b", 1), vec![":b"]);
    p.stop();
    assert_eq!(sink("fanout-all").len(), 3);
    assert!(sink("fanout-none").is_empty());
}

#[test]
fn injected_messages_reach_outputs_and_limits_hold() {
    let p = run(r#"
[hekad]
max_process_inject = 2
[in]
type = "LinesInput"
lines = ["x"]
[echo]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 3
echo_type = "echoed"
errors_sink = "limit-errors"
[out]
type = "CollectOutput"
message_matcher = "Type == 'echoed'"
sink = "inject-out"
"#);
    assert_eq!(
        wait_sink("inject-out", 2),
        vec!["echoed:echo x", "echoed:echo x"]
    );
    p.stop();
    assert_eq!(sink("inject-out").len(), 2, "max_process_inject = 2");
    assert_eq!(
        sink("limit-errors"),
        ["exceeded InjectMessage count (2)"],
        "the third copy is refused"
    );
}

#[test]
fn a_filter_cannot_inject_to_itself_and_loops_are_bounded() {
    let p = run(r#"
[hekad]
max_message_loops = 2
[in]
type = "LinesInput"
lines = ["loop"]
[selfish]
type = "EchoFilter"
message_matcher = "Logger == 'in' || Type == 'self'"
copies = 1
echo_type = "self"
errors_sink = "loops-errors"
[ping]
type = "EchoFilter"
message_matcher = "Logger == 'in' || Type == 'pong'"
copies = 1
echo_type = "ping"
errors_sink = "loops-errors"
[pong]
type = "EchoFilter"
message_matcher = "Type == 'ping'"
copies = 1
echo_type = "pong"
errors_sink = "loops-errors"
[out]
type = "CollectOutput"
message_matcher = "Type == 'ping' || Type == 'pong' || Type == 'self'"
sink = "loops-out"
"#);
    // ping (loop 1) -> pong (loop 2) -> ping would be loop 3 > 2: refused. Stopping drains
    // everything in flight, so the counts after it are final.
    let got = wait_sink("loops-out", 2);
    p.stop();
    let got_all = sink("loops-out");
    assert_eq!(got_all.len(), 2, "{got_all:?} (first seen {got:?})");
    assert!(got_all.contains(&"ping:echo loop".to_string()));
    assert!(got_all.contains(&"pong:echo echo loop".to_string()));
    let errs = sink("loops-errors");
    assert!(errs.iter().any(|e| e.contains("itself")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("MaxMsgLoops")), "{errs:?}");
}

#[test]
fn a_dying_can_exit_filter_announces_its_termination() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["die", "after"]
[mortal]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
can_exit = true
copies = 0
echo_type = "x"
  [mortal.retries]
  max_retries = 0
[out]
type = "CollectOutput"
message_matcher = "Type == 'heka.terminated'"
sink = "terminated"
"#);
    let got = wait_sink("terminated", 1);
    p.stop();
    assert_eq!(
        got,
        vec![
            "heka.terminated:mortal (type EchoFilter) terminated. Error: asked to die (Max retries exceeded)"
        ]
    );
}

#[test]
fn a_restarted_filter_gets_the_rest_of_the_batch_it_died_on() {
    let p = run(r#"
[in]
type = "LinesInput"
# One push, so one batch.
lines = ["a\ndie\nb\nc"]
[phoenix]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 1
echo_type = "echoed"
  [phoenix.retries]
  max_retries = 1
  delay = "10ms"
  max_jitter = "10ms"
[out]
type = "CollectOutput"
message_matcher = "Type == 'echoed'"
sink = "phoenix-out"
"#);
    let got = wait_sink("phoenix-out", 3);
    p.stop();
    // The message it died on is not handed to it again (Heka lost the pack in flight too).
    assert_eq!(got, vec!["echoed:echo a", "echoed:echo b", "echoed:echo c"]);
}

#[test]
fn acks_arrive_only_after_the_output_reports_its_writes() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["1", "2", "3"]
ack_sink = "acks"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "ack-out"
hold_until = 3
"#);
    let acks = wait_sink("acks", 1);
    wait_sink("ack-out", 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sink("acks").contains(&"acked 3".to_string()) {
        assert!(Instant::now() < deadline, "{:?}", sink("acks"));
        std::thread::sleep(Duration::from_millis(5));
    }
    p.stop();
    // No ack was reported before all three were "written".
    let all = sink("acks");
    let first_full = all.iter().position(|a| a == "acked 3").unwrap();
    assert!(
        all[..first_full].iter().all(|a| a == "acked 0"),
        "{all:?} {acks:?}"
    );
}

#[test]
fn config_errors_are_collected_with_names() {
    let e = build_err(
        r#"
[in]
type = "LinesInput"
splitter = "nope"
[out]
type = "CollectOutput"
sink = "x"
[f]
type = "EchoFilter"
message_matcher = "Type =="
[t]
type = "EchoFilter"
message_matcher = "TRUE"
ticker_interval = 5
[u]
type = "NoSuchOutput"
"#,
    );
    assert!(e.contains("in specifies undefined splitter nope"), "{e}");
    assert!(e.contains("'out' missing message matcher"), "{e}");
    assert!(e.contains("[f] message_matcher"), "{e}");
    assert!(e.contains("can't support a ticker_interval"), "{e}");
    assert!(e.contains("No registered plugin type: NoSuchOutput"), "{e}");
    assert!(e.ends_with("5 errors loading plugins"), "{e}");
}

#[test]
fn unknown_plugin_options_are_errors() {
    let e = build_err("[out]\ntype = \"CollectOutput\"\nmessage_matcher = \"TRUE\"\nsinkk = 1\n");
    assert!(e.contains("sinkk"), "{e}");
    assert!(e.contains("line 4"), "{e}");
}

/// The value of `field` of `component` in a report as [`Running::report_text`] lays it out.
///
/// [`Running::report_text`]: heka_pipeline::runner::build::Running::report_text
fn report_field(report: &str, component: &str, field: &str) -> Option<String> {
    let head = format!("{component}:");
    let prefix = format!("    {field}: ");
    let mut lines = report.lines().skip_while(|l| *l != head).skip(1);
    lines
        .by_ref()
        .take_while(|l| l.starts_with("    "))
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// The scheduler state (`R` running, `S` sleeping, ...) of this process's thread named
/// `name`, read from `/proc/self/task/*/stat` (Linux); `None` when there is no such thread.
fn thread_state(name: &str) -> Option<char> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // "tid (comm) S ...": the state follows the last ')'.
        return stat[stat.rfind(')')? + 1..].trim_start().chars().next();
    }
    None
}

#[test]
fn a_blocked_output_pushes_back_on_the_input() {
    let lines: Vec<String> = (0..100).map(|i| format!("\"l{i}\"")).collect();
    // The input's name names its thread: no other test may use it.
    let p = run(&format!(
        r#"
[hekad]
plugin_chansize = 1
[bp-in]
type = "LinesInput"
lines = [{}]
progress_sink = "bp-progress"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "bp-out"
gated = true
"#,
        lines.join(", ")
    ));
    wait_sink("gate-reached", 1);
    // Each line is one batch. The output is blocked on the first, the second fills its channel
    // (plugin_chansize = 1), and the input, having routed the third, can only wait to send it.
    // Wait until that is what the runtime shows: the router has matched three messages, the
    // output's channel is full and the input's thread sleeps. Without back-pressure the input
    // would not sleep before it had pushed all 100 lines.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = p.report_text();
        let routed = report_field(&report, "Router", "ProcessMessageCount");
        let queued = report_field(&report, "out", "InChanLength");
        let state = thread_state("bp-in");
        if routed.as_deref() == Some("3") && queued.as_deref() == Some("1") && state == Some('S') {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the input is not blocked: routed {routed:?}, queued {queued:?}, input thread \
             {state:?}, progress {:?}",
            sink("bp-progress")
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let progress = sink("bp-progress").len();
    assert!(
        progress <= 2,
        "the input routed {progress} batches past a blocked output"
    );
    assert_eq!(
        report_field(&p.report_text(), "Router", "ProcessMessageCount").as_deref(),
        Some("3"),
        "nothing more is routed while the output is blocked"
    );
    GATE.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(wait_sink("bp-out", 100).len(), 100);
    assert_eq!(wait_sink("bp-progress", 100).len(), 100);
    p.stop();
}

#[test]
fn filters_injecting_into_each_other_do_not_deadlock() {
    let p = run(r#"
[hekad]
plugin_chansize = 1
[in]
type = "LinesInput"
count = 2000
[ping]
type = "EchoFilter"
message_matcher = "Logger == 'in' || Type == 'b'"
copies = 1
echo_type = "a"
errors_sink = "cycle-errors"
[pong]
type = "EchoFilter"
message_matcher = "Type == 'a'"
copies = 1
echo_type = "b"
errors_sink = "cycle-errors"
[out]
type = "CollectOutput"
message_matcher = "Type == 'a' || Type == 'b'"
sink = "cycle-out"
"#);
    // Each line goes line -> a (loop 1) -> b (2) -> a (3) -> b (4); a 5th loop is refused.
    within("the injection cycle", 60, || {
        wait_len("cycle-out", 8000, 60)
    });
    within("stopping", 30, move || p.stop());
    assert_eq!(sink("cycle-out").len(), 8000);
    assert_eq!(sink("cycle-errors").len(), 2000);
    assert!(
        sink("cycle-errors")
            .iter()
            .all(|e| e.contains("MaxMsgLoops"))
    );
}

#[test]
fn a_filter_with_a_full_channel_still_ticks_and_injects() {
    let p = run(r#"
[hekad]
plugin_chansize = 1
[in]
type = "LinesInput"
count = 4000
progress_sink = "tick-progress"
[ticking]
type = "TickingEchoFilter"
message_matcher = "Type != 'tick'"
ticker_interval = 1
tick_type = "tick"
delay_ms = 1
[out]
type = "CollectOutput"
message_matcher = "Type == 'tick'"
sink = "ticks"
"#);
    // The ticks go out while the input still pushes against the full channel.
    within("two ticks under load", 30, || wait_len("ticks", 2, 30));
    assert!(
        sink_len("tick-progress") < 4000,
        "the load ended too soon to tell"
    );
    within("every line", 60, || wait_len("tick-progress", 4000, 60));
    within("stopping", 30, move || p.stop());
}

#[test]
fn a_slow_output_behind_a_filter_delays_but_loses_nothing() {
    let p = run(r#"
[hekad]
plugin_chansize = 1
[in]
type = "LinesInput"
count = 300
[echo]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 1
echo_type = "slow"
[slow]
type = "CollectOutput"
message_matcher = "Type == 'slow'"
sink = "slow-out"
delay_ms = 2
[fast]
type = "CollectOutput"
message_matcher = "Logger == 'in'"
sink = "fast-out"
"#);
    within("the slow path", 60, || wait_len("slow-out", 300, 60));
    within("stopping", 30, move || p.stop());
    assert_eq!(sink("fast-out").len(), 300);
    assert_eq!(sink("slow-out").len(), 300);
}

#[test]
fn shutdown_ends_while_every_channel_is_full_and_a_destination_is_down() {
    let p = run(r#"
[hekad]
plugin_chansize = 1
[in]
type = "LinesInput"
count = 5000
progress_sink = "down-progress"
[echo]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 1
echo_type = "to-down"
[down]
type = "CollectOutput"
message_matcher = "Type == 'to-down'"
sink = "down-out"
down = true
[up]
type = "CollectOutput"
message_matcher = "Logger == 'in'"
sink = "up-out"
"#);
    // The input is stuck behind the filter, which is stuck behind the output that is down.
    wait_sink("down-progress", 1);
    assert!(sink_len("down-progress") < 5000);
    // Shutdown gives the failing output a grace period, then drops what it cannot deliver.
    within("shutdown with full channels", 30, move || p.stop());
    assert!(sink("down-out").is_empty());
}

#[test]
fn acks_wait_only_on_matching_outputs_and_a_lazy_output_is_made_to_write() {
    let p = run(r#"
[in]
type = "LinesInput"
count = 50
ack_sink = "lazy-acks"
[never_matched]
type = "CollectOutput"
message_matcher = "Type == 'nothing'"
sink = "never-out"
hold_until = 1000000
[lazy]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "lazy-out"
hold_until = 1000000
obey_flush_request = true
"#);
    // `lazy` would hold its messages forever; the runner asks it to write them out, and the
    // output that matched nothing never holds an acknowledgement back.
    within("the acknowledgement", 20, || {
        loop {
            if sink("lazy-acks").contains(&"acked 50".to_string()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    assert_eq!(sink_len("lazy-out"), 50);
    within("stopping", 30, move || p.stop());
    assert!(sink("never-out").is_empty());
}

#[test]
fn check_builds_every_plugin_without_taking_resources_and_build_does() {
    let toml = r#"
[in]
type = "LinesInput"
resource_taken = true
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "check-out"
"#;
    let cfg = config::load_str(toml, Path::new("test.toml")).unwrap();
    // The check hands plugins `check_only` and still checks everything else.
    Pipeline::check(&cfg, &registry()).unwrap();
    let e = build_err(toml);
    assert!(
        e.contains("[in] resource_taken: the resource is taken"),
        "{e}"
    );
    let bad = config::load_str(
        "[in]\ntype = \"LinesInput\"\nresource_taken = true\nnope = 1\n",
        Path::new("test.toml"),
    )
    .unwrap();
    let e = match Pipeline::check(&bad, &registry()) {
        Ok(()) => panic!("an unknown option must fail the check"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn a_filter_starts_and_stops_others_at_run_time() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["start", "start", "others", "stop", "after"]
[starter]
type = "StarterFilter"
message_matcher = "Type != 'ping' && Type != 'pong'"
[out]
type = "CollectOutput"
message_matcher = "Type == 'pong' || (Type == 'ping' && Payload == 'after')"
sink = "dyn-out"
"#);
    let said = wait_sink("starter", 5);
    assert_eq!(said[0], r#"started ["dyn-echo"]"#);
    assert_eq!(said[1], r#"dyn-echo is already running ["dyn-echo"]"#);
    assert!(
        said[2].starts_with("Plugin must be a filter, received CollectOutput / "),
        "{}",
        said[2]
    );
    assert!(said[2].contains("NoSuchFilter"), "{}", said[2]);
    assert_eq!(said[3], "true []");
    assert_eq!(said[4], " []");
    // The pings of "start", "start" and "others" were answered; those after the stop were not.
    let mut got = wait_sink("dyn-out", 4);
    within("stop", 20, move || p.stop());
    got.sort();
    assert_eq!(
        got,
        vec![
            "ping:after",
            "pong:echo others",
            "pong:echo start",
            "pong:echo start"
        ]
    );
    assert_eq!(sink("dyn-out").len(), 4);
}

#[test]
fn with_buffering_acks_arrive_once_queued_even_while_the_output_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let p = run(&format!(
        r#"
[hekad]
base_dir = "{}"
[in]
type = "LinesInput"
lines = ["1", "2", "3"]
ack_sink = "queued-acks"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "queued-out"
down = true
use_buffering = true
"#,
        dir.path().display()
    ));
    wait_for_ack("queued-acks", "acked 3");
    within("shutdown with the output down", 30, move || p.stop());
    assert!(sink("queued-out").is_empty());
    // All three are in the queue for the next start.
    let seg = std::fs::read(dir.path().join("output_queue/out/0.log")).unwrap();
    let mut n = 0;
    let mut rest = &seg[..];
    while let Some(heka_pipeline::runner::queue::Item::Record { range, .. }) =
        heka_pipeline::runner::queue::next_item(rest, true, 65536)
    {
        n += 1;
        rest = &rest[range.end..];
    }
    assert_eq!(n, 3);
}

#[test]
fn a_buffered_filter_processes_and_injects_from_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let p = run(&format!(
        r#"
[hekad]
base_dir = "{}"
[in]
type = "LinesInput"
count = 2000
[echo]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 1
echo_type = "echoed"
use_buffering = true
[echo.buffering]
max_file_size = 70000
[out]
type = "CollectOutput"
message_matcher = "Type == 'echoed'"
sink = "buffered-filter-out"
"#,
        dir.path().display()
    ));
    let got = wait_sink("buffered-filter-out", 2000);
    within("shutdown", 30, move || p.stop());
    let want: Vec<String> = (0..2000).map(|i| format!("echoed:echo l{i}")).collect();
    assert_eq!(got, want);
    // Consumed segments were deleted; the cursor was saved at the end of the last one.
    let q = dir.path().join("output_queue/echo");
    let cp = std::fs::read_to_string(q.join("checkpoint.txt")).unwrap();
    let cursor = heka_pipeline::runner::queue::Position::parse(&cp).unwrap();
    assert!(cursor.file > 0, "{cp}");
    assert!(!q.join("0.log").exists());
}

fn wait_for_ack(sink_name: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sink(sink_name).iter().any(|a| a == what) {
        assert!(Instant::now() < deadline, "{:?}", sink(sink_name));
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn buffered_filters_that_block_when_full_and_inject_into_each_other_do_not_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let p = run(&format!(
        r#"
[hekad]
plugin_chansize = 1
base_dir = "{}"
[in]
type = "LinesInput"
count = 4000
[ping]
type = "EchoFilter"
message_matcher = "Logger == 'in' || Type == 'b'"
copies = 1
echo_type = "a"
errors_sink = "bcycle-errors"
use_buffering = true
[ping.buffering]
max_file_size = 70000
max_buffer_size = 140000
full_action = "block"
[pong]
type = "EchoFilter"
message_matcher = "Type == 'a'"
copies = 1
echo_type = "b"
errors_sink = "bcycle-errors"
use_buffering = true
[pong.buffering]
max_file_size = 70000
max_buffer_size = 140000
full_action = "block"
[out]
type = "CollectOutput"
message_matcher = "Type == 'a' || Type == 'b'"
sink = "bcycle-out"
"#,
        dir.path().display()
    ));
    // As in the unbuffered cycle: 4 injected messages per line, the 5th loop refused.
    within("the buffered injection cycle", 90, || {
        wait_len("bcycle-out", 16000, 90)
    });
    within("stopping", 30, move || p.stop());
    assert_eq!(sink("bcycle-out").len(), 16000);
    assert_eq!(sink("bcycle-errors").len(), 4000);
}

#[test]
fn two_buffered_plugins_may_not_share_a_queue_directory() {
    let dir = tempfile::tempdir().unwrap();
    let e = build_err(&format!(
        r#"
[hekad]
base_dir = "{}"
[in]
type = "LinesInput"
["out-1"]
type = "CollectOutput"
message_matcher = "TRUE"
use_buffering = true
[out_1]
type = "CollectOutput"
message_matcher = "TRUE"
use_buffering = true
"#,
        dir.path().display()
    ));
    assert!(e.contains("would share the queue directory"), "{e}");
}

#[test]
fn a_long_queue_does_not_hold_the_shutdown_up() {
    let dir = tempfile::tempdir().unwrap();
    let p = run(&format!(
        r#"
[hekad]
base_dir = "{}"
[in]
type = "LinesInput"
count = 6000
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "long-queue-out"
delay_ms = 5
use_buffering = true
"#,
        dir.path().display()
    ));
    wait_len("long-queue-out", 10, 20);
    // Delivering all 6000 takes 30 s; the shutdown stops reading after its 5 s grace.
    within("stopping with a long queue", 20, move || p.stop());
    let delivered = sink("long-queue-out").len();
    assert!(delivered < 6000, "{delivered}");
    // The cursor was saved where delivery stopped.
    let cp = std::fs::read_to_string(dir.path().join("output_queue/out/checkpoint.txt")).unwrap();
    let cursor = heka_pipeline::runner::queue::Position::parse(&cp).unwrap();
    assert!(cursor.offset > 0, "{cp}");
}

#[test]
fn a_panicking_input_is_restarted_per_retries_then_stopped_while_others_flow() {
    let p = run(r#"
[crashy]
type = "PanicInput"
sink = "panic-input-runs"
can_exit = true
  [crashy.retries]
  max_retries = 2
  delay = "10ms"
  max_jitter = "0s"
[steady]
type = "LinesInput"
count = 3
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-input-out"
"#);
    // The first run and two restarts, each routing its line before it panics.
    wait_len("panic-input-out", 6, 10);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink("panic-input-runs").len(), 3, "max_retries = 2");
    let mut got = sink("panic-input-out");
    got.sort();
    assert_eq!(got, [":l0", ":l1", ":l2", ":run 1", ":run 2", ":run 3"]);
    // can_exit: hekad goes on.
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
}

#[test]
fn a_panicking_input_without_can_exit_shuts_hekad_down() {
    let p = run(r#"
[crashy]
type = "PanicInput"
sink = "panic-input-fatal-runs"
  [crashy.retries]
  max_retries = 1
  delay = "10ms"
  max_jitter = "0s"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-input-fatal-out"
"#);
    let req = p
        .shutdown_requests()
        .recv_timeout(Duration::from_secs(10))
        .unwrap();
    assert_eq!(req.code, 1);
    assert!(req.reason.contains("crashy"), "{}", req.reason);
    assert_eq!(sink("panic-input-fatal-runs").len(), 2);
    p.stop();
}

#[test]
fn a_panicking_filter_is_restarted_and_gets_the_rest_of_its_batch() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a\npanic\nb\nc"]
[phoenix]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
copies = 1
echo_type = "echoed"
  [phoenix.retries]
  max_retries = 1
  delay = "10ms"
  max_jitter = "10ms"
[out]
type = "CollectOutput"
message_matcher = "Type == 'echoed'"
sink = "panic-filter-out"
"#);
    let got = wait_sink("panic-filter-out", 3);
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(got, vec!["echoed:echo a", "echoed:echo b", "echoed:echo c"]);
}

#[test]
fn a_filter_that_keeps_panicking_stops_after_its_retries_and_others_go_on() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["panic", "panic", "panic", "after"]
[mortal]
type = "EchoFilter"
message_matcher = "Logger == 'in'"
can_exit = true
copies = 0
echo_type = "x"
  [mortal.retries]
  max_retries = 2
  delay = "10ms"
  max_jitter = "0s"
[terminated]
type = "CollectOutput"
message_matcher = "Type == 'heka.terminated'"
sink = "panic-terminated"
[all]
type = "CollectOutput"
message_matcher = "Logger == 'in'"
sink = "panic-filter-others"
"#);
    let got = wait_sink("panic-terminated", 1);
    assert_eq!(
        wait_sink("panic-filter-others", 4),
        [":panic", ":panic", ":panic", ":after"]
    );
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(
        got,
        vec![
            "heka.terminated:mortal (type EchoFilter) terminated. Error: panicked: filter test panic (Max retries exceeded)"
        ]
    );
}

#[test]
fn a_panicking_output_is_restarted_with_the_message_it_failed_on() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a", "panic", "b"]
ack_sink = "panic-output-acks"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-output"
panic_on_panic = true
panic_once = true
  [out.retries]
  max_retries = 1
  delay = "10ms"
  max_jitter = "0s"
"#);
    assert_eq!(wait_sink("panic-output", 3), [":a", ":panic", ":b"]);
    wait_for_ack("panic-output-acks", "acked 3");
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(sink("panic-output-panics").len(), 1);
}

#[test]
fn an_output_that_keeps_panicking_stops_after_its_retries() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a", "panic", "b"]
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-output-dead"
panic_on_panic = true
  [out.retries]
  max_retries = 2
  delay = "10ms"
  max_jitter = "0s"
[other]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-output-other"
"#);
    let req = p
        .shutdown_requests()
        .recv_timeout(Duration::from_secs(10))
        .unwrap();
    assert_eq!(req.code, 1);
    assert!(
        req.reason.contains("panicked: output test panic"),
        "{}",
        req.reason
    );
    // The first try and two restarts, each handed the message it failed on.
    assert_eq!(sink("panic-output-dead-panics").len(), 3);
    assert_eq!(sink("panic-output-dead"), [":a"]);
    assert_eq!(wait_sink("panic-output-other", 3), [":a", ":panic", ":b"]);
    p.stop();
}

#[test]
fn what_a_panicking_output_held_unwritten_goes_to_the_restarted_one_before_any_ack() {
    // The input's acknowledgement counts and the output's writes go to one sink, so its order
    // is the order in which they happened.
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a", "panic", "b"]
ack_sink = "panic-held"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-held"
hold_until = 2
panic_on_panic = true
panic_once = true
panic_in_shutdown = true
  [out.retries]
  max_retries = 1
  delay = "10ms"
  max_jitter = "0s"
"#);
    wait_for_ack("panic-held", "acked 3");
    p.stop();
    let log = sink("panic-held");
    let writes: Vec<&String> = log.iter().filter(|e| !e.starts_with("acked")).collect();
    // "a" was taken but not written when the output panicked (and its shutdown panicked
    // too): the restarted output gets it again before the message it failed on.
    assert_eq!(writes, [":a", ":a", ":panic", ":b"], "{log:?}");
    // Nothing was acknowledged before the restarted output had written "a" and "panic" (the
    // input may see the count pass 1 on its way to 2: both are released by that one flush).
    let first_ack = log
        .iter()
        .position(|e| e.starts_with("acked") && e != "acked 0")
        .unwrap();
    let panic_written = log.iter().position(|e| e == ":panic").unwrap();
    assert!(first_ack > panic_written, "{log:?}");
}

/// Fills the queue of the output `out` under `base` with records `q0`, `q1`, … until it holds
/// at least 37,000 bytes (90 % of 40,960 is 36,864); returns how many it wrote.
fn prefill_queue(base: &Path, max_file_size: u64) -> usize {
    use heka_pipeline::runner::queue::{self, QueueOptions};
    let options = QueueOptions {
        max_file_size,
        max_buffer_size: Some(40_960),
        cursor_update_count: 1,
        max_message_size: 2048,
    };
    let dir = queue::queue_dir(base, "out");
    let (mut w, _r) = queue::open(&dir, options).unwrap();
    let mut n = 0;
    while w.queue_size() < 37_000 {
        let mut m = heka_message::Message::default();
        m.set_payload(format!("q{n}"));
        w.append(&m.to_bytes(), 0).unwrap();
        w.flush().unwrap();
        n += 1;
    }
    n
}

/// LinesInput (its progress recorded in `<sink>-progress`) → a buffered CollectOutput `out`
/// with a 40,960-byte queue.
fn back_pressure_config(
    base: &Path,
    sink: &str,
    extra: &str,
    action: &str,
    max_file_size: u64,
) -> String {
    format!(
        r#"
[hekad]
base_dir = "{}"
max_message_size = 2048
full_buffer_max_retries = 3
[in]
type = "LinesInput"
lines = ["fresh"]
progress_sink = "{sink}-progress"
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "{sink}"
use_buffering = true
{extra}
  [out.buffering]
  max_file_size = {max_file_size}
  max_buffer_size = 40960
  full_action = "{action}"
"#,
        base.display()
    )
}

#[test]
fn a_queue_that_stays_back_pressured_at_start_shuts_hekad_down_before_the_inputs_start() {
    let dir = tempfile::tempdir().unwrap();
    prefill_queue(dir.path(), 4096);
    let p = run(&back_pressure_config(
        dir.path(),
        "bp-stuck",
        "down = true",
        "shutdown",
        4096,
    ));
    let req = p
        .shutdown_requests()
        .recv_timeout(Duration::from_secs(30))
        .unwrap();
    assert_eq!(req.code, 1);
    assert_eq!(
        req.reason,
        "Plugin 'out': back-pressure not resolving: triggering shutdown"
    );
    p.stop();
    assert!(sink("bp-stuck-progress").is_empty(), "the input never ran");
}

#[test]
fn a_back_pressured_queue_that_drains_at_start_lets_the_inputs_start() {
    let dir = tempfile::tempdir().unwrap();
    let queued = prefill_queue(dir.path(), 4096);
    let p = run(&back_pressure_config(
        dir.path(),
        "bp-drains",
        "",
        "shutdown",
        4096,
    ));
    let got = wait_sink("bp-drains", queued + 1);
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(got.len(), queued + 1);
    assert_eq!(got[0], ":q0");
    assert_eq!(got[queued], ":fresh");
}

#[test]
fn a_queue_that_stays_back_pressured_with_full_action_drop_lets_the_start_go_on() {
    let dir = tempfile::tempdir().unwrap();
    prefill_queue(dir.path(), 4096);
    let p = run(&back_pressure_config(
        dir.path(),
        "bp-drop",
        "down = true",
        "drop",
        4096,
    ));
    // After its delay the input runs, though the queue is still back-pressured.
    wait_len("bp-drop-progress", 1, 30);
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
}

#[test]
fn an_encoder_that_panics_fails_that_message_only() {
    let p = run(r#"
[in]
type = "LinesInput"
lines = ["a", "panic", "b"]
[out]
type = "CollectOutput"
message_matcher = "TRUE"
sink = "panic-encoder"
encoder = "PanicEncoder"
encode = true
"#);
    let got = wait_sink("panic-encoder", 3);
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(
        got,
        ["a", "error: encoder panicked: encoder test panic", "b"]
    );
}

#[test]
fn a_full_single_segment_queue_read_to_its_end_at_start_lets_the_inputs_start() {
    // One segment: once delivered, its records no longer count, though the file stays until
    // the cursor moves to a later segment (Heka counted it and shut down).
    let dir = tempfile::tempdir().unwrap();
    let queued = prefill_queue(dir.path(), 1 << 20);
    let p = run(&back_pressure_config(
        dir.path(),
        "bp-one-segment",
        "",
        "shutdown",
        1 << 20,
    ));
    let got = wait_sink("bp-one-segment", queued + 1);
    assert!(p.shutdown_requests().try_recv().is_err());
    p.stop();
    assert_eq!(got[queued], ":fresh");
}
