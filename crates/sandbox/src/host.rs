//! Heka's API functions and the per-call state they share (kept as the Lua state's app data).
//!
//! Each function borrows the state only between its own Lua calls, so a script that calls
//! back in (through a metamethod) cannot trip over a borrow.

use bytes::Bytes;
use heka_message::{FieldValue, Message};
use heka_pipeline::pack::Pack;
use mlua::{Lua, MultiValue, Value, Variadic};

use crate::{InjectBudget, Injection, Kind, Settings, number, proto};

/// State the API functions share.
pub(crate) struct Host {
    kind: Kind,
    output_limit: usize,
    /// The payload buffer (`add_to_payload`, `inject_payload`).
    output: Vec<u8>,
    /// The message of the current `process_message` call.
    message: Option<Pack>,
    /// `read_next_field`'s position.
    field_cursor: usize,
    injected: Vec<Injection>,
    budget: InjectBudget,
    config: toml::Table,
}

impl Host {
    pub(crate) fn new(settings: &Settings) -> Host {
        Host {
            kind: settings.kind,
            output_limit: settings.limits.output,
            output: Vec::new(),
            message: None,
            field_cursor: 0,
            injected: Vec::new(),
            budget: InjectBudget::Unlimited,
            config: settings.config.clone(),
        }
    }

    pub(crate) fn begin_call(&mut self, message: Option<Pack>, budget: InjectBudget) {
        self.message = message;
        self.field_cursor = 0;
        self.budget = budget;
        self.injected.clear();
    }

    pub(crate) fn end_call(&mut self) -> Vec<Injection> {
        self.message = None;
        std::mem::take(&mut self.injected)
    }

    /// Appends to the payload buffer within the output limit.
    fn append(&mut self, bytes: &[u8]) -> Result<(), mlua::Error> {
        if self.output_limit > 0 && self.output.len() + bytes.len() > self.output_limit - 1 {
            return Err(mlua::Error::runtime("output_limit exceeded"));
        }
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    fn inject(&mut self, what: &str, injection: Injection) -> Result<(), mlua::Error> {
        if let InjectBudget::AtMost(n) = self.budget {
            let used = self.injected.len();
            if used >= n as usize {
                return Err(mlua::Error::runtime(format!(
                    "{what}() exceeded InjectMessage count"
                )));
            }
        }
        self.injected.push(injection);
        Ok(())
    }
}

fn host(lua: &Lua) -> mlua::Result<mlua::AppDataRefMut<'_, Host>> {
    lua.app_data_mut::<Host>()
        .ok_or_else(|| mlua::Error::runtime("sandbox host state missing"))
}

/// Registers the API functions for `kind`. `output` exists under its core name while the
/// script loads; [`finish_load`] renames it.
pub(crate) fn install(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("read_config", lua.create_function(read_config)?)?;
    g.raw_set("decode_message", lua.create_function(decode_message)?)?;
    g.raw_set("encode_message", lua.create_function(encode_message)?)?;
    g.raw_set("inject_message", lua.create_function(inject_message)?)?;
    g.raw_set(
        "output",
        lua.create_function(|lua, args| add_to_payload(lua, args, "output"))?,
    )?;
    match kind {
        Kind::Decoder | Kind::Filter => {
            g.raw_set("read_message", lua.create_function(read_message)?)?;
            g.raw_set("read_next_field", lua.create_function(read_next_field)?)?;
            g.raw_set("inject_payload", lua.create_function(inject_payload)?)?;
        }
    }
    Ok(())
}

/// After the script and the preserved data were loaded: `output` becomes `add_to_payload`.
pub(crate) fn finish_load(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("output", Value::Nil)?;
    g.raw_set(
        "add_to_payload",
        lua.create_function(|lua, args| add_to_payload(lua, args, "add_to_payload"))?,
    )?;
    // Anything the top level injected is dropped, as Heka's default callback did.
    host(lua)?.end_call();
    Ok(())
}

fn read_config(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    if args.len() != 1 {
        return Err(mlua::Error::runtime(
            "read_config() must have a single argument",
        ));
    }
    let Some(key) = args
        .front()
        .and_then(|v| lua.coerce_string(v.clone()).ok().flatten())
    else {
        return Err(mlua::Error::runtime(
            "bad argument #1 to 'read_config' (string expected)",
        ));
    };
    let key = key.to_string_lossy();
    let value = host(lua)?.config.get(&key).cloned();
    Ok(match value {
        Some(toml::Value::String(s)) => Value::String(lua.create_string(s)?),
        Some(toml::Value::Integer(i)) => Value::Number(i as f64),
        Some(toml::Value::Float(f)) => Value::Number(f),
        Some(toml::Value::Boolean(b)) => Value::Boolean(b),
        _ => Value::Nil,
    })
}

