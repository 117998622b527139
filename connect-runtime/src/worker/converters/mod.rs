//! Record converters: turn Connect keys, values and headers into Kafka bytes and back, byte-for-byte as Kafka
//! Connect's own converters do, so topics written by connect-rs and by a Java worker are interchangeable.
//! This module owns the factory ([`new_converter`], [`new_header_converter`]) and helpers shared by the converters.
//! A converter must never panic on input bytes, never block, and never log or keep record contents.

pub mod bytearray;
pub mod header;
pub mod json;
pub mod string;

use std::collections::BTreeMap;

use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{ConnectError, Result, Schema, Value};

pub use bytearray::ByteArrayConverter;
pub use header::SimpleHeaderConverter;
pub use json::{DecimalFormat, JsonConverter, JsonConverterConfig};
pub use string::StringConverter;

/// Turns Connect data into bytes for Kafka and back (Kafka Connect's `Converter`).
pub trait Converter: Send {
    /// Appends the serialized form of `value` to `out`; returns Ok(false) (and appends nothing) when the result is null (no bytes, e.g. a tombstone).
    #[allow(clippy::wrong_self_convention)] // named after Kafka's `fromConnectData`
    fn from_connect(&mut self, topic: &str, schema: Option<&Schema>, value: &Value, out: &mut Vec<u8>) -> Result<bool>;
    /// Deserializes Kafka bytes (None = null) into a schema and value.
    fn to_connect(&mut self, topic: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)>;
}

/// Kafka Connect's `HeaderConverter`.
pub trait HeaderConverter: Send {
    /// Appends the serialized form of header `key`'s `value` to `out`; returns Ok(false) (appending nothing) when
    /// the header value is null.
    #[allow(clippy::wrong_self_convention)] // named after Kafka's `fromConnectHeader`
    fn from_connect_header(
        &mut self,
        topic: &str,
        key: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool>;
    /// Deserializes the bytes of header `key` (None = null) into a schema and value.
    fn to_connect_header(&mut self, topic: &str, key: &str, bytes: Option<&[u8]>) -> Result<(Option<Schema>, Value)>;
}

/// Full class name of Kafka's JSON converter.
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
/// Full class name of Kafka's string converter.
pub const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";
/// Full class name of Kafka's pass-through bytes converter.
pub const BYTE_ARRAY_CONVERTER: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
/// Full class name of Kafka's default header converter.
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Json,
    String,
    ByteArray,
    SimpleHeader,
}

const KINDS: [(&str, Kind); 4] = [
    (JSON_CONVERTER, Kind::Json),
    (STRING_CONVERTER, Kind::String),
    (BYTE_ARRAY_CONVERTER, Kind::ByteArray),
    (SIMPLE_HEADER_CONVERTER, Kind::SimpleHeader),
];

/// Resolves a class name (trimmed, as Kafka's `CLASS` config type does) or its simple-name alias.
fn kind_of(class: &str) -> Option<Kind> {
    let class = class.trim();
    KINDS.iter().find(|(full, _)| *full == class || full.rsplit('.').next() == Some(class)).map(|(_, kind)| *kind)
}

/// Builds a converter from its class name (full Kafka class name or simple name alias) and its settings
/// (the keys after the `key.converter.` / `value.converter.` prefix, e.g. "schemas.enable"). `is_key` as Kafka's configure(.., isKey).
pub fn new_converter(class: &str, settings: &BTreeMap<String, String>, is_key: bool) -> Result<Box<dyn Converter>> {
    Ok(match kind_of(class) {
        Some(Kind::Json) => Box::new(JsonConverter::new(JsonConverterConfig::from_settings(settings)?)?),
        Some(Kind::String) => Box::new(StringConverter::new(settings, Some(is_key))?),
        Some(Kind::ByteArray) => Box::new(ByteArrayConverter::new()),
        Some(Kind::SimpleHeader) => {
            return Err(ConnectError::not_supported(format!(
                "{} is a header converter and cannot convert keys or values; supported converters: {JSON_CONVERTER}, \
                 {STRING_CONVERTER}, {BYTE_ARRAY_CONVERTER} (or their simple class names)",
                class.trim()
            )))
        }
        None => {
            return Err(ConnectError::not_supported(format!(
                "Converter class {} is not supported by connect-rs; supported converters: {JSON_CONVERTER}, \
                 {STRING_CONVERTER}, {BYTE_ARRAY_CONVERTER} (or their simple class names)",
                class.trim()
            )))
        }
    })
}

