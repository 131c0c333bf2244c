//! Tests of the library's encoders (`share/heka/lua_encoders/`), the influx_batch filter and
//! the modules they use (`elasticsearch`, `field_util`, `graphite`, `msg_interpolate`,
//! `ts_line_protocol`), run as SandboxEncoder / SandboxFilter run them. The expected texts of
//! Heka's own tests (`sandbox/plugins/sandbox_encoders_test.go`) are kept where our output is
//! the same; where Heka's Lua wrote lines or keys in hash order we write them in message order.

use heka_message::{Field, Message};
use heka_pipeline::pack::Pack;

use crate::library_tests::{settings, share_dir};
use crate::{InjectBudget, Injection, Kind, Limits, Outcome, Sandbox};

/// An empty message with a Uuid (`decode_message` wants one, as every message in hekad has).
fn msg() -> Message {
    Message {
        uuid: (0..16u8).collect::<Vec<u8>>().into(),
        ..Message::default()
    }
}

/// The message of Heka's encoder tests: headers, `intField` [123, 456], two `strField`s of two
/// values each and `byteField` [first, second] (bytes).
fn heka_test_message() -> Message {
    let mut m = msg();
    m.set_type("my_type");
    m.pid = Some(12345);
    m.severity = Some(4);
    m.set_hostname("hostname");
    m.timestamp = 54321 * 1_000_000_000;
    m.set_logger("Logger");
    m.set_payload("Payload value lorem ipsum");
    m.add_field(Field::new_integers("intField", &[123, 456]));
    for (a, b) in [("0_first", "0_second"), ("1_first", "1_second")] {
        let mut f = Field::new_string("strField", a);
        f.value_string.push(b.into());
        m.add_field(f);
    }
    let mut f = Field::new_bytes("byteField", "first");
    f.value_bytes.push("second".into());
    m.add_field(f);
    m
}

/// A sandbox running the library's `script` (relative to share_dir) as `kind` with `config`.
fn start(kind: Kind, script: &str, config: &str) -> Sandbox {
    let config: toml::Table = toml::from_str(config).unwrap();
    Sandbox::start(settings(kind, share_dir().join(script), config))
        .unwrap_or_else(|e| panic!("start {script}: {e:?}"))
}

/// The payloads of the injections of one call.
fn payloads(injected: &[Injection]) -> Vec<String> {
    injected
        .iter()
        .filter_map(|i| match i {
            Injection::Payload { payload, .. } => Some(String::from_utf8_lossy(payload).into()),
            _ => None,
        })
        .collect()
}

/// Encodes `m`; returns the outcome.
fn encode_with(sb: &mut Sandbox, m: &Message) -> Outcome {
    sb.process_message(&Pack::new(m.clone()), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("terminated: {e}"))
}

/// The encoder's output for `m`: the payload it injected (status 0).
fn encode(script: &str, config: &str, m: &Message) -> String {
    let mut sb = start(Kind::Encoder, script, config);
    let out = encode_with(&mut sb, m);
    assert_eq!(out.status, 0, "{out:?}");
    let p = payloads(&out.injected);
    assert_eq!(p.len(), 1, "{out:?}");
    p[0].clone()
}