fn index_arg(v: Option<&Value>, what: &str) -> mlua::Result<usize> {
    match v {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Number(n)) if *n >= 0.0 => Ok(*n as usize),
        Some(Value::Integer(n)) if *n >= 0 => Ok(*n as usize),
        Some(Value::Number(_)) | Some(Value::Integer(_)) => {
            Err(mlua::Error::runtime(format!("{what} index must be >= 0")))
        }
        Some(other) => Err(mlua::Error::runtime(format!(
            "bad argument to 'read_message' ({what} index: number expected, got {})",
            other.type_name()
        ))),
    }
}

fn read_message(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    if args.is_empty() || args.len() > 3 {
        return Err(mlua::Error::runtime(
            "read_message() incorrect number of arguments",
        ));
    }
    let name = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => {
            return Err(mlua::Error::runtime(
                "bad argument #1 to 'read_message' (string expected)",
            ));
        }
    };
    let fi = index_arg(args.get(1), "field")?;
    let ai = index_arg(args.get(2), "array")?;
    let h = host(lua)?;
    let Some(pack) = &h.message else {
        return Ok(Value::Nil);
    };
    let str_value = |b: &[u8]| -> mlua::Result<Value> { Ok(Value::String(lua.create_string(b)?)) };
    if name == b"raw" {
        let raw = match h.kind {
            Kind::Decoder => pack.record().cloned(),
            Kind::Filter => Some(Bytes::from(pack.encoded().into_owned())),
        };
        return match raw {
            Some(b) if !b.is_empty() => str_value(&b),
            _ => Ok(Value::Nil),
        };
    }
    let m = pack.message();
    match name.as_slice() {
        b"Type" => str_value(m.type_bytes()),
        b"Logger" => str_value(m.logger_bytes()),
        b"Payload" => str_value(m.payload_bytes()),
        b"EnvVersion" => str_value(m.env_version_bytes()),
        b"Hostname" => str_value(m.hostname_bytes()),
        b"Uuid" => {
            if m.uuid.len() == 16 {
                str_value(m.uuid_string().as_bytes())
            } else {
                str_value(b"")
            }
        }
        b"Timestamp" => Ok(Value::Number(m.timestamp as f64)),
        b"Severity" => Ok(m
            .severity
            .map_or(Value::Nil, |s| Value::Number(f64::from(s)))),
        b"Pid" => Ok(m.pid.map_or(Value::Nil, |s| Value::Number(f64::from(s)))),
        n if n.starts_with(b"Fields[") && n.ends_with(b"]") && n.len() >= 8 => {
            let field = &n[7..n.len() - 1];
            match m.find_field(field, fi).and_then(|f| f.value(ai)) {
                Some(v) => field_value(lua, v),
                None => Ok(Value::Nil),
            }
        }
        _ => Ok(Value::Nil),
    }
}

fn field_value(lua: &Lua, v: FieldValue<'_>) -> mlua::Result<Value> {
    Ok(match v {
        FieldValue::String(s) => Value::String(lua.create_string(s)?),
        FieldValue::Bytes([]) => Value::Nil,
        FieldValue::Bytes(b) => Value::String(lua.create_string(b)?),
        FieldValue::Integer(i) => Value::Number(i as f64),
        FieldValue::Double(d) => Value::Number(d),
        FieldValue::Bool(b) => Value::Boolean(b),
    })
}

fn read_next_field(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    if !args.is_empty() {
        return Err(mlua::Error::runtime("read_next_field() takes no arguments"));
    }
    let mut h = host(lua)?;
    let cursor = h.field_cursor;
    let Some(pack) = &h.message else {
        return Ok(MultiValue::from_iter(std::iter::repeat_n(Value::Nil, 5)));
    };
    let Some(f) = pack.message().fields.get(cursor) else {
        return Ok(MultiValue::from_iter(std::iter::repeat_n(Value::Nil, 5)));
    };
    let value = match f.value(0) {
        Some(v) => field_value(lua, v)?,
        None => Value::Nil,
    };
    let out = MultiValue::from_iter([
        Value::Number(f64::from(f.value_type.unwrap_or(0))),
        Value::String(lua.create_string(&f.name)?),
        value,
        Value::String(lua.create_string(f.representation_bytes())?),
        Value::Number(f.value_count() as f64),
    ]);
    h.field_cursor += 1;
    Ok(out)
}

fn add_to_payload(lua: &Lua, args: Variadic<Value>, name: &str) -> mlua::Result<()> {
    if args.is_empty() {
        return Err(mlua::Error::runtime(format!(
            "bad argument #0 to '{name}' (must have at least one argument)"
        )));
    }
    append_values(lua, &args, 0, name)
}

