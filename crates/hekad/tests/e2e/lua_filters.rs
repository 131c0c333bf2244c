//! The library's Lua filters (`share/heka/lua_filters/`) run by the real hekad as users' Heka
//! configs run them: `type = "SandboxFilter"`, `filename = "lua_filters/<x>.lua"`, fed by real
//! traffic (a real nginx's access log, real statsd datagrams, framed messages from
//! heka_client), their payloads written by FileOutput and compared with what the messages they
//! saw must give.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};

use heka_message::Message;
use heka_message::field::FieldValue;

use crate::producers::{Producer, curl, free_port, site};
use crate::support::*;

/// The repository's `share/heka`, hekad's `share_dir` in these tests.
fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

/// A number field's first value (integer or double).
fn number(m: &Message, name: &str) -> Option<f64> {
    match m.field_value(name.as_bytes()) {
        Some(Some(FieldValue::Double(v))) => Some(v),
        Some(Some(FieldValue::Integer(v))) => Some(v as f64),
        _ => None,
    }
}

/// The payloads FileOutput wrote with PayloadEncoder (no newlines added), split before each
/// cbuf header.
fn cbuf_payloads(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split("{\"time\":")
        .skip(1)
        .map(|p| format!("{{\"time\":{p}"))
        .collect()
}

/// A cbuf's text: the header for `columns` (name, unit, aggregation) and `rows` rows ending
/// with the newest row of `values` (row start in seconds → one value per column), `nan`
/// elsewhere; a buffer nothing was written to starts at time 0.
fn cbuf_text(
    rows: i64,
    spr: i64,
    columns: &[(&str, &str, &str)],
    values: &BTreeMap<i64, Vec<Option<f64>>>,
) -> String {
    let last = values.keys().last().map_or((rows - 1) * spr, |t| *t);
    let info: Vec<String> = columns
        .iter()
        .map(|(n, u, a)| format!(r#"{{"name":"{n}","unit":"{u}","aggregation":"{a}"}}"#))
        .collect();
    let first = last - (rows - 1) * spr;
    let mut text = format!(
        r#"{{"time":{first},"rows":{rows},"columns":{},"seconds_per_row":{spr},"column_info":[{}]}}"#,
        columns.len(),
        info.join(",")
    );
    text.push('\n');
    for r in 0..rows {
        let row: Vec<String> = match values.get(&(first + r * spr)) {
            Some(vs) => vs
                .iter()
                .map(|v| v.map_or("nan".into(), |v| format!("{v}")))
                .collect(),
            None => vec!["nan".into(); columns.len()],
        };
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    text
}

/// nginx writing `combined` lines to `logs/access.log`.
fn start_nginx(dir: &Path, logs: &Path, html: &Path, port: u16) -> Producer {
    crate::producers::start_nginx(
        dir,
        port,
        html,
        &dir.join("nginx-error.log"),
        "",
        &format!("access_log {}/access.log combined;", logs.display()),
        "",
    )
}

/// nginx's access log → LogstreamerInput → nginx_access → http_status: the graph counts the
/// decoded messages' status classes in the rows of their timestamps.
#[test]
fn http_status_graphs_a_real_nginx_log() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    let _nginx = start_nginx(dir.path(), &logs, &html, port);
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{state}/base"
share_dir = "{share}"

[AccessLogInput]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log'
check_data_interval = "20ms"
decoder = "AccessLogDecoder"

[AccessLogDecoder]
type = "SandboxDecoder"
filename = "lua_decoders/nginx_access.lua"

[AccessLogDecoder.config]
type = "nginx.access"
log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'

[HttpStatus]
type = "SandboxFilter"
filename = "lua_filters/http_status.lua"
ticker_interval = 1
message_matcher = "Type == 'nginx.access'"

[HttpStatus.config]
rows = 3
sec_per_row = 60

[decoded]
type = "FileOutput"
message_matcher = "Type == 'nginx.access'"
path = "{state}/decoded.log"
encoder = "ProtobufEncoder"
flush_count = 1

[graph]
type = "FileOutput"
message_matcher = "Logger == 'HttpStatus' && Fields[payload_type] == 'cbuf' && Fields[payload_name] == 'HTTP Status'"
path = "{state}/graph.txt"
encoder = "PayloadEncoder"
flush_count = 1

[PayloadEncoder]
append_newlines = false
"#,
        logs = logs.display(),
        state = state.display(),
        share = share_dir().display(),
    ));
    // 200s, 404s and a 405 (nginx refuses POST to a static file).
    for i in 0..9 {
        let path = if i % 3 == 0 {
            "/missing"
        } else {
            "/index.html"
        };
        curl(port, path, "curl/8 (e2e)", None);
    }
    let ok = std::process::Command::new(crate::producers::which("curl"))
        .args(["-s", "-o", "/dev/null", "-X", "POST"])
        .arg(format!("http://127.0.0.1:{port}/index.html"))
        .status()
        .unwrap();
    assert!(ok.success());

    let decoded = wait_framed(&state.join("decoded.log"), 10);
    let mut rows: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
    let mut codes = Vec::new();
    for m in &decoded {
        let code = number(m, "status").unwrap_or_else(|| panic!("{m:?}"));
        codes.push(code as i64);
        let row = m.timestamp / 1_000_000_000 / 60 * 60;
        let col = (code as usize / 100).clamp(1, 6) - 1;
        let cells = rows.entry(row).or_insert_with(|| vec![None; 6]);
        cells[col] = Some(cells[col].unwrap_or(0.0) + 1.0);
    }
    codes.sort();
    assert_eq!(codes, [200, 200, 200, 200, 200, 200, 404, 404, 404, 405]);
    let columns = [
        ("HTTP_100", "count", "sum"),
        ("HTTP_200", "count", "sum"),
        ("HTTP_300", "count", "sum"),
        ("HTTP_400", "count", "sum"),
        ("HTTP_500", "count", "sum"),
        ("HTTP_UNKNOWN", "count", "sum"),
    ];
    let want = cbuf_text(3, 60, &columns, &rows);
    wait_for("the graph of every request", 30, || {
        cbuf_payloads(&state.join("graph.txt"))
            .last()
            .is_some_and(|p| *p == want)
            .then_some(())
    });
    assert!(h.stop().success(), "{}", h.stderr());
}

