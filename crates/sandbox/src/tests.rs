//! Runtime tests: each API function, each limit, hostile scripts, LPeg/re/cjson, preservation.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use heka_message::{Field, Message, ValueType};
use heka_pipeline::pack::Pack;

use crate::{InjectBudget, Injection, Kind, Limits, Sandbox, Settings, Terminated};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn settings(&self, kind: Kind, script: &str) -> Settings {
        let path = self.path("script.lua");
        std::fs::write(&path, script).unwrap();
        Settings {
            kind,
            script: path,
            module_dirs: vec![self.path("modules")],
            limits: Limits::default(),
            config: toml::Table::new(),
            preservation: None,
            parse_time: None,
        }
    }

    fn start(&self, kind: Kind, script: &str) -> Sandbox {
        Sandbox::start(self.settings(kind, script)).unwrap()
    }
}

fn sample() -> Pack {
    let mut m = Message {
        uuid: Bytes::from_static(&[0xab; 16]),
        timestamp: 1_500_000_000_123_456_789,
        ..Message::default()
    };
    m.set_type("test.type");
    m.set_logger("tester");
    m.set_payload("the payload");
    m.set_env_version("0.8");
    m.set_hostname("example.com");
    m.severity = Some(6);
    m.pid = Some(4321);
    m.add_field(Field::new_string("name", "first"));
    m.add_field(Field::new_integers("ints", &[10, 20, 30]));
    m.add_field(Field::new_string("name", "second").with_representation("r"));
    m.add_field(Field::new_bool("flag", true));
    m.add_field(Field::new_double("pi", 3.25));
    Pack::new(m)
}

/// Runs `process_message` once on `pack` and returns the outcome's error string and the
/// injected payloads/messages.
fn run(sb: &mut Sandbox, pack: &Pack) -> Result<crate::Outcome, Terminated> {
    sb.process_message(pack, InjectBudget::Unlimited)
}

/// `e` without the script position a host function's error carries (`…/script.lua:3: `), for
/// comparing texts that do not depend on the temporary path.
fn unlocated(e: &str) -> String {
    let Some(i) = e.find("script.lua:") else {
        return e.to_string();
    };
    let start = e[..i].rfind(' ').map_or(0, |p| p + 1);
    let rest = &e[i + "script.lua:".len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix(": ") {
        Some(tail) if digits > 0 => format!("{}{tail}", &e[..start]),
        _ => e.to_string(),
    }
}

fn payloads(out: &crate::Outcome) -> Vec<String> {
    out.injected
        .iter()
        .filter_map(|i| match i {
            Injection::Payload { payload, .. } => {
                Some(String::from_utf8_lossy(payload).into_owned())
            }
            _ => None,
        })
        .collect()
}

fn messages(injected: &[Injection]) -> Vec<Message> {
    injected
        .iter()
        .filter_map(|i| match i {
            Injection::Message { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn read_message_reads_headers_fields_and_indices() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        function process_message()
            add_to_payload(read_message("Type"), "|", read_message("Logger"), "|",
                read_message("Payload"), "|", read_message("EnvVersion"), "|",
                read_message("Hostname"), "|", read_message("Uuid"), "|",
                read_message("Timestamp"), "|", read_message("Severity"), "|",
                read_message("Pid"), "|", read_message("Fields[name]"), "|",
                read_message("Fields[name]", 1), "|", read_message("Fields[ints]", 0, 2), "|",
                read_message("Fields[ints]", 0, 3), "|", read_message("Fields[flag]"), "|",
                read_message("Fields[pi]"), "|", read_message("Fields[nope]"), "|",
                read_message("framed"), "|", read_message("Bogus"), "|",
                #read_message("raw"))
            inject_payload()
            return 0
        end"#,
    );
    let pack = sample();
    let out = run(&mut sb, &pack).unwrap();
    let raw_len = pack.encoded().len();
    assert_eq!(
        payloads(&out),
        [format!(
            "test.type|tester|the payload|0.8|example.com|abababab-abab-abab-abab-abababababab|\
             1.5000000001234568e+18|6|4321|first|second|30|nil|true|3.25|nil|nil|nil|{raw_len}"
        )]
    );
}

#[test]
fn read_message_argument_errors_terminate() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        "function process_message() read_message('Fields[x]', -1) return 0 end",
    );
    let e = run(&mut sb, &sample()).unwrap_err();
    assert_eq!(
        unlocated(&e.0),
        "process_message() bad argument #2 to 'read_message' (field index must be >= 0)"
    );
    assert!(e.0.contains("script.lua:1: bad argument"), "{e}");
    // Terminated for good: the next call fails the same way.
    assert_eq!(run(&mut sb, &sample()).unwrap_err(), e);
    let mut sb = f.start(
        Kind::Filter,
        "function process_message() read_message() return 0 end",
    );
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() read_message() incorrect number of arguments"
    );
}

#[test]
fn read_next_field_iterates_fields_in_order() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        function process_message()
            while true do
                local t, name, value, rep, count = read_next_field()
                if not t then break end
                add_to_payload(t, " ", name, " ", value, " ", rep, " ", count, ";")
            end
            inject_payload("txt", "fields")
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        payloads(&out),
        ["0 name first  1;2 ints 10  3;0 name second r 1;4 flag true  1;3 pi 3.25  1;"]
    );
}

#[test]
fn read_config_maps_toml_types() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Filter,
        r#"
        local s = read_config("s")
        function process_message()
            add_to_payload(s, " ", read_config("i"), " ", read_config("f"), " ",
                read_config("b"), " ", read_config("a"), " ", read_config("missing"))
            inject_payload()
            return 0
        end"#,
    );
    s.config = toml::from_str("s = 'text'\ni = 42\nf = 1.5\nb = true\na = [1, 2]").unwrap();
    let mut sb = Sandbox::start(s).unwrap();
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(payloads(&out), ["text 42 1.5 true nil nil"]);
}