/// Appends `args` as `add_to_payload` does; `first` is the argument number of `args[0]`
/// minus one, for error messages.
fn append_values(lua: &Lua, args: &[Value], first: usize, name: &str) -> mlua::Result<()> {
    let mut scratch = Vec::new();
    for (i, v) in args.iter().enumerate() {
        scratch.clear();
        match v {
            Value::String(s) => scratch.extend_from_slice(&s.as_bytes()),
            Value::Number(n) => number::write_output(*n, &mut scratch),
            Value::Integer(n) => number::write_output(*n as f64, &mut scratch),
            Value::Nil => scratch.extend_from_slice(b"nil"),
            Value::Boolean(b) => scratch.extend_from_slice(if *b { b"true" } else { b"false" }),
            // A native module's userdata writes its own text (a circular buffer's cbuf).
            Value::UserData(ud) if crate::modules::has_output(ud) => {
                if let Some(written) = crate::modules::output(ud, &mut scratch) {
                    written?;
                }
            }
            Value::UserData(_) | Value::LightUserData(_) => {
                return Err(mlua::Error::runtime(format!(
                    "bad argument #{} to '{name}' (unknown userdata type)",
                    first + i + 1
                )));
            }
            _ => {
                return Err(mlua::Error::runtime(format!(
                    "bad argument #{} to '{name}' (unsupported type)",
                    first + i + 1
                )));
            }
        }
        host(lua)?.append(&scratch)?;
    }
    Ok(())
}

fn inject_payload(lua: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
    let arg = |i: usize, default: &str| -> mlua::Result<Bytes> {
        match args.get(i) {
            None => Ok(Bytes::from(default.to_string())),
            Some(v) => match lua.coerce_string(v.clone())? {
                Some(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
                None => Err(mlua::Error::runtime(format!(
                    "bad argument #{} to 'inject_payload' (string expected, got {})",
                    i + 1,
                    v.type_name()
                ))),
            },
        }
    };
    let mut payload_type = arg(0, "txt")?;
    if payload_type.is_empty() {
        payload_type = Bytes::from_static(b"txt");
    }
    let payload_name = arg(1, "")?;
    if args.len() > 2 {
        append_values(lua, &args[2..], 2, "inject_payload")?;
    }
    let mut h = host(lua)?;
    if h.output.is_empty() {
        return Ok(());
    }
    let payload = Bytes::from(std::mem::take(&mut h.output));
    h.inject(
        "inject_payload",
        Injection::Payload {
            payload,
            payload_type,
            payload_name,
        },
    )
}

fn inject_message(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(mlua::Error::runtime(
            "inject_message() takes a single string or table argument",
        ));
    }
    let injection = match args.front() {
        Some(Value::Table(t)) => {
            let built = proto::table_to_message(lua, t).map_err(|e| {
                mlua::Error::runtime(format!("inject_message() could not encode protobuf - {e}"))
            })?;
            let mut h = host(lua)?;
            h.output.clear();
            let size = built.message.to_bytes().len();
            if h.output_limit > 0 && size > h.output_limit - 1 {
                return Err(mlua::Error::runtime(
                    "inject_message() output_limit exceeded",
                ));
            }
            Injection::Message {
                message: built.message,
                has_uuid: true,
                has_timestamp: true,
            }
        }
        Some(Value::String(s)) => {
            let bytes = s.as_bytes();
            if bytes.is_empty() {
                return Ok(());
            }
            let message = Message::decode_slice(&bytes)
                .map_err(|_| mlua::Error::runtime("inject_message() protobuf unmarshal failed"))?;
            let has_uuid = !message.uuid.is_empty();
            let has_timestamp = message.timestamp != 0;
            Injection::Message {
                message,
                has_uuid,
                has_timestamp,
            }
        }
        _ => {
            return Err(mlua::Error::runtime(
                "inject_message() takes a single string or table argument",
            ));
        }
    };
    host(lua)?.inject("inject_message", injection)
}

fn decode_message(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let bytes = match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => s.as_bytes().to_vec(),
        _ => {
            return Err(mlua::Error::runtime(
                "bad argument #0 to 'decode_message' (must have one string argument)",
            ));
        }
    };
    if bytes.len() < 20 {
        return Err(mlua::Error::runtime("invalid message, too short"));
    }
    let m = Message::decode_slice(&bytes)
        .map_err(|e| mlua::Error::runtime(format!("invalid message: {e}")))?;
    if m.uuid.len() != 16 {
        return Err(mlua::Error::runtime(
            "missing required field uuid: not found timestamp: found",
        ));
    }
    Ok(Value::Table(proto::message_to_table(lua, &m)?))
}

/// An extension (lua_sandbox 1.x has it, Heka 0.10 did not): the protobuf encoding of a
/// message table, as `inject_message` would send it.
fn encode_message(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let Some(Value::Table(t)) = args.front() else {
        return Err(mlua::Error::runtime(
            "bad argument #1 to 'encode_message' (table expected)",
        ));
    };
    let built = proto::table_to_message(lua, t).map_err(|e| {
        mlua::Error::runtime(format!("encode_message() could not encode protobuf - {e}"))
    })?;
    Ok(Value::String(lua.create_string(built.message.to_bytes())?))
}
