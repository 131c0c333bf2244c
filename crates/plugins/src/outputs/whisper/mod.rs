//! WhisperOutput: writes the carbon lines of message payloads into Graphite whisper files.
//!
//! ```toml
//! [WhisperOutput]
//! message_matcher = "Type == 'heka.statmetric'"
//! # base_path = "whisper"        # relative paths are under [hekad] base_dir
//! # default_agg_method = 1       # 1 average, 2 sum, 3 last, 4 max, 5 min (0: average)
//! # default_archive_info = [[0, 60, 1440], [0, 900, 8], [0, 3600, 168], [0, 43200, 1456]]
//! # folder_perm = "700"
//! ```
//!
//! Each message's payload holds lines `<name> <value> <unix seconds>`, as StatAccumInput emits
//! them (`emit_in_payload`); spaces and newlines around the payload are ignored, and the parts
//! of a line are separated by any whitespace. The value of each line is stored for its time
//! in `<base_path>/<name with every . as />.wsp` (`stats.counters.foo.rate` →
//! `stats/counters/foo/rate.wsp`); a name never leads outside `base_path`.
//!
//! A missing file is created, with its missing folders (mode `folder_perm`, octal, subject to
//! the umask), for the archives of `default_archive_info` (`[offset, seconds per point,
//! points]`; the offset is ignored), the aggregation method `default_agg_method` and an
//! xFilesFactor of 0.1, as Heka did. An existing file is updated with the archives and
//! method in its own header. The files are those Graphite's Python `whisper` writes:
//! creating a file and updating it point by point here gives, byte for byte, what
//! `whisper.create` and one `whisper.update` per point (`whisper-update path ts:value`) give.
//! Points at least the file's longest retention old, or in the future, are refused.
//!
//! Heka's default archive list keeps 1 day of minutes, 2 hours of quarter hours, 7 days of
//! hours and 2 years of half days. Its second archive covers less time than the first, which
//! Python's `whisper-create` refuses; we accept it as Heka did. A point between 2 hours and
//! 1 day old is stored in the minute archive, and its quarter-hour and hour values are made
//! from whatever that 2-hour ring still holds for them.
//!
//! The output reads the payload itself (no encoder). Lines that can't be used (not three
//! parts, a timestamp that is not a 32-bit unsigned integer in Go's syntax, a value that is
//! not a number, a point outside the file's retention, a file that can't be created or is not
//! a whisper file) are skipped, each with an error logged; the message then counts as a
//! failure. Files are written on the output's thread, with the file system's positioned
//! writes, before the message is acknowledged; there is no fsync (as in Heka and Python).
//! Up to 512 files are kept open; SIGHUP closes them all, so a file changed by another tool
//! (`whisper-resize`) is read again.
//!
//! Differences from Heka (see `docs/differences.md`):
//! - Points go into the slots Python's whisper (and Graphite's readers) use. Heka's Go whisper
//!   library placed them relative to the file's header instead of each archive's first
//!   point, so files Heka wrote had their points in other slots. Such files go on in Heka's
//!   layout as long as an archive's first slot is empty (after that both layouts agree).
//! - Archive lists are put in precision order and checked when the config loads (as Python's
//!   `whisper-create` does, except that retentions need not increase); Heka wrote any list as
//!   given, and lists out of precision order gave unusable files.
//! - A line is checked before its file is made: Heka created the file of a line whose value or
//!   timestamp then failed to parse.
//! - `default_agg_method` also takes Python whisper's 6 (avg_zero), 7 (absmax) and 8 (absmin);
//!   other values are config errors (Heka wrote them into the header, and then failed every
//!   propagation).

mod format;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use heka_message::MessageView;
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Output, OutputContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FramingDefault, OutputSpec, Ticker};
use serde::Deserialize;

use self::format::{Aggregation, Header, Whisper, WhisperError};
use crate::support::gonum::{GoNumError, go_fields, parse_go_float, parse_go_uint32};

/// Heka compat: plugins/graphite/whisper.go creates every file with this xFilesFactor.
const X_FILES_FACTOR: f32 = 0.1;

/// Files kept open at once; the least recently written one is closed to make room.
const MAX_OPEN_FILES: usize = 512;

/// Heka's default archives: `[offset, seconds per point, points]`.
const DEFAULT_ARCHIVES: [[u32; 3]; 4] =
    [[0, 60, 1440], [0, 900, 8], [0, 3600, 168], [0, 43200, 1456]];

