//! Real traffic through the plugins the other modules only load: TokenSplitter with
//! PayloadRegexDecoder on an nginx access log, RegexSplitter on multi-line records,
//! NullSplitter over UDP, RstEncoder and UdpOutput.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::time::Duration;

use heka_client::FieldValues;
use heka_message::{FieldValue, Message, ValueType};

use crate::support::*;

/// Twelve lines in nginx's `combined` format (see `data/README.md`).
const NGINX_LOG: &str = include_str!("data/nginx-access.log");

/// 2026-12-02 07:45:00 UTC in seconds since the epoch; the log's times are a few seconds later.
const DEC_2_0745_UTC: i64 = 1_796_197_500;

const CURL: &str = "curl/7.88.1";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0";

/// What one access-log line must decode to.
struct Access {
    ip: &'static str,
    user: &'static str,
    request: &'static str,
    status: &'static str,
    size: &'static str,
    referer: &'static str,
    agent: &'static str,
    /// Seconds after `DEC_2_0745_UTC`.
    secs: i64,
}

/// The lines of `NGINX_LOG`, decoded by hand.
#[rustfmt::skip]
const ACCESSES: [Access; 12] = [
    Access { ip: "127.0.0.1", user: "-", request: "GET /index.html", status: "200", size: "612", referer: "-", agent: CURL, secs: 1 },
    Access { ip: "127.0.0.1", user: "-", request: "GET /", status: "200", size: "612", referer: "-", agent: CURL, secs: 1 },
    Access { ip: "127.0.0.1", user: "-", request: "GET /favicon.ico", status: "404", size: "153", referer: "http://localhost/", agent: FIREFOX, secs: 2 },
    Access { ip: "10.0.0.7", user: "-", request: "GET /search?q=heka+rust&page=2", status: "200", size: "1875", referer: "http://localhost/", agent: CURL, secs: 3 },
    Access { ip: "10.0.0.7", user: "alice", request: "POST /api/login", status: "302", size: "0", referer: "http://localhost/login", agent: FIREFOX, secs: 4 },
    Access { ip: "10.0.0.7", user: "alice", request: "GET /dashboard", status: "200", size: "4521", referer: "http://localhost/login", agent: FIREFOX, secs: 4 },
    Access { ip: "127.0.0.1", user: "-", request: "HEAD /index.html", status: "200", size: "0", referer: "-", agent: CURL, secs: 5 },
    Access { ip: "127.0.0.1", user: "-", request: "GET /index.html", status: "304", size: "0", referer: "-", agent: FIREFOX, secs: 6 },
    // 08:45:07 +0100 and 08:45:08 +0100.
    Access { ip: "192.168.1.20", user: "-", request: "PUT /upload/big.iso", status: "413", size: "183", referer: "-", agent: CURL, secs: 7 },
    Access { ip: "192.168.1.20", user: "-", request: "DELETE /api/items/42", status: "405", size: "157", referer: "-", agent: CURL, secs: 8 },
    Access { ip: "127.0.0.1", user: "-", request: "GET /api/status?verbose=1", status: "502", size: "157", referer: "-", agent: "Go-http-client/1.1", secs: 9 },
    // 02:45:10 -0500.
    Access { ip: "127.0.0.1", user: "-", request: "GET /robots.txt", status: "200", size: "67", referer: "-", agent: "Wget/1.21.3", secs: 10 },
];

