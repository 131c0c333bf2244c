//! SandboxManagerFilter: loads and unloads SandboxFilters while hekad runs, on signed control
//! messages (what `heka-sbmgr` sends).
//!
//! ```toml
//! [OpsSandboxManager]
//! type = "SandboxManagerFilter"
//! message_signer = "ops"
//! message_matcher = "Type == 'heka.control.sandbox'"   # the default
//! max_filters = 100                 # default 0: nothing can be loaded
//! # working_directory = "sbxmgrs"   # relative: under base_dir
//! # module_directory = "/usr/share/heka/lua_modules"   # for every loaded filter
//! # memory_limit = 8388608          # caps of every loaded filter (0 = no cap)
//! # instruction_limit = 1000000
//! # output_limit = 64512
//! ```
//!
//! A control message (Type `heka.control.sandbox`) must carry a signer verified by the input
//! (`[<input>.signer.<name>_<version>]`) and a timestamp within 5 s of now:
//!
//! * `Fields[action] = "load"`: `Fields[config]` is a TOML text whose first section (by name)
//!   is a `SandboxFilter`, and the Payload is its Lua script. The filter runs as
//!   `<manager>-<section>` (both with non-word characters as `_`) with its own runner,
//!   matcher and ticker, like a configured SandboxFilter; its script and the TOML text are kept
//!   in the working directory as `<name>.lua` / `<name>.toml`, and loaded again when hekad
//!   starts. Its `filename` and `module_directory` are the manager's, its limits are at most
//!   the manager's, and `can_exit` is always true (a loaded filter that stops never stops
//!   hekad). Loading more than `max_filters` is refused.
//! * `Fields[action] = "unload"`: `Fields[name]` is the section name; the filter stops and its
//!   files are removed.
//!
//! A refused or failed load is logged and reported as a `heka.sandbox-terminated` message
//! (Logger `hekad`, `Fields[plugin]` the manager's name, Payload the error); a loaded filter
//! that terminates is reported as any sandbox is.

use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use heka_message::{Field, FieldValue};
use heka_pipeline::config::{ConfigError, Section, load_section, load_sections};
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{Filter, FilterContext, ProcessError};
use heka_pipeline::registry::{BuildContext, FilterSpec, Ticker};
use heka_pipeline::stats::{ReportFields, StatValue};
use heka_sandbox::Limits;
use heka_sandbox::config::sanitize_name;
use serde::Deserialize;

/// Control messages further than this from now are discarded (Heka: 5 s).
const MAX_SKEW_NS: i64 = 5_000_000_000;

/// The manager's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ManagerConfig {
    /// How many loaded filters may run at once.
    max_filters: usize,
    /// Where scripts and configs are kept; relative: under `base_dir`.
    working_directory: String,
    /// `module_directory` of every loaded filter.
    module_directory: Option<String>,
    /// Caps of the loaded filters' limits; 0 = no cap.
    memory_limit: u64,
    instruction_limit: u64,
    output_limit: u64,
}

impl Default for ManagerConfig {
    fn default() -> ManagerConfig {
        let l = Limits::default();
        ManagerConfig {
            max_filters: 0,
            working_directory: "sbxmgrs".into(),
            module_directory: None,
            memory_limit: l.memory as u64,
            instruction_limit: u64::from(l.instructions),
            output_limit: l.output as u64,
        }
    }
}

/// The filter.
struct SandboxManager {
    cfg: ManagerConfig,
    dir: PathBuf,
    stats: Arc<ManagerStats>,
}

/// `<manager>-<filter>`, each part with non-word characters as `_` (Heka's `getSandboxName`).
fn sandbox_name(manager: &str, filter: &str) -> String {
    format!("{}-{}", sanitize_name(manager), sanitize_name(filter))
}

/// The string value of field `name`, if it has one.
fn string_field<'a>(pack: &'a Pack, name: &str) -> Option<&'a [u8]> {
    match pack.message().field_value(name.as_bytes()) {
        Some(Some(FieldValue::String(s) | FieldValue::Bytes(s))) => Some(s),
        _ => None,
    }
}

/// `requested`, capped at `cap` (0 = no cap). A missing or unlimited (0) request gets the cap;
/// a value that is not a number is left for the filter to refuse.
fn capped(requested: Option<&toml::Value>, cap: u64) -> Option<toml::Value> {
    if cap == 0 {
        return requested.cloned();
    }
    let cap_value = toml::Value::Integer(i64::try_from(cap).unwrap_or(i64::MAX));
    match requested {
        None => Some(cap_value),
        Some(toml::Value::Integer(r)) if *r > 0 && (*r as u64) <= cap => requested.cloned(),
        Some(toml::Value::Integer(_)) => Some(cap_value),
        Some(other) => Some(other.clone()),
    }
}