/// WhisperOutput options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct WhisperOutputConfig {
    /// Root of the file tree; relative paths are under `base_dir`.
    base_path: String,
    /// Aggregation method code of new files.
    default_agg_method: u32,
    /// Archives of new files: `[offset, seconds per point, points]` each.
    default_archive_info: Option<Vec<Vec<u32>>>,
    /// Mode of created folders, octal.
    folder_perm: String,
}

impl Default for WhisperOutputConfig {
    fn default() -> Self {
        WhisperOutputConfig {
            base_path: "whisper".into(),
            default_agg_method: 1,
            default_archive_info: None,
            folder_perm: "700".into(),
        }
    }
}

/// The `(seconds per point, points)` archives of new files, from Heka's triples, in precision
/// order, checked as Python's `whisper.validateArchiveList` checks them except for increasing
/// retentions.
fn archive_list(info: &[Vec<u32>]) -> Result<Vec<(u32, u32)>, String> {
    let mut list = Vec::with_capacity(info.len());
    for triple in info {
        let &[_offset, seconds, points] = triple.as_slice() else {
            // Heka compat: plugins/graphite/whisper.go's text.
            return Err("all default archive info settings must have 3 values".into());
        };
        if seconds == 0 || points == 0 {
            return Err(format!(
                "archive {triple:?}: seconds per point and points must be positive"
            ));
        }
        list.push((seconds, points));
    }
    if list.is_empty() {
        return Err("at least one archive is needed".into());
    }
    list.sort_by_key(|&(seconds, _)| seconds);
    for pair in list.windows(2) {
        let [(s1, p1), (s2, _)] = [pair[0], pair[1]];
        if s1 == s2 {
            return Err(format!(
                "two archives have the same precision ({s1} seconds per point)"
            ));
        }
        if s2 % s1 != 0 {
            return Err(format!(
                "the precision of an archive must divide that of the next one ({s1} and {s2} \
                 seconds per point)"
            ));
        }
        if p1 < s2 / s1 {
            return Err(format!(
                "an archive must have at least the points of one point of the next archive \
                 (the {s2} s archive takes {} points of the {s1} s archive, which has {p1})",
                s2 / s1
            ));
        }
        // Heka compat: no check that retentions increase. Heka's own default list (1 day of
        // minutes, then 2 hours of quarter hours) fails it, and Heka wrote it as it is.
    }
    Ok(list)
}

/// Where the file of metric `name` is: every `.` becomes a folder separator, `.wsp` is
/// appended, and the result is cleaned as Go's `filepath.Join` cleans it (empty parts are
/// dropped, and as no part can be `..`, the path never leaves `base`).
fn metric_path(base: &Path, name: &[u8]) -> PathBuf {
    let mut rel: Vec<u8> = name
        .iter()
        .map(|&c| if c == b'.' { b'/' } else { c })
        .collect();
    rel.extend_from_slice(b".wsp");
    let mut path = base.to_path_buf();
    for part in rel.split(|&c| c == b'/').filter(|p| !p.is_empty()) {
        path.push(OsStr::from_bytes(part));
    }
    path
}

/// An open file and when it was last written (a count of writes).
struct OpenFile {
    db: Whisper<File>,
    last_use: u64,
}

