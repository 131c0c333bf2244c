//! What `heka-sbmgr` and `heka-sbmgrload` share: their TOML config (`ip_address`, `[signer]`)
//! and the signed `heka.control.sandbox` messages they send to a SandboxManagerFilter.
//!
//! ```toml
//! ip_address = "127.0.0.1:5565"
//! [signer]
//! name = "test"
//! hmac_hash = "md5"      # or "sha1"
//! hmac_key = "4865ey9urgkidls xtb0[7lf9rzcivthkm"
//! version = 0
//! ```

use heka_client::{MessageBuilder, SenderOptions, TcpSender, local_hostname};
use heka_message::signing::{HmacHash, SigningConfig};
use heka_message::{Field, Message};
use serde::Deserialize;

/// The tools' config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SbmgrConfig {
    /// `host:port` of hekad's TcpInput.
    pub ip_address: String,
    /// How every message is signed.
    pub signer: SignerConfig,
    /// Heka sent over TLS when set; not supported here.
    pub use_tls: bool,
    /// Heka's TLS settings; read and ignored (see `use_tls`).
    pub tls: Option<toml::Table>,
}

/// Heka's `MessageSigningConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignerConfig {
    /// Signer name (the SandboxManagerFilter's `message_signer`).
    pub name: String,
    /// `md5` (anything else but `sha1` too) or `sha1`.
    pub hmac_hash: String,
    /// The key.
    pub hmac_key: String,
    /// Key version (the input's signer section is `<name>_<version>`).
    pub version: u32,
}

impl SbmgrConfig {
    /// Reads the config file; the error is Heka's text after `Error decoding config file: `.
    pub fn load(path: &str) -> Result<SbmgrConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))?;
        toml::from_str(&text).map_err(|e| e.to_string())
    }

    /// A TCP sender to `ip_address` that signs every message with `[signer]` (always, as in
    /// Heka: an absent signer signs with an empty name and key).
    pub fn sender(&self) -> Result<TcpSender, String> {
        if self.use_tls {
            return Err("use_tls is not supported by this tool".into());
        }
        let signer = SigningConfig {
            name: self.signer.name.clone(),
            hash: HmacHash::from_name(&self.signer.hmac_hash),
            key: self.signer.hmac_key.clone().into_bytes(),
            version: self.signer.version,
        };
        let options = SenderOptions {
            signer: Some(signer),
            reconnect_attempts: 0,
            ..SenderOptions::default()
        };
        TcpSender::connect_with(&self.ip_address, options).map_err(|e| e.to_string())
    }
}

/// A control message with Heka's headers (Logger `hekad`, Type `heka.control.sandbox`, now, a
/// random UUID, this host) and `fields`; the payload is `payload` when given.
pub fn control_message(payload: Option<String>, fields: Vec<Field>) -> Message {
    let mut b = MessageBuilder::new()
        .logger("hekad")
        .message_type("heka.control.sandbox")
        .hostname(local_hostname());
    if let Some(p) = payload {
        b = b.payload(p);
    }
    for f in fields {
        b = b.add_field(f);
    }
    b.build()
}

/// The message that loads `script` with the filter config `config` (a TOML text).
pub fn load_message(script: String, config: String) -> Message {
    control_message(
        Some(script),
        vec![
            Field::new_string("config", config).with_representation("toml"),
            Field::new_string("action", "load"),
        ],
    )
}

/// The message that unloads the filter of section `name` (the manager adds its own prefix).
pub fn unload_message(name: &str) -> Message {
    control_message(
        None,
        vec![
            Field::new_string("name", name.to_string()),
            Field::new_string("action", "unload"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    #[test]
    fn the_config_reads_heka_s_sbmgr_toml() {
        let c: SbmgrConfig = toml::from_str(
            "ip_address = \"127.0.0.1:5565\"\n[signer]\nname = \"test\"\nhmac_hash = \"sha1\"\n\
             hmac_key = \"k\"\nversion = 2\n",
        )
        .unwrap();
        assert_eq!(c.ip_address, "127.0.0.1:5565");
        assert_eq!(c.signer.name, "test");
        assert_eq!(c.signer.version, 2);
        assert!(!c.use_tls);
    }

    #[test]
    fn control_messages_carry_heka_s_fields() {
        let m = load_message("code".into(), "[x]".into());
        assert_eq!(m.type_bytes(), b"heka.control.sandbox");
        assert_eq!(m.logger_bytes(), b"hekad");
        assert_eq!(m.payload_bytes(), b"code");
        assert_eq!(
            m.field_value(b"action"),
            Some(Some(FieldValue::String(b"load")))
        );
        let config = m.find_first_field(b"config").unwrap();
        assert_eq!(config.representation.as_deref(), Some(&b"toml"[..]));
        let u = unload_message("Counter");
        assert_eq!(
            u.field_value(b"name"),
            Some(Some(FieldValue::String(b"Counter")))
        );
        assert_eq!(
            u.field_value(b"action"),
            Some(Some(FieldValue::String(b"unload")))
        );
    }
}
