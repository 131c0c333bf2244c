//! TLS for the TLS case: a CA and a server certificate for hekad, written into the case's scratch
//! directory, and client connections that trust that CA.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName};

/// File name of the server certificate in the scratch directory.
pub(crate) const SERVER_CERT: &str = "server.pem";
/// File name of the server key in the scratch directory.
pub(crate) const SERVER_KEY: &str = "server.key";

/// Writes a fresh server certificate and key for 127.0.0.1 into `dir`; returns a client
/// configuration that trusts their CA.
pub(crate) fn setup(dir: &Path) -> Result<Arc<ClientConfig>> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])?.signed_by(&key, &ca)?;
    std::fs::write(dir.join(SERVER_CERT), cert.pem()).context("writing the certificate")?;
    std::fs::write(dir.join(SERVER_KEY), key.serialize_pem()).context("writing the key")?;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS client connection to hekad, handshake done.
pub(crate) fn connect(
    config: &Arc<ClientConfig>,
    port: u16,
) -> Result<StreamOwned<ClientConnection, TcpStream>> {
    let sock = TcpStream::connect(("127.0.0.1", port)).context("connecting")?;
    let name = ServerName::try_from("127.0.0.1").map_err(|e| anyhow!("{e}"))?;
    let conn = ClientConnection::new(config.clone(), name)?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .context("TLS handshake")?;
    }
    tls.flush()?;
    Ok(tls)
}
