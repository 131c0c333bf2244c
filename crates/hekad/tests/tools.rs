//! Runs the built `heka-inject` and `heka-flood` binaries against sockets opened by the test,
//! and `heka-logstreamer` on a folder of log files.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use heka_message::framing::{Header, scan};
use heka_message::signing::{SignerKeys, Verification};
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message};

use net::refusing_address;

#[path = "common/net.rs"]
mod net;

const DEADLINE: Duration = Duration::from_secs(60);

const INJECT: &str = env!("CARGO_BIN_EXE_heka-inject");
const FLOOD: &str = env!("CARGO_BIN_EXE_heka-flood");
const SBMGR: &str = env!("CARGO_BIN_EXE_heka-sbmgr");
const SBMGRLOAD: &str = env!("CARGO_BIN_EXE_heka-sbmgrload");

/// Runs `program` to completion, failing the test when it takes longer than [`DEADLINE`].
fn run(program: &str, args: &[&str]) -> Output {
    let child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("{program} {args:?} did not finish within {DEADLINE:?}");
        }
    }
}

/// A TCP listener that collects everything the first client sends, until it disconnects.
struct Collector {
    addr: String,
    bytes: mpsc::Receiver<Vec<u8>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(DEADLINE)).unwrap();
            let mut all = Vec::new();
            conn.read_to_end(&mut all).unwrap();
            let _ = tx.send(all);
        });
        Collector { addr, bytes: rx }
    }

    /// The bytes received; call once the client has exited.
    fn finish(self) -> Vec<u8> {
        // If the client never connected, this connection releases the accepting thread.
        drop(TcpStream::connect(&self.addr));
        self.bytes.recv_timeout(DEADLINE).unwrap()
    }
}