/// A WhisperOutput instance.
struct WhisperOutput {
    base: PathBuf,
    /// The header of new files.
    header: Header,
    folder_perm: u32,
    files: HashMap<PathBuf, OpenFile>,
    max_open: usize,
    uses: u64,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Output>, ConfigError> {
    let c: WhisperOutputConfig = ctx.options.parse()?;
    let base = ctx.globals.base_dir.join(&c.base_path);
    let folder_perm = u32::from_str_radix(&c.folder_perm, 8).map_err(|_| {
        ctx.error(
            Some("folder_perm"),
            format!(
                "WhisperOutput '{}' can't parse `folder_perm`, is it an octal integer string?",
                base.display()
            ),
        )
    })?;
    let aggregation = match c.default_agg_method {
        // Heka compat: the Go library replaced 0 ("unknown") by average when creating a file.
        0 => Aggregation::Average,
        n => Aggregation::from_code(n).ok_or_else(|| {
            ctx.error(
                Some("default_agg_method"),
                format!(
                    "unknown aggregation method {n}: 1 average, 2 sum, 3 last, 4 max, 5 min, \
                     6 avg_zero, 7 absmax, 8 absmin (0: average)"
                ),
            )
        })?,
    };
    let info = c
        .default_archive_info
        .unwrap_or_else(|| DEFAULT_ARCHIVES.iter().map(|t| t.to_vec()).collect());
    let header = archive_list(&info)
        .and_then(|list| Header::new(&list, X_FILES_FACTOR, aggregation))
        .map_err(|e| ctx.error(Some("default_archive_info"), e))?;
    let base_error = |e: String| {
        ctx.error(
            Some("base_path"),
            format!("WhisperOutput '{}' {e}", base.display()),
        )
    };
    if ctx.check_only {
        super::file::check_writable(&base.join(".hekad.perm_check")).map_err(base_error)?;
        return Ok(Box::new(Unchecked));
    }
    DirBuilder::new()
        .recursive(true)
        .mode(folder_perm)
        .create(&base)
        .map_err(|e| base_error(format!("can't create the folder: {e}")))?;
    // Heka compat: plugins/graphite/whisper.go proves the folder takes new files at init.
    super::file::check_write_permission(&base).map_err(|(check, e)| {
        base_error(format!("can't write to test file {}: {e}", check.display()))
    })?;
    Ok(Box::new(WhisperOutput {
        base,
        header,
        folder_perm,
        files: HashMap::new(),
        max_open: MAX_OPEN_FILES,
        uses: 0,
    }))
}

/// What `hekad -test` builds: the options are checked, nothing is created; never run.
struct Unchecked;

impl Output for Unchecked {
    fn process_message(&mut self, _: &Pack, _: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        Err(ProcessError::Fatal(
            "built by hekad -test: not runnable".into(),
        ))
    }
}

/// Opens the whisper file at `path`, or creates it (and its folders) with `header`.
fn open_or_create(path: &Path, header: &Header, folder_perm: u32) -> Result<Whisper<File>, String> {
    let open = |path: &Path| {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Whisper::open(file)
    };
    let opened = |r: Result<Whisper<File>, WhisperError>| {
        r.map_err(|e| format!("error opening whisper db '{}': {e}", path.display()))
    };
    match open(path) {
        Err(WhisperError::Io(e)) if e.kind() == ErrorKind::NotFound => {}
        other => return opened(other),
    }
    if let Some(dir) = path.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(folder_perm)
            .create(dir)
            .map_err(|e| format!("error creating whisper db folder '{}': {e}", dir.display()))?;
    }
    let created =
        |e: std::io::Error| format!("error creating whisper db '{}': {e}", path.display());
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(path)
    {
        Ok(f) => f,
        // Someone else made it meanwhile.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return opened(open(path)),
        Err(e) => return Err(created(e)),
    };
    Whisper::create(file, header.clone()).map_err(|e| {
        // Python removes a file it could not finish, so that the next update makes it again.
        let _ = std::fs::remove_file(path);
        created(e)
    })
}

impl WhisperOutput {
    /// The open file at `path`, opened or created if needed.
    fn file(&mut self, path: &Path) -> Result<&mut Whisper<File>, String> {
        self.uses += 1;
        if !self.files.contains_key(path) {
            if self.files.len() >= self.max_open {
                let oldest = self
                    .files
                    .iter()
                    .min_by_key(|(_, f)| f.last_use)
                    .map(|(p, _)| p.clone());
                if let Some(p) = oldest {
                    self.files.remove(&p);
                }
            }
            let db = open_or_create(path, &self.header, self.folder_perm)?;
            self.files
                .insert(path.to_path_buf(), OpenFile { db, last_use: 0 });
        }
        let uses = self.uses;
        let f = self
            .files
            .get_mut(path)
            .ok_or_else(|| format!("{} is not open", path.display()))?;
        f.last_use = uses;
        Ok(&mut f.db)
    }

    /// Stores one carbon line at `now` (unix seconds).
    fn write_line(&mut self, line: &[u8], now: i64) -> Result<(), String> {
        let text = || String::from_utf8_lossy(line);
        let &[name, value, timestamp] = go_fields(line).as_slice() else {
            // Heka compat: plugins/graphite/whisper.go's texts, here and below.
            return Err(format!("malformed statmetric line: '{}'", text()));
        };
        let timestamp = parse_go_uint32(timestamp).map_err(|err| {
            let e = GoNumError {
                func: "ParseUint",
                input: timestamp,
                err,
            };
            format!("parsing time: {e}")
        })?;
        let value_text = value;
        let value = parse_go_float(value, false).map_err(|err| {
            let e = GoNumError {
                func: "ParseFloat",
                input: value_text,
                err,
            };
            format!(
                "parsing value '{}': {e}",
                String::from_utf8_lossy(value_text)
            )
        })?;
        let path = metric_path(&self.base, name);
        let res = self.file(&path)?.update(value, timestamp, now);
        match res {
            Ok(()) => Ok(()),
            Err(e) => {
                if matches!(e, WhisperError::Io(_) | WhisperError::Corrupt(_)) {
                    // Read it again next time.
                    self.files.remove(&path);
                }
                Err(format!(
                    "error updating whisper db '{}': {e}",
                    path.display()
                ))
            }
        }
    }
}

