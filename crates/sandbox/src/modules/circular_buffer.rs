//! `circular_buffer`: an in-memory sliding window of time-series rows, the module Heka's
//! graphs, anomaly detection and many shipped filters are built on.
//!
//! Version: Heka 0.10 built lua_sandbox 0.10.2 (commit 97331863), which pinned
//! `mozilla-services/lua_circular_buffer` at `bb6dd9f` (October 2015). That is the API here:
//! `new(rows, columns, seconds_per_row[, enable_delta])` and the methods `add`, `set`, `get`,
//! `get_configuration`, `set_header`, `get_header`, `compute`, `mannwhitneyu`,
//! `current_time`, `format`, `fromstring`. The later 1.x API (`annotate`, `get_range`,
//! `get_delta`, annotations in the header line) came with lua_sandbox_extensions and never
//! shipped with Heka; graph annotations in Heka are the Lua module `annotation`.
//!
//! Rows: a time `ns` selects the row of second `floor(ns / 1e9)` rounded down to a multiple of
//! `seconds_per_row`. `add`/`set` with a time newer than the newest row advance the buffer
//! (the rows passed over become NaN); a time as old as the window or older gives nil.
//!
//! Deltas (`enable_delta`): every change is also summed per row into a Lua table (as the C
//! module did, so that the memory is counted and `cbufd` rows come out in Lua's `next` order),
//! written and cleared by `format("cbufd")` output.
//!
//! Memory: the C module's rows lived in Lua's memory, counted against `memory_limit`. Ours live
//! in a Rust vector; a Lua table of the same size is held beside it so that the limit sees them.

// The only unsafe code of this module: C's `erf`/`erfc` from the platform's libm.
#![allow(unsafe_code)]

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use super::Args;
use crate::number;

/// Column aggregation names; the index is the value kept. `none` appears twice as in the C
/// module, so `set_header(…, "none")` finds index 3.
const AGGREGATIONS: &[&str] = &["sum", "min", "max", "none", "none"];
const SUM: usize = 0;
const MIN: usize = 1;
const MAX: usize = 2;
const FORMATS: &[&str] = &["cbuf", "cbufd"];
const FUNCTIONS: &[&str] = &["sum", "avg", "sd", "min", "max", "variance"];
/// Longest column name and unit (the C module's buffers of 16 and 8 bytes).
const NAME_MAX: usize = 15;
const UNIT_MAX: usize = 7;
/// Largest buffer accepted, in bytes of values (1 GiB); larger asks are `not enough memory`.
const MAX_BYTES: usize = 1 << 30;

struct Header {
    name: Vec<u8>,
    unit: Vec<u8>,
    aggregation: usize,
}

