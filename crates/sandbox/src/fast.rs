//! The API functions scripts call on every message, as raw C functions: `read_message` and
//! `inject_message(table)` answer their common cases straight from Lua's C API, without
//! mlua's callback machinery (an argument list, a protected call for every string made).
//!
//! Each is a C closure holding the full Rust function (upvalue 1, a
//! [`crate::callback::rust_function`]) and the address of the state's host cell (upvalue 2).
//! Whatever the fast path does not handle — an error to raise, a rare form such as
//! `read_message("raw")`, a number where a string goes — is handed to the full function with
//! the same arguments, so each function's behaviour is written once, in `host.rs`, and the
//! fast path only has to recognise when it may answer by itself.
//!
//! The fast paths never raise a Lua error while a Rust value that needs dropping is alive:
//! they read the stack without allocating (`lua_next`, `lua_rawgeti`, `lua_tolstring` on
//! strings only), and push their one result after every Rust value is gone.

// Unsafe code: this module is Lua C functions.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_int, c_void};

use bytes::Bytes;
use heka_message::{Field, Message, ValueType};
use mlua::{Function, Lua, ffi};

use crate::callback::call_rust;
use crate::host::{Host, Read, host_cell};
use crate::proto;

/// A raw Lua C function.
type CFunction = unsafe extern "C-unwind" fn(*mut ffi::lua_State) -> c_int;

/// The C closure of `fast` over `full` (a [`crate::callback::rust_function`]) and the state's
/// host cell.
pub(crate) fn closure(lua: &Lua, full: Function, fast: CFunction) -> mlua::Result<Function> {
    let cell: *const RefCell<Host> = host_cell(lua)?;
    // SAFETY: exec_raw pushed `full`; the closure pushes the cell's address above it and
    // makes the C closure of the two, which exec_raw returns.
    unsafe {
        lua.exec_raw::<Function>(full, |state| {
            ffi::lua_pushlightuserdata(state, cell.cast_mut().cast::<c_void>());
            ffi::lua_pushcclosure(state, fast, 2);
        })
    }
}

/// The host cell of the running closure.
///
/// # Safety
/// `state` is running a closure made by [`closure`]: its upvalue 2 is the address of the
/// host cell, which lives as long as the Lua state.
unsafe fn host<'a>(state: *mut ffi::lua_State) -> &'a RefCell<Host> {
    // SAFETY: per the contract.
    unsafe { &*(ffi::lua_touserdata(state, ffi::lua_upvalueindex(2)) as *const RefCell<Host>) }
}

/// The bytes of the string at `idx`; `None` for anything else (numbers included: converting
/// them would change the stack and allocate).
///
/// # Safety
/// `idx` is a valid index of `state`; the bytes live while the value stays on the stack or
/// is otherwise referenced (Lua 5.1's collector does not move objects).
unsafe fn string_at<'a>(state: *mut ffi::lua_State, idx: c_int) -> Option<&'a [u8]> {
    // SAFETY: per the contract; lua_tolstring on a string neither allocates nor fails.
    unsafe {
        if ffi::lua_type(state, idx) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0usize;
        let p = ffi::lua_tolstring(state, idx, &mut len);
        Some(std::slice::from_raw_parts(p.cast::<u8>(), len))
    }
}

/// An optional index argument as `luaL_optinteger` reads it; `None` when the full function
/// must answer (a string, another type, a negative index).
///
/// # Safety
/// As [`string_at`].
unsafe fn index_at(state: *mut ffi::lua_State, idx: c_int) -> Option<usize> {
    // SAFETY: per the contract.
    unsafe {
        match ffi::lua_type(state, idx) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => Some(0),
            ffi::LUA_TNUMBER => usize::try_from(ffi::lua_tonumber(state, idx) as i64).ok(),
            _ => None,
        }
    }
}

/// `read_message(name[, field_index[, array_index]])`.
pub(crate) unsafe extern "C-unwind" fn read_message(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this as a closure made by `closure`.
    unsafe {
        match read_message_fast(state) {
            Some(found) => push(state, found),
            None => call_rust(state),
        }
    }
}