/// Each field of `m` as (name, type, its single value as text, representation).
fn fields(m: &Message) -> Vec<(String, ValueType, String, String)> {
    m.fields
        .iter()
        .map(|f| {
            assert_eq!(f.value_count(), 1, "{f:?}");
            let value = match f.value(0) {
                Some(FieldValue::String(s)) => String::from_utf8(s.to_vec()).unwrap(),
                other => panic!("not a string: {other:?}"),
            };
            (
                String::from_utf8(f.name.to_vec()).unwrap(),
                f.value_type(),
                value,
                String::from_utf8(f.representation_bytes().to_vec()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn nginx_access_log_is_decoded_by_payload_regex_decoder() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[nginx_in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = "nginx_access"
[nginx_access]
type = "PayloadRegexDecoder"
match_regex = '^(?P<RemoteIP>\S+) \S+ (?P<RemoteUser>\S+) \[(?P<Timestamp>[^\]]+)\] "(?P<Method>[A-Z]+) (?P<Url>\S+) [^"]*" (?P<StatusCode>\d{3}) (?P<BodyBytesSent>\d+) "(?P<Referer>[^"]*)" "(?P<UserAgent>[^"]*)"'
timestamp_layout = "02/Jan/2006:15:04:05 -0700"
  [nginx_access.message_fields]
  Type = "nginx.access"
  Logger = "nginx"
  RemoteIP = "%RemoteIP%"
  RemoteUser = "%RemoteUser%"
  request = "%Method% %Url%"
  status = "%StatusCode%"
  "size|B" = "%BodyBytesSent%"
  Referer = "%Referer%"
  UserAgent = "%UserAgent%"
[access_file]
type = "FileOutput"
message_matcher = "Type == 'nginx.access'"
path = "{dir}/access.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    let port = h.listening("nginx_in");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let peer = format!("127.0.0.1:{}", c.local_addr().unwrap().port());
    // A line that does not match fails to decode and must not reach the output.
    let data = format!("{NGINX_LOG}not an access log line\n");
    c.write_all(data.as_bytes()).unwrap();
    c.shutdown(Shutdown::Write).unwrap();

    let got = wait_framed(&h.path("access.log"), ACCESSES.len());
    assert!(h.stop().success(), "{}", h.stderr());
    // The one failure, logged with Heka's text; every line of the log decoded.
    let errors: Vec<String> = h.stderr().lines().map(str::to_string).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .ends_with("Plugin 'nginx_in' error: decode error: No match: not an access log line"),
        "{errors:?}"
    );
    let got_all = read_framed(&h.path("access.log"));
    assert_eq!(
        got_all.len(),
        ACCESSES.len(),
        "exactly one message per line"
    );
    let lines: Vec<&str> = NGINX_LOG.lines().collect();
    assert_eq!(lines.len(), ACCESSES.len());
    for ((m, want), line) in got.iter().zip(&ACCESSES).zip(&lines) {
        assert_eq!(m.type_bytes(), b"nginx.access", "{line}");
        assert_eq!(m.logger_bytes(), b"nginx", "{line}");
        // TcpInput decorates text records with the peer address; the template leaves it.
        assert_eq!(m.hostname_bytes(), peer.as_bytes(), "{line}");
        // TokenSplitter keeps the delimiter in the record; the payload is not templated.
        assert_eq!(m.payload_bytes(), format!("{line}\n").as_bytes());
        assert_eq!(
            m.timestamp,
            (DEC_2_0745_UTC + want.secs) * 1_000_000_000,
            "{line}"
        );
        let s = |name: &str, value: &str, repr: &str| {
            (
                name.to_string(),
                ValueType::String,
                value.to_string(),
                repr.to_string(),
            )
        };
        // Template entries are applied in key order, and every field is a string.
        assert_eq!(
            fields(m),
            vec![
                s("Referer", want.referer, ""),
                s("RemoteIP", want.ip, ""),
                s("RemoteUser", want.user, ""),
                s("UserAgent", want.agent, ""),
                s("request", want.request, ""),
                s("size", want.size, "B"),
                s("status", want.status, ""),
            ],
            "{line}"
        );
    }
}

/// A Java application log: every record starts with a date; stack traces continue it.
const JAVA_LOG: &str = "\
2026-12-02 07:45:01,120 INFO  [main] o.e.Server - started on port 8080
2026-12-02 07:45:02,431 ERROR [http-1] o.e.Handler - request failed
java.lang.IllegalStateException: connection pool exhausted
\tat org.example.db.Pool.acquire(Pool.java:88)
\tat org.example.Handler.handle(Handler.java:42)
Caused by: java.net.SocketTimeoutException: connect timed out
\tat java.base/java.net.Socket.connect(Socket.java:633)
\t... 12 more
2026-12-02 07:45:03,002 WARN  [http-2] o.e.Handler - slow request: 2.3 s
2026-12-02 07:45:04,900 INFO  [main] o.e.Server - stopping
";

/// SQL statements that span lines and end with `;`.
const SQL_LOG: &str = "\
SELECT id, name
  FROM users
 WHERE active;
UPDATE users SET active = false
 WHERE id = 42;
VACUUM;
";

/// Writes `data` in 23-byte pieces, cut wherever that falls, so that records and delimiters
/// may straddle reads (whether they do is up to TCP; the records must be the same either way).
fn write_in_pieces(c: &mut TcpStream, data: &str) {
    c.set_nodelay(true).unwrap();
    for piece in data.as_bytes().chunks(23) {
        c.write_all(piece).unwrap();
    }
    c.shutdown(Shutdown::Write).unwrap();
}

#[test]
fn regex_splitter_keeps_multi_line_records_together() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[java_in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "java_records"
decoder = ""
[java_records]
type = "RegexSplitter"
delimiter = '\n(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} )'
delimiter_eol = false
deliver_incomplete_final = true
[sql_in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "sql_statements"
decoder = ""
[sql_statements]
type = "RegexSplitter"
delimiter = '(;)\n'
delimiter_eol = true
[java_file]
type = "FileOutput"
message_matcher = "Type == 'java_in'"
path = "{dir}/java.log"
encoder = "PayloadEncoder"
flush_interval = 0
[sql_file]
type = "FileOutput"
message_matcher = "Type == 'sql_in'"
path = "{dir}/sql.log"
encoder = "PayloadEncoder"
flush_interval = 0
[PayloadEncoder]
append_newlines = true
"#,
    );
    let java_port = h.listening("java_in");
    let sql_port = h.listening("sql_in");
    write_in_pieces(
        &mut TcpStream::connect(("127.0.0.1", java_port)).unwrap(),
        JAVA_LOG,
    );
    write_in_pieces(
        &mut TcpStream::connect(("127.0.0.1", sql_port)).unwrap(),
        SQL_LOG,
    );

    // With delimiter_eol = false the captured date starts the next record and the newline
    // before it is dropped; the last record, ended only by the end of the connection, keeps
    // its newline (deliver_incomplete_final). PayloadEncoder adds a newline to each.
    let java_records = [
        "2026-12-02 07:45:01,120 INFO  [main] o.e.Server - started on port 8080",
        "2026-12-02 07:45:02,431 ERROR [http-1] o.e.Handler - request failed\n\
         java.lang.IllegalStateException: connection pool exhausted\n\
         \tat org.example.db.Pool.acquire(Pool.java:88)\n\
         \tat org.example.Handler.handle(Handler.java:42)\n\
         Caused by: java.net.SocketTimeoutException: connect timed out\n\
         \tat java.base/java.net.Socket.connect(Socket.java:633)\n\
         \t... 12 more",
        "2026-12-02 07:45:03,002 WARN  [http-2] o.e.Handler - slow request: 2.3 s",
        "2026-12-02 07:45:04,900 INFO  [main] o.e.Server - stopping\n",
    ];
    // With delimiter_eol = true the captured `;` ends the record and the newline is dropped.
    let sql_records = [
        "SELECT id, name\n  FROM users\n WHERE active;",
        "UPDATE users SET active = false\n WHERE id = 42;",
        "VACUUM;",
    ];
    let expect = |records: &[&str]| records.iter().map(|r| format!("{r}\n")).collect::<String>();
    let (java_want, sql_want) = (expect(&java_records), expect(&sql_records));
    let file_holding = |name: &str, want: &str| {
        let path = h.path(name);
        wait_for(&format!("{} bytes in {name}", want.len()), 20, || {
            let text = std::fs::read_to_string(&path).ok()?;
            (text.len() >= want.len()).then_some(text)
        })
    };
    assert_eq!(file_holding("java.log", &java_want), java_want);
    assert_eq!(file_holding("sql.log", &sql_want), sql_want);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(h.stderr(), "", "no errors or warnings");
    // Nothing more was written by the end.
    assert_eq!(
        std::fs::read_to_string(h.path("java.log")).unwrap(),
        java_want
    );
    assert_eq!(
        std::fs::read_to_string(h.path("sql.log")).unwrap(),
        sql_want
    );
}

#[test]
fn null_splitter_makes_each_udp_datagram_one_payload() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[udp_in]
type = "UdpInput"
address = "127.0.0.1:0"
splitter = "NullSplitter"
set_hostname = true
[udp_file]
type = "FileOutput"
message_matcher = "Type == 'udp_in'"
path = "{dir}/udp.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    let port = h.listening("udp_in");
    let long: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let sent: BTreeSet<Vec<u8>> = [
        b"one line\n".to_vec(),
        b"two\nlines\n".to_vec(),
        b"no newline at the end".to_vec(),
        // Framing bytes and a NUL mean nothing to NullSplitter.
        b"\x1e\x02\x00binary\xff\x1f".to_vec(),
        long,
    ]
    .into();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    // UDP may drop datagrams: send them all again until each has arrived once.
    let got = wait_for("every datagram", 20, || {
        for d in &sent {
            sock.send_to(d, ("127.0.0.1", port)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        let got = read_framed(&h.path("udp.log"));
        let payloads: BTreeSet<Vec<u8>> = got.iter().map(|m| m.payload_bytes().to_vec()).collect();
        (payloads.len() >= sent.len()).then_some(got)
    });
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(h.stderr(), "", "no errors or warnings");
    let payloads: BTreeSet<Vec<u8>> = got.iter().map(|m| m.payload_bytes().to_vec()).collect();
    assert_eq!(
        payloads, sent,
        "each datagram is one payload, never split or joined"
    );
    for m in &got {
        assert_eq!(m.type_bytes(), b"udp_in");
        assert_eq!(m.logger_bytes(), b"udp_in");
        assert_eq!(
            m.hostname_bytes(),
            b"127.0.0.1",
            "set_hostname: the sender's IP"
        );
    }
}

#[test]
fn rst_encoder_writes_every_header_and_field() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[rst_file]
type = "FileOutput"
message_matcher = "Type == 'e2e.rst'"
path = "{dir}/rst.log"
encoder = "RstEncoder"
flush_interval = 0
[RstEncoder]
"#,
    );
    let port = h.listening("TcpInput");
    let full = heka_client::MessageBuilder::new()
        // 2026-12-02 07:45:01.25 UTC.
        .timestamp(1_796_197_501_250_000_000)
        .uuid([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef,
        ])
        .message_type("e2e.rst")
        .hostname("web-1")
        .pid(4242)
        .logger("disk-monitor")
        .payload("disk almost full")
        .env_version("0.8")
        .severity(3)
        .string_field("mount", "/var")
        .field("used", FieldValues::Integer(vec![93]), "%")
        .field("free", FieldValues::Double(vec![1.5, 1e6]), "GB")
        .bool_field("alert", true)
        .bytes_field("raw", &b"\x00\x01\x02"[..])
        .field("tags", vec!["disk", "var"], "")
        .build();
    // Unset Pid and Severity are written as Heka's defaults, 0 and 7.
    let bare = heka_client::MessageBuilder::new()
        .timestamp(1_796_197_502_000_000_000)
        .uuid([0xff; 16])
        .message_type("e2e.rst")
        .build();
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    s.send(&full).unwrap();
    s.send(&bare).unwrap();
    s.flush().unwrap();

    let want = "
:Timestamp: 2026-12-02 07:45:01.25 +0000 UTC
:Type: e2e.rst
:Hostname: web-1
:Pid: 4242
:Uuid: 01234567-89ab-cdef-0123-456789abcdef
:Logger: disk-monitor
:Payload: disk almost full
:EnvVersion: 0.8
:Severity: 3
:Fields:
    | name:\"mount\" type:string value:\"/var\"
    | name:\"used\" type:integer value:93 representation:\"%\"
    | name:\"free\" type:double value:[1.5,1e+06] representation:\"GB\"
    | name:\"alert\" type:bool value:true
    | name:\"raw\" type:bytes value:AAEC
    | name:\"tags\" type:string value:[\"disk\",\"var\"]


:Timestamp: 2026-12-02 07:45:02 +0000 UTC
:Type: e2e.rst
:Hostname: \n\
:Pid: 0
:Uuid: ffffffff-ffff-ffff-ffff-ffffffffffff
:Logger: \n\
:Payload: \n\
:EnvVersion: \n\
:Severity: 7

";
    let path = h.path("rst.log");
    let text = wait_for("both messages in rst.log", 20, || {
        let text = std::fs::read_to_string(&path).ok()?;
        (text.matches("\n:Timestamp: ").count() >= 2 && text.ends_with("\n\n")).then_some(text)
    });
    assert_eq!(text, want);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(h.stderr(), "", "no errors or warnings");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), want);
}

#[test]
fn udp_output_sends_one_datagram_per_message() {
    let payload_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let protobuf_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&payload_sock, &protobuf_sock] {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    let config = r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[udp_payload]
type = "UdpOutput"
message_matcher = "Type == 'e2e.test'"
address = "{payload_addr}"
encoder = "PayloadEncoder"
[udp_protobuf]
type = "UdpOutput"
message_matcher = "Type == 'e2e.test' && Fields[seq] >= 5"
address = "{protobuf_addr}"
encoder = "ProtobufEncoder"
"#
    .replace(
        "{payload_addr}",
        &payload_sock.local_addr().unwrap().to_string(),
    )
    .replace(
        "{protobuf_addr}",
        &protobuf_sock.local_addr().unwrap().to_string(),
    );
    let mut h = Hekad::start(&config);
    let port = h.listening("TcpInput");
    let sent: Vec<Message> = (0..10).map(test_message).collect();
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for m in &sent {
        s.send(m).unwrap();
    }
    s.flush().unwrap();

    let mut buf = vec![0; 65536];
    let mut recv = |sock: &UdpSocket| {
        let (n, from) = sock.recv_from(&mut buf).expect("a datagram within 20 s");
        assert_eq!(from.ip().to_string(), "127.0.0.1");
        buf[..n].to_vec()
    };
    // PayloadEncoder: the payload and a newline, one message per datagram, in order.
    let payloads: Vec<Vec<u8>> = (0..10).map(|_| recv(&payload_sock)).collect();
    let want: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("message {i}\n").into_bytes())
        .collect();
    assert_eq!(payloads, want);
    // ProtobufEncoder without framing: each datagram is the bare message, unchanged.
    let messages: Vec<Message> = (0..5)
        .map(|_| Message::decode_bytes(recv(&protobuf_sock).into()).unwrap())
        .collect();
    assert_eq!(messages, sent[5..]);
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(h.stderr(), "", "no errors or warnings");
    // Nothing else was sent.
    for s in [&payload_sock, &protobuf_sock] {
        s.set_nonblocking(true).unwrap();
        assert!(s.recv_from(&mut buf).is_err(), "an unexpected datagram");
    }
}

