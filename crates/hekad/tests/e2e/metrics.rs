//! Metrics against real peers: StatsdInput → StatAccumInput → CarbonOutput beside the
//! reference statsd daemon (npm `statsd` 0.9.0) fed the same datagrams; real statsd clients
//! (PyPI `statsd`, npm `hot-shots`) as senders; Debian's carbon-cache receiving what
//! CarbonOutput sends, read back with whisper-fetch.
//!
//! `scripts/setup.sh test` installs graphite-carbon from Debian and the npm and PyPI peers into
//! `<repo>/target/test-peers`; the peers run in the foreground with their config in the test's
//! tempdir, on free loopback ports.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::*;

/// Where `scripts/setup.sh test` puts the npm and PyPI peers.
fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-peers")
}

/// A file of the installed peers; fails naming the setup command when it is missing.
fn peer(rel: &str) -> PathBuf {
    let p = peers().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh test (it installs the metrics test peers into {})",
        p.display(),
        peers().display()
    );
    p
}

/// The full path of `program`; fails naming the setup command when it is not installed.
fn which(program: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed: run scripts/setup.sh test"))
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A loopback TCP port nobody listens on right now.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback UDP port nobody has bound right now.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A peer daemon in the foreground; stopped with SIGTERM (killed if it lingers) when dropped.
struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(name: &'static str, program: &Path, args: &[&str], dir: &Path) -> Daemon {
        let log = dir.join(format!("{name}.out"));
        let out = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        Daemon { name, child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the daemon's output has `n` occurrences of `marker`.
    fn wait_output(&mut self, marker: &str, n: usize) {
        wait_for(&format!("{} to say {marker:?}", self.name), 30, || {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("{} exited early ({st}):\n{}", self.name, self.output());
            }
            (self.output().matches(marker).count() >= n).then_some(())
        });
    }

    /// Stops the daemon with SIGTERM and waits for it to exit.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// One Graphite plaintext line.
#[derive(Debug, Clone)]
struct Line {
    name: String,
    value: String,
    ts: i64,
}

/// A Graphite plaintext receiver standing in for carbon: each connection is one flush, or,
/// with `split_after_num_stats`, as many flushes as it has `numStats` lines (the last line of
/// each of StatAccumInput's flushes).
struct GraphiteSink {
    port: u16,
    flushes: Arc<Mutex<Vec<Vec<Line>>>>,
    stop: Arc<AtomicBool>,
}

impl GraphiteSink {
    fn start(split_after_num_stats: bool) -> GraphiteSink {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let flushes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s) = (flushes.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let f = f.clone();
                std::thread::spawn(move || {
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let mut data = String::new();
                    let _ = c.read_to_string(&mut data);
                    let mut flush = Vec::new();
                    let mut flushes = Vec::new();
                    for l in data.lines() {
                        let parts: Vec<&str> = l.split(' ').collect();
                        let [name, value, ts] = parts[..] else {
                            panic!("not a carbon line: {l:?}");
                        };
                        flush.push(Line {
                            name: name.to_string(),
                            value: value.to_string(),
                            ts: ts.parse().unwrap(),
                        });
                        if split_after_num_stats && name.ends_with("numStats") {
                            flushes.push(std::mem::take(&mut flush));
                        }
                    }
                    if !flush.is_empty() {
                        flushes.push(flush);
                    }
                    f.lock().unwrap().extend(flushes);
                });
            }
        });
        GraphiteSink {
            port,
            flushes,
            stop,
        }
    }

    fn flushes(&self) -> Vec<Vec<Line>> {
        self.flushes.lock().unwrap().clone()
    }
}

impl Drop for GraphiteSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the reference statsd daemon with a graphite backend writing to `graphite_port`,
/// flushing every second; returns it with the UDP port it listens on.
fn start_statsd(name: &'static str, dir: &Path, graphite_port: u16, legacy: bool) -> (Daemon, u16) {
    let stats_js = peer("npm/node_modules/statsd/stats.js");
    let port = free_udp_port();
    let config = dir.join(format!("{name}.js"));
    std::fs::write(
        &config,
        format!(
            "{{ port: {port}, address: \"127.0.0.1\", mgmt_address: \"127.0.0.1\", \
             mgmt_port: {mgmt}, graphiteHost: \"127.0.0.1\", graphitePort: {graphite_port}, \
             flushInterval: 1000, backends: [\"./backends/graphite\"], \
             graphite: {{ legacyNamespace: {legacy} }}, percentThreshold: [90] }}\n",
            mgmt = free_tcp_port(),
        ),
    )
    .unwrap();
    let node = which("node");
    let mut d = Daemon::start(
        name,
        &node,
        &[stats_js.to_str().unwrap(), config.to_str().unwrap()],
        dir,
    );
    d.wait_output("server is up", 1);
    (d, port)
}

