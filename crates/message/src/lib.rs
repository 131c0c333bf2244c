//! Heka's message model, byte-compatible with Heka's `message.proto`, and its stream framing.
//!
//! * [`Message`] and [`Field`] are hand-written `prost` structs. String-typed protobuf fields are
//!   held as [`bytes::Bytes`], so payloads that are not valid UTF-8 survive a decode/encode round
//!   trip unchanged, and decoding from a `Bytes` buffer borrows instead of copying. `prost`
//!   encodes them; decoding is our own reader (`wire`), which can also validate an encoded
//!   message and index its headers ([`RawIndex`]) so that it is matched ([`MessageView`],
//!   [`RawMessage`]) without being decoded.
//! * [`framing`] holds the [`framing::Header`], frame encoding (`0x1E`, header length, header,
//!   `0x1F`, message) and the record finder used by the `HekaFramingSplitter`.
//! * [`signing`] holds HMAC signing (MD5/SHA1) and verification of framed messages.
//!
//! Invariant: this crate does no I/O, no logging and never panics on outside bytes; every decode
//! returns a `Result`.

pub mod field;
pub mod framing;
mod message;
pub mod signing;
pub mod view;
mod wire;

pub use field::{Field, FieldValue, ValueType};
pub use message::{DecodeError, Message, intern, new_uuid, new_uuids, now_ns};
pub use view::MessageView;
pub use wire::{RawIndex, RawMessage};

/// Default maximum size of one message in bytes (Heka's `MAX_MESSAGE_SIZE`).
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 64 * 1024;
/// Size of a raw UUID in bytes.
pub const UUID_SIZE: usize = 16;
