//! ScribbleDecoder: sets fixed header and field values on every message.
//!
//! ```toml
//! [mark_access]
//! type = "ScribbleDecoder"
//!
//! [mark_access.message_fields]
//! Type = "nginx.access"
//! Severity = "6"
//! "Env|tag" = "production"
//! ```
//!
//! Options:
//! - `message_fields`: `name = "value"`, applied to every message as they are written — there
//!   is no `%capture%` interpolation (a `%x%` stays as it is). `Type`, `Logger`, `Hostname`,
//!   `Payload`, `Pid` (the integer before any `.`), `Severity` (an integer) and `Uuid` (16 raw
//!   bytes or the 36-character text form) set the header; any other key, `Timestamp` included,
//!   appends a string field, `name|representation` with a representation.
//!
//! Usually the last sub of a MultiDecoder with `cascade_strategy = "all"`, to tag what an
//! earlier sub decoded.
//!
//! Differences from Heka:
//! - A `Pid`, `Severity` or `Uuid` value that does not parse is a config error; Heka failed the
//!   decode of every message instead.
//! - `message_fields` entries are applied in key order (Heka: random order).

use std::collections::BTreeMap;

use bytes::Bytes;
use heka_message::Message;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use serde::Deserialize;

use crate::support::template::Target;

/// ScribbleDecoder options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ScribbleDecoderConfig {
    /// What to set: template key to value.
    message_fields: BTreeMap<String, String>,
}

/// Writes its fixed values into every message.
#[derive(Debug)]
struct ScribbleDecoder {
    entries: Vec<(Target, Bytes)>,
}

impl ScribbleDecoder {
    fn scribble(&self, m: &mut Message) -> Result<(), CodecError> {
        for (target, value) in &self.entries {
            target.apply(m, value.clone())?;
        }
        Ok(())
    }
}

impl Decoder for ScribbleDecoder {
    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        self.scribble(pack.message_mut())?;
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: ScribbleDecoderConfig = ctx.options.parse()?;
    let d = ScribbleDecoder {
        entries: c
            .message_fields
            .into_iter()
            .map(|(k, v)| (Target::from_key(&k), Bytes::from(v)))
            .collect(),
    };
    // The values are fixed: one that does not parse would fail every message.
    d.scribble(&mut Message::default())
        .map_err(|e| ctx.error(Some("message_fields"), e))?;
    Ok(Box::new(d))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "ScribbleDecoder",
    summary: "Sets fixed header and field values on every message.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    fn build_from(options: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        crate::support::testing::build(SPEC.build, "d", "ScribbleDecoder", options)
    }

    fn pack(payload: &str) -> Pack {
        let mut m = Message::new_now();
        m.set_payload(payload.to_string());
        m.set_type("before");
        m.add_field(heka_message::Field::new_string("kept", "yes"));
        let mut p = Pack::new(m);
        p.ensure_encoded();
        p
    }

    #[test]
    fn sets_basic_values() {
        // Heka's scribble_decoder_test.go case.
        let mut d =
            build_from("[d.message_fields]\nType = 'myType'\nPayload = 'myPayload'").unwrap();
        let mut p = pack("original");
        let mut extra = Vec::new();
        assert_eq!(d.decode(&mut p, &mut extra), Ok(Decoded::Keep));
        assert!(extra.is_empty());
        assert!(p.raw().is_none(), "the old encoding is dropped");
        let m = p.message();
        assert_eq!(m.type_bytes(), b"myType");
        assert_eq!(m.payload_bytes(), b"myPayload");
        assert_eq!(m.fields.len(), 1, "existing fields are kept");
    }

    #[test]
    fn headers_fields_and_no_interpolation() {
        let mut d = build_from(
            r#"[d.message_fields]
Hostname = "web-%Host%"
Logger = "scribbled"
Pid = "42.9"
Severity = "3"
Uuid = "72de6a05-1b99-4a88-84c2-90797624c68f"
Timestamp = "2015-01-01"
"Env|tag" = "prod"
"#,
        )
        .unwrap();
        let mut p = pack("x");
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        let m = p.message();
        assert_eq!(m.hostname_bytes(), b"web-%Host%");
        assert_eq!(m.logger_bytes(), b"scribbled");
        assert_eq!(m.pid, Some(42));
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.uuid_string(), "72de6a05-1b99-4a88-84c2-90797624c68f");
        assert_ne!(m.timestamp, 0, "Timestamp is a field, not the header");
        assert_eq!(
            m.field_value(b"Timestamp"),
            Some(Some(FieldValue::String(b"2015-01-01")))
        );
        let env = m.find_first_field(b"Env").unwrap();
        assert_eq!(env.representation_bytes(), b"tag");
        assert_eq!(env.value(0), Some(FieldValue::String(b"prod")));
        // Fields are appended on every decode, never replaced.
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        assert_eq!(p.message().fields.len(), 5);
    }

    #[test]
    fn nothing_to_set_changes_nothing() {
        let mut d = build_from("").unwrap();
        let mut p = pack("x");
        let before = p.message().clone();
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        assert_eq!(p.message(), &before);
    }

    #[test]
    fn config_errors() {
        for bad in [
            "Severity = 'high'",
            "Pid = 'x'",
            "Uuid = 'not-a-uuid'",
            "Type = 3",
        ] {
            let e = build_from(&format!("[d.message_fields]\n{bad}"));
            assert!(e.is_err(), "{bad} accepted");
        }
        let e = build_from("[d.message_fields]\nSeverity = 'high'")
            .err()
            .unwrap();
        assert!(e.to_string().contains("invalid syntax"), "{e}");
        assert!(build_from("fields = 1").is_err());
    }
}
