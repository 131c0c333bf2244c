//! `crash-test`: kills hekad with SIGKILL at random moments under load and counts what was
//! lost and repeated (run by `scripts/crash-test.sh`; see the README's "Delivery guarantee").
//!
//! hekad runs TcpInput and LogstreamerInput → TcpOutput with `use_buffering`, to a receiver in
//! this program that stops (half-closes its connections, drains them, stops listening) and
//! comes back at random moments. Two senders run the whole time: one writes framed messages
//! (payload `t<seq>`) to TcpInput, one appends lines (`l<seq>`) to the file LogstreamerInput
//! tails. Each round waits a random time, kills hekad with SIGKILL, records which messages the
//! disk queue held at that moment, and starts hekad again. At the end hekad runs until the
//! receiver has everything, then stops.
//!
//! What is counted:
//! * lines: every line written must arrive (LogstreamerInput's journal moves only once a
//!   line's batch is in the queue) — `lost` must be 0;
//! * TCP messages: TcpInput acknowledges nothing to its sender, so a message the sender's
//!   kernel accepted may still be in hekad's socket buffer or channels when it is killed.
//!   Messages seen in the queue files at a kill must all arrive (`lost after queue`, must be
//!   0); those never queued are reported as `lost in flight` (outside the guarantee).
//! * `repeated`: messages received more than once (after a kill, the records after the last
//!   saved cursor are sent again; the queue saves it every 500 records here, so that kills
//!   fall between saves).

use std::collections::{BTreeMap, BTreeSet};
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

const USAGE: &str = "usage: crash-test --hekad PATH [ROUNDS] [MESSAGES]";

/// A small xorshift generator (the timing only needs to vary, not to be good).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What the receiver got: seq → times, per kind (`t`, `l`).
#[derive(Default)]
struct Received {
    tcp: BTreeMap<u64, u32>,
    lines: BTreeMap<u64, u32>,
}

