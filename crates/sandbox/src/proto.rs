//! Lua tables ⇄ Heka messages: `inject_message(table)` / `encode_message` one way,
//! `decode_message` the other (lua_sandbox's `lsb_serialize_protobuf.c` rules).

use bytes::Bytes;
use heka_message::{Field, Message, ValueType};
use mlua::{Lua, Table, Value};

/// A message built from a table.
pub(crate) struct Built {
    pub(crate) message: Message,
}

/// Builds the message a table describes. Errors are the detail after
/// `could not encode protobuf - `.
pub(crate) fn table_to_message(lua: &Lua, t: &Table) -> Result<Built, String> {
    let get = |k: &str| -> Result<Value, String> { t.raw_get(k).map_err(|e| e.to_string()) };
    let uuid = match get("Uuid")? {
        Value::String(s) if s.as_bytes().len() == 16 => Bytes::copy_from_slice(&s.as_bytes()),
        _ => heka_message::new_uuid(),
    };
    let timestamp = match number(lua, get("Timestamp")?) {
        // Heka compat: cast to uint64 and written as a varint: the same bits as an i64.
        Some(n) => n as i64,
        // Heka compat: time(NULL) * 1e9, whole seconds.
        None => heka_message::now_ns() / 1_000_000_000 * 1_000_000_000,
    };
    let mut m = Message {
        uuid,
        timestamp,
        ..Message::default()
    };
    let text = |k: &str| -> Result<Option<Bytes>, String> {
        Ok(match get(k)? {
            Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
            v @ (Value::Number(_) | Value::Integer(_)) => lua
                .coerce_string(v)
                .ok()
                .flatten()
                .map(|s| Bytes::copy_from_slice(&s.as_bytes())),
            _ => None,
        })
    };
    m.r#type = text("Type")?;
    m.logger = text("Logger")?;
    m.payload = text("Payload")?;
    m.env_version = text("EnvVersion")?;
    m.hostname = text("Hostname")?;
    m.severity = number(lua, get("Severity")?).map(|n| n as i64 as i32);
    m.pid = number(lua, get("Pid")?).map(|n| n as i64 as i32);
    if let Value::Table(fields) = get("Fields")? {
        let first: Value = fields.raw_get(1).map_err(|e| e.to_string())?;
        if let Value::Table(_) = first {
            array_fields(&fields, &mut m)?;
        } else {
            hash_fields(&fields, &mut m)?;
        }
    }
    Ok(Built { message: m })
}

/// A number, or a string Lua reads as one.
fn number(lua: &Lua, v: Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(n),
        Value::Integer(n) => Some(n as f64),
        v @ Value::String(_) => lua.coerce_number(v).ok().flatten(),
        _ => None,
    }
}

/// `Fields = { name = value_spec, ... }`.
fn hash_fields(fields: &Table, m: &mut Message) -> Result<(), String> {
    for pair in fields.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let name = match k {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            _ => return Err("field name must be a string".into()),
        };
        m.fields.push(field(name, &v)?);
    }
    Ok(())
}

/// `Fields = { {name = ..., value = ..., value_type = ..., representation = ...}, ... }`.
fn array_fields(fields: &Table, m: &mut Message) -> Result<(), String> {
    for i in 1.. {
        let entry: Value = fields.raw_get(i).map_err(|e| e.to_string())?;
        let Value::Table(entry) = entry else { break };
        let name = match entry.raw_get::<Value>("name").map_err(|e| e.to_string())? {
            Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
            _ => return Err("field name must be a string".into()),
        };
        m.fields.push(object_field(name, &entry)?);
    }
    Ok(())
}

/// One field from its value spec: a scalar, an array, or `{value=, value_type=, representation=}`.
fn field(name: Bytes, v: &Value) -> Result<Field, String> {
    match v {
        Value::Table(t) => {
            let first: Value = t.raw_get(1).map_err(|e| e.to_string())?;
            if first.is_nil() {
                object_field(name, t)
            } else {
                values_field(name, v, None, None)
            }
        }
        _ => values_field(name, v, None, None),
    }
}

fn object_field(name: Bytes, t: &Table) -> Result<Field, String> {
    let value: Value = t.raw_get("value").map_err(|e| e.to_string())?;
    let value_type = match t
        .raw_get::<Value>("value_type")
        .map_err(|e| e.to_string())?
    {
        Value::Number(n) => Some(n as i32),
        Value::Integer(n) => Some(n as i32),
        _ => None,
    };
    let representation = match t
        .raw_get::<Value>("representation")
        .map_err(|e| e.to_string())?
    {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        _ => None,
    };
    values_field(name, &value, value_type, representation)
}

/// The Lua type of a scalar field value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str,
    Num,
    Bool,
}

/// The field type of values of `kind` given `value_type` (lua_sandbox's rules); the error is
/// the text after `could not encode protobuf - `.
pub(crate) fn field_type(kind: Scalar, value_type: Option<i32>) -> Result<ValueType, String> {
    Ok(match (kind, value_type) {
        (Scalar::Str, None | Some(0)) => ValueType::String,
        (Scalar::Str, Some(1)) => ValueType::Bytes,
        (Scalar::Num, None | Some(3)) => ValueType::Double,
        (Scalar::Num, Some(2)) => ValueType::Integer,
        (Scalar::Bool, None | Some(4)) => ValueType::Bool,
        (Scalar::Str, Some(n)) => return Err(format!("invalid string value_type: {n}")),
        (Scalar::Num, Some(n)) => return Err(format!("invalid numeric value_type: {n}")),
        (Scalar::Bool, Some(n)) => return Err(format!("invalid boolean value_type: {n}")),
    })
}

