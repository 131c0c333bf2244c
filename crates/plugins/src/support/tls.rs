//! Heka's `[<plugin>.tls]` sub-table (`TlsConfig` in Heka's plugins/tcp/tls.go) and its
//! conversion to rustls server and client configurations (ring provider, TLS 1.2 and 1.3).
//!
//! Options and how they map:
//!
//! | option | meaning here |
//! |---|---|
//! | `cert_file`, `key_file` | PEM certificate chain and private key (one file may hold both). Loaded only when both are set. Server side requires them. |
//! | `server_name` | client side: SNI and the name the server certificate must carry; default: the host of the dialled address |
//! | `client_auth` | `NoClientCert` (default), `RequestClientCert`, `RequireAnyClientCert` (a certificate is asked for / required but not checked against a CA), `VerifyClientCertIfGiven`, `RequireAndVerifyClientCert` (checked against `client_cafile`) |
//! | `client_cafile` | PEM bundle of CAs that client certificates must chain to |
//! | `root_cafile` | PEM bundle of CAs that server certificates must chain to; default: the system's CA store |
//! | `insecure_skip_verify` | client side: accept any server certificate (still checks the handshake signature). **Dangerous**: anyone on the path can impersonate the server. |
//! | `min_version`, `max_version` | `SSL30`, `TLS10`, `TLS11`, `TLS12`, and (beyond Heka) `TLS13` |
//! | `ciphers` | TLS 1.2 cipher suites, Go's names without `TLS_` |
//! | `prefer_server_ciphers` | the server's suite order wins |
//! | `session_tickets_disabled` | no session resumption |
//! | `sesion_ticket_key` (sic, Heka's spelling; `session_ticket_key` is accepted too) | validated (64 hex digits) but not used |
//!
//! Differences from Heka (Go's crypto/tls):
//! - rustls speaks only TLS 1.2 and 1.3. `min_version` below TLS12 therefore means TLS 1.2;
//!   a `max_version` below TLS12 leaves no usable version and is a config error. Without
//!   `max_version` TLS 1.3 is offered (Go 1.4-era Heka stopped at TLS 1.2).
//! - `ciphers` applies to TLS 1.2 only (TLS 1.3 suites are always enabled, as in modern Go).
//!   Heka's RC4, 3DES, CBC and static-RSA suites do not exist in rustls: they are skipped with
//!   a warning; a list naming none that rustls has is a config error when only TLS 1.2 is
//!   allowed. The AES-256-GCM and ChaCha20 ECDHE suites are accepted by name too.
//! - `VerifyClientCertIfGiven` and `RequireAndVerifyClientCert` need `client_cafile` (Go
//!   would fall back to the system roots).
//! - The session ticket key cannot be set in rustls (tickets use rotating random keys), so
//!   tickets do not survive a restart or work across servers.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CipherSuite, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme, SupportedProtocolVersion,
};
use serde::Deserialize;

/// The `tls` sub-table (Heka's `TlsConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TlsConfig {
    /// SNI / expected server name (client side).
    pub(crate) server_name: String,
    /// PEM certificate (chain).
    pub(crate) cert_file: String,
    /// PEM private key.
    pub(crate) key_file: String,
    /// Client certificate policy (server side).
    pub(crate) client_auth: String,
    /// TLS 1.2 cipher suite names.
    pub(crate) ciphers: Vec<String>,
    /// Accept any server certificate (client side).
    pub(crate) insecure_skip_verify: bool,
    /// The server's cipher order wins.
    pub(crate) prefer_server_ciphers: bool,
    /// Disable session resumption.
    pub(crate) session_tickets_disabled: bool,
    /// Heka compat: plugins/tcp/tls.go spells the TOML key `sesion_ticket_key`.
    #[serde(rename = "sesion_ticket_key", alias = "session_ticket_key")]
    pub(crate) session_ticket_key: String,
    /// Oldest protocol version.
    pub(crate) min_version: String,
    /// Newest protocol version.
    pub(crate) max_version: String,
    /// CAs for client certificates.
    pub(crate) client_cafile: String,
    /// CAs for server certificates.
    pub(crate) root_cafile: String,
}

