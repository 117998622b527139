//! `Cast$Key` / `Cast$Value`: casts fields of a Struct or Map (`spec=a:int32,b:string`), or the whole key or
//! value (`spec=int64`), to a primitive type, with Java's conversions: numbers narrow like Java's
//! `Number.byteValue()`..., strings parse like `Integer.parseInt` / `Double.parseDouble`, booleans are 1/0,
//! bytes become Base64 text, Decimals and Date/Time/Timestamp go through their numeric value (to text: the
//! decimal or ISO-8601 form, as Kafka's `Values.dateFormatFor`). As Kafka's `Cast`.

use chrono::DateTime;
use connect_api::data::java_float;
use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Schema, SchemaBuilder, SchemaType,
    Struct, TransformRecord, Transformation, Value,
};

use super::common::{
    base64, config_error, config_message, copy_schema_basics, java_class, java_list, map_get, map_put,
    replace_null_with_default_key, require_map, require_struct, struct_value, target, SchemaCache,
    REPLACE_NULL_WITH_DEFAULT,
};
use super::replace_field::java_split_colon;

const SPEC: &str = "spec";
const PURPOSE: &str = "cast types";
const INPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
const OUTPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Kafka's `Cast`: `Cast<true>` is `$Key`, `Cast<false>` is `$Value`.
#[derive(Default)]
pub struct Cast<const KEY: bool> {
    casts: Vec<(String, SchemaType)>,
    whole_value: Option<SchemaType>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

fn schema_type_named(text: &str) -> Option<SchemaType> {
    use SchemaType::*;
    [Int8, Int16, Int32, Int64, Float32, Float64, Boolean, String, Bytes, Array, Map, Struct]
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(text))
}

fn valid_output(t: SchemaType) -> Result<SchemaType> {
    if t.is_primitive() && t != SchemaType::Bytes {
        Ok(t)
    } else {
        Err(config_message(format!(
            "Cast transformation does not support casting to {t}; supported types are {OUTPUT_TYPES}"
        )))
    }
}

/// The field casts and the whole-value cast of a spec.
type Spec = (Vec<(String, SchemaType)>, Option<SchemaType>);

/// Kafka's `Cast.parseFieldTypes`: the field casts and the whole-value cast.
fn parse_spec(mappings: &[String]) -> Result<Spec> {
    if mappings.is_empty() {
        return Err(config_message("Must specify at least one field to cast."));
    }
    let mut casts: Vec<(String, SchemaType)> = Vec::new();
    let mut whole = None;
    for mapping in mappings {
        let parts = java_split_colon(mapping);
        let invalid_type = |t: &str| config_message(format!("Invalid type found in casting spec: {}", t.trim()));
        match parts.as_slice() {
            [field, t] => {
                let t = valid_output(schema_type_named(t.trim()).ok_or_else(|| invalid_type(t))?)?;
                let field = field.trim().to_string();
                match casts.iter_mut().find(|(f, _)| *f == field) {
                    Some(existing) => existing.1 = t,
                    None => casts.push((field, t)),
                }
            }
            [t] => whole = Some(valid_output(schema_type_named(t.trim()).ok_or_else(|| invalid_type(t))?)?),
            [] => return Err(invalid_type("")),
            _ => return Err(config_error(SPEC, java_list(mappings), format!("Invalid rename mapping: {mapping}"))),
        }
    }
    if whole.is_some() && mappings.len() > 1 {
        return Err(config_message(
            "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in \
             their spec",
        ));
    }
    Ok((casts, whole))
}

/// A number as Java holds it before narrowing.
enum Number {
    Integral(i64),
    Floating(f64),
    /// A `BigDecimal`: its integer part (when it fits) and its nearest double.
    Decimal(Option<i128>, f64),
}

impl Number {
    fn long(&self) -> i64 {
        match *self {
            Number::Integral(v) => v,
            Number::Floating(d) => d as i64,
            Number::Decimal(Some(t), _) => t as i64,
            Number::Decimal(None, d) => d as i64,
        }
    }

    fn int(&self) -> i32 {
        match *self {
            Number::Integral(v) => v as i32,
            Number::Floating(d) => d as i32,
            Number::Decimal(Some(t), _) => t as i32,
            Number::Decimal(None, d) => d as i32,
        }
    }

    fn double(&self) -> f64 {
        match *self {
            Number::Integral(v) => v as f64,
            Number::Floating(d) | Number::Decimal(_, d) => d,
        }
    }

