//! The native modules Heka's sandbox offered to `require`, written in Rust: `circular_buffer`,
//! `struct`, `bloom_filter`, `hyperloglog` and `cuckoo_filter`.
//!
//! Each module registers a global of its own name and returns its table, as lua_sandbox's C
//! modules did. Userdata they create can take part in two host features, through the three
//! hooks below that `env.rs`, `host.rs`, `proto.rs` and `preserve.rs` call:
//! * [`open`]: `require` of a native module;
//! * [`output`]: `add_to_payload(ud)` and userdata as a field value in `inject_message` (a
//!   circular buffer writes its `cbuf`/`cbufd` text);
//! * [`preserve`]: `preserve_data` writes the Lua statements that rebuild the userdata.
//!
//! Errors are worded as lua_sandbox's `luaL_argerror`/`luaL_error` worded them, location of
//! the calling Lua line included (see [`arg_error`]).

use mlua::{AnyUserData, Lua, Value};

pub(crate) mod bloom_filter;
pub(crate) mod circular_buffer;
pub(crate) mod cuckoo_filter;
mod hash;
pub(crate) mod hyperloglog;
pub(crate) mod r#struct;
#[cfg(test)]
pub(crate) mod testing;

/// `require name` of a native module: its table (also set as the global `name`), or `None`
/// when `name` is not one of ours.
pub(crate) fn open(lua: &Lua, name: &str) -> Option<mlua::Result<Value>> {
    let table = match name {
        "bloom_filter" => bloom_filter::open(lua),
        "circular_buffer" => circular_buffer::open(lua),
        "cuckoo_filter" => cuckoo_filter::open(lua),
        "hyperloglog" => hyperloglog::open(lua),
        "struct" => r#struct::open(lua),
        _ => return None,
    };
    Some(table.and_then(|t| {
        lua.globals().raw_set(name, t.clone())?;
        Ok(Value::Table(t))
    }))
}

/// Whether `ud` has an output (can be given to `add_to_payload` or be a field value).
pub(crate) fn has_output(ud: &AnyUserData) -> bool {
    ud.is::<circular_buffer::CircularBuffer>() || ud.is::<hyperloglog::HyperLogLog>()
}

/// Appends what `add_to_payload(ud)` writes for `ud`; `None` when the userdata has no output
/// (Heka: `unknown userdata type`).
pub(crate) fn output(ud: &AnyUserData, out: &mut Vec<u8>) -> Option<mlua::Result<()>> {
    if ud.is::<circular_buffer::CircularBuffer>() {
        return Some(
            ud.borrow_mut::<circular_buffer::CircularBuffer>()
                .and_then(|mut cb| cb.output(out)),
        );
    }
    if ud.is::<hyperloglog::HyperLogLog>() {
        return Some(
            ud.borrow::<hyperloglog::HyperLogLog>()
                .map(|hll| hll.output(out)),
        );
    }
    None
}

/// Whether `ud` is written by `preserve_data`.
pub(crate) fn preservable(ud: &AnyUserData) -> bool {
    ud.is::<circular_buffer::CircularBuffer>()
        || ud.is::<bloom_filter::BloomFilter>()
        || ud.is::<hyperloglog::HyperLogLog>()
        || ud.is::<cuckoo_filter::CuckooFilter>()
}

/// Appends the Lua statements that rebuild `ud` under the name `key` (`_G["x"]`); `None` when
/// the userdata is not preserved.
pub(crate) fn preserve(
    ud: &AnyUserData,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Option<Result<(), String>> {
    if ud.is::<circular_buffer::CircularBuffer>() {
        return Some(
            ud.borrow_mut::<circular_buffer::CircularBuffer>()
                .map_err(|e| e.to_string())
                .and_then(|mut cb| cb.preserve(key, out)),
        );
    }
    let key_text = String::from_utf8_lossy(key);
    if let Ok(bf) = ud.borrow::<bloom_filter::BloomFilter>() {
        bf.preserve(&key_text, out);
    } else if let Ok(hll) = ud.borrow::<hyperloglog::HyperLogLog>() {
        hll.preserve(&key_text, out);
    } else if let Ok(cf) = ud.borrow::<cuckoo_filter::CuckooFilter>() {
        cf.preserve(&key_text, out);
    } else {
        return None;
    }
    Some(Ok(()))
}

/// Checks that argument 1 (`self`) is a `T` userdata (`luaL_checkudata`; `tname` is the C
/// module's metatable name).
pub(crate) fn check_self<T: 'static>(a: &Args<'_>, tname: &str) -> mlua::Result<AnyUserData> {
    match a.get(1) {
        Some(Value::UserData(ud)) if ud.is::<T>() => Ok(ud.clone()),
        other => Err(a.error(1, format!("{tname} expected, got {}", type_name(other)))),
    }
}

/// The bytes a probabilistic module hashes for a key: a string's bytes, or a number's 8 bytes
/// as a C double in memory (little endian here).
pub(crate) fn key_bytes(a: &Args<'_>, n: usize) -> mlua::Result<Vec<u8>> {
    match a.get(n) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(x)) => Ok(x.to_le_bytes().to_vec()),
        Some(Value::Integer(x)) => Ok((*x as f64).to_le_bytes().to_vec()),
        _ => Err(a.error(n, "must be a string or number")),
    }
}

/// Binary data inside a Lua string literal of a preservation file, as lua_sandbox wrote it:
/// `\n`, `\r`, `"` and `\\` escaped, every other byte as is.
pub(crate) fn write_binary(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
}

/// Largest native data a module allocates (1 GiB); larger asks are `not enough memory`.
pub(crate) const MAX_BYTES: usize = 1 << 30;

