//! The library's Lua encoders and the influx_batch filter (`share/heka/`), run by the real
//! hekad as users' Heka configs use them, writing to real receivers: schema_carbon_line
//! through TcpOutput into Debian's carbon-cache (read back with whisper-fetch);
//! schema_influx_line and influx_batch through UdpOutput into Debian's InfluxDB 1.x (its UDP
//! listener; read back with its HTTP query API through curl); es_payload's bulk lines and
//! alert's text through FileOutput, parsed back with a JSON parser.
//!
//! `scripts/setup.sh test` installs graphite-carbon, influxdb and curl; each test starts its
//! own receivers on free ports with their data in the test's tempdir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use heka_client::MessageBuilder;
use heka_message::Message;

use crate::metrics::Carbon;
use crate::producers::{Producer, free_port, now_ns, which};
use crate::support::*;

/// The repository's `share/heka`, hekad's `share_dir` in these tests.
fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

/// Sends `msgs` to the TcpInput of `h`.
fn send(h: &mut Hekad, msgs: &[Message]) {
    let port = h.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for m in msgs {
        s.send(m).unwrap();
    }
    s.flush().unwrap();
}

/// A loadavg message as Heka's linux_loadavg decoder and a ScribbleDecoder make them.
fn loadavg(host: &str, ts: i64, one: f64, procs: i64) -> Message {
    MessageBuilder::new()
        .message_type("stats.loadavg")
        .logger("e2e")
        .hostname(host.to_string())
        .severity(6)
        .timestamp(ts)
        .double_field("1MinAvg", one)
        .double_field("5MinAvg", one / 2.0)
        .integer_field("NumProcesses", procs)
        .string_field("FilePath", "/proc/loadavg")
        .string_field("Environment", "dev")
        .double_field("negative", -1.0)
        .build()
}

#[test]
fn schema_carbon_line_metrics_land_in_carbon_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let mut carbon = Carbon::new(tmp.path());
    carbon.start();
    let config = format!(
        r#"
[hekad]
share_dir = "{share}"

[TcpInput]
address = "127.0.0.1:0"

[CarbonLineEncoder]
type = "SandboxEncoder"
filename = "lua_encoders/schema_carbon_line.lua"

[CarbonLineEncoder.config]
name_prefix = "%{{Environment}}.%{{Hostname}}.%{{Type}}"
skip_fields = "**all_base** FilePath NumProcesses Environment TickerInterval"

[CarbonOutput]
type = "TcpOutput"
message_matcher = "Type =~ /stats.*/"
encoder = "CarbonLineEncoder"
address = "127.0.0.1:{port}"
"#,
        share = share_dir().display(),
        port = carbon.line_port,
    );
    let mut h = Hekad::start(&config);
    // carbon keeps 1 s points for an hour: stamp the points in the last minutes.
    let base = now_ns() / 1_000_000_000 - 300;
    let msgs: Vec<Message> = (0..20)
        .map(|i| {
            let host = if i % 2 == 0 { "web1" } else { "web2" };
            loadavg(
                host,
                (base + i) * 1_000_000_000 + 999_999,
                0.25 * i as f64,
                100 + i,
            )
        })
        .collect();
    send(&mut h, &msgs);
    let fetch = |metric: &str| carbon.fetch(metric, base - 1, base + 30);
    let want = |host: usize, f: &dyn Fn(i64) -> f64| -> BTreeMap<i64, f64> {
        (0..20)
            .filter(|i| i % 2 == host as i64)
            .map(|i| (base + i, f(i)))
            .collect()
    };
    for (host, h) in ["web1", "web2"].iter().enumerate() {
        let one = want(host, &|i| 0.25 * i as f64);
        let five = want(host, &|i| 0.125 * i as f64);
        let m1 = format!("dev.{h}.stats.loadavg.1MinAvg");
        let m5 = format!("dev.{h}.stats.loadavg.5MinAvg");
        let got = wait_for(&format!("carbon to store {m1} and {m5}"), 60, || {
            let (a, b) = (fetch(&m1), fetch(&m5));
            (a.len() == one.len() && b.len() == five.len()).then_some((a, b))
        });
        assert_eq!(got, (one, five), "{h}");
        // Skipped fields and negative values never reach carbon.
        for skipped in ["NumProcesses", "FilePath", "Environment", "negative"] {
            assert!(
                fetch(&format!("dev.{h}.stats.loadavg.{skipped}")).is_empty(),
                "{skipped}"
            );
        }
    }
    assert!(!h.stderr().contains("rror"), "{}", h.stderr());
}

