//! SandboxEncoder: encodes messages with a Lua script (Heka's Lua sandbox).
//!
//! ```toml
//! [line_encoder]
//! type = "SandboxEncoder"
//! filename = "lua_encoders/line.lua"   # relative: under share_dir
//! # preserve_data = false
//! # memory_limit = 8388608
//! # instruction_limit = 1000000
//! # output_limit = 64512
//!
//! [line_encoder.config]
//! separator = "|"   # read by the script with read_config("separator")
//! ```
//!
//! Options: as SandboxDecoder (`filename`, `script_type`, `module_directory`,
//! `preserve_data`, `memory_limit`, `instruction_limit`, `output_limit`, `profile` (accepted,
//! ignored), `config`). `config.tz` must name a known zone but changes nothing (as in Heka).
//!
//! `process_message()` runs once per message the output takes. The script reads the message
//! with `read_message` / `read_next_field` and produces the output bytes:
//! - `inject_payload(type, name, ...)` (or `add_to_payload(...)` then `inject_payload()`): the
//!   payload buffer is the output (type and name are ignored);
//! - `inject_message(string)`: the string, as it is;
//! - `inject_message(table)`: the message the table describes, protobuf-encoded.
//!
//! The last injection of the call wins. The return value decides:
//! - 0: the output writes those bytes; with no injection (or only empty ones), the message's
//!   protobuf encoding, with the changes `write_message` made (on a copy: the other outputs
//!   see the message unchanged).
//! - -2: nothing is written for this message, and it is no error.
//! - other values below 0: `Failed serializing: <error string>`; the output drops the message.
//! - above 0: `FATAL: <error string>` for this message only.
//! - A Lua error, a limit or a bad return value terminates the sandbox: this and every later
//!   message fails with `FATAL: process_message() <error>` (an encoder is never restarted).
//!
//! Framing (`use_framing`) is the output's business. With `preserve_data` the globals are
//! written to `<base_dir>/sandbox_preservation/<output>-<encoder>.data` when the output stops
//! (not after a termination by an error or a limit).
//!
//! Differences from Heka: the preservation name has every character other than letters,
//! digits and `_` replaced by `_` (Heka used the name as it was).

use heka_pipeline::config::ConfigError;
use heka_pipeline::pack::Pack;
use heka_pipeline::plugin::{CodecError, Encoder};
use heka_pipeline::registry::{BuildContext, EncoderSpec};
use heka_sandbox::config::{build_settings, sanitize_name};
use heka_sandbox::{InjectBudget, Injection, Kind, Sandbox};

use std::sync::Arc;

use crate::support::sandbox::{Sampler, SandboxStats, config_tz, forgiving_time};

/// An encoder running a Lua script.
#[derive(Debug)]
struct SandboxEncoder {
    name: String,
    sandbox: Sandbox,
    /// The report's fields.
    stats: Arc<SandboxStats>,
    sampler: Sampler,
}

impl Encoder for SandboxEncoder {
    fn encode(&mut self, pack: &Pack, out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.stats.count();
        let started = self.sampler.start();
        let result = self.sandbox.process_message(pack, InjectBudget::Unlimited);
        self.sampler.done(&self.stats, started);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => return Err(CodecError::new(format!("FATAL: {e}"))),
        };
        let error = outcome.error.unwrap_or_default();
        match outcome.status {
            0 => {}
            -2 => return Ok(()),
            s if s > 0 => return Err(CodecError::new(format!("FATAL: {error}"))),
            _ => {
                self.stats.failure();
                return Err(CodecError::new(format!("Failed serializing: {error}")));
            }
        }
        match outcome.injected.into_iter().next_back() {
            Some(Injection::Payload { payload, .. }) => out.extend_from_slice(&payload),
            Some(Injection::Raw(bytes)) => out.extend_from_slice(&bytes),
            Some(Injection::Message { message, .. }) => message.encode_to_vec_into(out),
            None => match outcome.written {
                Some(m) => m.encode_to_vec_into(out),
                None => out.extend_from_slice(&pack.encoded()),
            },
        }
        Ok(())
    }
}