/// The manager's report fields (Heka's): the filters of this manager that run, and the
/// control messages it got.
#[derive(Debug, Default)]
struct ManagerStats {
    running_filters: AtomicU64,
    process_message_count: AtomicU64,
}

impl ReportFields for ManagerStats {
    fn fields(&self, out: &mut Vec<(&'static str, StatValue)>) {
        let load = |a: &AtomicU64| StatValue::Number(a.load(Ordering::Relaxed));
        out.push(("RunningFilters", load(&self.running_filters)));
        out.push(("ProcessMessageCount", load(&self.process_message_count)));
    }
}

impl SandboxManager {
    /// Stores how many of this manager's filters run, for the report.
    fn note_running(&self, ctx: &FilterContext<'_>) {
        self.stats
            .running_filters
            .store(Self::running(ctx) as u64, Ordering::Relaxed);
    }

    /// The prefix of this manager's filters (and of their files).
    fn prefix(ctx: &FilterContext<'_>) -> String {
        format!("{}-", sanitize_name(ctx.name()))
    }

    /// How many of this manager's filters run.
    fn running(ctx: &FilterContext<'_>) -> usize {
        let prefix = Self::prefix(ctx);
        ctx.filters()
            .running()
            .iter()
            .filter(|n| n.starts_with(&prefix))
            .count()
    }

    fn file(&self, name: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{name}.{ext}"))
    }

    fn remove_files(&self, name: &str) {
        for ext in ["lua", "toml"] {
            let f = self.file(name, ext);
            if let Err(e) = std::fs::remove_file(&f)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::error!("cannot remove {}: {e}", f.display());
            }
        }
    }

