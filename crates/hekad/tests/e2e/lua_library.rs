//! The Lua plugin library in the repository's `share/heka/` (Heka's share_dir layout), run by
//! the real hekad as users' Heka configs use it: `filename = "lua_decoders/nginx_access.lua"`
//! with Heka's `[x.config]` options. Real nginx and Apache write access logs for requests made
//! with curl, LogstreamerInput tails them, and the messages FileOutput writes must carry the
//! fields, types and representations Heka's decoders gave them.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use heka_message::{Field, Message, ValueType};

use crate::producers::{Producer, curl, free_port, now_ns, site, start_nginx};
use crate::support::*;

/// The repository's `share/heka`, hekad's `share_dir` in these tests.
fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

fn field<'a>(m: &'a Message, name: &str) -> &'a Field {
    m.find_first_field(name.as_bytes())
        .unwrap_or_else(|| panic!("no field {name} in {m:?}"))
}

/// A string field's only value and its representation.
fn string(m: &Message, name: &str) -> (String, String) {
    let f = field(m, name);
    assert_eq!(f.value_type, None, "{name} is a string: {f:?}");
    assert_eq!(f.value_string.len(), 1, "{f:?}");
    (
        String::from_utf8_lossy(&f.value_string[0]).into_owned(),
        String::from_utf8_lossy(f.representation_bytes()).into_owned(),
    )
}

/// A double field's only value and its representation (Lua numbers are doubles).
fn double(m: &Message, name: &str) -> (f64, String) {
    let f = field(m, name);
    assert_eq!(
        f.value_type,
        Some(ValueType::Double as i32),
        "{name}: {f:?}"
    );
    assert_eq!(f.value_double.len(), 1, "{f:?}");
    (
        f.value_double[0],
        String::from_utf8_lossy(f.representation_bytes()).into_owned(),
    )
}

/// hekad tailing `access.log` in `logs` into `decoder` (one of the library's) configured with
/// `log_format`, writing the decoded messages to `out.log` in `state`.
fn tail_config(decoder: &str, log_format: &str, logs: &Path, state: &Path) -> String {
    format!(
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
filename = "lua_decoders/{decoder}"

[AccessLogDecoder.config]
type = "web.access"
user_agent_transform = true
user_agent_conditional = true
log_format = '{log_format}'

[out]
type = "FileOutput"
message_matcher = "Type == 'web.access'"
path = "{state}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        logs = logs.display(),
        state = state.display(),
        share = share_dir().display(),
    )
}

/// Request `i`: its path, user agent, referer, expected status, and the browser, version and
/// OS the decoder should find (none for curl's agent, whose `http_user_agent` is then kept).
struct Request {
    path: String,
    agent: &'static str,
    referer: Option<String>,
    status: f64,
    ua: Option<Agent>,
}

/// What the decoder finds in a user agent: browser, version, OS.
type Agent = (&'static str, f64, &'static str);

fn request(i: usize) -> Request {
    const AGENTS: [(&str, Option<Agent>); 3] = [
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0",
            Some(("Firefox", 26.0, "Linux")),
        ),
        (
            "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            Some(("Chrome", 120.0, "Windows 7")),
        ),
        ("curl/8.5.0 (e2e)", None),
    ];
    let (agent, ua) = AGENTS[i % 3];
    let missing = i.is_multiple_of(4);
    Request {
        path: if missing {
            format!("/missing/{i}?q={i}")
        } else {
            "/index.html".into()
        },
        agent,
        referer: i
            .is_multiple_of(2)
            .then(|| format!("http://referer.example/page/{i}")),
        status: if missing { 404.0 } else { 200.0 },
        ua,
    }
}

/// Makes requests `0..n` against `port` with curl.
fn make_requests(port: u16, n: usize) {
    for i in 0..n {
        let r = request(i);
        curl(port, &r.path, r.agent, r.referer.as_deref());
    }
}

