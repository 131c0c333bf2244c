//! Data-driven matcher tests: every file in `tests/data/` holds one case per line,
//! `<expect> <expression>`, with `<expect>` one of `match`, `nomatch` or `error`, run against
//! [`test_message`], the equivalent of the message Heka's message_matcher_test.go builds.

use bytes::Bytes;
use heka_matcher::Matcher;
use heka_message::{Field, Message};

/// Heka's `GetTestMessage` plus the fields message_matcher_test.go adds, with fixed values where
/// Heka uses random ones (UUID, pid, time), plus a few fields of our own for the quirk cases.
fn test_message() -> Message {
    let mut msg = Message {
        uuid: Bytes::from_static(&[
            0x8e, 0x41, 0x4f, 0x01, 0x9d, 0x7f, 0x4a, 0x48, 0xa5, 0xe1, 0xae, 0x92, 0xe5, 0x95,
            0x4d, 0xf5,
        ]),
        // Mon Jan 2 15:04:05 -0700 2006, plus 1 ns (lost when compared as float64).
        timestamp: 1_136_239_445_000_000_001,
        severity: Some(6),
        pid: Some(43),
        ..Message::default()
    };
    msg.set_type("TEST");
    msg.set_logger("GoSpec");
    msg.set_payload("Test Payload");
    msg.set_env_version("0.8");
    msg.set_hostname("my.host.name");
    msg.add_field(Field::new_string("foo", "bar"));
    // message_matcher_test.go.
    msg.add_field(Field::new_bytes("bytes", Bytes::from_static(b"data")));
    msg.add_field(Field::new_integers("int", &[999, 1024]));
    msg.add_field(Field::new_double("double", 99.9));
    msg.add_field(Field::new_bool("bool", true));
    msg.add_field(Field::new_string("foo", "alternate"));
    msg.add_field(Field::new_string("Payload", "name=test;type=web;"));
    msg.add_field(
        Field::new_string("Timestamp", "Mon Jan 02 15:04:05 -0700 2006")
            .with_representation("date-time"),
    );
    msg.add_field(Field::new_integer("zero", 0));
    msg.add_field(Field::new_string("string", "43"));
    // Ours (quirks.txt).
    msg.add_field(Field::new_bool("falsebool", false));
    msg.add_field(Field::new_string("truestr", "TRUE"));
    msg.add_field(Field::new_string("with space.dot", "x"));
    msg.add_field(Field::new_string("quote", "it's"));
    msg.add_field(Field::new_string("backslash", r"a\b"));
    msg.add_field(Field::new_string("accent", "café"));
    msg.add_field(Field::new_string("path", "/var/log/x.log"));
    msg
}

/// Runs one case; `Err` describes a failure.
fn check(msg: &Message, expect: &str, expr: &str) -> Result<(), String> {
    let parsed = Matcher::parse(expr);
    match (expect, parsed) {
        ("error", Err(_)) => Ok(()),
        ("error", Ok(m)) => Err(format!("parsed, matching {}", m.matches(msg))),
        (_, Err(e)) => Err(format!("rejected: {e}")),
        ("match", Ok(m)) if m.matches(msg) => Ok(()),
        ("nomatch", Ok(m)) if !m.matches(msg) => Ok(()),
        ("match" | "nomatch", Ok(_)) => Err("wrong match result".to_owned()),
        (other, _) => Err(format!("unknown expectation {other:?}")),
    }
}

/// Runs every case of `tests/data/<file>` and reports all failures at once.
fn run_file(file: &str) -> usize {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let msg = test_message();
    let mut failures = Vec::new();
    let mut count = 0;
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (expect, expr) = line.split_once(' ').unwrap_or((line, ""));
        count += 1;
        if let Err(why) = check(&msg, expect, expr) {
            failures.push(format!("{file}:{}: {expect} {expr:?}: {why}", n + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

#[test]
fn heka_message_matcher_test_go() {
    // 24 malformed + 34 negative + 50 positive cases + the 7 matchers of its benchmarks.
    assert_eq!(run_file("heka.txt"), 115);
}

#[test]
fn spec_examples() {
    assert_eq!(run_file("spec.txt"), 45);
}

#[test]
fn quirks_and_semantics() {
    assert_eq!(run_file("quirks.txt"), 88);
}

#[test]
fn uuid_of_the_wrong_length_is_empty() {
    let mut msg = test_message();
    msg.uuid = Bytes::from_static(b"short");
    assert!(Matcher::parse("Uuid == ''").unwrap().matches(&msg));
    msg.uuid = Bytes::new();
    assert!(Matcher::parse("Uuid == ''").unwrap().matches(&msg));
    assert!(
        !Matcher::parse("Uuid == ''")
            .unwrap()
            .matches(&test_message())
    );
}

#[test]
fn unset_headers_read_as_defaults() {
    let msg = Message::default();
    for (expr, want) in [
        ("Severity == 7", true),
        ("Pid == 0", true),
        ("Timestamp == 0", true),
        ("Type == ''", true),
        ("Hostname < 'a'", true),
        ("Payload =~ /^$/", true),
        ("Fields[foo] == NIL", true),
    ] {
        assert_eq!(Matcher::parse(expr).unwrap().matches(&msg), want, "{expr}");
    }
}

#[test]
fn newline_ends_the_expression() {
    let msg = test_message();
    let m = Matcher::parse("Type == 'TEST'\n&& Severity == 0").unwrap();
    assert!(m.matches(&msg));
    let m = Matcher::parse("Type == 'TEST' &&\nSeverity == 6");
    assert!(m.is_err());
    // An escaped newline inside a string is read as NUL and the string goes on.
    let m = Matcher::parse("Type == 'A\\\nB' || TRUE").unwrap();
    assert!(m.matches(&msg));
}

#[test]
fn non_utf8_values_compare_as_bytes() {
    let mut msg = test_message();
    msg.payload = Some(Bytes::from_static(b"\xff\xfeTest"));
    assert!(Matcher::parse("Payload =~ /Test$/").unwrap().matches(&msg));
    assert!(
        Matcher::parse("Payload =~ /T[a-z]+t/")
            .unwrap()
            .matches(&msg)
    );
    assert!(Matcher::parse("Payload > 'zzz'").unwrap().matches(&msg));
}