/// # Safety
/// As [`host`].
unsafe fn read_message_fast(state: *mut ffi::lua_State) -> Option<Found> {
    // SAFETY: per the contract; the arguments are at 1..=n.
    unsafe {
        let n = ffi::lua_gettop(state);
        if !(1..=3).contains(&n) {
            return None;
        }
        let name = string_at(state, 1)?;
        let fi = index_at(state, 2)?;
        let ai = index_at(state, 3)?;
        let h = host(state).try_borrow().ok()?;
        Some(match h.read_fast(name, fi, ai)? {
            Read::Nil => Found::Nil,
            Read::Number(n) => Found::Number(n),
            Read::Bool(b) => Found::Bool(b),
            Read::Str(s) => Found::Str(s.as_ptr(), s.len()),
        })
    }
}

/// A [`Read`] with its bytes as a bare pointer, so that the host's borrow can end before the
/// string is made (making it may raise a memory error, which must unwind through no guard).
#[derive(Clone, Copy)]
enum Found {
    Nil,
    Number(f64),
    Bool(bool),
    Str(*const u8, usize),
}

/// Pushes what [`read_message_fast`] found; returns the number of results.
///
/// # Safety
/// `state` is running a C function; a [`Found::Str`] points into the call's message, which
/// nothing changes while the string is made.
unsafe fn push(state: *mut ffi::lua_State, found: Found) -> c_int {
    // SAFETY: per the contract; a memory error unwinds through no Rust value.
    unsafe {
        match found {
            Found::Nil => ffi::lua_pushnil(state),
            Found::Number(n) => ffi::lua_pushnumber(state, n),
            Found::Bool(b) => ffi::lua_pushboolean(state, c_int::from(b)),
            Found::Str(p, len) => {
                ffi::lua_pushlstring(state, p.cast(), len);
            }
        }
    }
    1
}

/// `inject_message(table)` (the string form and every failure go to the full function).
pub(crate) unsafe extern "C-unwind" fn inject_message(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this as a closure made by `closure`.
    unsafe {
        if inject_message_fast(state) {
            0
        } else {
            call_rust(state)
        }
    }
}

/// Injects the message table at 1, or returns false having changed nothing.
///
/// # Safety
/// As [`host`].
unsafe fn inject_message_fast(state: *mut ffi::lua_State) -> bool {
    // SAFETY: per the contract.
    unsafe {
        if ffi::lua_gettop(state) != 1 || ffi::lua_type(state, 1) != ffi::LUA_TTABLE {
            return false;
        }
        let Some(message) = table_message(state, 1) else {
            return false;
        };
        match host(state).try_borrow_mut() {
            Ok(mut h) => h.inject_fast(message),
            Err(_) => false,
        }
    }
}

/// Walks the table at `idx` with `lua_next`, restoring the stack whatever `f` answers; stops
/// at the first `None`.
///
/// # Safety
/// `idx` is an absolute index of a table; `f` leaves the stack as it found it (key at -2,
/// value at -1) and never raises an error.
unsafe fn each(
    state: *mut ffi::lua_State,
    idx: c_int,
    mut f: impl FnMut(*mut ffi::lua_State) -> Option<()>,
) -> Option<()> {
    // SAFETY: per the contract; lua_next on an unchanged table with a string or other key
    // left in place neither allocates nor fails. Two stack slots are used.
    unsafe {
        let top = ffi::lua_gettop(state);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, idx) != 0 {
            if f(state).is_none() {
                ffi::lua_settop(state, top);
                return None;
            }
            ffi::lua_settop(state, -2);
        }
        Some(())
    }
}