    fn float(&self) -> f32 {
        match *self {
            Number::Integral(v) => v as f32,
            Number::Floating(d) | Number::Decimal(_, d) => d as f32,
        }
    }
}

fn decimal_number(bytes: &[u8], scale: i32) -> Number {
    let double = Decimal::to_java_string(bytes, scale).parse::<f64>().unwrap_or(f64::NAN);
    let integral = Decimal::to_unscaled(bytes).and_then(|unscaled| {
        if scale >= 0 {
            Some(10i128.checked_pow(scale as u32).map_or(0, |p| unscaled / p))
        } else {
            10i128.checked_pow(scale.unsigned_abs()).and_then(|p| unscaled.checked_mul(p))
        }
    });
    Number::Decimal(integral, double)
}

/// Java's `Double.parseDouble` syntax (trimmed, optional `f`/`d` suffix, `NaN`, `Infinity`), without hex floats.
fn java_float_text(text: &str) -> Option<&str> {
    let t = text.trim_matches(|c: char| c <= ' ');
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "NaN" || unsigned == "Infinity" {
        return Some(t);
    }
    let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let ok = !(int.is_empty() && frac.is_empty())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        && exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
    ok.then_some(t)
}

fn parse_f64(text: &str) -> Option<f64> {
    java_float_text(text).and_then(|t| t.replace("Infinity", "inf").parse().ok())
}

fn parse_f32(text: &str) -> Option<f32> {
    java_float_text(text).and_then(|t| t.replace("Infinity", "inf").parse().ok())
}

/// Java's `Values.dateFormatFor(date).format(date)` in UTC: a time before one day after the epoch, a date at
/// midnight, a timestamp otherwise.
fn format_date(millis: i64) -> String {
    let Some(at) = DateTime::from_timestamp_millis(millis) else { return millis.to_string() };
    if millis < MILLIS_PER_DAY {
        at.format("%H:%M:%S%.3fZ").to_string()
    } else if millis % MILLIS_PER_DAY == 0 {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// Kafka's `Cast.castValueToType`.
fn cast_value(schema: Option<&Schema>, value: Value, to: SchemaType) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match (schema, &value) {
        (Some(s), _) => s.schema_type(),
        (None, Value::Int8(_)) => SchemaType::Int8,
        (None, Value::Int16(_)) => SchemaType::Int16,
        (None, Value::Int32(_)) => SchemaType::Int32,
        (None, Value::Int64(_)) => SchemaType::Int64,
        (None, Value::Float32(_)) => SchemaType::Float32,
        (None, Value::Float64(_)) => SchemaType::Float64,
        (None, Value::Boolean(_)) => SchemaType::Boolean,
        (None, Value::String(_)) => SchemaType::String,
        (None, Value::Bytes(_)) => SchemaType::Bytes,
        (None, Value::Array(_)) => SchemaType::Array,
        (None, Value::Map(_)) => SchemaType::Map,
        (None, Value::Struct(_) | Value::Null) => SchemaType::Struct,
    };
    if !inferred.is_primitive() {
        return Err(ConnectError::data(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {INPUT_TYPES}"
        )));
    }
    let date_like = schema.is_some_and(|s| Date::is(s) || Time::is(s) || Timestamp::is(s));
    let decimal_scale = match schema {
        Some(s) if s.name() == Some(Decimal::LOGICAL_NAME) && s.schema_type() == SchemaType::Bytes => {
            Some(Decimal::scale(s)?)
        }
        _ => None,
    };
    if to == SchemaType::String {
        let text = match (&value, decimal_scale) {
            (Value::Bytes(b), Some(scale)) => Decimal::to_java_string(b, scale),
            (Value::Bytes(b), None) => base64(b),
            (Value::Int32(days), _) if date_like && schema.is_some_and(Date::is) => {
                format_date(i64::from(*days) * MILLIS_PER_DAY)
            }
            (Value::Int32(millis), _) if date_like => format_date(i64::from(*millis)),
            (Value::Int64(millis), _) if date_like => format_date(*millis),
            (Value::Float32(f), _) => java_float::format_f32(*f),
            (Value::Float64(f), _) => java_float::format_f64(*f),
            (other, _) => other.to_string(),
        };
        return Ok(Value::from(text));
    }
    let out_of_range =
        |text: &str| ConnectError::data(format!("Value ({text}) was out of range for requested data type"));
    let number = match &value {
        Value::Int8(v) => Number::Integral((*v).into()),
        Value::Int16(v) => Number::Integral((*v).into()),
        Value::Int32(v) if date_like && schema.is_some_and(Date::is) => {
            Number::Integral(i64::from(*v) * MILLIS_PER_DAY)
        }
        Value::Int32(v) => Number::Integral((*v).into()),
        Value::Int64(v) => Number::Integral(*v),
        Value::Float32(v) => Number::Floating((*v).into()),
        Value::Float64(v) => Number::Floating(*v),
        Value::Boolean(b) => Number::Integral(i64::from(*b)),
        Value::Bytes(b) if decimal_scale.is_some() => decimal_number(b, decimal_scale.unwrap_or(0)),
        Value::String(s) => {
            let s = s.as_str();
            return Ok(match to {
                SchemaType::Int8 => Value::Int8(s.parse().map_err(|_| out_of_range(s))?),
                SchemaType::Int16 => Value::Int16(s.parse().map_err(|_| out_of_range(s))?),
                SchemaType::Int32 => Value::Int32(s.parse().map_err(|_| out_of_range(s))?),
                SchemaType::Int64 => Value::Int64(s.parse().map_err(|_| out_of_range(s))?),
                SchemaType::Float32 => Value::Float32(parse_f32(s).ok_or_else(|| out_of_range(s))?),
                SchemaType::Float64 => Value::Float64(parse_f64(s).ok_or_else(|| out_of_range(s))?),
                _ => Value::Boolean(s.eq_ignore_ascii_case("true")),
            });
        }
        other => {
            return Err(ConnectError::data(format!("Unexpected type in Cast transformation: {}", java_class(other))))
        }
    };
    Ok(match to {
        SchemaType::Int8 => Value::Int8(number.int() as i8),
        SchemaType::Int16 => Value::Int16(number.int() as i16),
        SchemaType::Int32 => Value::Int32(number.int()),
        SchemaType::Int64 => Value::Int64(number.long()),
        SchemaType::Float32 => Value::Float32(number.float()),
        SchemaType::Float64 => Value::Float64(number.double()),
        SchemaType::Boolean => Value::Boolean(number.long() != 0),
        other => return Err(ConnectError::data(format!("{other} is not supported in the Cast transformation."))),
    })
}

