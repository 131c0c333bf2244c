//! TLS with client certificates: a TcpInput that requires and verifies them
//! (`client_auth = "RequireAndVerifyClientCert"`), fed by another hekad's TcpOutput that
//! presents one; senders without a certificate, or with one from another CA, are refused and
//! deliver nothing. Certificates are made for each test with rcgen.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use heka_message::Message;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::support::*;

/// A certificate and its key, as files (for hekad) and as DER (for in-process clients).
struct Identity {
    cert: PathBuf,
    key: PathBuf,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

/// The trusted CA, the server's identity, a client identity from the trusted CA and one
/// from another CA, written into a tempdir.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    ca_der: CertificateDer<'static>,
    server: Identity,
    client: Identity,
    rogue: Identity,
}

/// A CA named `name` (CAs of different names, so that a certificate from the other one is
/// refused for its unknown issuer rather than for a bad signature).
fn certificate_authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn identity(
    dir: &Path,
    name: &str,
    names: &[&str],
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> Identity {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Identity {
        cert: cert_path,
        key: key_path,
        cert_der: cert.der().clone(),
        key_der: key.serialize_der(),
    }
}

impl Pki {
    fn generate() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = certificate_authority("e2e trusted CA");
        let other_ca = certificate_authority("e2e other CA");
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        Pki {
            ca: ca_path,
            ca_der: ca.der().clone(),
            server: identity(dir.path(), "server", &["127.0.0.1", "localhost"], &ca),
            client: identity(dir.path(), "client", &["client.test"], &ca),
            rogue: identity(dir.path(), "rogue", &["client.test"], &other_ca),
            _dir: dir,
        }
    }

    /// A hekad whose TcpInput `in` takes TLS connections from clients with a certificate
    /// from the CA only, and whose FileOutput writes everything to `out.log`.
    fn receiver(&self) -> Hekad {
        Hekad::start(&format!(
            r#"
[hekad]
base_dir = "{{dir}}/cache"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
use_tls = true
  [in.tls]
  cert_file = "{}"
  key_file = "{}"
  client_auth = "RequireAndVerifyClientCert"
  client_cafile = "{}"
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{{dir}}/out.log"
encoder = "ProtobufEncoder"
flush_interval = 0
"#,
            self.server.cert.display(),
            self.server.key.display(),
            self.ca.display(),
        ))
    }

    /// A hekad that forwards what its plain TcpInput receives to `port` over TLS, trusting
    /// the CA, presenting `identity` when given, from the local address `local` (so that the
    /// receiver's log tells the senders apart).
    fn sender(&self, port: u16, identity: Option<&Identity>, local: &str) -> Hekad {
        let client_cert = identity
            .map(|i| {
                format!(
                    "  cert_file = \"{}\"\n  key_file = \"{}\"\n",
                    i.cert.display(),
                    i.key.display()
                )
            })
            .unwrap_or_default();
        Hekad::start(&format!(
            r#"
[hekad]
base_dir = "{{dir}}/cache"
[TcpInput]
address = "127.0.0.1:0"
[fwd]
type = "TcpOutput"
message_matcher = "Type == 'e2e.test'"
address = "127.0.0.1:{port}"
local_address = "{local}:0"
use_tls = true
  [fwd.tls]
  root_cafile = "{}"
{client_cert}"#,
            self.ca.display(),
        ))
    }

    /// An in-process TLS client connection to `port` that trusts the CA and presents
    /// `identity` when given.
    fn connect(
        &self,
        port: u16,
        identity: Option<&Identity>,
    ) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
        let config = match identity {
            Some(i) => builder
                .with_client_auth_cert(
                    vec![i.cert_der.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(i.key_der.clone())),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A server that neither answers nor closes fails the test instead of hanging it.
        sock.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        rustls::StreamOwned::new(conn, sock)
    }
}

/// Sends `messages` to the plain TcpInput of `sender`.
fn feed(sender: &mut Hekad, messages: &[Message]) {
    let port = sender.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    for m in messages {
        s.send(m).unwrap();
    }
    s.flush().unwrap();
}

/// Waits until `receiver` logs that the TLS connection from `ip` failed; returns the line.
fn refusal_of(receiver: &Hekad, ip: &str) -> String {
    let marker = format!("TLS connection from {ip}:");
    wait_for(
        &format!("the connection from {ip} to be refused"),
        20,
        || {
            receiver
                .stderr()
                .lines()
                .find(|l| l.contains(&marker) && l.contains("failed"))
                .map(str::to_string)
        },
    )
}

/// Sends one frame as a client without an acceptable certificate and returns the error the
/// connection ends with: the server's alert, since it never takes application data from an
/// unauthenticated client.
fn refused_client_error(
    mut tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
) -> rustls::Error {
    // With TLS 1.3 the client's side of the handshake ends before the server has checked the
    // certificate, so the write may succeed and the refusal shows when reading; with TLS 1.2
    // it shows during the handshake, which the write drives.
    let mut buf = [0u8; 64];
    let err = match tls
        .write_all(&frame(&test_message(999), None))
        .and_then(|()| tls.flush())
        .and_then(|()| tls.read(&mut buf))
    {
        Ok(n) => panic!("the server must refuse the client, but the read returned {n} bytes"),
        Err(e) => e,
    };
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(e) => e.clone(),
        None => panic!("expected a TLS error from the server, got {err}"),
    }
}

