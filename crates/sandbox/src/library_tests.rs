//! Tests of the Lua library in the repository's `share/heka/` (Heka's share_dir layout): the
//! modules' grammars and helpers, and the decoders run as a SandboxDecoder runs them.

use std::path::PathBuf;

use heka_message::{Field, Message, ValueType};
use heka_pipeline::pack::Pack;

use crate::{InjectBudget, Injection, Kind, Limits, Sandbox, Settings};

/// The repository's `share/heka`.
pub(crate) fn share_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

pub(crate) fn settings(kind: Kind, script: PathBuf, config: toml::Table) -> Settings {
    Settings {
        kind,
        script,
        module_dirs: vec![share_dir().join("lua_modules")],
        limits: Limits::default(),
        config,
        preservation: None,
        parse_time: None,
    }
}

/// Runs `checks` (Lua using `check(got, want, what)`) in a filter's `process_message` with the
/// library's modules on the path; fails with the first mismatch.
pub(crate) fn lua_checks(checks: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("checks.lua");
    std::fs::write(
        &script,
        format!(
            r#"
require "string"
local failures = {{}}
function check(got, want, what)
    if got ~= want then
        failures[#failures + 1] = string.format("%s: got %s, want %s", what, tostring(got), tostring(want))
    end
end
function process_message()
{checks}
    if #failures > 0 then error(table.concat(failures, "\n")) end
    add_to_payload("ok")
    inject_payload()
    return 0
end
require "table"
"#
        ),
    )
    .unwrap();
    let mut sb = Sandbox::start(settings(Kind::Filter, script, toml::Table::new()))
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let out = sb
        .process_message(&Pack::new(Message::default()), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("{e}"));
    let payloads: Vec<_> = out
        .injected
        .iter()
        .filter_map(|i| match i {
            Injection::Payload { payload, .. } => Some(payload.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(payloads, ["ok"], "{:?}", out.error);
}

#[test]
fn date_time_grammars_give_nanoseconds() {
    lua_checks(
        r#"
    local dt = require "date_time"
    local t = dt.rfc3339:match("1999-05-05T23:23:59.217-07:00")
    check(t.year, "1999", "year"); check(t.month, "05", "month"); check(t.sec_frac, 0.217, "frac")
    check(t.offset_sign, "-", "sign"); check(t.offset_hour, 7, "offset hour")
    check(dt.time_to_ns(t), (925946639 + 0.217 + 25200) * 1e9, "rfc3339 ns")
    check(dt.time_to_ns(dt.rfc3339:match("2014-02-10T16:46:41Z")), 1392050801e9, "Z")
    check(dt.rfc3339:match("2014-02-10t16:46:41z"), nil, "lower-case t")
    check(dt.time_to_ns(dt.clf_timestamp:match("10/Feb/2014:08:46:41 -0800")), 1392050801e9, "clf")
    check(dt.time_to_ns(dt.clf_timestamp:match("29/Feb/2000:23:59:59 +0130")), 951863399e9, "clf leap day")
    check(dt.clf_timestamp:match("1/Feb/2014:08:46:41 -0800"), nil, "one-digit day")
    -- clf_timestamp_ns (the access log grammars' fast path) agrees with the table form.
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:41 -0800"), 1392050801e9, "clf ns")
    -- The last text converted is kept with its value: a different text is converted anew,
    -- and one that does not match is refused, kept text or not.
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:42 -0800"), 1392050802e9, "clf ns next")
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:42 -0800"), 1392050802e9, "clf ns again")
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:41 -0800"), 1392050801e9, "clf ns back")
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:41 -08000"), 1392050801e9, "clf ns prefix")
    check(dt.clf_timestamp_ns:match("10/Feb/2014:08:46:4 -0800"), nil, "clf ns short")
    for day = 0, 32 do
        for _, mon in ipairs{"Jan", "Feb", "Mar", "Dec", "Foo"} do
            for _, rest in ipairs{"2000:23:59:60 +0130", "1969:00:00:00 -2359", "2014:24:00:00 +0000",
                                  "2014:08:61:00 -0800", "2014:08:46:41 *0000", "2014:08:46:41 +0160"} do
                local s = string.format("%02d/%s/%s", day, mon, rest)
                local t = dt.clf_timestamp:match(s)
                check(dt.clf_timestamp_ns:match(s), t and dt.time_to_ns(t), s)
            end
        end
    end
    check(dt.time_to_ns(nil), 0, "nil")
    check(dt.seconds_to_ns("1.5"), 1.5e9, "seconds")
    check(dt.time_to_ns(dt.mysql_timestamp:match("20140210164641")), 1392050801e9, "mysql")
    check(dt.time_to_ns(dt.pgsql_timestamp:match("2014-02-10 16:46:41")), 1392050801e9, "pgsql")

    local g = dt.build_strftime_grammar("%a, %d %b %Y %T GMT")
    check(dt.time_to_ns(g:match("Mon, 10 Feb 2014 16:46:41 GMT")), 1392050801e9, "http date")
    g = dt.build_strftime_grammar("%Y/%m/%d %I:%M:%S %p %Z")
    check(dt.time_to_ns(g:match("2014/02/10 08:46:41 AM PST")), 1392050801e9, "12h PST")
    check(dt.time_to_ns(g:match("2014/02/10 12:46:41 AM XYZ")), 1391993201e9, "12 AM unknown zone")
    check(dt.time_to_ns(g:match("2014/02/10 04:46:41 PM UTC")), 1392050801e9, "PM")
    g = dt.build_strftime_grammar("%B %e %H:%M:%S.%s")
    check(g:match("February 10 16:46:41.x"), nil, "bad %s")
    check(pcall(dt.build_strftime_grammar, "%Q"), false, "unknown specifier")
    local ok, e = pcall(dt.build_strftime_grammar, "%Q")
    check(e, "unknown strftime specifier: Q", "error text")
    g = dt.build_strftime_grammar("%s")
    check(dt.time_to_ns(g:match("1392050801")), 1392050801e9, "epoch seconds")
    local year = dt.rfc3164_timestamp:match("Feb  9 08:46:41")
    check(year.day, "9", "rfc3164 day")
    check(#year.year, 4, "rfc3164 year")
    check(dt.month_abbr[2], "Feb", "month names"); check(dt.day_names[1], "Sunday", "day names")
"#,
    );
}

#[test]
fn ip_address_grammars() {
    lua_checks(
        r#"
    local ip = require "ip_address"
    local lpeg = require "lpeg"
    local v4 = lpeg.C(ip.v4) * -1
    local v6 = lpeg.C(ip.v6) * -1
    check(v4:match("192.168.0.255"), "192.168.0.255", "v4")
    check(v4:match("256.1.1.1"), nil, "v4 range")
    check(v4:match("1.2.3"), nil, "v4 short")
    for _, a in ipairs{"::1", "::", "fe80::1:2", "2001:db8:0:0:1:0:0:1", "::ffff:192.0.2.1",
                       "2001:db8::8:800:200c:417a", "1:2:3:4:5:6:7::"} do
        check(v6:match(a), a, "v6 " .. a)
    end
    check(v6:match("1:2:3:4:5:6:7:8:9"), nil, "v6 too long")
    check(v6:match("1::2::3"), nil, "two ::")
"#,
    );
}

#[test]
fn common_log_format_builds_nginx_and_apache_grammars() {
    lua_checks(
        r#"
    local clf = require "common_log_format"
    local line = '127.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0"'
    local n = clf.build_nginx_grammar('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"')
    local a = clf.build_apache_grammar('%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"')
    for name, g in pairs{nginx = n, apache = a} do
        local f = g:match(line)
        check(f.time, 1392050801e9, name .. " time")
        check(f.remote_addr.value, "127.0.0.1", name .. " remote_addr")
        check(f.remote_addr.representation, "ipv4", name .. " remote_addr repr")
        check(f.remote_user, "-", name .. " remote_user")
        check(f.request, "GET / HTTP/1.1", name .. " request")
        check(f.status, 304, name .. " status")
        check(f.body_bytes_sent.value, 0, name .. " bytes")
        check(f.body_bytes_sent.representation, "B", name .. " bytes repr")
        check(f.http_referer, "-", name .. " referer")
        check(f.http_user_agent:sub(1, 11), "Mozilla/5.0", name .. " ua")
    end

    -- Escaped quotes inside a quoted value; hosts; upstream lists.
    local g = clf.build_nginx_grammar('$host "$request" $request_time $upstream_addr $upstream_response_time $upstream_status $upstream_response_length $msec')
    local f = g:match('www.example.com "GET /a\\"b HTTP/1.1" 0.005 10.0.0.1:80, 10.0.0.2:80 : unix:/s 0.001, -, 0.003 502, -, 200 10, 20 1392050801.250')
    check(f.host.value, "www.example.com", "hostname"); check(f.host.representation, "hostname", "hostname repr")
    check(f.request, 'GET /a\\"b HTTP/1.1', "escaped quote")
    local g2 = clf.build_nginx_grammar('"$request" $status')
    local f2 = g2:match('"a\\b c\\" d\\\\x" 200')
    check(f2 and f2.request, 'a\\b c\\" d\\\\x', "lone backslashes and an escaped quote")
    check(f2 and f2.status, 200, "status after backslashes")
    check(f.request_time.value, 0.005, "request_time"); check(f.request_time.representation, "s", "s")
    check(#f.upstream_addr, 3, "3 upstreams"); check(f.upstream_addr[3], "unix:/s", "unix socket")
    check(f.upstream_response_time.value[2], 0, "dash time"); check(f.upstream_response_time.value[3], 0.003, "time 3")
    check(f.upstream_status[1], 502, "status 1"); check(f.upstream_status[2], 0, "dash status")
    check(f.upstream_response_length.value[2], 20, "length"); check(f.upstream_response_length.representation, "B", "B")
    check(f.time, 1392050801.25e9, "msec")
    check(g:match('h "r" 0 - - - - 1.0'), nil, "request_time needs a dot")
    g = clf.build_nginx_grammar('$remote_addr $server_name')
    check(g:match("::1 h").remote_addr.representation, "ipv6", "ipv6")
    check(g:match("1.2.3.4.example.com h"), nil, "dotted-quad prefix (PEG)")
    check(g:match("999.1.1.1 h").remote_addr.representation, "hostname", "bad quad is a hostname")
    check(clf.build_nginx_grammar(""), nil, "empty format")

    -- Apache: arguments, time formats, unknown directives.
    g = clf.build_apache_grammar('%v:%p %{remote}p %D %T %{%Y-%m-%d %H:%M:%S}t %{msec_frac}t %{X-Forwarded-For}i %{hextid}P %X %%')
    f = g:match("www.example.com:8080 5555 1234 2 2014-02-10 16:46:41 250 - ff + %")
    check(f.server_name.value, "www.example.com", "server_name"); check(f.server_port, 8080, "port")
    check(f.remote_port, 5555, "remote port")
    check(f.request_time.value, 2, "last request_time wins"); check(f.request_time.representation, "s", "T unit")
    check(f.time, 1392050801e9, "strftime time"); check(f.sec_frac, 0.25, "msec_frac")
    check(f.http_x_forwarded_for, "-", "header name"); check(f.tid, 255, "hex tid")
    check(f.connection_status, "+", "X")
    check(clf.build_apache_grammar('%{msec}t'):match("1392050801250").time, 1392050801.25e9, "msec")
    check(clf.build_apache_grammar('%{begin:sec}t'):match("1392050801").time, 1392050801e9, "begin:sec")
    check(clf.build_apache_grammar('%b'):match("-").body_bytes_sent.value, 0, "%b dash")
    check(clf.build_apache_grammar('%400s'):match("200"), nil, "%400s is literal")
    check(clf.build_apache_grammar('%!200,304{Referer}i'):match("x").http_referer, "x", "condition")
    local ok, e = pcall(clf.build_apache_grammar, '%Z')
    check(e, "unknown variable: Z", "unknown directive")
    ok, e = pcall(clf.build_apache_grammar, '%{ms}T')
    check(e, "unknown variable: T", "unknown argument")
    ok, e = pcall(clf.build_apache_grammar, '%{x}p')
    check(e, "unknown port format: x", "port")
    ok, e = pcall(clf.build_apache_grammar, '%{x}P')
    check(e, "unknown pid format: x", "pid")
    ok, e = pcall(clf.build_apache_grammar, '\\x %h')
    check(ok, false, "bad escape")
    check(clf.build_apache_grammar('%h\\t\\065%u'):match("h\tAu").remote_user, "u", "escapes")
"#,
    );
}

#[test]
fn user_agents_are_normalised() {
    lua_checks(
        r#"
    local clf = require "common_log_format"
    local cases = {
        {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0", "Firefox", 26, "Linux"},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", 120, "Windows 10"},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 7_0 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Version/7.0 Mobile/11A465 Safari/9537.53", "Safari", 9537, "iPhone"},
        {"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", "MSIE", 8, "Windows 7"},
        {"Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010", "Opera Mini", 11, "Android"},
        {"Mozilla/5.0 (Mobile; rv:29.0) Gecko/29.0 Firefox/29.0", "Firefox", 29, "FirefoxOS"},
        {"curl/8.5.0", nil, nil, nil},
    }
    for _, c in ipairs(cases) do
        local b, v, o = clf.normalize_user_agent(c[1])
        check(b, c[2], c[1] .. " browser"); check(v, c[3], c[1] .. " version"); check(o, c[4], c[1] .. " os")
    end
    check(clf.normalize_user_agent(nil), nil, "nil")
"#,
    );
}

/// Decodes `line` with the library's `decoder` configured by `config` (TOML).
pub(crate) fn decode(decoder: &str, config: &str, line: &str) -> crate::Outcome {
    let script = share_dir().join("lua_decoders").join(decoder);
    let config: toml::Table = toml::from_str(config).unwrap();
    let mut sb = Sandbox::start(settings(Kind::Decoder, script, config))
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let mut m = Message::default();
    m.set_payload(line.to_string());
    sb.process_message(&Pack::new(m), InjectBudget::Unlimited)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn injected(out: &crate::Outcome) -> Message {
    let ms: Vec<_> = out
        .injected
        .iter()
        .filter_map(|i| match i {
            Injection::Message { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ms.len(), 1, "{out:?}");
    ms[0].clone()
}

pub(crate) fn field(m: &Message, name: &str) -> Field {
    m.find_first_field(name.as_bytes())
        .unwrap_or_else(|| panic!("no field {name} in {m:?}"))
        .clone()
}

const LINE: &str = r#"127.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0""#;

#[test]
fn nginx_and_apache_decoders_make_heka_messages() {
    let nginx = r#"
type = "nginx.access"
user_agent_transform = true
log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
"#;
    let apache = r#"
type = "nginx.access"
user_agent_transform = true
log_format = '%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"'
"#;
    for (decoder, config) in [("nginx_access.lua", nginx), ("apache_access.lua", apache)] {
        let m = injected(&decode(decoder, config, LINE));
        assert_eq!(m.timestamp, 1_392_050_801_000_000_000, "{decoder}");
        assert_eq!(m.type_bytes(), b"nginx.access");
        assert_eq!(m.payload_bytes(), b"", "payload_keep is off");
        let addr = field(&m, "remote_addr");
        assert_eq!(addr.value_string, ["127.0.0.1"]);
        assert_eq!(addr.representation_bytes(), b"ipv4");
        assert_eq!(field(&m, "remote_user").value_string, ["-"]);
        assert_eq!(field(&m, "request").value_string, ["GET / HTTP/1.1"]);
        assert_eq!(field(&m, "status").value_double, [304.0]);
        assert_eq!(
            field(&m, "status").value_type,
            Some(ValueType::Double as i32)
        );
        let bytes = field(&m, "body_bytes_sent");
        assert_eq!(bytes.value_double, [0.0]);
        assert_eq!(bytes.representation_bytes(), b"B");
        assert_eq!(field(&m, "http_referer").value_string, ["-"]);
        assert_eq!(field(&m, "user_agent_browser").value_string, ["Firefox"]);
        assert_eq!(field(&m, "user_agent_version").value_double, [26.0]);
        assert_eq!(field(&m, "user_agent_os").value_string, ["Linux"]);
        assert!(m.find_first_field(b"http_user_agent").is_none(), "{m:?}");
        assert!(m.find_first_field(b"time").is_none(), "{m:?}");
        assert_eq!(m.fields.len(), 9, "{m:?}");
    }
}

#[test]
fn decoder_options_keep_the_user_agent_and_payload() {
    let config = r#"
user_agent_transform = true
user_agent_conditional = true
payload_keep = true
log_format = '$remote_addr "$http_user_agent"'
"#;
    let m = injected(&decode("nginx_access.lua", config, r#"::1 "curl/8.5.0""#));
    assert_eq!(m.payload_bytes(), br#"::1 "curl/8.5.0""#);
    assert_eq!(field(&m, "http_user_agent").value_string, ["curl/8.5.0"]);
    assert_eq!(field(&m, "remote_addr").representation_bytes(), b"ipv6");
    assert!(m.find_first_field(b"user_agent_browser").is_none());
    assert_eq!(m.type_bytes(), b"", "no type: the host back-fills it");
    let m = injected(&decode(
        "nginx_access.lua",
        config,
        r#"::1 "Mozilla/5.0 (X11; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0""#,
    ));
    assert!(m.find_first_field(b"http_user_agent").is_none(), "{m:?}");
    let keep = config.replace("user_agent_conditional", "user_agent_keep");
    let m = injected(&decode(
        "nginx_access.lua",
        &keep,
        r#"::1 "Mozilla/5.0 (X11; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0""#,
    ));
    assert_eq!(field(&m, "user_agent_browser").value_string, ["Firefox"]);
    assert!(m.find_first_field(b"http_user_agent").is_some(), "{m:?}");

    let out = decode("apache_access.lua", config, "not a log line");
    assert_eq!(out.status, -1);
    assert!(out.injected.is_empty());
}

#[test]
fn syslog_builds_rsyslog_grammars() {
    lua_checks(
        r#"
    local syslog = require "syslog"
    local g = syslog.build_rsyslog_grammar('%pri% %TIMESTAMP% %TIMEGENERATED:::date-rfc3339% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n')
    local f = g:match("28 Feb 10 12:58:58 2014-02-10T12:58:59-08:00 testhost widget[4322]: test message.\n")
    check(f.pri.facility, 3, "facility"); check(f.pri.severity, 4, "severity")
    check(f.timegenerated, 1392065939e9, "timegenerated")
    check(f.hostname, "testhost", "hostname")
    check(f.syslogtag.programname, "widget", "programname"); check(f.syslogtag.pid, 4322, "pid")
    check(f.msg, "test message.", "msg")
    check(f.timestamp % 86400e9, (12 * 3600 + 58 * 60 + 58) * 1e9, "rfc3164 time of day")

    g = syslog.build_rsyslog_grammar('[%msg%]')
    check(g:match("[a]"), nil, "the delimiter of msg is the literal before it, so msg eats the ]")
    check(syslog.build_rsyslog_grammar('%msg%\\n'):match("a]\n").msg, "a]", "msg ends at a newline")
    g = syslog.build_rsyslog_grammar('<%pri-text%> %syslogfacility-text% %syslogseverity-text% %timestamp:::date-unixtimestamp% %structured-data% %app-name%')
    f = g:match('<authpriv.warn<84>> AUTHPRIV err 1392065939 [ex@1 a="x\\"y" b="2"] app')
    check(f["pri-text"], 10, "pri-text keeps the facility")
    check(f["syslogfacility-text"], 10, "authpriv parses")
    check(f["syslogseverity-text"], 3, "err")
    check(f.timestamp, 1392065939e9, "unix timestamp")
    check(f["structured-data"].id, "ex@1", "sd id"); check(f["structured-data"]._a, 'x"y', "sd param")
    check(f["app-name"], "app", "app-name")
    check(g:match('<authpriv.warn<84>> AUTHPRIV err 1392065939 - app')["structured-data"].id, nil, "no sd")
    check(syslog.severity:match("warning"), 4, "severity grammar")
    check(syslog.build_rsyslog_grammar('%pri%'):match(""), nil, "pri needs a digit")
    local ok, e = pcall(syslog.build_rsyslog_grammar, '%nope%')
    check(e, "invalid rsyslog property: 'nope'", "unknown property")
"#,
    );
}

#[test]
fn rsyslog_decoder_makes_heka_messages() {
    let config = r#"
type = "RSYSLOG_TraditionalFileFormat"
template = '%pri% %TIMESTAMP% %TIMEGENERATED:::date-rfc3339% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n'
"#;
    let m = injected(&decode(
        "rsyslog.lua",
        config,
        "28 Feb 10 12:58:58 2014-02-10T12:58:59-08:00 testhost widget[4322]: test message.\n",
    ));
    assert_eq!(m.severity, Some(4));
    assert_eq!(m.pid, Some(4322));
    assert_eq!(m.hostname_bytes(), b"testhost");
    assert_eq!(m.payload_bytes(), b"test message.");
    assert_eq!(m.type_bytes(), b"RSYSLOG_TraditionalFileFormat");
    assert_eq!(field(&m, "syslogfacility").value_double, [3.0]);
    assert_eq!(field(&m, "programname").value_string, ["widget"]);
    assert_eq!(field(&m, "timegenerated").value_double, [1.392065939e18]);
    assert_eq!(m.fields.len(), 3, "{m:?}");
    // Feb 10 12:58:58 of the current year, read as UTC (hekad's `tz` re-zones it).
    assert_eq!(
        m.timestamp.rem_euclid(86_400_000_000_000),
        (12 * 3600 + 58 * 60 + 58) * 1_000_000_000
    );

    let keep = format!("hostname_keep = true\n{config}");
    let sd = r#"
template = '%timestamp:::date-rfc3339% %hostname% %structured-data% %msg%'
"#;
    let m = injected(&decode(
        "rsyslog.lua",
        &format!("hostname_keep = true\n{sd}"),
        r#"2014-02-10T12:58:59Z h1 [origin@1 ip="10.0.0.1"] hello"#,
    ));
    assert_eq!(m.timestamp, 1_392_037_139_000_000_000);
    assert_eq!(
        m.hostname_bytes(),
        b"",
        "hostname_keep leaves Hostname to the input"
    );
    assert_eq!(field(&m, "hostname").value_string, ["h1"]);
    assert_eq!(field(&m, "structured-data.id").value_string, ["origin@1"]);
    assert_eq!(field(&m, "structured-data._ip").value_string, ["10.0.0.1"]);
    assert_eq!(m.payload_bytes(), b"hello");
    let out = decode("rsyslog.lua", &keep, "not syslog");
    assert_eq!(out.status, -1);
}