/// The datagrams of one comparison round; every bucket starts with `r` so rounds don't mix,
/// and each datagram counts `hits`, so that a flush falling between two of them shows.
/// They avoid what the documented differences make differ: whitespace in keys (statsd
/// rewrites it), fractional counts (Heka truncates each stat), timer sample rates (statsd
/// counts them), timer counts where the two percentile roundings disagree, values that are not
/// numbers.
fn round_datagrams(r: &str) -> Vec<String> {
    let lat = [3.0, 1.5, 7.25, 12.0, 0.5, 9.0, 4.75, 6.0, 11.5, 2.0];
    let mut timers: Vec<String> = lat.iter().map(|v| format!("{r}.lat:{v}|ms")).collect();
    timers.push(format!("{r}.one:42|ms"));
    timers.extend((1..=4).map(|v| format!("{r}.four:{v}|ms")));
    vec![
        format!("{r}.hits:1|c\n{r}.hits:1|c\n{r}.hits:1|c"),
        format!("{r}.hits:2|c|@0.5\n{r}.sampled:1|c|@0.1\n{r}.big:1000000|c\n{r}.neg:-3|c\n"),
        format!(
            "{r}.load:10|g\n{r}.load:+5|g\n{r}.load:-2.5|g\n{r}.temp:-7|g\n{r}.level:3.25|g\n\
             {r}.hits:1|c"
        ),
        timers.join("\n") + &format!("\n{r}.hits:1|c"),
        format!(
            "{r}.users:alice|s\n{r}.users:bob|s\n{r}.users:alice|s\n{r}.users:carol|s\n\
             {r}.hits:1|c"
        ),
        format!("garbage\n{r}.z:5\n\n{r}.hits:1|c\n"),
    ]
}

/// Whether `line` of round `r` shows activity: a non-zero count of a counter, timer or set.
fn active(line: &Line, r: &str) -> bool {
    line.name.contains(&format!("{r}."))
        && (line.name.ends_with(".count") || line.name.starts_with("stats_counts."))
        && line.value.parse::<f64>().map(|v| v != 0.0).unwrap_or(false)
}

/// The flushes of `sink` that show activity of round `r`, and whether one more flush followed
/// the last of them.
fn activity(sink: &GraphiteSink, r: &str) -> (Vec<Vec<Line>>, bool) {
    let flushes = sink.flushes();
    let idx: Vec<usize> = (0..flushes.len())
        .filter(|&i| flushes[i].iter().any(|l| active(l, r)))
        .collect();
    let followed = idx.last().is_some_and(|&i| flushes.len() > i + 1);
    (
        idx.into_iter().map(|i| flushes[i].clone()).collect(),
        followed,
    )
}

/// The lines of round `r` in `flush`, by name.
fn round_metrics(flush: &[Line], r: &str) -> BTreeMap<String, String> {
    flush
        .iter()
        .filter(|l| l.name.contains(&format!("{r}.")))
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Timer stats statsd computes and Heka's StatAccumInput does not (docs/differences.md).
fn statsd_only(name: &str) -> bool {
    const EXTRA: &[&str] = &[
        "std",
        "median",
        "sum_squares",
        "count_90",
        "sum_90",
        "sum_squares_90",
    ];
    name.starts_with("stats.timers.") && EXTRA.iter().any(|x| name.ends_with(&format!(".{x}")))
}

/// Checks one of our flushes line by line for Heka's format: three fields, one timestamp
/// (close to now), integers for counts and numStats and six decimals for the rest, counters
/// then gauges then timers then sets, numStats last and equal to the buckets emitted.
fn check_heka_format(flush: &[Line], legacy: bool) {
    let ts = flush[0].ts;
    assert!((now_s() - ts).abs() < 120, "timestamp {ts} is not now");
    let int = |v: &str| {
        !v.is_empty()
            && v.trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
    };
    let float = |v: &str| {
        let (i, d) = v.split_once('.').unwrap_or(("", ""));
        int(i) && d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit())
    };
    let category = |name: &str| {
        if name.ends_with("numStats") {
            4
        } else if name.starts_with("stats.gauges.") {
            1
        } else if name.starts_with("stats.timers.") {
            2
        } else if name.starts_with("stats.sets.") {
            3
        } else {
            0
        }
    };
    let mut last = 0;
    let mut lines_of = [0usize; 5];
    for l in flush {
        assert_eq!(l.ts, ts, "{l:?}: one timestamp a flush");
        let is_int = l.name.ends_with(".count")
            || l.name.starts_with("stats_counts.")
            || l.name.ends_with("numStats");
        if is_int {
            assert!(int(&l.value), "{l:?} is not an integer");
        } else {
            assert!(float(&l.value), "{l:?} is not printed as Go's %f");
        }
        let c = category(&l.name);
        assert!(c >= last, "{l:?} out of Heka's order");
        last = c;
        lines_of[c] += 1;
    }
    let num = flush.last().unwrap();
    assert!(num.name.ends_with("numStats"), "numStats is not last");
    let want = if legacy {
        "statsd.numStats"
    } else {
        "stats.statsd.numStats"
    };
    assert_eq!(num.name, want);
    // Counters: two lines each; timers: eight (percent_threshold = [90]).
    let buckets = lines_of[0] / 2 + lines_of[1] + lines_of[2] / 8 + lines_of[3];
    assert_eq!(num.value, buckets.to_string(), "numStats");
}

