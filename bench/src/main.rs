//! `heka-bench`: the system benchmark for hekad (usage in `bench/README.md`).
//!
//! One run sends the same pre-built byte stream over one loopback TCP connection into a
//! byte sink (the loopback limit), into hekad in three configurations and into rsyslog
//! (the peer), and reports rate, CPU per message and memory for each.

mod daemons;
mod logfile;
mod nginx;
mod procfs;
mod report;
mod sink;
mod statsd;
mod tls;
mod workload;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use anyhow::{Context, Result, anyhow, bail};

use daemons::{Running, Scratch, Setup};
use report::{Case, Measurement, Outcome, Target};
use workload::{Stream, Workload};

const USAGE: &str = "\
usage: heka-bench [run] [options]        run the benchmark (see bench/README.md)
       heka-bench sink --port P --bytes N --marker FILE [--conns N]   (internal: the sink)
       heka-bench readlines FILE            (internal: read FILE, count its lines)
       heka-bench statsd [options]          the metrics case: statsd lines over UDP into hekad
                                            and into the reference statsd daemon

statsd options: --lines N (2000000), --per-datagram N (20), --buckets N (1000),
  --rate N lines/s (0: as fast as one sender can), --repeat R, --hekad PATH,
  --statsd-js PATH (target/test-peers/npm/node_modules/statsd/stats.js), --node PATH,
  --out DIR, --tmp DIR

options:
  --count N            data messages per case (default 5000000)
  --cases LIST         comma-separated case ids (default: all, in the order a, a-lines,
                       a-1000conns, b, c, c-buffered, b-40filters, c-1000conns, c-1000tls, d-hekad,
                       d-rsyslog, e-cat, e-lines, e-hekad, e-rsyslog, e-rsyslog-json, nginx-lua,
                       nginx-native, f-hekad, f-rsyslog); `e`, `f`, `nginx`, `tcp`
                       select groups
  --log-size SIZE      size of the nginx log of the e cases (default 1G; K, M, G = 10^3..)
  --files N            files of the f cases (default 1000)
  --file-lines N       lines written to each file in the f cases (default 2000)
  --files-rate N       pace the f writer at N lines/s in all (default: as fast as it can)
  --repeat R           run every case R times, report the median (default 1)
  --hekad PATH         hekad binary (hekad cases are skipped without it)
  --rsyslogd PATH      rsyslogd binary (default /usr/sbin/rsyslogd)
  --rsyslog-config F   use F instead of the built-in rsyslog config
                       (@PORT@, @WORKDIR@, @MARKER@ are filled in)
  --out DIR            results directory (default bench/runs/<date>-<hostname>)
  --tmp DIR            scratch directory (default /dev/shm, else /tmp)
  --timeout SECS       give up on one run after SECS (default 60 + count/20000; for e and
                       f, 60 + lines/20000)
  --rss-interval-ms MS RSS (and thread count) sampling period (default 250)
  --keep               keep the scratch directory (configs, logs, output files)";