impl Output for WhisperOutput {
    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut OutputContext<'_>,
    ) -> Result<(), ProcessError> {
        let view = pack.view();
        let payload = view.payload_bytes();
        // Heka compat: strings.Trim(payload, " \n"), then one line per "\n" (so an empty
        // payload is one empty, malformed line).
        let start = payload
            .iter()
            .position(|c| !b" \n".contains(c))
            .unwrap_or(payload.len());
        let end = payload
            .iter()
            .rposition(|c| !b" \n".contains(c))
            .map_or(start, |e| e + 1);
        let mut lines = 0;
        let mut failed = Vec::new();
        for line in payload[start..end].split(|&c| c == b'\n') {
            lines += 1;
            let now = heka_message::now_ns().div_euclid(1_000_000_000);
            if let Err(e) = self.write_line(line, now) {
                failed.push(e);
            }
        }
        match failed.as_slice() {
            [] => Ok(()),
            [e] if lines == 1 => Err(ProcessError::Drop(e.clone())),
            _ => {
                // Heka compat: each line's error is logged (Heka's LogError per line); the
                // message then counts once as failed.
                for e in &failed {
                    tracing::error!(plugin = %ctx.name(), "{e}");
                }
                Err(ProcessError::Drop(format!(
                    "{} of {lines} lines not written",
                    failed.len()
                )))
            }
        }
    }

    fn reload(&mut self, _ctx: &mut OutputContext<'_>) {
        self.files.clear();
    }

    fn shutdown(&mut self, _ctx: &mut OutputContext<'_>) -> Result<(), ProcessError> {
        self.files.clear();
        Ok(())
    }
}

