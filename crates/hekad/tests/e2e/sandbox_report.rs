//! The sandbox plugins' fields in the SIGUSR1 report (Heka's `ReportMsg`): a SandboxInput,
//! a SandboxDecoder, a SandboxFilter with a ticker that fails some messages, a SandboxEncoder
//! and a SandboxOutput that fails one, with their counts, memory, instructions, output and
//! average durations.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;

use crate::support::*;

const INPUT: &str = r#"
function process_message()
    for i = 1, 3 do inject_message({Type = "e2e.gen", Payload = "generated " .. i}) end
    return 0
end
"#;

const DECODER: &str = r#"
require "string"
function process_message()
    local p = read_message("Payload")
    if string.find(p, "bad", 1, true) then return -1, "bad line" end
    inject_message({Type = "e2e.line", Payload = p})
    return 0
end
"#;

const FILTER: &str = r#"
require "string"
count = 0
function process_message()
    count = count + 1
    if string.find(read_message("Payload"), "fail", 1, true) then return -1, "fails" end
    return 0
end
function timer_event(ns)
    inject_payload("txt", "count", count)
end
"#;

const ENCODER: &str = r#"
function process_message()
    inject_payload("txt", "", "encoded: ", read_message("Payload"))
    return 0
end
"#;

const OUTPUT: &str = r#"
local io = require "io"
require "string"
local f = assert(io.open(read_config("path"), "a"))
ticks = 0
function process_message()
    local p = read_message("Payload")
    if string.find(p, "skip", 1, true) then return -1, "skipped" end
    f:write(p)
    f:flush()
    return 0
end
function timer_event(ns) ticks = ticks + 1 end
"#;