/// Why a TLS configuration can't be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("can't load {path}: {source}")]
    Pem {
        /// The file.
        path: String,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// A CA or certificate file holds no certificate.
    #[error("no PEM encoded certificates found in: {0}")]
    NoCertificates(String),
    /// Unknown `min_version`.
    #[error("invalid MinVersion: {0}")]
    MinVersion(String),
    /// Unknown `max_version`.
    #[error("invalid MaxVersion: {0}")]
    MaxVersion(String),
    /// `max_version` older than `min_version`.
    #[error("MaxVersion ({max}) must be newer than MinVersion ({min})")]
    VersionOrder {
        /// `max_version`.
        max: String,
        /// `min_version`.
        min: String,
    },
    /// `max_version` below TLS 1.2.
    #[error("max_version {0} leaves no TLS version this build supports (TLS 1.2 and 1.3 only)")]
    NoVersion(String),
    /// Unknown `client_auth`.
    #[error("invalid ClientAuth value: {0}")]
    ClientAuth(String),
    /// A verifying `client_auth` without `client_cafile`.
    #[error("client_auth {0} requires client_cafile")]
    NeedClientCa(String),
    /// `sesion_ticket_key` is not hex.
    #[error("invalid session ticket key: {0}")]
    TicketKeyHex(String),
    /// `sesion_ticket_key` is not 32 bytes.
    #[error("invalid SessionTicketKey length: {0}")]
    TicketKeyLength(usize),
    /// Unknown cipher name.
    #[error("invalid cipher string: {0}")]
    Cipher(String),
    /// A server configuration without a certificate.
    #[error("TLS config requires both cert_file and key_file value")]
    NeedKeyPair,
    /// The configured server name is not a valid DNS name or IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// rustls refused the configuration (mismatched key, no usable cipher suite...).
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// rustls refused the client verifier.
    #[error("{0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Client certificate policies, named as Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    None,
    Request,
    RequireAny,
    VerifyIfGiven,
    RequireAndVerify,
}

/// Protocol versions as Go numbers them.
fn version_number(s: &str) -> Option<u16> {
    Some(match s {
        "SSL30" => 0x0300,
        "TLS10" => 0x0301,
        "TLS11" => 0x0302,
        "TLS12" => 0x0303,
        "TLS13" => 0x0304,
        _ => return None,
    })
}

/// Heka's cipher names that rustls implements.
fn cipher_suite(name: &str) -> Option<CipherSuite> {
    Some(match name {
        "ECDHE_RSA_WITH_AES_128_GCM_SHA256" => CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        }
        "ECDHE_RSA_WITH_AES_256_GCM_SHA384" => CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        }
        "ECDHE_RSA_WITH_CHACHA20_POLY1305" | "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "ECDHE_ECDSA_WITH_CHACHA20_POLY1305" | "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

/// Heka's cipher names that rustls does not implement (accepted, skipped with a warning).
const LEGACY_CIPHERS: &[&str] = &[
    "RSA_WITH_RC4_128_SHA",
    "RSA_WITH_3DES_EDE_CBC_SHA",
    "RSA_WITH_AES_128_CBC_SHA",
    "RSA_WITH_AES_256_CBC_SHA",
    "ECDHE_ECDSA_WITH_RC4_128_SHA",
    "ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE_RSA_WITH_RC4_128_SHA",
    "ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |source| TlsError::Pem {
        path: path.to_string(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates(path.to_string()));
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::Pem {
        path: path.to_string(),
        source,
    })
}

fn load_roots(path: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(path)? {
        roots.add(c)?;
    }
    Ok(roots)
}

/// The system's CA store (rustls-native-certs); unreadable entries are logged and skipped.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!("loading system CA certificates: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(
            added,
            ignored,
            "some system CA certificates were not usable"
        );
    }
    roots
}

