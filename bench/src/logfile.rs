//! The log-file cases (issue 9): an nginx access log read, parsed and written back by hekad
//! and by rsyslog, beside the read limit (`cat`), and the same pipeline tailing 1,000 files.
//!
//! - `e-*`: one generated log (see [`crate::nginx`]) of `--log-size` bytes, written once per
//!   benchmark run before any timing. Time runs from the daemon's start until its output file
//!   holds every line.
//! - `f-*`: `--files` empty files exist when the daemon starts; then a writer thread appends
//!   [`LINES_PER_WRITE`] lines to each file in turn, round after round, until each holds
//!   `--file-lines` lines. Time runs from the first write until the output holds every line.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::daemons::{FILE_OUTPUT_BATCHING, Running, Scratch, Setup, quoted};
use crate::nginx::{self, LogFile};
use crate::procfs;
use crate::report::{FileStats, Measurement};

/// The liblognorm v2 rulebase of peers.md W2 (copied from `shared/peers.md`, "rsyslog
/// configs", `nginx.rb`): ten fields of the nginx `combined` format.
pub(crate) const RULEBASE: &str = r#"version=2
rule=:%client:ipv4% - %user:word% [%time:char-to{"extradata":"]"}%] "%method:word% %path:word% %proto:char-to{"extradata":"\""}%" %status:number% %bytes:number% "%referer:char-to{"extradata":"\""}%" "%agent:char-to{"extradata":"\""}%"
"#;

/// hekad's equivalent of [`RULEBASE`]: the same ten fields, the time going to the message's
/// Timestamp (parsed with `timestamp_layout`) and the other nine to fields.
pub(crate) const NGINX_REGEX: &str = r#"^(?P<RemoteIP>\d+\.\d+\.\d+\.\d+) - (?P<RemoteUser>\S+) \[(?P<Timestamp>[^\]]+)\] "(?P<Method>\S+) (?P<Url>\S+) (?P<Proto>[^"]+)" (?P<Status>\d+) (?P<Bytes>\d+) "(?P<Referer>[^"]*)" "(?P<Agent>[^"]*)""#;

/// Lines the `f` writer appends to one file before it moves to the next.
pub(crate) const LINES_PER_WRITE: usize = 10;

/// A run ends when the output lacks at most this many bytes: rsyslog's omfile, with the
/// peers.md settings (`ioBufferSize="64k" flushOnTXEnd="off"`), writes its last partial
/// buffer only when it stops. The harness then waits for the rest (hekad writes it within
/// 50 ms), stops the daemon (rsyslog writes it then) and checks that every line arrived.
/// 64 KiB is about 390 of the log's lines.
pub(crate) const END_SLACK: u64 = 64 * 1024;

/// Name of the generated log in its directory.
pub(crate) const LOG_NAME: &str = "access.log";

/// Settings of the log-file cases taken from the command line.
#[derive(Debug, Clone)]
pub(crate) struct FileOptions {
    /// Give up on one run after this long.
    pub(crate) timeout: Duration,
    /// VmRSS / Threads sampling period.
    pub(crate) sample_interval: Duration,
    /// Keep the output files (they are deleted after each run otherwise).
    pub(crate) keep: bool,
    /// Files of the `f` cases.
    pub(crate) files: usize,
    /// Lines written to each of them.
    pub(crate) file_lines: u64,
    /// Pace of the `f` writer in lines per second (`None`: as fast as it can).
    pub(crate) files_rate: Option<f64>,
}

