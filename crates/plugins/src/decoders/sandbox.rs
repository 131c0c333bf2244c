//! SandboxDecoder: decodes with a Lua script (Heka's Lua sandbox).
//!
//! ```toml
//! [kv_decoder]
//! type = "SandboxDecoder"
//! filename = "lua_decoders/kv.lua"   # relative: under share_dir
//! # module_directory = "/usr/share/heka/lua_modules"   # the default: <share_dir>/lua_modules
//! # memory_limit = 8388608
//! # instruction_limit = 1000000
//! # output_limit = 64512
//! # preserve_data = false
//!
//! [kv_decoder.config]
//! type = "kv"        # read by the script with read_config("type")
//! ```
//!
//! Options: `filename` (required), `script_type` (`lua`), `module_directory` (`;`-separated),
//! `preserve_data`, `memory_limit`, `instruction_limit`, `output_limit`, `profile` (accepted,
//! ignored) and the `config` table; see `heka_sandbox::SandboxConfig`.
//!
//! The script's `process_message()` runs once per record, reads it with `read_message` and
//! returns 0 (success) or -1 (failure, with an optional error string):
//! - 0 without any injection: the record's message passes on, with the changes
//!   `write_message(name, value[, representation[, field_index[, array_index]]])` made to its
//!   headers and fields (see `heka_sandbox`).
//! - 0 after `inject_message(table or bytes)` / `inject_payload(type, name, ...)`: the first
//!   injection replaces the incoming message (an `inject_payload` sets its Payload and appends
//!   the fields `payload_type` (representation `file-extension`) and `payload_name`, keeping
//!   the rest), later ones become further messages. Type, Logger, Hostname, Severity and Pid
//!   that an injected message leaves unset are copied from the incoming message, as are Uuid
//!   (a fresh one) and Timestamp for injected bytes or payloads that lack them.
//! - < 0: the record fails to decode (`Failed parsing: <error> payload: <payload>`, or
//!   `Failed after a successful inject_message call: <error>`); injections are discarded.
//! - Above 0, a Lua error or a limit: the sandbox terminates (`FATAL: <error>` is logged) and
//!   every later record fails to decode with that error.
//!
//! `config.tz` (a time zone name, e.g. `Europe/Paris`; an unknown one is a config error): the
//! Timestamp of every `inject_message` message is read as a wall-clock time of that zone (the
//! script computed it as UTC, since its `os.time` works in UTC). Payload injections keep theirs.
//!
//! With `preserve_data` the script's globals are written to
//! `<base_dir>/sandbox_preservation/<name>.data` when the decoder is dropped (its stream ends
//! or hekad stops) and restored when it is built.
//!
//! Differences from Heka:
//! - A terminated decoder does not shut hekad down; its records fail to decode instead.
//! - The preservation name has every character other than letters, digits and `_` replaced
//!   by `_` (Heka used the decoder's name as it was).
//! - See `heka_sandbox` and docs/differences.md for the sandbox's own differences.

use bytes::Bytes;
use heka_message::{Field, Message};
use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Decoded, Decoder};
use heka_pipeline::registry::{BuildContext, DecoderSpec};
use heka_sandbox::config::{build_settings, sanitize_name};
use heka_sandbox::{InjectBudget, Injection, Kind, Sandbox};

use crate::support::gotime::Zone;
use std::sync::Arc;

use crate::support::sandbox::{Sampler, SandboxStats, config_tz, forgiving_time, rezone};

/// A decoder running a Lua script.
#[derive(Debug)]
struct SandboxDecoder {
    name: String,
    sandbox: Sandbox,
    /// `config.tz`: injected timestamps are wall-clock times of this zone.
    tz: Option<Zone>,
    /// The termination has been logged.
    reported: bool,
    /// The script set `decoder_is_stateless = true` (see [`Decoder::parallel_safe`]).
    stateless: bool,
    /// The report's fields.
    stats: Arc<SandboxStats>,
    sampler: Sampler,
}

/// The headers an injected message inherits from the incoming one.
struct Original {
    timestamp: i64,
    r#type: Option<Bytes>,
    logger: Option<Bytes>,
    hostname: Option<Bytes>,
    severity: Option<i32>,
    pid: Option<i32>,
}

impl Original {
    fn of(m: &Message) -> Original {
        Original {
            timestamp: m.timestamp,
            r#type: m.r#type.clone(),
            logger: m.logger.clone(),
            hostname: m.hostname.clone(),
            severity: m.severity,
            pid: m.pid,
        }
    }