/// Compares our flush of a round with statsd's: every metric of ours has statsd's name and
/// value, and statsd has nothing more but the timer stats Heka never computed; `heka` lists
/// our metrics that differ on purpose (name → our value; "" = absent from ours).
fn compare(
    what: &str,
    ours: &BTreeMap<String, String>,
    theirs: &BTreeMap<String, String>,
    heka: &BTreeMap<String, &str>,
) {
    assert!(!ours.is_empty(), "{what}: nothing of the round");
    for (name, v) in ours {
        if let Some(want) = heka.get(name) {
            assert_eq!(v, want, "{what}: {name} (Heka's semantics)");
            continue;
        }
        let Some(t) = theirs.get(name) else {
            panic!(
                "{what}: statsd has no {name} (ours: {v})\nours: {ours:#?}\nstatsd: {theirs:#?}"
            );
        };
        let (a, b): (f64, f64) = (v.parse().unwrap(), t.parse().unwrap());
        assert!(
            (a - b).abs() <= 1e-6 + 1e-12 * b.abs(),
            "{what}: {name}: ours {v}, statsd {t}"
        );
    }
    for name in theirs.keys() {
        if !ours.contains_key(name) && !statsd_only(name) {
            assert_eq!(
                heka.get(name),
                Some(&""),
                "{what}: we have no {name} (statsd: {})",
                theirs[name]
            );
        }
    }
}

