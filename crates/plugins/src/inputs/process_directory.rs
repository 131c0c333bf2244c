//! ProcessDirectoryInput: runs a ProcessInput for every TOML file of a directory tree, and
//! follows the files as they are added, changed and removed.
//!
//! ```toml
//! [ProcessDirectoryInput]
//! process_dir = "/etc/hekad/processes.d"  # relative: under [hekad] share_dir; default "processes"
//! ticker_interval = 120                    # seconds between rescans (default 300)
//! # splitter = "TokenSplitter"             # used by every process (default NullSplitter)
//! # decoder = "..."                        # likewise
//! ```
//!
//! Layout: `<process_dir>/<N>/<anything>.toml`, where `<N>` is a directory named by a whole
//! number of seconds, the `ticker_interval` of every process defined in it (0 = run once).
//! Each file holds one `[ProcessInput]` section, a ProcessInput's settings (see
//! [`super::process`]; other sections are ignored) except that:
//! - `ticker_interval` is the directory's `<N>`, whatever the file says;
//! - the input is named by the file's path: Logger and `ProcessInputName` use it;
//! - `can_exit` defaults to true: a process that ends (`0/` runs once) just stops; with
//!   `can_exit = false` its end shuts hekad down;
//! - a process that fails (a command that cannot be started) is restarted after 250 ms,
//!   doubling up to 30 s, forever (its `retries` is not used);
//! - `splitter`, `decoder`, `send_decode_failures` and `log_decode_failures` come from the
//!   ProcessDirectoryInput's own section. A file that sets one of them to something else is not
//!   run: the error is logged at each scan (see the differences below).
//!
//! The tree is scanned at start and every `ticker_interval`. A new file starts its process
//! (`Added: <path>`); a removed one stops it, killing its running commands (`Removed: <path>`);
//! a file whose commands, ticker, timeout, `stdout` or `stderr` changed is replaced (both
//! lines). A file that cannot be read or parsed is logged (`loading process file '<path>': …`)
//! and does not affect the others; `.toml` files at other depths (`invalid ProcessInput path:
//! <path>.`), directories not named by a number (`ticker interval could not be parsed for
//! '<path>'.`) or by a negative one are logged and skipped; walk errors (a missing
//! `process_dir`) are logged (`walking '<path>': …`) at every scan. Symbolic links to
//! directories are not followed.
//!
//! Every process runs on a thread of its own, hosted by this input (hekad has no inputs added
//! at run time); stopping the ProcessDirectoryInput stops them all.
//!
//! Differences from Heka:
//! - A process file cannot choose its own splitter or decoder: they are the
//!   ProcessDirectoryInput's. A file naming a different one is refused with a logged error
//!   rather than run with settings it did not ask for. (Heka made a separate input of each
//!   file with its own splitter and decoder.)
//! - A process with `can_exit = false` that ends asks hekad to shut down, as in Heka; if the
//!   ProcessDirectoryInput itself is stopped instead, its processes stop with it.
//! - A process file is read with the same TOML dialect as hekad's config (no `%ENV[...]`
//!   substitution, as in Heka).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::RecvTimeoutError;
use heka_pipeline::config::{CommonInput, ConfigError, RetryOptions, load_section};
use heka_pipeline::plugin::{Input, InputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, InputSpec};
use serde::Deserialize;

use super::process::chain::StopToken;
use super::process::{Outputs, ProcessSettings, run_engine, settings};

/// Default `ticker_interval` (seconds between scans).
const DEFAULT_TICKER: u64 = 300;

/// ProcessDirectoryInput options (`ticker_interval` is a common option).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ProcessDirectoryInputConfig {
    process_dir: String,
}

impl Default for ProcessDirectoryInputConfig {
    fn default() -> Self {
        ProcessDirectoryInputConfig {
            process_dir: "processes".into(),
        }
    }
}

/// The stream options every hosted process shares with the directory input, as the
/// directory input's section sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SharedOptions {
    splitter: String,
    decoder: Option<String>,
    send_decode_failures: bool,
    log_decode_failures: bool,
}

