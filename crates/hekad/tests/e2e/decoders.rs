//! Decoders built from other decoders: TcpInput paragraphs → nested MultiDecoders (first-wins of
//! PayloadRegexDecoder and StatsToFieldsDecoder, then a ScribbleDecoder over everything) →
//! FileOutput.

use std::io::Write;
use std::net::TcpStream;

use heka_message::{FieldValue, Message};

use crate::support::*;

fn string<'a>(m: &'a Message, name: &str) -> Option<&'a [u8]> {
    match m.field_value(name.as_bytes()) {
        Some(Some(FieldValue::String(s))) => Some(s),
        _ => None,
    }
}

#[test]
fn multi_decoders_parse_tag_and_fall_through() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"

[lines]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "paragraphs"
decoder = "decode_all"

[paragraphs]
type = "RegexSplitter"
delimiter = '\n\n'

[decode_all]
type = "MultiDecoder"
subs = ["parse", "tag"]
cascade_strategy = "all"
log_sub_errors = true

[parse]
type = "MultiDecoder"
subs = ["access", "graphite"]

[access]
type = "PayloadRegexDecoder"
match_regex = '^(?P<Method>[A-Z]+) (?P<Path>\S+) (?P<Status>\d+)'
[access.message_fields]
Type = "access"
Path = "%Path%"
"Status|code" = "%Status%"

[graphite]
type = "StatsToFieldsDecoder"

[tag]
type = "ScribbleDecoder"
[tag.message_fields]
Hostname = "e2e-host"
Env = "test"

[out]
type = "FileOutput"
message_matcher = "Logger == 'lines'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
    );
    let port = h.listening("lines");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(
        b"GET /a 200\n\nstat.x 1.5 1380047333\nstat.y 2 1380047334\n\nnot anything\n\nPOST /b 500\n\n",
    )
    .unwrap();
    let got = wait_framed(&h.path("out.log"), 5);
    assert_eq!(got.len(), 5, "{got:?}");
    for m in &got {
        assert_eq!(m.hostname_bytes(), b"e2e-host", "{m:?}");
        assert_eq!(string(m, "Env"), Some(&b"test"[..]), "{m:?}");
    }

    let get = &got[0];
    assert_eq!(get.type_bytes(), b"access");
    assert_eq!(get.payload_bytes(), b"GET /a 200");
    assert_eq!(string(get, "Path"), Some(&b"/a"[..]));
    let status = get.find_first_field(b"Status").unwrap();
    assert_eq!(status.representation_bytes(), b"code");
    assert_eq!(status.value(0), Some(FieldValue::String(b"200")));

    // The regex fails on the Graphite line, StatsToFieldsDecoder takes it; its second stat has
    // another timestamp, so it also comes as an extra message, tagged too.
    let stats = &got[1];
    assert_eq!(
        stats.field_value(b"stat.x"),
        Some(Some(FieldValue::Double(1.5)))
    );
    assert_eq!(
        stats.field_value(b"timestamp"),
        Some(Some(FieldValue::Integer(1_380_047_333)))
    );
    let extra = &got[2];
    assert_eq!(extra.payload_bytes(), b"");
    assert_eq!(
        extra.field_value(b"stat.y"),
        Some(Some(FieldValue::Double(2.0)))
    );
    assert_eq!(
        extra.field_value(b"timestamp"),
        Some(Some(FieldValue::Integer(1_380_047_334)))
    );
    assert_ne!(extra.uuid, stats.uuid);

    // Neither parser takes it, the scribble still applies, so the message goes on.
    let other = &got[3];
    assert_eq!(other.payload_bytes(), b"not anything");
    assert_eq!(other.fields.len(), 1, "{other:?}");

    assert_eq!(string(&got[4], "Path"), Some(&b"/b"[..]));

    assert!(h.stop().success(), "{}", h.stderr());
    let log = h.stdout() + &h.stderr();
    assert!(
        log.contains("Subdecoder 'parse' decode error: All subdecoders failed."),
        "{log}"
    );
}

#[test]
fn multi_decoder_config_errors_stop_hekad_test() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.toml");
    std::fs::write(
        &p,
        r#"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "PatternGroupingSplitter"
decoder = "a"
[a]
type = "MultiDecoder"
subs = ["b"]
[b]
type = "MultiDecoder"
subs = ["a", "missing"]
"#,
    )
    .unwrap();
    let (st, _, err) = run_hekad(&[&format!("-config={}", p.display()), "-test"]);
    assert_eq!(st.code(), Some(1), "{err}");
    assert!(err.contains("circular dependency detected"), "{err}");
}