/// Builds a header converter from its class name (full Kafka class name or simple name alias) and its settings
/// (the keys after the `header.converter.` prefix).
pub fn new_header_converter(class: &str, settings: &BTreeMap<String, String>) -> Result<Box<dyn HeaderConverter>> {
    Ok(match kind_of(class) {
        Some(Kind::Json) => Box::new(JsonConverter::new(JsonConverterConfig::from_settings(settings)?)?),
        Some(Kind::String) => Box::new(StringConverter::new(settings, None)?),
        Some(Kind::ByteArray) => Box::new(ByteArrayConverter::new()),
        Some(Kind::SimpleHeader) => Box::new(SimpleHeaderConverter::new()),
        None => {
            return Err(ConnectError::not_supported(format!(
                "Header converter class {} is not supported by connect-rs; supported header converters: \
                 {SIMPLE_HEADER_CONVERTER}, {JSON_CONVERTER}, {STRING_CONVERTER}, {BYTE_ARRAY_CONVERTER} \
                 (or their simple class names)",
                class.trim()
            )))
        }
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Settings parsing with Kafka's ConfigDef rules (values are trimmed; booleans are case-insensitive).
// ---------------------------------------------------------------------------------------------------------------

/// A `BOOLEAN` setting, as Kafka's `ConfigDef` parses it.
pub(crate) fn bool_setting(settings: &BTreeMap<String, String>, key: &str, default: bool) -> Result<bool> {
    match settings.get(key) {
        None => Ok(default),
        Some(raw) => {
            let v = raw.trim();
            if v.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if v.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(ConnectError::config(key, format!("Expected value to be either true or false, got \"{raw}\"")))
            }
        }
    }
}

/// An `INT` setting, as Kafka's `ConfigDef` parses it.
pub(crate) fn int_setting(settings: &BTreeMap<String, String>, key: &str, default: i32) -> Result<i32> {
    match settings.get(key) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i32>()
            .map_err(|_| ConnectError::config(key, format!("Not a number of type INT: \"{raw}\""))),
    }
}

/// Whether `name` is a name Java's `Charset.forName` resolves to UTF-8.
pub(crate) fn is_utf8_charset(name: &str) -> bool {
    let n = name.trim();
    n.eq_ignore_ascii_case("UTF-8") || n.eq_ignore_ascii_case("UTF8") || n.eq_ignore_ascii_case("unicode-1-1-utf-8")
}

// ---------------------------------------------------------------------------------------------------------------
// Java names and calendar helpers shared by the converters.
// ---------------------------------------------------------------------------------------------------------------

/// `value.getClass()` as Java prints it, for error messages that match Kafka's.
pub(crate) fn java_class(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Int8(_) => "class java.lang.Byte",
        Value::Int16(_) => "class java.lang.Short",
        Value::Int32(_) => "class java.lang.Integer",
        Value::Int64(_) => "class java.lang.Long",
        Value::Float32(_) => "class java.lang.Float",
        Value::Float64(_) => "class java.lang.Double",
        Value::Boolean(_) => "class java.lang.Boolean",
        Value::String(_) => "class java.lang.String",
        Value::Bytes(_) => "class [B",
        Value::Array(_) => "class java.util.ArrayList",
        Value::Map(_) => "class java.util.HashMap",
        Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
    }
}

/// Milliseconds in a day.
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// The logical type of a schema, recognised by name as Kafka does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logical {
    Decimal,
    Date,
    Time,
    Timestamp,
}

/// Which logical type `schema` is (by schema name only, as Kafka's converters look them up).
pub(crate) fn logical_of(schema: &Schema) -> Option<Logical> {
    match schema.name()? {
        Decimal::LOGICAL_NAME => Some(Logical::Decimal),
        Date::LOGICAL_NAME => Some(Logical::Date),
        Time::LOGICAL_NAME => Some(Logical::Time),
        Timestamp::LOGICAL_NAME => Some(Logical::Timestamp),
        _ => None,
    }
}

/// The instant (milliseconds since the epoch) of a Date, Time or Timestamp value, as the `java.util.Date` Kafka
/// Connect would hold for it; None when the value does not have the logical type's physical type.
pub(crate) fn temporal_millis(logical: Logical, value: &Value) -> Option<i64> {
    match (logical, value) {
        (Logical::Date, Value::Int32(days)) => Some(i64::from(*days) * MILLIS_PER_DAY),
        (Logical::Time, Value::Int32(ms)) => Some(i64::from(*ms)),
        (Logical::Timestamp, Value::Int64(ms)) => Some(*ms),
        _ => None,
    }
}

/// A UTC calendar breakdown of an instant (proleptic Gregorian calendar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
    /// 0 = Sunday .. 6 = Saturday.
    pub weekday: u32,
}

