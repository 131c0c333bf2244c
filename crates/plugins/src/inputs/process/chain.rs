//! A command chain (Heka's `CommandChain` and `ManagedCmd`): commands started together, the
//! stdout of each piped into the stdin of the next through real OS pipes, the last one's stdout
//! and stderr read by the caller's thread.
//!
//! One run:
//! - Every command is spawned in order, in a process group of its own. The first reads
//!   `/dev/null`; the stderr of all but the last goes to `/dev/null`. A command that cannot be
//!   started ends the run with an error, after the ones already started are killed and reaped.
//! - The last command's stdout and stderr are read without blocking, with `poll(2)`, so neither
//!   pipe can fill while the other is waited on, and the stop signal and the timeouts are
//!   watched at the same time.
//! - The commands are waited for one after another, as Heka did: with a `timeout`, a command is
//!   killed when the chain has waited that long for it, so its timer starts once the command
//!   before it has exited. Killing signals the command's process group, so the children it
//!   started (`sh -c '…'`) die with it and do not hold the pipes open.
//! - A stop kills every command not yet exited.
//! - Every command is reaped before the run returns. Output still arriving after the last
//!   command exited is read until the pipes close, for at most [`DRAIN_GRACE`] (a background
//!   process the command left behind may hold them open).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, Signal, kill_process_group, pidfd_open};

/// How long output is still read after the last command exited while a pipe stays open.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// How often a command's exit is checked when the kernel has no pidfds.
const EXIT_CHECK: Duration = Duration::from_millis(50);

/// Bytes read from a pipe per call.
const READ_SIZE: usize = 64 * 1024;

/// Reads from one pipe per wake-up at most, so the other pipe and the timers get their turn.
const READS_PER_WAKE: usize = 16;

/// A stop flag a chain run (or a wait between runs) notices at once: setting it makes a socket
/// readable that the waiting thread polls.
#[derive(Debug)]
pub(crate) struct StopToken {
    stopped: AtomicBool,
    tx: UnixStream,
    rx: UnixStream,
}

impl StopToken {
    /// A token not yet stopped.
    pub(crate) fn new() -> io::Result<StopToken> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(StopToken {
            stopped: AtomicBool::new(false),
            tx,
            rx,
        })
    }

    /// Stops: wakes whoever waits on the token, now and from now on.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = (&self.tx).write(&[1]);
    }

    /// Whether [`StopToken::stop`] was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`; returns early (true) when stopped.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        while !self.is_stopped() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let mut fds = [PollFd::new(&self.rx, PollFlags::IN)];
            let _ = poll(&mut fds, Some(&timespec(deadline - now)));
        }
        self.is_stopped()
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.rx.as_fd()
    }
}

fn timespec(d: Duration) -> Timespec {
    Timespec::try_from(d).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    })
}

/// One command of a chain (a `[<input>.command.<N>]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandSpec {
    /// The program: a path, or a name looked up in hekad's `PATH`.
    pub(crate) bin: String,
    /// Its arguments.
    pub(crate) args: Vec<String>,
    /// The whole environment (`KEY=VALUE`) when set; hekad's otherwise.
    pub(crate) env: Option<Vec<(String, String)>>,
    /// The working directory when set; hekad's otherwise.
    pub(crate) directory: Option<PathBuf>,
}

impl CommandSpec {
    /// Heka's `strings.Join(cmd.Args, " ")`: the program as given and its arguments.
    pub(crate) fn command_line(&self) -> String {
        let mut s = self.bin.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    fn command(&self) -> io::Result<Command> {
        let mut c = Command::new(resolve(&self.bin)?);
        c.args(&self.args);
        if let Some(env) = &self.env {
            c.env_clear();
            c.envs(env.iter().map(|(k, v)| (k, v)));
        }
        if let Some(dir) = &self.directory {
            c.current_dir(dir);
        }
        c.process_group(0);
        Ok(c)
    }
}

/// Go's `exec.LookPath`: a program name without a `/` is looked up in hekad's `PATH` (not in
/// the command's own `env`).
fn resolve(bin: &str) -> io::Result<PathBuf> {
    if bin.contains('/') {
        return Ok(PathBuf::from(bin));
    }
    let not_found = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("exec: {bin:?}: executable file not found in $PATH"),
        )
    };
    if bin.is_empty() {
        return Err(not_found());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        // Go: an empty element means the current directory.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let p = dir.join(bin);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    Err(not_found())
}

fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Which output of the last command some bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pipe {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How one command of a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StepEnd {
    Exited(ExitStatus),
    /// Killed by hekad (timeout or stop).
    Killed,
    /// Waiting for it failed.
    WaitFailed(String),
}

/// The result of one run, as Heka's fields report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunStatus {
    /// The last command's exit code; -1 when a signal from outside ended it; 0 when hekad
    /// killed it (timeout or stop) or it succeeded.
    pub(crate) exit_status: i64,
    /// One line per command that failed: `Subcommand[<i>] returned an error: [<error>]`.
    pub(crate) subcmd_errors: Option<String>,
}

/// Go's `ProcessState.String()` for a failed command.
fn status_text(st: ExitStatus) -> String {
    if let Some(code) = st.code() {
        return format!("exit status {code}");
    }
    let sig = st.signal().unwrap_or(0);
    let mut s = format!("signal: {}", signal_name(sig));
    if st.core_dumped() {
        s.push_str(" (core dumped)");
    }
    s
}

/// Go's names of the common signals (`syscall.Signal.String()` on Linux).
fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "hangup",
        2 => "interrupt",
        3 => "quit",
        4 => "illegal instruction",
        5 => "trace/breakpoint trap",
        6 => "aborted",
        7 => "bus error",
        8 => "floating point exception",
        9 => "killed",
        10 => "user defined signal 1",
        11 => "segmentation fault",
        12 => "user defined signal 2",
        13 => "broken pipe",
        14 => "alarm clock",
        15 => "terminated",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// The commands of a ProcessInput and their timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The commands, in pipe order (at least one).
    pub(crate) steps: Vec<CommandSpec>,
    /// How long the chain waits for each command before killing it.
    pub(crate) timeout: Option<Duration>,
}

/// A started command and what the run knows of it.
struct Step {
    child: Child,
    end: Option<StepEnd>,
}

impl Step {
    /// Kills the command's process group (the command and what it started) and reaps it; a
    /// command that has just exited on its own is only reaped.
    fn kill(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            self.end = Some(StepEnd::Exited(st));
            return;
        }
        self.signal();
        self.reap();
    }

    /// Sends SIGKILL to the command's process group.
    fn signal(&mut self) {
        let group = i32::try_from(self.child.id())
            .ok()
            .and_then(Pid::from_raw)
            .filter(|p| !p.is_init());
        let killed = group.is_some_and(|g| kill_process_group(g, Signal::KILL).is_ok());
        if !killed {
            let _ = self.child.kill();
        }
    }

    /// Waits for a command [`Step::signal`] killed.
    fn reap(&mut self) {
        if self.end.is_none() {
            self.end = Some(match self.child.wait() {
                Ok(_) => StepEnd::Killed,
                Err(e) => StepEnd::WaitFailed(e.to_string()),
            });
        }
    }
}

/// One of the last command's output pipes, read without blocking.
struct Output<R> {
    pipe: Pipe,
    reader: Option<R>,
}

impl<R: Read + AsFd> Output<R> {
    fn new(pipe: Pipe, reader: R) -> io::Result<Output<R>> {
        let flags = rustix::fs::fcntl_getfl(&reader)?;
        rustix::fs::fcntl_setfl(&reader, flags | rustix::fs::OFlags::NONBLOCK)?;
        Ok(Output {
            pipe,
            reader: Some(reader),
        })
    }

