//! Building messages.

use bytes::Bytes;
use heka_message::{Field, Message, ValueType};

/// Builds a [`Message`] field by field.
///
/// A new builder starts with a random version 4 UUID and the current time as timestamp;
/// every other header field is unset until given (hekad reads an unset severity as 7 and an
/// unset pid as 0). [`MessageBuilder::process_defaults`] fills in this process's pid and host
/// name, as Heka's clients do.
///
/// ```
/// use heka_client::MessageBuilder;
///
/// let msg = MessageBuilder::new()
///     .message_type("app.event")
///     .logger("billing")
///     .severity(6)
///     .payload("charged customer 42")
///     .integer_field("amount", 1999)
///     .field("tags", vec!["eu", "vip"], "")
///     .build();
/// assert_eq!(msg.type_bytes(), b"app.event");
/// assert_eq!(msg.find_first_field(b"tags").map(|f| f.value_count()), Some(2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MessageBuilder {
    message: Message,
}

impl Default for MessageBuilder {
    fn default() -> Self {
        MessageBuilder {
            message: Message::new_now(),
        }
    }
}

impl MessageBuilder {
    /// A builder with a random UUID and the current timestamp.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the message type (`Type`).
    pub fn message_type(mut self, value: impl Into<Bytes>) -> Self {
        self.message.set_type(value);
        self
    }

    /// Sets the logger (`Logger`).
    pub fn logger(mut self, value: impl Into<Bytes>) -> Self {
        self.message.set_logger(value);
        self
    }

    /// Sets the severity (syslog levels, 0 = emergency .. 7 = debug).
    pub fn severity(mut self, value: i32) -> Self {
        self.message.severity = Some(value);
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, value: impl Into<Bytes>) -> Self {
        self.message.set_payload(value);
        self
    }

    /// Sets the environment version (`EnvVersion`).
    pub fn env_version(mut self, value: impl Into<Bytes>) -> Self {
        self.message.set_env_version(value);
        self
    }

    /// Sets the process id (`Pid`).
    pub fn pid(mut self, value: i32) -> Self {
        self.message.pid = Some(value);
        self
    }

    /// Sets the host name (`Hostname`).
    pub fn hostname(mut self, value: impl Into<Bytes>) -> Self {
        self.message.set_hostname(value);
        self
    }

    /// Sets the timestamp in nanoseconds since the Unix epoch.
    pub fn timestamp(mut self, nanos: i64) -> Self {
        self.message.timestamp = nanos;
        self
    }

    /// Sets the raw 16-byte UUID.
    pub fn uuid(mut self, uuid: [u8; 16]) -> Self {
        self.message.uuid = Bytes::copy_from_slice(&uuid);
        self
    }

    /// Sets the pid to this process's id and the host name to [`local_hostname`].
    pub fn process_defaults(mut self) -> Self {
        self.message.pid = i32::try_from(std::process::id()).ok();
        self.message.set_hostname(local_hostname());
        self
    }

    /// Adds a string field with one value and an empty representation.
    pub fn string_field(self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.add_field(Field::new_string(name, value))
    }

    /// Adds a bytes field with one value and an empty representation.
    pub fn bytes_field(self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.add_field(Field::new_bytes(name, value))
    }

    /// Adds an integer field with one value and an empty representation.
    pub fn integer_field(self, name: impl Into<Bytes>, value: i64) -> Self {
        self.add_field(Field::new_integer(name, value))
    }

    /// Adds a double field with one value and an empty representation.
    pub fn double_field(self, name: impl Into<Bytes>, value: f64) -> Self {
        self.add_field(Field::new_double(name, value))
    }

    /// Adds a boolean field with one value and an empty representation.
    pub fn bool_field(self, name: impl Into<Bytes>, value: bool) -> Self {
        self.add_field(Field::new_bool(name, value))
    }

    /// Adds a field of any type with one or more values and a representation (a unit or
    /// format hint such as `"ms"` or `"date-time"`; `""` for none).
    pub fn field(
        self,
        name: impl Into<Bytes>,
        values: impl Into<FieldValues>,
        representation: impl Into<Bytes>,
    ) -> Self {
        let field = values.into().into_field(name, representation);
        self.add_field(field)
    }

