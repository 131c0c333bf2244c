//! No accepted message is lost, or each one lost is accounted for: TcpOutput across a
//! receiver's restarts, and at shutdown with its destination down, not reading or not
//! answering; FileOutput across SIGHUP reopens, and restarted (or out of retries) after a
//! reopen failed.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, FieldValue, Message, framing};

use crate::net::refusing_address;
use crate::support::*;

/// The `seq` field of a [`test_message`].
fn seq(m: &Message) -> i64 {
    match m.field_value(b"seq") {
        Some(Some(FieldValue::Integer(i))) => i,
        other => panic!("no seq: {other:?}"),
    }
}

/// How many times each seq occurs in `messages`.
fn seq_counts<'a>(messages: impl IntoIterator<Item = &'a Message>) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(seq(m)).or_insert(0) += 1;
    }
    counts
}

/// Takes every complete frame off the front of `buf`.
fn take_frames(buf: &mut Vec<u8>, out: &mut Vec<Message>) {
    loop {
        let s = framing::scan(buf, DEFAULT_MAX_MESSAGE_SIZE);
        let Some(frame) = s.frame else {
            return;
        };
        let body = Bytes::copy_from_slice(&buf[frame.message]);
        out.push(Message::decode_bytes(body).unwrap());
        buf.drain(..s.consumed);
    }
}

/// A connection the receiver has accepted.
struct Inbound {
    stream: TcpStream,
    buf: Vec<u8>,
    messages: usize,
    /// The receiver half-closed it ("restarting") and only drains it until the peer closes.
    closing: bool,
    eof: bool,
}

/// hekad A: TcpInput → TcpOutput to `address`.
fn forwarder(address: &str) -> Hekad {
    Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
[TcpInput]
address = "127.0.0.1:0"
[fwd]
type = "TcpOutput"
message_matcher = "Type == 'e2e.test'"
address = "{address}"
# The in-memory path (TcpOutput queues on disk by default; that is tested in buffering.rs).
use_buffering = false
"#
    ))
}

/// Listens on `addr` (port 0: any) with SO_REUSEADDR, so that a receiver can listen again on
/// the port it had.
fn listen_reusing(addr: &str) -> TcpListener {
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&addr.into()).unwrap();
    s.listen(128).unwrap();
    s.set_nonblocking(true).unwrap();
    s.into()
}

#[test]
fn tcp_output_loses_nothing_while_the_receiver_restarts() {
    receiver_restarts(false);
}

#[test]
fn tcp_output_loses_nothing_while_the_receiver_stops_listening_and_comes_back() {
    receiver_restarts(true);
}

