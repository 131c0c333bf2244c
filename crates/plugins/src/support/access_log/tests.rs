//! The native decoders against the Lua decoders of `share/heka` (run by SandboxDecoder) on the
//! same lines: the same messages (Uuid aside; fields compared by name, since the Lua table's
//! order is its hash order) and the same failures.

use std::path::Path;

use heka_message::Message;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};

use crate::support::testing::build_decoder_in;

fn share() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../share/heka")
        .display()
        .to_string()
}

/// The Lua and the native decoder of `server` (`nginx` or `apache`) with these `config` lines.
fn pair(server: &str, config: &str) -> (Box<dyn Decoder>, Box<dyn Decoder>) {
    let native_type = match server {
        "nginx" => "NginxAccessDecoder",
        _ => "ApacheAccessDecoder",
    };
    let toml = format!(
        r#"
[lua]
type = "SandboxDecoder"
filename = "{share}/lua_decoders/{server}_access.lua"
module_directory = "{share}/lua_modules"
[lua.config]
{config}

[native]
type = "{native_type}"
[native.config]
{config}
"#,
        share = share()
    );
    (
        build_decoder_in(&toml, "lua").unwrap(),
        build_decoder_in(&toml, "native").unwrap(),
    )
}

/// A pack as an input makes it, every header set.
fn pack(line: &[u8]) -> Pack {
    let mut m = Message::new_now();
    m.timestamp = 12_345;
    m.set_payload(line.to_vec());
    m.set_logger("in");
    m.set_type("orig");
    m.set_hostname("host");
    m.set_env_version("0.8");
    m.severity = Some(3);
    m.pid = Some(42);
    let mut p = Pack::new(m);
    p.ensure_encoded();
    p
}

/// What a decoder made of `line`, comparable: Uuid cleared, fields sorted by name.
fn run(d: &mut dyn Decoder, line: &[u8]) -> Result<Message, CodecError> {
    let mut p = pack(line);
    let mut extra = Vec::new();
    let r = d.decode(&mut p, &mut extra)?;
    assert_eq!(r, Decoded::Keep);
    assert!(extra.is_empty());
    let mut m = p.into_message();
    assert_eq!(m.uuid.len(), 16);
    m.uuid = bytes::Bytes::new();
    m.fields.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(m)
}

/// Both decoders give the same outcome for every line; returns the native outcomes.
fn same(server: &str, config: &str, lines: &[&[u8]]) -> Vec<Result<Message, CodecError>> {
    let (mut lua, mut native) = pair(server, config);
    lines
        .iter()
        .map(|line| {
            let want = run(&mut *lua, line);
            let got = run(&mut *native, line);
            assert_eq!(
                got,
                want,
                "{server} {config}\nline {:?}",
                String::from_utf8_lossy(line)
            );
            got
        })
        .collect()
}

const COMBINED_PLUS: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status $upstream_response_time $upstream_response_length $scheme $https$is_args $request_completion $pipe $server_protocol $connection $msec"#;

#[test]
fn nginx_lines_decode_as_the_lua_decoder_decodes_them() {
    let lines: &[&[u8]] = &[
        br#"10.0.0.1 - alice [10/Feb/2014:08:46:41 -0800] "GET /a?b=c HTTP/1.1" 200 1234 "http://r.example/" "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0" 0.005 10.0.0.2:80, 10.0.0.3:80 : 10.0.0.4:80 502, 200 : 200 0.001, 0.002 : 0.003 0, 512 : 7 https on? OK p HTTP/1.1 12 1391964401.123"#,
        br#"::ffff:10.0.0.1 - - [01/Jan/2000:00:00:00 +0000] "GET / HTTP/1.0" 404 0 "-" "curl/8" 0.000 - - - - http ? OK . HTTP/1.0 1 946684800.000"#,
        // Escaped quotes in the request and the agent, a host name as the address.
        br#"web-1.example - - [29/Feb/2016:23:59:60 +1400] "GET /\"x\" HTTP/1.1" 500 10 "-" "a \"b\" c" 12.5 - - - - http on OK p HTTP/2.0 3 1.5 trailing"#,
        // Lines that do not match.
        br#"10.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 2000 1 "-" "-" 0.1 - - - - http  . HTTP/1.1 1 1.1"#,
        br#"10.0.0.1 - - [10/Feb/2014:08:46:41] "GET / HTTP/1.1" 200 1 "-" "-""#,
        b"not an access log line",
        b"",
        br#"10.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 200 1 "-" "-" 1 - - - - http  . HTTP/1.1 1 1.1"#,
    ];
    for config in [
        format!("log_format = '{COMBINED_PLUS}'"),
        format!(
            "log_format = '{COMBINED_PLUS}'\ntype = \"nginx\"\npayload_keep = true\nuser_agent_transform = true"
        ),
        format!(
            "log_format = '{COMBINED_PLUS}'\nuser_agent_transform = true\nuser_agent_conditional = true"
        ),
        format!("log_format = '{COMBINED_PLUS}'\nuser_agent_transform = true\nuser_agent_keep = 1"),
    ] {
        let got = same("nginx", &config, lines);
        assert!(
            got[0].is_ok() && got[1].is_ok() && got[2].is_ok(),
            "{got:#?}"
        );
        assert!(got[3..].iter().all(Result::is_err), "{got:#?}");
    }
}