/// Breaks `millis` since the epoch down into a UTC calendar date and time.
pub(crate) fn civil_from_millis(millis: i64) -> Civil {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (ms / 3_600_000) as u32,
        minute: (ms / 60_000 % 60) as u32,
        second: (ms / 1000 % 60) as u32,
        milli: (ms % 1000) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian; None for an invalid month or day.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `bytes` as text, invalid UTF-8 replaced as Java's decoder does. Valid text (the common case) is checked with
/// `str::from_utf8`, several times faster than `String::from_utf8_lossy`'s chunked scan.
pub(crate) fn utf8_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn full_and_simple_class_names_resolve() {
        let none = BTreeMap::new();
        for class in [JSON_CONVERTER, "JsonConverter", STRING_CONVERTER, "StringConverter", BYTE_ARRAY_CONVERTER] {
            assert!(new_converter(class, &none, false).is_ok(), "{class}");
        }
        assert!(new_converter(" ByteArrayConverter ", &none, true).is_ok());
        for class in [SIMPLE_HEADER_CONVERTER, "SimpleHeaderConverter", "JsonConverter", "StringConverter"] {
            assert!(new_header_converter(class, &none).is_ok(), "{class}");
        }
        assert!(new_header_converter("ByteArrayConverter", &none).is_ok());
    }

    #[test]
    fn unsupported_classes_are_named_in_the_error() {
        let none = BTreeMap::new();
        for class in ["org.apache.kafka.connect.converters.IntegerConverter", "io.confluent.connect.avro.AvroConverter"]
        {
            let err = new_converter(class, &none, false).err().expect("unsupported");
            assert_eq!(err.kind(), connect_api::ErrorKind::NotSupported);
            assert!(err.message().contains(class), "{err}");
            assert!(err.message().contains(JSON_CONVERTER), "{err}");
            assert!(err.message().contains(BYTE_ARRAY_CONVERTER), "{err}");
        }
        let err = new_header_converter("com.example.Nope", &none).err().expect("unsupported");
        assert!(err.message().contains("com.example.Nope") && err.message().contains(SIMPLE_HEADER_CONVERTER));
        let err = new_converter("SimpleHeaderConverter", &none, false).err().expect("header only");
        assert_eq!(err.kind(), connect_api::ErrorKind::NotSupported);
        assert!(err.message().contains("header converter"), "{err}");
    }

    #[test]
    fn invalid_settings_name_the_key() {
        let err = new_converter("JsonConverter", &settings(&[("schemas.enable", "maybe")]), false).err().expect("bad");
        assert_eq!(err.kind(), connect_api::ErrorKind::Config);
        assert!(err.message().contains("schemas.enable"), "{err}");
        let err = new_converter("JsonConverter", &settings(&[("decimal.format", "HEX")]), false).err().expect("bad");
        assert!(err.message().contains("decimal.format"), "{err}");
        let err =
            new_converter("JsonConverter", &settings(&[("schemas.cache.size", "lots")]), false).err().expect("bad");
        assert!(err.message().contains("schemas.cache.size"), "{err}");
        let err =
            new_converter("JsonConverter", &settings(&[("replace.null.with.default", "yes")]), false).err().expect("x");
        assert!(err.message().contains("replace.null.with.default"), "{err}");
        let err = new_converter("StringConverter", &settings(&[("converter.encoding", "UTF-16")]), false)
            .err()
            .expect("unsupported encoding");
        assert_eq!(err.kind(), connect_api::ErrorKind::NotSupported);
        assert!(err.message().contains("converter.encoding"), "{err}");
        assert!(new_header_converter("JsonConverter", &settings(&[("schemas.enable", "nope")])).is_err());
    }

    #[test]
    fn factory_converters_apply_their_settings() {
        let mut json = new_converter("JsonConverter", &settings(&[("schemas.enable", "false")]), true).unwrap();
        let mut out = Vec::new();
        assert!(json.from_connect("t", Some(&Schema::int32()), &Value::Int32(5), &mut out).unwrap());
        assert_eq!(out, b"5");
        let mut header = new_header_converter(SIMPLE_HEADER_CONVERTER, &BTreeMap::new()).unwrap();
        assert_eq!(header.to_connect_header("t", "h", Some(b"5")).unwrap(), (Some(Schema::int8()), Value::Int8(5)));
        let mut header = new_header_converter("JsonConverter", &BTreeMap::new()).unwrap();
        out.clear();
        assert!(header.from_connect_header("t", "h", None, &Value::from("x"), &mut out).unwrap());
        assert_eq!(out, br#"{"schema":null,"payload":"x"}"#);
    }

    #[test]
    fn settings_are_trimmed_and_case_insensitive() {
        let s = settings(&[("a", " TRUE "), ("b", "False"), ("n", " 12 ")]);
        assert!(bool_setting(&s, "a", false).unwrap());
        assert!(!bool_setting(&s, "b", true).unwrap());
        assert!(bool_setting(&s, "missing", true).unwrap());
        assert_eq!(int_setting(&s, "n", 0).unwrap(), 12);
        assert!(is_utf8_charset("utf8") && is_utf8_charset(" UTF-8") && !is_utf8_charset("latin1"));
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(10_000), (1997, 5, 19));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(days_from_civil(2023, 2, 29), None);
        assert_eq!(days_from_civil(2024, 13, 1), None);
        let c = civil_from_millis(-1);
        assert_eq!((c.year, c.hour, c.minute, c.second, c.milli, c.weekday), (1969, 23, 59, 59, 999, 3));
        assert_eq!(civil_from_millis(0).weekday, 4);
    }
}