impl SharedOptions {
    fn of(common: &CommonInput, decoder: Option<String>) -> SharedOptions {
        SharedOptions {
            splitter: common
                .splitter
                .clone()
                .unwrap_or_else(|| SPEC.default_splitter.to_string()),
            decoder,
            send_decode_failures: common.send_decode_failures.unwrap_or(false),
            log_decode_failures: common.log_decode_failures.unwrap_or(true),
        }
    }

    /// Why a process file's own settings cannot be honoured, if they can't.
    fn refuse(&self, file: &CommonInput) -> Option<String> {
        let differs = |option: &str, theirs: String, ours: String| {
            Some(format!(
                "'{option}' is {theirs} here but {ours} for the ProcessDirectoryInput; a process file cannot choose its own {option}: set it on the ProcessDirectoryInput"
            ))
        };
        let quoted = |s: &str| format!("'{s}'");
        if let Some(s) = &file.splitter
            && *s != self.splitter
        {
            return differs("splitter", quoted(s), quoted(&self.splitter));
        }
        if let Some(d) = &file.decoder
            && Some(d) != self.decoder.as_ref()
        {
            let ours = self.decoder.as_deref().map_or("none".into(), quoted);
            return differs("decoder", quoted(d), ours);
        }
        if let Some(v) = file.send_decode_failures
            && v != self.send_decode_failures
        {
            let ours = self.send_decode_failures.to_string();
            return differs("send_decode_failures", v.to_string(), ours);
        }
        if let Some(v) = file.log_decode_failures
            && v != self.log_decode_failures
        {
            let ours = self.log_decode_failures.to_string();
            return differs("log_decode_failures", v.to_string(), ours);
        }
        None
    }
}

/// A ProcessDirectoryInput instance.
struct ProcessDirectoryInput {
    dir: PathBuf,
    shared: SharedOptions,
    hostname: Bytes,
}

/// Go's `filepath.Clean`, lexically (`.` and repeated separators go, `..` eats its parent).
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Input>, ConfigError> {
    let c: ProcessDirectoryInputConfig = ctx.options.parse()?;
    let (common, _) = ctx.section.common_input()?;
    // An explicit `decoder = ""` means none, as the pipeline reads it.
    let no_decoder =
        matches!(ctx.section.get("decoder"), Some(toml::Value::String(d)) if d.is_empty());
    let decoder = common.decoder.clone().filter(|_| !no_decoder);
    Ok(Box::new(ProcessDirectoryInput {
        dir: clean(&ctx.globals.share_dir.join(&c.process_dir)),
        shared: SharedOptions::of(&common, decoder),
        hostname: Bytes::from(ctx.globals.hostname.clone()),
    }))
}

/// A process file found by a scan.
struct Wanted {
    settings: ProcessSettings,
    can_exit: bool,
}

/// What the hosted processes tell the directory input.
enum Event {
    /// hekad is stopping.
    Stop,
    /// The process of this file ended and may not (`can_exit = false`).
    Ended(String),
}

/// A hosted process.
struct Hosted {
    settings: ProcessSettings,
    stop: Arc<StopToken>,
    thread: Option<JoinHandle<()>>,
}

