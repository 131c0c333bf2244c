//! `hyperloglog`: a distinct-count estimate in 12 KiB (Redis's HyperLogLog, dense encoding).
//!
//! Version: lua_sandbox 0.10.2 (Heka 0.10) built `mozilla-services/lua_hyperloglog` at
//! `92f8a59`: `hyperloglog.new()`, methods `add(key)` (true when the estimate may have
//! changed), `count()`, `clear()`, and `fromstring(bytes)` for preservation. The object is
//! Redis's dense HLL byte for byte: `HYLL`, encoding 0, three zero bytes, the cached count
//! (8 bytes, little endian, top bit set while stale), then 16384 six-bit registers. That is
//! also its output (`add_to_payload(hll)`, or a BYTES field), and keys hash as in Redis
//! (MurmurHash64A, seed `0xadc83b19`; a number hashes as its 8 bytes), so preserved state and
//! counts agree with Heka's.

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::{Args, hash};

const TNAME: &str = "lsb.hyperloglog";
const P: u32 = 14;
const REGISTERS: usize = 1 << P;
/// Header: magic, encoding, 3 unused bytes, cached cardinality.
const HEADER: usize = 16;
/// The registers' bytes; the C struct had one byte more, never output.
const REGISTER_BYTES: usize = REGISTERS * 6 / 8;
/// What is output and preserved.
const SIZE: usize = HEADER + REGISTER_BYTES;

/// One `hyperloglog.new()` userdata.
pub(crate) struct HyperLogLog {
    /// `SIZE + 1` bytes: the header, the registers, and a spare byte that reading the last
    /// register touches.
    bytes: Vec<u8>,
    _ballast: Table,
}

/// The module table: `{ new = … }`.
pub(crate) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("new", lua.create_function(new)?)?;
    Ok(t)
}