/// Runs `checks` (Lua using `check(got, want, what)`) as an encoder's `process_message` with
/// `m` as the current message.
fn lua_checks_on(m: &Message, checks: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("checks.lua");
    std::fs::write(
        &script,
        format!(
            r#"
require "string"
require "table"
local failures = {{}}
function check(got, want, what)
    if got ~= want then
        failures[#failures + 1] = string.format("%s: got %q, want %q", what, tostring(got), tostring(want))
    end
end
function process_message()
{checks}
    if #failures > 0 then error(table.concat(failures, "\n")) end
    inject_payload("txt", "", "ok")
    return 0
end
"#
        ),
    )
    .unwrap();
    let mut sb = Sandbox::start(settings(Kind::Encoder, script, toml::Table::new()))
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let out = sb
        .process_message(&Pack::new(m.clone()), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(payloads(&out.injected), ["ok"], "{out:?}");
}

#[test]
fn msg_interpolate_reads_headers_fields_and_strftime() {
    let mut m = heka_test_message();
    m.set_env_version("0.8");
    m.add_field(Field::new_bool("up", false));
    m.add_field(Field::new_double("load", 0.5));
    lua_checks_on(
        &m,
        r##"
    local interp = require "msg_interpolate"
    local i = interp.interpolate_from_msg
    check(i("%{Type}/%{Hostname}/%{Pid}/%{Logger}/%{Severity}/%{EnvVersion}"),
          "my_type/hostname/12345/Logger/4/0.8", "headers")
    check(i("%{strField}-%{intField}-%{up}-%{load}"), "0_first-123-false-0.5", "fields: first value")
    check(i("x%{nope}y"), "x%{nope}y", "unknown name is kept")
    check(i("%{Payload}"), "%{Payload}", "Payload is not interpolated")
    check(i("heka-%{%Y.%m.%d}", 1392050801), "heka-2014.02.10", "strftime on secs")
    check(i("%{%H:%M:%S}", 1392050801.9), "16:46:41", "fractional secs")
    check(i("%{}"), "%{}", "empty name")
    check(i("%{*t}"), "%{*t}", "a table from os.date is no substitution")
    check(i("no tokens"), "no tokens", "plain")
    check(select("#", i("%{Type}")), 1, "one result")
    check(#i("%{UUID}"), #read_message("Uuid"), "UUID is the header")
    check(string.match(i("%{%Y}"), "^20%d%d$") ~= nil, true, "now")
"##,
    );
}

#[test]
fn field_util_maps_fields_and_timestamps() {
    let mut m = heka_test_message();
    m.timestamp = 7_265_432_109_876_543_210;
    lua_checks_on(
        &m,
        r#"
    local fu = require "field_util"
    local set, all_base, all = fu.field_map(nil)
    check(set.Type and set.Payload and set.EnvVersion and not set.x, true, "nil: base fields")
    check(all_base, true, "nil: all_base"); check(all, false, "nil: not all")
    set, all_base, all = fu.field_map("a  b")
    check(set.a and set.b and not set.Type, true, "names"); check(all_base, false, "names: all_base")
    set, all_base, all = fu.field_map("**all** a")
    check(set.Hostname and set.a and set["**all**"], true, "**all**"); check(all, true, "all")
    set, all_base, all = fu.field_map("**all_base**")
    check(set.Pid and all_base and not all, true, "**all_base**")
    check(fu.base_fields_tag_list.Severity and not fu.base_fields_tag_list.Payload, true, "tag list")
    check(fu.message_timestamp("ms"), 7265432109876, "ms")
    check(fu.message_timestamp(nil), 7265432109876, "default ms")
    check(fu.message_timestamp("s"), 7265432109, "s")
    check(fu.message_timestamp("m"), 121090535, "m")
    check(fu.message_timestamp("h"), 2018175, "h")
    local used = fu.used_base_fields({Type = true, Pid = true})
    check(used.Type or used.Pid, nil, "skipped"); check(used.Hostname and used.Payload, true, "used")
    check(fu.field_interp("%{Hostname}.x"), "hostname.x", "field_interp")
    check(fu.field_interp("plain"), "plain", "field_interp plain")
"#,
    );
}

#[test]
fn elasticsearch_builds_bulk_index_lines() {
    lua_checks_on(
        &heka_test_message(),
        r#"
    local es = require "elasticsearch"
    check(es.bulkapi_index_json("%{Logger}-%{%Y.%m.%d}", "%{Type}", nil, 1392050801e9),
          '{"index":{"_index":"Logger-2014.02.10","_type":"my_type"}}', "index and type")
    check(es.bulkapi_index_json("i", "t", "a/%{strField}\"", nil),
          '{"index":{"_index":"i","_type":"t","_id":"a\\/0_first\\""}}', "id, cjson escapes")
    check(es.bulkapi_index_json(nil, nil, nil, nil), '{"index":{}}', "nothing")
"#,
    );
}

#[test]
fn graphite_writes_counters_and_timers() {
    lua_checks_on(
        &msg(),
        r#"
    local g = require "graphite"
    check(g.count_rate("a.b", 10, 4, 1392050801),
          "stats.counters.a.b.count 10 1392050801\nstats.counters.a.b.rate 2.500000 1392050801\n", "count_rate")
    check(g.multi_counts_rates({x = 3}, 3, 5), "stats.counters.x.count 3 5\nstats.counters.x.rate 1.000000 5\n", "multi")
    local want = "stats.timers.t.count 10 7\nstats.timers.t.count_ps 5.000000 7\n" ..
        "stats.timers.t.lower 1.000000 7\nstats.timers.t.upper 10.000000 7\n" ..
        "stats.timers.t.sum 55.000000 7\nstats.timers.t.mean 5.500000 7\n" ..
        "stats.timers.t.mean_90 5.000000 7\nstats.timers.t.upper_90 9.000000 7\n"
    check(g.timeseries_metrics("t", {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 2, 90, 7), want, "timers")
    check(g.multi_timeseries_metrics({t = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, 2, 90, 7), want, "multi timers")
    check(g.timeseries_metrics("e", {}, 2, 90, 7),
          "stats.timers.e.count 0 7\nstats.timers.e.count_ps 0.000000 7\nstats.timers.e.lower 0.000000 7\n" ..
          "stats.timers.e.upper 0.000000 7\nstats.timers.e.sum 0.000000 7\nstats.timers.e.mean 0.000000 7\n" ..
          "stats.timers.e.mean_90 0.000000 7\nstats.timers.e.upper_90 0.000000 7\n", "no times")
    local one = g.timeseries_metrics("o", {4}, 1, 90, 7)
    check(string.match(one, "mean_90 (%S+)"), "4.000000", "one time: mean_90")
    check(string.match(one, "upper_90 (%S+)"), "4.000000", "one time: upper_90")
    check(g.ns_to_sec(1392050801999999999), 1392050802, "ns_to_sec (a double)")
    check(g.ns_to_sec(1500000000), 1, "ns_to_sec floors")
"#,
    );
}

#[test]
fn alert_encoder_renders_the_alert() {
    let mut m = msg();
    m.timestamp = 1_400_077_218_123_456_789;
    m.set_hostname("ip-10-226-204-51");
    m.set_logger("FxaBrowserIdHTTPStatus");
    m.set_payload("HTTP Status - algorithm: roc col: 1 msg: detected anomaly");
    assert_eq!(
        encode("lua_encoders/alert.lua", "", &m),
        "Timestamp: 2014-05-14T14:20:18Z\nHostname: ip-10-226-204-51\n\
         Plugin: FxaBrowserIdHTTPStatus\nAlert: HTTP Status - algorithm: roc col: 1 msg: detected anomaly\n"
    );
}

#[test]
fn es_payload_puts_the_index_line_before_the_payload() {
    let mut m = heka_test_message();
    m.timestamp = 1_392_050_801_000_000_000;
    m.set_payload(r#"{"json":"data"}"#);
    let config = r#"
es_index_from_timestamp = true
index = "%{Logger}-%{%Y.%m.%d}"
type_name = "%{Type}-%{Hostname}"
id = "%{intField}"
"#;
    assert_eq!(
        encode("lua_encoders/es_payload.lua", config, &m),
        "{\"index\":{\"_index\":\"Logger-2014.02.10\",\"_type\":\"my_type-hostname\",\"_id\":\"123\"}}\n{\"json\":\"data\"}\n"
    );
    m.set_payload("{}\n");
    let out = encode("lua_encoders/es_payload.lua", "", &m);
    let (action, doc) = out.split_once('\n').unwrap();
    assert_eq!(
        doc, "{}\n",
        "a payload ending in a newline gets no second one"
    );
    // The default index is today's date (the current time, not the message's).
    let v: serde_json::Value = serde_json::from_str(action).unwrap();
    let index = v["index"]["_index"].as_str().unwrap();
    assert!(index.starts_with("heka-20") && index.len() == 15, "{index}");
    assert!(!index.starts_with("heka-2014"), "{index}");
    assert_eq!(v["index"]["_type"], "message");
    assert!(v["index"].get("_id").is_none(), "{action}");
}

#[test]
fn schema_influx_writes_influxdb_0_8_json() {
    let m = heka_test_message();
    let e = "lua_encoders/schema_influx.lua";
    // Heka's expected texts, byte for byte.
    assert_eq!(
        encode(e, "", &m),
        r#"[{"points":[[54321000,"my_type","Payload value lorem ipsum","hostname",12345,"Logger",4,"",[123,456],["0_first","0_second"],["1_first","1_second"]]],"name":"series","columns":["time","Type","Payload","Hostname","Pid","Logger","Severity","EnvVersion","intField","strField","strField2"]}]"#
    );
    assert_eq!(
        encode(
            e,
            r#"series = "series.%{Pid}.%{Type}.%{strField}.%{intField}""#,
            &m
        ),
        r#"[{"points":[[54321000,"my_type","Payload value lorem ipsum","hostname",12345,"Logger",4,"",[123,456],["0_first","0_second"],["1_first","1_second"]]],"name":"series.12345.my_type.0_first.123","columns":["time","Type","Payload","Hostname","Pid","Logger","Severity","EnvVersion","intField","strField","strField2"]}]"#
    );
    assert_eq!(
        encode(e, r#"skip_fields = "Payload strField Type""#, &m),
        r#"[{"points":[[54321000,"hostname",12345,"Logger",4,"",[123,456]]],"name":"series","columns":["time","Hostname","Pid","Logger","Severity","EnvVersion","intField"]}]"#
    );
    assert_eq!(
        encode(
            e,
            "multi_series = true\nexclude_base_fields = true\nseries = \"s.%{nope}\"\nskip_fields = \"strField\"",
            &m
        ),
        r#"[{"points":[[54321000,123]],"name":"s.%{nope}.intField","columns":["time","value"]},{"points":[[54321000,"first"]],"name":"s.%{nope}.byteField","columns":["time","value"]}]"#
    );
}

#[test]
fn statmetric_influx_writes_one_series_per_stat() {
    let mut m = msg();
    m.add_field(Field::new_double("stats.counters.a.rate", 0.5));
    m.add_field(Field::new_integer("timestamp", 1_408_404_848));
    m.add_field(Field::new_integer("stats.counters.a.count", 78271));
    m.add_field(Field::new_bytes("raw", "x"));
    assert_eq!(
        encode("lua_encoders/statmetric_influx.lua", "", &m),
        r#"[{"points":[[1408404848000,0.5]],"name":"stats.counters.a.rate","columns":["time","value"]},{"points":[[1408404848000,78271]],"name":"stats.counters.a.count","columns":["time","value"]}]"#
    );
    let mut sb = start(Kind::Encoder, "lua_encoders/statmetric_influx.lua", "");
    let out = encode_with(&mut sb, &msg());
    assert_eq!(out.status, -1, "no timestamp field");
    assert!(out.injected.is_empty());
}

const INFLUX_LINES: &str = "\
intField,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=123.000000 54321000
intField_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=456.000000 54321000
strField,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"0_first\" 54321000
strField_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"0_second\" 54321000
strField_fidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"1_first\" 54321000
strField_fidx_1_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"1_second\" 54321000
byteField,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"first\" 54321000
byteField_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"second\" 54321000
";

#[test]
fn schema_influx_line_writes_heka_s_lines_in_message_order() {
    let m = heka_test_message();
    let e = "lua_encoders/schema_influx_line.lua";
    // Heka's test lines (which it wrote in hash order).
    assert_eq!(encode(e, "", &m), INFLUX_LINES);
    assert_eq!(
        encode(e, r#"skip_fields = "strField""#, &m),
        "intField,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=123.000000 54321000\n\
         intField_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=456.000000 54321000\n\
         byteField,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"first\" 54321000\n\
         byteField_vidx_1,Logger=Logger,Type=my_type,Severity=4,Hostname=hostname value=\"second\" 54321000\n"
    );
    let tags = "Logger=Logger,Hostname=hostname,strField=0_first,strField_vidx_1=0_second,\
                strField_fidx_1=1_first,strField_fidx_1_vidx_1=1_second";
    assert_eq!(
        encode(
            e,
            "tag_fields = \"Hostname Logger strField\"\nskip_fields = \"strField\"",
            &m
        ),
        format!(
            "intField,{tags} value=123.000000 54321000\nintField_vidx_1,{tags} value=456.000000 54321000\n\
             byteField,{tags} value=\"first\" 54321000\nbyteField_vidx_1,{tags} value=\"second\" 54321000\n"
        )
    );
}

#[test]
fn schema_influx_line_options_escaping_and_types() {
    let mut m = msg();
    m.timestamp = 1_434_932_024_123_456_789;
    m.set_hostname("my host,1");
    m.set_type("stats.loadavg");
    m.severity = Some(6);
    m.add_field(Field::new_double("1MinAvg", 0.11));
    m.add_field(Field::new_string("say", r#"a "quoted" word"#));
    m.add_field(Field::new_bool("up", true));
    m.add_field(Field::new_string("Environment", "dev"));
    m.add_field(Field::new_integer("big count", -7));
    let e = "lua_encoders/schema_influx_line.lua";
    assert_eq!(
        encode(
            e,
            r#"
tag_fields = "Hostname Environment"
skip_fields = "**all_base** Environment"
timestamp_precision = "s"
decimal_precision = "2"
name_prefix = "%{Type}"
name_prefix_delimiter = "."
value_field_key = "v"
"#,
            &m
        ),
        "stats.loadavg.1MinAvg,Hostname=my\\ host\\,1,Environment=dev v=0.11 1434932024\n\
         stats.loadavg.say,Hostname=my\\ host\\,1,Environment=dev v=\"a \\\"quoted\\\" word\" 1434932024\n\
         stats.loadavg.up,Hostname=my\\ host\\,1,Environment=dev v=true 1434932024\n\
         stats.loadavg.big\\ count,Hostname=my\\ host\\,1,Environment=dev v=-7.00 1434932024\n"
    );
    // **all** makes every dynamic field a tag too; an empty Logger makes no tag.
    assert_eq!(
        encode(
            e,
            "tag_fields = \"**all**\"\nsource_value_field = \"1MinAvg\"\nname_prefix = \"load\"\ntimestamp_precision = \"m\"",
            &m
        ),
        "load,Type=stats.loadavg,Severity=6,Hostname=my\\ host\\,1,1MinAvg=0.11,\
         say=a\\ \"quoted\"\\ word,up=true,Environment=dev,big\\ count=-7 value=0.110000 23915533\n"
    );
    // A message without fields gives no line (Heka's module failed, and with it the encoder).
    let mut sb = start(Kind::Encoder, e, "timestamp_precision = \"h\"");
    let out = encode_with(&mut sb, &msg());
    assert_eq!(payloads(&out.injected), ["\n"], "{out:?}");
    let out = encode_with(&mut sb, &m);
    assert_eq!(out.status, 0, "the encoder lives on: {out:?}");
    assert!(payloads(&out.injected)[0].contains("up,Type=stats.loadavg,Severity=6,"));
}

#[test]
fn schema_carbon_line_writes_numeric_fields() {
    let mut m = msg();
    m.timestamp = 1_434_932_023_900_000_000;
    m.set_hostname("myhost");
    m.set_type("stats.loadavg");
    m.add_field(Field::new_double("1MinAvg", 0.12));
    m.add_field(Field::new_double("5MinAvg", 0.11));
    m.add_field(Field::new_integer("NumProcesses", 412));
    m.add_field(Field::new_string("Environment", "dev"));
    m.add_field(Field::new_double("neg", -1.5));
    m.add_field(Field::new_double("huge", 1e20));
    m.add_field(Field::new_bool("up", true));
    m.add_field(Field::new_string("numeric text", "42"));
    m.add_field(Field::new_integers("a.b-c", &[1, 2]));
    let e = "lua_encoders/schema_carbon_line.lua";
    assert_eq!(
        encode(
            e,
            r#"
name_prefix = "%{Environment}.%{Hostname}.%{Type}"
skip_fields = "**all_base** NumProcesses Environment"
"#,
            &m
        ),
        "dev.myhost.stats.loadavg.1MinAvg 0.12 1434932023\n\
         dev.myhost.stats.loadavg.5MinAvg 0.11 1434932023\n\
         dev.myhost.stats.loadavg.numeric_text 42 1434932023\n\
         dev.myhost.stats.loadavg.a_b_c 1 1434932023\n\
         dev.myhost.stats.loadavg.a_b_c_vidx_1 2 1434932023\n"
    );
    // Without a prefix the names start with the delimiter, as in Heka.
    assert_eq!(
        encode(
            e,
            "source_value_field = \"NumProcesses\"\nname_prefix = \"procs\"",
            &m
        ),
        "procs 412 1434932023\n"
    );
    assert!(encode(e, "", &m).starts_with(".1MinAvg 0.12 1434932023\n.5MinAvg 0.11 "));
    assert!(encode(e, "name_prefix_delimiter = \"/\"", &m).starts_with("/1MinAvg "));
}

const CBUF_1: &str = "{\"time\":1410823460,\"rows\":5,\"columns\":5,\"seconds_per_row\":5,\"column_info\":[{\"name\":\"HTTP_200\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"HTTP_300\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"HTTP_400\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"HTTP_500\",\"unit\":\"count\",\"aggregation\":\"sum\"},{\"name\":\"HTTP_UNKNOWN\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}
1\t2\t3\t4\t5
6\t7\t8\t9\t10
11\t12\t13\t14\t15
16\t17\t18\t19\t20
21\t22\t23\t24\t25
";

/// The gauges Heka's test expects: `(value, time, column)`.
fn gauges(list: &[(u32, u64, &str)]) -> String {
    let g: Vec<String> = list
        .iter()
        .map(|(v, t, n)| {
            format!(r#"{{"value":{v},"measure_time":{t},"name":"HTTP_{n}","source":"hostname"}}"#)
        })
        .collect();
    format!(r#"{{"gauges":[{}]}}"#, g.join(","))
}

#[test]
fn cbuf_librato_sends_the_rows_elapsed() {
    let mut m = heka_test_message();
    m.fields.clear();
    m.add_field(Field::new_string("payload_name", "http"));
    m.set_payload(CBUF_1);
    let mut sb = start(Kind::Encoder, "lua_encoders/cbuf_librato.lua", "");
    let cols = ["200", "300", "400", "500", "UNKNOWN"];
    let mut want = Vec::new();
    for row in 0..4u32 {
        for (c, n) in cols.iter().enumerate() {
            want.push((row * 5 + c as u32 + 1, 1410823460 + u64::from(row) * 5, *n));
        }
    }
    let out = encode_with(&mut sb, &m);
    assert_eq!(payloads(&out.injected), [gauges(&want)]);
    // Heka's second step: three rows later, nan cells left out.
    let second = CBUF_1.replace("1410823460", "1410823475").replace(
        "1\t2\t3\t4\t5\n6\t7\t8\t9\t10\n11\t12\t13\t14\t15\n16\t17\t18\t19\t20\n21\t22\t23\t24\t25\n",
        "16\t17\t18\t19\t20\n21\t22\t23\t24\t25\n1\t2\t3\t4\t5\n6\tnan\t8\tnan\t10\n5\t4\t3\t2\t1\n",
    );
    m.set_payload(second.clone());
    let out = encode_with(&mut sb, &m);
    let mut want: Vec<_> = (0..5u32)
        .map(|c| (21 + c, 1410823480, cols[c as usize]))
        .collect();
    want.extend((0..5u32).map(|c| (1 + c, 1410823485, cols[c as usize])));
    want.extend([
        (6, 1410823490, "200"),
        (8, 1410823490, "400"),
        (10, 1410823490, "UNKNOWN"),
    ]);
    assert_eq!(payloads(&out.injected), [gauges(&want)]);
    // The same buffer again is skipped; an older one, a time off the rows, junk: failures.
    assert_eq!(encode_with(&mut sb, &m).status, -2);
    m.set_payload(CBUF_1);
    assert_eq!(encode_with(&mut sb, &m).status, -1, "older");
    m.set_payload(second.replace("1410823475", "1410823477"));
    assert_eq!(encode_with(&mut sb, &m).status, -1, "not whole rows");
    for junk in ["", "5\n1\n2\n3\n", "{\"time\":1}\n1\n2\n3\n", "not json"] {
        m.set_payload(junk);
        assert_eq!(encode_with(&mut sb, &m).status, -1, "{junk:?}");
    }
    // Another key starts from the first row; message_key picks the key.
    let mut sb = start(
        Kind::Encoder,
        "lua_encoders/cbuf_librato.lua",
        r#"message_key = "%{Hostname}""#,
    );
    m.set_payload(second);
    let out = encode_with(&mut sb, &m);
    assert!(
        payloads(&out.injected)[0]
            .starts_with(r#"{"gauges":[{"value":16,"measure_time":1410823475,"#)
    );
    m.set_payload(CBUF_1.replace("1\t2\t3\t4\t5", "1\tx\t3\t4\t5"));
    let mut sb = start(Kind::Encoder, "lua_encoders/cbuf_librato.lua", "");
    assert_eq!(encode_with(&mut sb, &m).status, -1, "a non-numeric cell");
}

#[test]
fn cbuf_librato_keeps_its_last_times_with_preserve_data() {
    let dir = tempfile::tempdir().unwrap();
    let start_preserved = || {
        let mut s = settings(
            Kind::Encoder,
            share_dir().join("lua_encoders/cbuf_librato.lua"),
            toml::Table::new(),
        );
        s.preservation = Some(dir.path().join("librato.data"));
        Sandbox::start(s).unwrap()
    };
    let mut m = heka_test_message();
    m.set_payload(CBUF_1);
    let mut sb = start_preserved();
    assert_eq!(encode_with(&mut sb, &m).status, 0);
    sb.stop().unwrap();
    // After a restart the same buffer is a duplicate: no row is sent twice.
    let mut sb = start_preserved();
    assert_eq!(encode_with(&mut sb, &m).status, -2);
    // One row later: only the row that became complete (the buffer's 4th) is sent.
    m.set_payload(CBUF_1.replace("1410823460", "1410823465"));
    let out = encode_with(&mut sb, &m);
    let cols = ["200", "300", "400", "500", "UNKNOWN"];
    let want: Vec<_> = (0..5u32)
        .map(|c| (16 + c, 1410823480, cols[c as usize]))
        .collect();
    assert_eq!(payloads(&out.injected), [gauges(&want)]);
}

#[test]
fn influx_batch_injects_batches_on_count_ticker_and_output_limit() {
    let mut m = msg();
    m.timestamp = 1_434_932_024_000_000_000;
    m.set_hostname("h");
    m.add_field(Field::new_double("load", 0.5));
    let config = "flush_count = 2\ntimestamp_precision = \"s\"\ntag_fields = \"Hostname\"";
    let mut sb = start(Kind::Filter, "lua_filters/influx_batch.lua", config);
    let line = "load,Hostname=h value=0.500000 1434932024\n";
    let process = |sb: &mut Sandbox, m: &Message| {
        let out = sb
            .process_message(&Pack::new(m.clone()), InjectBudget::AtMost(1))
            .unwrap();
        assert_eq!(out.status, 0, "{out:?}");
        out.injected
    };
    assert!(process(&mut sb, &m).is_empty());
    let batch = process(&mut sb, &m);
    assert_eq!(payloads(&batch), [line.repeat(2)]);
    let Injection::Payload {
        payload_type,
        payload_name,
        ..
    } = &batch[0]
    else {
        panic!("{batch:?}")
    };
    assert_eq!(
        (&payload_type[..], &payload_name[..]),
        (&b"txt"[..], &b"influx_line"[..])
    );
    assert!(process(&mut sb, &m).is_empty());
    let ticked = sb.timer_event(0, InjectBudget::AtMost(1)).unwrap();
    assert_eq!(payloads(&ticked), [line]);
    assert!(
        sb.timer_event(0, InjectBudget::AtMost(1))
            .unwrap()
            .is_empty(),
        "nothing pending"
    );

    // A batch that would pass output_limit is sent early; the filter lives on.
    let config: toml::Table =
        toml::from_str("timestamp_precision = \"s\"\ntag_fields = \"Hostname\"").unwrap();
    let mut s = settings(
        Kind::Filter,
        share_dir().join("lua_filters/influx_batch.lua"),
        config,
    );
    s.limits = Limits {
        output: 3 * line.len() + 1,
        ..Limits::default()
    };
    let mut sb = Sandbox::start(s).unwrap();
    for _ in 0..3 {
        assert!(process(&mut sb, &m).is_empty());
    }
    assert_eq!(payloads(&process(&mut sb, &m)), [line.repeat(3)]);
    assert_eq!(
        payloads(&sb.timer_event(0, InjectBudget::AtMost(1)).unwrap()),
        [line]
    );
    // One message whose lines cannot fit fails alone.
    m.add_field(Field::new_string("long", "x".repeat(4 * line.len())));
    let out = sb
        .process_message(&Pack::new(m.clone()), InjectBudget::AtMost(1))
        .unwrap();
    assert_eq!(out.status, -1, "{out:?}");
}
