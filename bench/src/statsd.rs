//! The metrics case (`heka-bench statsd`): statsd lines over UDP into hekad (StatsdInput →
//! StatAccumInput → CarbonOutput) and into the reference statsd daemon (npm `statsd`, graphite
//! backend), the same datagrams to each in the same run, one daemon after the other.
//!
//! The harness stands in for carbon: a TCP listener that sums, over every flush, the `count`
//! of the bench's counters and timers, which is the number of lines the daemon took. A line
//! the daemon did not read in time was dropped by the kernel (UDP), so the loss rate is
//! `1 − counted / sent` and the rate the lines taken per second of sending.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::{fs, thread};

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::daemons::Running;
use crate::procfs;

/// Options of `heka-bench statsd`.
#[derive(Debug, Clone)]
pub(crate) struct StatsdOptions {
    pub(crate) lines: u64,
    pub(crate) per_datagram: usize,
    pub(crate) buckets: usize,
    /// Lines a second, 0 for as fast as the sender can.
    pub(crate) rate: u64,
    pub(crate) repeat: usize,
    pub(crate) hekad: Option<PathBuf>,
    pub(crate) statsd_js: PathBuf,
    pub(crate) node: PathBuf,
    pub(crate) out: Option<PathBuf>,
    pub(crate) tmp: PathBuf,
}

/// One daemon's run.
#[derive(Debug, Clone)]
struct StatsdRun {
    daemon: &'static str,
    sent: u64,
    counted: u64,
    send_s: f64,
    cpu_s: f64,
}

impl StatsdRun {
    fn rate(&self) -> f64 {
        self.counted as f64 / self.send_s.max(1e-9)
    }
    fn loss(&self) -> f64 {
        1.0 - self.counted as f64 / self.sent.max(1) as f64
    }
    fn per_cpu(&self) -> f64 {
        self.counted as f64 / self.cpu_s.max(1e-9)
    }
}

/// The datagrams: lines `bench.c<b>:1|c` and, one line in four, `bench.t<b>:<v>|ms`, over
/// `buckets` buckets, `per_datagram` lines each.
fn datagrams(o: &StatsdOptions) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut d = Vec::new();
    for i in 0..o.lines {
        let b = i as usize % o.buckets;
        if i % 4 == 3 {
            d.extend_from_slice(format!("bench.t{b}:{}|ms", i % 1000).as_bytes());
        } else {
            d.extend_from_slice(format!("bench.c{b}:1|c").as_bytes());
        }
        if (i as usize + 1).is_multiple_of(o.per_datagram) || i + 1 == o.lines {
            out.push(std::mem::take(&mut d));
        } else {
            d.push(b'\n');
        }
    }
    out
}

