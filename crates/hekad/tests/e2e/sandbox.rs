//! The Lua sandbox in a real hekad: a SandboxDecoder parsing TCP lines with LPeg and `re`,
//! SandboxFilters counting and reporting on their ticker, a runaway script stopped by its
//! instruction limit while another filter goes on, and `preserve_data` across a restart;
//! SandboxInputs polling, running once and failing; a SandboxEncoder behind a FileOutput; a
//! SandboxOutput writing with Lua's `io` and another one crashing.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};

use heka_message::FieldValue;

use crate::support::*;

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

pub(crate) const COUNTER: &str = r#"
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

// ---------------------------------------------------------------------------------------------
// SandboxInput, SandboxEncoder, SandboxOutput.

const GENERATOR: &str = r#"
local batch = read_config("batch")
seq = 0
function process_message()
    for i = 1, batch do
        seq = seq + 1
        inject_message({Type = "e2e.gen", Payload = "gen " .. seq,
            Fields = {seq = {value = seq, value_type = 2}}})
    end
    return 0
end
"#;

const ONCE: &str = r#"
local os = require "os"
function process_message()
    inject_message({Type = "e2e.once", Hostname = "lua", Payload = type(os.getenv)})
    return 0
end
"#;

const BROKEN_INPUT: &str = r#"
function process_message()
    error("broken input")
end
"#;

fn gen_seqs(h: &Hekad) -> Vec<String> {
    read_framed(&h.path("out.log"))
        .iter()
        .filter(|m| m.type_bytes() == b"e2e.gen")
        .map(|m| String::from_utf8_lossy(m.payload_bytes()).into_owned())
        .collect()
}

/// A polling SandboxInput feeding a FileOutput on its ticker, a run-once input, and one whose
/// script fails: that one is reported and gone, hekad goes on; the poller's counter survives
/// a restart (preserve_data).
#[test]
fn sandbox_input_polls_runs_once_and_fails_alone() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[gen]
type = "SandboxInput"
filename = "gen.lua"
ticker_interval = 1
preserve_data = true
[gen.config]
batch = 3
[once]
type = "SandboxInput"
filename = "once.lua"
[broken]
type = "SandboxInput"
filename = "broken.lua"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.gen' || Type == 'e2e.once'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        &[
            ("gen.lua", GENERATOR),
            ("once.lua", ONCE),
            ("broken.lua", BROKEN_INPUT),
        ],
    );
    // The first call comes at start, the next on the first tick.
    wait_for("two polls", 20, || (gen_seqs(&h).len() >= 6).then_some(()));
    let all = read_framed(&h.path("out.log"));
    let gen1 = all.iter().find(|m| m.type_bytes() == b"e2e.gen").unwrap();
    assert_eq!(gen1.payload_bytes(), b"gen 1");
    assert_eq!(
        gen1.logger_bytes(),
        b"",
        "messages are routed as the script made them"
    );
    assert!(matches!(
        gen1.field_value(b"seq").flatten(),
        Some(FieldValue::Integer(1))
    ));
    let once: Vec<_> = all
        .iter()
        .filter(|m| m.type_bytes() == b"e2e.once")
        .collect();
    assert_eq!(once.len(), 1);
    assert_eq!(
        once[0].payload_bytes(),
        b"function",
        "inputs have the I/O os"
    );
    assert_eq!(once[0].hostname_bytes(), b"lua");
    wait_for("the broken input's error in the log", 20, || {
        h.stderr().contains("broken input").then_some(())
    });
    assert!(
        h.stdout().contains("Plugin 'once': single run completed"),
        "{}",
        h.stdout()
    );
    assert!(h.child.try_wait().unwrap().is_none(), "hekad must go on");
    assert!(h.stop().success(), "{}", h.stderr());
    let seqs = gen_seqs(&h);
    let last = seqs.len();
    assert_eq!(seqs[last - 1], format!("gen {last}"));
    let data = std::fs::read_to_string(h.path("cache/sandbox_preservation/gen.data")).unwrap();
    assert!(data.contains(&format!("_G[\"seq\"] = {last}\n")), "{data}");
    h.restart();
    let want = format!("gen {}", last + 1);
    wait_for("the restored counter to go on", 20, || {
        gen_seqs(&h).contains(&want).then_some(())
    });
    assert_eq!(
        gen_seqs(&h).iter().filter(|s| *s == "gen 1").count(),
        1,
        "the counter did not start over"
    );
    assert!(h.stop().success(), "{}", h.stderr());
}

const LINE_DECODER: &str = r#"
require "string"
function process_message()
    local line = read_message("Payload")
    local user, action = line:match("^(%S+) (%S+)")
    if not user then return -1, "not 'user action'" end
    write_message("Type", "e2e.line")
    write_message("Payload", (line:gsub("\n$", "")))
    write_message("Fields[user]", user)
    write_message("Fields[action]", action, "verb")
    return 0
