//! Heka stream framing.
//!
//! One framed record:
//!
//! ```text
//! 0x1E | H (1 byte) | Header protobuf (H bytes) | 0x1F | message (Header.message_length bytes)
//! ```
//!
//! [`scan`] finds the next record in a buffer and resynchronises after garbage, as Heka's
//! `HekaFramingSplitter.FindRecord` does; [`encode_frame`] writes one record.

use std::ops::Range;

use bytes::Bytes;

use crate::signing::SigningConfig;

/// Record separator that starts every frame.
pub const RECORD_SEPARATOR: u8 = 0x1E;
/// Unit separator between the header and the message.
pub const UNIT_SEPARATOR: u8 = 0x1F;
/// Largest encoded header.
pub const MAX_HEADER_SIZE: usize = 255;
/// Bytes of framing around header and message (0x1E, length byte, 0x1F).
pub const FRAMING_OVERHEAD: usize = 3;

/// Largest record for a given maximum message size (Heka's `MAX_RECORD_SIZE`).
pub fn max_record_size(max_message_size: u32) -> usize {
    FRAMING_OVERHEAD + MAX_HEADER_SIZE + max_message_size as usize
}

/// HMAC hash function named in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFunction {
    /// HMAC-MD5 (the protobuf default, 0).
    Md5,
    /// HMAC-SHA1 (1).
    Sha1,
    /// A value Heka does not know; verification of such a header fails.
    Unknown(u64),
}

/// The frame header (`message.Header`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Length of the message bytes that follow the unit separator.
    pub message_length: u32,
    /// Hash function of the HMAC; `None` means unset (MD5).
    pub hmac_hash_function: Option<HashFunction>,
    /// Signer name.
    pub hmac_signer: Option<Bytes>,
    /// Signer key version.
    pub hmac_key_version: Option<u32>,
    /// HMAC digest of the message bytes.
    pub hmac: Option<Bytes>,
}