/// hekad A forwards N messages to a receiver in the test that restarts twice mid-stream.
/// With `relisten`, the receiver also stops listening until A's reconnection was refused,
/// then listens again on the same port.
fn receiver_restarts(relisten: bool) {
    const N: usize = 5000;
    // The receiver "restarts" after these many messages: it closes its side of the
    // connection, reads what is still on the way, and takes the next connection.
    const RESTARTS: [usize; 2] = [1500, 3000];
    // At most this many messages are sent ahead of what the receiver has read, so that each
    // restart happens with messages in flight rather than after the last one.
    const WINDOW: usize = 500;

    let mut listener = Some(listen_reusing("127.0.0.1:0"));
    let address = listener.as_ref().unwrap().local_addr().unwrap().to_string();
    let mut refusals = 0;
    let mut a = forwarder(&address);
    let port = a.listening("TcpInput");

    let received = Arc::new(AtomicUsize::new(0));
    let sender = {
        let received = received.clone();
        std::thread::spawn(move || {
            let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
            for i in 0..N {
                if i >= WINDOW {
                    s.flush().unwrap();
                    wait_for("the receiver to catch up", 20, || {
                        (received.load(Ordering::SeqCst) + WINDOW > i).then_some(())
                    });
                }
                s.send(&test_message(i)).unwrap();
            }
            s.flush().unwrap();
        })
    };

    let mut conns: Vec<Inbound> = Vec::new();
    let mut messages = Vec::new();
    let mut restarts = RESTARTS.iter().peekable();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = vec![0u8; 64 * 1024];
    while messages.len() < N || conns.iter().any(|c| c.closing && !c.eof) {
        assert!(
            Instant::now() < deadline,
            "timed out with {} of {N} messages over {} connections",
            messages.len(),
            conns.len()
        );
        match listener.as_ref().map(TcpListener::accept) {
            None => {}
            Some(Ok((stream, _))) => {
                stream.set_nonblocking(true).unwrap();
                conns.push(Inbound {
                    stream,
                    buf: Vec::new(),
                    messages: 0,
                    closing: false,
                    eof: false,
                });
            }
            Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Some(Err(e)) => panic!("accept: {e}"),
        }
        let mut idle = true;
        for c in conns.iter_mut().filter(|c| !c.eof) {
            match c.stream.read(&mut chunk) {
                Ok(0) => c.eof = true,
                Ok(n) => {
                    idle = false;
                    c.buf.extend_from_slice(&chunk[..n]);
                    let before = messages.len();
                    take_frames(&mut c.buf, &mut messages);
                    c.messages += messages.len() - before;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        received.store(messages.len(), Ordering::SeqCst);
        if let Some(&&at) = restarts.peek()
            && messages.len() >= at
        {
            restarts.next();
            if relisten {
                listener = None;
            }
            let c = conns.iter_mut().find(|c| !c.closing && !c.eof).unwrap();
            c.stream.shutdown(Shutdown::Write).unwrap();
            c.closing = true;
        }
        if listener.is_none()
            && conns.iter().all(|c| c.eof)
            && a.stderr().matches("can't connect: ").count() > refusals
        {
            // A's connection is closed and its next attempt was refused: listen again.
            refusals += 1;
            listener = Some(listen_reusing(&address));
        }
        if idle {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    sender.join().unwrap();
    if relisten {
        assert_eq!(refusals, RESTARTS.len());
    }

    let counts = seq_counts(&messages);
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let per_conn: Vec<usize> = conns.iter().map(|c| c.messages).collect();
    println!(
        "received {} messages over connections {per_conn:?}",
        messages.len()
    );
    assert_eq!(counts.len(), N, "every message must arrive");
    assert_eq!(*counts.keys().next().unwrap(), 0);
    assert_eq!(*counts.keys().last().unwrap(), N as i64 - 1);
    // Complete records are never resent (only one not completely handed to the kernel is).
    assert_eq!(duplicates, 0, "duplicates over connections {per_conn:?}");
    assert!(
        per_conn.iter().filter(|&&n| n > 0).count() > RESTARTS.len(),
        "each restart must move delivery to a new connection: {per_conn:?}"
    );
    for c in &conns {
        assert!(
            c.buf.is_empty(),
            "a partial record was left on a connection"
        );
    }
    assert!(a.stop().success(), "{}", a.stderr());
}

/// Asks for the report (SIGUSR1) until its text contains `what`.
fn wait_report(h: &Hekad, what: &str) {
    wait_for(&format!("a report with {what:?}"), 20, || {
        h.signal(10);
        std::thread::sleep(Duration::from_millis(100));
        h.stderr().contains(what).then_some(())
    });
}

/// How long failing deliveries are retried once hekad is stopping (the runner's
/// `SHUTDOWN_RETRY_GRACE`, which TcpOutput shares).
const GRACE: Duration = Duration::from_secs(5);

#[test]
fn tcp_output_gives_up_after_its_grace_when_the_destination_is_down() {
    const N: usize = 10;
    let (_held, address) = refusing_address();
    let mut a = forwarder(&address);
    let port = a.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in 0..N {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    // All of them accepted (routed), the first one retried.
    wait_report(&a, &format!("\n    ProcessMessageCount: {N}\n"));
    wait_for("a failed delivery", 20, || {
        a.stderr()
            .contains("Plugin 'fwd' error: retrying message: can't connect: ")
            .then_some(())
    });
    let t = Instant::now();
    a.signal(15);
    let status = a.wait_exit(GRACE.as_secs() + 20);
    let took = t.elapsed();
    let stderr = a.stderr();
    assert!(status.success(), "{status}: {stderr}");
    assert!(took >= GRACE, "gave up after {took:?}, before the grace");
    let given_up = stderr
        .lines()
        .filter(|l| {
            l.contains("Plugin 'fwd' error: shutting down: giving up on a message: can't connect: ")
        })
        .count();
    assert_eq!(given_up, N, "each undelivered message is logged:\n{stderr}");
}

/// Sends numbered messages to `port` until `stop` is set; returns how many it sent.
fn send_until(
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            s.send(&test_message(i)).unwrap();
            i += 1;
            if i % 50 == 0 {
                s.flush().unwrap();
            }
        }
        s.flush().unwrap();
        i
    })
}

#[test]
fn file_output_reopened_under_load_keeps_every_message_once() {
    const ROTATIONS: usize = 5;
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.test'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
    );
    let port = h.listening("TcpInput");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = send_until(port, stop.clone());
    let mut files = Vec::new();
    for k in 1..=ROTATIONS {
        // New messages reach the current file, then it is moved away and reopened.
        wait_for("messages in the current file", 20, || {
            (!read_framed(&h.path("out.log")).is_empty()).then_some(())
        });
        let moved = h.path(&format!("out.log.{k}"));
        std::fs::rename(h.path("out.log"), &moved).unwrap();
        files.push(moved);
        h.signal(1);
        wait_for("the file to be reopened", 20, || {
            h.path("out.log").exists().then_some(())
        });
    }
    wait_for("messages after the last reopen", 20, || {
        (!read_framed(&h.path("out.log")).is_empty()).then_some(())
    });
    stop.store(true, Ordering::SeqCst);
    let n = sender.join().unwrap();
    files.push(h.path("out.log"));
    let all = || -> Vec<Message> { files.iter().flat_map(|f| read_framed(f)).collect() };
    wait_for(&format!("{n} messages in all files"), 20, || {
        (all().len() >= n).then_some(())
    });
    assert!(h.stop().success(), "{}", h.stderr());
    let per_file: Vec<usize> = files.iter().map(|f| read_framed(f).len()).collect();
    let counts = seq_counts(&all());
    assert_eq!(counts.len(), n, "lost messages; per file: {per_file:?}");
    assert_eq!(counts.keys().last(), Some(&(n as i64 - 1)));
    assert!(
        counts.values().all(|&c| c == 1),
        "duplicates; per file: {per_file:?}"
    );
    assert!(per_file.iter().all(|&c| c > 0), "{per_file:?}");
    println!("{n} messages over files {per_file:?}");
}

#[test]
fn tcp_output_to_a_receiver_that_never_reads_pushes_back_and_still_stops() {
    // Far more than the kernel buffers and hekad's channels can hold.
    const PAYLOAD: usize = 32 * 1024;
    const TOTAL: usize = 8192;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // Accepts every connection and never reads from any.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let mut a = forwarder(&address);
    let port = a.listening("TcpInput");
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
            let payload = "x".repeat(PAYLOAD);
            for i in 0..TOTAL {
                let mut m = test_message(i);
                m.set_payload(payload.clone());
                if s.send(&m).and_then(|()| s.flush()).is_err() {
                    return;
                }
                sent.store(i + 1, Ordering::SeqCst);
            }
        })
    };
    // The output is stuck writing, its channel fills up, and hekad still answers SIGUSR1.
    wait_report(&a, "fwd:\n    InChanCapacity: 30\n    InChanLength: 30\n");
    let t = Instant::now();
    a.signal(15);
    let status = a.wait_exit(GRACE.as_secs() + 20);
    let took = t.elapsed();
    let stderr = a.stderr();
    assert!(status.success(), "{status} after {took:?}: {stderr}");
    // The stalled write gave up once hekad was stopping, and was retried.
    assert!(
        stderr.contains(&format!("Plugin 'fwd' error: writing to {address}: ")),
        "{stderr}"
    );
    // hekad's exit broke the sender's connection before it could send everything: the input
    // stopped reading while the output was stuck.
    sender.join().unwrap();
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < TOTAL, "the input took all {sent} messages");
    println!("stopped after {took:?}; {sent} of {TOTAL} messages sent");
}

