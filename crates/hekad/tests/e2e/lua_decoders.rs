//! The library's remaining Lua decoders (`share/heka/lua_decoders/`) run by the real hekad on
//! what real programs write: the kernel's /proc and /sys files read by FilePollingInput, nginx's
//! error log and stub_status page, a private MariaDB server's slow query log, a private BIND
//! named's query log, GELF datagrams from Python's graypy, and nginx's JSON access log.
//! `scripts/setup.sh test` installs nginx, mariadb-server, bind9, bind9-dnsutils (dig) and
//! graypy (into target/test-peers/gelf); each test starts its peers on free loopback ports with
//! their files in the test's tempdir.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use heka_message::{Field, Message, ValueType};

use crate::producers::{Producer, curl, free_port, now_ns, site, start_nginx, which};
use crate::support::*;

/// The repository's `share/heka`, hekad's `share_dir` in these tests.
fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

fn field<'a>(m: &'a Message, name: &str) -> &'a Field {
    m.find_first_field(name.as_bytes())
        .unwrap_or_else(|| panic!("no field {name} in {m:?}"))
}

/// A double field's values.
fn doubles(m: &Message, name: &str) -> Vec<f64> {
    let f = field(m, name);
    assert_eq!(
        f.value_type,
        Some(ValueType::Double as i32),
        "{name}: {f:?}"
    );
    f.value_double.clone()
}

/// A double field's only value.
fn double(m: &Message, name: &str) -> f64 {
    let v = doubles(m, name);
    assert_eq!(v.len(), 1, "{name}: {m:?}");
    v[0]
}

/// An integer field's only value.
fn integer(m: &Message, name: &str) -> i64 {
    let f = field(m, name);
    assert_eq!(
        f.value_type,
        Some(ValueType::Integer as i32),
        "{name}: {f:?}"
    );
    assert_eq!(f.value_integer.len(), 1, "{f:?}");
    f.value_integer[0]
}

/// A string field's values.
fn strings(m: &Message, name: &str) -> Vec<String> {
    let f = field(m, name);
    assert_eq!(f.value_type, None, "{name} is a string: {f:?}");
    f.value_string
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// A string field's only value.
fn string(m: &Message, name: &str) -> String {
    let v = strings(m, name);
    assert_eq!(v.len(), 1, "{name}: {m:?}");
    v[0].clone()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The names of `m`'s fields.
fn names(m: &Message) -> BTreeSet<String> {
    m.fields.iter().map(|f| text(&f.name)).collect()
}

/// The `[hekad]` section, with the repository's share_dir.
fn hekad_section() -> String {
    format!(
        "[hekad]\nbase_dir = \"{{dir}}/base\"\nshare_dir = \"{}\"\n",
        share_dir().display()
    )
}

/// A SandboxDecoder section running the library's `script`, with `config` lines.
fn decoder(name: &str, script: &str, config: &str) -> String {
    format!(
        "\n[{name}]\ntype = \"SandboxDecoder\"\nfilename = \"lua_decoders/{script}\"\n[{name}.config]\n{config}\n"
    )
}

/// A FileOutput writing what `matcher` matches, framed, to `{dir}/out.log`.
fn file_output(matcher: &str) -> String {
    format!(
        "\n[out]\ntype = \"FileOutput\"\nmessage_matcher = \"{matcher}\"\npath = \"{{dir}}/out.log\"\nencoder = \"ProtobufEncoder\"\nflush_count = 1\n"
    )
}

/// Waits until hekad's output holds messages for which `done` holds, and returns them all.
fn wait_output(h: &Hekad, what: &str, done: impl Fn(&[Message]) -> bool) -> Vec<Message> {
    let out = h.path("out.log");
    wait_for(what, 30, || {
        let got = read_framed(&out);
        done(&got).then_some(got)
    })
}

// ---- /proc and /sys --------------------------------------------------------------------------

/// A kernel stats file, the decoder for it, and the name of its FilePollingInput.
struct StatsFile {
    input: String,
    path: PathBuf,
    decoder: &'static str,
}

/// The first block device with a stat file (virtio, SCSI, loop...).
fn block_stat() -> PathBuf {
    let mut devs: Vec<PathBuf> = std::fs::read_dir("/sys/block")
        .unwrap()
        .map(|e| e.unwrap().path().join("stat"))
        .filter(|p| p.is_file())
        .collect();
    devs.sort();
    devs.into_iter().next().expect("a block device")
}

/// Each line `key n n n…` of /proc/stat, until one that is not.
fn parse_procstat(text: &str) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(key) = words.next() else { break };
        let nums: Result<Vec<f64>, _> = words.map(str::parse::<f64>).collect();
        match nums {
            Ok(n) if !n.is_empty() => {
                out.insert(key.to_string(), n);
            }
            _ => break,
        }
    }
    out
}

/// /proc/meminfo: name → (value, unit).
fn parse_meminfo(text: &str) -> BTreeMap<String, (f64, String)> {
    text.lines()
        .map(|l| {
            let (name, rest) = l.split_once(':').unwrap();
            let mut w = rest.split_whitespace();
            let v = w.next().unwrap().parse().unwrap();
            (name.to_string(), (v, w.next().unwrap_or("").to_string()))
        })
        .collect()
}

