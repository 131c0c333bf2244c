//! TcpInput → HekaFramingSplitter → ProtobufDecoder → router → FileOutput, plain, signed and TLS;
//! TcpOutput forwarding to a second hekad.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;

use heka_message::FieldValue;
use heka_message::signing::{HmacHash, SigningConfig};

use crate::support::*;

#[test]
fn tcp_messages_reach_file_output_unchanged() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.test'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
flush_count = 1
"#,
    );
    let port = h.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{port}")).unwrap();
    let sent: Vec<_> = (0..200).map(test_message).collect();
    for m in &sent {
        s.send(m).unwrap();
    }
    s.flush().unwrap();
    let got = wait_framed(&h.path("out.log"), 200);
    assert_eq!(got, sent, "messages must arrive unchanged and in order");
    assert!(h.stop().success(), "{}", h.stderr());
}

#[test]
fn garbage_between_frames_is_skipped() {
    let mut h = Hekad::start(
        r#"
[TcpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
[hekad]
base_dir = "{dir}/cache"
"#,
    );
    let port = h.listening("TcpInput");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (m1, m2) = (test_message(1), test_message(2));
    let mut data = b"garbage\x1e\x02\xff\xff".to_vec();
    data.extend(frame(&m1, None));
    data.extend_from_slice(b"\x00\x01more garbage");
    data.extend(frame(&m2, None));
    c.write_all(&data).unwrap();
    let got = wait_framed(&h.path("out.log"), 2);
    assert_eq!(got, vec![m1, m2]);
}

#[test]
fn only_verified_signers_reach_a_message_signer_output() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "signed"
[signed]
type = "HekaFramingSplitter"
  [signed.signer.ops_1]
  hmac_key = "the key"
[trusted]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "ops"
path = "{dir}/trusted.log"
encoder = "ProtobufEncoder"
[all]
type = "FileOutput"
message_matcher = "TRUE"
path = "{dir}/all.log"
encoder = "ProtobufEncoder"
"#,
    );
    let port = h.listening("in");
    let good = |hash| SigningConfig {
        name: "ops".into(),
        hash,
        key: b"the key".to_vec(),
        version: 1,
    };
    let wrong_key = SigningConfig {
        key: b"other".to_vec(),
        ..good(HmacHash::Md5)
    };
    let wrong_version = SigningConfig {
        version: 2,
        ..good(HmacHash::Md5)
    };
    let mut data = Vec::new();
    data.extend(frame(&test_message(1), Some(&good(HmacHash::Md5))));
    data.extend(frame(&test_message(2), Some(&wrong_key)));
    data.extend(frame(&test_message(3), None));
    data.extend(frame(&test_message(4), Some(&wrong_version)));
    data.extend(frame(&test_message(5), Some(&good(HmacHash::Sha1))));
    // A signer name without an HMAC must not count as signed (Heka accepted it as signed).
    let mut spoof = Vec::new();
    let hdr = heka_message::framing::Header {
        message_length: test_message(6).to_bytes().len() as u32,
        hmac_signer: Some(bytes::Bytes::from_static(b"ops")),
        hmac_key_version: Some(1),
        ..Default::default()
    };
    let mut hb = Vec::new();
    hdr.encode(&mut hb);
    spoof.push(0x1e);
    spoof.push(hb.len() as u8);
    spoof.extend(hb);
    spoof.push(0x1f);
    spoof.extend(test_message(6).to_bytes());
    data.extend(spoof);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&data).unwrap();
    let all = wait_framed(&h.path("all.log"), 4);
    let seqs = |ms: &[heka_message::Message]| -> Vec<i64> {
        ms.iter()
            .map(|m| match m.field_value(b"seq") {
                Some(Some(FieldValue::Integer(i))) => i,
                other => panic!("no seq: {other:?}"),
            })
            .collect()
    };
    assert_eq!(seqs(&all), vec![1, 3, 5, 6]);
    let trusted = wait_framed(&h.path("trusted.log"), 2);
    assert!(h.stop().success());
    assert_eq!(seqs(&read_framed(&h.path("trusted.log"))), vec![1, 5]);
    assert_eq!(trusted.len(), 2);
}

fn tls_files(
    dir: &std::path::Path,
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    rustls_pki_types::CertificateDer<'static>,
) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key, ck.cert.der().clone())
}

#[test]
fn tls_input_accepts_framed_messages() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key, der) = tls_files(certs.path());
    let mut h = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
[TcpInput]
address = "127.0.0.1:0"
use_tls = true
  [TcpInput.tls]
  cert_file = "{}"
  key_file = "{}"
[out]
type = "FileOutput"
message_matcher = "TRUE"
path = "{{dir}}/out.log"
encoder = "ProtobufEncoder"
"#,
        cert.display(),
        key.display()
    ));
    let port = h.listening("TcpInput");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(("127.0.0.1", port)).unwrap());
    let sent: Vec<_> = (0..20).map(test_message).collect();
    for m in &sent {
        tls.write_all(&frame(m, None)).unwrap();
    }
    tls.flush().unwrap();
    assert_eq!(wait_framed(&h.path("out.log"), 20), sent);
    assert!(h.stop().success());
}

#[test]
fn tcp_output_forwards_signed_messages_to_another_hekad() {
    let mut receiver = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[in]
type = "TcpInput"
address = "127.0.0.1:0"
splitter = "signed"
[signed]
type = "HekaFramingSplitter"
  [signed.signer.relay_0]
  hmac_key = "relay key"
[out]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "relay"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
"#,
    );
    let p2 = receiver.listening("in");
    let mut sender = Hekad::start(&format!(
        r#"
[hekad]
base_dir = "{{dir}}/cache"
[TcpInput]
address = "127.0.0.1:0"
[fwd]
type = "TcpOutput"
message_matcher = "Type == 'e2e.test'"
address = "127.0.0.1:{p2}"
  [fwd.signer]
  name = "relay"
  hmac_key = "relay key"
  version = 0
"#
    ));
    let p1 = sender.listening("TcpInput");
    let mut s = heka_client::TcpSender::connect(&format!("127.0.0.1:{p1}")).unwrap();
    let sent: Vec<_> = (0..50).map(test_message).collect();
    for m in &sent {
        s.send(m).unwrap();
    }
    s.flush().unwrap();
    assert_eq!(wait_framed(&receiver.path("out.log"), 50), sent);
    assert!(sender.stop().success(), "{}", sender.stderr());
    assert!(receiver.stop().success());
}