#[test]
fn tcp_output_with_a_client_certificate_reaches_an_input_that_requires_one() {
    let pki = Pki::generate();
    let mut receiver = pki.receiver();
    let port = receiver.listening("in");
    let mut sender = pki.sender(port, Some(&pki.client), "127.0.0.1");
    let sent: Vec<_> = (0..200).map(test_message).collect();
    feed(&mut sender, &sent);
    assert_eq!(
        wait_framed(&receiver.path("out.log"), sent.len()),
        sent,
        "every message must arrive unchanged and in order"
    );
    assert!(sender.stop().success(), "{}", sender.stderr());
    assert!(receiver.stop().success(), "{}", receiver.stderr());
    assert!(
        !receiver.stderr().contains("TLS connection from"),
        "no connection may fail:\n{}",
        receiver.stderr()
    );
    assert_eq!(read_framed(&receiver.path("out.log")), sent);
}

#[test]
fn clients_without_a_certificate_from_the_ca_are_refused_and_deliver_nothing() {
    let pki = Pki::generate();
    let mut receiver = pki.receiver();
    let port = receiver.listening("in");

    // Two forwarding hekads that can't authenticate, told apart by their source address.
    let mut no_cert = pki.sender(port, None, "127.0.0.2");
    let mut rogue = pki.sender(port, Some(&pki.rogue), "127.0.0.3");
    feed(
        &mut no_cert,
        &(100..110).map(test_message).collect::<Vec<_>>(),
    );
    feed(
        &mut rogue,
        &(200..210).map(test_message).collect::<Vec<_>>(),
    );
    let line = refusal_of(&receiver, "127.0.0.2");
    assert!(line.contains("no certificates"), "{line}");
    let line = refusal_of(&receiver, "127.0.0.3");
    assert!(line.contains("UnknownIssuer"), "{line}");

    // In-process clients see the refusal as the server's alert.
    let err = refused_client_error(pki.connect(port, None));
    assert!(
        matches!(err, rustls::Error::AlertReceived(_)),
        "no certificate: {err}"
    );
    let err = refused_client_error(pki.connect(port, Some(&pki.rogue)));
    assert!(
        matches!(err, rustls::Error::AlertReceived(_)),
        "certificate from another CA: {err}"
    );

    // The server never decrypts what a refused connection sends, and each refusal above was
    // seen before this connection opened: a message sent now is routed after anything the
    // refused clients could have delivered, so once it is written the output shows it all.
    let mut good = pki.connect(port, Some(&pki.client));
    let marker = heka_client::MessageBuilder::new()
        .message_type("e2e.marker")
        .payload("authenticated")
        .build();
    good.write_all(&frame(&marker, None)).unwrap();
    good.flush().unwrap();
    let got = wait_framed(&receiver.path("out.log"), 1);
    assert_eq!(
        got,
        vec![marker],
        "only the authenticated client may deliver"
    );
    assert!(receiver.stop().success(), "{}", receiver.stderr());
}