/// The message a table describes, as `proto::table_to_message` builds it, for the tables whose
/// every value needs no conversion; `None` otherwise.
///
/// # Safety
/// `idx` is an absolute index of a table; 6 stack slots are free.
unsafe fn table_message(state: *mut ffi::lua_State, idx: c_int) -> Option<Message> {
    let mut m = Message::default();
    let (mut uuid, mut timestamp) = (None, None);
    // SAFETY: per the contract; each step reads the pair on top of the stack.
    unsafe {
        each(state, idx, |state| {
            let Some(key) = string_at(state, -2) else {
                return Some(());
            };
            let ty = ffi::lua_type(state, -1);
            let text = || -> Option<Option<Bytes>> {
                match ty {
                    ffi::LUA_TSTRING => Some(string_at(state, -1).map(Bytes::copy_from_slice)),
                    // A number becomes its text: the full function does that.
                    ffi::LUA_TNUMBER => None,
                    _ => Some(None),
                }
            };
            let number = || -> Option<Option<f64>> {
                match ty {
                    ffi::LUA_TNUMBER => Some(Some(ffi::lua_tonumber(state, -1))),
                    // A string read as a number: the full function does that.
                    ffi::LUA_TSTRING => None,
                    _ => Some(None),
                }
            };
            match key {
                b"Uuid" => {
                    uuid = string_at(state, -1)
                        .filter(|s| s.len() == 16)
                        .map(Bytes::copy_from_slice);
                }
                b"Timestamp" => timestamp = number()?,
                b"Type" => m.r#type = text()?,
                b"Logger" => m.logger = text()?,
                b"Payload" => m.payload = text()?,
                b"EnvVersion" => m.env_version = text()?,
                b"Hostname" => m.hostname = text()?,
                b"Severity" => m.severity = number()?.map(|n| n as i64 as i32),
                b"Pid" => m.pid = number()?.map(|n| n as i64 as i32),
                b"Fields" if ty == ffi::LUA_TTABLE => {
                    let fields = ffi::lua_gettop(state);
                    // The array form ({name=, value=, ...} entries) goes to the full function.
                    ffi::lua_rawgeti(state, fields, 1);
                    let array = ffi::lua_type(state, -1) == ffi::LUA_TTABLE;
                    ffi::lua_settop(state, -2);
                    if array {
                        return None;
                    }
                    m.fields.reserve(8);
                    each(state, fields, |state| {
                        let name = Bytes::copy_from_slice(string_at(state, -2)?);
                        m.fields.push(field(state, name)?);
                        Some(())
                    })?;
                }
                _ => {}
            }
            Some(())
        })?;
    }
    m.uuid = uuid.unwrap_or_else(heka_message::new_uuid);
    m.timestamp = match timestamp {
        // Heka compat, as in `proto`: the same bits as an i64; whole seconds when absent.
        Some(n) => n as i64,
        None => heka_message::now_ns() / 1_000_000_000 * 1_000_000_000,
    };
    Some(m)
}

/// A scalar value on the stack.
enum Scalar<'a> {
    Str(&'a [u8]),
    Num(f64),
    Bool(bool),
}

/// The scalar at `idx`, if it is one.
///
/// # Safety
/// As [`string_at`].
unsafe fn scalar_at<'a>(state: *mut ffi::lua_State, idx: c_int) -> Option<Scalar<'a>> {
    // SAFETY: per the contract.
    unsafe {
        match ffi::lua_type(state, idx) {
            ffi::LUA_TSTRING => string_at(state, idx).map(Scalar::Str),
            ffi::LUA_TNUMBER => Some(Scalar::Num(ffi::lua_tonumber(state, idx))),
            ffi::LUA_TBOOLEAN => Some(Scalar::Bool(ffi::lua_toboolean(state, idx) != 0)),
            _ => None,
        }
    }
}

/// The field for the value on top of the stack: a scalar, or `{value = scalar[, value_type =
/// n][, representation = s]}`; `None` for arrays, userdata and anything in error.
///
/// # Safety
/// The stack's top is the value; 2 more slots are free.
unsafe fn field(state: *mut ffi::lua_State, name: Bytes) -> Option<Field> {
    // SAFETY: per the contract.
    unsafe {
        let top = ffi::lua_gettop(state);
        let (value, value_type, representation) = if ffi::lua_type(state, top) == ffi::LUA_TTABLE {
            ffi::lua_rawgeti(state, top, 1);
            let array = ffi::lua_type(state, -1) != ffi::LUA_TNIL;
            ffi::lua_settop(state, top);
            if array {
                return None;
            }
            let (mut value, mut value_type, mut representation) = (None, None, None);
            each(state, top, |state| {
                match string_at(state, -2) {
                    Some(b"value") => value = Some(scalar_at(state, -1)?),
                    Some(b"value_type") if ffi::lua_type(state, -1) == ffi::LUA_TNUMBER => {
                        value_type = Some(ffi::lua_tonumber(state, -1) as i32);
                    }
                    Some(b"representation") => {
                        representation = string_at(state, -1).map(Bytes::copy_from_slice);
                    }
                    _ => {}
                }
                Some(())
            })?;
            (value?, value_type, representation)
        } else {
            (scalar_at(state, top)?, None, None)
        };
        let kind = match value {
            Scalar::Str(_) => proto::Scalar::Str,
            Scalar::Num(_) => proto::Scalar::Num,
            Scalar::Bool(_) => proto::Scalar::Bool,
        };
        // An invalid value_type: the full function raises the error.
        let vt = proto::field_type(kind, value_type).ok()?;
        let mut f = proto::empty_field(name, vt, representation);
        match (vt, value) {
            (ValueType::String, Scalar::Str(s)) => f.value_string.push(Bytes::copy_from_slice(s)),
            (ValueType::Bytes, Scalar::Str(s)) => f.value_bytes.push(Bytes::copy_from_slice(s)),
            (ValueType::Integer, Scalar::Num(n)) => f.value_integer.push(n as i64),
            (ValueType::Double, Scalar::Num(n)) => f.value_double.push(n),
            (ValueType::Bool, Scalar::Bool(b)) => f.value_bool.push(b),
            _ => return None,
        }
        Some(f)
    }
}

