//! Reliability: one hekad per `base_dir`; bounded memory under overload.

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, framing};

use crate::support::*;

/// A TcpInput-only config whose state lives in `base_dir`.
fn config(base_dir: &str) -> String {
    format!(
        r#"
[hekad]
base_dir = "{base_dir}"
[TcpInput]
address = "127.0.0.1:0"
"#
    )
}

#[test]
fn a_second_hekad_on_the_same_base_dir_refuses_to_start() {
    let mut first = Hekad::start(&config("{dir}/cache"));
    first.listening("TcpInput");
    let base_dir = first.path("cache");
    let lock = std::fs::read_to_string(base_dir.join("hekad.lock")).unwrap();
    assert_eq!(lock, first.child.id().to_string());

    let mut second = Hekad::start(&config(&base_dir.display().to_string()));
    let status = second.wait_exit(20);
    assert_eq!(status.code(), Some(1));
    let err = second.stderr();
    assert!(
        err.contains(&format!("base_dir {} is in use", base_dir.display()))
            && err.contains(&format!("(pid {})", first.child.id())),
        "{err}"
    );
    // It touched nothing: the first one's pid is still in the lock file.
    let lock = std::fs::read_to_string(base_dir.join("hekad.lock")).unwrap();
    assert_eq!(lock, first.child.id().to_string());

    // Once the first is gone (even killed), the directory is free again.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    second.restart();
    second.listening("TcpInput");
    assert!(second.child.try_wait().unwrap().is_none());
    assert_eq!(second.stop().code(), Some(0));
}

/// Payload of each flood message: a 64 KiB read holds about 16 of them.
const FLOOD_PAYLOAD: usize = 4096;
/// What the flood offers at most: 256 MiB, far more than hekad may hold.
const FLOOD_MESSAGES: usize = 65_536;

/// hekad's resident memory in kB.
fn rss_kb(h: &Hekad) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", h.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A receiver that accepts every connection and never reads from any; returns its address.
fn never_reading_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    address
}

/// Writes framed messages to `port` as fast as they go until a write has made no progress
/// for 2 s (hekad no longer reads: back-pressure reached the sender) or the whole flood is
/// sent. Returns how many messages were sent, and whether the sender got stuck. The
/// connection is handed back so that it stays open (and stuck) while the caller looks.
fn flood_until_stuck(port: u16) -> (usize, bool, TcpStream) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let payload = "x".repeat(FLOOD_PAYLOAD);
    let mut frame = Vec::new();
    for i in 0..FLOOD_MESSAGES {
        let mut m = test_message(i);
        m.set_payload(payload.clone());
        frame.clear();
        framing::encode_frame(&m.to_bytes(), None, DEFAULT_MAX_MESSAGE_SIZE, &mut frame).unwrap();
        match s.write_all(&frame) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (i, true, s);
            }
            Err(e) => panic!("flood: {e}"),
        }
    }
    (FLOOD_MESSAGES, false, s)
}

/// The value of `field` in the block of `component` of the last text report in `stderr`.
fn report_value(stderr: &str, component: &str, field: &str) -> Option<f64> {
    let report = &stderr[stderr.rfind("========[heka.all-report]========")?..];
    let block = &report[report.find(&format!("\n{component}:\n"))? + 1..];
    let block = &block[..block[1..].find("\n\n").map_or(block.len(), |i| i + 1)];
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{field}:")))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

/// Asks for the report (SIGUSR1) until `ok` holds for it; returns hekad's stderr then.
fn wait_report(h: &Hekad, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_for(what, 20, || {
        h.signal(10);
        std::thread::sleep(Duration::from_millis(100));
        let err = h.stderr();
        ok(&err).then_some(err)
    })
}

/// The bound on what hekad may hold beyond its resident memory at rest: each of the output's
/// 2 lanes holds at most `plugin_chansize` (30) deliveries, each at most one 64 KiB read's
/// records plus at most 512 packs (well under 1 KiB each with their message structs):
/// 2 × 30 × (64 KiB + 512 KiB) < 34 MiB; the input holds one batch per connection, the
/// output one batch being written. 64 MiB leaves room for the allocator's slack, and is a
/// quarter of what the flood offers.
const HELD_BOUND_KB: u64 = 64 * 1024;

/// Floods hekad (TcpInput → TcpOutput `fwd` to a receiver that never reads) and checks that the
/// sender gets stuck, hekad's memory stays bounded, and the report shows `fwd` full.
fn overload(buffering: &str) -> (Hekad, String) {
    let address = never_reading_receiver();
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
[TcpInput]
address = "127.0.0.1:0"
[fwd]
type = "TcpOutput"
message_matcher = "Type == 'e2e.test'"
address = "{address}"
{buffering}
"#
    ));
    let port = h.listening("TcpInput");
    let at_rest = rss_kb(&h);
    let (sent, stuck, conn) = flood_until_stuck(port);
    assert!(stuck, "hekad took all {sent} messages without pushing back");
    // Back-pressure holds: more time does not let more in, nor memory grow.
    let mut peak = 0;
    for _ in 0..10 {
        peak = peak.max(rss_kb(&h));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        peak < at_rest + HELD_BOUND_KB,
        "RSS {peak} kB, at rest {at_rest} kB, after {sent} messages of {FLOOD_PAYLOAD} bytes"
    );
    // Where messages wait: the output's channel is full.
    let stderr = wait_report(&h, "fwd's channel full in the report", |err| {
        report_value(err, "fwd", "InChanLength") == Some(30.0)
    });
    assert_eq!(report_value(&stderr, "fwd", "InChanCapacity"), Some(30.0));
    println!(
        "{sent} messages sent before the sender got stuck; RSS {at_rest} kB at rest, {peak} kB at peak"
    );
    drop(conn);
    (h, stderr)
}

#[test]
fn an_overloaded_output_pushes_back_on_the_sender_in_bounded_memory() {
    let (mut h, _) = overload("use_buffering = false");
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn an_overloaded_buffered_output_fills_its_queue_then_pushes_back_in_bounded_memory() {
    const MAX_BUFFER: u64 = 8 * 1024 * 1024;
    let (mut h, stderr) = overload(&format!(
        "[fwd.buffering]\nmax_file_size = 1048576\nmax_buffer_size = {MAX_BUFFER}\nfull_action = \"block\"\n"
    ));
    // The queue is full: within one record of its limit.
    let queued = report_value(&stderr, "fwd", "QueueBytes").unwrap();
    assert!(
        queued <= MAX_BUFFER as f64 && queued > (MAX_BUFFER - 2 * FLOOD_PAYLOAD as u64) as f64,
        "QueueBytes {queued}\n{stderr}"
    );
    assert!(h.stop().success(), "{}", h.stderr());
}
