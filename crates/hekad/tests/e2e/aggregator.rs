//! The aggregator's load shape: thousands of agents, each with its own connection sending a
//! little, into one TcpInput, while a CounterFilter keeps reporting.
//!
//! Set `HEKA_E2E_CONNECTIONS` to change the number of connections (default 10,000).

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use crate::support::{Hekad, frame, test_message, wait_for};

/// Peak resident memory (VmHWM, bytes) and thread count of a process.
fn memory_and_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:") * 1024, field("Threads:"))
}

/// The totals the CounterFilter reported so far ("Got N messages. ...").
fn reported_totals(path: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("Got "))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn ten_thousand_connections_in_bounded_memory_and_threads() {
    let conns: usize = std::env::var("HEKA_E2E_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    const ROUNDS: usize = 10;
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let mut h = Hekad::start(
        r#"
[TcpInput]
address = "127.0.0.1:0"

[CounterFilter]
message_matcher = "Type == 'e2e.test'"
ticker_interval = 1

[counts]
type = "FileOutput"
message_matcher = "Type == 'heka.counter-output'"
path = "{dir}/counts.log"
encoder = "PayloadEncoder"
flush_interval = 0
"#,
    );
    let port = h.listening("TcpInput");
    let counts = h.path("counts.log");
    let pid = h.child.id();

    let frame = frame(&test_message(1), None);
    let started = Instant::now();
    let mut socks = Vec::with_capacity(conns);
    for i in 0..conns {
        let s = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connection {i} failed: {e}"));
        socks.push(s);
    }
    let mut peak_threads = 0;
    let mut reports_during_load = 0;
    for round in 0..ROUNDS {
        for s in &mut socks {
            s.write_all(&frame).unwrap();
        }
        let (_, threads) = memory_and_threads(pid);
        peak_threads = peak_threads.max(threads);
        if round == ROUNDS / 2 {
            // The counter keeps ticking while every connection is open and sending.
            let before = reported_totals(&counts).len();
            wait_for("a counter report during the load", 10, || {
                (reported_totals(&counts).len() > before).then_some(())
            });
            reports_during_load = reported_totals(&counts).len() - before;
        }
    }
    // The report counts the open connections.
    let mut tries = 0;
    loop {
        h.signal(10);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let err = h.stderr();
        if err.contains(&format!("TcpInput:\n    Address: 127.0.0.1:{port}\n"))
            && err.contains(&format!("    Connections: {conns}\n"))
            && err.contains(&format!("    ConnectionsAccepted: {conns}\n"))
        {
            break;
        }
        tries += 1;
        assert!(
            tries < 100,
            "no connection counts in the report:\n{}",
            &err[err.len().saturating_sub(3000)..]
        );
    }
    let total = (conns * ROUNDS) as u64;
    wait_for(&format!("{total} messages counted"), 60, || {
        reported_totals(&counts)
            .last()
            .is_some_and(|&n| n == total)
            .then_some(())
    });
    let elapsed = started.elapsed();
    let (peak_rss, threads) = memory_and_threads(pid);
    peak_threads = peak_threads.max(threads);
    assert!(reports_during_load > 0);
    assert!(
        peak_rss <= 256 << 20,
        "peak RSS {} MiB with {conns} connections",
        peak_rss >> 20
    );
    assert!(
        peak_threads <= 64,
        "{peak_threads} threads with {conns} connections"
    );
    // Closing them all, then a new connection is still served.
    drop(socks);
    let mut late = TcpStream::connect(("127.0.0.1", port)).unwrap();
    late.write_all(&frame).unwrap();
    wait_for("the late message", 20, || {
        reported_totals(&counts)
            .last()
            .is_some_and(|&n| n == total + 1)
            .then_some(())
    });
    eprintln!(
        "{conns} connections x {ROUNDS} messages counted in {:.1} s; peak RSS {} MiB, {peak_threads} threads",
        elapsed.as_secs_f64(),
        peak_rss >> 20
    );
    assert!(h.stop().success(), "{}", h.stderr());
}

fn typed_frames(ty: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let m = heka_client::MessageBuilder::new()
            .message_type(ty.to_string())
            .payload(format!("{ty} {i}"))
            .build();
        out.extend(frame(&m, None));
    }
    out
}

