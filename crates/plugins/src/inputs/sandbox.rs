//! SandboxInput: an input written in Lua (Heka's Lua sandbox).
//!
//! ```toml
//! [counter_input]
//! type = "SandboxInput"
//! filename = "lua_inputs/counter.lua"   # relative: under share_dir
//! ticker_interval = 5                    # call process_message() every 5 s; 0: once
//! # preserve_data = false
//! # memory_limit = 8388608
//! # output_limit = 64512
//! # module_directory = "/usr/share/heka/lua_modules"
//!
//! [counter_input.config]
//! path = "/proc/loadavg"   # read by the script with read_config("path")
//! # tz = "Europe/Paris"    # injected timestamps are wall-clock times of this zone
//! ```
//!
//! Options: `filename` (required), `script_type` (`lua`), `module_directory`, `preserve_data`,
//! `memory_limit`, `output_limit`, `profile` (accepted, ignored) and the `config` table (see
//! `heka_sandbox::SandboxConfig`); `instruction_limit` is accepted and forced to 0 (no limit),
//! as in Heka. Common input options: `ticker_interval` as below, `can_exit` defaults to true;
//! `decoder` and `splitter` are ignored (the script makes finished messages), as in Heka.
//!
//! The script's `process_message()` takes no message: it makes messages with
//! `inject_message(table or protobuf bytes)`, which go to the router at once, as they are
//! (no decoder, no default headers; an unset Timestamp is the current second, as for every
//! table). It may loop for as long as it likes. It has `read_config`, `decode_message` and
//! `inject_message` (no `read_message`, no payload functions), and Heka's I/O environment:
//! `require "io"` works, `os` keeps all but `exit` and `setlocale`, `coroutine` and
//! `collectgarbage` are there.
//!
//! When it returns:
//! - 0: done. With `ticker_interval` the next call comes at the next tick (ticks on a fixed
//!   grid from the start, a late call is made at once); without, the input logs
//!   `single run completed` and ends.
//! - below 0: the same, after counting a failure and logging the returned error string.
//! - above 0, or a Lua error, a memory limit, a bad return value: the input ends with the error
//!   logged. It is never restarted; with `can_exit` (the default) hekad goes on without it,
//!   otherwise hekad shuts down.
//!
//! Stopping hekad stops a running script at its next Lua instructions (`shutting down`, not
//! logged); a script waiting inside a C function (a blocking read) is not interrupted, as in
//! Heka. With `preserve_data` the globals are written to
//! `<base_dir>/sandbox_preservation/<name>.data` when the input ends, unless the script was
//! stopped by an error, a limit or the shutdown while it ran (an input waiting for its next
//! tick preserves).
//!
//! Differences from Heka:
//! - The preservation file is named after the input (Heka named it `.data` for every
//!   SandboxInput, so two of them shared one file).
//! - A configured `decoder`/`splitter` draws a warning (Heka ignored them silently).

use heka_pipeline::config::ConfigError;
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use heka_sandbox::config::{build_settings, sanitize_name};
use heka_sandbox::{Injection, Kind, Sandbox, Terminated};

use crate::support::gotime::Zone;
use std::sync::Arc;

use crate::support::sandbox::{SandboxStats, config_tz, forgiving_time, rezone};
use crate::support::ticker::Ticker;

/// An input running a Lua script.
#[derive(Debug)]
struct SandboxInput {
    sandbox: Sandbox,
    tz: Option<Zone>,
    /// The report's fields.
    stats: Arc<SandboxStats>,
}

impl SandboxInput {
    /// Calls `process_message()` until it is done for good; returns why the input ends.
    fn poll(&mut self, ctx: &InputContext) -> Result<(), ProcessError> {
        let interval = ctx.ticker_interval().filter(|d| !d.is_zero());
        let mut ticker = interval.map(Ticker::new);
        loop {
            match self.sandbox.process_input() {
                Ok(outcome) => {
                    if outcome.status < 0 {
                        self.stats.failure();
                    }
                    if outcome.status < 0
                        && let Some(e) = outcome.error.filter(|e| !e.is_empty())
                    {
                        tracing::error!(input = %ctx.name(), "{e}");
                    }
                }
                Err(Terminated(e)) => {
                    if ctx.stopping() || e.ends_with("shutting down") {
                        return Ok(());
                    }
                    return Err(ProcessError::Exit(e));
                }
            }
            let Some(t) = ticker.as_mut() else {
                tracing::info!(input = %ctx.name(), "single run completed");
                return Ok(());
            };
            if ctx.stopping() || !t.wait(|d| ctx.sleep(d)) {
                return Ok(());
            }
        }
    }
}