/// All cases, in run order.
const CASES: [Case; 20] = [
    Case {
        id: "a",
        what: "framed Heka messages -> sink (loopback limit)",
        workload: Workload::Framed,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "a-lines",
        what: "100-byte lines -> sink (loopback limit for d)",
        workload: Workload::Lines,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "a-1000conns",
        what: "framed Heka messages over 1,000 connections -> sink on two threads (loopback limit)",
        workload: Workload::Framed,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1000,
        also_vs: None,
    },
    Case {
        id: "b",
        what: "hekad TcpInput -> ProtobufDecoder -> CounterFilter",
        workload: Workload::Framed,
        setup: Setup::HekadCounter,
        limit: Some("a"),
        target: Target::Rate(1_000_000.0),
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "c",
        what: "hekad TcpInput -> ProtobufDecoder -> FileOutput(ProtobufEncoder)",
        workload: Workload::Framed,
        setup: Setup::HekadFile,
        limit: Some("a"),
        target: Target::Rate(500_000.0),
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "c-buffered",
        what: "case c with use_buffering on the FileOutput (disk queue in the scratch directory)",
        workload: Workload::Framed,
        setup: Setup::HekadFileBuffered,
        limit: Some("a"),
        target: Target::VsPeer("c", 0.7),
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "b-40filters",
        what: "case b plus 40 CounterFilters whose matchers match nothing",
        workload: Workload::Framed,
        setup: Setup::HekadCounter40,
        limit: Some("a"),
        target: Target::VsPeer("b", 0.8),
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "c-1000conns",
        what: "case c over 1,000 connections streaming at once",
        workload: Workload::Framed,
        setup: Setup::HekadFile,
        limit: Some("a-1000conns"),
        target: Target::VsPeer("c", 1.0),
        connections: 1000,
        also_vs: None,
    },
    Case {
        id: "c-1000tls",
        what: "case c over 1,000 TLS connections streaming at once",
        workload: Workload::Framed,
        setup: Setup::HekadFileTls,
        limit: Some("a-1000conns"),
        target: Target::VsPeer("c", 1.0),
        connections: 1000,
        also_vs: None,
    },
    Case {
        id: "d-hekad",
        what: "hekad TcpInput(TokenSplitter, no decoder) -> CounterFilter",
        workload: Workload::Lines,
        setup: Setup::HekadLines,
        limit: Some("a-lines"),
        target: Target::VsPeer("d-rsyslog", 1.5),
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "d-rsyslog",
        what: "rsyslogd imptcp -> discard (peer)",
        workload: Workload::Lines,
        setup: Setup::Rsyslog,
        limit: Some("a-lines"),
        target: Target::None,
        connections: 1,
        also_vs: None,
    },
    Case {
        id: "e-cat",
        what: "cat access.log > /dev/null (read limit)",
        workload: Workload::Logfile,
        setup: Setup::Cat,
        limit: None,
        target: Target::None,
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "e-lines",
        what: "heka-bench readlines: read access.log and count its lines (read-and-split limit)",
        workload: Workload::Logfile,
        setup: Setup::ReadLines,
        limit: Some("e-cat"),
        target: Target::None,
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "e-hekad",
        what: "hekad LogstreamerInput -> TokenSplitter -> PayloadRegexDecoder -> FileOutput(PayloadEncoder: the raw line)",
        workload: Workload::Logfile,
        setup: Setup::HekadLogfile,
        limit: Some("e-cat"),
        target: Target::VsPeer("e-rsyslog", 2.0),
        connections: 0,
        also_vs: Some("e-rsyslog-json"),
    },
    Case {
        id: "e-rsyslog",
        what: "rsyslogd imfile -> mmnormalize (peers.md W2 rulebase) -> omfile, the raw line (peer)",
        workload: Workload::Logfile,
        setup: Setup::RsyslogLogfile,
        limit: Some("e-cat"),
        target: Target::None,
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "e-rsyslog-json",
        what: "rsyslogd imfile -> mmnormalize -> omfile, the parsed fields as JSON (peers.md W2 exactly)",
        workload: Workload::Logfile,
        setup: Setup::RsyslogLogfileJson,
        limit: Some("e-cat"),
        target: Target::None,
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "nginx-lua",
        what: "hekad LogstreamerInput -> TokenSplitter -> SandboxDecoder(lua_decoders/nginx_access.lua, payload_keep) -> FileOutput(PayloadEncoder: the raw line)",
        workload: Workload::Logfile,
        setup: Setup::HekadLogfileLua,
        limit: Some("e-cat"),
        target: Target::Rate(150_000.0),
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "nginx-native",
        what: "as nginx-lua with the native NginxAccessDecoder",
        workload: Workload::Logfile,
        setup: Setup::HekadLogfileNative,
        limit: Some("e-cat"),
        target: Target::VsPeer("nginx-lua", 5.0),
        connections: 0,
        also_vs: None,
    },
    Case {
        id: "f-hekad",
        what: "as e-hekad over 1,000 files appended to in turn, each file its own logstream",
        workload: Workload::ManyFiles,
        setup: Setup::HekadManyFiles,
        limit: None,
        target: Target::None,
        connections: 0,
        also_vs: Some("f-rsyslog"),
    },
    Case {
        id: "f-rsyslog",
        what: "as e-rsyslog over the same files (imfile File=\"dir/*.log\")",
        workload: Workload::ManyFiles,
        setup: Setup::RsyslogManyFiles,
        limit: None,
        target: Target::None,
        connections: 0,
        also_vs: None,
    },
];

/// Command-line options of `run`.
#[derive(Debug)]
struct Options {
    count: u64,
    cases: Vec<&'static Case>,
    repeat: u32,
    hekad: Option<PathBuf>,
    rsyslogd: PathBuf,
    rsyslog_config: Option<String>,
    out: Option<PathBuf>,
    tmp: PathBuf,
    timeout: Option<Duration>,
    rss_interval: Duration,
    keep: bool,
    log_size: u64,
    files: usize,
    file_lines: u64,
    files_rate: Option<f64>,
}