#[test]
fn statsd_input_and_stat_accum_input_agree_with_the_reference_statsd() {
    let dir = tempfile::tempdir().unwrap();
    let statsd_sink = GraphiteSink::start(false);
    let statsd_legacy_sink = GraphiteSink::start(false);
    let (_statsd, statsd_port) = start_statsd("statsd", dir.path(), statsd_sink.port, false);
    let (_statsd_legacy, statsd_legacy_port) =
        start_statsd("statsd-legacy", dir.path(), statsd_legacy_sink.port, true);

    // Three pipelines: statsd's semantics with both namespacings, and Heka's semantics.
    let sinks: Vec<(&str, GraphiteSink)> = ["modern", "legacy", "heka"]
        .into_iter()
        .map(|n| (n, GraphiteSink::start(true)))
        .collect();
    let mut config = String::new();
    for (n, sink) in &sinks {
        config.push_str(&format!(
            r#"
[in_{n}]
type = "StatsdInput"
address = "127.0.0.1:0"
stat_accum_name = "acc_{n}"
max_msg_size = 65536
statsd_semantics = {semantics}

[acc_{n}]
type = "StatAccumInput"
ticker_interval = 1
legacy_namespaces = {legacy}

[out_{n}]
type = "CarbonOutput"
message_matcher = "Logger == 'acc_{n}'"
address = "127.0.0.1:{port}"
"#,
            semantics = *n != "heka",
            legacy = *n == "legacy",
            port = sink.port
        ));
    }
    let mut hekad = Hekad::start(&config);
    let ports: Vec<u16> = sinks
        .iter()
        .map(|(n, _)| hekad.listening(&format!("in_{n}")))
        .collect();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let targets: Vec<u16> = [statsd_port, statsd_legacy_port]
        .into_iter()
        .chain(ports)
        .collect();

    // A round whose datagrams a flush of one daemon cuts in two can't be compared: try again
    // with fresh buckets (each round takes a few milliseconds of a one-second interval).
    let nonce = std::process::id();
    for round in 1..=5 {
        let r = format!("r{round}n{nonce}");
        for d in round_datagrams(&r) {
            for port in &targets {
                tx.send_to(d.as_bytes(), ("127.0.0.1", *port)).unwrap();
            }
        }
        let all: Vec<&GraphiteSink> = [&statsd_sink, &statsd_legacy_sink]
            .into_iter()
            .chain(sinks.iter().map(|(_, s)| s))
            .collect();
        let seen = wait_for(&format!("every daemon to flush round {r}"), 30, || {
            let a: Vec<_> = all.iter().map(|s| activity(s, &r)).collect();
            a.iter()
                .all(|(f, followed)| !f.is_empty() && *followed)
                .then_some(a)
        });
        if seen.iter().any(|(f, _)| f.len() > 1) {
            eprintln!("round {r} was cut by a flush; next round");
            continue;
        }
        let flush = |i: usize| seen[i].0[0].clone();
        let (statsd, statsd_legacy) = (flush(0), flush(1));
        let (modern, legacy, heka) = (flush(2), flush(3), flush(4));
        for (f, is_legacy) in [(&modern, false), (&legacy, true), (&heka, false)] {
            check_heka_format(f, is_legacy);
        }
        let none = BTreeMap::new();
        compare(
            "statsd semantics",
            &round_metrics(&modern, &r),
            &round_metrics(&statsd, &r),
            &none,
        );
        compare(
            "legacy namespaces",
            &round_metrics(&legacy, &r),
            &round_metrics(&statsd_legacy, &r),
            &none,
        );
        // Heka's semantics: `+5|g` sets the gauge to 5 and `-2.5|g` to -2.5; sets are not
        // statsd lines to Heka.
        let heka_differs = BTreeMap::from([
            (format!("stats.gauges.{r}.load"), "-2.500000"),
            (format!("stats.sets.{r}.users.count"), ""),
        ]);
        compare(
            "Heka semantics",
            &round_metrics(&heka, &r),
            &round_metrics(&statsd, &r),
            &heka_differs,
        );
        // And the numbers themselves, not only their agreement.
        let m = round_metrics(&modern, &r);
        for (name, want) in [
            (format!("stats.counters.{r}.hits.count"), "11"),
            (format!("stats.counters.{r}.hits.rate"), "11.000000"),
            (format!("stats.counters.{r}.sampled.count"), "10"),
            (format!("stats.counters.{r}.neg.count"), "-3"),
            (format!("stats.gauges.{r}.load"), "12.500000"),
            (format!("stats.timers.{r}.lat.count"), "10"),
            (format!("stats.timers.{r}.lat.mean_90"), "5.055556"),
            (format!("stats.timers.{r}.lat.upper_90"), "11.500000"),
            (format!("stats.sets.{r}.users.count"), "3"),
        ] {
            assert_eq!(m.get(&name).map(String::as_str), Some(want), "{name}");
        }
        hekad.stop();
        return;
    }
    panic!("every round was cut by a flush of one daemon or another");
}

