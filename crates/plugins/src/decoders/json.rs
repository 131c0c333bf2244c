//! JsonDecoder: turns a JSON payload into message headers and fields, as Heka's Lua decoder
//! `json.lua` did.
//!
//! Heka had no native JSON decoder, only `lua_decoders/json.lua` run by a SandboxDecoder. This
//! decoder makes the same messages from the same settings, which stay in the `config` table
//! under the same names, so a Heka section moves over by changing its `type` and dropping its
//! `filename`:
//!
//! ```toml
//! [ArtemisJson]
//! type = "JsonDecoder"
//!
//! [ArtemisJson.config]
//! type = "artemis"
//! payload_keep = true
//! map_fields = true
//! Severity = "severity"
//! Hostname = "host"
//! Timestamp = "time"
//! timestamp_format = "%Y-%m-%dT%H:%M:%S"
//! maximum_depth = 2
//! separator = "."
//! ```
//!
//! Options (all in `config`; names are case-sensitive, as json.lua's `read_config` keys were):
//! - `type` (default `"json"`): the message Type.
//! - `payload_keep` (default false): keep the JSON text as the Payload (else there is none).
//! - `map_fields` (default false): take headers from the JSON object's top-level keys named by
//!   `Payload`, `Uuid`, `Type`, `Logger`, `Hostname` (string values) and `Severity`,
//!   `EnvVersion`, `Pid` (number values). A key taken for a header is not made a field. When
//!   the key is missing or its value has the other type, the header is unset: `Payload` and
//!   `EnvVersion` are then empty (a configured `Payload` overrides `payload_keep`), `Type`,
//!   `Logger`, `Hostname`, `Severity` and `Pid` keep the value the message had before decoding
//!   (not `type`). `Uuid` takes the 36-character text form or 16 raw bytes.
//! - `Timestamp`: the top-level key holding the Timestamp (read even without `map_fields`);
//!   it is never made a field. Without `timestamp_format` the value is nanoseconds since the
//!   epoch (a number or a numeric string; anything else leaves the timestamp alone).
//! - `timestamp_format`: a strftime format as lua_sandbox's `date_time` module reads it
//!   (`%Y %m %d %H %M %S %y %b %B %e %I %p %z %Z %s %F %T %D %c`…, matching the start of the
//!   value; a missing hour is noon). It must give a date. A value it does not match fails the
//!   decode with `Failed to decode timestamp.`
//! - `tz`: IANA zone of `timestamp_format` times that carry no offset (`%z`, `%Z`); default
//!   UTC. (SandboxDecoder's `tz`, narrowed: see below.)
//! - `maximum_depth`: an object or array `maximum_depth` or more levels down (a top-level
//!   key's value is level 1) becomes one string field holding its JSON text.
//! - `separator` (default `"."`): joins the keys of nested values into field names.
//!
//! Every other key becomes a field: nested objects are flattened (`{"a":{"b":1}}` → `a.b`),
//! arrays take 1-based indexes (`a.1`, `a.2`), numbers are doubles, `true`/`false` bools,
//! strings strings, `null`s are dropped. Fields come in the order of the JSON text. The
//! message keeps its UUID, Timestamp, Logger, Hostname, Severity and Pid unless a setting
//! above gives them; its Payload (without `payload_keep`), EnvVersion and earlier fields are
//! gone, as json.lua's `inject_message` replaced the message. A payload that is not JSON
//! fails with `Failed to decode JSON.`, one that is a JSON scalar with `Failed to flatten
//! message.`, each as `Failed parsing: <reason> payload: <payload>`, SandboxDecoder's text.
//!
//! Differences from Heka's json.lua (see docs/differences.md):
//! - Field order is the JSON text's (Lua's table order was unspecified), and a key that
//!   appears twice gives one field, at its first place, with the last value.
//! - `maximum_depth` counts nesting levels. json.lua counted the separators in the flattened
//!   key, as a Lua pattern: the default `.` matched every character (so nesting stopped
//!   according to the keys' lengths), and keys containing the separator counted extra levels.
//! - A nested value made a string is JSON as written (`/` unescaped, numbers as given, `[]`
//!   stays `[]`); cjson wrote `\/`, 14 significant digits and `{}` for empty arrays.
//! - Timestamps: integers are exact (json.lua's doubles lost everything under ~256 ns), a
//!   message without one keeps the timestamp it had (json.lua: the decode time in whole
//!   seconds, or with `map_fields` off the previous message's timestamp); `tz` applies only
//!   to times read with `timestamp_format` that carry no offset (SandboxDecoder re-read every
//!   injected timestamp as a wall clock in `tz`).
//! - A `Uuid` value in text form is used (json.lua's `inject_message` took only 16 raw bytes
//!   and made a random one otherwise); with no usable `Uuid` the message keeps its UUID.
//! - A top-level array gives fields `1`, `2`… (json.lua failed unless every element was an
//!   object or array). JSON nested more than 128 levels fails to decode (cjson: 1000).
//!   Invalid UTF-8 in the payload is replaced by U+FFFD (cjson kept the bytes).
//! - Where json.lua stopped hekad with a Lua error (a `timestamp_format` without a date, a
//!   Timestamp value that is an object), the config is refused or the decode fails.
//! - Two header settings naming the same key: the first of `Payload`, `Uuid`, `Type`,
//!   `Logger`, `Hostname`, `Severity`, `EnvVersion`, `Pid` takes it (json.lua: random).

