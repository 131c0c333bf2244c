//! The SandboxManagerFilter in a real hekad, driven by the real `heka-sbmgr`: a loaded filter
//! counts and reports, its limits are capped by the manager's, `max_filters` refuses one more,
//! it comes back after a restart and goes on unload; a broken script is reported and hekad
//! goes on; unsigned control messages are refused.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use heka_message::signing::{HmacHash, SigningConfig};
use heka_message::{Field, Message};

use crate::support::*;

const CONFIG: &str = r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"

[TcpInput]
address = "127.0.0.1:0"
splitter = "signed"
[signed]
type = "HekaFramingSplitter"
  [signed.signer.ops_0]
  hmac_key = "ops secret"

[Ops]
type = "SandboxManagerFilter"
message_signer = "ops"
message_matcher = "Type == 'heka.control.sandbox' && Hostname != 'open'"
max_filters = 2
instruction_limit = 10000

[Open]
type = "SandboxManagerFilter"
message_matcher = "Type == 'heka.control.sandbox' && Hostname == 'open'"
max_filters = 5

[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' || Type == 'heka.sandbox-terminated'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#;

const COUNTER: &str = r#"
count = 0
function process_message()
    count = count + 1
    return 0
end
function timer_event(ns)
    if count > 0 then inject_payload("txt", "count", count) end
end
"#;

const COUNTER_TOML: &str = r#"
[Counter]
type = "SandboxFilter"
message_matcher = "Type == 'e2e.count'"
ticker_interval = 1
preserve_data = true
"#;

/// Spins for far more instructions than the manager allows, though its config asks for more.
const SPINNER: &str = r#"
function process_message()
    local x = 0
    for i = 1, 1000000 do x = x + i end
    return 0
end
"#;

const SPINNER_TOML: &str = r#"
[Spinner]
type = "SandboxFilter"
message_matcher = "Type == 'e2e.spin'"
instruction_limit = 100000000
"#;

/// Everything hekad logged so far.
fn log(h: &Hekad) -> String {
    format!("{}{}", h.stdout(), h.stderr())
}

fn wait_log(h: &Hekad, text: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !log(h).contains(text) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for '{text}' in hekad's log:\n{}",
            log(h)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Writes heka-sbmgr's config for the input on `port`, signing as `ops` version 0.
fn sbmgr_config(h: &Hekad, port: u16) -> String {
    let path = h.path("sbmgr.toml");
    std::fs::write(
        &path,
        format!(
            "ip_address = \"127.0.0.1:{port}\"\n[signer]\nname = \"ops\"\nhmac_hash = \"md5\"\n\
             hmac_key = \"ops secret\"\nversion = 0\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// Runs heka-sbmgr with `args`; it must succeed silently.
fn sbmgr(config: &str, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_heka-sbmgr"))
        .arg(format!("-config={config}"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Writes `script` and `config` into the tempdir and loads them with heka-sbmgr.
fn load(h: &Hekad, config: &str, name: &str, script: &str, toml: &str) {
    let lua = h.path(&format!("{name}.lua"));
    let conf = h.path(&format!("{name}.toml"));
    std::fs::write(&lua, script).unwrap();
    std::fs::write(&conf, toml).unwrap();
    sbmgr(
        config,
        &[
            "-action=load",
            &format!("-script={}", lua.display()),
            &format!("-scriptconfig={}", conf.display()),
        ],
    );
}

fn send(port: u16, messages: &[Message], signer: Option<&SigningConfig>) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for m in messages {
        c.write_all(&frame(m, signer)).unwrap();
    }
}

fn counted(n: usize) -> Message {
    heka_client::MessageBuilder::new()
        .message_type("e2e.count")
        .payload(format!("m{n}"))
        .build()
}

/// Waits for a `count` report of `Ops-Counter` of at least `n`.
fn wait_count(h: &Hekad, n: u64) {
    wait_for(&format!("Ops-Counter to report {n}"), 20, || {
        read_framed(&h.path("out.log")).iter().find_map(|m| {
            let ok = m.logger_bytes() == b"Ops-Counter"
                && string_field(m, "payload_name").as_deref() == Some("count")
                && String::from_utf8_lossy(m.payload_bytes())
                    .parse::<u64>()
                    .is_ok_and(|c| c >= n);
            ok.then_some(())
        })
    });
}

fn exists(h: &Hekad, file: &str) -> bool {
    Path::new(&h.path("cache/sbxmgrs")).join(file).exists()
}

#[test]
fn sbmgr_loads_caps_limits_restores_after_a_restart_and_unloads() {
    let mut h = Hekad::start(CONFIG);
    let port = h.listening("TcpInput");
    let config = sbmgr_config(&h, port);

    load(&h, &config, "counter", COUNTER, COUNTER_TOML);
    wait_log(&h, "Filter started: Ops-Counter");
    assert!(exists(&h, "Ops-Counter.lua") && exists(&h, "Ops-Counter.toml"));
    send(port, &[counted(1), counted(2), counted(3)], None);
    wait_count(&h, 3);
    // The loaded filter is in the report (SIGUSR1), with its sandbox's fields; the manager
    // counts the control messages it got.
    let report = wait_for("Ops-Counter in the report", 20, || {
        h.signal(10);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let r = crate::sandbox_report::last_report(&h.stderr())?;
        let counter = r.get(&("Filters".to_string(), "Ops-Counter".to_string()))?;
        (counter.get("ProcessMessageCount")? == "3").then_some(r)
    });
    let filter = |name: &str| &report[&("Filters".to_string(), name.to_string())];
    let counter = filter("Ops-Counter");
    assert!(
        crate::sandbox_report::number(counter, "Memory") > 0,
        "{counter:?}"
    );
    let max = crate::sandbox_report::number(counter, "MaxInstructions");
    assert!(max > 0 && max <= 10_000, "{counter:?}");
    assert_eq!(
        crate::sandbox_report::number(filter("Ops"), "ProcessMessageCount"),
        1
    );

    // The second filter asks for 100,000,000 instructions; the manager allows 10,000.
    load(&h, &config, "spinner", SPINNER, SPINNER_TOML);
    wait_log(&h, "Filter started: Ops-Spinner");
    // max_filters = 2: a third one is refused and nothing of it is kept.
    load(
        &h,
        &config,
        "extra",
        COUNTER,
        "[Extra]\ntype = \"SandboxFilter\"\nmessage_matcher = \"FALSE\"\n",
    );
    wait_log(&h, "Ops attempted to load more than 2 filters");
    assert!(!exists(&h, "Ops-Extra.toml"));

    let spin = heka_client::MessageBuilder::new()
        .message_type("e2e.spin")
        .build();
    send(port, &[spin], None);
    let terminated = wait_for("Ops-Spinner's termination", 20, || {
        read_framed(&h.path("out.log")).into_iter().find(|m| {
            m.type_bytes() == b"heka.sandbox-terminated"
                && string_field(m, "plugin").as_deref() == Some("Ops-Spinner")
        })
    });
    assert_eq!(
        String::from_utf8_lossy(terminated.payload_bytes()),
        "process_message() instruction_limit exceeded"
    );

    // A restart brings the counter back, with its preserved count.
    assert!(h.stop().success());
    std::fs::remove_file(h.path("out.log")).unwrap();
    h.restart();
    let port = h.listening("TcpInput");
    let config = sbmgr_config(&h, port);
    wait_log(&h, "Filter started: Ops-Counter");
    send(port, &[counted(4)], None);
    wait_count(&h, 4);

    // Unload stops it and removes its files, so the next start does not bring it back.
    sbmgr(&config, &["-action=unload", "-filtername=Counter"]);
    wait_log(&h, "Unloaded: Ops-Counter");
    let before = h.stderr().len();
    wait_for("a report without Ops-Counter", 20, || {
        h.signal(10);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let report = h.stderr()[before..].to_string();
        (report.contains("\nOps:\n") && !report.contains("Ops-Counter:")).then_some(())
    });
    assert!(!exists(&h, "Ops-Counter.lua") && !exists(&h, "Ops-Counter.toml"));
    assert!(h.stop().success());
    h.restart();
    h.listening("TcpInput");
    wait_log(&h, "Loading: Ops-Spinner");
    assert!(!log(&h).contains("Loading: Ops-Counter"), "{}", log(&h));
}

#[test]
fn a_broken_script_is_reported_and_hekad_goes_on() {
    let mut h = Hekad::start(CONFIG);
    let port = h.listening("TcpInput");
    let config = sbmgr_config(&h, port);
    load(
        &h,
        &config,
        "broken",
        "function process_message(",
        COUNTER_TOML,
    );
    let report = wait_for("the failed load's report", 20, || {
        read_framed(&h.path("out.log")).into_iter().find(|m| {
            m.type_bytes() == b"heka.sandbox-terminated"
                && string_field(m, "plugin").as_deref() == Some("Ops")
        })
    });
    let why = String::from_utf8_lossy(report.payload_bytes()).into_owned();
    assert!(why.starts_with("loadSandbox failed: "), "{why}");
    assert!(why.contains("Ops-Counter.lua"), "{why}");
    assert!(!exists(&h, "Ops-Counter.lua"));

    // hekad goes on: the same filter with a good script loads and counts.
    load(&h, &config, "counter", COUNTER, COUNTER_TOML);
    wait_log(&h, "Filter started: Ops-Counter");
    send(port, &[counted(1)], None);
    wait_count(&h, 1);

    // An unknown action is reported by the tool and still sent, as Heka's did; the manager
    // refuses it.
    let out = Command::new(env!("CARGO_BIN_EXE_heka-sbmgr"))
        .arg(format!("-config={config}"))
        .arg("-action=reload")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Invalid action: reload\n"
    );
    wait_log(
        &h,
        "Plugin 'Ops' error: dropping message: Invalid action: reload",
    );
}

#[test]
fn unsigned_control_messages_are_refused() {
    let mut h = Hekad::start(CONFIG);
    let port = h.listening("TcpInput");
    let control = |hostname: &str| {
        let mut m = heka_client::MessageBuilder::new()
            .message_type("heka.control.sandbox")
            .logger("hekad")
            .hostname(hostname.to_string())
            .payload(COUNTER)
            .build();
        m.add_field(Field::new_string("config", COUNTER_TOML));
        m.add_field(Field::new_string("action", "load"));
        m
    };
    // The Open manager has no message_signer, yet refuses what nobody signed.
    send(port, &[control("open")], None);
    wait_log(&h, "Discarded control message: it is not signed");
    // Signed by a signer the input trusts, the same message loads.
    let ops = SigningConfig {
        name: "ops".into(),
        hash: HmacHash::Md5,
        key: b"ops secret".to_vec(),
        version: 0,
    };
    // A signed message from more than 5 s ago is refused too.
    let mut old = control("open");
    old.timestamp -= 60_000_000_000;
    send(port, &[old], Some(&ops));
    wait_log(&h, " seconds skew");
    assert!(
        log(&h).contains("Discarded control message: 6"),
        "{}",
        log(&h)
    );
    assert!(!exists(&h, "Open-Counter.toml"));
    send(port, &[control("open")], Some(&ops));
    wait_log(&h, "Filter started: Open-Counter");
    // A key the input does not know is not a signature: Ops never sees the message. A
    // signed unload sent after it on the same connection tells when Ops is past it.
    let forged = SigningConfig {
        key: b"guess".to_vec(),
        ..ops.clone()
    };
    let mut unload = control("elsewhere");
    unload.fields.clear();
    unload.add_field(Field::new_string("name", "Nothing"));
    unload.add_field(Field::new_string("action", "unload"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&frame(&control("elsewhere"), Some(&forged)))
        .unwrap();
    c.write_all(&frame(&unload, Some(&ops))).unwrap();
    wait_log(&h, "unload: Ops-Nothing is not loaded");
    send(port, &[counted(1)], None);
    wait_for("Open-Counter to count", 20, || {
        read_framed(&h.path("out.log"))
            .iter()
            .any(|m| m.logger_bytes() == b"Open-Counter")
            .then_some(())
    });
    assert!(!log(&h).contains("Ops-Counter"), "{}", log(&h));
    assert!(!exists(&h, "Ops-Counter.toml"));
}

#[test]
fn sbmgrload_loads_and_unloads_its_counters() {
    let mut h = Hekad::start(CONFIG);
    let port = h.listening("TcpInput");
    let config = sbmgr_config(&h, port);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_heka-sbmgrload"))
            .arg(format!("-config={config}"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    };
    run(&["-action=load", "-num=2"]);
    wait_log(&h, "Filter started: Ops-CounterSandbox0");
    wait_log(&h, "Filter started: Ops-CounterSandbox1");
    let bench = heka_client::MessageBuilder::new()
        .message_type("hekabench")
        .build();
    send(port, &[bench], None);
    let rate = wait_for("a rate report", 20, || {
        read_framed(&h.path("out.log"))
            .into_iter()
            .find(|m| string_field(m, "payload_name").as_deref() == Some("rate"))
    });
    let text = String::from_utf8_lossy(rate.payload_bytes()).into_owned();
    assert!(text.starts_with("Got 1 messages. "), "{text}");
    run(&["-action=unload", "-num=2"]);
    wait_log(&h, "Unloaded: Ops-CounterSandbox0");
    wait_log(&h, "Unloaded: Ops-CounterSandbox1");
    assert!(!exists(&h, "Ops-CounterSandbox0.toml"));
}