/// A Lua table holding about `bytes` of Lua memory, kept beside data that lives in Rust so
/// that `memory_limit` counts it (lua_sandbox's C modules kept such data in Lua's memory).
pub(crate) fn ballast(lua: &Lua, bytes: usize) -> mlua::Result<mlua::Table> {
    if bytes > MAX_BYTES {
        return Err(mlua::Error::runtime("not enough memory"));
    }
    // An array slot of Lua 5.1 takes 16 bytes.
    lua.create_table_with_capacity(bytes.div_ceil(16), 0)
}

/// A Lua error worded as `luaL_error`: the calling Lua line's `source:line: ` and `msg`.
pub(crate) fn error(lua: &Lua, msg: impl std::fmt::Display) -> mlua::Error {
    let place = lua
        .inspect_stack(1, |d| {
            let line = d.current_line()?;
            let src = d.source().short_src?.into_owned();
            Some(format!("{src}:{line}: "))
        })
        .flatten()
        .unwrap_or_default();
    mlua::Error::runtime(format!("{place}{msg}"))
}

/// A Lua error worded as `luaL_argerror(narg, msg)`: a method call (`cb:add(…)`) does not
/// count `self`, so its arguments are numbered from the first after it, and argument 0 of a
/// method is "bad self".
pub(crate) fn arg_error(lua: &Lua, narg: i32, msg: impl std::fmt::Display) -> mlua::Error {
    let (name, what) = lua
        .inspect_stack(0, |d| {
            let n = d.names();
            (n.name.map(|s| s.into_owned()), n.name_what)
        })
        .unwrap_or((None, None));
    let mut narg = narg;
    if what == Some("method") {
        narg -= 1;
        if narg == 0 {
            let name = name.as_deref().unwrap_or("?");
            return error(lua, format!("calling '{name}' on bad self ({msg})"));
        }
    }
    let name = name.as_deref().unwrap_or("?");
    error(lua, format!("bad argument #{narg} to '{name}' ({msg})"))
}

/// Lua 5.1's name of a value's type (`no value` for a missing argument).
pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// The arguments of a native function, checked as lua_sandbox's `luaL_check*` checked them.
/// Argument numbers are 1-based, as in Lua.
pub(crate) struct Args<'a> {
    lua: &'a Lua,
    values: Vec<Value>,
}

impl<'a> Args<'a> {
    /// Wraps the arguments of a call.
    pub(crate) fn new(lua: &'a Lua, values: mlua::MultiValue) -> Args<'a> {
        Args {
            lua,
            values: values.into_iter().collect(),
        }
    }

    /// `lua_gettop`: how many arguments were passed (trailing nils count).
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Argument `n`, if passed.
    pub(crate) fn get(&self, n: usize) -> Option<&Value> {
        n.checked_sub(1).and_then(|i| self.values.get(i))
    }

    /// Whether argument `n` is absent or nil (`luaL_opt*` take their default then).
    pub(crate) fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }

    /// An argument error for argument `n`.
    pub(crate) fn error(&self, n: usize, msg: impl std::fmt::Display) -> mlua::Error {
        arg_error(self.lua, i32::try_from(n).unwrap_or(i32::MAX), msg)
    }

    fn type_error(&self, n: usize, expected: &str) -> mlua::Error {
        self.error(
            n,
            format!("{expected} expected, got {}", type_name(self.get(n))),
        )
    }

    /// `luaL_checknumber`: a number, or a string Lua converts to one.
    pub(crate) fn number(&self, n: usize) -> mlua::Result<f64> {
        match self.get(n) {
            Some(Value::Number(x)) => Ok(*x),
            Some(Value::Integer(x)) => Ok(*x as f64),
            Some(v @ Value::String(_)) => self
                .lua
                .coerce_number(v.clone())?
                .ok_or_else(|| self.type_error(n, "number")),
            _ => Err(self.type_error(n, "number")),
        }
    }

    /// `luaL_optnumber`.
    pub(crate) fn opt_number(&self, n: usize, default: f64) -> mlua::Result<f64> {
        if self.is_none_or_nil(n) {
            Ok(default)
        } else {
            self.number(n)
        }
    }

    /// `luaL_checkint`: the number truncated toward zero to a C `int`.
    pub(crate) fn int(&self, n: usize) -> mlua::Result<i32> {
        // Heka compat: C converts with a cast; out-of-range values wrap rather than fail.
        Ok(self.number(n)? as i64 as i32)
    }

    /// `luaL_checklstring`: a string, or a number converted to one.
    pub(crate) fn bytes(&self, n: usize) -> mlua::Result<Vec<u8>> {
        match self.get(n) {
            Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
            Some(v @ (Value::Number(_) | Value::Integer(_))) => {
                match self.lua.coerce_string(v.clone())? {
                    Some(s) => Ok(s.as_bytes().to_vec()),
                    None => Err(self.type_error(n, "string")),
                }
            }
            _ => Err(self.type_error(n, "string")),
        }
    }

    /// `luaL_checkoption`: the index of the argument in `options` (`default` when absent or
    /// nil, if there is one).
    pub(crate) fn option(
        &self,
        n: usize,
        default: Option<&str>,
        options: &[&str],
    ) -> mlua::Result<usize> {
        let name = match (default, self.is_none_or_nil(n)) {
            (Some(d), true) => d.as_bytes().to_vec(),
            _ => self.bytes(n)?,
        };
        options
            .iter()
            .position(|o| o.as_bytes() == name.as_slice())
            .ok_or_else(|| {
                self.error(
                    n,
                    format!("invalid option '{}'", String::from_utf8_lossy(&name)),
                )
            })
    }
}