#[test]
fn file_output_that_cannot_reopen_is_restarted_and_loses_nothing() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.test'"
path = "{dir}/logs/out.log"
encoder = "ProtobufEncoder"
flush_interval = 0
  [out.retries]
  max_retries = 50
  delay = "100ms"
  max_delay = "400ms"
  max_jitter = "50ms"
"#,
    );
    let port = h.listening("TcpInput");
    let logs = h.path("logs");
    let out = logs.join("out.log");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in 0..10 {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    wait_framed(&out, 10);
    // As root, permission bits would not stop the output: put a file where its folder was.
    let moved = h.path("logs.away");
    std::fs::rename(&logs, &moved).unwrap();
    std::fs::write(&logs, "not a folder").unwrap();
    h.signal(1);
    let reopen_failed = format!("unable to reopen file '{}'", out.display());
    wait_for("the reopen to fail", 20, || {
        h.stderr().contains(&reopen_failed).then_some(())
    });
    for i in 10..20 {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    // The next message stops the output; restarts fail while the folder is a file.
    wait_for("a failed restart", 20, || {
        let e = h.stderr();
        (e.contains(&format!("Plugin 'out' error: fatal: {reopen_failed}"))
            && e.contains("Plugin 'out' error: restart failed: "))
        .then_some(())
    });
    std::fs::remove_file(&logs).unwrap();
    std::fs::rename(&moved, &logs).unwrap();
    wait_for("the restart", 20, || {
        h.stdout().contains("Plugin 'out': restarted").then_some(())
    });
    let got = wait_framed(&out, 20);
    assert!(h.stop().success(), "{}", h.stderr());
    let got_after_stop = read_framed(&out);
    assert_eq!(got_after_stop.len(), got.len());
    let counts = seq_counts(&got_after_stop);
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        (0..20).collect::<Vec<i64>>()
    );
    assert!(counts.values().all(|&c| c == 1), "duplicates: {counts:?}");
}

