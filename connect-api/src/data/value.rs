//! Connect values: what a key, a value, a field or a header holds.
//!
//! Logical types keep their physical representation here (Decimal as bytes, Date and Time as `Int32`, Timestamp as
//! `Int64`), exactly what Kafka Connect's converters write; [`crate::data::logical`] converts to and from them.

use std::fmt;

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

use crate::data::Struct;

/// A Connect value. `Null` stands for Java's `null` (a missing key, a tombstone, an unset optional field).
///
/// ```
/// use connect_api::Value;
///
/// let v = Value::from("hello");
/// assert_eq!(v.as_str(), Some("hello"));
/// assert_eq!(Value::from(7i64).as_i64(), Some(7));
/// assert!(Value::from(None::<i32>).is_null());
/// ```
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// An `INT8`.
    Int8(i8),
    /// An `INT16`.
    Int16(i16),
    /// An `INT32` (also Date and Time).
    Int32(i32),
    /// An `INT64` (also Timestamp).
    Int64(i64),
    /// A `FLOAT32`.
    Float32(f32),
    /// A `FLOAT64`.
    Float64(f64),
    /// A `BOOLEAN`.
    Boolean(bool),
    /// A `STRING`.
    String(RString),
    /// `BYTES` (also Decimal's unscaled big-endian two's-complement value).
    Bytes(RVec<u8>),
    /// An `ARRAY`.
    Array(RVec<Value>),
    /// A `MAP`, entries in insertion order.
    Map(RVec<MapEntry>),
    /// A `STRUCT`.
    Struct(Struct),
}

/// One entry of a [`Value::Map`].
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct MapEntry {
    /// The key.
    pub key: Value,
    /// The value.
    pub value: Value,
}

impl Value {
    /// A map value from key/value pairs.
    ///
    /// ```
    /// use connect_api::Value;
    /// let m = Value::map([(Value::from("a"), Value::from(1i32))]);
    /// assert_eq!(m.map_get("a"), Some(&Value::Int32(1)));
    /// ```
    pub fn map(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(key, value)| MapEntry { key, value }).collect())
    }

    /// An array value.
    pub fn array(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Array(items.into_iter().collect())
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::Boolean(_) => "boolean",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }

    /// The text of a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// Any integer value widened to `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// Any number widened to `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float32(v) => Some(v.into()),
            Value::Float64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// A `Boolean` value.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes of a `Bytes` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// The struct of a `Struct` value.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The value under string key `key` of a `Map` value.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|e| e.key.as_str() == Some(key)).map(|e| &e.value),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// Renders a value the way Java's `toString` of the corresponding Connect object does, so sinks that write
    /// text (FileStreamSink) produce the same lines as Kafka Connect's.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => f.write_str(&crate::data::java_float::format_f32(*v)),
            Value::Float64(v) => f.write_str(&crate::data::java_float::format_f64(*v)),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("[")?;
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", *byte as i8)?;
                }
                f.write_str("]")
            }
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, e) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}={}", e.key, e.value)?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => write!(f, "{s}"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$t> for Value {
                fn from(v: $t) -> Value {
                    Value::$variant(v.into())
                }
            }
        )*
    };
}

value_from! {
    i8 => Int8,
    i16 => Int16,
    i32 => Int32,
    i64 => Int64,
    f32 => Float32,
    f64 => Float64,
    bool => Boolean,
    String => String,
    RString => String,
    Vec<u8> => Bytes,
    RVec<u8> => Bytes,
    Struct => Struct,
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(RString::from(v))
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(RVec::from_slice(v))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_java_to_string() {
        assert_eq!(Value::from(1.0f64).to_string(), "1.0");
        assert_eq!(Value::from(vec![1u8, 255]).to_string(), "[1, -1]");
        assert_eq!(Value::array([Value::from(1i32), Value::Null]).to_string(), "[1, null]");
        assert_eq!(Value::map([(Value::from("a"), Value::from(true))]).to_string(), "{a=true}");
    }

    #[test]
    fn accessors_widen() {
        assert_eq!(Value::Int8(-3).as_i64(), Some(-3));
        assert_eq!(Value::Int16(2).as_f64(), Some(2.0));
        assert_eq!(Value::from("x").as_i64(), None);
    }
}
