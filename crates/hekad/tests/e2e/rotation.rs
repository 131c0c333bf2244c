//! FileOutput's hourly rotation under a steady stream of messages, across an hour boundary.
//!
//! hekad runs under libfaketime (`LD_PRELOAD`): its wall clock starts five seconds before
//! 13:00 UTC and runs at the normal rate, so the boundary comes a few seconds after the start.
//! The monotonic clock is left alone (`FAKETIME_DONT_FAKE_MONOTONIC`), so timers and timeouts
//! behave as usual. The input stamps each message with hekad's (faked) time, which lets the
//! test check which side of the boundary each one was received on.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use heka_message::Message;

use crate::support::*;

/// Where hekad's clock starts.
const FAKE_START: &str = "@2026-12-02 12:59:55";
/// 2026-12-02 13:00:00 UTC in Unix nanoseconds: the boundary the test crosses.
const BOUNDARY_NS: i64 = 1_796_216_400 * 1_000_000_000;

/// The library that fakes the clock (Debian's libfaketime, which scripts/setup.sh installs).
fn libfaketime() -> PathBuf {
    let path = PathBuf::from(format!(
        "/usr/lib/{}-linux-gnu/faketime/libfaketime.so.1",
        std::env::consts::ARCH
    ));
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (it installs the Debian package libfaketime)",
        path.display()
    );
    path
}

/// The sequence number a message carries as its payload (TokenSplitter keeps the newline).
fn seq(m: &Message) -> usize {
    let p = String::from_utf8_lossy(m.payload_bytes());
    p.strip_suffix('\n')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("payload {p:?} is not a number and a newline"))
}

#[test]
fn hourly_rotation_splits_a_steady_stream_at_the_boundary() {
    let preload = libfaketime();
    let mut h = Hekad::start_with_env(
        r#"
[hekad]
base_dir = "{dir}/cache"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "TokenSplitter"
decoder = ""
[out]
type = "FileOutput"
message_matcher = "Logger == 'in'"
path = "{dir}/out/%Y%m%d-%H.log"
rotation_interval = 1
encoder = "ProtobufEncoder"
"#,
        &[
            ("LD_PRELOAD", &preload.display().to_string()),
            ("FAKETIME", FAKE_START),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("TZ", "UTC"),
        ],
    );
    let port = h.listening("in");
    let (before, after) = (h.path("out/20261202-12.log"), h.path("out/20261202-13.log"));
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut sent = 0;
    let mut send = |n: usize| {
        let lines: String = (sent..sent + n).map(|i| format!("{i}\n")).collect();
        conn.write_all(lines.as_bytes()).unwrap();
        sent += n;
    };
    // A steady stream (20 messages every 5 ms) until the file of the new hour holds data; the
    // FileOutput writes about once a second, so the stream goes on well past the boundary.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&after).map_or(true, |m| m.len() == 0) {
        assert!(
            Instant::now() < deadline,
            "no data in {} yet; hekad's log:\n{}",
            after.display(),
            h.stderr()
        );
        send(20);
        std::thread::sleep(Duration::from_millis(5));
    }
    // Received after the rotation, so stamped after the boundary.
    send(200);
    let total = sent;
    let (old, new) = wait_for(&format!("{total} messages in both files"), 20, || {
        let (old, new) = (read_framed(&before), read_framed(&after));
        (old.len() + new.len() >= total).then_some((old, new))
    });

    let mut files: Vec<_> = std::fs::read_dir(h.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["20261202-12.log", "20261202-13.log"]);
    assert!(!old.is_empty(), "nothing was written before the boundary");
    assert!(!new.is_empty(), "nothing was written after the boundary");
    // Every message exactly once, in order: the old file holds a prefix of the stream and the
    // new one the rest.
    let seqs: Vec<usize> = old.iter().chain(&new).map(seq).collect();
    assert_eq!(seqs, (0..total).collect::<Vec<_>>());
    // hekad saw the faked clock: the first message was stamped in the seconds before 13:00.
    let first = old[0].timestamp;
    assert!(
        (BOUNDARY_NS - 5_000_000_000..BOUNDARY_NS).contains(&first),
        "first message stamped {first}, not in the 5 s before the boundary"
    );
    // A message is written after it is stamped, so everything in the old file was stamped
    // before the boundary, and everything stamped from the boundary on is in the new file.
    if let Some(late) = old.iter().find(|m| m.timestamp >= BOUNDARY_NS) {
        panic!(
            "message {} stamped {} (after the boundary) is in the old file",
            seq(late),
            late.timestamp
        );
    }
    assert!(
        new.iter().any(|m| m.timestamp >= BOUNDARY_NS),
        "no message in the new file was stamped after the boundary"
    );
    assert!(h.stop().success(), "{}", h.stderr());
    // Nothing more arrives at shutdown: the files held everything already.
    assert_eq!(
        read_framed(&before).len() + read_framed(&after).len(),
        total
    );
}
