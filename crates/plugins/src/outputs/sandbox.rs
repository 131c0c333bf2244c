//! SandboxOutput: an output written in Lua (Heka's Lua sandbox).
//!
//! ```toml
//! [lua_file]
//! type = "SandboxOutput"
//! filename = "lua_outputs/file.lua"   # relative: under share_dir
//! message_matcher = "Type == 'app.log'"
//! # ticker_interval = 60              # timer_event(ns) every 60 s
//! # timer_event_on_shutdown = false
//! # preserve_data = false
//! # memory_limit = 8388608
//!
//! [lua_file.config]
//! path = "/var/log/app.txt"   # read by the script with read_config("path")
//! ```
//!
//! Options: `filename` (required), `script_type` (`lua`), `module_directory`, `preserve_data`,
//! `memory_limit`, `output_limit`, `profile` (accepted, ignored), `timer_event_on_shutdown`
//! and the `config` table (see `heka_sandbox::SandboxConfig`); `instruction_limit` is accepted
//! and forced to 0 (no limit), as in Heka. Common output options apply; `can_exit` defaults to
//! true; an `encoder` is not needed (the script reads the message itself).
//!
//! `process_message()` runs for every matched message; the script reads it with
//! `read_message` / `read_next_field` / `decode_message(read_message("raw"))` and sends it
//! wherever it likes: it has Heka's I/O environment (`require "io"` works, `os` keeps all but
//! `exit` and `setlocale`), and no injection or payload functions. It returns:
//! - 0: done;
//! - below 0: the message failed (counted; the returned error string is logged) and is
//!   dropped — there are no retries, as in Heka;
//! - above 0 (`return 1, "why"`): `FATAL: why`, the output stops for good.
//!
//! `timer_event(ns)` runs every `ticker_interval` (and once more at shutdown with
//! `timer_event_on_shutdown`). A Lua error, a memory limit or a bad return value in either
//! stops the output for good (`FATAL: process_message() <error>`). A stopped output is never
//! restarted: with `can_exit` hekad goes on without it and announces `heka.terminated`
//! (Payload `<name> (type SandboxOutput) terminated. Error: FATAL: ...`), otherwise hekad shuts
//! down. With `preserve_data` the globals are written to
//! `<base_dir>/sandbox_preservation/<name>.data` when the output stops, unless a Lua error or a
//! limit stopped it.
//!
//! Differences from Heka: the preservation file is named after the output (Heka named it
//! `.data` for every SandboxOutput, so two of them shared one file).

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use heka_sandbox::config::{build_settings, sanitize_name};
use heka_sandbox::{InjectBudget, Kind, Sandbox};

use std::sync::Arc;
use std::time::Instant;

use crate::support::sandbox::{Sampler, SandboxStats, forgiving_time};

/// An output running a Lua script.
#[derive(Debug)]
struct SandboxOutput {
    sandbox: Sandbox,
    timer_event_on_shutdown: bool,
    /// The output has stopped for good.
    stopped: bool,
    /// The report's fields.
    stats: Arc<SandboxStats>,
    sampler: Sampler,
}

impl SandboxOutput {
    fn fatal(&mut self, e: impl std::fmt::Display) -> ProcessError {
        self.stopped = true;
        ProcessError::Exit(format!("FATAL: {e}"))
    }
}

impl Output for SandboxOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        _ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        let started = self.sampler.start();
        let result = self.sandbox.process_message(pack, InjectBudget::Unlimited);
        self.sampler.done(&self.stats, started);
        // As in Heka, the count is of messages the script took (status 0).
        match result {
            Ok(o) if o.status == 0 => {
                self.stats.count();
                Ok(())
            }
            Ok(o) => {
                if o.status < 0 {
                    self.stats.failure();
                }
                Err(ProcessError::Drop(o.error.unwrap_or_else(|| {
                    format!("process_message() returned {}", o.status)
                })))
            }
            Err(e) => Err(self.fatal(e)),
        }
    }

    fn timer_event(
        &mut self,
        _ctx: &mut OutputContext<'_>,
        now_ns: i64,
    ) -> Result<(), ProcessError> {
        let started = Instant::now();
        let result = self.sandbox.timer_event(now_ns, InjectBudget::Unlimited);
        self.stats.timer_done(started);
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fatal(e)),
        }
    }

    fn shutdown(&mut self, ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        let mut result = Ok(());
        if self.timer_event_on_shutdown && !self.stopped {
            result = self.timer_event(ctx, heka_message::now_ns());
        }
        if let Err(e) = self.sandbox.stop() {
            tracing::error!(output = %ctx.name(), "{e}");
        }
        result
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let (mut settings, cfg) = build_settings(ctx, Kind::Output, &sanitize_name(ctx.name))?;
    settings.parse_time = Some(forgiving_time);
    let mut sandbox = Sandbox::start(settings).map_err(|e| ctx.error(Some("filename"), e))?;
    let (stats, sampler) = SandboxStats::publish(ctx, Kind::Output, &mut sandbox);
    Ok(Box::new(SandboxOutput {
        sandbox,
        stats,
        sampler,
        timer_event_on_shutdown: cfg.timer_event_on_shutdown,
        stopped: false,
    }))
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "SandboxOutput",
    summary: "Runs a Lua script on matched messages; the script writes them where it likes.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: false,
    legacy_encoder: None,
    framing: FramingDefault::Never,
    ticker: Ticker::Optional,
    can_exit: true,
    buffering: None,
    build,
};