/// Splits a byte stream into decoded messages and their headers.
fn frames(mut bytes: &[u8], max: u32) -> Vec<(Header, Message, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let found = scan(bytes, max);
        let Some(frame) = found.frame else {
            panic!("trailing bytes without a frame: {:?}", found.error);
        };
        assert_eq!(frame.record.start, 0, "no garbage between frames");
        let raw = bytes[frame.message.clone()].to_vec();
        let msg = Message::decode_slice(&raw).unwrap();
        out.push((frame.header, msg, raw));
        bytes = &bytes[found.consumed..];
    }
    out
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn inject_sends_one_message() {
    let collector = Collector::start();
    let output = run(
        INJECT,
        &[
            "-heka",
            &collector.addr.clone(),
            "-type",
            "test.type",
            "-payload=hello world",
            "-severity",
            "3",
            "-logger",
            "tester",
            "-hostname",
            "box1",
            "-pid",
            "4242",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let got = frames(&collector.finish(), DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(got.len(), 1);
    let (header, msg, _) = &got[0];
    assert!(header.hmac.is_none());
    assert_eq!(msg.type_bytes(), b"test.type");
    assert_eq!(msg.payload_bytes(), b"hello world");
    assert_eq!(msg.severity, Some(3));
    assert_eq!(msg.logger_bytes(), b"tester");
    assert_eq!(msg.hostname_bytes(), b"box1");
    assert_eq!(msg.pid, Some(4242));
    assert_eq!(msg.uuid.len(), 16);
    assert!(msg.timestamp > 0);
    assert!(msg.fields.is_empty());
    assert_eq!(msg.env_version, None);
}

#[test]
fn inject_defaults() {
    let collector = Collector::start();
    let output = run(INJECT, &["-heka", &collector.addr.clone()]);
    assert!(output.status.success());
    let got = frames(&collector.finish(), DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(got.len(), 1);
    let msg = &got[0].1;
    assert_eq!(msg.type_bytes(), b"inject.message");
    assert_eq!(msg.logger_bytes(), b"Inject Client");
    assert_eq!(msg.severity, Some(7));
    assert_eq!(msg.payload.as_deref(), Some(&b""[..]));
    assert!(msg.pid.is_some_and(|p| p > 0));
    assert_eq!(
        msg.hostname_bytes(),
        heka_client::local_hostname().as_bytes()
    );
}

#[test]
fn inject_without_flags_prints_defaults() {
    let output = run(INJECT, &[]);
    assert_eq!(output.status.code(), Some(0));
    let text = stderr(&output);
    assert!(text.contains("  -heka value\n"), "{text}");
    assert!(text.contains("127.0.0.1:5565"), "{text}");
}

#[test]
fn inject_rejects_bad_flags_like_go() {
    let output = run(INJECT, &["-severity", "high"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value \"high\" for flag -severity"));
    let output = run(INJECT, &["-nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("flag provided but not defined: -nope\nUsage of heka-inject:")
    );
}

#[test]
fn sbmgr_tools_reject_bad_flags_like_go() {
    let output = run(SBMGR, &["-nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("flag provided but not defined: -nope\nUsage of heka-sbmgr:"),
        "{}",
        stderr(&output)
    );
    let output = run(SBMGR, &["-action"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("flag needs an argument: -action"));
    let output = run(SBMGRLOAD, &["-num", "many"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid value \"many\" for flag -num"));
}

#[test]
fn sbmgr_reports_a_missing_config_and_exits_0_as_heka_did() {
    let output = run(SBMGR, &["-config", "/nonexistent/sbmgr.toml"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).starts_with("Error decoding config file: "));
}

#[test]
fn sbmgr_reports_a_refused_connection_and_exits_1() {
    let (_held, addr) = refusing_address();
    let (_dir, config) = write_config(&format!("ip_address = \"{addr}\"\n"));
    let output = run(SBMGR, &["-config", &config, "-action", "unload"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("Error creating sender: "));
}

#[test]
fn inject_is_silent_when_nobody_listens() {
    let (_held, addr) = refusing_address();
    let output = run(INJECT, &["-heka", &addr]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
}

fn write_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn flood_tcp_with_signed_messages() {
    let collector = Collector::start();
    let (_dir, config) = write_config(&format!(
        r#"
[other]
sender = "udp"

[signed_test]
ip_address = "{}"
sender = "tcp"
num_messages = 50
static_message_size = 200
ascii_only = true
signed_percentage = 25
encoder = "protobuf"

[signed_test.signer]
name = "test"
hmac_hash = "md5"
hmac_key = "4865ey9urgkidls xtb0[7lf9rzcivthkm"
version = 0
"#,
        collector.addr
    ));
    let output = run(FLOOD, &["-config", &config, "-test", "signed_test"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).ends_with("Clean shutdown:  50  messages sent;  50  messages delivered.\n"),
        "{}",
        stdout(&output)
    );
    let got = frames(&collector.finish(), DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(got.len(), 50);
    let mut keys = SignerKeys::default();
    keys.insert("test_0", b"4865ey9urgkidls xtb0[7lf9rzcivthkm".to_vec());
    let mut signed = 0;
    for (i, (header, msg, raw)) in got.iter().enumerate() {
        assert_eq!(msg.type_bytes(), b"hekabench");
        assert_eq!(msg.severity, Some(6));
        assert!(msg.payload_bytes().starts_with(b"hekabench: "));
        match keys.verify(header, raw) {
            Verification::Signed(name) => {
                assert_eq!(&name[..], b"test");
                // floor(sent × 0.25) changes at sends 4, 8, 12, ...
                assert!(i > 0 && i % 4 == 0, "send {i} signed");
                signed += 1;
            }
            Verification::Unsigned => assert!(i == 0 || i % 4 != 0, "send {i} unsigned"),
            Verification::Rejected => panic!("send {i} failed verification"),
        }
    }
    assert_eq!(signed, 12);
}

#[test]
fn flood_udp() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(DEADLINE)).unwrap();
    let (_dir, config) = write_config(&format!(
        r#"
[udp]
ip_address = "{}"
sender = "udp"
num_messages = 10
static_message_size = 100
"#,
        server.local_addr().unwrap()
    ));
    let output = run(FLOOD, &["-config", &config, "-test", "udp"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("Clean shutdown:  10  messages sent;  10  messages delivered.")
    );
    let mut buf = vec![0u8; 70_000];
    for _ in 0..10 {
        let n = server.recv(&mut buf).unwrap();
        let got = frames(&buf[..n], DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(got.len(), 1, "one frame per datagram");
        assert_eq!(got[0].1.type_bytes(), b"hekabench");
        assert!(got[0].0.hmac.is_none());
    }
}

#[test]
fn flood_variable_size_messages() {
    let collector = Collector::start();
    let (_dir, config) = write_config(&format!(
        r#"
[var]
ip_address = "{}"
sender = "tcp"
num_messages = 20
variable_size_messages = true
max_message_size = 1048576
"#,
        collector.addr
    ));
    let output = run(FLOOD, &["-config", &config, "-test", "var"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let got = frames(&collector.finish(), 1 << 20);
    assert_eq!(got.len(), 20);
    for (_, msg, _) in &got {
        assert_eq!(msg.type_bytes(), b"hekabench");
        assert_eq!(msg.logger_bytes(), b"flood");
        assert!(msg.find_first_field(b"filler").is_some());
    }
}

#[test]
fn flood_reports_config_problems() {
    let (_dir, config) = write_config("[default]\nsender = \"tcp\"\n");
    let output = run(FLOOD, &["-config", &config, "-test", "missing"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("Configuration test: 'missing' was not found"));

    let output = run(FLOOD, &["-config", "/nonexistent/flood.toml"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).starts_with("Error decoding config file: "));

    let (_dir2, bad) = write_config("[default]\nmessage_interval = \"soon\"\n");
    let output = run(FLOOD, &["-config", &bad]);
    assert!(
        stderr(&output).contains("Invalid message_interval duration soon: time: invalid duration"),
        "{}",
        stderr(&output)
    );

    let output = run(FLOOD, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("  -config value\n"));
    assert!(stderr(&output).contains("  -test value\n"));
}

#[test]
fn flood_stops_when_it_cannot_connect() {
    let (_held, addr) = refusing_address();
    let (_dir, config) = write_config(&format!(
        "[default]\nip_address = \"{addr}\"\nsender = \"tcp\"\nnum_messages = 5\n"
    ));
    let output = run(FLOOD, &["-config", &config]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).starts_with("Error creating sender: "));
    assert!(!stdout(&output).contains("Clean shutdown"));
}

const LOGSTREAMER: &str = env!("CARGO_BIN_EXE_heka-logstreamer");

#[test]
fn heka_logstreamer_lists_each_logstream_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("nginx")).unwrap();
    for f in [
        "access.log",
        "access.log.1",
        "access.log.2",
        "error.log",
        "other.txt",
    ] {
        std::fs::write(logs.join("nginx").join(f), "x\n").unwrap();
    }
    let config = dir.path().join("hekad.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[TcpInput]
address = "127.0.0.1:0"
[nginx]
type = "LogstreamerInput"
log_directory = "{}"
file_match = 'nginx/(?P<Kind>access|error)\.log\.?(?P<Seq>\d*)'
priority = ["^Seq"]
differentiator = ["nginx-", "Kind"]
"#,
            logs.display()
        ),
    )
    .unwrap();
    let out = run(LOGSTREAMER, &[&format!("-config={}", config.display())]);
    assert!(out.status.success(), "{out:?}");
    let root = std::fs::canonicalize(&logs).unwrap();
    let want = format!(
        "Found 2 Logstream(s) for section [nginx].\n\n\
         Logstream name: [nginx-access]\n\
         Files: 3 (printing oldest to newest)\n\
         \t{root}/nginx/access.log.2\n\
         \t{root}/nginx/access.log.1\n\
         \t{root}/nginx/access.log\n\n\
         Logstream name: [nginx-error]\n\
         Files: 1 (printing oldest to newest)\n\
         \t{root}/nginx/error.log\n",
        root = root.display()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);

    // A section the tool cannot use is reported; the exit status says so.
    std::fs::write(
        &config,
        "[bad]\ntype = \"LogstreamerInput\"\nlog_directory = \"/nonexistent/dir\"\nfile_match = 'x'\n",
    )
    .unwrap();
    let out = run(LOGSTREAMER, &[&format!("-config={}", config.display())]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log_directory") && err.contains("/nonexistent/dir"),
        "{err}"
    );
}
