//! A sandbox's usage, as Heka's report showed it (`Memory`, `MaxMemory`, `MaxInstructions`,
//! `MaxOutput`): atomics the plugin's thread stores after each call and the report reads from
//! its own thread.
//!
//! - Memory: the bytes the Lua state holds after a call (and after the script loaded);
//!   `MaxMemory` is the largest of those. lua_sandbox's allocator saw the peak *inside* a
//!   call; ours is read between calls, so garbage made during a call counts (no collection
//!   runs in between) but memory freed before the call returns does not.
//! - Instructions: the VM instructions of the largest call, read from Lua's count hook (the
//!   instruction limit): Lua counts the hook down at every instruction, and what is left when
//!   the call returns gives the instructions it ran, as lua_sandbox read it
//!   (`lua_gethookcount(L) - lua_gethookcountremaining(L)`, an API its patched Lua added;
//!   ours reads `L->hookcount` from the `lua_State` layout, checked once at the first start).
//!   Nothing to read without a limit: inputs and outputs (whose limit is forced to 0) and
//!   `instruction_limit = 0` show 0, as in Heka. If the layout check fails, every sandbox
//!   shows 0.
//! - Output: the largest output of one injection (payload, or message bytes), which is what
//!   lua_sandbox's output buffer held when it injected.
//!
//! The per-call cost is one pass through mlua's lock and a few loads and stores (no atomic
//! read-modify-write: one thread stores into a sandbox's usage at a time, except decoders of
//! several streams sharing one, where a maximum may miss a concurrent larger one).

// Reading `hookcount` from Lua 5.1's `lua_State`.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_uchar, c_ushort, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use mlua::{Lua, ffi};

/// The usage of one sandbox (or of the instances of one plugin sharing it).
#[derive(Debug, Default)]
pub struct Usage {
    memory: AtomicU64,
    max_memory: AtomicU64,
    max_instructions: AtomicU64,
    max_output: AtomicU64,
}

/// Stores `v` if above the maximum (one writer: no read-modify-write needed).
fn raise(max: &AtomicU64, v: u64) {
    if v > max.load(Ordering::Relaxed) {
        max.store(v, Ordering::Relaxed);
    }
}

impl Usage {
    /// Bytes the Lua state held after the last call.
    pub fn memory(&self) -> u64 {
        self.memory.load(Ordering::Relaxed)
    }

    /// The most bytes the Lua state held after a call.
    pub fn max_memory(&self) -> u64 {
        self.max_memory.load(Ordering::Relaxed)
    }

    /// The instructions of the largest call (0 without an instruction limit).
    pub fn max_instructions(&self) -> u64 {
        self.max_instructions.load(Ordering::Relaxed)
    }

    /// The largest output of one injection, in bytes.
    pub fn max_output(&self) -> u64 {
        self.max_output.load(Ordering::Relaxed)
    }

    /// Notes the state's memory now.
    pub(crate) fn note_memory(&self, lua: &Lua) {
        self.note_call(lua, 0);
    }

    /// Notes, when a call has just returned, the state's memory and the instructions the call
    /// ran under the count hook armed with `limit` (so before the hook is disarmed): one pass
    /// through mlua's lock.
    pub(crate) fn note_call(&self, lua: &Lua, limit: u32) {
        // SAFETY: the state is live while mlua's lock is held.
        lua.exec_raw_lua(|raw| unsafe { self.note_state(raw.state(), limit) });
    }

    /// [`Usage::note_call`] on a raw state.
    ///
    /// # Safety
    /// `state` is live and locked, and no hook other than the count hook armed with `limit`
    /// (if any) has been set since the call.
    pub(crate) unsafe fn note_state(&self, state: *mut ffi::lua_State, limit: u32) {
        // SAFETY: per the contract; lua_gc only reads the collector's byte count; the prefix
        // is read only once its layout was checked.
        let (memory, left) = unsafe {
            let kb = ffi::lua_gc(state, ffi::LUA_GCCOUNT, 0);
            let rem = ffi::lua_gc(state, ffi::LUA_GCCOUNTB, 0);
            let memory = u64::try_from(kb).unwrap_or(0) * 1024 + u64::try_from(rem).unwrap_or(0);
            let left = (limit > 0 && LAYOUT_OK.get().copied() == Some(true))
                .then(|| (*state.cast::<LuaStatePrefix>()).hookcount);
            (memory, left)
        };
        self.memory.store(memory, Ordering::Relaxed);
        raise(&self.max_memory, memory);
        if let Some(left) = left {
            let used = u64::from(limit).saturating_sub(u64::try_from(left).unwrap_or(0));
            raise(&self.max_instructions, used);
        }
    }