/// A registry reference to the Lua string `name`, for [`call_status`]: looking a global up by
/// it neither allocates nor fails.
pub(crate) fn name_ref(lua: &Lua, name: &str) -> mlua::Result<c_int> {
    let s = lua.create_string(name)?;
    // SAFETY: exec_raw pushed the string; luaL_ref pops it into the registry (inside
    // exec_raw's protected call, so a memory error is returned, not raised).
    unsafe {
        lua.exec_raw::<c_int>(s, |state| {
            let r = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
            ffi::lua_pushnumber(state, f64::from(r));
        })
    }
}

/// How a [`call_status`] call failed.
pub(crate) enum CallError {
    /// The global is not a function.
    NotFound,
    /// The call raised an error.
    Lua(mlua::Error),
    /// It returned something other than a number and nil or a string.
    Returns(&'static str),
}

/// Calls the global function named by `name` (a [`name_ref`]) with `arg` (none when `None`)
/// under the instruction limit (0: none), straight through Lua's C API; returns the status
/// and the error string it returned. `usage` notes the call's memory and instructions.
pub(crate) fn call_status(
    lua: &Lua,
    name: c_int,
    arg: Option<f64>,
    instructions: u32,
    usage: &crate::stats::Usage,
) -> Result<(i32, Option<String>), CallError> {
    lua.exec_raw_lua(|raw| {
        let state = raw.state();
        // SAFETY: the state is live and locked. Nothing here allocates outside the protected
        // call: the name is anchored in the registry, the lookup is raw, and the main
        // thread's stack always has LUA_MINSTACK free slots at this level (4 are used).
        unsafe {
            let top = ffi::lua_gettop(state);
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, i64::from(name));
            ffi::lua_rawget(state, ffi::LUA_GLOBALSINDEX);
            if ffi::lua_type(state, -1) != ffi::LUA_TFUNCTION {
                ffi::lua_settop(state, top);
                return Err(CallError::NotFound);
            }
            let nargs = match arg {
                Some(n) => {
                    ffi::lua_pushnumber(state, n);
                    1
                }
                None => 0,
            };
            if instructions > 0 {
                crate::callback::arm_count_limit_raw(state, instructions);
            }
            let code = ffi::lua_pcall(state, nargs, 2, 0);
            // Before the hook is disarmed: its count gives the instructions the call ran.
            usage.note_state(state, instructions);
            if instructions > 0 {
                ffi::lua_sethook(state, None, 0, 0);
            }
            if code != 0 {
                let e = match raw.pop_value() {
                    mlua::Value::Error(e) => *e,
                    mlua::Value::String(s) if code == ffi::LUA_ERRMEM => {
                        mlua::Error::MemoryError(s.to_string_lossy())
                    }
                    mlua::Value::String(s) => mlua::Error::RuntimeError(s.to_string_lossy()),
                    other => mlua::Error::RuntimeError(
                        other
                            .to_string()
                            .unwrap_or_else(|_| other.type_name().into()),
                    ),
                };
                ffi::lua_settop(state, top);
                return Err(CallError::Lua(e));
            }
            let status = match ffi::lua_type(state, -2) {
                ffi::LUA_TNUMBER => ffi::lua_tonumber(state, -2) as i32,
                _ => {
                    ffi::lua_settop(state, top);
                    return Err(CallError::Returns("must return a numeric status code"));
                }
            };
            let error = match ffi::lua_type(state, -1) {
                ffi::LUA_TNIL => None,
                ffi::LUA_TSTRING => {
                    string_at(state, -1).map(|s| String::from_utf8_lossy(s).into_owned())
                }
                _ => {
                    ffi::lua_settop(state, top);
                    return Err(CallError::Returns(
                        "must return a nil or string error message",
                    ));
                }
            };
            ffi::lua_settop(state, top);
            Ok((status, error))
        }
    })
}
