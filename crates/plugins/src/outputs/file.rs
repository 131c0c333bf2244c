//! FileOutput: appends encoded messages to a file, optionally rotated every N hours.
//!
//! ```toml
//! [FileOutput]
//! message_matcher = "Type == 'nginx.access'"
//! path = "/var/log/heka/nginx-%Y%m%d-%H.log"
//! encoder = "PayloadEncoder"
//! # perm = "644"
//! # folder_perm = "700"
//! # flush_interval = 1000   # milliseconds; 0 = no timer
//! # flush_count = 1
//! # flush_operator = "AND"  # or "OR"
//! # rotation_interval = 1   # hours: 0 (none), 1, 4, 12 or 24
//! ```
//!
//! Options:
//! - `path` (required): the file. With `rotation_interval` it is a strftime pattern (`%Y`,
//!   `%m`, `%d`, `%H`, ...) rendered in the local zone; without, it is used as written.
//! - `perm` / `folder_perm`: octal modes of the file (subject to the umask) and of parent
//!   directories created for it.
//! - `flush_interval`, `flush_count`, `flush_operator`: when buffered data is written. With
//!   `AND` (the default) data is written once `flush_count` messages are buffered *and*
//!   `flush_interval` ms have passed since the last write (a zero interval drops that
//!   condition); with `OR` once either holds. With the defaults (AND, 1, 1000 ms), data
//!   reaches the file about once a second under load.
//! - `rotation_interval`: start a new file at every multiple of this many hours (boundaries
//!   are aligned on UTC, as Go's `Time.Truncate`), named by rendering `path` at the boundary.
//! - An encoder is required; `use_framing` defaults to true with `ProtobufEncoder`.
//!
//! The file is opened (and its directory created and checked for write permission) when the
//! config is loaded. A write hands the data to the kernel, without an fsync (as Heka). SIGHUP
//! reopens the file, for log rotation by external tools; if it can't be reopened the output
//! stops. Everything buffered is written at shutdown.
//!
//! Differences from Heka:
//! - There is no timer of its own: the rules are checked after every batch and, while data is
//!   buffered, whenever the runner polls (every 50 ms), so the interval rule is accurate to
//!   about 50 ms. Heka ran its own timer.
//! - Data buffered before a rotation boundary goes to the old file (Heka wrote it to the new
//!   one).
//! - A failed write is reported as an error of the flush (Heka only logged it), and nothing
//!   accepted is lost: what the file did not take stays buffered and is written by the next
//!   attempt (Heka discarded the data of that write). Once 8 MiB wait, new messages wait too,
//!   which pushes back on the router.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use serde::Deserialize;

use crate::support::gotime::{Strftime, Zone};

/// FileOutput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileOutputConfig {
    /// Output file, or a strftime pattern with rotation.
    path: String,
    /// File mode, octal.
    perm: String,
    /// Mode of created directories, octal.
    folder_perm: String,
    /// Milliseconds between writes (0: no interval condition).
    flush_interval: u32,
    /// Messages buffered before a write.
    flush_count: u32,
    /// `AND` or `OR` of the two conditions.
    flush_operator: String,
    /// Hours between rotations: 0, 1, 4, 12 or 24.
    rotation_interval: u32,
}

impl Default for FileOutputConfig {
    fn default() -> Self {
        FileOutputConfig {
            path: String::new(),
            perm: "644".into(),
            folder_perm: "700".into(),
            flush_interval: 1000,
            flush_count: 1,
            flush_operator: "AND".into(),
            rotation_interval: 0,
        }
    }
}

/// Why a file can't be opened.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("can't create the basepath for the FileOutput plugin: {0}")]
    Dir(std::io::Error),
    #[error("can't write to test file {path}: {source}")]
    PermCheck {
        path: String,
        source: std::io::Error,
    },
    #[error("error opening file: {0}")]
    Open(std::io::Error),
}

/// When buffered data is written (Heka's flush rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlushRule {
    /// None: no interval condition.
    interval: Option<Duration>,
    count: u32,
    or: bool,
}

impl FlushRule {
    /// Whether `buffered` messages, `elapsed` after the last write, must be written now.
    fn due(&self, buffered: u32, elapsed: Duration) -> bool {
        if buffered == 0 {
            return false;
        }
        let interval_passed = self.interval.is_some_and(|i| elapsed >= i);
        if self.or {
            buffered >= self.count || interval_passed
        } else {
            buffered >= self.count && (self.interval.is_none() || interval_passed)
        }
    }
}