impl Hosted {
    /// Stops it and waits for its thread (its commands are killed and reaped).
    fn stop(mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl ProcessDirectoryInput {
    /// Walks the tree and reads every valid process file, logging what is wrong.
    fn scan(&self, name: &str) -> BTreeMap<String, Wanted> {
        let mut found = BTreeMap::new();
        walk(
            &self.dir,
            &mut |path| {
                if let Some((key, w)) = self.process_file(name, path) {
                    found.insert(key, w);
                }
            },
            &mut |path, e| {
                tracing::error!(input = %name, "walking '{}': {e}", path.display());
            },
        );
        found
    }

    /// Checks one `.toml` file found by the walk.
    fn process_file(&self, name: &str, path: &Path) -> Option<(String, Wanted)> {
        let shown = path.display().to_string();
        let interval_dir = path.parent()?;
        if interval_dir.parent() != Some(self.dir.as_path()) {
            tracing::error!(input = %name, "invalid ProcessInput path: {shown}.");
            return None;
        }
        let interval = interval_dir.file_name()?.to_string_lossy();
        let ticker = match interval.parse::<i64>() {
            Ok(n) if n < 0 => {
                tracing::error!(input = %name, "a negative ticker interval was parsed for '{shown}'.");
                return None;
            }
            Ok(n) => n.unsigned_abs(),
            Err(_) => {
                tracing::error!(input = %name, "ticker interval could not be parsed for '{shown}'.");
                return None;
            }
        };
        match load(path, &shown, ticker, &self.shared) {
            Ok(w) => Some((shown, w)),
            Err(e) => {
                tracing::error!(input = %name, "loading process file '{shown}': {e}");
                None
            }
        }
    }

    /// Starts the process of one file on a thread of its own.
    fn start(
        &self,
        ctx: &InputContext,
        path: &str,
        wanted: Wanted,
        events: &crossbeam_channel::Sender<Event>,
    ) -> Result<Hosted, String> {
        let stop = Arc::new(StopToken::new().map_err(|e| format!("stop token: {e}"))?);
        let logger = Bytes::from(path.to_string());
        let mut outputs = Outputs::new(path, &wanted.settings, &self.hostname, Some(logger), ctx)
            .map_err(|e| e.to_string())?;
        let settings = wanted.settings.clone();
        let (token, events, label) = (stop.clone(), events.clone(), path.to_string());
        let can_exit = wanted.can_exit;
        let thread = std::thread::Builder::new()
            .name("process".into())
            .spawn(move || host(&settings, &mut outputs, &token, &label, can_exit, &events))
            .map_err(|e| format!("can't start a thread: {e}"))?;
        Ok(Hosted {
            settings: wanted.settings,
            stop,
            thread: Some(thread),
        })
    }

    /// Heka's `loadInputs`: stops what is gone, starts what is new, replaces what changed.
    fn rescan(
        &self,
        ctx: &InputContext,
        running: &mut BTreeMap<String, Hosted>,
        events: &crossbeam_channel::Sender<Event>,
    ) {
        let name = ctx.name();
        let mut wanted = self.scan(name);
        let gone: Vec<String> = running
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for path in gone {
            if let Some(h) = running.remove(&path) {
                h.stop();
                tracing::info!(input = %name, "Removed: {path}");
            }
        }
        for (path, w) in std::mem::take(&mut wanted) {
            if let Some(h) = running.get(&path) {
                if h.settings.same_commands(&w.settings) {
                    continue;
                }
                if let Some(h) = running.remove(&path) {
                    h.stop();
                    tracing::info!(input = %name, "Removed: {path}");
                }
            }
            match self.start(ctx, &path, w, events) {
                Ok(h) => {
                    running.insert(path.clone(), h);
                    tracing::info!(input = %name, "Added: {path}");
                }
                Err(e) => tracing::error!(input = %name, "creating input '{path}': {e}"),
            }
        }
    }
}

/// Reads a process file's `[ProcessInput]` section.
fn load(path: &Path, shown: &str, ticker: u64, shared: &SharedOptions) -> Result<Wanted, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let section = load_section(&text, path, "ProcessInput")
        .map_err(|e| e.to_string())?
        .ok_or("No `ProcessInput` section.")?;
    if section.type_name != super::process::SPEC.type_name {
        return Err(section
            .error(Some("type"), "the section's type must be ProcessInput")
            .to_string());
    }
    let (common, options) = section.common_input().map_err(|e| e.to_string())?;
    if let Some(why) = shared.refuse(&common) {
        return Err(why);
    }
    let settings = settings(&options, shown, ticker).map_err(|e| e.to_string())?;
    Ok(Wanted {
        settings,
        can_exit: common.can_exit.unwrap_or(true),
    })
}

/// Go's `filepath.Walk` in lexical order without following symbolic links: `file` is called
/// for every entry that is not a directory and whose name ends in `.toml`, `error` for what
/// cannot be read.
fn walk(path: &Path, file: &mut dyn FnMut(&Path), error: &mut dyn FnMut(&Path, std::io::Error)) {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return error(path, e),
    };
    if !meta.is_dir() {
        if path.extension().is_some_and(|e| e == "toml")
            || path.file_name().is_some_and(|n| n == ".toml")
        {
            file(path);
        }
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(d) => d,
        Err(e) => return error(path, e),
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for n in names {
        walk(&path.join(n), file, error);
    }
}

/// The thread of one hosted process: runs it, restarting it after a failure with Heka's forced
/// policy (250 ms doubling to 30 s with jitter, forever), until it ends or is stopped.
fn host(
    settings: &ProcessSettings,
    outputs: &mut Outputs,
    stop: &StopToken,
    label: &str,
    can_exit: bool,
    events: &crossbeam_channel::Sender<Event>,
) {
    let mut delays = RetryOptions::default().delays();
    loop {
        // A panic fails the run like an error: the process is run again after the delay.
        let run = heka_pipeline::runner::catch_panic(|| run_engine(settings, outputs, stop, label));
        match run.unwrap_or_else(Err) {
            Ok(()) => {
                if stop.is_stopped() {
                    return;
                }
                if can_exit {
                    tracing::info!(input = %label, "input has stopped, exiting plugin without shutting down");
                } else {
                    tracing::error!(input = %label, "input has stopped, shutting down");
                    let _ = events.send(Event::Ended(label.to_string()));
                }
                return;
            }
            Err(e) => {
                if stop.is_stopped() {
                    return;
                }
                tracing::error!(input = %label, "{e}");
                let Some(d) = delays.next() else {
                    return;
                };
                if stop.wait(d) {
                    return;
                }
                tracing::info!(input = %label, "restarting");
            }
        }
    }
}

impl Input for ProcessDirectoryInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), ProcessError> {
        let period = ctx
            .ticker_interval()
            .unwrap_or(Duration::from_secs(DEFAULT_TICKER));
        let (tx, rx) = crossbeam_channel::unbounded();
        {
            let tx = tx.clone();
            ctx.on_stop(move || {
                let _ = tx.send(Event::Stop);
            });
        }
        let mut running: BTreeMap<String, Hosted> = BTreeMap::new();
        let mut next_scan = Instant::now();
        while !ctx.stopping() {
            let now = Instant::now();
            if now >= next_scan {
                self.rescan(ctx, &mut running, &tx);
                next_scan = (next_scan + period).max(Instant::now());
                continue;
            }
            match rx.recv_timeout(next_scan - now) {
                Ok(Event::Stop) => break,
                Ok(Event::Ended(path)) => ctx.request_shutdown(format!(
                    "input '{path}' of '{}' stopped: Run exited.",
                    ctx.name()
                )),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for h in running.values() {
            h.stop.stop();
        }
        for (_, h) in std::mem::take(&mut running) {
            h.stop();
        }
        Ok(())
    }
}

pub(super) const SPEC: InputSpec = InputSpec {
    type_name: "ProcessDirectoryInput",
    summary: "Runs a ProcessInput for every TOML file of a directory tree, following changes.",
    default_splitter: "NullSplitter",
    default_decoder: None,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::net::testing::{file_output, start, stop_within, unframe_all, wait_for};

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn input(dir: &Path) -> ProcessDirectoryInput {
        ProcessDirectoryInput {
            dir: dir.to_path_buf(),
            shared: SharedOptions {
                splitter: "NullSplitter".into(),
                decoder: None,
                send_decode_failures: false,
                log_decode_failures: true,
            },
            hostname: Bytes::new(),
        }
    }

    const ECHO: &str = "[ProcessInput]\n[ProcessInput.command.0]\nbin = 'echo'\nargs = ['hi']\n";

    #[test]
    fn the_layout_gives_the_ticker_and_skips_what_is_misplaced() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(&root.join("5/a.toml"), ECHO);
        let body = &ECHO[15..];
        write(
            &root.join("0/once.toml"),
            &format!("[ProcessInput]\ncan_exit = false\n{body}"),
        );
        write(
            &root.join("007/b.toml"),
            &format!("[ProcessInput]\nticker_interval = 99\n{body}"),
        );
        write(&root.join("top.toml"), ECHO);
        write(&root.join("5/deeper/c.toml"), ECHO);
        write(&root.join("x/d.toml"), ECHO);
        write(&root.join("-3/e.toml"), ECHO);
        write(&root.join("5/notes.txt"), "not a process");
        write(&root.join("5/broken.toml"), "[ProcessInput\n");
        write(&root.join("5/other.toml"), "[Other]\nx = 1\n");
        write(
            &root.join("5/splitter.toml"),
            &format!("[ProcessInput]\nsplitter = 'TokenSplitter'\n{body}"),
        );
        write(
            &root.join("5/same_splitter.toml"),
            &format!("[ProcessInput]\nsplitter = 'NullSplitter'\n{body}"),
        );
        // Other sections, even ones hekad would refuse, are ignored.
        write(
            &root.join("9/extra.toml"),
            &format!("[whatever]\nfoo = 1\n{ECHO}"),
        );
        let found = input(root).scan("pdi");
        let got: Vec<(String, u64, bool)> = found
            .iter()
            .map(|(k, w)| {
                let rel = Path::new(k)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                (rel, w.settings.ticker, w.can_exit)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("0/once.toml".to_string(), 0, false),
                ("007/b.toml".to_string(), 7, true),
                ("5/a.toml".to_string(), 5, true),
                ("5/same_splitter.toml".to_string(), 5, true),
                ("9/extra.toml".to_string(), 9, true),
            ]
        );
        // A missing directory is only an error to log.
        assert!(input(&root.join("missing")).scan("pdi").is_empty());
    }

