//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`: converts a timestamp (the whole key
//! or value, or the top-level field `field`) between strings (`format`, a `SimpleDateFormat` pattern), Unix
//! epoch numbers (`unix.precision`) and Connect's Date, Time and Timestamp, in UTC. With a schema the source
//! type comes from the schema; without one an INT64 is a Unix time and a STRING is parsed with `format`.

use connect_api::config::Importance;
use connect_api::data::logical::{Date, Time, Timestamp};
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, MapEntry, Result, Schema, Struct, TransformRecord,
    Transformation, Validator, Value,
};

use super::common::{copy_struct_basics, java_class_name, key_value_variants, not_a_map, not_a_struct, SchemaCache};
use super::datefmt::{days_to_millis, millis_to_days, millis_to_time_of_day, DateFormat};
use crate::util::Target;

const FIELD: &str = "field";
const TARGET_TYPE: &str = "target.type";
const FORMAT: &str = "format";
const UNIX_PRECISION: &str = "unix.precision";
const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";
const PURPOSE: &str = "converting timestamp formats";

/// A timestamp representation (`target.type`, or the source type of a value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    /// The schema of values of this kind.
    fn schema(self, optional: bool) -> Schema {
        let built = match (self, optional) {
            (Kind::String, false) => return Schema::string(),
            (Kind::String, true) => return Schema::optional_string(),
            (Kind::Unix, false) => return Schema::int64(),
            (Kind::Unix, true) => return Schema::optional_int64(),
            (Kind::Date, false) => return Date::schema(),
            (Kind::Time, false) => return Time::schema(),
            (Kind::Timestamp, false) => return Timestamp::schema(),
            (Kind::Date, true) => Date::builder().optional().build(),
            (Kind::Time, true) => Time::builder().optional().build(),
            (Kind::Timestamp, true) => Timestamp::builder().optional().build(),
        };
        // Logical schemas always build; fall back to the required one rather than panic.
        built.unwrap_or_else(|_| self.schema(false))
    }

    /// Kafka's `timestampTypeFromSchema`.
    fn of_schema(schema: &Schema) -> Result<Kind> {
        match schema.name() {
            Some(Timestamp::LOGICAL_NAME) => return Ok(Kind::Timestamp),
            Some(Date::LOGICAL_NAME) => return Ok(Kind::Date),
            Some(Time::LOGICAL_NAME) => return Ok(Kind::Time),
            _ => {}
        }
        match schema.schema_type() {
            connect_api::SchemaType::String => Ok(Kind::String),
            connect_api::SchemaType::Int64 => Ok(Kind::Unix),
            _ => {
                Err(ConnectError::data(format!("Schema {schema} does not correspond to a known timestamp type format")))
            }
        }
    }
}

/// `unix.precision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

/// The shared implementation of both variants.
pub(crate) struct TimestampConverter {
    target: Target,
    field: String,
    kind: Kind,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
    schemas: SchemaCache,
}

key_value_variants!(
    TimestampConverter,
    TimestampConverterKey,
    TimestampConverterValue,
    "Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types. \
     Applies to individual fields or to the entire value."
);

fn found(value: &Value) -> String {
    format!("class {}", java_class_name(value))
}

impl TimestampConverter {
    /// An unconfigured transformation of the key or the value.
    pub(crate) fn new(target: Target) -> Self {
        TimestampConverter {
            target,
            field: String::new(),
            kind: Kind::Timestamp,
            format: None,
            precision: Precision::Milliseconds,
            replace_null_with_default: true,
            schemas: SchemaCache::default(),
        }
    }

    fn missing_format() -> ConnectError {
        ConnectError::data("TimestampConverter requires format option to be specified when using string timestamps")
    }