/// A checked configuration, ready to become a rustls config.
struct Checked {
    key_pair: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    versions: Vec<&'static SupportedProtocolVersion>,
    roots: Option<RootCertStore>,
    client_roots: Option<RootCertStore>,
    client_auth: ClientAuth,
    provider: Arc<CryptoProvider>,
}

impl TlsConfig {
    /// Checks every option in Heka's order (key pair, versions, root CAs, client CAs,
    /// client_auth, ticket key, ciphers) and loads the files.
    fn check(&self) -> Result<Checked, TlsError> {
        let key_pair = if !self.cert_file.is_empty() && !self.key_file.is_empty() {
            Some((load_certs(&self.cert_file)?, load_key(&self.key_file)?))
        } else {
            None
        };
        let min = match self.min_version.as_str() {
            "" => 0,
            v => version_number(v).ok_or_else(|| TlsError::MinVersion(v.to_string()))?,
        };
        let max = match self.max_version.as_str() {
            "" => u16::MAX,
            v => version_number(v).ok_or_else(|| TlsError::MaxVersion(v.to_string()))?,
        };
        if max < min {
            return Err(TlsError::VersionOrder {
                max: self.max_version.clone(),
                min: self.min_version.clone(),
            });
        }
        let versions: Vec<&'static SupportedProtocolVersion> = [
            (0x0303, &rustls::version::TLS12),
            (0x0304, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(n, _)| (min..=max).contains(n))
        .map(|(_, v)| v)
        .collect();
        if versions.is_empty() {
            return Err(TlsError::NoVersion(self.max_version.clone()));
        }
        let roots = match self.root_cafile.as_str() {
            "" => None,
            f => Some(load_roots(f)?),
        };
        let client_roots = match self.client_cafile.as_str() {
            "" => None,
            f => Some(load_roots(f)?),
        };
        let client_auth = match self.client_auth.as_str() {
            "" | "NoClientCert" => ClientAuth::None,
            "RequestClientCert" => ClientAuth::Request,
            "RequireAnyClientCert" => ClientAuth::RequireAny,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
            other => return Err(TlsError::ClientAuth(other.to_string())),
        };
        if matches!(
            client_auth,
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify
        ) && client_roots.is_none()
        {
            return Err(TlsError::NeedClientCa(self.client_auth.clone()));
        }
        if !self.session_ticket_key.is_empty() {
            let key = decode_hex(&self.session_ticket_key)
                .ok_or_else(|| TlsError::TicketKeyHex(self.session_ticket_key.clone()))?;
            if key.len() != 32 {
                return Err(TlsError::TicketKeyLength(key.len()));
            }
            tracing::warn!("sesion_ticket_key is not supported by rustls and is not used");
        }
        let mut provider = rustls::crypto::ring::default_provider();
        if !self.ciphers.is_empty() {
            let mut wanted = Vec::new();
            for name in &self.ciphers {
                match cipher_suite(name) {
                    Some(s) => wanted.push(s),
                    None if LEGACY_CIPHERS.contains(&name.as_str()) => {
                        tracing::warn!(cipher = %name, "cipher suite not supported by rustls, skipped");
                    }
                    None => return Err(TlsError::Cipher(name.clone())),
                }
            }
            provider
                .cipher_suites
                .retain(|s| s.version() == &rustls::version::TLS13 || wanted.contains(&s.suite()));
        }
        Ok(Checked {
            key_pair,
            versions,
            roots,
            client_roots,
            client_auth,
            provider: Arc::new(provider),
        })
    }