    /// `section` as it runs under this manager: named `name`, its script in the working
    /// directory, the manager's module directory and limits.
    fn effective(&self, section: &Section, name: &str) -> Result<Section, String> {
        if section.type_name != "SandboxFilter" {
            return Err(format!(
                "Plugin must be a SandboxFilter, received {}",
                section.type_name
            ));
        }
        let mut options = section.options().clone();
        options.insert(
            "type".into(),
            toml::Value::String(section.type_name.clone()),
        );
        // Whatever the loaded config says, a loaded filter that stops never stops hekad.
        options.insert("can_exit".into(), toml::Value::Boolean(true));
        let script = self.file(name, "lua");
        options.insert(
            "filename".into(),
            toml::Value::String(script.to_string_lossy().into_owned()),
        );
        options.remove("module_directory");
        if let Some(m) = &self.cfg.module_directory {
            options.insert("module_directory".into(), toml::Value::String(m.clone()));
        }
        for (key, cap) in [
            ("memory_limit", self.cfg.memory_limit),
            ("instruction_limit", self.cfg.instruction_limit),
            ("output_limit", self.cfg.output_limit),
        ] {
            if let Some(v) = capped(options.get(key), cap) {
                options.insert(key.into(), v);
            }
        }
        let mut root = toml::Table::new();
        root.insert(name.to_string(), toml::Value::Table(options));
        let text = toml::to_string(&root).map_err(|e| e.to_string())?;
        let file = self.file(name, "toml");
        match load_section(&text, &file, name) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(format!("{name}: no section")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Starts `section` as `name`.
    fn run_filter(
        &self,
        ctx: &FilterContext<'_>,
        section: &Section,
        name: &str,
    ) -> Result<(), String> {
        let s = self.effective(section, name)?;
        ctx.filters().start(&s).map_err(|e| e.to_string())
    }

    /// `action = "load"`.
    fn load(&self, pack: &Pack, ctx: &mut FilterContext<'_>) -> Result<(), String> {
        let config = string_field(pack, "config")
            .ok_or("loadSandbox failed: the message has no config field")?;
        let config = std::str::from_utf8(config)
            .map_err(|_| "loadSandbox failed: the config is not UTF-8".to_string())?;
        let sections = load_sections(config, Path::new("<control message>"))
            .map_err(|e| format!("loadSandbox failed: {e}"))?;
        let section = sections
            .first()
            .ok_or("loadSandbox failed: the config has no section")?;
        let name = sandbox_name(ctx.name(), &section.name);
        if ctx.filters().running().contains(&name) {
            return Err(format!("loadSandbox failed: {name} is already running"));
        }
        tracing::info!(filter = %ctx.name(), "Loading: {name}");
        let payload = pack.message().payload_bytes();
        write_private(&self.file(&name, "toml"), config.as_bytes())
            .and_then(|()| write_private(&self.file(&name, "lua"), payload))
            .map_err(|e| {
                self.remove_files(&name);
                format!("loadSandbox failed: {e}")
            })?;
        self.run_filter(ctx, section, &name).map_err(|e| {
            self.remove_files(&name);
            format!("loadSandbox failed: {e}")
        })
    }

    /// `action = "unload"`.
    fn unload(&self, pack: &Pack, ctx: &mut FilterContext<'_>) -> Result<(), String> {
        let name = string_field(pack, "name").ok_or("unload: the message has no name field")?;
        let name = sandbox_name(ctx.name(), &String::from_utf8_lossy(name));
        let stopped = ctx.filters().stop(&name);
        // A filter that terminated on its own is gone already; its files still go, so that it
        // does not come back at the next start.
        let had_files = self.file(&name, "toml").exists();
        self.remove_files(&name);
        if stopped || had_files {
            tracing::info!(filter = %ctx.name(), "Unloaded: {name}");
            Ok(())
        } else {
            Err(format!("unload: {name} is not loaded"))
        }
    }

    /// Reports a failed load as Heka did: a `heka.sandbox-terminated` message naming the
    /// manager.
    fn report(ctx: &mut FilterContext<'_>, why: &str) {
        let mut m = ctx.new_message();
        m.set_type("heka.sandbox-terminated");
        m.set_logger("hekad");
        m.set_payload(why.to_string());
        m.add_field(Field::new_string("plugin", ctx.name().to_string()));
        if let Err(e) = ctx.inject(m) {
            tracing::error!(filter = %ctx.name(), "cannot report the failed load: {e}");
        }
    }

    /// Starts the filters saved in the working directory (those of this manager).
    fn restore(&self, ctx: &mut FilterContext<'_>) {
        let prefix = Self::prefix(ctx);
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(filter = %ctx.name(), "restoreSandboxes failed: {}: {e}", self.dir.display());
                return;
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|f| f.strip_suffix(".toml").map(str::to_string))
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort_unstable();
        let running = ctx.filters().running();
        for name in names {
            if running.contains(&name) {
                continue;
            }
            tracing::info!(filter = %ctx.name(), "Loading: {name}");
            let file = self.file(&name, "toml");
            let restored = std::fs::read_to_string(&file)
                .map_err(|e| format!("{}: {e}", file.display()))
                .and_then(|text| load_sections(&text, &file).map_err(|e| e.to_string()))
                .and_then(|sections| {
                    let s = sections.first().ok_or("the config has no section")?;
                    self.run_filter(ctx, s, &name)
                });
            if let Err(e) = restored {
                let why = format!("restoreSandboxes failed: {name}: {e}");
                tracing::error!(filter = %ctx.name(), "{why}");
                self.remove_files(&name);
                Self::report(ctx, &why);
            }
        }
    }
}

/// Writes `data` to `path`, readable by hekad's user only.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    f.write_all(data)
}

impl Filter for SandboxManager {
    fn start(&mut self, ctx: &mut FilterContext<'_>) {
        self.restore(ctx);
        self.note_running(ctx);
    }

    fn process_message(
        &mut self,
        pack: &Pack,
        ctx: &mut FilterContext<'_>,
    ) -> Result<(), ProcessError> {
        self.stats
            .process_message_count
            .fetch_add(1, Ordering::Relaxed);
        let result = self.control(pack, ctx);
        self.note_running(ctx);
        result
    }
}