#[test]
fn inject_message_builds_messages_from_tables() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Decoder,
        r#"
        function process_message()
            inject_message({
                Uuid = "0123456789abcdef", Timestamp = 5e9, Type = "t", Logger = 7,
                Payload = "p", EnvVersion = "1", Hostname = "h", Severity = "3", Pid = 99,
                Fields = {
                    str = "s",
                    num = 2.5,
                    flag = false,
                    arr = {1, 2, 3},
                    size = {value = 1024, value_type = 2, representation = "B"},
                    blob = {value = "\0\1", value_type = 1},
                }})
            inject_message({Fields = {{name = "a", value = {"x", "y"}}, {name = "b", value = 1}}})
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    let ms = messages(&out.injected);
    assert_eq!(ms.len(), 2);
    let m = &ms[0];
    assert_eq!(&m.uuid[..], b"0123456789abcdef");
    assert_eq!(m.timestamp, 5_000_000_000);
    assert_eq!(m.type_bytes(), b"t");
    assert_eq!(m.logger_bytes(), b"7");
    assert_eq!(m.payload_bytes(), b"p");
    assert_eq!(m.hostname_bytes(), b"h");
    assert_eq!((m.severity, m.pid), (Some(3), Some(99)));
    let field = |name: &str| m.find_first_field(name.as_bytes()).unwrap().clone();
    assert_eq!(field("str").value_string, [Bytes::from("s")]);
    assert_eq!(field("str").value_type, None);
    assert_eq!(field("num").value_double, [2.5]);
    assert_eq!(field("flag").value_bool, [false]);
    assert_eq!(field("arr").value_double, [1.0, 2.0, 3.0]);
    let size = field("size");
    assert_eq!(size.value_type, Some(ValueType::Integer as i32));
    assert_eq!(size.value_integer, [1024]);
    assert_eq!(size.representation_bytes(), b"B");
    assert_eq!(field("blob").value_bytes, [Bytes::from_static(b"\0\x01")]);
    let m2 = &ms[1];
    assert_eq!(m2.uuid.len(), 16);
    assert_eq!(m2.timestamp % 1_000_000_000, 0, "whole seconds by default");
    assert_eq!(
        m2.fields[0].value_string,
        [Bytes::from("x"), Bytes::from("y")]
    );
    assert_eq!(&m2.fields[1].name[..], b"b");
}

#[test]
fn inject_message_errors_are_heka_texts() {
    let f = Fixture::new();
    for (body, want) in [
        (
            "inject_message({Fields = {a = {1, 'x'}}})",
            "inject_message() could not encode protobuf - array has mixed types",
        ),
        (
            "inject_message({Fields = {a = {value = 'x', value_type = 2}}})",
            "inject_message() could not encode protobuf - invalid string value_type: 2",
        ),
        (
            "inject_message({Fields = {a = {value = print}}})",
            "inject_message() could not encode protobuf - unsupported type: nil",
        ),
        (
            "inject_message('not protobuf at all')",
            "inject_message() protobuf unmarshal failed",
        ),
        (
            "inject_message(1, 2)",
            "inject_message() takes a single string or table argument",
        ),
    ] {
        let script = format!("function process_message() {body} return 0 end");
        let mut sb = f.start(Kind::Decoder, &script);
        assert_eq!(
            unlocated(&run(&mut sb, &sample()).unwrap_err().0),
            format!("process_message() {want}"),
            "{body}"
        );
    }
}

/// `inject_message(table)` answers common tables itself (`fast.rs`) and hands the rest to the
/// full function; `encode_message` always reads tables with the full one (`proto.rs`). Both
/// must make the same message, or fail with the same text, for every form of table.
#[test]
fn inject_message_fast_and_full_paths_agree_on_every_form() {
    let f = Fixture::new();
    let script = r#"
        require "string"
        local u = string.rep("u", 16)
        local tables = {
            {Uuid = u, Timestamp = 5e18, Type = "t", Logger = "l", Payload = "p",
             EnvVersion = "e", Hostname = "h", Severity = 3.7, Pid = -2, Other = 1, [1] = 2},
            {Uuid = u, Timestamp = 1, Type = 42, Severity = "6", Pid = "12"},
            {Uuid = u, Timestamp = "77", Fields = {s = "x", n = 1.5, b = true, f = false}},
            {Uuid = u, Timestamp = 2, Fields = {a = {value = "x", representation = "r"},
             i = {value = 3.9, value_type = 2}, d = {value = 2, value_type = 3,
             representation = 7}, by = {value = "z", value_type = 1},
             bo = {value = true, value_type = 4}, st = {value = "q", value_type = 0},
             vt = {value = 1, value_type = "2"}}},
            {Uuid = u, Timestamp = 3, Fields = {arr = {1, 2, 3}, sarr = {"a", "b"},
             obj = {value = {true, false}}}},
            {Uuid = u, Timestamp = 4, Fields = {{name = "x", value = 1},
             {name = "y", value = "s", representation = "r"}}},
            {Uuid = "short", Timestamp = 6, Type = {}, Hostname = true, Fields = "no"},
            {Uuid = u, Timestamp = 7, Fields = {}},
            {Uuid = u, Timestamp = 8, Fields = {x = {value = "v", value_type = 2.5}}},
            {Uuid = u, Timestamp = 9, Fields = {x = {value = 1, value_type = 9}}},
            {Uuid = u, Timestamp = 10, Fields = {x = {value = false, value_type = 2}}},
            {Uuid = u, Timestamp = 11, Fields = {x = {representation = "r"}}},
            {Uuid = u, Timestamp = 12, Fields = {[3] = "x"}},
            {Uuid = u, Timestamp = 13, Fields = {x = {1, "a"}}},
            {Uuid = u, Timestamp = 14, Fields = {x = tostring}},
        }
        local function detail(e)
            return (string.gsub(tostring(e), "^.-_message%(%) ", ""))
        end
        function process_message()
            for i, t in ipairs(tables) do
                local ok1, e1 = pcall(inject_message, t)
                local ok2, bytes = pcall(encode_message, t)
                if ok2 then inject_message(bytes) end
                if ok1 ~= ok2 then return -1, i .. ": " .. tostring(e1) .. " / " .. bytes end
                if not ok1 and detail(e1) ~= detail(bytes) then
                    return -1, i .. ": " .. e1 .. " / " .. bytes
                end
            end
            return 0
        end"#;
    let mut sb = f.start(Kind::Decoder, script);
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!((out.status, out.error.as_deref()), (0, None));
    let mut got = messages(&out.injected);
    // Tables 1-8 succeed; 9-15 fail both ways.
    assert_eq!(got.len(), 16, "{got:#?}");
    for pair in got.chunks_mut(2) {
        if pair[0].uuid.len() == 16 && pair[0].uuid.as_ref() != b"uuuuuuuuuuuuuuuu" {
            // A random Uuid (the table's was not 16 bytes): only its length can agree.
            assert_eq!(pair[1].uuid.len(), 16);
            pair[1].uuid = pair[0].uuid.clone();
        }
        assert_eq!(pair[0], pair[1]);
    }
    assert_eq!(got[0].severity, Some(3));
    assert_eq!(got[2].r#type.as_deref(), Some(&b"42"[..]));
    assert_eq!(got[4].timestamp, 77);
    assert_eq!(got[6].fields.len(), 7);
}

#[test]
fn inject_message_takes_encoded_bytes_and_encode_decode_round_trip() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        function process_message()
            local bytes = encode_message({Type = "rt", Payload = "x", Fields = {n = {value = 5, value_type = 2}}})
            local t = decode_message(bytes)
            add_to_payload(t.Type, " ", t.Payload, " ", #t.Uuid, " ", t.Fields[1].name, "=",
                t.Fields[1].value[1], " vt=", t.Fields[1].value_type)
            inject_payload()
            inject_message(read_message("raw"))
            return 0
        end"#,
    );
    let out = sb
        .process_message(&sample(), InjectBudget::AtMost(2))
        .unwrap();
    assert_eq!(payloads(&out), ["rt x 16 n=5 vt=2"]);
    let ms = messages(&out.injected);
    assert_eq!(ms, [sample().message().clone()]);
    let mut sb = f.start(
        Kind::Filter,
        "function process_message() decode_message('short') return 0 end",
    );
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() invalid message, too short"
    );
}

