//! Heka's `MessageTemplate` (pipeline/message_template.go): what a `message_fields` key sets on
//! a message, shared by PayloadRegexDecoder and ScribbleDecoder.
//!
//! `Logger`, `Type`, `Payload` and `Hostname` set the header; `Pid` takes the integer before
//! the first `.`; `Severity` must be an integer; `Uuid` takes 16 raw bytes or the 36-character
//! text form (optionally `urn:uuid:`-prefixed). Any other key, `Timestamp` and `EnvVersion`
//! included, appends a string field; `name|representation` gives it a representation.

use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::plugin::CodecError;

/// What a template entry sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Logger,
    Type,
    Payload,
    Hostname,
    Pid,
    Severity,
    Uuid,
    /// An appended string field.
    Field {
        name: Bytes,
        representation: Bytes,
    },
}

impl Target {
    /// The target of the `message_fields` key `key`.
    pub(crate) fn from_key(key: &str) -> Target {
        match key {
            "Logger" => Target::Logger,
            "Type" => Target::Type,
            "Payload" => Target::Payload,
            "Hostname" => Target::Hostname,
            "Pid" => Target::Pid,
            "Severity" => Target::Severity,
            "Uuid" => Target::Uuid,
            _ => {
                let (name, representation) = key.split_once('|').unwrap_or((key, ""));
                Target::Field {
                    name: Bytes::copy_from_slice(name.as_bytes()),
                    representation: Bytes::copy_from_slice(representation.as_bytes()),
                }
            }
        }
    }

    /// Sets the rendered value `v` on `m`. A `Pid`, `Severity` or `Uuid` that does not parse
    /// is an error (with Heka's text) and leaves `m` unchanged.
    pub(crate) fn apply(&self, m: &mut Message, v: Bytes) -> Result<(), CodecError> {
        match self {
            Target::Logger => m.logger = Some(v),
            Target::Type => m.r#type = Some(v),
            Target::Payload => m.payload = Some(v),
            Target::Hostname => m.hostname = Some(v),
            Target::Pid => {
                let int = v.split(|&c| c == b'.').next().unwrap_or(&[]);
                m.pid = Some(parse_go_int32(int).map_err(CodecError)?);
            }
            Target::Severity => m.severity = Some(parse_go_int32(&v).map_err(CodecError)?),
            Target::Uuid => {
                // Heka compat: pipeline/message_template.go's error text.
                m.uuid = parse_uuid(&v).ok_or_else(|| CodecError::new("Invalid UUID string."))?
            }
            Target::Field {
                name,
                representation,
            } => m.add_field(
                Field::new_string(name.clone(), v).with_representation(representation.clone()),
            ),
        }
        Ok(())
    }
}

/// Go's `strconv.ParseInt(s, 10, 32)`, with its error texts.
pub(crate) fn parse_go_int32(s: &[u8]) -> Result<i32, String> {
    let text = String::from_utf8_lossy(s);
    text.parse::<i32>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {text:?}: {why}")
    })
}

/// A UUID given as 16 raw bytes or as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (optionally
/// prefixed `urn:uuid:`), as Heka's message template accepts it.
pub(crate) fn parse_uuid(v: &Bytes) -> Option<Bytes> {
    if v.len() == 16 {
        return Some(v.clone());
    }
    let mut s: &[u8] = v;
    if s.len() >= 9 && s[..9].eq_ignore_ascii_case(b"urn:uuid:") {
        s = &s[9..];
    }
    if s.len() != 36 {
        return None;
    }
    let mut out = Vec::with_capacity(16);
    let mut i = 0;
    while i < 36 {
        if matches!(i, 8 | 13 | 18 | 23) {
            if s[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let hex = |c: u8| (c as char).to_digit(16);
        out.push((hex(s[i])? * 16 + hex(s[i + 1])?) as u8);
        i += 2;
    }
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    fn set(key: &str, v: &str) -> Result<Message, CodecError> {
        let mut m = Message::default();
        Target::from_key(key).apply(&mut m, Bytes::copy_from_slice(v.as_bytes()))?;
        Ok(m)
    }

    #[test]
    fn keys_select_headers_or_fields() {
        assert_eq!(set("Type", "t").unwrap().type_bytes(), b"t");
        assert_eq!(set("Logger", "l").unwrap().logger_bytes(), b"l");
        assert_eq!(set("Hostname", "h").unwrap().hostname_bytes(), b"h");
        assert_eq!(set("Payload", "p").unwrap().payload_bytes(), b"p");
        assert_eq!(set("Pid", "12.7").unwrap().pid, Some(12));
        assert_eq!(set("Severity", "-3").unwrap().severity, Some(-3));
        // Timestamp is no header here: it becomes a string field, as in Heka.
        let m = set("Timestamp", "2015").unwrap();
        assert_eq!(m.timestamp, 0);
        assert_eq!(
            m.field_value(b"Timestamp"),
            Some(Some(FieldValue::String(b"2015")))
        );
        let m = set("Payload|json", "{}").unwrap();
        assert_eq!(m.payload, None);
        let f = m.find_first_field(b"Payload").unwrap();
        assert_eq!(f.representation_bytes(), b"json");
    }

    #[test]
    fn bad_numbers_and_uuids_are_errors() {
        assert_eq!(
            set("Severity", "high").err(),
            Some(CodecError::new(
                r#"strconv.ParseInt: parsing "high": invalid syntax"#
            ))
        );
        assert_eq!(
            set("Pid", "99999999999").err(),
            Some(CodecError::new(
                r#"strconv.ParseInt: parsing "99999999999": value out of range"#
            ))
        );
        assert_eq!(
            set("Uuid", "{72de6a05-1b99-4a88-84c2-90797624c68f}").err(),
            Some(CodecError::new("Invalid UUID string."))
        );
        let m = set("Uuid", "URN:UUID:72DE6A05-1b99-4a88-84c2-90797624c68f").unwrap();
        assert_eq!(m.uuid_string(), "72de6a05-1b99-4a88-84c2-90797624c68f");
    }
}
