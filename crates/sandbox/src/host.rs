//! Heka's API functions and the per-call state they share (kept as the Lua state's app data).
//!
//! Each function borrows the state only between its own Lua calls, so a script that calls
//! back in (through a metamethod) cannot trip over a borrow. Every function fails with a Lua
//! string error (see [`crate::callback`]).

// Unsafe code: the call's pack, borrowed for the call (`PackRef`), and the host cell's fixed
// address (`host_cell`).
#![allow(unsafe_code)]

use std::cell::{RefCell, RefMut};

use bytes::Bytes;
use heka_message::{Field, FieldValue, Message, ValueType};
use heka_pipeline::pack::Pack;
use mlua::{Lua, MultiValue, Value};

use crate::callback::{HostError, HostResult, fail, host_function, rust_function};
use crate::{InjectBudget, Injection, Injector, Kind, ParseTime, Settings, fast, number, proto};

/// State the API functions share.
pub(crate) struct Host {
    kind: Kind,
    output_limit: usize,
    /// The payload buffer (`add_to_payload`, `inject_payload`).
    output: Vec<u8>,
    /// The message of the current `process_message` call, as it came (borrowed from the
    /// caller for the call's duration).
    message: Option<PackRef>,
    /// The message as `write_message` changed it (a copy: the original stays as it was).
    written: Option<Message>,
    /// `written` at the call's first injection (decoders inherit its headers).
    written_at_inject: Option<Message>,
    /// `read_next_field`'s position.
    field_cursor: usize,
    injected: Vec<Injection>,
    /// How many injections this call made (including those handed to the injector).
    injections: u32,
    /// The largest output (payload or message encoding) this call injected.
    largest_output: usize,
    budget: InjectBudget,
    config: toml::Table,
    /// Where injections go at once (inputs), instead of being collected for the caller.
    injector: Option<Injector>,
    parse_time: Option<ParseTime>,
}

/// What one call left behind.
#[derive(Default)]
pub(crate) struct CallData {
    /// The largest output one injection of the call made (for `MaxOutput`).
    pub(crate) largest_output: usize,
    pub(crate) injected: Vec<Injection>,
    pub(crate) written: Option<Message>,
    pub(crate) written_at_inject: Option<Message>,
}

impl Host {
    pub(crate) fn new(settings: &Settings) -> Host {
        Host {
            kind: settings.kind,
            output_limit: settings.limits.output,
            output: Vec::new(),
            message: None,
            written: None,
            written_at_inject: None,
            field_cursor: 0,
            injected: Vec::new(),
            injections: 0,
            largest_output: 0,
            budget: InjectBudget::Unlimited,
            config: settings.config.clone(),
            injector: None,
            parse_time: settings.parse_time,
        }
    }

    pub(crate) fn set_injector(&mut self, injector: Option<Injector>) {
        self.injector = injector;
    }

    /// Starts a call with `message` as the current message.
    ///
    /// # Safety
    /// `message` must stay alive and unchanged until [`Host::end_call`], which the caller
    /// must reach (the sandbox calls both around one Lua call).
    pub(crate) unsafe fn begin_call(&mut self, message: Option<&Pack>, budget: InjectBudget) {
        self.message = message.map(|p| PackRef(std::ptr::NonNull::from(p)));
        self.written = None;
        self.written_at_inject = None;
        self.field_cursor = 0;
        self.budget = budget;
        self.injections = 0;
        self.largest_output = 0;
        self.injected.clear();
    }

    pub(crate) fn end_call(&mut self) -> CallData {
        self.message = None;
        CallData {
            injected: std::mem::take(&mut self.injected),
            written: self.written.take(),
            written_at_inject: self.written_at_inject.take(),
            largest_output: std::mem::take(&mut self.largest_output),
        }
    }

    /// The message scripts read: as written, else as it came.
    fn current(&self) -> Option<&Message> {
        match (&self.written, &self.message) {
            (Some(m), _) => Some(m),
            (None, Some(p)) => Some(p.get().message()),
            (None, None) => None,
        }
    }

    /// The message `write_message` changes: a copy of the current one, made at the first write.
    fn writable(&mut self) -> Option<&mut Message> {
        if self.written.is_none() {
            let m = self.message.as_ref()?.get().message().clone();
            self.written = Some(m);
        }
        self.written.as_mut()
    }

