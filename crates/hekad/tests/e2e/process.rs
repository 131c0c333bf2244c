//! ProcessInput, ProcessDirectoryInput and FilePollingInput running real commands and reading
//! real files: pipes between commands, stderr, exit statuses, timeouts, processes added to and
//! removed from a directory while hekad runs, a file that changes between polls; no command is
//! left running or unreaped.

use std::path::Path;
use std::time::{Duration, Instant};

use heka_message::{FieldValue, Message};

use crate::support::*;

/// A FileOutput writing every message of `matcher` as framed protobuf to `{dir}/<file>`.
fn output(name: &str, matcher: &str, file: &str) -> String {
    format!(
        "[{name}]\ntype = \"FileOutput\"\nmessage_matcher = \"{matcher}\"\npath = \"{{dir}}/{file}\"\nencoder = \"ProtobufEncoder\"\nflush_interval = 0\n"
    )
}

fn int_field(m: &Message, name: &str) -> Option<i64> {
    match m.field_value(name.as_bytes()).flatten() {
        Some(FieldValue::Integer(i)) => Some(i),
        _ => None,
    }
}

fn payload(m: &Message) -> String {
    String::from_utf8_lossy(m.payload_bytes()).into_owned()
}

/// The first message in `path` from the input `logger`, once there is one.
fn first_from(path: &Path, logger: &str) -> Message {
    wait_for(&format!("a message from {logger}"), 20, || {
        read_framed(path)
            .into_iter()
            .find(|m| m.logger_bytes() == logger.as_bytes())
    })
}

/// The processes whose parent is `pid`, with their state letter (`Z` for a zombie).
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let list = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for c in list
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let stat = std::fs::read_to_string(format!("/proc/{c}/stat")).unwrap_or_default();
            // "pid (comm) S ...": the state follows the last ')'.
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].trim_start().chars().next())
                .unwrap_or('?');
            out.push((c, state));
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .is_some_and(|i| !s[i + 1..].trim_start().starts_with('Z'))
    })
}

