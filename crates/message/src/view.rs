//! [`MessageView`]: read access to a message's headers and field values, whether it is decoded
//! ([`crate::Message`]) or still in its encoded bytes ([`crate::RawMessage`]).

use crate::field::FieldValue;
use crate::message::Message;

/// What a matcher or router reads from a message. Unset values read as Heka's defaults:
/// empty strings, severity 7, numbers 0.
pub trait MessageView {
    /// The raw UUID bytes.
    fn uuid(&self) -> &[u8];
    /// Nanoseconds since the Unix epoch.
    fn timestamp(&self) -> i64;
    /// The type, or empty.
    fn type_bytes(&self) -> &[u8];
    /// The logger, or empty.
    fn logger_bytes(&self) -> &[u8];
    /// The payload, or empty.
    fn payload_bytes(&self) -> &[u8];
    /// The envelope version, or empty.
    fn env_version_bytes(&self) -> &[u8];
    /// The hostname, or empty.
    fn hostname_bytes(&self) -> &[u8];
    /// The severity, 7 when unset.
    fn severity_or_default(&self) -> i32;
    /// The pid, 0 when unset.
    fn pid_or_default(&self) -> i32;
    /// Value `array_index` of the `field_index`-th field named `name` (both 0-based), read from
    /// the array its value type selects; `None` when the field or the value is missing.
    fn field_value(
        &self,
        name: &[u8],
        field_index: usize,
        array_index: usize,
    ) -> Option<FieldValue<'_>>;
}

impl MessageView for Message {
    fn uuid(&self) -> &[u8] {
        &self.uuid
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn type_bytes(&self) -> &[u8] {
        Message::type_bytes(self)
    }
    fn logger_bytes(&self) -> &[u8] {
        Message::logger_bytes(self)
    }
    fn payload_bytes(&self) -> &[u8] {
        Message::payload_bytes(self)
    }
    fn env_version_bytes(&self) -> &[u8] {
        Message::env_version_bytes(self)
    }
    fn hostname_bytes(&self) -> &[u8] {
        Message::hostname_bytes(self)
    }
    fn severity_or_default(&self) -> i32 {
        Message::severity_or_default(self)
    }
    fn pid_or_default(&self) -> i32 {
        Message::pid_or_default(self)
    }
    fn field_value(
        &self,
        name: &[u8],
        field_index: usize,
        array_index: usize,
    ) -> Option<FieldValue<'_>> {
        let field = if field_index == 0 {
            self.find_first_field(name)
        } else {
            self.find_field(name, field_index)
        };
        field?.value(array_index)
    }
}
