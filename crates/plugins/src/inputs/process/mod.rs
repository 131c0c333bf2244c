//! ProcessInput: runs a chain of commands every `ticker_interval` seconds (or once) and turns
//! the last command's stdout and stderr into messages.
//!
//! ```toml
//! [disk_usage]
//! type = "ProcessInput"
//! ticker_interval = 60       # seconds between runs; 0 = run once (a long-running process)
//! # immediate_start = false  # also run once at start instead of waiting one interval
//! # stdout = true
//! # stderr = false
//! # timeout = 0              # seconds the chain waits for each command before killing it
//! splitter = "TokenSplitter" # default NullSplitter: a run's whole output is one message
//!
//!     [disk_usage.command.0]
//!     bin = "/bin/df"
//!     args = ["-P"]
//!     # env = ["LC_ALL=C"]   # replaces hekad's whole environment
//!     # directory = "/tmp"   # working directory
//!
//!     [disk_usage.command.1]
//!     bin = "grep"           # looked up in hekad's PATH
//!     args = ["^/dev/"]
//! ```
//!
//! `command` holds the chain as tables `"0"`, `"1"`, … (missing index: `Expected to find a
//! command at index [<name>][<i>]`; none: `No Command Configured`); each one's stdout is piped
//! into the next one's stdin (see [`chain`] for how a run goes, its timeouts and kills). Only the
//! last command's stdout and stderr are read; each output wanted has a stream of its own
//! (splitter and decoder instances), and an unwanted one is read and discarded.
//!
//! Each record becomes a message with Type `ProcessInput`, Logger = the input's name, Hostname
//! and Pid = hekad's, Payload = the record, and the fields `ProcessInputName`
//! (`<name>.stdout` or `<name>.stderr`), `ExitStatus` (the last command's exit code; 0 when it
//! succeeded or hekad killed it, -1 when a signal from outside ended it) and, when a command
//! failed, `SubcmdErrors` (`Subcommand[<i>] returned an error: [<error>]`, one line each).
//!
//! With a `ticker_interval`, runs never overlap (a tick that falls during a run starts the next
//! run at once when it ends; further ticks missed are dropped) and a run's output is read whole
//! before it is split: every message of a run comes after that run's commands exited and
//! carries that run's `ExitStatus`. With the NullSplitter the whole output of a run is one
//! message (none when it is empty), whatever the ticker.
//!
//! With `ticker_interval = 0` the chain runs once (for a long-running process) and the input
//! then ends: hekad shuts down unless `can_exit = true`. With a splitter other than the
//! NullSplitter, the output is split as it arrives: the records found while the process runs
//! carry `ExitStatus` 0, and only what is delivered after it exited (an incomplete final
//! record, with `deliver_incomplete_final`) carries the real status.
//!
//! A command that cannot be started (a missing program) fails the input with
//! `CommandChain::Start() error: [Command [<cmd>] triggered an error: [...]]`; its `retries`
//! policy applies. Stopping hekad kills running commands.
//!
//! Differences from Heka:
//! - `ExitStatus` and `SubcmdErrors` always describe the run the message came from; Heka's
//!   came from the last run that had ended, so messages could carry the previous run's status.
//! - Each run is a source of its own: an incomplete final record is dropped at the end of the
//!   run (or delivered with `deliver_incomplete_final`); Heka kept it and joined it to the next
//!   run's first bytes.
//! - A kill (timeout or stop) kills the command's process group, so what it started (the
//!   commands of `sh -c '…'`) dies with it; Heka killed the command alone, and a child holding
//!   the output pipe kept the run going until that child ended. Output still open after every
//!   command exited is read for one more second at most.
//! - With a `ticker_interval` and a splitter other than the NullSplitter, the messages of a run
//!   are delivered once it has ended (so that they carry its status); Heka delivered them as
//!   the output arrived. A run's output is held in memory until then, as Heka did with the
//!   NullSplitter.
//! - A `%` in `SubcmdErrors` comes out as is (Heka's formatting mangled it); there are no
//!   `Pipewriter close error` lines (the commands are joined by OS pipes, not Go pipes).
//! - The commands run in process groups of their own, so a Ctrl-C in hekad's terminal reaches
//!   hekad only, which then stops them.
//! - An `env` entry without `=` and an empty `bin` are config errors.

pub(crate) mod chain;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use heka_message::Field;
use heka_pipeline::config::{ConfigError, PluginOptions, Section};
use heka_pipeline::plugin::{Input, InputContext, ProcessError, Stream};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;