/// Checks the fields nginx and Apache share (Heka's names for both) for request `i`, and a
/// whole-second Timestamp between `started` and now.
fn check_common(m: &Message, i: usize, started: i64) {
    let r = request(i);
    assert_eq!(m.type_bytes(), b"web.access", "{m:?}");
    assert_eq!(m.logger_bytes(), b"AccessLogInput", "{m:?}");
    assert_eq!(m.payload_bytes(), b"", "payload_keep is off: {m:?}");
    assert_eq!(
        string(m, "remote_addr"),
        ("127.0.0.1".into(), "ipv4".into())
    );
    assert_eq!(string(m, "remote_user"), ("-".into(), "".into()));
    assert_eq!(
        string(m, "request"),
        (format!("GET {} HTTP/1.1", r.path), "".into())
    );
    assert_eq!(double(m, "status"), (r.status, "".into()), "{m:?}");
    let referer = r.referer.unwrap_or_else(|| "-".into());
    assert_eq!(string(m, "http_referer"), (referer, "".into()));
    match r.ua {
        Some((browser, version, os)) => {
            assert_eq!(string(m, "user_agent_browser").0, browser, "{m:?}");
            assert_eq!(double(m, "user_agent_version").0, version, "{m:?}");
            assert_eq!(string(m, "user_agent_os").0, os, "{m:?}");
            assert!(m.find_first_field(b"http_user_agent").is_none(), "{m:?}");
        }
        None => {
            assert_eq!(string(m, "http_user_agent").0, r.agent, "{m:?}");
            assert!(m.find_first_field(b"user_agent_browser").is_none(), "{m:?}");
        }
    }
    assert!(m.find_first_field(b"time").is_none(), "{m:?}");
    let ts = m.timestamp;
    assert!(
        ts >= started - started % 1_000_000_000 && ts <= now_ns(),
        "timestamp {ts} not within the test (from {started}): {m:?}"
    );
    assert_eq!(ts % 1_000_000_000, 0, "the log has whole seconds: {m:?}");
}

/// An nginx `log_format` beyond `combined`: numbers with units, a port, the scheme.
const NGINX_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $request_length $server_port $scheme $request_method"#;

#[test]
fn nginx_access_decodes_a_real_nginx_log() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    let _nginx = start_nginx(
        dir.path(),
        port,
        &html,
        &dir.path().join("nginx-error.log"),
        "",
        &format!(
            "log_format heka '{NGINX_FORMAT}';\n    access_log {}/access.log heka;",
            logs.display()
        ),
        "",
    );

    let started = now_ns();
    let mut h = Hekad::start(&tail_config(
        "nginx_access.lua",
        NGINX_FORMAT,
        &logs,
        &state,
    ));
    make_requests(port, 12);
    let got = wait_framed(&state.join("out.log"), 12);
    assert_eq!(got.len(), 12, "{got:#?}");
    for (i, m) in got.iter().enumerate() {
        check_common(m, i, started);
        let (bytes, unit) = double(m, "body_bytes_sent");
        assert!(bytes > 0.0 && bytes.fract() == 0.0, "{m:?}");
        assert_eq!(unit, "B");
        let (secs, unit) = double(m, "request_time");
        assert!((0.0..60.0).contains(&secs), "{m:?}");
        assert_eq!(unit, "s");
        let (len, unit) = double(m, "request_length");
        assert!(len > 0.0, "{m:?}");
        assert_eq!(unit, "B");
        assert_eq!(double(m, "server_port"), (f64::from(port), "".into()));
        assert_eq!(string(m, "scheme"), ("http".into(), "".into()));
        assert_eq!(string(m, "request_method"), ("GET".into(), "".into()));
    }
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn apache_access_decodes_a_real_apache_log() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    // Debian's `combined` plus the time taken (%D, microseconds) and the local port.
    let format = r#"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D %{local}p"#;
    let conf = dir.path().join("apache2.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
ServerRoot {d}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {d}/apache2.pid
DefaultRuntimeDir {d}
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
User www-data
Group www-data
ErrorLog {d}/apache2-error.log
LogFormat "{format}" heka
CustomLog {logs}/access.log heka
DocumentRoot {html}
<Directory {html}>
    Require all granted
</Directory>
"#,
            d = dir.path().display(),
            logs = logs.display(),
            html = html.display()
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let mut apache = Producer::start(
        "apache2",
        "apache2",
        &["-f", &conf_arg, "-DFOREGROUND"],
        dir.path(),
    );
    apache.wait_listening(port);

    let started = now_ns();
    // The config holds the format as apache2.conf does (with \" escapes), as Heka's docs show.
    let mut h = Hekad::start(&tail_config("apache_access.lua", format, &logs, &state));
    make_requests(port, 12);
    let got = wait_framed(&state.join("out.log"), 12);
    assert_eq!(got.len(), 12, "{got:#?}");
    for (i, m) in got.iter().enumerate() {
        check_common(m, i, started);
        let (bytes, unit) = double(m, "response_length");
        assert!(bytes > 0.0 && bytes.fract() == 0.0, "{m:?}");
        assert_eq!(unit, "B");
        let (us, unit) = double(m, "request_time");
        assert!(us >= 0.0 && us.fract() == 0.0, "{m:?}");
        assert_eq!(unit, "us");
        assert_eq!(double(m, "server_port"), (f64::from(port), "".into()));
    }
    assert!(h.stop().success(), "{}", h.stderr());
}