    /// Appends to the payload buffer within the output limit.
    fn append(&mut self, bytes: &[u8]) -> HostResult<()> {
        if self.output_limit > 0 && self.output.len() + bytes.len() > self.output_limit - 1 {
            return fail("output_limit exceeded");
        }
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    /// Injects what the script made; `size` is its output's length (a message's encoding).
    fn inject(&mut self, what: &str, injection: Injection, size: usize) -> HostResult<()> {
        if let InjectBudget::AtMost(n) = self.budget
            && self.injections >= n
        {
            return fail(format!("{what}() exceeded InjectMessage count"));
        }
        self.injections += 1;
        self.largest_output = self.largest_output.max(size);
        if self.written_at_inject.is_none() && self.kind == Kind::Decoder {
            self.written_at_inject = self.written.clone();
        }
        match &mut self.injector {
            Some(f) => f(injection).map_err(|e| {
                HostError::Raise(crate::callback::Raise::Located(format!("{what}() {e}")))
            }),
            None => {
                self.injected.push(injection);
                Ok(())
            }
        }
    }
}

/// A value `read_message` returns, found without touching Lua (see [`crate::fast`]).
#[derive(Clone, Copy)]
pub(crate) enum Read<'a> {
    Nil,
    Number(f64),
    Bool(bool),
    /// Bytes of the call's message (or of its written copy).
    Str(&'a [u8]),
}

impl Host {
    /// `read_message(name, fi, ai)` for every name but `raw` and `Uuid`, whose values have to
    /// be made (`None`: the full function answers those).
    pub(crate) fn read_fast(&self, name: &[u8], fi: usize, ai: usize) -> Option<Read<'_>> {
        let (Some(_), Some(m)) = (&self.message, self.current()) else {
            return Some(Read::Nil);
        };
        Some(match name {
            b"Type" => Read::Str(m.type_bytes()),
            b"Logger" => Read::Str(m.logger_bytes()),
            b"Payload" => Read::Str(m.payload_bytes()),
            b"EnvVersion" => Read::Str(m.env_version_bytes()),
            b"Hostname" => Read::Str(m.hostname_bytes()),
            b"Timestamp" => Read::Number(m.timestamp as f64),
            b"Severity" => m.severity.map_or(Read::Nil, |s| Read::Number(f64::from(s))),
            b"Pid" => m.pid.map_or(Read::Nil, |p| Read::Number(f64::from(p))),
            b"raw" | b"Uuid" => return None,
            n => match field_name(n).and_then(|f| m.find_field(f, fi)?.value(ai)) {
                None | Some(FieldValue::Bytes([])) => Read::Nil,
                Some(FieldValue::String(s) | FieldValue::Bytes(s)) => Read::Str(s),
                Some(FieldValue::Integer(i)) => Read::Number(i as f64),
                Some(FieldValue::Double(d)) => Read::Number(d),
                Some(FieldValue::Bool(b)) => Read::Bool(b),
            },
        })
    }

    /// `inject_message(table)` of a message built by [`crate::fast`]: false, having done
    /// nothing, when the full function must answer (an input's injector, a used-up budget,
    /// the output limit).
    pub(crate) fn inject_fast(&mut self, message: Message) -> bool {
        if self.injector.is_some() {
            return false;
        }
        if let InjectBudget::AtMost(n) = self.budget
            && self.injections >= n
        {
            return false;
        }
        let size = message.encoded_size();
        if self.output_limit > 0 && size > self.output_limit - 1 {
            return false;
        }
        self.output.clear();
        let injection = Injection::Message {
            message,
            has_uuid: true,
            has_timestamp: true,
        };
        self.inject("inject_message", injection, size).is_ok()
    }
}

/// The call's message, borrowed from [`Sandbox::process_message`]'s caller between
/// [`Host::begin_call`] and [`Host::end_call`].
///
/// [`Sandbox::process_message`]: crate::Sandbox::process_message
pub(crate) struct PackRef(std::ptr::NonNull<Pack>);

// SAFETY: a PackRef is only dereferenced on the thread running the call that set it, while
// the pack it points to is borrowed by that call (`begin_call`'s contract); `Pack` is `Sync`.
unsafe impl Send for PackRef {}

impl PackRef {
    pub(crate) fn get(&self) -> &Pack {
        // SAFETY: see `Host::begin_call`: the pack outlives the call that holds this.
        unsafe { self.0.as_ref() }
    }
}

/// The host state in the Lua state's app data, boxed so that its address stays fixed for the
/// state's life: the raw C functions of [`crate::fast`] hold that address.
pub(crate) struct HostCell(pub(crate) Box<RefCell<Host>>);

impl HostCell {
    pub(crate) fn new(host: Host) -> HostCell {
        HostCell(Box::new(RefCell::new(host)))
    }
}

/// The address of the state's host cell (set once by `init`, never replaced or removed).
pub(crate) fn host_cell(lua: &Lua) -> mlua::Result<&RefCell<Host>> {
    let cell = lua
        .app_data_ref::<HostCell>()
        .ok_or_else(|| mlua::Error::runtime("sandbox host state missing"))?;
    let ptr: *const RefCell<Host> = &*cell.0;
    drop(cell);
    // SAFETY: the box is in the state's app data from `init` until the state is dropped and
    // is never replaced or removed, so it outlives `lua`'s borrow.
    Ok(unsafe { &*ptr })
}

/// Clears the call's message when dropped, so that no pointer to a pack outlives its call,
/// even one a panic cut short.
pub(crate) struct ForgetPack<'a>(pub(crate) &'a RefCell<Host>);

