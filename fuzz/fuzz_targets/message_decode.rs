//! Fuzzes `Message::decode_slice` on arbitrary bytes.
//!
//! Our reader must accept exactly what prost's generated decoder accepts, and decode to the same
//! message. Validating and indexing the bytes (`RawIndex`) must succeed exactly when decoding
//! does, and reading the bytes in place (`RawMessage`) must give what the decoded message gives
//! for every header and every field value.
//!
//! Whatever decodes must re-encode and decode again to an equal message, and encoding is
//! stable after one round (the first encoding may differ from the input: unknown fields are
//! dropped, unpacked numbers are packed, repeated scalars keep the last value). Decoding from
//! `Bytes` (zero-copy) must agree with decoding from a slice. The accessors must not panic on
//! whatever decoded.

#![no_main]

use bytes::Bytes;
use heka_message::view::first_difference;
use heka_message::{Field, FieldValue, Message, RawIndex, RawMessage};
use libfuzzer_sys::fuzz_target;

/// True when some double in the message is NaN (NaN != NaN, so such messages are compared by
/// their encodings only).
fn has_nan(m: &Message) -> bool {
    m.fields
        .iter()
        .any(|f| f.value_double.iter().any(|d| d.is_nan()))
}

/// Calls the read accessors a pipeline uses; they must not panic.
fn touch(m: &Message) -> usize {
    let mut n = m.type_bytes().len()
        + m.logger_bytes().len()
        + m.payload_bytes().len()
        + m.env_version_bytes().len()
        + m.hostname_bytes().len();
    n += usize::from(m.severity_or_default() == 7) + usize::from(m.pid_or_default() == 0);
    let mut uuid = String::new();
    m.write_uuid_string(&mut uuid);
    assert_eq!(uuid, m.uuid_string());
    for f in &m.fields {
        n += touch_field(f);
        let first = m.find_first_field(&f.name);
        assert!(first.is_some(), "a field present must be found by name");
        n += m.find_all_fields(&f.name).count();
        let _ = m.field_value(&f.name);
        let _ = m.find_field(&f.name, 1);
    }
    n
}

fn touch_field(f: &Field) -> usize {
    let count = f.value_count();
    let values: Vec<FieldValue<'_>> = f.values().collect();
    assert_eq!(
        values.len(),
        count,
        "values() must yield value_count() values"
    );
    assert!(f.value(count).is_none(), "no value past value_count()");
    count + f.representation_bytes().len() + f.value_type().as_str().len()
}

/// Same bytes, same answers: the raw view against the decoded message.
fn same_view(raw: &RawMessage<'_>, m: &Message) {
    let mut names: Vec<&[u8]> = m.fields.iter().map(|f| &f.name[..]).collect();
    names.push(b"no such field");
    if let Some(diff) = first_difference(raw, m, &names) {
        panic!("raw and decoded reads differ: {diff}");
    }
}

fuzz_target!(|data: &[u8]| {
    let theirs = <Message as prost::Message>::decode(data);
    let index = RawIndex::build(data);
    let from_slice = Message::decode_slice(data);
    assert_eq!(
        theirs.is_ok(),
        from_slice.is_ok(),
        "prost and our reader disagree: prost {:?}, ours {:?}",
        theirs.as_ref().err(),
        from_slice.as_ref().err()
    );
    assert_eq!(
        index.is_ok(),
        from_slice.is_ok(),
        "indexing and decoding disagree"
    );
    if let (Ok(a), Ok(b)) = (&theirs, &from_slice) {
        assert_eq!(
            a.to_bytes(),
            b.to_bytes(),
            "prost and our reader decode differently"
        );
    }
    if let (Ok(index), Ok(m)) = (&index, &from_slice) {
        same_view(&RawMessage::new(data, index), m);
    }
    let from_bytes = Message::decode_bytes(Bytes::copy_from_slice(data));
    let m1 = match (from_slice, from_bytes) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                a.to_bytes(),
                b.to_bytes(),
                "slice and Bytes decoding differ"
            );
            a
        }
        (Err(_), Err(_)) => return,
        (a, b) => panic!(
            "slice and Bytes decoding disagree: slice ok={} bytes ok={}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    std::hint::black_box(touch(&m1));

    let e1 = m1.to_bytes();
    let m2 = match Message::decode_slice(&e1) {
        Ok(m) => m,
        Err(e) => panic!("a re-encoded message must decode: {e}"),
    };
    let e2 = m2.to_bytes();
    assert_eq!(e1, e2, "encoding must be stable after one round trip");
    if !has_nan(&m1) {
        assert_eq!(m1, m2, "round trip changed the message");
    }

    // encode_to_vec_into appends exactly the encoding.
    let mut out = vec![0xAA];
    m1.encode_to_vec_into(&mut out);
    assert_eq!(out[0], 0xAA);
    assert_eq!(&out[1..], &e1[..]);
});