    /// Adds a ready-made field. Fields keep their order; names may repeat.
    pub fn add_field(mut self, field: Field) -> Self {
        self.message.add_field(field);
        self
    }

    /// The message built so far.
    pub fn build(self) -> Message {
        self.message
    }
}

/// The values of one field: one type, one or more values.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValues {
    /// String values (any bytes; Heka treats them as text).
    String(Vec<Bytes>),
    /// Binary values.
    Bytes(Vec<Bytes>),
    /// 64-bit integers.
    Integer(Vec<i64>),
    /// Doubles.
    Double(Vec<f64>),
    /// Booleans.
    Bool(Vec<bool>),
}

impl FieldValues {
    /// The protobuf value type of these values.
    pub fn value_type(&self) -> ValueType {
        match self {
            FieldValues::String(_) => ValueType::String,
            FieldValues::Bytes(_) => ValueType::Bytes,
            FieldValues::Integer(_) => ValueType::Integer,
            FieldValues::Double(_) => ValueType::Double,
            FieldValues::Bool(_) => ValueType::Bool,
        }
    }

    /// A field named `name` holding these values.
    pub fn into_field(self, name: impl Into<Bytes>, representation: impl Into<Bytes>) -> Field {
        let mut field = Field {
            name: name.into(),
            value_type: Some(self.value_type() as i32),
            representation: Some(representation.into()),
            ..Field::default()
        };
        match self {
            FieldValues::String(v) => field.value_string = v,
            FieldValues::Bytes(v) => field.value_bytes = v,
            FieldValues::Integer(v) => field.value_integer = v,
            FieldValues::Double(v) => field.value_double = v,
            FieldValues::Bool(v) => field.value_bool = v,
        }
        field
    }
}

impl From<&str> for FieldValues {
    fn from(v: &str) -> Self {
        FieldValues::String(vec![Bytes::copy_from_slice(v.as_bytes())])
    }
}

impl From<String> for FieldValues {
    fn from(v: String) -> Self {
        FieldValues::String(vec![Bytes::from(v)])
    }
}

impl From<Vec<&str>> for FieldValues {
    fn from(v: Vec<&str>) -> Self {
        FieldValues::String(
            v.into_iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
        )
    }
}

impl From<Vec<String>> for FieldValues {
    fn from(v: Vec<String>) -> Self {
        FieldValues::String(v.into_iter().map(Bytes::from).collect())
    }
}

impl From<i64> for FieldValues {
    fn from(v: i64) -> Self {
        FieldValues::Integer(vec![v])
    }
}

impl From<i32> for FieldValues {
    fn from(v: i32) -> Self {
        FieldValues::Integer(vec![i64::from(v)])
    }
}

impl From<Vec<i64>> for FieldValues {
    fn from(v: Vec<i64>) -> Self {
        FieldValues::Integer(v)
    }
}

impl From<&[i64]> for FieldValues {
    fn from(v: &[i64]) -> Self {
        FieldValues::Integer(v.to_vec())
    }
}

impl From<f64> for FieldValues {
    fn from(v: f64) -> Self {
        FieldValues::Double(vec![v])
    }
}

impl From<Vec<f64>> for FieldValues {
    fn from(v: Vec<f64>) -> Self {
        FieldValues::Double(v)
    }
}

impl From<&[f64]> for FieldValues {
    fn from(v: &[f64]) -> Self {
        FieldValues::Double(v.to_vec())
    }
}

impl From<bool> for FieldValues {
    fn from(v: bool) -> Self {
        FieldValues::Bool(vec![v])
    }
}

impl From<Vec<bool>> for FieldValues {
    fn from(v: Vec<bool>) -> Self {
        FieldValues::Bool(v)
    }
}