/// The hekad config of the `e` (one file) and `f` (many files) cases:
/// LogstreamerInput → TokenSplitter → PayloadRegexDecoder → FileOutput with PayloadEncoder.
/// PayloadEncoder writes the payload, the raw line (its `\n` included: TokenSplitter keeps the
/// delimiter, so `append_newlines = false`).
pub(crate) fn hekad_config(setup: Setup, s: &Scratch, log_dir: &Path, out: &Path) -> String {
    if matches!(setup, Setup::HekadLogfileLua | Setup::HekadLogfileNative) {
        return access_decoder_config(setup, s, log_dir, out);
    }
    let (file_match, differentiator) = if setup == Setup::HekadManyFiles {
        // Each file its own logstream, named after the file.
        (r"(?P<Name>f\d+)\.log", "differentiator = [\"Name\"]\n")
    } else {
        (r"access\.log", "")
    };
    format!(
        r#"[hekad]
maxprocs = 2
base_dir = "{base}"

[nginx]
type = "LogstreamerInput"
log_directory = "{log_dir}"
file_match = '{file_match}'
{differentiator}splitter = "TokenSplitter"
decoder = "nginx_decoder"

[nginx_decoder]
type = "PayloadRegexDecoder"
match_regex = '{NGINX_REGEX}'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"

[nginx_decoder.message_fields]
Type = "nginx.access"
remote_addr = "%RemoteIP%"
remote_user = "%RemoteUser%"
request_method = "%Method%"
request_uri = "%Url%"
server_protocol = "%Proto%"
status = "%Status%"
"body_bytes_sent|B" = "%Bytes%"
http_referer = "%Referer%"
http_user_agent = "%Agent%"

[data]
type = "FileOutput"
message_matcher = "Type == 'nginx.access'"
path = "{out}"
encoder = "PayloadEncoder"
{FILE_OUTPUT_BATCHING}
[PayloadEncoder]
append_newlines = false
"#,
        base = quoted(&s.dir.join("base")),
        log_dir = quoted(log_dir),
        out = quoted(out),
    )
}

/// The nginx `log_format` of the generated log (`combined`).
pub(crate) const NGINX_LOG_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// The repository's `share/heka` (hekad's `share_dir` for the Lua decoder).
const SHARE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../share/heka");

/// The hekad config of the `nginx-lua` and `nginx-native` cases: LogstreamerInput →
/// TokenSplitter → `lua_decoders/nginx_access.lua` (SandboxDecoder) or NginxAccessDecoder,
/// both with the same `config` table → FileOutput with PayloadEncoder. `payload_keep` keeps
/// the raw line as the Payload, so the output is the log again, as in the `e` cases.
fn access_decoder_config(setup: Setup, s: &Scratch, log_dir: &Path, out: &Path) -> String {
    let decoder = if setup == Setup::HekadLogfileLua {
        "type = \"SandboxDecoder\"\nfilename = \"lua_decoders/nginx_access.lua\""
    } else {
        "type = \"NginxAccessDecoder\""
    };
    format!(
        r#"[hekad]
maxprocs = 2
base_dir = "{base}"
share_dir = "{share}"

[nginx]
type = "LogstreamerInput"
log_directory = "{log_dir}"
file_match = 'access\.log'
splitter = "TokenSplitter"
decoder = "nginx_decoder"

[nginx_decoder]
{decoder}

[nginx_decoder.config]
type = "nginx.access"
payload_keep = true
log_format = '{NGINX_LOG_FORMAT}'

[data]
type = "FileOutput"
message_matcher = "Type == 'nginx.access'"
path = "{out}"
encoder = "PayloadEncoder"
{FILE_OUTPUT_BATCHING}
[PayloadEncoder]
append_newlines = false
"#,
        base = quoted(&s.dir.join("base")),
        share = quoted(Path::new(SHARE_DIR)),
        log_dir = quoted(log_dir),
        out = quoted(out),
    )
}

/// The rsyslog config of the `e` and `f` cases: peers.md W2 (imfile in inotify mode →
/// mmnormalize with [`RULEBASE`] → omfile with a 64 KiB buffer). With `json`, each line is
/// written as the JSON of the parsed fields (W2 exactly); without, the raw line is written
/// after parsing, as hekad's PayloadEncoder does. Lines the rulebase does not parse are also
/// written to `unparsed`, so that a run can tell whether mmnormalize did its work.
pub(crate) fn rsyslog_config(
    s: &Scratch,
    input: &str,
    rulebase: &Path,
    out: &Path,
    unparsed: &Path,
    json: bool,
) -> String {
    let template = if json {
        r#"template(name="out" type="string" string="%$!all-json%\n")"#
    } else {
        r#"template(name="out" type="string" string="%rawmsg%\n")"#
    };
    format!(
        r#"global(workDirectory="{work}")
module(load="imfile" mode="inotify")
module(load="mmnormalize")
{template}
input(type="imfile" File="{input}" Tag="nginx" ruleset="p" freshStartTail="off")
ruleset(name="p") {{
  action(type="mmnormalize" rulebase="{rulebase}" useRawMsg="on")
  action(type="omfile" file="{out}" template="out" ioBufferSize="64k" flushOnTXEnd="off")
  if $parsesuccess == "FAIL" then {{
    action(type="omfile" file="{unparsed}")
  }}
}}
"#,
        work = quoted(&s.dir.join("base")),
        input = input.replace('\\', "\\\\").replace('"', "\\\""),
        rulebase = quoted(rulebase),
        out = quoted(out),
        unparsed = quoted(unparsed),
    )
}