#[test]
fn udp_output_frames_on_request_and_drops_oversized_messages() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let config = r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[udp_framed]
type = "UdpOutput"
message_matcher = "Type == 'e2e.test'"
address = "{addr}"
encoder = "ProtobufEncoder"
use_framing = true
max_message_size = 512
"#
    .replace("{addr}", &sock.local_addr().unwrap().to_string());
    let mut h = Hekad::start(&config);
    let port = h.listening("TcpInput");
    let mut big = test_message(1);
    big.set_payload("x".repeat(600));
    let sent = [test_message(0), big.clone(), test_message(2)];
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for m in &sent {
        s.send(m).unwrap();
    }
    s.flush().unwrap();

    let mut buf = vec![0; 65536];
    for want in [&sent[0], &sent[2]] {
        let (n, _) = sock.recv_from(&mut buf).expect("a datagram within 20 s");
        let d = &buf[..n];
        // One whole frame: 0x1E, the header's length, the header (field 1, the message
        // length, as a varint), 0x1F, the message.
        let len = want.to_bytes().len();
        assert!(len < 128, "a one-byte varint");
        assert_eq!(&d[..5], &[0x1e, 2, 0x08, len as u8, 0x1f]);
        assert_eq!(d.len(), 5 + len);
        assert_eq!(
            &Message::decode_bytes(d[5..].to_vec().into()).unwrap(),
            want
        );
    }
    assert!(h.stop().success(), "{}", h.stderr());
    sock.set_nonblocking(true).unwrap();
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "the big message was sent"
    );
    // Its frame: 0x1E, 1 byte of header length, 3 of header (a two-byte varint), 0x1F.
    let framed = big.to_bytes().len() + 6;
    let errors: Vec<String> = h.stderr().lines().map(str::to_string).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let want = format!(
        "Plugin 'udp_framed' error: dropping message: \
         message has exceeded allowed UDP data size: {framed} > 512"
    );
    assert!(errors[0].ends_with(&want), "{errors:?}");
}