/// /proc/net/dev: interface → field name → counter.
fn parse_netdev(text: &str) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut lines = text.lines();
    lines.next();
    let header = lines.next().unwrap();
    let mut cols = header.split('|').skip(1);
    let mut names: Vec<String> = Vec::new();
    for (prefix, part) in [("receive", cols.next()), ("transmit", cols.next())] {
        for c in part.unwrap().split_whitespace() {
            names.push(format!("{prefix}_{c}"));
        }
    }
    lines
        .map(|l| {
            let (iface, counters) = l.split_once(':').unwrap();
            let values = counters
                .split_whitespace()
                .zip(&names)
                .map(|(v, n)| (n.clone(), v.parse().unwrap()))
                .collect();
            (iface.trim().to_string(), values)
        })
        .collect()
}

/// /proc/net/snmp and /proc/net/netstat: `Proto_Name` → value.
fn parse_netstat(text: &str) -> BTreeMap<String, i64> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for pair in lines.chunks(2) {
        let (proto, names) = pair[0].split_once(':').unwrap();
        let (_, values) = pair[1].split_once(':').unwrap();
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            out.insert(format!("{proto}_{n}"), v.parse().unwrap());
        }
    }
    out
}

const DISK_COLUMNS: [&str; 17] = [
    "ReadsCompleted",
    "ReadsMerged",
    "SectorsRead",
    "TimeReading",
    "WritesCompleted",
    "WritesMerged",
    "SectorsWritten",
    "TimeWriting",
    "NumIOInProgress",
    "TimeDoingIO",
    "WeightedTimeDoingIO",
    "DiscardsCompleted",
    "DiscardsMerged",
    "SectorsDiscarded",
    "TimeDiscarding",
    "FlushesCompleted",
    "TimeFlushing",
];

/// Checks the message decoded from a copy of a kernel file against the copy's text: every
/// value exactly, and no other field.
fn check_snapshot(f: &StatsFile, m: &Message, copy: &str) {
    let file_path = f.path.display().to_string();
    match f.decoder {
        "linux_procstat.lua" => {
            assert_eq!(m.type_bytes(), b"stats.procstat");
            let want = parse_procstat(copy);
            assert!(want.contains_key("cpu") && want.contains_key("btime"));
            for (k, v) in &want {
                assert_eq!(&doubles(m, k), v, "{k}");
            }
            assert_eq!(m.fields.len(), want.len(), "{m:?}");
        }
        "linux_loadavg.lua" => {
            assert_eq!(m.type_bytes(), b"stats.loadavg");
            let w: Vec<&str> = copy.split_whitespace().collect();
            assert_eq!(double(m, "1MinAvg"), w[0].parse::<f64>().unwrap());
            assert_eq!(double(m, "5MinAvg"), w[1].parse::<f64>().unwrap());
            assert_eq!(double(m, "15MinAvg"), w[2].parse::<f64>().unwrap());
            let running = w[3].split_once('/').unwrap().0;
            assert_eq!(double(m, "NumProcesses"), running.parse::<f64>().unwrap());
            assert_eq!(string(m, "FilePath"), file_path);
            assert_eq!(m.fields.len(), 5, "{m:?}");
        }
        "linux_memstats.lua" => {
            assert_eq!(m.type_bytes(), b"stats.memstats");
            let want = parse_meminfo(copy);
            for (k, (v, unit)) in &want {
                assert_eq!(double(m, k), *v, "{k}");
                assert_eq!(text(field(m, k).representation_bytes()), *unit, "{k}");
            }
            assert_eq!(string(m, "FilePath"), file_path);
            assert_eq!(m.fields.len(), want.len() + 1, "{m:?}");
        }
        "linux_netstat.lua" => {
            assert_eq!(m.type_bytes(), b"stats.netstat");
            let want = parse_netstat(copy);
            for (k, v) in &want {
                assert_eq!(integer(m, k), *v, "{k}");
            }
            assert_eq!(string(m, "FilePath"), file_path);
            assert_eq!(m.fields.len(), want.len() + 1, "{m:?}");
        }
        "linux_diskstats.lua" => {
            assert_eq!(m.type_bytes(), b"stats.diskstats");
            let values: Vec<f64> = copy
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            assert!(values.len() >= 11, "{copy}");
            for (name, v) in DISK_COLUMNS.iter().zip(&values) {
                assert_eq!(double(m, name), *v, "{name}");
            }
            assert_eq!(string(m, "FilePath"), file_path);
            assert_eq!(double(m, "TickerInterval"), 1.0);
            assert_eq!(m.fields.len(), values.len() + 2, "{m:?}");
        }
        other => panic!("{other}"),
    }
}