end
"#;

const CSV_ENCODER: &str = r#"
require "string"
local sep = read_config("sep")
local n = 0
function process_message()
    local action = read_message("Fields[action]")
    if action == "skip" then return -2 end
    if action == "fail" then return -1, "refusing " .. read_message("Fields[user]") end
    n = n + 1
    add_to_payload(n, sep, read_message("Fields[user]"), sep, action:upper(), sep,
        read_message("Payload"), "\n")
    inject_payload("csv", "line")
    return 0
end
"#;

/// TcpInput lines, shaped by a SandboxDecoder with write_message, written by a FileOutput
/// through a SandboxEncoder: skipped (-2) and failed (-1) messages leave no line.
#[test]
fn sandbox_encoder_writes_exactly_what_the_script_makes() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "line_decoder"
[line_decoder]
type = "SandboxDecoder"
filename = "line.lua"
[csv]
type = "SandboxEncoder"
filename = "csv.lua"
[csv.config]
sep = ","
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.line'"
path = "{dir}/out.csv"
encoder = "csv"
flush_count = 1
"#,
        &[("line.lua", LINE_DECODER), ("csv.lua", CSV_ENCODER)],
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"alice login\nbob skip\nnonsense\ncarol fail\ndave log_out\n")
        .unwrap();
    wait_lines(&h.path("out.csv"), 2);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(
        std::fs::read_to_string(h.path("out.csv")).unwrap(),
        "1,alice,LOGIN,alice login\n2,dave,LOG_OUT,dave log_out\n"
    );
    assert!(h.stderr().contains("refusing carol"), "{}", h.stderr());
}

const WRITER: &str = r#"
local io = require "io"
local path = read_config("path")
local f = assert(io.open(path, "a"))
count = 0
function process_message()
    local p = read_message("Payload")
    if p == "bad" then return -1, "bad message" end
    count = count + 1
    f:write(count, " ", p, "\n")
    f:flush()
    return 0
end
function timer_event(ns)
    local c = assert(io.open(path .. ".count", "w"))
    c:write(count, "\n")
    c:close()
end
"#;

const FRAGILE: &str = r#"
function process_message()
    if read_message("Payload") == "crash" then error("crashed on purpose") end
    return 0
end
"#;

/// A SandboxOutput writing a file with Lua's io (its timer_event and the shutdown one
/// included), and another that dies: announced as heka.terminated while hekad and the first
/// output go on; the writer's count survives a restart.
#[test]
fn sandbox_output_writes_through_io_and_a_crash_is_reported() {
    let mut h = Hekad::start_with_files(
        r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[UdpInput]
address = "127.0.0.1:0"
[writer]
type = "SandboxOutput"
filename = "writer.lua"
message_matcher = "Logger == 'UdpInput'"
ticker_interval = 1
timer_event_on_shutdown = true
preserve_data = true
[writer.config]
path = "{dir}/written.txt"
[fragile]
type = "SandboxOutput"
filename = "fragile.lua"
message_matcher = "Logger == 'UdpInput'"
[watch]
type = "FileOutput"
message_matcher = "Type == 'heka.terminated'"
path = "{dir}/terminated.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        &[("writer.lua", WRITER), ("fragile.lua", FRAGILE)],
    );
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for p in ["one", "two", "bad", "crash"] {
        sock.send_to(p.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    let gone = wait_framed(&h.path("terminated.log"), 1);
    assert_eq!(string_field(&gone[0], "plugin").as_deref(), Some("fragile"));
    let why = String::from_utf8_lossy(gone[0].payload_bytes()).into_owned();
    assert!(
        why.starts_with(
            "fragile (type SandboxOutput) terminated. Error: FATAL: process_message() "
        ) && why.ends_with("fragile.lua:3: crashed on purpose"),
        "{why}"
    );
    sock.send_to(b"three", ("127.0.0.1", port)).unwrap();
    wait_lines(&h.path("written.txt"), 4);
    assert!(h.child.try_wait().unwrap().is_none(), "hekad must go on");
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(
        std::fs::read_to_string(h.path("written.txt")).unwrap(),
        "1 one\n2 two\n3 crash\n4 three\n"
    );
    assert_eq!(
        std::fs::read_to_string(h.path("written.txt.count")).unwrap(),
        "4\n",
        "timer_event ran at shutdown"
    );
    assert!(h.stderr().contains("bad message"), "{}", h.stderr());
    h.restart();
    let port = h.listening("UdpInput");
    wait_for("the restarted writer", 20, || {
        sock.send_to(b"four", ("127.0.0.1", port)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let text = std::fs::read_to_string(h.path("written.txt")).unwrap_or_default();
        text.contains("5 four\n").then_some(())
    });
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
