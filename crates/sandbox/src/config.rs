//! The options every sandbox plugin takes (Heka's `SandboxConfig`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Limits;

/// Options common to the sandbox plugins.
///
/// ```toml
/// filename = "lua_decoders/nginx_access.lua"   # relative: under share_dir
/// script_type = "lua"                           # the only value
/// module_directory = "/usr/share/heka/lua_modules"  # default <share_dir>/lua_modules; `;`-separated
/// preserve_data = false
/// memory_limit = 8388608       # bytes, 0 = unlimited
/// instruction_limit = 1000000  # per call, 0 = unlimited
/// output_limit = 64512         # bytes, 0 = unlimited
/// timer_event_on_shutdown = false   # SandboxFilter
/// [my_plugin.config]           # read by read_config()
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// `lua` (the only script type).
    pub script_type: String,
    /// The script; a relative path is under `share_dir`.
    pub filename: String,
    /// Where `require` looks for `.lua` modules, `;`-separated.
    pub module_directory: Option<String>,
    /// Keep the script's globals across restarts.
    pub preserve_data: bool,
    /// Bytes; 0 = unlimited.
    pub memory_limit: u64,
    /// VM instructions per call; 0 = unlimited.
    pub instruction_limit: u64,
    /// Bytes of payload buffer; 0 = unlimited.
    pub output_limit: u64,
    /// Accepted for Heka's configs; per-call profiling is not implemented.
    pub profile: bool,
    /// SandboxFilter, SandboxOutput: call `timer_event` once more when hekad stops.
    pub timer_event_on_shutdown: bool,
    /// The table `read_config` reads.
    pub config: Option<toml::Table>,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        let l = Limits::default();
        SandboxConfig {
            script_type: "lua".into(),
            filename: String::new(),
            module_directory: None,
            preserve_data: false,
            memory_limit: l.memory as u64,
            instruction_limit: u64::from(l.instructions),
            output_limit: l.output as u64,
            profile: false,
            timer_event_on_shutdown: false,
            config: None,
        }
    }
}

/// A problem with the options, naming the option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The option at fault.
    pub option: &'static str,
    /// What is wrong.
    pub message: String,
}

impl SandboxConfig {
    /// Checks the options that need no file system: script type, filename, limits.
    pub fn validate(&self) -> Result<(), OptionError> {
        if self.script_type != "lua" {
            return Err(OptionError {
                option: "script_type",
                message: format!("unsupported script type: {}", self.script_type),
            });
        }
        if self.filename.is_empty() {
            return Err(OptionError {
                option: "filename",
                message: "a sandbox needs a script: set filename".into(),
            });
        }
        if self.instruction_limit > u64::from(u32::MAX) {
            return Err(OptionError {
                option: "instruction_limit",
                message: format!("at most {}", u32::MAX),
            });
        }
        Ok(())
    }

    /// The limits, as configured.
    pub fn limits(&self) -> Limits {
        Limits {
            memory: usize::try_from(self.memory_limit).unwrap_or(usize::MAX),
            instructions: u32::try_from(self.instruction_limit).unwrap_or(u32::MAX),
            output: usize::try_from(self.output_limit).unwrap_or(usize::MAX),
        }
    }

    /// The script's path: `filename`, under `share_dir` when relative.
    pub fn script_path(&self, share_dir: &Path) -> PathBuf {
        let p = Path::new(&self.filename);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            share_dir.join(p)
        }
    }

    /// The module directories: `module_directory` split on `;`, by default
    /// `<share_dir>/lua_modules`.
    pub fn module_dirs(&self, share_dir: &Path) -> Vec<PathBuf> {
        match &self.module_directory {
            Some(dirs) => dirs
                .split(';')
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .collect(),
            None => vec![share_dir.join("lua_modules")],
        }
    }
}

/// The preservation file of plugin `name`: `<base_dir>/sandbox_preservation/<name>.data`.
pub fn preservation_path(base_dir: &Path, name: &str) -> PathBuf {
    base_dir
        .join("sandbox_preservation")
        .join(format!("{name}.data"))
}

/// The settings of a sandbox plugin built from `ctx`: its options parsed and checked, the
/// script and module paths resolved against `share_dir`, and with `preserve_data` the file
/// `<base_dir>/sandbox_preservation/<preserve_name>.data` (never while only checking the
/// config). Also returns the options, for the plugin's own ones.
pub fn build_settings(
    ctx: &heka_pipeline::registry::BuildContext<'_>,
    kind: crate::Kind,
    preserve_name: &str,
) -> Result<(crate::Settings, SandboxConfig), heka_pipeline::config::ConfigError> {
    let cfg: SandboxConfig = ctx.options.parse()?;
    cfg.validate()
        .map_err(|e| ctx.error(Some(e.option), e.message))?;
    let preservation = (cfg.preserve_data && !ctx.check_only)
        .then(|| preservation_path(&ctx.globals.base_dir, preserve_name));
    let settings = crate::Settings {
        kind,
        script: cfg.script_path(&ctx.globals.share_dir),
        module_dirs: cfg.module_dirs(&ctx.globals.share_dir),
        limits: cfg.limits(),
        config: cfg.config.clone().unwrap_or_default(),
        preservation,
        parse_time: None,
    };
    Ok((settings, cfg))
}

/// Heka's filter preservation name: every character other than ASCII letters, digits and `_`
/// becomes `_`.
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