use crate::support::ticker::Ticker;
use chain::{Chain, CommandSpec, Pipe, RunStatus, StopToken};

/// Default `ticker_interval` in seconds.
const DEFAULT_TICKER: u64 = 15;

/// ProcessInput options (`ticker_interval` is a common option, read from the section).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ProcessInputConfig {
    command: BTreeMap<String, CommandConfig>,
    immediate_start: bool,
    timeout: u64,
    stdout: bool,
    stderr: bool,
}

impl Default for ProcessInputConfig {
    fn default() -> Self {
        ProcessInputConfig {
            command: BTreeMap::new(),
            immediate_start: false,
            timeout: 0,
            stdout: true,
            stderr: false,
        }
    }
}

/// One `[<name>.command.<N>]` table. Heka matched these keys case-insensitively; the Go field
/// names are accepted besides the lower-case ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandConfig {
    #[serde(default, alias = "Bin")]
    bin: String,
    #[serde(default, alias = "Args")]
    args: Vec<String>,
    #[serde(default, alias = "Env")]
    env: Option<Vec<String>>,
    #[serde(default, alias = "Directory")]
    directory: String,
}

/// A ProcessInput's settings, checked.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSettings {
    pub(crate) chain: Chain,
    /// Seconds between runs; 0 = run once.
    pub(crate) ticker: u64,
    pub(crate) immediate_start: bool,
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
}

impl ProcessSettings {
    /// Whether `other` runs the same commands the same way (Heka's `ProcessInputConfig.Equals`:
    /// the ticker, the timeout, `stdout`, `stderr` and every command; not `immediate_start`).
    pub(crate) fn same_commands(&self, other: &ProcessSettings) -> bool {
        self.chain == other.chain
            && self.ticker == other.ticker
            && self.stdout == other.stdout
            && self.stderr == other.stderr
    }
}

/// The `ticker_interval` of a ProcessInput section: 0 is "run once" here, not "unset".
fn ticker_of(section: &Section) -> Result<u64, ConfigError> {
    match section.get("ticker_interval") {
        None => Ok(DEFAULT_TICKER),
        Some(toml::Value::Integer(n)) => u64::try_from(*n)
            .map_err(|_| section.error(Some("ticker_interval"), "must not be negative")),
        Some(_) => Err(section.error(Some("ticker_interval"), "expected an integer")),
    }
}