impl Drop for ForgetPack<'_> {
    fn drop(&mut self) {
        if let Ok(mut h) = self.0.try_borrow_mut() {
            h.message = None;
        }
    }
}

/// The address of a state's host cell, kept by the [`crate::Sandbox`] beside its state so
/// that a call need not look it up in the app data.
pub(crate) struct HostRef(std::ptr::NonNull<RefCell<Host>>);

// SAFETY: the cell is only reached through `HostRef::get`, with the state that owns it, on the
// thread that holds that state.
unsafe impl Send for HostRef {}

impl HostRef {
    pub(crate) fn of(lua: &Lua) -> mlua::Result<HostRef> {
        Ok(HostRef(std::ptr::NonNull::from(host_cell(lua)?)))
    }

    /// The cell, borrowed as long as `lua`, which must be the state this was made from.
    pub(crate) fn get<'a>(&'a self, _lua: &'a Lua) -> &'a RefCell<Host> {
        // SAFETY: the cell lives as long as the state (see `host_cell`), which `_lua` borrows.
        unsafe { self.0.as_ref() }
    }
}

fn host(lua: &Lua) -> mlua::Result<RefMut<'_, Host>> {
    host_cell(lua)?
        .try_borrow_mut()
        .map_err(|_| mlua::Error::runtime("sandbox host state busy"))
}

/// Registers the API functions for `kind` (Heka's availability matrix). `output` exists under
/// its core name while the script loads; [`finish_load`] renames or removes it.
pub(crate) fn install(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("read_config", host_function(lua, read_config)?)?;
    g.raw_set("decode_message", host_function(lua, decode_message)?)?;
    g.raw_set("encode_message", host_function(lua, encode_message)?)?;
    g.raw_set(
        "output",
        host_function(lua, |lua, args| add_to_payload(lua, args, "output"))?,
    )?;
    if kind != Kind::Output {
        let full = rust_function(lua, inject_message)?;
        g.raw_set(
            "inject_message",
            fast::closure(lua, full, fast::inject_message)?,
        )?;
    }
    if kind != Kind::Input {
        let full = rust_function(lua, read_message)?;
        g.raw_set(
            "read_message",
            fast::closure(lua, full, fast::read_message)?,
        )?;
        g.raw_set("read_next_field", host_function(lua, read_next_field)?)?;
    }
    if kind.has_payload() {
        g.raw_set("inject_payload", host_function(lua, inject_payload)?)?;
    }
    if matches!(kind, Kind::Decoder | Kind::Encoder) {
        g.raw_set("write_message", host_function(lua, write_message)?)?;
    }
    Ok(())
}

/// After the script and the preserved data were loaded: `output` becomes `add_to_payload`
/// (decoders, filters, encoders) or goes away (inputs, outputs).
pub(crate) fn finish_load(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    g.raw_set("output", Value::Nil)?;
    if kind.has_payload() {
        g.raw_set(
            "add_to_payload",
            host_function(lua, |lua, args| add_to_payload(lua, args, "add_to_payload"))?,
        )?;
    }
    // Anything the top level injected is dropped, as Heka's default callback did.
    host(lua)?.end_call();
    Ok(())
}

fn read_config(lua: &Lua, args: MultiValue) -> HostResult<Value> {
    if args.len() != 1 {
        return fail("read_config() must have a single argument");
    }
    let key = check_string(lua, args.front(), 1, "read_config")?;
    let key = String::from_utf8_lossy(&key).into_owned();
    let value = host(lua)?.config.get(&key).cloned();
    Ok(match value {
        Some(toml::Value::String(s)) => Value::String(lua.create_string(s)?),
        Some(toml::Value::Integer(i)) => Value::Number(i as f64),
        Some(toml::Value::Float(f)) => Value::Number(f),
        Some(toml::Value::Boolean(b)) => Value::Boolean(b),
        _ => Value::Nil,
    })
}

/// `luaL_typename`, with `no value` for a missing argument.
fn type_name(v: Option<&Value>) -> &'static str {
    v.map_or("no value", |v| v.type_name())
}

