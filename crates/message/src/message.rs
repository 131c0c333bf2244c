//! The `Message` protobuf struct and its helpers.

use bytes::Bytes;
use prost::Message as _;

use crate::field::{Field, FieldValue};

/// A Heka message (`message.Message` in Heka's `message.proto`).
///
/// Optional header values are `Option`s so that presence survives a round trip; the getters
/// return Heka's defaults for unset values (severity 7, numbers 0, strings empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    /// Raw UUID bytes (16 when Heka generated them; not enforced).
    #[prost(bytes = "bytes", required, tag = "1")]
    pub uuid: Bytes,
    /// Nanoseconds since the Unix epoch.
    #[prost(int64, required, tag = "2")]
    pub timestamp: i64,
    /// Message type.
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub r#type: Option<Bytes>,
    /// Logger (usually the name of the plugin that produced the message).
    #[prost(bytes = "bytes", optional, tag = "4")]
    pub logger: Option<Bytes>,
    /// Syslog severity; 7 when unset.
    #[prost(int32, optional, tag = "5")]
    pub severity: Option<i32>,
    /// Payload text (any bytes).
    #[prost(bytes = "bytes", optional, tag = "6")]
    pub payload: Option<Bytes>,
    /// Envelope version.
    #[prost(bytes = "bytes", optional, tag = "7")]
    pub env_version: Option<Bytes>,
    /// Process id of the producer.
    #[prost(int32, optional, tag = "8")]
    pub pid: Option<i32>,
    /// Hostname of the producer.
    #[prost(bytes = "bytes", optional, tag = "9")]
    pub hostname: Option<Bytes>,
    /// Dynamic fields, in order; names may repeat.
    #[prost(message, repeated, tag = "10")]
    pub fields: Vec<Field>,
}

/// A buffer that is not a valid encoded message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid protobuf message: {0}")]
pub struct DecodeError(String);

impl DecodeError {
    /// An error saying `what`.
    pub fn new(what: &str) -> DecodeError {
        DecodeError(what.to_string())
    }
}

fn bytes_or_empty(v: &Option<Bytes>) -> &[u8] {
    v.as_deref().unwrap_or(&[])
}

impl Message {
    /// Decodes a message from `buf`. String fields borrow from `buf` (no copy).
    pub fn decode_bytes(buf: Bytes) -> Result<Message, DecodeError> {
        crate::wire::decode(&buf)
    }

    /// Decodes a message from a byte slice (copies it once; the values share the copy).
    pub fn decode_slice(buf: &[u8]) -> Result<Message, DecodeError> {
        crate::wire::decode(&Bytes::copy_from_slice(buf))
    }

    /// Appends the protobuf encoding of this message to `out`.
    pub fn encode_to_vec_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        // Encoding into a Vec cannot fail: the Vec grows as needed.
        let _ = self.encode(out);
    }

    /// The length of the protobuf encoding of this message, without encoding it.
    pub fn encoded_size(&self) -> usize {
        self.encoded_len()
    }

    /// The protobuf encoding of this message.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// A new message with a random v4 UUID and the current time, as Heka creates them.
    pub fn new_now() -> Message {
        Message {
            uuid: new_uuid(),
            timestamp: now_ns(),
            ..Message::default()
        }
    }

    /// The type, or empty.
    pub fn type_bytes(&self) -> &[u8] {
        bytes_or_empty(&self.r#type)
    }
    /// The logger, or empty.
    pub fn logger_bytes(&self) -> &[u8] {
        bytes_or_empty(&self.logger)
    }
    /// The payload, or empty.
    pub fn payload_bytes(&self) -> &[u8] {
        bytes_or_empty(&self.payload)
    }
    /// The envelope version, or empty.
    pub fn env_version_bytes(&self) -> &[u8] {
        bytes_or_empty(&self.env_version)
    }
    /// The hostname, or empty.
    pub fn hostname_bytes(&self) -> &[u8] {
        bytes_or_empty(&self.hostname)
    }
    /// The severity, 7 when unset.
    pub fn severity_or_default(&self) -> i32 {
        self.severity.unwrap_or(7)
    }
    /// The pid, 0 when unset.
    pub fn pid_or_default(&self) -> i32 {
        self.pid.unwrap_or(0)
    }

    /// Sets the type.
    pub fn set_type(&mut self, v: impl Into<Bytes>) {
        self.r#type = Some(v.into());
    }
    /// Sets the logger.
    pub fn set_logger(&mut self, v: impl Into<Bytes>) {
        self.logger = Some(v.into());
    }
    /// Sets the payload.
    pub fn set_payload(&mut self, v: impl Into<Bytes>) {
        self.payload = Some(v.into());
    }
    /// Sets the envelope version.
    pub fn set_env_version(&mut self, v: impl Into<Bytes>) {
        self.env_version = Some(v.into());
    }
    /// Sets the hostname.
    pub fn set_hostname(&mut self, v: impl Into<Bytes>) {
        self.hostname = Some(v.into());
    }

    /// Lowercase `8-4-4-4-12` hex form of the UUID; empty when the UUID is not 16 bytes.
    pub fn uuid_string(&self) -> String {
        let mut s = String::new();
        self.write_uuid_string(&mut s);
        s
    }

    /// Writes the formatted UUID into `out` (nothing when the UUID is not 16 bytes), without allocating
    /// when `out` has room.
    pub fn write_uuid_string(&self, out: &mut String) {
        if let Ok(u) = uuid::Uuid::from_slice(&self.uuid) {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            out.push_str(u.hyphenated().encode_lower(&mut buf));
        }
    }

    /// The first field named `name`, in list order.
    pub fn find_first_field(&self, name: &[u8]) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The `index`-th field (0-based) among those named `name`.
    pub fn find_field(&self, name: &[u8], index: usize) -> Option<&Field> {
        self.fields.iter().filter(|f| f.name == name).nth(index)
    }

    /// All fields named `name`, in order.
    pub fn find_all_fields<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.name == name)
    }

    /// Heka's `GetFieldValue`: `None` when no field has that name, `Some(None)` when it exists with
    /// an empty value array, else its first value.
    pub fn field_value(&self, name: &[u8]) -> Option<Option<FieldValue<'_>>> {
        self.find_first_field(name).map(|f| f.value(0))
    }

    /// Appends a field.
    pub fn add_field(&mut self, field: Field) {
        self.fields.push(field);
    }
}

