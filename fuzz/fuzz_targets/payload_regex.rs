//! Fuzzes PayloadRegexDecoder: its regex match, timestamp parsing (Go layouts with their
//! fallbacks, yearless and time-only values, `Epoch…` units, zone names and offsets in IANA
//! zones), severity map and message template.
//!
//! Input layout: byte 0 selects one of the fixed configs in [`CONFIGS`]; the rest is the
//! payload of the message decoded.
//!
//! The decoders are built once from TOML through the built-in registry, as hekad builds them. Decoding
//! must not panic. A payload the regex does not match fails with `No match: <payload>`, or is
//! dropped silently with `log_errors = false`. A message the decoder keeps has lost its trusted
//! bytes (it was changed), still has a 16-byte UUID, and survives a protobuf round trip.

#![no_main]

mod common;

use std::cell::RefCell;

use bytes::Bytes;
use heka_message::Message;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use libfuzzer_sys::fuzz_target;

/// A config whose `Timestamp` capture runs up to the first `|`, followed by an optional
/// `Severity` capture, with these further option lines.
macro_rules! timestamp_config {
    ($($lines:literal),* $(,)?) => {
        concat!(
            r"match_regex = '^(?P<Timestamp>[^|]*)(?:\|(?P<Severity>[^|]*))?'",
            "\n",
            $($lines),*
        )
    };
}

/// Index in [`CONFIGS`] of the only config whose template can fail a decode.
const TEMPLATE_CONFIG: usize = 10;

/// The decoder configurations (option lines of the `[p]` section).
const CONFIGS: &[&str] = &[
    // Heka's nginx example.
    r#"match_regex = '^(?P<RemoteIP>\S+) \S+ \S+ \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Url>[^\s]+)[^"]*" (?P<StatusCode>\d+) (?P<RequestSize>\d+)'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"
timestamp_location = "UTC"
[p.message_fields]
Type = "nginx.access"
RemoteIP = "%RemoteIP%"
"RequestSize|B" = "%RequestSize%"
Url = "%Method% %Url%"
"#,
    // RFC 3339 with nanoseconds, in a zone with daylight saving time, and a severity map.
    timestamp_config!(
        "timestamp_layout = \"2006-01-02T15:04:05.999999999Z07:00\"\n",
        "timestamp_location = \"America/Los_Angeles\"\n",
        "[p.severity_map]\nemerg = 0\nerr = 3\nwarning = 4\ndebug = 7\n",
    ),
    // Syslog's yearless dates (the most recent such date, hekad's zone), errors dropped silently.
    timestamp_config!(
        "timestamp_layout = \"Jan _2 15:04:05\"\n",
        "timestamp_location = \"Local\"\nlog_errors = false\n",
    ),
    // Time only: the most recent such time.
    timestamp_config!(
        "timestamp_layout = \"3:04:05.000PM\"\n",
        "timestamp_location = \"Europe/Berlin\"\n",
    ),
    // Zone abbreviations, looked up in the location's rules, and two-digit years.
    timestamp_config!(
        "timestamp_layout = \"Monday, 02-Jan-06 15:04:05 MST\"\n",
        "timestamp_location = \"America/New_York\"\n",
    ),
    // Numeric offsets with seconds (both forms), and a fraction after a comma.
    timestamp_config!(
        "timestamp_layout = \"2006 Jan _2 15:04:05,000000 -07:00:00 Z0700\"\n",
        "timestamp_location = \"Australia/Lord_Howe\"\n",
    ),
    timestamp_config!("timestamp_layout = \"Epoch\"\n"),
    timestamp_config!("timestamp_layout = \"EpochMilli\"\n"),
    timestamp_config!("timestamp_layout = \"EpochMicro\"\n"),
    timestamp_config!("timestamp_layout = \"EpochNano\"\n"),
    // Every template target: header values, an optional group, unknown names, fields.
    r#"match_regex = '^(?P<Pid>[^|]*)\|(?P<Sev>[^|]*)\|(?P<Uuid>[^|]*)\|(?:(?P<Host>[^|]*)\|)?(?P<Rest>.*)$'
[p.message_fields]
Pid = "%Pid%"
Severity = "%Sev%"
Uuid = "%Uuid%"
Hostname = "%Host%"
Logger = "fuzz"
Payload = "%Rest%"
Type = "t.%Host%.%Nope%"
"Extra|rep" = "%Rest%-%Pid%"
plain = "100%"
"#,
];

thread_local! {
    /// One decoder per config, built once: building reads time zone files and compiles
    /// regexes, which would dominate every run. Reusing one is sound because decoding keeps no
    /// state from one payload to the next (the capture positions are overwritten by each
    /// match).
    static DECODERS: RefCell<Vec<Box<dyn Decoder>>> = RefCell::new(build_all());
}

fn build_all() -> Vec<Box<dyn Decoder>> {
    let registry = heka_plugins::builtin();
    let Some(spec) = registry.decoder("PayloadRegexDecoder") else {
        panic!("PayloadRegexDecoder is not registered");
    };
    CONFIGS
        .iter()
        .map(|options| {
            let built = common::config("", "PayloadRegexDecoder", options)
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
    let payload = Bytes::copy_from_slice(payload);
    let mut message = Message {
        uuid: Bytes::from_static(&[7; 16]),
        timestamp: 12_345,
        ..Message::default()
    };
    message.payload = Some(payload.clone());
    let mut pack = Pack::new(message);
    pack.ensure_encoded();
    let trusted = pack.raw().cloned();
    let mut extra = Vec::new();
    let result = DECODERS.with_borrow_mut(|d| d[index].decode(&mut pack, &mut extra));
    assert!(extra.is_empty(), "PayloadRegexDecoder makes no extra packs");
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
                Ok(again) => assert_eq!(&again, m, "round trip changed the message"),
                Err(e) => panic!("a decoded message must encode to valid protobuf: {e}"),
            }
        }
        Ok(Decoded::Drop) => {
            assert_eq!(pack.raw(), trusted.as_ref());
        }
        Err(CodecError(text)) if index == TEMPLATE_CONFIG => {
            std::hint::black_box(text);
        }
        Err(CodecError(text)) => {
            // Without a Pid, Severity or Uuid template only a failed match is an error.
            let want = format!("No match: {}", String::from_utf8_lossy(&payload));
            assert_eq!(text, want);
        }
    }
});
