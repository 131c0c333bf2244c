//! `hekad`: Heka's daemon.
//!
//! `hekad -config=PATH` loads a TOML file or a directory of them; without `-config` it runs a
//! built-in default config (a TcpInput on 127.0.0.1:5565 decoding Heka protobuf, a CounterFilter
//! and a LogOutput printing its counts). `-test` checks the config and exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use crossbeam_channel::select;
use heka_pipeline::config::{self, Config};
use heka_pipeline::runner::build::Pipeline;
use hekad::cli::{CliError, FlagSpec, Flags, usage};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

/// Decoded messages are allocated on input threads and freed on filter/output threads;
/// mimalloc handles that without the arena-lock contention of glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const FLAGS: &[FlagSpec] = hekad::tools::HEKAD.flags;

/// The config used when no `-config` is given.
fn default_config() -> String {
    let base = std::env::temp_dir().join("hekad");
    format!(
        r#"# hekad's built-in default config.
[hekad]
base_dir = "{}"

[TcpInput]
address = "127.0.0.1:5565"

[CounterFilter]
message_matcher = "Type != 'heka.counter-output'"
ticker_interval = 5

[LogOutput]
message_matcher = "Type == 'heka.counter-output'"
encoder = "PayloadEncoder"

[PayloadEncoder]
append_newlines = false
"#,
        base.display()
    )
}

fn main() -> ExitCode {
    let flags = match Flags::parse(std::env::args().skip(1), FLAGS) {
        Ok(f) => f,
        Err(CliError::Help) => {
            eprint!("{}", usage("hekad", FLAGS));
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("hekad: {e}\n{}", usage("hekad", FLAGS));
            return ExitCode::from(2);
        }
    };
    if flags.is_set("version") {
        println!("{VERSION}");
        return ExitCode::SUCCESS;
    }
    hekad::logging::init(flags.is_set("test") && flags.is_set("q"));
    match run(&flags) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// One line per configured plugin: name, type and, for filters and outputs, the matcher.
fn plugin_list(config: &Config) -> String {
    let mut out = String::new();
    for s in &config.sections {
        let matcher = s
            .get("message_matcher")
            .and_then(|v| v.as_str())
            .map(|m| format!(" message_matcher = {m:?}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {:?} type = {:?}{matcher}\n",
            s.kind.as_str(),
            s.name,
            s.type_name
        ));
    }
    out
}

fn load(flags: &Flags) -> anyhow::Result<Config> {
    let config = match flags.value("config") {
        Some(p) => config::load(Path::new(p))?,
        None => {
            tracing::info!("no -config given: running the built-in default config");
            config::load_str(&default_config(), Path::new("<built-in>"))?
        }
    };
    if config.is_empty() {
        bail!("Empty configuration, exiting.");
    }
    Ok(config)
}

fn run(flags: &Flags) -> anyhow::Result<u8> {
    let config = load(flags)?;
    hekad::logging::set_flags(i64::from(config.globals.log_flags));
    if flags.is_set("test") {
        // Checks everything without binding, opening or creating anything, so it also works
        // beside a hekad that runs this very config.
        let checked = Pipeline::check(&config, &heka_plugins::builtin());
        if let Err(e) = &checked {
            tracing::error!("{e:#}");
        }
        if !flags.is_set("q") {
            print!("{}", plugin_list(&config));
            if checked.is_ok() {
                println!("Configuration OK");
            }
        }
        return Ok(if checked.is_ok() { 0 } else { 1 });
    }
    // Queues, journals and other state live in base_dir: before any plugin opens them, make
    // sure no other hekad uses it.
    let base_dir = &config.globals.base_dir;
    std::fs::create_dir_all(base_dir)
        .with_context(|| format!("creating base_dir {}", base_dir.display()))?;
    let _lock = lock_base_dir(base_dir)?;
    let pipeline = Pipeline::build(&config, &heka_plugins::builtin())?;
    let g = pipeline.globals();
    let pid_file = g.pid_file.clone();
    if let Some(p) = &pid_file {
        write_pid_file(p)?;
    }
    let signals = signal_channel()?;
    raise_open_files_limit();
    tracing::info!("Starting hekad...");
    let running = pipeline.start().context("starting plugins")?;
    let code = loop {
        select! {
            recv(signals) -> s => match s {
                Ok(SIGHUP) => {
                    tracing::info!("Reload initiated.");
                    running.reload();
                }
                Ok(SIGUSR1) => {
                    tracing::info!("Queue report initiated.");
                    eprint!("{}", running.report_text());
                }
                Ok(_) => {
                    tracing::info!("Shutdown initiated.");
                    break 0;
                }
                Err(_) => break 1,
            },
            recv(running.shutdown_requests()) -> r => {
                let reason = r.map(|r| r.reason).unwrap_or_default();
                tracing::error!("shutting down: {reason}");
                break 1;
            }
        }
    };
    let stopping = running
        .stop_in_background()
        .context("starting the shutdown")?;
    // A second SIGINT/SIGTERM while the drain is held up (a destination down, a full channel)
    // ends hekad at once, saying what was left undelivered.
    let code = loop {
        select! {
            recv(stopping.done()) -> _ => break code,
            recv(signals) -> s => match s {
                Ok(SIGINT | SIGTERM) => {
                    let waiting = stopping.undelivered();
                    if waiting.is_empty() {
                        tracing::error!("Second shutdown signal: exiting now; nothing waits in the channels");
                    } else {
                        tracing::error!(
                            "Second shutdown signal: exiting now; undelivered: {}",
                            waiting.join(", ")
                        );
                    }
                    break 1;
                }
                Ok(_) => {}
                Err(_) => {
                    let _ = stopping.done().recv();
                    break code;
                }
            },
        }
    };
    if let Some(p) = &pid_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(code)
}

/// Raises the soft limit on open files to the hard limit, as Go's runtime does at start: an
/// aggregator holds a descriptor per agent connection.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!("open files limit: {n}"),
        Err(e) => tracing::warn!("can't raise the open files limit: {e}"),
    }
}

fn signal_channel() -> anyhow::Result<crossbeam_channel::Receiver<i32>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        .context("installing signal handlers")?;
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for s in signals.forever() {
                if tx.send(s).is_err() {
                    break;
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(rx)
}

/// Takes an exclusive lock on `<base_dir>/hekad.lock` (held until hekad exits, released by
/// the kernel even after a SIGKILL) and writes our pid into it, so that a second hekad given
/// the same base_dir refuses to start instead of writing into the same queues and journals.
fn lock_base_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = dir.join("hekad.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            bail!(
                "base_dir {} is in use by another hekad{holder}: {} is locked; give each hekad its own base_dir",
                dir.display(),
                path.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()));
    if let Err(e) = written {
        tracing::warn!("can't write our pid into {}: {e}", path.display());
    }
    Ok(file)
}

/// Heka's `pid_file`: refuse to start when it names a live process.
fn write_pid_file(path: &PathBuf) -> anyhow::Result<()> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let pid: u32 = text
            .trim()
            .parse()
            .with_context(|| format!("pid_file {} holds no pid", path.display()))?;
        if Path::new(&format!("/proc/{pid}")).exists() {
            bail!("Process {pid} is already running.");
        }
    }
    std::fs::write(path, std::process::id().to_string())
        .with_context(|| format!("writing pid_file {}", path.display()))
}
