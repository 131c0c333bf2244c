//! Heka's message wire format read by hand: one pass validates an encoded message and records
//! where its header values lie ([`RawIndex`]), so that a router can match it without decoding;
//! [`RawMessage`] reads headers and fields straight from the bytes; the full decode into a
//! [`Message`] walks the same bytes with the same reader, so a buffer that validates always
//! decodes.
//!
//! What is accepted is what protobuf decoders accept: fields in any order, a repeated header
//! value replaced by the last one, unknown fields of every wire type skipped (groups included,
//! to a depth of 64), numeric arrays packed or not. A known field with the wrong wire type, a
//! varint longer than 10 bytes, a length running past its buffer, tag 0 and a stray end-group
//! are errors.

use std::ops::Range;

use bytes::Bytes;

use crate::field::{Field, FieldValue, ValueType};
use crate::message::{DecodeError, Message};
use crate::view::MessageView;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// How deep unknown groups may nest before the message is refused: the nesting budget protobuf
/// decoders give a message (prost's `RECURSION_LIMIT`), one of which a field entry uses.
const RECURSION_LIMIT: u32 = 100;

fn err(what: &str) -> DecodeError {
    DecodeError::new(what)
}

/// A cursor over protobuf bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most keys, lengths and small numbers take one byte.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(err("buffer underflow"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(err("invalid varint"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(err("invalid varint"))
    }

    fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.buf[bytes]);
        Ok(u64::from_le_bytes(a))
    }

    /// The next `n` bytes, as a range of the buffer.
    #[inline]
    fn take(&mut self, n: usize) -> Result<Range<usize>, DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(err("buffer underflow"));
        }
        let r = self.pos..self.pos + n;
        self.pos += n;
        Ok(r)
    }

    #[inline]
    fn len_delimited(&mut self) -> Result<Range<usize>, DecodeError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| err("buffer underflow"))?;
        self.take(n)
    }

    /// The next key: field number and wire type.
    #[inline]
    fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let k = self.varint()?;
        let k = u32::try_from(k).map_err(|_| err("invalid key value"))?;
        let wire = (k & 7) as u8;
        let tag = k >> 3;
        if tag == 0 {
            return Err(err("invalid tag value: 0"));
        }
        if wire > FIXED32 {
            return Err(err("invalid wire type value"));
        }
        Ok((tag, wire))
    }

    /// Skips the value of an unknown field, with `budget` levels of nesting left.
    fn skip(&mut self, tag: u32, wire: u8, budget: u32) -> Result<(), DecodeError> {
        if budget == 0 {
            return Err(err("recursion limit reached"));
        }
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            START_GROUP => loop {
                let (t, w) = self.key()?;
                if w == END_GROUP {
                    if t != tag {
                        return Err(err("unexpected end group tag"));
                    }
                    return Ok(());
                }
                self.skip(t, w, budget - 1)?;
            },
            _ => Err(err("unexpected end group tag")),
        }
    }
}

fn wrong_wire(tag: u32, wire: u8) -> DecodeError {
    DecodeError::new(&format!("invalid wire type {wire} for field {tag}"))
}

/// One value of an encoded `Field`, as [`walk_field`] meets it.
enum Part {
    Name(Range<usize>),
    ValueType(i32),
    Representation(Range<usize>),
    String(Range<usize>),
    Bytes(Range<usize>),
    Integer(i64),
    Double(f64),
    Bool(bool),
}

