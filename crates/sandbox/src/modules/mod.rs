//! The native modules Heka's sandbox offered to `require`, written in Rust: `circular_buffer`
//! and `struct` (later `bloom_filter`, `hyperloglog`, `cuckoo_filter`).
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

pub(crate) mod circular_buffer;
pub(crate) mod r#struct;
#[cfg(test)]
pub(crate) mod testing;

/// `require name` of a native module: its table (also set as the global `name`), or `None`
/// when `name` is not one of ours.
pub(crate) fn open(lua: &Lua, name: &str) -> Option<mlua::Result<Value>> {
    let table = match name {
        "circular_buffer" => circular_buffer::open(lua),
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
    ud.is::<circular_buffer::CircularBuffer>()
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
    None
}

/// Whether `ud` is written by `preserve_data`.
pub(crate) fn preservable(ud: &AnyUserData) -> bool {
    ud.is::<circular_buffer::CircularBuffer>()
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
    None
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