impl SandboxManager {
    /// Carries out one control message.
    fn control(&self, pack: &Pack, ctx: &mut FilterContext<'_>) -> Result<(), ProcessError> {
        // Heka compat: Heka accepted unsigned control messages when the manager had no
        // `message_signer`; we never do.
        if pack.signer.is_none() {
            return Err(ProcessError::Drop(
                "Discarded control message: it is not signed".into(),
            ));
        }
        let delta = heka_message::now_ns().saturating_sub(pack.message().timestamp);
        if delta.abs() >= MAX_SKEW_NS {
            return Err(ProcessError::Drop(format!(
                "Discarded control message: {} seconds skew",
                delta / 1_000_000_000
            )));
        }
        let result = match string_field(pack, "action") {
            Some(b"load") if Self::running(ctx) >= self.cfg.max_filters => Err(format!(
                "{} attempted to load more than {} filters",
                ctx.name(),
                self.cfg.max_filters
            )),
            Some(b"load") => self.load(pack, ctx).inspect_err(|e| Self::report(ctx, e)),
            Some(b"unload") => self.unload(pack, ctx),
            Some(other) => Err(format!(
                "Invalid action: {}",
                String::from_utf8_lossy(other)
            )),
            None => Err("the control message has no action field".into()),
        };
        result.map_err(ProcessError::Drop)
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, ConfigError> {
    let cfg: ManagerConfig = ctx.options.parse()?;
    if cfg.instruction_limit > u64::from(u32::MAX) {
        return Err(ctx.error(Some("instruction_limit"), format!("at most {}", u32::MAX)));
    }
    let dir = ctx.globals.base_dir.join(&cfg.working_directory);
    if !ctx.check_only {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| ctx.error(Some("working_directory"), format!("{}: {e}", dir.display())))?;
    }
    let stats = ctx.stats.publish(ManagerStats::default);
    Ok(Box::new(SandboxManager { cfg, dir, stats }))
}

pub(super) const SPEC: FilterSpec = FilterSpec {
    type_name: "SandboxManagerFilter",
    summary: "Loads and unloads SandboxFilters at run time on signed control messages.",
    default_matcher: Some("Type == 'heka.control.sandbox'"),
    ticker: Ticker::Optional,
    can_exit: false,
    build,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(cfg: ManagerConfig) -> SandboxManager {
        SandboxManager {
            cfg,
            dir: PathBuf::from("/var/cache/hekad/sbxmgrs"),
            stats: Arc::default(),
        }
    }

    fn section(text: &str) -> Section {
        load_sections(text, Path::new("t.toml")).unwrap().remove(0)
    }

    #[test]
    fn names_are_the_manager_and_the_section_with_non_word_characters_as_underscores() {
        assert_eq!(sandbox_name("Ops", "Counter"), "Ops-Counter");
        assert_eq!(sandbox_name("TCP:5565 mgr", "a.b-c"), "TCP_5565_mgr-a_b_c");
    }

    #[test]
    fn limits_are_capped_by_the_managers() {
        let int = toml::Value::Integer;
        assert_eq!(capped(None, 100), Some(int(100)));
        assert_eq!(capped(Some(&int(50)), 100), Some(int(50)));
        assert_eq!(capped(Some(&int(500)), 100), Some(int(100)));
        assert_eq!(capped(Some(&int(0)), 100), Some(int(100)));
        assert_eq!(capped(Some(&int(500)), 0), Some(int(500)));
        assert_eq!(capped(None, 0), None);
        let text = toml::Value::String("x".into());
        assert_eq!(capped(Some(&text), 100), Some(text.clone()));
    }

    #[test]
    fn a_loaded_section_runs_under_the_managers_name_script_modules_and_limits() {
        let m = manager(ManagerConfig {
            module_directory: Some("/opt/mods".into()),
            memory_limit: 1_000_000,
            instruction_limit: 5000,
            output_limit: 0,
            ..ManagerConfig::default()
        });
        let s = section(
            r#"
[Counter]
type = "SandboxFilter"
message_matcher = "Type == 'x'"
filename = "/etc/passwd"
module_directory = "/elsewhere"
memory_limit = 2000000
instruction_limit = 100
output_limit = 99999999
ticker_interval = 1
can_exit = false
[Counter.config]
rows = 3
"#,
        );
        let e = m.effective(&s, "Mgr-Counter").unwrap();
        assert_eq!(e.name, "Mgr-Counter");
        assert_eq!(e.type_name, "SandboxFilter");
        let get = |k: &str| e.get(k).cloned().unwrap();
        assert_eq!(
            get("filename").as_str(),
            Some("/var/cache/hekad/sbxmgrs/Mgr-Counter.lua")
        );
        assert_eq!(get("module_directory").as_str(), Some("/opt/mods"));
        assert_eq!(get("memory_limit").as_integer(), Some(1_000_000));
        assert_eq!(get("instruction_limit").as_integer(), Some(100));
        assert_eq!(get("output_limit").as_integer(), Some(99_999_999));
        assert_eq!(get("ticker_interval").as_integer(), Some(1));
        assert_eq!(get("message_matcher").as_str(), Some("Type == 'x'"));
        assert_eq!(get("can_exit").as_bool(), Some(true));
        assert_eq!(
            get("config").get("rows").and_then(toml::Value::as_integer),
            Some(3)
        );
    }

    #[test]
    fn only_sandbox_filters_are_loaded() {
        let m = manager(ManagerConfig::default());
        let s = section("[x]\ntype = \"CounterFilter\"\n");
        assert_eq!(
            m.effective(&s, "M-x").unwrap_err(),
            "Plugin must be a SandboxFilter, received CounterFilter"
        );
    }
}