/// A loopback UDP port nobody has bound right now.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Numbers as doubles: InfluxDB writes a float 1.0 as `1`, and rows compare by value.
fn norm(v: serde_json::Value) -> serde_json::Value {
    match v.as_f64() {
        Some(f) if v.is_number() => serde_json::json!(f),
        _ => v,
    }
}

/// Debian's InfluxDB 1.x in the foreground, with one UDP listener per `(database, precision)`.
struct Influx {
    http: u16,
    udp: Vec<u16>,
    _daemon: Producer,
}

impl Influx {
    fn start(dir: &Path, listeners: &[(&str, &str)]) -> Influx {
        let dir = dir.join("influxdb");
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let http = free_port();
        let mut config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n",
            free_port()
        );
        let mut udp = Vec::new();
        for (db, precision) in listeners {
            let port = free_udp_port();
            udp.push(port);
            config.push_str(&format!(
                "[[udp]]\n  enabled = true\n  bind-address = \"127.0.0.1:{port}\"\n  \
                 database = \"{db}\"\n  precision = \"{precision}\"\n  batch-size = 1\n  \
                 batch-timeout = \"10ms\"\n"
            ));
        }
        let conf = dir.join("influxdb.conf");
        std::fs::write(&conf, config).unwrap();
        let mut daemon = Producer::start(
            "influxd",
            "influxd",
            &["-config", conf.to_str().unwrap()],
            &dir,
        );
        daemon.wait_listening(http);
        let influx = Influx {
            http,
            udp,
            _daemon: daemon,
        };
        for (db, _) in listeners {
            influx.query(db, &format!("CREATE DATABASE \"{db}\""));
        }
        influx
    }

    /// Runs `q` through the HTTP API with curl; returns the parsed JSON answer.
    fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let out = Command::new(which("curl"))
            .args(["-sS", "--fail", "-XPOST", "-G"])
            .arg(format!("http://127.0.0.1:{}/query", self.http))
            .args(["--data-urlencode", &format!("db={db}")])
            .args(["--data-urlencode", "epoch=ms"])
            .args(["--data-urlencode", &format!("q={q}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The rows of `measurement` as (column → value) maps, or none yet.
    fn rows(&self, db: &str, measurement: &str) -> Vec<BTreeMap<String, serde_json::Value>> {
        let v = self.query(db, &format!("SELECT * FROM \"{measurement}\""));
        let Some(series) = v["results"][0]["series"][0].as_object() else {
            return Vec::new();
        };
        let columns: Vec<String> = series["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .cloned()
                    .zip(row.as_array().unwrap().iter().cloned().map(norm))
                    .collect()
            })
            .collect()
    }

    /// Waits until `measurement` has `n` rows and returns them.
    fn wait_rows(
        &self,
        db: &str,
        measurement: &str,
        n: usize,
    ) -> Vec<BTreeMap<String, serde_json::Value>> {
        wait_for(&format!("{n} points of {measurement} in {db}"), 30, || {
            let rows = self.rows(db, measurement);
            (rows.len() >= n).then_some(rows)
        })
    }
}

/// One InfluxDB row from its (column, value) pairs.
fn row(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), norm(v.clone())))
        .collect()
}