/// Walks an encoded `Field` (`buf[range]`), handing every value to `f` in order; ranges are
/// relative to `buf`.
fn walk_field(
    buf: &[u8],
    range: Range<usize>,
    f: &mut impl FnMut(Part),
) -> Result<(), DecodeError> {
    let base = range.start;
    let mut r = Reader::new(&buf[range]);
    let shift = |x: Range<usize>| x.start + base..x.end + base;
    while !r.at_end() {
        let (tag, wire) = r.key()?;
        match (tag, wire) {
            (1, LEN) => f(Part::Name(shift(r.len_delimited()?))),
            (2, VARINT) => f(Part::ValueType(r.varint()? as i32)),
            (3, LEN) => f(Part::Representation(shift(r.len_delimited()?))),
            (4, LEN) => f(Part::String(shift(r.len_delimited()?))),
            (5, LEN) => f(Part::Bytes(shift(r.len_delimited()?))),
            (6, VARINT) => f(Part::Integer(r.varint()? as i64)),
            (8, VARINT) => f(Part::Bool(r.varint()? != 0)),
            (7, FIXED64) => f(Part::Double(f64::from_bits(r.fixed64()?))),
            (6 | 8, LEN) => {
                let packed = r.len_delimited()?;
                let mut p = Reader::new(&r.buf[packed]);
                while !p.at_end() {
                    let v = p.varint()?;
                    f(if tag == 6 {
                        Part::Integer(v as i64)
                    } else {
                        Part::Bool(v != 0)
                    });
                }
            }
            (7, LEN) => {
                let packed = r.len_delimited()?;
                let mut p = Reader::new(&r.buf[packed]);
                while !p.at_end() {
                    f(Part::Double(f64::from_bits(p.fixed64()?)));
                }
            }
            (1..=8, _) => return Err(wrong_wire(tag, wire)),
            _ => r.skip(tag, wire, RECURSION_LIMIT - 1)?,
        }
    }
    Ok(())
}

/// A header value of an encoded `Message`, as [`walk`] meets it.
enum Top {
    /// A bytes header (uuid 1, type 3, logger 4, payload 6, env_version 7, hostname 9).
    Bytes(u32, Range<usize>),
    /// A numeric header (timestamp 2, severity 5, pid 8).
    Number(u32, u64),
    /// A `Field` entry (validated when the walk validates), and where its key starts.
    Field { key_at: usize, entry: Range<usize> },
}

/// Walks an encoded `Message` from offset `start` (a key), handing every value to `f`; with
/// `validate`, every field entry is checked too.
fn walk(
    buf: &[u8],
    start: usize,
    validate: bool,
    f: &mut impl FnMut(Top) -> bool,
) -> Result<(), DecodeError> {
    let mut r = Reader::new(buf);
    r.pos = start;
    while !r.at_end() {
        let key_at = r.pos;
        let (tag, wire) = r.key()?;
        let more = match (tag, wire) {
            (1 | 3 | 4 | 6 | 7 | 9, LEN) => f(Top::Bytes(tag, r.len_delimited()?)),
            (2 | 5 | 8, VARINT) => f(Top::Number(tag, r.varint()?)),
            (10, LEN) => {
                let entry = r.len_delimited()?;
                if validate {
                    walk_field(buf, entry.clone(), &mut |_| {})?;
                }
                f(Top::Field { key_at, entry })
            }
            (1..=10, _) => return Err(wrong_wire(tag, wire)),
            _ => {
                r.skip(tag, wire, RECURSION_LIMIT)?;
                true
            }
        };
        if !more {
            break;
        }
    }
    Ok(())
}

/// Where a bytes header lies in an encoded message (empty when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of(r: Range<usize>) -> Span {
        // Messages are far below 4 GiB (the framing caps them); a larger one reads as empty.
        match (u32::try_from(r.start), u32::try_from(r.len())) {
            (Ok(start), Ok(len)) => Span { start, len },
            _ => Span::default(),
        }
    }

    fn get(self, buf: &[u8]) -> &[u8] {
        let start = self.start as usize;
        buf.get(start..start + self.len as usize).unwrap_or(&[])
    }
}

/// The header values of a validated encoded message and where its fields start: enough to
/// match it without decoding it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawIndex {
    uuid: Span,
    r#type: Span,
    logger: Span,
    payload: Span,
    env_version: Span,
    hostname: Span,
    timestamp: i64,
    severity: Option<i32>,
    pid: Option<i32>,
    /// Offset of the key of the first field entry (`u32::MAX` when there is none).
    fields: u32,
}

