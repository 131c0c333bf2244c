//! Fuzzes `Matcher::parse` on arbitrary text (the input bytes read as UTF-8, invalid sequences
//! replaced by U+FFFD) and evaluates every matcher that parses against fixed messages.
//!
//! Neither parsing nor matching may panic. A parse error points at a character boundary inside
//! the expression; a parsed matcher keeps its source text, and matching is deterministic (the
//! same answer twice, and from a clone).

#![no_main]

use std::sync::OnceLock;

use heka_matcher::{Matcher, ParseWarning};
use heka_message::{Field, Message};
use libfuzzer_sys::fuzz_target;

/// Messages every parsed matcher is evaluated against: one with every header set and fields of
/// every type (repeated names, several values, non-UTF-8 bytes, NaN), and an empty one.
fn messages() -> &'static [Message; 2] {
    static MESSAGES: OnceLock<[Message; 2]> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        let mut m = Message {
            uuid: bytes::Bytes::from_static(&[
                0x43, 0x7f, 0x1c, 0x2a, 0x5e, 0x11, 0x4b, 0x8d, 0x9c, 0x04, 0xe2, 0x3a, 0x77, 0x0b,
                0xd1, 0x65,
            ]),
            timestamp: 1_377_186_399_531_882_283,
            severity: Some(6),
            pid: Some(5823),
            ..Message::default()
        };
        m.set_type("TEST");
        m.set_logger("GoSpec");
        m.set_payload("Test Payload");
        m.set_env_version("0.8");
        m.set_hostname("trink-x230");
        m.add_field(Field::new_string("foo", "bar"));
        m.add_field(Field::new_string("foo", "alternate"));
        m.add_field(Field::new_integer("number", 64).with_representation("count"));
        m.add_field(Field::new_bytes("bytes", &b"data\xff\xfe"[..]));
        m.add_field(Field::new_integers("int", &[999, 1024, -3]));
        m.add_field(Field::new_double("double", 99.9));
        m.add_field(Field::new_double("nan", f64::NAN));
        m.add_field(Field::new_bool("bool", true));
        m.add_field(Field::new_string("Payload", "name=test;type=web;"));
        m.add_field(Field::new_string("utf8", "caf\u{e9} \u{2603}"));
        m.add_field(Field::new_string("raw", &b"\xc3\x28 not utf-8"[..]));
        [m, Message::default()]
    })
}

fuzz_target!(|data: &[u8]| {
    let expr = String::from_utf8_lossy(data);
    match Matcher::parse(&expr) {
        Ok(matcher) => {
            assert_eq!(matcher.as_str(), expr, "the source text must be kept");
            assert_eq!(matcher.to_string(), expr);
            for w in matcher.warnings() {
                if let ParseWarning::BadNumber { pos, .. } = w {
                    assert!(
                        expr.is_char_boundary(*pos),
                        "warning position {pos} inside a char"
                    );
                }
                std::hint::black_box(w.to_string());
            }
            let copy = matcher.clone();
            for msg in messages() {
                let first = matcher.matches(msg);
                assert_eq!(
                    matcher.matches(msg),
                    first,
                    "matching must be deterministic"
                );
                assert_eq!(copy.matches(msg), first, "a clone must match alike");
            }
        }
        Err(e) => {
            assert!(
                expr.is_char_boundary(e.pos()),
                "error position {} outside the expression or inside a char (len {})",
                e.pos(),
                expr.len()
            );
            std::hint::black_box(e.to_string());
        }
    }
});
