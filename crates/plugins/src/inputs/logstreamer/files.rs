//! Finding a LogstreamerInput's files: walk `log_directory`, keep the paths `file_match`
//! matches, drop files older than `oldest_duration`, score each file from its named captures,
//! group the files into logstreams by `differentiator` and sort each logstream oldest to
//! newest by `priority`. Shared by the input and the `heka-logstreamer` tool.
//!
//! Scoring follows Heka's `logstreamer/filehandling.go` (see the spec): a capture's text is
//! lower-cased; an empty capture reads as `missing`; `MonthName` and `DayName` captures map
//! English names to numbers; a `translation` table with two or more entries must hold the value;
//! a one-entry table (its key must be `missing`) gives the value for a missing capture; anything
//! else scores its digits as an integer, or −1. Heka ignored scoring errors; they are returned
//! here so that a caller can log them.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `translation`: per capture name, matched value → sort integer.
pub type Translation = HashMap<String, HashMap<String, i64>>;

/// One file of a logstream, with its sort scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logfile {
    /// The file's path (under the resolved `log_directory`).
    pub path: PathBuf,
    /// Device and inode when scanned: which file the path named then.
    pub id: (u64, u64),
    /// Sort score per named capture.
    pub scores: HashMap<String, i64>,
    /// Matched text per named capture (empty when the capture did not take part).
    pub captures: HashMap<String, String>,
}

/// One sort key of `priority`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PriorityKey {
    name: String,
    descending: bool,
}

/// Where a LogstreamerInput looks for files and how it groups and orders them.
#[derive(Debug, Clone)]
pub struct FileSet {
    root: PathBuf,
    file_match: String,
    regex: regex::bytes::Regex,
    names: Vec<Option<String>>,
    priority: Vec<PriorityKey>,
    differentiator: Vec<String>,
    translation: Translation,
    oldest: Option<Duration>,
}

/// The options [`FileSet::new`] takes (the LogstreamerInput options of the same names).
#[derive(Debug, Clone, Default)]
pub struct FileSetOptions {
    /// Root of the walk; symlinks in it are resolved once.
    pub log_directory: PathBuf,
    /// Regular expression (Go syntax) matched against the rest of each path.
    pub file_match: String,
    /// Capture names to sort on, most significant first; `^` sorts descending.
    pub priority: Vec<String>,
    /// Parts of a logstream's name: capture names are replaced by the matched text.
    pub differentiator: Vec<String>,
    /// Value tables per capture name.
    pub translation: Translation,
    /// Files last modified longer ago than this are ignored (`None`: no limit).
    pub oldest_duration: Option<Duration>,
}

/// A bad option of a [`FileSet`], and which option it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FileSetError {
    /// The option at fault (`log_directory`, `file_match` or `translation`).
    pub option: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl FileSetError {
    fn new(option: &'static str, message: impl Into<String>) -> FileSetError {
        FileSetError {
            option,
            message: message.into(),
        }
    }
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Logstreams by name, each file list sorted oldest to newest.
    pub streams: BTreeMap<String, Vec<Logfile>>,
    /// Scoring errors (the files stay, partly scored, as in Heka).
    pub errors: Vec<String>,
    /// Why logstreams were left out: several files and no `priority` to sort them on.
    pub unsortable: Vec<String>,
}

impl FileSet {
    /// Checks the options and resolves `log_directory` (which must exist).
    pub fn new(opts: FileSetOptions) -> Result<FileSet, FileSetError> {
        let (root, regex, names) = compile(&opts.log_directory, &opts.file_match, true)?;
        FileSet::with(opts, root, regex, names)
    }

    /// Checks the options without touching the file system (`hekad -test`); the root is
    /// taken as written.
    pub fn check(opts: FileSetOptions) -> Result<FileSet, FileSetError> {
        let (root, regex, names) = compile(&opts.log_directory, &opts.file_match, false)?;
        FileSet::with(opts, root, regex, names)
    }

