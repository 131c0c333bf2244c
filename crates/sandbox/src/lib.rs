//! Heka's Lua sandbox: a restricted PUC Lua 5.1 state running one plugin script, with Heka's
//! API, LPeg, `re` and cjson, and the three limits (memory, instructions per call, output).
//!
//! A [`Sandbox`] is what the five sandbox plugins (SandboxInput, SandboxDecoder,
//! SandboxFilter, SandboxEncoder, SandboxOutput in `heka_plugins`) wrap. It knows nothing of
//! runners or contexts: each call gets the message it runs on and returns what the script
//! injected ([`Injection`]) and how it changed the message (`write_message`); the plugin turns
//! that into packs, filter injections or encoded bytes and applies its kind's rules (type
//! prefixes, header back-filling, injection budgets). An input, whose script may never return,
//! hands its injections to an [`Injector`] as they happen instead, and stops the script with a
//! [`Stopper`].
//!
//! Lifecycle (Heka's lsb_init): the state is made with only the base library; the host
//! functions are registered (`output` under its core name while the script loads); the script
//! runs once at top level under the limits; preserved globals are restored if asked; then
//! `output` becomes `add_to_payload`. A Lua error, a limit or a bad return value during a call
//! **terminates** the sandbox: the Lua state is closed and every later call fails with the
//! same error ([`Terminated`]). [`Sandbox::stop`] writes preserved globals if the state still
//! lives.
//!
//! `write_message(name, value[, representation[, field_index[, array_index]]])` (decoders,
//! encoders) changes a copy of the message, returned in [`Outcome::written`]:
//! - `Type`, `Logger`, `Payload`, `EnvVersion`, `Hostname` take strings; `Uuid` its 36-character
//!   text form; `Timestamp` a number of ns or a text (an integer in Go's base-0 syntax, else
//!   [`Settings::parse_time`]); `Severity`, `Pid` a number or an integer text.
//! - `Fields[name]`: `field_index` (default 0) one past the last instance of that name creates a
//!   new one (a string makes a STRING field, a number always a DOUBLE, a boolean a BOOL); an
//!   existing instance takes only values of its own type (so never a number into an INTEGER
//!   field) at `array_index`, or appended one past its end, and its representation is replaced.
//!   `nil` deletes the instance, or with an `array_index` one element; a missing field is no
//!   error.
//! - Anything else fails with `write_message() failed` (the reason is logged), argument errors
//!   with Lua's `bad argument` texts.
//!
//! Errors of every API function reach the script as Lua strings with the caller's position,
//! as lua_sandbox's `luaL_error` raised them, so `pcall` hands the script the text.
//!
//! Parts: [`config`] (the TOML options every sandbox takes), `env` (the restricted globals and
//! `require`), `host` (the API functions, `write_message` among them), `callback` (host
//! functions fail with Lua strings, as lua_sandbox's did), `proto` (Lua tables ⇄ Heka
//! messages), `preserve` (the preservation file), [`number`] (lua_sandbox's number format),
//! `stats` (the [`Usage`] the report shows: memory, instructions per call, output).

mod callback;
pub mod config;
mod env;
mod fast;
mod host;
mod modules;
pub mod number;
mod pattern;
mod preserve;
mod proto;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use heka_message::Message;
use heka_pipeline::pack::Pack;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Value};

pub use config::SandboxConfig;
use host::Host;
pub use stats::Usage;

/// Which plugin kind a sandbox serves: decides which API functions exist and which
/// environment the script gets (Heka's availability matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SandboxInput: `inject_message`, no message to read; the I/O environment (`io`, most of
    /// `os`) and no instruction limit.
    Input,
    /// SandboxDecoder: `read_message`, `write_message`, `inject_message`, `inject_payload`,
    /// `add_to_payload`.
    Decoder,
    /// SandboxFilter: `read_message`, `inject_message`, `inject_payload`, `add_to_payload`, and
    /// `timer_event`.
    Filter,
    /// SandboxEncoder: as the decoder; what it injects is the encoded output.
    Encoder,
    /// SandboxOutput: `read_message` and `timer_event`, no injection; the I/O environment and
    /// no instruction limit.
    Output,
}