/// The start of the next rotation period after `unix_secs` (periods aligned on UTC).
fn next_boundary(unix_secs: i64, period_secs: i64) -> i64 {
    unix_secs.div_euclid(period_secs) * period_secs + period_secs
}

/// A FileOutput instance.
struct FileOutput {
    /// Rotation: the name pattern and the period in seconds.
    rotation: Option<(Strftime, i64)>,
    /// Unix second at which the next file starts.
    next_rotation: i64,
    current: PathBuf,
    file: Option<File>,
    perm: u32,
    folder_perm: u32,
    rule: FlushRule,
    buf: Vec<u8>,
    /// Messages in `buf`.
    buffered: u32,
    last_write: Instant,
    /// Set when the file could not be reopened; the output stops at the next call.
    broken: Option<String>,
}

fn parse_octal(
    ctx: &BuildContext<'_>,
    option: &str,
    path: &str,
    v: &str,
) -> Result<u32, ConfigError> {
    u32::from_str_radix(v, 8).map_err(|_| {
        ctx.error(
            Some(option),
            format!("FileOutput '{path}' can't parse `{option}`, is it an octal integer string?"),
        )
    })
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let c: FileOutputConfig = ctx.options.parse()?;
    if c.path.is_empty() {
        return Err(ctx.error(Some("path"), "path is required"));
    }
    let folder_perm = parse_octal(ctx, "folder_perm", &c.path, &c.folder_perm)?;
    let perm = parse_octal(ctx, "perm", &c.path, &c.perm)?;
    if c.flush_count == 0 {
        return Err(ctx.error(Some("flush_count"), "flush_count must be at least 1"));
    }
    let or = match c.flush_operator.as_str() {
        "AND" => false,
        "OR" => true,
        other => {
            return Err(ctx.error(
                Some("flush_operator"),
                format!("flush_operator must be either 'AND' or 'OR', is currently: '{other}'"),
            ));
        }
    };
    if ![0, 1, 4, 12, 24].contains(&c.rotation_interval) {
        return Err(ctx.error(
            Some("rotation_interval"),
            "rotation_interval must be one of: 0, 1, 4, 12, 24",
        ));
    }
    let now_ns = heka_message::now_ns();
    let now = now_ns.div_euclid(1_000_000_000);
    let (rotation, next_rotation, current) = if c.rotation_interval > 0 {
        let period = i64::from(c.rotation_interval) * 3600;
        let pattern = Strftime::new(&c.path);
        let mut name = String::new();
        pattern.format(now_ns, &Zone::local(), &mut name);
        (
            Some((pattern, period)),
            next_boundary(now, period),
            PathBuf::from(name),
        )
    } else {
        (None, i64::MAX, PathBuf::from(&c.path))
    };
    let file = if ctx.check_only {
        check_writable(&current).map_err(|e| {
            ctx.error(
                Some("path"),
                format!("FileOutput '{}' {e}", current.display()),
            )
        })?;
        None
    } else {
        Some(open(&current, perm, folder_perm).map_err(|e| {
            ctx.error(
                Some("path"),
                format!("FileOutput '{}' {e}", current.display()),
            )
        })?)
    };
    Ok(Box::new(FileOutput {
        rotation,
        next_rotation,
        current,
        file,
        perm,
        folder_perm,
        rule: FlushRule {
            interval: (c.flush_interval > 0)
                .then(|| Duration::from_millis(c.flush_interval.into())),
            count: c.flush_count,
            or,
        },
        buf: Vec::with_capacity(10_000),
        buffered: 0,
        last_write: Instant::now(),
        broken: None,
    }))
}

/// `hekad -test`: whether `path` could be opened for appending, creating nothing: an existing
/// file must be writable; otherwise the nearest existing folder above it must be a writable
/// folder (the missing ones would be created there).
pub(super) fn check_writable(path: &Path) -> Result<(), String> {
    use rustix::fs::{Access, access};
    if path.exists() {
        return access(path, Access::WRITE_OK).map_err(|e| format!("is not writable: {e}"));
    }
    let mut dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p.to_path_buf(),
            _ => dir = PathBuf::from("."),
        }
    }
    if !dir.is_dir() {
        return Err(format!(
            "can't be created: {} is not a folder",
            dir.display()
        ));
    }
    access(&dir, Access::WRITE_OK | Access::EXEC_OK).map_err(|e| {
        format!(
            "can't be created: folder {} is not writable: {e}",
            dir.display()
        )
    })
}