    /// A server configuration (TcpInput). Requires `cert_file` and `key_file`.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        if self.cert_file.is_empty() || self.key_file.is_empty() {
            return Err(TlsError::NeedKeyPair);
        }
        let c = self.check()?;
        let (certs, key) = c.key_pair.ok_or(TlsError::NeedKeyPair)?;
        let algs = c.provider.signature_verification_algorithms;
        let verifier: Arc<dyn ClientCertVerifier> = match (c.client_auth, c.client_roots) {
            (ClientAuth::None, _) => WebPkiClientVerifier::no_client_auth(),
            (ClientAuth::Request, _) => Arc::new(AnyClientCert {
                mandatory: false,
                algs,
            }),
            (ClientAuth::RequireAny, _) => Arc::new(AnyClientCert {
                mandatory: true,
                algs,
            }),
            (ClientAuth::VerifyIfGiven, Some(roots)) => {
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), c.provider.clone())
                    .allow_unauthenticated()
                    .build()?
            }
            (ClientAuth::RequireAndVerify, Some(roots)) => {
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), c.provider.clone())
                    .build()?
            }
            (other, None) => return Err(TlsError::NeedClientCa(format!("{other:?}"))),
        };
        let mut config = ServerConfig::builder_with_provider(c.provider.clone())
            .with_protocol_versions(&c.versions)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        config.ignore_client_order = self.prefer_server_ciphers;
        if self.session_tickets_disabled {
            config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        } else {
            config.ticketer = rustls::crypto::ring::Ticketer::new()?;
        }
        Ok(Arc::new(config))
    }

    /// A client configuration (TcpOutput): `root_cafile` or the system roots, or no
    /// verification at all with `insecure_skip_verify`; a client certificate when
    /// `cert_file` and `key_file` are set.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let c = self.check()?;
        let builder = ClientConfig::builder_with_provider(c.provider.clone())
            .with_protocol_versions(&c.versions)?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert {
                    algs: c.provider.signature_verification_algorithms,
                }))
        } else {
            builder.with_root_certificates(c.roots.unwrap_or_else(system_roots))
        };
        let mut config = match c.key_pair {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key)?,
            None => builder.with_no_client_auth(),
        };
        if self.session_tickets_disabled {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(Arc::new(config))
    }

    /// The name to present and verify when dialling `address` (`host:port`): `server_name`,
    /// else the address's host.
    pub(crate) fn server_name_for(&self, address: &str) -> Result<ServerName<'static>, TlsError> {
        let name = if self.server_name.is_empty() {
            let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
            host.trim_start_matches('[').trim_end_matches(']')
        } else {
            self.server_name.as_str()
        };
        ServerName::try_from(name.to_string()).map_err(|_| TlsError::ServerName(name.to_string()))
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let nibble = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// Go's `RequestClientCert` / `RequireAnyClientCert`: a client certificate is asked for (and
/// with `mandatory` required), its handshake signature is checked, its chain is not.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `insecure_skip_verify`: accepts any server certificate for any name. Only the handshake
/// signature is checked, which proves nothing about who the server is. This defeats TLS
/// against an active attacker; it exists for Heka compatibility and test setups.
#[derive(Debug)]
struct AnyServerCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Test certificates: a CA, a server certificate for `localhost`/127.0.0.1 signed by it, and a
/// client certificate signed by it, written as PEM files into a temporary directory.
#[cfg(test)]
pub(crate) mod testcerts {
    use std::path::PathBuf;

    /// Paths of the generated files.
    pub(crate) struct Certs {
        pub(crate) _dir: tempfile::TempDir,
        pub(crate) ca: PathBuf,
        pub(crate) server_cert: PathBuf,
        pub(crate) server_key: PathBuf,
        pub(crate) client_cert: PathBuf,
        pub(crate) client_key: PathBuf,
        pub(crate) both: PathBuf,
    }

    impl Certs {
        /// Path as a string, for TOML.
        pub(crate) fn s(p: &std::path::Path) -> String {
            p.to_string_lossy().into_owned()
        }
    }