/// Errors from framing and unframing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The header bytes are not a valid protobuf `Header`.
    #[error("invalid frame header: {0}")]
    BadHeader(&'static str),
    /// The header is not followed by the unit separator.
    #[error("missing unit separator after the frame header")]
    MissingUnitSeparator,
    /// The header announces a message larger than allowed.
    #[error("message exceeds the maximum length [{max} bytes] len: {len}")]
    TooLong {
        /// Announced length.
        len: u64,
        /// The limit in force.
        max: u32,
    },
    /// An encoded header would not fit its one length byte.
    #[error("message header too big: {0} bytes")]
    HeaderTooBig(usize),
    /// A message is too big to frame.
    #[error("message too big: {len} bytes (max {max})")]
    MessageTooBig {
        /// Length of the message.
        len: usize,
        /// The limit in force.
        max: u32,
    },
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, FramingError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or(FramingError::BadHeader("truncated varint"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(FramingError::BadHeader("varint too long"))
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Header {
    /// Decodes a header protobuf. Unknown fields are skipped.
    pub fn decode(buf: &[u8]) -> Result<Header, FramingError> {
        let mut h = Header::default();
        let mut have_len = false;
        let mut pos = 0;
        while pos < buf.len() {
            let key = read_varint(buf, &mut pos)?;
            let (tag, wire) = (key >> 3, key & 7);
            match (tag, wire) {
                (1, 0) => {
                    let v = read_varint(buf, &mut pos)?;
                    h.message_length = u32::try_from(v)
                        .map_err(|_| FramingError::BadHeader("message_length out of range"))?;
                    have_len = true;
                }
                (3, 0) => {
                    h.hmac_hash_function = Some(match read_varint(buf, &mut pos)? {
                        0 => HashFunction::Md5,
                        1 => HashFunction::Sha1,
                        n => HashFunction::Unknown(n),
                    })
                }
                (5, 0) => h.hmac_key_version = Some(read_varint(buf, &mut pos)? as u32),
                (4 | 6, 2) => {
                    let len = read_varint(buf, &mut pos)? as usize;
                    let end = pos
                        .checked_add(len)
                        .filter(|e| *e <= buf.len())
                        .ok_or(FramingError::BadHeader("truncated field"))?;
                    let v = Bytes::copy_from_slice(&buf[pos..end]);
                    pos = end;
                    if tag == 4 {
                        h.hmac_signer = Some(v);
                    } else {
                        h.hmac = Some(v);
                    }
                }
                (1 | 3 | 4 | 5 | 6, _) => return Err(FramingError::BadHeader("wrong wire type")),
                (0, _) => return Err(FramingError::BadHeader("invalid tag 0")),
                (_, 0) => {
                    read_varint(buf, &mut pos)?;
                }
                (_, 1) => pos += 8,
                (_, 5) => pos += 4,
                (_, 2) => {
                    let len = read_varint(buf, &mut pos)? as usize;
                    pos = pos.saturating_add(len);
                }
                _ => return Err(FramingError::BadHeader("unsupported wire type")),
            }
            if pos > buf.len() {
                return Err(FramingError::BadHeader("truncated field"));
            }
        }
        if !have_len {
            // Heka compat: pipeline/splitters.go accepts a header without message_length and
            // yields an empty message.
            h.message_length = 0;
        }
        Ok(h)
    }

    /// Appends the protobuf encoding of this header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x08);
        write_varint(out, u64::from(self.message_length));
        if let Some(f) = self.hmac_hash_function {
            out.push(0x18);
            write_varint(
                out,
                match f {
                    HashFunction::Md5 => 0,
                    HashFunction::Sha1 => 1,
                    HashFunction::Unknown(n) => n,
                },
            );
        }
        if let Some(s) = &self.hmac_signer {
            out.push(0x22);
            write_varint(out, s.len() as u64);
            out.extend_from_slice(s);
        }
        if let Some(v) = self.hmac_key_version {
            out.push(0x28);
            write_varint(out, u64::from(v));
        }
        if let Some(m) = &self.hmac {
            out.push(0x32);
            write_varint(out, m.len() as u64);
            out.extend_from_slice(m);
        }
    }
}

/// Appends one framed record holding `message` to `out`, signed when `signer` is given.
///
/// On error nothing is appended.
pub fn encode_frame(
    message: &[u8],
    signer: Option<&SigningConfig>,
    max_message_size: u32,
    out: &mut Vec<u8>,
) -> Result<(), FramingError> {
    if message.len() > max_message_size as usize {
        return Err(FramingError::MessageTooBig {
            len: message.len(),
            max: max_message_size,
        });
    }
    let mut header = match signer {
        Some(s) => s.sign(message),
        None => Header::default(),
    };
    header.message_length = message.len() as u32;
    let start = out.len();
    out.push(RECORD_SEPARATOR);
    out.push(0);
    header.encode(out);
    let hlen = out.len() - start - 2;
    if hlen > MAX_HEADER_SIZE {
        out.truncate(start);
        return Err(FramingError::HeaderTooBig(hlen));
    }
    out[start + 1] = hlen as u8;
    out.push(UNIT_SEPARATOR);
    out.extend_from_slice(message);
    Ok(())
}

/// One record found by [`scan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The decoded header.
    pub header: Header,
    /// Byte range of the whole record (from the 0x1E) in the scanned buffer.
    pub record: Range<usize>,
    /// Byte range of the header bytes (after the length byte) in the scanned buffer.
    pub header_bytes: Range<usize>,
    /// Byte range of the message bytes in the scanned buffer.
    pub message: Range<usize>,
}

/// Result of [`scan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Bytes at the start of the buffer that are consumed: garbage, plus the record if one was
    /// found. The caller drops them.
    pub consumed: usize,
    /// The record found, if any.
    pub frame: Option<Frame>,
    /// The last framing error met while resynchronising (for logging).
    pub error: Option<FramingError>,
}