/// `heka-bench readlines FILE`: reads FILE in 256 KiB blocks and counts its lines (the
/// read-and-split limit), printing `lines N bytes M`.
pub(crate) fn readlines(path: &Path) -> Result<()> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0u8; 256 * 1024];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = f.read(&mut buf).context("reading")?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += count_newlines(&buf[..n]);
    }
    println!("lines {lines} bytes {bytes}");
    Ok(())
}

/// Newlines in `b` (a loop the compiler vectorises).
fn count_newlines(b: &[u8]) -> u64 {
    b.iter().map(|&c| u64::from(c == b'\n')).sum()
}

/// How the harness tells that the output is complete.
#[derive(Debug)]
struct Progress {
    path: PathBuf,
    /// Count lines (output of unknown size, JSON) instead of comparing sizes.
    count_lines: bool,
    want_bytes: u64,
    want_lines: u64,
    file: Option<File>,
    buf: Vec<u8>,
    bytes: u64,
    lines: u64,
}

impl Progress {
    fn new(path: &Path, count_lines: bool, want_bytes: u64, want_lines: u64) -> Progress {
        Progress {
            path: path.to_path_buf(),
            count_lines,
            want_bytes,
            want_lines,
            file: None,
            buf: Vec::new(),
            bytes: 0,
            lines: 0,
        }
    }

    /// Looks at the output again; true if it grew.
    fn poll(&mut self) -> bool {
        let before = self.bytes;
        if !self.count_lines {
            self.bytes = fs::metadata(&self.path).map_or(0, |m| m.len());
            // Lines so far, estimated from the size (exact at the end).
            self.lines = if self.want_bytes == 0 {
                0
            } else {
                (u128::from(self.bytes) * u128::from(self.want_lines) / u128::from(self.want_bytes))
                    as u64
            };
            return self.bytes != before;
        }
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
            self.buf = vec![0u8; 1 << 20];
        }
        if let Some(f) = &mut self.file {
            while let Ok(n) = f.read(&mut self.buf) {
                if n == 0 {
                    break;
                }
                self.bytes += n as u64;
                self.lines += count_newlines(&self.buf[..n]);
            }
        }
        self.bytes != before
    }

    /// Whether the output holds every line.
    fn done(&self) -> bool {
        if self.count_lines {
            self.lines >= self.want_lines
        } else {
            self.bytes >= self.want_bytes
        }
    }

    /// Whether at most [`END_SLACK`] bytes are missing (for JSON, estimated from the average
    /// output line so far).
    fn nearly_done(&self) -> bool {
        if self.count_lines {
            let missing = self.want_lines.saturating_sub(self.lines);
            missing == 0
                || (self.lines > 0
                    && u128::from(missing) * u128::from(self.bytes)
                        <= u128::from(END_SLACK) * u128::from(self.lines))
        } else {
            self.bytes + END_SLACK >= self.want_bytes
        }
    }

    fn describe(&self) -> String {
        if self.count_lines {
            format!("{} of {} lines", self.lines, self.want_lines)
        } else {
            format!("{} of {} bytes", self.bytes, self.want_bytes)
        }
    }
}

/// Runs one read-limit case (`e-cat`, `e-lines`): the program reads the log and exits.
pub(crate) fn measure_reader(
    setup: Setup,
    program: &Path,
    log: &LogFile,
    dir: PathBuf,
) -> Result<Measurement> {
    let s = Scratch::create(dir)?;
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null());
    if setup == Setup::Cat {
        // `cat FILE > /dev/null`: GNU cat reads and writes 128 KiB blocks (no splice).
        cmd.arg(&log.path).stdout(Stdio::null());
    } else {
        cmd.arg("readlines")
            .arg(&log.path)
            .stdout(File::create(&s.log)?);
    }
    let started = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let exit = procfs::wait_rusage(child.id())?;
    let elapsed = started.elapsed().as_secs_f64();
    // The child is reaped already; dropping the handle neither waits nor kills.
    drop(child);
    if !exit.success {
        bail!("{} failed", program.display());
    }
    let mut note = None;
    if setup == Setup::ReadLines {
        let out = fs::read_to_string(&s.log).unwrap_or_default();
        let want = format!("lines {} bytes {}", log.lines, log.bytes);
        if out.trim() != want {
            note = Some(format!("read {:?}, expected {want:?}", out.trim()));
        }
    }
    Ok(Measurement {
        messages: log.lines,
        bytes: log.bytes,
        elapsed_s: elapsed,
        daemon_cpu_s: exit.cpu_s,
        generator_cpu_s: 0.0,
        rss_start_kb: None,
        rss_end_kb: None,
        // Too short-lived to sample; see `procfs::wait_rusage` for why not ru_maxrss.
        peak_rss_kb: None,
        rss_samples: Vec::new(),
        note,
        file: Some(FileStats::default()),
    })
}