/// Current time in nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::ValueType;

    #[test]
    fn interned_values_are_kept_once_and_equal_their_text() {
        let a = intern(b"nginx.access");
        let b = intern(b"nginx.access".to_vec().as_slice());
        assert_eq!(a, &b"nginx.access"[..]);
        // The same bytes in memory: kept once.
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_ne!(intern(b"other").as_ptr(), a.as_ptr());
        assert_eq!(intern(b""), &b""[..]);
    }

    #[test]
    fn new_uuids_are_version_4_and_all_different_across_pool_refills() {
        // 1,000 UUIDs take four refills of the pool on this thread.
        let mut ids: Vec<Bytes> = (0..500).map(|_| new_uuid()).collect();
        let block = new_uuids(500);
        assert_eq!(block.len(), 500 * 16);
        ids.extend((0..500).map(|i| block.slice(i * 16..i * 16 + 16)));
        let distinct: std::collections::HashSet<&Bytes> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let u = uuid::Uuid::from_slice(id).unwrap();
            assert_eq!(u.get_version_num(), 4, "{u}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{u}");
        }
        // Another thread's pool gives other UUIDs.
        let other = std::thread::spawn(|| (0..300).map(|_| new_uuid()).collect::<Vec<_>>())
            .join()
            .unwrap();
        assert!(other.iter().all(|id| !distinct.contains(id)));
    }

    fn sample() -> Message {
        let mut m = Message::new_now();
        m.set_type("TEST");
        m.severity = Some(6);
        m.set_payload(Bytes::from_static(b"\xff\xfe not utf8"));
        m.add_field(Field::new_string("foo", "bar"));
        m.add_field(Field::new_integers("int", &[999, 1024]));
        m.add_field(Field::new_double("double", 99.9));
        m.add_field(Field::new_bool("bool", true));
        m.add_field(Field::new_bytes("bytes", b"data".to_vec()));
        m
    }

    #[test]
    fn round_trip_keeps_every_value_and_non_utf8_payload() {
        let m = sample();
        let enc = m.to_bytes();
        let d = Message::decode_bytes(Bytes::from(enc.clone())).unwrap();
        assert_eq!(d, m);
        assert_eq!(d.payload_bytes(), b"\xff\xfe not utf8");
        assert_eq!(d.to_bytes(), enc);
    }

    #[test]
    fn defaults_when_unset() {
        let m = Message::default();
        assert_eq!(m.severity_or_default(), 7);
        assert_eq!(m.pid_or_default(), 0);
        assert_eq!(m.type_bytes(), b"");
        assert_eq!(m.uuid_string(), "");
    }

    #[test]
    fn uuid_formatting() {
        let m = Message {
            uuid: Bytes::from_static(&[
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                0xcd, 0xef,
            ]),
            ..Default::default()
        };
        assert_eq!(m.uuid_string(), "01234567-89ab-cdef-0123-456789abcdef");
    }

    #[test]
    fn truncated_and_garbage_buffers_are_errors() {
        let enc = sample().to_bytes();
        for cut in [1, 5, enc.len() / 2, enc.len() - 1] {
            assert!(Message::decode_slice(&enc[..cut]).is_err(), "cut at {cut}");
        }
        assert!(Message::decode_slice(&[0xff; 12]).is_err());
    }

    #[test]
    fn unpacked_repeated_numbers_and_unknown_fields_decode() {
        // Field: name "n" (tag 1), value_type INTEGER (tag 2), value_integer 5 and 6 unpacked (tag 6,
        // wire type 0), plus an unknown tag 15 varint.
        let field = [
            0x0a, 0x01, b'n', 0x10, 0x02, 0x30, 0x05, 0x30, 0x06, 0x78, 0x01,
        ];
        let mut msg = vec![0x0a, 0x00, 0x10, 0x01, 0x52, field.len() as u8];
        msg.extend_from_slice(&field);
        msg.extend_from_slice(&[0x98, 0x01, 0x07]); // unknown tag 19
        let m = Message::decode_slice(&msg).unwrap();
        let f = m.find_first_field(b"n").unwrap();
        assert_eq!(f.value_type(), ValueType::Integer);
        assert_eq!(f.value_integer, vec![5, 6]);
        assert_eq!(f.representation_bytes(), b"");
    }

    #[test]
    fn find_field_by_index() {
        let mut m = sample();
        m.add_field(Field::new_string("foo", "alternate"));
        assert_eq!(
            m.find_field(b"foo", 1).unwrap().value(0),
            Some(FieldValue::String(b"alternate"))
        );
        assert!(m.find_field(b"foo", 2).is_none());
        assert_eq!(m.find_all_fields(b"foo").count(), 2);
        assert_eq!(m.field_value(b"missing"), None);
    }
}