#[test]
fn schema_influx_line_and_influx_batch_points_land_in_influxdb() {
    use serde_json::json;
    let tmp = tempfile::tempdir().unwrap();
    let influx = Influx::start(tmp.path(), &[("line", "ms"), ("batch", "s")]);
    let config = format!(
        r#"
[hekad]
share_dir = "{share}"

[TcpInput]
address = "127.0.0.1:0"

[InfluxdbLineEncoder]
type = "SandboxEncoder"
filename = "lua_encoders/schema_influx_line.lua"

[InfluxdbLineEncoder.config]
skip_fields = "**all_base** FilePath"
tag_fields = "**all_base** Environment"

[LineOutput]
type = "UdpOutput"
message_matcher = "Type == 'stats.loadavg'"
encoder = "InfluxdbLineEncoder"
address = "127.0.0.1:{line_port}"

[InfluxdbBatchFilter]
type = "SandboxFilter"
message_matcher = "Type == 'app.event'"
filename = "lua_filters/influx_batch.lua"
ticker_interval = 1

[InfluxdbBatchFilter.config]
skip_fields = "**all_base** kind"
tag_fields = "Hostname kind"
timestamp_precision = "s"
name_prefix = "app"
name_prefix_delimiter = "."
flush_count = 5

[BatchOutput]
type = "UdpOutput"
message_matcher = "Fields[payload_name] == 'influx_line'"
encoder = "PayloadEncoder"
address = "127.0.0.1:{batch_port}"

[PayloadEncoder]
append_newlines = false
"#,
        share = share_dir().display(),
        line_port = influx.udp[0],
        batch_port = influx.udp[1],
    );
    let mut h = Hekad::start(&config);
    let base_ms = 1_434_932_024_000i64;
    let mut msgs: Vec<Message> = (0..4)
        .map(|i| {
            loadavg(
                "my host,1",
                // Not next to the end of a millisecond: Lua reads Timestamp as a double.
                (base_ms + i) * 1_000_000 + 500_000,
                0.5 + i as f64,
                i,
            )
        })
        .collect();
    msgs.push(
        MessageBuilder::new()
            .message_type("stats.loadavg")
            .logger("e2e")
            .hostname("h")
            .severity(6)
            .timestamp(base_ms * 1_000_000)
            .string_field("quote", r#"he said "hi", twice"#)
            .bool_field("up", true)
            .build(),
    );
    // influx_batch: 7 events, one second apart: a batch of 5 (flush_count), then the ticker's.
    let base_s = 1_434_940_000i64;
    for i in 0..7 {
        msgs.push(
            MessageBuilder::new()
                .message_type("app.event")
                .logger("e2e")
                .hostname("app1")
                .timestamp((base_s + i) * 1_000_000_000 + 500_000_000)
                .string_field("kind", if i % 2 == 0 { "even" } else { "odd" })
                .integer_field("latency", 10 * i)
                .double_field("ratio", i as f64 / 8.0)
                .build(),
        );
    }
    send(&mut h, &msgs);

    let tags = |host: &str| {
        vec![
            ("Hostname", json!(host)),
            ("Logger", json!("e2e")),
            ("Severity", json!("6")),
            ("Type", json!("stats.loadavg")),
        ]
    };
    let points = |f: &dyn Fn(i64) -> serde_json::Value| {
        (0..4)
            .map(|i| {
                let mut r = tags("my host,1");
                r.push(("Environment", json!("dev")));
                r.push(("time", json!(base_ms + i)));
                r.push(("value", f(i)));
                row(&r)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        influx.wait_rows("line", "1MinAvg", 4),
        points(&|i| json!(0.5 + i as f64))
    );
    assert_eq!(
        influx.wait_rows("line", "NumProcesses", 4),
        points(&|i| json!(i as f64))
    );
    assert_eq!(
        influx.wait_rows("line", "Environment", 4),
        points(&|_| json!("dev"))
    );
    let mut quote = tags("h");
    quote.push(("time", json!(base_ms)));
    let mut up = quote.clone();
    quote.push(("value", json!(r#"he said "hi", twice"#)));
    up.push(("value", json!(true)));
    assert_eq!(influx.wait_rows("line", "quote", 1), [row(&quote)]);
    assert_eq!(influx.wait_rows("line", "up", 1), [row(&up)]);
    assert!(influx.rows("line", "FilePath").is_empty());

    let events = |f: &dyn Fn(i64) -> serde_json::Value| {
        (0..7)
            .map(|i| {
                row(&[
                    ("Hostname", json!("app1")),
                    ("kind", json!(if i % 2 == 0 { "even" } else { "odd" })),
                    ("time", json!((base_s + i) * 1000)),
                    ("value", f(i)),
                ])
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        influx.wait_rows("batch", "app.latency", 7),
        events(&|i| json!(10.0 * i as f64))
    );
    assert_eq!(
        influx.wait_rows("batch", "app.ratio", 7),
        events(&|i| json!(i as f64 / 8.0))
    );
    assert!(influx.rows("batch", "app.kind").is_empty());
    assert!(!h.stderr().contains("rror"), "{}", h.stderr());
}

#[test]
fn es_payload_and_alert_through_file_output() {
    let config = format!(
        r#"
[hekad]
share_dir = "{share}"

[TcpInput]
address = "127.0.0.1:0"

[es_payload]
type = "SandboxEncoder"
filename = "lua_encoders/es_payload.lua"

[es_payload.config]
es_index_from_timestamp = true
index = "%{{Logger}}-%{{%Y.%m.%d}}"
type_name = "%{{Type}}-%{{Hostname}}"
id = "%{{doc_id}}"

[EsOutput]
type = "FileOutput"
message_matcher = "Type == 'mytype'"
path = "{{dir}}/es.log"
encoder = "es_payload"
flush_count = 1

[AlertEncoder]
type = "SandboxEncoder"
filename = "lua_encoders/alert.lua"

[AlertOutput]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output' && Fields[payload_type] == 'alert'"
path = "{{dir}}/alerts.log"
encoder = "AlertEncoder"
flush_count = 1
"#,
        share = share_dir().display(),
    );
    let mut h = Hekad::start(&config);
    let day = 1_401_926_400i64; // 2014-06-05T00:00:00Z
    let docs: Vec<serde_json::Value> = (0..6)
        .map(|i| serde_json::json!({"n": i, "text": format!("line \"{i}\"\n/end"), "ok": i % 2 == 0}))
        .collect();
    let mut msgs: Vec<Message> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // Every other payload already ends in a newline.
            let mut payload = d.to_string();
            if i % 2 == 1 {
                payload.push('\n');
            }
            MessageBuilder::new()
                .message_type("mytype")
                .logger("mylogger")
                .hostname("host.domain.com")
                .timestamp((day + i as i64 * 43_200) * 1_000_000_000)
                .string_field("doc_id", format!("id/{i}"))
                .payload(payload)
                .build()
        })
        .collect();
    msgs.push(
        MessageBuilder::new()
            .message_type("heka.sandbox-output")
            .logger("FxaBrowserIdHTTPStatus")
            .hostname("ip-10-226-204-51")
            .timestamp(1_400_077_218_500_000_000)
            .string_field("payload_type", "alert")
            .payload("HTTP Status - algorithm: roc col: 1 msg: detected anomaly")
            .build(),
    );
    send(&mut h, &msgs);

    let lines = wait_lines(&h.path("es.log"), 12);
    assert_eq!(lines.len(), 12, "{lines:#?}");
    for (i, pair) in lines.chunks(2).enumerate() {
        let action: serde_json::Value = serde_json::from_str(&pair[0]).unwrap();
        let date = if i < 2 {
            "2014.06.05"
        } else if i < 4 {
            "2014.06.06"
        } else {
            "2014.06.07"
        };
        assert_eq!(
            action,
            serde_json::json!({"index": {
                "_index": format!("mylogger-{date}"),
                "_type": "mytype-host.domain.com",
                "_id": format!("id/{i}"),
            }}),
            "{}",
            pair[0]
        );
        let doc: serde_json::Value = serde_json::from_str(&pair[1]).unwrap();
        assert_eq!(doc, docs[i]);
    }
    let text = std::fs::read_to_string(h.path("es.log")).unwrap();
    assert!(text.ends_with("}\n") && !text.contains("\n\n"), "{text}");

    let alerts = wait_lines(&h.path("alerts.log"), 4);
    assert_eq!(
        alerts,
        [
            "Timestamp: 2014-05-14T14:20:18Z",
            "Hostname: ip-10-226-204-51",
            "Plugin: FxaBrowserIdHTTPStatus",
            "Alert: HTTP Status - algorithm: roc col: 1 msg: detected anomaly",
        ]
    );
    assert!(!h.stderr().contains("rror"), "{}", h.stderr());
}

#[test]
fn statmetric_influx_encodes_stat_accum_input_fields() {
    let config = r#"
[hekad]
share_dir = "SHARE"

[StatsdInput]
address = "127.0.0.1:0"

[StatAccumInput]
ticker_interval = 1
emit_in_fields = true

[statmetric-influx-encoder]
type = "SandboxEncoder"
filename = "lua_encoders/statmetric_influx.lua"

[out]
type = "FileOutput"
message_matcher = "Type == 'heka.statmetric'"
path = "{dir}/stats.json"
encoder = "statmetric-influx-encoder"
flush_count = 1
"#
    .replace("SHARE", &share_dir().display().to_string());
    let mut h = Hekad::start(&config);
    let port = h.listening("StatsdInput");
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"a:3|c\ng1:42|g\nt1:10|ms\nt1:20|ms", ("127.0.0.1", port))
        .unwrap();
    let started = now_ns() / 1_000_000;
    // FileOutput writes the JSON arrays one after the other; find the flush with our stats.
    let series = wait_for("a flush with the stats sent", 20, || {
        let text = std::fs::read_to_string(h.path("stats.json")).ok()?;
        serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map_while(Result::ok)
            .find(|v| v.to_string().contains(r#""name":"stats.counters.a.count""#))
    });
    let mut values = BTreeMap::new();
    let mut time = None;
    for s in series.as_array().unwrap() {
        assert_eq!(s["columns"], serde_json::json!(["time", "value"]), "{s}");
        let point = s["points"][0].as_array().unwrap();
        assert_eq!(s["points"].as_array().unwrap().len(), 1, "{s}");
        let t = point[0].as_i64().unwrap();
        assert_eq!(*time.get_or_insert(t), t, "one timestamp per flush: {s}");
        values.insert(
            s["name"].as_str().unwrap().to_string(),
            point[1].as_f64().unwrap(),
        );
    }
    let t = time.unwrap();
    assert!(t % 1000 == 0 && (t - started).abs() < 60_000, "{t} ms");
    let want: BTreeMap<String, f64> = [
        ("stats.counters.a.rate", 3.0),
        ("stats.counters.a.count", 3.0),
        ("stats.gauges.g1", 42.0),
        ("stats.timers.t1.count", 2.0),
        ("stats.timers.t1.count_ps", 2.0),
        ("stats.timers.t1.lower", 10.0),
        ("stats.timers.t1.upper", 20.0),
        ("stats.timers.t1.sum", 30.0),
        ("stats.timers.t1.mean", 15.0),
        ("stats.timers.t1.mean_90", 15.0),
        ("stats.timers.t1.upper_90", 20.0),
        ("stats.statsd.numStats", 3.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(values, want);
    assert!(!h.stderr().contains("rror"), "{}", h.stderr());
}