/// Checks a message decoded from the live kernel file: the field names are those the test
/// reads from the file itself now, the values have their types and plausible values.
fn check_live(f: &StatsFile, m: &Message) {
    let now = std::fs::read_to_string(&f.path).unwrap();
    let file_path = f.path.display().to_string();
    let mut want_names: BTreeSet<String> = match f.decoder {
        "linux_procstat.lua" => parse_procstat(&now).into_keys().collect(),
        "linux_memstats.lua" => parse_meminfo(&now).into_keys().collect(),
        "linux_netstat.lua" => parse_netstat(&now).into_keys().collect(),
        "linux_loadavg.lua" => ["1MinAvg", "5MinAvg", "15MinAvg", "NumProcesses"]
            .map(String::from)
            .into(),
        "linux_diskstats.lua" => DISK_COLUMNS[..now.split_whitespace().count()]
            .iter()
            .map(|s| s.to_string())
            .chain(["TickerInterval".to_string()])
            .collect(),
        other => panic!("{other}"),
    };
    if f.decoder != "linux_procstat.lua" {
        want_names.insert("FilePath".into());
        assert_eq!(string(m, "FilePath"), file_path);
    }
    assert_eq!(names(m), want_names, "{}", f.input);
    match f.decoder {
        "linux_procstat.lua" => {
            let want = parse_procstat(&now);
            // Constant while the machine runs: the boot time and the number of CPUs' fields.
            assert_eq!(doubles(m, "btime"), want["btime"]);
            assert_eq!(doubles(m, "cpu").len(), want["cpu"].len());
            let idle = doubles(m, "cpu")[3];
            assert!(idle > 0.0 && idle <= want["cpu"][3], "{idle}");
        }
        "linux_memstats.lua" => {
            let want = parse_meminfo(&now);
            assert_eq!(double(m, "MemTotal"), want["MemTotal"].0);
            assert_eq!(text(field(m, "MemTotal").representation_bytes()), "kB");
            assert!(double(m, "MemFree") <= double(m, "MemTotal"));
        }
        "linux_loadavg.lua" => {
            for n in ["1MinAvg", "5MinAvg", "15MinAvg"] {
                assert!((0.0..10_000.0).contains(&double(m, n)), "{n}: {m:?}");
            }
            assert!(double(m, "NumProcesses") >= 1.0, "hekad's own thread runs");
        }
        "linux_netstat.lua" => {
            let want = parse_netstat(&now);
            for (k, v) in &want {
                let got = integer(m, k);
                // Counters only grow; gauges (CurrEstab, …) and constants are near.
                assert!(
                    got <= *v || k.contains("Curr") || k.contains("InUse"),
                    "{k}: {got} > {v}"
                );
            }
        }
        "linux_diskstats.lua" => {
            let now: Vec<f64> = now.split_whitespace().map(|v| v.parse().unwrap()).collect();
            assert!(double(m, "ReadsCompleted") <= now[0]);
            assert_eq!(double(m, "TickerInterval"), 1.0);
        }
        _ => {}
    }
}

#[test]
fn linux_decoders_read_real_kernel_files() {
    let dir = tempfile::tempdir().unwrap();
    let live = [
        ("ProcStat", "/proc/stat".into(), "linux_procstat.lua"),
        ("LoadAvg", "/proc/loadavg".into(), "linux_loadavg.lua"),
        ("MemInfo", "/proc/meminfo".into(), "linux_memstats.lua"),
        ("NetSnmp", "/proc/net/snmp".into(), "linux_netstat.lua"),
        (
            "NetNetstat",
            "/proc/net/netstat".into(),
            "linux_netstat.lua",
        ),
        ("DiskStats", block_stat(), "linux_diskstats.lua"),
    ];
    let mut files: Vec<StatsFile> = Vec::new();
    let mut copies: BTreeMap<String, String> = BTreeMap::new();
    for (input, path, decoder) in live {
        // A snapshot copy: its values are known exactly.
        let copy_input = format!("{input}Copy");
        let copy = dir.path().join(&copy_input);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&copy, &text).unwrap();
        copies.insert(copy_input.clone(), text);
        files.push(StatsFile {
            input: input.to_string(),
            path,
            decoder,
        });
        files.push(StatsFile {
            input: copy_input,
            path: copy,
            decoder,
        });
    }
    let mut config = hekad_section();
    for d in [
        "linux_procstat.lua",
        "linux_loadavg.lua",
        "linux_memstats.lua",
        "linux_netstat.lua",
        "linux_diskstats.lua",
        "linux_netdev.lua",
    ] {
        config += &decoder(d.trim_end_matches(".lua"), d, "");
    }
    let netdev_copy = dir.path().join("NetDevCopy");
    let netdev_text = std::fs::read_to_string("/proc/net/dev").unwrap();
    std::fs::write(&netdev_copy, &netdev_text).unwrap();
    for (input, path, decoder) in files
        .iter()
        .map(|f| (f.input.as_str(), f.path.clone(), f.decoder))
        .chain([
            ("NetDev", PathBuf::from("/proc/net/dev"), "linux_netdev.lua"),
            ("NetDevCopy", netdev_copy.clone(), "linux_netdev.lua"),
        ])
    {
        config += &format!(
            "\n[{input}]\ntype = \"FilePollingInput\"\nfile_path = \"{}\"\nticker_interval = 1\ndecoder = \"{}\"\n",
            path.display(),
            decoder.trim_end_matches(".lua")
        );
    }
    config += &file_output("Type =~ /^stats\\\\./");
    let mut h = Hekad::start(&config);

    let interfaces = parse_netdev(&netdev_text);
    let got = wait_output(&h, "a message from every input", |got| {
        files
            .iter()
            .map(|f| f.input.as_str())
            .chain(["NetDev", "NetDevCopy"])
            .all(|i| got.iter().any(|m| m.logger_bytes() == i.as_bytes()))
            && got
                .iter()
                .filter(|m| m.logger_bytes() == b"NetDevCopy")
                .count()
                >= interfaces.len()
    });
    assert!(h.stop().success(), "{}", h.stderr());
    let first = |input: &str| {
        got.iter()
            .find(|m| m.logger_bytes() == input.as_bytes())
            .unwrap()
    };
    for f in &files {
        let m = first(&f.input);
        match copies.get(&f.input) {
            Some(copy) => check_snapshot(f, m, copy),
            None => check_live(f, m),
        }
    }

    // /proc/net/dev: one message per interface, counters as integers.
    let copy_msgs: Vec<&Message> = got
        .iter()
        .filter(|m| m.logger_bytes() == b"NetDevCopy")
        .take(interfaces.len())
        .collect();
    let mut seen = BTreeSet::new();
    for m in copy_msgs {
        assert_eq!(m.type_bytes(), b"stats.netdev");
        let iface = string(m, "netdevice");
        let want = &interfaces[&iface];
        for (k, v) in want {
            assert_eq!(integer(m, k), *v, "{iface} {k}");
        }
        assert_eq!(string(m, "FilePath"), netdev_copy.display().to_string());
        assert_eq!(m.fields.len(), want.len() + 2, "{m:?}");
        seen.insert(iface);
    }
    assert_eq!(
        seen,
        interfaces.keys().cloned().collect(),
        "every interface"
    );
    let live = got
        .iter()
        .find(|m| m.logger_bytes() == b"NetDev" && string(m, "netdevice") == "lo")
        .expect("lo from the live file");
    assert_eq!(names(live), names(first("NetDevCopy")));
    assert!(integer(live, "receive_bytes") >= interfaces["lo"]["receive_bytes"]);
}