#[test]
fn add_to_payload_formats_values_and_output_starts_renamed() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        local during_load = type(output) .. "/" .. type(add_to_payload)
        function process_message()
            add_to_payload(during_load, " ", 1, " ", 1.2, " ", 1/3, " ", 3e9, " ", nil, " ",
                true, " ", false, " ", 0/0, " ", type(output))
            inject_payload("json", "name", " tail")
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        out.injected,
        [Injection::Payload {
            payload: Bytes::from(
                "function/nil 1 1.2 0.33333333 3000000000 nil true false nan nil tail"
            ),
            payload_type: Bytes::from("json"),
            payload_name: Bytes::from("name"),
        }]
    );
    let mut sb = f.start(
        Kind::Filter,
        "function process_message() add_to_payload({}) return 0 end",
    );
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() bad argument #1 to 'add_to_payload' (unsupported type)"
    );
}

#[test]
fn return_conventions() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        local n = 0
        function process_message()
            n = n + 1
            if n == 1 then return -1, "bad input" end
            if n == 2 then return 0 end
            if n == 3 then return -2 end
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!((out.status, out.error.as_deref()), (-1, Some("bad input")));
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!((out.status, out.error), (0, None));
    assert_eq!(run(&mut sb, &sample()).unwrap().status, -2);
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() must return a numeric status code"
    );
    let mut sb = f.start(Kind::Filter, "function process_message() return 0, {} end");
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() must return a nil or string error message"
    );
    let mut sb = f.start(
        Kind::Filter,
        "function process_message() return 1, 'user abort' end",
    );
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "user abort"
    );
    let mut sb = f.start(Kind::Filter, "x = 1");
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() function was not found"
    );
    assert_eq!(
        sb.timer_event(0, InjectBudget::Unlimited).unwrap_err().0,
        "process_message() function was not found"
    );
    let mut sb = f.start(Kind::Filter, "function process_message() error('boom') end");
    let e = run(&mut sb, &sample()).unwrap_err().0;
    assert!(
        e.starts_with("process_message() ") && e.ends_with("script.lua:1: boom"),
        "{e}"
    );
}

#[test]
fn timer_event_gets_ns_and_injection_budget_applies() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        function process_message()
            inject_payload("txt", "", "one")
            inject_payload("txt", "", "two")
            return 0
        end
        function timer_event(ns)
            inject_payload("txt", "tick", ns)
        end"#,
    );
    let injected = sb
        .timer_event(1_000_000_000, InjectBudget::AtMost(10))
        .unwrap();
    assert_eq!(
        injected,
        [Injection::Payload {
            payload: Bytes::from("1000000000"),
            payload_type: Bytes::from("txt"),
            payload_name: Bytes::from("tick"),
        }]
    );
    assert_eq!(
        unlocated(
            &sb.process_message(&sample(), InjectBudget::AtMost(1))
                .unwrap_err()
                .0
        ),
        "process_message() inject_payload() exceeded InjectMessage count"
    );
}

#[test]
fn instruction_limit_stops_an_infinite_loop() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Filter,
        "function process_message() while true do end end",
    );
    s.limits.instructions = 1000;
    let mut sb = Sandbox::start(s).unwrap();
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() instruction_limit exceeded"
    );
    assert!(sb.terminated().is_some());
    // The limit is per call: a script that stays under it runs every time.
    let mut s = f.settings(
        Kind::Filter,
        "function process_message() for i = 1, 100 do end return 0 end",
    );
    s.limits.instructions = 1000;
    let mut sb = Sandbox::start(s).unwrap();
    for _ in 0..50 {
        run(&mut sb, &sample()).unwrap();
    }
    // The top level is limited too.
    let mut s = f.settings(Kind::Filter, "while true do end");
    s.limits.instructions = 1000;
    let e = Sandbox::start(s).unwrap_err();
    assert_eq!(e.0, "instruction_limit exceeded");
}

#[test]
fn memory_limit_stops_a_memory_bomb() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Filter,
        r#"
        require "string"
        local t = {}
        function process_message()
            for i = 1, 1e7 do t[i] = string.rep("x", 1000) .. i end
            return 0
        end"#,
    );
    s.limits.memory = 1024 * 1024;
    s.limits.instructions = 0;
    let mut sb = Sandbox::start(s).unwrap();
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() not enough memory"
    );
    assert_eq!(sb.memory(), 0, "the state is closed");
}