impl Input for SandboxInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let mut stream = ctx.stream()?;
        let tz = self.tz.clone();
        let stats = self.stats.clone();
        self.sandbox.set_injector(Some(Box::new(move |injection| {
            let mut message = match injection {
                Injection::Message { message, .. } => message,
                // Inputs have no payload functions, and only encoders inject raw bytes.
                Injection::Payload { .. } | Injection::Raw(_) => return Ok(()),
            };
            if let Some(tz) = &tz {
                message.timestamp = rezone(message.timestamp, tz);
            }
            // Heka counted the protobuf bytes the script injected.
            stats.input_message(prost::Message::encoded_len(&message));
            stream.route_message(message);
            Ok(())
        })));
        let stopper = self.sandbox.stopper();
        ctx.on_stop(move || stopper.stop());
        let result = self.poll(ctx);
        // The stream goes with the injector; preserve what the script holds.
        self.sandbox.set_injector(None);
        if let Err(e) = self.sandbox.stop() {
            tracing::error!(input = %ctx.name(), "{e}");
        }
        result
    }
}

impl Drop for SandboxInput {
    fn drop(&mut self) {
        if let Err(e) = self.sandbox.stop() {
            tracing::error!("SandboxInput: {e}");
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let (mut settings, _) = build_settings(ctx, Kind::Input, &sanitize_name(ctx.name))?;
    settings.parse_time = Some(forgiving_time);
    let tz = config_tz(ctx, &settings.config)?;
    for option in ["decoder", "splitter"] {
        if ctx.section.get(option).is_some() && ctx.name == ctx.section.name {
            tracing::warn!(
                "{}",
                ctx.error(
                    Some(option),
                    "SandboxInput routes the messages its script makes as they are: ignored"
                )
            );
        }
    }
    let mut sandbox = Sandbox::start(settings).map_err(|e| ctx.error(Some("filename"), e))?;
    let (stats, _) = SandboxStats::publish(ctx, Kind::Input, &mut sandbox);
    Ok(Box::new(SandboxInput { sandbox, tz, stats }))
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "SandboxInput",
    summary: "Runs a Lua script that makes messages (once, or every ticker_interval).",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: true,
    build,
};

#[cfg(test)]
mod tests {
    use heka_pipeline::config::load_str;
    use heka_pipeline::runner::build::Pipeline;
    use std::time::{Duration, Instant};

    /// Our versions of Heka's `input.lua` and `output.lua` test scripts: an input that makes
    /// `line N` on each tick and fails its second call; an output that writes payloads with
    /// `io`, fails `FAILURE` lines and aborts on `USERABORT`, which ends it with a
    /// `heka.terminated` announcement.
    #[test]
    fn polling_input_feeds_an_output_until_it_aborts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("in.lua"),
            r#"
            local msg = {Type = "t"}
            local cnt = 0
            local words = {"line 1", "skipped", "FAILURE 3", "line 4", "USERABORT", "line 6"}
            function process_message()
                cnt = cnt + 1
                if cnt == 2 then return -1, "failure message" end
                msg.Payload = words[cnt]
                if msg.Payload then inject_message(msg) end
                return 0
            end"#,
        )
        .unwrap();
        let written = dir.path().join("written.txt");
        std::fs::write(
            dir.path().join("out.lua"),
            format!(
                r#"
            local io = require "io"
            require "string"
            local fh = assert(io.open({written:?}, "w"))
            function process_message()
                local payload = read_message("Payload")
                if payload:find("^FAILURE") then return -1, "failure message" end
                if payload:find("^USERABORT") then return 1, "user abort" end
                fh:write(payload, "\n")
                fh:flush()
                return 0
            end"#
            ),
        )
        .unwrap();
        let gone = dir.path().join("gone.log");
        let toml = format!(
            r#"
[hekad]
share_dir = "{dir}"
base_dir = "{dir}"

[gen]
type = "SandboxInput"
filename = "in.lua"
ticker_interval = 1

[lua_out]
type = "SandboxOutput"
filename = "out.lua"
message_matcher = "Type == 't'"

[RstEncoder]

[gone]
type = "FileOutput"
message_matcher = "Type == 'heka.terminated'"
path = "{gone}"
encoder = "RstEncoder"
flush_interval = 0
"#,
            dir = dir.path().display(),
            gone = gone.display()
        );
        let cfg = load_str(&toml, std::path::Path::new("t.toml")).unwrap();
        let pipeline = Pipeline::build(&cfg, &crate::builtin()).unwrap();
        let running = pipeline.start().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let text = loop {
            let text = std::fs::read_to_string(&gone).unwrap_or_default();
            if text.contains("user abort") || Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        running.stop();
        assert!(
            text.contains(
                ":Payload: lua_out (type SandboxOutput) terminated. Error: FATAL: user abort\n"
            ),
            "{text}"
        );
        assert_eq!(
            std::fs::read_to_string(&written).unwrap(),
            "line 1\nline 4\n"
        );
    }
}
