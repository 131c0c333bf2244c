//! Tests of the Lua filters in the repository's `share/heka/lua_filters/` and the modules they
//! use (`alert`, `annotation`, `anomaly`, `cbufd`), run as a SandboxFilter runs them: messages
//! built as the decoders and hekad make them, `timer_event` at chosen times, and the payloads
//! compared with the text Heka's filters send.

use std::path::Path;

use heka_message::{Field, Message};
use heka_pipeline::pack::Pack;

use crate::library_tests::{settings, share_dir};
use crate::{InjectBudget, Injection, Kind, Sandbox};

/// One second in nanoseconds.
const S: i64 = 1_000_000_000;
/// A minute boundary (2014-05-13T16:54:00Z), in seconds.
const T0: i64 = 1_400_000_040;

/// Starts `lua_filters/<name>` with the `[x.config]` table `config` (TOML), preserving its
/// globals in `preserve` when given.
fn start(name: &str, config: &str, preserve: Option<&Path>) -> Sandbox {
    let script = share_dir().join("lua_filters").join(name);
    let mut s = settings(Kind::Filter, script, toml::from_str(config).unwrap());
    s.preservation = preserve.map(Path::to_path_buf);
    Sandbox::start(s).unwrap_or_else(|e| panic!("start {name}: {e}"))
}

/// Starts a filter expecting the start to fail; returns the error text.
fn start_error(name: &str, config: &str) -> String {
    let script = share_dir().join("lua_filters").join(name);
    let s = settings(Kind::Filter, script, toml::from_str(config).unwrap());
    Sandbox::start(s).unwrap_err().0
}

/// A message at `ts` ns with `fields`.
fn message(ts: i64, fields: Vec<Field>) -> Message {
    let mut m = Message {
        timestamp: ts,
        ..Default::default()
    };
    for f in fields {
        m.add_field(f);
    }
    m
}

/// Runs `process_message` on `m`; returns the status and what it injected.
fn process(sb: &mut Sandbox, m: Message) -> (i32, Option<String>, Vec<Injection>) {
    let out = sb
        .process_message(&Pack::new(m), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("{e}"));
    (out.status, out.error, out.injected)
}

