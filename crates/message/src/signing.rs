//! HMAC signing and verification of framed messages.
//!
//! Only the message bytes (after the 0x1F) are hashed, never the header, as Heka does.

use std::collections::HashMap;

use bytes::Bytes;
use hmac::{Hmac, Mac};

use crate::framing::{HashFunction, Header};

/// Hash used for signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HmacHash {
    /// HMAC-MD5 (Heka's default).
    #[default]
    Md5,
    /// HMAC-SHA1.
    Sha1,
}

impl HmacHash {
    /// Heka's rule: `"sha1"` means SHA1, anything else MD5.
    pub fn from_name(name: &str) -> HmacHash {
        if name == "sha1" {
            HmacHash::Sha1
        } else {
            HmacHash::Md5
        }
    }
}

/// A signer used by producers (Heka's `message_signer` config: name, hmac_hash, hmac_key, version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningConfig {
    /// Signer name written into the header.
    pub name: String,
    /// Hash function.
    pub hash: HmacHash,
    /// Raw key bytes.
    pub key: Vec<u8>,
    /// Key version.
    pub version: u32,
}

/// Computes the HMAC of `data`.
pub fn hmac(hash: HmacHash, key: &[u8], data: &[u8]) -> Vec<u8> {
    match hash {
        HmacHash::Md5 => {
            let mut m = <Hmac<md5::Md5> as Mac>::new_from_slice(key)
                .expect("HMAC accepts keys of any length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        HmacHash::Sha1 => {
            let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
                .expect("HMAC accepts keys of any length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn verify_mac(hash: HmacHash, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    match hash {
        HmacHash::Md5 => <Hmac<md5::Md5> as Mac>::new_from_slice(key)
            .map(|mut m| {
                m.update(data);
                m.verify_slice(tag).is_ok()
            })
            .unwrap_or(false),
        HmacHash::Sha1 => <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
            .map(|mut m| {
                m.update(data);
                m.verify_slice(tag).is_ok()
            })
            .unwrap_or(false),
    }
}

impl SigningConfig {
    /// A header (without `message_length`) carrying this signer's HMAC of `message`.
    pub fn sign(&self, message: &[u8]) -> Header {
        Header {
            message_length: 0,
            // Heka leaves the hash function unset for MD5 (the protobuf default).
            hmac_hash_function: (self.hash == HmacHash::Sha1).then_some(HashFunction::Sha1),
            hmac_signer: Some(Bytes::copy_from_slice(self.name.as_bytes())),
            hmac_key_version: Some(self.version),
            hmac: Some(Bytes::from(hmac(self.hash, &self.key, message))),
        }
    }
}

/// Outcome of verifying one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The header carries no HMAC: accepted, with no signer.
    Unsigned,
    /// The HMAC was verified; the value is the signer name (without version).
    Signed(Bytes),
    /// Unknown signer/version, unknown hash function or a wrong digest: the record is dropped.
    Rejected,
}

/// The keys a `HekaFramingSplitter` accepts: `"<signer>_<version>"` → key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignerKeys {
    keys: HashMap<String, Vec<u8>>,
}

impl SignerKeys {
    /// Adds the key of `signer` at `version` (Heka's `[splitter.signer.<name>_<version>]`).
    pub fn insert(&mut self, name_version: impl Into<String>, key: impl Into<Vec<u8>>) {
        self.keys.insert(name_version.into(), key.into());
    }

    /// Verifies `message` against `header`.
    ///
    /// Deliberate difference from Heka: a header naming a signer without an HMAC is accepted as
    /// [`Verification::Unsigned`], never as signed by that name.
    pub fn verify(&self, header: &Header, message: &[u8]) -> Verification {
        let Some(tag) = &header.hmac else {
            return Verification::Unsigned;
        };
        let hash = match header.hmac_hash_function {
            None | Some(HashFunction::Md5) => HmacHash::Md5,
            Some(HashFunction::Sha1) => HmacHash::Sha1,
            Some(HashFunction::Unknown(_)) => return Verification::Rejected,
        };
        let name = header.hmac_signer.clone().unwrap_or_default();
        let lookup = format!(
            "{}_{}",
            String::from_utf8_lossy(&name),
            header.hmac_key_version.unwrap_or(0)
        );
        match self.keys.get(&lookup) {
            Some(key) if verify_mac(hash, key, message, tag) => Verification::Signed(name),
            _ => Verification::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SignerKeys {
        let mut k = SignerKeys::default();
        k.insert("test_1", b"xxx".to_vec());
        k
    }

    #[test]
    fn known_hmac_md5_vector() {
        // RFC 2104 test case 2.
        let d = hmac(HmacHash::Md5, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            d,
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
    }

    #[test]
    fn verify_accepts_good_and_rejects_bad_signatures() {
        for hash in [HmacHash::Md5, HmacHash::Sha1] {
            let s = SigningConfig {
                name: "test".into(),
                hash,
                key: b"xxx".to_vec(),
                version: 1,
            };
            let h = s.sign(b"payload");
            assert_eq!(
                keys().verify(&h, b"payload"),
                Verification::Signed(Bytes::from_static(b"test"))
            );
            assert_eq!(keys().verify(&h, b"tampered"), Verification::Rejected);
            let wrong_version = SigningConfig {
                version: 2,
                ..s.clone()
            }
            .sign(b"payload");
            assert_eq!(
                keys().verify(&wrong_version, b"payload"),
                Verification::Rejected
            );
            let wrong_key = SigningConfig {
                key: b"yyy".to_vec(),
                ..s
            }
            .sign(b"payload");
            assert_eq!(
                keys().verify(&wrong_key, b"payload"),
                Verification::Rejected
            );
        }
    }

    #[test]
    fn signer_without_hmac_is_not_trusted() {
        let h = Header {
            hmac_signer: Some(Bytes::from_static(b"test")),
            hmac_key_version: Some(1),
            ..Header::default()
        };
        assert_eq!(keys().verify(&h, b"x"), Verification::Unsigned);
    }

    #[test]
    fn unknown_hash_function_is_rejected() {
        let mut h = SigningConfig {
            name: "test".into(),
            hash: HmacHash::Md5,
            key: b"xxx".to_vec(),
            version: 1,
        }
        .sign(b"p");
        h.hmac_hash_function = Some(HashFunction::Unknown(7));
        assert_eq!(keys().verify(&h, b"p"), Verification::Rejected);
    }
}