impl RawIndex {
    /// Validates `buf` as an encoded message and indexes its headers.
    pub fn build(buf: &[u8]) -> Result<RawIndex, DecodeError> {
        let mut ix = RawIndex {
            fields: u32::MAX,
            ..RawIndex::default()
        };
        walk(buf, 0, true, &mut |top| {
            match top {
                Top::Bytes(tag, r) => {
                    let s = Span::of(r);
                    match tag {
                        1 => ix.uuid = s,
                        3 => ix.r#type = s,
                        4 => ix.logger = s,
                        6 => ix.payload = s,
                        7 => ix.env_version = s,
                        _ => ix.hostname = s,
                    }
                }
                Top::Number(tag, v) => match tag {
                    2 => ix.timestamp = v as i64,
                    5 => ix.severity = Some(v as i32),
                    _ => ix.pid = Some(v as i32),
                },
                Top::Field { key_at, .. } => {
                    if ix.fields == u32::MAX {
                        ix.fields = u32::try_from(key_at).unwrap_or(u32::MAX);
                    }
                }
            }
            true
        })?;
        Ok(ix)
    }
}

/// A validated encoded message read in place: headers from its [`RawIndex`], fields by walking
/// the bytes.
#[derive(Clone, Copy, Debug)]
pub struct RawMessage<'a> {
    buf: &'a [u8],
    index: &'a RawIndex,
}

impl<'a> RawMessage<'a> {
    /// `buf` read through `index`, which must have been built from `buf`.
    pub fn new(buf: &'a [u8], index: &'a RawIndex) -> RawMessage<'a> {
        RawMessage { buf, index }
    }

    /// Calls `f` with the range of every field entry, in order, until it returns false.
    fn each_field(&self, mut f: impl FnMut(Range<usize>) -> bool) {
        if self.index.fields == u32::MAX {
            return;
        }
        // The bytes were validated when the index was built: the walk cannot fail.
        let _ = walk(
            self.buf,
            self.index.fields as usize,
            false,
            &mut |top| match top {
                Top::Field { entry, .. } => f(entry),
                _ => true,
            },
        );
    }
}

/// The name and value type of a field entry.
fn field_head(buf: &[u8], entry: Range<usize>) -> (Range<usize>, ValueType) {
    let mut name = 0..0;
    let mut vt = 0;
    let _ = walk_field(buf, entry, &mut |p| match p {
        Part::Name(r) => name = r,
        Part::ValueType(v) => vt = v,
        _ => {}
    });
    (name, ValueType::try_from(vt).unwrap_or(ValueType::String))
}

impl MessageView for RawMessage<'_> {
    fn uuid(&self) -> &[u8] {
        self.index.uuid.get(self.buf)
    }
    fn timestamp(&self) -> i64 {
        self.index.timestamp
    }
    fn type_bytes(&self) -> &[u8] {
        self.index.r#type.get(self.buf)
    }
    fn logger_bytes(&self) -> &[u8] {
        self.index.logger.get(self.buf)
    }
    fn payload_bytes(&self) -> &[u8] {
        self.index.payload.get(self.buf)
    }
    fn env_version_bytes(&self) -> &[u8] {
        self.index.env_version.get(self.buf)
    }
    fn hostname_bytes(&self) -> &[u8] {
        self.index.hostname.get(self.buf)
    }
    fn severity_or_default(&self) -> i32 {
        self.index.severity.unwrap_or(7)
    }
    fn pid_or_default(&self) -> i32 {
        self.index.pid.unwrap_or(0)
    }

    fn field_value(
        &self,
        name: &[u8],
        field_index: usize,
        array_index: usize,
    ) -> Option<FieldValue<'_>> {
        let buf = self.buf;
        let mut seen = 0;
        let mut found = None;
        self.each_field(|entry| {
            let (n, vt) = field_head(buf, entry.clone());
            if &buf[n] != name {
                return true;
            }
            if seen < field_index {
                seen += 1;
                return true;
            }
            found = Some((entry, vt));
            false
        });
        let (entry, vt) = found?;
        let mut i = 0;
        let mut value = None;
        let _ = walk_field(buf, entry, &mut |p| {
            if value.is_some() {
                return;
            }
            let v = match (p, vt) {
                (Part::String(r), ValueType::String) => FieldValue::String(&buf[r]),
                (Part::Bytes(r), ValueType::Bytes) => FieldValue::Bytes(&buf[r]),
                (Part::Integer(x), ValueType::Integer) => FieldValue::Integer(x),
                (Part::Double(x), ValueType::Double) => FieldValue::Double(x),
                (Part::Bool(x), ValueType::Bool) => FieldValue::Bool(x),
                _ => return,
            };
            if i == array_index {
                value = Some(v);
            }
            i += 1;
        });
        value
    }
}