/// Heka's documented example, sent as lines over TCP: the exact message Heka's decoder made
/// (Timestamp from the line's offset, Type from the config, Fields with representations),
/// `payload_keep`, and a line that does not match, which is dropped.
#[test]
fn nginx_access_makes_hekas_documented_message() {
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/base"
share_dir = "{share}"

[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "NginxAccessDecoder"

[NginxAccessDecoder]
type = "SandboxDecoder"
filename = "lua_decoders/nginx_access.lua"

[NginxAccessDecoder.config]
type = "fxa-auth-server"
payload_keep = true
log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"'

[out]
type = "FileOutput"
message_matcher = "Type == 'fxa-auth-server'"
path = "{{dir}}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        share = share_dir().display()
    ));
    let port = h.listening("TcpInput");
    let good = r#"62.195.113.219 - - [10/Jan/2014:07:04:56 -0800] "GET /v1/recovery_email/status HTTP/1.1" 200 82 "-" "Mozilla/5.0 (Mobile; rv:29.0) Gecko/29.0 Firefox/29.0" "-""#;
    let second = r#"2001:db8::1 - alice [10/Jan/2014:15:04:57 +0000] "POST /a\"b HTTP/1.1" 404 0 "http://r.example/" "curl/8" "10.0.0.1, 10.0.0.2""#;
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(c, "{good}\nnot an access log line\n{second}\n").unwrap();
    let got = wait_framed(&h.path("out.log"), 2);
    assert_eq!(
        got.len(),
        2,
        "the line that does not match is dropped: {got:#?}"
    );

    let m = &got[0];
    // 2014-01-10 07:04:56 -0800 PST
    assert_eq!(m.timestamp, 1_389_366_296_000_000_000, "{m:?}");
    assert_eq!(m.type_bytes(), b"fxa-auth-server");
    assert_eq!(m.logger_bytes(), b"TcpInput", "back-filled from the input");
    assert_eq!(m.payload_bytes(), format!("{good}\n").as_bytes());
    assert_eq!(
        string(m, "remote_addr"),
        ("62.195.113.219".into(), "ipv4".into())
    );
    assert_eq!(string(m, "remote_user"), ("-".into(), "".into()));
    assert_eq!(
        string(m, "request"),
        ("GET /v1/recovery_email/status HTTP/1.1".into(), "".into())
    );
    assert_eq!(double(m, "status"), (200.0, "".into()));
    assert_eq!(double(m, "body_bytes_sent"), (82.0, "B".into()));
    assert_eq!(string(m, "http_referer"), ("-".into(), "".into()));
    assert_eq!(
        string(m, "http_user_agent").0,
        "Mozilla/5.0 (Mobile; rv:29.0) Gecko/29.0 Firefox/29.0",
        "no user_agent_transform"
    );
    assert_eq!(string(m, "http_x_forwarded_for"), ("-".into(), "".into()));
    assert_eq!(m.fields.len(), 8, "{m:?}");

    let m = &got[1];
    assert_eq!(m.timestamp, 1_389_366_297_000_000_000, "{m:?}");
    assert_eq!(
        string(m, "remote_addr"),
        ("2001:db8::1".into(), "ipv6".into())
    );
    assert_eq!(string(m, "remote_user"), ("alice".into(), "".into()));
    assert_eq!(
        string(m, "request"),
        (r#"POST /a\"b HTTP/1.1"#.into(), "".into()),
        "an escaped quote stays in the value"
    );
    assert_eq!(double(m, "status"), (404.0, "".into()));
    assert_eq!(
        string(m, "http_x_forwarded_for"),
        ("10.0.0.1, 10.0.0.2".into(), "".into())
    );
    assert!(h.stop().success(), "{}", h.stderr());
}

