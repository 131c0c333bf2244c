//! Signals and lifecycle: SIGTERM writes out everything accepted, SIGUSR1 prints the report,
//! SIGHUP reopens FileOutput's file, and hekad without `-config` runs its default config.

use std::io::Write;
use std::net::TcpStream;

use crate::support::*;

#[test]
fn sigterm_writes_out_everything_accepted() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_interval = 3600000
flush_count = 1000000
"#,
    );
    let port = h.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    let sent: Vec<_> = (0..5000).map(test_message).collect();
    for m in &sent {
        s.send(m).unwrap();
    }
    s.flush().unwrap();
    drop(s);
    // Wait until the input has routed them (the report counts them), then stop.
    wait_for("5000 routed messages", 20, || {
        h.signal(10);
        std::thread::sleep(std::time::Duration::from_millis(100));
        h.stderr()
            .lines()
            .any(|l| l.trim() == "ProcessMessageCount: 5000")
            .then_some(())
    });
    assert!(h.stop().success(), "{}", h.stderr());
    assert_eq!(read_framed(&h.path("out.log")), sent);
}

#[test]
fn sigusr1_prints_the_report() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[CounterFilter]
"#,
    );
    h.listening("TcpInput");
    h.signal(10);
    let report = wait_for("the report", 20, || {
        let e = h.stderr();
        e.contains("====Outputs====").then_some(e)
    });
    assert!(report.contains("========[heka.all-report]========"));
    assert!(report.contains("====Inputs====\nTcpInput:"), "{report}");
    assert!(
        report.contains("====Filters====\nCounterFilter:"),
        "{report}"
    );
    assert!(report.contains("InChanCapacity: 30"), "{report}");
    assert!(report.contains("MatchAvgDuration: "), "{report}");
    assert!(h.stop().success());
}

#[test]
fn sighup_reopens_file_output() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = ""
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{dir}/out.log"
encoder = "PayloadEncoder"
[PayloadEncoder]
append_newlines = false
"#,
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"first\n").unwrap();
    wait_lines(&h.path("out.log"), 1);
    std::fs::rename(h.path("out.log"), h.path("out.log.1")).unwrap();
    h.signal(1);
    wait_for("the file to be reopened", 20, || {
        h.path("out.log").exists().then_some(())
    });
    c.write_all(b"second\n").unwrap();
    wait_lines(&h.path("out.log"), 1);
    assert!(h.stop().success());
    assert_eq!(
        std::fs::read_to_string(h.path("out.log.1")).unwrap(),
        "first\n"
    );
    assert_eq!(
        std::fs::read_to_string(h.path("out.log")).unwrap(),
        "second\n"
    );
}

#[test]
fn without_config_hekad_counts_protobuf_messages_on_5565() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Hekad::start_args(dir, &[]);
    let started = wait_for("hekad to listen on 5565 or refuse", 20, || {
        if let Ok(Some(st)) = h.child.try_wait() {
            return Some(Err(st));
        }
        h.stdout()
            .contains("TcpInput listening on 127.0.0.1:5565")
            .then_some(Ok(()))
    });
    if let Err(st) = started {
        // Someone else (the user's own hekad) holds 5565: ours must refuse, saying why.
        assert_eq!(st.code(), Some(1));
        assert!(
            h.stderr().contains("can't listen on \"127.0.0.1:5565\""),
            "{}",
            h.stderr()
        );
        assert!(TcpStream::connect("127.0.0.1:5565").is_ok());
        return;
    }
    let mut s = heka_client::TcpSender::connect("127.0.0.1:5565").unwrap();
    for i in 0..25 {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    // CounterFilter ticks every 5 s and LogOutput prints its payload.
    let out = wait_for("a count in the log output", 30, || {
        let out = h.stdout();
        out.contains("Got 25 messages").then_some(out)
    });
    assert!(out.contains("msg/sec"), "{out}");
    assert!(h.stop().success());
}
