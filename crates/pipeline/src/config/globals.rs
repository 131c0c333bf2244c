//! The `[hekad]` table: process-wide settings (spec §4.4; cmd/hekad/config.go
//! `HekadConfig`, cmd/hekad/main.go).
//!
//! Decoded strictly: an unknown key is an error, as in Heka ("Can't unmarshal
//! config"). Keys are matched case-insensitively, like plugin options.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::error::{ConfigError, ErrorKind};
use super::table::TableRef;

/// Heka's global settings with their defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Globals {
    /// Go's GOMAXPROCS; here the size of the worker pool (informational).
    /// Default 1.
    pub maxprocs: usize,
    /// Packs in the input pool and, separately, in the inject pool.
    /// Default 100.
    pub poolsize: usize,
    /// Capacity of the router, match-runner, plugin and decoder channels.
    /// Default 30.
    pub plugin_chansize: usize,
    /// Write a CPU profile to this file (`None` for `""`, the default).
    pub cpuprof: Option<PathBuf>,
    /// Write a heap profile to this file at exit (`None` for `""`).
    pub memprof: Option<PathBuf>,
    /// Maximum re-injection depth of a message. Default 4; `0` becomes 1.
    pub max_message_loops: u32,
    /// Messages a sandbox filter may inject per `process_message` call.
    /// Default 1.
    pub max_process_inject: u32,
    /// Average `process_message` time above which a dynamic sandbox is killed
    /// under back-pressure. Given in integer nanoseconds; default 100 µs.
    pub max_process_duration: Duration,
    /// Messages a sandbox may inject per `timer_event` call. Default 10.
    pub max_timer_inject: u32,
    /// Idle time after which an unrecycled pack is reported as leaked.
    /// A Go duration string; default "2m".
    pub max_pack_idle: Duration,
    /// Writable state directory. Default `/var/cache/hekad`.
    pub base_dir: PathBuf,
    /// Read-only resources directory. Default `/usr/share/heka`.
    pub share_dir: PathBuf,
    /// Sampling rate of timing statistics; must be > 0. Default 1000.
    pub sample_denominator: u64,
    /// Write the process id to this file (`None` for `""`, the default).
    pub pid_file: Option<PathBuf>,
    /// Hostname stamped on messages Heka generates. Default: the OS hostname.
    pub hostname: String,
    /// Maximum message size in bytes. Default 65536; `0` means the default;
    /// 1..=1024 is an error.
    pub max_message_size: u32,
    /// Go log prefix flags (1 date, 2 time, 4 microseconds, 8 long file, 16
    /// short file, 32 UTC). Default 3.
    pub log_flags: u32,
    /// Start-up waits for a buffered plugin's queue to drain below 90% of
    /// its maximum. Default 10.
    pub full_buffer_max_retries: u32,
}

impl Globals {
    /// Heka's default `max_message_size` (64 KiB).
    pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 64 * 1024;

    /// Decodes a `[hekad]` table over the defaults.
    pub(crate) fn from_table(table: &TableRef) -> Result<Globals, ConfigError> {
        let raw: RawGlobals = table
            .deserialize(|_| true)
            .map_err(|e| super::legacy::with_removed_hint(e, "hekad"))?;
        let mut g = Globals::default();
        let invalid = |key: &str, message: &str| {
            table.error(Some(key), ErrorKind::Invalid(message.to_owned()))
        };
        if let Some(v) = raw.maxprocs {
            g.maxprocs = v;
        }
        if let Some(v) = raw.poolsize {
            g.poolsize = v;
        }
        if let Some(v) = raw.plugin_chansize {
            g.plugin_chansize = v;
        }
        if let Some(v) = raw.cpuprof {
            g.cpuprof = non_empty_path(v);
        }
        if let Some(v) = raw.memprof {
            g.memprof = non_empty_path(v);
        }
        if let Some(v) = raw.max_message_loops {
            // Heka compat (cmd/hekad/main.go): 0 is coerced to 1.
            g.max_message_loops = v.max(1);
        }
        if let Some(v) = raw.max_process_inject {
            g.max_process_inject = v;
        }
        if let Some(v) = raw.max_process_duration {
            g.max_process_duration = Duration::from_nanos(v);
        }
        if let Some(v) = raw.max_timer_inject {
            g.max_timer_inject = v;
        }
        if let Some(v) = raw.max_pack_idle {
            g.max_pack_idle = v;
        }
        if let Some(v) = raw.base_dir {
            g.base_dir = PathBuf::from(v);
        }
        if let Some(v) = raw.share_dir {
            g.share_dir = PathBuf::from(v);
        }
        if let Some(v) = raw.sample_denominator {
            g.sample_denominator = u64::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| invalid("sample_denominator", "value must be greater than 0"))?;
        }
        if let Some(v) = raw.pid_file {
            g.pid_file = non_empty_path(v);
        }
        if let Some(v) = raw.hostname {
            // Heka compat: an explicit value wins, even "".
            g.hostname = v;
        }
        if let Some(v) = raw.max_message_size {
            g.max_message_size = match v {
                0 => Self::DEFAULT_MAX_MESSAGE_SIZE,
                1..=1024 => return Err(invalid("max_message_size", "must be greater than 1024")),
                v => v,
            };
        }
        if let Some(v) = raw.log_flags {
            g.log_flags = v;
        }
        if let Some(v) = raw.full_buffer_max_retries {
            g.full_buffer_max_retries = v;
        }
        Ok(g)
    }
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            maxprocs: 1,
            poolsize: 100,
            // Heka compat: the library default is 50, hekad overrides it.
            plugin_chansize: 30,
            cpuprof: None,
            memprof: None,
            max_message_loops: 4,
            max_process_inject: 1,
            max_process_duration: Duration::from_nanos(100_000),
            max_timer_inject: 10,
            max_pack_idle: Duration::from_secs(120),
            base_dir: PathBuf::from("/var/cache/hekad"),
            share_dir: PathBuf::from("/usr/share/heka"),
            sample_denominator: 1000,
            pid_file: None,
            hostname: os_hostname(),
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            log_flags: 3,
            full_buffer_max_retries: 10,
        }
    }
}