    /// Reads what is there, handing it to `sink`; closes the pipe at its end or on an error.
    fn read(&mut self, buf: &mut [u8], label: &str, sink: &mut dyn FnMut(Pipe, &[u8])) {
        for _ in 0..READS_PER_WAKE {
            let Some(r) = self.reader.as_mut() else {
                return;
            };
            match r.read(buf) {
                Ok(0) => {
                    self.reader = None;
                    return;
                }
                Ok(n) => sink(self.pipe, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::error!(input = %label, "Stream Error [{e}]");
                    self.reader = None;
                    return;
                }
            }
        }
    }
}

impl Chain {
    /// Runs the chain once, handing the last command's output to `sink` as it is read, until
    /// every command has exited (or was killed) and the output is read. `label` names the
    /// input in log lines. Fails only when a command cannot be started (Heka's
    /// `Command [<cmd>] triggered an error: [<error>]`).
    pub(crate) fn run(
        &self,
        stop: &StopToken,
        label: &str,
        sink: &mut dyn FnMut(Pipe, &[u8]),
    ) -> Result<RunStatus, String> {
        let (mut steps, stdout, stderr) = self.start()?;
        let outputs = (
            Output::new(Pipe::Stdout, stdout),
            Output::new(Pipe::Stderr, stderr),
        );
        let (mut out, mut err) = match outputs {
            (Ok(o), Ok(e)) => (o, e),
            (Err(e), _) | (_, Err(e)) => {
                // Setting a pipe non-blocking does not fail in practice; never leave the
                // commands running if it did.
                for s in &mut steps {
                    s.kill();
                }
                return Err(format!("can't read the command's output: {e}"));
            }
        };
        self.wait(&mut steps, &mut out, &mut err, stop, label, sink);
        Ok(status(&self.steps, &steps))
    }

    /// Starts every command, piping each one's stdout into the next one's stdin.
    fn start(&self) -> Result<(Vec<Step>, ChildStdout, ChildStderr), String> {
        let Some(last) = self.steps.len().checked_sub(1) else {
            return Err("No Command Configured".into());
        };
        let mut steps: Vec<Step> = Vec::with_capacity(self.steps.len());
        let mut previous: Option<ChildStdout> = None;
        for (i, spec) in self.steps.iter().enumerate() {
            let spawned = spec.command().and_then(|mut c| {
                c.stdin(match previous.take() {
                    Some(p) => Stdio::from(p),
                    None => Stdio::null(),
                });
                c.stdout(Stdio::piped());
                c.stderr(if i == last {
                    Stdio::piped()
                } else {
                    Stdio::null()
                });
                c.spawn()
            });
            match spawned {
                Ok(mut child) => {
                    previous = child.stdout.take();
                    steps.push(Step { child, end: None });
                }
                Err(e) => {
                    for s in &mut steps {
                        s.kill();
                    }
                    return Err(format!(
                        "Command [{}] triggered an error: [{e}]",
                        spec.command_line()
                    ));
                }
            }
        }
        let stderr = steps
            .last_mut()
            .and_then(|s| s.child.stderr.take())
            .ok_or("no stderr pipe")?;
        let stdout = previous.ok_or("no stdout pipe")?;
        Ok((steps, stdout, stderr))
    }

