//! Hostile Lua scripts in a real hekad: a pattern too deep for the C stack, a memory bomb, an
//! output flood, runaway recursion, recursion through `pcall`, and reaching for `io`. Each
//! filter is stopped by its limit with Heka's termination message, or (the `pcall` one)
//! catches Lua's error itself; a well-behaved filter beside them goes on counting and hekad
//! keeps running.

use std::net::UdpSocket;

use crate::sandbox::COUNTER;
use crate::support::*;

/// The hostile filters: name, script, and the end of the termination text each must get.
const HOSTILE: &[(&str, &str, &str)] = &[
    (
        "pattern",
        r#"require "string"
function process_message()
    local s, p = string.rep("a", 200000), string.rep("a?", 200000)
    return s:find(p) and 0 or 0
end"#,
        "pattern too complex",
    ),
    (
        "memory",
        r#"require "string"
local t = {}
function process_message()
    for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
    return 0
end"#,
        "not enough memory",
    ),
    (
        "flood",
        r#"function process_message()
    for i = 1, 1e9 do add_to_payload("0123456789") end
    return 0
end"#,
        "output_limit exceeded",
    ),
    (
        "recursion",
        r#"local function f(n) return 1 + f(n + 1) end
function process_message()
    return f(1)
end"#,
        "stack overflow",
    ),
    (
        "io",
        r#"function process_message()
    io.open("/etc/passwd")
    return 0
end"#,
        "attempt to index global 'io' (a nil value)",
    ),
];

/// Recursion through `pcall` until Lua's C-call limit: the script catches the error itself
/// and reports it.
const PCALL: &str = r#"
local first
local function f()
    local ok, e = pcall(f)
    if not ok and not first then first = e end
end
function process_message()
    first = nil
    f()
    inject_payload("txt", "pcall", tostring(first))
    return 0
end
"#;

#[test]
fn hostile_scripts_are_stopped_and_hekad_goes_on() {
    let mut config = String::from(
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
[pcall]
type = "SandboxFilter"
filename = "pcall.lua"
message_matcher = "Logger == 'UdpInput'"
[out]
type = "FileOutput"
message_matcher = "Type =~ /^heka\\.sandbox/"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
    );
    let mut files = vec![
        ("counter.lua".to_string(), COUNTER.to_string()),
        ("pcall.lua".to_string(), PCALL.to_string()),
    ];
    for (name, script, _) in HOSTILE {
        config.push_str(&format!(
            "[{name}]\ntype = \"SandboxFilter\"\nfilename = \"{name}.lua\"\n\
             message_matcher = \"Logger == 'UdpInput'\"\ninstruction_limit = 0\n"
        ));
        files.push((format!("{name}.lua"), script.to_string()));
    }
    let file_refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let mut h = Hekad::start_with_files(&config, &file_refs);
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"first", ("127.0.0.1", port)).unwrap();

    for (name, _, want) in HOSTILE {
        let stopped = wait_for(&format!("{name}'s termination"), 30, || {
            read_framed(&h.path("out.log")).into_iter().find(|m| {
                m.type_bytes() == b"heka.sandbox-terminated"
                    && string_field(m, "plugin").as_deref() == Some(name)
            })
        });
        let text = String::from_utf8_lossy(stopped.payload_bytes()).into_owned();
        assert!(
            text.starts_with("process_message() ") && text.ends_with(want),
            "{name}: {text}"
        );
    }
    let caught = wait_for("the pcall filter's report", 30, || {
        read_framed(&h.path("out.log"))
            .into_iter()
            .find(|m| m.type_bytes() == b"heka.sandbox-output" && m.logger_bytes() == b"pcall")
    });
    assert_eq!(caught.payload_bytes(), b"C stack overflow");

    // The well-behaved filters go on: the counter sees a second message, the pcall filter
    // answers it too, and hekad keeps running.
    sock.send_to(b"second", ("127.0.0.1", port)).unwrap();
    wait_for("count 2", 30, || {
        read_framed(&h.path("out.log"))
            .iter()
            .any(|m| m.logger_bytes() == b"counter" && m.payload_bytes() == b"2")
            .then_some(())
    });
    wait_for("a second pcall report", 30, || {
        (read_framed(&h.path("out.log"))
            .iter()
            .filter(|m| m.logger_bytes() == b"pcall")
            .count()
            >= 2)
            .then_some(())
    });
    assert!(h.child.try_wait().unwrap().is_none(), "hekad must go on");
    assert!(h.stop().success(), "{}", h.stderr());
}
