//! The restricted environments (Heka's "SandboxTemplate" and "SandboxIoTemplate") and
//! `require`.
//!
//! Decoders, filters and encoders see only the base library at start, without
//! `collectgarbage`, `coroutine`, `dofile`, `load`, `loadfile`, `loadstring`, `newproxy` and
//! `print`. `string`, `table`, `math` and `os` are loaded but hidden until required
//! (`require "string"` also sets the global); `os` lacks `execute`, `exit`, `getenv`, `remove`,
//! `rename`, `setlocale` and `tmpname`, and its `date` and `time` work in UTC (Heka ran with
//! `TZ=UTC`). `require "io"` fails with `module 'io' disabled`.
//!
//! Inputs and outputs get the I/O template: `collectgarbage`, `coroutine` and `newproxy` stay,
//! `os` loses only `exit` and `setlocale`, and `require "io"` gives Lua's `io` library — what
//! Heka allowed them, no more (no `load*`, `dofile`, `debug`, C modules).
//!
//! `lpeg` and `cjson` are Debian's C libraries linked into hekad (see `build.rs`); `re` is the
//! `re.lua` Debian's lua-lpeg installs (MIT, © Lua.org, PUC-Rio), embedded at build time.
//! `circular_buffer`, `struct`, `bloom_filter`, `hyperloglog` and `cuckoo_filter` are ours
//! (`crate::modules`). Other names are `.lua` files under the module directories.

// Unsafe code: opening the two C libraries linked by build.rs, and `gmtime_r`/`strftime`.
#![allow(unsafe_code)]

use std::path::Path;

use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::Settings;
use crate::callback::{HostError, HostResult, Raise, fail, host_function};

/// Registry key of the table of loaded modules (name → value).
pub(crate) const LOADED: &str = "heka.loaded";
/// Registry key of the hidden standard libraries (name → table).
const PRELOAD: &str = "heka.preload";

/// `re.lua` from Debian's lua-lpeg package (MIT licence, as LPeg).
const RE_LUA: &str = include_str!("/usr/share/lua/5.1/re.lua");

