//! Host functions that fail the way lua_sandbox's C functions did: with a **string** error,
//! prefixed by the caller's position (`script.lua:12: write_message() failed`), as
//! `luaL_error` raises it. Scripts catch these with `pcall` and match on the text.
//!
//! mlua raises a Rust callback's error as a userdata, which `pcall` hands to the script as a
//! userdata (its `tostring` works, `err:find(...)` does not). So each host function is the
//! Rust function wrapped in a small C closure: the Rust function returns a status and either
//! its results or the error text, and the C closure raises the text with `lua_error`.
//! Memory errors pass through unchanged (the state is in trouble; the sandbox terminates).

// lua_error unwinds (longjmp) through `trampoline`, which holds nothing to drop.
#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Value, ffi};

/// How a host function failed.
pub(crate) enum Raise {
    /// `luaL_error`: the text, prefixed with the calling script's position.
    Located(String),
    /// `lua_error`: the text as it is (an error that already carries its position, such as a
    /// module's runtime error passing through `require`).
    Plain(String),
}

/// What a host function returns.
pub(crate) type HostResult<R> = Result<R, HostError>;

/// A host function's failure: raised as a string, or an mlua error passed through.
pub(crate) enum HostError {
    /// Raised as a Lua string.
    Raise(Raise),
    /// Passed through as mlua raises it (memory errors).
    Lua(mlua::Error),
}

impl From<mlua::Error> for HostError {
    fn from(e: mlua::Error) -> HostError {
        match e {
            mlua::Error::MemoryError(_) => HostError::Lua(e),
            other => HostError::Raise(Raise::Located(crate::error_text(&other))),
        }
    }
}

/// `luaL_error(L, text)`.
pub(crate) fn fail<T>(text: impl Into<String>) -> HostResult<T> {
    Err(HostError::Raise(Raise::Located(text.into())))
}

/// Registers `f` as a host function whose errors reach Lua as strings.
pub(crate) fn host_function<F, R>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> HostResult<R> + mlua::MaybeSend + 'static,
    R: IntoLuaMulti,
{
    let inner = rust_function(lua, f)?;
    // SAFETY: the closure only pops the function exec_raw pushed and pushes one C closure
    // holding it as its upvalue, which exec_raw returns.
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// `f` as an mlua function returning a status first: 0 and `f`'s results, or 1 (located) /
/// 2 (plain) and the error text. [`call_rust`] turns that into results or a raised error.
pub(crate) fn rust_function<F, R>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> HostResult<R> + mlua::MaybeSend + 'static,
    R: IntoLuaMulti,
{
    lua.create_function(move |lua, args: MultiValue| {
        let (status, rest) = match f(lua, args) {
            Ok(r) => (0, r.into_lua_multi(lua)?),
            Err(HostError::Lua(e)) => return Err(e),
            Err(HostError::Raise(Raise::Located(s))) => (1, one_string(lua, s)?),
            Err(HostError::Raise(Raise::Plain(s))) => (2, one_string(lua, s)?),
        };
        let mut out = rest;
        out.push_front(Value::Integer(status));
        Ok(out)
    })
}

fn one_string(lua: &Lua, s: String) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(s)?,
    )]))
}

/// Calls the Rust function (upvalue 1) with the arguments; returns its results, or raises its
/// error text.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C closure made by `host_function`, whose upvalue 1 is the
    // Rust function.
    unsafe { call_rust(state) }
}

/// The body of a host function's C closure: calls the [`rust_function`] in upvalue 1 with the
/// closure's arguments, then returns its results or raises its error (located at the
/// script's line that called the closure).
///
/// # Safety
/// `state` is running a C closure whose upvalue 1 is a [`rust_function`], with its arguments
/// (and nothing else) on the stack. The caller holds no value with a destructor: the error
/// unwinds (longjmp) through it.
pub(crate) unsafe fn call_rust(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: per the contract; the stack operations stay within what Lua guarantees a C
    // function (LUA_MINSTACK free slots: one is used).
    unsafe {
        let n = ffi::lua_gettop(state);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, n, ffi::LUA_MULTRET);
        let status = ffi::lua_tonumber(state, 1) as i64;
        if status == 0 {
            ffi::lua_remove(state, 1);
            return ffi::lua_gettop(state);
        }
        ffi::lua_settop(state, 2);
        if status == 1 {
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, 2);
            ffi::lua_concat(state, 2);
        }
        ffi::lua_error(state)
    }
}

/// Heka's instruction limit as Lua's own count hook: after `limit` VM instructions the script
/// fails with `instruction_limit exceeded`. Setting it restarts the count. Set through the C
/// API rather than mlua's `set_hook`, which registers a callback object on every call (that
/// cost as much as the script's own call did).
pub(crate) fn arm_count_limit(lua: &Lua, limit: u32) {
    let count = c_int::try_from(limit).unwrap_or(c_int::MAX);
    lua.exec_raw_lua(|raw| {
        // SAFETY: the state is live while mlua's lock is held; lua_sethook only stores the
        // hook, its mask and its count.
        unsafe {
            ffi::lua_sethook(
                raw.state(),
                Some(instruction_limit_hook),
                ffi::LUA_MASKCOUNT,
                count,
            )
        };
    });
}

/// [`arm_count_limit`] on a raw state.
///
/// # Safety
/// `state` is live and not running a hook.
pub(crate) unsafe fn arm_count_limit_raw(state: *mut ffi::lua_State, limit: u32) {
    let count = c_int::try_from(limit).unwrap_or(c_int::MAX);
    // SAFETY: per the contract; lua_sethook only stores the hook, its mask and its count.
    unsafe {
        ffi::lua_sethook(
            state,
            Some(instruction_limit_hook),
            ffi::LUA_MASKCOUNT,
            count,
        )
    };
}

/// Removes any hook of the main thread (through the C API: see [`arm_count_limit`]).
pub(crate) fn disarm_hook(lua: &Lua) {
    lua.exec_raw_lua(|raw| {
        // SAFETY: as in `arm_count_limit`.
        unsafe { ffi::lua_sethook(raw.state(), None, 0, 0) };
    });
}

/// The count hook: raises Heka's error text as a Lua string error.
unsafe extern "C-unwind" fn instruction_limit_hook(
    state: *mut ffi::lua_State,
    _ar: *mut ffi::lua_Debug,
) {
    // SAFETY: a hook runs inside the Lua call that triggered it; lua_error unwinds to that
    // call's pcall, as a script's own error() does.
    unsafe {
        ffi::lua_pushstring(state, c"instruction_limit exceeded".as_ptr());
        ffi::lua_error(state);
    }
}
