//! Heka's Lua sandbox: a restricted PUC Lua 5.1 state running one plugin script, with Heka's
//! API, LPeg, `re` and cjson, and the three limits (memory, instructions per call, output).
//!
//! A [`Sandbox`] is what the sandbox plugins (`heka_plugins::decoders::sandbox`,
//! `heka_plugins::filters::sandbox`, later the input, encoder and output) wrap. It knows
//! nothing of runners or contexts: each call gets the message it runs on and returns what the
//! script injected ([`Injection`]); the plugin turns that into packs or filter injections and
//! applies its kind's rules (type prefixes, header back-filling, injection budgets).
//!
//! Lifecycle (Heka's lsb_init): the state is made with only the base library; the host
//! functions are registered (`output` under its core name while the script loads); the script
//! runs once at top level under the limits; preserved globals are restored if asked; then
//! `output` becomes `add_to_payload`. A Lua error, a limit or a bad return value during a call
//! **terminates** the sandbox: the Lua state is closed and every later call fails with the
//! same error ([`Terminated`]). [`Sandbox::stop`] writes preserved globals if the state still
//! lives.
//!
//! Parts: [`config`] (the TOML options every sandbox takes), `env` (the restricted globals and
//! `require`), `host` (the API functions), `proto` (Lua tables ⇄ Heka messages), `preserve`
//! (the preservation file), [`number`] (lua_sandbox's number format).

pub mod config;
mod env;
mod host;
mod modules;
pub mod number;
mod preserve;
mod proto;

use std::path::PathBuf;

use bytes::Bytes;
use heka_message::Message;
use heka_pipeline::pack::Pack;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Value};

pub use config::SandboxConfig;
use host::Host;

/// Which plugin kind a sandbox serves: decides which API functions exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SandboxDecoder: `read_message`, `inject_message`, `inject_payload`, `add_to_payload`.
    Decoder,
    /// SandboxFilter: as the decoder, plus `timer_event`.
    Filter,
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
}

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

/// What one `process_message` call returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The status code (0 ok, < 0 failure; > 0 has already terminated the sandbox).
    pub status: i32,
    /// The error string returned with the status, if any.
    pub error: Option<String>,
    /// What the script injected, in order.
    pub injected: Vec<Injection>,
}

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
    /// without it.
    pub fn start(settings: Settings) -> Result<Sandbox, StartError> {
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
        Ok(Sandbox {
            lua: Some(lua),
            settings,
            terminated: None,
        })
    }

    /// The error that terminated the sandbox, if it was terminated.
    pub fn terminated(&self) -> Option<&str> {
        self.terminated.as_deref()
    }

    /// Bytes the Lua state holds now (0 once terminated).
    pub fn memory(&self) -> usize {
        self.lua.as_ref().map_or(0, Lua::used_memory)
    }

    /// Calls the script's `process_message()` with `pack` as the current message.
    pub fn process_message(
        &mut self,
        pack: &Pack,
        budget: InjectBudget,
    ) -> Result<Outcome, Terminated> {
        const NAME: &str = "process_message";
        let lua = self.live()?;
        {
            let Some(mut host) = lua.app_data_mut::<Host>() else {
                return Err(Terminated("sandbox host state missing".into()));
            };
            host.begin_call(Some(pack.clone()), budget);
        }
        let result = call(lua, NAME, Value::Nil, self.settings.limits.instructions);
        let injected = take_injections(lua);
        let (status, error) = match result.and_then(|v| returns(&v)) {
            Ok(r) => r,
            Err(e) => return Err(self.terminate(format!("{NAME}() {e}"))),
        };
        if status > 0 {
            let text = error.clone().unwrap_or_default();
            // A positive status stops a decoder or filter for good (the state stays alive so
            // that its data can still be preserved).
            self.terminated = Some(text.clone());
            return Err(Terminated(text));
        }
        Ok(Outcome {
            status,
            error,
            injected,
        })
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
        {
            let Some(mut host) = lua.app_data_mut::<Host>() else {
                return Err(Terminated("sandbox host state missing".into()));
            };
            host.begin_call(None, budget);
        }
        let result = call(
            lua,
            NAME,
            Value::Number(ns as f64),
            self.settings.limits.instructions,
        );
        let injected = take_injections(lua);
        match result {
            Ok(_) => {
                let _ = lua.gc_collect();
                Ok(injected)
            }
            Err(e) => Err(self.terminate(format!("{NAME}() {e}"))),
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

    /// Closes the state after an error; every later call fails with `why`.
    fn terminate(&mut self, why: String) -> Terminated {
        let why = truncate_error(why);
        self.lua = None;
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
    let libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::default())
        .map_err(|e| StartError(format!("cannot create the Lua state: {e}")))?;
    let fail = |e: mlua::Error| StartError(error_text(&e));
    lua.set_app_data(Host::new(settings));
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
    host::finish_load(&lua).map_err(fail)?;
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
    arm_instruction_limit(lua, limits.instructions);
}

/// Limits are lifted while data is preserved or restored.
fn lift_limits(lua: &Lua) {
    let _ = lua.set_memory_limit(0);
    lua.remove_hook();
}

/// Lua's count hook fires after `limit` VM instructions; (re)setting it restarts the count.
fn arm_instruction_limit(lua: &Lua, limit: u32) {
    if limit == 0 {
        lua.remove_hook();
        return;
    }
    let hooked = lua.set_hook(HookTriggers::new().every_nth_instruction(limit), |_, _| {
        Err(mlua::Error::runtime(INSTRUCTION_LIMIT))
    });
    if let Err(e) = hooked {
        tracing::error!("cannot set the instruction limit: {e}");
    }
}

/// Heka's error text for the instruction limit.
const INSTRUCTION_LIMIT: &str = "instruction_limit exceeded";

/// Calls the global function `name` with `arg` (none when nil) under the instruction limit.
fn call(lua: &Lua, name: &str, arg: Value, instructions: u32) -> Result<mlua::MultiValue, String> {
    let f: Value = lua.globals().raw_get(name).map_err(|e| error_text(&e))?;
    let Value::Function(f) = f else {
        return Err("function was not found".into());
    };
    arm_instruction_limit(lua, instructions);
    let r = call_function(&f, arg);
    lua.remove_hook();
    if r.is_err() {
        // Lua 5.1 has no emergency collection: free what the failed call left.
        let _ = lua.gc_collect();
    }
    r.map_err(|e| error_text(&e))
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

fn take_injections(lua: &Lua) -> Vec<Injection> {
    lua.app_data_mut::<Host>()
        .map(|mut h| h.end_call())
        .unwrap_or_default()
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
mod tests;