impl<const KEY: bool> Cast<KEY> {
    fn cast_for(&self, field: &str) -> Option<SchemaType> {
        self.casts.iter().find(|(f, _)| f == field).map(|(_, t)| *t)
    }

    fn updated_schema(&self, schema: &Schema) -> Result<Schema> {
        let mut builder = match self.whole_value {
            Some(t) => copy_schema_basics(schema, SchemaBuilder::new(t)),
            None => {
                let mut builder = copy_schema_basics(schema, SchemaBuilder::structure());
                for field in schema.fields() {
                    let field_schema = match self.cast_for(field.name()) {
                        None => field.schema().clone(),
                        Some(t) => {
                            let mut fb = SchemaBuilder::new(t);
                            if field.schema().is_optional() {
                                fb = fb.optional();
                            }
                            if let Some(default) = field.schema().default_value() {
                                fb = fb.default_value(cast_value(Some(field.schema()), default.clone(), t)?);
                            }
                            fb.build()?
                        }
                    };
                    builder = builder.field(field.name(), field_schema);
                }
                builder
            }
        };
        if schema.is_optional() {
            builder = builder.optional();
        }
        if let Some(default) = schema.default_value() {
            let to = self.whole_value.unwrap_or(SchemaType::Struct);
            builder = builder.default_value(cast_value(Some(schema), default.clone(), to)?);
        }
        builder.build()
    }
}