/// Splits `--name value` / `--name=value` arguments into pairs (flags get an empty value).
fn pairs(args: &[String], flags: &[&str]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            bail!("unexpected argument '{a}'\n{USAGE}");
        };
        if let Some((n, v)) = name.split_once('=') {
            out.push((n.to_string(), v.to_string()));
        } else if flags.contains(&name) {
            out.push((name.to_string(), String::new()));
        } else {
            let v = it.next().ok_or_else(|| anyhow!("--{name} needs a value"))?;
            out.push((name.to_string(), v.clone()));
        }
    }
    Ok(out)
}

/// A byte size: digits with an optional K, M or G (powers of 1000) suffix.
fn size(name: &str, v: &str) -> Result<u64> {
    let t = v.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let scale = match unit {
        ' ' => 1,
        'K' => 1_000,
        'M' => 1_000_000,
        'G' => 1_000_000_000,
        _ => bail!("--{name}: '{v}' has an unknown unit (K, M or G)"),
    };
    number::<u64>(name, digits)?
        .checked_mul(scale)
        .ok_or_else(|| anyhow!("--{name}: '{v}' is too large"))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.replace('_', "")
        .parse()
        .map_err(|_| anyhow!("--{name}: '{v}' is not a valid number"))
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let tmp = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            env::temp_dir()
        };
        let mut o = Options {
            count: 5_000_000,
            cases: CASES.iter().collect(),
            repeat: 1,
            hekad: None,
            rsyslogd: PathBuf::from("/usr/sbin/rsyslogd"),
            rsyslog_config: None,
            out: None,
            tmp,
            timeout: None,
            rss_interval: Duration::from_millis(250),
            keep: false,
            log_size: 1_000_000_000,
            files: 1000,
            file_lines: 2000,
            files_rate: None,
        };
        for (name, v) in pairs(args, &["keep"])? {
            match name.as_str() {
                "count" => o.count = number(&name, &v)?,
                "repeat" => o.repeat = number::<u32>(&name, &v)?.max(1),
                "cases" => {
                    let mut cases: Vec<&'static Case> = Vec::new();
                    for id in v.split(',').filter(|s| !s.is_empty()) {
                        let group: Vec<&'static Case> = match id {
                            "e" | "f" | "nginx" => CASES
                                .iter()
                                .filter(|c| c.id.starts_with(&format!("{id}-")))
                                .collect(),
                            "tcp" => CASES
                                .iter()
                                .filter(|c| {
                                    matches!(c.workload, Workload::Framed | Workload::Lines)
                                })
                                .collect(),
                            _ => vec![
                                CASES
                                    .iter()
                                    .find(|c| c.id == id)
                                    .ok_or_else(|| anyhow!("unknown case '{id}'"))?,
                            ],
                        };
                        cases.extend(group);
                    }
                    o.cases = cases;
                }
                "log-size" => o.log_size = size(&name, &v)?,
                "files" => o.files = number(&name, &v)?,
                "file-lines" => o.file_lines = number(&name, &v)?,
                "files-rate" => {
                    let r: f64 = number(&name, &v)?;
                    o.files_rate = (r > 0.0).then_some(r);
                }
                "hekad" => o.hekad = Some(PathBuf::from(v)),
                "rsyslogd" => o.rsyslogd = PathBuf::from(v),
                "rsyslog-config" => {
                    o.rsyslog_config =
                        Some(fs::read_to_string(&v).with_context(|| format!("reading {v}"))?);
                }
                "out" => o.out = Some(PathBuf::from(v)),
                "tmp" => o.tmp = PathBuf::from(v),
                "timeout" => o.timeout = Some(Duration::from_secs(number(&name, &v)?)),
                "rss-interval-ms" => {
                    o.rss_interval = Duration::from_millis(number::<u64>(&name, &v)?.max(10));
                }
                "keep" => o.keep = true,
                _ => bail!("unknown option --{name}\n{USAGE}"),
            }
        }
        if o.count == 0 {
            bail!("--count must be at least 1");
        }
        if o.log_size == 0 || o.files == 0 || o.file_lines == 0 {
            bail!("--log-size, --files and --file-lines must be at least 1");
        }
        Ok(o)
    }

    fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or_else(|| Duration::from_secs(60 + self.count / 20_000))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("sink") => sink(&args[1..]),
        Some("readlines") => match args.get(1) {
            Some(path) if args.len() == 2 => logfile::readlines(Path::new(path)),
            _ => Err(anyhow!("usage: heka-bench readlines FILE")),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("run") => Options::parse(&args[1..]).and_then(|o| run(&o)),
        Some("statsd") => statsd_options(&args[1..]).and_then(|o| statsd::run(&o)),
        _ => Options::parse(&args).and_then(|o| run(&o)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("heka-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Options of `heka-bench statsd`.
fn statsd_options(args: &[String]) -> Result<statsd::StatsdOptions> {
    let mut o = statsd::StatsdOptions {
        lines: 2_000_000,
        per_datagram: 20,
        buckets: 1000,
        rate: 0,
        repeat: 1,
        hekad: None,
        statsd_js: PathBuf::from("target/test-peers/npm/node_modules/statsd/stats.js"),
        node: PathBuf::from("node"),
        out: None,
        tmp: if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            env::temp_dir()
        },
    };
    for (name, v) in pairs(args, &[])? {
        match name.as_str() {
            "lines" => o.lines = size(&name, &v)?,
            "per-datagram" => o.per_datagram = number(&name, &v)?,
            "buckets" => o.buckets = number(&name, &v)?,
            "rate" => o.rate = size(&name, &v)?,
            "repeat" => o.repeat = number(&name, &v)?,
            "hekad" => o.hekad = Some(PathBuf::from(v)),
            "statsd-js" => o.statsd_js = PathBuf::from(v),
            "node" => o.node = PathBuf::from(v),
            "out" => o.out = Some(PathBuf::from(v)),
            "tmp" => o.tmp = PathBuf::from(v),
            _ => bail!("unknown statsd option --{name}\n{USAGE}"),
        }
    }
    if o.lines == 0 || o.per_datagram == 0 || o.buckets == 0 || o.repeat == 0 {
        bail!("--lines, --per-datagram, --buckets and --repeat must be positive");
    }
    Ok(o)
}

/// The loopback sink: accepts one connection (or `--conns N`), reads `--bytes` bytes, writes
/// the marker file, then reads on until the sender closes.
fn sink(args: &[String]) -> Result<()> {
    let (mut port, mut bytes, mut marker, mut conns) = (None, None, None, 1usize);
    for (name, v) in pairs(args, &[])? {
        match name.as_str() {
            "port" => port = Some(number::<u16>(&name, &v)?),
            "bytes" => bytes = Some(number::<u64>(&name, &v)?),
            "marker" => marker = Some(PathBuf::from(v)),
            "conns" => conns = number::<usize>(&name, &v)?,
            _ => bail!("unknown sink option --{name}"),
        }
    }
    let (Some(port), Some(bytes), Some(marker)) = (port, bytes, marker) else {
        bail!("sink needs --port, --bytes and --marker");
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).context("sink: binding")?;
    if conns > 1 {
        return sink::many(&listener, conns, bytes, &marker);
    }
    let (mut conn, _) = listener.accept().context("sink: accepting")?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < bytes {
        let n = conn.read(&mut buf).context("sink: reading")?;
        if n == 0 {
            bail!("sink: connection closed after {got} of {bytes} bytes");
        }
        got += n as u64;
    }
    fs::write(&marker, "END-OF-RUN\n").context("sink: writing the marker")?;
    while conn.read(&mut buf).context("sink: reading")? > 0 {}
    Ok(())
}

/// Runs every selected case `repeat` times and writes the results.
fn run(o: &Options) -> Result<()> {
    let (date, stamp) = procfs::now_utc();
    let host = procfs::hostname();
    let out = o.out.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("runs")
            .join(format!("{date}-{host}"))
    });
    fs::create_dir_all(out.join("configs"))
        .with_context(|| format!("creating {}", out.display()))?;
    let scratch_root = o.tmp.join(format!("heka-bench-{}", std::process::id()));
    let framed = Stream::build(Workload::Framed)?;
    let lines = Stream::build(Workload::Lines)?;
    let mut what = Vec::new();
    if o.cases
        .iter()
        .any(|c| matches!(c.workload, Workload::Framed | Workload::Lines))
    {
        what.push(format!(
            "{} messages per TCP case, framed message {:.0} B, line {:.0} B",
            o.count,
            framed.message_size(),
            lines.message_size()
        ));
    }
    if o.cases.iter().any(|c| c.workload == Workload::Logfile) {
        what.push(format!("a {} B nginx log", o.log_size));
    }
    if o.cases.iter().any(|c| c.workload == Workload::ManyFiles) {
        what.push(format!("{} files x {} lines", o.files, o.file_lines));
    }
    println!(
        "heka-bench: {}; {} cases x {}",
        what.join(", "),
        o.cases.len(),
        o.repeat
    );
    let mut outcomes: Vec<(&Case, Vec<Outcome>)> =
        o.cases.iter().map(|c| (*c, Vec::new())).collect();
    // The e cases' log, written once before the first of them.
    let mut log: Option<Result<nginx::LogFile, String>> = None;
    for rep in 0..o.repeat {
        for (case, runs) in &mut outcomes {
            let dir = scratch_root.join(format!("{}-{rep}", case.id));
            let outcome = match case.workload {
                Workload::Framed | Workload::Lines => {
                    let stream = if case.workload == Workload::Framed {
                        &framed
                    } else {
                        &lines
                    };
                    run_case(case, o, stream, dir, &out.join("configs"))
                }
                Workload::Logfile => {
                    let log = log.get_or_insert_with(|| {
                        logfile::prepare_log(&scratch_root.join("log"), o.log_size)
                            .map_err(|e| format!("writing the log: {e:#}"))
                    });
                    match log {
                        Ok(log) => run_file_case(case, o, Some(log), dir, &out.join("configs")),
                        Err(e) => Outcome::Failed(e.clone()),
                    }
                }
                Workload::ManyFiles => run_file_case(case, o, None, dir, &out.join("configs")),
            };
            println!(
                "  [{}/{}] {:<10} {}",
                rep + 1,
                o.repeat,
                case.id,
                outcome.line()
            );
            runs.push(outcome);
        }
    }
    if !o.keep {
        let _ = fs::remove_dir_all(&scratch_root);
    }
    let meta = serde_json::json!({
        "date": date,
        "timestamp": stamp,
        "machine": procfs::machine(),
        "git": git_describe(),
        "rsyslogd_version": rsyslog_version(&o.rsyslogd),
        "options": {
            "count": o.count,
            "repeat": o.repeat,
            "timeout_s": o.timeout().as_secs(),
            "hekad": o.hekad.as_ref().map(|p| p.display().to_string()),
            "rsyslog_config": if o.rsyslog_config.is_some() { "custom" } else { "built-in" },
            "log_size": o.log_size,
            "files": o.files,
            "file_lines": o.file_lines,
            "files_rate": o.files_rate,
            "sample_interval_ms": o.rss_interval.as_millis() as u64,
        },
        "workloads": {
            "framed": { "message_bytes": framed.message_size() },
            "lines": { "message_bytes": lines.message_size() },
            "nginx_log": log.as_ref().and_then(|l| l.as_ref().ok()).map(|l| serde_json::json!({
                "lines": l.lines,
                "bytes": l.bytes,
                "dir": o.tmp.display().to_string(),
            })),
            "many_files": {
                "files": o.files,
                "lines_per_file": o.file_lines.div_ceil(logfile::LINES_PER_WRITE as u64)
                    * logfile::LINES_PER_WRITE as u64,
                "lines_per_write": logfile::LINES_PER_WRITE,
                "rate": o.files_rate,
            },
        },
    });
    let summary = report::Summary::new(meta, &outcomes);
    print!("\n{}", summary.table());
    fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&summary.json())?,
    )?;
    fs::write(out.join("results.md"), summary.markdown())?;
    println!("\nresults: {}", out.join("results.json").display());
    Ok(())
}