const CONFIG: &str = r#"
[hekad]
base_dir = "{dir}/cache"
share_dir = "{dir}"
[gen]
type = "SandboxInput"
filename = "input.lua"
[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "lines"
[lines]
type = "SandboxDecoder"
filename = "decoder.lua"
[counter]
type = "SandboxFilter"
filename = "filter.lua"
message_matcher = "Type == 'e2e.line'"
ticker_interval = 1
memory_limit = 1000000
[enc]
type = "SandboxEncoder"
filename = "encoder.lua"
[file]
type = "FileOutput"
message_matcher = "Type == 'e2e.line'"
path = "{dir}/encoded.log"
encoder = "enc"
flush_count = 1
[luaout]
type = "SandboxOutput"
filename = "output.lua"
message_matcher = "Type == 'e2e.line'"
ticker_interval = 1
[luaout.config]
path = "{dir}/lua.log"
"#;

/// The components of the last report on stderr: (category, name) → field → value.
pub(crate) type Parsed = HashMap<(String, String), HashMap<String, String>>;

pub(crate) fn last_report(stderr: &str) -> Option<Parsed> {
    let start = stderr.rfind("========[heka.all-report]========")?;
    let rest = &stderr[start..];
    let end = rest.find("\n========\n")?;
    let mut parsed = Parsed::new();
    let (mut category, mut name) = (String::new(), String::new());
    for line in rest[..end].lines().skip(1) {
        if let Some(c) = line.strip_prefix("====") {
            category = c.trim_end_matches('=').to_string();
        } else if let Some(field) = line.strip_prefix("    ") {
            let (f, v) = field.split_once(": ")?;
            parsed
                .entry((category.clone(), name.clone()))
                .or_default()
                .insert(f.to_string(), v.to_string());
        } else if let Some(n) = line.strip_suffix(':') {
            name = n.to_string();
            parsed.entry((category.clone(), name.clone())).or_default();
        }
    }
    Some(parsed)
}

pub(crate) fn number(fields: &HashMap<String, String>, name: &str) -> u64 {
    let v = fields
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {fields:?}"));
    v.parse()
        .unwrap_or_else(|_| panic!("{name} is not a plain number: {v}"))
}

#[test]
fn sigusr1_reports_the_sandbox_plugins_fields() {
    let mut h = Hekad::start_with_files(
        CONFIG,
        &[
            ("input.lua", INPUT),
            ("decoder.lua", DECODER),
            ("filter.lua", FILTER),
            ("encoder.lua", ENCODER),
            ("output.lua", OUTPUT),
        ],
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // 10 records: 2 the decoder fails; of the 8 routed, the filter fails 2 and the output 1.
    c.write_all(b"a ok\nb fail\nc bad\nd ok\ne skip\nf bad\ng ok\nh ok\ni fail\nj ok\n")
        .unwrap();
    wait_lines(&h.path("encoded.log"), 8);
    wait_lines(&h.path("lua.log"), 7);
    // Wait for both tickers to have run and every count to be in.
    let report = wait_for("the report with the timers and every count", 30, || {
        h.signal(10);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let r = last_report(&h.stderr())?;
        let get = |c: &str, n: &str| r.get(&(c.to_string(), n.to_string())).cloned();
        let filter = get("Filters", "counter")?;
        let output = get("Outputs", "luaout")?;
        let done = filter.get("TimerEventAvgDuration")? != "0"
            && output.get("TimerEventAvgDuration")? != "0"
            && filter.get("ProcessMessageCount")? == "8"
            && output.get("ProcessMessageCount")? == "7";
        done.then_some(r)
    });
    let get = |c: &str, n: &str| {
        report
            .get(&(c.to_string(), n.to_string()))
            .unwrap_or_else(|| panic!("no {c}/{n} in {report:?}"))
    };
    let usage = |f: &HashMap<String, String>, limit: u64, instructions: bool| {
        let (mem, max) = (number(f, "Memory"), number(f, "MaxMemory"));
        assert!(mem > 0 && mem <= max && max <= limit, "{f:?}");
        let n = number(f, "MaxInstructions");
        assert!(if instructions { n > 0 } else { n == 0 }, "{f:?}");
    };
    const DEFAULT_LIMIT: u64 = 8 * 1024 * 1024;

    let input = get("Inputs", "gen");
    assert_eq!(number(input, "ProcessMessageCount"), 3, "{input:?}");
    // Inputs and outputs have no instruction limit: nothing is counted, as in Heka.
    usage(input, DEFAULT_LIMIT, false);
    assert!(number(input, "MaxOutput") > 0, "{input:?}");

    let decoder = get("Decoders", "TcpInput-lines");
    assert_eq!(number(decoder, "ProcessMessageCount"), 10, "{decoder:?}");
    usage(decoder, DEFAULT_LIMIT, true);
    // The largest injection: `{Type = "e2e.line", Payload = "b fail\n"}` and headers.
    assert!(number(decoder, "MaxOutput") > 7, "{decoder:?}");
    assert!(
        number(decoder, "ProcessMessageAvgDuration") > 0,
        "{decoder:?}"
    );

    let filter = get("Filters", "counter");
    assert_eq!(number(filter, "ProcessMessageCount"), 8, "{filter:?}");
    usage(filter, 1_000_000, true);
    assert!(number(filter, "InjectMessageCount") >= 1, "{filter:?}");
    // The timer's payload is the count: "8".
    assert_eq!(number(filter, "MaxOutput"), 1, "{filter:?}");
    assert!(
        number(filter, "ProcessMessageAvgDuration") > 0,
        "{filter:?}"
    );
    assert!(number(filter, "TimerEventAvgDuration") > 0, "{filter:?}");

    let encoder = get("Encoders", "file-enc");
    assert_eq!(number(encoder, "ProcessMessageCount"), 8, "{encoder:?}");
    usage(encoder, DEFAULT_LIMIT, true);
    // "encoded: " and the longest payload, "b fail\n" or "e skip\n" or "i fail\n".
    assert_eq!(number(encoder, "MaxOutput"), 16, "{encoder:?}");
    assert!(
        number(encoder, "ProcessMessageAvgDuration") > 0,
        "{encoder:?}"
    );

    let output = get("Outputs", "luaout");
    // As in Heka, an output counts the messages its script took (one returned -1).
    assert_eq!(number(output, "ProcessMessageCount"), 7, "{output:?}");
    usage(output, DEFAULT_LIMIT, false);
    assert!(!output.contains_key("MaxOutput"), "{output:?}");
    assert!(
        number(output, "ProcessMessageAvgDuration") > 0,
        "{output:?}"
    );
    assert!(number(output, "TimerEventAvgDuration") > 0, "{output:?}");

    // The other plugins show what they showed before.
    let file = get("Outputs", "file");
    assert_eq!(number(file, "ProcessMessageCount"), 8, "{file:?}");
    assert!(!file.contains_key("Memory"), "{file:?}");
    assert!(h.stop().success());
}