    fn with(
        opts: FileSetOptions,
        root: PathBuf,
        regex: regex::bytes::Regex,
        names: Vec<Option<String>>,
    ) -> Result<FileSet, FileSetError> {
        let mut translation = Translation::new();
        for (group, table) in opts.translation {
            let table: HashMap<String, i64> = table
                .into_iter()
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect();
            if table.len() == 1 && !table.contains_key("missing") {
                let key = table.keys().next().cloned().unwrap_or_default();
                // Heka compat: the text of logstreamer_input.go's check.
                return Err(FileSetError::new(
                    "translation",
                    format!(
                        "A translation map with one entry ('{key}') must be specifying a 'missing' key."
                    ),
                ));
            }
            translation.insert(group, table);
        }
        let priority = opts
            .priority
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| match p.strip_prefix('^') {
                Some(name) => PriorityKey {
                    name: name.to_string(),
                    descending: true,
                },
                None => PriorityKey {
                    name: p.clone(),
                    descending: false,
                },
            })
            .collect();
        Ok(FileSet {
            root,
            file_match: opts.file_match,
            regex,
            names,
            priority,
            differentiator: opts.differentiator,
            translation,
            oldest: opts.oldest_duration,
        })
    }

    /// The resolved root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The whole regular expression paths are matched with.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// Walks the directory and returns the logstreams found.
    pub fn scan(&self) -> Scan {
        let mut paths = Vec::new();
        walk(&self.root, &mut paths);
        let now = SystemTime::now();
        let mut scan = Scan::default();
        for path in paths {
            let Some(caps) = self.regex.captures(path.as_os_str().as_bytes()) else {
                continue;
            };
            let meta = match std::fs::metadata(&path) {
                Ok(m) if !m.is_dir() => m,
                _ => continue,
            };
            if let Some(oldest) = self.oldest {
                let fresh = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_none_or(|age| age < oldest);
                if !fresh {
                    continue;
                }
            }
            let mut file = Logfile {
                id: (meta.dev(), meta.ino()),
                path: path.clone(),
                scores: HashMap::new(),
                captures: HashMap::new(),
            };
            for (i, name) in self.names.iter().enumerate() {
                let Some(name) = name else { continue };
                let text = caps
                    .get(i)
                    .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                    .unwrap_or_default();
                file.captures.insert(name.clone(), text);
            }
            // Heka compat: scoring stops at the first failing capture; the file stays.
            for name in self.names.iter().flatten() {
                let text = file.captures.get(name).cloned().unwrap_or_default();
                match score(name, &text, self.translation.get(name)) {
                    Ok(s) => {
                        file.scores.insert(name.clone(), s);
                    }
                    Err(e) => {
                        scan.errors.push(format!("{}: {e}", path.display()));
                        break;
                    }
                }
            }
            let stream = self.stream_name(&file);
            scan.streams.entry(stream).or_default().push(file);
        }
        let mut unsortable = Vec::new();
        for (name, files) in scan.streams.iter_mut() {
            if files.len() > 1 && self.priority.is_empty() {
                let list: Vec<String> =
                    files.iter().map(|f| f.path.display().to_string()).collect();
                scan.unsortable.push(format!(
                    "Found multiple logfiles without Priority to sort on for name: {name}, filematch: {}, files: {list:?}",
                    self.file_match
                ));
                unsortable.push(name.clone());
                continue;
            }
            files.sort_by(|a, b| self.compare(a, b));
        }
        for name in unsortable {
            scan.streams.remove(&name);
        }
        scan
    }

    /// The logstream a file belongs to.
    fn stream_name(&self, file: &Logfile) -> String {
        let mut name = String::new();
        for part in &self.differentiator {
            match file.captures.get(part) {
                Some(text) => name.push_str(text),
                None => name.push_str(part),
            }
        }
        name
    }

    fn compare(&self, a: &Logfile, b: &Logfile) -> std::cmp::Ordering {
        for key in &self.priority {
            let x = a.scores.get(&key.name).copied().unwrap_or(0);
            let y = b.scores.get(&key.name).copied().unwrap_or(0);
            let ord = if key.descending { y.cmp(&x) } else { x.cmp(&y) };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    }
}

/// Resolves the root (when `resolve`) and compiles `^root/file_match$`.
fn compile(
    dir: &Path,
    file_match: &str,
    resolve: bool,
) -> Result<(PathBuf, regex::bytes::Regex, Vec<Option<String>>), FileSetError> {
    if file_match.is_empty() {
        // Heka compat: the text of logstreamer_input.go.
        return Err(FileSetError::new(
            "file_match",
            "`file_match` setting is required.",
        ));
    }
    let root = if resolve {
        std::fs::canonicalize(dir).map_err(|e| {
            FileSetError::new(
                "log_directory",
                format!("log_directory {}: {e}", dir.display()),
            )
        })?
    } else {
        dir.to_path_buf()
    };
    let mut prefix = root.as_os_str().to_string_lossy().into_owned();
    if !prefix.ends_with('/') && !file_match.starts_with('/') {
        prefix.push('/');
    }
    let mut pattern = format!("^{}{file_match}", regex::escape(&prefix));
    if !file_match.ends_with('$') {
        pattern.push('$');
    }
    let regex = heka_matcher::go_regex::compile(&pattern)
        .map_err(|e| FileSetError::new("file_match", format!("file_match {file_match:?}: {e}")))?;
    let names = regex
        .capture_names()
        .map(|n| n.map(str::to_string))
        .collect();
    Ok((root, regex, names))
}

