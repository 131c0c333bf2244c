//! `preserve_data`: the script's globals written as a Lua chunk when the sandbox stops, and
//! run again after the script's top level when it starts (lua_sandbox's `lsb_serialize.c`
//! format).
//!
//! ```lua
//! if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= 0 then return end
//! _G["count"] = 12
//! _G["seen"] = {}
//! _G["seen"]["a"] = true
//! _G["alias"] = _G["seen"]
//! ```
//!
//! Strings are `%q`-quoted, numbers use [`crate::number::write_lua`] (at most 8 decimals, as
//! Heka). Functions, userdata, tables with a metatable, the libraries and every value `require`
//! returned are skipped; a table reached twice is written as a reference to its first path.
//! Native modules' userdata (circular buffers, bloom and cuckoo filters, hyperloglogs) write the
//! statements that rebuild them.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use mlua::{Lua, Table, Value};

use crate::env::LOADED;
use crate::number;

/// Writes the globals to `path` (through a temporary file, renamed into place). On failure
/// the file is removed, as in Heka.
pub(crate) fn save(lua: &Lua, path: &Path) -> Result<(), String> {
    let result = serialize(lua).and_then(|text| write_atomically(path, &text));
    if let Err(e) = &result {
        let _ = std::fs::remove_file(path);
        return Err(format!("preserve_data: {}: {e}", path.display()));
    }
    result
}

fn write_atomically(path: &Path, text: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let tmp = path.with_extension("data.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    f.write_all(text).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Runs the preservation file at `path`, if there is one.
pub(crate) fn restore(lua: &Lua, path: &Path) -> Result<(), String> {
    let code = match std::fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    lua.load(code)
        .set_name(format!("@{}", path.display()))
        .set_mode(mlua::chunk::ChunkMode::Text)
        .exec()
        .map_err(|e| format!("lsb_restore_global_data {}", crate::error_text(&e)))
}

struct Writer {
    out: Vec<u8>,
    /// Tables already written, by address, with the path they were written at.
    seen: HashMap<usize, Vec<u8>>,
}

fn serialize(lua: &Lua) -> Result<Vec<u8>, String> {
    let g = lua.globals();
    let version = match g.raw_get::<Value>("_PRESERVATION_VERSION") {
        Ok(Value::Number(n)) => n,
        Ok(Value::Integer(n)) => n as f64,
        _ => 0.0,
    };
    let mut w = Writer {
        out: Vec::new(),
        seen: HashMap::new(),
    };
    w.out
        .extend_from_slice(b"if _PRESERVATION_VERSION and _PRESERVATION_VERSION ~= ");
    number::write_lua(version, &mut w.out);
    w.out.extend_from_slice(b" then return end\n");
    // Never written: the globals table itself, and the libraries and modules.
    w.seen.insert(g.to_pointer() as usize, Vec::new());
    if let Ok(loaded) = lua.named_registry_value::<Table>(LOADED) {
        for pair in loaded.pairs::<Value, Value>() {
            if let Ok((_, Value::Table(t))) = pair {
                w.seen.insert(t.to_pointer() as usize, Vec::new());
            }
        }
    }
    write_table(&mut w, &g, b"_G".to_vec(), true)?;
    Ok(w.out)
}

fn write_table(w: &mut Writer, t: &Table, path: Vec<u8>, globals: bool) -> Result<(), String> {
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        if globals
            && matches!(&k, Value::String(s) if s.as_bytes().as_ref() == b"_PRESERVATION_VERSION")
        {
            continue;
        }
        let mut key = Vec::new();
        match &k {
            Value::String(s) => {
                key.push(b'[');
                quote(&s.as_bytes(), &mut key);
                key.push(b']');
            }
            Value::Number(n) => {
                key.push(b'[');
                number::write_lua(*n, &mut key);
                key.push(b']');
            }
            Value::Integer(n) => key.extend_from_slice(format!("[{n}]").as_bytes()),
            Value::Boolean(b) => key.extend_from_slice(format!("[{b}]").as_bytes()),
            other => {
                if preservable(&v) {
                    return Err(format!(
                        "serialize_data cannot preserve type '{}'",
                        other.type_name()
                    ));
                }
                continue;
            }
        }
        let mut here = path.clone();
        here.extend_from_slice(&key);
        match &v {
            Value::String(s) => {
                line(w, &here, |o| quote(&s.as_bytes(), o));
            }
            Value::Number(n) => line(w, &here, |o| number::write_lua(*n, o)),
            Value::Integer(n) => line(w, &here, |o| o.extend_from_slice(n.to_string().as_bytes())),
            Value::Boolean(b) => line(w, &here, |o| o.extend_from_slice(b.to_string().as_bytes())),
            Value::Table(sub) => {
                if sub.metatable().is_some() {
                    continue;
                }
                let addr = sub.to_pointer() as usize;
                match w.seen.get(&addr) {
                    Some(first) if first.is_empty() => continue,
                    Some(first) => {
                        let first = first.clone();
                        line(w, &here, |o| o.extend_from_slice(&first));
                    }
                    None => {
                        w.seen.insert(addr, here.clone());
                        line(w, &here, |o| o.extend_from_slice(b"{}"));
                        write_table(w, sub, here, false)?;
                    }
                }
            }
            Value::UserData(ud) => {
                // Native modules' userdata (circular buffers, filters) rebuild themselves; one reached
                // twice is written as a reference to its first path, as tables are.
                let addr = ud.to_pointer() as usize;
                if let Some(first) = w.seen.get(&addr) {
                    let first = first.clone();
                    line(w, &here, |o| o.extend_from_slice(&first));
                } else if let Some(written) = crate::modules::preserve(ud, &here, &mut w.out) {
                    written?;
                    w.seen.insert(addr, here);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a value would be written (so that a key of an unwritable type matters).
fn preservable(v: &Value) -> bool {
    matches!(
        v,
        Value::String(_)
            | Value::Number(_)
            | Value::Integer(_)
            | Value::Boolean(_)
            | Value::Table(_)
    ) || matches!(v, Value::UserData(ud) if crate::modules::preservable(ud))
}

fn line(w: &mut Writer, path: &[u8], value: impl FnOnce(&mut Vec<u8>)) {
    w.out.extend_from_slice(path);
    w.out.extend_from_slice(b" = ");
    value(&mut w.out);
    w.out.push(b'\n');
}

/// Lua 5.1's `%q`.
fn quote(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\000"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}
