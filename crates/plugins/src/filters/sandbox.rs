//! SandboxFilter: a filter written in Lua (Heka's Lua sandbox).
//!
//! ```toml
//! [status_counter]
//! type = "SandboxFilter"
//! filename = "lua_filters/http_status.lua"   # relative: under share_dir
//! message_matcher = "Type == 'nginx.access'"
//! ticker_interval = 60
//! preserve_data = true
//! # memory_limit = 8388608
//! # instruction_limit = 1000000
//! # output_limit = 64512
//! # timer_event_on_shutdown = false
//!
//! [status_counter.config]
//! title = "HTTP status"
//! ```
//!
//! Options: as SandboxDecoder (`filename`, `script_type`, `module_directory`,
//! `preserve_data`, `memory_limit`, `instruction_limit`, `output_limit`, `profile`, `config`)
//! plus `timer_event_on_shutdown` (call `timer_event` once more when hekad stops). Common
//! filter options apply; `can_exit` defaults to true, as in Heka.
//!
//! `process_message()` runs for every matched message (return 0, or -1 with an optional error
//! string, which counts a failure and logs the error); `timer_event(ns)` every
//! `ticker_interval`. Injections go through the runner within `max_process_inject` /
//! `max_timer_inject`: `inject_message(table)` messages get Type `heka.sandbox.<Type>`, Logger
//! the filter's name and hekad's Hostname; `inject_payload(type, name, ...)` makes a
//! `heka.sandbox-output` message with the payload and the fields `payload_type`
//! (representation `file-extension`) and `payload_name`.
//!
//! A Lua error, a limit, a bad return value or a status > 0 terminates the filter: it injects
//! `heka.sandbox-terminated` (Logger `hekad`, Payload the error, `Fields[plugin]` its name),
//! leaves the pipeline and is not restarted; hekad goes on. With `preserve_data` the globals
//! are written to `<base_dir>/sandbox_preservation/<name>.data` (name with non-word
//! characters as `_`) when the filter stops, unless it was terminated by an error or a limit.
//!
//! Differences from Heka:
//! - An injection refused by the runner (message loops, a message the filter's own matcher
//!   matches) terminates the filter when the call returns, not inside the script.
//! - `profile` is accepted and ignored.

use std::sync::Arc;
use std::time::Instant;

use heka_message::Field;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Filter, FilterContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FilterSpec, Ticker};
use heka_sandbox::config::{build_settings, sanitize_name};
use heka_sandbox::{InjectBudget, Injection, Kind, Sandbox};

use crate::support::sandbox::{Sampler, SandboxStats};

/// A filter running a Lua script.
#[derive(Debug)]
struct SandboxFilter {
    sandbox: Sandbox,
    max_process_inject: u32,
    max_timer_inject: u32,
    timer_event_on_shutdown: bool,
    /// Why the sandbox stopped, once it has.
    terminated: Option<String>,
    /// The report's fields.
    stats: Arc<SandboxStats>,
    sampler: Sampler,
}

impl SandboxFilter {
    /// Hands what the script injected to the runner; a refusal terminates the filter.
    fn inject(
        &mut self,
        call: &str,
        injected: Vec<Injection>,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        for injection in injected {
            let m = match injection {
                Injection::Message { mut message, .. } => {
                    let mut t = b"heka.sandbox.".to_vec();
                    t.extend_from_slice(message.type_bytes());
                    message.set_type(t);
                    message.set_logger(ctx.name().to_string());
                    message.hostname = ctx.new_message().hostname;
                    message
                }
                Injection::Payload {
                    payload,
                    payload_type,
                    payload_name,
                } => {
                    let mut m = ctx.new_message();
                    m.set_type("heka.sandbox-output");
                    m.set_logger(ctx.name().to_string());
                    m.payload = Some(payload);
                    m.add_field(
                        Field::new_string("payload_type", payload_type)
                            .with_representation("file-extension"),
                    );
                    m.add_field(Field::new_string("payload_name", payload_name));
                    m
                }
                // Only encoders inject raw bytes.
                Injection::Raw(_) => continue,
            };
            if let Err(e) = ctx.inject(m) {
                return Err(self.terminate(format!("{call}() inject_message() {e}")));
            }
            self.stats.injected();
        }
        Ok(())
    }

    fn terminate(&mut self, why: String) -> ProcessError {
        self.terminated = Some(why.clone());
        ProcessError::Exit(why)
    }
}

