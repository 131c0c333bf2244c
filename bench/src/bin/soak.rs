//! `soak`: sustained load on one hekad for a long time, watching its memory (run by
//! `scripts/soak.sh`; not in CI).
//!
//! hekad runs TcpInput → CounterFilter, a SandboxFilter (Lua) and a buffered FileOutput, and
//! TcpOutput (buffered, its default) to a receiver in this program that stops (half-closes its
//! connections, reads them to their end, stops listening for a few seconds) and comes back now
//! and then. One sender writes framed messages (payload `s<seq>`) to TcpInput at a paced rate
//! for the whole run. Every 10 s hekad's VmRSS is appended to a CSV file
//! (`seconds,rss_kb,sent,received`).
//!
//! At the end the sender stops, hekad runs until the receiver has every message (or nothing
//! new arrives for a while) and is stopped with SIGTERM; then the FileOutput's file is read.
//! Printed: first, last and maximum RSS; messages sent, written to the file and received by
//! the receiver, distinct, lost (must be 0: hekad is never killed here) and repeated.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message, framing};

const USAGE: &str =
    "usage: soak --hekad PATH [--minutes N (30)] [--rate MSGS_PER_S (20000)] [--csv FILE]";

/// The Lua filter: counts what it sees and reports the count on every tick.
const LUA_FILTER: &str = r#"
local seen = 0
function process_message()
    seen = seen + 1
    return 0
end
function timer_event(ns)
    inject_payload("txt", "soak", tostring(seen))
end
"#;

/// Seqs seen at least once, and how many arrived again.
#[derive(Default)]
struct Seen {
    bits: Vec<u64>,
    distinct: u64,
    repeated: u64,
}