/// Decodes `buf` into a message whose bytes values share `buf`.
pub(crate) fn decode(buf: &Bytes) -> Result<Message, DecodeError> {
    let mut m = Message::default();
    let mut entries = Vec::new();
    walk(buf, 0, true, &mut |top| {
        match top {
            Top::Bytes(tag, r) => {
                let v = buf.slice(r);
                match tag {
                    1 => m.uuid = v,
                    3 => m.r#type = Some(v),
                    4 => m.logger = Some(v),
                    6 => m.payload = Some(v),
                    7 => m.env_version = Some(v),
                    _ => m.hostname = Some(v),
                }
            }
            Top::Number(tag, v) => match tag {
                2 => m.timestamp = v as i64,
                5 => m.severity = Some(v as i32),
                _ => m.pid = Some(v as i32),
            },
            Top::Field { entry, .. } => entries.push(entry),
        }
        true
    })?;
    m.fields.reserve_exact(entries.len());
    for entry in entries {
        let mut f = Field::default();
        walk_field(buf, entry, &mut |p| match p {
            Part::Name(r) => f.name = buf.slice(r),
            Part::ValueType(v) => f.value_type = Some(v),
            Part::Representation(r) => f.representation = Some(buf.slice(r)),
            Part::String(r) => f.value_string.push(buf.slice(r)),
            Part::Bytes(r) => f.value_bytes.push(buf.slice(r)),
            Part::Integer(x) => f.value_integer.push(x),
            Part::Double(x) => f.value_double.push(x),
            Part::Bool(x) => f.value_bool.push(x),
        })?;
        m.fields.push(f);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    fn prost_decode(buf: &[u8]) -> Result<Message, prost::DecodeError> {
        Message::decode(buf)
    }

    /// Every header and every value of every field, read in place and from the decoded message.
    fn assert_same_view(buf: &[u8]) {
        let index = RawIndex::build(buf).unwrap();
        let raw = RawMessage::new(buf, &index);
        let m = Message::decode_slice(buf).unwrap();
        let mut names: Vec<&[u8]> = m.fields.iter().map(|f| &f.name[..]).collect();
        names.push(b"absent");
        assert_eq!(crate::view::first_difference(&raw, &m, &names), None);
        assert_eq!(raw.field_value(b"absent", 0, 0), None);
    }

    #[test]
    fn heka_recorded_messages_decode_as_prost_does_and_read_the_same_in_place() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/heka/protobuf.log"
        );
        let data = std::fs::read(path).unwrap();
        let mut off = 0;
        let mut n = 0;
        while off < data.len() {
            let s = crate::framing::scan(&data[off..], crate::DEFAULT_MAX_MESSAGE_SIZE);
            let f = s.frame.expect("only framed messages");
            let buf = &data[off..][f.message];
            assert_eq!(
                Message::decode_slice(buf).unwrap(),
                prost_decode(buf).unwrap()
            );
            assert_same_view(buf);
            off += s.consumed;
            n += 1;
        }
        assert_eq!(n, 7);
    }

    #[test]
    fn last_header_wins_unknown_fields_are_skipped_and_arrays_mix_packed_and_unpacked() {
        let mut b = vec![0x1a, 1, b'a', 0x1a, 2, b'b', b'b']; // type "a" then "bb"
        b.extend_from_slice(&[0x28, 3, 0x28, 4]); // severity 3 then 4
        b.extend_from_slice(&[0x7a, 2, 0xff, 0xfe]); // unknown tag 15, bytes
        b.extend_from_slice(&[0x7b, 0x08, 0x01, 0x7c]); // unknown group 15 holding a varint
        b.extend_from_slice(&[0x7d, 1, 2, 3, 4]); // unknown tag 15, fixed32
        // Field "n": INTEGER, values 1 (unpacked), [2, 3] (packed), 4 (unpacked).
        let field = [0x0a, 1, b'n', 0x10, 2, 0x30, 1, 0x32, 2, 2, 3, 0x30, 4];
        b.push(0x52);
        b.push(field.len() as u8);
        b.extend_from_slice(&field);
        let m = Message::decode_slice(&b).unwrap();
        assert_eq!(m, prost_decode(&b).unwrap());
        assert_eq!(m.type_bytes(), b"bb");
        assert_eq!(m.severity, Some(4));
        assert_eq!(m.fields[0].value_integer, vec![1, 2, 3, 4]);
        assert_same_view(&b);
        let index = RawIndex::build(&b).unwrap();
        let raw = RawMessage::new(&b, &index);
        assert_eq!(raw.field_value(b"n", 0, 2), Some(FieldValue::Integer(3)));
        assert_eq!(raw.field_value(b"n", 0, 4), None);
        assert_eq!(raw.field_value(b"n", 1, 0), None);
    }

    #[test]
    fn the_nth_field_of_a_name_and_the_array_its_type_selects() {
        let mut m = Message::new_now();
        m.add_field(Field::new_string("s", "first"));
        m.add_field(Field::new_double("d", 1.5));
        m.add_field(Field::new_string("s", "second"));
        let mut wrong = Field::new_string("w", "text");
        wrong.value_integer.push(9); // not selected: the type is STRING
        m.add_field(wrong);
        let b = m.to_bytes();
        assert_same_view(&b);
        let index = RawIndex::build(&b).unwrap();
        let raw = RawMessage::new(&b, &index);
        assert_eq!(
            raw.field_value(b"s", 1, 0),
            Some(FieldValue::String(b"second"))
        );
        assert_eq!(raw.field_value(b"d", 0, 0), Some(FieldValue::Double(1.5)));
        assert_eq!(
            raw.field_value(b"w", 0, 0),
            Some(FieldValue::String(b"text"))
        );
        assert_eq!(raw.field_value(b"w", 0, 1), None);
    }

    #[test]
    fn malformed_bytes_are_refused_by_both_readers() {
        let cases: &[&[u8]] = &[
            &[0x00],          // tag 0
            &[0x0a, 5, b'a'], // length past the end
            &[0x10, 0xff],    // varint cut short
            &[
                0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ], // 10th byte > 1
            &[0x12, 0],       // timestamp (varint field) sent as bytes
            &[0x7c],          // end group with no start
            &[0x7b, 0x84, 0x01], // group 15 closed by group 16
            &[0x7e],          // wire type 6
            &[0x52, 2, 0x3a, 1], // field with packed doubles cut short
            &[0x52, 3, 0x3a, 1, 0], // packed doubles not a multiple of 8
            &[0x52, 2, 0x08, 1], // field name (bytes) sent as a varint
        ];
        for c in cases {
            assert!(Message::decode_slice(c).is_err(), "{c:02x?}");
            assert!(RawIndex::build(c).is_err(), "{c:02x?}");
            assert!(prost_decode(c).is_err(), "prost accepts {c:02x?}");
        }
        // Groups nest as deep as prost allows, and no deeper.
        let nested = |n| {
            let mut b = vec![0x7b; n];
            b.extend(std::iter::repeat_n(0x7c, n));
            b
        };
        for n in [99, 100, 101] {
            let b = nested(n);
            let ok = prost_decode(&b).is_ok();
            assert_eq!(ok, n <= 100, "{n}");
            assert_eq!(Message::decode_slice(&b).is_ok(), ok, "{n}");
            assert_eq!(RawIndex::build(&b).is_ok(), ok, "{n}");
        }
    }
}