impl Filter for SandboxFilter {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        let budget = InjectBudget::AtMost(self.max_process_inject);
        self.stats.count();
        let started = self.sampler.start();
        let result = self.sandbox.process_message(pack, budget);
        self.sampler.done(&self.stats, started);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => return Err(self.terminate(e.0)),
        };
        self.inject("process_message", outcome.injected, ctx)?;
        if outcome.status < 0 {
            self.stats.failure();
            return Err(ProcessError::Drop(outcome.error.unwrap_or_else(|| {
                format!("process_message() returned {}", outcome.status)
            })));
        }
        Ok(())
    }

    fn timer_event(
        &mut self,
        ctx: &mut FilterContext<'_>,
        now_ns: i64,
    ) -> Result<(), ProcessError> {
        let budget = InjectBudget::AtMost(self.max_timer_inject);
        let started = Instant::now();
        let result = self.sandbox.timer_event(now_ns, budget);
        self.stats.timer_done(started);
        match result {
            Ok(injected) => self.inject("timer_event", injected, ctx),
            Err(e) => Err(self.terminate(e.0)),
        }
    }

    fn shutdown(&mut self, ctx: &mut FilterContext<'_>) {
        if self.timer_event_on_shutdown
            && self.terminated.is_none()
            && let Err(e) = self.timer_event(ctx, heka_message::now_ns())
        {
            tracing::error!(filter = %ctx.name(), "FATAL: {e}");
        }
        if let Some(why) = &self.terminated {
            let mut m = ctx.new_message();
            m.set_type("heka.sandbox-terminated");
            m.set_logger("hekad");
            m.set_payload(why.clone());
            m.add_field(Field::new_string("plugin", ctx.name().to_string()));
            if let Err(e) = ctx.inject(m) {
                tracing::error!(filter = %ctx.name(), "cannot report the termination: {e}");
            }
        }
        if let Err(e) = self.sandbox.stop() {
            tracing::error!(filter = %ctx.name(), "{e}");
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, ConfigError> {
    let (settings, cfg) = build_settings(ctx, Kind::Filter, &sanitize_name(ctx.name))?;
    let mut sandbox = Sandbox::start(settings).map_err(|e| ctx.error(Some("filename"), e))?;
    let (stats, sampler) = SandboxStats::publish(ctx, Kind::Filter, &mut sandbox);
    Ok(Box::new(SandboxFilter {
        sandbox,
        stats,
        sampler,
        max_process_inject: ctx.globals.max_process_inject,
        max_timer_inject: ctx.globals.max_timer_inject,
        timer_event_on_shutdown: cfg.timer_event_on_shutdown,
        terminated: None,
    }))
}

pub(super) const SPEC: FilterSpec = FilterSpec {
    type_name: "SandboxFilter",
    summary: "Runs a Lua script on matched messages; injects what it produces.",
    default_matcher: None,
    ticker: Ticker::Optional,
    can_exit: true,
    build,
};

#[cfg(test)]
mod tests {
    use heka_pipeline::config::load_str;
    use heka_pipeline::runner::build::Pipeline;
    use std::time::{Duration, Instant};

    /// UDP lines → SandboxFilter counting them and reporting on its ticker, a second one
    /// that dies of its instruction limit → FileOutput of every sandbox message.
    #[test]
    fn counts_reports_and_a_runaway_filter_is_terminated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("count.lua"),
            r#"
            count = 0
            function process_message() count = count + 1 return 0 end
            function timer_event(ns)
                if count > 0 then inject_payload("txt", "count", "seen ", count) end
            end"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("loop.lua"),
            "function process_message() while true do end end",
        )
        .unwrap();
        let out = dir.path().join("out.log");
        let port = crate::support::testing::free_udp_port();
        let toml = format!(
            r#"
[hekad]
share_dir = "{dir}"
base_dir = "{dir}"

[lines]
type = "UdpInput"
address = "127.0.0.1:{port}"
splitter = "TokenSplitter"

[counter]
type = "SandboxFilter"
filename = "count.lua"
message_matcher = "Type != 'heka.sandbox-output' && Type != 'heka.sandbox-terminated' && Type != 'heka.terminated'"
ticker_interval = 1

[looper]
type = "SandboxFilter"
filename = "loop.lua"
message_matcher = "Logger == 'lines'"
instruction_limit = 1000

[RstEncoder]

[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' || Type == 'heka.sandbox-terminated'"
path = "{out}"
encoder = "RstEncoder"
flush_interval = 0
"#,
            dir = dir.path().display(),
            out = out.display()
        );
        let cfg = load_str(&toml, std::path::Path::new("t.toml")).unwrap();
        let pipeline = Pipeline::build(&cfg, &crate::builtin()).unwrap();
        let running = pipeline.start().unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(b"a\nb\nc\n", ("127.0.0.1", port)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let text = loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let done = text.contains(":Payload: seen 3\n") && text.contains("instruction_limit");
            if done || Instant::now() > deadline {
                break text;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        running.stop();
        assert!(text.contains(":Type: heka.sandbox-output\n"), "{text}");
        assert!(text.contains(":Logger: counter\n"), "{text}");
        assert!(text.contains(":Payload: seen 3\n"), "{text}");
        assert!(text.contains(":Type: heka.sandbox-terminated\n"), "{text}");
        assert!(
            text.contains(":Payload: process_message() instruction_limit exceeded\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"name:"plugin" type:string value:"looper""#),
            "{text}"
        );
    }
}
