//! The processes under test: their configurations, start-up and shutdown.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::procfs;
use crate::workload::{DATA_TYPE, END_TEXT, END_TYPE};

/// FileOutput batching for case (c): hand a batch to the writer every 10,000 messages or
/// 50 ms, whichever comes first (the default, 1 message AND 1 s, writes about once a second).
pub(crate) const FILE_OUTPUT_BATCHING: &str =
    "flush_operator = \"OR\"\nflush_count = 10000\nflush_interval = 50\n";

/// What a case runs and how its configuration is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setup {
    /// `heka-bench sink`: reads and discards the bytes.
    Sink,
    /// hekad: TcpInput → ProtobufDecoder → CounterFilter.
    HekadCounter,
    /// The same plus 40 CounterFilters whose matchers match nothing.
    HekadCounter40,
    /// hekad: TcpInput → ProtobufDecoder → FileOutput with ProtobufEncoder.
    HekadFile,
    /// The same with TLS on the TcpInput (certificates from `tls::Certs`).
    HekadFileTls,
    /// As `HekadFile` with `use_buffering` on the FileOutput (its disk queue in the scratch
    /// directory's `base_dir`).
    HekadFileBuffered,
    /// hekad: TcpInput with TokenSplitter and no decoder → CounterFilter.
    HekadLines,
    /// rsyslogd: imptcp → discard (peers.md W1, tuned).
    Rsyslog,
    /// `cat LOG > /dev/null` (the read limit of the log-file cases).
    Cat,
    /// `heka-bench readlines LOG`: read and count lines (the read-and-split limit).
    ReadLines,
    /// hekad: LogstreamerInput → PayloadRegexDecoder → FileOutput with PayloadEncoder.
    HekadLogfile,
    /// The same over many files, each its own logstream.
    HekadManyFiles,
    /// hekad: LogstreamerInput → SandboxDecoder running `lua_decoders/nginx_access.lua` →
    /// FileOutput with PayloadEncoder (the decoder keeps the line as the Payload).
    HekadLogfileLua,
    /// The same with the native NginxAccessDecoder.
    HekadLogfileNative,
    /// rsyslogd: imfile → mmnormalize → omfile, the raw line (peers.md W2 but raw output).
    RsyslogLogfile,
    /// The same writing the parsed fields as JSON (peers.md W2 exactly).
    RsyslogLogfileJson,
    /// rsyslogd raw over many files (imfile with a wildcard).
    RsyslogManyFiles,
}

/// Paths of one case's scratch directory.
#[derive(Debug)]
pub(crate) struct Scratch {
    /// The directory itself.
    pub(crate) dir: PathBuf,
    /// File the daemon writes when it sees the end marker.
    pub(crate) marker: PathBuf,
    /// File case (c) writes every message to.
    pub(crate) data: PathBuf,
    /// Daemon stdout/stderr.
    pub(crate) log: PathBuf,
}

impl Scratch {
    /// Creates a fresh scratch directory `dir`.
    pub(crate) fn create(dir: PathBuf) -> Result<Scratch> {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        fs::create_dir_all(dir.join("base"))
            .with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch {
            marker: dir.join("end.marker"),
            data: dir.join("out.pb"),
            log: dir.join("daemon.log"),
            dir,
        })
    }
}