// ---- nginx -----------------------------------------------------------------------------------

/// nginx's JSON access log format (`escape=json`), read by json.lua.
const NGINX_JSON: &str = r#"{"time":"$time_iso8601","remote_addr":"$remote_addr","request":{"method":"$request_method","uri":"$request_uri","agent":"$http_user_agent"},"status":$status,"bytes":$body_bytes_sent,"request_time":$request_time}"#;

/// A line of nginx's error log as the test reads it: time, level, pid, tid, connection, text.
struct ErrorLine {
    time: i64,
    severity: i32,
    pid: i32,
    tid: f64,
    connection: Option<f64>,
    text: String,
}

fn parse_error_line(line: &str) -> ErrorLine {
    let dt = jiff::civil::DateTime::strptime("%Y/%m/%d %H:%M:%S", &line[..19]).unwrap();
    let time = jiff::tz::Offset::UTC
        .to_timestamp(dt)
        .unwrap()
        .as_nanosecond() as i64;
    let rest = &line[20..];
    let (level, rest) = rest[1..].split_once("] ").unwrap();
    let severity = [
        "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
    ]
    .iter()
    .position(|l| *l == level)
    .unwrap_or_else(|| panic!("level {level}")) as i32;
    let (pid, rest) = rest.split_once('#').unwrap();
    let (tid, rest) = rest.split_once(": ").unwrap();
    let (connection, text) = match rest.strip_prefix('*') {
        Some(r) => {
            let (c, t) = r.split_once(' ').unwrap();
            (Some(c.parse().unwrap()), t)
        }
        None => (None, rest),
    };
    ErrorLine {
        time,
        severity,
        pid: pid.parse().unwrap(),
        tid: tid.parse().unwrap(),
        connection,
        text: text.to_string(),
    }
}

