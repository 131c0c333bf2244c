//! `cuckoo_filter`: a set membership test that also supports deletion (16-bit fingerprints,
//! buckets of 4).
//!
//! Version: lua_sandbox 0.10.2 (Heka 0.10) built `mozilla-services/lua_cuckoo_filter` at
//! `8343207`: `cuckoo_filter.new(items)` (items > 4; rounded up to buckets of 4, a power of 2
//! of them), methods `add(key)` (false when the key, or a colliding fingerprint, is already
//! there, or the filter is full), `query(key)`, `delete(key)`, `count()`, `clear()`, and
//! `fromstring(count, buckets)` for preservation. The buckets and hashes (XXH32, seed 1) are
//! the C module's, so a preserved filter answers the same here. Evictions when both buckets
//! are full choose the bucket and slot with a small generator of ours where the C module used
//! `rand()`. No output method.

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::{Args, hash};

const TNAME: &str = "lsb.cuckoo_filter";
const BUCKET: usize = 4;
const MAX_KICKS: usize = 512;

/// One `cuckoo_filter.new(…)` userdata.
pub(crate) struct CuckooFilter {
    /// Capacity: buckets × 4.
    items: usize,
    /// Shift that turns a 32-bit hash into a bucket offset.
    shift: u32,
    count: u64,
    /// `buckets × 4` fingerprints, 0 = empty.
    entries: Vec<u16>,
    /// xorshift state for evictions.
    rng: u32,
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
    if a.len() != 1 {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let items = a.int(1)?;
    if items <= 4 {
        return Err(a.error(1, "items must be > 4"));
    }
    // Heka compat: the C module divided in integers before rounding up.
    let buckets = (items as u32 / BUCKET as u32).next_power_of_two() as usize;
    let bytes = buckets * BUCKET * 2;
    let ballast = super::ballast(lua, bytes)?;
    let mut entries = Vec::new();
    entries
        .try_reserve_exact(buckets * BUCKET)
        .map_err(|_| mlua::Error::runtime("not enough memory"))?;
    entries.resize(buckets * BUCKET, 0);
    let cf = CuckooFilter {
        items: buckets * BUCKET,
        shift: (buckets as u32).leading_zeros() + 1,
        count: 0,
        entries,
        rng: 0x9e37_79b9,
        _ballast: ballast,
    };
    Ok(Value::UserData(lua.create_userdata(cf)?))
}

/// Checks `self` and the exact argument count, then runs `f`.
fn with<R>(
    lua: &Lua,
    args: MultiValue,
    n: usize,
    f: impl FnOnce(&Lua, &Args<'_>, &mut CuckooFilter) -> mlua::Result<R>,
) -> mlua::Result<R> {
    let a = Args::new(lua, args);
    let ud = super::check_self::<CuckooFilter>(&a, TNAME)?;
    if a.len() != n {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let mut cf = ud.borrow_mut::<CuckooFilter>()?;
    f(lua, &a, &mut cf)
}

impl CuckooFilter {
    fn buckets(&self) -> usize {
        self.entries.len() / BUCKET
    }

    /// The key's fingerprint and its two buckets.
    fn locate(&self, key: &[u8]) -> (u16, usize, usize) {
        let h = hash::xxh32(key, 1);
        let fp = match h >> 16 {
            0 => 1,
            f => f as u16,
        };
        let i1 = h as usize % self.buckets();
        (fp, i1, self.other(i1, fp))
    }

    /// The other bucket of a fingerprint in bucket `i`.
    fn other(&self, i: usize, fp: u16) -> usize {
        let h = hash::xxh32(&(fp as u32).to_le_bytes(), 1);
        // A shift of 32 (a single bucket) leaves no offset.
        (i ^ h.checked_shr(self.shift).unwrap_or(0) as usize) % self.buckets()
    }

    fn bucket(&mut self, i: usize) -> &mut [u16] {
        &mut self.entries[i * BUCKET..(i + 1) * BUCKET]
    }

    fn lookup(&mut self, i: usize, fp: u16) -> bool {
        self.bucket(i).contains(&fp)
    }

    /// Puts `fp` in a free slot of bucket `i`.
    fn put(&mut self, i: usize, fp: u16) -> bool {
        match self.bucket(i).iter_mut().find(|e| **e == 0) {
            Some(e) => {
                *e = fp;
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, i: usize, fp: u16) -> bool {
        match self.bucket(i).iter_mut().find(|e| **e == fp) {
            Some(e) => {
                *e = 0;
                true
            }
            None => false,
        }
    }

    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn insert(&mut self, key: &[u8]) -> bool {
        let (mut fp, i1, i2) = self.locate(key);
        // Any fingerprint already in either bucket counts as the key itself (C module's rule;
        // with 16-bit fingerprints a false match is rare).
        if self.lookup(i1, fp) || self.lookup(i2, fp) {
            return false;
        }
        if self.put(i1, fp) || self.put(i2, fp) {
            return true;
        }
        let mut i = if self.random() % 2 == 1 { i1 } else { i2 };
        for _ in 0..MAX_KICKS {
            let slot = self.random() as usize % BUCKET;
            std::mem::swap(&mut self.bucket(i)[slot], &mut fp);
            i = self.other(i, fp);
            if self.lookup(i, fp) {
                return false;
            }
            if self.put(i, fp) {
                return true;
            }
        }
        false
    }

    /// `if X == nil then X = cuckoo_filter.new(items) end` and `X:fromstring(count, "…")`.
    pub(crate) fn preserve(&self, key: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "if {key} == nil then {key} = cuckoo_filter.new({}) end\n{key}:fromstring({}, \"",
                self.items, self.count
            )
            .as_bytes(),
        );
        let bytes: Vec<u8> = self.entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        super::write_binary(&bytes, out);
        out.extend_from_slice(b"\")\n");
    }
}

impl UserData for CuckooFilter {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_function("add", |lua, args| {
            with(lua, args, 2, |_, a, cf| {
                let key = super::key_bytes(a, 2)?;
                let added = cf.insert(&key);
                if added {
                    cf.count = cf.count.saturating_add(1);
                }
                Ok(added)
            })
        });
        methods.add_function("query", |lua, args| {
            with(lua, args, 2, |_, a, cf| {
                let key = super::key_bytes(a, 2)?;
                let (fp, i1, i2) = cf.locate(&key);
                Ok(cf.lookup(i1, fp) || cf.lookup(i2, fp))
            })
        });
        methods.add_function("delete", |lua, args| {
            with(lua, args, 2, |_, a, cf| {
                let key = super::key_bytes(a, 2)?;
                let (fp, i1, i2) = cf.locate(&key);
                let deleted = cf.remove(i1, fp) || cf.remove(i2, fp);
                if deleted {
                    cf.count = cf.count.saturating_sub(1);
                }
                Ok(deleted)
            })
        });
        methods.add_function("count", |lua, args| {
            with(lua, args, 1, |_, _, cf| Ok(cf.count as f64))
        });
        methods.add_function("clear", |lua, args| {
            with(lua, args, 1, |_, _, cf| {
                cf.entries.fill(0);
                cf.count = 0;
                Ok(())
            })
        });
        methods.add_function("fromstring", |lua, args| {
            with(lua, args, 3, |lua, a, cf| {
                let count = a.number(2)?;
                let bytes = a.bytes(3)?;
                let want = cf.entries.len() * 2;
                if bytes.len() != want {
                    return Err(super::error(
                        lua,
                        format!("fromstring() bytes found: {}, expected {want}", bytes.len()),
                    ));
                }
                cf.count = count as u64;
                for (e, b) in cf.entries.iter_mut().zip(bytes.chunks_exact(2)) {
                    *e = u16::from_le_bytes([b[0], b[1]]);
                }
                Ok(())
            })
        });
    }
}

#[cfg(test)]
mod tests;