/// Escapes a path for a double-quoted TOML or rsyslog string.
pub(crate) fn quoted(p: &Path) -> String {
    p.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

/// The hekad TOML configuration for `setup`.
pub(crate) fn hekad_config(setup: Setup, port: u16, s: &Scratch) -> String {
    let mut c = format!(
        "[hekad]\nmaxprocs = 2\nbase_dir = \"{}\"\n\n[TcpInput]\naddress = \"127.0.0.1:{port}\"\n",
        quoted(&s.dir.join("base"))
    );
    let end_matcher = if setup == Setup::HekadLines {
        // TcpInput's config struct defaults `decoder` to ProtobufDecoder, but an explicit
        // empty value overwrites that default (Heka's plugin_maker.go reads the decoder back
        // from the decoded struct), so the input delivers raw lines with no decoder at all.
        c.push_str("splitter = \"TokenSplitter\"\ndecoder = \"\"\n");
        format!("Payload =~ /{END_TEXT}/")
    } else {
        format!("Type == '{END_TYPE}'")
    };
    if setup == Setup::HekadFileTls {
        c.push_str(&format!(
            "use_tls = true\n[TcpInput.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            quoted(&s.dir.join(crate::tls::SERVER_CERT)),
            quoted(&s.dir.join(crate::tls::SERVER_KEY))
        ));
    }
    if matches!(
        setup,
        Setup::HekadFile | Setup::HekadFileTls | Setup::HekadFileBuffered
    ) {
        c.push_str(&format!(
            "\n[data]\ntype = \"FileOutput\"\nmessage_matcher = \"Type == '{DATA_TYPE}'\"\n\
             path = \"{}\"\nencoder = \"ProtobufEncoder\"\nuse_framing = true\n{FILE_OUTPUT_BATCHING}",
            quoted(&s.data)
        ));
        if setup == Setup::HekadFileBuffered {
            c.push_str("use_buffering = true\n");
        }
    } else {
        c.push_str(
            "\n[CounterFilter]\nmessage_matcher = \"Type != 'heka.counter-output'\"\nticker_interval = 60\n",
        );
    }
    if setup == Setup::HekadCounter40 {
        for i in 0..40 {
            c.push_str(&format!(
                "\n[idle{i}]\ntype = \"CounterFilter\"\nmessage_matcher = \"Type == 'no.such.type.{i}'\"\nticker_interval = 60\n"
            ));
        }
    }
    c.push_str(&format!(
        "\n[end]\ntype = \"FileOutput\"\nmessage_matcher = \"{end_matcher}\"\npath = \"{}\"\n\
         encoder = \"PayloadEncoder\"\n\n[PayloadEncoder]\n",
        quoted(&s.marker)
    ));
    c
}

/// The rsyslog configuration: peers.md W1 (imptcp, drop everything but the marker line),
/// tuned for throughput: no DNS look-ups, two imptcp worker threads, and a `Direct` ruleset
/// queue so each batch read by imptcp is filtered on the reading thread. On this 2-core
/// machine that beat both the peers.md config (main queue) and a FixedArray ruleset queue
/// with 1,024–4,096-message dequeue batches, in rate, CPU per message and memory
/// (`bench/rsyslog-w1-peers.conf` is the untuned config, for `--rsyslog-config`).
pub(crate) fn rsyslog_config(port: u16, s: &Scratch) -> String {
    format!(
        r#"global(workDirectory="{work}" net.enableDNS="off")
module(load="imptcp" threads="2")
input(type="imptcp" port="{port}" address="127.0.0.1" ruleset="r")
ruleset(name="r" queue.type="Direct") {{
  if $msg contains "{END_TEXT}" then {{ action(type="omfile" file="{marker}") }}
  stop
}}
"#,
        work = quoted(&s.dir.join("base")),
        marker = quoted(&s.marker),
    )
}

/// Fills the `@PORT@`, `@WORKDIR@` and `@MARKER@` place holders of a user-supplied config.
pub(crate) fn fill_template(template: &str, port: u16, s: &Scratch) -> String {
    template
        .replace("@PORT@", &port.to_string())
        .replace("@WORKDIR@", &quoted(&s.dir.join("base")))
        .replace("@MARKER@", &quoted(&s.marker))
}

/// A daemon started by the harness; killed on drop if still running.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    /// Starts `program args…` with its output going to `log`.
    pub(crate) fn spawn(
        program: &Path,
        args: &[String],
        cwd: &Path,
        log: &Path,
    ) -> Result<Running> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Running {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the log's tail if the process has exited.
    pub(crate) fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("daemon exited ({status}); log: {}", self.log_tail());
        }
        Ok(())
    }

    /// Waits until the daemon listens on `port`.
    pub(crate) fn wait_listening(&mut self, port: u16, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while !procfs::is_listening(port) {
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "daemon did not listen on port {port} within {within:?}; log: {}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// The last lines of the daemon's output.
    pub(crate) fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join(" | ")
    }

    /// Asks the daemon to stop (SIGTERM), waits up to five seconds, then kills it.
    pub(crate) fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        procfs::send_signal(self.pid(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the daemon at once (used when a run has failed).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> Scratch {
        let dir = PathBuf::from("/run/x");
        Scratch {
            marker: dir.join("end.marker"),
            data: dir.join("out.pb"),
            log: dir.join("daemon.log"),
            dir,
        }
    }

    #[test]
    fn hekad_configs_wire_the_marker_and_the_case_plugins() {
        let s = scratch();
        let b = hekad_config(Setup::HekadCounter, 5565, &s);
        assert!(b.contains("address = \"127.0.0.1:5565\""));
        assert!(b.contains("[CounterFilter]"));
        assert!(b.contains("message_matcher = \"Type == 'bench.end'\""));
        assert!(b.contains("path = \"/run/x/end.marker\""));
        assert!(!b.contains("decoder"));
        let c = hekad_config(Setup::HekadFile, 1, &s);
        assert!(c.contains("encoder = \"ProtobufEncoder\""));
        assert!(c.contains("path = \"/run/x/out.pb\""));
        assert!(!c.contains("CounterFilter"));
        let d = hekad_config(Setup::HekadLines, 1, &s);
        assert!(d.contains("splitter = \"TokenSplitter\"\ndecoder = \"\""));
        assert!(d.contains("message_matcher = \"Payload =~ /END-OF-RUN/\""));
    }

    #[test]
    fn rsyslog_config_and_templates_use_the_scratch_paths() {
        let s = scratch();
        let r = rsyslog_config(514, &s);
        assert!(r.contains("port=\"514\""));
        assert!(r.contains("workDirectory=\"/run/x/base\""));
        assert!(r.contains("file=\"/run/x/end.marker\""));
        assert!(r.contains("$msg contains \"END-OF-RUN\""));
        let t = fill_template("p=@PORT@ w=@WORKDIR@ m=@MARKER@", 7, &s);
        assert_eq!(t, "p=7 w=/run/x/base m=/run/x/end.marker");
    }

    #[test]
    fn stop_ends_a_running_child_and_reports_its_exit() {
        let dir = std::env::temp_dir().join(format!("heka-bench-test-{}", std::process::id()));
        let s = Scratch::create(dir.clone()).unwrap();
        let mut r = Running::spawn(
            Path::new("/bin/sh"),
            &["-c".into(), "echo hello; exec sleep 30".into()],
            &s.dir,
            &s.log,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs::read_to_string(&s.log).unwrap().contains("hello") {
            assert!(Instant::now() < deadline, "child wrote nothing");
            std::thread::yield_now();
        }
        r.check_alive().unwrap();
        r.stop();
        let err = r.check_alive().unwrap_err().to_string();
        assert!(err.contains("daemon exited"), "{err}");
        assert!(err.contains("hello"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }
}