fn new(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let a = Args::new(lua, args);
    if a.len() != 0 {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let mut bytes = vec![0u8; SIZE + 1];
    bytes[..4].copy_from_slice(b"HYLL");
    let mut hll = HyperLogLog {
        bytes,
        _ballast: super::ballast(lua, SIZE)?,
    };
    hll.invalidate();
    Ok(Value::UserData(lua.create_userdata(hll)?))
}

/// Checks `self` and the exact argument count, then runs `f`.
fn with<R>(
    lua: &Lua,
    args: MultiValue,
    n: usize,
    f: impl FnOnce(&Lua, &Args<'_>, &mut HyperLogLog) -> mlua::Result<R>,
) -> mlua::Result<R> {
    let a = Args::new(lua, args);
    let ud = super::check_self::<HyperLogLog>(&a, TNAME)?;
    if a.len() != n {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let mut hll = ud.borrow_mut::<HyperLogLog>()?;
    f(lua, &a, &mut hll)
}

impl HyperLogLog {
    fn invalidate(&mut self) {
        self.bytes[15] |= 0x80;
    }

    fn registers(&self) -> &[u8] {
        &self.bytes[HEADER..]
    }

    fn get(&self, i: usize) -> u8 {
        let r = self.registers();
        let byte = i * 6 / 8;
        let fb = (i * 6) & 7;
        let b0 = r[byte] as u32;
        let b1 = r[byte + 1] as u32;
        (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
    }

    fn set(&mut self, i: usize, v: u8) {
        let r = &mut self.bytes[HEADER..];
        let byte = i * 6 / 8;
        let fb = (i * 6) & 7;
        let v = v as u32;
        r[byte] = ((r[byte] as u32 & !(63u32 << fb)) | (v << fb)) as u8;
        let fb8 = 8 - fb;
        r[byte + 1] = ((r[byte + 1] as u32 & !(63u32 >> fb8)) | (v >> fb8)) as u8;
    }

    /// Redis's `hllDenseAdd`: true when the key's register grew.
    fn add(&mut self, key: &[u8]) -> bool {
        let h = hash::murmur64a(key, 0xadc8_3b19);
        let index = (h & (REGISTERS as u64 - 1)) as usize;
        let rest = h | (1 << 63);
        let count = ((rest >> P).trailing_zeros() + 1) as u8;
        if count > self.get(index) {
            self.set(index, count);
            true
        } else {
            false
        }
    }

    /// Redis's `hllCount` as it was in 2014 (raw estimate, linear counting below 2.5 m, the
    /// polynomial bias correction below 72000). The sum is taken in Redis's order, 16
    /// registers at a time, so the result is the same to the last bit.
    fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let pe = |r: u8| 1.0 / (1u64 << r) as f64;
        let mut e = 0.0;
        let mut ez = 0u32;
        for group in 0..REGISTERS / 16 {
            let r: Vec<f64> = (0..16)
                .map(|k| {
                    let v = self.get(group * 16 + k);
                    if v == 0 {
                        ez += 1;
                    }
                    pe(v)
                })
                .collect();
            e += (r[0] + r[1])
                + (r[2] + r[3])
                + (r[4] + r[5])
                + (r[6] + r[7])
                + (r[8] + r[9])
                + (r[10] + r[11])
                + (r[12] + r[13])
                + (r[14] + r[15]);
        }
        let mut e = (1.0 / e) * alpha * m * m;
        if e < m * 2.5 && ez != 0 {
            e = m * (m / ez as f64).ln();
        } else if e < 72000.0 {
            let bias = 5.9119e-18 * (e * e * e * e) - 1.4253e-12 * (e * e * e)
                + 1.2940e-7 * (e * e)
                - 5.2921e-3 * e
                + 83.3216;
            e -= e * (bias / 100.0);
        }
        e as u64
    }

    fn count(&mut self) -> u64 {
        let card: [u8; 8] = [8, 9, 10, 11, 12, 13, 14, 15].map(|i| self.bytes[i]);
        if card[7] & 0x80 == 0 {
            return u64::from_le_bytes(card);
        }
        let n = self.estimate();
        self.bytes[8..16].copy_from_slice(&n.to_le_bytes());
        n
    }

    /// The output: the Redis object (header and registers).
    pub(crate) fn output(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes[..SIZE]);
    }

    /// `if X == nil then X = hyperloglog.new() end` and `X:fromstring("bytes")`.
    pub(crate) fn preserve(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("if {key} == nil then {key} = hyperloglog.new() end\n{key}:fromstring(\"")
                .as_bytes(),
        );
        super::write_binary(&self.bytes[..SIZE], out);
        out.extend_from_slice(b"\")\n");
    }
}

impl UserData for HyperLogLog {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_function("add", |lua, args| {
            with(lua, args, 2, |_, a, hll| {
                let key = super::key_bytes(a, 2)?;
                let altered = hll.add(&key);
                if altered {
                    hll.invalidate();
                }
                Ok(altered)
            })
        });
        methods.add_function("count", |lua, args| {
            with(lua, args, 1, |_, _, hll| Ok(hll.count() as f64))
        });
        methods.add_function("clear", |lua, args| {
            with(lua, args, 1, |_, _, hll| {
                hll.bytes[HEADER..].fill(0);
                hll.invalidate();
                Ok(())
            })
        });
        methods.add_function("fromstring", |lua, args| {
            with(lua, args, 2, |lua, a, hll| {
                let s = a.bytes(2)?;
                if s.len() != SIZE {
                    return Err(super::error(
                        lua,
                        format!("fromstring() bytes found: {}, expected {SIZE}", s.len()),
                    ));
                }
                if &s[..4] != b"HYLL" {
                    return Err(super::error(lua, "fromstring() HYLL header not found"));
                }
                // Heka compat: the C module looked at byte 5 (the first unused byte), not at
                // the encoding byte 4.
                if s[5] != 0 {
                    return Err(super::error(lua, "fromstring() invalid encoding"));
                }
                hll.bytes[..SIZE].copy_from_slice(&s);
                Ok(())
            })
        });
    }
}

#[cfg(test)]
mod tests;
