//! WhisperOutput: carbon lines sent to hekad in framed `heka.statmetric` messages over TCP give
//! whisper files byte-identical to those Python's whisper makes for the same archives and the
//! same points in the same order: `whisper-create.py` for the file, then one
//! `whisper-update.py <file> <timestamp>:<value>` per point (Python's `whisper.update`, which
//! is what Heka's Go library did per point).
//!
//! Python's whisper (pinned) is installed by `scripts/setup.sh test` into `target/test-peers/whisper`;
//! without it these tests fail and say so. Values are multiples of 1/4, so sums and averages
//! are exact whichever way Python adds (3.12 changed `sum()`); the unit tests beside the
//! format code compare rounding too, against files made once.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use heka_client::{MessageBuilder, TcpSender};

use crate::support::*;

/// Heka's default archives, `(seconds per point, points)`.
const HEKA_DEFAULT: [(u32, u32); 4] = [(60, 1440), (900, 8), (3600, 168), (43200, 1456)];

/// Python's whisper scripts from `target/test-peers/whisper`.
struct Peers {
    dir: PathBuf,
}

impl Peers {
    fn find() -> Peers {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-peers/whisper");
        assert!(
            dir.join("whisper.py").is_file() && dir.join("bin/whisper-update.py").is_file(),
            "Python's whisper module is not in {}: run scripts/setup.sh test",
            dir.display()
        );
        Peers { dir }
    }