/// Every metric line of a flush, by name (the timestamp dropped).
fn by_name(flushes: &[Vec<Line>]) -> BTreeMap<String, String> {
    flushes
        .iter()
        .flatten()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

#[test]
fn real_statsd_clients_python_statsd_and_hot_shots() {
    let python = peer("python/statsd");
    let hot_shots = peer("npm/node_modules/hot-shots");
    let sink = GraphiteSink::start(true);
    // One flush an hour: the one at stop holds everything.
    let mut hekad = Hekad::start(&format!(
        r#"
[py]
type = "StatsdInput"
address = "127.0.0.1:0"
statsd_semantics = true

[hs]
type = "StatsdInput"
address = "127.0.0.1:0"
statsd_semantics = true
max_msg_size = 1432

[StatAccumInput]
ticker_interval = 3600

[CarbonOutput]
message_matcher = "Type == 'heka.statmetric'"
address = "127.0.0.1:{}"
"#,
        sink.port
    ));
    let py_port = hekad.listening("py");
    let hs_port = hekad.listening("hs");

    let script = hekad.path("client.py");
    std::fs::write(
        &script,
        r#"import sys
import statsd

c = statsd.StatsClient("127.0.0.1", int(sys.argv[1]), prefix="py")
c.incr("hits")
c.incr("hits", 5)
c.decr("hits", 2)
c.gauge("load", 10)
c.gauge("load", 3, delta=True)
c.gauge("load", -1, delta=True)
c.timing("lat", 12.5)
c.timing("lat", 7.5)
c.set("users", "alice")
c.set("users", "bob")
c.set("users", "alice")
with c.pipeline() as p:
    p.incr("piped")
    p.incr("piped", 2)
    p.timing("piped_t", 3)
    p.gauge("piped_g", 4)
with c.timer("timed"):
    pass
"#,
    )
    .unwrap();
    let st = Command::new(which("python3"))
        .arg(&script)
        .arg(py_port.to_string())
        .env("PYTHONPATH", python.parent().unwrap())
        .status()
        .unwrap();
    assert!(st.success(), "the Python statsd client failed");

    let script = hekad.path("client.js");
    std::fs::write(
        &script,
        r#"const StatsD = require(process.argv[2]);
const c = new StatsD({
  host: "127.0.0.1", port: Number(process.argv[3]), prefix: "hs.",
  maxBufferSize: 1000, bufferFlushInterval: 1000,
  errorHandler: (e) => { console.error(e); process.exit(2); },
});
c.increment("hits");
c.increment("hits", 4);
c.decrement("hits", 2);
c.gauge("load", 10);
c.gaugeDelta("load", 5);
c.gaugeDelta("load", -3);
c.timing("lat", 20);
c.timing("lat", 40);
c.histogram("hist", 7);
c.set("users", "alice");
c.set("users", "bob");
c.set("users", "alice");
c.distribution("dist", 5);
c.close((err) => process.exit(err ? 1 : 0));
"#,
    )
    .unwrap();
    let st = Command::new(which("node"))
        .arg(&script)
        .arg(&hot_shots)
        .arg(hs_port.to_string())
        .status()
        .unwrap();
    assert!(st.success(), "the hot-shots client failed");

    // The clients have exited: their datagrams are in hekad's sockets or read already.
    assert!(hekad.stop().success());
    let flushes = wait_for("the last flush", 20, || {
        let f = sink.flushes();
        (!f.is_empty()).then_some(f)
    });
    let m = by_name(&flushes);
    for (name, want) in [
        ("stats.counters.py.hits.count", "4"),
        ("stats.gauges.py.load", "12.000000"),
        ("stats.timers.py.lat.count", "2"),
        ("stats.timers.py.lat.mean", "10.000000"),
        ("stats.timers.py.lat.lower", "7.500000"),
        ("stats.timers.py.lat.upper", "12.500000"),
        ("stats.sets.py.users.count", "2"),
        ("stats.counters.py.piped.count", "3"),
        ("stats.timers.py.piped_t.count", "1"),
        ("stats.gauges.py.piped_g", "4.000000"),
        ("stats.timers.py.timed.count", "1"),
        ("stats.counters.hs.hits.count", "3"),
        ("stats.gauges.hs.load", "12.000000"),
        ("stats.timers.hs.lat.count", "2"),
        ("stats.timers.hs.lat.mean", "30.000000"),
        // Heka counts `h` (histogram) like `c`.
        ("stats.counters.hs.hist.count", "7"),
        ("stats.sets.hs.users.count", "2"),
        ("stats.statsd.numStats", "13"),
    ] {
        assert_eq!(
            m.get(name).map(String::as_str),
            Some(want),
            "{name} in {m:#?}"
        );
    }
    // hot-shots' distribution type `d` is not statsd's: a bad line, logged.
    assert!(!m.keys().any(|k| k.contains("dist")));
    assert!(
        hekad.stderr().contains("can't parse message: hs.dist:5|d"),
        "{}",
        hekad.stderr()
    );
}

/// A carbon-cache of Debian's graphite-carbon, in the foreground, storing into `dir/whisper`
/// with one-second points for an hour.
pub(crate) struct Carbon {
    dir: PathBuf,
    pub(crate) line_port: u16,
    udp_port: u16,
    config: PathBuf,
    daemon: Option<Daemon>,
    starts: usize,
}

impl Carbon {
    pub(crate) fn new(dir: &Path) -> Carbon {
        let dir = dir.join("carbon");
        std::fs::create_dir_all(dir.join("whisper")).unwrap();
        std::fs::create_dir_all(dir.join("log")).unwrap();
        let (line_port, udp_port) = (free_tcp_port(), free_udp_port());
        let d = dir.display();
        let config = dir.join("carbon.conf");
        std::fs::write(
            &config,
            format!(
                "[cache]\nSTORAGE_DIR = {d}/\nLOCAL_DATA_DIR = {d}/whisper/\nCONF_DIR = {d}/\n\
                 LOG_DIR = {d}/log/\nPID_DIR = {d}/\nUSER =\nMAX_CACHE_SIZE = inf\n\
                 MAX_UPDATES_PER_SECOND = inf\nMAX_CREATES_PER_MINUTE = inf\n\
                 LINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = {line_port}\n\
                 ENABLE_UDP_LISTENER = True\nUDP_RECEIVER_INTERFACE = 127.0.0.1\n\
                 UDP_RECEIVER_PORT = {udp_port}\nPICKLE_RECEIVER_INTERFACE = 127.0.0.1\n\
                 PICKLE_RECEIVER_PORT = {}\nCACHE_QUERY_INTERFACE = 127.0.0.1\n\
                 CACHE_QUERY_PORT = {}\nLOG_UPDATES = False\nWHISPER_AUTOFLUSH = True\n",
                free_tcp_port(),
                free_tcp_port()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("storage-schemas.conf"),
            "[all]\npattern = .*\nretentions = 1s:1h\n",
        )
        .unwrap();
        Carbon {
            dir,
            line_port,
            udp_port,
            config,
            daemon: None,
            starts: 0,
        }
    }

    /// Starts carbon-cache and waits until both its line receivers listen.
    pub(crate) fn start(&mut self) {
        let program = which("carbon-cache");
        let config = format!("--config={}", self.config.display());
        let pid = format!("--pidfile={}", self.dir.join("carbon.pid").display());
        let logdir = format!("--logdir={}", self.dir.join("log").display());
        let mut d = Daemon::start(
            "carbon-cache",
            &program,
            &[&config, &pid, &logdir, "--nodaemon", "start"],
            &self.dir,
        );
        self.starts += 1;
        d.wait_output(
            &format!("MetricDatagramReceiver starting on {}", self.udp_port),
            self.starts,
        );
        wait_for("carbon's line receiver", 30, || {
            TcpStream::connect(("127.0.0.1", self.line_port)).ok()
        });
        self.daemon = Some(d);
    }

    fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
    }

    /// The points whisper-fetch reads from the file of `metric`, from `from` to `until`.
    pub(crate) fn fetch(&self, metric: &str, from: i64, until: i64) -> BTreeMap<i64, f64> {
        let file = self
            .dir
            .join("whisper")
            .join(format!("{}.wsp", metric.replace('.', "/")));
        if !file.exists() {
            return BTreeMap::new();
        }
        let out = Command::new(which("whisper-fetch"))
            .arg(format!("--from={from}"))
            .arg(format!("--until={until}"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "whisper-fetch {}", file.display());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (ts, v) = l.split_once('\t')?;
                Some((ts.parse().ok()?, v.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Carbon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What StatAccumInput emitted, from the FileOutput copy: metric → (timestamp → value).
fn emitted(path: &Path, prefix: &str) -> BTreeMap<String, BTreeMap<i64, f64>> {
    let mut out: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for m in read_framed(path) {
        for l in String::from_utf8_lossy(m.payload_bytes()).lines() {
            let parts: Vec<&str> = l.split(' ').collect();
            if parts[0].starts_with(prefix) {
                out.entry(parts[0].to_string())
                    .or_default()
                    .insert(parts[2].parse().unwrap(), parts[1].parse().unwrap());
            }
        }
    }
    out
}

/// Waits (a minute at most) until carbon holds every point of `want` whose timestamp `must`
/// accepts; fails naming the points still missing.
fn wait_stored(
    what: &str,
    carbon: &Carbon,
    want: &BTreeMap<String, BTreeMap<i64, f64>>,
    must: &dyn Fn(i64) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let missing = missing_in_carbon(carbon, want, must);
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: carbon lacks {} points: {:#?}",
            missing.len(),
            &missing[..missing.len().min(20)]
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The points of `want` (metric → timestamp → value) whose timestamp `must` accepts and that
/// carbon does not hold; points it holds must have the value, whatever `must` says.
fn missing_in_carbon(
    carbon: &Carbon,
    want: &BTreeMap<String, BTreeMap<i64, f64>>,
    must: &dyn Fn(i64) -> bool,
) -> Vec<String> {
    let mut missing = Vec::new();
    for (metric, points) in want {
        let (from, until) = (
            points.keys().next().unwrap() - 1,
            points.keys().last().unwrap() + 1,
        );
        let got = carbon.fetch(metric, from, until);
        for (ts, v) in points {
            match got.get(ts) {
                Some(g) => assert!(
                    (g - v).abs() <= 1e-6 * v.abs().max(1.0),
                    "{metric} at {ts}: carbon has {g}, hekad sent {v}"
                ),
                None if must(*ts) => missing.push(format!("{metric} at {ts} ({v})")),
                None => {}
            }
        }
    }
    missing
}

#[test]
fn carbon_cache_stores_what_carbon_output_sends_across_its_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut carbon = Carbon::new(dir.path());
    let mut config = String::new();
    for proto in ["tcp", "udp"] {
        config.push_str(&format!(
            r#"
[in_{proto}]
type = "StatsdInput"
address = "127.0.0.1:0"
stat_accum_name = "acc_{proto}"

[acc_{proto}]
type = "StatAccumInput"
ticker_interval = 1
global_prefix = "{proto}stats"

[carbon_{proto}]
type = "CarbonOutput"
message_matcher = "Logger == 'acc_{proto}'"
address = "127.0.0.1:{port}"
protocol = "{proto}"
"#,
            port = if proto == "tcp" {
                carbon.line_port
            } else {
                carbon.udp_port
            }
        ));
    }
    config.push_str(
        r#"
[copy]
type = "FileOutput"
message_matcher = "Type == 'heka.statmetric'"
path = "{dir}/statmetrics.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    // Carbon is down when hekad starts: the TCP lines wait for it.
    let mut hekad = Hekad::start(&config);
    let ports = [hekad.listening("in_tcp"), hekad.listening("in_udp")];
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut n = 0;
    let mut send = || {
        n += 1;
        for port in ports {
            let d = format!(
                "hits:{n}|c\nload:{n}|g\nlat:{}|ms\nlat:{}|ms",
                n * 10,
                n * 30
            );
            tx.send_to(d.as_bytes(), ("127.0.0.1", port)).unwrap();
        }
    };
    let copy = hekad.path("statmetrics.log");
    // Waits for `k` more flushes of the TCP pipeline's accumulator.
    let tcp_flushes = || {
        read_framed(&copy)
            .iter()
            .filter(|m| m.logger_bytes() == b"acc_tcp")
            .count()
    };
    let flushes = |k: usize| {
        let have = tcp_flushes();
        wait_for(&format!("{k} more flushes"), 30, || {
            (tcp_flushes() >= have + k).then_some(())
        });
    };
    send();
    flushes(2);
    carbon.start();
    let up = now_s();
    send();
    flushes(2);
    // Carbon goes away right after a flush; the next ones wait until it is back.
    flushes(1);
    std::thread::sleep(Duration::from_millis(100));
    let down = now_s();
    carbon.stop();
    let stopped = now_s();
    send();
    flushes(3);
    send();
    flushes(1);
    carbon.start();
    let up_again = now_s();
    send();
    flushes(2);
    assert!(hekad.stop().success(), "{}", hekad.stderr());
    let end = now_s();

    // TCP: every point, except those of a flush written just as carbon was stopping (TCP
    // hands those to a process that then exits without reading them).
    let tcp = emitted(&copy, "tcpstats.");
    assert!(tcp.contains_key("tcpstats.counters.hits.count"), "{tcp:?}");
    let points: usize = tcp.values().map(BTreeMap::len).sum();
    assert!(points > 50, "{points} points");
    let stopping = |ts: i64| ts >= down - 1 && ts <= stopped + 1;
    wait_stored("TCP", &carbon, &tcp, &|ts| !stopping(ts));
    // The flushes while carbon was down came through.
    let during = tcp["tcpstats.statsd.numStats"]
        .keys()
        .filter(|ts| **ts > stopped && **ts < up_again)
        .count();
    // Three flushes were waited for after the stop; the first may share its second.
    assert!(
        during >= 2,
        "{during} flushes while carbon was down (stopped at {stopped}, up again at {up_again}): {:?}",
        tcp["tcpstats.statsd.numStats"].keys().collect::<Vec<_>>()
    );
    // Before carbon first started too.
    assert!(
        tcp["tcpstats.statsd.numStats"].keys().any(|ts| *ts < up),
        "no flush from before carbon started"
    );

    // UDP: what was sent while carbon listened.
    let udp = emitted(&copy, "udpstats.");
    let listening = |ts: i64| (ts > up && ts < down - 1) || (ts > up_again && ts <= end);
    wait_stored("UDP", &carbon, &udp, &listening);
    carbon.stop();
}

/// The messages of one StatFilter round (`r` in every bucket): three matched requests, one of
/// them without the `Bytes` field, and one message the filter does not match.
fn stat_filter_round(r: &str) -> Vec<heka_message::Message> {
    let request = |host: &str, method: &str| {
        heka_client::MessageBuilder::new()
            .message_type("nginx.access")
            .hostname(host.to_string())
            .string_field("Round", r.to_string())
            .string_field("Method", method.to_string())
    };
    vec![
        request("web1.example.com", "GET")
            .integer_field("Bytes", 100)
            .double_field("Latency", 12.5)
            .integer_field("Active", 3)
            .build(),
        request("web1.example.com", "GET")
            .integer_field("Bytes", 250)
            .integer_field("Latency", 7)
            .double_field("Active", 5.5)
            .build(),
        request("web2", "POST")
            .string_field("Latency", "30")
            .integer_field("Active", 4)
            .build(),
        heka_client::MessageBuilder::new()
            .message_type("nginx.error")
            .hostname("web1.example.com")
            .string_field("Round", r.to_string())
            .string_field("Method", "DELETE")
            .integer_field("Bytes", 1)
            .build(),
    ]
}

/// TcpInput (framed protobuf from heka_client) → StatFilter → StatAccumInput (1 s, only the
/// buckets updated) → CarbonOutput: the Graphite lines Heka emits for the round's counters,
/// timers and gauge, in Heka's format, and nothing of the message the filter does not match.
#[test]
fn stat_filter_turns_message_fields_into_graphite_lines() {
    let sink = GraphiteSink::start(true);
    let mut hekad = Hekad::start(&format!(
        r#"
[tcp]
type = "TcpInput"
address = "127.0.0.1:0"

[Requests]
type = "StatFilter"
message_matcher = "Type == 'nginx.access'"
stat_accum_name = "acc"

[Requests.Metric.hits]
type = "Counter"
name = "%Round%.hits.%Hostname%.%Method%"
value = "1"
replace_dot = true

[Requests.Metric.bytes]
type = "Counter"
name = "%Round%.bytes"
value = "%Bytes%"

[Requests.Metric.latency]
type = "Timer"
name = "%Round%.latency.%Method%"
value = "%Latency%"

[Requests.Metric.active]
type = "Gauge"
name = "%Round%.active"
value = "%Active%"

[acc]
type = "StatAccumInput"
ticker_interval = 1
emit_in_payload = true
delete_idle_stats = true

[carbon]
type = "CarbonOutput"
message_matcher = "Logger == 'acc'"
address = "127.0.0.1:{port}"
"#,
        port = sink.port
    ));
    let port = hekad.listening("tcp");
    let mut tx = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();

    // A round that a flush cuts in two can't be compared line by line: try again with fresh
    // buckets (each message's stats reach the accumulator together, so a cut shows as hits
    // in two flushes).
    let nonce = std::process::id();
    for round in 1..=5 {
        let r = format!("r{round}n{nonce}");
        for m in stat_filter_round(&r) {
            tx.send(&m).unwrap();
        }
        tx.flush().unwrap();
        let (flushes, _) = wait_for(&format!("the flushes of round {r}"), 30, || {
            let (f, followed) = activity(&sink, &r);
            (!f.is_empty() && followed).then_some((f, followed))
        });
        if flushes.len() > 1 {
            eprintln!("round {r} was cut by a flush; next round");
            continue;
        }
        let flush = &flushes[0];
        check_heka_format(flush, false);
        let got: Vec<String> = flush
            .iter()
            .map(|l| format!("{} {}", l.name, l.value))
            .collect();
        // Heka's StatFilter: the missing `Bytes` of the third request is `<Bytes>`, which the
        // accumulator reads as 0; `Latency` "30" (a string) and 12.5 (a double) are numbers
        // alike; the gauge keeps the last value; dots of the host became `_` (replace_dot).
        let c = format!("stats.counters.{r}");
        let t = format!("stats.timers.{r}");
        let want = [
            format!("{c}.bytes.rate 350.000000"),
            format!("{c}.bytes.count 350"),
            format!("{c}.hits.web1_example_com.GET.rate 2.000000"),
            format!("{c}.hits.web1_example_com.GET.count 2"),
            format!("{c}.hits.web2.POST.rate 1.000000"),
            format!("{c}.hits.web2.POST.count 1"),
            format!("stats.gauges.{r}.active 4.000000"),
            format!("{t}.latency.GET.count 2"),
            format!("{t}.latency.GET.count_ps 2.000000"),
            format!("{t}.latency.GET.lower 7.000000"),
            format!("{t}.latency.GET.upper 12.500000"),
            format!("{t}.latency.GET.sum 19.500000"),
            format!("{t}.latency.GET.mean 9.750000"),
            format!("{t}.latency.GET.mean_90 9.750000"),
            format!("{t}.latency.GET.upper_90 12.500000"),
            format!("{t}.latency.POST.count 1"),
            format!("{t}.latency.POST.count_ps 1.000000"),
            format!("{t}.latency.POST.lower 30.000000"),
            format!("{t}.latency.POST.upper 30.000000"),
            format!("{t}.latency.POST.sum 30.000000"),
            format!("{t}.latency.POST.mean 30.000000"),
            format!("{t}.latency.POST.mean_90 30.000000"),
            format!("{t}.latency.POST.upper_90 30.000000"),
            "stats.statsd.numStats 6".to_string(),
        ];
        assert_eq!(got, want);
        assert!(hekad.stop().success(), "{}", hekad.stderr());
        return;
    }
    panic!("every round was cut by a flush");
}
