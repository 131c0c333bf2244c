//! UdpInput → FileOutput, one framed message per datagram, and raw lines with PayloadEncoder.

use std::net::UdpSocket;

use crate::support::*;

#[test]
fn udp_framed_messages_reach_file_output() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[UdpInput]
address = "127.0.0.1:0"
splitter = "HekaFramingSplitter"
decoder = "ProtobufDecoder"
[out]
type = "FileOutput"
message_matcher = "Type == 'e2e.test'"
path = "{dir}/out.log"
encoder = "ProtobufEncoder"
"#,
    );
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent: Vec<_> = (0..20).map(test_message).collect();
    // UDP may drop datagrams sent before the socket is bound: resend until all arrived.
    let got = wait_for("udp messages", 20, || {
        for m in &sent {
            sock.send_to(&frame(m, None), ("127.0.0.1", port)).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let got = read_framed(&h.path("out.log"));
        (got.len() >= 20).then_some(got)
    });
    assert_eq!(&got[..20], &sent[..]);
    assert!(h.stop().success());
}

#[test]
fn udp_payload_lines_are_written_with_payload_encoder() {
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[UdpInput]
address = "127.0.0.1:0"
[out]
type = "FileOutput"
message_matcher = "Logger == 'UdpInput'"
path = "{dir}/out.log"
encoder = "PayloadEncoder"
"#,
    );
    let port = h.listening("UdpInput");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let lines = wait_for("udp payloads", 20, || {
        sock.send_to(b"hello from udp", ("127.0.0.1", port))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let text = std::fs::read_to_string(h.path("out.log")).ok()?;
        (!text.is_empty()).then_some(text)
    });
    assert!(lines.lines().all(|l| l == "hello from udp"), "{lines:?}");
    assert!(h.stop().success());
}

#[test]
fn udp_signed_datagrams_are_verified() {
    use heka_message::signing::{HmacHash, SigningConfig};
    let mut h = Hekad::start(
        r#"
[hekad]
base_dir = "{dir}/cache"
[udp_in]
type = "UdpInput"
address = "127.0.0.1:0"
splitter = "signed"
decoder = "ProtobufDecoder"
[signed]
type = "HekaFramingSplitter"
  [signed.signer.udp_2]
  hmac_key = "udp key"
[trusted]
type = "FileOutput"
message_matcher = "TRUE"
message_signer = "udp"
path = "{dir}/trusted.log"
encoder = "ProtobufEncoder"
"#,
    );
    let port = h.listening("udp_in");
    let good = SigningConfig {
        name: "udp".into(),
        hash: HmacHash::Sha1,
        key: b"udp key".to_vec(),
        version: 2,
    };
    let forged = SigningConfig {
        key: b"guess".to_vec(),
        ..good.clone()
    };
    let (ok, bad) = (test_message(1), test_message(2));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let got = wait_for("the signed message", 20, || {
        for (m, s) in [(&bad, &forged), (&ok, &good)] {
            sock.send_to(&frame(m, Some(s)), ("127.0.0.1", port))
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let got = read_framed(&h.path("trusted.log"));
        (!got.is_empty()).then_some(got)
    });
    assert!(
        got.iter().all(|m| *m == ok),
        "only the verified message may pass"
    );
    assert!(h.stop().success());
}