/// The carbon stand-in: sums the counts of the bench's counters and timers over every flush.
struct CountingSink {
    port: u16,
    counted: Arc<AtomicU64>,
    flushes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl CountingSink {
    fn start() -> Result<CountingSink> {
        let l = TcpListener::bind("127.0.0.1:0").context("binding the carbon stand-in")?;
        l.set_nonblocking(true)?;
        let port = l.local_addr()?.port();
        let counted = Arc::new(AtomicU64::new(0));
        let flushes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, f, s) = (counted.clone(), flushes.clone(), stop.clone());
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((conn, _)) = l.accept() else {
                    thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let (c, f) = (c.clone(), f.clone());
                thread::spawn(move || {
                    let _ = conn.set_nonblocking(false);
                    for line in BufReader::new(conn).lines() {
                        let Ok(line) = line else { break };
                        let mut parts = line.split(' ');
                        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                            continue;
                        };
                        let ours = (name.starts_with("stats.counters.bench.")
                            || name.starts_with("stats.timers.bench."))
                            && name.ends_with(".count");
                        if ours && let Ok(v) = value.parse::<f64>() {
                            c.fetch_add(v as u64, Ordering::Relaxed);
                        }
                        if name.ends_with("numStats") {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Ok(CountingSink {
            port,
            counted,
            flushes,
            stop,
        })
    }
}

impl Drop for CountingSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Waits until the daemon's output holds `marker`.
fn wait_log(d: &mut Running, log: &Path, marker: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        d.check_alive()?;
        if fs::read_to_string(log).unwrap_or_default().contains(marker) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no {marker:?} within 30 s; log: {}", d.log_tail());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The UDP port the daemon listens on, read from hekad's `listening on` line.
fn hekad_port(log: &Path) -> Option<u16> {
    let text = fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("statsd listening on "))?;
    let addr = line.rsplit(' ').next()?;
    addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

/// Starts one daemon, sends the datagrams, waits until its flushes stop adding, stops it.
fn run_one(
    daemon: &'static str,
    o: &StatsdOptions,
    packets: &[Vec<u8>],
    dir: &Path,
) -> Result<StatsdRun> {
    let sink = CountingSink::start()?;
    let log = dir.join(format!("{daemon}.log"));
    let (mut d, port) = if daemon == "hekad" {
        let Some(hekad) = &o.hekad else {
            bail!("no --hekad");
        };
        let config = dir.join("hekad.toml");
        fs::write(
            &config,
            format!(
                "[hekad]\nmaxprocs = 2\nbase_dir = {:?}\n\n\
                 [statsd]\ntype = \"StatsdInput\"\naddress = \"127.0.0.1:0\"\n\
                 stat_accum_name = \"accumulator\"\nmax_msg_size = 65536\n\n\
                 [accumulator]\ntype = \"StatAccumInput\"\nticker_interval = 1\n\n\
                 [carbon]\ntype = \"CarbonOutput\"\nmessage_matcher = \"Type == 'heka.statmetric'\"\n\
                 address = \"127.0.0.1:{}\"\n",
                dir.join("base").display().to_string(),
                sink.port
            ),
        )?;
        let mut d = Running::spawn(hekad, &[format!("-config={}", config.display())], dir, &log)?;
        wait_log(&mut d, &log, "statsd listening on ")?;
        let port = hekad_port(&log).context("hekad's statsd port")?;
        (d, port)
    } else {
        let port = UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
        let mgmt = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = dir.join("statsd.js");
        fs::write(
            &config,
            format!(
                "{{ port: {port}, address: \"127.0.0.1\", mgmt_address: \"127.0.0.1\", \
                 mgmt_port: {mgmt}, graphiteHost: \"127.0.0.1\", graphitePort: {}, \
                 flushInterval: 1000, backends: [\"./backends/graphite\"], \
                 graphite: {{ legacyNamespace: false }} }}\n",
                sink.port
            ),
        )?;
        let stats_js = fs::canonicalize(&o.statsd_js)
            .with_context(|| format!("finding {}", o.statsd_js.display()))?;
        let args = [stats_js.display().to_string(), config.display().to_string()];
        let mut d = Running::spawn(&o.node, &args, dir, &log)?;
        wait_log(&mut d, &log, "server is up")?;
        (d, port)
    };
    let tx = UdpSocket::bind("127.0.0.1:0")?;
    tx.connect(("127.0.0.1", port))?;
    let cpu0 = procfs::process_cpu_seconds(d.pid())?;
    let start = Instant::now();
    let per_datagram = o.per_datagram as f64;
    for (i, p) in packets.iter().enumerate() {
        if o.rate > 0 {
            let due = Duration::from_secs_f64(i as f64 * per_datagram / o.rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
        // A refused send (the daemon is gone) ends the run with what was counted.
        if tx.send(p).is_err() {
            d.check_alive()?;
        }
    }
    let send_s = start.elapsed().as_secs_f64();
    // Done when two flushes after the last send added nothing.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = (
        sink.counted.load(Ordering::Relaxed),
        sink.flushes.load(Ordering::Relaxed),
    );
    let mut quiet = 0;
    while quiet < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        d.check_alive()?;
        let now = (
            sink.counted.load(Ordering::Relaxed),
            sink.flushes.load(Ordering::Relaxed),
        );
        if now.1 > last.1 {
            quiet = if now.0 == last.0 { quiet + 1 } else { 0 };
            last = now;
        }
    }
    let cpu_s = procfs::process_cpu_seconds(d.pid())? - cpu0;
    d.stop();
    Ok(StatsdRun {
        daemon,
        sent: o.lines,
        counted: sink.counted.load(Ordering::Relaxed),
        send_s,
        cpu_s,
    })
}

/// The median run by rate.
fn median(mut runs: Vec<StatsdRun>) -> Option<StatsdRun> {
    runs.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    runs.get(runs.len() / 2).cloned()
}

/// Runs `heka-bench statsd`.
pub(crate) fn run(o: &StatsdOptions) -> Result<()> {
    if !o.statsd_js.exists() {
        bail!(
            "{} is missing: run scripts/setup.sh test (it installs the statsd daemon)",
            o.statsd_js.display()
        );
    }
    let (date, stamp) = procfs::now_utc();
    let host = procfs::hostname();
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench/runs/{date}-{host}")));
    let packets = datagrams(o);
    let mut runs: Vec<StatsdRun> = Vec::new();
    for r in 0..o.repeat {
        for daemon in ["hekad", "statsd"] {
            if daemon == "hekad" && o.hekad.is_none() {
                continue;
            }
            let dir = o.tmp.join(format!(
                "heka-bench-statsd-{}-{daemon}-{r}",
                std::process::id()
            ));
            fs::create_dir_all(dir.join("base"))?;
            let result = run_one(daemon, o, &packets, &dir);
            let _ = fs::remove_dir_all(&dir);
            match result {
                Ok(run) => {
                    println!(
                        "{daemon:7} run {}: {:>10.0} lines/s taken, loss {:>6.2} %, {:>10.0} lines/CPU-s",
                        r + 1,
                        run.rate(),
                        run.loss() * 100.0,
                        run.per_cpu()
                    );
                    runs.push(run);
                }
                Err(e) => println!("{daemon:7} run {}: failed: {e:#}", r + 1),
            }
        }
    }
    let pick = |d: &str| median(runs.iter().filter(|r| r.daemon == d).cloned().collect());
    let (hekad, statsd) = (pick("hekad"), pick("statsd"));
    let offered = if o.rate > 0 {
        format!("{} lines/s", o.rate)
    } else {
        "as fast as one sender thread can".to_string()
    };
    let mut md = format!(
        "# Metrics case: statsd lines over UDP\n\n{} lines ({} a datagram, {} buckets, 3 counters \
         to 1 timer), offered {offered}; median of {} runs. Run {stamp}.\n\n\
         | daemon | lines/s taken | loss | lines per CPU-s | CPU-s |\n|---|---|---|---|---|\n",
        o.lines, o.per_datagram, o.buckets, o.repeat
    );
    for r in [&hekad, &statsd].into_iter().flatten() {
        md.push_str(&format!(
            "| {} | {:.0} | {:.2} % | {:.0} | {:.2} |\n",
            r.daemon,
            r.rate(),
            r.loss() * 100.0,
            r.per_cpu(),
            r.cpu_s
        ));
    }
    let ratio = match (&hekad, &statsd) {
        (Some(h), Some(s)) => Some(h.rate() / s.rate().max(1e-9)),
        _ => None,
    };
    if let Some(x) = ratio {
        md.push_str(&format!(
            "\nhekad / statsd, lines taken per second: {x:.2}\n"
        ));
    }
    print!("\n{md}");
    fs::create_dir_all(&out)?;
    let as_json = |r: &Option<StatsdRun>| {
        r.as_ref().map(|r| {
            json!({"sent": r.sent, "counted": r.counted, "send_s": r.send_s, "cpu_s": r.cpu_s,
                   "lines_per_s": r.rate(), "loss": r.loss(), "lines_per_cpu_s": r.per_cpu()})
        })
    };
    let all: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({"daemon": r.daemon, "sent": r.sent, "counted": r.counted,
                        "send_s": r.send_s, "cpu_s": r.cpu_s})
        })
        .collect();
    let results = json!({
        "machine": procfs::machine(),
        "date": stamp,
        "options": {"lines": o.lines, "per_datagram": o.per_datagram, "buckets": o.buckets,
                    "rate": o.rate, "repeat": o.repeat},
        "hekad": as_json(&hekad),
        "statsd": as_json(&statsd),
        "ratio": ratio,
        "runs": all,
    });
    let name = if o.rate > 0 {
        format!("statsd-{}", o.rate)
    } else {
        "statsd-unpaced".to_string()
    };
    fs::write(out.join(format!("{name}.md")), &md)?;
    fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string_pretty(&results)?,
    )?;
    println!("results in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_hold_the_lines_in_order() {
        let o = StatsdOptions {
            lines: 10,
            per_datagram: 4,
            buckets: 3,
            rate: 0,
            repeat: 1,
            hekad: None,
            statsd_js: PathBuf::new(),
            node: PathBuf::new(),
            out: None,
            tmp: PathBuf::new(),
        };
        let d = datagrams(&o);
        assert_eq!(d.len(), 3);
        assert_eq!(
            String::from_utf8_lossy(&d[0]),
            "bench.c0:1|c\nbench.c1:1|c\nbench.c2:1|c\nbench.t0:3|ms"
        );
        assert_eq!(String::from_utf8_lossy(&d[2]), "bench.c2:1|c\nbench.c0:1|c");
    }
}