#[test]
fn file_output_out_of_retries_stops_hekad_and_counts_what_it_lost() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.test'"
path = "{dir}/logs/out.log"
encoder = "ProtobufEncoder"
flush_interval = 0
  [out.retries]
  max_retries = 2
  delay = "1s"
  max_delay = "10s"
  max_jitter = "100ms"
"#,
    );
    let port = h.listening("TcpInput");
    let logs = h.path("logs");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in 0..10 {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    wait_framed(&logs.join("out.log"), 10);
    let moved = h.path("logs.away");
    std::fs::rename(&logs, &moved).unwrap();
    std::fs::write(&logs, "not a folder").unwrap();
    h.signal(1);
    wait_for("the reopen to fail", 20, || {
        h.stderr().contains("unable to reopen file '").then_some(())
    });
    let t = Instant::now();
    for i in 10..20 {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    // The first of them stops the output; two restarts, 1 s then 2 s later, fail, and hekad
    // stops with the ten counted as lost.
    let status = h.wait_exit(20);
    let took = t.elapsed();
    let stderr = h.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(took >= Duration::from_secs(3), "no back-off: {took:?}");
    assert_eq!(
        stderr
            .matches("Plugin 'out' error: restart failed: ")
            .count(),
        2,
        "{stderr}"
    );
    assert!(
        stderr.contains("Plugin 'out' error: Lost/Dropped 10 messages"),
        "{stderr}"
    );
    assert!(
        stderr.contains("shutting down: plugin 'out' stopped: unable to reopen file '"),
        "{stderr}"
    );
    assert!(stderr.contains("(Max retries exceeded)"), "{stderr}");
    let kept = seq_counts(&read_framed(&moved.join("out.log")));
    assert_eq!(
        kept.into_keys().collect::<Vec<_>>(),
        (0..10).collect::<Vec<i64>>()
    );
    println!("stopped {took:?} after the failure");
}

#[test]
fn tcp_output_to_a_destination_that_never_answers_still_stops() {
    const N: usize = 10;
    // A listener whose accept queue is full: the kernel drops further SYNs, so connecting
    // neither succeeds nor fails until TcpOutput's connect timeout.
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    l.bind(&any.into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let _queued = TcpStream::connect(addr).unwrap();
    let mut a = forwarder(&addr.to_string());
    let port = a.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in 0..N {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    wait_report(&a, &format!("\n    ProcessMessageCount: {N}\n"));
    wait_for("a connection attempt to time out", 20, || {
        a.stderr()
            .contains("Plugin 'fwd' error: retrying message: can't connect: ")
            .then_some(())
    });
    let t = Instant::now();
    a.signal(15);
    let status = a.wait_exit(GRACE.as_secs() + 20);
    let took = t.elapsed();
    let stderr = a.stderr();
    assert!(status.success(), "{status}: {stderr}");
    assert!(took >= GRACE, "gave up after {took:?}, before the grace");
    let given_up = stderr
        .matches("Plugin 'fwd' error: shutting down: giving up on a message: can't connect: ")
        .count();
    assert_eq!(given_up, N, "each undelivered message is logged:\n{stderr}");
    println!("stopped after {took:?}");
}

#[test]
fn tcp_output_accounts_for_every_message_it_gives_up_at_shutdown() {
    const DELIVERED: usize = 5;
    const N: usize = 10;
    let listener = listen_reusing("127.0.0.1:0");
    let address = listener.local_addr().unwrap().to_string();
    let mut a = forwarder(&address);
    let port = a.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in 0..DELIVERED {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    let mut conn = wait_for("a connection", 20, || listener.accept().ok()).0;
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (mut buf, mut got, mut chunk) = (Vec::new(), Vec::new(), [0u8; 4096]);
    while got.len() < DELIVERED {
        let n = conn.read(&mut chunk).unwrap();
        assert!(n > 0, "closed after {} messages", got.len());
        buf.extend_from_slice(&chunk[..n]);
        take_frames(&mut buf, &mut got);
    }
    let delivered: Vec<i64> = got.iter().map(seq).collect();
    assert_eq!(delivered, (0..DELIVERED as i64).collect::<Vec<_>>());
    // The receiver goes away for good: its port now refuses connections.
    drop((conn, listener));
    let refusing =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    refusing.set_reuse_address(true).unwrap();
    let addr: std::net::SocketAddr = address.parse().unwrap();
    refusing.bind(&addr.into()).unwrap();
    for i in DELIVERED..DELIVERED + N {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
    wait_report(
        &a,
        &format!("\n    ProcessMessageCount: {}\n", DELIVERED + N),
    );
    wait_for("a failed delivery", 20, || {
        a.stderr().contains("can't connect: ").then_some(())
    });
    a.signal(15);
    let status = a.wait_exit(GRACE.as_secs() + 20);
    let stderr = a.stderr();
    assert!(status.success(), "{status}: {stderr}");
    // Every message not delivered is counted, either in a batch the output held or one by one.
    let held: usize = stderr
        .lines()
        .filter(|l| l.contains("Plugin 'fwd' error: "))
        .filter_map(|l| {
            const MARK: &str = "shutting down: ";
            let rest = &l[l.find(MARK)? + MARK.len()..];
            let n = &rest[..rest.find(&format!(" messages not delivered to {address}: "))?];
            Some(n.parse::<usize>().unwrap())
        })
        .sum();
    let one_by_one = stderr
        .matches("Plugin 'fwd' error: shutting down: giving up on a message: ")
        .count();
    assert_eq!(held + one_by_one, N, "{stderr}");
    println!("given up: {held} held by the output, {one_by_one} one by one");
}
