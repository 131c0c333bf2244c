//! Fuzzes the decoders of structured payloads: PayloadXmlDecoder (the XML reader, Heka's
//! xmlpath evaluator over every axis and predicate form, the message template) and JsonDecoder
//! (JSON parsing, header mapping, Timestamp reading with lua_sandbox's strftime grammar,
//! flattening with and without `maximum_depth`).
//!
//! Input layout: byte 0 selects one of the fixed configs in [`CONFIGS`]; the rest is the
//! payload of the message decoded.
//!
//! The decoders are built once from TOML through the built-in registry, as hekad builds them.
//! Decoding must not panic. PayloadXmlDecoder keeps every message (a payload that is no XML
//! gives no captures) unless its `Pid` template fails; JsonDecoder keeps a message or fails
//! with SandboxDecoder's `Failed parsing: … payload: …`, leaving the message as it was. A kept
//! message has lost its trusted bytes, still has a 16-byte UUID and survives a protobuf round
//! trip; JsonDecoder's field names are unique.

#![no_main]

mod common;

use std::cell::RefCell;
use std::collections::HashSet;

use bytes::Bytes;
use heka_message::Message;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use libfuzzer_sys::fuzz_target;

/// The decoder configurations: (type, option lines of the `[p]` section).
const CONFIGS: &[(&str, &str)] = &[
    (
        "PayloadXmlDecoder",
        r#"[p.xpath_map]
Timestamp = "/event/@time"
Severity = "//level"
Any = "//*"
Root = "/"
Text = "//text()"
Comment = "//comment()"
PI = "//processing-instruction()"
Attr = "//@*"
[p.severity_map]
warning = 4
[p.message_fields]
Type = "xml"
Hostname = "%Any%"
All = "%Root%|%Text%|%Comment%|%PI%|%Attr%|%Missing%"
"#,
    ),
    (
        "PayloadXmlDecoder",
        r#"timestamp_layout = "EpochMilli"
[p.xpath_map]
Timestamp = "//@ms"
Following = "/*/*[1]/following::*[2]"
FollowingSibling = "//*[2]/following-sibling::node()"
Preceding = "//*[1]/../preceding::node()[1]"
PrecedingSibling = "//*[3]/preceding-sibling::*"
Ancestors = "//text()/ancestor::*[1]"
AncestorOrSelf = "//*/ancestor-or-self::*[@id]"
Descendant = "/descendant::*[3]"
Parent = "//@*/parent::node()/self::*"
Exists = "//*[*]/@*"
Equals = "//*[@id='a']/*[.='b']"
Nested = "//*[*[@k='v']]/text()"
Position = "/*/*[2]/*[1]"
[p.message_fields]
Pid = "%Position%"
Out = "%Following%%FollowingSibling%%Preceding%%PrecedingSibling%%Ancestors%%AncestorOrSelf%%Descendant%%Parent%%Exists%%Equals%%Nested%"
"#,
    ),
    ("JsonDecoder", "[p.config]\n"),
    (
        "JsonDecoder",
        r#"[p.config]
type = "fuzz"
payload_keep = true
map_fields = true
Payload = "p"
Uuid = "u"
Type = "t"
Logger = "l"
Hostname = "h"
Severity = "s"
EnvVersion = "e"
Pid = "i"
Timestamp = "ts"
maximum_depth = 2
separator = "-"
"#,
    ),
    (
        "JsonDecoder",
        r#"[p.config]
Timestamp = "ts"
timestamp_format = "%Y-%m-%dT%H:%M:%S%z %c %D %r %e %k %l %j %Z"
tz = "America/Los_Angeles"
maximum_depth = 1
separator = ""
"#,
    ),
    (
        "JsonDecoder",
        r#"[p.config]
map_fields = true
Hostname = "ts"
Timestamp = "ts"
timestamp_format = "%s"
"#,
    ),
];

thread_local! {
    /// One decoder per config, built once (zone files, expressions). Reusing one is sound:
    /// decoding keeps no state from one payload to the next.
    static DECODERS: RefCell<Vec<Box<dyn Decoder>>> = RefCell::new(build_all());
}

fn build_all() -> Vec<Box<dyn Decoder>> {
    let registry = heka_plugins::builtin();
    CONFIGS
        .iter()
        .map(|(type_name, options)| {
            let Some(spec) = registry.decoder(type_name) else {
                panic!("{type_name} is not registered");
            };
            let built = common::config("", type_name, options)
                .and_then(|cfg| common::build_section(&cfg, common::SECTION, spec.build));
            match built {
                Ok(d) => d,
                Err(e) => panic!("config {options:?} must build: {e}"),
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [selector, payload @ ..] = data else {
        return;
    };
    let index = usize::from(*selector) % CONFIGS.len();
    let json = CONFIGS[index].0 == "JsonDecoder";
    let payload = Bytes::copy_from_slice(payload);
    let mut message = Message {
        uuid: Bytes::from_static(&[7; 16]),
        timestamp: 12_345,
        logger: Some(Bytes::from_static(b"input")),
        ..Message::default()
    };
    message.payload = Some(payload.clone());
    let before = message.clone();
    let mut pack = Pack::new(message);
    pack.ensure_encoded();
    let mut extra = Vec::new();
    let result = DECODERS.with_borrow_mut(|d| d[index].decode(&mut pack, &mut extra));
    assert!(extra.is_empty(), "no extra packs");
    match result {
        Ok(Decoded::Keep) => {
            assert_eq!(
                pack.raw(),
                None,
                "a changed message kept its old trusted bytes"
            );
            let m = pack.message();
            assert_eq!(m.uuid.len(), 16, "the UUID must stay 16 bytes");
            let encoded = m.to_bytes();
            match Message::decode_slice(&encoded) {
                Ok(again) => {
                    // NaN is impossible: JSON has none, and XML fields are strings.
                    assert_eq!(&again, m, "round trip changed the message");
                }
                Err(e) => panic!("a decoded message must encode to valid protobuf: {e}"),
            }
            if json {
                let mut names = HashSet::new();
                for f in &m.fields {
                    assert!(names.insert(f.name.clone()), "field {:?} twice", f.name);
                }
            }
        }
        Ok(Decoded::Drop) => panic!("these decoders never drop"),
        Err(CodecError(text)) => {
            if json {
                assert!(text.starts_with("Failed parsing: Failed to "), "{text}");
                assert!(
                    text.ends_with(&format!(" payload: {}", String::from_utf8_lossy(&payload))),
                    "{text}"
                );
                assert_eq!(
                    pack.message(),
                    &before,
                    "a failed decode changed the message"
                );
            } else {
                // Only the second XML config's Pid template can fail.
                assert_eq!(index, 1, "{text}");
            }
        }
    }
});
