//! `bloom_filter`: a set membership test with false positives at a chosen probability.
//!
//! Version: lua_sandbox 0.10.2 (Heka 0.10) built `mozilla-services/lua_bloom_filter` at
//! `4151be7`: `bloom_filter.new(items, probability)`, methods `add(key)` (true when the key
//! set a new bit), `query(key)`, `count()` (how many `add`s set a new bit), `clear()`, and
//! `fromstring(count, bits)` for preservation. Keys are strings or numbers (a number hashes as
//! its 8 bytes). The bit array and the hashes (XXH32 seeded with the hash's index) are the C
//! module's, so a preserved filter answers the same here. No output method: a bloom filter
//! cannot be given to `add_to_payload`.

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::{Args, hash};

const TNAME: &str = "lsb.bloom_filter";

/// One `bloom_filter.new(…)` userdata.
pub(crate) struct BloomFilter {
    items: i32,
    probability: f64,
    bits: usize,
    hashes: u32,
    count: u64,
    data: Vec<u8>,
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
    if a.len() != 2 {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let items = a.int(1)?;
    if items <= 1 {
        return Err(a.error(1, "items must be > 1"));
    }
    let probability = a.number(2)?;
    if !(probability > 0.0 && probability < 1.0) {
        return Err(a.error(2, "probability must be between 0 and 1"));
    }
    let ln2 = std::f64::consts::LN_2;
    let bits_f = (items as f64 * probability.ln() / (1.0 / 2f64.powf(ln2)).ln()).ceil();
    if !(bits_f >= 1.0 && bits_f / 8.0 <= super::MAX_BYTES as f64) {
        return Err(mlua::Error::runtime("not enough memory"));
    }
    let bits = bits_f as usize;
    let bytes = bits.div_ceil(8);
    let hashes = (ln2 * bits as f64 / items as f64).round() as u32;
    let ballast = super::ballast(lua, bytes)?;
    let mut data = Vec::new();
    data.try_reserve_exact(bytes)
        .map_err(|_| mlua::Error::runtime("not enough memory"))?;
    data.resize(bytes, 0);
    let bf = BloomFilter {
        items,
        probability,
        bits,
        hashes,
        count: 0,
        data,
        _ballast: ballast,
    };
    Ok(Value::UserData(lua.create_userdata(bf)?))
}

/// Checks `self` and the exact argument count, then runs `f`.
fn with<R>(
    lua: &Lua,
    args: MultiValue,
    n: usize,
    f: impl FnOnce(&Lua, &Args<'_>, &mut BloomFilter) -> mlua::Result<R>,
) -> mlua::Result<R> {
    let a = Args::new(lua, args);
    let ud = super::check_self::<BloomFilter>(&a, TNAME)?;
    if a.len() != n {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let mut bf = ud.borrow_mut::<BloomFilter>()?;
    f(lua, &a, &mut bf)
}

impl BloomFilter {
    fn bit(&self, key: &[u8], i: u32) -> usize {
        hash::xxh32(key, i) as usize % self.bits
    }

    fn is_set(&self, bit: usize) -> bool {
        self.data[bit / 8] & (1 << (bit % 8)) != 0
    }

    /// `if X == nil then X = bloom_filter.new(items, p) end` and `X:fromstring(count, "bits")`.
    pub(crate) fn preserve(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "if {key} == nil then {key} = bloom_filter.new({}, {}) end\n{key}:fromstring({}, \"",
                self.items,
                g6(self.probability),
                self.count
            )
            .as_bytes(),
        );
        super::write_binary(&self.data, out);
        out.extend_from_slice(b"\")\n");
    }
}

/// C's `%g`: 6 significant digits, trailing zeros removed, exponent form outside 1e-4..1e6.
fn g6(d: f64) -> String {
    let e = format!("{d:.5e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(&format!("{d:.decimals$}"))
    }
}

impl UserData for BloomFilter {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_function("add", |lua, args| {
            with(lua, args, 2, |_, a, bf| {
                let key = super::key_bytes(a, 2)?;
                let mut added = false;
                for i in 0..bf.hashes {
                    let bit = bf.bit(&key, i);
                    if !bf.is_set(bit) {
                        bf.data[bit / 8] |= 1 << (bit % 8);
                        added = true;
                    }
                }
                if added {
                    bf.count = bf.count.saturating_add(1);
                }
                Ok(added)
            })
        });
        methods.add_function("query", |lua, args| {
            with(lua, args, 2, |_, a, bf| {
                let key = super::key_bytes(a, 2)?;
                Ok((0..bf.hashes).all(|i| bf.is_set(bf.bit(&key, i))))
            })
        });
        methods.add_function("count", |lua, args| {
            with(lua, args, 1, |_, _, bf| Ok(bf.count as f64))
        });
        methods.add_function("clear", |lua, args| {
            with(lua, args, 1, |_, _, bf| {
                bf.data.fill(0);
                bf.count = 0;
                Ok(())
            })
        });
        methods.add_function("fromstring", |lua, args: MultiValue| {
            // Heka compat: `fromstring(bits)` (older files) or `fromstring(count, bits)`.
            let n = args.len();
            let n = if n == 2 { 2 } else { 3 };
            with(lua, args, n, |lua, a, bf| {
                if n == 3 {
                    bf.count = a.number(2)? as u64;
                }
                let bits = a.bytes(n)?;
                if bits.len() != bf.data.len() {
                    return Err(super::error(
                        lua,
                        format!(
                            "fromstring() bytes found: {}, expected {}",
                            bits.len(),
                            bf.data.len()
                        ),
                    ));
                }
                bf.data.copy_from_slice(&bits);
                Ok(())
            })
        });
    }
}

#[cfg(test)]
mod tests;