/// statsd datagrams → StatsdInput → StatAccumInput (`emit_in_fields`) → stat_graph: every
/// graph the filter sends is the sum, per second, of the statmetric messages it had seen.
#[test]
fn stat_graph_graphs_stat_accum_input_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
share_dir = "{share}"

[statsd]
type = "StatsdInput"
address = "127.0.0.1:0"
stat_accum_name = "StatAccumInput"

[StatAccumInput]
type = "StatAccumInput"
ticker_interval = 1
emit_in_fields = true

[stat-graph]
type = "SandboxFilter"
filename = "lua_filters/stat_graph.lua"
ticker_interval = 1
message_matcher = "Type == 'heka.statmetric'"

[stat-graph.config]
title = "Hits and Misses"
rows = 30
sec_per_row = 1
stats = "stats.counters.hits.count stats.counters.misses.count"
stat_labels = "hits misses"

[metrics]
type = "FileOutput"
message_matcher = "Type == 'heka.statmetric'"
path = "{d}/metrics.log"
encoder = "ProtobufEncoder"
flush_count = 1

[graph]
type = "FileOutput"
message_matcher = "Fields[payload_name] == 'Hits and Misses'"
path = "{d}/graph.txt"
encoder = "PayloadEncoder"
flush_count = 1

[PayloadEncoder]
append_newlines = false
"#,
        share = share_dir().display()
    ));
    let port = h.listening("statsd");
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..40 {
        let line = if i % 4 == 0 { "misses:3|c" } else { "hits:1|c" };
        tx.send_to(line.as_bytes(), ("127.0.0.1", port)).unwrap();
    }
    let columns = [("hits", "count", "sum"), ("misses", "count", "sum")];
    // The graph of the first `k` statmetric messages.
    // The graph of some statmetric messages, and the hits and misses in them.
    let graph_of = |metrics: &[Message]| -> (String, [f64; 2]) {
        let mut rows: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
        let mut totals = [0.0; 2];
        for m in metrics {
            let ts = number(m, "timestamp").unwrap_or_else(|| panic!("{m:?}")) as i64;
            for (i, name) in ["stats.counters.hits.count", "stats.counters.misses.count"]
                .iter()
                .enumerate()
            {
                if let Some(v) = number(m, name) {
                    let cells = rows.entry(ts).or_insert_with(|| vec![None; 2]);
                    cells[i] = Some(cells[i].unwrap_or(0.0) + v);
                    totals[i] += v;
                }
            }
        }
        (cbuf_text(30, 1, &columns, &rows), totals)
    };
    wait_for("a graph of all the datagrams", 30, || {
        let metrics = read_framed(&dir.path().join("metrics.log"));
        let graphs = cbuf_payloads(&dir.path().join("graph.txt"));
        // Every graph sent is the graph of the first k messages, k growing (the metrics file
        // may lag behind the graphs: then wait).
        let mut k = 0;
        let mut complete = false;
        for g in &graphs {
            while k <= metrics.len() && graph_of(&metrics[..k]).0 != *g {
                k += 1;
            }
            if k > metrics.len() {
                return None;
            }
            complete = graph_of(&metrics[..k]).1 == [30.0, 30.0];
        }
        complete.then_some(())
    });
    assert!(h.stop().success(), "{}", h.stderr());
}