impl Kind {
    /// Inputs and outputs get Heka's I/O template (`io`, `os`, `coroutine`, no instruction
    /// limit).
    pub fn io(self) -> bool {
        matches!(self, Kind::Input | Kind::Output)
    }

    /// Has `add_to_payload` and `inject_payload`.
    fn has_payload(self) -> bool {
        matches!(self, Kind::Decoder | Kind::Filter | Kind::Encoder)
    }
}

/// The limits of one sandbox; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of memory the Lua state may hold.
    pub memory: usize,
    /// VM instructions per `process_message` / `timer_event` call (and for loading).
    pub instructions: u32,
    /// Bytes of the output buffer (at most `output - 1` bytes of payload fit, as in Heka).
    pub output: usize,
}

impl Default for Limits {
    /// Heka's defaults: 8 MiB, 1,000,000 instructions, 63 KiB.
    fn default() -> Limits {
        Limits {
            memory: 8 * 1024 * 1024,
            instructions: 1_000_000,
            output: 63 * 1024,
        }
    }
}

/// Everything needed to start a sandbox.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which API the script gets.
    pub kind: Kind,
    /// The script file.
    pub script: PathBuf,
    /// Directories searched by `require` for `<name>.lua` (dots in names become `/`).
    pub module_dirs: Vec<PathBuf>,
    /// The limits.
    pub limits: Limits,
    /// The `[<plugin>.config]` table, read by `read_config`.
    pub config: toml::Table,
    /// Where the globals are preserved between runs (`None`: `preserve_data` is off).
    pub preservation: Option<PathBuf>,
    /// `write_message("Timestamp", text)` for text that is not an integer: Heka's
    /// `ForgivingTimeParse` in UTC (Go's named layouts), supplied by the plugins; `None`
    /// refuses such text.
    pub parse_time: Option<ParseTime>,
}

/// Reads a timestamp text as nanoseconds since the epoch (see [`Settings::parse_time`]).
pub type ParseTime = fn(&[u8]) -> Option<i64>;

/// The sandbox stopped for good; the text is Heka's (`process_message() <lua error>`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Terminated(pub String);

/// The sandbox could not start (the script failed to load or run its top level).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Something the script injected during a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Injection {
    /// `inject_message(table)` or `inject_message(bytes)`: a whole message. `has_uuid` /
    /// `has_timestamp` tell whether the script gave them (a decoder fills the others in).
    Message {
        /// The message.
        message: Message,
        /// The script set Uuid (raw bytes of length 16 present).
        has_uuid: bool,
        /// The script set Timestamp.
        has_timestamp: bool,
    },
    /// An encoder's `inject_message(bytes)`: its output, verbatim.
    Raw(Bytes),
    /// `inject_payload(type, name, ...)`: the payload buffer with its type and name.
    Payload {
        /// The payload (the output buffer's contents).
        payload: Bytes,
        /// `payload_type` (`txt` when not given).
        payload_type: Bytes,
        /// `payload_name` (empty when not given).
        payload_name: Bytes,
    },
}

/// Takes an input's injections as the script makes them; an error text is raised in the
/// script as `inject_message() <text>` (`aborted` when hekad is stopping).
pub type Injector = Box<dyn FnMut(Injection) -> Result<(), String> + Send>;

/// What one `process_message` call returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The status code: 0 ok, < 0 failure. Above 0 only for encoders (one failed message; the
    /// other kinds stop for good and get [`Terminated`] instead).
    pub status: i32,
    /// The error string returned with the status, if any.
    pub error: Option<String>,
    /// What the script injected, in order (nothing for an input with an [`Injector`]).
    pub injected: Vec<Injection>,
    /// Decoders and encoders: the message as `write_message` left it, when the script changed
    /// it (a copy: the pack given to the call is untouched).
    pub written: Option<Message>,
    /// Decoders: the message as `write_message` had left it at the call's first injection,
    /// when it had changed it by then (injected messages inherit its headers).
    pub written_at_inject: Option<Message>,
}

