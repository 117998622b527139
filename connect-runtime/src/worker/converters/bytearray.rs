//! `ByteArrayConverter`: passes raw record bytes through unchanged, as Kafka's
//! `org.apache.kafka.connect.converters.ByteArrayConverter`.
//! It must never reinterpret, copy more than once, or accept a non-`BYTES` schema or value.

use connect_api::{ConnectError, Result, Schema, SchemaType, Value};

use super::{java_class, Converter, HeaderConverter};

/// Kafka Connect's pass-through converter for raw bytes; it has no settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByteArrayConverter;

impl ByteArrayConverter {
    /// A new converter.
    pub fn new() -> Self {
        ByteArrayConverter
    }
}

impl Converter for ByteArrayConverter {
    fn from_connect(
        &mut self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if let Some(schema) = schema {
            if schema.schema_type() != SchemaType::Bytes {
                return Err(ConnectError::data(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    schema.schema_type()
                )));
            }
        }
        match value {
            Value::Null => Ok(false),
            Value::Bytes(bytes) => {
                out.extend_from_slice(bytes);
                Ok(true)
            }
            other => Err(ConnectError::data(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                java_class(other)
            ))),
        }
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        Ok((Some(Schema::optional_bytes()), bytes.map_or(Value::Null, Value::from)))
    }
}

impl HeaderConverter for ByteArrayConverter {
    fn from_connect_header(
        &mut self,
        topic: &str,
        _key: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        self.from_connect(topic, schema, value, out)
    }

    fn to_connect_header(&mut self, topic: &str, _key: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        self.to_connect(topic, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_through_both_ways() {
        let mut c = ByteArrayConverter::new();
        let mut out = b"prefix".to_vec();
        assert!(c.from_connect("t", Some(&Schema::bytes()), &Value::from(vec![0u8, 255, 7]), &mut out).unwrap());
        assert_eq!(out, b"prefix\x00\xff\x07");
        let mut out = Vec::new();
        assert!(c.from_connect("t", None, &Value::from(&b""[..]), &mut out).unwrap());
        assert!(out.is_empty());
        let (schema, value) = c.to_connect("t", Some(b"\x01\x02")).unwrap();
        assert_eq!(schema, Some(Schema::optional_bytes()));
        assert_eq!(value, Value::from(vec![1u8, 2]));
    }

    #[test]
    fn null_is_a_tombstone() {
        let mut c = ByteArrayConverter::new();
        let mut out = Vec::new();
        assert!(!c.from_connect("t", None, &Value::Null, &mut out).unwrap());
        assert!(!c.from_connect("t", Some(&Schema::optional_bytes()), &Value::Null, &mut out).unwrap());
        assert!(out.is_empty());
        assert_eq!(c.to_connect("t", None).unwrap(), (Some(Schema::optional_bytes()), Value::Null));
    }

    #[test]
    fn other_schemas_and_values_are_refused() {
        let mut c = ByteArrayConverter::new();
        let mut out = Vec::new();
        let err = c.from_connect("t", Some(&Schema::string()), &Value::from("x"), &mut out).unwrap_err();
        assert_eq!(err.message(), "Invalid schema type for ByteArrayConverter: STRING");
        assert_eq!(err.kind(), connect_api::ErrorKind::Data);
        let err = c.from_connect("t", None, &Value::from("x"), &mut out).unwrap_err();
        assert_eq!(err.message(), "ByteArrayConverter is not compatible with objects of type class java.lang.String");
        assert!(out.is_empty());
    }

    #[test]
    fn header_methods_delegate() {
        let mut c = ByteArrayConverter::new();
        let mut out = Vec::new();
        assert!(c.from_connect_header("t", "h", None, &Value::from(vec![9u8]), &mut out).unwrap());
        assert_eq!(out, [9]);
        assert_eq!(c.to_connect_header("t", "h", Some(&[9])).unwrap().1, Value::from(vec![9u8]));
    }
}
