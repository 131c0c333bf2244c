//! RstEncoder: a reStructuredText-like dump of every header value and field, for debugging.
//!
//! ```toml
//! [LogOutput]
//! message_matcher = "TRUE"
//! encoder = "RstEncoder"
//!
//! [RstEncoder]
//! ```
//!
//! No options. Output, one line each and ending with an empty line:
//!
//! ```text
//!
//! :Timestamp: 2015-10-07 18:47:00.5 +0000 UTC
//! :Type: test.type
//! :Hostname: somehost.example.com
//! :Pid: 12345
//! :Uuid: 72de6a05-1b99-4a88-84c2-90797624c68f
//! :Logger: loggyloglog
//! :Payload: This is the payload!
//! :EnvVersion: 0.8
//! :Severity: 7
//! :Fields:
//!     | name:"intfield" type:integer value:[23,24,25] representation:"count"
//!     | name:"bool" type:bool value:false
//!
//! ```
//!
//! The timestamp is UTC in Go's `Time.String()` form; unset Pid and Severity print their
//! defaults (0 and 7). Field values: strings quoted (not escaped), bytes in standard base64,
//! doubles in Go's shortest `%g` form (`1e+06`, `345.6789`); several values as `[a,b]`. The
//! `:Fields:` line is left out when there are none.
//!
//! Differences from Heka: none.

use std::fmt::Write as _;

use heka_message::{Field, FieldValue, Message, ValueType};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Encoder};
use heka_pipeline::registry::{BuildContext, EncoderSpec};

use crate::support::gotime::{Layout, TIME_STRING_LAYOUT, Zone};

/// Renders messages as text.
#[derive(Debug)]
struct RstEncoder {
    time_layout: Layout,
    scratch: String,
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits that round-trip, in
/// exponent form when the decimal exponent is below -4 or at least 6.
fn write_go_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.unsigned_abs());
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Standard base64 with padding.
fn write_base64(out: &mut String, data: &[u8]) {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode_string(data, out);
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "string",
        ValueType::Bytes => "bytes",
        ValueType::Integer => "integer",
        ValueType::Double => "double",
        ValueType::Bool => "bool",
    }
}

fn write_value(out: &mut String, v: FieldValue<'_>) {
    match v {
        FieldValue::String(s) => {
            out.push('"');
            out.push_str(&String::from_utf8_lossy(s));
            out.push('"');
        }
        FieldValue::Bytes(b) => write_base64(out, b),
        FieldValue::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        FieldValue::Double(d) => write_go_float(out, d),
        FieldValue::Bool(b) => {
            let _ = write!(out, "{b}");
        }
    }
}

fn write_field(out: &mut String, f: &Field) {
    let _ = write!(
        out,
        "    | name:\"{}\" type:{} value:",
        String::from_utf8_lossy(&f.name),
        type_name(f.value_type())
    );
    if f.value_count() == 1 {
        if let Some(v) = f.value(0) {
            write_value(out, v);
        }
    } else {
        out.push('[');
        for (i, v) in f.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(out, v);
        }
        out.push(']');
    }
    let repr = f.representation_bytes();
    if !repr.is_empty() {
        let _ = write!(out, " representation:\"{}\"", String::from_utf8_lossy(repr));
    }
    out.push('\n');
}

impl RstEncoder {
    fn render(&mut self, m: &Message, out: &mut Vec<u8>) {
        let s = &mut self.scratch;
        s.clear();
        s.push_str("\n:Timestamp: ");
        self.time_layout.format(m.timestamp, &Zone::Utc, s);
        out.extend_from_slice(s.as_bytes());
        // Header strings are written as raw bytes: Heka does not validate UTF-8.
        let mut attr = |name: &str, value: &[u8]| {
            out.extend_from_slice(b"\n:");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
        };
        attr("Type", m.type_bytes());
        attr("Hostname", m.hostname_bytes());
        attr("Pid", m.pid_or_default().to_string().as_bytes());
        attr("Uuid", m.uuid_string().as_bytes());
        attr("Logger", m.logger_bytes());
        attr("Payload", m.payload_bytes());
        attr("EnvVersion", m.env_version_bytes());
        attr("Severity", m.severity_or_default().to_string().as_bytes());
        out.push(b'\n');
        if !m.fields.is_empty() {
            s.clear();
            s.push_str(":Fields:\n");
            for f in &m.fields {
                write_field(s, f);
            }
            out.extend_from_slice(s.as_bytes());
        }
        out.push(b'\n');
    }
}

impl Encoder for RstEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.render(pack.message(), out);
        Ok(())
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Encoder>, ConfigError> {
    // No options of its own; Heka accepted and ignored any.
    ctx.ignore_options();
    Ok(Box::new(RstEncoder {
        time_layout: Layout::new(TIME_STRING_LAYOUT),
        scratch: String::new(),
    }))
}