/// What a daemon case needs besides its setup.
#[derive(Debug)]
pub(crate) struct DaemonCase<'a> {
    /// The setup (hekad or rsyslog, one file or many, raw or JSON).
    pub(crate) setup: Setup,
    /// Its id, for the saved configs.
    pub(crate) id: &'a str,
    /// hekad or rsyslogd.
    pub(crate) program: &'a Path,
    /// The `e` log (unused by the `f` cases).
    pub(crate) log: Option<&'a LogFile>,
    /// Where the configs of this run are saved.
    pub(crate) configs: &'a Path,
}

/// The `f` writer: a chunk of lines, cut into [`LINES_PER_WRITE`]-line slices written to the
/// files in turn.
#[derive(Debug)]
struct Writer {
    chunk: Vec<u8>,
    ends: Vec<usize>,
    paths: Vec<PathBuf>,
    rounds: u64,
    rate: Option<f64>,
}

/// Lines in the `f` writer's chunk (a multiple of [`LINES_PER_WRITE`]).
const WRITER_CHUNK_LINES: usize = LINES_PER_WRITE * 1638;

impl Writer {
    fn new(dir: &Path, files: usize, file_lines: u64, rate: Option<f64>) -> Result<Writer> {
        let (chunk, ends) = nginx::lines_chunk(WRITER_CHUNK_LINES);
        let mut paths = Vec::with_capacity(files);
        for i in 0..files {
            let p = dir.join(format!("f{i:04}.log"));
            File::create(&p).with_context(|| format!("creating {}", p.display()))?;
            paths.push(p);
        }
        Ok(Writer {
            chunk,
            ends,
            paths,
            rounds: file_lines.div_ceil(LINES_PER_WRITE as u64).max(1),
            rate,
        })
    }

    fn lines(&self) -> u64 {
        self.rounds * LINES_PER_WRITE as u64 * self.paths.len() as u64
    }

    /// Bytes of the first `lines` lines taken from the chunk in a cycle.
    fn bytes(&self) -> u64 {
        let c = self.ends.len() as u64;
        let (full, rest) = (self.lines() / c, (self.lines() % c) as usize);
        full * self.chunk.len() as u64
            + if rest == 0 {
                0
            } else {
                self.ends[rest - 1] as u64
            }
    }