    #[test]
    fn file_errors_say_why() {
        let d = tempfile::tempdir().unwrap();
        let shared = input(d.path()).shared;
        let p = d.path().join("f.toml");
        let load_text = |text: &str| {
            write(&p, text);
            load(&p, "f", 1, &shared).err().unwrap_or_default()
        };
        assert_eq!(load_text("[Other]\n"), "No `ProcessInput` section.");
        assert!(load_text("[ProcessInput]\n").contains("No Command Configured"));
        let e = load_text(&format!(
            "[ProcessInput]\ndecoder = 'JsonDecoder'\n{}",
            &ECHO[15..]
        ));
        assert!(
            e.contains("'decoder' is 'JsonDecoder' here but none"),
            "{e}"
        );
        let e = load_text(&format!(
            "[ProcessInput]\nsplitter = 'TokenSplitter'\n{}",
            &ECHO[15..]
        ));
        assert!(e.contains("cannot choose its own splitter"), "{e}");
        let e = load_text("[ProcessInput]\ntype = 'TcpInput'\n");
        assert!(e.contains("type must be ProcessInput"), "{e}");
        let e = load_text("[ProcessInput\n");
        assert!(e.contains("f.toml"), "{e}");
    }

    #[test]
    fn clean_is_lexical() {
        assert_eq!(clean(Path::new("/a/./b//c/../d/")), PathBuf::from("/a/b/d"));
        assert_eq!(clean(Path::new("a/../../b")), PathBuf::from("../b"));
        assert_eq!(clean(Path::new("/../x")), PathBuf::from("/x"));
    }

    #[test]
    fn relative_process_dir_is_under_share_dir() {
        let d = tempfile::tempdir().unwrap();
        let share = d.path().join("share");
        let out = d.path().join("out.log");
        write(&share.join("procs/0/one.toml"), ECHO);
        let running = start(&format!(
            "[hekad]\nshare_dir = '{}'\n[ProcessDirectoryInput]\nprocess_dir = 'procs'\n{}",
            share.display(),
            file_output(&out)
        ));
        let msgs = wait_for("the process's message", || {
            let m = unframe_all(&std::fs::read(&out).unwrap_or_default());
            (!m.is_empty()).then_some(m)
        });
        stop_within(running, 10);
        let path = share.join("procs/0/one.toml").display().to_string();
        let m = &msgs[0].1;
        assert_eq!(m.payload_bytes(), b"hi\n");
        assert_eq!(m.logger_bytes(), path.as_bytes());
        assert_eq!(
            m.field_value(b"ProcessInputName"),
            Some(Some(heka_message::FieldValue::String(
                format!("{path}.stdout").as_bytes()
            )))
        );
    }
}