    /// Milliseconds since the epoch from a value of kind `from` (Kafka's `toRaw`).
    fn to_raw(&self, from: Kind, value: &Value) -> Result<i64> {
        match (from, value) {
            (Kind::String, Value::String(s)) => {
                let format = self.format.as_ref().ok_or_else(Self::missing_format)?;
                format.parse(s).ok_or_else(|| {
                    ConnectError::data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (Kind::String, other) => {
                Err(ConnectError::data(format!("Expected string timestamp to be a String, but found {}", found(other))))
            }
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Milliseconds => *v,
                Precision::Microseconds => v / 1000,
                Precision::Nanoseconds => v / 1_000_000,
            }),
            (Kind::Unix, other) => {
                Err(ConnectError::data(format!("Expected Unix timestamp to be a Long, but found {}", found(other))))
            }
            (Kind::Date, Value::Int32(days)) => Ok(days_to_millis(*days)),
            (Kind::Time, Value::Int32(millis)) => Ok(i64::from(*millis)),
            (Kind::Timestamp, Value::Int64(millis)) => Ok(*millis),
            (kind, other) => {
                Err(ConnectError::data(format!("Expected {kind:?} to be a java.util.Date, but found {}", found(other))))
            }
        }
    }

    /// The target representation of an instant (Kafka's `toType`).
    fn to_type(&self, millis: i64) -> Result<Value> {
        Ok(match self.kind {
            Kind::String => {
                let format = self.format.as_ref().ok_or_else(Self::missing_format)?;
                Value::from(format.format(millis).map_err(ConnectError::data)?)
            }
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Milliseconds => millis,
                Precision::Microseconds => millis.saturating_mul(1000),
                Precision::Nanoseconds => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(
                millis_to_days(millis)
                    .ok_or_else(|| ConnectError::data(format!("timestamp {millis} is out of the range of Date")))?,
            ),
            Kind::Time => Value::Int32(millis_to_time_of_day(millis)),
            Kind::Timestamp => Value::Int64(millis),
        })
    }

    /// Kafka's `convertTimestamp`: null stays null; without a known source kind it is inferred from the value.
    fn convert(&self, value: Value, from: Option<Kind>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let from = match from {
            Some(kind) => kind,
            None => match value {
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                ref other => {
                    return Err(ConnectError::data(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        found(other)
                    )))
                }
            },
        };
        let raw = self.to_raw(from, &value)?;
        self.to_type(raw)
    }

    fn apply_schemaless(&self, value: Value) -> Result<Value> {
        if value.is_null() || self.field.is_empty() {
            return self.convert(value, None);
        }
        let Value::Map(mut entries) = value else {
            return Err(not_a_map(&value, PURPOSE));
        };
        match entries.iter_mut().find(|e| e.key.as_str() == Some(self.field.as_str())) {
            Some(entry) => entry.value = self.convert(std::mem::take(&mut entry.value), None)?,
            None => entries.push(MapEntry { key: Value::from(self.field.as_str()), value: Value::Null }),
        }
        Ok(Value::Map(entries))
    }

    fn updated_struct_schema(&mut self, schema: &Schema) -> Result<Schema> {
        if let Some(cached) = self.schemas.get(schema) {
            return Ok(cached);
        }
        let mut builder = copy_struct_basics(schema);
        for field in schema.fields() {
            let field_schema = if field.name() == self.field {
                self.kind.schema(field.schema().is_optional())
            } else {
                field.schema().clone()
            };
            builder = builder.field(field.name(), field_schema);
        }
        if schema.is_optional() {
            builder = builder.optional();
        }
        let updated = builder.build()?;
        self.schemas.put(schema.clone(), updated.clone());
        Ok(updated)
    }

    fn apply_with_schema(&mut self, schema: Schema, value: Value) -> Result<(Schema, Value)> {
        if self.field.is_empty() {
            let from = Kind::of_schema(&schema)?;
            return Ok((self.kind.schema(schema.is_optional()), self.convert(value, Some(from))?));
        }
        let original = match value {
            Value::Null => None,
            Value::Struct(s) => Some(s),
            other => return Err(not_a_struct(&other, PURPOSE)),
        };
        let updated_schema = self.updated_struct_schema(&schema)?;
        let Some(original) = original else {
            return Ok((updated_schema, Value::Null));
        };
        let mut updated = Struct::new(updated_schema.clone())?;
        for field in original.schema().fields() {
            let raw = if self.replace_null_with_default {
                original.get(field.name())
            } else {
                original.get_at(field.index())
            };
            let raw = raw.cloned().unwrap_or(Value::Null);
            let converted = if field.name() == self.field {
                self.convert(raw, Some(Kind::of_schema(field.schema())?))?
            } else {
                raw
            };
            updated.put(field.name(), converted)?;
        }
        Ok((updated_schema, Value::Struct(updated)))
    }
}