    /// Fills in what `m` leaves unset.
    fn fill(&self, m: &mut Message, has_uuid: bool, has_timestamp: bool) {
        if !has_uuid {
            m.uuid = heka_message::new_uuid();
        }
        if !has_timestamp {
            m.timestamp = self.timestamp;
        }
        if m.r#type.is_none() {
            m.r#type = self.r#type.clone();
        }
        if m.logger.is_none() {
            m.logger = self.logger.clone();
        }
        if m.hostname.is_none() {
            m.hostname = self.hostname.clone();
        }
        if m.severity.is_none() {
            m.severity = self.severity;
        }
        if m.pid.is_none() {
            m.pid = self.pid;
        }
    }
}

fn payload_fields(m: &mut Message, payload_type: Bytes, payload_name: Bytes) {
    m.add_field(
        Field::new_string("payload_type", payload_type).with_representation("file-extension"),
    );
    m.add_field(Field::new_string("payload_name", payload_name));
}

impl SandboxDecoder {
    /// `config.tz`: the script's timestamp is a wall-clock time of that zone.
    fn rezone(&self, m: &mut Message, has_timestamp: bool) {
        if let (Some(tz), true) = (&self.tz, has_timestamp) {
            m.timestamp = rezone(m.timestamp, tz);
        }
    }
}

impl Decoder for SandboxDecoder {
    /// A script declares it with the global `decoder_is_stateless = true` (our extension; the
    /// library's access log decoders do): it keeps nothing from one message to the next.
    fn parallel_safe(&self) -> bool {
        self.stateless
    }

    fn decode(&mut self, pack: &mut Pack, extra: &mut Vec<Pack>) -> Result<Decoded, CodecError> {
        self.stats.count();
        let started = self.sampler.start();
        let result = self.sandbox.process_message(pack, InjectBudget::Unlimited);
        self.sampler.done(&self.stats, started);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                if !self.reported {
                    self.reported = true;
                    tracing::error!(decoder = %self.name, "FATAL: {e}");
                }
                return Err(CodecError::new(format!("FATAL: {e}")));
            }
        };
        if outcome.status < 0 {
            self.stats.failure();
            let err = outcome.error.unwrap_or_default();
            return Err(CodecError::new(if outcome.injected.is_empty() {
                format!(
                    "Failed parsing: {err} payload: {}",
                    String::from_utf8_lossy(pack.message().payload_bytes())
                )
            } else {
                format!("Failed after a successful inject_message call: {err}")
            }));
        }
        let mut injected = outcome.injected.into_iter();
        let Some(first) = injected.next() else {
            if let Some(m) = outcome.written {
                pack.set_message(m);
            }
            return Ok(Decoded::Keep);
        };
        // Injected messages inherit the headers of the message as it was at the first
        // injection (with write_message's changes made by then).
        let original = match &outcome.written_at_inject {
            Some(m) => Original::of(m),
            None => Original::of(pack.message()),
        };
        if let Some(m) = outcome.written {
            pack.set_message(m);
        }
        match first {
            Injection::Message {
                mut message,
                has_uuid,
                has_timestamp,
            } => {
                self.rezone(&mut message, has_timestamp);
                original.fill(&mut message, has_uuid, has_timestamp);
                pack.set_message(message);
            }
            Injection::Payload {
                payload,
                payload_type,
                payload_name,
            } => {
                let m = pack.message_mut();
                m.payload = Some(payload);
                payload_fields(m, payload_type, payload_name);
            }
            // Only encoders inject raw bytes.
            Injection::Raw(_) => {}
        }
        for next in injected {
            let message = match next {
                Injection::Message {
                    mut message,
                    has_uuid,
                    has_timestamp,
                } => {
                    self.rezone(&mut message, has_timestamp);
                    original.fill(&mut message, has_uuid, has_timestamp);
                    message
                }
                Injection::Payload {
                    payload,
                    payload_type,
                    payload_name,
                } => {
                    let mut m = Message {
                        payload: Some(payload),
                        ..Message::default()
                    };
                    original.fill(&mut m, false, false);
                    payload_fields(&mut m, payload_type, payload_name);
                    m
                }
                Injection::Raw(_) => continue,
            };
            extra.push(Pack::new(message));
        }
        Ok(Decoded::Keep)
    }
}