    /// Runs `python3 <args>` with the peers on the module path; returns (success, output).
    fn python(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("python3")
            .env("PYTHONPATH", &self.dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running python3: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn script(&self, name: &str) -> String {
        self.dir.join("bin").join(name).display().to_string()
    }

    /// `whisper-create.py path <secs>:<points>... --xFilesFactor=.. --aggregationMethod=..`.
    fn create(
        &self,
        path: &Path,
        archives: &[(u32, u32)],
        method: &str,
        xff: &str,
    ) -> (bool, String) {
        let script = self.script("whisper-create.py");
        let path = path.display().to_string();
        let specs: Vec<String> = archives.iter().map(|(s, p)| format!("{s}:{p}")).collect();
        let xff = format!("--xFilesFactor={xff}");
        let method = format!("--aggregationMethod={method}");
        let mut args = vec![script.as_str(), path.as_str()];
        args.extend(specs.iter().map(String::as_str));
        args.extend([xff.as_str(), method.as_str()]);
        self.python(&args)
    }

    /// What `whisper.create` writes for `archives` as given, its validation skipped: the
    /// only way to make a file of Heka's default list, which `whisper-create.py` refuses.
    fn create_unvalidated(&self, path: &Path, archives: &[(u32, u32)], method: &str) {
        let code = format!(
            "import whisper\nwhisper.validateArchiveList = lambda a: None\n\
             whisper.create({:?}, {archives:?}, xFilesFactor=0.1, aggregationMethod={method:?})\n",
            path.display().to_string()
        );
        let (ok, out) = self.python(&["-c", &code]);
        assert!(ok, "whisper.create: {out}");
    }

    /// Runs `whisper-update.py <path> <timestamp>:<value>` for each point, in order: the
    /// script itself, each time with that one point (so it calls `whisper.update`), in one
    /// Python process rather than one per point. Returns, per point, whether whisper took it.
    fn update_each(&self, points: &[(PathBuf, u32, String)]) -> Vec<bool> {
        const DRIVER: &str = "import runpy, sys\n\
            script = sys.argv[1]\n\
            for line in sys.stdin.read().splitlines():\n\
            \x20   path, point = line.rsplit(' ', 1)\n\
            \x20   sys.argv = [script, path, point]\n\
            \x20   try:\n\
            \x20       runpy.run_path(script, run_name='__main__')\n\
            \x20       print('ok')\n\
            \x20   except SystemExit as e:\n\
            \x20       print('refused' if 'Timestamp not covered' in str(e) else 'error: %s' % e)\n";
        let input: String = points
            .iter()
            .map(|(p, t, v)| format!("{} {t}:{v}\n", p.display()))
            .collect();
        let mut child = Command::new("python3")
            .env("PYTHONPATH", &self.dir)
            .args(["-c", DRIVER, &self.script("whisper-update.py")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running python3: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "whisper-update: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: Vec<bool> = text
            .lines()
            .map(|l| match l {
                "ok" => true,
                "refused" => false,
                other => panic!("whisper-update: {other}"),
            })
            .collect();
        assert_eq!(results.len(), points.len(), "whisper-update: {text}");
        results
    }
}

/// A carbon line for hekad and, when it is a valid point, the point Python gets.
struct Line {
    text: String,
    point: Option<(String, u32, String)>,
}

fn point(name: &str, value: &str, timestamp: u32) -> Line {
    Line {
        text: format!("{name} {value} {timestamp}"),
        point: Some((name.to_string(), timestamp, value.to_string())),
    }
}

fn bad(text: &str) -> Line {
    Line {
        text: text.to_string(),
        point: None,
    }
}

fn now() -> u32 {
    (heka_message::now_ns() / 1_000_000_000) as u32
}

/// Sends the lines to hekad's TcpInput, `per_message` lines per `heka.statmetric` message.
fn send(port: u16, lines: &[Line], per_message: usize) {
    let mut s = TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for chunk in lines.chunks(per_message) {
        let payload: String = chunk.iter().map(|l| format!("{}\n", l.text)).collect();
        let m = MessageBuilder::new()
            .message_type("heka.statmetric")
            .logger("e2e")
            .payload(payload)
            .build();
        s.send(&m).unwrap();
    }
    s.flush().unwrap();
}

/// The file of metric `name` under `base`.
fn wsp(base: &Path, name: &str) -> PathBuf {
    base.join(format!("{}.wsp", name.replace('.', "/")))
}

/// Applies the valid points of `lines` to the reference files under `reference` (each made
/// first by `create`), with whisper-update, in order; returns how many were refused.
fn apply(peers: &Peers, reference: &Path, lines: &[Line], create: &dyn Fn(&Path)) -> usize {
    let points: Vec<(PathBuf, u32, String)> = lines
        .iter()
        .filter_map(|l| l.point.as_ref())
        .map(|(name, t, v)| (wsp(reference, name), *t, v.clone()))
        .collect();
    for (path, _, _) in &points {
        if !path.exists() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            create(path);
        }
    }
    peers.update_each(&points).iter().filter(|ok| !**ok).count()
}

/// Every `.wsp` file under `dir`, relative to it, sorted.
fn wsp_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.to_string_lossy().ends_with(".wsp") {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Our files and Python's are the same files with the same bytes.
fn assert_same_files(ours: &Path, pythons: &Path) {
    let names = wsp_files(pythons);
    assert_eq!(wsp_files(ours), names, "the same files");
    for name in &names {
        let (a, b) = (
            std::fs::read(ours.join(name)).unwrap(),
            std::fs::read(pythons.join(name)).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{}: size", name.display());
        if let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) {
            panic!(
                "{}: first difference at byte {at}: ours {:02x?}, Python's {:02x?}",
                name.display(),
                &a[at..(at + 12).min(a.len())],
                &b[at..(at + 12).min(b.len())]
            );
        }
    }
}

/// Waits until hekad has written a point into its file for the last line (every earlier line
/// was written before it: one output thread writes in order).
fn wait_written(ours: &Path, pythons: &Path, last: &str) {
    let want = std::fs::read(wsp(pythons, last)).unwrap();
    // The first archive's offset, from the header: a point there means the line is written.
    let first = u32::from_be_bytes(want[16..20].try_into().unwrap()) as usize;
    wait_for(&format!("{last} to be written"), 20, || {
        let got = std::fs::read(wsp(ours, last)).ok()?;
        (got.len() == want.len() && got[first..].iter().any(|&b| b != 0)).then_some(())
    });
}

#[test]
fn whisper_files_match_pythons_for_hekas_default_archives() {
    let peers = Peers::find();
    // Heka's default list: Python's own whisper-create refuses it.
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = peers.create(&dir.path().join("x.wsp"), &HEKA_DEFAULT, "average", "0.1");
    assert!(
        !ok && out.contains("Lower precision archives must cover larger time intervals"),
        "{out}"
    );

    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[WhisperOutput]
message_matcher = "Type == 'heka.statmetric'"
base_path = "{dir}/whisper"
"#,
    );
    let port = h.listening("TcpInput");
    let base = h.path("whisper");
    let reference = h.path("python");

    let now = now();
    let names = [
        "stats.counters.e2e.count",
        "stats.gauges.e2e.level",
        "stats.timers.e2e.upper_90",
    ];
    let mut lines = Vec::new();
    // Minutes of the last three hours, metrics interleaved, with repeats in one minute and a
    // few out of order; they propagate to the quarter-hour, hour and half-day archives.
    for i in 0..40u32 {
        let t = now - 10_800 + i * 251;
        for (k, name) in names.iter().enumerate() {
            let v = format!("{}", f64::from(i * 7 + k as u32 * 13) / 4.0 - 20.0);
            lines.push(point(name, &v, t + k as u32));
        }
        if i % 9 == 4 {
            lines.push(point(names[0], "99.75", t + 10));
            lines.push(point(names[1], "-1.5", t - 4000));
        }
    }
    // Days old: the hour archive, then the half-day one.
    for (k, age) in [2 * 86_400 + 1234, 3 * 86_400 + 18_011, 6 * 86_400]
        .iter()
        .enumerate()
    {
        lines.push(point(names[k], &format!("{}.25", k + 1), now - age));
    }
    // Odd names: empty parts vanish, a trailing dot makes a file named `.wsp`.
    lines.push(point("stats..odd-name_\u{fc}.", "3.5", now - 1000));
    lines.push(point("stats..odd-name_\u{fc}.", "4.5", now - 1000));
    // Outside the retention (2 years), in the future: refused by both.
    lines.push(point(names[0], "1", now - 63_000_000));
    lines.push(point(names[1], "2", now + 3600));
    // Lines that are not points: logged, no file.
    lines.push(bad("stats.bad.value abc 1700000000"));
    lines.push(bad("stats.bad.time 1 -5"));
    lines.push(bad("just two"));
    lines.push(point("e2e.done", "1", now - 600));

    let refused = apply(&peers, &reference, &lines, &|p| {
        peers.create_unvalidated(p, &HEKA_DEFAULT, "average");
    });
    assert_eq!(refused, 2);
    send(port, &lines, 7);
    wait_written(&base, &reference, "e2e.done");
    assert!(h.stop().success(), "{}", h.stderr());

    assert_same_files(&base, &reference);
    assert!(base.join("stats/odd-name_\u{fc}/.wsp").is_file());
    let size = std::fs::metadata(wsp(&base, names[0])).unwrap().len();
    assert_eq!(size, 16 + 4 * 12 + (1440 + 8 + 168 + 1456) * 12);
    let mode = std::fs::metadata(base.join("stats/counters"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "folder_perm's default");
    let log = h.stdout() + &h.stderr();
    for want in [
        "parsing value 'abc'",
        "parsing time: strconv.ParseUint",
        "malformed statmetric line: 'just two'",
        "point is older than the maximum retention period",
        "point is in the future",
    ] {
        assert!(log.contains(want), "{want:?} not logged:\n{log}");
    }
}

#[test]
fn whisper_files_match_pythons_for_a_custom_list_and_existing_files() {
    let peers = Peers::find();
    // Heka's documented example archives, listed out of order (whisper-create sorts them
    // too), with aggregation "last"; and a file made beforehand by whisper-create with
    // archives of its own, which hekad must keep.
    let custom = [(30, 1440), (900, 192), (3600, 168), (43200, 1456)];
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[WhisperOutput]
message_matcher = "Type == 'heka.statmetric'"
base_path = "{dir}/whisper"
default_agg_method = 3
default_archive_info = [[0, 43200, 1456], [0, 30, 1440], [0, 3600, 168], [0, 900, 192]]
folder_perm = "750"
"#,
    );
    let port = h.listening("TcpInput");
    let base = h.path("whisper");
    let reference = h.path("python");
    let own = [(10, 360), (60, 120)];
    for root in [&base, &reference] {
        std::fs::create_dir_all(root.join("pre")).unwrap();
        let (ok, out) = peers.create(&wsp(root, "pre.made"), &own, "max", "0.5");
        assert!(ok, "{out}");
    }
    let create = |p: &Path| {
        let (ok, out) = peers.create(p, &custom, "last", "0.1");
        assert!(ok, "{out}");
    };

    let now = now();
    let mut first = Vec::new();
    for i in 0..30u32 {
        let t = now - 7200 + i * 97;
        first.push(point(
            "app.requests",
            &format!("{}", f64::from(i % 11) * 0.5),
            t,
        ));
        first.push(point(
            "pre.made",
            &format!("{}", f64::from(i % 5) - 2.0),
            now - 1800 + i * 13,
        ));
    }
    first.push(point("e2e.first", "1", now - 100));
    apply(&peers, &reference, &first, &create);
    send(port, &first, 5);
    wait_written(&base, &reference, "e2e.first");
    assert!(h.stop().success(), "{}", h.stderr());

    // A second run opens the files the first one made.
    h.restart();
    let port = h.listening("TcpInput");
    let now = self::now();
    let mut second = Vec::new();
    for i in 0..20u32 {
        let t = now - 3000 + i * 61;
        second.push(point(
            "app.requests",
            &format!("{}", f64::from(i) * 0.25),
            t,
        ));
        second.push(point("pre.made", "7.5", t + 1200));
    }
    second.push(point("e2e.second", "2", now - 100));
    apply(&peers, &reference, &second, &create);
    send(port, &second, 3);
    wait_written(&base, &reference, "e2e.second");
    assert!(h.stop().success(), "{}", h.stderr());

    assert_same_files(&base, &reference);
    let mode = std::fs::metadata(base.join("app"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
}