#[test]
fn output_limit_stops_an_output_flood() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Filter,
        r#"
        function process_message()
            for i = 1, 1e6 do add_to_payload("0123456789") end
            return 0
        end"#,
    );
    s.limits.output = 1024;
    s.limits.instructions = 0;
    let mut sb = Sandbox::start(s).unwrap();
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() output_limit exceeded"
    );
    // At most limit - 1 bytes fit.
    let mut s = f.settings(
        Kind::Filter,
        r#"
        require "string"
        function process_message()
            inject_payload("txt", "", string.rep("x", 1024))
            return 0
        end"#,
    );
    s.limits.output = 1024;
    let mut sb = Sandbox::start(s).unwrap();
    assert!(run(&mut sb, &sample()).is_err());
    let mut s = f.settings(
        Kind::Filter,
        r#"
        require "string"
        function process_message()
            inject_payload("txt", "", string.rep("x", 1023))
            return 0
        end"#,
    );
    s.limits.output = 1024;
    let mut sb = Sandbox::start(s).unwrap();
    assert_eq!(payloads(&run(&mut sb, &sample()).unwrap())[0].len(), 1023);
}

#[test]
fn hostile_scripts_get_clear_errors() {
    let f = Fixture::new();
    for (body, want) in [
        (
            "io.open('/etc/passwd')",
            "attempt to index global 'io' (a nil value)",
        ),
        ("require('io')", "module 'io' disabled"),
        (
            "require('os'); os.execute('true')",
            "attempt to call field 'execute' (a nil value)",
        ),
        (
            "require('os'); os.getenv('HOME')",
            "attempt to call field 'getenv' (a nil value)",
        ),
        (
            "loadstring('return 1')",
            "attempt to call global 'loadstring' (a nil value)",
        ),
        (
            "dofile('/etc/passwd')",
            "attempt to call global 'dofile' (a nil value)",
        ),
        (
            "load(function() end)",
            "attempt to call global 'load' (a nil value)",
        ),
        (
            "require('string'); string.dump(process_message)",
            "attempt to call field 'dump' (a nil value)",
        ),
        (
            "collectgarbage()",
            "attempt to call global 'collectgarbage' (a nil value)",
        ),
        (
            "require('../etc/passwd')",
            "invalid module name '../etc/passwd'",
        ),
    ] {
        let script = format!("function process_message() {body} return 0 end");
        let mut sb = f.start(Kind::Filter, &script);
        let e = run(&mut sb, &sample()).unwrap_err().0;
        assert!(e.ends_with(want), "{body}: {e}");
    }
}

/// Lua 5.1's pattern matcher recurses once per quantifier or capture with no limit of its
/// own: without the guard in `pattern.rs` these scripts overflow the thread's C stack and
/// abort the whole process. Each form of call is refused with Lua 5.2's error instead.
#[test]
fn patterns_too_deep_for_the_c_stack_are_refused() {
    let f = Fixture::new();
    for call in [
        "string.find(s, p)",
        "s:find(p, 1)",
        "string.match(s, p)",
        "s:match(p)",
        "string.gsub(s, p, '')",
        "for m in string.gmatch(s, p) do end",
        "s:gsub('(' .. p .. ')', '%1')",
    ] {
        let script = format!(
            "require 'string'
            function process_message()
                local s, p = string.rep('a', 200000), string.rep('a?', 200000)
                {call}
                return 0
            end"
        );
        let mut sb = f.start(Kind::Filter, &script);
        let e = run(&mut sb, &sample()).unwrap_err().0;
        assert!(e.ends_with("pattern too complex"), "{call}: {e}");
    }
}

/// A script recursing through `pcall` until Lua's C-call limit gets Lua's error, caught by
/// its own `pcall`s, and the sandbox goes on.
#[test]
fn recursion_through_pcall_stops_at_the_c_call_limit() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        "local depth, first
        local function f()
            depth = depth + 1
            local ok, e = pcall(f)
            if not ok and not first then first = e end
        end
        function process_message()
            depth, first = 0, nil
            f()
            add_to_payload(tostring(first), ' ', tostring(depth > 100))
            inject_payload()
            return 0
        end",
    );
    for _ in 0..2 {
        let out = run(&mut sb, &sample()).unwrap();
        assert_eq!(payloads(&out), ["C stack overflow true"]);
    }
}

/// The deepest pattern the guard lets through matches (on this test thread's stack, which is
/// no larger than a plugin thread's), and a plain `find` is not a pattern at all.
#[test]
fn patterns_up_to_the_limit_still_match() {
    let f = Fixture::new();
    let n = crate::pattern::MAX_PATTERN_ITEMS;
    let script = format!(
        "require 'string'
        function process_message()
            local s, p = string.rep('a', {n}), string.rep('a?', {n})
            local i, j = string.find(s, '^' .. p .. '$')
            local q = string.rep('a?', {n} + 1)
            local k = string.find('x' .. q, q, 1, true)
            local ok, e = pcall(string.find, s, q)
            add_to_payload(i, ' ', j, ' ', k, ' ', tostring(ok), ' ', e)
            inject_payload()
            return 0
        end"
    );
    let mut sb = f.start(Kind::Filter, &script);
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        payloads(&out),
        [format!("1 {n} 2 false pattern too complex")]
    );
}

#[test]
fn environment_has_only_the_base_library_until_required() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        local before = type(string) .. type(table) .. type(math) .. type(os)
        local s = require "string"
        require "table"; require "math"; require "os"
        function process_message()
            add_to_payload(before, " ", type(string), " ", s == string, " ",
                ("abc"):upper(), " ", math.floor(2.5), " ", table.concat({1, 2}, ","), " ",
                os.date("%Y-%m-%d %H", 0), " ", os.time({year = 2000, month = 1, day = 1, hour = 0}),
                " ", type(print), " ", type(setfenv), " ", type(unpack))
            inject_payload()
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        payloads(&out),
        ["nilnilnilnil table true ABC 2 1,2 1970-01-01 00 946684800 nil function function"]
    );
}