impl Drop for SandboxDecoder {
    fn drop(&mut self) {
        if let Err(e) = self.sandbox.stop() {
            tracing::error!(decoder = %self.name, "{e}");
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Decoder>, ConfigError> {
    let (mut settings, _) = build_settings(ctx, Kind::Decoder, &sanitize_name(ctx.name))?;
    settings.parse_time = Some(forgiving_time);
    let tz = config_tz(ctx, &settings.config)?;
    let mut sandbox = Sandbox::start(settings).map_err(|e| ctx.error(Some("filename"), e))?;
    let (stats, sampler) = SandboxStats::publish(ctx, Kind::Decoder, &mut sandbox);
    let sandbox_stateless = sandbox.global_is_true("decoder_is_stateless");
    Ok(Box::new(SandboxDecoder {
        name: ctx.name.to_string(),
        sandbox,
        stats,
        sampler,
        tz,
        reported: false,
        stateless: sandbox_stateless,
    }))
}

pub(super) const SPEC: DecoderSpec = DecoderSpec {
    type_name: "SandboxDecoder",
    summary: "Decodes records with a Lua script (LPeg, cjson) in Heka's sandbox.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::{TestSection, build_section};

    fn decoder(dir: &std::path::Path, script: &str, extra: &str) -> Box<dyn Decoder> {
        let path = dir.join("d.lua");
        std::fs::write(&path, script).unwrap();
        build_section(
            build,
            TestSection {
                name: "dec",
                type_name: "SandboxDecoder",
                options: &format!("filename = '{}'\n{extra}", path.display()),
                hekad: &format!("base_dir = '{}'", dir.display()),
            },
        )
        .unwrap()
    }

    fn record(payload: &str) -> Pack {
        let mut m = Message::new_now();
        m.set_type("raw");
        m.set_hostname("h1");
        m.set_logger("input");
        m.severity = Some(5);
        m.set_payload(payload.to_string());
        m.add_field(Field::new_string("keep", "me"));
        Pack::new(m)
    }

    #[test]
    fn a_script_declares_itself_stateless_for_parallel_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let script = "function process_message() return 0 end\n";
        assert!(!decoder(dir.path(), script, "").parallel_safe());
        let flagged = format!("decoder_is_stateless = true\n{script}");
        assert!(decoder(dir.path(), &flagged, "").parallel_safe());
        // Only the boolean true counts.
        let truthy = format!("decoder_is_stateless = 1\n{script}");
        assert!(!decoder(dir.path(), &truthy, "").parallel_safe());
        // The library's access log decoders declare it.
        let share = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../share/heka");
        for (file, format) in [
            ("nginx_access.lua", "$remote_addr [$time_local]"),
            ("apache_access.lua", "%h %t"),
        ] {
            let d = build_section(
                build,
                TestSection {
                    name: "dec",
                    type_name: "SandboxDecoder",
                    options: &format!(
                        "filename = 'lua_decoders/{file}'\n[dec.config]\nlog_format = '{format}'"
                    ),
                    hekad: &format!(
                        "base_dir = '{}'\nshare_dir = '{}'",
                        dir.path().display(),
                        share.display()
                    ),
                },
            )
            .unwrap();
            assert!(d.parallel_safe(), "{file}");
        }
    }

    #[test]
    fn first_injection_replaces_the_message_and_inherits_headers() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decoder(
            dir.path(),
            r#"
            function process_message()
                local p = read_message("Payload")
                inject_message({Payload = p, Fields = {n = 1}})
                inject_message({Type = "second", Payload = p})
                inject_payload("txt", "third", "p=", p)
                return 0
            end"#,
            "",
        );
        let mut pack = record("hello");
        let original = pack.message().clone();
        let mut extra = Vec::new();
        assert_eq!(d.decode(&mut pack, &mut extra).unwrap(), Decoded::Keep);
        let m = pack.message();
        assert_eq!(m.payload_bytes(), b"hello");
        assert_eq!(m.type_bytes(), b"raw");
        assert_eq!(
            (m.hostname_bytes(), m.logger_bytes()),
            (&b"h1"[..], &b"input"[..])
        );
        assert_eq!(m.severity, Some(5));
        assert_ne!(m.uuid, original.uuid);
        assert!(m.find_first_field(b"keep").is_none(), "fields are replaced");
        assert_eq!(extra.len(), 2);
        assert_eq!(extra[0].message().type_bytes(), b"second");
        let third = extra[1].message();
        assert_eq!(third.payload_bytes(), b"p=hello");
        assert_eq!(third.type_bytes(), b"raw");
        assert_eq!(third.timestamp, original.timestamp);
        let pt = third.find_first_field(b"payload_type").unwrap();
        assert_eq!(pt.representation_bytes(), b"file-extension");
        assert_eq!(
            &third
                .find_first_field(b"payload_name")
                .unwrap()
                .value_string[0][..],
            b"third"
        );
    }

    #[test]
    fn no_injection_passes_the_record_and_failures_are_decode_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = decoder(
            dir.path(),
            r#"
            function process_message()
                local p = read_message("Payload")
                if p == "bad" then return -1, "not kv" end
                if p == "late" then inject_message({}) return -1, "after" end
                if p == "payload" then inject_payload("json", "n", "{}") end
                if p == "die" then error("dead") end
                return 0
            end"#,
            "",
        );
        let mut pack = record("ok");
        let before = pack.clone();
        let mut extra = Vec::new();
        assert_eq!(d.decode(&mut pack, &mut extra).unwrap(), Decoded::Keep);
        assert_eq!(pack, before);
        let e = d.decode(&mut record("bad"), &mut extra).unwrap_err();
        assert_eq!(e.0, "Failed parsing: not kv payload: bad");
        let e = d.decode(&mut record("late"), &mut extra).unwrap_err();
        assert_eq!(e.0, "Failed after a successful inject_message call: after");
        let mut pack = record("payload");
        d.decode(&mut pack, &mut extra).unwrap();
        assert_eq!(pack.message().payload_bytes(), b"{}");
        assert!(pack.message().find_first_field(b"keep").is_some());
        assert!(pack.message().find_first_field(b"payload_type").is_some());
        assert!(extra.is_empty());
        let e = d.decode(&mut record("die"), &mut extra).unwrap_err();
        assert!(
            e.0.starts_with("FATAL: process_message() ") && e.0.ends_with("dead"),
            "{e}"
        );
        let again = d.decode(&mut record("ok"), &mut extra).unwrap_err();
        assert_eq!(again, e);
    }