impl<const KEY: bool> Transformation for Cast<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(SPEC, ConfigType::List).importance(Importance::High).documentation(
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of \
                 Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, \
                 float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
            ))
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let (casts, whole) = parse_spec(parsed.list(SPEC)?)?;
        self.casts = casts;
        self.whole_value = whole;
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        if target.get(&record).1.is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = target.take(&mut record);
        match schema {
            None => {
                let cast = match self.whole_value {
                    Some(t) => cast_value(None, value, t)?,
                    None => {
                        let mut map = require_map(value, PURPOSE)?;
                        for (field, t) in &self.casts {
                            let original = map_get(&map, field).cloned().unwrap_or_default();
                            let cast = cast_value(None, original, *t)?;
                            map_put(&mut map, field, cast);
                        }
                        map
                    }
                };
                target.set(&mut record, None, cast);
            }
            Some(schema) => {
                let mut cache = std::mem::take(&mut self.cache);
                let updated = cache.get_or_build(&schema, |s| self.updated_schema(s));
                self.cache = cache;
                let updated = updated?;
                let cast = match self.whole_value {
                    Some(t) => cast_value(Some(&schema), value, t)?,
                    None => {
                        let value = require_struct(value, PURPOSE)?;
                        let mut cast = Struct::new(updated.clone())?;
                        for field in value.schema().fields() {
                            let original = struct_value(&value, field, self.replace_null_with_default);
                            let new = match self.cast_for(field.name()) {
                                Some(t) => cast_value(Some(field.schema()), original, t)?,
                                None => original,
                            };
                            cast.put(field.name(), new)?;
                        }
                        Value::Struct(cast)
                    }
                };
                target.set(&mut record, Some(updated), cast);
            }
        }
        Ok(Some(record))
    }

    fn close(&mut self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};

    type Key = Cast<true>;
    type Val = Cast<false>;

    fn whole(spec: &str, schema: Option<Schema>, value: Value) -> (Option<Schema>, Value) {
        let mut t: Key = configured(&[("spec", spec)]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(schema, value));
        (out.key_schema().cloned(), out.key)
    }

    #[test]
    fn whole_value_casts_with_schema() {
        assert_eq!(whole("int8", Some(Schema::int32()), 42i32.into()), (Some(Schema::int8()), Value::Int8(42)));
        assert_eq!(whole("int16", Some(Schema::int32()), 42i32.into()).1, Value::Int16(42));
        assert_eq!(whole("int64", Some(Schema::int32()), 42i32.into()).1, Value::Int64(42));
        assert_eq!(whole("float32", Some(Schema::int32()), 42i32.into()).1, Value::Float32(42.0));
        assert_eq!(whole("float64", Some(Schema::int32()), 42i32.into()).1, Value::Float64(42.0));
        assert_eq!(whole("boolean", Some(Schema::int32()), 42i32.into()).1, Value::Boolean(true));
        assert_eq!(whole("string", Some(Schema::int32()), 42i32.into()).1, Value::from("42"));
        assert_eq!(whole("string", Some(Schema::float64()), 1.0f64.into()).1, Value::from("1.0"));
        assert_eq!(whole("int32", Some(Schema::string()), "42".into()).1, Value::Int32(42));
        assert_eq!(whole("float32", Some(Schema::string()), " 4.2f ".into()).1, Value::Float32(4.2));
        assert_eq!(whole("boolean", Some(Schema::string()), "TRUE".into()).1, Value::Boolean(true));
        assert_eq!(whole("boolean", Some(Schema::string()), "yes".into()).1, Value::Boolean(false));
        assert_eq!(whole("int32", Some(Schema::boolean()), true.into()).1, Value::Int32(1));
        assert_eq!(whole("string", Some(Schema::bytes()), vec![1u8, 2, 3].into()).1, Value::from("AQID"));
        // Optionality carries over; null passes through.
        let (schema, value) = whole("int64", Some(Schema::optional_int32()), Value::Null);
        assert_eq!((schema, value), (Some(Schema::optional_int32()), Value::Null));
    }

    #[test]
    fn java_narrowing() {
        assert_eq!(whole("int8", Some(Schema::int32()), 300i32.into()).1, Value::Int8(44));
        assert_eq!(whole("int8", Some(Schema::float64()), 300.7f64.into()).1, Value::Int8(44));
        assert_eq!(whole("int32", Some(Schema::float64()), 1e20f64.into()).1, Value::Int32(i32::MAX));
        assert_eq!(whole("int16", Some(Schema::float64()), f64::NAN.into()).1, Value::Int16(0));
        assert_eq!(whole("boolean", Some(Schema::float64()), 0.5f64.into()).1, Value::Boolean(false));
    }

    #[test]
    fn logical_types() {
        let dec = Decimal::schema(2);
        let value = Decimal::from_unscaled(-12345);
        assert_eq!(whole("int32", Some(dec.clone()), value.clone()).1, Value::Int32(-123));
        assert_eq!(whole("float64", Some(dec.clone()), value.clone()).1, Value::Float64(-123.45));
        assert_eq!(whole("string", Some(dec), value).1, Value::from("-123.45"));
        assert_eq!(whole("int64", Some(Date::schema()), Value::Int32(1)).1, Value::Int64(MILLIS_PER_DAY));
        assert_eq!(whole("string", Some(Date::schema()), Value::Int32(1)).1, Value::from("1970-01-02"));
        assert_eq!(whole("string", Some(Time::schema()), Value::Int32(3_723_004)).1, Value::from("01:02:03.004Z"));
        let ts = Value::Int64(1_483_425_001_864);
        assert_eq!(whole("string", Some(Timestamp::schema()), ts.clone()).1, Value::from("2017-01-03T06:30:01.864Z"));
        assert_eq!(whole("int64", Some(Timestamp::schema()), ts).1, Value::Int64(1_483_425_001_864));
        // The whole-value schema keeps the source's name, as Kafka's copySchemaBasics.
        assert_eq!(
            whole("int64", Some(Timestamp::schema()), Value::Int64(1)).0.unwrap().name(),
            Some(Timestamp::LOGICAL_NAME)
        );
    }

    #[test]
    fn schemaless() {
        assert_eq!(whole("int8", None, 42i32.into()), (None, Value::Int8(42)));
        let mut t: Val = configured(&[("spec", "a:int16,b:string,missing:int8")]);
        let value = Value::map([(Value::from("a"), Value::from(7i64)), (Value::from("b"), Value::from(false))]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(None, value));
        assert_eq!(out.value.to_string(), "{a=7, b=false, missing=null}");
        assert_eq!(out.value.map_get("a"), Some(&Value::Int16(7)));
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(None, Value::from(1i32))),
            "Only Map objects supported in absence of schema for [cast types], found: java.lang.Integer"
        );
        let mut t: Key = configured(&[("spec", "int8")]);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_key(None, Value::map([]))),
            "Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, INT64, \
             FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_key(None, Value::from("x"))),
            "Value (x) was out of range for requested data type"
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_key(None, Value::from(vec![1u8]))),
            "Unexpected type in Cast transformation: class [B"
        );
    }

    #[test]
    fn struct_fields() {
        let default_int = SchemaBuilder::int32().optional().default_value(Value::Int32(5)).build().unwrap();
        let schema = SchemaBuilder::structure()
            .name("s")
            .field("a", default_int)
            .field("b", Schema::float32())
            .field("c", Schema::string())
            .build()
            .unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("b", 2.5f32).unwrap().with("c", "x").unwrap();
        let mut t: Val = configured(&[("spec", "a:string,b:int64")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema.clone()), value.clone().into()));
        let s = out.value_schema().unwrap();
        assert_eq!(s.name(), Some("s"));
        let a = s.field("a").unwrap().schema();
        assert_eq!(
            (a.schema_type(), a.is_optional(), a.default_value()),
            (SchemaType::String, true, Some(&Value::from("5")))
        );
        assert_eq!(s.field("b").unwrap().schema(), &Schema::int64());
        assert_eq!(s.field("c").unwrap().schema(), &Schema::string());
        let v = out.value.as_struct().unwrap();
        assert_eq!(
            (v.get_at(0), v.get_at(1), v.get_at(2)),
            (Some(&Value::from("5")), Some(&Value::Int64(2)), Some(&Value::from("x")))
        );
        let mut t: Val = configured(&[("spec", "a:string"), ("replace.null.with.default", "false")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema.clone()), value.into()));
        assert_eq!(out.value.as_struct().unwrap().get_at(0), Some(&Value::Null));
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(schema), Value::from(1i32))),
            "Only Struct objects supported for [cast types], found: java.lang.Integer"
        );
    }

    #[test]
    fn configuration_errors() {
        let msg = |spec: &str| config_err::<Val>(&[("spec", spec)]).message().to_string();
        assert_eq!(msg(""), "Must specify at least one field to cast.");
        assert_eq!(msg("a:foo"), "Invalid type found in casting spec: foo");
        assert_eq!(msg("foo"), "Invalid type found in casting spec: foo");
        assert_eq!(
            msg("a:bytes"),
            "Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, \
             FLOAT32, FLOAT64, BOOLEAN, STRING]"
        );
        assert_eq!(
            msg("int8,a:int16"),
            "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in \
             their spec"
        );
        assert_eq!(
            msg("a:int8:x"),
            "Invalid value [a:int8:x] for configuration spec: Invalid rename mapping: a:int8:x"
        );
        assert_eq!(
            config_err::<Val>(&[]).message(),
            "Missing required configuration \"spec\" which has no default value."
        );
    }

    #[test]
    fn java_float_syntax() {
        assert_eq!(parse_f64("1e3"), Some(1000.0));
        assert_eq!(parse_f64("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_f64("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_f64("inf"), None);
        assert_eq!(parse_f64("1.5d"), Some(1.5));
        assert_eq!(parse_f64(""), None);
        assert_eq!(format_date(-1), "23:59:59.999Z");
    }
}
