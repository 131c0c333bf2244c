//! Fuzzes Heka stream framing: `framing::scan` driven like a splitter, `Header::decode`,
//! `framing::unframe` and HMAC verification of every record found.
//!
//! Input layout: three control bytes, then the stream.
//!
//! * byte 0 selects the maximum message size from [`MAX_SIZES`];
//! * byte 1 is the largest chunk (minus one) the chunked pass feeds at a time;
//! * byte 2 seeds the generator of chunk sizes.
//!
//! The stream is scanned twice: whole, and fed in chunks into a growing buffer that drops the
//! consumed bytes after each scan, as a splitter does. Both passes must find the same records
//! at the same stream offsets, because `scan` decides about a record only once every byte it
//! needs is present.
//!
//! Invariants checked on every scan: `consumed <= buf.len()`; a found record lies inside the
//! buffer, is well formed (0x1E, header length byte, header, 0x1F, message), ends exactly at
//! `consumed`, and its message range is `header.message_length` bytes long, within the limit;
//! when no record is found, the scan stops either at the end of the buffer or on a record
//! separator, and scanning there again waits without consuming anything. Every splitter loop
//! therefore progresses or waits for more data.

#![no_main]

mod common;

use std::ops::Range;

use heka_message::framing::{self, Frame, HashFunction, Header, RECORD_SEPARATOR, Scan};
use heka_message::signing::{self, HmacHash, SignerKeys, Verification};
use libfuzzer_sys::fuzz_target;

/// Maximum message sizes byte 0 chooses from; the default comes first so that plain seeds use
/// it.
const MAX_SIZES: [u32; 9] = [
    heka_message::DEFAULT_MAX_MESSAGE_SIZE,
    0,
    1,
    8,
    64,
    255,
    1024,
    4096,
    u32::MAX,
];

/// Signer keys the verification pass knows (`name_version`, key); the seeds hold records
/// signed with them.
const KEYS: [(&str, &[u8]); 3] = [("test_1", b"xxx"), ("ops_3", b"secret"), ("_0", b"")];

/// A record found in the stream, with ranges relative to the start of the stream.
#[derive(Debug, PartialEq, Eq)]
struct Found {
    header: Header,
    record: Range<usize>,
    message: Range<usize>,
}

fn shift(r: &Range<usize>, by: usize) -> Range<usize> {
    r.start + by..r.end + by
}

/// Checks the invariants of one `scan` result on `buf`.
fn check_scan(buf: &[u8], s: &Scan, max: u32) {
    assert!(
        s.consumed <= buf.len(),
        "consumed {} > buffer length {}",
        s.consumed,
        buf.len()
    );
    match &s.frame {
        Some(f) => check_frame(buf, s, f, max),
        None => {
            if s.consumed < buf.len() {
                assert_eq!(
                    buf[s.consumed], RECORD_SEPARATOR,
                    "a scan without a record must stop on a record separator"
                );
                // The splitter drops `consumed` bytes and scans again once more data came in;
                // scanning the same bytes again must wait at once.
                let again = framing::scan(&buf[s.consumed..], max);
                assert_eq!(again.consumed, 0, "a waiting scan must be stable");
                assert!(again.frame.is_none(), "a waiting scan must be stable");
            }
        }
    }
}

fn check_frame(buf: &[u8], s: &Scan, f: &Frame, max: u32) {
    let Frame {
        header,
        record,
        header_bytes,
        message,
    } = f;
    assert!(record.start < record.end, "empty record {record:?}");
    assert_eq!(
        record.end, s.consumed,
        "a record must end where the scan stops"
    );
    assert!(
        record.end <= buf.len(),
        "record {record:?} beyond {}",
        buf.len()
    );
    assert_eq!(header_bytes.start, record.start + 2);
    assert!(header_bytes.start <= header_bytes.end);
    assert_eq!(message.start, header_bytes.end + 1);
    assert_eq!(message.end, record.end);
    assert_eq!(
        message.len(),
        header.message_length as usize,
        "message range length differs from header.message_length"
    );
    assert!(
        header.message_length <= max,
        "message_length over the limit"
    );
    assert_eq!(buf[record.start], RECORD_SEPARATOR);
    assert_eq!(usize::from(buf[record.start + 1]), header_bytes.len());
    assert_eq!(buf[header_bytes.end], framing::UNIT_SEPARATOR);
    assert_eq!(
        Header::decode(&buf[header_bytes.clone()]).as_ref(),
        Ok(header),
        "the header must be the decoding of its bytes"
    );
    // The record alone unframes to the same header and message.
    match framing::unframe(&buf[record.clone()], max) {
        Ok((h, m)) => {
            assert_eq!(&h, header);
            assert_eq!(m, &buf[message.clone()]);
        }
        Err(e) => panic!("a found record must unframe: {e}"),
    }
}

