//! Runs the built `heka-cat` on Heka's recorded `protobuf.log` (7 messages) and on files made
//! by the tests.

// Test helpers outside #[test] functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use heka_message::framing::{encode_frame, scan};
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message};

const CAT: &str = env!("CARGO_BIN_EXE_heka-cat");
const DEADLINE: Duration = Duration::from_secs(60);

/// Heka's recorded stream, kept in the repository (`testdata/heka/`). Checked here so that a
/// missing file fails with its name instead of as a changed exit code (heka-cat exits 3 when
/// it can't open its input, before it looks at `-output` or `-offset`).
fn protobuf_log() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/heka/protobuf.log");
    assert!(p.is_file(), "recorded stream missing: {}", p.display());
    p
}

fn cat(args: &[&str]) -> Output {
    Command::new(CAT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs heka-cat on `protobuf.log` with `args` before the file name.
fn cat_log(args: &[&str]) -> Output {
    let log = protobuf_log();
    let mut all = args.to_vec();
    all.push(log.to_str().unwrap());
    cat(&all)
}

fn framed(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&msg.to_bytes(), None, DEFAULT_MAX_MESSAGE_SIZE, &mut out).unwrap();
    out
}

fn message(kind: &str) -> Message {
    let mut m = Message::new_now();
    m.set_type(kind.to_owned());
    m.set_payload(format!("payload of {kind}"));
    m
}

#[test]
fn counts_every_record() {
    let out = cat_log(&["-format", "count"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.starts_with("Input:"), "{text}");
    assert!(
        text.contains("  Match:TRUE  Format:count  Tail:false  Output:\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Processed: 7, matched: 7 messages\n"),
        "{text}"
    );
}

#[test]
fn txt_is_the_default_format() {
    let out = cat_log(&[]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.matches("\nUUID: ").count(), 7);
    assert!(
        text.contains("\nType: hekabench\nHostname: trink-x230\nPid: 5823\n"),
        "{text:.400}"
    );
    assert!(text.contains("UUID: eb882244-2044-4d3d-8336-a674227c3381\n"));
    assert!(text.contains("Fields: [name:\"string0\" value_type:STRING representation:\"\" value_string:\"value0\"  name:"));
    assert!(text.ends_with("\n\nProcessed: 7, matched: 7 messages\n"));
}

#[test]
fn match_selects_a_subset_with_every_flag_syntax() {
    for args in [
        &["-match", "Uuid =~ /^e/", "-format", "count"][..],
        &["-match=Uuid =~ /^e/", "-format=count"],
        &["--match", "Fields[string3] != NIL", "--format", "count"],
        &["--match=Fields[string3] != NIL", "--format=count"],
    ] {
        let out = cat_log(args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            stdout(&out).ends_with("Processed: 7, matched: 2 messages\n"),
            "{args:?}: {}",
            stdout(&out)
        );
    }
    let out = cat_log(&["-match", "Type == 'nothing'", "-format", "count"]);
    assert!(stdout(&out).ends_with("Processed: 7, matched: 0 messages\n"));
}

#[test]
fn json_output_parses() {
    let out = cat_log(&["-format", "json", "-match", "Uuid =~ /^e/"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "header, 2 messages, counts");
    let mut uuids = Vec::new();
    for line in &lines[1..3] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["type"], "hekabench");
        assert_eq!(v["hostname"], "trink-x230");
        assert_eq!(v["pid"], 5823);
        assert!(v["timestamp"].as_i64().unwrap() > 1_377_000_000_000_000_000);
        let fields = v["fields"].as_array().unwrap();
        assert_eq!(fields[0]["name"], "string0");
        assert_eq!(fields[0]["value_type"], 0);
        assert_eq!(fields[0]["value_string"][0], "value0");
        uuids.push(v["uuid"].as_str().unwrap().to_owned());
    }
    // Base64 of the UUIDs eb882244-… and ed2b96da-….
    assert_eq!(
        uuids,
        ["64giRCBETT2DNqZ0InwzgQ==", "7SuW2gaISz+kG0IZfW/Cnw=="]
    );
    assert_eq!(lines[3], "Processed: 7, matched: 2 messages");
}

#[test]
fn heka_format_re_emits_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.log");
    let out = cat_log(&["-format", "heka", "-output", copy.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(stdout(&out).ends_with("Processed: 7, matched: 7 messages\n"));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(protobuf_log()).unwrap()
    );
    let out = cat(&["-format", "count", copy.to_str().unwrap()]);
    assert!(stdout(&out).ends_with("Processed: 7, matched: 7 messages\n"));
}

#[test]
fn offset_skips_records() {
    let data = std::fs::read(protobuf_log()).unwrap();
    let first = scan(&data, 4 << 20).consumed;
    let out = cat_log(&["-format", "count", "-offset", &first.to_string()]);
    let text = stdout(&out);
    assert!(text.contains(&format!("  Offset:{first}  ")), "{text}");
    assert!(
        text.ends_with("Processed: 6, matched: 6 messages\n"),
        "{text}"
    );
    // Starting in the middle of a record reports the skipped bytes as corruption.
    let out = cat_log(&["-format", "count", "-offset", "1"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Corruption detected at offset: 1 bytes: {}\n",
            first - 1
        )),
        "{text}"
    );
    assert!(
        text.ends_with("Processed: 6, matched: 6 messages\n"),
        "{text}"
    );
}