#[test]
fn process_input_pipes_stderr_exit_status_and_timeout() {
    let config = format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
hostname = "e2e-host"

# A two-step pipe: printf | tr, run now and every second.
[pipe]
type = "ProcessInput"
ticker_interval = 1
immediate_start = true
[pipe.command.0]
bin = "printf"
args = ["one\ntwo\n"]
[pipe.command.1]
bin = "tr"
args = ["a-z", "A-Z"]

# stderr of the last command only; stdout not wanted.
[err]
type = "ProcessInput"
ticker_interval = 1
immediate_start = true
stdout = false
stderr = true
[err.command.0]
bin = "sh"
args = ["-c", "echo early >&2; echo data"]
[err.command.1]
bin = "sh"
args = ["-c", "cat; echo late-error >&2"]

# A failing first step, and a failing last step.
[fail_first]
type = "ProcessInput"
ticker_interval = 1
immediate_start = true
[fail_first.command.0]
bin = "false"
[fail_first.command.1]
bin = "sh"
args = ["-c", "cat; echo after-false"]

[fail_last]
type = "ProcessInput"
ticker_interval = 1
immediate_start = true
[fail_last.command.0]
bin = "sh"
args = ["-c", "echo exiting; exit 3"]

# Killed after one second; run once.
[slow]
type = "ProcessInput"
ticker_interval = 0
can_exit = true
timeout = 1
[slow.command.0]
bin = "sh"
args = ["-c", "echo started; sleep 30; echo never"]

# Still running when hekad stops.
[long]
type = "ProcessInput"
ticker_interval = 0
can_exit = true
[long.command.0]
bin = "sleep"
args = ["31"]

{}"#,
        output("out", "Type == 'ProcessInput'", "out.log")
    );
    let started = Instant::now();
    let mut h = Hekad::start(&config);
    let out = h.path("out.log");

    let m = first_from(&out, "pipe");
    assert_eq!(payload(&m), "ONE\nTWO\n");
    assert_eq!(m.type_bytes(), b"ProcessInput");
    assert_eq!(m.hostname_bytes(), b"e2e-host");
    assert_eq!(m.pid, Some(h.child.id() as i32));
    assert_eq!(
        string_field(&m, "ProcessInputName").as_deref(),
        Some("pipe.stdout")
    );
    assert_eq!(int_field(&m, "ExitStatus"), Some(0));
    assert_eq!(string_field(&m, "SubcmdErrors"), None);

    let m = first_from(&out, "err");
    assert_eq!(payload(&m), "late-error\n");
    assert_eq!(
        string_field(&m, "ProcessInputName").as_deref(),
        Some("err.stderr")
    );

    let m = first_from(&out, "fail_first");
    assert_eq!(payload(&m), "after-false\n");
    assert_eq!(int_field(&m, "ExitStatus"), Some(0));
    assert_eq!(
        string_field(&m, "SubcmdErrors").as_deref(),
        Some("Subcommand[0] returned an error: [exit status 1]")
    );

    let m = first_from(&out, "fail_last");
    assert_eq!(payload(&m), "exiting\n");
    assert_eq!(int_field(&m, "ExitStatus"), Some(3));
    assert_eq!(
        string_field(&m, "SubcmdErrors").as_deref(),
        Some("Subcommand[0] returned an error: [exit status 3]")
    );

    let m = first_from(&out, "slow");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the timeout did not kill it"
    );
    assert_eq!(payload(&m), "started\n");
    assert_eq!(int_field(&m, "ExitStatus"), Some(0));
    assert_eq!(
        string_field(&m, "SubcmdErrors").as_deref(),
        Some(
            "Subcommand[0] returned an error: [ManagedCmd was stopped with error: \
             [subprocess was killed: [sh -c echo started; sleep 30; echo never]]]"
        )
    );

    // Runs repeat; every finished command is reaped, and the long one is still there.
    wait_for("a second run of pipe", 20, || {
        let n = read_framed(&out)
            .iter()
            .filter(|m| m.logger_bytes() == b"pipe")
            .count();
        (n >= 2).then_some(())
    });
    let kids = wait_for("only the long-running command", 10, || {
        let kids = children(h.child.id());
        (kids.len() == 1).then_some(kids)
    });
    assert!(
        kids.iter().all(|(_, state)| *state != 'Z'),
        "zombies: {kids:?}"
    );
    assert!(
        h.stdout()
            .contains("Plugin 'slow': input has stopped, exiting plugin without shutting down")
    );

    // Stopping hekad kills the long-running command at once.
    let stopping = Instant::now();
    assert!(h.stop().success(), "{}", h.stderr());
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert!(!alive(kids[0].0), "the long-running command outlived hekad");
}

#[test]
fn process_input_that_cannot_start_is_retried_then_ends_hekad() {
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
[missing]
type = "ProcessInput"
ticker_interval = 1
immediate_start = true
[missing.retries]
delay = "100ms"
max_jitter = "0s"
max_retries = 1
[missing.command.0]
bin = "no-such-program-e2e"
{}"#,
        output("out", "TRUE", "out.log")
    ));
    // A start failure is fatal for the input: retried once, then hekad (can_exit false) ends.
    let status = h.wait_exit(20);
    assert!(!status.success());
    let err = h.stderr();
    assert!(
        err.contains("CommandChain::Start() error: [Command [no-such-program-e2e] triggered an error: [exec: \"no-such-program-e2e\": executable file not found in $PATH]]"),
        "{err}"
    );
}

fn process_file(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    // Written aside and renamed, so a scan never reads half a file.
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
}

fn echo(word: &str) -> String {
    format!(
        "[ProcessInput]\nimmediate_start = true\n[ProcessInput.command.0]\nbin = \"echo\"\nargs = [\"{word}\"]\n"
    )
}

