//! `use_buffering`: a TcpOutput whose receiver is down keeps what it accepts in its disk queue
//! (across a restart of hekad) and delivers all of it, in order, once the receiver is up;
//! `full_action` drop, shutdown and block; a corrupt queue file is reported and skipped.

use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, FieldValue, Message, framing};

use crate::net::refusing_address;
use crate::support::*;

/// hekad: TcpInput → buffered TcpOutput to `address`, with these `[fwd.buffering]` lines.
fn buffered_forwarder(address: &str, buffering: &str) -> Hekad {
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
use_buffering = true
[fwd.buffering]
max_file_size = 70000
{buffering}
"#
    ))
}

fn queue_dir(h: &Hekad) -> PathBuf {
    h.path("cache/output_queue/fwd")
}

/// The `seq` field of every framed message in the queue's segment files, in file order.
fn queued(dir: &Path) -> Vec<i64> {
    let mut ids: Vec<u32> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".log")?.parse().ok()
            })
            .collect()
        })
        .unwrap_or_default();
    ids.sort_unstable();
    ids.iter()
        .flat_map(|id| {
            read_framed(&dir.join(format!("{id}.log")))
                .iter()
                .map(seq)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn seq(m: &Message) -> i64 {
    match m.field_value(b"seq") {
        Some(Some(FieldValue::Integer(i))) => i,
        other => panic!("no seq: {other:?}"),
    }
}

fn send(port: u16, range: std::ops::Range<usize>) {
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for i in range {
        s.send(&test_message(i)).unwrap();
    }
    s.flush().unwrap();
}

/// Accepts connections on `listener` and reads framed messages until `n` arrived (or no
/// more arrive for `quiet` after at least `n`), returning their seqs in arrival order.
fn receive(listener: &TcpListener, n: usize, quiet: Duration) -> Vec<i64> {
    listener.set_nonblocking(true).unwrap();
    let mut conns: Vec<(std::net::TcpStream, Vec<u8>)> = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Instant::now();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if out.len() >= n && last.elapsed() >= quiet {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "timed out with {} of {n} messages",
            out.len()
        );
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(true).unwrap();
                conns.push((s, Vec::new()));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
        }
        let mut idle = true;
        for (s, buf) in &mut conns {
            match s.read(&mut chunk) {
                Ok(0) => {}
                Ok(k) => {
                    idle = false;
                    last = Instant::now();
                    buf.extend_from_slice(&chunk[..k]);
                    loop {
                        let sc = framing::scan(buf, DEFAULT_MAX_MESSAGE_SIZE);
                        let Some(f) = sc.frame else { break };
                        let m =
                            Message::decode_bytes(Bytes::copy_from_slice(&buf[f.message])).unwrap();
                        out.push(seq(&m));
                        buf.drain(..sc.consumed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Makes the held, bound socket of [`refusing_address`] listen: the receiver comes up.
fn come_up(held: socket2::Socket) -> TcpListener {
    held.listen(128).unwrap();
    held.into()
}

#[test]
fn a_receiver_that_is_down_gets_everything_in_order_after_a_restart_of_hekad() {
    const N: usize = 800;
    let (held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "");
    let port = h.listening("TcpInput");
    send(port, 0..N);
    let dir = queue_dir(&h);
    wait_for("every message in the queue", 20, || {
        (queued(&dir).len() >= N).then_some(())
    });
    assert_eq!(queued(&dir), (0..N as i64).collect::<Vec<_>>());
    // 800 records of ~100 bytes do not fit one 70000-byte segment.
    assert!(dir.join("1.log").exists());
    // Stopping with the receiver down leaves the queue for the next start.
    assert!(h.stop().success(), "{}", h.stderr());
    assert!(
        h.stderr().contains("delivered after the next start"),
        "{}",
        h.stderr()
    );
    h.restart();
    let port = h.listening("TcpInput");
    send(port, N..N + 10);
    let listener = come_up(held);
    let got = receive(&listener, N + 10, Duration::from_millis(500));
    assert_eq!(got, (0..N as i64 + 10).collect::<Vec<_>>());
    // Everything was written: the cursor is at the end and old segments are gone.
    assert!(h.stop().success(), "{}", h.stderr());
    assert!(!dir.join("0.log").exists());
    let cp = std::fs::read_to_string(dir.join("checkpoint.txt")).unwrap();
    assert!(cp.split_once(' ').is_some(), "{cp:?}");
    h.restart();
    h.listening("TcpInput");
    // Nothing is delivered twice after a clean stop.
    let again = receive(&listener, 0, Duration::from_millis(1500));
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn full_action_drop_keeps_the_first_messages_and_goes_on() {
    const N: usize = 3000;
    let (held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "max_buffer_size = 100000\nfull_action = 'drop'");
    let port = h.listening("TcpInput");
    send(port, 0..N);
    wait_for("drops", 20, || {
        h.stderr().contains("Queue is full").then_some(())
    });
    let dir = queue_dir(&h);
    let kept = wait_for("the queue to settle", 20, || {
        let a = queued(&dir).len();
        std::thread::sleep(Duration::from_millis(300));
        (a == queued(&dir).len() && a > 0).then_some(a)
    });
    assert!(kept < N, "{kept}");
    let listener = come_up(held);
    let got = receive(&listener, kept, Duration::from_millis(500));
    assert_eq!(got, (0..kept as i64).collect::<Vec<_>>());
    // Still running: what comes now fits again.
    send(port, N..N + 5);
    let more = receive(&listener, 5, Duration::from_millis(300));
    assert_eq!(more, (N as i64..N as i64 + 5).collect::<Vec<_>>());
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn full_action_shutdown_stops_hekad() {
    let (_held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "max_buffer_size = 100000");
    let port = h.listening("TcpInput");
    // hekad may stop before it has read everything: write errors are expected.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    for i in 0..3000 {
        if std::io::Write::write_all(&mut s, &frame(&test_message(i), None)).is_err() {
            break;
        }
    }
    let status = h.wait_exit(30);
    assert_eq!(status.code(), Some(1), "{}", h.stderr());
    assert!(h.stderr().contains("Queue is full"), "{}", h.stderr());
}

#[test]
fn full_action_block_holds_the_inputs_back_and_loses_nothing() {
    // More than the channels, the socket buffers and the queue can hold together.
    const N: usize = 100_000;
    let (held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "max_buffer_size = 150000\nfull_action = 'block'");
    let port = h.listening("TcpInput");
    let sender = std::thread::spawn(move || send(port, 0..N));
    let dir = queue_dir(&h);
    // The queue fills up and stays within its bound while the sender is held back.
    wait_for("a full queue", 20, || {
        (queued(&dir).len() > 500).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let size: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    // 11 MB went in, at most 150 kB is queued, and (below) nothing is lost: the rest waited
    // in front of the queue. (Whether the sender itself is still blocked depends on how far
    // the kernel grew the socket buffers, so it is not asserted.)
    assert!(size <= 150000, "{size}");
    let listener = come_up(held);
    let got = receive(&listener, N, Duration::from_millis(500));
    sender.join().unwrap();
    assert_eq!(got, (0..N as i64).collect::<Vec<_>>());
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn a_corrupt_queue_file_is_reported_and_the_rest_delivered() {
    const N: usize = 50;
    let (held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "");
    let port = h.listening("TcpInput");
    send(port, 0..N);
    let dir = queue_dir(&h);
    wait_for("every message in the queue", 20, || {
        (queued(&dir).len() >= N).then_some(())
    });
    assert!(h.stop().success(), "{}", h.stderr());
    // Flip a byte in the message of record 10, and leave half a record at the end (a torn
    // write).
    let seg = dir.join("0.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let mut at = 0;
    let mut starts = Vec::new();
    while let Some(f) = framing::scan(&bytes[at..], DEFAULT_MAX_MESSAGE_SIZE).frame {
        starts.push((at + f.record.start, at + f.message.start));
        at += f.record.end;
    }
    assert_eq!(starts.len(), N);
    bytes[starts[10].1 + 20] ^= 0x55;
    let torn = bytes[starts[3].0..starts[4].0 - 10].to_vec();
    bytes.extend_from_slice(&torn);
    std::fs::write(&seg, &bytes).unwrap();

    // heka-cat reads the queue directory and says where it is damaged.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heka-cat"))
        .args(["-format", "count", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Segment: 0.log"), "{text}");
    let at = starts[10].0;
    assert!(
        text.contains(&format!("Corruption detected at offset: {at} bytes: ")),
        "{text}"
    );
    assert!(text.contains("(checksum mismatch)"), "{text}");
    assert!(
        text.contains("(incomplete record at the end of the file)"),
        "{text}"
    );
    assert!(text.contains("Cursor: none"), "{text}");
    assert!(
        text.contains(&format!(
            "Processed: {}, matched: {} messages",
            N - 1,
            N - 1
        )),
        "{text}"
    );

    h.restart();
    h.listening("TcpInput");
    let listener = come_up(held);
    let got = receive(&listener, N - 1, Duration::from_millis(500));
    let want: Vec<i64> = (0..N as i64).filter(|&i| i != 10).collect();
    assert_eq!(got, want);
    let err = h.stderr();
    assert!(err.contains("corrupt queue data in 0.log"), "{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("torn write"), "{err}");
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn what_is_queued_survives_a_sigkill() {
    const N: usize = 300;
    let (held, address) = refusing_address();
    let mut h = buffered_forwarder(&address, "");
    let port = h.listening("TcpInput");
    send(port, 0..N);
    let dir = queue_dir(&h);
    wait_for("every message in the queue", 20, || {
        (queued(&dir).len() >= N).then_some(())
    });
    h.signal(9);
    h.wait_exit(20);
    h.restart();
    h.listening("TcpInput");
    let listener = come_up(held);
    let got = receive(&listener, N, Duration::from_millis(500));
    assert_eq!(got, (0..N as i64).collect::<Vec<_>>());
    assert!(h.stop().success(), "{}", h.stderr());
}