/// Real rsyslog writes datagrams from logger(1) with a string template that carries the
/// priority, both times and the tag; the library's rsyslog decoder, given the same template,
/// makes Heka's messages: Severity and syslogfacility from the priority, Pid and programname
/// from the tag, Hostname, Payload, Timestamp, and timegenerated (RFC 3339) as a field.
#[test]
fn rsyslog_decodes_a_real_rsyslog_file() {
    use std::process::Command;

    use crate::producers::which;

    let dir = tempfile::tempdir().unwrap();
    let (logs, state, work) = (
        dir.path().join("logs"),
        dir.path().join("state"),
        dir.path().join("rsyslog"),
    );
    for d in [&logs, &state, &work] {
        std::fs::create_dir(d).unwrap();
    }
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    // The template as rsyslog.conf writes it and as Heka's decoder config takes it.
    let template = r#"%pri% %TIMESTAMP% %TIMEGENERATED:::date-rfc3339% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n"#;
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}")
template(name="heka" type="string" string="{template}")
user.*;local3.* action(type="omfile" file="{logs}/syslog" template="heka")
"#,
            work = work.display(),
            logs = logs.display()
        ),
    )
    .unwrap();
    let conf_arg = conf.display().to_string();
    let pid_arg = dir.path().join("rsyslog.pid").display().to_string();
    let _rsyslog = Producer::start(
        "rsyslogd",
        "rsyslogd",
        &["-n", "-f", &conf_arg, "-i", &pid_arg],
        dir.path(),
    );
    let syslog = logs.join("syslog");
    // One RFC 3164 datagram per call, its time in UTC.
    let send = |tag: &str, priority: &str, i: usize| {
        let ok = Command::new(which("logger"))
            .env("TZ", "UTC")
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-d",
                "--rfc3164",
            ])
            .args(["-t", tag, "-p", priority, &format!("--id={}", 4000 + i)])
            .arg(format!("request {i} done status=ok"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "logger {i}");
    };
    // rsyslog drops what arrives before it listens: probe until the file appears.
    wait_for("rsyslog to write its file", 20, || {
        send("e2eprobe", "user.info", 0);
        std::thread::sleep(std::time::Duration::from_millis(100));
        syslog.exists().then_some(())
    });

    let started = now_ns();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{state}/base"
share_dir = "{share}"

[SyslogInput]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'syslog'
check_data_interval = "20ms"
decoder = "RsyslogDecoder"

[RsyslogDecoder]
type = "SandboxDecoder"
filename = "lua_decoders/rsyslog.lua"

[RsyslogDecoder.config]
type = "RSYSLOG_heka"
template = '{template}'
tz = "UTC"

[out]
type = "FileOutput"
message_matcher = "Type == 'RSYSLOG_heka' && Fields[programname] == 'e2eapp'"
path = "{state}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        logs = logs.display(),
        state = state.display(),
        share = share_dir().display(),
    ));
    // user.notice is priority 13, local3.warning 156.
    for i in 1..=6 {
        let priority = if i % 2 == 0 {
            "local3.warning"
        } else {
            "user.notice"
        };
        send("e2eapp", priority, i);
    }
    let got = wait_framed(&state.join("out.log"), 6);
    assert_eq!(got.len(), 6, "{got:#?}");
    for (n, m) in got.iter().enumerate() {
        let i = n + 1;
        let (severity, facility) = if i % 2 == 0 { (4, 19.0) } else { (5, 1.0) };
        assert_eq!(m.severity, Some(severity), "{m:?}");
        assert_eq!(double(m, "syslogfacility"), (facility, "".into()));
        assert_eq!(m.pid, Some(4000 + i as i32), "{m:?}");
        assert_eq!(string(m, "programname"), ("e2eapp".into(), "".into()));
        assert_eq!(
            m.payload_bytes(),
            format!("request {i} done status=ok").as_bytes()
        );
        assert!(!m.hostname_bytes().is_empty(), "{m:?}");
        assert!(!m.hostname_bytes().contains(&b' '), "{m:?}");
        assert_eq!(m.logger_bytes(), b"SyslogInput");
        let end = now_ns();
        let floor = started - started % 1_000_000_000;
        // TIMESTAMP has whole seconds; TIMEGENERATED (RFC 3339) has microseconds.
        for ts in [m.timestamp, double(m, "timegenerated").0 as i64] {
            assert!(
                ts >= floor && ts <= end,
                "{ts} not in {started}..{end}: {m:?}"
            );
        }
        assert_eq!(m.timestamp % 1_000_000_000, 0, "{m:?}");
        assert_eq!(m.fields.len(), 3, "{m:?}");
    }
    assert!(h.stop().success(), "{}", h.stderr());
}