/// One `circular_buffer.new(…)` userdata.
pub(crate) struct CircularBuffer {
    /// Start time of the newest row, in seconds.
    current_time: i64,
    seconds_per_row: i64,
    current_row: usize,
    rows: usize,
    columns: usize,
    headers: Vec<Header>,
    /// Row-major, `rows * columns`.
    values: Vec<f64>,
    delta_enabled: bool,
    /// `time_t → {[column - 1] = delta}` since the last `cbufd` output; `None` when empty.
    delta: Option<Table>,
    cbufd: bool,
    /// Holds Lua memory the size of `values`, so that `memory_limit` counts them.
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
    let n = a.len();
    if !(3..=4).contains(&n) {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let rows = a.int(1)?;
    if rows <= 1 {
        return Err(a.error(1, "rows must be > 1"));
    }
    let columns = a.int(2)?;
    if columns <= 0 {
        return Err(a.error(2, "columns must be > 0"));
    }
    let seconds_per_row = a.int(3)?;
    if seconds_per_row <= 0 {
        return Err(a.error(3, "seconds_per_row is out of range"));
    }
    let delta_enabled = n == 4 && !matches!(a.get(4), Some(Value::Nil | Value::Boolean(false)));
    let (rows, columns) = (rows as usize, columns as usize);
    let cells = rows
        .checked_mul(columns)
        .filter(|c| c.saturating_mul(8) <= MAX_BYTES)
        .ok_or_else(|| mlua::Error::runtime("not enough memory"))?;
    // A Lua array slot is 16 bytes: half as many slots as cells hold as many bytes.
    let ballast = lua.create_table_with_capacity(cells.div_ceil(2) + columns, 0)?;
    let mut values = Vec::new();
    values
        .try_reserve_exact(cells)
        .map_err(|_| mlua::Error::runtime("not enough memory"))?;
    values.resize(cells, f64::NAN);
    let headers = (1..=columns)
        .map(|i| Header {
            name: format!("Column_{i}").into_bytes(),
            unit: b"count".to_vec(),
            aggregation: SUM,
        })
        .collect();
    let cb = CircularBuffer {
        current_time: seconds_per_row as i64 * (rows as i64 - 1),
        seconds_per_row: seconds_per_row as i64,
        current_row: rows - 1,
        rows,
        columns,
        headers,
        values,
        delta_enabled,
        delta: None,
        cbufd: false,
        _ballast: ballast,
    };
    Ok(Value::UserData(lua.create_userdata(cb)?))
}

impl UserData for CircularBuffer {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_function("add", |lua, args| with(lua, args, 4, add));
        methods.add_function("set", |lua, args| with(lua, args, 4, set));
        methods.add_function("get", |lua, args| with(lua, args, 3, get));
        methods.add_function("get_configuration", |lua, args| {
            with(lua, args, 1, |_, _, cb| {
                Ok(MultiValue::from_iter([
                    Value::Number(cb.rows as f64),
                    Value::Number(cb.columns as f64),
                    Value::Number(cb.seconds_per_row as f64),
                ]))
            })
        });
        methods.add_function("set_header", |lua, args| with(lua, args, 3, set_header));
        methods.add_function("get_header", |lua, args| with(lua, args, 2, get_header));
        methods.add_function("compute", |lua, args| with(lua, args, 3, compute));
        methods.add_function("mannwhitneyu", |lua, args| with(lua, args, 6, mannwhitneyu));
        methods.add_function("current_time", |lua, args| {
            with(lua, args, 0, |_, _, cb| {
                Ok(one(Value::Number(cb.current_time as f64 * 1e9)))
            })
        });
        methods.add_function("format", |lua, args: MultiValue| {
            let this = args.front().cloned().unwrap_or(Value::Nil);
            with(lua, args, 2, |_, a, cb| {
                if a.len() != 2 {
                    return Err(a.error(0, "incorrect number of arguments"));
                }
                cb.cbufd = a.option(2, None, FORMATS)? == 1;
                Ok(one(this))
            })
        });
        methods.add_function("fromstring", |lua, args| with(lua, args, 2, fromstring));
    }
}

fn one(v: Value) -> MultiValue {
    MultiValue::from_iter([v])
}