use std::collections::HashMap;

use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::support::gotime::{StrftimeGrammar, Zone};
use crate::support::template::parse_uuid;

/// JsonDecoder options: json.lua's settings, in a `config` table as SandboxDecoder had them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct JsonDecoderConfig {
    config: JsonSettings,
}

/// json.lua's `read_config` keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct JsonSettings {
    /// The message Type.
    #[serde(rename = "type")]
    message_type: Option<String>,
    /// Keep the JSON text as the Payload.
    payload_keep: bool,
    /// Take headers from top-level keys.
    map_fields: bool,
    #[serde(rename = "Payload")]
    payload: Option<String>,
    #[serde(rename = "Uuid")]
    uuid: Option<String>,
    #[serde(rename = "Type")]
    type_key: Option<String>,
    #[serde(rename = "Logger")]
    logger: Option<String>,
    #[serde(rename = "Hostname")]
    hostname: Option<String>,
    #[serde(rename = "Severity")]
    severity: Option<String>,
    #[serde(rename = "EnvVersion")]
    env_version: Option<String>,
    #[serde(rename = "Pid")]
    pid: Option<String>,
    #[serde(rename = "Timestamp")]
    timestamp: Option<String>,
    /// strftime format of the Timestamp value.
    timestamp_format: Option<String>,
    /// Zone of Timestamp values read with `timestamp_format` that carry no offset.
    tz: Option<String>,
    /// Levels below which objects and arrays become JSON text.
    maximum_depth: Option<i64>,
    /// Joins nested keys.
    separator: Option<String>,
}

/// A header `map_fields` can take from a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    Payload,
    Uuid,
    Type,
    Logger,
    Hostname,
    Severity,
    EnvVersion,
    Pid,
}

impl Header {
    /// Whether a value can set the header: a string for the text headers, a number for the
    /// numeric ones (json.lua's `field_type_map`).
    fn accepts(self, v: &Json) -> bool {
        match self {
            Header::Payload | Header::Uuid | Header::Type | Header::Logger | Header::Hostname => {
                matches!(v, Json::Str(_))
            }
            Header::Severity | Header::EnvVersion | Header::Pid => v.is_number(),
        }
    }
}

/// A JSON value, objects in the order of the text.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    /// Keys are unique (a repeated key keeps its first place and its last value).
    Object(Vec<(String, Json)>),
}

impl Json {
    fn is_number(&self) -> bool {
        matches!(self, Json::Int(_) | Json::UInt(_) | Json::Float(_))
    }