/// Heka's `plugins.CheckWritePermission`: proves that `dir` takes new files by writing a
/// throw-away file in it (removed again). The error names that file.
pub(super) fn check_write_permission(dir: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    let check = dir.join(format!(".hekad.perm_check{}", fastrand::u32(..)));
    let res = File::create(&check).and_then(|mut f| f.write_all(b"ok"));
    let _ = std::fs::remove_file(&check);
    res.map_err(|e| (check, e))
}

/// Creates the parent directory, checks that it is writable and opens `path` for appending.
fn open(path: &Path, perm: u32, folder_perm: u32) -> Result<File, OpenError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(folder_perm)
        .create(&dir)
        .map_err(OpenError::Dir)?;
    // Heka compat: plugins/file/file_output.go proves the directory is writable with a
    // throw-away file before opening the real one.
    check_write_permission(&dir).map_err(|(check, source)| OpenError::PermCheck {
        path: check.display().to_string(),
        source,
    })?;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(perm)
        .open(path)
        .map_err(OpenError::Open)
}

impl FileOutput {
    /// Writes the buffer to the file. What the kernel did not take stays buffered for the next
    /// attempt, so a failing disk delays messages instead of losing them. No fsync: like Heka,
    /// "written" means handed to the kernel, which survives a crash of hekad.
    fn write_out(&mut self) -> Result<(), ProcessError> {
        self.last_write = Instant::now();
        let Some(f) = self.file.as_mut() else {
            if self.buf.is_empty() {
                return Ok(());
            }
            return Err(ProcessError::Retry("file is not open".into()));
        };
        let mut written = 0;
        let res = loop {
            if written == self.buf.len() {
                break Ok(());
            }
            match f.write(&self.buf[written..]) {
                Ok(0) => break Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        match res {
            Ok(()) => {
                self.buffered = 0;
                Ok(())
            }
            Err(e) => Err(ProcessError::Retry(format!(
                "can't write to {}: {e} ({} bytes kept for the next attempt)",
                self.current.display(),
                self.buf.len()
            ))),
        }
    }

    /// Starts the next file when a rotation boundary has passed.
    fn maybe_rotate(&mut self) -> Result<(), ProcessError> {
        let Some((pattern, period)) = &self.rotation else {
            return Ok(());
        };
        let now = heka_message::now_ns().div_euclid(1_000_000_000);
        if now < self.next_rotation {
            return Ok(());
        }
        let boundary = now.div_euclid(*period) * period;
        let mut name = String::new();
        pattern.format(boundary * 1_000_000_000, &Zone::local(), &mut name);
        self.next_rotation = next_boundary(now, *period);
        let flushed = self.write_out();
        self.current = PathBuf::from(name);
        self.file = None;
        match open(&self.current, self.perm, self.folder_perm) {
            Ok(f) => self.file = Some(f),
            Err(e) => {
                let msg = format!(
                    "unable to open rotated file '{}': {e}",
                    self.current.display()
                );
                self.broken = Some(msg.clone());
                return Err(ProcessError::Fatal(msg));
            }
        }
        flushed
    }

    fn check(&mut self) -> Result<(), ProcessError> {
        match &self.broken {
            Some(e) => Err(ProcessError::Fatal(e.clone())),
            None => self.maybe_rotate(),
        }
    }
}

/// Buffered bytes above which a new message waits until the file takes the buffer.
const MAX_UNWRITTEN: usize = 8 << 20;

impl Output for FileOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        self.check()?;
        if self.buf.len() >= MAX_UNWRITTEN {
            // The file keeps failing: push back on the router instead of growing without bound.
            self.write_out()?;
        }
        let before = self.buf.len();
        match ctx.encode(pack, &mut self.buf) {
            Ok(true) => self.buffered += 1,
            Ok(false) => {}
            Err(e) => {
                self.buf.truncate(before);
                return Err(ProcessError::Drop(format!("can't encode: {e}")));
            }
        }
        Ok(())
    }

    fn flush(&mut self, ctx: &mut OutputContext<'_>) -> Result<bool, ProcessError> {
        self.check()?;
        // The runner asks for everything when it has held acknowledged messages for long: a
        // `flush_count` that is never reached must not hold them (and their inputs) forever.
        if ctx.flush_requested() || self.rule.due(self.buffered, self.last_write.elapsed()) {
            self.write_out()?;
        }
        Ok(self.buf.is_empty())
    }