    /// Reads the output while waiting for the commands in order (see the module docs).
    fn wait(
        &self,
        steps: &mut [Step],
        out: &mut Output<ChildStdout>,
        err: &mut Output<ChildStderr>,
        stop: &StopToken,
        label: &str,
        sink: &mut dyn FnMut(Pipe, &[u8]),
    ) {
        let n = steps.len();
        let mut buf = vec![0u8; READ_SIZE];
        // The command waited for, when its wait began, and a pidfd that becomes readable when
        // it exits.
        let mut cur = 0;
        let mut waiting_since = Instant::now();
        let mut exit_fd: Option<OwnedFd> = None;
        let mut exit_fd_of = usize::MAX;
        let mut stopped = false;
        let mut drain_until: Option<Instant> = None;
        loop {
            // Reap, in order, the commands that have exited.
            while cur < n {
                match steps[cur].child.try_wait() {
                    Ok(Some(st)) => steps[cur].end = Some(StepEnd::Exited(st)),
                    Ok(None) => break,
                    Err(e) => steps[cur].end = Some(StepEnd::WaitFailed(e.to_string())),
                }
                cur += 1;
                waiting_since = Instant::now();
            }
            if cur < n && stop.is_stopped() {
                // All at once, and each one counts as killed: a command signalled after the one
                // before it died could otherwise have ended on its own first.
                for s in &mut steps[cur..] {
                    s.signal();
                }
                for s in &mut steps[cur..] {
                    s.reap();
                }
                cur = n;
                stopped = true;
            }
            if cur < n
                && let Some(t) = self.timeout
                && waiting_since.elapsed() >= t
            {
                steps[cur].kill();
                cur += 1;
                waiting_since = Instant::now();
                continue;
            }
            if cur == n {
                if out.reader.is_none() && err.reader.is_none() {
                    return;
                }
                let until = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN_GRACE);
                if Instant::now() >= until {
                    tracing::warn!(input = %label, "the command exited but its output is still open (a process it started in the background holds it); stopped reading");
                    return;
                }
            }
            if cur < n && exit_fd_of != cur {
                exit_fd = i32::try_from(steps[cur].child.id())
                    .ok()
                    .and_then(Pid::from_raw)
                    .and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
                exit_fd_of = cur;
            }

            // Wait for output, an exit, a stop or the next deadline.
            let mut timeout: Option<Duration> = None;
            let mut sooner = |d: Duration| timeout = Some(timeout.map_or(d, |t| t.min(d)));
            if cur < n {
                if let Some(t) = self.timeout {
                    sooner(t.saturating_sub(waiting_since.elapsed()));
                }
                if exit_fd.is_none() {
                    sooner(EXIT_CHECK);
                }
            }
            if let Some(until) = drain_until {
                sooner(until.saturating_duration_since(Instant::now()));
            }
            let mut fds = Vec::with_capacity(4);
            let readable = PollFlags::IN;
            if let Some(r) = &out.reader {
                fds.push(PollFd::new(r, readable));
            }
            if let Some(r) = &err.reader {
                fds.push(PollFd::new(r, readable));
            }
            let stop_fd = stop.fd();
            if !stopped && cur < n {
                fds.push(PollFd::from_borrowed_fd(stop_fd, readable));
                if let Some(fd) = &exit_fd {
                    fds.push(PollFd::new(fd, readable));
                }
            }
            let polled = poll(&mut fds, timeout.map(timespec).as_ref());
            drop(fds);
            if let Err(e) = polled
                && e != rustix::io::Errno::INTR
            {
                tracing::error!(input = %label, "poll: {e}");
                std::thread::sleep(EXIT_CHECK);
            }
            out.read(&mut buf, label, sink);
            err.read(&mut buf, label, sink);
        }
    }
}

