//! Starting hekad, waiting on conditions, reading what FileOutput wrote.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, FieldValue, Message, framing};

/// Waits until `f` returns `Some`, failing the test after `secs` seconds.
pub(crate) fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running hekad; killed when dropped.
pub(crate) struct Hekad {
    pub(crate) child: Child,
    pub(crate) dir: tempfile::TempDir,
    stderr: PathBuf,
    stdout: PathBuf,
}

impl Hekad {
    /// Writes `config` (with `{dir}` replaced by the tempdir) and starts hekad on it.
    pub(crate) fn start(config: &str) -> Hekad {
        Hekad::start_with_env(config, &[])
    }

    /// Writes `files` (name, contents; `{dir}` replaced in both) into the tempdir, then starts
    /// hekad on `config` as [`Hekad::start`] does.
    pub(crate) fn start_with_files(config: &str, files: &[(&str, &str)]) -> Hekad {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text.replace("{dir}", &d)).unwrap();
        }
        let path = dir.path().join("hekad.toml");
        std::fs::write(&path, config.replace("{dir}", &d)).unwrap();
        let args = [format!("-config={}", path.display())];
        Hekad::start_program_env(dir, env!("CARGO_BIN_EXE_hekad"), &args, &[])
    }

    /// Starts hekad again, after it exited, on the same config in the same tempdir.
    pub(crate) fn restart(&mut self) {
        let config = self.dir.path().join("hekad.toml");
        self.child = Command::new(env!("CARGO_BIN_EXE_hekad"))
            .arg(format!("-config={}", config.display()))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&self.stdout).unwrap())
            .stderr(std::fs::File::create(&self.stderr).unwrap())
            .spawn()
            .unwrap();
    }

    /// Starts hekad with these arguments.
    pub(crate) fn start_args(dir: tempfile::TempDir, args: &[String]) -> Hekad {
        Hekad::start_program(dir, env!("CARGO_BIN_EXE_hekad"), args)
    }

    /// Writes `config` as [`Hekad::start`] does and starts hekad on it with these variables
    /// added to its environment.
    pub(crate) fn start_with_env(config: &str, env: &[(&str, &str)]) -> Hekad {
        let dir = tempfile::tempdir().unwrap();
        let config = own_base_dir(config).replace("{dir}", &dir.path().display().to_string());
        let path = dir.path().join("hekad.toml");
        std::fs::write(&path, config).unwrap();
        let args = [format!("-config={}", path.display())];
        Hekad::start_program_env(dir, env!("CARGO_BIN_EXE_hekad"), &args, env)
    }

    /// Starts `program` (hekad, or a shell that execs it) with these arguments.
    pub(crate) fn start_program(dir: tempfile::TempDir, program: &str, args: &[String]) -> Hekad {
        Hekad::start_program_env(dir, program, args, &[])
    }

    /// Starts `program` with these arguments and these variables added to its environment.
    pub(crate) fn start_program_env(
        dir: tempfile::TempDir,
        program: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Hekad {
        let stderr = dir.path().join("stderr.log");
        let stdout = dir.path().join("stdout.log");
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Hekad {
            child,
            dir,
            stderr,
            stdout,
        }
    }

    /// A path inside the tempdir.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What hekad wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// What hekad wrote to stdout so far.
    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Waits until the input `name` logs the address it bound (`<name> listening on ip:port`)
    /// and returns its port, so configs can listen on port 0 and no test depends on a port
    /// staying free.
    pub(crate) fn listening(&mut self, name: &str) -> u16 {
        let marker = format!("{name} listening on ");
        wait_for(&format!("{name} to listen"), 20, || {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("hekad exited early ({st}):\n{}", self.stderr());
            }
            let out = self.stdout();
            let line = out.lines().find(|l| l.contains(&marker))?;
            let addr = &line[line.find(&marker)? + marker.len()..];
            addr.trim()
                .parse::<std::net::SocketAddr>()
                .ok()
                .map(|a| a.port())
        })
    }

    /// Sends `sig` to hekad.
    pub(crate) fn signal(&self, sig: i32) {
        let r = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(r.success());
    }

    /// Sends SIGTERM and waits for the exit.
    pub(crate) fn stop(&mut self) -> ExitStatus {
        self.signal(15);
        self.wait_exit(20)
    }

    /// Waits for hekad to exit.
    pub(crate) fn wait_exit(&mut self, secs: u64) -> ExitStatus {
        wait_for("hekad to exit", secs, || self.child.try_wait().unwrap())
    }
}

/// A config that names no `base_dir` gets `{dir}/cache`: hekad locks its base_dir, so tests
/// running side by side must not share the default one.
fn own_base_dir(config: &str) -> String {
    if config.contains("base_dir") {
        return config.to_string();
    }
    let line = "base_dir = \"{dir}/cache\"\n";
    match config.find("[hekad]\n") {
        Some(i) => {
            let at = i + "[hekad]\n".len();
            format!("{}{line}{}", &config[..at], &config[at..])
        }
        None => format!("[hekad]\n{line}{config}"),
    }
}

impl Drop for Hekad {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs hekad to completion with these arguments; returns (status, stdout, stderr).
pub(crate) fn run_hekad(args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hekad"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reads a file of framed messages (as FileOutput writes with ProtobufEncoder).
pub(crate) fn read_framed(path: &Path) -> Vec<Message> {
    let mut data = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        f.read_to_end(&mut data).unwrap();
    }
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some(f) = {
        let s = framing::scan(rest, DEFAULT_MAX_MESSAGE_SIZE);
        s.frame.map(|f| (f, s.consumed))
    } {
        let (frame, consumed) = f;
        out.push(Message::decode_bytes(Bytes::copy_from_slice(&rest[frame.message])).unwrap());
        rest = &rest[consumed..];
    }
    out
}

/// Waits until `path` holds at least `n` framed messages and returns them.
pub(crate) fn wait_framed(path: &Path, n: usize) -> Vec<Message> {
    wait_for(&format!("{n} messages in {}", path.display()), 20, || {
        let m = read_framed(path);
        (m.len() >= n).then_some(m)
    })
}

/// Waits until `path` holds at least `n` lines and returns them.
pub(crate) fn wait_lines(path: &Path, n: usize) -> Vec<String> {
    wait_for(&format!("{n} lines in {}", path.display()), 20, || {
        let text = std::fs::read_to_string(path).ok()?;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (lines.len() >= n).then_some(lines)
    })
}

/// `m` as Heka frames it on the wire (header, separator, message), signed with `signer` when
/// given.
pub(crate) fn frame(m: &Message, signer: Option<&heka_message::signing::SigningConfig>) -> Vec<u8> {
    let mut out = Vec::new();
    framing::encode_frame(&m.to_bytes(), signer, DEFAULT_MAX_MESSAGE_SIZE, &mut out).unwrap();
    out
}

/// A test message with a type, payload, severity and a few typed fields.
pub(crate) fn test_message(i: usize) -> Message {
    heka_client::MessageBuilder::new()
        .message_type("e2e.test")
        .logger("e2e")
        .payload(format!("message {i}"))
        .severity(4)
        .integer_field("seq", i as i64)
        .string_field("kind", "test")
        .build()
}

/// A string field's value (lossy UTF-8), if the message has one.
pub(crate) fn string_field(m: &Message, name: &str) -> Option<String> {
    match m.field_value(name.as_bytes()).flatten() {
        Some(FieldValue::String(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}
