//! `StringConverter`: writes any value as its Java `toString()` text in UTF-8 and reads bytes back as an optional
//! string, as Kafka's `org.apache.kafka.connect.storage.StringConverter`.
//! It must never fail on undecodable input (invalid UTF-8 is replaced, as Java's decoder does) and never accept an
//! encoding other than UTF-8 silently.

use std::collections::BTreeMap;
use std::io::Write;

use connect_api::data::logical::Decimal;
use connect_api::{ConnectError, Result, Schema, Value};

use super::{civil_from_millis, is_utf8_charset, logical_of, temporal_millis, Converter, HeaderConverter, Logical};

/// The setting naming the charset of both directions.
pub const ENCODING_CONFIG: &str = "converter.encoding";

/// Kafka Connect's `StringConverter` (UTF-8 only).
#[derive(Clone, Copy, Debug, Default)]
pub struct StringConverter;

impl StringConverter {
    /// Configures a converter from its settings. `is_key` is `Some` for key/value converters and `None` for a
    /// header converter (which Kafka configures as a value-side converter).
    ///
    /// Kafka hands `converter.encoding` (default UTF-8) to its serializer and deserializer as `serializer.encoding` /
    /// `deserializer.encoding`, overriding any such user setting, while `key.`/`value.` prefixed serializer settings
    /// still take precedence; every effective charset must be UTF-8, the only one supported here.
    pub fn new(settings: &BTreeMap<String, String>, is_key: Option<bool>) -> Result<Self> {
        let side = if is_key == Some(true) { "key" } else { "value" };
        let mut keys = vec![ENCODING_CONFIG.to_string()];
        keys.push(format!("{side}.serializer.encoding"));
        keys.push(format!("{side}.deserializer.encoding"));
        for key in keys {
            if let Some(charset) = settings.get(&key) {
                if !is_utf8_charset(charset) {
                    return Err(ConnectError::not_supported(format!(
                        "Unsupported value \"{charset}\" for configuration {key}: connect-rs's StringConverter \
                         supports only UTF-8"
                    )));
                }
            }
        }
        Ok(StringConverter)
    }
}

impl Converter for StringConverter {
    fn from_connect(
        &mut self,
        _topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        match value {
            Value::Null => Ok(false),
            Value::String(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(true)
            }
            other => {
                write_java_to_string(schema, other, out);
                Ok(true)
            }
        }
    }

    fn to_connect(&mut self, _topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)> {
        let value = match bytes {
            None => Value::Null,
            Some(b) => Value::from(super::utf8_lossy(b).into_owned()),
        };
        Ok((Some(Schema::optional_string()), value))
    }
}