pub(super) const SPEC: OutputSpec = OutputSpec {
    type_name: "WhisperOutput",
    summary: "Writes the carbon lines of message payloads into Graphite whisper files.",
    default_matcher: None,
    default_encoder: None,
    encoder_required: false,
    legacy_encoder: None,
    framing: FramingDefault::Never,
    ticker: Ticker::Optional,
    can_exit: false,
    buffering: None,
    build,
};

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::support::net::testing::{bound_port, build_error, start, wait_for};

    const NOW: i64 = 1_700_000_000;

    fn output(base: &Path, archives: &[(u32, u32)], aggregation: Aggregation) -> WhisperOutput {
        WhisperOutput {
            base: base.to_path_buf(),
            header: Header::new(archives, X_FILES_FACTOR, aggregation).unwrap(),
            folder_perm: 0o750,
            files: HashMap::new(),
            max_open: MAX_OPEN_FILES,
            uses: 0,
        }
    }

    /// The bytes of a new in-memory file with `header` after these `(value, timestamp)`
    /// updates at `now`.
    fn expected(header: &Header, updates: &[(f64, u32)], now: i64) -> Vec<u8> {
        let mut db = Whisper::create(Vec::new(), header.clone()).unwrap();
        for &(v, t) in updates {
            db.update(v, t, now).unwrap();
        }
        db.into_inner()
    }

    #[test]
    fn metric_names_map_to_paths_below_the_base() {
        let base = Path::new("/var/cache/hekad/whisper");
        let p = |name: &[u8]| metric_path(base, name);
        assert_eq!(
            p(b"stats.counters.foo.rate"),
            base.join("stats/counters/foo/rate.wsp")
        );
        assert_eq!(p(b"a..b"), base.join("a/b.wsp"));
        assert_eq!(p(b"a."), base.join("a/.wsp"));
        assert_eq!(p(b".a"), base.join("a.wsp"));
        assert_eq!(p(b"..."), base.join(".wsp"));
        assert_eq!(p(b"a/b.c"), base.join("a/b/c.wsp"));
        assert_eq!(p(b"../../etc/passwd"), base.join("etc/passwd.wsp"));
        assert_eq!(p(b"/etc/passwd"), base.join("etc/passwd.wsp"));
        assert_eq!(
            p(b"caf\xc3\xa9.\xff"),
            base.join(OsStr::from_bytes(b"caf\xc3\xa9/\xff.wsp"))
        );
    }

    #[test]
    fn archive_lists_are_sorted_and_checked() {
        let v = |l: &[[u32; 3]]| l.iter().map(|t| t.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            archive_list(&v(&DEFAULT_ARCHIVES)),
            Ok(vec![(60, 1440), (900, 8), (3600, 168), (43200, 1456)]),
            "Heka's default, as it is"
        );
        assert_eq!(
            archive_list(&v(&[[0, 3600, 168], [99, 60, 1440]])),
            Ok(vec![(60, 1440), (3600, 168)])
        );
        let err = |l: Vec<Vec<u32>>| archive_list(&l).unwrap_err();
        assert_eq!(
            err(vec![vec![0, 60]]),
            "all default archive info settings must have 3 values"
        );
        assert!(err(vec![]).contains("at least one archive"));
        assert!(err(v(&[[0, 0, 10]])).contains("must be positive"));
        assert!(err(v(&[[0, 10, 0]])).contains("must be positive"));
        assert!(err(v(&[[0, 60, 10], [0, 60, 20]])).contains("same precision"));
        assert!(err(v(&[[0, 60, 10], [0, 90, 20]])).contains("must divide"));
        assert!(err(v(&[[0, 60, 10], [0, 900, 20]])).contains("takes 15 points"));
    }

    #[test]
    fn lines_update_files_as_python_whisper_does() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("whisper");
        let mut out = output(&base, &[(10, 6), (60, 10)], Aggregation::Sum);
        let lines: &[&[u8]] = &[
            b"stats.a 1 1699999950",
            b"stats.a\t2.5   1699999961\r",
            b"stats.b 16 0x6553f0ff",
            b"stats.a 4 0x6553f0f6", // 1699999990
        ];
        for l in lines {
            out.write_line(l, NOW).unwrap();
        }
        let a = std::fs::read(base.join("stats/a.wsp")).unwrap();
        assert_eq!(
            a,
            expected(
                &out.header,
                &[
                    (1.0, 1_699_999_950),
                    (2.5, 1_699_999_961),
                    (4.0, 1_699_999_990)
                ],
                NOW
            )
        );
        let b = std::fs::read(base.join("stats/b.wsp")).unwrap();
        assert_eq!(b, expected(&out.header, &[(16.0, 1_699_999_999)], NOW));
        let mode = std::fs::metadata(base.join("stats"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
    }

    #[test]
    fn bad_lines_are_errors_and_make_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = output(dir.path(), &[(10, 6), (60, 10)], Aggregation::Average);
        let cases: &[(&[u8], &str)] = &[
            (b"", "malformed statmetric line: ''"),
            (b"a 1", "malformed statmetric line: 'a 1'"),
            (b"a 1 2 3", "malformed statmetric line: 'a 1 2 3'"),
            (
                b"a 1 -5",
                "parsing time: strconv.ParseUint: parsing \"-5\": invalid syntax",
            ),
            (
                b"a 1 4294967296",
                "parsing time: strconv.ParseUint: parsing \"4294967296\": value out of range",
            ),
            (
                b"a x 1",
                "parsing value 'x': strconv.ParseFloat: parsing \"x\": invalid syntax",
            ),
            (
                b"a 1e400 1",
                "parsing value '1e400': strconv.ParseFloat: parsing \"1e400\": value out of range",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(out.write_line(line, NOW).unwrap_err(), *want);
        }
        // A name the file system refuses.
        let e = out.write_line(b"a\0b 1 1699999990", NOW).unwrap_err();
        assert!(e.starts_with("error opening whisper db"), "{e}");
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
        // Outside the retention: the file exists, the point is refused.
        let e = out.write_line(b"a 1 1699999399", NOW).unwrap_err();
        let path = dir.path().join("a.wsp");
        assert_eq!(
            e,
            format!(
                "error updating whisper db '{}': point is older than the maximum retention period",
                path.display()
            )
        );
        let e = out.write_line(b"a 1 1700000001", NOW).unwrap_err();
        assert!(e.ends_with("point is in the future"), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            expected(&out.header, &[], NOW)
        );
    }

    #[test]
    fn existing_files_keep_their_own_archives() {
        let dir = tempfile::tempdir().unwrap();
        let theirs = Header::new(&[(1, 100), (20, 30)], 0.5, Aggregation::Max).unwrap();
        let path = dir.path().join("x.wsp");
        let file = File::create_new(&path).unwrap();
        Whisper::create(file, theirs.clone()).unwrap();
        let mut out = output(dir.path(), &[(10, 6), (60, 10)], Aggregation::Sum);
        out.write_line(b"x 3 1699999990", NOW).unwrap();
        out.write_line(b"x 5 1699999991", NOW).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            expected(&theirs, &[(3.0, 1_699_999_990), (5.0, 1_699_999_991)], NOW)
        );
        // Not a whisper file: refused, not overwritten.
        std::fs::write(dir.path().join("y.wsp"), b"hello").unwrap();
        let e = out.write_line(b"y 3 1699999990", NOW).unwrap_err();
        assert!(
            e.contains("error opening whisper db") && e.contains("unable to read header"),
            "{e}"
        );
        assert_eq!(std::fs::read(dir.path().join("y.wsp")).unwrap(), b"hello");
    }

    #[test]
    fn least_recently_written_files_are_closed() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = output(dir.path(), &[(10, 6)], Aggregation::Last);
        out.max_open = 2;
        for name in ["a", "b", "a", "c", "a", "d"] {
            out.write_line(format!("{name} 1 1699999990").as_bytes(), NOW)
                .unwrap();
            assert!(out.files.len() <= 2);
        }
        let mut open: Vec<_> = out.files.keys().cloned().collect();
        open.sort();
        assert_eq!(open, [dir.path().join("a.wsp"), dir.path().join("d.wsp")]);
    }

    #[test]
    fn pipeline_writes_payload_lines() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("wsp");
        let running = start(&format!(
            "[UdpInput]\naddress = '127.0.0.1:0'\n\
             [WhisperOutput]\nmessage_matcher = 'TRUE'\nbase_path = '{}'\n\
             default_agg_method = 0\ndefault_archive_info = [[0, 1, 120], [0, 60, 10]]\n",
            base.display()
        ));
        let port = bound_port(&running, "UdpInput");
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let now = heka_message::now_ns() / 1_000_000_000;
        let t = (now - 30) as u32;
        let payload = format!("\n m.one 1 {t}\nbad line\nm.two 2 {t}\n\n");
        tx.send_to(payload.as_bytes(), ("127.0.0.1", port)).unwrap();
        tx.send_to(format!("m.one 3 {}", t + 1).as_bytes(), ("127.0.0.1", port))
            .unwrap();
        let one = base.join("m/one.wsp");
        let header = Header::new(&[(1, 120), (60, 10)], 0.1, Aggregation::Average).unwrap();
        let want = expected(&header, &[(1.0, t), (3.0, t + 1)], now);
        wait_for("both points of m.one", || {
            (std::fs::read(&one).ok()? == want).then_some(())
        });
        running.stop();
        let two = std::fs::read(base.join("m/two.wsp")).unwrap();
        assert_eq!(two, expected(&header, &[(2.0, t)], now));
    }

    #[test]
    fn config_errors() {
        let base = "[WhisperOutput]\nmessage_matcher = 'TRUE'\nbase_path = '/tmp/whisper-x'\n";
        let err = |extra: &str| build_error(&format!("{base}{extra}"));
        let e = err("folder_perm = 'rwx'\n");
        assert!(
            e.contains(
                "WhisperOutput '/tmp/whisper-x' can't parse `folder_perm`, is it an octal \
                 integer string?"
            ),
            "{e}"
        );
        let e = err("default_agg_method = 9\n");
        assert!(e.contains("unknown aggregation method 9"), "{e}");
        let e = err("default_archive_info = [[0, 60]]\n");
        assert!(
            e.contains("all default archive info settings must have 3 values"),
            "{e}"
        );
        let e = err("default_archive_info = []\n");
        assert!(e.contains("at least one archive"), "{e}");
        let e = err("default_archive_info = [[0, 65536, 65536]]\n");
        assert!(e.contains("more than 2^32 seconds"), "{e}");
        // The base path can't be a folder: a file is in the way.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let e = build_error(&format!(
            "[WhisperOutput]\nmessage_matcher = 'TRUE'\nbase_path = '{}'\n",
            file.join("w").display()
        ));
        assert!(e.contains("can't create the folder"), "{e}");
    }

    #[test]
    fn relative_base_path_is_under_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        let running = start(&format!(
            "[hekad]\nbase_dir = '{}'\n[WhisperOutput]\nmessage_matcher = 'FALSE'\n\
             folder_perm = '711'\n",
            dir.path().display()
        ));
        running.stop();
        let meta = std::fs::metadata(dir.path().join("whisper")).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.permissions().mode() & 0o777, 0o711);
    }
}
