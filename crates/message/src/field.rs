//! Dynamic message fields (`message.Field`).

use bytes::Bytes;

/// The type of a field's values (Heka's `Field.ValueType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ValueType {
    /// `value_string`.
    String = 0,
    /// `value_bytes`.
    Bytes = 1,
    /// `value_integer` (int64).
    Integer = 2,
    /// `value_double` (float64).
    Double = 3,
    /// `value_bool`.
    Bool = 4,
}

impl ValueType {
    /// Heka's name of the type (`STRING`, `BYTES`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "STRING",
            ValueType::Bytes => "BYTES",
            ValueType::Integer => "INTEGER",
            ValueType::Double => "DOUBLE",
            ValueType::Bool => "BOOL",
        }
    }
}

/// One named field holding an array of values of one type.
///
/// Only the array selected by `value_type` is meaningful; accessors ignore the others.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Field {
    /// Field name (exact, case-sensitive key).
    #[prost(bytes = "bytes", required, tag = "1")]
    pub name: Bytes,
    /// Value type; STRING when unset. The generated `value_type()` getter reads unknown numbers
    /// as STRING, as Go's generated getter does.
    #[prost(enumeration = "ValueType", optional, tag = "2")]
    pub value_type: Option<i32>,
    /// Free-form representation hint (`count`, `ns`, `B`, …).
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub representation: Option<Bytes>,
    /// STRING values.
    #[prost(bytes = "bytes", repeated, tag = "4")]
    pub value_string: Vec<Bytes>,
    /// BYTES values.
    #[prost(bytes = "bytes", repeated, tag = "5")]
    pub value_bytes: Vec<Bytes>,
    /// INTEGER values (packed on encode; unpacked accepted on decode).
    #[prost(int64, repeated, packed = "true", tag = "6")]
    pub value_integer: Vec<i64>,
    /// DOUBLE values (packed on encode).
    #[prost(double, repeated, packed = "true", tag = "7")]
    pub value_double: Vec<f64>,
    /// BOOL values (packed on encode).
    #[prost(bool, repeated, packed = "true", tag = "8")]
    pub value_bool: Vec<bool>,
}

/// A borrowed field value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// A STRING value (raw bytes; not validated as UTF-8).
    String(&'a [u8]),
    /// A BYTES value.
    Bytes(&'a [u8]),
    /// An INTEGER value.
    Integer(i64),
    /// A DOUBLE value.
    Double(f64),
    /// A BOOL value.
    Bool(bool),
}

impl Field {
    fn with_type(name: impl Into<Bytes>, t: ValueType) -> Field {
        // Heka's field constructor always sets value_type and representation.
        Field {
            name: name.into(),
            value_type: Some(t as i32),
            representation: Some(Bytes::new()),
            ..Field::default()
        }
    }

    /// A STRING field with one value.
    pub fn new_string(name: impl Into<Bytes>, v: impl Into<Bytes>) -> Field {
        let mut f = Field::with_type(name, ValueType::String);
        f.value_string.push(v.into());
        f
    }
    /// A BYTES field with one value.
    pub fn new_bytes(name: impl Into<Bytes>, v: impl Into<Bytes>) -> Field {
        let mut f = Field::with_type(name, ValueType::Bytes);
        f.value_bytes.push(v.into());
        f
    }
    /// An INTEGER field with one value.
    pub fn new_integer(name: impl Into<Bytes>, v: i64) -> Field {
        Field::new_integers(name, &[v])
    }
    /// An INTEGER field with several values.
    pub fn new_integers(name: impl Into<Bytes>, v: &[i64]) -> Field {
        let mut f = Field::with_type(name, ValueType::Integer);
        f.value_integer.extend_from_slice(v);
        f
    }
    /// A DOUBLE field with one value.
    pub fn new_double(name: impl Into<Bytes>, v: f64) -> Field {
        let mut f = Field::with_type(name, ValueType::Double);
        f.value_double.push(v);
        f
    }
    /// A BOOL field with one value.
    pub fn new_bool(name: impl Into<Bytes>, v: bool) -> Field {
        let mut f = Field::with_type(name, ValueType::Bool);
        f.value_bool.push(v);
        f
    }

    /// Sets the representation, returning the field.
    pub fn with_representation(mut self, r: impl Into<Bytes>) -> Field {
        self.representation = Some(r.into());
        self
    }

    /// The representation, or empty.
    pub fn representation_bytes(&self) -> &[u8] {
        self.representation.as_deref().unwrap_or(&[])
    }

    /// Number of values in the array selected by the value type.
    pub fn value_count(&self) -> usize {
        match self.value_type() {
            ValueType::String => self.value_string.len(),
            ValueType::Bytes => self.value_bytes.len(),
            ValueType::Integer => self.value_integer.len(),
            ValueType::Double => self.value_double.len(),
            ValueType::Bool => self.value_bool.len(),
        }
    }

    /// The value at `index` of the array selected by the value type.
    pub fn value(&self, index: usize) -> Option<FieldValue<'_>> {
        match self.value_type() {
            ValueType::String => self.value_string.get(index).map(|v| FieldValue::String(v)),
            ValueType::Bytes => self.value_bytes.get(index).map(|v| FieldValue::Bytes(v)),
            ValueType::Integer => self
                .value_integer
                .get(index)
                .map(|v| FieldValue::Integer(*v)),
            ValueType::Double => self.value_double.get(index).map(|v| FieldValue::Double(*v)),
            ValueType::Bool => self.value_bool.get(index).map(|v| FieldValue::Bool(*v)),
        }
    }

    /// Iterates over the values of the selected array.
    pub fn values(&self) -> impl Iterator<Item = FieldValue<'_>> + '_ {
        (0..self.value_count()).filter_map(move |i| self.value(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn heka_encoding_of_an_integer_field_is_packed_with_type_and_representation() {
        let f = Field::new_integers("n", &[1, 2]).with_representation("count");
        let enc = f.encode_to_vec();
        // name, value_type=2, representation "count", packed ints [1,2].
        let want = [
            0x0a, 0x01, b'n', 0x10, 0x02, 0x1a, 0x05, b'c', b'o', b'u', b'n', b't', 0x32, 0x02,
            0x01, 0x02,
        ];
        assert_eq!(enc, want);
    }

    #[test]
    fn value_selects_array_by_type() {
        let mut f = Field::new_string("x", "s");
        f.value_integer.push(4); // ignored: the type is STRING
        assert_eq!(f.value_count(), 1);
        assert_eq!(f.value(0), Some(FieldValue::String(b"s")));
        assert_eq!(f.value(1), None);
        f.value_type = Some(99);
        assert_eq!(f.value_type(), ValueType::String);
    }
}