/// Stops an input's script from another thread: the script fails with `shutting down` at its
/// next Lua instructions (a script waiting inside a C function, such as a read, is not
/// interrupted), as Heka's `Stop` did.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the script to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Heka's error text when an input's script is stopped.
const SHUTTING_DOWN: &str = "shutting down";

/// How often (in VM instructions) an input's script looks at its stop flag.
const STOP_POLL: u32 = 1000;

/// How many injections a call may make, and the error text once they are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectBudget {
    /// No limit (decoders).
    Unlimited,
    /// At most this many (filters: `max_process_inject` / `max_timer_inject`).
    AtMost(u32),
}

/// One Lua 5.1 state running one plugin script.
pub struct Sandbox {
    lua: Option<Lua>,
    settings: Settings,
    terminated: Option<String>,
    stop: Arc<AtomicBool>,
    /// The registry reference of the name `process_message` (see [`fast::call_status`]).
    process_name: std::ffi::c_int,
    usage: Arc<Usage>,
    /// The state's host cell.
    host: host::HostRef,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("script", &self.settings.script)
            .field("terminated", &self.terminated)
            .finish()
    }
}

impl Sandbox {
    /// Starts a sandbox: loads and runs the script, then restores preserved globals. A
    /// preservation file that fails to load is reported (logged) and the sandbox starts again
    /// without it. Inputs and outputs run without an instruction limit, as in Heka.
    pub fn start(mut settings: Settings) -> Result<Sandbox, StartError> {
        if settings.kind.io() {
            settings.limits.instructions = 0;
        }
        let lua = init(&settings, true)?;
        let lua = match lua {
            Ok(lua) => lua,
            Err(restore_error) => {
                tracing::error!(
                    script = %settings.script.display(),
                    "{restore_error}; starting without the preserved data"
                );
                match init(&settings, false)? {
                    Ok(lua) => lua,
                    Err(e) => return Err(StartError(e)),
                }
            }
        };
        let process_name =
            fast::name_ref(&lua, "process_message").map_err(|e| StartError(error_text(&e)))?;
        let usage = Arc::new(Usage::default());
        usage.note_memory(&lua);
        let host = host::HostRef::of(&lua).map_err(|e| StartError(error_text(&e)))?;
        Ok(Sandbox {
            lua: Some(lua),
            settings,
            terminated: None,
            stop: Arc::new(AtomicBool::new(false)),
            process_name,
            usage,
            host,
        })
    }

    /// Whether the script's global `name` is the boolean `true` (read without calling into the
    /// script; false once the sandbox has terminated).
    pub fn global_is_true(&self, name: &str) -> bool {
        self.lua.as_ref().is_some_and(|lua| {
            matches!(
                lua.globals().raw_get::<mlua::Value>(name),
                Ok(mlua::Value::Boolean(true))
            )
        })
    }

    /// Stops an input's script from another thread (see [`Stopper`]).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Where an input's injections go from now on, as the script makes them (`None`: they are
    /// collected into the call's [`Outcome`]).
    pub fn set_injector(&mut self, injector: Option<Injector>) {
        if let Some(lua) = &self.lua
            && let Ok(mut host) = self.host.get(lua).try_borrow_mut()
        {
            host.set_injector(injector);
        }
    }

    /// The error that terminated the sandbox, if it was terminated.
    pub fn terminated(&self) -> Option<&str> {
        self.terminated.as_deref()
    }

    /// The sandbox's usage (memory, instructions, output), updated after every call.
    pub fn usage(&self) -> &Arc<Usage> {
        &self.usage
    }

    /// Keeps the usage in `usage` from now on (a plugin's, shown in the report), starting with
    /// the memory the state holds now.
    pub fn set_usage(&mut self, usage: Arc<Usage>) {
        if let Some(lua) = &self.lua {
            usage.note_memory(lua);
        }
        self.usage = usage;
    }

    /// Bytes the Lua state holds now (0 once terminated).
    pub fn memory(&self) -> usize {
        self.lua.as_ref().map_or(0, Lua::used_memory)
    }

    /// Calls the script's `process_message()` with `pack` as the current message.
    ///
    /// A status above 0 stops the sandbox for good ([`Terminated`] with the returned error
    /// string; the state stays alive so that its data can still be preserved), except in an
    /// encoder, where it fails that one message.
    pub fn process_message(
        &mut self,
        pack: &Pack,
        budget: InjectBudget,
    ) -> Result<Outcome, Terminated> {
        self.call_process(Some(pack), budget)
    }