    /// Writes every round; returns the instants of the first and the last write and the CPU
    /// seconds of this thread.
    fn run(&self, written: &AtomicU64) -> Result<(Instant, Instant, f64)> {
        let cpu_before = procfs::thread_cpu_seconds().unwrap_or(0.0);
        let mut files = Vec::with_capacity(self.paths.len());
        for p in &self.paths {
            files.push(
                OpenOptions::new()
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening {}", p.display()))?,
            );
        }
        let started = Instant::now();
        let mut line = 0usize;
        let mut total = 0u64;
        for _ in 0..self.rounds {
            for f in &mut files {
                let from = if line == 0 { 0 } else { self.ends[line - 1] };
                line += LINES_PER_WRITE;
                let to = self.ends[line - 1];
                f.write_all(&self.chunk[from..to])
                    .context("appending to a log file")?;
                if line == self.ends.len() {
                    line = 0;
                }
            }
            total += (LINES_PER_WRITE * files.len()) as u64;
            written.store(total, Ordering::Relaxed);
            if let Some(rate) = self.rate {
                let due = started + Duration::from_secs_f64(total as f64 / rate);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
        }
        let last = Instant::now();
        let cpu = procfs::thread_cpu_seconds().unwrap_or(0.0) - cpu_before;
        Ok((started, last, cpu))
    }
}

/// Runs one daemon case of `e` or `f` once.
pub(crate) fn measure_daemon(
    c: &DaemonCase<'_>,
    o: &FileOptions,
    dir: PathBuf,
) -> Result<Measurement> {
    let s = Scratch::create(dir)?;
    let out = s.dir.join("out.log");
    let unparsed = s.dir.join("unparsed.log");
    let many = matches!(c.setup, Setup::HekadManyFiles | Setup::RsyslogManyFiles);
    let writer = if many {
        let logs = s.dir.join("logs");
        fs::create_dir_all(&logs)?;
        Some(Writer::new(&logs, o.files, o.file_lines, o.files_rate)?)
    } else {
        None
    };
    let (want_lines, want_bytes, log_dir) = match (&writer, c.log) {
        (Some(w), _) => (w.lines(), w.bytes(), s.dir.join("logs")),
        (None, Some(log)) => (
            log.lines,
            log.bytes,
            log.path
                .parent()
                .ok_or_else(|| anyhow!("the log has no directory"))?
                .to_path_buf(),
        ),
        (None, None) => bail!("no log file for {}", c.id),
    };
    let json = c.setup == Setup::RsyslogLogfileJson;
    let args = match c.setup {
        Setup::HekadLogfile
        | Setup::HekadManyFiles
        | Setup::HekadLogfileLua
        | Setup::HekadLogfileNative => {
            let conf = hekad_config(c.setup, &s, &log_dir, &out);
            let file = s.dir.join("hekad.toml");
            fs::write(&file, &conf)?;
            fs::write(c.configs.join(format!("{}.toml", c.id)), &conf)?;
            vec![format!("-config={}", file.display())]
        }
        _ => {
            let rulebase = s.dir.join("nginx.rb");
            fs::write(&rulebase, RULEBASE)?;
            fs::write(c.configs.join("nginx.rb"), RULEBASE)?;
            let input = if many {
                format!("{}/*.log", log_dir.display())
            } else {
                format!("{}/{LOG_NAME}", log_dir.display())
            };
            let conf = rsyslog_config(&s, &input, &rulebase, &out, &unparsed, json);
            let file = s.dir.join("rsyslog.conf");
            fs::write(&file, &conf)?;
            fs::write(c.configs.join(format!("{}.conf", c.id)), &conf)?;
            vec![
                "-n".into(),
                "-f".into(),
                file.display().to_string(),
                "-i".into(),
                s.dir.join("rsyslogd.pid").display().to_string(),
            ]
        }
    };

    let spawned = Instant::now();
    let mut daemon = Running::spawn(c.program, &args, &s.dir, &s.log)?;
    let pid = daemon.pid();
    if writer.is_some() {
        // The daemon finds the (empty) files and settles before the first write.
        while spawned.elapsed() < Duration::from_secs(1) {
            daemon.check_alive()?;
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let cpu_before = if writer.is_some() {
        procfs::process_cpu_seconds(pid)?
    } else {
        0.0
    };
    let mut progress = Progress::new(&out, json, want_bytes, want_lines);
    let written = AtomicU64::new(0);
    let result = std::thread::scope(|scope| -> Result<Measurement> {
        let handle = writer.as_ref().map(|w| scope.spawn(|| w.run(&written)));
        let poll_start = Instant::now();
        let deadline = poll_start + o.timeout;
        let mut samples: Vec<(f64, u64, u64)> = Vec::new();
        let mut threads_max = 0u64;
        let mut next_sample = poll_start;
        let mut changed = poll_start;
        let waited: Result<Instant> = loop {
            let now = Instant::now();
            if progress.poll() {
                changed = now;
            }
            if progress.nearly_done() {
                break Ok(now);
            }
            if now >= next_sample {
                next_sample += o.sample_interval;
                if let Some(rss) = procfs::status_kb(pid, "VmRSS") {
                    samples.push((
                        now.duration_since(poll_start).as_secs_f64(),
                        progress.lines,
                        rss,
                    ));
                }
                if let Some(t) = procfs::status_kb(pid, "Threads") {
                    threads_max = threads_max.max(t);
                }
                if let Err(e) = daemon.check_alive() {
                    break Err(e);
                }
            }
            let writing = handle.as_ref().is_some_and(|h| !h.is_finished());
            if !writing && now.duration_since(changed) > Duration::from_secs(15) {
                break Err(anyhow!(
                    "the output stopped growing at {}; log: {}",
                    progress.describe(),
                    daemon.log_tail()
                ));
            }
            if now > deadline {
                break Err(anyhow!(
                    "output incomplete after {:?} ({}); log: {}",
                    o.timeout,
                    progress.describe(),
                    daemon.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let cpu_after = procfs::process_cpu_seconds(pid);
        let peak = procfs::status_kb(pid, "VmHWM");
        let rss_end = procfs::status_kb(pid, "VmRSS");
        if let Some(t) = procfs::status_kb(pid, "Threads") {
            threads_max = threads_max.max(t);
        }
        let end = match waited {
            Ok(end) => end,
            Err(e) => {
                daemon.kill();
                if let Some(h) = handle {
                    let _ = h.join();
                }
                return Err(e);
            }
        };
        let (started, last_write, writer_cpu) = match handle {
            Some(h) => h
                .join()
                .map_err(|_| anyhow!("the writer thread panicked"))??,
            None => (spawned, spawned, 0.0),
        };
        if let (Some(rss), Some(last)) = (rss_end, samples.last()) {
            let t = end.duration_since(poll_start).as_secs_f64();
            if t > last.0 {
                samples.push((t, want_lines, rss));
            }
        }
        // The rest of the output: hekad writes it at once, rsyslog when it stops.
        let rest_deadline = Instant::now() + Duration::from_secs(3);
        while !progress.done() && Instant::now() < rest_deadline {
            std::thread::sleep(Duration::from_millis(5));
            progress.poll();
        }
        let many_stats = writer.is_some();
        Ok(Measurement {
            messages: want_lines,
            bytes: want_bytes,
            elapsed_s: end.duration_since(started).as_secs_f64(),
            daemon_cpu_s: cpu_after? - cpu_before,
            generator_cpu_s: writer_cpu,
            rss_start_kb: samples.first().map(|s| s.2),
            rss_end_kb: rss_end,
            peak_rss_kb: peak,
            rss_samples: samples,
            note: None,
            file: Some(FileStats {
                threads_max: Some(threads_max),
                latency_s: many_stats.then(|| end.duration_since(last_write).as_secs_f64()),
                writer_s: many_stats.then(|| last_write.duration_since(started).as_secs_f64()),
                files: writer.as_ref().map(|w| w.paths.len() as u64),
            }),
        })
    });
    daemon.stop();
    let result = result.map(|mut m| {
        let inputs = match (&writer, c.log) {
            (Some(w), _) => w.paths.clone(),
            (None, Some(log)) => vec![log.path.clone()],
            (None, None) => Vec::new(),
        };
        m.note = check_output(c, &inputs, &out, &unparsed, want_lines, json);
        m
    });
    // The output and the f files take as much memory as the log: free it before the next run.
    if !o.keep {
        let _ = fs::remove_file(&out);
        let _ = fs::remove_dir_all(s.dir.join("logs"));
    }
    result
}

/// After a run: whether the output holds exactly the input's lines (raw output) or as many
/// JSON lines, and whether rsyslog parsed them all. `None` when all is well.
fn check_output(
    c: &DaemonCase<'_>,
    inputs: &[PathBuf],
    out: &Path,
    unparsed: &Path,
    want_lines: u64,
    json: bool,
) -> Option<String> {
    let mut problems = Vec::new();
    let unparsed_lines = fs::read(unparsed).map_or(0, |b| count_newlines(&b));
    if unparsed_lines > 0 {
        problems.push(format!("{unparsed_lines} lines not parsed by the rulebase"));
    }
    if json {
        let lines = fs::read(out).map_or(0, |b| count_newlines(&b));
        if lines != want_lines {
            problems.push(format!("the output has {lines} of {want_lines} lines"));
        }
        let first = fs::read(out)
            .ok()
            .and_then(|b| b.split(|&x| x == b'\n').next().map(<[u8]>::to_vec))
            .unwrap_or_default();
        if !String::from_utf8_lossy(&first).contains("\"agent\"") {
            problems.push(format!(
                "the first JSON line has no agent: {}",
                String::from_utf8_lossy(&first)
            ));
        }
        return (!problems.is_empty()).then(|| problems.join("; "));
    }
    let mut want = LineDigest::default();
    for p in inputs {
        if let Err(e) = want.add_file(p) {
            problems.push(format!("reading {}: {e:#}", p.display()));
        }
    }
    let mut got = LineDigest::default();
    if let Err(e) = got.add_file(out) {
        problems.push(format!("reading the output: {e:#}"));
    }
    if got != want {
        problems.push(format!(
            "the output ({} lines, {} bytes) does not hold the input's lines ({} lines, {} bytes)",
            got.lines, got.bytes, want.lines, want.bytes
        ));
    } else if c.log.is_some() && !files_equal(&inputs[0], out).unwrap_or(false) {
        // Not a fault: rsyslog's two main-queue workers write batches as they finish them.
        problems.push("the log's lines, in another order".into());
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// An order-independent digest of a set of lines: their count, bytes, and the wrapping sum of
/// each line's FNV-1a hash.
#[derive(Debug, Default, PartialEq, Eq)]
struct LineDigest {
    lines: u64,
    bytes: u64,
    sum: u64,
}

impl LineDigest {
    fn add_file(&mut self, path: &Path) -> Result<()> {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        let mut f = File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut h = OFFSET;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            self.bytes += n as u64;
            for &b in &buf[..n] {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                if b == b'\n' {
                    self.lines += 1;
                    self.sum = self.sum.wrapping_add(h);
                    h = OFFSET;
                }
            }
        }
        if h != OFFSET {
            // An unterminated last line counts too.
            self.lines += 1;
            self.sum = self.sum.wrapping_add(h);
        }
        Ok(())
    }
}

/// Whether two files hold the same bytes.
fn files_equal(a: &Path, b: &Path) -> Result<bool> {
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Writes the `e` log into `dir` (once per benchmark run).
pub(crate) fn prepare_log(dir: &Path, size: u64) -> Result<LogFile> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    let log = nginx::write_log(&dir.join(LOG_NAME), size)?;
    println!(
        "  log: {} lines, {:.1} MB ({:.0} B a line) written to {} in {:.1} s",
        log.lines,
        log.bytes as f64 / 1e6,
        log.bytes as f64 / log.lines.max(1) as f64,
        log.path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(log)
}

/// A writer over `files` new files in `dir`, and its counter (for tests).
#[cfg(test)]
fn writer_for_test(dir: &Path, files: usize, lines: u64) -> (Writer, AtomicU64) {
    (
        Writer::new(dir, files, lines, None).unwrap(),
        AtomicU64::new(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> Scratch {
        let dir = PathBuf::from("/run/x");
        Scratch {
            marker: dir.join("end.marker"),
            data: dir.join("out.pb"),
            log: dir.join("daemon.log"),
            dir,
        }
    }

    #[test]
    fn the_regex_takes_the_ten_rulebase_fields_of_every_generated_line() {
        let re = regex::Regex::new(NGINX_REGEX).unwrap();
        let (chunk, _) = nginx::lines_chunk(3000);
        for line in String::from_utf8(chunk).unwrap().lines() {
            let c = re
                .captures(line)
                .unwrap_or_else(|| panic!("no match: {line}"));
            assert_eq!(c.len(), 11);
            let agent = c.name("Agent").unwrap().as_str();
            assert!(line.ends_with(&format!("\"{agent}\"")), "{line}");
        }
    }

    #[test]
    fn hekad_configs_wire_input_decoder_and_output() {
        let s = scratch();
        let e = hekad_config(
            Setup::HekadLogfile,
            &s,
            Path::new("/run/log"),
            Path::new("/run/x/out.log"),
        );
        let parsed: toml::Table = toml::from_str(&e).unwrap();
        assert_eq!(parsed["nginx"]["type"].as_str(), Some("LogstreamerInput"));
        assert_eq!(parsed["nginx"]["file_match"].as_str(), Some(r"access\.log"));
        assert_eq!(
            parsed["nginx_decoder"]["match_regex"].as_str(),
            Some(NGINX_REGEX)
        );
        assert_eq!(
            parsed["nginx_decoder"]["message_fields"]
                .as_table()
                .unwrap()
                .len(),
            10
        );
        assert_eq!(parsed["data"]["path"].as_str(), Some("/run/x/out.log"));
        assert_eq!(
            parsed["PayloadEncoder"]["append_newlines"].as_bool(),
            Some(false)
        );
        assert!(!e.contains("differentiator"));
        let f = hekad_config(
            Setup::HekadManyFiles,
            &s,
            Path::new("/run/logs"),
            Path::new("/o"),
        );
        let parsed: toml::Table = toml::from_str(&f).unwrap();
        assert_eq!(
            parsed["nginx"]["differentiator"].as_array().unwrap().len(),
            1
        );
        assert!(f.contains(r"file_match = '(?P<Name>f\d+)\.log'"));
    }

    #[test]
    fn rsyslog_configs_parse_then_write_raw_lines_or_json() {
        let s = scratch();
        let (rb, out, un) = (
            Path::new("/run/x/nginx.rb"),
            Path::new("/run/x/out.log"),
            Path::new("/run/x/u.log"),
        );
        let raw = rsyslog_config(&s, "/run/log/access.log", rb, out, un, false);
        assert!(raw.contains(r#"string="%rawmsg%\n""#));
        assert!(raw.contains(r#"File="/run/log/access.log""#));
        assert!(raw.contains(r#"rulebase="/run/x/nginx.rb" useRawMsg="on""#));
        assert!(raw.contains(r#"workDirectory="/run/x/base""#));
        let json = rsyslog_config(&s, "/run/logs/*.log", rb, out, un, true);
        assert!(json.contains(r#"string="%$!all-json%\n""#));
        assert!(json.contains(r#"File="/run/logs/*.log""#));
        assert!(RULEBASE.starts_with("version=2\nrule=:%client:ipv4% - %user:word% ["));
    }

    #[test]
    fn progress_counts_bytes_or_lines() {
        let dir = std::env::temp_dir().join(format!("heka-bench-progress-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out");
        let mut by_size = Progress::new(&p, false, 10, 2);
        let mut by_lines = Progress::new(&p, true, 0, 2);
        assert!(!by_size.poll() && !by_lines.poll());
        fs::write(&p, "abcd\nef").unwrap();
        assert!(by_size.poll() && by_lines.poll());
        assert!(!by_size.done() && !by_lines.done());
        assert_eq!(by_lines.lines, 1);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"gh\n").unwrap();
        by_size.poll();
        by_lines.poll();
        assert!(by_size.done() && by_lines.done());
        assert_eq!(by_size.lines, 2);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_run_ends_when_at_most_the_last_64_kib_are_missing() {
        let dir = std::env::temp_dir().join(format!("heka-bench-slack-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out");
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let mut by_size = Progress::new(&p, false, 1_000_000, 10_000);
        let mut by_lines = Progress::new(&p, true, 0, 10_000);
        fs::write(&p, line.repeat(9_300)).unwrap();
        by_size.poll();
        by_lines.poll();
        // 70,000 bytes (700 lines of 100 bytes) missing.
        assert!(!by_size.nearly_done() && !by_lines.nearly_done());
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&line.repeat(100)).unwrap();
        by_size.poll();
        by_lines.poll();
        assert!(by_size.nearly_done() && by_lines.nearly_done());
        assert!(!by_size.done() && !by_lines.done());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn writer_appends_whole_lines_to_every_file_in_turn() {
        let dir = std::env::temp_dir().join(format!("heka-bench-writer-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (w, written) = writer_for_test(&dir, 7, 25);
        // 25 lines a file round up to 3 writes of 10.
        assert_eq!(w.lines(), 7 * 30);
        w.run(&written).unwrap();
        assert_eq!(written.load(Ordering::Relaxed), 210);
        let mut bytes = 0;
        for i in 0..7 {
            let text = fs::read(dir.join(format!("f{i:04}.log"))).unwrap();
            assert_eq!(count_newlines(&text), 30);
            assert_eq!(text.last(), Some(&b'\n'));
            bytes += text.len() as u64;
        }
        assert_eq!(bytes, w.bytes());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn line_digests_ignore_order_but_not_content() {
        let dir = std::env::temp_dir().join(format!("heka-bench-digest-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let digest = |name: &str, text: &str| {
            let p = dir.join(name);
            fs::write(&p, text).unwrap();
            let mut d = LineDigest::default();
            d.add_file(&p).unwrap();
            d
        };
        let a = digest("a", "one\ntwo\nthree\n");
        assert_eq!((a.lines, a.bytes), (3, 14));
        assert_eq!(a, digest("b", "three\none\ntwo\n"));
        assert_ne!(a, digest("c", "one\ntwo\nthreE\n"));
        assert_ne!(a, digest("d", "one\none\nthree\n"));
        let mut two = LineDigest::default();
        fs::write(dir.join("e"), "two\n").unwrap();
        fs::write(dir.join("f"), "three\none\n").unwrap();
        two.add_file(&dir.join("e")).unwrap();
        two.add_file(&dir.join("f")).unwrap();
        assert_eq!(a, two);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn writer_bytes_follow_the_chunk_cycle() {
        let dir = std::env::temp_dir().join(format!("heka-bench-cycle-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (mut w, _) = writer_for_test(&dir, 1, 10);
        let c = w.ends.len() as u64;
        w.rounds = c / LINES_PER_WRITE as u64 + 1;
        assert_eq!(
            w.bytes(),
            w.chunk.len() as u64 + w.ends[LINES_PER_WRITE - 1] as u64
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