    /// The number as Lua held it: a double.
    fn as_f64(&self) -> Option<f64> {
        match *self {
            Json::Int(i) => Some(i as f64),
            Json::UInt(u) => Some(u as f64),
            Json::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The number cast to an integer as lua_sandbox cast it for a varint header (truncated;
    /// an integer beyond the `i64` range wraps, as its two's complement went on the wire).
    fn as_i64(&self) -> Option<i64> {
        match *self {
            Json::Int(i) => Some(i),
            Json::UInt(u) => Some(u as i64),
            Json::Float(f) => Some(f as i64),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Json::Int(i),
            Err(_) => Json::UInt(v),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries: Vec<(String, Json)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            entries.push((k, v));
        }
        dedupe(&mut entries);
        Ok(Json::Object(entries))
    }
}

/// A key repeated in an object keeps its first place and takes its last value, as assigning
/// to a Lua table keeps one entry.
fn dedupe(entries: &mut Vec<(String, Json)>) {
    let mut moves = Vec::new();
    if entries.len() <= 16 {
        for i in 1..entries.len() {
            if let Some(j) = entries[..i].iter().position(|(k, _)| *k == entries[i].0) {
                moves.push((i, j));
            }
        }
    } else {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
        for (i, (k, _)) in entries.iter().enumerate() {
            if let Some(&j) = first.get(k.as_str()) {
                moves.push((i, j));
            } else {
                first.insert(k, i);
            }
        }
    }
    if moves.is_empty() {
        return;
    }
    for &(i, j) in &moves {
        entries[j].1 = std::mem::replace(&mut entries[i].1, Json::Null);
    }
    let mut i = 0;
    let mut dup = moves.iter().map(|m| m.0).peekable();
    entries.retain(|_| {
        let keep = dup.peek() != Some(&i);
        if !keep {
            dup.next();
        }
        i += 1;
        keep
    });
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Int(i) => s.serialize_i64(*i),
            Json::UInt(u) => s.serialize_u64(*u),
            Json::Float(f) => s.serialize_f64(*f),
            Json::Str(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Parses a payload; invalid UTF-8 is replaced by U+FFFD first.
fn parse_json(payload: &[u8]) -> Option<Json> {
    match std::str::from_utf8(payload) {
        Ok(s) => serde_json::from_str(s).ok(),
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(payload)).ok(),
    }
}

/// A number as Lua 5.1 turns it into a string (`%.14g`).
fn lua_number(v: f64) -> String {
    if !v.is_finite() {
        return match (v.is_nan(), v < 0.0) {
            (true, _) => "nan".into(),
            (false, true) => "-inf".into(),
            (false, false) => "inf".into(),
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    const PRECISION: i32 = 14;
    let e = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..PRECISION).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        trim(&format!("{:.*}", (PRECISION - 1 - exp) as usize, v))
    }
}

/// Lua's `tonumber` of a string, as lua_sandbox read a numeric-string Timestamp: the number
/// cast to an integer; `None` when the text is no number.
fn numeric_string(s: &str) -> Option<i64> {
    let s = s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if let Ok(i) = s.parse::<i64>() {
        return Some(i);
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f as i64)
}

/// Decodes JSON payloads.
struct JsonDecoder {
    message_type: Bytes,
    payload_keep: bool,
    map_fields: bool,
    /// The configured header keys, in the order they take keys.
    mappings: Vec<(Header, String)>,
    timestamp_key: Option<String>,
    timestamp_format: Option<StrftimeGrammar>,
    tz: Zone,
    maximum_depth: Option<i64>,
    separator: String,
    /// Field name → position in the message being made (reused).
    index: HashMap<Bytes, usize>,
    /// The field name being built (reused).
    key: String,
}

/// Why a decode failed (json.lua's `return -1, "…"` texts).
const NOT_JSON: &str = "Failed to decode JSON.";
const BAD_TIMESTAMP: &str = "Failed to decode timestamp.";
const NOT_FLAT: &str = "Failed to flatten message.";

/// Removes the entry `key` from `entries` if `take` accepts its value; the value.
fn take_entry(
    entries: &mut Vec<(String, Json)>,
    key: &str,
    take: impl Fn(&Json) -> bool,
) -> Option<Json> {
    let i = entries.iter().position(|(k, v)| k == key && take(v))?;
    Some(entries.remove(i).1)
}

impl JsonDecoder {
    /// The Timestamp a value gives: `Ok(None)` to leave the timestamp alone.
    fn timestamp(&self, v: &Json) -> Result<Option<i64>, ()> {
        let Some(grammar) = &self.timestamp_format else {
            return Ok(match v {
                Json::Str(s) => numeric_string(s),
                v => v.as_i64(),
            });
        };
        let text = match v {
            Json::Str(s) => s.clone(),
            // Heka compat: LPeg matched a number as Lua's string of it.
            v if v.is_number() => lua_number(v.as_f64().unwrap_or_default()),
            Json::Null | Json::Bool(false) => return Ok(None),
            _ => return Err(()),
        };
        grammar
            .parse(text.as_bytes())
            .and_then(|t| t.to_unix_nanos(&self.tz))
            .map(Some)
            .ok_or(())
    }

    /// Adds the fields of `entries`, whose keys follow `self.key` (of `level` parts) joined by
    /// the separator.
    fn flatten(&mut self, m: &mut Message, entries: Vec<(String, Json)>, level: i64) {
        for (k, v) in entries {
            let len = self.key.len();
            if level > 0 {
                self.key.push_str(&self.separator);
            }
            self.key.push_str(&k);
            self.value(m, v, level + 1);
            self.key.truncate(len);
        }
    }

    /// Adds the field(s) of the value `v` at `self.key`, `level` parts down.
    fn value(&mut self, m: &mut Message, v: Json, level: i64) {
        let field = match v {
            Json::Object(_) | Json::Array(_) if self.maximum_depth.is_some_and(|d| level >= d) => {
                let text = serde_json::to_vec(&v).unwrap_or_default();
                Field::new_string(self.name(), text)
            }
            Json::Object(entries) => return self.flatten(m, entries, level),
            Json::Array(items) => return self.flatten(m, indexed(items), level),
            Json::Null => return,
            Json::Bool(b) => Field::new_bool(self.name(), b),
            Json::Str(s) => Field::new_string(self.name(), s),
            n => Field::new_double(self.name(), n.as_f64().unwrap_or_default()),
        };
        // A name made twice (`{"a.b":1,"a":{"b":2}}`) is one field with the last value, as
        // json.lua's table of fields held it.
        match self.index.get(&field.name) {
            Some(&i) => m.fields[i] = field,
            None => {
                self.index.insert(field.name.clone(), m.fields.len());
                m.fields.push(field);
            }
        }
    }

    fn name(&self) -> Bytes {
        Bytes::copy_from_slice(self.key.as_bytes())
    }
}

/// An array's elements keyed by their 1-based index, as Lua holds them.
fn indexed(items: Vec<Json>) -> Vec<(String, Json)> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| ((i + 1).to_string(), v))
        .collect()
}

impl Decoder for JsonDecoder {
    /// Each line is decoded on its own (the decoder's buffers are scratch space).
    fn parallel_safe(&self) -> bool {
        true
    }

    fn decode(&mut self, pack: &mut Pack, _extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        let orig = pack.message();
        // Heka compat: sandbox/plugins/sandbox_decoder.go's error text.
        let fail = |why: &str| {
            CodecError(format!(
                "Failed parsing: {why} payload: {}",
                String::from_utf8_lossy(orig.payload_bytes())
            ))
        };
        let (mut entries, object) = match parse_json(orig.payload_bytes()) {
            Some(Json::Object(entries)) => (entries, true),
            Some(Json::Array(items)) => (indexed(items), false),
            Some(_) => return Err(fail(NOT_FLAT)),
            None => return Err(fail(NOT_JSON)),
        };
        // The message json.lua injected: its table's headers, the rest back-filled from the
        // message being decoded as SandboxDecoder did; the earlier fields are gone.
        let mut m = Message {
            uuid: orig.uuid.clone(),
            timestamp: orig.timestamp,
            r#type: Some(self.message_type.clone()),
            logger: orig.logger.clone(),
            severity: orig.severity,
            payload: None,
            env_version: None,
            pid: orig.pid,
            hostname: orig.hostname.clone(),
            fields: Vec::new(),
        };
        if self.payload_keep {
            m.payload = Some(orig.payload.clone().unwrap_or_default());
        }
        if self.map_fields {
            for (header, key) in &self.mappings {
                // Array elements are no string keys: a mapping finds nothing in an array.
                let v = if object {
                    take_entry(&mut entries, key, |v| header.accepts(v))
                } else {
                    None
                };
                match (header, v) {
                    (Header::Payload, Some(Json::Str(s))) => m.payload = Some(Bytes::from(s)),
                    (Header::Payload, _) => m.payload = None,
                    (Header::Uuid, Some(Json::Str(s))) => {
                        if let Some(u) = parse_uuid(&Bytes::from(s)) {
                            m.uuid = u;
                        }
                    }
                    (Header::Type, Some(Json::Str(s))) => m.r#type = Some(Bytes::from(s)),
                    (Header::Type, _) => m.r#type = orig.r#type.clone(),
                    (Header::Logger, Some(Json::Str(s))) => m.logger = Some(Bytes::from(s)),
                    (Header::Hostname, Some(Json::Str(s))) => m.hostname = Some(Bytes::from(s)),
                    (Header::Severity, Some(n)) => m.severity = n.as_i64().map(|v| v as i32),
                    (Header::Pid, Some(n)) => m.pid = n.as_i64().map(|v| v as i32),
                    (Header::EnvVersion, Some(n)) => {
                        m.env_version = Some(Bytes::from(match n {
                            Json::Float(f) => lua_number(f),
                            n => serde_json::to_string(&n).unwrap_or_default(),
                        }));
                    }
                    // Logger, Hostname, Severity, Pid unset: back-filled (kept as they were);
                    // EnvVersion unset: none; Uuid unset: the message's own.
                    _ => {}
                }
            }
        }
        if let Some(key) = &self.timestamp_key {
            let v = if object {
                take_entry(&mut entries, key, |_| true)
            } else {
                None
            };
            if let Some(v) = v {
                match self.timestamp(&v) {
                    Ok(Some(ts)) => m.timestamp = ts,
                    Ok(None) => {}
                    Err(()) => return Err(fail(BAD_TIMESTAMP)),
                }
            }
        }
        self.index.clear();
        self.key.clear();
        self.flatten(&mut m, entries, 0);
        pack.set_message(m);
        Ok(Decoded::Keep)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let c: JsonDecoderConfig = ctx.options.parse()?;
    let c = c.config;
    let timestamp_format = match &c.timestamp_format {
        None => None,
        Some(f) => {
            let g = StrftimeGrammar::new(f)
                .map_err(|e| ctx.error(Some("config"), format!("timestamp_format: {e}")))?;
            if !g.gives_date() {
                return Err(ctx.error(
                    Some("config"),
                    format!(
                        "timestamp_format '{f}' must give a date (%Y or %y, a month and a day, \
                         or %s)"
                    ),
                ));
            }
            Some(g)
        }
    };
    let tz = Zone::load(c.tz.as_deref().unwrap_or_default()).map_err(|e| {
        ctx.error(
            Some("config"),
            format!("unknown tz '{}': {e}", c.tz.as_deref().unwrap_or_default()),
        )
    })?;
    let mappings = [
        (Header::Payload, c.payload),
        (Header::Uuid, c.uuid),
        (Header::Type, c.type_key),
        (Header::Logger, c.logger),
        (Header::Hostname, c.hostname),
        (Header::Severity, c.severity),
        (Header::EnvVersion, c.env_version),
        (Header::Pid, c.pid),
    ]
    .into_iter()
    .filter_map(|(h, key)| key.map(|k| (h, k)))
    .collect();
    Ok(Box::new(JsonDecoder {
        message_type: Bytes::from(c.message_type.unwrap_or_else(|| "json".to_string())),
        payload_keep: c.payload_keep,
        map_fields: c.map_fields,
        mappings,
        timestamp_key: c.timestamp,
        timestamp_format,
        tz,
        maximum_depth: c.maximum_depth,
        separator: c.separator.unwrap_or_else(|| ".".to_string()),
        index: HashMap::new(),
        key: String::new(),
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "JsonDecoder",
    summary: "Turns a JSON payload into message headers and fields, as Heka's json.lua did.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    fn build_from(config: &str) -> Result<Box<dyn Decoder>, ConfigError> {
        crate::support::testing::build(
            SPEC.build,
            "d",
            "JsonDecoder",
            &format!("[d.config]\n{config}"),
        )
    }

    const BEFORE: i64 = 12_345;

    /// A message as a text input makes it, with headers and a field of its own.
    fn input(payload: &[u8]) -> Message {
        let mut m = Message::new_now();
        m.timestamp = BEFORE;
        m.set_payload(payload.to_vec());
        m.set_logger("input");
        m.set_type("in.type");
        m.set_hostname("in.host");
        m.severity = Some(6);
        m.pid = Some(99);
        m.set_env_version("0.8");
        m.add_field(Field::new_string("old", "field"));
        m
    }

    fn decode(d: &mut dyn Decoder, payload: &str) -> (Result<Decoded, CodecError>, Message) {
        let orig = input(payload.as_bytes());
        let mut p = Pack::new(orig.clone());
        p.ensure_encoded();
        let r = d.decode(&mut p, &mut Vec::new());
        let m = p.into_message();
        if r.is_err() {
            assert_eq!(m, orig, "a failed decode changes nothing");
        }
        (r, m)
    }

    /// Every field as `name=value`, in order.
    fn fields(m: &Message) -> Vec<String> {
        m.fields
            .iter()
            .map(|f| {
                let v = match f.value(0) {
                    Some(FieldValue::String(s)) => format!("{:?}", String::from_utf8_lossy(s)),
                    Some(FieldValue::Double(d)) => format!("{d:?}"),
                    Some(FieldValue::Bool(b)) => b.to_string(),
                    other => format!("{other:?}"),
                };
                format!("{}={v}", String::from_utf8_lossy(&f.name))
            })
            .collect()
    }

    /// Heka's sandbox_decoders_test.go, "JSON decoder": its config and both payloads.
    const HEKA_CONFIG: &str = r#"
map_fields = true
Severity = "severity"
Hostname = "hostname"
Timestamp = "time"
maximum_depth = 2
separator = "-"
"#;

    #[test]
    fn heka_decodes_a_message_with_timestamp_format() {
        let mut d = build_from(&format!(
            "{HEKA_CONFIG}timestamp_format = \"%m/%d/%Y %H:%M:%S\""
        ))
        .unwrap();
        let (r, m) = decode(
            &mut *d,
            r#"{"hostname":"wyrd.local","time":"05/07/2014 15:12:24","msg":"message","severity":3,"nested1":{"field":{"nested2":"value"}}}"#,
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.hostname_bytes(), b"wyrd.local");
        assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
        assert_eq!(
            fields(&m),
            [
                r#"msg="message""#,
                r#"nested1-field="{\"nested2\":\"value\"}""#
            ]
        );
        // What inject_message left: Type from `type`, no payload, no EnvVersion, Logger and
        // Pid back-filled.
        assert_eq!(m.type_bytes(), b"json");
        assert_eq!(m.payload, None);
        assert_eq!(m.env_version, None);
        assert_eq!(m.logger_bytes(), b"input");
        assert_eq!(m.pid, Some(99));
    }

    #[test]
    fn heka_decodes_a_message_with_no_timestamp_format() {
        let mut d = build_from(HEKA_CONFIG).unwrap();
        let (r, m) = decode(
            &mut *d,
            r#"{"hostname":"wyrd.local","time":1399475544000000000,"msg":"message","severity":3,"nested1":{"field":{"nested2":"value"}}}"#,
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.hostname_bytes(), b"wyrd.local");
        assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
        assert_eq!(
            fields(&m),
            [
                r#"msg="message""#,
                r#"nested1-field="{\"nested2\":\"value\"}""#
            ]
        );
    }

    /// The example of json.lua's documentation.
    #[test]
    fn json_lua_documentation_example() {
        let mut d = build_from(
            "type = \"artemis\"\npayload_keep = true\nmap_fields = true\nSeverity = \"severity\"",
        )
        .unwrap();
        let payload = r#"{"msg":"Start Request","event":"artemis.web.ensure-running","extra":{"workspace-id":"cN907xLngi"},"time":"2015-05-06T20:40:05.509926234Z","severity":1}"#;
        let (r, m) = decode(&mut *d, payload);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.type_bytes(), b"artemis");
        assert_eq!(m.severity, Some(1));
        assert_eq!(m.payload_bytes(), payload.as_bytes());
        assert_eq!(m.timestamp, BEFORE, "no Timestamp key configured");
        assert_eq!(
            fields(&m),
            [
                r#"msg="Start Request""#,
                r#"event="artemis.web.ensure-running""#,
                r#"extra.workspace-id="cN907xLngi""#,
                r#"time="2015-05-06T20:40:05.509926234Z""#,
            ]
        );
    }

    #[test]
    fn flattening() {
        let mut d = build_from("").unwrap();
        let (r, m) = decode(
            &mut *d,
            r#"{"s":"x","n":1,"f":-2.5e3,"big":18446744073709551615,"t":true,"z":null,
                "a":[1,null,"two",[3,{"k":false}]],"o":{"p":{"q":"deep"},"e":{},"l":[]},
                "esc":"\u00e9\n\"","s":"last","a.1":"collides"}"#,
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(
            fields(&m),
            [
                r#"s="last""#,
                "n=1.0",
                "f=-2500.0",
                "big=1.8446744073709552e19",
                "t=true",
                r#"a.1="collides""#,
                r#"a.3="two""#,
                "a.4.1=3.0",
                "a.4.2.k=false",
                r#"o.p.q="deep""#,
                "esc=\"é\\n\\\"\"",
            ]
        );
        assert_eq!(m.type_bytes(), b"json");
        assert_eq!(m.payload, None, "payload_keep is off");
        assert_eq!(m.timestamp, BEFORE);
        assert_eq!(m.hostname_bytes(), b"in.host");
        assert_eq!(m.type_bytes(), b"json");
        // A top-level array: fields by index.
        let (r, m) = decode(&mut *d, r#"[{"a":1},"b"]"#);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(fields(&m), ["1.a=1.0", r#"2="b""#]);
        let (_, m) = decode(&mut *d, "{}");
        assert!(m.fields.is_empty());
    }

    #[test]
    fn maximum_depth_counts_levels() {
        let doc = r#"{"top":{"nested":1,"arr":[1,{"x":"/"}]},"flat":2,"list":[{"a":1.10}],"e":[]}"#;
        let mut d = build_from("maximum_depth = 1").unwrap();
        let (_, m) = decode(&mut *d, doc);
        assert_eq!(
            fields(&m),
            [
                r#"top="{\"nested\":1,\"arr\":[1,{\"x\":\"/\"}]}""#,
                "flat=2.0",
                r#"list="[{\"a\":1.1}]""#,
                r#"e="[]""#,
            ]
        );
        // The default separator is no pattern here: keys of any length nest the same.
        let mut d = build_from("maximum_depth = 2").unwrap();
        let (_, m) = decode(&mut *d, doc);
        assert_eq!(
            fields(&m),
            [
                "top.nested=1.0",
                r#"top.arr="[1,{\"x\":\"/\"}]""#,
                "flat=2.0",
                r#"list.1="{\"a\":1.1}""#,
            ]
        );
        let mut d = build_from("maximum_depth = 0\nseparator = \"::\"").unwrap();
        let (_, m) = decode(&mut *d, r#"{"a":{"b":1},"c":3}"#);
        assert_eq!(fields(&m), [r#"a="{\"b\":1}""#, "c=3.0"]);
        let mut d = build_from("separator = \"\"").unwrap();
        let (_, m) = decode(&mut *d, r#"{"a":{"b":1}}"#);
        assert_eq!(fields(&m), ["ab=1.0"]);
    }

    #[test]
    fn headers_from_keys() {
        let mut d = build_from(
            r#"map_fields = true
payload_keep = true
Payload = "text"
Uuid = "id"
Type = "kind"
Logger = "source"
Hostname = "host"
Severity = "level"
EnvVersion = "v"
Pid = "pid"
Timestamp = "ts"
"#,
        )
        .unwrap();
        let (r, m) = decode(
            &mut *d,
            r#"{"text":"hello","id":"72DE6A05-1b99-4a88-84c2-90797624c68f","kind":"k","source":"app",
                "host":"h1","level":3.9,"v":1.50,"pid":4711,"ts":"1399475544000000001","rest":1}"#,
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.payload_bytes(), b"hello");
        assert_eq!(m.uuid_string(), "72de6a05-1b99-4a88-84c2-90797624c68f");
        assert_eq!(m.type_bytes(), b"k");
        assert_eq!(m.logger_bytes(), b"app");
        assert_eq!(m.hostname_bytes(), b"h1");
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.env_version.as_deref(), Some(&b"1.5"[..]));
        assert_eq!(m.pid, Some(4711));
        assert_eq!(m.timestamp, 1_399_475_544_000_000_001);
        assert_eq!(fields(&m), ["rest=1.0"]);

        // Missing keys and values of the other type: Payload and EnvVersion unset, Type and the
        // others back-filled; the mismatched values stay fields. The Timestamp key is dropped
        // even when its value is no number.
        let (r, m) = decode(
            &mut *d,
            r#"{"text":1,"kind":["k"],"level":"high","v":"1","ts":"soon","id":"nope"}"#,
        );
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(
            m.payload, None,
            "a configured Payload overrides payload_keep"
        );
        assert_eq!(m.type_bytes(), b"in.type");
        assert_eq!(m.logger_bytes(), b"input");
        assert_eq!(m.hostname_bytes(), b"in.host");
        assert_eq!(m.severity, Some(6));
        assert_eq!(m.pid, Some(99));
        assert_eq!(m.env_version, None);
        assert_eq!(m.timestamp, BEFORE);
        assert_eq!(
            fields(&m),
            ["text=1.0", r#"kind.1="k""#, r#"level="high""#, r#"v="1""#]
        );
        // EnvVersion from an integer, big and negative values.
        let (_, m) = decode(
            &mut *d,
            r#"{"v":123456789012345678,"level":-1,"pid":4294967297}"#,
        );
        assert_eq!(m.env_version.as_deref(), Some(&b"123456789012345678"[..]));
        assert_eq!(m.severity, Some(-1));
        assert_eq!(m.pid, Some(1));
    }

    #[test]
    fn without_map_fields_only_the_timestamp_is_taken() {
        let mut d = build_from("Hostname = \"host\"\nTimestamp = \"ts\"\ntype = \"t\"").unwrap();
        let (_, m) = decode(&mut *d, r#"{"host":"h","ts":1.5e18}"#);
        assert_eq!(m.hostname_bytes(), b"in.host");
        assert_eq!(m.timestamp, 1_500_000_000_000_000_000);
        assert_eq!(m.type_bytes(), b"t");
        assert_eq!(fields(&m), [r#"host="h""#]);
        // No Timestamp key: the message keeps its own (json.lua reused the previous one).
        let (_, m) = decode(&mut *d, r#"{"host":"h"}"#);
        assert_eq!(m.timestamp, BEFORE);
    }

    #[test]
    fn timestamp_formats_and_zones() {
        let mut d = build_from(
            "Timestamp = \"t\"\ntimestamp_format = \"%Y-%m-%d %H:%M:%S\"\ntz = \"Europe/Paris\"",
        )
        .unwrap();
        let (r, m) = decode(&mut *d, r#"{"t":"2014-05-07 17:12:24","x":1}"#);
        assert_eq!(r, Ok(Decoded::Keep));
        assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
        for bad in [r#"{"t":"yesterday"}"#, r#"{"t":{"a":1}}"#, r#"{"t":true}"#] {
            let (r, _) = decode(&mut *d, bad);
            assert_eq!(
                r,
                Err(CodecError(format!(
                    "Failed parsing: Failed to decode timestamp. payload: {bad}"
                )))
            );
        }
        let (r, m) = decode(&mut *d, r#"{"t":null}"#);
        assert_eq!((r, m.timestamp), (Ok(Decoded::Keep), BEFORE));
        // A number is read as Lua's text of it.
        let mut d = build_from("Timestamp = \"t\"\ntimestamp_format = \"%s\"").unwrap();
        let (_, m) = decode(&mut *d, r#"{"t":1399475544}"#);
        assert_eq!(m.timestamp, 1_399_475_544_000_000_000);
    }

    #[test]
    fn failures() {
        let mut d = build_from("").unwrap();
        for (payload, why) in [
            ("not json", NOT_JSON),
            ("{\"a\":1", NOT_JSON),
            ("{} {}", NOT_JSON),
            ("", NOT_JSON),
            ("3", NOT_FLAT),
            ("\"s\"", NOT_FLAT),
            ("null", NOT_FLAT),
        ] {
            let (r, _) = decode(&mut *d, payload);
            assert_eq!(
                r,
                Err(CodecError(format!(
                    "Failed parsing: {why} payload: {payload}"
                ))),
                "{payload}"
            );
        }
        // Invalid UTF-8 is replaced, not refused.
        let mut p = Pack::new(input(b"{\"a\":\"\xff\"}"));
        assert_eq!(d.decode(&mut p, &mut Vec::new()), Ok(Decoded::Keep));
        assert_eq!(fields(p.message()), ["a=\"\u{fffd}\""]);
    }

    #[test]
    fn config_errors() {
        let err = |opts: &str| {
            build_from(opts)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("timestamp_format = \"%H:%M\"").contains("must give a date"));
        assert!(err("timestamp_format = \"%Q\"").contains("unknown strftime specifier: Q"));
        assert!(err("tz = \"Mars/Olympus\"").contains("unknown tz 'Mars/Olympus'"));
        assert!(!err("filename = \"lua_decoders/json.lua\"").is_empty());
        assert!(!err("map_fields = \"yes\"").is_empty());
        assert!(
            !crate::support::testing::build(SPEC.build, "d", "JsonDecoder", "payload_keep = true")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .is_empty(),
            "settings go in the config table"
        );
    }

    #[test]
    fn lua_numbers() {
        for (v, want) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-2.5e3, "-2500"),
            (1e14, "1e+14"),
            (99_999_999_999_999.0, "99999999999999"),
            (123_456_789_012_345.0, "1.2345678901234e+14"),
            (1e-5, "1e-05"),
            (0.000_123_4, "0.0001234"),
            (std::f64::consts::PI, "3.1415926535898"),
            (1e300, "1e+300"),
            (0.0, "0"),
        ] {
            assert_eq!(lua_number(v), want, "{v}");
        }
    }
}