unsafe extern "C-unwind" {
    /// LPeg's entry point (liblua5.1-lpeg.a); registers the global `lpeg` and returns it.
    fn luaopen_lpeg(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
    /// lua-cjson's entry point (liblua5.1-cjson.a); returns the module table.
    fn luaopen_cjson(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
}

const BASE_REMOVED: &[&str] = &[
    "collectgarbage",
    "coroutine",
    "dofile",
    "load",
    "loadfile",
    "loadstring",
    "newproxy",
    "print",
];
const OS_REMOVED: &[&str] = &[
    "execute",
    "exit",
    "getenv",
    "remove",
    "rename",
    "setlocale",
    "tmpname",
];
const IO_BASE_REMOVED: &[&str] = &["dofile", "load", "loadfile", "loadstring", "print"];
const IO_OS_REMOVED: &[&str] = &["exit", "setlocale"];
const HIDDEN_LIBS: &[&str] = &["string", "table", "math", "os"];

/// Builds the environment: hides the libraries, removes the unsafe functions, installs
/// `require`.
pub(crate) fn install(lua: &Lua, settings: &Settings) -> mlua::Result<()> {
    let g = lua.globals();
    let io = settings.kind.io();
    let loaded = lua.create_table()?;
    if io {
        // Never preserved: the base library's own table.
        let coroutine: Value = g.raw_get("coroutine")?;
        loaded.raw_set("coroutine", coroutine)?;
    }
    for name in if io { IO_BASE_REMOVED } else { BASE_REMOVED } {
        g.raw_set(*name, Value::Nil)?;
    }
    let preload = lua.create_table()?;
    let hidden: &[&str] = if io {
        &["string", "table", "math", "os", "io"]
    } else {
        HIDDEN_LIBS
    };
    for name in hidden {
        let t: Table = g.raw_get(*name)?;
        g.raw_set(*name, Value::Nil)?;
        preload.raw_set(*name, t)?;
    }
    let os: Table = preload.raw_get("os")?;
    for name in if io { IO_OS_REMOVED } else { OS_REMOVED } {
        os.raw_set(*name, Value::Nil)?;
    }
    utc_os(lua, &os)?;
    // string.dump is of no use without a way to load bytecode; it is removed.
    let string: Table = preload.raw_get("string")?;
    string.raw_set("dump", Value::Nil)?;
    crate::pattern::guard_string_library(lua, &string)?;
    lua.set_named_registry_value(PRELOAD, preload)?;
    lua.set_named_registry_value(LOADED, loaded)?;
    g.raw_set("package", lua.create_table()?)?;
    let dirs = settings.module_dirs.clone();
    let output_limit = settings.limits.output;
    g.raw_set(
        "require",
        host_function(lua, move |lua, args: MultiValue| {
            require(lua, args.into_iter().next(), &dirs, output_limit, io)
        })?,
    )?;
    Ok(())
}

/// `os.date` formats in UTC (with or without `!`); `os.time(t)` reads `t` as UTC.
///
/// `os.date` is ours rather than Lua's: Lua 5.1's calls `gmtime`, whose one static result
/// is shared by every thread, so two sandboxes formatting dates at once could mix their
/// times (seen: an alert stamped with another message's hour). Ours uses `gmtime_r` and
/// formats each conversion with `strftime` as Lua 5.1 does.
fn utc_os(lua: &Lua, os: &Table) -> mlua::Result<()> {
    os.raw_set("date", host_function(lua, os_date)?)?;
    let time: Function = os.raw_get("time")?;
    os.raw_set(
        "time",
        host_function(lua, move |_, args: MultiValue| -> HostResult<Value> {
            let t = match args.into_iter().next() {
                None | Some(Value::Nil) => return Ok(time.call::<Value>(())?),
                Some(Value::Table(t)) => t,
                Some(other) => {
                    return fail(format!(
                        "bad argument #1 to 'time' (table expected, got {})",
                        other.type_name()
                    ));
                }
            };
            let field = |k: &str, default: Option<i64>| -> HostResult<i64> {
                match t.raw_get::<Option<f64>>(k)? {
                    Some(v) => Ok(v as i64),
                    None => match default {
                        Some(d) => Ok(d),
                        None => fail(format!("field '{k}' missing in date table")),
                    },
                }
            };
            let (y, mo, d) = (
                field("year", None)?,
                field("month", None)?,
                field("day", None)?,
            );
            let (h, mi, s) = (
                field("hour", Some(12))?,
                field("min", Some(0))?,
                field("sec", Some(0))?,
            );
            // Normalise the month as mktime does, then count days from the epoch.
            let m0 = mo - 1;
            let y = y + m0.div_euclid(12);
            let m = m0.rem_euclid(12) + 1;
            let days = days_from_civil(y, m) + d - 1;
            Ok(Value::Number(
                (days * 86400 + h * 3600 + mi * 60 + s) as f64,
            ))
        })?,
    )?;
    Ok(())
}

/// Lua 5.1's `os.date([format [, time]])`, always in UTC, thread-safe.
fn os_date(lua: &Lua, args: MultiValue) -> HostResult<Value> {
    let mut args = args.into_iter();
    let format: Vec<u8> = match args.next() {
        None | Some(Value::Nil) => b"%c".to_vec(),
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(v)? {
            Some(s) => s.as_bytes().to_vec(),
            None => b"%c".to_vec(),
        },
        Some(other) => {
            return fail(format!(
                "bad argument #1 to 'date' (string expected, got {})",
                other.type_name()
            ));
        }
    };
    let secs: f64 = match args.next() {
        None | Some(Value::Nil) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs() as f64),
        Some(Value::Integer(n)) => n as f64,
        Some(Value::Number(n)) => n,
        Some(v @ Value::String(_)) => match lua.coerce_number(v.clone())? {
            Some(n) => n,
            None => {
                return fail(format!(
                    "bad argument #2 to 'date' (number expected, got {})",
                    v.type_name()
                ));
            }
        },
        Some(other) => {
            return fail(format!(
                "bad argument #2 to 'date' (number expected, got {})",
                other.type_name()
            ));
        }
    };
    let format = format.strip_prefix(b"!").unwrap_or(&format);
    // C truncates the double to time_t; out of range there is no date (Lua answers nil).
    if !secs.is_finite() || secs.abs() > 1e17 {
        return Ok(Value::Nil);
    }
    let t = secs.trunc() as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value (its zone pointer is null).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; gmtime_r writes only `tm`.
    if unsafe { libc::gmtime_r(&t, &mut tm) }.is_null() {
        return Ok(Value::Nil);
    }
    if format.starts_with(b"*t") {
        let table = lua.create_table()?;
        table.raw_set("sec", tm.tm_sec)?;
        table.raw_set("min", tm.tm_min)?;
        table.raw_set("hour", tm.tm_hour)?;
        table.raw_set("day", tm.tm_mday)?;
        table.raw_set("month", tm.tm_mon + 1)?;
        table.raw_set("year", i64::from(tm.tm_year) + 1900)?;
        table.raw_set("wday", tm.tm_wday + 1)?;
        table.raw_set("yday", tm.tm_yday + 1)?;
        table.raw_set("isdst", tm.tm_isdst > 0)?;
        return Ok(Value::Table(table));
    }
    let mut out = Vec::with_capacity(format.len() + 16);
    let mut rest = format;
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        match (c, rest.split_first()) {
            (b'%', Some((&spec, tail))) => {
                rest = tail;
                // Lua 5.1 hands strftime one conversion at a time.
                let conversion = [b'%', spec, 0];
                let mut buf = [0u8; 200];
                // SAFETY: `conversion` is NUL-terminated, `buf` is writable for its length
                // and `tm` was filled by gmtime_r.
                let n = unsafe {
                    libc::strftime(
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        conversion.as_ptr().cast(),
                        &tm,
                    )
                };
                out.extend_from_slice(&buf[..n.min(buf.len())]);
            }
            _ => out.push(c),
        }
    }
    Ok(Value::String(lua.create_string(out)?))
}