/// At most this many distinct values are kept by [`intern`].
const INTERN_LIMIT: usize = 65_536;

/// A `Bytes` of `value` that keeps no reference count: a value that many messages carry (a
/// decoder's field names and type, an input's logger, hekad's hostname) is kept once for the
/// life of the process, so that the thread building messages and the threads dropping them
/// do not contend for one counter on every clone and drop. For values fixed by the config or
/// by the names of the files and hosts hekad reads: at most 65,536 distinct values are kept,
/// and past that a value is copied as usual.
pub fn intern(value: &[u8]) -> Bytes {
    static TABLE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<&'static [u8]>>> =
        std::sync::OnceLock::new();
    let mut table = TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(kept) = table.get(value) {
        return Bytes::from_static(kept);
    }
    if table.len() >= INTERN_LIMIT {
        return Bytes::copy_from_slice(value);
    }
    let kept: &'static [u8] = Box::leak(value.to_vec().into_boxed_slice());
    table.insert(kept);
    Bytes::from_static(kept)
}

/// Random bytes from the operating system, taken 4 KiB at a time per thread.
struct RandomPool {
    bytes: [u8; 4096],
    used: usize,
}

thread_local! {
    static POOL: std::cell::RefCell<RandomPool> = const {
        std::cell::RefCell::new(RandomPool { bytes: [0; 4096], used: 4096 })
    };
}

/// A random (version 4) UUID, as Heka gives every new message. The random bytes come from
/// the operating system's generator in blocks, so that a message costs no system call (one
/// `getrandom` per 256 UUIDs).
pub fn new_uuid() -> Bytes {
    new_uuids(1)
}

/// `n` random UUIDs back to back in one buffer (for the messages of one read to share).
pub fn new_uuids(n: usize) -> Bytes {
    let mut out = vec![0u8; n * 16];
    if fill_random(&mut out) {
        for id in out.chunks_exact_mut(16) {
            // Version 4, RFC 4122 variant.
            id[6] = (id[6] & 0x0f) | 0x40;
            id[8] = (id[8] & 0x3f) | 0x80;
        }
    } else {
        for id in out.chunks_exact_mut(16) {
            id.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
    }
    Bytes::from(out)
}

/// Fills `out` from this thread's pool of OS random bytes, refilling it as needed; false
/// when the OS gives none.
fn fill_random(out: &mut [u8]) -> bool {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let mut done = 0;
        while done < out.len() {
            if pool.used == pool.bytes.len() {
                if getrandom::fill(&mut pool.bytes).is_err() {
                    return false;
                }
                pool.used = 0;
            }
            let at = pool.used;
            let take = (out.len() - done).min(pool.bytes.len() - at);
            out[done..done + take].copy_from_slice(&pool.bytes[at..at + take]);
            // Used bytes are not kept.
            pool.bytes[at..at + take].fill(0);
            pool.used += take;
            done += take;
        }
        true
    })
}
