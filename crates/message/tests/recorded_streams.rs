//! Heka's recorded message streams (`testdata/heka/` at the repository root) decode to exactly the messages
//! they hold, and each message re-encodes to the bytes it was decoded from.

use std::path::PathBuf;

use bytes::Bytes;
use heka_message::{DEFAULT_MAX_MESSAGE_SIZE, Message, framing};

fn testdata(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/heka")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn decode_stream(data: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let s = framing::scan(rest, DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(s.error, None, "framing error in a recorded stream");
        let Some(f) = s.frame else {
            assert!(rest.is_empty(), "{} trailing bytes", rest.len());
            break;
        };
        let raw = &rest[f.message.clone()];
        let m = Message::decode_bytes(Bytes::copy_from_slice(raw)).expect("decodes");
        assert_eq!(m.to_bytes(), raw, "re-encoding changes the bytes");
        out.push(m);
        rest = &rest[s.consumed..];
    }
    out
}

#[test]
fn protobuf_log_holds_seven_messages() {
    let msgs = decode_stream(&testdata("protobuf.log"));
    assert_eq!(msgs.len(), 7);
    for m in &msgs {
        assert_eq!(m.uuid.len(), 16);
        assert!(m.timestamp > 0);
        assert!(!m.fields.is_empty());
    }
}

#[test]
fn multi_dat_holds_fifty_http_requests() {
    let msgs = decode_stream(&testdata("multi.dat"));
    assert_eq!(msgs.len(), 50);
    for m in &msgs {
        assert_eq!(m.type_bytes(), b"heka.httpdata.request");
    }
}