    /// An input's `process_message()`: no message; injections go to the [`Injector`] (or
    /// into the outcome when there is none). Status above 0: as [`Sandbox::process_message`].
    pub fn process_input(&mut self) -> Result<Outcome, Terminated> {
        self.call_process(None, InjectBudget::Unlimited)
    }

    fn call_process(
        &mut self,
        pack: Option<&Pack>,
        budget: InjectBudget,
    ) -> Result<Outcome, Terminated> {
        const NAME: &str = "process_message";
        let lua = self.live()?;
        let cell = self.host.get(lua);
        {
            let Ok(mut host) = cell.try_borrow_mut() else {
                return Err(Terminated("sandbox host state busy".into()));
            };
            // SAFETY: `pack` is borrowed for this whole function; `end_call` below runs on
            // every path after the Lua call, and `forget` lets go of the pack even when a
            // panic unwinds through here.
            #[allow(unsafe_code)]
            unsafe {
                host.begin_call(pack, budget)
            };
        }
        let forget = host::ForgetPack(cell);
        let result = if self.settings.kind == Kind::Input {
            // An input's hook also watches its stop flag: mlua's hook does that.
            let stop = self.stop_flag();
            call(lua, NAME, Value::Nil, 0, stop, &self.usage).and_then(|v| returns(&v))
        } else {
            let limit = self.settings.limits.instructions;
            match fast::call_status(lua, self.process_name, None, limit, &self.usage) {
                Ok(r) => Ok(r),
                Err(fast::CallError::NotFound) => Err("function was not found".to_string()),
                Err(fast::CallError::Returns(why)) => Err(why.to_string()),
                Err(fast::CallError::Lua(e)) => {
                    // Lua 5.1 has no emergency collection: free what the failed call left.
                    let _ = lua.gc_collect();
                    Err(error_text(&e))
                }
            }
        };
        let data = end_call(cell);
        drop(forget);
        self.usage.note_output(data.largest_output);
        let (status, error) = match result {
            Ok(r) => r,
            Err(e) => return Err(self.fail(format!("{NAME}() {e}"))),
        };
        if status > 0 && self.settings.kind != Kind::Encoder {
            let text = error.clone().unwrap_or_default();
            self.terminated = Some(text.clone());
            return Err(Terminated(text));
        }
        Ok(Outcome {
            status,
            error,
            injected: data.injected,
            written: data.written,
            written_at_inject: data.written_at_inject,
        })
    }

    /// The stop flag the script's hook looks at (inputs only).
    fn stop_flag(&self) -> Option<Arc<AtomicBool>> {
        (self.settings.kind == Kind::Input).then(|| self.stop.clone())
    }

    /// Calls the script's `timer_event(ns)`; returns what it injected. A full garbage
    /// collection follows a successful call, as in Heka.
    pub fn timer_event(
        &mut self,
        ns: i64,
        budget: InjectBudget,
    ) -> Result<Vec<Injection>, Terminated> {
        const NAME: &str = "timer_event";
        let lua = self.live()?;
        let cell = self.host.get(lua);
        {
            let Ok(mut host) = cell.try_borrow_mut() else {
                return Err(Terminated("sandbox host state busy".into()));
            };
            // SAFETY: no pack.
            #[allow(unsafe_code)]
            unsafe {
                host.begin_call(None, budget)
            };
        }
        let result = call(
            lua,
            NAME,
            Value::Number(ns as f64),
            self.settings.limits.instructions,
            None,
            &self.usage,
        );
        let data = end_call(cell);
        self.usage.note_output(data.largest_output);
        let injected = data.injected;
        match result {
            Ok(_) => {
                let _ = lua.gc_collect();
                Ok(injected)
            }
            Err(e) => Err(self.fail(format!("{NAME}() {e}"))),
        }
    }

