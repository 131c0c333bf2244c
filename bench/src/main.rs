//! `heka-bench`: the system benchmark for hekad (usage in `bench/README.md`).
//!
//! One run sends the same pre-built byte stream over one loopback TCP connection into a
//! byte sink (the loopback limit), into hekad in three configurations and into rsyslog
//! (the peer), and reports rate, CPU per message and memory for each.

mod daemons;
mod procfs;
mod report;
mod sink;
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

options:
  --count N            data messages per case (default 5000000)
  --cases LIST         comma-separated case ids (default: all, in the order a, a-lines,
                       a-1000conns, b, c, b-40filters, c-1000conns, c-1000tls, d-hekad,
                       d-rsyslog)
  --repeat R           run every case R times, report the median (default 1)
  --hekad PATH         hekad binary (hekad cases are skipped without it)
  --rsyslogd PATH      rsyslogd binary (default /usr/sbin/rsyslogd)
  --rsyslog-config F   use F instead of the built-in rsyslog config
                       (@PORT@, @WORKDIR@, @MARKER@ are filled in)
  --out DIR            results directory (default bench/runs/<date>-<hostname>)
  --tmp DIR            scratch directory (default /dev/shm, else /tmp)
  --timeout SECS       give up on one run after SECS (default 60 + count/20000)
  --rss-interval-ms MS RSS sampling period (default 250)
  --keep               keep the scratch directory (configs, logs, output files)";

/// All cases, in run order.
const CASES: [Case; 10] = [
    Case {
        id: "a",
        what: "framed Heka messages -> sink (loopback limit)",
        workload: Workload::Framed,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1,
    },
    Case {
        id: "a-lines",
        what: "100-byte lines -> sink (loopback limit for d)",
        workload: Workload::Lines,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1,
    },
    Case {
        id: "a-1000conns",
        what: "framed Heka messages over 1,000 connections -> sink on two threads (loopback limit)",
        workload: Workload::Framed,
        setup: Setup::Sink,
        limit: None,
        target: Target::None,
        connections: 1000,
    },
    Case {
        id: "b",
        what: "hekad TcpInput -> ProtobufDecoder -> CounterFilter",
        workload: Workload::Framed,
        setup: Setup::HekadCounter,
        limit: Some("a"),
        target: Target::Rate(1_000_000.0),
        connections: 1,
    },
    Case {
        id: "c",
        what: "hekad TcpInput -> ProtobufDecoder -> FileOutput(ProtobufEncoder)",
        workload: Workload::Framed,
        setup: Setup::HekadFile,
        limit: Some("a"),
        target: Target::Rate(500_000.0),
        connections: 1,
    },
    Case {
        id: "b-40filters",
        what: "case b plus 40 CounterFilters whose matchers match nothing",
        workload: Workload::Framed,
        setup: Setup::HekadCounter40,
        limit: Some("a"),
        target: Target::VsPeer("b", 0.8),
        connections: 1,
    },
    Case {
        id: "c-1000conns",
        what: "case c over 1,000 connections streaming at once",
        workload: Workload::Framed,
        setup: Setup::HekadFile,
        limit: Some("a-1000conns"),
        target: Target::VsPeer("c", 1.0),
        connections: 1000,
    },
    Case {
        id: "c-1000tls",
        what: "case c over 1,000 TLS connections streaming at once",
        workload: Workload::Framed,
        setup: Setup::HekadFileTls,
        limit: Some("a-1000conns"),
        target: Target::VsPeer("c", 1.0),
        connections: 1000,
    },
    Case {
        id: "d-hekad",
        what: "hekad TcpInput(TokenSplitter, no decoder) -> CounterFilter",
        workload: Workload::Lines,
        setup: Setup::HekadLines,
        limit: Some("a-lines"),
        target: Target::VsPeer("d-rsyslog", 1.5),
        connections: 1,
    },
    Case {
        id: "d-rsyslog",
        what: "rsyslogd imptcp -> discard (peer)",
        workload: Workload::Lines,
        setup: Setup::Rsyslog,
        limit: Some("a-lines"),
        target: Target::None,
        connections: 1,
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
        };
        for (name, v) in pairs(args, &["keep"])? {
            match name.as_str() {
                "count" => o.count = number(&name, &v)?,
                "repeat" => o.repeat = number::<u32>(&name, &v)?.max(1),
                "cases" => {
                    o.cases = v
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|id| {
                            CASES
                                .iter()
                                .find(|c| c.id == id)
                                .ok_or_else(|| anyhow!("unknown case '{id}'"))
                        })
                        .collect::<Result<_>>()?;
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
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("run") => Options::parse(&args[1..]).and_then(|o| run(&o)),
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
    println!(
        "heka-bench: {} messages per case, framed message {:.0} B, line {:.0} B, {} cases x {}",
        o.count,
        framed.message_size(),
        lines.message_size(),
        o.cases.len(),
        o.repeat
    );
    let mut outcomes: Vec<(&Case, Vec<Outcome>)> =
        o.cases.iter().map(|c| (*c, Vec::new())).collect();
    for rep in 0..o.repeat {
        for (case, runs) in &mut outcomes {
            let stream = match case.workload {
                Workload::Framed => &framed,
                Workload::Lines => &lines,
            };
            let dir = scratch_root.join(format!("{}-{rep}", case.id));
            let outcome = run_case(case, o, stream, dir, &out.join("configs"));
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
        },
        "workloads": {
            "framed": { "message_bytes": framed.message_size() },
            "lines": { "message_bytes": lines.message_size() },
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

/// Runs one case once.
fn run_case(case: &Case, o: &Options, stream: &Stream, dir: PathBuf, configs: &Path) -> Outcome {
    let program = match case.setup {
        Setup::Sink => env::current_exe().ok(),
        Setup::HekadCounter
        | Setup::HekadCounter40
        | Setup::HekadFile
        | Setup::HekadFileTls
        | Setup::HekadLines => match o.hekad.as_ref().filter(|p| p.is_file()) {
            Some(p) => Some(p.clone()),
            None => return Outcome::Skipped("no hekad binary (pass --hekad)".into()),
        },
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
    let expected_data = matches!(case.setup, Setup::HekadFile | Setup::HekadFileTls).then(|| {
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
    fn options_reject_bad_input() {
        assert!(Options::parse(&args("--cases e")).is_err());
        assert!(Options::parse(&args("--count")).is_err());
        assert!(Options::parse(&args("--count x")).is_err());
        assert!(Options::parse(&args("--count 0")).is_err());
        assert!(Options::parse(&args("--bogus 1")).is_err());
        assert!(Options::parse(&args("stray")).is_err());
    }
}