/// Checks `self` and the argument count (`check_circular_buffer`), then runs `f`.
fn with(
    lua: &Lua,
    args: MultiValue,
    min_args: usize,
    f: impl FnOnce(&Lua, &Args<'_>, &mut CircularBuffer) -> mlua::Result<MultiValue>,
) -> mlua::Result<MultiValue> {
    let a = Args::new(lua, args);
    let ud = match a.get(1) {
        Some(Value::UserData(ud)) if ud.is::<CircularBuffer>() => ud.clone(),
        other => {
            return Err(a.error(
                1,
                format!(
                    "lsb.circular_buffer expected, got {}",
                    super::type_name(other)
                ),
            ));
        }
    };
    if a.len() < min_args {
        return Err(a.error(0, "incorrect number of arguments"));
    }
    let mut cb = ud.borrow_mut::<CircularBuffer>()?;
    f(lua, &a, &mut cb)
}

impl CircularBuffer {
    fn start_time(&self) -> i64 {
        self.current_time
            .saturating_sub(self.seconds_per_row * (self.rows as i64 - 1))
    }

    /// The row for time `ns`, advancing the buffer when `advance` and `ns` is newer than the
    /// newest row; `None` outside the window.
    fn row(&mut self, ns: f64, advance: bool) -> Option<usize> {
        let t = self.row_time(ns);
        let current_row = self.current_time / self.seconds_per_row;
        let requested_row = t / self.seconds_per_row;
        let row_delta = requested_row.saturating_sub(current_row);
        let row = requested_row.rem_euclid(self.rows as i64) as usize;
        if row_delta > 0 && advance {
            self.clear_rows(row_delta);
            self.current_time = t;
            self.current_row = row;
        } else if requested_row > current_row || row_delta.unsigned_abs() >= self.rows as u64 {
            return None;
        }
        Some(row)
    }

    /// The start of the row holding `ns`, in seconds.
    fn row_time(&self, ns: f64) -> i64 {
        let t = (ns / 1e9) as i64;
        t - t % self.seconds_per_row
    }

    /// NaN-fills the `n` rows after the newest (all of them at most).
    fn clear_rows(&mut self, n: i64) {
        let n = n.min(self.rows as i64) as usize;
        let mut row = self.current_row;
        for _ in 0..n {
            row = (row + 1) % self.rows;
            let start = row * self.columns;
            self.values[start..start + self.columns].fill(f64::NAN);
        }
    }

    fn column(&self, a: &Args<'_>, n: usize) -> mlua::Result<usize> {
        let c = a.int(n)? as i64;
        if c < 1 || c > self.columns as i64 {
            return Err(a.error(n, "column out of range"));
        }
        Ok(c as usize - 1)
    }

    /// Adds `value` to the delta of `column` in the row of `ns`.
    fn add_delta(&mut self, lua: &Lua, ns: f64, column: usize, value: f64) -> mlua::Result<()> {
        let t = self.row_time(ns);
        let delta = match &self.delta {
            Some(d) => d.clone(),
            None => {
                let d = lua.create_table()?;
                self.delta = Some(d.clone());
                d
            }
        };
        let row: Table = match delta.raw_get::<Value>(t)? {
            Value::Table(r) => r,
            _ => {
                let r = lua.create_table()?;
                delta.raw_set(t, &r)?;
                r
            }
        };
        let old = match row.raw_get::<Value>(column as i64)? {
            Value::Number(n) => n,
            Value::Integer(n) => n as f64,
            _ => 0.0,
        };
        row.raw_set(column as i64, old + value)
    }

    /// Writes `cbuf` (the whole buffer) or `cbufd` (the changed rows, then forgets them) text.
    pub(crate) fn output(&mut self, out: &mut Vec<u8>) -> mlua::Result<()> {
        if self.cbufd && self.delta.is_none() {
            return Ok(());
        }
        out.extend_from_slice(
            format!(
                "{{\"time\":{},\"rows\":{},\"columns\":{},\"seconds_per_row\":{},\"column_info\":[",
                self.start_time(),
                self.rows,
                self.columns,
                self.seconds_per_row
            )
            .as_bytes(),
        );
        for (i, h) in self.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":\"");
            out.extend_from_slice(&h.name);
            out.extend_from_slice(b"\",\"unit\":\"");
            out.extend_from_slice(&h.unit);
            out.extend_from_slice(b"\",\"aggregation\":\"");
            out.extend_from_slice(AGGREGATIONS[h.aggregation].as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}\n");
        if self.cbufd {
            let Some(delta) = self.delta.take() else {
                return Ok(());
            };
            for pair in delta.pairs::<Value, Value>() {
                let (t, row) = pair?;
                let Value::Table(row) = row else {
                    return Err(mlua::Error::runtime("Invalid delta table structure"));
                };
                number::write_output(lua_number(&t), out);
                for c in 0..self.columns {
                    out.push(b'\t');
                    match row.raw_get::<Value>(c as i64)? {
                        Value::Nil => out.extend_from_slice(b"nan"),
                        v => number::write_output(lua_number(&v), out),
                    }
                }
                out.push(b'\n');
            }
            return Ok(());
        }
        let mut row = self.current_row;
        for _ in 0..self.rows {
            row = (row + 1) % self.rows;
            for c in 0..self.columns {
                if c > 0 {
                    out.push(b'\t');
                }
                number::write_output(self.values[row * self.columns + c], out);
            }
            out.push(b'\n');
        }
        Ok(())
    }

    /// The preservation statements: the constructor (if the script has not made it already),
    /// the headers, and `fromstring` with the newest time and row, every value row by row
    /// (oldest slot first), then the pending delta rows (`time v1 v2 …`).
    pub(crate) fn preserve(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let key = String::from_utf8_lossy(key);
        let delta = if self.delta_enabled { ", true" } else { "" };
        out.extend_from_slice(
            format!(
                "if {key} == nil then {key} = circular_buffer.new({}, {}, {}{delta}) end\n",
                self.rows, self.columns, self.seconds_per_row
            )
            .as_bytes(),
        );
        for (i, h) in self.headers.iter().enumerate() {
            out.extend_from_slice(format!("{key}:set_header({}, \"", i + 1).as_bytes());
            out.extend_from_slice(&h.name);
            out.extend_from_slice(b"\", \"");
            out.extend_from_slice(&h.unit);
            out.extend_from_slice(b"\", \"");
            out.extend_from_slice(AGGREGATIONS[h.aggregation].as_bytes());
            out.extend_from_slice(b"\")\n");
        }
        out.extend_from_slice(
            format!(
                "{key}:fromstring(\"{} {}",
                self.current_time, self.current_row
            )
            .as_bytes(),
        );
        for v in &self.values {
            out.push(b' ');
            number::write_output(*v, out);
        }
        if let Some(delta) = self.delta.take() {
            for pair in delta.pairs::<Value, Value>() {
                let (t, row) = pair.map_err(|e| e.to_string())?;
                let Value::Table(row) = row else { continue };
                out.push(b' ');
                number::write_output(lua_number(&t), out);
                for c in 0..self.columns {
                    out.push(b' ');
                    // Our own difference: a column without a delta is written `nan` (and
                    // skipped when read back); lua_sandbox wrote 0, which came back as a delta
                    // of 0.
                    match row.raw_get::<Value>(c as i64).map_err(|e| e.to_string())? {
                        Value::Nil => out.extend_from_slice(b"nan"),
                        v => number::write_output(lua_number(&v), out),
                    }
                }
            }
        }
        out.extend_from_slice(b"\")\n");
        Ok(())
    }
}