/// Every non-directory entry under `dir`, depth first in name order; symlinked directories
/// are not entered, unreadable directories are skipped (as Go's `filepath.Walk` does here).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t.is_dir())))
        .collect();
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A capture's sort score (Heka's `PopulateMatchParts` for one capture).
fn score(name: &str, text: &str, table: Option<&HashMap<String, i64>>) -> Result<i64, String> {
    let text = if text.is_empty() { "missing" } else { text };
    let lower = text.to_lowercase();
    match name {
        "MonthName" => {
            return month(&lower).ok_or_else(|| format!("Unable to locate month name: {text}"));
        }
        "DayName" => {
            return day(&lower).ok_or_else(|| format!("Unable to locate day name: {text}"));
        }
        _ => {}
    }
    if let Some(table) = table {
        if table.len() > 1 {
            return table
                .get(&lower)
                .copied()
                .ok_or_else(|| format!("Value '{text}' not found in translation map '{name}'."));
        }
        if lower == "missing" {
            return Ok(table.get("missing").copied().unwrap_or(-1));
        }
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // Heka compat: Go's Atoi fails on overflow and the score is then 0.
        return Ok(text.parse().unwrap_or(0));
    }
    Ok(-1)
}

fn month(name: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| *m == name || (name.len() == 3 && m.starts_with(name)))
        .map(|i| i as i64 + 1)
}

