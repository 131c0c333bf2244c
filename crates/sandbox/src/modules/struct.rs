//! `struct`: Roberto Ierusalimschy's library for packing numbers and strings into binary
//! strings and back (`struct.pack(fmt, …)`, `struct.unpack(fmt, s[, pos])`,
//! `struct.size(fmt)`).
//!
//! Version: lua_sandbox 0.10.2 (Heka 0.10) built `trink/struct` at `b7e9b87`, a CMake
//! packaging of struct 0.2 for Lua 5.1, with the sizes of an x86-64 Linux build. Format
//! options:
//!
//! | option | meaning |
//! |---|---|
//! | `>` `<` | big / little endian from here on (the default is the machine's: little) |
//! | `![n]` | maximum alignment `n` (a power of 2; 8 without `n`); the default is 1 (packed) |
//! | `x` | one zero byte of padding |
//! | `b` `B` | signed / unsigned char (1 byte) |
//! | `h` `H` | short (2) |
//! | `l` `L` | long (8) |
//! | `T` | size_t (8) |
//! | `i[n]` `I[n]` | integer of `n` bytes (default 4, at most 32) |
//! | `f` `d` | float (4), double (8) |
//! | `s` | zero-terminated string |
//! | `c[n]` | `n` chars (default 1); `c0` packs the whole string, and unpacks as many chars as the previous value read |
//! | ` ` | ignored |
//!
//! Integers go through Lua numbers (doubles), as in the C library.

use mlua::{Lua, MultiValue, Table, Value};

use super::Args;

/// Largest integer size (`i32`).
const MAX_INT_SIZE: usize = 32;
/// Alignment `!` means without a number: that of a double.
const MAX_ALIGN: usize = 8;

/// The module table: `{ pack, unpack, size }`.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

/// A format string being read.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.fmt.get(self.pos)?;
        self.pos += 1;
        // The C library reads a C string: a NUL ends the format.
        (c != 0).then_some(c)
    }

    /// The number that follows, or `default`.
    fn number(&mut self, default: usize) -> usize {
        let mut n: Option<usize> = None;
        while let Some(d) = self.fmt.get(self.pos).filter(|d| d.is_ascii_digit()) {
            n = Some(
                n.unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add((d - b'0') as usize),
            );
            self.pos += 1;
        }
        n.unwrap_or(default)
    }
}

/// The size of option `opt` (reading its number), 0 for options without one.
fn option_size(lua: &Lua, opt: u8, f: &mut Format<'_>) -> mlua::Result<usize> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'x' => 1,
        b'c' => f.number(1),
        b'i' | b'I' => {
            let n = f.number(4);
            if n > MAX_INT_SIZE {
                return Err(super::error(
                    lua,
                    format!("integral size {n} is larger than limit of {MAX_INT_SIZE}"),
                ));
            }
            n
        }
        _ => 0,
    })
}

/// Padding bytes needed at `len` for an item of `size` under the alignment in force.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// The options that are not items: endianness, alignment and space.
fn control(
    a: &Args<'_>,
    lua: &Lua,
    opt: u8,
    f: &mut Format<'_>,
    h: &mut Header,
) -> mlua::Result<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let n = f.number(MAX_ALIGN);
            if !n.is_power_of_two() {
                return Err(super::error(
                    lua,
                    format!("alignment {n} is not a power of 2"),
                ));
            }
            h.align = n;
        }
        other => {
            return Err(a.error(1, format!("invalid format option '{}'", char::from(other))));
        }
    }
    Ok(())
}

fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    // Negative numbers go through the signed type, as in C (two's complement).
    let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for i in 0..size {
        let at = if little { i } else { size - 1 - i };
        bytes[at] = (value & 0xff) as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&bytes);
}

