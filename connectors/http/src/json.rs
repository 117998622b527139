//! Connect values as JSON, the way Kafka's `JsonConverter` writes them with `schemas.enable=false` (what both
//! upstream connectors send): structs as objects, maps with string keys as objects and other maps as arrays of
//! `[key, value]` pairs, bytes as Base64, Decimal as Base64 or a number (`decimal.format`), Date/Time/Timestamp as
//! their integers, null fields replaced by their schema's default. Writes straight into the body buffer.

use std::fmt::Write as _;

use base64::Engine;
use connect_api::data::java_float;
use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{ConnectError, MapEntry, Result, Schema, SchemaType, Struct, Value};

/// Deeper values are refused rather than risking the task thread's stack.
const MAX_DEPTH: usize = 256;

/// Appends `value` (with its `schema`, if any) as JSON to `out`.
pub fn write(out: &mut Vec<u8>, schema: Option<&Schema>, value: &Value, numeric_decimals: bool) -> Result<()> {
    Writer { out, numeric_decimals }.value(schema, value, 0)
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    numeric_decimals: bool,
}

impl Writer<'_> {
    fn value(&mut self, schema: Option<&Schema>, value: &Value, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(ConnectError::data(format!("the value is nested deeper than {MAX_DEPTH} levels")));
        }
        if value.is_null() {
            return self.null(schema, depth);
        }
        if let Some(s) = schema {
            if s.name().is_some() && self.logical(s, value)? {
                return Ok(());
            }
        }
        match value {
            Value::Null => unreachable!("handled above"),
            Value::Int8(v) => self.number(i64::from(*v)),
            Value::Int16(v) => self.number(i64::from(*v)),
            Value::Int32(v) => self.number(i64::from(*v)),
            Value::Int64(v) => self.number(*v),
            Value::Float32(v) => self.float(v.is_finite(), |out| java_float::write_f32(out, *v)),
            Value::Float64(v) => self.float(v.is_finite(), |out| java_float::write_f64(out, *v)),
            Value::Boolean(v) => self.out.extend_from_slice(if *v { b"true" } else { b"false" }),
            Value::String(s) => string(self.out, s),
            Value::Bytes(b) => self.base64(b),
            Value::Array(items) => {
                let element = schema.and_then(Schema::value_schema);
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.value(element, item, depth + 1)?;
                }
                self.out.push(b']');
            }
            Value::Map(entries) => self.map(schema, entries, depth)?,
            Value::Struct(st) => self.structure(st, depth)?,
        }
        Ok(())
    }

    fn null(&mut self, schema: Option<&Schema>, depth: usize) -> Result<()> {
        match schema {
            Some(s) => match s.default_value().filter(|d| !d.is_null()) {
                Some(default) => self.value(schema, default, depth),
                None if s.is_optional() => {
                    self.out.extend_from_slice(b"null");
                    Ok(())
                }
                None => Err(ConnectError::data(
                    "Conversion error: null value for field that is required and has no default value",
                )),
            },
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    /// Writes a logical value; false when `schema` is no logical type.
    fn logical(&mut self, schema: &Schema, value: &Value) -> Result<bool> {
        if schema.name() == Some(Decimal::LOGICAL_NAME) && schema.schema_type() == SchemaType::Bytes {
            let Value::Bytes(bytes) = value else {
                return Err(ConnectError::data(format!("Invalid type for Decimal: {}", value.type_name())));
            };
            if self.numeric_decimals {
                let scale = Decimal::scale(schema)?;
                Decimal::write_java_string(&mut Utf8(self.out), bytes, scale)
                    .map_err(|_| ConnectError::data("cannot write a Decimal"))?;
            } else {
                self.base64(bytes);
            }
            return Ok(true);
        }
        let temporal = Date::is(schema) || Time::is(schema) || Timestamp::is(schema);
        if temporal {
            match value.as_i64() {
                Some(n) => self.number(n),
                None => {
                    return Err(ConnectError::data(format!(
                        "Invalid type for {}: {}",
                        schema.name().unwrap_or(""),
                        value.type_name()
                    )))
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn map(&mut self, schema: Option<&Schema>, entries: &[MapEntry], depth: usize) -> Result<()> {
        let (key_schema, value_schema) = (schema.and_then(Schema::key_schema), schema.and_then(Schema::value_schema));
        let as_object = match key_schema {
            Some(k) => k.schema_type() == SchemaType::String,
            None => entries.iter().all(|e| matches!(e.key, Value::String(_))),
        };
        if as_object {
            self.out.push(b'{');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                match &entry.key {
                    Value::String(k) => string(self.out, k),
                    other => string(self.out, &other.to_string()),
                }
                self.out.push(b':');
                self.value(value_schema, &entry.value, depth + 1)?;
            }
            self.out.push(b'}');
        } else {
            self.out.push(b'[');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out.push(b'[');
                self.value(key_schema, &entry.key, depth + 1)?;
                self.out.push(b',');
                self.value(value_schema, &entry.value, depth + 1)?;
                self.out.push(b']');
            }
            self.out.push(b']');
        }
        Ok(())
    }

    fn structure(&mut self, st: &Struct, depth: usize) -> Result<()> {
        self.out.push(b'{');
        for (i, field) in st.schema().fields().iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            string(self.out, field.name());
            self.out.push(b':');
            let value = st.get_at(field.index()).unwrap_or(&Value::Null);
            self.value(Some(field.schema()), value, depth + 1)?;
        }
        self.out.push(b'}');
        Ok(())
    }

    fn number(&mut self, n: i64) {
        let _ = write!(Utf8(self.out), "{n}");
    }

    /// Java's float text; NaN and the infinities as strings, as Jackson writes them.
    fn float(&mut self, finite: bool, write: impl FnOnce(&mut Utf8<'_>) -> std::fmt::Result) {
        if !finite {
            self.out.push(b'"');
        }
        let _ = write(&mut Utf8(self.out));
        if !finite {
            self.out.push(b'"');
        }
    }

    fn base64(&mut self, bytes: &[u8]) {
        self.out.push(b'"');
        let mut text = String::new();
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut text);
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(b'"');
    }
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, short escapes for `\b \t \n \f \r`, other control
/// characters as `\u00XX`, everything else as UTF-8.
pub fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Lets `fmt` writers append to the body bytes.
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::SchemaBuilder;

    fn json(schema: Option<&Schema>, value: &Value) -> String {
        let mut out = Vec::new();
        write(&mut out, schema, value, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn structs_maps_and_scalars_as_kafka_writes_them() {
        let schema = SchemaBuilder::structure()
            .field("id", Schema::int64())
            .field("name", SchemaBuilder::string().optional().build().unwrap())
            .field("score", Schema::float64())
            .field("tags", SchemaBuilder::array(Schema::string()).build().unwrap())
            .build()
            .unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", 7i64)
            .unwrap()
            .with("score", 1.0f64)
            .unwrap()
            .with("tags", Value::array([Value::from("a\"b\n")]))
            .unwrap();
        assert_eq!(json(Some(&schema), &Value::Struct(value)), r#"{"id":7,"name":null,"score":1.0,"tags":["a\"b\n"]}"#);
        let map = Value::map([(Value::from("k"), Value::from(true)), (Value::from("n"), Value::Null)]);
        assert_eq!(json(None, &map), r#"{"k":true,"n":null}"#);
        let pairs = Value::map([(Value::from(1i32), Value::from("x"))]);
        assert_eq!(json(None, &pairs), r#"[[1,"x"]]"#);
        assert_eq!(json(None, &Value::from(vec![1u8, 2, 3])), r#""AQID""#);
        assert_eq!(json(None, &Value::Float64(f64::NAN)), r#""NaN""#);
    }

    #[test]
    fn decimals_follow_decimal_format() {
        let schema = Decimal::schema(2);
        let value = Decimal::from_unscaled(12345);
        assert_eq!(json(Some(&schema), &value), r#""MDk=""#);
        let mut out = Vec::new();
        write(&mut out, Some(&schema), &value, true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "123.45");
    }

    #[test]
    fn null_fields_take_their_default_or_fail_when_required() {
        let with_default = SchemaBuilder::int32().default_value(Value::Int32(5)).build().unwrap();
        assert_eq!(json(Some(&with_default), &Value::Null), "5");
        let mut out = Vec::new();
        assert!(write(&mut out, Some(&Schema::int32()), &Value::Null, false).is_err());
    }
}