fn lua_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => *n,
        Value::Integer(n) => *n as f64,
        _ => 0.0,
    }
}

fn add(lua: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let ns = a.number(2)?;
    let row = cb.row(ns, true);
    let column = cb.column(a, 3)?;
    let value = a.number(4)?;
    let Some(row) = row else {
        return Ok(one(Value::Nil));
    };
    let i = row * cb.columns + column;
    if cb.values[i].is_nan() {
        cb.values[i] = value;
    } else {
        cb.values[i] += value;
    }
    let now = cb.values[i];
    // Heka compat: a NaN value counts as a change (NaN != 0).
    if cb.delta_enabled && value != 0.0 {
        let d = if cb.headers[column].aggregation == SUM {
            value
        } else {
            now
        };
        cb.add_delta(lua, ns, column, d)?;
    }
    Ok(one(Value::Number(now)))
}

fn set(lua: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let ns = a.number(2)?;
    let row = cb.row(ns, true);
    let column = cb.column(a, 3)?;
    let value = a.number(4)?;
    let Some(row) = row else {
        return Ok(one(Value::Nil));
    };
    let i = row * cb.columns + column;
    let old = cb.values[i];
    match cb.headers[column].aggregation {
        MIN | MAX => {
            let min = cb.headers[column].aggregation == MIN;
            let replace = old.is_nan() || if min { value < old } else { value > old };
            if replace {
                cb.values[i] = value;
                if cb.delta_enabled {
                    cb.add_delta(lua, ns, column, value)?;
                }
            }
        }
        _ => {
            cb.values[i] = value;
            if cb.delta_enabled {
                // Heka compat: the change from a finite old value; from NaN or ±inf the new
                // value itself (lua_sandbox's circular_buffer_delta test, case 12).
                let d = if old.is_finite() { value - old } else { value };
                cb.add_delta(lua, ns, column, d)?;
            }
        }
    }
    Ok(one(Value::Number(cb.values[i])))
}