    fn reload(&mut self, _ctx: &mut OutputContext<'_>) {
        if let Err(e) = self.write_out() {
            tracing::error!("{e}");
        }
        self.file = None;
        match open(&self.current, self.perm, self.folder_perm) {
            Ok(f) => self.file = Some(f),
            Err(e) => {
                let msg = format!("unable to reopen file '{}': {e}", self.current.display());
                tracing::error!("{msg}");
                self.broken = Some(msg);
            }
        }
    }

    fn shutdown(&mut self, _ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        let res = self.write_out();
        self.file = None;
        res
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "FileOutput",
    summary: "Appends encoded messages to a file, with flush rules and optional time-based rotation.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: true,
    legacy_encoder: None,
    framing: FramingDefault::WhenProtobuf,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: None,
    build,
};

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::path::Path;

    use super::*;
    use crate::support::net::testing::{bound_port, build_error, start, wait_for};

    #[test]
    fn flush_rules_follow_heka() {
        let ms = Duration::from_millis;
        let and = FlushRule {
            interval: Some(ms(1000)),
            count: 2,
            or: false,
        };
        assert!(!and.due(0, ms(5000)));
        assert!(!and.due(1, ms(5000)));
        assert!(!and.due(2, ms(10)));
        assert!(and.due(2, ms(1000)));
        let or = FlushRule { or: true, ..and };
        assert!(or.due(2, ms(10)));
        assert!(or.due(1, ms(1000)));
        assert!(!or.due(1, ms(999)));
        assert!(!or.due(0, ms(1000)));
        let no_timer = FlushRule {
            interval: None,
            count: 3,
            or: false,
        };
        assert!(!no_timer.due(2, ms(100_000)));
        assert!(no_timer.due(3, ms(0)));
        assert!(
            !FlushRule {
                or: true,
                ..no_timer
            }
            .due(2, ms(100_000))
        );
    }

    #[test]
    fn rotation_boundaries_are_aligned_on_utc() {
        // 2015-10-07 18:47:00 UTC.
        let t = 1_444_243_620;
        assert_eq!(next_boundary(t, 3600), 1_444_244_400); // 19:00
        assert_eq!(next_boundary(t, 4 * 3600), 1_444_248_000); // 20:00
        assert_eq!(next_boundary(t, 24 * 3600), 1_444_262_400); // next midnight
        assert_eq!(next_boundary(1_444_244_400, 3600), 1_444_248_000);
    }