    /// Notes an output of `bytes` (an injection).
    pub fn note_output(&self, bytes: usize) {
        raise(&self.max_output, bytes as u64);
    }
}

/// The start of Lua 5.1.5's `struct lua_State` (lstate.h), up to the hook counts.
#[repr(C)]
struct LuaStatePrefix {
    next: *mut c_void,
    tt: c_uchar,
    marked: c_uchar,
    status: c_uchar,
    top: *mut c_void,
    base: *mut c_void,
    l_g: *mut c_void,
    ci: *mut c_void,
    savedpc: *const c_void,
    stack_last: *mut c_void,
    stack: *mut c_void,
    end_ci: *mut c_void,
    base_ci: *mut c_void,
    stacksize: c_int,
    size_ci: c_int,
    n_ccalls: c_ushort,
    base_ccalls: c_ushort,
    hookmask: c_uchar,
    allowhook: c_uchar,
    basehookcount: c_int,
    hookcount: c_int,
}

/// Whether [`LuaStatePrefix`] is the layout of the Lua we are linked with: checked once
/// against `lua_gethookcount` / `lua_gethookmask` with two hook settings.
static LAYOUT_OK: OnceLock<bool> = OnceLock::new();

fn layout_ok(state: *mut ffi::lua_State) -> bool {
    *LAYOUT_OK.get_or_init(|| {
        // SAFETY: `state` is a live main state (mlua's lock is held); the prefix is read only
        // after sethook/gethook, and the hook set here is removed before returning (the
        // caller re-arms what it needs).
        unsafe {
            let p = state.cast::<LuaStatePrefix>();
            let mut ok = true;
            for count in [0x1234_5678, 77] {
                ffi::lua_sethook(state, Some(noop_hook), ffi::LUA_MASKCOUNT, count);
                let s = &*p;
                ok &= s.basehookcount == ffi::lua_gethookcount(state)
                    && s.basehookcount == count
                    && s.hookcount == count
                    && c_int::from(s.hookmask) == ffi::lua_gethookmask(state);
            }
            ffi::lua_sethook(state, None, 0, 0);
            ok
        }
    })
}

unsafe extern "C-unwind" fn noop_hook(_: *mut ffi::lua_State, _: *mut ffi::lua_Debug) {}

/// What is left of the count hook's count on the main state, if the layout is known.
#[cfg(test)]
fn hook_count_left(lua: &Lua) -> Option<c_int> {
    lua.exec_raw_lua(|raw| {
        let state = raw.state();
        // SAFETY: the state is live while mlua's lock is held; the prefix layout was checked.
        if LAYOUT_OK.get().copied() == Some(true) {
            return Some(unsafe { (*state.cast::<LuaStatePrefix>()).hookcount });
        }
        None
    })
}