pub(super) const SPEC: EncoderSpec = EncoderSpec {
    type_name: "RstEncoder",
    summary: "Dumps every header value and field as reStructuredText, for debugging.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn encode(m: Message) -> String {
        let mut e = RstEncoder {
            time_layout: Layout::new(TIME_STRING_LAYOUT),
            scratch: String::new(),
        };
        let mut out = b"before".to_vec();
        e.encode(&Pack::new(m), &mut out).unwrap();
        assert_eq!(&out[..6], b"before", "appends");
        String::from_utf8(out.split_off(6)).unwrap()
    }

    /// Heka's plugins/rst_encoder_test.go message and expected text.
    #[test]
    fn renders_heka_test_vector() {
        let mut m = Message {
            // 1971-10-07 18:47:00 America/Chicago (CDT).
            timestamp: 55_727_220_000_000_000,
            pid: Some(12345),
            uuid: Bytes::from_static(&[
                0x72, 0xde, 0x6a, 0x05, 0x1b, 0x99, 0x4a, 0x88, 0x84, 0xc2, 0x90, 0x79, 0x76, 0x24,
                0xc6, 0x8f,
            ]),
            ..Message::default()
        };
        m.set_payload("This is the payload!");
        m.set_type("test.type");
        m.set_hostname("somehost.example.com");
        m.set_logger("loggyloglog");
        m.set_env_version("0.8");
        m.add_field(Field::new_integers("intfield", &[23, 24, 25]).with_representation("count"));
        let mut f = Field::new_string("stringfield", "hold").with_representation("foreigner");
        f.value_string
            .extend(["your", "head", "up"].map(|v| Bytes::from_static(v.as_bytes())));
        m.add_field(f);
        let mut f = Field::new_bool("bool", true);
        f.value_bool.push(false);
        m.add_field(f);
        m.add_field(Field::new_bool("bool", false).with_representation("false"));
        let mut f = Field::new_double("float", 345.6789).with_representation("kelvin");
        f.value_double.push(139_847_987_987_987.88);
        m.add_field(f);
        let mut f = Field::new_bytes("bytes", "encode me").with_representation("binary");
        f.value_bytes
            .extend(["and me", "and me too"].map(|v| Bytes::from_static(v.as_bytes())));
        m.add_field(f);

        let want = r#"
:Timestamp: 1971-10-07 23:47:00 +0000 UTC
:Type: test.type
:Hostname: somehost.example.com
:Pid: 12345
:Uuid: 72de6a05-1b99-4a88-84c2-90797624c68f
:Logger: loggyloglog
:Payload: This is the payload!
:EnvVersion: 0.8
:Severity: 7
:Fields:
    | name:"intfield" type:integer value:[23,24,25] representation:"count"
    | name:"stringfield" type:string value:["hold","your","head","up"] representation:"foreigner"
    | name:"bool" type:bool value:[true,false]
    | name:"bool" type:bool value:false representation:"false"
    | name:"float" type:double value:[345.6789,1.3984798798798788e+14] representation:"kelvin"
    | name:"bytes" type:bytes value:[ZW5jb2RlIG1l,YW5kIG1l,YW5kIG1lIHRvbw==] representation:"binary"

"#;
        assert_eq!(encode(m), want);
    }

    #[test]
    fn renders_an_empty_message_with_defaults() {
        let mut m = Message {
            timestamp: 1_444_243_620_500_000_000,
            uuid: Bytes::from_static(b"short"),
            ..Message::default()
        };
        let want = "\n:Timestamp: 2015-10-07 18:47:00.5 +0000 UTC\n:Type: \n:Hostname: \n\
                    :Pid: 0\n:Uuid: \n:Logger: \n:Payload: \n:EnvVersion: \n:Severity: 7\n\n";
        assert_eq!(encode(m.clone()), want);
        // A field without values renders as an empty list.
        m.add_field(Field {
            name: Bytes::from_static(b"none"),
            value_type: Some(ValueType::Integer as i32),
            ..Field::default()
        });
        assert!(
            encode(m)
                .ends_with(":Severity: 7\n:Fields:\n    | name:\"none\" type:integer value:[]\n\n")
        );
    }

    #[test]
    fn formats_doubles_like_go() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (123_456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (123_456_789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-300, "-2.5e-300"),
            (1.5e300, "1.5e+300"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            write_go_float(&mut s, *v);
            assert_eq!(s, *want, "{v}");
        }
    }

    #[test]
    fn base64_padding() {
        for (data, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\xfd", "//79"),
        ] {
            let mut s = String::new();
            write_base64(&mut s, data);
            assert_eq!(s, want);
        }
    }
}
