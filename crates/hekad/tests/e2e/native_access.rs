//! NginxAccessDecoder and ApacheAccessDecoder against the Lua decoders of `share/heka` on the
//! same real log: real nginx and Apache write an access log for requests made with curl (odd
//! user agents and referers among them), the test appends hand-written odd lines (`-` values,
//! escaped quotes, lines that do not match), and one hekad tails the file twice, once into
//! each decoder. Both must give the same messages in the same order (Uuid and Logger, the
//! input's name, aside; fields compared by name, since the Lua table's order is its hash
//! order) and fail on the same lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use heka_message::Message;

use crate::producers::{Producer, curl, free_port, site, start_nginx};
use crate::support::*;

fn share_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka")
}

/// hekad tailing `logs/access.log` twice: `LuaInput` into `lua_decoders/<server>_access.lua`,
/// `NativeInput` into `native_type`, both configured with the same `config` table; the
/// messages go to `lua.log` and `native.log` in `state`.
fn twin_config(
    server: &str,
    native_type: &str,
    log_format: &str,
    logs: &Path,
    state: &Path,
) -> String {
    let options = format!(
        r#"type = "web.access"
user_agent_transform = true
user_agent_conditional = true
payload_keep = true
log_format = '{log_format}'"#
    );
    format!(
        r#"
[hekad]
base_dir = "{state}/base"
share_dir = "{share}"

[LuaInput]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log'
check_data_interval = "20ms"
decoder = "LuaDecoder"

[NativeInput]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log'
check_data_interval = "20ms"
decoder = "NativeDecoder"

[LuaDecoder]
type = "SandboxDecoder"
filename = "lua_decoders/{server}_access.lua"

[LuaDecoder.config]
{options}

[NativeDecoder]
type = "{native_type}"

[NativeDecoder.config]
{options}

[lua_out]
type = "FileOutput"
message_matcher = "Logger == 'LuaInput'"
path = "{state}/lua.log"
encoder = "ProtobufEncoder"
flush_count = 1

[native_out]
type = "FileOutput"
message_matcher = "Logger == 'NativeInput'"
path = "{state}/native.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
        logs = logs.display(),
        state = state.display(),
        share = share_dir().display(),
    )
}

/// User agents and referers of the requests: browsers, none, quotes and backslashes.
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/8.5.0 (e2e)",
    r#"quoted "agent" \ with a backslash"#,
    "Opera/9.80 (Android; Opera Mini/7.5.33361/31.1448; U; en) Presto/2.8.119 Version/11.1010",
];

fn make_requests(port: u16, n: usize) {
    for i in 0..n {
        let path = if i % 3 == 0 {
            format!("/missing/{i}?q=a%22b")
        } else {
            "/index.html".into()
        };
        let referer = (i % 2 == 0).then(|| format!("http://referer.example/\"{i}\""));
        curl(port, &path, AGENTS[i % AGENTS.len()], referer.as_deref());
    }
}

/// The message with what differs by design taken out: Uuid, Logger, the fields' order.
fn normalized(mut m: Message) -> Message {
    m.uuid = bytes::Bytes::new();
    m.logger = None;
    m.fields.sort_by(|a, b| a.name.cmp(&b.name));
    m
}

/// Appends `lines` to the access log, requests `n` more, and checks that both decoders made
/// `good` identical messages and failed on the same `bad` lines.
fn check_twins(h: &mut Hekad, state: &Path, n_messages: usize, bad: &[&str]) {
    let lua = wait_framed(&state.join("lua.log"), n_messages);
    let native = wait_framed(&state.join("native.log"), n_messages);
    assert_eq!(lua.len(), n_messages, "{lua:#?}");
    assert_eq!(native.len(), n_messages, "{native:#?}");
    for (i, (l, n)) in lua.into_iter().zip(native).enumerate() {
        assert_eq!(l.logger_bytes(), b"LuaInput");
        assert_eq!(n.logger_bytes(), b"NativeInput");
        assert_eq!(normalized(n), normalized(l), "message {i}");
    }
    assert!(h.stop().success(), "{}", h.stderr());
    let log = h.stderr();
    for line in bad {
        let failure = format!("Failed parsing:  payload: {line}");
        assert_eq!(
            log.matches(&failure).count(),
            2,
            "each decoder fails on {line:?}:\n{log}"
        );
    }
}

fn append(log: &Path, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

const NGINX_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $request_length $server_port $scheme $request_method $upstream_addr $msec"#;

#[test]
fn native_and_lua_nginx_decoders_make_the_same_messages() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    let nginx = start_nginx(
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
    let mut h = Hekad::start(&twin_config(
        "nginx",
        "NginxAccessDecoder",
        NGINX_FORMAT,
        &logs,
        &state,
    ));
    make_requests(port, 10);
    drop(nginx); // stopped: every request is in the log
    let bad = [
        "not an access log line",
        r#"10.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 2000 1 "-" "-" 0.001 10 80 http GET - 1391964401.000"#,
    ];
    append(
        &logs.join("access.log"),
        &[
            r#"- - - [10/Feb/2014:08:46:41 -0800] "-" 400 0 "-" "-" 0.000 0 80 http GET - 1391964401.000"#,
            bad[0],
            r#"2001:db8::1 - bob [10/Feb/2014:08:46:41 +0100] "GET /\"x\" HTTP/1.1" 200 5 "-" "a \"b\" MSIE 9.0; Windows NT 6.1" 1.250 300 443 https POST 10.0.0.2:80, 10.0.0.3:80 1391964401.999"#,
            bad[1],
        ],
    );
    check_twins(&mut h, &state, 12, &bad);
}

#[test]
fn native_and_lua_apache_decoders_make_the_same_messages() {
    let (dir, logs, state, html) = site();
    let port = free_port();
    // Debian's `combined` plus the time taken, the local port, %b, the milliseconds, the
    // connection status and the keep-alive requests.
    let format = r#"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D %{local}p %b %{msec_frac}t %X %k"#;
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
    let mut h = Hekad::start(&twin_config(
        "apache",
        "ApacheAccessDecoder",
        format,
        &logs,
        &state,
    ));
    make_requests(port, 10);
    // Apache's log is written when the request ends; wait for all ten lines.
    let log = logs.join("access.log");
    wait_for("Apache to log 10 requests", 20, || {
        let text = std::fs::read_to_string(&log).ok()?;
        (text.lines().count() >= 10).then_some(())
    });
    let bad = [
        "garbage",
        r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 - "-" "-" 1 80 - 000 + 0"#,
    ];
    append(
        &log,
        &[
            r#"- - - [10/Oct/2000:13:55:36 -0700] "-" 408 0 "-" "-" 0 80 - 000 X 0"#,
            bad[0],
            r#"::1 - frank [10/Oct/2000:13:55:36 +0200] "GET /a\"b HTTP/1.1" 200 2326 "http://r.example/\"q\"" "Mozilla/5.0 (iPad; CPU OS 9_1) Safari/601.1" 1234 80 2000 999 + 3"#,
            bad[1],
        ],
    );
    check_twins(&mut h, &state, 12, &bad);
}
