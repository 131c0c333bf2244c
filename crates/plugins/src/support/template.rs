//! Heka's `MessageTemplate` (pipeline/message_template.go): what a `message_fields` key sets on
//! a message, shared by PayloadRegexDecoder, PayloadXmlDecoder and ScribbleDecoder; its `%word%`
//! interpolation (Heka's `InterpolateString`) also serves StatFilter's metric templates.
//!
//! `Logger`, `Type`, `Payload` and `Hostname` set the header; `Pid` takes the integer before
//! the first `.`; `Severity` must be an integer; `Uuid` takes 16 raw bytes or the 36-character
//! text form (optionally `urn:uuid:`-prefixed). Any other key, `Timestamp` and `EnvVersion`
//! included, appends a string field; `name|representation` gives it a representation.
//!
//! [`MessageTemplate`] compiles a whole `message_fields` table against the decoder's capture
//! names once, at config load: `%word%` becomes a reference to the capture (by the decoder's
//! own index), so decoding looks nothing up by name.

use std::collections::{BTreeMap, HashMap};

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

/// One part of a template value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text.
    Text(Bytes),
    /// The capture with this (decoder-defined) index; `absent` (`<name>`) is rendered when the
    /// decoder has no value for it.
    Capture { index: usize, absent: Bytes },
}

/// Compiles a template value: `%word%` (word = ASCII letters, digits, `_`) refers to the
/// capture of that name in `captures`; a name that is not a capture renders as `<word>`.
pub(crate) fn compile_value(value: &str, captures: &HashMap<String, usize>) -> Vec<Piece> {
    compile_value_with(value, |name| captures.get(name).copied())
}

/// Compiles a template value as [`compile_value`] does, asking `resolve` for the index of each
/// `%word%` name; a name it has no index for (`None`) renders as `<word>`. StatFilter, whose
/// variables are message headers and fields, gives every name an index.
pub(crate) fn compile_value_with(
    value: &str,
    mut resolve: impl FnMut(&str) -> Option<usize>,
) -> Vec<Piece> {
    let b = value.as_bytes();
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let word = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if word > 0 && b.get(i + 1 + word) == Some(&b'%') {
                let name = &value[i + 1..i + 1 + word];
                let absent = format!("<{name}>");
                match resolve(name) {
                    Some(index) => {
                        if !text.is_empty() {
                            pieces.push(Piece::Text(Bytes::from(std::mem::take(&mut text))));
                        }
                        pieces.push(Piece::Capture {
                            index,
                            absent: Bytes::from(absent),
                        });
                    }
                    None => text.extend_from_slice(absent.as_bytes()),
                }
                i += word + 2;
                continue;
            }
        }
        text.push(b[i]);
        i += 1;
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(Bytes::from(text)));
    }
    pieces
}

/// A value rendered from `pieces`, taking each capture from `capture` (`None`: absent).
pub(crate) fn render(pieces: &[Piece], capture: impl Fn(usize) -> Option<Bytes>) -> Bytes {
    let one = |index: usize, absent: &Bytes| capture(index).unwrap_or_else(|| absent.clone());
    match pieces {
        [Piece::Text(t)] => t.clone(),
        [Piece::Capture { index, absent }] => one(*index, absent),
        _ => {
            let mut out = Vec::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => out.extend_from_slice(t),
                    Piece::Capture { index, absent } => out.extend_from_slice(&one(*index, absent)),
                }
            }
            Bytes::from(out)
        }
    }
}

/// A `message_fields` table compiled against a decoder's capture names.
#[derive(Debug, Clone, Default)]
pub(crate) struct MessageTemplate {
    entries: Vec<(Target, Vec<Piece>)>,
}

impl MessageTemplate {
    /// Compiles `fields` (applied in key order; Heka's map order was random) against
    /// `captures`, the capture names with the indexes the decoder will render them by.
    pub(crate) fn compile(
        fields: &BTreeMap<String, String>,
        captures: &HashMap<String, usize>,
    ) -> MessageTemplate {
        MessageTemplate {
            entries: fields
                .iter()
                .map(|(k, v)| (Target::from_key(k), compile_value(v, captures)))
                .collect(),
        }
    }

    /// Sets every entry on `m`, taking captures from `capture`. The first entry that does not
    /// apply (a bad `Pid`, `Severity` or `Uuid`) stops there with its error; the entries before
    /// it have been applied, as in Heka.
    pub(crate) fn apply(
        &self,
        m: &mut Message,
        capture: impl Fn(usize) -> Option<Bytes>,
    ) -> Result<(), CodecError> {
        for (target, value) in &self.entries {
            target.apply(m, render(value, &capture))?;
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
    fn template_compilation() {
        let captures = HashMap::from([("a".to_string(), 1), ("1".to_string(), 2)]);
        let absent = |name: &'static str| Bytes::from_static(name.as_bytes());
        assert_eq!(
            compile_value("%a%-%1%%b%%", &captures),
            vec![
                Piece::Capture {
                    index: 1,
                    absent: absent("<a>")
                },
                Piece::Text(Bytes::from_static(b"-")),
                Piece::Capture {
                    index: 2,
                    absent: absent("<1>")
                },
                Piece::Text(Bytes::from_static(b"<b>%")),
            ]
        );
        assert_eq!(
            compile_value("100% %", &captures),
            vec![Piece::Text(Bytes::from_static(b"100% %"))]
        );
        assert_eq!(
            compile_value("", &captures),
            vec![Piece::Text(Bytes::new())]
        );
        // An absent capture renders as its name in angle brackets.
        let pieces = compile_value("[%a%|%1%]", &captures);
        let got = render(&pieces, |i| (i == 2).then(|| Bytes::from_static(b"two")));
        assert_eq!(got, Bytes::from_static(b"[<a>|two]"));
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