#[test]
fn garbage_and_undecodable_records_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.log");
    let mut data = b"junk".to_vec();
    data.extend(framed(&message("one")));
    let bad_at = data.len();
    encode_frame(b"\xff\xff\xff", None, DEFAULT_MAX_MESSAGE_SIZE, &mut data).unwrap();
    data.extend(framed(&message("two")));
    std::fs::write(&path, &data).unwrap();

    let out = cat(&["-format", "count", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Corruption detected at offset: 0 bytes: 4\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Error unmarshalling message at offset: {bad_at} error: "
        )),
        "{text}"
    );
    assert!(
        text.ends_with("Processed: 3, matched: 2 messages\n"),
        "{text}"
    );
}

#[test]
fn malformed_matcher_exits_2() {
    let out = cat_log(&["-match", "Type = 'x'"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.starts_with("Match specification - syntax error: "),
        "{text}"
    );
    assert!(!text.contains("Processed:"));
}

#[test]
fn usage_errors() {
    let log = protobuf_log();
    let log = log.to_str().unwrap();
    // No file: the defaults, exit 1.
    let out = cat(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-match"));
    // Unknown flag: exit 2.
    let out = cat_log(&["-bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-bogus"),
        "{out:?}"
    );
    // Missing input file: exit 3.
    let out = cat(&["/nonexistent/heka-cat-input"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).starts_with("open /nonexistent/heka-cat-input: "),
        "{out:?}"
    );
    // Unwritable output: exit 4 (the input opened, so this is the output's failure).
    let out = cat_log(&["-output", "/nonexistent/dir/out"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stdout(&out).starts_with("open /nonexistent/dir/out: "),
        "{out:?}"
    );
    // Unparsable number: exit 2; negative offset: the seek fails, exit 5.
    let out = cat_log(&["-offset", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-offset"),
        "{out:?}"
    );
    let out = cat_log(&["-offset", "-1"]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout(&out), format!("seek {log}: negative offset\n"));
    // Too large a maximum message size: exit 8.
    let out = cat_log(&["-max-message-size", "4294967295"]);
    assert_eq!(out.status.code(), Some(8));
    assert_eq!(stdout(&out), "Message size is too large: 4294967295\n");
}

#[test]
fn tail_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.log");
    std::fs::write(&path, framed(&message("before"))).unwrap();
    let mut child = Command::new(CAT)
        .args([
            "-tail",
            "-match",
            "Type =~ /^(before|after)$/",
            path.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |want: &str| {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == want => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    };
    let saw_before = wait_for("Type: before");
    if saw_before {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&framed(&message("ignored"))).unwrap();
        f.write_all(&framed(&message("after"))).unwrap();
    }
    let saw_after = saw_before && wait_for("Type: after");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(saw_before, "the record present at start was not printed");
    assert!(saw_after, "the appended record was not printed");
}
