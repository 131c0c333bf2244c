//! The Lua sandbox in a real hekad: a SandboxDecoder parsing TCP lines with LPeg and `re`,
//! SandboxFilters counting and reporting on their ticker, a runaway script stopped by its
//! instruction limit while another filter goes on, and `preserve_data` across a restart.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};

use heka_message::{FieldValue, Message};

use crate::support::*;

fn string_field(m: &Message, name: &str) -> Option<String> {
    match m.field_value(name.as_bytes()).flatten() {
        Some(FieldValue::String(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

const KV_DECODER: &str = r#"
local l = require "lpeg"
local re = require "re"
l.locale(l)
local key = l.C((l.alnum + "_")^1)
local value = l.C((1 - l.space)^0)
local pair = l.Cg(key * "=" * value)
local grammar = l.Cf(l.Ct("") * (pair * l.space^0)^1, rawset) * -1
local level = re.compile("{[A-Z]+} ':'")
local msg_type = read_config("type") or "kv"

function process_message()
    local line = read_message("Payload")
    local lvl = level:match(line)
    if lvl then line = line:sub(#lvl + 3) end
    local t = grammar:match(line)
    if not t then return -1, "not key=value" end
    local fields = {}
    for k, v in pairs(t) do fields[k] = v end
    if lvl then fields.level = lvl end
    inject_message({Type = msg_type, Payload = line, Fields = fields})
    return 0
end
"#;

#[test]
fn sandbox_decoder_parses_tcp_lines_with_lpeg() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "kv_decoder"
[kv_decoder]
type = "SandboxDecoder"
filename = "kv.lua"
[kv_decoder.config]
type = "e2e.kv"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.kv'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        &[("kv.lua", KV_DECODER)],
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"user=alice action=login\nthis line does not parse\nWARN: user=bob code=7\n")
        .unwrap();
    let got = wait_framed(&h.path("out.log"), 2);
    assert_eq!(got.len(), 2, "the unparsable line is dropped");
    assert_eq!(string_field(&got[0], "user").as_deref(), Some("alice"));
    assert_eq!(string_field(&got[0], "action").as_deref(), Some("login"));
    // TokenSplitter keeps the delimiter.
    assert_eq!(got[0].payload_bytes(), b"user=alice action=login\n");
    assert_eq!(
        got[0].logger_bytes(),
        b"TcpInput",
        "inherited from the record"
    );
    assert_eq!(string_field(&got[1], "user").as_deref(), Some("bob"));
    assert_eq!(string_field(&got[1], "code").as_deref(), Some("7"));
    assert_eq!(string_field(&got[1], "level").as_deref(), Some("WARN"));
    assert!(h.stop().success(), "{}", h.stderr());
}

const COUNTER: &str = r#"
count = 0
function process_message()
    count = count + 1
    return 0
end
function timer_event(ns)
    inject_payload("txt", "count", count)
end
"#;

const RUNAWAY: &str = r#"
function process_message()
    while true do end
end
"#;

/// Payloads of the counter's reports in `out.log`, in order.
fn counts(h: &Hekad) -> Vec<String> {
    read_framed(&h.path("out.log"))
        .iter()
        .filter(|m| m.type_bytes() == b"heka.sandbox-output")
        .map(|m| String::from_utf8_lossy(m.payload_bytes()).into_owned())
        .collect()
}

/// Sends `line` until the counter has reported `want`.
fn send_until(h: &Hekad, sock: &UdpSocket, port: u16, lines: &[&str], want: &str) {
    // Datagrams sent before the socket is bound may be lost: send once the input listens.
    for l in lines {
        sock.send_to(l.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    wait_for(&format!("count {want}"), 20, || {
        counts(h).iter().any(|c| c == want).then_some(())
    });
}

#[test]
fn sandbox_filter_counts_and_a_runaway_script_is_stopped() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[UdpInput]
address = "127.0.0.1:0"
[counter]
type = "SandboxFilter"
filename = "counter.lua"
message_matcher = "Logger == 'UdpInput'"
ticker_interval = 1
[runaway]
type = "SandboxFilter"
filename = "runaway.lua"
message_matcher = "Logger == 'UdpInput'"
instruction_limit = 10000
[out]
type = "FileOutput"
message_matcher = "Type =~ /^heka\\.(sandbox|terminated)/"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        &[("counter.lua", COUNTER), ("runaway.lua", RUNAWAY)],
    );
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    send_until(&h, &sock, port, &["one", "two"], "2");
    let stopped = wait_for("the runaway filter's termination", 20, || {
        read_framed(&h.path("out.log"))
            .into_iter()
            .find(|m| m.type_bytes() == b"heka.sandbox-terminated")
    });
    assert_eq!(
        stopped.payload_bytes(),
        b"process_message() instruction_limit exceeded"
    );
    assert_eq!(string_field(&stopped, "plugin").as_deref(), Some("runaway"));
    assert_eq!(stopped.logger_bytes(), b"hekad");
    // The other filter keeps counting, and hekad keeps running.
    send_until(&h, &sock, port, &["three"], "3");
    let reports = read_framed(&h.path("out.log"));
    let report = reports
        .iter()
        .find(|m| m.type_bytes() == b"heka.sandbox-output")
        .unwrap();
    assert_eq!(report.logger_bytes(), b"counter");
    assert_eq!(
        string_field(report, "payload_name").as_deref(),
        Some("count")
    );
    assert!(h.child.try_wait().unwrap().is_none(), "hekad must go on");
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn sandbox_filter_preserves_data_across_a_restart() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[UdpInput]
address = "127.0.0.1:0"
[counter]
type = "SandboxFilter"
filename = "counter.lua"
message_matcher = "Logger == 'UdpInput'"
ticker_interval = 1
preserve_data = true
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        &[("counter.lua", COUNTER)],
    );
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    send_until(&h, &sock, port, &["a", "b", "c"], "3");
    assert!(h.stop().success(), "{}", h.stderr());
    let data = std::fs::read_to_string(h.path("cache/sandbox_preservation/counter.data")).unwrap();
    assert!(data.contains("_G[\"count\"] = 3\n"), "{data}");
    h.restart();
    let port = h.listening("UdpInput");
    send_until(&h, &sock, port, &["d"], "4");
    assert!(h.stop().success(), "{}", h.stderr());
}

const CBUF_FILTER: &str = r#"
require "string"
require "circular_buffer"
data = circular_buffer.new(4, 2, 60)
data:set_header(1, "Messages")
data:set_header(2, "Largest", "B", "max")

-- Each line is "<minute> <size>".
function process_message()
    local minute, size = string.match(read_message("Payload"), "^(%d+) (%d+)")
    if not minute then return -1, "not '<minute> <size>'" end
    data:add(minute * 60e9, 1, 1)
    data:set(minute * 60e9, 2, size)
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", "Messages", data)
end
"#;

/// The graph text of `CBUF_FILTER`'s buffer with these four rows.
fn cbuf_text(rows: &str) -> String {
    "{\"time\":0,\"rows\":4,\"columns\":2,\"seconds_per_row\":60,\"column_info\":[\
     {\"name\":\"Messages\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
     {\"name\":\"Largest\",\"unit\":\"B\",\"aggregation\":\"max\"}]}\n"
        .to_string()
        + rows
}

/// Waits until the last payload written to `out.txt` is `want`.
fn wait_payload(h: &Hekad, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(h.path("out.txt")).unwrap_or_default();
        if text.ends_with(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {want:?}\nout.txt: {text:?}\nstderr: {}",
            h.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn sandbox_filter_graphs_a_circular_buffer_and_preserves_it() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "lines"
[lines]
type = "ScribbleDecoder"
[lines.message_fields]
Type = "graph.line"
[graph]
type = "SandboxFilter"
filename = "graph.lua"
message_matcher = "Type == 'graph.line'"
ticker_interval = 1
preserve_data = true
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' && Fields[payload_type] == 'cbuf'"
path = "{dir}/out.txt"
encoder = "PayloadEncoder"
flush_count = 1
[PayloadEncoder]
append_newlines = false
"#,
        &[("graph.lua", CBUF_FILTER)],
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"1 10\n1 30\n3 5\n").unwrap();
    wait_payload(&h, &cbuf_text("nan\tnan\n2\t30\nnan\tnan\n1\t5\n"));
    drop(c);
    assert!(h.stop().success(), "{}", h.stderr());
    let data = std::fs::read_to_string(h.path("cache/sandbox_preservation/graph.data")).unwrap();
    assert!(
        data.contains("_G[\"data\"]:fromstring(\"180 3 nan nan 2 30 nan nan 1 5\")\n"),
        "{data}"
    );
    h.restart();
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"3 7\n").unwrap();
    wait_payload(&h, &cbuf_text("nan\tnan\n2\t30\nnan\tnan\n2\t7\n"));
    assert!(h.stop().success(), "{}", h.stderr());
}