#[test]
fn nginx_error_stub_status_and_json_logs_of_a_real_nginx() {
    let (dir, logs, _state, html) = site();
    let port = free_port();
    let nginx = start_nginx(
        dir.path(),
        port,
        &html,
        &logs.join("error.log"),
        "info",
        &format!(
            "log_format j escape=json '{NGINX_JSON}';\n    access_log {}/access.json j;",
            logs.display()
        ),
        "location = /nginx_status { stub_status; access_log off; }",
    );
    let started = now_ns();

    let mut config = hekad_section();
    config += &format!(
        r#"
[ErrorLog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'error\.log'
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "NginxErrorDecoder"

# The same log read as written in Tokyo's time (the host-level `tz` of SandboxDecoder).
[ErrorLogTokyo]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'error\.log'
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "NginxErrorDecoderTokyo"

[JsonLog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.json'
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "JsonDecoder"

[StubStatus]
type = "ProcessInput"
ticker_interval = 1
decoder = "NginxStubStatusDecoder"
[StubStatus.command.0]
bin = "{curl}"
args = ["-s", "http://127.0.0.1:{port}/nginx_status"]
"#,
        logs = logs.display(),
        curl = which("curl").display(),
    );
    config += &decoder("NginxErrorDecoder", "nginx_error.lua", "");
    config += &decoder(
        "NginxErrorDecoderTokyo",
        "nginx_error.lua",
        "type = \"nginx.error.tokyo\"\ntz = \"Asia/Tokyo\"",
    );
    config += &decoder("NginxStubStatusDecoder", "nginx_stub_status.lua", "");
    config += &decoder(
        "JsonDecoder",
        "json.lua",
        "type = \"nginx.json\"\nmap_fields = true\nTimestamp = \"time\"\ntimestamp_format = \"%Y-%m-%dT%H:%M:%S\"",
    );
    config += &file_output(
        "Type == 'nginx.error' || Type == 'nginx.error.tokyo' || Type == 'nginx_stub_status' || Type == 'nginx.json'",
    );
    let mut h = Hekad::start(&config);

    // Requests for missing files make nginx log errors; each request is logged as JSON.
    let n = 6;
    for i in 0..n {
        let path = if i % 2 == 0 {
            format!("/missing/{i}")
        } else {
            "/index.html".to_string()
        };
        curl(port, &path, &format!("e2e \"agent\" {i}"), None);
    }
    let errors = || {
        std::fs::read_to_string(logs.join("error.log"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let count = |got: &[Message], t: &[u8]| got.iter().filter(|m| m.type_bytes() == t).count();
    // The error log's lines are read before the output, so each has its message by then.
    let out = h.path("out.log");
    let (got, lines) = wait_for("nginx's errors, requests and status pages", 30, || {
        let lines = errors();
        let got = read_framed(&out);
        let done = count(&got, b"nginx.error") >= lines.len()
            && count(&got, b"nginx.error.tokyo") >= lines.len()
            && count(&got, b"nginx.json") >= n
            && count(&got, b"nginx_stub_status") >= 2
            // A page polled after the test's requests.
            && got.iter().any(|m| {
                m.type_bytes() == b"nginx_stub_status"
                    && m.find_first_field(b"requests").map(|f| f.value_double[0])
                        > Some(n as f64)
            });
        done.then_some((got, lines))
    });
    assert!(h.stop().success(), "{}", h.stderr());
    drop(nginx);

    // Every line of the error log, exactly as the test reads it.
    let got_errors: Vec<&Message> = got
        .iter()
        .filter(|m| m.type_bytes() == b"nginx.error")
        .collect();
    assert!(lines.len() >= n / 2, "{lines:?}");
    assert!(got_errors.len() >= lines.len());
    for (line, m) in lines.iter().zip(&got_errors) {
        let want = parse_error_line(line);
        assert_eq!(m.timestamp, want.time, "{line}");
        assert_eq!(m.severity, Some(want.severity), "{line}");
        assert_eq!(m.pid, Some(want.pid), "{line}");
        assert_eq!(double(m, "tid"), want.tid, "{line}");
        match want.connection {
            Some(c) => assert_eq!(double(m, "connection"), c, "{line}"),
            None => assert!(m.find_first_field(b"connection").is_none(), "{line}"),
        }
        // The record keeps its newline (TokenSplitter), and so does the Payload, as in Heka.
        assert_eq!(
            text(m.payload_bytes()),
            format!("{}\n", want.text),
            "{line}"
        );
        assert_eq!(m.logger_bytes(), b"ErrorLog");
    }
    // Asia/Tokyo is UTC+9 all year: the same wall clock is nine hours earlier.
    let tokyo: Vec<&Message> = got
        .iter()
        .filter(|m| m.type_bytes() == b"nginx.error.tokyo")
        .collect();
    for (line, m) in lines.iter().zip(&tokyo) {
        let want = parse_error_line(line);
        assert_eq!(m.timestamp, want.time - 9 * 3_600_000_000_000, "{line}");
        assert_eq!(m.severity, Some(want.severity), "{line}");
        assert_eq!(m.logger_bytes(), b"ErrorLogTokyo");
    }
    let missing: Vec<&&Message> = got_errors
        .iter()
        .filter(|m| text(m.payload_bytes()).contains("/missing/"))
        .collect();
    assert_eq!(missing.len(), n / 2, "one error per missing file");
    for m in missing {
        assert_eq!(m.severity, Some(3), "{m:?}");
        assert!(m.timestamp >= started - started % 1_000_000_000 && m.timestamp <= now_ns());
    }

    // The JSON access log: flattened fields, the time as Timestamp.
    let json: Vec<&Message> = got
        .iter()
        .filter(|m| m.type_bytes() == b"nginx.json")
        .collect();
    for (i, m) in json.iter().enumerate() {
        let missing = i % 2 == 0;
        assert_eq!(string(m, "remote_addr"), "127.0.0.1");
        assert_eq!(string(m, "request.method"), "GET");
        let uri = if missing {
            format!("/missing/{i}")
        } else {
            "/index.html".into()
        };
        assert_eq!(string(m, "request.uri"), uri);
        assert_eq!(string(m, "request.agent"), format!("e2e \"agent\" {i}"));
        assert_eq!(double(m, "status"), if missing { 404.0 } else { 200.0 });
        assert!(double(m, "bytes") > 0.0);
        assert!((0.0..60.0).contains(&double(m, "request_time")));
        assert!(m.find_first_field(b"time").is_none());
        assert_eq!(m.fields.len(), 7, "{m:?}");
        assert!(m.timestamp >= started - started % 1_000_000_000 && m.timestamp <= now_ns());
        assert_eq!(m.timestamp % 1_000_000_000, 0);
    }

    // stub_status pages polled by hekad itself: each poll is one more request.
    let status: Vec<&Message> = got
        .iter()
        .filter(|m| m.type_bytes() == b"nginx_stub_status")
        .collect();
    for m in &status {
        assert_eq!(names(m).len(), 7, "{m:?}");
        assert!(double(m, "connections") >= 1.0, "curl's own connection");
        assert!(double(m, "writing") >= 1.0, "the status page being written");
        assert_eq!(double(m, "accepts"), double(m, "handled"));
        // The test's own probe for the port was accepted without a request.
        assert!(double(m, "requests") >= 1.0);
    }
    for w in status.windows(2) {
        assert!(double(w[1], "requests") > double(w[0], "requests"), "{w:?}");
        assert!(double(w[1], "accepts") > double(w[0], "accepts"), "{w:?}");
    }
}

// ---- MySQL and MariaDB slow query logs -----------------------------------------------------

/// A LogstreamerInput tailing `file` in `dir` whose records start at "# User@Host:" lines, as
/// Heka's docs split slow query logs, decoded by `decoder` (one of the library's).
fn slow_log_config(dir: &Path, file: &str, decoder: &str) -> String {
    let mut config = hekad_section();
    config += &format!(
        r#"
[SlowLog]
type = "LogstreamerInput"
log_directory = "{dir}"
file_match = '{file}'
check_data_interval = "20ms"
rescan_interval = "200ms"
splitter = "SlowQuerySplitter"
decoder = "SlowQueryDecoder"

[SlowQuerySplitter]
type = "RegexSplitter"
delimiter = '\n(# User@Host:)'
delimiter_eol = false
"#,
        dir = dir.display(),
    );
    config += &self::decoder("SlowQueryDecoder", decoder, "");
    config + &file_output("Type =~ /slow-query$/")
}

/// Heka's MySQL slow query log records (lua_sandbox's src/test/lua/lpeg_mysql.lua at 97331863,
/// the test data Heka 0.10's mysql module was tested with), in a file as MySQL writes them.
#[test]
fn mysql_slow_query_decodes_hekas_sample_log() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/data");
    let mut h = Hekad::start(&slow_log_config(
        &data,
        r"mysql-slow\.log",
        "mysql_slow_query.lua",
    ));
    // The last record is complete only when another starts: the sample's last one is held.
    let got = wait_output(&h, "the sample's records", |got| got.len() >= 2);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(got.len(), 2, "{got:#?}");
    for m in &got {
        assert_eq!(m.type_bytes(), b"mysql.slow-query");
        assert_eq!(m.logger_bytes(), b"SlowLog");
        assert_eq!(m.hostname_bytes(), b"127.0.0.1");
        assert_eq!(m.timestamp, 1_399_500_744_000_000_000);
        assert_eq!(
            text(m.payload_bytes()),
            // The splitter drops the newline before the next "# User@Host:".
            "/* [queryName=FIND_ITEMS] */ SELECT *\nFROM widget\nWHERE id = 10;"
        );
        let q = field(m, "Query_time");
        assert_eq!(q.value_double, [2.964652]);
        assert_eq!(q.representation_bytes(), b"s");
        let l = field(m, "Lock_time");
        assert_eq!(l.value_double, [0.00005]);
        assert_eq!(l.representation_bytes(), b"s");
        assert_eq!(double(m, "Rows_sent"), 251.0);
        assert_eq!(double(m, "Rows_examined"), 9773.0);
        assert_eq!(m.fields.len(), 4, "{m:?}");
    }
}

/// Runs `sql` with the mariadb client against the server on `port`, over TCP.
fn mariadb_client(port: u16, sql: &str) {
    let out = Command::new(which("mariadb"))
        .args(["--no-defaults", "-h", "127.0.0.1", "-P", &port.to_string()])
        .args(["-u", "root", "-e", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "{sql}: {out:?}");
}

#[test]
fn mariadb_slow_query_decodes_a_private_mariadb_servers_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // A private server: its own datadir, socket and port; the machine's server is untouched.
    let root = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    let user = format!("--user={root}");
    let datadir = format!("--datadir={}", data.display());
    let install = Command::new(which("mariadb-install-db"))
        .args(["--no-defaults", &datadir, &user])
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .output()
        .unwrap();
    assert!(install.status.success(), "{install:?}");
    let port = free_port();
    let d = dir.path().display();
    let args = [
        "--no-defaults".to_string(),
        datadir,
        user,
        format!("--socket={d}/mariadb.sock"),
        format!("--pid-file={d}/mariadb.pid"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--skip-log-bin".into(),
        "--innodb-buffer-pool-size=8M".into(),
        "--slow-query-log".into(),
        format!("--slow-query-log-file={}/slow.log", logs.display()),
        "--long-query-time=0".into(),
        "--log-slow-verbosity=query_plan".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Producer::start("mariadbd", "mariadbd", &args, dir.path());
    server.wait_listening(port);
    let started = now_ns();

    let mut h = Hekad::start(&slow_log_config(
        &logs,
        r"slow\.log",
        "mariadb_slow_query.lua",
    ));
    let queries = [
        "create database heka_test",
        "create table heka_test.t (id int primary key, v varchar(20))",
        "insert into heka_test.t values (1, 'a'), (2, 'b')",
        "select * from heka_test.t where v = 'b'",
        "select sleep(0.05)",
    ];
    for q in queries {
        mariadb_client(port, q);
    }
    // The record of this last query completes the one before it.
    mariadb_client(port, "select 'last'");
    let wanted = |m: &Message, q: &str| text(m.payload_bytes()).trim_end() == format!("{q};");
    let got = wait_output(&h, "a message per query", |got| {
        queries.iter().all(|q| got.iter().any(|m| wanted(m, q)))
    });
    assert!(h.stop().success(), "{}", h.stderr());
    drop(server);

    for m in &got {
        assert_eq!(m.type_bytes(), b"mariadb.slow-query");
        assert_eq!(m.hostname_bytes(), b"127.0.0.1", "{m:?}");
        assert!(
            m.timestamp >= started - started % 1_000_000_000 && m.timestamp <= now_ns(),
            "{m:?}"
        );
        assert_eq!(m.timestamp % 1_000_000_000, 0);
        for n in ["Query_time", "Lock_time"] {
            let f = field(m, n);
            assert_eq!(f.representation_bytes(), b"s");
            assert!((0.0..60.0).contains(&f.value_double[0]), "{m:?}");
        }
        assert!(double(m, "Thread_id") > 0.0);
        assert_eq!(string(m, "QC_hit"), "No");
        for n in ["Rows_sent", "Rows_examined", "Rows_affected", "Bytes_sent"] {
            assert!(double(m, n) >= 0.0, "{n}: {m:?}");
        }
    }
    let find = |q: &str| got.iter().find(|m| wanted(m, q)).unwrap();
    // Each query is its own client connection: the thread ids differ.
    let threads: BTreeSet<u64> = queries
        .iter()
        .map(|q| double(find(q), "Thread_id") as u64)
        .collect();
    assert_eq!(threads.len(), queries.len());
    assert_eq!(double(find(queries[2]), "Rows_affected"), 2.0);
    let select = find(queries[3]);
    assert_eq!(double(select, "Rows_sent"), 1.0);
    assert_eq!(double(select, "Rows_examined"), 2.0);
    assert_eq!(string(select, "Full_scan"), "Yes");
    assert_eq!(string(select, "Full_join"), "No");
    assert_eq!(double(select, "Merge_passes"), 0.0);
    assert!(double(find(queries[4]), "Query_time") >= 0.05);
}

// ---- BIND ------------------------------------------------------------------------------------

/// Asks named on `port` for `name` `rtype` with dig's `options`.
fn dig(port: u16, name: &str, rtype: &str, options: &[&str]) {
    let out = Command::new(which("dig"))
        .args(["@127.0.0.1", "-p", &port.to_string(), name, rtype])
        .args(options)
        .args(["+tries=1", "+time=5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "dig {name} {rtype}: {out:?}");
}

#[test]
fn bind_query_log_decodes_a_real_named_query_log() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let port = free_port();
    let d = dir.path().display();
    std::fs::write(
        dir.path().join("example.test.zone"),
        "$TTL 300\n@ IN SOA ns.example.test. admin.example.test. 1 300 300 300 300\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\nwww IN A 192.0.2.1\n@ IN MX 10 mail.example.test.\n",
    )
    .unwrap();
    // The channel as bind_query_log.lua's docs ask for it.
    let conf = dir.path().join("named.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    querylog yes;
}};
controls {{ }};
logging {{
    channel query_log {{
        file "{logs}/named_query.log" versions 3 size 5m;
        severity info;
        print-time yes;
        print-severity yes;
        print-category yes;
    }};
    category queries {{ query_log; }};
}};
zone "example.test" {{
    type primary;
    file "{d}/example.test.zone";
}};
"#,
            logs = logs.display()
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let mut named = Producer::start("named", "named", &["-f", "-c", &conf_arg], dir.path());
    named.wait_listening(port);

    let mut config = hekad_section();
    config += &format!(
        r#"
[BindQueryLogInput]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'named_query\.log'
check_data_interval = "20ms"
rescan_interval = "200ms"
decoder = "BindQueryLogDecoder"
"#,
        logs = logs.display()
    );
    config += &decoder(
        "BindQueryLogDecoder",
        "bind_query_log.lua",
        "type = \"bind.query\"",
    );
    config += &file_output("Type == 'bind.query'");
    let mut h = Hekad::start(&config);

    // (name, type, dig options, flags the log must show)
    let queries: [(&str, &str, &[&str], &[&str]); 5] = [
        (
            "www.example.test",
            "A",
            &[],
            &["recursion requested", "EDNS used"],
        ),
        (
            "example.test",
            "MX",
            &["+norecurse"],
            &["recursion not requested"],
        ),
        (
            "www.example.test",
            "AAAA",
            &["+tcp", "+dnssec"],
            &["TCP used", "DNSSEC data wanted"],
        ),
        (
            "example.test",
            "SOA",
            &["+cdflag"],
            &["no DNSSEC validation check"],
        ),
        (
            "test",
            "TXT",
            &["+noedns", "+nocookie"],
            &["recursion requested"],
        ),
    ];
    for (name, rtype, options, _) in &queries {
        dig(port, name, rtype, options);
    }
    let log = logs.join("named_query.log");
    let out = h.path("out.log");
    let (got, lines) = wait_for("a message per query", 30, || {
        let lines: Vec<String> = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let got = read_framed(&out);
        (lines.len() >= queries.len() && got.len() >= lines.len()).then_some((got, lines))
    });
    assert!(h.stop().success(), "{}", h.stderr());
    drop(named);
    assert_eq!(lines.len(), queries.len(), "{lines:#?}");
    assert_eq!(got.len(), queries.len(), "{got:#?}");

    for ((line, m), (name, rtype, _, flags)) in lines.iter().zip(&got).zip(&queries) {
        // 03-Dec-2026 18:27:52.097 queries: info: client @0x… 127.0.0.1#35196 (…): query: …
        let time = jiff::civil::DateTime::strptime("%d-%b-%Y %H:%M:%S", &line[..20]).unwrap();
        let time = jiff::tz::Offset::UTC.to_timestamp(time).unwrap();
        assert_eq!(m.timestamp, time.as_nanosecond() as i64, "{line}");
        assert_eq!(m.type_bytes(), b"bind.query");
        assert_eq!(
            text(m.payload_bytes()),
            format!("{line}\n"),
            "the line as read"
        );
        assert_eq!(string(m, "FullQuery"), *name);
        let (first, domain) = match name.split_once('.') {
            Some((f, d)) => (f, Some(d)),
            None => (*name, None),
        };
        assert_eq!(string(m, "QueryName"), first);
        match domain {
            Some(d) => assert_eq!(string(m, "QueryDomain"), d),
            None => assert!(m.find_first_field(b"QueryDomain").is_none()),
        }
        assert_eq!(string(m, "RecordClass"), "IN");
        assert_eq!(string(m, "RecordType"), *rtype);
        for ip in ["ClientIP", "ServerRespondingIP"] {
            assert_eq!(string(m, ip), "127.0.0.1");
            assert_eq!(field(m, ip).representation_bytes(), b"ipv4");
        }
        let port = string(m, "ClientEphemeralPort");
        assert!(line.contains(&format!("127.0.0.1#{port} ")), "{line}");
        let got_flags = strings(m, "QueryFlags");
        for f in *flags {
            assert!(
                got_flags.iter().any(|g| g == f),
                "{f} in {got_flags:?}: {line}"
            );
        }
        assert_eq!(
            m.fields.len(),
            if domain.is_some() { 9 } else { 8 },
            "{m:?}"
        );
    }
}

// ---- GELF --------------------------------------------------------------------------------

/// Python's graypy (target/test-peers/gelf, installed by `scripts/setup.sh test`).
fn graypy_path() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-peers/gelf");
    assert!(
        p.join("graypy").is_dir(),
        "{} is missing: run scripts/setup.sh test",
        p.display()
    );
    p
}

/// Logs through graypy's GELFUDPHandler: record `i` has level WARNING, ERROR or INFO, the
/// message "event <i>" and the extra fields user_id = i and tags = "t<i>".
const GRAYPY_CLIENT: &str = r#"
import logging, sys, os
import graypy

log = logging.getLogger("e2e.app")
log.setLevel(logging.DEBUG)
log.addHandler(graypy.GELFUDPHandler("127.0.0.1", int(sys.argv[1]), localname="gelf-host",
                                     compress=False))
levels = [logging.WARNING, logging.ERROR, logging.INFO]
for i in range(int(sys.argv[2])):
    log.log(levels[i % 3], "event %d", i, extra={"user_id": i, "tags": "t%d" % i})
print(os.getpid())
"#;

#[test]
fn graylog_extended_decodes_graypy_gelf_datagrams() {
    let mut config = hekad_section();
    config += r#"
[GelfInput]
type = "UdpInput"
address = "127.0.0.1:0"
decoder = "GraylogDecoder"
"#;
    config += &decoder("GraylogDecoder", "graylog_extended.lua", "type = \"gelf\"");
    config += &file_output("Type == 'gelf'");
    let mut h = Hekad::start(&config);
    let port = h.listening("GelfInput");
    let script = h.path("client.py");
    std::fs::write(&script, GRAYPY_CLIENT).unwrap();

    let n = 9;
    let started = now_ns();
    let out = Command::new(which("python3"))
        .arg(&script)
        .arg(port.to_string())
        .arg(n.to_string())
        .env("PYTHONPATH", graypy_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "graypy: {out:?}");
    let pid: f64 = text(&out.stdout).trim().parse().unwrap();
    let got = wait_output(&h, "a message per log call", |got| got.len() >= n);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(got.len(), n);

    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.type_bytes(), b"gelf");
        assert_eq!(m.logger_bytes(), b"GelfInput");
        assert_eq!(m.hostname_bytes(), b"gelf-host");
        assert_eq!(m.env_version_bytes(), b"1.0", "graypy writes GELF 1.0");
        // Python's levels as syslog severities: WARNING 4, ERROR 3, INFO 6.
        assert_eq!(m.severity, Some([4, 3, 6][i % 3]), "{m:?}");
        assert!(m.timestamp >= started - 1_000_000 && m.timestamp <= now_ns());
        assert_eq!(m.payload_bytes(), b"", "payload_keep is off");
        assert_eq!(string(m, "short_message"), format!("event {i}"));
        assert_eq!(string(m, "facility"), "e2e.app");
        assert_eq!(string(m, "file"), script.display().to_string());
        assert!(double(m, "line") > 0.0);
        assert_eq!(double(m, "_pid"), pid);
        assert_eq!(string(m, "_thread_name"), "MainThread");
        assert_eq!(string(m, "_process_name"), "MainProcess");
        assert_eq!(double(m, "_user_id"), i as f64);
        assert_eq!(string(m, "_tags"), format!("t{i}"));
        // graypy's nulls (_function of a module-level call, _stack_info) are dropped.
        for gone in ["timestamp", "level", "host", "version", "_stack_info"] {
            assert!(
                m.find_first_field(gone.as_bytes()).is_none(),
                "{gone}: {m:?}"
            );
        }
    }
    // The fractions of a second survive.
    assert!(got.iter().any(|m| m.timestamp % 1_000_000_000 != 0));
}
