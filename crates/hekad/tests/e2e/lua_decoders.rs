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

use crate::producers::{Producer, curl, free_port, now_ns, site, which};
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
    input: &'static str,
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
    let mut copies: BTreeMap<&str, String> = BTreeMap::new();
    for (input, path, decoder) in live {
        // A snapshot copy: its values are known exactly.
        let copy_input: &'static str = Box::leak(format!("{input}Copy").into_boxed_str());
        let copy = dir.path().join(copy_input);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&copy, &text).unwrap();
        copies.insert(copy_input, text);
        files.push(StatsFile {
            input,
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
        .map(|f| (f.input, f.path.clone(), f.decoder))
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
            .map(|f| f.input)
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
        let m = first(f.input);
        match copies.get(f.input) {
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