fn get(_: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let row = cb.row(a.number(2)?, false);
    let column = cb.column(a, 3)?;
    Ok(one(match row {
        Some(row) => Value::Number(cb.values[row * cb.columns + column]),
        None => Value::Nil,
    }))
}

/// Keeps the bytes of `s` up to its first NUL and at most `max` of them, with every byte
/// `keep` refuses replaced by `_`.
fn clean(s: &[u8], max: usize, keep: impl Fn(u8) -> bool) -> Vec<u8> {
    s.iter()
        .take_while(|&&b| b != 0)
        .take(max)
        .map(|&b| if keep(b) { b } else { b'_' })
        .collect()
}

fn set_header(_: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let column = cb.column(a, 2)?;
    let name = a.bytes(3)?;
    let unit = if a.is_none_or_nil(4) {
        b"count".to_vec()
    } else {
        a.bytes(4)?
    };
    let aggregation = a.option(5, Some("sum"), AGGREGATIONS)?;
    cb.headers[column] = Header {
        name: clean(&name, NAME_MAX, |b| b.is_ascii_alphanumeric()),
        unit: clean(&unit, UNIT_MAX, |b| {
            b.is_ascii_alphanumeric() || b == b'/' || b == b'*'
        }),
        aggregation,
    };
    Ok(one(Value::Integer(column as i64 + 1)))
}

fn get_header(lua: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let h = &cb.headers[cb.column(a, 2)?];
    Ok(MultiValue::from_iter([
        Value::String(lua.create_string(&h.name)?),
        Value::String(lua.create_string(&h.unit)?),
        Value::String(lua.create_string(AGGREGATIONS[h.aggregation])?),
    ]))
}

impl CircularBuffer {
    /// The values of `column` from row `start` to row `end` (inclusive, wrapping).
    fn range(&self, column: usize, start: usize, end: usize) -> Vec<f64> {
        let mut out = Vec::new();
        let mut row = start;
        loop {
            out.push(self.values[row * self.columns + column]);
            if row == end {
                break;
            }
            row = (row + 1) % self.rows;
        }
        out
    }
}

fn compute(_: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let function = a.option(2, None, FUNCTIONS)?;
    let column = cb.column(a, 3)?;
    let start_ns = a.opt_number(4, cb.start_time() as f64 * 1e9)?;
    let end_ns = a.opt_number(5, cb.current_time as f64 * 1e9)?;
    if end_ns < start_ns {
        return Err(a.error(5, "end must be >= start"));
    }
    let (Some(start), Some(end)) = (cb.row(start_ns, false), cb.row(end_ns, false)) else {
        return Ok(MultiValue::from_iter([Value::Nil, Value::Integer(0)]));
    };
    let values = cb.range(column, start, end);
    let (result, active) = match FUNCTIONS[function] {
        "sum" => sum(&values),
        "avg" => avg(&values),
        "sd" => {
            let (v, n) = variance(&values);
            (v.sqrt(), n)
        }
        "min" => min(&values),
        "max" => max(&values),
        _ => variance(&values),
    };
    Ok(MultiValue::from_iter([
        Value::Number(result),
        Value::Integer(active as i64),
    ]))
}