impl Transformation for TimestampConverter {
    fn config_def(&self) -> ConfigDef {
        let one_of = |items: &[&str]| Validator::OneOf(items.iter().map(|s| s.to_string()).collect());
        ConfigDef::new()
            .define(
                ConfigKey::new(FIELD, ConfigType::String)
                    .default_value("")
                    .importance(Importance::High)
                    .documentation("The field containing the timestamp, or empty if the entire value is a timestamp"),
            )
            .define(
                ConfigKey::new(TARGET_TYPE, ConfigType::String)
                    .validator(one_of(&["string", "unix", "Date", "Time", "Timestamp"]))
                    .importance(Importance::High)
                    .documentation("The desired timestamp representation: string, unix, Date, Time, or Timestamp"),
            )
            .define(
                ConfigKey::new(FORMAT, ConfigType::String)
                    .default_value("")
                    .importance(Importance::Medium)
                    .documentation(
                        "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when \
                     type=string or used to parse the input if the input is a string.",
                    ),
            )
            .define(
                ConfigKey::new(UNIX_PRECISION, ConfigType::String)
                    .default_value("milliseconds")
                    .validator(one_of(&["nanoseconds", "microseconds", "milliseconds", "seconds"]))
                    .importance(Importance::Low)
                    .documentation(
                        "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or \
                         nanoseconds. Used to generate the output when type=unix or used to parse the input if the \
                         input is a Long.Note: This SMT will cause precision loss during conversions from, and to, \
                         values with sub-millisecond components.",
                    ),
            )
            .define(
                ConfigKey::new(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean)
                    .default_value("true")
                    .importance(Importance::Medium)
                    .documentation(
                        "Whether to replace fields that have a default value and that are null to the default value. \
                         When set to true, the default value is used, otherwise null is used.",
                    ),
            )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let kind_name = parsed.string(TARGET_TYPE)?;
        let kind = Kind::from_name(kind_name).ok_or_else(|| ConnectError::config(TARGET_TYPE, kind_name))?;
        let pattern = parsed.string(FORMAT)?;
        let blank = pattern.trim().is_empty();
        if kind == Kind::String && blank {
            return Err(ConnectError::config(
                FORMAT,
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        let format = if blank {
            None
        } else {
            Some(DateFormat::new(pattern).map_err(|why| {
                ConnectError::config(
                    FORMAT,
                    format!(
                        "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: \
                         {pattern} ({why})"
                    ),
                )
            })?)
        };
        self.precision = match parsed.string(UNIX_PRECISION)? {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        };
        self.field = parsed.string(FIELD)?.to_string();
        self.kind = kind;
        self.format = format;
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.schemas = SchemaCache::default();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let (schema, value) = self.target.take(&mut record);
        match schema {
            None => {
                let updated = self.apply_schemaless(value)?;
                self.target.set(&mut record, None, updated);
            }
            Some(schema) => {
                let (schema, value) = self.apply_with_schema(schema, value)?;
                self.target.set(&mut record, Some(schema), value);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_api::{ErrorKind, SchemaBuilder};

    const DATE: i32 = 1; // 1970-01-02
    const TIME: i32 = 1234; // 00:00:01.234
    const DATE_PLUS_TIME: i64 = 86_401_234;
    const DATE_PLUS_TIME_MICROS: i64 = DATE_PLUS_TIME * 1000 + 123;
    const DATE_PLUS_TIME_NANOS: i64 = DATE_PLUS_TIME_MICROS * 1000 + 456;
    const DATE_PLUS_TIME_SECONDS: i64 = 86_401;
    const FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 00 00 01 234 UTC";

    fn value_xform(pairs: &[(&str, &str)]) -> TimestampConverterValue {
        let mut t = TimestampConverterValue::default();
        t.configure(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap();
        t
    }

    fn config_err(pairs: &[(&str, &str)]) -> ConnectError {
        let mut t = TimestampConverterValue::default();
        t.configure(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap_err()
    }

    fn schemaless(t: &mut impl Transformation, value: Value) -> (Option<Schema>, Value) {
        let out = t.apply(TransformRecord::new("topic").with_value(None, value)).unwrap().unwrap();
        (out.value_schema().cloned(), out.value)
    }

    fn with_schema(t: &mut impl Transformation, schema: Schema, value: Value) -> (Option<Schema>, Value) {
        let out = t.apply(TransformRecord::new("topic").with_value(Some(schema), value)).unwrap().unwrap();
        (out.value_schema().cloned(), out.value)
    }

    fn opt(kind: Kind) -> Schema {
        kind.schema(true)
    }

    #[test]
    fn config_errors() {
        let err = config_err(&[]);
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("\"target.type\""), "{err}");
        let err = config_err(&[(TARGET_TYPE, "invalid")]);
        assert_eq!(
            err.message(),
            "Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"
        );
        let err = config_err(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, "invalid")]);
        assert!(err.message().contains("configuration unix.precision"), "{err}");
        let err = config_err(&[(TARGET_TYPE, "string")]);
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("configuration format: TimestampConverter requires format option"), "{err}");
        let err = config_err(&[(TARGET_TYPE, "string"), (FORMAT, "bad-format")]);
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("configuration format: "), "{err}");
        assert!(err.message().contains("Illegal pattern character 'b'"), "{err}");
        let err = config_err(&[(TARGET_TYPE, "Date"), (FORMAT, "ww")]);
        assert!(err.message().contains("unsupported SimpleDateFormat letter 'w'"), "{err}");
        let err = config_err(&[(TARGET_TYPE, "Date"), (REPLACE_NULL_WITH_DEFAULT, "maybe")]);
        assert!(err.message().contains("configuration replace.null.with.default"), "{err}");
        value_xform(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, "seconds")]);
    }

    #[test]
    fn schemaless_conversions_from_timestamps() {
        let ts = Value::Int64(DATE_PLUS_TIME);
        assert_eq!(schemaless(&mut value_xform(&[(TARGET_TYPE, "Timestamp")]), ts.clone()), (None, ts.clone()));
        assert_eq!(schemaless(&mut value_xform(&[(TARGET_TYPE, "Date")]), ts.clone()), (None, Value::Int32(DATE)));
        assert_eq!(schemaless(&mut value_xform(&[(TARGET_TYPE, "Time")]), ts.clone()), (None, Value::Int32(TIME)));
        assert_eq!(schemaless(&mut value_xform(&[(TARGET_TYPE, "unix")]), ts.clone()), (None, ts.clone()));
        let mut to_string = value_xform(&[(TARGET_TYPE, "string"), (FORMAT, FMT)]);
        assert_eq!(schemaless(&mut to_string, ts), (None, Value::from(DATE_PLUS_TIME_STRING)));
    }

    #[test]
    fn schemaless_string_to_timestamp_and_unix_precisions() {
        let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (FORMAT, FMT)]);
        assert_eq!(schemaless(&mut t, Value::from(DATE_PLUS_TIME_STRING)), (None, Value::Int64(DATE_PLUS_TIME)));
        for (precision, expected) in [
            ("microseconds", 86_401_234_000i64),
            ("nanoseconds", 86_401_234_000_000),
            ("seconds", 86_401),
            ("milliseconds", DATE_PLUS_TIME),
        ] {
            let mut t = value_xform(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, precision), (FORMAT, FMT)]);
            assert_eq!(schemaless(&mut t, Value::from(DATE_PLUS_TIME_STRING)), (None, Value::Int64(expected)));
        }
        let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (UNIX_PRECISION, "microseconds")]);
        assert_eq!(schemaless(&mut t, Value::Int64(DATE_PLUS_TIME_MICROS)), (None, Value::Int64(DATE_PLUS_TIME)));
        let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (UNIX_PRECISION, "nanoseconds")]);
        assert_eq!(schemaless(&mut t, Value::Int64(DATE_PLUS_TIME_NANOS)), (None, Value::Int64(DATE_PLUS_TIME)));
        let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (UNIX_PRECISION, "seconds")]);
        assert_eq!(schemaless(&mut t, Value::Int64(DATE_PLUS_TIME_SECONDS)), (None, Value::Int64(86_401_000)));
        // Java's TimeUnit conversions saturate instead of overflowing.
        let mut t = value_xform(&[(TARGET_TYPE, "unix"), (UNIX_PRECISION, "nanoseconds")]);
        let big = Value::Int64(i64::MAX / 10);
        assert_eq!(with_schema(&mut t, Timestamp::schema(), big), (Some(Schema::int64()), Value::Int64(i64::MAX)));
        let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (UNIX_PRECISION, "seconds")]);
        assert_eq!(schemaless(&mut t, Value::Int64(i64::MIN / 10)), (None, Value::Int64(i64::MIN)));
    }

    #[test]
    fn schemaless_nulls_and_fields() {
        for target in ["string", "unix", "Date", "Time", "Timestamp"] {
            let mut t = value_xform(&[(TARGET_TYPE, target), (FORMAT, FMT)]);
            assert_eq!(schemaless(&mut t, Value::Null), (None, Value::Null));
            let mut t = value_xform(&[(TARGET_TYPE, target), (FORMAT, FMT), (FIELD, "ts")]);
            assert_eq!(schemaless(&mut t, Value::Null), (None, Value::Null));
        }
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FIELD, "ts")]);
        let map = Value::map([(Value::from("ts"), Value::Int64(DATE_PLUS_TIME)), (Value::from("o"), Value::from("x"))]);
        assert_eq!(
            schemaless(&mut t, map),
            (None, Value::map([(Value::from("ts"), Value::Int32(DATE)), (Value::from("o"), Value::from("x"))]))
        );
        // A missing field is added as null, as Java's map.put(field, convert(null)).
        let (_, out) = schemaless(&mut t, Value::map([]));
        assert_eq!(out, Value::map([(Value::from("ts"), Value::Null)]));
    }

    #[test]
    fn schemaless_errors() {
        let mut t = value_xform(&[(TARGET_TYPE, "Date")]);
        let err = t.apply(TransformRecord::new("t").with_value(None, Value::Int32(1))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert_eq!(err.message(), "TimestampConverter does not support class java.lang.Integer objects as timestamps");
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FIELD, "ts")]);
        let err = t.apply(TransformRecord::new("t").with_value(None, Value::from("x"))).unwrap_err();
        assert_eq!(
            err.message(),
            "Only Map objects supported in absence of schema for [converting timestamp formats], found: java.lang.String"
        );
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FORMAT, "yyyy-MM-dd")]);
        let err = t.apply(TransformRecord::new("t").with_value(None, Value::from("nope"))).unwrap_err();
        assert_eq!(err.message(), "Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd)");
        let mut t = value_xform(&[(TARGET_TYPE, "Date")]);
        let err = t.apply(TransformRecord::new("t").with_value(None, Value::from("2020-01-01"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert!(err.message().contains("requires format option"), "{err}");
        let mut t = value_xform(&[(TARGET_TYPE, "string"), (FORMAT, "yyyy")]);
        let err = t.apply(TransformRecord::new("t").with_value(None, Value::Int64(i64::MAX))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
    }

    #[test]
    fn with_schema_whole_value() {
        let ts = Value::Int64(DATE_PLUS_TIME);
        let cases: &[(&str, Schema, Value, Schema, Value)] = &[
            ("Timestamp", Timestamp::schema(), ts.clone(), Timestamp::schema(), ts.clone()),
            ("Date", Timestamp::schema(), ts.clone(), Date::schema(), Value::Int32(DATE)),
            ("Time", Timestamp::schema(), ts.clone(), Time::schema(), Value::Int32(TIME)),
            ("unix", Timestamp::schema(), ts.clone(), Schema::int64(), ts.clone()),
            ("string", Timestamp::schema(), ts.clone(), Schema::string(), Value::from(DATE_PLUS_TIME_STRING)),
            ("Timestamp", Date::schema(), Value::Int32(DATE), Timestamp::schema(), Value::Int64(86_400_000)),
            ("Timestamp", Time::schema(), Value::Int32(TIME), Timestamp::schema(), Value::Int64(1234)),
            ("Timestamp", Schema::int64(), ts.clone(), Timestamp::schema(), ts.clone()),
            ("Timestamp", Schema::string(), Value::from(DATE_PLUS_TIME_STRING), Timestamp::schema(), ts.clone()),
        ];
        for (target, schema, value, expected_schema, expected) in cases {
            let mut t = value_xform(&[(TARGET_TYPE, target), (FORMAT, FMT)]);
            assert_eq!(
                with_schema(&mut t, schema.clone(), value.clone()),
                (Some(expected_schema.clone()), expected.clone()),
                "{target} from {schema}"
            );
        }
    }

    #[test]
    fn with_schema_nulls_keep_optional_schemas() {
        let sources = [Kind::Unix, Kind::Time, Kind::Date, Kind::String, Kind::Timestamp];
        for (target, kind) in [
            ("Timestamp", Kind::Timestamp),
            ("unix", Kind::Unix),
            ("Time", Kind::Time),
            ("Date", Kind::Date),
            ("string", Kind::String),
        ] {
            for source in sources {
                let mut t = value_xform(&[(TARGET_TYPE, target), (FORMAT, FMT)]);
                assert_eq!(with_schema(&mut t, opt(source), Value::Null), (Some(opt(kind)), Value::Null));

                let mut t = value_xform(&[(TARGET_TYPE, target), (FORMAT, FMT), (FIELD, "ts")]);
                let schema = SchemaBuilder::structure().field("ts", opt(source)).field("other", Schema::string());
                let expected = SchemaBuilder::structure().field("ts", opt(kind)).field("other", Schema::string());
                let original = Struct::new(schema.clone().build().unwrap()).unwrap().with("other", "test").unwrap();
                let (s, v) = with_schema(&mut t, schema.clone().build().unwrap(), Value::Struct(original));
                assert_eq!(s, Some(expected.clone().build().unwrap()));
                assert_eq!(v.as_struct().unwrap().get("ts"), Some(&Value::Null));
                assert_eq!(v.as_struct().unwrap().get("other"), Some(&Value::from("test")));
                let (s, v) = with_schema(&mut t, schema.optional().build().unwrap(), Value::Null);
                assert_eq!((s, v), (Some(expected.optional().build().unwrap()), Value::Null));
            }
        }
    }

    #[test]
    fn with_schema_field_conversion_and_precisions() {
        for (precision, input) in [
            ("milliseconds", DATE_PLUS_TIME),
            ("microseconds", DATE_PLUS_TIME_MICROS),
            ("nanoseconds", DATE_PLUS_TIME_NANOS),
            ("seconds", DATE_PLUS_TIME_SECONDS),
        ] {
            let mut t = value_xform(&[(TARGET_TYPE, "Timestamp"), (FIELD, "ts"), (UNIX_PRECISION, precision)]);
            let schema = SchemaBuilder::structure()
                .name("rec")
                .field("ts", Schema::int64())
                .field("other", Schema::string())
                .build()
                .unwrap();
            let value = Struct::new(schema.clone()).unwrap().with("ts", input).unwrap().with("other", "test").unwrap();
            let (s, v) = with_schema(&mut t, schema, Value::Struct(value));
            let expected = SchemaBuilder::structure()
                .name("rec")
                .field("ts", Timestamp::schema())
                .field("other", Schema::string())
                .build()
                .unwrap();
            assert_eq!(s, Some(expected));
            let want = if precision == "seconds" { 86_401_000 } else { DATE_PLUS_TIME };
            assert_eq!(v.as_struct().unwrap().get("ts"), Some(&Value::Int64(want)), "{precision}");
            assert_eq!(v.as_struct().unwrap().get("other"), Some(&Value::from("test")));
        }
    }

    #[test]
    fn key_variant_and_schema_cache() {
        let mut t = TimestampConverterKey::default();
        t.configure(&Config::from([
            (TARGET_TYPE.to_string(), "Date".to_string()),
            (FIELD.to_string(), "ts".to_string()),
        ]))
        .unwrap();
        let schema = SchemaBuilder::structure().field("ts", Timestamp::schema()).build().unwrap();
        let key = Struct::new(schema.clone()).unwrap().with("ts", DATE_PLUS_TIME).unwrap();
        let record = TransformRecord::new("t").with_key(Some(schema), Value::Struct(key)).with_value(None, "v".into());
        let first = t.apply(record.clone()).unwrap().unwrap();
        let second = t.apply(record).unwrap().unwrap();
        assert_eq!(first.key.as_struct().unwrap().get("ts"), Some(&Value::Int32(DATE)));
        assert_eq!(first.value, Value::from("v"));
        assert!(first.key_schema().unwrap().ptr_eq(second.key_schema().unwrap()));
    }

    #[test]
    fn replace_null_with_default() {
        let with_default =
            SchemaBuilder::int64().optional().default_value(Value::Int64(DATE_PLUS_TIME)).build().unwrap();
        let other = SchemaBuilder::string().optional().default_value(Value::from("d")).build().unwrap();
        let schema = SchemaBuilder::structure().field("ts", with_default).field("other", other).build().unwrap();
        let record =
            TransformRecord::new("t").with_value(Some(schema.clone()), Value::Struct(Struct::new(schema).unwrap()));
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FIELD, "ts")]);
        let out = t.apply(record.clone()).unwrap().unwrap();
        assert_eq!(out.value.as_struct().unwrap().get("ts"), Some(&Value::Int32(DATE)));
        assert_eq!(out.value.as_struct().unwrap().get_at(1), Some(&Value::from("d")));
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FIELD, "ts"), (REPLACE_NULL_WITH_DEFAULT, "false")]);
        let out = t.apply(record).unwrap().unwrap();
        assert_eq!(out.value.as_struct().unwrap().get("ts"), Some(&Value::Null));
        assert_eq!(out.value.as_struct().unwrap().get_at(1), Some(&Value::Null));
    }

    #[test]
    fn with_schema_errors() {
        let mut t = value_xform(&[(TARGET_TYPE, "Date")]);
        let err = t.apply(TransformRecord::new("t").with_value(Some(Schema::int32()), Value::Int32(1))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert_eq!(err.message(), "Schema Schema{INT32} does not correspond to a known timestamp type format");
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FIELD, "ts")]);
        let err = t.apply(TransformRecord::new("t").with_value(Some(Schema::string()), Value::from("x"))).unwrap_err();
        assert_eq!(
            err.message(),
            "Only Struct objects supported for [converting timestamp formats], found: java.lang.String"
        );
        let mut t = value_xform(&[(TARGET_TYPE, "Date")]);
        let err = t.apply(TransformRecord::new("t").with_value(Some(Schema::int64()), Value::from("x"))).unwrap_err();
        assert_eq!(err.message(), "Expected Unix timestamp to be a Long, but found class java.lang.String");
        let err = t.apply(TransformRecord::new("t").with_value(Some(Date::schema()), Value::from("x"))).unwrap_err();
        assert_eq!(err.message(), "Expected Date to be a java.util.Date, but found class java.lang.String");
        let mut t = value_xform(&[(TARGET_TYPE, "Date"), (FORMAT, "yyyy")]);
        let err = t.apply(TransformRecord::new("t").with_value(Some(Schema::string()), Value::Int8(1))).unwrap_err();
        assert_eq!(err.message(), "Expected string timestamp to be a String, but found class java.lang.Byte");
    }
}