/// `luaL_checklstring`: a string, or a number converted to one.
fn check_string(lua: &Lua, v: Option<&Value>, n: usize, f: &str) -> HostResult<Bytes> {
    match v {
        Some(Value::String(s)) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
        Some(v @ (Value::Number(_) | Value::Integer(_))) => match lua.coerce_string(v.clone())? {
            Some(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            None => fail(format!(
                "bad argument #{n} to '{f}' (string expected, got number)"
            )),
        },
        other => fail(format!(
            "bad argument #{n} to '{f}' (string expected, got {})",
            type_name(other)
        )),
    }
}

/// `luaL_optstring`.
fn opt_string(lua: &Lua, v: Option<&Value>, n: usize, f: &str) -> HostResult<Option<Bytes>> {
    match v {
        None | Some(Value::Nil) => Ok(None),
        v => check_string(lua, v, n, f).map(Some),
    }
}

/// `luaL_optinteger` then `luaL_argcheck(i >= 0)`: `what` names the index in the error.
fn opt_index(lua: &Lua, v: Option<&Value>, n: usize, f: &str, what: &str) -> HostResult<usize> {
    let i = match v {
        None | Some(Value::Nil) => 0,
        Some(Value::Number(x)) => *x as i64,
        Some(Value::Integer(x)) => *x,
        Some(s @ Value::String(_)) => match lua.coerce_number(s.clone())? {
            Some(x) => x as i64,
            None => {
                return fail(format!(
                    "bad argument #{n} to '{f}' (number expected, got string)"
                ));
            }
        },
        Some(other) => {
            return fail(format!(
                "bad argument #{n} to '{f}' (number expected, got {})",
                other.type_name()
            ));
        }
    };
    if i < 0 {
        return fail(format!(
            "bad argument #{n} to '{f}' ({what} index must be >= 0)"
        ));
    }
    Ok(usize::try_from(i).unwrap_or(usize::MAX))
}

/// The name between `Fields[` and the final `]`.
fn field_name(name: &[u8]) -> Option<&[u8]> {
    name.strip_prefix(b"Fields[")?.strip_suffix(b"]")
}

fn read_message(lua: &Lua, args: MultiValue) -> HostResult<Value> {
    if args.is_empty() || args.len() > 3 {
        return fail("read_message() incorrect number of arguments");
    }
    let name = check_string(lua, args.front(), 1, "read_message")?;
    let fi = opt_index(lua, args.get(1), 2, "read_message", "field")?;
    let ai = opt_index(lua, args.get(2), 3, "read_message", "array")?;
    let h = host(lua)?;
    let str_value = |b: &[u8]| -> HostResult<Value> { Ok(Value::String(lua.create_string(b)?)) };
    match h.read_fast(&name, fi, ai) {
        Some(Read::Nil) => return Ok(Value::Nil),
        Some(Read::Number(n)) => return Ok(Value::Number(n)),
        Some(Read::Bool(b)) => return Ok(Value::Boolean(b)),
        Some(Read::Str(s)) => return str_value(s),
        None => {}
    }
    let (Some(pack), Some(m)) = (&h.message, h.current()) else {
        return Ok(Value::Nil);
    };
    if name.as_ref() == b"raw" {
        // The bytes as they came, even after write_message (Heka's MsgBytes).
        let raw = match h.kind {
            Kind::Decoder => pack.get().record().cloned(),
            _ => Some(Bytes::from(pack.get().encoded().into_owned())),
        };
        return match raw {
            Some(b) if !b.is_empty() => str_value(&b),
            _ => Ok(Value::Nil),
        };
    }
    // Uuid.
    if m.uuid.len() == 16 {
        str_value(m.uuid_string().as_bytes())
    } else {
        str_value(b"")
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

fn read_next_field(lua: &Lua, args: MultiValue) -> HostResult<MultiValue> {
    if !args.is_empty() {
        return fail("read_next_field() takes no arguments");
    }
    let mut h = host(lua)?;
    let cursor = h.field_cursor;
    let nils = || MultiValue::from_iter(std::iter::repeat_n(Value::Nil, 5));
    let Some(m) = h.current() else {
        return Ok(nils());
    };
    let Some(f) = m.fields.get(cursor) else {
        return Ok(nils());
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

fn add_to_payload(lua: &Lua, args: MultiValue, name: &str) -> HostResult<()> {
    if args.is_empty() {
        return fail(format!(
            "bad argument #0 to '{name}' (must have at least one argument)"
        ));
    }
    let args: Vec<Value> = args.into_iter().collect();
    append_values(lua, &args, 0, name)
}

/// Appends `args` as `add_to_payload` does; `first` is the argument number of `args[0]`
/// minus one, for error messages.
fn append_values(lua: &Lua, args: &[Value], first: usize, name: &str) -> HostResult<()> {
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
                return fail(format!(
                    "bad argument #{} to '{name}' (unknown userdata type)",
                    first + i + 1
                ));
            }
            _ => {
                return fail(format!(
                    "bad argument #{} to '{name}' (unsupported type)",
                    first + i + 1
                ));
            }
        }
        host(lua)?.append(&scratch)?;
    }
    Ok(())
}

fn inject_payload(lua: &Lua, args: MultiValue) -> HostResult<()> {
    let args: Vec<Value> = args.into_iter().collect();
    let mut payload_type = match args.first() {
        None => Bytes::from_static(b"txt"),
        v => check_string(lua, v, 1, "inject_payload")?,
    };
    if payload_type.is_empty() {
        payload_type = Bytes::from_static(b"txt");
    }
    let payload_name = match args.get(1) {
        None => Bytes::new(),
        v => check_string(lua, v, 2, "inject_payload")?,
    };
    if args.len() > 2 {
        append_values(lua, &args[2..], 2, "inject_payload")?;
    }
    let mut h = host(lua)?;
    if h.output.is_empty() {
        return Ok(());
    }
    let payload = Bytes::from(std::mem::take(&mut h.output));
    let size = payload.len();
    h.inject(
        "inject_payload",
        Injection::Payload {
            payload,
            payload_type,
            payload_name,
        },
        size,
    )
}

fn inject_message(lua: &Lua, args: MultiValue) -> HostResult<()> {
    const BAD_ARGS: &str = "inject_message() takes a single string or table argument";
    if args.len() != 1 {
        return fail(BAD_ARGS);
    }
    let kind = host(lua)?.kind;
    let size;
    let injection = match args.front() {
        Some(Value::Table(t)) => {
            let built = match proto::table_to_message(lua, t) {
                Ok(b) => b,
                Err(e) => return fail(format!("inject_message() could not encode protobuf - {e}")),
            };
            let mut h = host(lua)?;
            h.output.clear();
            size = built.message.encoded_size();
            if h.output_limit > 0 && size > h.output_limit - 1 {
                return fail("inject_message() output_limit exceeded");
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
            size = bytes.len();
            if kind == Kind::Encoder {
                // An encoder's output, verbatim.
                Injection::Raw(Bytes::copy_from_slice(&bytes))
            } else {
                let Ok(message) = Message::decode_slice(&bytes) else {
                    return fail("inject_message() protobuf unmarshal failed");
                };
                let has_uuid = !message.uuid.is_empty();
                let has_timestamp = message.timestamp != 0;
                Injection::Message {
                    message,
                    has_uuid,
                    has_timestamp,
                }
            }
        }
        _ => return fail(BAD_ARGS),
    };
    host(lua)?.inject("inject_message", injection, size)
}

fn decode_message(lua: &Lua, args: MultiValue) -> HostResult<Value> {
    let bytes = match (args.len(), args.front()) {
        (1, Some(Value::String(s))) => s.as_bytes().to_vec(),
        _ => return fail("bad argument #0 to 'decode_message' (must have one string argument)"),
    };
    if bytes.len() < 20 {
        return fail("invalid message, too short");
    }
    let m = match Message::decode_slice(&bytes) {
        Ok(m) => m,
        Err(e) => return fail(format!("invalid message: {e}")),
    };
    if m.uuid.len() != 16 {
        return fail("missing required field uuid: not found timestamp: found");
    }
    Ok(Value::Table(proto::message_to_table(lua, &m)?))
}

/// An extension (lua_sandbox 1.x has it, Heka 0.10 did not): the protobuf encoding of a
/// message table, as `inject_message` would send it.
fn encode_message(lua: &Lua, args: MultiValue) -> HostResult<Value> {
    let Some(Value::Table(t)) = args.front() else {
        return fail("bad argument #1 to 'encode_message' (table expected)");
    };
    match proto::table_to_message(lua, t) {
        Ok(built) => Ok(Value::String(lua.create_string(built.message.to_bytes())?)),
        Err(e) => fail(format!("encode_message() could not encode protobuf - {e}")),
    }
}

/// A value `write_message` writes.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    Str(Bytes),
    Num(f64),
    Bool(bool),
    Delete,
}

/// `write_message(name, value[, representation[, field_index[, array_index]]])` (decoders and
/// encoders). Every failure of the write itself is `write_message() failed`; the reason is
/// logged, as Heka did.
fn write_message(lua: &Lua, args: MultiValue) -> HostResult<()> {
    const F: &str = "write_message";
    if !(2..=5).contains(&args.len()) {
        return fail("write_message() incorrect number of arguments");
    }
    let name = check_string(lua, args.front(), 1, F)?;
    let representation = opt_string(lua, args.get(2), 3, F)?.unwrap_or_default();
    let fi = opt_index(lua, args.get(3), 4, F, "field")?;
    let ai = opt_index(lua, args.get(4), 5, F, "array")?;
    let has_ai = !matches!(args.get(4), None | Some(Value::Nil));
    let value = match args.get(1) {
        Some(Value::Boolean(b)) => Write::Bool(*b),
        Some(Value::Number(n)) => Write::Num(*n),
        Some(Value::Integer(n)) => Write::Num(*n as f64),
        Some(Value::String(s)) => Write::Str(Bytes::copy_from_slice(&s.as_bytes())),
        Some(Value::Nil) | None => Write::Delete,
        Some(_) => {
            return fail(
                "write_message() only accepts numeric, string, or boolean field values, or nil to delete",
            );
        }
    };
    let mut h = host(lua)?;
    let parse_time = h.parse_time;
    let Some(m) = h.writable() else {
        tracing::info!("write_message() failed: no message");
        return fail("write_message() failed");
    };
    let at = Index { fi, ai, has_ai };
    if let Err(why) = write(m, &name, value, representation, at, parse_time) {
        tracing::info!(
            "write_message({}) failed: {why}",
            String::from_utf8_lossy(&name)
        );
        return fail("write_message() failed");
    }
    Ok(())
}

/// Where `write_message` writes in a field.
#[derive(Debug, Clone, Copy)]
struct Index {
    fi: usize,
    ai: usize,
    /// An array index was given (deleting removes one element, not the field).
    has_ai: bool,
}

/// Writes `value` to the header or field `name` of `m` (Heka's `go_lua_write_message_*`).
fn write(
    m: &mut Message,
    name: &[u8],
    value: Write,
    representation: Bytes,
    at: Index,
    parse_time: Option<ParseTime>,
) -> Result<(), String> {
    const BAD_NAME: &str = "Bad field name.";
    if let Some(field) = field_name(name) {
        return match value {
            Write::Delete => delete_field(m, field, at),
            v => write_field(m, field, v, representation, at),
        };
    }
    match (value, name) {
        (Write::Str(s), b"Type") => m.r#type = Some(s),
        (Write::Str(s), b"Logger") => m.logger = Some(s),
        (Write::Str(s), b"Payload") => m.payload = Some(s),
        (Write::Str(s), b"EnvVersion") => m.env_version = Some(s),
        (Write::Str(s), b"Hostname") => m.hostname = Some(s),
        (Write::Str(s), b"Uuid") => {
            m.uuid = Bytes::copy_from_slice(&parse_uuid(&s).ok_or("Bad UUID string.")?);
        }
        (Write::Str(s), b"Timestamp") => {
            if s.is_empty() {
                return Err("Empty timestamp string.".into());
            }
            m.timestamp = match go_parse_int(&s, 64) {
                Some(ns) => ns,
                None => parse_time
                    .and_then(|p| p(&s))
                    .ok_or("Can't parse timestamp string.")?,
            };
        }
        (Write::Str(s), b"Severity") => {
            m.severity = Some(go_parse_int(&s, 32).ok_or("Can't parse severity value.")? as i32);
        }
        (Write::Str(s), b"Pid") => {
            m.pid = Some(go_parse_int(&s, 32).ok_or("Can't parse PID value.")? as i32);
        }
        (Write::Num(n), b"Timestamp") => m.timestamp = n as i64,
        (Write::Num(n), b"Severity") => m.severity = Some(n as i32),
        (Write::Num(n), b"Pid") => m.pid = Some(n as i32),
        _ => return Err(BAD_NAME.into()),
    }
    Ok(())
}

/// Writes to the field instance `at.fi` named `name`: `at.fi` one past the last instance
/// creates it (a number always makes a DOUBLE field); an existing instance takes values of its
/// own type only, at `at.ai` or appended just past its end.
fn write_field(
    m: &mut Message,
    name: &[u8],
    value: Write,
    representation: Bytes,
    at: Index,
) -> Result<(), String> {
    let count = m.fields.iter().filter(|f| f.name == name).count();
    if at.fi > count {
        return Err("bad field index".into());
    }
    if at.fi == count {
        if at.ai != 0 {
            return Err("bad array index".into());
        }
        let name = Bytes::copy_from_slice(name);
        let f = match value {
            Write::Str(s) => Field::new_string(name, s),
            Write::Num(n) => Field::new_double(name, n),
            Write::Bool(b) => Field::new_bool(name, b),
            Write::Delete => return Err("nothing to write".into()),
        };
        m.add_field(f.with_representation(representation));
        return Ok(());
    }
    let Some(f) = m.fields.iter_mut().filter(|f| f.name == name).nth(at.fi) else {
        return Err("bad field index".into());
    };
    let type_error = |what: &str| {
        Err(format!(
            "type error, '{}' is {what} field",
            String::from_utf8_lossy(name)
        ))
    };
    match (f.value_type(), value) {
        (ValueType::String, Write::Str(s)) => put(&mut f.value_string, at.ai, s)?,
        (ValueType::Double, Write::Num(n)) => put(&mut f.value_double, at.ai, n)?,
        (ValueType::Bool, Write::Bool(b)) => put(&mut f.value_bool, at.ai, b)?,
        (ValueType::String, _) => return type_error("a string"),
        (ValueType::Bytes, _) => return type_error("a bytes"),
        (ValueType::Integer, _) => return type_error("an integer"),
        (ValueType::Double, _) => return type_error("a double"),
        (ValueType::Bool, _) => return type_error("an boolean"),
    }
    f.representation = Some(representation);
    Ok(())
}

/// Overwrites element `i`, or appends when `i` is just past the end.
fn put<T>(values: &mut Vec<T>, i: usize, v: T) -> Result<(), String> {
    let len = values.len();
    match values.get_mut(i) {
        Some(slot) => *slot = v,
        None if i == len => values.push(v),
        None => return Err("bad array index".into()),
    }
    Ok(())
}

/// `write_message(name, nil, ...)`: removes the field instance, or one of its elements when
/// an array index was given. No field of that name at all is not an error.
fn delete_field(m: &mut Message, name: &[u8], at: Index) -> Result<(), String> {
    let positions: Vec<usize> = (0..m.fields.len())
        .filter(|&i| m.fields[i].name == name)
        .collect();
    if positions.is_empty() {
        return Ok(());
    }
    let Some(&pos) = positions.get(at.fi) else {
        return Err("bad field index".into());
    };
    if !at.has_ai {
        m.fields.remove(pos);
        return Ok(());
    }
    let f = &mut m.fields[pos];
    let len = f.value_count();
    if at.ai >= len {
        return Err("bad array index".into());
    }
    match f.value_type() {
        ValueType::String => drop(f.value_string.remove(at.ai)),
        ValueType::Bytes => drop(f.value_bytes.remove(at.ai)),
        ValueType::Integer => drop(f.value_integer.remove(at.ai)),
        ValueType::Double => drop(f.value_double.remove(at.ai)),
        ValueType::Bool => drop(f.value_bool.remove(at.ai)),
    }
    Ok(())
}

/// The RFC 4122 text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, either case, optionally
/// after `urn:uuid:`), as Heka's uuid library parsed it; raw bytes are not accepted.
fn parse_uuid(s: &[u8]) -> Option<[u8; 16]> {
    let s = match s.len() {
        36 => s,
        45 if s[..9].eq_ignore_ascii_case(b"urn:uuid:") => &s[9..],
        _ => return None,
    };
    if [8, 13, 18, 23].iter().any(|&i| s[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let starts = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    for (o, &i) in out.iter_mut().zip(starts.iter()) {
        let hi = (s[i] as char).to_digit(16)?;
        let lo = (s[i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Go's `strconv.ParseInt(s, 0, bits)` (before Go 1.13: no `0b`/`0o`, no underscores): an
/// optional sign, then hexadecimal after `0x`, octal after `0`, else decimal; `None` when the
/// text is not such a number or does not fit `bits` bits.
fn go_parse_int(s: &[u8], bits: u32) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if digits.len() > 2 && digits[0] == b'0' && (digits[1] == b'x' || digits[1] == b'X') {
            (16, &digits[2..])
        } else if digits.len() > 1 && digits[0] == b'0' {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        let d = u64::from((d as char).to_digit(radix)?);
        v = v.checked_mul(u64::from(radix))?.checked_add(d)?;
    }
    let limit = 1u64 << (bits - 1);
    if neg {
        if v > limit {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        if v >= limit {
            return None;
        }
        Some(v as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_parse_int_bases_and_ranges() {
        assert_eq!(go_parse_int(b"42", 64), Some(42));
        assert_eq!(go_parse_int(b"-42", 64), Some(-42));
        assert_eq!(go_parse_int(b"+0x1F", 64), Some(31));
        assert_eq!(go_parse_int(b"017", 64), Some(15));
        assert_eq!(go_parse_int(b"0", 64), Some(0));
        assert_eq!(go_parse_int(b"08", 64), None);
        assert_eq!(go_parse_int(b"0x", 64), None);
        assert_eq!(go_parse_int(b"", 64), None);
        assert_eq!(go_parse_int(b"1_000", 64), None);
        assert_eq!(go_parse_int(b"2147483647", 32), Some(i64::from(i32::MAX)));
        assert_eq!(go_parse_int(b"2147483648", 32), None);
        assert_eq!(go_parse_int(b"-2147483648", 32), Some(i64::from(i32::MIN)));
        assert_eq!(go_parse_int(b"9223372036854775807", 64), Some(i64::MAX));
        assert_eq!(go_parse_int(b"-9223372036854775808", 64), Some(i64::MIN));
        assert_eq!(go_parse_int(b"9223372036854775808", 64), None);
        assert_eq!(go_parse_int(b"12abc", 64), None);
    }

    #[test]
    fn uuid_text_forms() {
        let want = [
            0x55, 0x0d, 0x19, 0xb9, 0x58, 0xc7, 0x49, 0xd8, 0xb0, 0xdd, 0xb4, 0x8c, 0xd1, 0xc5,
            0xb3, 0x05,
        ];
        assert_eq!(
            parse_uuid(b"550d19b9-58c7-49d8-b0dd-b48cd1c5b305"),
            Some(want)
        );
        assert_eq!(
            parse_uuid(b"URN:UUID:550D19B9-58C7-49D8-B0DD-B48CD1C5B305"),
            Some(want)
        );
        assert_eq!(parse_uuid(b"550d19b958c749d8b0ddb48cd1c5b305"), None);
        assert_eq!(parse_uuid(b"550d19b9-58c7-49d8-b0dd-b48cd1c5b30g"), None);
        assert_eq!(parse_uuid(b"0123456789abcdef"), None);
        assert_eq!(parse_uuid(b""), None);
    }

    fn msg() -> Message {
        let mut m = Message::default();
        m.add_field(Field::new_string("s", "a"));
        m.add_field(Field::new_integers("i", &[1, 2, 3]));
        m.add_field(Field::new_bytes("b", "x"));
        m
    }

    fn at(fi: usize, ai: usize, has_ai: bool) -> Index {
        Index { fi, ai, has_ai }
    }

    #[test]
    fn fields_are_created_appended_overwritten_and_typed() {
        let mut m = msg();
        let w = |m: &mut Message, n: &str, v: Write, i: Index| {
            write(m, n.as_bytes(), v, Bytes::from_static(b"r"), i, None)
        };
        w(&mut m, "Fields[s]", Write::Str("b".into()), at(0, 1, true)).unwrap();
        assert_eq!(
            m.fields[0].value_string,
            [Bytes::from("a"), Bytes::from("b")]
        );
        assert_eq!(m.fields[0].representation_bytes(), b"r");
        w(&mut m, "Fields[s]", Write::Str("c".into()), at(0, 0, true)).unwrap();
        assert_eq!(m.fields[0].value_string[0], Bytes::from("c"));
        assert_eq!(
            w(&mut m, "Fields[s]", Write::Str("d".into()), at(0, 3, true)),
            Err("bad array index".into())
        );
        assert_eq!(
            w(&mut m, "Fields[s]", Write::Num(1.0), at(0, 0, false)),
            Err("type error, 's' is a string field".into())
        );
        assert_eq!(
            w(&mut m, "Fields[i]", Write::Num(1.0), at(0, 0, false)),
            Err("type error, 'i' is an integer field".into())
        );
        assert_eq!(
            w(&mut m, "Fields[b]", Write::Str("y".into()), at(0, 0, false)),
            Err("type error, 'b' is a bytes field".into())
        );
        // A second instance of `s`, then no third past it.
        w(&mut m, "Fields[s]", Write::Num(2.5), at(1, 0, false)).unwrap();
        let second = m.find_field(b"s", 1).unwrap();
        assert_eq!(second.value_type, Some(ValueType::Double as i32));
        assert_eq!(second.value_double, [2.5]);
        assert_eq!(
            w(&mut m, "Fields[s]", Write::Num(2.5), at(3, 0, false)),
            Err("bad field index".into())
        );
        assert_eq!(
            w(&mut m, "Fields[n]", Write::Bool(true), at(0, 1, false)),
            Err("bad array index".into())
        );
        assert_eq!(
            w(&mut m, "Type", Write::Num(1.0), at(0, 0, false)),
            Err("Bad field name.".into())
        );
        assert_eq!(
            w(&mut m, "Severity", Write::Bool(true), at(0, 0, false)),
            Err("Bad field name.".into())
        );
        assert_eq!(
            w(&mut m, "Fields[x", Write::Str("y".into()), at(0, 0, false)),
            Err("Bad field name.".into())
        );
    }

    #[test]
    fn deletes_fields_and_elements() {
        let mut m = msg();
        let d = |m: &mut Message, n: &str, i: Index| {
            write(m, n.as_bytes(), Write::Delete, Bytes::new(), i, None)
        };
        d(&mut m, "Fields[none]", at(5, 5, true)).unwrap();
        assert_eq!(
            d(&mut m, "Fields[i]", at(0, 3, true)),
            Err("bad array index".into())
        );
        d(&mut m, "Fields[i]", at(0, 1, true)).unwrap();
        assert_eq!(m.find_first_field(b"i").unwrap().value_integer, [1, 3]);
        assert_eq!(
            d(&mut m, "Fields[s]", at(1, 0, false)),
            Err("bad field index".into())
        );
        d(&mut m, "Fields[s]", at(0, 0, false)).unwrap();
        assert!(m.find_first_field(b"s").is_none());
        assert_eq!(m.fields.len(), 2);
    }

    #[test]
    fn headers_from_strings_and_numbers() {
        let mut m = Message::default();
        let w = |m: &mut Message, n: &str, v: Write| {
            write(m, n.as_bytes(), v, Bytes::new(), at(0, 0, false), None)
        };
        w(&mut m, "Timestamp", Write::Str("0x10".into())).unwrap();
        assert_eq!(m.timestamp, 16);
        w(&mut m, "Timestamp", Write::Num(1.5e18)).unwrap();
        assert_eq!(m.timestamp, 1_500_000_000_000_000_000);
        assert_eq!(
            w(&mut m, "Timestamp", Write::Str("yesterday".into())),
            Err("Can't parse timestamp string.".into())
        );
        assert_eq!(
            w(&mut m, "Timestamp", Write::Str("".into())),
            Err("Empty timestamp string.".into())
        );
        w(&mut m, "Severity", Write::Str("3".into())).unwrap();
        w(&mut m, "Pid", Write::Num(77.9)).unwrap();
        assert_eq!((m.severity, m.pid), (Some(3), Some(77)));
        assert_eq!(
            w(&mut m, "Pid", Write::Str("x".into())),
            Err("Can't parse PID value.".into())
        );
        assert_eq!(
            w(&mut m, "Uuid", Write::Str("0123456789abcdef".into())),
            Err("Bad UUID string.".into())
        );
        let parse: fn(&[u8]) -> Option<i64> = |s| (s == b"noon").then_some(43_200_000_000_000);
        write(
            &mut m,
            b"Timestamp",
            Write::Str("noon".into()),
            Bytes::new(),
            at(0, 0, false),
            Some(parse),
        )
        .unwrap();
        assert_eq!(m.timestamp, 43_200_000_000_000);
    }
}
