//! Test helpers for the native modules: a filter sandbox running a script in a temporary
//! directory, driven through `timer_event`.

use std::path::PathBuf;

use crate::{InjectBudget, Injection, Kind, Limits, Sandbox, Settings};

/// A temporary directory holding a script (and its preservation file).
pub(crate) struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A filter's settings for `script`, with Heka's default limits and no preservation.
    pub(crate) fn settings(&self, script: &str) -> Settings {
        let path = self.path("script.lua");
        std::fs::write(&path, script).unwrap();
        Settings {
            kind: Kind::Filter,
            script: path,
            module_dirs: vec![self.path("modules")],
            limits: Limits::default(),
            config: toml::Table::new(),
            preservation: None,
            parse_time: None,
        }
    }

    /// Starts `script`, which must load.
    pub(crate) fn start(&self, script: &str) -> Sandbox {
        Sandbox::start(self.settings(script)).unwrap()
    }
}

/// Calls `timer_event(ns)` and returns the payloads it injected, or the termination error.
pub(crate) fn tick(sb: &mut Sandbox, ns: i64) -> Result<Vec<String>, String> {
    let injected = sb
        .timer_event(ns, InjectBudget::Unlimited)
        .map_err(|e| e.0)?;
    Ok(injected
        .into_iter()
        .filter_map(|i| match i {
            Injection::Payload { payload, .. } => {
                Some(String::from_utf8_lossy(&payload).into_owned())
            }
            Injection::Message { .. } | Injection::Raw(_) => None,
        })
        .collect())
}

/// Runs `body` as the whole of a `timer_event` (with `string`, `math` and the module
/// required) and returns its payloads or the error.
pub(crate) fn run(module: &str, body: &str) -> Result<Vec<String>, String> {
    let f = Fixture::new();
    let script = format!(
        "require 'string'\nrequire 'math'\nrequire '{module}'\nfunction timer_event(ns)\n{body}\nend\n"
    );
    let mut sb = f.start(&script);
    tick(&mut sb, 0)
}

/// Runs `body` and returns the error it ended with, without the `timer_event() ` prefix and
/// the script's path (so `script.lua:N: message`).
pub(crate) fn run_error(module: &str, body: &str) -> String {
    let e = match run(module, body) {
        Ok(p) => panic!("no error; payloads {p:?}"),
        Err(e) => e,
    };
    let e = e.strip_prefix("timer_event() ").unwrap_or(&e).to_string();
    match e.find("script.lua:") {
        Some(i) => e[i..].to_string(),
        None => e,
    }
}

/// Starts `script` with preservation to a file in `f`, runs `timer_event(ns)` for each of
/// `before`, stops (preserving), starts again, and runs `timer_event(ns)` for each of `after`.
/// Returns every payload of both runs and the preservation file's text.
pub(crate) fn restart(
    f: &Fixture,
    script: &str,
    before: &[i64],
    after: &[i64],
) -> (Vec<String>, Vec<u8>) {
    let data = f.path("preserved.data");
    let settings = || {
        let mut s = f.settings(script);
        s.preservation = Some(data.clone());
        s
    };
    let mut out = Vec::new();
    let mut sb = Sandbox::start(settings()).unwrap();
    for ns in before {
        out.extend(tick(&mut sb, *ns).unwrap());
    }
    sb.stop().unwrap();
    let text = std::fs::read(&data).unwrap();
    let mut sb = Sandbox::start(settings()).unwrap();
    for ns in after {
        out.extend(tick(&mut sb, *ns).unwrap());
    }
    (out, text)
}