/// The `[hekad]` keys as written; `None` = absent.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawGlobals {
    maxprocs: Option<usize>,
    poolsize: Option<usize>,
    plugin_chansize: Option<usize>,
    cpuprof: Option<String>,
    memprof: Option<String>,
    max_message_loops: Option<u32>,
    max_process_inject: Option<u32>,
    max_process_duration: Option<u64>,
    max_timer_inject: Option<u32>,
    #[serde(deserialize_with = "some_duration")]
    max_pack_idle: Option<Duration>,
    base_dir: Option<String>,
    share_dir: Option<String>,
    sample_denominator: Option<i64>,
    pid_file: Option<String>,
    hostname: Option<String>,
    max_message_size: Option<u32>,
    log_flags: Option<u32>,
    full_buffer_max_retries: Option<u32>,
}

fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    super::duration::deserialize(d).map(Some)
}

fn non_empty_path(text: String) -> Option<PathBuf> {
    (!text.is_empty()).then(|| PathBuf::from(text))
}

/// The machine's hostname, read the way Go's `os.Hostname` does on Linux
/// (`/proc/sys/kernel/hostname`), falling back to `/etc/hostname`, `$HOSTNAME`
/// and finally "localhost".
pub(crate) fn os_hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{ErrorKind, Position, load_str};
    use super::*;

    fn globals(text: &str) -> Result<Globals, ConfigError> {
        load_str(text, Path::new("g.toml")).map(|c| c.globals)
    }

    #[test]
    fn defaults_without_hekad_table() {
        let g = globals("").unwrap();
        assert_eq!(g, Globals::default());
        assert_eq!(g.maxprocs, 1);
        assert_eq!(g.poolsize, 100);
        assert_eq!(g.plugin_chansize, 30);
        assert_eq!(g.cpuprof, None);
        assert_eq!(g.memprof, None);
        assert_eq!(g.max_message_loops, 4);
        assert_eq!(g.max_process_inject, 1);
        assert_eq!(g.max_process_duration, Duration::from_micros(100));
        assert_eq!(g.max_timer_inject, 10);
        assert_eq!(g.max_pack_idle, Duration::from_secs(120));
        assert_eq!(g.base_dir, Path::new("/var/cache/hekad"));
        assert_eq!(g.share_dir, Path::new("/usr/share/heka"));
        assert_eq!(g.sample_denominator, 1000);
        assert_eq!(g.pid_file, None);
        assert_eq!(g.hostname, os_hostname());
        assert!(!g.hostname.is_empty());
        assert_eq!(g.max_message_size, 65536);
        assert_eq!(g.log_flags, 3);
        assert_eq!(g.full_buffer_max_retries, 10);
    }

    #[test]
    fn every_key_is_read() {
        let g = globals(
            r#"
            [hekad]
            maxprocs = 4
            poolsize = 200
            plugin_chansize = 60
            cpuprof = "/tmp/cpu.prof"
            memprof = "/tmp/mem.prof"
            max_message_loops = 8
            max_process_inject = 5
            max_process_duration = 250000
            max_timer_inject = 20
            max_pack_idle = "90s"
            base_dir = "/tmp/heka"
            share_dir = "/opt/heka/share"
            sample_denominator = 10
            pid_file = "/run/hekad.pid"
            hostname = "box1"
            max_message_size = 1048576
            log_flags = 0
            full_buffer_max_retries = 3
            "#,
        )
        .unwrap();
        assert_eq!(g.maxprocs, 4);
        assert_eq!(g.poolsize, 200);
        assert_eq!(g.plugin_chansize, 60);
        assert_eq!(g.cpuprof.as_deref(), Some(Path::new("/tmp/cpu.prof")));
        assert_eq!(g.memprof.as_deref(), Some(Path::new("/tmp/mem.prof")));
        assert_eq!(g.max_message_loops, 8);
        assert_eq!(g.max_process_inject, 5);
        assert_eq!(g.max_process_duration, Duration::from_micros(250));
        assert_eq!(g.max_timer_inject, 20);
        assert_eq!(g.max_pack_idle, Duration::from_secs(90));
        assert_eq!(g.base_dir, Path::new("/tmp/heka"));
        assert_eq!(g.share_dir, Path::new("/opt/heka/share"));
        assert_eq!(g.sample_denominator, 10);
        assert_eq!(g.pid_file.as_deref(), Some(Path::new("/run/hekad.pid")));
        assert_eq!(g.hostname, "box1");
        assert_eq!(g.max_message_size, 1 << 20);
        assert_eq!(g.log_flags, 0);
        assert_eq!(g.full_buffer_max_retries, 3);
    }

    #[test]
    fn coercions_and_empty_strings() {
        let g = globals(
            "[hekad]\nmax_message_loops = 0\nmax_message_size = 0\ncpuprof = \"\"\nhostname = \"\"\n",
        )
        .unwrap();
        assert_eq!(g.max_message_loops, 1);
        assert_eq!(g.max_message_size, 65536);
        assert_eq!(g.cpuprof, None);
        assert_eq!(g.hostname, "");
        assert_eq!(
            globals("[hekad]\nmax_message_size = 1025\n")
                .unwrap()
                .max_message_size,
            1025
        );
    }

    #[test]
    fn keys_are_case_insensitive() {
        let g = globals("[hekad]\nPoolSize = 7\nMAXPROCS = 2\n").unwrap();
        assert_eq!((g.poolsize, g.maxprocs), (7, 2));
    }

    #[test]
    fn max_message_size_must_exceed_1024() {
        for v in [1, 512, 1024] {
            let err = globals(&format!("[hekad]\nmax_message_size = {v}\n")).unwrap_err();
            assert_eq!(err.option(), Some("max_message_size"));
            assert_eq!(
                err.to_string(),
                "g.toml: [hekad] max_message_size: must be greater than 1024 (line 2, column 20)"
            );
        }
    }

    #[test]
    fn sample_denominator_must_be_positive() {
        for v in ["0", "-5"] {
            let err = globals(&format!("[hekad]\nsample_denominator = {v}\n")).unwrap_err();
            assert_eq!(err.option(), Some("sample_denominator"));
            assert!(err.to_string().contains("must be greater than 0"), "{err}");
        }
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let err = globals("[hekad]\npoolsize = 10\n  pool_size = 10\n").unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::UnknownSetting { section, key } if section == "hekad" && key == "pool_size"
        ));
        assert_eq!(err.file(), Some(Path::new("g.toml")));
        assert_eq!(err.section(), Some("hekad"));
        assert_eq!(err.option(), Some("pool_size"));
        assert_eq!(err.position(), Some(Position { line: 3, column: 3 }));
        assert_eq!(
            err.to_string(),
            "g.toml: [hekad] pool_size: unknown config setting for 'hekad': pool_size (line 3, column 3); did you mean `poolsize`?"
        );
    }

    #[test]
    fn wrong_type_and_bad_duration() {
        let err = globals("[hekad]\npoolsize = \"many\"\n").unwrap_err();
        assert_eq!(err.option(), Some("poolsize"));
        assert_eq!(
            err.position(),
            Some(Position {
                line: 2,
                column: 12
            })
        );
        assert!(
            err.to_string().contains("invalid type: string \"many\""),
            "{err}"
        );

        let err = globals("[hekad]\nmax_pack_idle = \"2 minutes\"\n").unwrap_err();
        assert_eq!(err.option(), Some("max_pack_idle"));
        assert_eq!(
            err.position(),
            Some(Position {
                line: 2,
                column: 17
            })
        );
        assert!(err.to_string().contains("unknown unit"), "{err}");

        let err = globals("[hekad]\nmaxprocs = -1\n").unwrap_err();
        assert_eq!(err.option(), Some("maxprocs"));
    }
}