#[test]
fn os_date_formats_in_utc_and_answers_lua_51s_forms() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        require "os"; require "string"
        function process_message()
            local t = os.date("*t", 1400077218.5)
            add_to_payload(os.date("!%Y-%m-%dT%H:%M:%SZ", 1400077218.5), "|",
                os.date("%c %j %p %a %b %% %", 1400077218), "|",
                string.format("%d-%d-%d %d:%d:%d %d %d %s", t.year, t.month, t.day, t.hour,
                    t.min, t.sec, t.wday, t.yday, tostring(t.isdst)), "|",
                tostring(os.date("%Y", 1e300)), "|", os.date("%Y", "86400"), "|",
                type(os.date()), "|", tostring(pcall(os.date, "%Y", {})))
            inject_payload()
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        payloads(&out),
        [
            "2014-05-14T14:20:18Z|Wed May 14 14:20:18 2014 134 PM Wed May % %|\
          2014-5-14 14:20:18 4 134 false|nil|1970|string|false"
        ]
    );
}

/// Lua 5.1's own `os.date` used `gmtime`'s one static result: sandboxes on other threads
/// formatting at the same moment overwrote each other's hours.
#[test]
fn os_date_in_many_sandboxes_at_once_keeps_each_ones_time() {
    let threads: Vec<_> = (0..4i64)
        .map(|k| {
            std::thread::spawn(move || {
                let f = Fixture::new();
                // Thread k formats k hours past midnight, 20,000 times.
                let mut sb = f.start(
                    Kind::Filter,
                    &format!(
                        r#"
                        require "os"
                        function process_message()
                            local want = os.date("!%H:%M:%S", {k} * 3600)
                            for i = 1, 20000 do
                                local got = os.date("!%H:%M:%S", 1400025600 + {k} * 3600)
                                if got ~= want then return -1, got end
                            end
                            return 0
                        end"#
                    ),
                );
                run(&mut sb, &sample()).map(|o| o.status)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
}

#[test]
fn require_loads_modules_from_the_module_directory() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("modules/sub")).unwrap();
    std::fs::write(
        f.path("modules/sub/greet.lua"),
        "local M = {}\nfunction M.hello(n) return 'hello ' .. n end\nreturn M\n",
    )
    .unwrap();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        local g = require "sub.greet"
        local again = require "sub.greet"
        function process_message()
            add_to_payload(g.hello("you"), " ", g == again)
            inject_payload()
            return 0
        end"#,
    );
    assert_eq!(
        payloads(&run(&mut sb, &sample()).unwrap()),
        ["hello you true"]
    );
    let e = Sandbox::start(f.settings(Kind::Filter, "require 'nope.mod'")).unwrap_err();
    let dir = f.path("modules");
    assert_eq!(
        unlocated(&e.0),
        format!(
            "module 'nope.mod' not found:\n\tno file '{}/nope/mod.lua'",
            dir.display()
        )
    );
}

#[test]
fn lpeg_and_re_parse_in_a_decoder() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Decoder,
        r#"
        local l = require "lpeg"
        local re = require "re"
        l.locale(l)
        local key = l.C((l.alnum + "_")^1)
        local value = l.C((1 - l.S" ")^0)
        local pair = l.Cg(key * "=" * value)
        local grammar = l.Cf(l.Ct("") * (pair * l.P" "^0)^0, rawset) * -1
        local word = re.compile("{[a-z]+} ' ' {%d+}")
        function process_message()
            local t = grammar:match(read_message("Payload"))
            if not t then return -1, "no match" end
            local name, num = word:match("abc 123")
            inject_message({Type = "kv", Fields = {a = t.a, b = t.b, name = name, num = num,
                global = type(lpeg)}})
            return 0
        end"#,
    );
    let mut m = Message::default();
    m.set_payload("a=1 b=two");
    let out = run(&mut sb, &Pack::new(m)).unwrap();
    let ms = messages(&out.injected);
    let get = |n: &str| {
        String::from_utf8(ms[0].find_first_field(n.as_bytes()).unwrap().value_string[0].to_vec())
            .unwrap()
    };
    assert_eq!(get("a"), "1");
    assert_eq!(get("b"), "two");
    assert_eq!(get("name"), "abc");
    assert_eq!(get("num"), "123");
    assert_eq!(get("global"), "table");
    let mut m = Message::default();
    m.set_payload("not valid!");
    let out = run(&mut sb, &Pack::new(m)).unwrap();
    assert_eq!((out.status, out.error.as_deref()), (-1, Some("no match")));
}