impl Received {
    fn add(&mut self, payload: &[u8]) {
        let text = String::from_utf8_lossy(payload);
        let text = text.trim();
        let (map, num) = match text.split_at_checked(1) {
            Some(("t", n)) => (&mut self.tcp, n),
            Some(("l", n)) => (&mut self.lines, n),
            _ => return,
        };
        if let Ok(n) = num.parse::<u64>() {
            *map.entry(n).or_insert(0) += 1;
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("crash-test: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let mut args = env::args().skip(1);
    let mut hekad = None;
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hekad" => hekad = args.next(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            _ => rest.push(a),
        }
    }
    let hekad = PathBuf::from(hekad.context(USAGE)?);
    let rounds: u32 = rest.first().map_or(Ok(20), |s| s.parse()).context(USAGE)?;
    let messages: u64 = rest
        .get(1)
        .map_or(Ok(20_000), |s| s.parse())
        .context(USAGE)?;

    let dir = env::temp_dir().join(format!("heka-crash-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("logs"))?;
    let receiver_port = free_port()?;
    let input_port = free_port()?;
    let config = dir.join("hekad.toml");
    fs::write(
        &config,
        format!(
            r#"[hekad]
base_dir = "{base}/cache"
[TcpInput]
address = "127.0.0.1:{input_port}"
[lines]
type = "LogstreamerInput"
log_directory = "{base}/logs"
file_match = 'app\.log'
check_data_interval = "20ms"
journal_directory = "{base}/journal"
[fwd]
type = "TcpOutput"
message_matcher = "TRUE"
address = "127.0.0.1:{receiver_port}"
use_buffering = true
[fwd.buffering]
max_file_size = 262144
cursor_update_count = 500
"#,
            base = dir.display()
        ),
    )?;
    let queue = dir.join("cache/output_queue/fwd");

    let received = Arc::new(Mutex::new(Received::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (received, stop) = (received.clone(), stop.clone());
        thread::spawn(move || receive(receiver_port, &received, &stop))
    };
    let mut h = start(&hekad, &config, &dir)?;
    let tcp_sent = Arc::new(AtomicU64::new(0));
    let lines_sent = Arc::new(AtomicU64::new(0));
    // Spread the messages over the rounds (about 0.5 s each).
    let per_ms = (messages / (u64::from(rounds.max(1)) * 500)).max(1);
    let tcp_sender = {
        let sent = tcp_sent.clone();
        thread::spawn(move || send_tcp(input_port, messages, per_ms, &sent))
    };
    let line_sender = {
        let (sent, path) = (lines_sent.clone(), dir.join("logs/app.log"));
        thread::spawn(move || write_lines(&path, messages, per_ms, &sent))
    };

    let mut rng = Rng::new();
    let mut queued: BTreeSet<u64> = BTreeSet::new();
    let mut queued_lines: BTreeSet<u64> = BTreeSet::new();
    let started = Instant::now();
    for _ in 0..rounds {
        thread::sleep(Duration::from_millis(150 + rng.below(700)));
        h.kill().context("SIGKILL hekad")?;
        h.wait()?;
        let (t, l) = queue_contents(&queue)?;
        queued.extend(t);
        queued_lines.extend(l);
        h = start(&hekad, &config, &dir)?;
    }
    tcp_sender
        .join()
        .map_err(|_| anyhow::anyhow!("tcp sender panicked"))??;
    line_sender
        .join()
        .map_err(|_| anyhow::anyhow!("line writer panicked"))??;
    let (tcp_total, lines_total) = (
        tcp_sent.load(Ordering::SeqCst),
        lines_sent.load(Ordering::SeqCst),
    );
    // hekad runs on until the receiver has every line and every queued message, or nothing
    // new arrives for a while.
    let mut last = (0, 0);
    let mut quiet = Instant::now();
    loop {
        let now = {
            let r = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let done = (0..lines_total).all(|i| r.lines.contains_key(&i))
                && queued.iter().all(|i| r.tcp.contains_key(i))
                && (0..tcp_total).all(|i| r.tcp.contains_key(&i));
            if done {
                break;
            }
            (r.tcp.len(), r.lines.len())
        };
        if now != last {
            last = now;
            quiet = Instant::now();
        } else if quiet.elapsed() > Duration::from_secs(3) {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(h.id().to_string())
        .status();
    h.wait()?;
    stop.store(true, Ordering::SeqCst);
    let restarts = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver panicked"))??;

    let r = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let lost_after_queue = queued.iter().filter(|i| !r.tcp.contains_key(i)).count();
    let tcp_missing = (0..tcp_total).filter(|i| !r.tcp.contains_key(i)).count();
    let lines_lost = (0..lines_total)
        .filter(|i| !r.lines.contains_key(i))
        .count();
    let repeated = |m: &BTreeMap<u64, u32>| {
        m.values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum::<u64>()
    };
    println!(
        "crash test: {rounds} SIGKILLs of hekad, receiver restarted {restarts} times, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  TcpInput → buffered TcpOutput: sent {tcp_total} (accepted by the kernel), received {} \
         distinct, lost after reaching the queue {lost_after_queue}, lost in flight (never \
         queued) {tcp_missing}, repeated {}",
        r.tcp.len(),
        repeated(&r.tcp),
    );
    println!(
        "  LogstreamerInput → buffered TcpOutput: written {lines_total} lines, received {} \
         distinct, lost {lines_lost}, repeated {}",
        r.lines.len(),
        repeated(&r.lines),
    );
    let ok = lost_after_queue == 0 && lines_lost == 0;
    if ok {
        let _ = fs::remove_dir_all(&dir);
    } else {
        println!(
            "FAILED: messages were lost (files kept in {})",
            dir.display()
        );
    }
    Ok(ok)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start(hekad: &Path, config: &Path, dir: &Path) -> Result<Child> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("hekad.log"))?;
    Command::new(hekad)
        .arg(format!("-config={}", config.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", hekad.display()))
}

/// Sends framed messages `t0`, `t1`, … to TcpInput, reconnecting while hekad is down. A
/// message counts as sent once its whole frame was written.
fn send_tcp(port: u16, total: u64, per_ms: u64, sent: &AtomicU64) -> Result<()> {
    let mut conn: Option<TcpStream> = None;
    let mut seq = 0;
    let mut frame = Vec::new();
    let start = Instant::now();
    while seq < total {
        let Some(c) = conn.as_mut() else {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(c) => conn = Some(c),
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
            continue;
        };
        let mut m = Message::new_now();
        m.set_type("crash");
        m.set_payload(format!("t{seq}"));
        frame.clear();
        framing::encode_frame(&m.to_bytes(), None, DEFAULT_MAX_MESSAGE_SIZE, &mut frame)?;
        if c.write_all(&frame).is_err() {
            conn = None;
            continue;
        }
        seq += 1;
        sent.store(seq, Ordering::SeqCst);
        pace(start, seq, per_ms);
    }
    Ok(())
}

/// Appends lines `l0`, `l1`, … to the file LogstreamerInput tails.
fn write_lines(path: &Path, total: u64, per_ms: u64, sent: &AtomicU64) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let start = Instant::now();
    for seq in 0..total {
        writeln!(f, "l{seq}")?;
        sent.store(seq + 1, Ordering::SeqCst);
        pace(start, seq + 1, per_ms);
    }
    Ok(())
}

/// Sleeps so that `done` messages take at least `done / per_ms` milliseconds.
fn pace(start: Instant, done: u64, per_ms: u64) {
    if !done.is_multiple_of(50) {
        return;
    }
    let due = Duration::from_millis(done / per_ms);
    if let Some(wait) = due.checked_sub(start.elapsed()) {
        thread::sleep(wait);
    }
}

/// The `t` and `l` seqs in the queue's segment files.
fn queue_contents(dir: &Path) -> Result<(Vec<u64>, Vec<u64>)> {
    let mut r = Received::default();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok((Vec::new(), Vec::new()));
    };
    for e in entries {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "log") {
            continue;
        }
        let data = fs::read(&path)?;
        let mut rest = &data[..];
        loop {
            let s = framing::scan(rest, DEFAULT_MAX_MESSAGE_SIZE);
            let Some(f) = s.frame else { break };
            if let Ok(m) = Message::decode_bytes(Bytes::copy_from_slice(&rest[f.message])) {
                r.add(m.payload_bytes());
            }
            rest = &rest[s.consumed..];
        }
    }
    Ok((r.tcp.into_keys().collect(), r.lines.into_keys().collect()))
}

/// A connection the receiver accepted.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

/// The receiver: counts what arrives; now and then "restarts": half-closes its connections,
/// reads them to their end, stops listening for a moment, listens again. Returns the number
/// of restarts.
fn receive(port: u16, received: &Mutex<Received>, stop: &AtomicBool) -> Result<u32> {
    let mut rng = Rng::new();
    let mut listener = Some(listen(port)?);
    let mut conns: Vec<Conn> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut next_restart = Instant::now() + Duration::from_millis(300 + rng.below(900));
    let mut down_until: Option<Instant> = None;
    let mut restarts = 0;
    while !stop.load(Ordering::SeqCst) {
        if let Some(l) = &listener {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(true)?;
                    conns.push(Conn {
                        stream: s,
                        buf: Vec::new(),
                        eof: false,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => bail!("accept: {e}"),
            }
        }
        let mut idle = true;
        for c in conns.iter_mut().filter(|c| !c.eof) {
            match c.stream.read(&mut chunk) {
                Ok(0) => c.eof = true,
                Ok(n) => {
                    idle = false;
                    c.buf.extend_from_slice(&chunk[..n]);
                    let mut r = received.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    loop {
                        let s = framing::scan(&c.buf, DEFAULT_MAX_MESSAGE_SIZE);
                        let Some(f) = s.frame else { break };
                        if let Ok(m) =
                            Message::decode_bytes(Bytes::copy_from_slice(&c.buf[f.message]))
                        {
                            r.add(m.payload_bytes());
                        }
                        c.buf.drain(..s.consumed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => c.eof = true,
            }
        }
        conns.retain(|c| !c.eof);
        let now = Instant::now();
        if listener.is_some() && now >= next_restart {
            // Stop: no new connections; the open ones are read to their end.
            restarts += 1;
            // Connections waiting in the backlog are taken first: closing the listener would
            // reset them with what hekad already wrote.
            if let Some(l) = listener.take() {
                while let Ok((s, _)) = l.accept() {
                    s.set_nonblocking(true)?;
                    conns.push(Conn {
                        stream: s,
                        buf: Vec::new(),
                        eof: false,
                    });
                }
            }
            for c in &mut conns {
                let _ = c.stream.shutdown(Shutdown::Write);
            }
            down_until = Some(now + Duration::from_millis(100 + rng.below(400)));
        }
        if listener.is_none() && down_until.is_some_and(|t| now >= t) {
            listener = Some(listen(port)?);
            down_until = None;
            next_restart = now + Duration::from_millis(300 + rng.below(900));
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