/// Finds the next framed record in `buf`.
///
/// Garbage before a record separator is consumed; a separator whose header is invalid or
/// announces a message longer than `max_message_size` is skipped one byte at a time, so a
/// corrupt stream resynchronises on the next valid frame.
pub fn scan(buf: &[u8], max_message_size: u32) -> Scan {
    let mut from = 0;
    let mut error = None;
    loop {
        let Some(off) = memchr::memchr(RECORD_SEPARATOR, &buf[from..]) else {
            return Scan {
                consumed: buf.len(),
                frame: None,
                error,
            };
        };
        let s = from + off;
        let wait = Scan {
            consumed: s,
            frame: None,
            error: error.clone(),
        };
        let Some(&hlen) = buf.get(s + 1) else {
            return wait;
        };
        let header_end = s + 2 + hlen as usize;
        if buf.len() <= header_end {
            return wait;
        }
        let header = if buf[header_end] != UNIT_SEPARATOR {
            Err(FramingError::MissingUnitSeparator)
        } else {
            Header::decode(&buf[s + 2..header_end]).and_then(|h| {
                if h.message_length > max_message_size {
                    Err(FramingError::TooLong {
                        len: u64::from(h.message_length),
                        max: max_message_size,
                    })
                } else {
                    Ok(h)
                }
            })
        };
        match header {
            Err(e) => {
                error = Some(e);
                from = s + 1;
            }
            Ok(header) => {
                let msg_start = header_end + 1;
                let msg_end = msg_start + header.message_length as usize;
                if buf.len() < msg_end {
                    return Scan {
                        consumed: s,
                        frame: None,
                        error,
                    };
                }
                return Scan {
                    consumed: msg_end,
                    frame: Some(Frame {
                        header,
                        record: s..msg_end,
                        header_bytes: s + 2..header_end,
                        message: msg_start..msg_end,
                    }),
                    error,
                };
            }
        }
    }
}

