//! LogstreamerInput against real files: while hekad tails them, the test appends, rotates by
//! rename, compresses a rotated file with gzip, rotates by copy and truncate, and kills hekad
//! with SIGKILL and starts it again; every line must arrive exactly once and in order.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

/// hekad's config: one LogstreamerInput over `logs`, journals and output under `state`.
fn config(logs: &Path, state: &Path) -> String {
    format!(
        r#"
[hekad]
base_dir = "{state}/base"
[app]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'app\.log(\.(?P<Seq>\d+))?(\.gz)?'
priority = ["^Seq"]
check_data_interval = "20ms"
rescan_interval = "500ms"
journal_directory = "{state}/journal"
[out]
type = "FileOutput"
message_matcher = "Type == 'logfile' && Logger == 'app'"
path = "{state}/out.log"
encoder = "PayloadEncoder"
flush_operator = "OR"
flush_count = 100
flush_interval = 20
[PayloadEncoder]
append_newlines = false
"#,
        logs = logs.display(),
        state = state.display()
    )
}

fn line(i: usize) -> String {
    format!("line {i:05} {}\n", "x".repeat(i % 97))
}

fn append(path: &Path, lines: std::ops::Range<usize>) {
    let mut f = std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in lines {
        f.write_all(line(i).as_bytes()).unwrap();
    }
}

/// The line numbers hekad wrote out so far.
fn received(state: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(state.join("out.log")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let n = l
                .strip_prefix("line ")
                .and_then(|r| r.get(..5))
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            let n: usize = n.parse().unwrap();
            assert_eq!(format!("{l}\n"), line(n), "line {n} arrived changed");
            n
        })
        .collect()
}

fn wait_received(state: &Path, n: usize) -> Vec<usize> {
    wait_for(&format!("{n} lines"), 30, || {
        let got = received(state);
        (got.len() >= n).then_some(got)
    })
}

/// Shifts app.log.N to app.log.N+1 (highest first), as logrotate does.
fn shift(logs: &Path) {
    for n in (1..10).rev() {
        for ext in ["", ".gz"] {
            let from = logs.join(format!("app.log.{n}{ext}"));
            if from.exists() {
                std::fs::rename(&from, logs.join(format!("app.log.{}{ext}", n + 1))).unwrap();
            }
        }
    }
}