/// Heka's `ExitStatus` and `SubcmdErrors` for a run whose commands all ended.
fn status(specs: &[CommandSpec], steps: &[Step]) -> RunStatus {
    let mut errors = Vec::new();
    let mut exit_status = 0;
    for (i, (spec, step)) in specs.iter().zip(steps).enumerate() {
        let (code, error) = match &step.end {
            Some(StepEnd::Exited(st)) if st.success() => (0, None),
            Some(StepEnd::Exited(st)) => (st.code().map_or(-1, i64::from), Some(status_text(*st))),
            Some(StepEnd::Killed) => (
                0,
                Some(format!(
                    "ManagedCmd was stopped with error: [subprocess was killed: [{}]]",
                    spec.command_line()
                )),
            ),
            Some(StepEnd::WaitFailed(e)) => (0, Some(e.clone())),
            None => (0, None),
        };
        exit_status = code;
        if let Some(e) = error {
            errors.push(format!("Subcommand[{i}] returned an error: [{e}]"));
        }
    }
    RunStatus {
        exit_status,
        subcmd_errors: (!errors.is_empty()).then(|| errors.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(bin: &str, args: &[&str]) -> CommandSpec {
        CommandSpec {
            bin: bin.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: None,
            directory: None,
        }
    }

    fn sh(script: &str) -> CommandSpec {
        cmd("sh", &["-c", script])
    }

    /// Runs `steps` once; returns (stdout, stderr, status).
    fn run(steps: Vec<CommandSpec>, timeout: Option<Duration>) -> (String, String, RunStatus) {
        run_with(steps, timeout, &StopToken::new().unwrap()).unwrap()
    }

    fn run_with(
        steps: Vec<CommandSpec>,
        timeout: Option<Duration>,
        stop: &StopToken,
    ) -> Result<(String, String, RunStatus), String> {
        let chain = Chain { steps, timeout };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = chain.run(stop, "test", &mut |p, d| match p {
            Pipe::Stdout => out.extend_from_slice(d),
            Pipe::Stderr => err.extend_from_slice(d),
        })?;
        Ok((
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
            status,
        ))
    }

    const OK: RunStatus = RunStatus {
        exit_status: 0,
        subcmd_errors: None,
    };

    #[test]
    fn one_command() {
        let (out, err, st) = run(vec![cmd("printf", &["a\\nb\\n"])], None);
        assert_eq!((out.as_str(), err.as_str(), st), ("a\nb\n", "", OK));
    }

    #[test]
    fn each_stdout_is_piped_into_the_next_stdin() {
        let (out, _, st) = run(
            vec![
                cmd("printf", &["one\\ntwo\\nthree\\n"]),
                cmd("tr", &["a-z", "A-Z"]),
                cmd("grep", &["T"]),
            ],
            None,
        );
        assert_eq!(out, "TWO\nTHREE\n");
        assert_eq!(st, OK);
    }

    #[test]
    fn the_first_command_reads_nothing() {
        let (out, _, _) = run(vec![cmd("cat", &[])], None);
        assert_eq!(out, "");
    }

    #[test]
    fn stderr_of_the_last_command_only() {
        let (out, err, st) = run(
            vec![
                sh("echo early-err >&2; echo data"),
                sh("cat; echo late-err >&2"),
            ],
            None,
        );
        assert_eq!((out.as_str(), err.as_str()), ("data\n", "late-err\n"));
        assert_eq!(st, OK);
    }

    #[test]
    fn exit_status_and_subcommand_errors() {
        let (_, _, st) = run(vec![sh("exit 3")], None);
        assert_eq!(st.exit_status, 3);
        assert_eq!(
            st.subcmd_errors.as_deref(),
            Some("Subcommand[0] returned an error: [exit status 3]")
        );
        // The status is the last command's; every failing command is listed.
        let (_, _, st) = run(vec![cmd("false", &[]), cmd("cat", &[])], None);
        assert_eq!(st.exit_status, 0);
        assert_eq!(
            st.subcmd_errors.as_deref(),
            Some("Subcommand[0] returned an error: [exit status 1]")
        );
        let (_, _, st) = run(vec![cmd("false", &[]), sh("cat; exit 2")], None);
        assert_eq!(st.exit_status, 2);
        assert_eq!(
            st.subcmd_errors.as_deref(),
            Some(
                "Subcommand[0] returned an error: [exit status 1]\n\
                 Subcommand[1] returned an error: [exit status 2]"
            )
        );
        // A signal from outside: -1.
        let (_, _, st) = run(vec![sh("kill -TERM $$")], None);
        assert_eq!(st.exit_status, -1);
        assert_eq!(
            st.subcmd_errors.as_deref(),
            Some("Subcommand[0] returned an error: [signal: terminated]")
        );
    }

    #[test]
    fn a_timeout_kills_the_command_and_what_it_started() {
        let started = Instant::now();
        let (out, _, st) = run(
            vec![sh("echo before; sleep 30; echo after")],
            Some(Duration::from_millis(300)),
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert_eq!(out, "before\n");
        assert_eq!(st.exit_status, 0, "Heka reports 0 for a command it killed");
        assert_eq!(
            st.subcmd_errors.as_deref(),
            Some(
                "Subcommand[0] returned an error: [ManagedCmd was stopped with error: \
                 [subprocess was killed: [sh -c echo before; sleep 30; echo after]]]"
            )
        );
    }

    #[test]
    fn each_command_s_timer_starts_when_the_one_before_exited() {
        // The first command takes 200 ms of a 400 ms timeout; the second one's 300 ms would be
        // over the timeout counted from the start, not from the first one's exit.
        let (out, _, st) = run(
            vec![sh("sleep 0.2; echo x"), sh("cat; sleep 0.3; echo done")],
            Some(Duration::from_millis(400)),
        );
        assert_eq!(out, "x\ndone\n");
        assert_eq!(st, OK);
    }

    #[test]
    fn a_stop_kills_running_commands() {
        let stop = std::sync::Arc::new(StopToken::new().unwrap());
        let s = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            s.stop();
        });
        let started = Instant::now();
        let (_, _, st) =
            run_with(vec![cmd("sleep", &["30"]), cmd("cat", &[])], None, &stop).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        let errors = st.subcmd_errors.unwrap();
        assert!(errors.contains("Subcommand[0] returned an error: [ManagedCmd was stopped with error: [subprocess was killed: [sleep 30]]]"), "{errors}");
        assert!(errors.contains("Subcommand[1]"), "{errors}");
        // Waiting on a stopped token returns at once.
        assert!(stop.wait(Duration::from_secs(30)));
    }

    #[test]
    fn env_replaces_the_environment_and_directory_sets_the_cwd() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = sh("echo \"$ONLY,${HOME:-unset}\"; pwd");
        c.env = Some(vec![("ONLY".into(), "this".into())]);
        c.directory = Some(dir.path().to_path_buf());
        let (out, _, st) = run(vec![c], None);
        let pwd = dir.path().canonicalize().unwrap();
        assert_eq!(out, format!("this,unset\n{}\n", pwd.display()));
        assert_eq!(st, OK);
        // Without env, hekad's environment is inherited.
        let (out, _, _) = run(vec![sh("echo ${PATH:+has-path}")], None);
        assert_eq!(out, "has-path\n");
    }

    #[test]
    fn a_missing_program_fails_the_start_and_reaps_the_others() {
        let e = run_with(
            vec![cmd("sleep", &["30"]), cmd("no-such-program-here", &["x"])],
            None,
            &StopToken::new().unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Command [no-such-program-here x] triggered an error: [exec: \"no-such-program-here\": executable file not found in $PATH]"
        );
    }

    #[test]
    fn both_pipes_are_read_so_neither_fills() {
        // 1 MiB on stderr before anything on stdout: reading stdout alone would block forever.
        let (out, err, st) = run(
            vec![sh("head -c 1048576 /dev/zero | tr '\\0' e >&2; echo done")],
            Some(Duration::from_secs(20)),
        );
        assert_eq!(out, "done\n");
        assert_eq!(err.len(), 1 << 20);
        assert_eq!(st, OK);
    }

    #[test]
    fn a_background_process_holding_the_output_does_not_hold_the_run() {
        let started = Instant::now();
        let (out, _, st) = run(vec![sh("echo hi; (sleep 5; echo late) &")], None);
        assert!(started.elapsed() < DRAIN_GRACE + Duration::from_secs(2));
        assert_eq!(out, "hi\n");
        assert_eq!(st, OK);
    }
}