/// Splits one complete record (as found by [`scan`]) into its header and message bytes.
pub fn unframe(record: &[u8], max_message_size: u32) -> Result<(Header, &[u8]), FramingError> {
    let s = scan(record, max_message_size);
    match s.frame {
        Some(f) if f.record.start == 0 => Ok((f.header, &record[f.message])),
        _ => Err(s
            .error
            .unwrap_or(FramingError::BadHeader("incomplete record"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::HmacHash;

    #[test]
    fn frame_round_trip_unsigned() {
        let mut out = Vec::new();
        encode_frame(b"hello", None, 65536, &mut out).unwrap();
        assert_eq!(out, [0x1e, 2, 0x08, 5, 0x1f, b'h', b'e', b'l', b'l', b'o']);
        let s = scan(&out, 65536);
        let f = s.frame.unwrap();
        assert_eq!(s.consumed, out.len());
        assert_eq!(&out[f.message], b"hello");
        assert_eq!(f.header.hmac, None);
    }

    #[test]
    fn signed_header_round_trip() {
        let signer = SigningConfig {
            name: "ops".into(),
            hash: HmacHash::Sha1,
            key: b"secret".to_vec(),
            version: 3,
        };
        let mut out = Vec::new();
        encode_frame(b"msg", Some(&signer), 65536, &mut out).unwrap();
        let f = scan(&out, 65536).frame.unwrap();
        assert_eq!(f.header.hmac_signer.as_deref(), Some(&b"ops"[..]));
        assert_eq!(f.header.hmac_key_version, Some(3));
        assert_eq!(f.header.hmac_hash_function, Some(HashFunction::Sha1));
        assert_eq!(f.header.hmac.as_ref().map(|h| h.len()), Some(20));
    }

    #[test]
    fn resynchronises_after_garbage_and_bad_headers() {
        let mut out = b"junk\x1e\x05\xff\xff\xff\xff\xff\x1fmore junk\x1e\x01\x00".to_vec();
        let garbage = out.len();
        encode_frame(b"ok", None, 65536, &mut out).unwrap();
        let s = scan(&out, 65536);
        let f = s.frame.unwrap();
        assert_eq!(f.record.start, garbage);
        assert_eq!(&out[f.message], b"ok");
        assert!(s.error.is_some());
    }

    #[test]
    fn waits_for_incomplete_frames_without_consuming_them() {
        let mut out = b"xx".to_vec();
        encode_frame(b"hello", None, 65536, &mut out).unwrap();
        for cut in 2..out.len() {
            let s = scan(&out[..cut], 65536);
            assert_eq!(s.frame, None);
            assert_eq!(s.consumed, 2, "cut {cut}");
        }
    }

    #[test]
    fn enforces_max_message_size() {
        let mut out = Vec::new();
        encode_frame(&[b'a'; 2000], None, 4096, &mut out).unwrap();
        let s = scan(&out, 1500);
        assert_eq!(s.frame, None);
        assert!(matches!(
            s.error,
            Some(FramingError::TooLong { len: 2000, .. })
        ));
        assert!(encode_frame(&[b'a'; 2000], None, 1500, &mut Vec::new()).is_err());
    }

    #[test]
    fn header_decode_rejects_malformed_headers_with_the_reason() {
        let bad = |why: &'static str| Err(FramingError::BadHeader(why));
        let len = |n: u32| {
            Ok(Header {
                message_length: n,
                ..Header::default()
            })
        };
        let cases: &[(&[u8], Result<Header, FramingError>)] = &[
            // Heka compat: no message_length means an empty message.
            (b"", len(0)),
            (b"\x08\x05", len(5)),
            (b"\x08\xac\x02", len(300)),
            // Unknown fields of every wire type are skipped.
            (b"\x38\x01\x08\x02", len(2)),
            (b"\x39\x01\x02\x03\x04\x05\x06\x07\x08\x08\x03", len(3)),
            (b"\x3a\x02ab\x08\x04", len(4)),
            (b"\x3d\x01\x02\x03\x04\x08\x06", len(6)),
            (b"\x08", bad("truncated varint")),
            (b"\x08\x80", bad("truncated varint")),
            (b"\x80", bad("truncated varint")),
            (
                b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                bad("varint too long"),
            ),
            (
                b"\x08\x80\x80\x80\x80\x10",
                bad("message_length out of range"),
            ),
            (b"\x00\x00", bad("invalid tag 0")),
            (b"\x0a\x00", bad("wrong wire type")),
            (b"\x19\x00", bad("wrong wire type")),
            (b"\x3b", bad("unsupported wire type")),
            (b"\x3f", bad("unsupported wire type")),
            (b"\x22\x05abc", bad("truncated field")),
            (b"\x39\x01\x02\x03", bad("truncated field")),
            (b"\x3a\x09ab", bad("truncated field")),
        ];
        for (bytes, want) in cases {
            assert_eq!(&Header::decode(bytes), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn header_decode_of_garbage_is_an_error_or_round_trips() {
        let (mut ok, mut err) = (0, 0);
        for n in 0..=255u8 {
            let b = [n, n.wrapping_mul(7), 0xff, n, 0x80, 0x80];
            for l in 0..=b.len() {
                match Header::decode(&b[..l]) {
                    Ok(h) => {
                        ok += 1;
                        let mut again = Vec::new();
                        h.encode(&mut again);
                        assert_eq!(Header::decode(&again), Ok(h), "{:02x?}", &b[..l]);
                    }
                    Err(e) => {
                        err += 1;
                        assert!(matches!(e, FramingError::BadHeader(_)), "{e:?}");
                    }
                }
            }
        }
        // Both outcomes occur, so the loop checks both paths.
        assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
    }
}