impl Drop for SandboxEncoder {
    fn drop(&mut self) {
        if let Err(e) = self.sandbox.stop() {
            tracing::error!(encoder = %self.name, "{e}");
        }
    }
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Encoder>, ConfigError> {
    let (mut settings, _) = build_settings(ctx, Kind::Encoder, &sanitize_name(ctx.name))?;
    settings.parse_time = Some(forgiving_time);
    // Heka loaded the zone (failing on an unknown one) and never used it.
    config_tz(ctx, &settings.config)?;
    let mut sandbox = Sandbox::start(settings).map_err(|e| ctx.error(Some("filename"), e))?;
    let (stats, sampler) = SandboxStats::publish(ctx, Kind::Encoder, &mut sandbox);
    Ok(Box::new(SandboxEncoder {
        name: ctx.name.to_string(),
        sandbox,
        stats,
        sampler,
    }))
}

pub(super) const SPEC: EncoderSpec = EncoderSpec {
    type_name: "SandboxEncoder",
    summary: "Encodes messages with a Lua script in Heka's sandbox.",
    build,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::testing::{TestSection, build_section};
    use bytes::Bytes;
    use heka_message::{Field, Message};

    fn encoder(dir: &std::path::Path, script: &str) -> Box<dyn Encoder> {
        encoder_with(dir, script, "")
    }

    fn encoder_with(dir: &std::path::Path, script: &str, extra: &str) -> Box<dyn Encoder> {
        let path = dir.join("e.lua");
        std::fs::write(&path, script).unwrap();
        build_section(
            build,
            TestSection {
                name: "enc",
                type_name: "SandboxEncoder",
                options: &format!(
                    "filename = '{}'\n{extra}\n[enc.config]\nsep = '|'\n",
                    path.display()
                ),
                hekad: &format!("base_dir = '{}'", dir.display()),
            },
        )
        .unwrap()
    }

    fn pack(payload: &str) -> Pack {
        let mut m = Message {
            uuid: Bytes::from_static(&[7; 16]),
            timestamp: 1_000_000_000,
            ..Message::default()
        };
        m.set_type("t");
        m.set_payload(payload.to_string());
        m.add_field(Field::new_string("user", "alice"));
        Pack::new(m)
    }

    const SCRIPT: &str = r#"
        local sep = read_config("sep")
        local n = 0
        function process_message()
            n = n + 1
            local p = read_message("Payload")
            if p == "skip" then return -2 end
            if p == "bad" then return -1, "cannot encode " .. p end
            if p == "fatal" then return 1, "user abort" end
            if p == "die" then error("boom") end
            if p == "raw" then inject_message("\0raw\1") return 0 end
            if p == "table" then inject_message({Type = "x", Payload = p}) return 0 end
            if p == "write" then write_message("Payload", "rewritten") return 0 end
            if p == "empty" then inject_payload("txt", "", "") return 0 end
            add_to_payload(n, sep, read_message("Type"), sep, read_message("Fields[user]"))
            inject_payload("txt", "first", " dropped")
            inject_payload("txt", "second", p, "\n")
            return 0
        end"#;

    fn encode(e: &mut Box<dyn Encoder>, p: &Pack) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        e.encode(p, &mut out).map(|()| out)
    }