#[test]
fn nginx_time_iso8601_other_variables_and_repeated_names() {
    let format = r#"$time_iso8601 $host:$server_port $hostname|$foo|$foo| "$http_x_forwarded_for" $nginx_version $request_method $upstream_cache_status $upstream_cache_last_modified $binary_remote_addr$bytes_sent"#;
    let lines: &[&[u8]] = &[
        br#"2014-02-10T08:46:41.25-08:00 example.com:8080 h|a b|c d| "1.2.3.4, 5.6.7.8" 1.24.0 POST HIT Mon, 10 Feb 2014 16:46:41 GMT abcd17"#,
        br#"2014-02-10T16:46:41Z [::1]:80 h|x|y| "-" 1.2.3 GET - - wxyz0"#,
        br#"2014-02-10T16:46:41 x:1 h|x|y| "-" 1.2.3 GET - - abcd0"#,
    ];
    let config = format!("log_format = '{format}'\ntz = \"Europe/Paris\"");
    let got = same("nginx", &config, lines);
    assert!(got[0].is_ok() && got[2].is_err(), "{got:#?}");
}

#[test]
fn a_format_without_a_time_gives_whole_seconds() {
    let (_, mut native) = pair("nginx", "log_format = '$remote_addr $status'");
    let m = run(&mut *native, b"10.0.0.1 200").unwrap();
    assert_eq!(m.timestamp % 1_000_000_000, 0);
    assert!(m.timestamp > 12_345);
    assert_eq!(m.type_bytes(), b"orig");
    assert_eq!(m.env_version, None);
    assert_eq!(m.payload, None);
}

const APACHE_FORMAT: &str = r#"%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D %{local}p %b %B %I %S %T %X %H %m %k %P %{tid}P %{hextid}P %{remote}p %A %v %f %q %U %L %R %{Set-Cookie}o %{sid}C %{HOME}e %{mod}n %%"#;

#[test]
fn apache_lines_decode_as_the_lua_decoder_decodes_them() {
    let lines: &[&[u8]] = &[
        br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" 1234 80 2326 2326 300 2700 0 + HTTP/1.1 GET 0 1234 5678 7fa3 54321 10.0.0.9 www.example.com /var/www/x ?a=b /x - handler id=1 abc /root mv %"#,
        br#"2001:db8::2 - - [10/Oct/2000:13:55:36 +0000] "GET /\"q\" HTTP/1.1" 404 0 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/603.1.30 (KHTML, like Gecko) Version/10.0 Mobile/14E277 Safari/602.1" 0 443 - 0 0 0 10 X HTTP/2.0 POST 3 1 2 ffffffffffffffffffff 1 ::1 h - - / - - - - - - %"#,
        br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 - "-" "-" 1 80"#,
        b"garbage",
    ];
    for config in [
        format!("log_format = '{APACHE_FORMAT}'"),
        format!(
            "log_format = '{APACHE_FORMAT}'\ntype = \"apache\"\npayload_keep = true\nuser_agent_transform = true\nuser_agent_conditional = true"
        ),
    ] {
        let got = same("apache", &config, lines);
        assert!(got[0].is_ok() && got[1].is_ok(), "{got:#?}");
        assert!(got[2..].iter().all(Result::is_err), "{got:#?}");
    }
}

#[test]
fn apache_epoch_times() {
    for (format, line) in [
        ("%{sec}t %{msec_frac}t", "1391964401 123"),
        ("%{begin:msec}t %{usec_frac}t", "1391964401123 123456"),
        ("%{end:usec}t %h", "1391964401123456 10.0.0.1"),
    ] {
        let got = same(
            "apache",
            &format!("log_format = '{format}'"),
            &[line.as_bytes()],
        );
        assert!(got[0].is_ok(), "{got:#?}");
    }
}

#[test]
fn bad_formats_fail_to_build() {
    let build = |server: &str, config: &str| {
        let t = match server {
            "nginx" => "NginxAccessDecoder",
            _ => "ApacheAccessDecoder",
        };
        build_decoder_in(&format!("[d]\ntype = \"{t}\"\n[d.config]\n{config}\n"), "d")
            .err()
            .map(|e| e.to_string())
    };
    for (server, config, want) in [
        ("nginx", "", "log_format: a non-empty format is required"),
        (
            "nginx",
            "log_format = ''",
            "log_format: a non-empty format is required",
        ),
        (
            "apache",
            "log_format = 5",
            "log_format: a non-empty format is required",
        ),
        ("apache", "log_format = '%Z'", "unknown variable: Z"),
        ("apache", "log_format = '%{x}P'", "unknown pid format: x"),
        (
            "apache",
            r"log_format = 'a\x'",
            r"bad escape in log format: \x",
        ),
        ("apache", "log_format = '%{%d}t'", "strftime times"),
    ] {
        let got = build(server, config).unwrap_or_default();
        assert!(got.contains(want), "{server} {config}: {got}");
    }
    assert_eq!(build("nginx", "log_format = '$a'"), None);
}