/// Messages from two hosts over TCP → heartbeat: the JSON shows one up and one down, and the
/// silent host gets one alert.
#[test]
fn heartbeat_reports_a_silent_host() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
share_dir = "{share}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:0"

[heartbeat]
type = "SandboxFilter"
filename = "lua_filters/heartbeat.lua"
ticker_interval = 1
message_matcher = "Type == 'heartbeat'"

[heartbeat.config]
heartbeat_timeout = 30
alert_throttle = 300

[out]
type = "FileOutput"
message_matcher = "Logger == 'heartbeat'"
path = "{d}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        share = share_dir().display()
    ));
    let port = h.listening("tcp");
    let now = crate::producers::now_ns();
    let beat = |host: &str, ts: i64| {
        heka_client::MessageBuilder::new()
            .message_type("heartbeat")
            .hostname(host.to_string())
            .timestamp(ts)
            .build()
    };
    let mut tx = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    // web1 beat "an hour from now" (never late during the test), web2 two minutes ago.
    let web1 = now + 3_600_000_000_000 + 123_456_789;
    let web2 = now - 120_000_000_000;
    tx.send(&beat("web1", web1)).unwrap();
    tx.send(&beat("web2", web2)).unwrap();
    tx.flush().unwrap();

    let payload = |m: &Message| String::from_utf8_lossy(m.payload_bytes()).into_owned();
    let kind = |m: &Message| match m.field_value(b"payload_type") {
        Some(Some(FieldValue::String(s))) => String::from_utf8_lossy(s).into_owned(),
        other => panic!("{other:?} in {m:?}"),
    };
    // Three reports that know both hosts.
    let out = wait_for("three reports of both hosts", 30, || {
        let out = read_framed(&dir.path().join("out.log"));
        let full = out
            .iter()
            .filter(|m| kind(m) == "json" && payload(m).contains("web2"))
            .count();
        (full >= 3).then_some(out)
    });
    let alerts: Vec<&Message> = out.iter().filter(|m| kind(m) == "alert").collect();
    assert_eq!(alerts.len(), 1, "one alert, then throttled: {out:#?}");
    assert_eq!(payload(alerts[0]), "Missing Heartbeat - web2\n");
    assert_eq!(alerts[0].type_bytes(), b"heka.sandbox-output");
    let report = out
        .iter()
        .rev()
        .find(|m| kind(m) == "json")
        .map(payload)
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(json["web1"]["status"], "up", "{report}");
    assert_eq!(json["web1"]["last_heartbeat"], web1 / 1_000_000, "{report}");
    assert_eq!(json["web1"]["last_alert"], 0, "{report}");
    assert_eq!(json["web2"]["status"], "down", "{report}");
    assert_eq!(json["web2"]["last_heartbeat"], web2 / 1_000_000, "{report}");
    let alerted = json["web2"]["last_alert"].as_i64().unwrap();
    assert!(alerted >= now / 1_000_000, "{report}");
    assert!(h.stop().success(), "{}", h.stderr());
}