#[test]
fn cjson_decodes_and_encodes() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Decoder,
        r#"
        require "cjson"
        function process_message()
            local ok, t = pcall(cjson.decode, read_message("Payload"))
            if not ok then return -1, "bad json" end
            inject_message({Type = t.type, Payload = cjson.encode({n = t.n, list = t.list})})
            return 0
        end"#,
    );
    s.limits.output = 64;
    let mut sb = Sandbox::start(s).unwrap();
    let mut m = Message::default();
    m.set_payload(r#"{"type":"json","n":3,"list":[1,2]}"#);
    let out = run(&mut sb, &Pack::new(m)).unwrap();
    let ms = messages(&out.injected);
    assert_eq!(ms[0].type_bytes(), b"json");
    let v: serde_json::Value = serde_json::from_slice(ms[0].payload_bytes()).unwrap();
    assert_eq!(v, serde_json::json!({"n": 3, "list": [1, 2]}));
    let mut m = Message::default();
    m.set_payload("{broken");
    assert_eq!(run(&mut sb, &Pack::new(m)).unwrap().status, -1);
    // cjson.encode is held to the output limit.
    let mut m = Message::default();
    m.set_payload(format!(r#"{{"type":"x","n":"{}"}}"#, "y".repeat(100)));
    assert_eq!(
        unlocated(&run(&mut sb, &Pack::new(m)).unwrap_err().0),
        "process_message() strbuf output_limit exceeded"
    );
}

fn preserving(f: &Fixture, data: &Path, script: &str) -> Settings {
    let mut s = f.settings(Kind::Filter, script);
    s.preservation = Some(data.to_path_buf());
    s
}

#[test]
fn preserve_data_round_trips_globals() {
    let f = Fixture::new();
    let data = f.path("sandbox_preservation/counter.data");
    let script = r#"
        require "string"
        count = 0
        names = {}
        alias = names
        weird = "a\"b\\c\nd\0e"
        ratio = 1/3
        big = 3e12
        local hidden = 5
        f = function() end
        meta = setmetatable({}, {})
        function process_message()
            count = count + 1
            names[#names + 1] = read_message("Type")
            return 0
        end
        function timer_event()
            inject_payload("txt", "", count, " ", table.concat(names, ","), " ",
                alias == names, " ", weird == "a\"b\\c\nd\0e", " ", ratio, " ", big, " ",
                type(meta), " ", type(string))
        end"#;
    let script = script.replace("table.concat", "require('table').concat");
    let mut sb = Sandbox::start(preserving(&f, &data, &script)).unwrap();
    for _ in 0..3 {
        run(&mut sb, &sample()).unwrap();
    }
    sb.stop().unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(
        text.starts_with(
            "if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= 0 then return end\n"
        ),
        "{text}"
    );
    assert!(text.contains("_G[\"count\"] = 3\n"), "{text}");
    assert!(!text.contains("hidden") && !text.contains("\"f\"") && !text.contains("meta"));
    assert!(
        !text.contains("\"string\""),
        "libraries are not preserved: {text}"
    );
    let mut sb = Sandbox::start(preserving(&f, &data, &script)).unwrap();
    run(&mut sb, &sample()).unwrap();
    let injected = sb.timer_event(0, InjectBudget::Unlimited).unwrap();
    let Injection::Payload { payload, .. } = &injected[0] else {
        panic!("{injected:?}")
    };
    assert_eq!(
        payload,
        &Bytes::from(
            "4 test.type,test.type,test.type,test.type true true 0.33333333 3000000000000 table table"
        )
    );
}

#[test]
fn a_corrupt_preservation_file_starts_the_script_fresh() {
    let f = Fixture::new();
    let data = f.path("p.data");
    std::fs::write(&data, "count = = 3 this is not lua").unwrap();
    let script = r#"
        count = 0
        function process_message() count = count + 1 return 0 end
        function timer_event() inject_payload("txt", "", count) end"#;
    let mut sb = Sandbox::start(preserving(&f, &data, script)).unwrap();
    run(&mut sb, &sample()).unwrap();
    let injected = sb.timer_event(0, InjectBudget::Unlimited).unwrap();
    assert!(
        matches!(&injected[0], Injection::Payload { payload, .. } if payload == "1"),
        "{injected:?}"
    );
    // A version mismatch discards the data silently.
    sb.stop().unwrap();
    let script2 = format!("_PRESERVATION_VERSION = 2\n{script}");
    let mut sb = Sandbox::start(preserving(&f, &data, &script2)).unwrap();
    let injected = sb.timer_event(0, InjectBudget::Unlimited).unwrap();
    assert!(
        matches!(&injected[0], Injection::Payload { payload, .. } if payload == "0"),
        "{injected:?}"
    );
}

#[test]
fn a_terminated_sandbox_preserves_nothing() {
    let f = Fixture::new();
    let data = f.path("t.data");
    let mut sb = Sandbox::start(preserving(
        &f,
        &data,
        "x = 1 function process_message() error('no') end",
    ))
    .unwrap();
    assert!(run(&mut sb, &sample()).is_err());
    sb.stop().unwrap();
    assert!(!data.exists());
}

#[test]
fn bad_scripts_fail_to_start_with_clear_errors() {
    let f = Fixture::new();
    let e = Sandbox::start(f.settings(Kind::Filter, "function (")).unwrap_err();
    assert!(e.0.contains("script.lua:1:"), "{e}");
    let mut s = f.settings(Kind::Filter, "");
    s.script = f.path("missing.lua");
    let e = Sandbox::start(s).unwrap_err();
    assert_eq!(
        e.0,
        format!(
            "cannot open {}: No such file or directory",
            f.path("missing.lua").display()
        )
    );
    // Bytecode is refused.
    let mut bytecode = b"\x1bLua\x51\x00".to_vec();
    bytecode.extend_from_slice(&[0; 32]);
    std::fs::write(f.path("bc.lua"), &bytecode).unwrap();
    let mut s = f.settings(Kind::Filter, "");
    s.script = f.path("bc.lua");
    assert!(Sandbox::start(s).is_err());
}

// ---------------------------------------------------------------------------------------------
// write_message, string errors, and the input, encoder and output kinds.

/// A script that writes headers and fields the way Heka's `field_scribble.lua` test did (our
/// own script): the decoder gets the changed message, later reads see the changes.
#[test]
fn write_message_sets_headers_and_fields() {
    let f = Fixture::new();
    let mut s = f.settings(
        Kind::Decoder,
        r#"
        function process_message()
            write_message("Type", "MyType")
            write_message("Logger", "MyLogger")
            write_message("Timestamp", "1385968914904958136")
            write_message("Payload", "MyPayload")
            write_message("EnvVersion", "000")
            write_message("Hostname", "MyHostname")
            write_message("Severity", 4)
            write_message("Pid", "0x10")
            write_message("Fields[String]", "foo")
            write_message("Fields[Float]", 1.2345)
            write_message("Fields[Int]", 123, "count", 0, 0)
            write_message("Fields[Int]", 456, "count", 0, 1)
            write_message("Fields[Bool]", true)
            write_message("Fields[Bool]", false, "", 1, 0)
            write_message("Fields[Bool]", false, "", 1, 0)
            write_message("Fields[]", "empty name")
            write_message("Uuid", "550d19b9-58c7-49d8-b0dd-b48cd1c5b305")
            write_message("Fields[name]", "third", "r2", 2)
            write_message("Fields[ints]", nil, "", 0, 1)
            write_message("Fields[flag]", nil)
            write_message("Fields[nonexistent]", nil)
            local ok = pcall(write_message, "Fields[ints]", 1)
            add_to_payload(read_message("Type"), " ", read_message("Fields[Int]", 0, 1), " ",
                read_message("Fields[name]", 1), " ", tostring(ok))
            return 0
        end"#,
    );
    s.parse_time = None;
    let mut sb = Sandbox::start(s).unwrap();
    let pack = sample();
    let out = run(&mut sb, &pack).unwrap();
    assert_eq!(pack, sample(), "the pack given is untouched");
    let m = out.written.unwrap();
    assert_eq!(m.type_bytes(), b"MyType");
    assert_eq!(m.logger_bytes(), b"MyLogger");
    assert_eq!(m.timestamp, 1_385_968_914_904_958_136);
    assert_eq!(m.payload_bytes(), b"MyPayload");
    assert_eq!(m.env_version_bytes(), b"000");
    assert_eq!(m.hostname_bytes(), b"MyHostname");
    assert_eq!((m.severity, m.pid), (Some(4), Some(16)));
    assert_eq!(m.uuid_string(), "550d19b9-58c7-49d8-b0dd-b48cd1c5b305");
    let all = |n: &str| -> Vec<Field> { m.find_all_fields(n.as_bytes()).cloned().collect() };
    assert_eq!(all("String")[0].value_string, [Bytes::from("foo")]);
    assert_eq!(all("String")[0].value_type, Some(ValueType::String as i32));
    assert_eq!(all("Float")[0].value_double, [1.2345]);
    // Numbers always make DOUBLE fields.
    let int = &all("Int")[0];
    assert_eq!(int.value_type, Some(ValueType::Double as i32));
    assert_eq!(int.value_double, [123.0, 456.0]);
    assert_eq!(int.representation_bytes(), b"count");
    let bools = all("Bool");
    assert_eq!(bools.len(), 2);
    assert_eq!(
        (&bools[0].value_bool[..], &bools[1].value_bool[..]),
        (&[true][..], &[false][..])
    );
    assert_eq!(all("")[0].value_string, [Bytes::from("empty name")]);
    let names = all("name");
    assert_eq!(names.len(), 3);
    assert_eq!(names[1].value_string, [Bytes::from("second")]);
    assert_eq!(names[2].value_string, [Bytes::from("third")]);
    assert_eq!(names[2].representation_bytes(), b"r2");
    assert_eq!(all("ints")[0].value_integer, [10, 30]);
    assert!(all("flag").is_empty());
    // The reads saw the changes; an INTEGER field refused a number.
    let p = String::from_utf8_lossy(&m.payload.clone().unwrap_or_default()).into_owned();
    assert_eq!(p, "MyPayload", "add_to_payload does not touch the message");
    let mut sb = f.start(
        Kind::Decoder,
        r#"function process_message()
            write_message("Fields[name]", "x", "", 1)
            inject_payload("txt", "", read_message("Fields[name]", 1), " ",
                (read_next_field()))
            return 0
        end"#,
    );
    assert_eq!(payloads(&run(&mut sb, &sample()).unwrap()), ["x 0"]);
}

#[test]
fn write_message_errors_are_heka_texts() {
    let f = Fixture::new();
    let failed = "write_message() failed";
    for (call, want) in [
        (
            "write_message()",
            "write_message() incorrect number of arguments",
        ),
        (
            "write_message('Fields[x]', 0, 'count', 0, 0, 0)",
            "write_message() incorrect number of arguments",
        ),
        ("write_message('Unknown', 0)", failed),
        ("write_message('[Bogus]', 0)", failed),
        ("write_message('Fields[Bogus', 0)", failed),
        ("write_message('Fields[bogus]', 0, 'count', 200, 0)", failed),
        (
            "write_message('Fields[bogus]', 0, 'count', -1, 0)",
            "bad argument #4 to 'write_message' (field index must be >= 0)",
        ),
        (
            "write_message('Fields[bogus]', 0, 'count', 0, -1)",
            "bad argument #5 to 'write_message' (array index must be >= 0)",
        ),
        (
            "write_message(nil, 0)",
            "bad argument #1 to 'write_message' (string expected, got nil)",
        ),
        ("write_message('Uuid', '')", failed),
        ("write_message('Uuid', 'abcdefghijklmnopqrst')", failed),
        ("write_message('Timestamp', '')", failed),
        ("write_message('Timestamp', 'invalid')", failed),
        ("write_message('Severity', true)", failed),
        ("write_message('Hostname', 99)", failed),
        (
            "write_message('Fields[bogus]', {a = 1})",
            "write_message() only accepts numeric, string, or boolean field values, or nil to delete",
        ),
        ("write_message('Fields[name]', nil, '', 2)", failed),
        ("write_message('Fields[ints]', nil, '', 0, 3)", failed),
        ("write_message('Fields[ints]', 1)", failed),
    ] {
        let script = format!("function process_message() {call} return 0 end");
        let mut sb = f.start(Kind::Decoder, &script);
        let e = run(&mut sb, &sample()).unwrap_err().0;
        assert!(e.contains("script.lua:1: "), "{call}: {e}");
        assert_eq!(unlocated(&e), format!("process_message() {want}"), "{call}");
    }
}

#[test]
fn host_errors_are_strings_that_pcall_catches() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Filter,
        r#"
        require "string"
        function process_message()
            local ok, err = pcall(read_message)
            local ok2, err2 = pcall(inject_message, "junk")
            local ok3, err3 = pcall(require, "nope")
            local ok4, err4 = pcall(add_to_payload, {})
            add_to_payload(tostring(ok), "|", type(err), "|",
                tostring(err:find("read_message() incorrect number of arguments", 1, true) ~= nil),
                "|", err2:match("inject_message%(%) .*$"), "|", tostring(ok3), "|",
                err3:match("module 'nope' not found") or err3, "|", err4:match("bad argument.*$"))
            inject_payload()
            return 0
        end"#,
    );
    assert_eq!(
        payloads(&run(&mut sb, &sample()).unwrap()),
        [
            "false|string|true|inject_message() protobuf unmarshal failed|false|\
             module 'nope' not found|bad argument #1 to 'add_to_payload' (unsupported type)"
        ]
    );
    // Errors carry the caller's position, as luaL_error gave it.
    let mut sb = f.start(
        Kind::Filter,
        "require 'string'\nfunction process_message()\n\
         local _, e = pcall(function() return decode_message('x') end)\nerror(e, 0)\nend",
    );
    let e = run(&mut sb, &sample()).unwrap_err().0;
    assert!(
        e.starts_with("process_message() ")
            && e.ends_with("script.lua:3: invalid message, too short"),
        "{e}"
    );
}

#[test]
fn each_kind_has_heka_functions() {
    let f = Fixture::new();
    let names = [
        "read_config",
        "decode_message",
        "inject_message",
        "read_message",
        "read_next_field",
        "inject_payload",
        "add_to_payload",
        "write_message",
        "output",
    ];
    let list = names
        .iter()
        .map(|n| format!("type({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let script = format!(
        "local seen = ''\nfunction process_message()\n\
         local t = {{{list}}}\n\
         for i = 1, #t do seen = seen .. (t[i] == 'function' and '1' or '0') end\n\
         return 0\nend\nfunction timer_event() end\n"
    );
    let seen = |kind: Kind| -> String {
        let path = f.path("kind.lua");
        let body = script.replace("local seen = ''\n", "");
        std::fs::write(&path, format!("seen = ''\n{body}")).unwrap();
        let mut s = f.settings(kind, "");
        s.script = path;
        let mut sb = Sandbox::start(s).unwrap();
        match kind {
            Kind::Input => drop(sb.process_input().unwrap()),
            _ => drop(run(&mut sb, &sample()).unwrap()),
        }
        // Read the global back through preservation.
        let data = f.path("kind.data");
        let _ = std::fs::remove_file(&data);
        sb.settings.preservation = Some(data.clone());
        sb.stop().unwrap();
        let text = std::fs::read_to_string(&data).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("_G[\"seen\"]"))
            .unwrap();
        line.trim_start_matches("_G[\"seen\"] = ")
            .trim_matches('"')
            .to_string()
    };
    //                             rc dm im rm rn ip ap wm output
    assert_eq!(seen(Kind::Input), "111000000");
    assert_eq!(seen(Kind::Decoder), "111111110");
    assert_eq!(seen(Kind::Filter), "111111100");
    assert_eq!(seen(Kind::Encoder), "111111110");
    assert_eq!(seen(Kind::Output), "110110000");
}

#[test]
fn inputs_and_outputs_get_the_io_environment() {
    let f = Fixture::new();
    let out = f.path("io.txt");
    let script = format!(
        r#"
        local io = require "io"
        local os = require "os"
        require "string"
        local before = tostring(io ~= nil) .. type(coroutine) .. type(collectgarbage)
            .. type(os.getenv) .. type(os.exit) .. type(print) .. type(loadstring)
        local n = 0
        for i = 1, 3000000 do n = n + 1 end  -- no instruction limit
        function process_message()
            local fh = assert(io.open({out:?}, "w"))
            fh:write(before, " ", n, " ", tostring(read_message and read_message("Type")))
            fh:close()
            return 0
        end"#
    );
    let mut s = f.settings(Kind::Output, &script);
    s.limits.instructions = 1000;
    let mut sb = Sandbox::start(s).unwrap();
    run(&mut sb, &sample()).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "truetablefunctionfunctionnilnilnil 3000000 test.type"
    );
    // Decoders, filters and encoders have none of it.
    let mut sb = f.start(
        Kind::Encoder,
        "function process_message() require 'io' return 0 end",
    );
    assert_eq!(
        unlocated(&run(&mut sb, &sample()).unwrap_err().0),
        "process_message() module 'io' disabled"
    );
}