    /// A pipeline UdpInput → FileOutput (PayloadEncoder) with extra FileOutput options.
    fn rig(options: &str) -> (heka_pipeline::runner::build::Running, impl Fn(&str) + use<>) {
        let running = start(&format!(
            "[UdpInput]\naddress = '127.0.0.1:0'\n[PayloadEncoder]\n\
             [FileOutput]\nmessage_matcher = 'TRUE'\nencoder = 'PayloadEncoder'\n{options}"
        ));
        let port = bound_port(&running, "UdpInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let send = move |p: &str| {
            tx.send_to(p.as_bytes(), ("127.0.0.1", port)).unwrap();
        };
        (running, send)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn count_rule_writes_in_groups_and_shutdown_writes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let (running, send) = rig(&format!(
            "path = '{}'\nflush_operator = 'OR'\nflush_count = 2\nflush_interval = 0\n",
            out.display()
        ));
        for p in ["a", "b", "c", "d", "e"] {
            send(p);
        }
        let got = wait_for("four lines", || {
            let l = lines(&out);
            assert!(
                matches!(l.len(), 0 | 2 | 4),
                "written outside the count rule: {l:?}"
            );
            (l.len() == 4).then_some(l)
        });
        assert_eq!(got, ["a", "b", "c", "d"]);
        running.stop();
        assert_eq!(lines(&out), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn interval_rule_writes_without_further_traffic() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let (running, send) = rig(&format!(
            "path = '{}'\nflush_interval = 300\nperm = '600'\n",
            out.display()
        ));
        send("lonely");
        let got = wait_for("the message", || {
            let l = lines(&out);
            (!l.is_empty()).then_some(l)
        });
        running.stop();
        assert_eq!(got, ["lonely"]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn rotation_names_files_by_the_time_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = format!("{}/sub/out-%Y%m%d%H.log", dir.path().display());
        let name_at = |ns: i64| {
            let mut s = String::new();
            Strftime::new(&pattern).format(ns, &Zone::local(), &mut s);
            PathBuf::from(s)
        };
        let before = name_at(heka_message::now_ns());
        let (running, send) = rig(&format!(
            "path = '{pattern}'\nrotation_interval = 1\nflush_interval = 0\nfolder_perm = '750'\n"
        ));
        send("rotated");
        let after = name_at(heka_message::now_ns());
        let got = wait_for("the message", || {
            [&before, &after]
                .into_iter()
                .map(|p| lines(p))
                .find(|l| !l.is_empty())
        });
        running.stop();
        assert_eq!(got, ["rotated"]);
        use std::os::unix::fs::PermissionsExt;
        let sub = dir.path().join("sub");
        assert_eq!(
            std::fs::metadata(sub).unwrap().permissions().mode() & 0o777,
            0o750
        );
    }

    #[test]
    fn reload_reopens_the_path_after_an_external_rename() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.log");
        let moved = dir.path().join("out.log.1");
        let (running, send) = rig(&format!("path = '{}'\nflush_interval = 0\n", out.display()));
        send("before");
        wait_for("the first message", || {
            (!lines(&out).is_empty()).then_some(())
        });
        std::fs::rename(&out, &moved).unwrap();
        running.reload();
        send("after");
        let got = wait_for("the second message", || {
            let l = lines(&out);
            (!l.is_empty()).then_some(l)
        });
        running.stop();
        assert_eq!(got, ["after"]);
        assert_eq!(lines(&moved), ["before"]);
    }

    #[test]
    fn config_errors() {
        let base = "[FileOutput]\nmessage_matcher = 'TRUE'\nencoder = 'ProtobufEncoder'\n";
        let err = |extra: &str| build_error(&format!("{base}{extra}"));
        assert!(err("").contains("path is required"));
        let e = err("path = '/tmp/x'\nperm = '9x'\n");
        assert!(
            e.contains("can't parse `perm`, is it an octal integer string?"),
            "{e}"
        );
        let e = err("path = '/tmp/x'\nfolder_perm = 'rwx'\n");
        assert!(e.contains("`folder_perm`"), "{e}");
        let e = err("path = '/tmp/x'\nflush_operator = 'XOR'\n");
        assert!(e.contains("is currently: 'XOR'"), "{e}");
        let e = err("path = '/tmp/x'\nflush_count = 0\n");
        assert!(e.contains("flush_count"), "{e}");
        let e = err("path = '/tmp/x'\nrotation_interval = 2\n");
        assert!(e.contains("rotation_interval must be one of"), "{e}");
    }

    #[test]
    fn unusable_paths_are_config_errors() {
        let base = "[FileOutput]\nmessage_matcher = 'TRUE'\nencoder = 'ProtobufEncoder'\n";
        // The directory can't be made: a regular file is in the way.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let path = file.join("x.log");
        let e = build_error(&format!("{base}path = '{}'\n", path.display()));
        let want = format!(
            "[FileOutput] path: FileOutput '{}' can't create the basepath for the FileOutput \
             plugin: File exists (os error 17)",
            path.display()
        );
        assert!(e.contains(&want), "{e}");
        // The directory exists but takes no new file, even for root: the write check fails.
        let e = build_error(&format!("{base}path = '/proc/x.log'\n"));
        let (before, after) = e
            .split_once("/proc/.hekad.perm_check")
            .unwrap_or_else(|| panic!("{e}"));
        assert!(
            before
                .ends_with("[FileOutput] path: FileOutput '/proc/x.log' can't write to test file "),
            "{e}"
        );
        let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
        assert!(
            after.starts_with(": No such file or directory (os error 2)"),
            "{e}"
        );
    }

    #[test]
    fn a_failing_write_keeps_the_data_for_the_next_attempt() {
        // /dev/full answers every write with ENOSPC: a real failing file.
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.log");
        let mut f = FileOutput {
            rotation: None,
            next_rotation: 0,
            current: PathBuf::from("/dev/full"),
            file: Some(full),
            perm: 0o644,
            folder_perm: 0o700,
            rule: FlushRule {
                interval: None,
                count: 1,
                or: false,
            },
            buf: b"one\ntwo\n".to_vec(),
            buffered: 2,
            last_write: Instant::now(),
            broken: None,
        };
        match f.write_out() {
            Err(ProcessError::Retry(e)) => assert!(e.contains("No space left"), "{e}"),
            other => panic!("expected a retry, got {other:?}"),
        }
        assert_eq!(f.buf, b"one\ntwo\n");
        assert_eq!(f.buffered, 2);
        // The disk "recovers": the kept data is written, nothing is lost.
        f.file = Some(std::fs::File::create(&good).unwrap());
        f.write_out().unwrap();
        assert!(f.buf.is_empty());
        assert_eq!(std::fs::read(&good).unwrap(), b"one\ntwo\n");
    }
}