/// Two unique_items filters (one per shard, `enable_delta`) send cbufd payloads to
/// cbufd_aggregator, whose graph holds the sum of their estimates.
#[test]
fn cbufd_aggregator_adds_the_deltas_of_two_filters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut config = format!(
        r#"
[hekad]
share_dir = "{share}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:0"

[aggregator]
type = "SandboxFilter"
filename = "lua_filters/cbufd_aggregator.lua"
ticker_interval = 1
message_matcher = "Fields[payload_type] == 'cbufd'"

[deltas]
type = "FileOutput"
message_matcher = "Fields[payload_type] == 'cbufd'"
path = "{d}/deltas.log"
encoder = "ProtobufEncoder"
flush_count = 1

[graph]
type = "FileOutput"
message_matcher = "Logger == 'aggregator' && Fields[payload_type] == 'cbuf'"
path = "{d}/graph.txt"
encoder = "PayloadEncoder"
flush_count = 1

[PayloadEncoder]
append_newlines = false
"#,
        share = share_dir().display()
    );
    for shard in ["a", "b"] {
        config.push_str(&format!(
            r#"
[users_{shard}]
type = "SandboxFilter"
filename = "lua_filters/unique_items.lua"
ticker_interval = 1
message_matcher = "Type == 'login' && Fields[shard] == '{shard}'"

[users_{shard}.config]
message_variable = "Fields[uid]"
title = "Users"
enable_delta = true
rows = 3
"#
        ));
    }
    let mut h = Hekad::start(&config);
    let port = h.listening("tcp");
    let day = 86_400;
    let today = crate::producers::now_ns() / 1_000_000_000 / day * day;
    let mut tx = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    // Shard a: 5 users (some twice), shard b: 3.
    for (shard, uid) in [
        ("a", "u1"),
        ("a", "u2"),
        ("a", "u1"),
        ("a", "u3"),
        ("a", "u4"),
        ("a", "u5"),
        ("b", "v1"),
        ("b", "v2"),
        ("b", "v2"),
        ("b", "v3"),
        ("a", "u2"),
    ] {
        let m = heka_client::MessageBuilder::new()
            .message_type("login")
            .timestamp((today + 3600) * 1_000_000_000)
            .string_field("shard", shard)
            .string_field("uid", uid)
            .build();
        tx.send(&m).unwrap();
    }
    tx.flush().unwrap();
    let columns = [("uid", "count", "sum")];
    let mut rows = BTreeMap::new();
    rows.insert(today, vec![Some(8.0)]);
    let want = cbuf_text(3, day, &columns, &rows);
    wait_for("the aggregated graph", 30, || {
        cbuf_payloads(&dir.path().join("graph.txt"))
            .last()
            .is_some_and(|p| *p == want)
            .then_some(())
    });
    // Both filters sent deltas (the deltas output may write them after the aggregator took
    // them: wait for it).
    for logger in ["users_a", "users_b"] {
        wait_for(&format!("a delta from {logger}"), 30, || {
            read_framed(&dir.path().join("deltas.log"))
                .iter()
                .any(|m| m.logger_bytes() == logger.as_bytes())
                .then_some(())
        });
    }
    assert!(h.stop().success(), "{}", h.stderr());
}

/// Two readings of the real `/proc/stat`, sent as the linux_procstat decoder makes them (one
/// double-array field per line), → procstat: each CPU's busy percentage of the ticks between
/// them, in a `heka.sandbox.procstat` message.
#[test]
fn procstat_computes_cpu_use_from_real_proc_stat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
share_dir = "{share}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:0"

[ProcStatFilter]
type = "SandboxFilter"
filename = "lua_filters/procstat.lua"
message_matcher = "Type == 'stats.procstat'"

[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox.procstat'"
path = "{d}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        share = share_dir().display()
    ));
    let port = h.listening("tcp");
    // /proc/stat as lines of (key, values).
    let read = || -> Vec<(String, Vec<f64>)> {
        std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let key = words.next()?.to_string();
                let values: Vec<f64> = words.map(|w| w.parse().unwrap()).collect();
                Some((key, values))
            })
            .collect()
    };
    let message = |lines: &[(String, Vec<f64>)]| {
        let mut b = heka_client::MessageBuilder::new()
            .message_type("stats.procstat")
            .payload("(the /proc/stat text)");
        for (key, values) in lines {
            let mut f = heka_message::Field::new_double(key.clone(), values[0]);
            f.value_double.extend_from_slice(&values[1..]);
            b = b.add_field(f);
        }
        b.build()
    };
    let first = read();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = read();
    let mut tx = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    tx.send(&message(&first)).unwrap();
    tx.send(&message(&second)).unwrap();
    tx.flush().unwrap();

    let got = wait_framed(&dir.path().join("out.log"), 1);
    assert_eq!(got.len(), 1, "the first message only primes: {got:#?}");
    let m = &got[0];
    assert_eq!(m.logger_bytes(), b"ProcStatFilter");
    assert_eq!(m.payload_bytes(), b"(the /proc/stat text)");
    let fields: BTreeMap<String, f64> = m
        .fields
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(&f.name).into_owned(),
                f.value_double[0],
            )
        })
        .collect();
    let mut want = BTreeMap::new();
    for ((key, old), (_, new)) in first.iter().zip(&second) {
        if !key.starts_with("cpu") || old.len() != new.len() {
            continue;
        }
        let deltas: Vec<f64> = new.iter().zip(old).map(|(n, o)| n - o).collect();
        let ticks: f64 = deltas.iter().sum();
        if ticks > 0.0 {
            let busy = ((1.0 - deltas[3] / ticks) * 100.0 - 0.5).ceil();
            want.insert(format!("{key}_percent"), busy);
        }
    }
    assert!(want.contains_key("cpu_percent"), "{want:?}");
    assert_eq!(fields, want);
    assert!(h.stop().success(), "{}", h.stderr());
}