/// Replaces app.log.N by app.log.N.gz holding the same bytes.
fn compress(logs: &Path, n: usize) {
    let plain = logs.join(format!("app.log.{n}"));
    let status = std::process::Command::new("gzip")
        .arg("-f")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn every_line_once_and_in_order_through_rotation_gzip_and_kill_9() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("app.log");
    let cfg = config(logs.path(), state.path());

    // Lines already there before the first start, in a rotated file and the live one.
    append(&live, 0..300);
    shift(logs.path());
    std::fs::rename(&live, logs.path().join("app.log.1")).unwrap();
    append(&live, 300..600);

    let mut h = Hekad::start(&cfg);
    wait_received(state.path(), 600);

    // Rename rotation while hekad reads, with lines written on both sides of it.
    append(&live, 600..900);
    shift(logs.path());
    std::fs::rename(&live, logs.path().join("app.log.1")).unwrap();
    append(&live, 900..1200);
    wait_received(state.path(), 1200);

    // Another rotation; the file rotated before is compressed (delaycompress).
    shift(logs.path());
    std::fs::rename(&live, logs.path().join("app.log.1")).unwrap();
    compress(logs.path(), 2);
    append(&live, 1200..1500);
    wait_received(state.path(), 1500);

    // copytruncate: the live file is copied to app.log.1 and truncated in place, then written
    // past its old size before the next poll could notice it shrank. (hekad has read the file
    // to its end: a truncation in the middle of a read cannot be told from an append.)
    append(&live, 1500..1700);
    wait_received(state.path(), 1700);
    shift(logs.path());
    std::fs::copy(&live, logs.path().join("app.log.1")).unwrap();
    let mut tail = String::new();
    for i in 1700..2300 {
        tail.push_str(&line(i));
    }
    // Truncated and written again in place (same inode).
    std::fs::write(&live, tail).unwrap();
    wait_received(state.path(), 2300);

    // kill -9 in the middle of a stream of lines, then start again.
    let writer = {
        let live = live.clone();
        std::thread::spawn(move || {
            for chunk in (2300..6300).step_by(100) {
                append(&live, chunk..chunk + 100);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    h.child.kill().unwrap();
    h.child.wait().unwrap();
    writer.join().unwrap();
    let before_kill = received(state.path());
    assert!(
        before_kill.len() < 6300,
        "the kill came too late to test anything"
    );
    assert!(
        before_kill.windows(2).all(|w| w[1] == w[0] + 1) && before_kill[0] == 0,
        "lines out of order or repeated before the kill"
    );
    let mut h2 = Hekad::start(&cfg);
    let got = wait_for("every line after the restart", 30, || {
        let got = received(state.path());
        (got.last() == Some(&6299)).then_some(got)
    });
    h2.stop();

    // In order, none missing; lines after the last journal save may come twice (only after
    // the restart, as checked above), never more.
    let mut expected = 0;
    let mut repeats = 0;
    for &n in &got {
        if n == expected {
            expected += 1;
        } else {
            assert!(n < expected, "line {expected} missing (got {n} next)");
            repeats += 1;
        }
    }
    assert_eq!(expected, 6300);
    assert!(
        repeats <= 6300 - 2300,
        "{repeats} repeated lines: more than were written after the kill"
    );
    let journal = std::fs::read_to_string(state.path().join("journal/app")).unwrap();
    assert!(
        journal.starts_with(r#"{"seek":"#) && journal.contains(r#""file_name":""#),
        "{journal}"
    );
}

#[test]
fn a_clean_stop_saves_the_position_and_a_restart_finds_it_in_the_rotated_file() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("app.log");
    let cfg = config(logs.path(), state.path());
    append(&live, 0..500);
    let mut h = Hekad::start(&cfg);
    wait_received(state.path(), 500);
    assert!(h.stop().success());
    let journal = std::fs::read_to_string(state.path().join("journal/app")).unwrap();
    let size = std::fs::metadata(&live).unwrap().len();
    assert!(
        journal.starts_with(&format!(
            r#"{{"seek":{size},"file_name":"{}","last_hash":""#,
            std::fs::canonicalize(&live).unwrap().display()
        )),
        "{journal}"
    );
    // While hekad is down the file grows and is rotated: the journalled position is found
    // again in app.log.1 by its hash, and reading goes on there, then in the new app.log.
    append(&live, 500..800);
    std::fs::rename(&live, logs.path().join("app.log.1")).unwrap();
    append(&live, 800..900);
    let mut h = Hekad::start(&cfg);
    wait_received(state.path(), 900);
    std::thread::sleep(Duration::from_millis(300));
    h.stop();
    assert_eq!(received(state.path()), (0..900).collect::<Vec<_>>());
}

#[test]
fn initial_tail_starts_at_the_end_and_a_bad_config_is_refused() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("app.log");
    append(&live, 0..100);
    let cfg = config(logs.path(), state.path()).replace(
        "priority = [\"^Seq\"]",
        "priority = [\"^Seq\"]\ninitial_tail = true",
    );
    let mut h = Hekad::start(&cfg);
    // The tail starts once the input runs: wait for its journal, then write.
    wait_for("the journal", 20, || {
        state.path().join("journal/app").exists().then_some(())
    });
    append(&live, 100..150);
    let got = wait_received(state.path(), 50);
    h.stop();
    assert_eq!(got, (100..150).collect::<Vec<_>>());

    let bad = config(logs.path(), state.path()).replace(r"app\.log(", r"app\.log((");
    let bad_path = state.path().join("bad.toml");
    std::fs::write(&bad_path, bad).unwrap();
    let (status, _, stderr) = run_hekad(&[&format!("-config={}", bad_path.display())]);
    assert!(!status.success());
    assert!(stderr.contains("file_match"), "{stderr}");
}