#[test]
fn process_directory_follows_files_added_changed_and_removed() {
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
share_dir = "{{dir}}"
[ProcessDirectoryInput]
process_dir = "procs"
ticker_interval = 1
{}"#,
        output("out", "Type == 'ProcessInput'", "out.log")
    ));
    let procs = h.path("procs");
    let out = h.path("out.log");
    let a = procs.join("1/a.toml").display().to_string();
    let b = procs.join("1/b.toml").display().to_string();
    process_file(&procs, "1/a.toml", &echo("from-a"));

    let m = first_from(&out, &a);
    assert_eq!(payload(&m), "from-a\n");
    assert_eq!(
        string_field(&m, "ProcessInputName"),
        Some(format!("{a}.stdout"))
    );

    // A file added while hekad runs is picked up by the next scan.
    process_file(&procs, "1/b.toml", &echo("from-b"));
    let m = first_from(&out, &b);
    assert_eq!(payload(&m), "from-b\n");

    // A changed file replaces its process.
    process_file(&procs, "1/b.toml", &echo("b-changed"));
    wait_for("the changed process's output", 20, || {
        read_framed(&out)
            .iter()
            .any(|m| payload(m) == "b-changed\n")
            .then_some(())
    });

    // A removed file stops its process: no message from it after a while.
    std::fs::remove_file(procs.join("1/a.toml")).unwrap();
    wait_for("a's removal", 20, || {
        h.stdout().contains(&format!("Removed: {a}")).then_some(())
    });
    let count_a = || {
        read_framed(&out)
            .iter()
            .filter(|m| m.logger_bytes() == a.as_bytes())
            .count()
    };
    let before = count_a();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(count_a(), before, "the removed process still runs");
    assert!(
        read_framed(&out)
            .iter()
            .filter(|m| m.logger_bytes() == b.as_bytes())
            .count()
            >= 2,
        "b keeps running"
    );

    let log = h.stdout();
    for line in [
        format!("Plugin 'ProcessDirectoryInput': Added: {a}"),
        format!("Plugin 'ProcessDirectoryInput': Added: {b}"),
        format!("Plugin 'ProcessDirectoryInput': Removed: {b}"),
        format!("Plugin 'ProcessDirectoryInput': Removed: {a}"),
    ] {
        assert!(log.contains(&line), "no {line:?} in\n{log}");
    }
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn file_polling_reads_a_file_that_changes_between_polls() {
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
hostname = "poller"
[status]
type = "FilePollingInput"
file_path = "{{dir}}/status.txt"
ticker_interval = 1
{}"#,
        output("out", "Type == 'heka.file.polling'", "out.log")
    ));
    let status = h.path("status.txt");
    let out = h.path("out.log");
    std::fs::write(&status, "state=one\n").unwrap();
    let m = first_from(&out, "status");
    assert_eq!(payload(&m), "state=one\n");
    assert_eq!(m.hostname_bytes(), b"poller");
    assert_eq!(int_field(&m, "TickerInterval"), Some(1));
    assert_eq!(
        string_field(&m, "FilePath"),
        Some(status.display().to_string())
    );

    // Replaced in place between two polls: the next poll reads the new content whole.
    std::fs::write(&status, "state=two\n").unwrap();
    let msgs = wait_for("the changed content", 20, || {
        let msgs = read_framed(&out);
        msgs.iter()
            .any(|m| payload(m) == "state=two\n")
            .then_some(msgs)
    });
    for m in &msgs {
        assert!(
            ["state=one\n", "state=two\n"].contains(&payload(m).as_str()),
            "{:?}",
            payload(m)
        );
    }
    // The file is closed after each poll.
    let open = std::fs::read_dir(format!("/proc/{}/fd", h.child.id()))
        .unwrap()
        .flatten()
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|p| p == status))
        .count();
    assert_eq!(open, 0, "status.txt is still open");
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn process_directory_process_without_can_exit_ends_hekad() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[pdi]
type = "ProcessDirectoryInput"
process_dir = "{dir}/procs"
ticker_interval = 1
[LogOutput]
message_matcher = "FALSE"
encoder = "PayloadEncoder"
"#,
    );
    // Run once (directory 0) and not allowed to exit: its end shuts hekad down.
    process_file(
        &h.path("procs"),
        "0/once.toml",
        "[ProcessInput]\ncan_exit = false\n[ProcessInput.command.0]\nbin = \"true\"\n",
    );
    let status = h.wait_exit(20);
    assert_eq!(status.code(), Some(1), "{}", h.stderr());
    let once = h.path("procs/0/once.toml").display().to_string();
    assert!(
        h.stderr().contains(&format!(
            "Plugin '{once}' error: input has stopped, shutting down"
        )),
        "{}",
        h.stderr()
    );
}