/// Checks a ProcessInput's own options; `name` is the input's name (for error texts) and
/// `ticker` its `ticker_interval`.
pub(crate) fn settings(
    options: &PluginOptions,
    name: &str,
    ticker: u64,
) -> Result<ProcessSettings, ConfigError> {
    let c: ProcessInputConfig = options.parse()?;
    let err = |msg: String| options.error(Some("command"), msg);
    if c.command.is_empty() {
        return Err(err("No Command Configured".into()));
    }
    let mut steps = Vec::with_capacity(c.command.len());
    for i in 0..c.command.len() {
        let Some(cmd) = c.command.get(&i.to_string()) else {
            return Err(err(format!(
                "Expected to find a command at index [{name}][{i}]"
            )));
        };
        if cmd.bin.is_empty() {
            return Err(err(format!("command {i}: bin is required")));
        }
        let env = match &cmd.env {
            None => None,
            Some(entries) => Some(
                entries
                    .iter()
                    .map(|e| match e.split_once('=') {
                        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                        _ => Err(err(format!(
                            "command {i}: env entry {e:?} is not KEY=VALUE"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        steps.push(CommandSpec {
            bin: cmd.bin.clone(),
            args: cmd.args.clone(),
            env,
            directory: (!cmd.directory.is_empty()).then(|| PathBuf::from(&cmd.directory)),
        });
    }
    Ok(ProcessSettings {
        chain: Chain {
            steps,
            timeout: (c.timeout > 0).then(|| Duration::from_secs(c.timeout)),
        },
        ticker,
        immediate_start: c.immediate_start,
        stdout: c.stdout,
        stderr: c.stderr,
    })
}

/// The streams one ProcessInput delivers through: one per output it turns into messages.
pub(crate) struct Outputs {
    /// The input's name, the prefix of `ProcessInputName`.
    name: String,
    /// The splitter is the NullSplitter: a run's whole output is one record.
    whole_output: bool,
    stdout: Option<Stream>,
    stderr: Option<Stream>,
}

impl Outputs {
    /// Streams for the outputs `settings` wants, from `ctx`, decorated as ProcessInput's
    /// messages are; `logger` replaces the input's name as the Logger when given.
    pub(crate) fn new(
        name: &str,
        settings: &ProcessSettings,
        hostname: &Bytes,
        logger: Option<Bytes>,
        ctx: &InputContext,
    ) -> Result<Outputs, ProcessError> {
        let make = |wanted: bool| -> Result<Option<Stream>, ProcessError> {
            if !wanted {
                return Ok(None);
            }
            let mut s = ctx.stream()?;
            s.set_decoration(
                Some(Bytes::from_static(b"ProcessInput")),
                Some(hostname.clone()),
            );
            s.set_pid(i32::try_from(std::process::id()).ok());
            if let Some(l) = &logger {
                s.set_logger(l.clone());
            }
            Ok(Some(s))
        };
        Ok(Outputs {
            name: name.to_string(),
            whole_output: ctx.splitter_type() == "NullSplitter",
            stdout: make(settings.stdout)?,
            stderr: make(settings.stderr)?,
        })
    }

    fn stream(&mut self, pipe: Pipe) -> Option<&mut Stream> {
        match pipe {
            Pipe::Stdout => self.stdout.as_mut(),
            Pipe::Stderr => self.stderr.as_mut(),
        }
    }

    /// Sets the fields of the messages to come: the run's status, or (while it runs) 0.
    fn set_status(&mut self, status: Option<&RunStatus>) {
        for (pipe, suffix) in [(Pipe::Stdout, "stdout"), (Pipe::Stderr, "stderr")] {
            let name = format!("{}.{suffix}", self.name);
            let Some(s) = self.stream(pipe) else {
                continue;
            };
            let mut fields = vec![
                Field::new_string("ProcessInputName", name),
                Field::new_integer("ExitStatus", status.map_or(0, |st| st.exit_status)),
            ];
            if let Some(e) = status.and_then(|st| st.subcmd_errors.clone()) {
                fields.push(Field::new_string("SubcmdErrors", e));
            }
            s.set_fields(fields);
        }
    }
}

/// Runs a ProcessInput until it ends (`ticker 0`: after its one run) or `stop` is stopped.
/// Fails when a command cannot be started. `label` names the input in log lines.
pub(crate) fn run_engine(
    settings: &ProcessSettings,
    outputs: &mut Outputs,
    stop: &StopToken,
    label: &str,
) -> Result<(), String> {
    if stop.is_stopped() {
        return Ok(());
    }
    if settings.ticker == 0 {
        let streaming = !outputs.whole_output;
        return run_once(settings, outputs, stop, label, streaming);
    }
    if settings.immediate_start {
        run_once(settings, outputs, stop, label, false)?;
    }
    let mut ticker = Ticker::new(Duration::from_secs(settings.ticker));
    while ticker.wait(|d| stop.wait(d)) {
        run_once(settings, outputs, stop, label, false)?;
    }
    Ok(())
}

/// One run of the chain. `streaming`: split the output as it arrives; else read it whole, then
/// split it with the run's status.
fn run_once(
    settings: &ProcessSettings,
    outputs: &mut Outputs,
    stop: &StopToken,
    label: &str,
    streaming: bool,
) -> Result<(), String> {
    outputs.set_status(None);
    let mut held: [Vec<u8>; 2] = Default::default();
    let status = settings
        .chain
        .run(stop, label, &mut |pipe, data| {
            let Some(s) = outputs.stream(pipe) else {
                return;
            };
            if streaming {
                s.push_bytes(data);
            } else {
                held[pipe as usize].extend_from_slice(data);
            }
        })
        .map_err(|e| format!("CommandChain::Start() error: [{e}]"))?;
    outputs.set_status(Some(&status));
    for (pipe, data) in [Pipe::Stdout, Pipe::Stderr].into_iter().zip(held) {
        if let Some(s) = outputs.stream(pipe) {
            s.push_bytes(&data);
            s.finish();
        }
    }
    Ok(())
}

/// A ProcessInput instance.
struct ProcessInput {
    settings: ProcessSettings,
    hostname: Bytes,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let ticker = ticker_of(ctx.section)?;
    let settings = settings(ctx.options, ctx.name, ticker)?;
    Ok(Box::new(ProcessInput {
        settings,
        hostname: Bytes::from(ctx.globals.hostname.clone()),
    }))
}

impl Input for ProcessInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let stop = Arc::new(
            StopToken::new().map_err(|e| ProcessError::Fatal(format!("stop token: {e}")))?,
        );
        // Weak: a restart makes a new token; the callback must not keep the old one open.
        let weak = Arc::downgrade(&stop);
        ctx.on_stop(move || {
            if let Some(s) = weak.upgrade() {
                s.stop();
            }
        });
        let name = ctx.name().to_string();
        let mut outputs = Outputs::new(&name, &self.settings, &self.hostname, None, ctx)?;
        run_engine(&self.settings, &mut outputs, &stop, &name).map_err(ProcessError::Fatal)
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "ProcessInput",
    summary: "Runs a command chain on an interval (or once) and turns its output into messages.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::net::testing::{build_error, file_output, start, stop_within, unframe_all};
    use heka_message::{FieldValue, Message};

    fn parse(options: &str) -> Result<ProcessSettings, ConfigError> {
        crate::support::testing::build(
            |ctx| settings(ctx.options, ctx.name, 15).map(|s| Box::new(s) as Box<ProcessSettings>),
            "proc",
            "ProcessInput",
            options,
        )
        .map(|b| *b)
    }

    #[test]
    fn config_defaults_and_commands() {
        let s = parse(
            "[proc.command.1]\nbin = 'tr'\nargs = ['a', 'b']\nenv = ['A=1', 'B=x=y']\ndirectory = '/tmp'\n\
             [proc.command.0]\nBin = 'printf'\n",
        )
        .unwrap();
        assert_eq!(s.ticker, 15);
        assert!(s.stdout && !s.stderr && !s.immediate_start);
        assert_eq!(s.chain.timeout, None);
        assert_eq!(s.chain.steps.len(), 2);
        assert_eq!(s.chain.steps[0].bin, "printf");
        assert_eq!(s.chain.steps[0].env, None);
        let t = &s.chain.steps[1];
        assert_eq!(t.command_line(), "tr a b");
        assert_eq!(
            t.env,
            Some(vec![("A".into(), "1".into()), ("B".into(), "x=y".into())])
        );
        assert_eq!(t.directory, Some(PathBuf::from("/tmp")));
        let s = parse("timeout = 3\nstderr = true\nstdout = false\nimmediate_start = true\n[proc.command.0]\nbin = 'x'\nenv = []\n").unwrap();
        assert_eq!(s.chain.timeout, Some(Duration::from_secs(3)));
        assert!(!s.stdout && s.stderr && s.immediate_start);
        assert_eq!(
            s.chain.steps[0].env,
            Some(vec![]),
            "an empty env clears the environment"
        );
    }

    #[test]
    fn config_errors() {
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("No Command Configured"), "{e}");
        let e = parse("[proc.command.0]\nbin = 'a'\n[proc.command.2]\nbin = 'b'\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Expected to find a command at index [proc][1]"),
            "{e}"
        );
        let e = parse("[proc.command.1]\nbin = 'a'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("index [proc][0]"), "{e}");
        let e = parse("[proc.command.0]\nargs = ['x']\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bin is required"), "{e}");
        let e = parse("[proc.command.0]\nbin = 'a'\nenv = ['NOEQUALS']\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not KEY=VALUE"), "{e}");
        let e = parse("[proc.command.0]\nbin = 'a'\nflags = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("flags"), "{e}");
        let e = parse("colour = 'red'\n[proc.command.0]\nbin = 'a'\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
        let e = build_error(
            "[p]\ntype = 'ProcessInput'\nticker_interval = -1\n[p.command.0]\nbin = 'true'\n",
        );
        assert!(e.contains("ticker_interval"), "{e}");
    }

    #[test]
    fn same_commands_ignores_immediate_start_only() {
        let a = parse("[proc.command.0]\nbin = 'a'\n").unwrap();
        let mut b = a.clone();
        b.immediate_start = true;
        assert!(a.same_commands(&b));
        for change in [
            |s: &mut ProcessSettings| s.ticker = 1,
            |s: &mut ProcessSettings| s.stderr = true,
            |s: &mut ProcessSettings| s.chain.timeout = Some(Duration::from_secs(1)),
            |s: &mut ProcessSettings| s.chain.steps[0].args.push("x".into()),
            |s: &mut ProcessSettings| s.chain.steps[0].env = Some(vec![]),
        ] {
            let mut c = a.clone();
            change(&mut c);
            assert!(!a.same_commands(&c));
        }
    }

    fn field<'a>(m: &'a Message, name: &str) -> Option<FieldValue<'a>> {
        m.field_value(name.as_bytes()).flatten()
    }

    fn wait_messages(out: &std::path::Path, n: usize) -> Vec<Message> {
        crate::support::net::testing::wait_for(&format!("{n} messages"), || {
            let m = unframe_all(&std::fs::read(out).unwrap_or_default());
            (m.len() >= n).then(|| m.into_iter().map(|(_, m)| m).collect::<Vec<_>>())
        })
    }

    #[test]
    fn a_run_once_input_delivers_stdout_and_stderr_with_the_run_s_status() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[hekad]\nhostname = 'box'\n[proc]\ntype = 'ProcessInput'\nticker_interval = 0\nstderr = true\ncan_exit = true\n\
             [proc.command.0]\nbin = 'sh'\nargs = ['-c', 'printf \"a b\"; printf oops >&2; exit 4']\n{}",
            file_output(&out)
        ));
        let mut msgs = wait_messages(&out, 2);
        stop_within(running, 10);
        msgs.sort_by_key(|m| m.payload_bytes().to_vec());
        let (o, e) = (&msgs[0], &msgs[1]);
        assert_eq!(o.payload_bytes(), b"a b");
        assert_eq!(e.payload_bytes(), b"oops");
        for (m, stream) in [(o, "proc.stdout"), (e, "proc.stderr")] {
            assert_eq!(m.type_bytes(), b"ProcessInput");
            assert_eq!(m.logger_bytes(), b"proc");
            assert_eq!(m.hostname_bytes(), b"box");
            assert_eq!(m.pid, Some(std::process::id() as i32));
            assert_eq!(
                field(m, "ProcessInputName"),
                Some(FieldValue::String(stream.as_bytes()))
            );
            assert_eq!(field(m, "ExitStatus"), Some(FieldValue::Integer(4)));
            assert_eq!(
                field(m, "SubcmdErrors"),
                Some(FieldValue::String(
                    &b"Subcommand[0] returned an error: [exit status 4]"[..]
                ))
            );
        }
    }

    #[test]
    fn a_run_once_input_with_a_splitter_streams_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let running = start(&format!(
            "[lines]\ntype = 'TokenSplitter'\ndeliver_incomplete_final = true\n\
             [proc]\ntype = 'ProcessInput'\nticker_interval = 0\ncan_exit = true\nsplitter = 'lines'\n\
             [proc.command.0]\nbin = 'sh'\nargs = ['-c', 'echo one; sleep 0.3; printf two; exit 2']\n{}",
            file_output(&out)
        ));
        let msgs = wait_messages(&out, 2);
        stop_within(running, 10);
        assert_eq!(msgs[0].payload_bytes(), b"one\n");
        assert_eq!(field(&msgs[0], "ExitStatus"), Some(FieldValue::Integer(0)));
        assert_eq!(field(&msgs[0], "SubcmdErrors"), None);
        // The incomplete final record is delivered after the exit, with the run's status.
        assert_eq!(msgs[1].payload_bytes(), b"two");
        assert_eq!(field(&msgs[1], "ExitStatus"), Some(FieldValue::Integer(2)));
        assert!(field(&msgs[1], "SubcmdErrors").is_some());
    }

    #[test]
    fn a_ticker_runs_the_chain_again() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let count = dir.path().join("count");
        let running = start(&format!(
            "[proc]\ntype = 'ProcessInput'\nticker_interval = 1\nimmediate_start = true\nsplitter = 'TokenSplitter'\n\
             [proc.command.0]\nbin = 'sh'\nargs = ['-c', 'echo run >> {c}; wc -l < {c}; echo second']\n\
             [proc.command.1]\nbin = 'tr'\nargs = ['-d', ' ']\n{}",
            file_output(&out),
            c = count.display()
        ));
        let msgs = wait_messages(&out, 4);
        let payloads: Vec<_> = msgs.iter().map(|m| m.payload_bytes().to_vec()).collect();
        assert_eq!(
            &payloads[..4],
            [&b"1\n"[..], b"second\n", b"2\n", b"second\n"]
        );
        assert!(msgs.iter().all(|m| field(m, "SubcmdErrors").is_none()));
        stop_within(running, 10);
    }
}