#[test]
fn a_destination_that_is_down_holds_back_only_what_it_matches() {
    const N: usize = 20_000;
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"

# Nothing listens on port 1: every write fails and is retried.
[TcpOutput]
address = "127.0.0.1:1"
message_matcher = "Type == 'to-tcp'"
use_buffering = false

[file]
type = "FileOutput"
message_matcher = "Type == 'to-file'"
path = "{dir}/file.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    let port = h.listening("TcpInput");
    // One agent's messages all go to the destination that is down; its connection stalls.
    let stalled = typed_frames("to-tcp", N);
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let _ = a.write_all(&stalled);
        // Keep the connection open until the test ends.
        std::thread::sleep(std::time::Duration::from_secs(60));
    });
    // Another agent's messages go only to the FileOutput: every one arrives.
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    b.write_all(&typed_frames("to-file", N)).unwrap();
    let got = wait_for(&format!("{N} messages in the file"), 60, || {
        let m = crate::support::read_framed(&h.path("file.log"));
        (m.len() >= N).then_some(m)
    });
    assert_eq!(got.len(), N);
    assert_eq!(
        got[N - 1].payload_bytes(),
        format!("to-file {}", N - 1).as_bytes()
    );

    // Under that load hekad still answers SIGUSR1 and SIGHUP.
    h.signal(10);
    wait_for("the report", 10, || {
        h.stderr()
            .contains("TcpOutput:\n    InChanCapacity")
            .then_some(())
    });
    h.signal(1);
    wait_for("the reload", 10, || {
        h.stdout().contains("Reload initiated").then_some(())
    });

    // Shutdown waits out the failing output's grace period; a second SIGTERM ends it now and
    // says what was left undelivered.
    h.signal(15);
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.signal(15);
    let st = h.wait_exit(5);
    assert!(!st.success());
    let err = h.stderr();
    assert!(err.contains("Second shutdown signal"), "{err}");
    assert!(err.contains("undelivered: TcpOutput: "), "{err}");
}

#[test]
fn running_out_of_descriptors_backs_off_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hekad.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[hekad]
base_dir = "{0}/cache"
[TcpInput]
address = "127.0.0.1:0"
[file]
type = "FileOutput"
message_matcher = "TRUE"
path = "{0}/out.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
            dir.path().display()
        ),
    )
    .unwrap();
    // hekad raises its soft limit to the hard one: cap both at 64 descriptors.
    let args = [
        "-c".to_string(),
        format!(
            "ulimit -n 64 && exec {} -config={}",
            env!("CARGO_BIN_EXE_hekad"),
            config.display()
        ),
    ];
    let mut h = Hekad::start_program(dir, "sh", &args);
    let port = h.listening("TcpInput");
    // Far more connections than descriptors: the kernel completes them, hekad cannot accept.
    let socks: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    wait_for("the accept failure", 10, || {
        h.stderr().contains("TCP accept failed").then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    let failures = h.stderr().matches("TCP accept failed").count();
    assert!(failures <= 2, "logged {failures} times:\n{}", h.stderr());
    // Once the connections go, the backlog drains and a new agent is served.
    drop(socks);
    let frame = frame(&test_message(7), None);
    wait_for("a served connection", 30, || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.write_all(&frame).ok()?;
        std::thread::sleep(std::time::Duration::from_millis(200));
        (!crate::support::read_framed(&h.path("out.log")).is_empty()).then_some(())
    });
    assert_eq!(
        crate::support::read_framed(&h.path("out.log"))[0].payload_bytes(),
        b"message 7"
    );
}