/// Sum of the non-NaN values (0 when there are none) and their count.
fn sum(values: &[f64]) -> (f64, usize) {
    let known: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    (known.iter().sum(), known.len())
}

/// Mean of the non-NaN values (NaN when there are none).
fn avg(values: &[f64]) -> (f64, usize) {
    let (s, n) = sum(values);
    (s / n as f64, n)
}

/// Population variance of the non-NaN values.
fn variance(values: &[f64]) -> (f64, usize) {
    let (mean, n) = avg(values);
    if mean.is_nan() {
        return (mean, n);
    }
    let squares: f64 = values
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean) * (v - mean))
        .sum();
    (squares / n as f64, n)
}

fn min(values: &[f64]) -> (f64, usize) {
    let mut result = f64::MAX;
    let mut n = 0;
    for v in values.iter().filter(|v| !v.is_nan()) {
        n += 1;
        if *v < result {
            result = *v;
        }
    }
    // Heka compat: the C code starts from DBL_MAX and reports NaN if it is still there.
    (if result == f64::MAX { f64::NAN } else { result }, n)
}

fn max(values: &[f64]) -> (f64, usize) {
    // Heka compat: the C code starts from DBL_MIN, the smallest *positive* double, so a
    // column whose values are all zero or negative has no maximum (NaN). Kept as Heka had it.
    let mut result = f64::MIN_POSITIVE;
    let mut n = 0;
    for v in values.iter().filter(|v| !v.is_nan()) {
        n += 1;
        if *v > result {
            result = *v;
        }
    }
    (
        if result == f64::MIN_POSITIVE {
            f64::NAN
        } else {
            result
        },
        n,
    )
}

/// Replaces each value by its rank (1-based; ties get their mean rank, NaNs rank lowest and tie
/// with each other) and returns the tie correction factor.
fn rank(values: &mut [f64]) -> f64 {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (values[a], values[b]);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        }
    });
    let same = |x: f64, y: f64| (x.is_nan() && y.is_nan()) || x == y;
    let mut ranks = vec![0.0; n];
    let mut tie_correction = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && same(values[order[i]], values[order[j]]) {
            j += 1;
        }
        let tied = (j - i) as f64;
        // Ranks i+1 ..= j, their mean.
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = r;
        }
        if tied > 1.0 {
            tie_correction += tied.powi(3) - tied;
        }
        i = j;
    }
    values.copy_from_slice(&ranks);
    let nf = n as f64;
    1.0 - tie_correction / (nf.powi(3) - nf)
}

unsafe extern "C" {
    fn erf(x: f64) -> f64;
    fn erfc(x: f64) -> f64;
}

/// The standard normal distribution function (Cephes' `ndtr`, which the C module used).
fn ndtr(a: f64) -> f64 {
    const SQRTH: f64 = std::f64::consts::FRAC_1_SQRT_2;
    let x = a * SQRTH;
    let z = x.abs();
    // SAFETY: erf and erfc are pure functions of the C library's libm (linked into every Rust
    // program on the platforms we build for), defined for every double.
    let (e, ec) = unsafe { (erf(x), erfc(z)) };
    if z < SQRTH {
        0.5 + 0.5 * e
    } else {
        let y = 0.5 * ec;
        if x > 0.0 { 1.0 - y } else { y }
    }
}