/// A field of type `vt` with no values yet.
pub(crate) fn empty_field(name: Bytes, vt: ValueType, representation: Option<Bytes>) -> Field {
    Field {
        name,
        // Heka compat: STRING, the protobuf default, is left off the wire.
        value_type: (vt != ValueType::String).then_some(vt as i32),
        representation,
        ..Field::default()
    }
}

fn scalar_kind(v: &Value) -> Option<Scalar> {
    match v {
        Value::String(_) => Some(Scalar::Str),
        Value::Number(_) | Value::Integer(_) => Some(Scalar::Num),
        Value::Boolean(_) => Some(Scalar::Bool),
        _ => None,
    }
}

fn values_field(
    name: Bytes,
    v: &Value,
    value_type: Option<i32>,
    representation: Option<Bytes>,
) -> Result<Field, String> {
    if let Value::UserData(ud) = v {
        // A native module's userdata becomes a BYTES field holding its output (a circular
        // buffer's cbuf text); its value_type is ignored.
        let mut bytes = Vec::new();
        match crate::modules::output(ud, &mut bytes) {
            Some(written) => written.map_err(|e| crate::error_text(&e))?,
            None => return Err("user data object does not implement lsb_output".into()),
        }
        return Ok(Field {
            name,
            value_type: Some(ValueType::Bytes as i32),
            representation,
            value_bytes: vec![Bytes::from(bytes)],
            ..Field::default()
        });
    }
    let values: Vec<Value> = match v {
        Value::Table(t) => {
            let mut out = Vec::new();
            for i in 1.. {
                let x: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                if x.is_nil() {
                    break;
                }
                out.push(x);
            }
            if out.is_empty() {
                return Err("unsupported type: nil".into());
            }
            let kind = scalar_kind(&out[0])
                .ok_or_else(|| format!("unsupported array type: {}", out[0].type_name()))?;
            for x in &out[1..] {
                match scalar_kind(x) {
                    Some(k) if k == kind => {}
                    Some(_) => return Err("array has mixed types".into()),
                    None => return Err(format!("unsupported array type: {}", x.type_name())),
                }
            }
            out
        }
        other => {
            scalar_kind(other).ok_or_else(|| format!("unsupported type: {}", other.type_name()))?;
            vec![other.clone()]
        }
    };
    let kind = scalar_kind(&values[0]).unwrap_or(Scalar::Str);
    let vt = field_type(kind, value_type)?;
    let mut f = empty_field(name, vt, representation);
    for x in &values {
        match (vt, x) {
            (ValueType::String, Value::String(s)) => {
                f.value_string.push(Bytes::copy_from_slice(&s.as_bytes()))
            }
            (ValueType::Bytes, Value::String(s)) => {
                f.value_bytes.push(Bytes::copy_from_slice(&s.as_bytes()))
            }
            (ValueType::Integer, Value::Number(n)) => f.value_integer.push(*n as i64),
            (ValueType::Integer, Value::Integer(n)) => f.value_integer.push(*n),
            (ValueType::Double, Value::Number(n)) => f.value_double.push(*n),
            (ValueType::Double, Value::Integer(n)) => f.value_double.push(*n as f64),
            (ValueType::Bool, Value::Boolean(b)) => f.value_bool.push(*b),
            _ => return Err("array has mixed types".into()),
        }
    }
    Ok(f)
}

/// `decode_message`'s table: headers present on the message, `Fields` in array form with
/// every value in an array.
pub(crate) fn message_to_table(lua: &Lua, m: &Message) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("Uuid", lua.create_string(&m.uuid)?)?;
    t.raw_set("Timestamp", m.timestamp as f64)?;
    let set = |k: &str, v: &Option<Bytes>| -> mlua::Result<()> {
        if let Some(v) = v {
            t.raw_set(k, lua.create_string(v)?)?;
        }
        Ok(())
    };
    set("Type", &m.r#type)?;
    set("Logger", &m.logger)?;
    set("Payload", &m.payload)?;
    set("EnvVersion", &m.env_version)?;
    set("Hostname", &m.hostname)?;
    if let Some(s) = m.severity {
        t.raw_set("Severity", f64::from(s))?;
    }
    if let Some(p) = m.pid {
        t.raw_set("Pid", f64::from(p))?;
    }
    if !m.fields.is_empty() {
        let fields = lua.create_table()?;
        for (i, f) in m.fields.iter().enumerate() {
            let ft = lua.create_table()?;
            ft.raw_set("name", lua.create_string(&f.name)?)?;
            if let Some(vt) = f.value_type {
                ft.raw_set("value_type", f64::from(vt))?;
            }
            if let Some(r) = &f.representation {
                ft.raw_set("representation", lua.create_string(r)?)?;
            }
            let values = lua.create_table()?;
            for (j, v) in f.values().enumerate() {
                let v = match v {
                    heka_message::FieldValue::String(s) | heka_message::FieldValue::Bytes(s) => {
                        Value::String(lua.create_string(s)?)
                    }
                    heka_message::FieldValue::Integer(n) => Value::Number(n as f64),
                    heka_message::FieldValue::Double(d) => Value::Number(d),
                    heka_message::FieldValue::Bool(b) => Value::Boolean(b),
                };
                values.raw_set(j + 1, v)?;
            }
            ft.raw_set("value", values)?;
            fields.raw_set(i + 1, ft)?;
        }
        t.raw_set("Fields", fields)?;
    }
    Ok(t)
}