/// The payloads among `injected`: (payload_type, payload_name, payload).
fn payloads(injected: &[Injection]) -> Vec<(String, String, String)> {
    injected
        .iter()
        .filter_map(|i| match i {
            Injection::Payload {
                payload,
                payload_type,
                payload_name,
            } => Some((
                String::from_utf8_lossy(payload_type).into_owned(),
                String::from_utf8_lossy(payload_name).into_owned(),
                String::from_utf8_lossy(payload).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// Runs `timer_event(ns)`; returns the payloads it sent.
fn tick(sb: &mut Sandbox, ns: i64) -> Vec<(String, String, String)> {
    payloads(
        &sb.timer_event(ns, InjectBudget::Unlimited)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// A cbuf header as lua_sandbox writes it; `columns` are (name, unit, aggregation).
fn header(time: i64, rows: usize, spr: i64, columns: &[(&str, &str, &str)]) -> String {
    let info: Vec<String> = columns
        .iter()
        .map(|(n, u, a)| format!(r#"{{"name":"{n}","unit":"{u}","aggregation":"{a}"}}"#))
        .collect();
    format!(
        r#"{{"time":{time},"rows":{rows},"columns":{},"seconds_per_row":{spr},"column_info":[{}]}}"#,
        columns.len(),
        info.join(",")
    )
}

/// Runs Lua `code` in a filter's `process_message` with the library's modules on the path
/// (`check(got, want, what)` collects mismatches); returns the payloads it sent besides the
/// final "ok".
fn lua(code: &str) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("checks.lua");
    std::fs::write(
        &script,
        format!(
            r#"
require "string"
require "table"
require "circular_buffer"
local failures = {{}}
function check(got, want, what)
    if got ~= want then
        failures[#failures + 1] = string.format("%s: got %s, want %s", what, tostring(got), tostring(want))
    end
end
function process_message()
{code}
    if #failures > 0 then error(table.concat(failures, "\n")) end
    inject_payload("txt", "ok", "ok")
    return 0
end
"#
        ),
    )
    .unwrap();
    let mut sb = Sandbox::start(settings(Kind::Filter, script, toml::Table::new()))
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let (status, error, injected) = process(&mut sb, Message::default());
    assert_eq!((status, error), (0, None));
    let mut out = payloads(&injected);
    assert_eq!(
        out.pop(),
        Some(("txt".into(), "ok".into(), "ok".into())),
        "{out:?}"
    );
    out
}

fn alert(text: &str) -> (String, String, String) {
    ("alert".into(), String::new(), text.into())
}

// ---- modules ----------------------------------------------------------------------------

#[test]
fn alert_sends_throttles_and_queues() {
    let sent = lua(r#"
    local alert = require "alert"
    local B = 1.4e18 -- a time well after the epoch (the throttle counts from _LAST_ALERT = 0)
    check(alert.throttled(0), false, "zero is never throttled")
    check(alert.throttled(3600e9), true, "within an hour of the epoch")
    check(alert.send(B, ""), false, "empty")
    check(alert.send(B, "first"), true, "first")
    check(_LAST_ALERT, B, "last alert")
    check(alert.throttled(B + 3600e9), true, "exactly one hour later")
    check(alert.send(B + 10e9, "throttled"), false, "within the hour")
    check(alert.send(B - 5e9, "older"), false, "before the last alert")
    check(alert.send(0, "forced"), true, "ns 0")
    check(_LAST_ALERT, B, "ns 0 leaves the last alert")
    check(alert.throttled(B + 3600e9 + 1e6), false, "after the hour")
    alert.set_throttle(1e9)
    check(alert.queue(B + 10e9, "a"), true, "queue a")
    check(alert.queue(B + 10e9, "b"), true, "queue b")
    check(alert.queue(B + 10e9, ""), false, "queue empty")
    check(alert.send_queue(B + 10e9), true, "send queue")
    check(alert.send_queue(B + 10e9), false, "queue now empty")
    check(alert.queue(B + 10.5e9, "c"), false, "throttled queue")
"#);
    assert_eq!(sent, [alert("first"), alert("forced"), alert("a\nb")]);
}

#[test]
fn annotations_are_pruned_into_a_json_line() {
    lua(r#"
    local annotation = require "annotation"
    local cjson = require "cjson"
    check(annotation.prune("none", 0), nil, "unknown name")
    local a = annotation.create(1234567890, 2, "A", "text")
    check(a.x, 1234, "x in ms"); check(a.col, 2, "col"); check(a.shortText, "A", "stext")
    annotation.add("g", 1e9, 1, "A", "one")
    annotation.concat("g", {annotation.create(2e9, 2, "B", "two")})
    annotation.set_prune("g", 10e9)
    check(_ANNOTATIONS.g.prune_duration, 10e9, "prune duration")
    check(#cjson.decode(annotation.prune("g", 10.5e9)).annotations, 2, "both kept")
    local line = annotation.prune("g", 11e9)
    check(string.sub(line, -1), "\n", "newline")
    local t = cjson.decode(line)
    check(#t.annotations, 1, "one left")
    check(t.annotations[1].text, "two", "the newer one is kept")
    check(t.annotations[1].x, 2000, "x")
    check(t.annotations[1].shortText, "B", "shortText")
    check(annotation.prune("g", 12e9), '{"annotations":{}}\n', "all pruned")
    annotation.add("d", 0, 1, "A", "day")
    check(#cjson.decode(annotation.prune("d", 86399e9)).annotations, 1, "kept for a day")
    check(annotation.prune("d", 86400e9), '{"annotations":{}}\n', "default prune: one day")
    annotation.remove("d")
    check(_ANNOTATIONS.d, nil, "removed")
"#);
}

#[test]
fn anomaly_config_is_parsed_or_refused() {
    lua(r#"
    local anomaly = require "anomaly"
    check(anomaly.parse_config(nil), nil, "nil")
    local c = anomaly.parse_config('roc("HTTP Status", 2, 15, 0, 1.5, true, false) mww_nonparametric("HTTP Status", 5, 15, 10, 0.8)mww("say ""hi""", 1, 20, 3, 0.0001, decreasing)')
    local r = c["HTTP Status"][1]
    check(r.algorithm, "roc", "alg"); check(r.col, 2, "col"); check(r.win, 15, "win")
    check(r.hwin, 0, "hwin"); check(r.sd, 1.5, "sd"); check(r.loss_of_data, true, "loss")
    check(r.start_of_data, false, "start")
    local n = c["HTTP Status"][2]
    check(n.algorithm, "mww_nonparametric", "alg2"); check(n.nwin, 10, "nwin"); check(n.pstat, 0.8, "pstat")
    local m = c['say "hi"'][1]
    check(m.algorithm, "mww", "alg3"); check(m.pvalue, 0.0001, "pvalue"); check(m.trend, "decreasing", "trend")
    for _, bad in ipairs{
        'roc("x", 1, 15, 0, 1.5, true)',            -- an argument short
        'roc("x", 1, 15, 0, 1.5, true, false) ',    -- trailing space
        'roc("x", 1 , 15, 0, 1.5, true, false)',    -- space before a comma
        'mww_nonparametric("x", 1, 15, 10, 1.5)',   -- pstat must start with 0
        'mww("x", 1, 20, 3, 0.01, up)',             -- unknown trend
        'roc(x, 1, 15, 0, 1.5, true, false)',       -- unquoted name
        'foo("x", 1)', '',
    } do
        local ok, err = pcall(anomaly.parse_config, bad)
        check(ok, false, bad)
        check(string.match(tostring(err), "could not parse the anomaly_config$") ~= nil, true, "error for " .. bad)
    end
"#);
}

#[test]
fn anomaly_roc_detects_a_jump_and_lost_data() {
    lua(r#"
    local anomaly = require "anomaly"
    local T = 1e6 -- seconds
    local function series(last_value, until_s)
        local cb = circular_buffer.new(100, 1, 1)
        for s = 0, 89 do
            if s < 85 then cb:set((T + s) * 1e9, 1, 10 + (s % 2) * 2)
            elseif s < until_s then cb:set((T + s) * 1e9, 1, last_value) end
        end
        return cb
    end
    local cfg = anomaly.parse_config('roc("G", 1, 5, 0, 1.5, true, false)')
    local cb = series(50, 90)
    local msg, annos = anomaly.detect((T + 90) * 1e9, "G", cb, cfg)
    check(msg, "G - algorithm: roc col: 1 msg: detected anomaly, standard deviation exceeds 1.5", "jump")
    check(#annos, 1, "one annotation")
    check(annos[1].x, (T + 90) * 1e3, "x"); check(annos[1].col, 1, "col"); check(annos[1].shortText, "A", "A")
    check(annos[1].text, "detected anomaly, standard deviation exceeds 1.5", "text")
    check(cb:current_time(), (T + 90) * 1e9, "detect advanced the buffer")
    check(anomaly.detect((T + 90.5) * 1e9, "G", cb, cfg), nil, "runs once per row")
    check(anomaly.detect((T + 90) * 1e9, "other", cb, cfg), nil, "no spec for the name")

    cfg = anomaly.parse_config('roc("G", 1, 5, 0, 1.5, true, false)')
    check(anomaly.detect((T + 90) * 1e9, "G", series(11, 90), cfg), nil, "steady")

    cfg = anomaly.parse_config('roc("G", 1, 5, 0, 1.5, true, false)')
    check(anomaly.detect((T + 90) * 1e9, "G", series(50, 85), cfg), "G - algorithm: roc col: 1 msg: no new data", "loss")
    cfg = anomaly.parse_config('roc("G", 1, 5, 0, 1.5, false, false)')
    check(anomaly.detect((T + 90) * 1e9, "G", series(50, 85), cfg), nil, "loss not asked for")

    cfg = anomaly.parse_config('roc("G", 1, 5, 90, 1.5, true, false)')
    check(anomaly.detect((T + 90) * 1e9, "G", series(50, 90), cfg) ~= nil, true, "history longer than the buffer")

    cfg = anomaly.parse_config('roc("G", 1, 34, 0, 1.5, true, false)')
    local ok, err = pcall(anomaly.detect, (T + 90) * 1e9, "G", series(50, 90), cfg)
    check(string.match(err, "G %- algorithm: roc col: 1 msg: win=34 hwin=0 arguments out of range %(rows=100%)$") ~= nil, true, "range: " .. tostring(err))
"#);
}

#[test]
fn anomaly_mww_detects_a_trend() {
    lua(r#"
    local anomaly = require "anomaly"
    local T = 1e6
    -- 4 windows of 10 rows: three around 10, the newest around 100.
    local function series()
        local cb = circular_buffer.new(100, 1, 1)
        for s = 0, 39 do
            local v = 10 + s % 7
            if s >= 30 then v = 100 + s % 7 end
            cb:set((T + s) * 1e9, 1, v)
        end
        return cb
    end
    local now = (T + 40) * 1e9
    local function run(spec) return anomaly.detect(now, "G", series(), anomaly.parse_config(spec)) end
    check(run('mww("G", 1, 10, 4, 0.01, increasing)'), "G - algorithm: mww col: 1 msg: detected anomaly, increasing values", "increasing")
    check(run('mww("G", 1, 10, 4, 0.01, any)'), "G - algorithm: mww col: 1 msg: detected anomaly", "any")
    check(run('mww("G", 1, 10, 4, 0.01, decreasing)'), nil, "not decreasing")
    check(run('mww("G", 1, 10, 4, 0.00000001, any)'), nil, "p above the threshold")
    check(run('mww_nonparametric("G", 1, 10, 4, 0.6)'), "G - algorithm: mww_nonparametric col: 1 msg: detected anomaly, pstat: 1", "pstat high")
    check(run('mww_nonparametric("G", 1, 10, 4, 0.4)'), nil, "pstat low")
    local ok, err = pcall(run, 'mww("G", 1, 10, 10, 0.01, any)')
    check(string.match(err, "G %- algorithm: mww col: 1 msg: arguments out of range$") ~= nil, true, "range: " .. tostring(err))
"#);
}

#[test]
fn cbufd_grammar_reads_delta_text() {
    lua(r#"
    local cbufd = require "cbufd"
    local h = '{"time":1379574900,"rows":1440,"columns":2,"seconds_per_row":60,"column_info":[{"name":"Requests","unit":"count","aggregation":"sum"},{"name":"Total_Size","unit":"KiB","aggregation":"sum"}]}'
    local t = cbufd.grammar:match(h .. "\n1379660520\t12075\t-1.5\n1379660280\tnan\t154880\n")
    check(t.header, h, "header")
    check(#t, 2, "rows")
    check(t[1].time, 1379660520e9, "time ns"); check(t[1][1], 12075, "v1"); check(t[1][2], -1.5, "v2")
    check(t[2][1] ~= t[2][1], true, "nan"); check(t[2][2], 154880, "v")
    check(cbufd.grammar:match(h .. "\n"), nil, "no rows")
    check(cbufd.grammar:match(h .. "\n1379660520\t1\n") ~= nil, true, "one column is fine")
    check(cbufd.grammar:match(h .. "\n1379660520\tx\n"), nil, "not a number")
    check(cbufd.grammar:match(h .. "\n1379660520\t1"), nil, "no final newline")
"#);
}

// ---- graph filters --------------------------------------------------------------------

const HTTP_COLUMNS: [(&str, &str, &str); 6] = [
    ("HTTP_100", "count", "sum"),
    ("HTTP_200", "count", "sum"),
    ("HTTP_300", "count", "sum"),
    ("HTTP_400", "count", "sum"),
    ("HTTP_500", "count", "sum"),
    ("HTTP_UNKNOWN", "count", "sum"),
];

fn status(ts: i64, code: f64) -> Message {
    message(ts, vec![Field::new_double("status", code)])
}

#[test]
fn http_status_counts_classes_per_row_and_preserves_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("http.data");
    let config = "rows = 3\nsec_per_row = 60";
    let mut f = start("http_status.lua", config, Some(&data));
    for (t, code) in [
        (0, 200.0),
        (1, 404.0),
        (59, 200.0),
        (60, 503.0),
        (61, 99.0),
        (62, 600.0),
    ] {
        assert_eq!(process(&mut f, status((T0 + t) * S, code)).0, 0);
    }
    let mut bad = message(T0 * S, vec![Field::new_string("status", "200")]);
    assert_eq!(process(&mut f, bad.clone()).0, -1, "a text status");
    bad.fields.clear();
    assert_eq!(process(&mut f, bad).0, -1, "no status");
    let want = format!(
        "{}\nnan\tnan\tnan\tnan\tnan\tnan\nnan\t2\tnan\t1\tnan\tnan\nnan\tnan\tnan\tnan\t1\t2\n",
        header(T0 - 60, 3, 60, &HTTP_COLUMNS)
    );
    let out = tick(&mut f, (T0 + 90) * S);
    assert_eq!(out, [("cbuf".into(), "HTTP Status".into(), want.clone())]);

    f.stop().unwrap();
    let mut f = start("http_status.lua", config, Some(&data));
    assert_eq!(tick(&mut f, (T0 + 90) * S), out, "restored");
    f.stop().unwrap();
    let mut f = start(
        "http_status.lua",
        &format!("{config}\npreservation_version = 1"),
        Some(&data),
    );
    let fresh = tick(&mut f, 0);
    assert!(
        fresh[0].2.ends_with("\nnan\tnan\tnan\tnan\tnan\tnan\n"),
        "{fresh:?}"
    );
    assert!(
        !fresh[0].2.contains("\t2\t"),
        "a new version starts afresh: {fresh:?}"
    );

    let mut f = start("http_status.lua", "status_field = 'code'", None);
    assert_eq!(process(&mut f, status(T0 * S, 200.0)).0, -1);
    let coded = message(T0 * S, vec![Field::new_double("code", 200.0)]);
    assert_eq!(process(&mut f, coded).0, 0);
}

#[test]
fn http_status_alerts_on_anomalies_with_annotations() {
    let config = r#"
rows = 100
sec_per_row = 1
anomaly_config = 'roc("HTTP Status", 2, 5, 0, 1.5, true, false)'
"#;
    let mut f = start("http_status.lua", config, None);
    let base = 1_000_000;
    for s in 0..90 {
        let n = if s >= 85 { 50 } else { 10 + (s % 2) * 2 };
        for _ in 0..n {
            process(&mut f, status((base + s) * S, 200.0));
        }
    }
    let out = tick(&mut f, (base + 90) * S);
    assert_eq!(out.len(), 2, "{out:?}");
    let text = "detected anomaly, standard deviation exceeds 1.5";
    assert_eq!(
        out[0],
        alert(&format!("HTTP Status - algorithm: roc col: 2 msg: {text}"))
    );
    let (kind, name, payload) = &out[1];
    assert_eq!((kind.as_str(), name.as_str()), ("cbuf", "HTTP Status"));
    let (annotations, cbuf) = payload.split_once('\n').unwrap();
    let json: serde_json::Value = serde_json::from_str(annotations).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"annotations": [
            {"x": (base + 90) * 1000, "col": 2, "shortText": "A", "text": text}
        ]})
    );
    assert!(
        cbuf.starts_with(&header(base - 9, 100, 1, &HTTP_COLUMNS)),
        "{cbuf}"
    );
    assert!(cbuf.ends_with("\nnan\t50\tnan\tnan\tnan\tnan\nnan\tnan\tnan\tnan\tnan\tnan\n"));

    // Throttled for an hour: no alert, the annotation stays.
    let out = tick(&mut f, (base + 91) * S);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].2.starts_with(annotations), "{out:?}");
}

#[test]
fn stat_graph_adds_stat_fields_at_their_timestamp() {
    let config = r#"
title = "Hits and Misses"
rows = 3
sec_per_row = 10
stats = "stats.counters.hits.count stats.counters.misses.count"
stat_labels = "hits misses"
"#;
    let mut f = start("stat_graph.lua", config, None);
    let stat = |ts: i64, hits: f64, misses: Option<f64>| {
        let mut fs = vec![
            Field::new_integer("timestamp", ts),
            Field::new_double("stats.counters.hits.count", hits),
        ];
        if let Some(m) = misses {
            fs.push(Field::new_double("stats.counters.misses.count", m));
        }
        message(0, fs)
    };
    assert_eq!(process(&mut f, stat(T0, 3.0, Some(1.0))).0, 0);
    assert_eq!(process(&mut f, stat(T0 + 5, 2.0, None)).0, 0);
    assert_eq!(process(&mut f, stat(T0 + 10, 7.0, Some(0.0))).0, 0);
    assert_eq!(
        process(&mut f, message(0, vec![Field::new_double("x", 1.0)])).0,
        -1,
        "no timestamp"
    );
    let cols = [("hits", "count", "sum"), ("misses", "count", "sum")];
    assert_eq!(
        tick(&mut f, 0),
        [(
            "cbuf".into(),
            "Hits and Misses".into(),
            format!("{}\nnan\tnan\n5\t1\n7\t0\n", header(T0 - 10, 3, 10, &cols))
        )]
    );

    let err = start_error("stat_graph.lua", "stats = 'a b'\nstat_labels = 'a'");
    assert!(
        err.contains("stats and stat_labels configuration must have the same number of items"),
        "{err}"
    );
    let err = start_error("stat_graph.lua", "stat_labels = 'a'");
    assert!(
        err.contains("stats configuration must be specified"),
        "{err}"
    );
    let mut f = start(
        "stat_graph.lua",
        "stats = 'a'\nstat_labels = 'A'\nstat_unit = 'ms'\nstat_aggregation = 'max'\nrows = 2",
        None,
    );
    let out = tick(&mut f, 0);
    assert!(
        out[0]
            .2
            .contains(r#"{"name":"A","unit":"ms","aggregation":"max"}"#),
        "{out:?}"
    );
    assert_eq!(out[0].1, "Stats", "default title");
}

#[test]
fn heka_memstat_graphs_the_largest_heap_numbers() {
    let mut f = start("heka_memstat.lua", "rows = 2", None);
    let memstat = |ts: i64, v: i64| {
        let mut m = message(
            ts,
            [
                "HeapSys",
                "HeapAlloc",
                "HeapIdle",
                "HeapInuse",
                "HeapReleased",
            ]
            .iter()
            .map(|n| Field::new_integer(*n, v).with_representation("B"))
            .collect(),
        );
        m.add_field(Field::new_integer("HeapObjects", v / 10).with_representation("count"));
        m.set_type("heka.memstat");
        m.set_logger("hekad");
        m
    };
    process(&mut f, memstat(T0 * S, 1000));
    process(&mut f, memstat((T0 + 30) * S, 2000));
    let cols = [
        ("HeapSys", "B", "max"),
        ("HeapAlloc", "B", "max"),
        ("HeapIdle", "B", "max"),
        ("HeapInuse", "B", "max"),
        ("HeapReleased", "B", "max"),
        ("HeapObjects", "count", "max"),
    ];
    let want = format!(
        "{}\nnan\tnan\tnan\tnan\tnan\tnan\n2000\t2000\t2000\t2000\t2000\t200\n",
        header(T0 - 60, 2, 60, &cols)
    );
    assert_eq!(tick(&mut f, 0), [("cbuf".into(), "Stats".into(), want)]);
}

#[test]
fn loadavg_and_memstats_graph_the_decoders_fields() {
    let mut f = start("loadavg.lua", "rows = 2", None);
    let load = message(
        T0 * S,
        vec![
            Field::new_double("1MinAvg", 0.5),
            Field::new_double("5MinAvg", 0.25),
            Field::new_double("15MinAvg", 0.125),
            Field::new_double("NumProcesses", 153.0),
            Field::new_string("FilePath", "/proc/loadavg"),
        ],
    );
    assert_eq!(process(&mut f, load.clone()).0, 0);
    let mut partial = load.clone();
    partial.fields.remove(3);
    assert_eq!(process(&mut f, partial).0, -1);
    let cols = [
        ("1MinAvg", "Count", "max"),
        ("5MinAvg", "Count", "max"),
        ("15MinAvg", "Count", "max"),
        ("NumProcesses", "Count", "max"),
    ];
    assert_eq!(
        tick(&mut f, 0),
        [(
            "cbuf".into(),
            "LoadAvg Stats".into(),
            format!(
                "{}\nnan\tnan\tnan\tnan\n0.5\t0.25\t0.125\t153\n",
                header(T0 - 60, 2, 60, &cols)
            )
        )]
    );

    let mut f = start("memstats.lua", "rows = 2", None);
    let names = [
        "MemFree",
        "Cached",
        "Active",
        "Inactive",
        "VmallocUsed",
        "Shmem",
        "SwapCached",
    ];
    let mut fields: Vec<Field> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Field::new_double(*n, (i + 1) as f64).with_representation("kB"))
        .collect();
    fields.push(Field::new_double("SwapFree", 100.0));
    let m = message(T0 * S, fields.clone());
    assert_eq!(process(&mut f, m).0, -1, "no SwapTotal");
    fields.push(Field::new_double("SwapTotal", 250.0));
    assert_eq!(process(&mut f, message(T0 * S, fields)).0, 0);
    let mut cols: Vec<(&str, &str, &str)> = names.iter().map(|n| (*n, "Count", "max")).collect();
    cols.push(("SwapFree", "Count", "max"));
    cols.push(("SwapUsed", "Count", "max"));
    assert_eq!(
        tick(&mut f, 0),
        [(
            "cbuf".into(),
            "Memory Stats".into(),
            format!(
                "{}\n{}\n1\t2\t3\t4\t5\t6\t7\t100\t150\n",
                header(T0 - 60, 2, 60, &cols),
                ["nan"; 9].join("\t")
            )
        )]
    );
}

#[test]
fn mysql_slow_query_averages_per_row() {
    let mut f = start("mysql_slow_query.lua", "rows = 2", None);
    let q = |ts: i64, qt: f64, lt: f64, re: f64, rs: f64| {
        message(
            ts,
            vec![
                Field::new_double("Query_time", qt),
                Field::new_double("Lock_time", lt),
                Field::new_double("Rows_examined", re),
                Field::new_double("Rows_sent", rs),
            ],
        )
    };
    assert_eq!(process(&mut f, q(T0 * S, 2.0, 0.5, 10.0, 1.0)).0, 0);
    assert_eq!(process(&mut f, q((T0 + 1) * S, 1.0, 0.0, 5.0, 2.0)).0, 0);
    assert_eq!(
        process(&mut f, q((T0 - 3600) * S, 9.0, 9.0, 9.0, 9.0)).0,
        0,
        "too old: ignored"
    );
    assert_eq!(process(&mut f, message((T0 + 60) * S, vec![])).0, -1);
    let cols = [
        ("Query_Time", "s", "none"),
        ("Lock_Time", "s", "none"),
        ("Rows_Examined", "count", "none"),
        ("Rows_Sent", "count", "none"),
        ("Count", "count", "sum"),
    ];
    assert_eq!(
        tick(&mut f, 0),
        [(
            "cbuf".into(),
            "Statistics".into(),
            format!(
                "{}\n1.5\t0.25\t7\t1\t2\nnan\tnan\tnan\tnan\t1\n",
                header(T0, 2, 60, &cols)
            )
        )]
    );
}

#[test]
fn diskstats_graphs_counter_changes_and_io_time() {
    let mut f = start("diskstats.lua", "rows = 3", None);
    assert!(
        tick(&mut f, 0).is_empty(),
        "nothing before the first message"
    );
    let disk = |ts: i64, n: f64| {
        let names = [
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
        ];
        let mut fs: Vec<Field> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Field::new_double(*name, n * (i + 1) as f64))
            .collect();
        fs.push(Field::new_string("FilePath", "/sys/block/sda/stat"));
        fs.push(Field::new_integer("TickerInterval", 10));
        message(ts, fs)
    };
    assert_eq!(process(&mut f, disk(T0 * S, 1.0)).0, 0);
    assert_eq!(process(&mut f, disk((T0 + 10) * S, 3.0)).0, 0);
    let out = tick(&mut f, 0);
    let counters = [
        ("WritesCompleted", "per_10_", "none"),
        ("ReadsCompleted", "per_10_", "none"),
        ("SectorsWritten", "per_10_", "none"),
        ("SectorsRead", "per_10_", "none"),
        ("WritesMerged", "per_10_", "none"),
        ("ReadsMerged", "per_10_", "none"),
    ];
    let times = [
        ("TimeWriting", "ms", "max"),
        ("TimeReading", "ms", "max"),
        ("TimeDoingIO", "ms", "max"),
        ("WeightedTimeDoi", "ms", "max"), // names keep 15 characters
    ];
    assert_eq!(
        out,
        [
            (
                "cbuf".into(),
                "Disk Stats".into(),
                format!(
                    "{}\nnan\tnan\tnan\tnan\tnan\tnan\nnan\tnan\tnan\tnan\tnan\tnan\n10\t2\t14\t6\t12\t4\n",
                    header(T0 - 10, 3, 10, &counters)
                )
            ),
            (
                "cbuf".into(),
                "Time doing IO".into(),
                format!(
                    "{}\nnan\tnan\tnan\tnan\n8\t4\t10\t11\n24\t12\t30\t33\n",
                    header(T0 - 10, 3, 10, &times)
                )
            ),
        ]
    );
}

// ---- aggregators ------------------------------------------------------------------------

/// A filter's cbufd payload message as hekad routes it.
fn cbufd_message(host: &str, name: &str, payload: &str) -> Message {
    let mut m = message(
        T0 * S,
        vec![
            Field::new_string("payload_type", "cbufd"),
            Field::new_string("payload_name", name.to_string()),
        ],
    );
    m.set_type("heka.sandbox-output");
    m.set_hostname(host.to_string());
    m.set_payload(payload.to_string());
    m
}

const AGG_COLUMNS: [(&str, &str, &str); 3] = [
    ("Requests", "count", "sum"),
    ("Peak", "ms", "max"),
    ("Ignored", "count", "none"),
];

#[test]
fn cbufd_aggregator_sums_deltas_and_emits_its_own() {
    let mut f = start("cbufd_aggregator.lua", "enable_delta = true", None);
    let h = header(T0 - 120, 3, 60, &AGG_COLUMNS);
    let a = format!("{h}\n{}\t5\t100\t1\n{}\t1\tnan\t1\n", T0, T0 + 60);
    let b = format!("{h}\n{}\t7\t80\t1\n{}\tnan\t3\t1\n", T0, T0 + 60);
    assert_eq!(process(&mut f, cbufd_message("a", "Web", &a)).0, 0);
    assert_eq!(process(&mut f, cbufd_message("b", "Web", &b)).0, 0);
    assert_eq!(process(&mut f, cbufd_message("b", "Web", "nonsense")).0, -1);
    let out = tick(&mut f, 0);
    let cbuf = format!(
        "{}\nnan\tnan\tnan\n12\t100\tnan\n1\t3\tnan\n",
        header(T0 - 60, 3, 60, &AGG_COLUMNS)
    );
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], ("cbuf".into(), "Web".into(), cbuf));
    let (kind, name, delta) = &out[1];
    assert_eq!((kind.as_str(), name.as_str()), ("cbufd", "Web"));
    let mut lines: Vec<&str> = delta.lines().collect();
    assert_eq!(lines.remove(0), header(T0 - 60, 3, 60, &AGG_COLUMNS));
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("{T0}\t12\t100\tnan"),
            format!("{}\t1\t3\tnan", T0 + 60)
        ]
    );
    let out = tick(&mut f, 0);
    assert_eq!(out.len(), 1, "no changes, no delta: {out:?}");
}

#[test]
fn cbufd_aggregator_keeps_its_buffers_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("agg.data");
    let mut f = start("cbufd_aggregator.lua", "", Some(&data));
    let h = header(T0 - 120, 3, 60, &AGG_COLUMNS);
    // A cell beyond the header's columns is skipped.
    let a = format!("{h}\n{T0}\t5\t100\t1\t9\n");
    assert_eq!(process(&mut f, cbufd_message("a", "Web", &a)).0, 0);
    let before = tick(&mut f, 0);
    assert!(before[0].2.ends_with("\n5\t100\tnan\n"), "{before:?}");
    f.stop().unwrap();
    let saved = std::fs::read_to_string(&data).unwrap();
    assert!(
        saved.contains(r#"_G["cbufs"]["Web"]"#),
        "Heka's layout: {saved}"
    );
    let mut f = start("cbufd_aggregator.lua", "", Some(&data));
    assert_eq!(tick(&mut f, 0), before);
    assert_eq!(process(&mut f, cbufd_message("b", "Web", &a)).0, 0);
    assert!(tick(&mut f, 0)[0].2.ends_with("\n10\t100\tnan\n"));
}

#[test]
fn cbufd_host_aggregator_graphs_each_column_per_host() {
    // rows differs from max_hosts: Heka compared the host count with rows.
    let config = "max_hosts = 2\nrows = 3\nhost_expiration = 60";
    let mut f = start("cbufd_host_aggregator.lua", config, None);
    let h = header(T0 - 120, 3, 60, &AGG_COLUMNS);
    let delta = |v: i64| format!("{h}\n{T0}\t{v}\t{}\t1\n", v * 10);
    assert_eq!(
        process(&mut f, cbufd_message("web1", "Web", &delta(5))).0,
        0
    );
    assert_eq!(
        process(&mut f, cbufd_message("web2", "Web", &delta(7))).0,
        0
    );
    assert_eq!(
        process(&mut f, cbufd_message("web1", "Web", &delta(1))).0,
        0
    );
    let out = tick(&mut f, 0);
    let opts = r#"{"options":{"stackedGraph":true,"fillGraph":true}}"#;
    let graph = |unit: &str, agg: &str, row: &str| {
        let cols = [("web1", unit, agg), ("web2", unit, agg)];
        format!(
            "{opts}\n{}\nnan\tnan\nnan\tnan\n{row}\n",
            header(T0 - 120, 3, 60, &cols)
        )
    };
    assert_eq!(
        out,
        [
            (
                "cbuf".into(),
                "Web (Requests)".into(),
                graph("count", "sum", "6\t7")
            ),
            (
                "cbuf".into(),
                "Web (Peak)".into(),
                graph("ms", "max", "50\t70")
            ),
            (
                "cbuf".into(),
                "Web (Ignored)".into(),
                // Nothing was ever written to it, so it never moved from time 0.
                graph("count", "none", "nan\tnan")
                    .replace(&format!(r#""time":{}"#, T0 - 120), r#""time":0"#)
            ),
        ]
    );

    // A third host replaces one silent for host_expiration, keeping its column's data.
    let mut late = cbufd_message("web3", "Web", &delta(2));
    late.timestamp = (T0 + 60) * S;
    let mut web2 = cbufd_message("web2", "Web", &delta(0));
    web2.timestamp = (T0 + 30) * S;
    assert_eq!(process(&mut f, web2).0, 0);
    assert_eq!(process(&mut f, late).0, 0);
    let out = tick(&mut f, 0);
    assert!(out[0].2.contains(r#""name":"web3""#), "{out:?}");
    assert!(
        out[0].2.ends_with("\t7\n"),
        "web1's column, now web3's: {out:?}"
    );
    assert!(out[0].2.contains("\n8\t7\n"), "{out:?}");

    // Nobody expired: a fourth host stops the filter.
    let mut fourth = cbufd_message("web4", "Web", &delta(2));
    fourth.timestamp = (T0 + 61) * S;
    let err = f
        .process_message(&Pack::new(fourth), InjectBudget::Unlimited)
        .unwrap_err();
    assert!(
        err.0
            .contains("The number of hosts exceeds the 'max_hosts' configuration"),
        "{err}"
    );

    let err = start_error("cbufd_host_aggregator.lua", "rows = 2");
    assert!(err.contains("max_hosts"), "{err}");
}

// ---- heartbeat, items, schema -----------------------------------------------------------

fn from_host(host: &str, ts: i64) -> Message {
    let mut m = message(ts, vec![]);
    m.set_type("heartbeat");
    m.set_hostname(host.to_string());
    m
}

#[test]
fn heartbeat_reports_hosts_and_alerts_on_silence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hb.data");
    let config = "heartbeat_timeout = 30\nalert_throttle = 300";
    let mut f = start("heartbeat.lua", config, Some(&data));
    process(&mut f, from_host("web1", T0 * S + 123_456_789));
    process(&mut f, from_host("web2", (T0 + 25) * S));
    let json = |out: &[(String, String, String)]| -> serde_json::Value {
        let (kind, name, payload) = out.last().unwrap();
        assert_eq!((kind.as_str(), name.as_str()), ("json", "heartbeat"));
        serde_json::from_str(payload).unwrap()
    };
    let t1 = T0 * 1000 + 123;
    let t2 = (T0 + 25) * 1000;
    let out = tick(&mut f, (T0 + 30) * S);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        json(&out),
        serde_json::json!({
            "web1": {"last_heartbeat": t1, "status": "up", "last_alert": 0},
            "web2": {"last_heartbeat": t2, "status": "up", "last_alert": 0},
        })
    );
    let now = T0 + 40;
    let out = tick(&mut f, now * S);
    assert_eq!(out[0], alert("Missing Heartbeat - web1\n"));
    assert_eq!(json(&out)["web1"]["status"], "down");
    assert_eq!(json(&out)["web1"]["last_alert"], now * 1000);
    assert_eq!(json(&out)["web2"]["status"], "up");
    // Each host has its own throttle: web2 is alerted, web1 (alerted 100 s ago) is not.
    let out = tick(&mut f, (now + 100) * S);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], alert("Missing Heartbeat - web2\n"));
    assert_eq!(json(&out)["web2"]["status"], "down");
    assert_eq!(json(&out)["web2"]["last_alert"], (now + 100) * 1000);
    assert_eq!(json(&out)["web1"]["last_alert"], now * 1000);

    f.stop().unwrap();
    let mut f = start("heartbeat.lua", config, Some(&data));
    process(&mut f, from_host("web1", (now + 200) * S));
    let out = tick(&mut f, (now + 201) * S);
    assert_eq!(json(&out)["web1"]["status"], "up", "{out:?}");
    assert_eq!(json(&out)["web1"]["last_alert"], now * 1000, "preserved");
}

#[test]
fn unique_items_estimates_distinct_values_per_day() {
    let config = "message_variable = 'Fields[uid]'\nenable_delta = true";
    let mut f = start("unique_items.lua", config, None);
    let day = 86_400;
    let d0 = (T0 / day) * day;
    let uid = |ts: i64, v: Field| message(ts * S, vec![v]);
    for (i, u) in ["a", "b", "c", "a", "b"].iter().enumerate() {
        assert_eq!(
            process(&mut f, uid(d0 + i as i64, Field::new_string("uid", *u))).0,
            0
        );
    }
    assert_eq!(
        process(&mut f, uid(d0 + 9, Field::new_double("uid", 7.0))).0,
        0
    );
    assert_eq!(
        process(&mut f, uid(d0 + 9, Field::new_bool("uid", true))).0,
        -1
    );
    assert_eq!(
        process(&mut f, uid(d0 + day, Field::new_string("uid", "z"))).0,
        0
    );
    assert_eq!(
        process(&mut f, uid(d0 + 5, Field::new_string("uid", "late"))).0,
        0,
        "an older day is ignored"
    );
    let out = tick(&mut f, 0);
    assert_eq!(out.len(), 2, "{out:?}");
    let (kind, title, cbuf) = &out[0];
    assert_eq!(
        (kind.as_str(), title.as_str()),
        ("cbuf", "Estimated Unique Daily Fields[uid]")
    );
    let head = header(d0 + day - 364 * day, 365, day, &[("uid", "count", "sum")]);
    assert!(cbuf.starts_with(&format!("{head}\n")), "{cbuf}");
    assert!(cbuf.ends_with("\nnan\n4\n1\n"), "{cbuf}");
    assert_eq!(out[1].0, "cbufd");
    assert!(
        out[1].2.contains(&format!("\n{}\t1\n", d0 + day)),
        "{out:?}"
    );
    assert!(out[1].2.contains(&format!("\n{d0}\t4\n")), "{out:?}");

    let err = start_error("unique_items.lua", "");
    assert!(
        err.contains("message_variable configuration must be specified"),
        "{err}"
    );
}

#[test]
fn frequent_items_weighs_values_in_limited_slots() {
    let config = "message_variable = 'Fields[remote_addr]'\nmax_items = 2\nmin_output_weight = 1";
    let mut f = start("frequent_items.lua", config, None);
    let addr = |ts: i64, a: &str| {
        message(
            ts * S,
            vec![Field::new_string("remote_addr", a.to_string())],
        )
    };
    for a in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        assert_eq!(process(&mut f, addr(T0, a)).0, 0);
    }
    // 10.0.0.3 found both slots taken: every count dropped by one, 10.0.0.2 freed its slot.
    let want = "Fields[remote_addr]\tWeight\n10.0.0.1\t2\n";
    let out = tick(&mut f, 0);
    assert_eq!(
        out,
        [(
            "tsv".into(),
            "Weighting by Fields[remote_addr]".into(),
            want.into()
        )]
    );
    assert_eq!(process(&mut f, addr(T0, "10.0.0.3")).0, 0);
    assert_eq!(process(&mut f, addr(T0, "10.0.0.3")).0, 0);
    let out = tick(&mut f, 0);
    assert!(out[0].2.contains("10.0.0.3\t2\n"), "{out:?}");
    assert_eq!(process(&mut f, message(T0 * S, vec![])).0, -1, "no value");
    // The next day starts again.
    assert_eq!(process(&mut f, addr(T0 + 86_400, "10.0.0.9")).0, 0);
    assert_eq!(tick(&mut f, 0)[0].2, "Fields[remote_addr]\tWeight\n");
    assert_eq!(
        process(&mut f, addr(T0, "10.0.0.9")).0,
        0,
        "yesterday: ignored"
    );
}

#[test]
fn heka_message_schema_documents_the_stream() {
    let mut f = start("heka_message_schema.lua", "", None);
    let mut a = message(0, vec![Field::new_double("status", 200.0)]);
    a.set_logger("nginx");
    a.set_type("nginx.access");
    let mut b = a.clone();
    b.fields[0] = Field::new_string("status", "ok");
    let mut c = a.clone();
    c.fields.push(Field::new_bool("cached", true));
    let mut d = message(0, vec![]);
    d.set_env_version("1.0");
    for m in [a, b, c, d] {
        assert_eq!(process(&mut f, m).0, 0);
    }
    let out = tick(&mut f, 0);
    let (kind, name, text) = &out[0];
    assert_eq!((kind.as_str(), name.as_str()), ("txt", "Message Schema"));
    let rest = text
        .strip_prefix(
            "Logger -> Type -> EnvVersion -> Field Attributes.\n\
             The number in brackets is the number of occurrences of each logger/type/attribute.\n\n",
        )
        .unwrap_or_else(|| panic!("{text}"));
    let mut lines: Vec<&str> = rest.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "            cached (bool - optional [1])",
            "            status (mismatch)",
            "         -no version- [3]",
            "         1.0 [1]",
            "    -no type- [1]",
            "    nginx.access [3]",
            "-no logger- [1]",
            "nginx [3]",
        ]
    );
    let nginx = rest.find("nginx [3]\n").unwrap();
    assert!(
        rest[nginx..].starts_with("nginx [3]\n    nginx.access [3]\n         -no version- [3]\n"),
        "{rest}"
    );
    let other = rest.find("-no logger- [1]\n").unwrap();
    assert!(
        rest[other..].starts_with("-no logger- [1]\n    -no type- [1]\n         1.0 [1]\n"),
        "{rest}"
    );
}

// ---- hekad's own reports ----------------------------------------------------------------

/// A `heka.all-report` as Heka's report.go builds it, with `failures` (name, count) as
/// filters and one decoder without instrumentation.
fn all_report(ts: i64, failures: &[(&str, i64)]) -> Message {
    let filters: Vec<serde_json::Value> = failures
        .iter()
        .map(|(name, n)| {
            serde_json::json!({
                "Name": name,
                "ProcessMessageCount": {"value": 100, "representation": "count"},
                "ProcessMessageFailures": {"value": n, "representation": "count"},
            })
        })
        .collect();
    let report = serde_json::json!({
        "globals": [{"Name": "Router", "ProcessMessageCount": {"value": 5, "representation": "count"}}],
        "decoders": [{"Name": "TcpInput-ProtobufDecoder"}],
        "filters": filters,
    });
    let mut m = message(ts, vec![]);
    m.set_type("heka.all-report");
    m.set_logger("hekad");
    m.set_payload(format!("{report}\n"));
    m
}

#[test]
fn heka_process_message_failures_alerts_on_rising_failures() {
    let mut f = start("heka_process_message_failures.lua", "", None);
    let base = 1_000_000 * 60;
    // 45 minutes of a few failures, then five of many, for two filters.
    for i in 0..50 {
        let n = if i < 45 { 1 + i % 3 } else { 100 + i };
        let report = all_report((base + i * 60) * S, &[("counter", n), ("lua", n)]);
        assert_eq!(process(&mut f, report).0, 0);
    }
    let out = tick(&mut f, (base + 50 * 60) * S);
    assert_eq!(out.len(), 1, "{out:?}");
    let (kind, name, text) = &out[0];
    assert_eq!((kind.as_str(), name.as_str()), ("alert", ""));
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "counter - algorithm: mww_nonparametric col: 1 msg: detected anomaly, pstat: 1",
            "lua - algorithm: mww_nonparametric col: 1 msg: detected anomaly, pstat: 1",
        ],
        "each plugin runs its own copy of the DEFAULT specs"
    );
    // Within the hour no new alert (the alert module is not throttled: ns 0).
    assert!(tick(&mut f, (base + 51 * 60) * S).is_empty());

    let mut bad = all_report(base * S, &[]);
    bad.set_payload(r#"{"filters":[{"ProcessMessageFailures":{"value":1}}]}"#);
    let (status, error, _) = process(&mut f, bad.clone());
    assert_eq!(
        (status, error.as_deref()),
        (-1, Some("missing plugin Name"))
    );
    bad.set_payload(r#"{"outputs":[1]}"#);
    let (status, error, _) = process(&mut f, bad.clone());
    assert_eq!(
        (status, error.as_deref()),
        (-1, Some("invalid entry in section outputs"))
    );
    bad.set_payload("not json");
    assert_eq!(process(&mut f, bad).0, -1);
}

// ---- procstat ---------------------------------------------------------------------------

fn procstat(cpu: &[f64], ctxt: f64) -> Message {
    let mut cpu_field = Field::new_double("cpu", cpu[0]);
    cpu_field.value_double.extend_from_slice(&cpu[1..]);
    let mut m = message(T0 * S, vec![cpu_field, Field::new_double("ctxt", ctxt)]);
    m.set_type("stats.procstat");
    m.set_payload("cpu ...\n");
    m
}

fn injected_fields(injected: &[Injection]) -> (Message, Vec<(String, f64)>) {
    let [Injection::Message { message, .. }] = injected else {
        panic!("{injected:?}")
    };
    let mut fields: Vec<(String, f64)> = message
        .fields
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(&f.name).into_owned(),
                f.value_double[0],
            )
        })
        .collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    (message.clone(), fields)
}

#[test]
fn procstat_turns_counters_into_cpu_percentages() {
    let mut f = start("procstat.lua", "", None);
    let (status, _, injected) = process(&mut f, procstat(&[100.0, 0.0, 50.0, 850.0], 1000.0));
    assert_eq!(status, 0);
    assert!(injected.is_empty(), "the first message only primes");
    let (_, _, injected) = process(&mut f, procstat(&[130.0, 0.0, 60.0, 910.0], 1500.0));
    let (m, fields) = injected_fields(&injected);
    assert_eq!(m.type_bytes(), b"procstat");
    assert_eq!(m.payload_bytes(), b"cpu ...\n");
    // ticks 100, idle 60: 40 %.
    assert_eq!(fields, [("cpu_percent".to_string(), 40.0)]);

    let mut f = start("procstat.lua", "extras = true\nwhitelist = '^c'", None);
    process(&mut f, procstat(&[100.0, 0.0, 50.0, 850.0], 1000.0));
    let (_, _, injected) = process(&mut f, procstat(&[101.0, 0.0, 1.0 + 50.0, 851.0], 1500.0));
    let (_, fields) = injected_fields(&injected);
    let want = [
        ("cpu_delta_idle", 1.0),
        ("cpu_delta_nice", 0.0),
        ("cpu_delta_system", 1.0),
        ("cpu_delta_ticks", 3.0),
        ("cpu_delta_user", 1.0),
        ("cpu_percent", 67.0),
        ("cpu_percent_idle", 33.0),
        ("cpu_percent_nice", 0.0),
        ("cpu_percent_system", 33.0),
        ("cpu_percent_user", 33.0),
        ("ctxt_delta", 500.0),
    ];
    let want: Vec<(String, f64)> = want.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    assert_eq!(fields, want);
}

/// Every graph filter with `anomaly_config` sends its annotations line before the graph and
/// alerts on what the config finds (here `roc` on data that stops: "no new data").
#[test]
fn graph_filters_annotate_and_alert_with_anomaly_config() {
    let base = 1_000_000 * 60;
    let cases: [(&str, &str, &str, Vec<Field>); 7] = [
        (
            "http_status.lua",
            "HTTP Status",
            "",
            vec![Field::new_double("status", 101.0)],
        ),
        (
            "stat_graph.lua",
            "Stats",
            "stats = 'n'\nstat_labels = 'n'",
            vec![Field::new_double("n", 1.0)],
        ),
        (
            "heka_memstat.lua",
            "Stats",
            "",
            vec![Field::new_integer("HeapSys", 1)],
        ),
        (
            "loadavg.lua",
            "LoadAvg Stats",
            "",
            ["1MinAvg", "5MinAvg", "15MinAvg", "NumProcesses"]
                .iter()
                .map(|n| Field::new_double(*n, 1.0))
                .collect(),
        ),
        (
            "memstats.lua",
            "Memory Stats",
            "",
            [
                "MemFree",
                "Cached",
                "Active",
                "Inactive",
                "VmallocUsed",
                "Shmem",
                "SwapCached",
                "SwapFree",
                "SwapTotal",
            ]
            .iter()
            .map(|n| Field::new_double(*n, 1.0))
            .collect(),
        ),
        (
            "mysql_slow_query.lua",
            "Statistics",
            "",
            ["Query_time", "Lock_time", "Rows_examined", "Rows_sent"]
                .iter()
                .map(|n| Field::new_double(*n, 1.0))
                .collect(),
        ),
        (
            "diskstats.lua",
            "Time doing IO",
            "",
            [
                "WritesCompleted",
                "ReadsCompleted",
                "SectorsWritten",
                "SectorsRead",
                "WritesMerged",
                "ReadsMerged",
                "TimeWriting",
                "TimeReading",
                "TimeDoingIO",
                "WeightedTimeDoingIO",
            ]
            .iter()
            .map(|n| Field::new_double(*n, 1.0))
            .chain([Field::new_integer("TickerInterval", 60)])
            .collect(),
        ),
    ];
    for (script, title, extra, fields) in cases {
        // stat_graph graphs Fields[timestamp] (seconds), the others Timestamp.
        let config = format!(
            "rows = 10\nsec_per_row = 60\n{extra}\nanomaly_config = 'roc(\"{title}\", 1, 2, 0, 1.5, true, false)'"
        );
        let mut f = start(script, &config, None);
        for minute in 0..4 {
            let ts = base + minute * 60;
            let mut fs = fields.clone();
            fs.push(Field::new_integer("timestamp", ts));
            assert_eq!(process(&mut f, message(ts * S, fs)).0, 0, "{script}");
        }
        // Two silent minutes later the current window has no data, the previous one had.
        let out = tick(&mut f, (base + 6 * 60) * S);
        let want = format!("{title} - algorithm: roc col: 1 msg: no new data");
        let alerts: Vec<_> = out.iter().filter(|p| p.0 == "alert").collect();
        assert_eq!(alerts, [&alert(&want)], "{script}: {out:?}");
        let graph = out
            .iter()
            .find(|(kind, name, _)| kind == "cbuf" && name == title)
            .unwrap_or_else(|| panic!("{script}: {out:?}"));
        let (annotations, cbuf) = graph.2.split_once('\n').unwrap();
        let json: serde_json::Value = serde_json::from_str(annotations).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"annotations": [{
                "x": (base + 6 * 60) * 1000, "col": 1, "shortText": "A", "text": "no new data"
            }]}),
            "{script}"
        );
        assert!(cbuf.starts_with("{\"time\":"), "{script}: {cbuf}");
    }
}