fn mannwhitneyu(_: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let n = a.len();
    if n > 7 {
        return Err(a.error(0, "too many arguments"));
    }
    let column = cb.column(a, 2)?;
    let start_1 = a.number(3)?;
    let end_1 = a.number(4)?;
    if end_1 < start_1 {
        return Err(a.error(4, "end_1 must be >= start_1"));
    }
    let start_2 = a.number(5)?;
    let end_2 = a.number(6)?;
    if end_2 < start_2 {
        return Err(a.error(6, "end_2 must be >= start_2"));
    }
    if !(end_1 < start_2 || end_2 < start_1) {
        return Err(a.error(4, "ranges must not overlap"));
    }
    let use_continuity = match (n, a.get(7)) {
        (7, Some(Value::Boolean(b))) => *b,
        (7, _) => return Err(a.error(7, "use_continuity must be a boolean")),
        _ => true,
    };
    let (Some(s1), Some(e1)) = (cb.row(start_1, false), cb.row(end_1, false)) else {
        return Ok(MultiValue::new());
    };
    let (Some(s2), Some(e2)) = (cb.row(start_2, false), cb.row(end_2, false)) else {
        return Ok(MultiValue::new());
    };
    let mut values = cb.range(column, s1, e1);
    let n1 = values.len();
    values.extend(cb.range(column, s2, e2));
    let n2 = values.len() - n1;
    let tie_correction = rank(&mut values);
    if tie_correction == 0.0 {
        // Every value is the same: no test.
        return Ok(MultiValue::new());
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let ranks_1: f64 = values[..n1 as usize].iter().sum();
    let u1 = ranks_1 - n1 * (n1 + 1.0) / 2.0;
    let u2 = n1 * n2 - u1;
    let lu = u1.max(u2);
    let sd = (tie_correction * n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    let continuity = if use_continuity { 0.5 } else { 0.0 };
    let z = ((lu - continuity - n1 * n2 / 2.0) / sd).abs();
    Ok(MultiValue::from_iter([
        Value::Number(u1),
        Value::Number(ndtr(-z)),
    ]))
}

/// Reads the next whitespace-separated number of a `fromstring` string (`nan`, `inf` and
/// `-inf` included).
fn next_number(words: &mut std::str::SplitAsciiWhitespace<'_>) -> Option<Option<f64>> {
    let w = words.next()?;
    Some(match w {
        "nan" | "-nan" => Some(f64::NAN),
        _ => w.parse::<f64>().ok(),
    })
}

fn fromstring(lua: &Lua, a: &Args<'_>, cb: &mut CircularBuffer) -> mlua::Result<MultiValue> {
    let s = a.bytes(2)?;
    let s = String::from_utf8_lossy(&s);
    let mut words = s.split_ascii_whitespace();
    let time = words.next().and_then(|w| w.parse::<i64>().ok());
    let row = words.next().and_then(|w| w.parse::<usize>().ok());
    let (Some(time), Some(row)) = (time, row) else {
        return Err(super::error(lua, "fromstring() invalid time or row"));
    };
    if row >= cb.rows {
        return Err(super::error(lua, "fromstring() invalid time or row"));
    }
    let len = cb.values.len();
    let mut values = Vec::with_capacity(len);
    while values.len() < len {
        match next_number(&mut words) {
            Some(Some(v)) => values.push(v),
            _ => break,
        }
    }
    if values.len() < len {
        return Err(super::error(
            lua,
            format!(
                "fromstring() too few values: {}, expected {len}",
                values.len()
            ),
        ));
    }
    cb.current_time = time;
    cb.current_row = row;
    cb.values = values;
    if cb.delta_enabled {
        let mut pos = 0;
        let mut ns = 0.0;
        while let Some(Some(v)) = next_number(&mut words) {
            if pos == 0 {
                ns = v * 1e9;
            } else if !v.is_nan() {
                cb.add_delta(lua, ns, pos - 1, v)?;
            }
            pos = if pos == cb.columns { 0 } else { pos + 1 };
        }
        if pos != 0 {
            return Err(mlua::Error::runtime("fromstring() invalid delta"));
        }
    } else if next_number(&mut words).is_some() {
        return Err(super::error(
            lua,
            format!("fromstring() too many values, more than: {len}"),
        ));
    }
    Ok(MultiValue::new())
}

#[cfg(test)]
mod tests;
