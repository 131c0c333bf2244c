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

/// The first header or field value on which `a` and `b` disagree, described; `None` when they
/// read the same. Fields are looked up by every name in `names`, at field indexes 0–2 and array
/// indexes 0–3; doubles compare by their bits, so NaN agrees with NaN. For tests and fuzz
/// targets that check one reader of a message against another.
#[doc(hidden)]
pub fn first_difference(
    a: &dyn MessageView,
    b: &dyn MessageView,
    names: &[&[u8]],
) -> Option<String> {
    macro_rules! same {
        ($($f:ident),*) => {$(
            if a.$f() != b.$f() {
                return Some(format!("{}: {:?} vs {:?}", stringify!($f), a.$f(), b.$f()));
            }
        )*};
    }
    same!(
        uuid,
        timestamp,
        type_bytes,
        logger_bytes,
        payload_bytes,
        env_version_bytes,
        hostname_bytes,
        severity_or_default,
        pid_or_default
    );
    for name in names {
        for fi in 0..3 {
            for ai in 0..4 {
                let (x, y) = (a.field_value(name, fi, ai), b.field_value(name, fi, ai));
                let same = match (x, y) {
                    (Some(FieldValue::Double(p)), Some(FieldValue::Double(q))) => {
                        p.to_bits() == q.to_bits()
                    }
                    _ => x == y,
                };
                if !same {
                    return Some(format!("field {name:?}[{fi}][{ai}]: {x:?} vs {y:?}"));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    #[test]
    fn first_difference_names_the_header_or_value_that_differs() {
        let mut a = Message::default();
        a.add_field(Field::new_double("d", f64::NAN));
        let b = a.clone();
        assert_eq!(
            first_difference(&a, &b, &[b"d"]),
            None,
            "NaN agrees with NaN"
        );
        let mut c = a.clone();
        c.set_type("t");
        assert!(
            first_difference(&a, &c, &[])
                .unwrap()
                .starts_with("type_bytes")
        );
        let mut d = a.clone();
        d.add_field(Field::new_string("s", "x"));
        assert_eq!(
            first_difference(&a, &d, &[b"s"]).as_deref(),
            Some("field [115][0][0]: None vs Some(String([120]))")
        );
    }
}