/// Scans the whole stream as one buffer.
fn scan_whole(stream: &[u8], max: u32) -> (Vec<Found>, usize) {
    let mut found = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &stream[pos..];
        let s = framing::scan(rest, max);
        check_scan(rest, &s, max);
        let consumed = s.consumed;
        let Some(f) = s.frame else {
            return (found, pos + consumed);
        };
        found.push(Found {
            header: f.header,
            record: shift(&f.record, pos),
            message: shift(&f.message, pos),
        });
        pos += consumed;
    }
}

/// Feeds the stream in chunks into a buffer that keeps only unconsumed bytes.
fn scan_chunked(stream: &[u8], max: u32, max_chunk: u8, seed: u8) -> (Vec<Found>, usize) {
    let mut found = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0; // stream offset of buf[0]
    for chunk in common::chunks(stream, max_chunk, seed) {
        buf.extend_from_slice(chunk);
        loop {
            let s = framing::scan(&buf, max);
            check_scan(&buf, &s, max);
            let consumed = s.consumed;
            let frame = s.frame;
            if let Some(f) = &frame {
                found.push(Found {
                    header: f.header.clone(),
                    record: shift(&f.record, base),
                    message: shift(&f.message, base),
                });
            }
            buf.drain(..consumed);
            base += consumed;
            if frame.is_none() {
                break;
            }
        }
    }
    assert_eq!(base + buf.len(), stream.len());
    (found, base)
}

/// Verifies one record and checks the outcome against an independent recomputation.
fn check_verify(keys: &SignerKeys, header: &Header, message: &[u8]) {
    let v = keys.verify(header, message);
    let Some(tag) = &header.hmac else {
        assert_eq!(v, Verification::Unsigned, "no HMAC must mean unsigned");
        return;
    };
    let hash = match header.hmac_hash_function {
        None | Some(HashFunction::Md5) => HmacHash::Md5,
        Some(HashFunction::Sha1) => HmacHash::Sha1,
        Some(HashFunction::Unknown(_)) => {
            assert_eq!(v, Verification::Rejected, "unknown hash must be rejected");
            return;
        }
    };
    let name = header.hmac_signer.clone().unwrap_or_default();
    let lookup = format!(
        "{}_{}",
        String::from_utf8_lossy(&name),
        header.hmac_key_version.unwrap_or(0)
    );
    let good = KEYS
        .iter()
        .find(|(k, _)| *k == lookup)
        .is_some_and(|(_, key)| signing::hmac(hash, key, message) == tag.as_ref());
    if good {
        assert_eq!(v, Verification::Signed(name));
    } else {
        assert_eq!(v, Verification::Rejected);
    }
}

fuzz_target!(|data: &[u8]| {
    // Header decoding on raw bytes; a decoded header survives an encode/decode round trip.
    let raw_header = &data[..data.len().min(framing::MAX_HEADER_SIZE)];
    if let Ok(h) = Header::decode(raw_header) {
        let mut enc = Vec::new();
        h.encode(&mut enc);
        assert_eq!(Header::decode(&enc), Ok(h), "header round trip");
    }

    let [max_sel, max_chunk, seed, stream @ ..] = data else {
        return;
    };
    let max = MAX_SIZES[usize::from(*max_sel) % MAX_SIZES.len()];

    let (whole, whole_end) = scan_whole(stream, max);
    let (chunked, chunked_end) = scan_chunked(stream, max, *max_chunk, *seed);
    assert_eq!(whole, chunked, "chunked feeding must find the same records");
    assert_eq!(
        whole_end, chunked_end,
        "both passes must stop at the same offset"
    );

    let mut keys = SignerKeys::default();
    for (name_version, key) in KEYS {
        keys.insert(name_version, key);
    }
    for f in &whole {
        let message = &stream[f.message.clone()];
        check_verify(&keys, &f.header, message);
        // Re-framing the message (unsigned) yields a record that scans back to it.
        let mut out = Vec::new();
        match framing::encode_frame(message, None, max, &mut out) {
            Ok(()) => {
                let s = framing::scan(&out, max);
                assert_eq!(s.consumed, out.len());
                let Some(again) = s.frame else {
                    panic!("a re-framed message must scan");
                };
                assert_eq!(&out[again.message], message);
            }
            Err(e) => panic!("a found message must fit a frame again: {e}"),
        }
    }
});