impl Seen {
    fn add(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1024, 0);
        }
        if self.bits[word] & (1 << bit) != 0 {
            self.repeated += 1;
        } else {
            self.bits[word] |= 1 << bit;
            self.distinct += 1;
        }
    }

    fn add_payload(&mut self, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload);
        if let Some(Ok(n)) = text.trim().strip_prefix('s').map(str::parse::<u64>) {
            self.add(n);
        }
    }

    /// Seqs below `total` never seen.
    fn missing(&self, total: u64) -> u64 {
        total.saturating_sub(self.distinct_below(total))
    }

    fn distinct_below(&self, total: u64) -> u64 {
        (0..total)
            .filter(|&s| {
                self.bits
                    .get((s / 64) as usize)
                    .is_some_and(|w| w & (1 << (s % 64)) != 0)
            })
            .count() as u64
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let mut args = env::args().skip(1);
    let (mut hekad, mut minutes, mut rate, mut csv) = (None, 30.0f64, 20_000u64, None);
    while let Some(a) = args.next() {
        let mut value = || args.next().context(USAGE);
        match a.as_str() {
            "--hekad" => hekad = Some(PathBuf::from(value()?)),
            "--minutes" => minutes = value()?.parse().context(USAGE)?,
            "--rate" => rate = value()?.parse().context(USAGE)?,
            "--csv" => csv = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let hekad = hekad.context(USAGE)?;
    let dir = env::temp_dir().join(format!("heka-soak-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let csv = csv.unwrap_or_else(|| dir.join("rss.csv"));
    let receiver_port = free_port()?;
    let input_port = free_port()?;
    fs::write(dir.join("count.lua"), LUA_FILTER)?;
    let config = dir.join("hekad.toml");
    fs::write(
        &config,
        format!(
            r#"[hekad]
base_dir = "{base}/cache"
share_dir = "{base}"
[TcpInput]
address = "127.0.0.1:{input_port}"
[counter]
type = "CounterFilter"
message_matcher = "Type == 'soak'"
ticker_interval = 5
[lua_count]
type = "SandboxFilter"
filename = "count.lua"
message_matcher = "Type == 'soak'"
ticker_interval = 5
[reports]
type = "FileOutput"
message_matcher = "Type == 'heka.counter-output' || Type == 'heka.sandbox-output'"
path = "{base}/reports.log"
encoder = "PayloadEncoder"
[PayloadEncoder]
append_newlines = true
[file]
type = "FileOutput"
message_matcher = "Type == 'soak'"
path = "{base}/out.log"
encoder = "ProtobufEncoder"
use_buffering = true
[fwd]
type = "TcpOutput"
message_matcher = "Type == 'soak'"
address = "127.0.0.1:{receiver_port}"
"#,
            base = dir.display()
        ),
    )?;

    let received = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (received, stop) = (received.clone(), stop.clone());
        thread::spawn(move || receive(receiver_port, &received, &stop))
    };
    let mut h = start(&hekad, &config, &dir)?;
    let sent = Arc::new(AtomicU64::new(0));
    let stop_sending = Arc::new(AtomicBool::new(false));
    let sender = {
        let (sent, stop) = (sent.clone(), stop_sending.clone());
        thread::spawn(move || send(input_port, rate, &sent, &stop))
    };

    let mut out = fs::File::create(&csv).with_context(|| format!("creating {}", csv.display()))?;
    writeln!(out, "seconds,rss_kb,sent,received")?;
    let started = Instant::now();
    let run_for = Duration::from_secs_f64(minutes * 60.0);
    let mut rss = Vec::new();
    let mut next = started + Duration::from_secs(10);
    loop {
        if let Some(st) = h.try_wait()? {
            bail!("hekad exited during the run ({st}); see {}", dir.display());
        }
        let now = Instant::now();
        if now >= next {
            let kb = rss_kb(h.id()).unwrap_or(0);
            let got = received
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .distinct;
            let secs = started.elapsed().as_secs();
            let n = sent.load(Ordering::SeqCst);
            writeln!(out, "{secs},{kb},{n},{got}")?;
            out.flush()?;
            println!(
                "{secs:>5} s  RSS {:>7.1} MB  sent {n:>10}  received {got:>10}",
                kb as f64 / 1024.0
            );
            rss.push(kb);
            next += Duration::from_secs(10);
        }
        if started.elapsed() >= run_for {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    stop_sending.store(true, Ordering::SeqCst);
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    let total = sent.load(Ordering::SeqCst);
    // hekad runs on until the receiver has everything, or nothing new arrives for 10 s.
    let (mut last, mut quiet) = (0, Instant::now());
    loop {
        let got = received
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .distinct;
        if got >= total {
            break;
        }
        if got != last {
            (last, quiet) = (got, Instant::now());
        } else if quiet.elapsed() > Duration::from_secs(10) {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let final_rss = rss_kb(h.id()).unwrap_or(0);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(h.id().to_string())
        .status();
    let status = h.wait()?;
    stop.store(true, Ordering::SeqCst);
    let restarts = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
    let file = count_file(&dir.join("out.log"))?;
    let r = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let (file_lost, tcp_lost) = (file.missing(total), r.missing(total));
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "soak: {:.1} min at {rate} msg/s, hekad exit {status}, receiver restarted {restarts} times",
        started.elapsed().as_secs_f64() / 60.0
    );
    println!(
        "  RSS: first {:.1} MB, last {:.1} MB (after the drain {:.1} MB), max {:.1} MB ({} samples in {})",
        mb(rss.first().copied().unwrap_or(0)),
        mb(rss.last().copied().unwrap_or(0)),
        mb(final_rss),
        mb(rss.iter().copied().max().unwrap_or(0)),
        rss.len(),
        csv.display()
    );
    println!(
        "  sent {total}; FileOutput wrote {} distinct, lost {file_lost}, repeated {}; \
         TcpOutput receiver got {} distinct, lost {tcp_lost}, repeated {}",
        file.distinct, file.repeated, r.distinct, r.repeated
    );
    let ok = file_lost == 0 && tcp_lost == 0 && status.success();
    if ok {
        let _ = fs::remove_dir_all(&dir);
    } else {
        println!("FAILED (files kept in {})", dir.display());
    }
    Ok(ok)
}

/// A number below `n` that varies from call to call (the timing only needs to vary).
fn below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % n.max(1)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start(hekad: &Path, config: &Path, dir: &Path) -> Result<Child> {
    let log = fs::File::create(dir.join("hekad.log"))?;
    Command::new(hekad)
        .arg(format!("-config={}", config.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", hekad.display()))
}

/// hekad's VmRSS in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends framed messages `s0`, `s1`, … to TcpInput at `rate` per second until told to stop. A
/// message counts as sent once its whole frame was written.
fn send(port: u16, rate: u64, sent: &AtomicU64, stop: &AtomicBool) -> Result<()> {
    let mut conn: Option<TcpStream> = None;
    let mut seq = 0u64;
    let mut frame = Vec::new();
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let Some(c) = conn.as_mut() else {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(c) => conn = Some(c),
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
            continue;
        };
        let mut m = Message::new_now();
        m.set_type("soak");
        m.set_logger("soak");
        m.set_payload(format!("s{seq}"));
        frame.clear();
        framing::encode_frame(&m.to_bytes(), None, DEFAULT_MAX_MESSAGE_SIZE, &mut frame)?;
        if c.write_all(&frame).is_err() {
            conn = None;
            continue;
        }
        seq += 1;
        sent.store(seq, Ordering::SeqCst);
        if seq.is_multiple_of(100) {
            let due = Duration::from_secs_f64(seq as f64 / rate.max(1) as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    Ok(())
}

/// The seqs in a file of framed messages, read in chunks.
fn count_file(path: &Path) -> Result<Seen> {
    let mut seen = Seen::default();
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        loop {
            let s = framing::scan(&buf[used..], DEFAULT_MAX_MESSAGE_SIZE);
            let Some(fr) = s.frame else { break };
            let at = used;
            if let Ok(m) = Message::decode_bytes(Bytes::copy_from_slice(&buf[at..][fr.message])) {
                seen.add_payload(m.payload_bytes());
            }
            used += s.consumed;
        }
        buf.drain(..used);
    }
    Ok(seen)
}

/// A connection the receiver accepted.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

/// The receiver: counts what arrives; every 20–60 s it "restarts": takes what waits in its
/// backlog, half-closes its connections and reads them to their end, stops listening for 1–4
/// s, then listens again. Returns the number of restarts.
fn receive(port: u16, received: &Mutex<Seen>, stop: &AtomicBool) -> Result<u32> {
    let mut listener = Some(listen(port)?);
    let mut conns: Vec<Conn> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut next_restart = Instant::now() + Duration::from_secs(20 + below(40));
    let mut down_until: Option<Instant> = None;
    let mut restarts = 0;
    let accept = |l: &TcpListener, conns: &mut Vec<Conn>| -> Result<bool> {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(true)?;
                conns.push(Conn {
                    stream: s,
                    buf: Vec::new(),
                    eof: false,
                });
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => bail!("accept: {e}"),
        }
    };
    while !stop.load(Ordering::SeqCst) {
        if let Some(l) = &listener {
            accept(l, &mut conns)?;
        }
        let mut idle = true;
        for c in conns.iter_mut().filter(|c| !c.eof) {
            match c.stream.read(&mut chunk) {
                Ok(0) => c.eof = true,
                Ok(n) => {
                    idle = false;
                    c.buf.extend_from_slice(&chunk[..n]);
                    let mut r = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    let mut used = 0;
                    loop {
                        let s = framing::scan(&c.buf[used..], DEFAULT_MAX_MESSAGE_SIZE);
                        let Some(f) = s.frame else { break };
                        let at = used;
                        if let Ok(m) =
                            Message::decode_bytes(Bytes::copy_from_slice(&c.buf[at..][f.message]))
                        {
                            r.add_payload(m.payload_bytes());
                        }
                        used += s.consumed;
                    }
                    c.buf.drain(..used);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => c.eof = true,
            }
        }
        conns.retain(|c| !c.eof);
        let now = Instant::now();
        if listener.is_some() && now >= next_restart {
            restarts += 1;
            if let Some(l) = listener.take() {
                while accept(&l, &mut conns)? {}
            }
            for c in &mut conns {
                let _ = c.stream.shutdown(Shutdown::Write);
            }
            down_until = Some(now + Duration::from_millis(1000 + below(3000)));
        }
        if listener.is_none() && down_until.is_some_and(|t| now >= t) {
            listener = Some(listen(port)?);
            down_until = None;
            next_restart = now + Duration::from_secs(20 + below(40));
        }
        if idle {
            thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(restarts)
}

fn listen(port: u16) -> Result<TcpListener> {
    let l = TcpListener::bind(("127.0.0.1", port)).with_context(|| format!("listen on {port}"))?;
    l.set_nonblocking(true)?;
    Ok(l)
}