impl HeaderConverter for StringConverter {
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

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Appends what Java's `toString()` returns for the object Kafka Connect would hold for `value`: logical types are
/// rendered from their Java objects (`BigDecimal.toString`, `java.util.Date.toString` in a UTC JVM), everything else
/// as [`Value`]'s `Display` (which follows Java's `toString` of the Connect objects).
pub(crate) fn write_java_to_string(schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) {
    if let Some(logical) = schema.and_then(logical_of) {
        match (logical, value) {
            (Logical::Decimal, Value::Bytes(b)) if !b.is_empty() => {
                if let Some(scale) = schema.and_then(|s| Decimal::scale(s).ok()) {
                    out.extend_from_slice(Decimal::to_java_string(b, scale).as_bytes());
                    return;
                }
            }
            (Logical::Date | Logical::Time | Logical::Timestamp, _) => {
                if let Some(millis) = temporal_millis(logical, value) {
                    write_java_date(millis, out);
                    return;
                }
            }
            _ => {}
        }
    }
    // `write!` into a Vec<u8> cannot fail.
    match value {
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Array(items) => {
            let element = schema.and_then(Schema::value_schema);
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_java_to_string(element, item, out);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (ks, vs) = (schema.and_then(Schema::key_schema), schema.and_then(Schema::value_schema));
            out.push(b'{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_java_to_string(ks, &e.key, out);
                out.push(b'=');
                write_java_to_string(vs, &e.value, out);
            }
            out.push(b'}');
        }
        Value::Struct(s) => {
            out.extend_from_slice(b"Struct{");
            let mut first = true;
            for field in s.schema().fields() {
                let Some(v) = s.get_at(field.index()).filter(|v| !v.is_null()) else {
                    continue;
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(field.name().as_bytes());
                out.push(b'=');
                write_java_to_string(Some(field.schema()), v, out);
            }
            out.push(b'}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// `java.util.Date.toString()` of the instant `millis` in a JVM whose default time zone is UTC:
/// `EEE MMM dd HH:mm:ss zzz yyyy`.
fn write_java_date(millis: i64, out: &mut Vec<u8>) {
    let c = civil_from_millis(millis);
    let _ = write!(
        out,
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        WEEKDAYS[c.weekday as usize % 7],
        MONTHS[(c.month as usize + 11) % 12],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    );
}

#[cfg(test)]
mod tests {
    use connect_api::data::logical::{Date, Time, Timestamp};
    use connect_api::{SchemaBuilder, Struct};

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn write(schema: Option<&Schema>, value: &Value) -> String {
        let mut c = StringConverter::new(&BTreeMap::new(), Some(false)).unwrap();
        let mut out = Vec::new();
        assert!(c.from_connect("t", schema, value, &mut out).unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_written_as_is_and_null_is_a_tombstone() {
        assert_eq!(write(Some(&Schema::string()), &Value::from("héllo \"x\"\n")), "héllo \"x\"\n");
        let mut c = StringConverter;
        let mut out = b"keep".to_vec();
        assert!(!c.from_connect("t", Some(&Schema::optional_string()), &Value::Null, &mut out).unwrap());
        assert_eq!(out, b"keep");
    }

    #[test]
    fn other_values_use_java_to_string() {
        assert_eq!(write(None, &Value::Int32(-42)), "-42");
        assert_eq!(write(None, &Value::Float64(1e7)), "1.0E7");
        assert_eq!(write(None, &Value::Float32(0.1)), "0.1");
        assert_eq!(write(None, &Value::Boolean(true)), "true");
        assert_eq!(write(None, &Value::array([Value::from(1i32), Value::Null])), "[1, null]");
        assert_eq!(write(None, &Value::map([(Value::from("a"), Value::from(1i64))])), "{a=1}");
        let schema = SchemaBuilder::structure()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .build()
            .unwrap();
        let s = Struct::new(schema.clone()).unwrap().with("a", 1i32).unwrap();
        assert_eq!(write(Some(&schema), &Value::Struct(s)), "Struct{a=1}");
    }

    #[test]
    fn logical_values_render_like_their_java_objects() {
        assert_eq!(write(Some(&Decimal::schema(2)), &Decimal::from_unscaled(-12345)), "-123.45");
        assert_eq!(write(Some(&Decimal::schema(9)), &Decimal::from_unscaled(1)), "1E-9");
        assert_eq!(write(Some(&Date::schema()), &Value::Int32(10_000)), "Mon May 19 00:00:00 UTC 1997");
        assert_eq!(write(Some(&Time::schema()), &Value::Int32(14_400_000)), "Thu Jan 01 04:00:00 UTC 1970");
        assert_eq!(write(Some(&Timestamp::schema()), &Value::Int64(-1)), "Wed Dec 31 23:59:59 UTC 1969");
        let inner = SchemaBuilder::structure().field("d", Date::schema()).build().unwrap();
        let s = Struct::new(inner.clone()).unwrap().with("d", Value::Int32(0)).unwrap();
        let arr = SchemaBuilder::array(inner).build().unwrap();
        assert_eq!(write(Some(&arr), &Value::array([Value::Struct(s)])), "[Struct{d=Thu Jan 01 00:00:00 UTC 1970}]");
    }

    #[test]
    fn reads_optional_strings_replacing_invalid_utf8() {
        let mut c = StringConverter;
        assert_eq!(c.to_connect("t", Some("ünï".as_bytes())).unwrap(), (Some(Schema::optional_string()), "ünï".into()));
        assert_eq!(c.to_connect("t", Some(b"a\xffb\xe2\x82")).unwrap().1, Value::from("a\u{fffd}b\u{fffd}"));
        assert_eq!(c.to_connect("t", Some(b"")).unwrap().1, Value::from(""));
        assert_eq!(c.to_connect("t", None).unwrap(), (Some(Schema::optional_string()), Value::Null));
        assert_eq!(c.to_connect_header("t", "h", Some(b"x")).unwrap().1, Value::from("x"));
    }

    #[test]
    fn encodings_other_than_utf8_are_refused_naming_the_key() {
        assert!(StringConverter::new(&settings(&[("converter.encoding", "utf8")]), Some(true)).is_ok());
        // Kafka overrides plain serializer.encoding / deserializer.encoding with converter.encoding.
        assert!(StringConverter::new(&settings(&[("serializer.encoding", "UTF-16")]), Some(true)).is_ok());
        for (key, is_key) in [
            ("converter.encoding", Some(false)),
            ("key.serializer.encoding", Some(true)),
            ("value.deserializer.encoding", None),
        ] {
            let err = StringConverter::new(&settings(&[(key, "ISO-8859-1")]), is_key).unwrap_err();
            assert_eq!(err.kind(), connect_api::ErrorKind::NotSupported);
            assert!(err.message().contains(key), "{err}");
        }
        // The other side's setting does not apply.
        assert!(StringConverter::new(&settings(&[("key.serializer.encoding", "UTF-16")]), Some(false)).is_ok());
    }
}