fn put_float(out: &mut Vec<u8>, bytes: &[u8], little: bool) {
    // `bytes` are little endian.
    if little {
        out.extend_from_slice(bytes);
    } else {
        out.extend(bytes.iter().rev());
    }
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::LuaString> {
    let a = Args::new(lua, args);
    let fmt = a.bytes(1)?;
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut arg = 2;
    let mut out = Vec::new();
    while let Some(opt) = f.next() {
        let mut size = option_size(lua, opt, &mut f)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = a.number(arg)?;
                arg += 1;
                put_integer(&mut out, n, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = a.number(arg)? as f32;
                arg += 1;
                put_float(&mut out, &n.to_le_bytes(), h.little);
            }
            b'd' => {
                let n = a.number(arg)?;
                arg += 1;
                put_float(&mut out, &n.to_le_bytes(), h.little);
            }
            b'c' | b's' => {
                let s = a.bytes(arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // Heka compat: the C library names the argument after the string.
                    return Err(a.error(arg, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(&a, lua, opt, &mut f, &mut h)?,
        }
    }
    lua.create_string(&out)
}

fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = l.checked_shl(8).unwrap_or(0) | b as u64;
    if little {
        bytes.iter().rev().for_each(|&b| push(b));
    } else {
        bytes.iter().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    let bits = bytes.len() * 8;
    if bits == 0 {
        return 0.0;
    }
    let mask = u64::MAX.checked_shl((bits - 1) as u32).unwrap_or(0);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn get_float<const N: usize>(bytes: &[u8], little: bool) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&bytes[..N]);
    if !little {
        b.reverse();
    }
    b
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let a = Args::new(lua, args);
    let fmt = a.bytes(1)?;
    let data = a.bytes(2)?;
    // Heka compat: the position is a C size_t, so 0 and negatives are out of the string.
    let pos = (a.opt_number(3, 1.0)? as i64).saturating_sub(1);
    if pos < 0 || pos as usize > data.len() {
        return Err(a.error(3, "initial position out of string"));
    }
    let mut pos = pos as usize;
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut results: Vec<Value> = Vec::new();
    let too_short = || a.error(2, "data string too short");
    while let Some(opt) = f.next() {
        let mut size = option_size(lua, opt, &mut f)?;
        pos += to_align(pos, &h, opt, size);
        if pos > data.len() || size > data.len() - pos {
            return Err(too_short());
        }
        let here = &data[pos..];
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                results.push(Value::Number(get_integer(&here[..size], h.little, signed)));
            }
            b'x' => {}
            b'f' => {
                let v = f32::from_le_bytes(get_float::<4>(here, h.little));
                results.push(Value::Number(v as f64));
            }
            b'd' => {
                let v = f64::from_le_bytes(get_float::<8>(here, h.little));
                results.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let previous = match results.last() {
                        Some(v @ (Value::Number(_) | Value::Integer(_) | Value::String(_))) => {
                            lua.coerce_number(v.clone())?
                        }
                        _ => None,
                    };
                    let Some(n) = previous else {
                        return Err(super::error(lua, "format 'c0' needs a previous size"));
                    };
                    results.pop();
                    if n < 0.0 || n > (data.len() - pos) as f64 {
                        return Err(too_short());
                    }
                    size = n as usize;
                }
                results.push(Value::String(lua.create_string(&here[..size])?));
            }
            b's' => {
                let Some(end) = here.iter().position(|&b| b == 0) else {
                    return Err(super::error(lua, "unfinished string in data"));
                };
                results.push(Value::String(lua.create_string(&here[..end])?));
                size = end + 1;
            }
            _ => control(&a, lua, opt, &mut f, &mut h)?,
        }
        pos += size;
    }
    results.push(Value::Integer(pos as i64 + 1));
    Ok(MultiValue::from_iter(results))
}

fn size(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let a = Args::new(lua, args);
    let fmt = a.bytes(1)?;
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = Header::default();
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = option_size(lua, opt, &mut f)?;
        pos = pos.saturating_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(a.error(1, "options 's' has no size"));
        }
        if opt == b'c' && size == 0 {
            return Err(a.error(1, "options 'c0' has no size"));
        }
        if !opt.is_ascii_alphanumeric() {
            control(&a, lua, opt, &mut f, &mut h)?;
        }
        pos = pos.saturating_add(size);
    }
    Ok(Value::Integer(pos as i64))
}

#[cfg(test)]
mod tests;