    /// Stops the sandbox: preserves its globals when `preserve_data` is on and the state
    /// still lives (a sandbox terminated by an error or a limit preserves nothing, as in
    /// Heka), then closes the state.
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(lua) = self.lua.take() else {
            return Ok(());
        };
        let Some(path) = &self.settings.preservation else {
            return Ok(());
        };
        lift_limits(&lua);
        preserve::save(&lua, path)
    }

    fn live(&self) -> Result<&Lua, Terminated> {
        match (&self.lua, &self.terminated) {
            (Some(lua), None) => Ok(lua),
            (_, Some(e)) => Err(Terminated(e.clone())),
            (None, None) => Err(Terminated("sandbox stopped".into())),
        }
    }

    /// Stops the sandbox after an error in a call; every later call fails with `why`. The
    /// state is closed (nothing will be preserved), unless the error ends in `aborted` (an
    /// injection refused because hekad is stopping): Heka kept that state so that its data
    /// could still be preserved.
    fn fail(&mut self, why: String) -> Terminated {
        let why = truncate_error(why);
        if !why.ends_with("aborted") {
            self.lua = None;
        }
        self.terminated = Some(why.clone());
        Terminated(why)
    }
}

/// Heka's sandbox keeps error messages in a 255-byte buffer.
fn truncate_error(mut s: String) -> String {
    if s.len() > 255 {
        let mut end = 255;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Makes the Lua state and runs the script. The outer error is a start failure; the inner
/// one a preservation file that failed to load (`restore` true only).
fn init(settings: &Settings, restore: bool) -> Result<Result<Lua, String>, StartError> {
    let mut libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::OS;
    if settings.kind.io() {
        libs |= StdLib::IO;
    }
    let lua = Lua::new_with(libs, LuaOptions::default())
        .map_err(|e| StartError(format!("cannot create the Lua state: {e}")))?;
    let fail = |e: mlua::Error| StartError(error_text(&e));
    stats::check_layout(&lua);
    lua.set_app_data(host::HostCell::new(Host::new(settings)));
    env::install(&lua, settings).map_err(fail)?;
    host::install(&lua, settings.kind).map_err(fail)?;
    let code = std::fs::read(&settings.script).map_err(|e| {
        StartError(format!(
            "cannot open {}: {}",
            settings.script.display(),
            io_text(&e)
        ))
    })?;
    let _ = lua.gc_collect();
    set_limits(&lua, settings.limits);
    let chunk = lua
        .load(code)
        .set_name(format!("@{}", settings.script.display()))
        .set_mode(mlua::chunk::ChunkMode::Text);
    chunk.exec().map_err(|e| StartError(error_text(&e)))?;
    lift_limits(&lua);
    let _ = lua.gc_collect();
    if let (true, Some(path)) = (restore, &settings.preservation)
        && let Err(e) = preserve::restore(&lua, path)
    {
        return Ok(Err(e));
    }
    host::finish_load(&lua, settings.kind).map_err(fail)?;
    if settings.limits.memory > 0 {
        let _ = lua.set_memory_limit(settings.limits.memory);
    }
    Ok(Ok(lua))
}

/// Arms the memory limit and the instruction hook for a script run.
fn set_limits(lua: &Lua, limits: Limits) {
    if limits.memory > 0 {
        let _ = lua.set_memory_limit(limits.memory);
    }
    arm_instruction_limit(lua, limits.instructions, None);
}

/// Limits are lifted while data is preserved or restored.
fn lift_limits(lua: &Lua) {
    let _ = lua.set_memory_limit(0);
    lua.remove_hook();
    callback::disarm_hook(lua);
}

/// Lua's count hook fires after `limit` VM instructions; (re)setting it restarts the count.
/// With a stop flag (inputs, which have no limit) the hook looks at the flag every
/// [`STOP_POLL`] instructions instead.
fn arm_instruction_limit(lua: &Lua, limit: u32, stop: Option<Arc<AtomicBool>>) {
    let hooked = match (limit, stop) {
        (0, None) => {
            lua.remove_hook();
            return;
        }
        (0, Some(stop)) => lua.set_hook(
            HookTriggers::new().every_nth_instruction(STOP_POLL),
            move |_, _| {
                if stop.load(Ordering::Relaxed) {
                    return Err(mlua::Error::runtime(SHUTTING_DOWN));
                }
                Ok(mlua::VmState::Continue)
            },
        ),
        (limit, _) => {
            callback::arm_count_limit(lua, limit);
            return;
        }
    };
    if let Err(e) = hooked {
        tracing::error!("cannot set the instruction limit: {e}");
    }
}

/// Calls the global function `name` with `arg` (none when nil) under the instruction limit
/// (or, for an input, watching its stop flag).
fn call(
    lua: &Lua,
    name: &'static str,
    arg: Value,
    instructions: u32,
    stop: Option<Arc<AtomicBool>>,
    usage: &Usage,
) -> Result<mlua::MultiValue, String> {
    let f: Value = lua
        .globals()
        .raw_get(entry_name(lua, name)?)
        .map_err(|e| error_text(&e))?;
    let Value::Function(f) = f else {
        return Err("function was not found".into());
    };
    let polled = stop.is_some();
    arm_instruction_limit(lua, instructions, stop);
    let r = call_function(&f, arg);
    usage.note_call(lua, if polled { 0 } else { instructions });
    if polled {
        lua.remove_hook();
    } else {
        callback::disarm_hook(lua);
    }
    if r.is_err() {
        // Lua 5.1 has no emergency collection: free what the failed call left.
        let _ = lua.gc_collect();
    }
    r.map_err(|e| error_text(&e))
}

/// The Lua strings of the entry points' names, made once per state: looking a global up by a
/// Rust `&str` makes a new Lua string, through a protected call, every time.
struct EntryNames(Vec<(&'static str, mlua::LuaString)>);

fn entry_name(lua: &Lua, name: &'static str) -> Result<mlua::LuaString, String> {
    if let Some(names) = lua.app_data_ref::<EntryNames>()
        && let Some((_, s)) = names.0.iter().find(|(n, _)| *n == name)
    {
        return Ok(s.clone());
    }
    let s = lua.create_string(name).map_err(|e| error_text(&e))?;
    match lua.app_data_mut::<EntryNames>() {
        Some(mut names) => names.0.push((name, s.clone())),
        None => {
            lua.set_app_data(EntryNames(vec![(name, s.clone())]));
        }
    }
    Ok(s)
}

fn call_function(f: &Function, arg: Value) -> mlua::Result<mlua::MultiValue> {
    match arg {
        Value::Nil => f.call(()),
        v => f.call(v),
    }
}

/// `process_message` must return a number and nil or a string.
fn returns(values: &mlua::MultiValue) -> Result<(i32, Option<String>), String> {
    let status = match values.front() {
        Some(Value::Number(n)) => *n as i32,
        Some(Value::Integer(n)) => *n as i32,
        _ => return Err("must return a numeric status code".into()),
    };
    let error = match values.get(1) {
        None | Some(Value::Nil) => None,
        Some(Value::String(s)) => Some(s.to_string_lossy()),
        Some(_) => return Err("must return a nil or string error message".into()),
    };
    Ok((status, error))
}

fn end_call(cell: &std::cell::RefCell<Host>) -> host::CallData {
    match cell.try_borrow_mut() {
        Ok(mut h) => h.end_call(),
        Err(_) => host::CallData::default(),
    }
}

/// The text of a Lua error as Heka shows it: the message without mlua's wrapping or the
/// stack traceback.
pub(crate) fn error_text(e: &mlua::Error) -> String {
    use mlua::Error as E;
    let s = match e {
        E::RuntimeError(s) | E::SyntaxError { message: s, .. } => s.clone(),
        E::MemoryError(_) => "not enough memory".to_string(),
        E::CallbackError { cause, .. } => return error_text(cause),
        E::WithContext { cause, .. } => return error_text(cause),
        E::ExternalError(e) => e.to_string(),
        other => other.to_string(),
    };
    let s = match s.find("\nstack traceback:") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    truncate_error(s)
}

/// An I/O error as C's `strerror` words it (`No such file or directory`).
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod library_decoder_tests;
#[cfg(test)]
mod library_encoder_tests;
#[cfg(test)]
mod library_filter_tests;
#[cfg(test)]
mod library_tests;
#[cfg(test)]
mod tests;
