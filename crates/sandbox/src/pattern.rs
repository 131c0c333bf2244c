//! A guard on Lua 5.1's string pattern functions (`string.find`, `match`, `gmatch`, `gsub`).
//!
//! Lua 5.1's matcher (`lstrlib.c`) calls itself once for each capture bracket and each
//! quantified item (`?`, `*`, `+`, `-`) of a pattern, with no limit: a script could pass
//! `string.rep("a?", 200000)` and overflow the thread's C stack, which kills hekad, not just
//! the script — the instruction and memory limits never see it. Lua 5.2 added a depth limit
//! that fails with "pattern too complex"; this guard gives 5.1 the same, before the match
//! starts. Each recursive call moves the matcher further along the pattern, so the depth is
//! at most the number of `(`, `)`, `?`, `*`, `+` and `-` bytes in the pattern: a pattern with
//! more than [`MAX_PATTERN_ITEMS`] of them is refused. No pattern a person writes comes near.
//!
//! Each function is wrapped in a C closure that checks the pattern and then runs the original
//! C function in its own frame, so the original sees the same arguments and call information
//! (its own error texts, such as "bad argument #1 to 'find'", are unchanged).

// The guard is a C function: it reads the pattern argument and calls the library's own C
// function, which neither unwinds through Rust frames nor keeps anything to drop.
#![allow(unsafe_code)]

use std::ffi::c_int;

use mlua::{Function, Lua, Table, ffi};

/// The most capture brackets and quantifiers a pattern may hold. Each costs one level of C
/// recursion in the matcher (about a hundred bytes of stack); 2,000 levels stay far inside a
/// plugin thread's stack.
pub(crate) const MAX_PATTERN_ITEMS: usize = 2000;

/// Replaces `find`, `match`, `gmatch` and `gsub` in the string library table with guarded
/// versions. The table is the one the string metatable's `__index` points to, so method calls
/// (`s:find(p)`) are guarded too.
pub(crate) fn guard_string_library(lua: &Lua, string: &Table) -> mlua::Result<()> {
    for (name, has_plain) in [
        ("find", true),
        ("match", false),
        ("gmatch", false),
        ("gsub", false),
    ] {
        let original: Function = string.raw_get(name)?;
        // SAFETY: the closure pops the function exec_raw pushed, pushes a boolean and one C
        // closure holding both as upvalues, which exec_raw returns.
        let guarded = unsafe {
            lua.exec_raw::<Function>(original, |state| {
                ffi::lua_pushboolean(state, c_int::from(has_plain));
                ffi::lua_pushcclosure(state, guard, 2);
            })?
        };
        string.raw_set(name, guarded)?;
    }
    Ok(())
}

/// Counts the bytes of `pattern` that can make the matcher recurse.
fn recursive_items(pattern: &[u8]) -> usize {
    pattern
        .iter()
        .filter(|b| matches!(b, b'(' | b')' | b'?' | b'*' | b'+' | b'-'))
        .count()
}

/// Checks the pattern (argument 2), then runs the original function (upvalue 1) in this frame.
/// Upvalue 2 is true for `find`, whose fourth argument asks for a plain search (no pattern).
unsafe extern "C-unwind" fn guard(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as the C closure made by `guard_string_library`: upvalue 1 is one
    // of the string library's C functions, upvalue 2 a boolean. The pattern's bytes are read
    // while the string sits on the stack (argument 2), before anything can collect it.
    unsafe {
        let Some(original) = ffi::lua_tocfunction(state, ffi::lua_upvalueindex(1)) else {
            return ffi::luaL_error(state, c"string function guard lost its function".as_ptr());
        };
        let plain = ffi::lua_toboolean(state, ffi::lua_upvalueindex(2)) != 0
            && ffi::lua_toboolean(state, 4) != 0;
        if !plain && ffi::lua_type(state, 2) == ffi::LUA_TSTRING {
            let mut len = 0usize;
            let ptr = ffi::lua_tolstring(state, 2, &mut len);
            if !ptr.is_null() {
                let pattern = std::slice::from_raw_parts(ptr.cast::<u8>(), len);
                if recursive_items(pattern) > MAX_PATTERN_ITEMS {
                    return ffi::luaL_error(state, c"pattern too complex".as_ptr());
                }
            }
        }
        original(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_byte_that_can_recurse() {
        assert_eq!(recursive_items(b"abc%d"), 0);
        assert_eq!(recursive_items(b"(%d+)-(%w*)?"), 8);
        // Escaped ones count too: an upper bound is all the guard needs.
        assert_eq!(recursive_items(b"%(%-"), 2);
    }
}