/// Checks the `lua_State` layout once (at a sandbox's start, before any hook is armed), so
/// that reading the hook count later costs one load.
pub(crate) fn check_layout(lua: &Lua) {
    if LAYOUT_OK.get().is_none() {
        lua.exec_raw_lua(|raw| layout_ok(raw.state()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InjectBudget, Kind, Sandbox};
    use heka_message::Message;
    use heka_pipeline::pack::Pack;

    fn start(kind: Kind, script: &str) -> (tempfile::TempDir, Sandbox) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.lua");
        std::fs::write(&path, script).unwrap();
        let mut settings = crate::library_tests::settings(kind, path, toml::Table::new());
        settings.limits.memory = 1_000_000;
        (dir, Sandbox::start(settings).unwrap())
    }

    fn pack(payload: &str) -> Pack {
        let mut m = Message::default();
        m.set_payload(payload.to_string());
        Pack::new(m)
    }

    #[test]
    fn a_filter_sandbox_keeps_its_usage() {
        let (_dir, mut sb) = start(
            Kind::Filter,
            r#"
            require "string"
            t = {}
            function process_message()
                local n = tonumber(read_message("Payload"))
                for i = 1, n do t[#t + 1] = i end
                return 0
            end
            function timer_event(ns) inject_payload("txt", "n", string.rep("x", #t)) end
            "#,
        );
        let usage = sb.usage().clone();
        let loaded = usage.memory();
        assert!(loaded > 0 && loaded == usage.max_memory());
        assert_eq!(usage.max_instructions(), 0, "nothing ran yet");
        sb.process_message(&pack("10"), InjectBudget::Unlimited)
            .unwrap();
        let small = usage.max_instructions();
        sb.process_message(&pack("1000"), InjectBudget::Unlimited)
            .unwrap();
        let large = usage.max_instructions();
        assert!(small > 10 && large > 10 * small, "{small} {large}");
        // A smaller call leaves the maximum.
        sb.process_message(&pack("1"), InjectBudget::Unlimited)
            .unwrap();
        assert_eq!(usage.max_instructions(), large);
        let mem = usage.memory();
        assert!(mem > loaded && mem <= 1_000_000, "{loaded} {mem}");
        assert_eq!(mem, sb.memory() as u64, "Lua's count is mlua's");
        assert!(usage.max_memory() >= mem);
        assert_eq!(usage.max_output(), 0);
        sb.timer_event(0, InjectBudget::Unlimited).unwrap();
        assert_eq!(usage.max_output(), 1011);

        // A plugin's own usage takes over, starting with the memory held now.
        let shared = std::sync::Arc::new(Usage::default());
        sb.set_usage(shared.clone());
        assert!(shared.memory() > 0);
        assert_eq!(shared.max_instructions(), 0);
        sb.process_message(&pack("5"), InjectBudget::Unlimited)
            .unwrap();
        assert!(shared.max_instructions() > 0);
        assert_eq!(
            usage.max_instructions(),
            large,
            "the old one no longer moves"
        );
    }

    #[test]
    fn without_an_instruction_limit_nothing_is_counted() {
        let (_dir, mut sb) = start(
            Kind::Output,
            "function process_message() local x = 0 for i = 1, 100 do x = x + i end return 0 end",
        );
        sb.process_message(&pack(""), InjectBudget::Unlimited)
            .unwrap();
        assert_eq!(sb.usage().max_instructions(), 0);
        assert!(sb.usage().memory() > 0);
    }

    #[test]
    fn injected_messages_count_their_protobuf_size() {
        let (_dir, mut sb) = start(
            Kind::Decoder,
            r#"function process_message() inject_message({Type = "t", Payload = "12345"}) return 0 end"#,
        );
        let out = sb
            .process_message(&pack(""), InjectBudget::Unlimited)
            .unwrap();
        let crate::Injection::Message { message, .. } = &out.injected[0] else {
            panic!("{out:?}")
        };
        let size = prost::Message::encoded_len(message) as u64;
        assert!(size > 7);
        assert_eq!(sb.usage().max_output(), size);
    }

    #[test]
    fn the_hook_count_is_readable_and_counts_down() {
        let lua = Lua::new();
        check_layout(&lua);
        assert_eq!(LAYOUT_OK.get(), Some(&true));
        crate::callback::arm_count_limit(&lua, 1_000_000);
        let f: mlua::Function = lua
            .load("return function(n) local x = 0 for i = 1, n do x = x + i end return x end")
            .eval()
            .unwrap();
        crate::callback::arm_count_limit(&lua, 1_000_000);
        f.call::<f64>(10).unwrap();
        let small = 1_000_000 - hook_count_left(&lua).unwrap();
        crate::callback::arm_count_limit(&lua, 1_000_000);
        f.call::<f64>(1000).unwrap();
        let large = 1_000_000 - hook_count_left(&lua).unwrap();
        assert!(small > 0 && small < 100, "{small}");
        // A numeric for loop of one addition: about 2 instructions an iteration.
        assert!((2000..2100).contains(&large), "{large}");
    }
}
