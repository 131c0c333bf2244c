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

fn record(sink: &str, what: String) {
    SINKS
        .lock()
        .unwrap()
        .entry(sink.to_string())
        .or_default()
        .push(what);
}

fn sink(name: &str) -> Vec<String> {
    SINKS.lock().unwrap().get(name).cloned().unwrap_or_default()
}

fn wait_sink(name: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = sink(name);
        if v.len() >= n {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "sink {name} has {v:?}, wanted {n}; all sinks: {:?}",
            SINKS.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LinesConfig {
    lines: Vec<String>,
    ack_sink: Option<String>,
    /// Records the index of each line once the stream has routed it.
    progress_sink: Option<String>,
}

/// Feeds its configured lines into one stream, then waits for the stop.
struct LinesInput(LinesConfig);

impl Input for LinesInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let mut s = ctx.stream()?;
        if self.0.ack_sink.is_some() {
            s.enable_ack();
        }
        for (i, l) in self.0.lines.iter().enumerate() {
            s.push_bytes(format!("{l}\n").as_bytes());
            if let Some(p) = &self.0.progress_sink {
                record(p, i.to_string());
            }
        }
        s.finish();
        if let Some(name) = &self.0.ack_sink {
            let acks = s.acks().unwrap();
            let total = self.0.lines.len() as u64;
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
}

/// Injects `copies` messages of type `echo_type` per message; on "die" fails fatally.
struct EchoFilter(EchoConfig);
impl Filter for EchoFilter {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        let p = String::from_utf8_lossy(pack.message.payload_bytes()).into_owned();
        if p == "die" {
            return Err(ProcessError::Fatal("asked to die".into()));
        }
        for _ in 0..self.0.copies {
            let mut m = ctx.new_message();
            m.set_type(self.0.echo_type.clone());
            m.set_payload(format!("echo {p}"));
            if let Err(e) = ctx.inject(m) {
                record("inject-errors", e.to_string());
            }
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
        _: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        if self.cfg.gated {
            record("gate-reached", String::new());
            while !GATE.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.seen += 1;
        let m = &pack.message;
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
    fn flush(&mut self, _: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        Ok(self.seen >= self.cfg.hold_until)
    }
}

fn registry() -> Registry {
    Registry {
        inputs: vec![InputSpec {
            type_name: "LinesInput",
            summary: "test",
            default_splitter: "LineSplitter",
            default_decoder: None,
            build: |c| Ok(Box::new(LinesInput(c.options.parse()?))),
        }],
        splitters: vec![SplitterSpec {
            type_name: "LineSplitter",
            summary: "test",
            use_message_bytes: false,
            min_buffer_size: 1024,
            build: |_| Ok(Box::new(LineSplitter)),
        }],
        decoders: vec![],
        filters: vec![FilterSpec {
            type_name: "EchoFilter",
            summary: "test",
            default_matcher: None,
            ticker: Ticker::Unsupported,
            build: |c| Ok(Box::new(EchoFilter(c.options.parse()?))),
        }],
        encoders: vec![],
        outputs: vec![OutputSpec {
            type_name: "CollectOutput",
            summary: "test",
            default_matcher: None,
            default_encoder: None,
            encoder_required: false,
            framing: FramingDefault::Never,
            ticker: Ticker::Optional,
            build: |c| {
                Ok(Box::new(CollectOutput {
                    cfg: c.options.parse()?,
                    seen: 0,
                }))
            },
        }],
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
    assert!(
        sink("inject-errors")
            .iter()
            .any(|e| e.contains("InjectMessage count"))
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
[ping]
type = "EchoFilter"
message_matcher = "Logger == 'in' || Type == 'pong'"
copies = 1
echo_type = "ping"
[pong]
type = "EchoFilter"
message_matcher = "Type == 'ping'"
copies = 1
echo_type = "pong"
[out]
type = "CollectOutput"
message_matcher = "Type == 'ping' || Type == 'pong' || Type == 'self'"
sink = "loops-out"
"#);
    // ping (loop 1) -> pong (loop 2) -> ping would be loop 3 > 2: refused.
    let got = wait_sink("loops-out", 2);
    std::thread::sleep(Duration::from_millis(100));
    p.stop();
    let got_all = sink("loops-out");
    assert_eq!(got_all.len(), 2, "{got_all:?} (first seen {got:?})");
    assert!(got_all.contains(&"ping:echo loop".to_string()));
    assert!(got_all.contains(&"pong:echo echo loop".to_string()));
    let errs = sink("inject-errors");
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

#[test]
fn a_blocked_output_pushes_back_on_the_input() {
    let lines: Vec<String> = (0..100).map(|i| format!("\"l{i}\"")).collect();
    let p = run(&format!(
        r#"
[hekad]
plugin_chansize = 1
[in]
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
    // While the output is blocked, the input can route one batch into the output's channel and
    // block on the next: it must not get further, however long we give it.
    std::thread::sleep(Duration::from_millis(300));
    let progress = sink("bp-progress").len();
    assert!(
        progress <= 2,
        "the input routed {progress} batches past a blocked output"
    );
    GATE.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(wait_sink("bp-out", 100).len(), 100);
    assert_eq!(wait_sink("bp-progress", 100).len(), 100);
    p.stop();
}