/// `git describe --always --dirty` of the working tree, if available.
fn git_describe() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// First line of `rsyslogd -v`, if rsyslogd is installed.
fn rsyslog_version(rsyslogd: &Path) -> Option<String> {
    let out = std::process::Command::new(rsyslogd)
        .arg("-v")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next()?;
    let first = first.split(" compiled with").next().unwrap_or(first);
    Some(first.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A TCP port that was free a moment ago.
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// Whether rsyslog's loadable module `name` (e.g. `mmnormalize`) is installed.
fn rsyslog_module(name: &str) -> bool {
    let file = format!("{name}.so");
    let mut dirs = vec![
        PathBuf::from("/usr/lib/rsyslog"),
        PathBuf::from("/usr/lib64/rsyslog"),
    ];
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        dirs.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("rsyslog")),
        );
    }
    dirs.iter().any(|d| d.join(&file).is_file())
}

/// Runs one log-file case (e, f) once.
fn run_file_case(
    case: &Case,
    o: &Options,
    log: Option<&nginx::LogFile>,
    dir: PathBuf,
    configs: &Path,
) -> Outcome {
    let lines = match log {
        Some(l) => l.lines,
        None => o.files as u64 * o.file_lines,
    };
    let fo = logfile::FileOptions {
        timeout: o
            .timeout
            .unwrap_or_else(|| Duration::from_secs(60 + lines / 20_000)),
        sample_interval: o.rss_interval,
        keep: o.keep,
        files: o.files,
        file_lines: o.file_lines,
        files_rate: o.files_rate,
    };
    let program = match case.setup {
        Setup::Cat => ["/usr/bin/cat", "/bin/cat"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
        Setup::ReadLines => env::current_exe().ok(),
        Setup::HekadLogfile
        | Setup::HekadManyFiles
        | Setup::HekadLogfileLua
        | Setup::HekadLogfileNative => match o.hekad.as_ref().filter(|p| p.is_file()) {
            Some(p) => Some(p.clone()),
            None => return Outcome::Skipped("no hekad binary (pass --hekad)".into()),
        },
        _ => {
            if !o.rsyslogd.is_file() {
                return Outcome::Skipped(format!(
                    "{} not found (run bench/setup.sh)",
                    o.rsyslogd.display()
                ));
            }
            if let Some(m) = ["imfile", "mmnormalize"]
                .into_iter()
                .find(|m| !rsyslog_module(m))
            {
                return Outcome::Skipped(format!(
                    "rsyslog module {m} not found (run bench/setup.sh)"
                ));
            }
            Some(o.rsyslogd.clone())
        }
    };
    let Some(program) = program else {
        return Outcome::Failed(format!("no program for {}", case.id));
    };
    let result = match case.setup {
        Setup::Cat | Setup::ReadLines => match log {
            Some(log) => logfile::measure_reader(case.setup, &program, log, dir),
            None => Err(anyhow!("no log")),
        },
        _ => logfile::measure_daemon(
            &logfile::DaemonCase {
                setup: case.setup,
                id: case.id,
                program: &program,
                log,
                configs,
            },
            &fo,
            dir,
        ),
    };
    match result {
        Ok(m) => Outcome::Ok(m),
        Err(e) => Outcome::Failed(format!("{e:#}")),
    }
}

/// Runs one case once.
fn run_case(case: &Case, o: &Options, stream: &Stream, dir: PathBuf, configs: &Path) -> Outcome {
    let program = match case.setup {
        Setup::Sink => env::current_exe().ok(),
        Setup::HekadCounter
        | Setup::HekadCounter40
        | Setup::HekadFile
        | Setup::HekadFileTls
        | Setup::HekadFileBuffered
        | Setup::HekadLines => match o.hekad.as_ref().filter(|p| p.is_file()) {
            Some(p) => Some(p.clone()),
            None => return Outcome::Skipped("no hekad binary (pass --hekad)".into()),
        },
        Setup::Cat
        | Setup::ReadLines
        | Setup::HekadLogfile
        | Setup::HekadManyFiles
        | Setup::HekadLogfileLua
        | Setup::HekadLogfileNative
        | Setup::RsyslogLogfile
        | Setup::RsyslogLogfileJson
        | Setup::RsyslogManyFiles => {
            return Outcome::Failed(format!("{} is not a connection case", case.id));
        }
        Setup::Rsyslog => {
            if !o.rsyslogd.is_file() {
                return Outcome::Skipped(format!(
                    "{} not found (run bench/setup.sh)",
                    o.rsyslogd.display()
                ));
            }
            Some(o.rsyslogd.clone())
        }
    };
    let Some(program) = program else {
        return Outcome::Failed("cannot find the heka-bench executable".into());
    };
    match measure(case, o, stream, &program, dir, configs) {
        Ok(m) => Outcome::Ok(m),
        Err(e) => Outcome::Failed(format!("{e:#}")),
    }
}

/// Starts the daemon for `case`, streams the workload into it and measures.
fn measure(
    case: &Case,
    o: &Options,
    stream: &Stream,
    program: &Path,
    dir: PathBuf,
    configs: &Path,
) -> Result<Measurement> {
    let s = Scratch::create(dir)?;
    let port = free_port()?;
    let total_bytes = stream.total_bytes(o.count);
    let tls_config = if case.setup == Setup::HekadFileTls {
        Some(tls::setup(&s.dir)?)
    } else {
        None
    };
    let args: Vec<String> = match case.setup {
        Setup::Sink => vec![
            "sink".into(),
            format!("--port={port}"),
            format!("--bytes={total_bytes}"),
            format!("--marker={}", s.marker.display()),
            format!("--conns={}", case.connections.max(1)),
        ],
        Setup::Rsyslog => {
            let conf = match &o.rsyslog_config {
                Some(t) => daemons::fill_template(t, port, &s),
                None => daemons::rsyslog_config(port, &s),
            };
            let file = s.dir.join("rsyslog.conf");
            fs::write(&file, &conf)?;
            fs::write(configs.join(format!("{}.conf", case.id)), &conf)?;
            vec![
                "-n".into(),
                "-f".into(),
                file.display().to_string(),
                "-i".into(),
                s.dir.join("rsyslogd.pid").display().to_string(),
            ]
        }
        setup => {
            let conf = daemons::hekad_config(setup, port, &s);
            let file = s.dir.join("hekad.toml");
            fs::write(&file, &conf)?;
            fs::write(configs.join(format!("{}.toml", case.id)), &conf)?;
            vec![format!("-config={}", file.display())]
        }
    };
    let mut daemon = Running::spawn(program, &args, &s.dir, &s.log)?;
    daemon.wait_listening(port, Duration::from_secs(20))?;
    let pid = daemon.pid();
    let mut plain = Vec::new();
    let mut secure = Vec::new();
    for _ in 0..case.connections.max(1) {
        match &tls_config {
            None => plain.push(TcpStream::connect(("127.0.0.1", port)).context("connecting")?),
            Some(c) => secure.push(tls::connect(c, port)?),
        }
    }
    // Wait for the daemon to settle after start-up so that its CPU and RSS baselines are clean.
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        thread::sleep(Duration::from_millis(20));
    }
    let expected_data = matches!(
        case.setup,
        Setup::HekadFile | Setup::HekadFileTls | Setup::HekadFileBuffered
    )
    .then(|| {
        let per = stream.uniform_message_size().unwrap_or(0) as u64;
        per * o.count
    });
    let cpu_before = procfs::process_cpu_seconds(pid)?;
    let rss_start = procfs::status_kb(pid, "VmRSS");
    let sent = Arc::new(AtomicU64::new(0));
    let gen_failed = AtomicBool::new(false);
    let deadline = Instant::now() + o.timeout();

    let result = thread::scope(|scope| -> Result<Measurement> {
        let generator = scope.spawn(|| {
            let r = if !secure.is_empty() {
                stream.send_many(&mut secure, o.count, &sent)
            } else if plain.len() == 1 {
                stream.send(&mut plain[0], o.count, &sent)
            } else {
                stream.send_many(&mut plain, o.count, &sent)
            };
            if r.is_err() {
                gen_failed.store(true, Ordering::Relaxed);
            }
            r
        });
        let mut samples = Vec::new();
        let poll_start = Instant::now();
        let mut next_sample = poll_start;
        let mut marker_at = None;
        let mut data_at = expected_data.is_none().then(Instant::now);
        let mut data_len = 0u64;
        let mut data_changed = poll_start;
        let waited: Result<Instant> = loop {
            let now = Instant::now();
            if marker_at.is_none() && fs::metadata(&s.marker).is_ok_and(|m| m.len() > 0) {
                marker_at = Some(now);
            }
            if let (None, Some(want)) = (data_at, expected_data) {
                let len = fs::metadata(&s.data).map(|m| m.len()).unwrap_or(0);
                if len != data_len {
                    data_len = len;
                    data_changed = now;
                }
                if len >= want {
                    data_at = Some(now);
                } else if let Some(m) = marker_at {
                    // The marker is out but the data file stopped short: report what arrived.
                    if now.duration_since(m.max(data_changed)) > Duration::from_secs(3) {
                        data_at = Some(data_changed.max(m));
                    }
                }
            }
            if let (Some(m), Some(d)) = (marker_at, data_at) {
                break Ok(m.max(d));
            }
            if now >= next_sample {
                next_sample += o.rss_interval;
                if let Some(rss) = procfs::status_kb(pid, "VmRSS") {
                    let t = now.duration_since(poll_start).as_secs_f64();
                    samples.push((t, sent.load(Ordering::Relaxed), rss));
                }
                if let Err(e) = daemon.check_alive() {
                    break Err(e);
                }
            }
            if gen_failed.load(Ordering::Relaxed) {
                break Err(anyhow!("the generator failed; log: {}", daemon.log_tail()));
            }
            if now > deadline {
                break Err(anyhow!(
                    "no end marker after {:?} ({} of {} messages sent); log: {}",
                    o.timeout(),
                    sent.load(Ordering::Relaxed),
                    o.count,
                    daemon.log_tail()
                ));
            }
            thread::sleep(Duration::from_millis(1));
        };
        let cpu_after = procfs::process_cpu_seconds(pid);
        let peak = procfs::status_kb(pid, "VmHWM");
        let rss_end = procfs::status_kb(pid, "VmRSS");
        let end = match waited {
            Ok(end) => end,
            Err(e) => {
                // Unblock the generator (its writes fail once the peer is gone).
                daemon.kill();
                let _ = generator.join();
                return Err(e);
            }
        };
        let generated = generator
            .join()
            .map_err(|_| anyhow!("the generator thread panicked"))?;
        let (started, gen_cpu) = generated?;
        if let (Some(rss), Some(last)) = (rss_end, samples.last()) {
            let t = end.duration_since(poll_start).as_secs_f64();
            if t > last.0 {
                samples.push((t, o.count, rss));
            }
        }
        let note = expected_data.and_then(|want| {
            (data_len < want).then(|| format!("output file has {data_len} of {want} bytes"))
        });
        Ok(Measurement {
            messages: o.count,
            bytes: total_bytes,
            elapsed_s: end.duration_since(started).as_secs_f64(),
            daemon_cpu_s: cpu_after? - cpu_before,
            generator_cpu_s: gen_cpu,
            rss_start_kb: rss_start,
            rss_end_kb: rss_end,
            peak_rss_kb: peak,
            rss_samples: samples,
            note,
            file: None,
        })
    });
    daemon.stop();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_parse_values_flags_and_case_lists() {
        let o = Options::parse(&args(
            "--count 10_000 --cases=b,d-rsyslog --keep --repeat 3 --hekad /x/hekad",
        ))
        .unwrap();
        assert_eq!(o.count, 10_000);
        assert_eq!(
            o.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            ["b", "d-rsyslog"]
        );
        assert!(o.keep);
        assert_eq!(o.repeat, 3);
        assert_eq!(o.hekad.as_deref(), Some(Path::new("/x/hekad")));
        assert_eq!(o.timeout(), Duration::from_secs(60));
        assert_eq!(Options::parse(&[]).unwrap().cases.len(), CASES.len());
    }

    #[test]
    fn options_for_the_log_file_cases() {
        let o = Options::parse(&args(
            "--cases e,f-hekad --log-size 20M --files 10 --file-lines 50 --files-rate 1000",
        ))
        .unwrap();
        assert_eq!(
            o.cases.iter().map(|c| c.id).collect::<Vec<_>>(),
            [
                "e-cat",
                "e-lines",
                "e-hekad",
                "e-rsyslog",
                "e-rsyslog-json",
                "f-hekad"
            ]
        );
        assert_eq!(o.log_size, 20_000_000);
        assert_eq!(
            (o.files, o.file_lines, o.files_rate),
            (10, 50, Some(1000.0))
        );
        let d = Options::parse(&args("--cases tcp")).unwrap();
        assert_eq!(d.cases.len(), 11);
        assert_eq!(d.log_size, 1_000_000_000);
        assert_eq!(size("x", "1_500k").unwrap(), 1_500_000);
        assert_eq!(size("x", "2G").unwrap(), 2_000_000_000);
        assert_eq!(size("x", "123").unwrap(), 123);
    }

    #[test]
    fn options_reject_bad_input() {
        assert!(Options::parse(&args("--cases z")).is_err());
        assert!(Options::parse(&args("--log-size 1T")).is_err());
        assert!(Options::parse(&args("--log-size 0")).is_err());
        assert!(Options::parse(&args("--files 0")).is_err());
        assert!(Options::parse(&args("--count")).is_err());
        assert!(Options::parse(&args("--count x")).is_err());
        assert!(Options::parse(&args("--count 0")).is_err());
        assert!(Options::parse(&args("--bogus 1")).is_err());
        assert!(Options::parse(&args("stray")).is_err());
    }
}