    #[test]
    fn output_is_the_last_injection_or_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = encoder(dir.path(), SCRIPT);
        assert_eq!(encode(&mut e, &pack("hello")).unwrap(), b"hello\n");
        assert_eq!(encode(&mut e, &pack("raw")).unwrap(), b"\0raw\x01");
        let t = Message::decode_slice(&encode(&mut e, &pack("table")).unwrap()).unwrap();
        assert_eq!(
            (t.type_bytes(), t.payload_bytes()),
            (&b"x"[..], &b"table"[..])
        );
        // Nothing injected: the message's own encoding, with write_message's change, while
        // the pack itself is untouched.
        let p = pack("write");
        let m = Message::decode_slice(&encode(&mut e, &p).unwrap()).unwrap();
        assert_eq!(m.payload_bytes(), b"rewritten");
        assert_eq!(
            m.find_first_field(b"user"),
            p.message().find_first_field(b"user")
        );
        assert_eq!(p.message().payload_bytes(), b"write");
        let p = pack("empty");
        assert_eq!(encode(&mut e, &p).unwrap(), p.encoded().into_owned());
    }

    #[test]
    fn return_codes() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = encoder(dir.path(), SCRIPT);
        assert_eq!(encode(&mut e, &pack("skip")).unwrap(), b"");
        assert_eq!(
            encode(&mut e, &pack("bad")).unwrap_err().0,
            "Failed serializing: cannot encode bad"
        );
        assert_eq!(
            encode(&mut e, &pack("fatal")).unwrap_err().0,
            "FATAL: user abort"
        );
        // A plain positive status leaves the sandbox alive: the counter goes on (5 calls).
        assert_eq!(encode(&mut e, &pack("ok")).unwrap(), b"ok\n");
        let fatal = encode(&mut e, &pack("die")).unwrap_err().0;
        assert!(
            fatal.starts_with("FATAL: process_message() ") && fatal.ends_with(": boom"),
            "{fatal}"
        );
        assert_eq!(encode(&mut e, &pack("ok")).unwrap_err().0, fatal);
    }

    /// Our versions of Heka's `encoder_raw.lua` and `encoder_protobuf.lua`: the raw bytes
    /// pass through unchanged; a table built from read headers encodes them.
    #[test]
    fn raw_bytes_and_message_tables() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = pack("original");
        p.message_mut().pid = Some(12345);
        p.message_mut().severity = Some(4);
        p.message_mut().set_hostname("hostname");
        p.ensure_encoded();
        let mut raw = encoder(
            dir.path(),
            r#"function process_message()
                inject_payload("json", "message_table", read_message("raw"))
                return 0
            end"#,
        );
        assert_eq!(encode(&mut raw, &p).unwrap(), p.encoded().into_owned());
        let mut proto = encoder(
            dir.path(),
            r#"local msg = {Payload = "mutated", Type = "after"}
            function process_message()
                msg.Timestamp = read_message("Timestamp")
                msg.Hostname = read_message("Hostname")
                msg.Pid = read_message("Pid")
                msg.Severity = read_message("Severity")
                inject_message(msg)
                return 0
            end"#,
        );
        let m = Message::decode_slice(&encode(&mut proto, &p).unwrap()).unwrap();
        assert_eq!(m.timestamp, 1_000_000_000);
        assert_eq!((m.pid, m.severity), (Some(12345), Some(4)));
        assert_eq!(m.hostname_bytes(), b"hostname");
        assert_eq!(
            (m.payload_bytes(), m.type_bytes()),
            (&b"mutated"[..], &b"after"[..])
        );
        assert_eq!(m.uuid.len(), 16);
        assert_ne!(m.uuid, p.message().uuid, "a fresh Uuid");
    }

    #[test]
    fn preserve_data_keeps_the_count_across_instances() {
        let dir = tempfile::tempdir().unwrap();
        let script = "n = 0 function process_message() n = n + 1 \
                      inject_payload('txt', '', n) return 0 end";
        let mut e = encoder_with(dir.path(), script, "preserve_data = true");
        assert_eq!(encode(&mut e, &pack("a")).unwrap(), b"1");
        assert_eq!(encode(&mut e, &pack("b")).unwrap(), b"2");
        drop(e);
        let data = dir.path().join("sandbox_preservation/enc.data");
        assert!(
            std::fs::read_to_string(&data)
                .unwrap()
                .contains("_G[\"n\"] = 2\n")
        );
        let mut e = encoder_with(dir.path(), script, "preserve_data = true");
        assert_eq!(encode(&mut e, &pack("c")).unwrap(), b"3");
    }

    #[test]
    fn payload_counter_shows_the_state_lives_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = encoder(
            dir.path(),
            "local n = 0 function process_message() n = n + 1 \
             inject_payload('txt', '', n, '|', read_message('Fields[user]')) return 0 end",
        );
        assert_eq!(encode(&mut e, &pack("a")).unwrap(), b"1|alice");
        assert_eq!(encode(&mut e, &pack("b")).unwrap(), b"2|alice");
    }
}