#[test]
fn an_input_injects_as_it_goes_and_can_be_stopped() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Input,
        r#"
        calls = 0
        function process_message()
            calls = calls + 1
            if calls == 1 then
                for i = 1, 3 do inject_message({Type = "gen", Payload = tostring(i)}) end
                return 0
            end
            if calls == 2 then return -1, "nothing new" end
            while true do inject_message({Type = "loop"}) end
        end"#,
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stopper = sb.stopper();
    let mut seen = 0;
    sb.set_injector(Some(Box::new(move |inj| {
        let Injection::Message { message, .. } = inj else {
            return Err("unexpected".into());
        };
        seen += 1;
        if seen == 10 {
            stopper.stop();
        }
        tx.send(message).map_err(|e| e.to_string())
    })));
    let out = sb.process_input().unwrap();
    assert_eq!(out.status, 0);
    assert!(out.injected.is_empty(), "handed to the injector");
    let got: Vec<Message> = rx.try_iter().collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].payload_bytes(), b"3");
    assert_eq!(got[0].type_bytes(), b"gen", "no prefix, no defaults");
    let out = sb.process_input().unwrap();
    assert_eq!(
        (out.status, out.error.as_deref()),
        (-1, Some("nothing new"))
    );
    // The third call loops until stopped from "another thread" (here: the injector).
    let e = sb.process_input().unwrap_err();
    assert!(e.0.ends_with("shutting down"), "{e}");
    assert!(rx.try_iter().count() >= 7);
}

