//! `hekad -test` over the project's corpus of configs (`testdata/configs/`), written in the
//! shapes Heka users' published configs take. The first line of each file says what must
//! happen: `# expect: ok`, `# expect: unbuilt A, B` or `# expect: error <text>`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a corpus file expects.
#[derive(Debug)]
enum Expect {
    Ok,
    Unbuilt(BTreeSet<String>),
    Error(String),
}

fn expectation(path: &Path, text: &str) -> Expect {
    let first = text.lines().next().unwrap_or_default();
    let rule = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be '# expect: …'", path.display()));
    if rule == "ok" {
        Expect::Ok
    } else if let Some(types) = rule.strip_prefix("unbuilt ") {
        Expect::Unbuilt(types.split(", ").map(str::to_string).collect())
    } else if let Some(text) = rule.strip_prefix("error ") {
        Expect::Error(text.to_string())
    } else {
        panic!("{}: unknown expectation '{rule}'", path.display())
    }
}

/// Error lines that only follow from an unbuilt type: a section naming a plugin that failed.
fn follows_from_unbuilt(line: &str) -> bool {
    line.contains("No registered plugin type: ")
        || line.contains("errors loading plugins")
        || (line.contains("no registered '") && line.contains("' decoder"))
        || line.contains("can't create encoder")
        || line.contains("specifies undefined splitter")
}

#[test]
fn every_corpus_config_gets_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 14, "{files:?}");
    let mut seen = [0; 3];
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let expect = expectation(path, &text);
        let out = Command::new(env!("CARGO_BIN_EXE_hekad"))
            .arg(format!("-config={}", path.display()))
            .args(["-test", "-q"])
            .env("HEKA_PORT", "5999")
            .env("HEKA_MAXPROCS", "2")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let name = path.file_name().unwrap().to_string_lossy();
        match &expect {
            Expect::Ok => {
                seen[0] += 1;
                assert!(out.status.success(), "{name}: {err}");
                assert_eq!(err, "", "{name}");
            }
            Expect::Unbuilt(types) => {
                seen[1] += 1;
                assert_eq!(out.status.code(), Some(1), "{name}: {err}");
                let named: BTreeSet<String> = err
                    .lines()
                    .filter_map(|l| l.split("No registered plugin type: ").nth(1))
                    .filter_map(|rest| rest.split_whitespace().next())
                    .map(str::to_string)
                    .collect();
                assert_eq!(&named, types, "{name}: {err}");
                for line in err.lines() {
                    assert!(follows_from_unbuilt(line), "{name}: another cause: {line}");
                }
            }
            Expect::Error(text) => {
                seen[2] += 1;
                assert_eq!(out.status.code(), Some(1), "{name}: {err}");
                assert!(
                    err.contains(text.as_str()),
                    "{name}: want '{text}' in: {err}"
                );
                assert!(
                    !err.contains("No registered plugin type"),
                    "{name}: refused for a type, not for what it tests: {err}"
                );
            }
        }
    }
    // Every kind of verdict is exercised.
    assert!(seen.iter().all(|n| *n > 0), "{seen:?}");
}