fn day(name: &str) -> Option<i64> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    DAYS.iter()
        .position(|d| *d == name || (name.len() == 3 && d.starts_with(name)))
        .map(|i| i as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree shaped like Heka's `logstreamer/testdir/filehandling`: dated folders of rotated
    /// access and error logs (28 and 24 files), made as empty files.
    fn heka_filehandling_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let months: &[(&str, &[&str])] = &[
            ("2010", &["05", "07"]),
            ("2011", &["01", "02", "03"]),
            ("2012", &["12"]),
            ("2013", &["08"]),
        ];
        let mut n = 0;
        for (year, ms) in months {
            for m in *ms {
                let d = dir.path().join(year).join(m);
                std::fs::create_dir_all(&d).expect("mkdir");
                for kind in ["access", "error"] {
                    std::fs::write(d.join(format!("{kind}.log")), b"").expect("write");
                    n += 1;
                    for seq in 1..=3 {
                        std::fs::write(d.join(format!("{kind}.log.{seq}")), b"").expect("write");
                        n += 1;
                    }
                }
            }
        }
        // 7 months x 2 kinds x 4 files = 56; the oldest month has no error log.
        for f in [
            "2010/05/error.log.3",
            "2010/05/error.log.2",
            "2010/05/error.log.1",
        ] {
            std::fs::remove_file(dir.path().join(f)).expect("rm");
            n -= 1;
        }
        std::fs::remove_file(dir.path().join("2010/05/error.log")).expect("rm");
        n -= 1;
        assert_eq!(n, 52);
        dir
    }

    fn opts(dir: &Path) -> FileSetOptions {
        FileSetOptions {
            log_directory: dir.to_path_buf(),
            file_match: r"(?P<Year>\d+)/(?P<Month>\d+)/(?P<Type>\w+)\.log(\.(?P<Seq>\d+))?".into(),
            priority: vec!["Year".into(), "Month".into(), "^Seq".into()],
            differentiator: vec!["Type".into()],
            ..FileSetOptions::default()
        }
    }

    fn rel(dir: &Path, f: &Logfile) -> String {
        let root = std::fs::canonicalize(dir).expect("canonicalize");
        f.path
            .strip_prefix(root)
            .expect("under root")
            .display()
            .to_string()
    }

    #[test]
    fn groups_by_differentiator_and_sorts_by_priority_as_heka() {
        let dir = heka_filehandling_dir();
        let set = FileSet::new(opts(dir.path())).expect("file set");
        let scan = set.scan();
        assert!(scan.errors.is_empty(), "{:?}", scan.errors);
        let names: Vec<_> = scan.streams.keys().cloned().collect();
        assert_eq!(names, ["access", "error"]);
        assert_eq!(scan.streams["access"].len(), 28);
        assert_eq!(scan.streams["error"].len(), 24);
        let access = &scan.streams["access"];
        assert_eq!(rel(dir.path(), &access[0]), "2010/05/access.log.3");
        assert_eq!(rel(dir.path(), &access[1]), "2010/05/access.log.2");
        assert_eq!(rel(dir.path(), &access[3]), "2010/05/access.log");
        assert_eq!(rel(dir.path(), &access[27]), "2013/08/access.log");
        let error = &scan.streams["error"];
        assert_eq!(rel(dir.path(), &error[0]), "2010/07/error.log.3");
        assert_eq!(rel(dir.path(), &error[23]), "2013/08/error.log");
        // The live file has no Seq: it scores -1, and `^Seq` makes it the newest of its month.
        assert_eq!(access[3].scores["Seq"], -1);
    }

    #[test]
    fn differentiator_parts_that_are_not_captures_are_literal() {
        let dir = heka_filehandling_dir();
        let mut o = opts(dir.path());
        o.differentiator = vec!["website-".into(), "Type".into()];
        let scan = FileSet::new(o).expect("file set").scan();
        let names: Vec<_> = scan.streams.keys().cloned().collect();
        assert_eq!(names, ["website-access", "website-error"]);
    }

    #[test]
    fn several_files_without_priority_make_the_stream_unusable() {
        let dir = heka_filehandling_dir();
        let mut o = opts(dir.path());
        o.priority.clear();
        let scan = FileSet::new(o).expect("file set").scan();
        assert!(scan.streams.is_empty());
        assert!(scan.errors.is_empty(), "{:?}", scan.errors);
        assert_eq!(scan.unsortable.len(), 2);
        assert!(
            scan.unsortable[0].starts_with(
                "Found multiple logfiles without Priority to sort on for name: access"
            ),
            "{}",
            scan.unsortable[0]
        );
    }

    #[test]
    fn scores_follow_heka_rules() {
        let missing_only: HashMap<String, i64> = [("missing".to_string(), 9999)].into();
        let full: HashMap<String, i64> = [("a".to_string(), 1), ("b".to_string(), 2)].into();
        assert_eq!(score("Seq", "12", None), Ok(12));
        assert_eq!(score("Seq", "", None), Ok(-1));
        assert_eq!(score("Seq", "x1", None), Ok(-1));
        assert_eq!(score("Seq", "99999999999999999999", None), Ok(0));
        assert_eq!(score("MonthName", "Feb", None), Ok(2));
        assert_eq!(score("MonthName", "SEPTEMBER", None), Ok(9));
        assert_eq!(
            score("MonthName", "", None),
            Err("Unable to locate month name: missing".into())
        );
        assert_eq!(score("DayName", "sun", None), Ok(6));
        assert_eq!(score("DayName", "Monday", None), Ok(0));
        assert_eq!(
            score("DayName", "funday", None),
            Err("Unable to locate day name: funday".into())
        );
        assert_eq!(score("Year", "", Some(&missing_only)), Ok(9999));
        assert_eq!(score("Year", "2013", Some(&missing_only)), Ok(2013));
        assert_eq!(score("K", "B", Some(&full)), Ok(2));
        assert_eq!(
            score("K", "c", Some(&full)),
            Err("Value 'c' not found in translation map 'K'.".into())
        );
    }

    #[test]
    fn option_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut o = opts(dir.path());
        o.file_match.clear();
        assert_eq!(
            FileSet::new(o.clone()).err(),
            Some(FileSetError::new(
                "file_match",
                "`file_match` setting is required."
            ))
        );
        o.file_match = "(".into();
        assert_eq!(
            FileSet::new(o.clone()).err().map(|e| e.option),
            Some("file_match")
        );
        o.file_match = "x".into();
        o.translation
            .insert("Seq".into(), [("Live".to_string(), 1)].into());
        assert_eq!(
            FileSet::new(o.clone()).err(),
            Some(FileSetError::new(
                "translation",
                "A translation map with one entry ('live') must be specifying a 'missing' key."
            ))
        );
        o.translation.clear();
        o.log_directory = dir.path().join("nope");
        assert_eq!(
            FileSet::new(o.clone()).err().map(|e| e.option),
            Some("log_directory")
        );
        assert!(FileSet::check(o).is_ok());
    }

    #[test]
    fn old_files_are_ignored_and_the_root_is_anchored() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.log"), b"x").expect("write");
        std::fs::write(dir.path().join("b.log"), b"x").expect("write");
        std::fs::write(dir.path().join("a.log.bak"), b"x").expect("write");
        let old = std::fs::File::options()
            .write(true)
            .open(dir.path().join("b.log"))
            .expect("open");
        old.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .expect("mtime");
        let set = FileSet::new(FileSetOptions {
            log_directory: dir.path().to_path_buf(),
            file_match: r"(?P<Name>\w+)\.log".into(),
            differentiator: vec!["Name".into()],
            oldest_duration: Some(Duration::from_secs(60)),
            ..FileSetOptions::default()
        })
        .expect("file set");
        let scan = set.scan();
        let names: Vec<_> = scan.streams.keys().cloned().collect();
        assert_eq!(names, ["a"]);
    }
}