#[test]
fn an_aborted_injection_keeps_the_state_for_preservation() {
    let f = Fixture::new();
    let data = f.path("in.data");
    let mut s = preserving(
        &f,
        &data,
        "n = 0 function process_message() n = n + 1 inject_message({}) return 0 end",
    );
    s.kind = Kind::Input;
    let mut sb = Sandbox::start(s).unwrap();
    sb.set_injector(Some(Box::new(|_| Err("aborted".into()))));
    let e = sb.process_input().unwrap_err();
    assert_eq!(
        unlocated(&e.0),
        "process_message() inject_message() aborted"
    );
    sb.stop().unwrap();
    assert!(
        std::fs::read_to_string(&data)
            .unwrap()
            .contains("_G[\"n\"] = 1\n")
    );
}

#[test]
fn an_encoder_survives_a_positive_status_and_injects_raw_bytes() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Encoder,
        r#"
        n = 0
        function process_message()
            n = n + 1
            if n == 1 then return 1, "user abort" end
            inject_message("raw\0bytes")
            inject_message("")
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!((out.status, out.error.as_deref()), (1, Some("user abort")));
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(
        out.injected,
        [Injection::Raw(Bytes::from_static(b"raw\0bytes"))]
    );
    // An output stops for good.
    let mut sb = f.start(
        Kind::Output,
        "function process_message() return 1, 'user abort' end",
    );
    assert_eq!(run(&mut sb, &sample()).unwrap_err().0, "user abort");
    assert_eq!(run(&mut sb, &sample()).unwrap_err().0, "user abort");
}

#[test]
fn decoders_inherit_headers_written_before_the_first_injection() {
    let f = Fixture::new();
    let mut sb = f.start(
        Kind::Decoder,
        r#"function process_message()
            write_message("Hostname", "before")
            inject_message({Payload = "one"})
            write_message("Hostname", "after")
            return 0
        end"#,
    );
    let out = run(&mut sb, &sample()).unwrap();
    assert_eq!(out.written_at_inject.unwrap().hostname_bytes(), b"before");
    assert_eq!(out.written.unwrap().hostname_bytes(), b"after");
}