    #[test]
    fn write_message_changes_pass_on_and_tz_rezones_injections() {
        let dir = tempfile::tempdir().unwrap();
        let script = r#"
            function process_message()
                local p = read_message("Payload")
                write_message("Fields[seen]", true)
                if p == "inject" then
                    inject_message({Timestamp = 1444243620e9, Payload = p})
                    inject_payload("txt", "", "second")
                end
                return 0
            end"#;
        let mut d = decoder(
            dir.path(),
            script,
            "[dec.config]
tz = 'Europe/Paris'
",
        );
        let mut pack = record("plain");
        let mut extra = Vec::new();
        d.decode(&mut pack, &mut extra).unwrap();
        assert!(pack.message().find_first_field(b"seen").is_some());
        assert!(pack.message().find_first_field(b"keep").is_some());
        let mut pack = record("inject");
        let original = pack.message().timestamp;
        d.decode(&mut pack, &mut extra).unwrap();
        // 18:47 "UTC" read as Paris summer time.
        assert_eq!(
            pack.message().timestamp,
            (1_444_243_620 - 7200) * 1_000_000_000
        );
        assert_eq!(
            extra[0].message().timestamp,
            original,
            "payloads keep theirs"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.lua");
        std::fs::write(&path, script).unwrap();
        let built = build_section(
            build,
            TestSection {
                name: "dec",
                type_name: "SandboxDecoder",
                options: &format!(
                    "filename = '{}'\n[dec.config]\ntz = 'Mars/Olympus'\n",
                    path.display()
                ),
                hekad: "",
            },
        );
        let Err(e) = built else {
            panic!("built with an unknown zone")
        };
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn bad_options_and_scripts_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lua");
        std::fs::write(&path, "this is not lua").unwrap();
        for (extra, want) in [
            ("script_type = 'js'", "unsupported script type: js"),
            ("memory_limit = 'lots'", "memory_limit"),
            ("", "x.lua:1:"),
        ] {
            let built = build_section(
                build,
                TestSection {
                    name: "dec",
                    type_name: "SandboxDecoder",
                    options: &format!("filename = '{}'\n{extra}", path.display()),
                    hekad: "",
                },
            );
            let Err(e) = built else {
                panic!("{extra}: built")
            };
            let e = e.to_string();
            assert!(e.contains(want), "{extra}: {e}");
        }
    }
}