    /// Generates a fresh set.
    pub(crate) fn generate() -> Certs {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
        let (client_cert, client_key) = leaf(vec!["client.test".into()]);
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        Certs {
            ca: w("ca.pem", &ca.pem()),
            both: w("both.pem", &format!("{server_cert}{server_key}")),
            server_cert: w("server.pem", &server_cert),
            server_key: w("server.key", &server_key),
            client_cert: w("client.pem", &client_cert),
            client_key: w("client.key", &client_key),
            _dir: dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    impl TlsConfig {
        fn validate(&self) -> Result<(), TlsError> {
            self.check().map(drop)
        }
    }

    fn conf(f: impl FnOnce(&mut TlsConfig)) -> TlsConfig {
        let mut c = TlsConfig::default();
        f(&mut c);
        c
    }

    #[test]
    fn option_errors_match_heka() {
        let bad = |c: TlsConfig| c.validate().unwrap_err().to_string();
        assert_eq!(
            bad(conf(|c| c.min_version = "TLS9".into())),
            "invalid MinVersion: TLS9"
        );
        assert_eq!(
            bad(conf(|c| c.max_version = "x".into())),
            "invalid MaxVersion: x"
        );
        assert_eq!(
            bad(conf(|c| {
                c.min_version = "TLS12".into();
                c.max_version = "TLS11".into();
            })),
            "MaxVersion (TLS11) must be newer than MinVersion (TLS12)"
        );
        assert!(bad(conf(|c| c.max_version = "TLS11".into())).contains("TLS 1.2 and 1.3"));
        assert_eq!(
            bad(conf(|c| c.client_auth = "Maybe".into())),
            "invalid ClientAuth value: Maybe"
        );
        assert_eq!(
            bad(conf(|c| c.session_ticket_key = "abcd".into())),
            "invalid SessionTicketKey length: 2"
        );
        assert!(
            bad(conf(|c| c.session_ticket_key = "zz".into()))
                .starts_with("invalid session ticket key")
        );
        assert_eq!(
            bad(conf(|c| c.ciphers = vec!["NOPE".into()])),
            "invalid cipher string: NOPE"
        );
        assert!(
            bad(conf(|c| c.root_cafile = "/nonexistent/ca.pem".into()))
                .contains("/nonexistent/ca.pem")
        );
        assert_eq!(
            bad(conf(|c| c.client_auth = "RequireAndVerifyClientCert".into())),
            "client_auth RequireAndVerifyClientCert requires client_cafile"
        );
        assert_eq!(
            TlsConfig::default()
                .server_config()
                .unwrap_err()
                .to_string(),
            "TLS config requires both cert_file and key_file value"
        );
        let ok = conf(|c| {
            c.ciphers = vec![
                "RSA_WITH_RC4_128_SHA".into(),
                "ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
            ];
            c.session_ticket_key = "00".repeat(32);
        });
        ok.validate().unwrap();
    }

    #[test]
    fn misspelt_and_correct_ticket_key_names_are_accepted() {
        let a: TlsConfig = toml::from_str("sesion_ticket_key = 'ab'").unwrap();
        let b: TlsConfig = toml::from_str("session_ticket_key = 'ab'").unwrap();
        assert_eq!(a.session_ticket_key, "ab");
        assert_eq!(a, b);
        assert!(toml::from_str::<TlsConfig>("bogus = 1").is_err());
    }

    #[test]
    fn empty_ca_file_and_mismatched_key_are_errors() {
        let certs = testcerts::generate();
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let e = conf(|c| c.root_cafile = empty.to_string_lossy().into_owned())
            .validate()
            .unwrap_err();
        assert!(matches!(e, TlsError::NoCertificates(_)), "{e}");
        let mismatched = conf(|c| {
            c.cert_file = testcerts::Certs::s(&certs.server_cert);
            c.key_file = testcerts::Certs::s(&certs.client_key);
        });
        assert!(mismatched.server_config().is_err());
        // One file holding both the certificate and the key.
        let both = conf(|c| {
            c.cert_file = testcerts::Certs::s(&certs.both);
            c.key_file = testcerts::Certs::s(&certs.both);
        });
        both.server_config().unwrap();
        assert!(
            std::fs::read_to_string(&certs.both)
                .unwrap()
                .contains("PRIVATE KEY")
        );
    }

    /// Runs one TLS exchange over loopback: the client sends "hi", the server answers "ok".
    fn exchange(server: &TlsConfig, client: &TlsConfig) -> Result<(), String> {
        let sc = server.server_config().map_err(|e| e.to_string())?;
        let cc = client.client_config().map_err(|e| e.to_string())?;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || -> Result<(), String> {
            let (s, _) = l.accept().map_err(|e| e.to_string())?;
            let conn = rustls::ServerConnection::new(sc).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, s);
            let mut buf = [0u8; 2];
            tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
            tls.write_all(b"ok").map_err(|e| e.to_string())?;
            tls.flush().map_err(|e| e.to_string())?;
            Ok(())
        });
        let name = client.server_name_for(&addr).map_err(|e| e.to_string())?;
        let conn = rustls::ClientConnection::new(cc, name).map_err(|e| e.to_string())?;
        let s = TcpStream::connect(&addr).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, s);
        let r = (|| -> std::io::Result<Vec<u8>> {
            tls.write_all(b"hi")?;
            tls.flush()?;
            let mut buf = [0u8; 2];
            tls.read_exact(&mut buf)?;
            Ok(buf.to_vec())
        })();
        drop(tls);
        let server_result = t.join().unwrap();
        match r {
            Ok(b) if b == b"ok" => server_result,
            Ok(b) => Err(format!("unexpected reply {b:?}")),
            Err(e) => Err(format!("client: {e}; server: {server_result:?}")),
        }
    }

    #[test]
    fn handshakes_verify_servers_and_clients() {
        let certs = testcerts::generate();
        let s = testcerts::Certs::s;
        let server = conf(|c| {
            c.cert_file = s(&certs.server_cert);
            c.key_file = s(&certs.server_key);
        });
        let trusting = conf(|c| c.root_cafile = s(&certs.ca));
        exchange(&server, &trusting).unwrap();
        // A client that knows no CA for this server fails, unless it skips verification.
        let other = testcerts::generate();
        let wrong_ca = conf(|c| c.root_cafile = s(&other.ca));
        assert!(exchange(&server, &wrong_ca).is_err());
        exchange(&server, &conf(|c| c.insecure_skip_verify = true)).unwrap();
        // The name must match the certificate.
        let wrong_name = conf(|c| {
            c.root_cafile = s(&certs.ca);
            c.server_name = "elsewhere.test".into();
        });
        assert!(exchange(&server, &wrong_name).is_err());
        // TLS 1.2 only on both sides still works.
        let tls12 = conf(|c| {
            c.root_cafile = s(&certs.ca);
            c.max_version = "TLS12".into();
        });
        exchange(&server, &tls12).unwrap();

        // Client certificates: required and verified.
        let strict = conf(|c| {
            c.cert_file = s(&certs.server_cert);
            c.key_file = s(&certs.server_key);
            c.client_auth = "RequireAndVerifyClientCert".into();
            c.client_cafile = s(&certs.ca);
        });
        assert!(exchange(&strict, &trusting).is_err());
        let with_cert = conf(|c| {
            c.root_cafile = s(&certs.ca);
            c.cert_file = s(&certs.client_cert);
            c.key_file = s(&certs.client_key);
        });
        exchange(&strict, &with_cert).unwrap();
        let foreign_cert = conf(|c| {
            c.root_cafile = s(&certs.ca);
            c.cert_file = s(&other.client_cert);
            c.key_file = s(&other.client_key);
        });
        assert!(exchange(&strict, &foreign_cert).is_err());
        // RequireAnyClientCert takes a certificate from any CA but not none.
        let any = conf(|c| {
            c.cert_file = s(&certs.server_cert);
            c.key_file = s(&certs.server_key);
            c.client_auth = "RequireAnyClientCert".into();
        });
        exchange(&any, &foreign_cert).unwrap();
        assert!(exchange(&any, &trusting).is_err());
    }
}