/// Days from 1970-01-01 to the first of month `m` (1–12) of year `y` (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn require(
    lua: &Lua,
    name: Option<Value>,
    dirs: &[std::path::PathBuf],
    output_limit: usize,
    io: bool,
) -> HostResult<Value> {
    let name = match name {
        Some(Value::String(s)) => s.to_string_lossy(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Integer(n)) => n.to_string(),
        other => {
            return fail(format!(
                "bad argument #1 to 'require' (string expected, got {})",
                other.as_ref().map_or("no value", |v| v.type_name())
            ));
        }
    };
    let loaded: Table = lua.named_registry_value(LOADED)?;
    let have: Value = loaded.raw_get(name.as_str())?;
    if !have.is_nil() {
        return Ok(have);
    }
    let g = lua.globals();
    let value: Value = match name.as_str() {
        "string" | "table" | "math" | "os" => {
            let preload: Table = lua.named_registry_value(PRELOAD)?;
            let t: Value = preload.raw_get(name.as_str())?;
            g.raw_set(name.as_str(), t.clone())?;
            t
        }
        "io" if io => {
            let preload: Table = lua.named_registry_value(PRELOAD)?;
            let t: Value = preload.raw_get("io")?;
            g.raw_set("io", t.clone())?;
            t
        }
        "io" | "debug" | "package" | "coroutine" => {
            return fail(format!("module '{name}' disabled"));
        }
        "lpeg" => {
            // SAFETY: luaopen_lpeg is LPeg's standard Lua 5.1 entry point, linked from
            // Debian's liblua5.1-lpeg.a, built against the Lua 5.1 API this state implements.
            let open = unsafe { lua.create_c_function(luaopen_lpeg)? };
            let t: Value = open.call(())?;
            g.raw_set("lpeg", t.clone())?;
            t
        }
        "cjson" => {
            // SAFETY: as for LPeg: lua-cjson's Lua 5.1 entry point from liblua5.1-cjson.a.
            let open = unsafe { lua.create_c_function(luaopen_cjson)? };
            let t: Table = open.call(())?;
            t.raw_set("new", Value::Nil)?;
            t.raw_set("encode_keep_buffer", Value::Nil)?;
            limit_cjson_encode(lua, &t, output_limit)?;
            g.raw_set("cjson", t.clone())?;
            Value::Table(t)
        }
        "re" => {
            let f = lua
                .load(RE_LUA)
                .set_name("@re.lua")
                .set_mode(mlua::chunk::ChunkMode::Text)
                .into_function()?;
            let v: Value = f.call("re")?;
            if v.is_nil() { Value::Boolean(true) } else { v }
        }
        _ => match crate::modules::open(lua, &name) {
            Some(module) => module?,
            None => load_module(lua, &name, dirs)?,
        },
    };
    loaded.raw_set(name.as_str(), value.clone())?;
    Ok(value)
}

/// Heka's cjson stops `encode` at the output limit (`strbuf output_limit exceeded`).
fn limit_cjson_encode(lua: &Lua, cjson: &Table, output_limit: usize) -> mlua::Result<()> {
    if output_limit == 0 {
        return Ok(());
    }
    let encode: Function = cjson.raw_get("encode")?;
    cjson.raw_set(
        "encode",
        host_function(
            lua,
            move |_, args: MultiValue| -> HostResult<mlua::LuaString> {
                let s: mlua::LuaString = encode.call(args)?;
                if s.as_bytes().len() >= output_limit {
                    return fail("strbuf output_limit exceeded");
                }
                Ok(s)
            },
        )?,
    )
}

/// A module file `<dir>/<name with dots as slashes>.lua` from the first directory that has it.
fn load_module(lua: &Lua, name: &str, dirs: &[std::path::PathBuf]) -> HostResult<Value> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if !valid {
        return fail(format!("invalid module name '{name}'"));
    }
    let rel = format!("{}.lua", name.replace('.', "/"));
    let mut tried = format!("module '{name}' not found:");
    for dir in dirs {
        let path = dir.join(&rel);
        match std::fs::read(&path) {
            Ok(code) => return run_module(lua, name, &path, code),
            Err(_) => tried.push_str(&format!("\n\tno file '{}'", path.display())),
        }
    }
    fail(tried)
}

fn run_module(lua: &Lua, name: &str, path: &Path, code: Vec<u8>) -> HostResult<Value> {
    let f = lua
        .load(code)
        .set_name(format!("@{}", path.display()))
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::MemoryError(_) => HostError::Lua(e),
            e => HostError::Raise(Raise::Located(format!(
                "error loading module '{name}' from file '{}':\n\t{}",
                path.display(),
                crate::error_text(&e)
            ))),
        })?;
    // The module's own errors pass through as they are (they carry their position).
    let v: Value = f.call(name).map_err(|e| match e {
        mlua::Error::MemoryError(_) => HostError::Lua(e),
        e => HostError::Raise(Raise::Plain(crate::error_text(&e))),
    })?;
    Ok(if v.is_nil() { Value::Boolean(true) } else { v })
}

#[cfg(test)]
mod tests {
    use super::days_from_civil;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1), 0);
        assert_eq!(days_from_civil(2000, 3), 11017);
        assert_eq!(days_from_civil(1969, 12), -31);
    }
}