/// This machine's host name, or `""` when it cannot be read.
///
/// Like Go's `os.Hostname` on Linux, it reads `/proc/sys/kernel/hostname` first; elsewhere it
/// falls back to `/etc/hostname` and then the `HOSTNAME`/`COMPUTERNAME` environment variables.
pub fn local_hostname() -> String {
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            let name = text.trim();
            if !name.is_empty() {
                return name.to_owned();
            }
        }
    }
    ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use heka_message::FieldValue;

    #[test]
    fn new_builder_has_random_uuid_and_current_time() {
        let before = heka_message::now_ns();
        let a = MessageBuilder::new().build();
        let b = MessageBuilder::new().build();
        let after = heka_message::now_ns();
        assert_eq!(a.uuid.len(), 16);
        assert_ne!(a.uuid, b.uuid);
        // Version 4, RFC 4122 variant.
        assert_eq!(a.uuid[6] >> 4, 4);
        assert_eq!(a.uuid[8] & 0xc0, 0x80);
        assert!(a.timestamp >= before && a.timestamp <= after);
        assert_eq!(a.r#type, None);
        assert_eq!(a.severity, None);
        assert!(a.fields.is_empty());
    }

    #[test]
    fn header_fields_are_set() {
        let m = MessageBuilder::new()
            .message_type("t")
            .logger("l")
            .severity(3)
            .payload("p")
            .env_version("0.8")
            .pid(42)
            .hostname("h")
            .timestamp(1234)
            .uuid([7; 16])
            .build();
        assert_eq!(m.type_bytes(), b"t");
        assert_eq!(m.logger_bytes(), b"l");
        assert_eq!(m.severity, Some(3));
        assert_eq!(m.payload_bytes(), b"p");
        assert_eq!(m.env_version_bytes(), b"0.8");
        assert_eq!(m.pid, Some(42));
        assert_eq!(m.hostname_bytes(), b"h");
        assert_eq!(m.timestamp, 1234);
        assert_eq!(&m.uuid[..], &[7; 16]);
    }

    #[test]
    fn process_defaults_fill_pid_and_hostname() {
        let m = MessageBuilder::new().process_defaults().build();
        assert_eq!(m.pid, Some(std::process::id() as i32));
        assert_eq!(m.hostname_bytes(), local_hostname().as_bytes());
    }

    #[test]
    fn typed_and_repeated_fields() {
        let m = MessageBuilder::new()
            .string_field("s", "text")
            .bytes_field("b", vec![0u8, 255])
            .integer_field("i", -5)
            .double_field("d", 1.5)
            .bool_field("flag", true)
            .field("many", vec![1i64, 2, 3], "count")
            .field("names", vec!["a".to_string(), "b".to_string()], "")
            .field("ratios", vec![0.25, 0.5], "%")
            .field("bits", vec![true, false], "")
            .field("s", "second", "")
            .build();
        let value = |name: &[u8]| m.find_first_field(name).and_then(|f| f.value(0));
        assert_eq!(value(b"s"), Some(FieldValue::String(b"text")));
        assert_eq!(value(b"b"), Some(FieldValue::Bytes(&[0, 255])));
        assert_eq!(value(b"i"), Some(FieldValue::Integer(-5)));
        assert_eq!(value(b"d"), Some(FieldValue::Double(1.5)));
        assert_eq!(value(b"flag"), Some(FieldValue::Bool(true)));
        let many = m.find_first_field(b"many").unwrap();
        assert_eq!(many.value_integer, vec![1, 2, 3]);
        assert_eq!(many.representation_bytes(), b"count");
        assert_eq!(many.value_type(), ValueType::Integer);
        let names = m.find_first_field(b"names").unwrap();
        assert_eq!(names.value_count(), 2);
        assert_eq!(names.value(1), Some(FieldValue::String(b"b")));
        assert_eq!(
            m.find_first_field(b"ratios").unwrap().value_double,
            vec![0.25, 0.5]
        );
        assert_eq!(
            m.find_first_field(b"bits").unwrap().value_bool,
            vec![true, false]
        );
        assert_eq!(
            m.find_field(b"s", 1).and_then(|f| f.value(0)),
            Some(FieldValue::String(b"second"))
        );
        assert_eq!(m.fields.len(), 10);
    }

    #[test]
    fn builder_fields_match_message_crate_constructors() {
        let built = FieldValues::from(7i32).into_field("n", "");
        assert_eq!(built, Field::new_integer("n", 7));
        let built = FieldValues::from("v").into_field("s", "");
        assert_eq!(built, Field::new_string("s", "v"));
    }
}
