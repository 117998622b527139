//! `MaskField$Key` / `MaskField$Value`: replaces the listed fields of a Struct or Map with the "null" value of
//! their type (0, false, "", epoch for Date/Time/Timestamp, zero for Decimal, empty array or map) or with the
//! `replacement` text converted to the field's type (numbers and strings only), as Kafka's `MaskField`.

use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Schema, Struct, TransformRecord,
    Transformation, Value,
};

use super::common::{
    config_error, java_class, map_get, map_put, replace_null_with_default_key, require_map, require_non_empty_list,
    require_struct, struct_value, target, REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const REPLACEMENT: &str = "replacement";
const PURPOSE: &str = "mask fields";

/// Kafka's `MaskField`: `MaskField<true>` is `$Key`, `MaskField<false>` is `$Value`.
#[derive(Default)]
pub struct MaskField<const KEY: bool> {
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

/// The Java class Kafka sees for a value of `schema` (logical types are `java.util.Date` and `BigDecimal`).
fn masked_class(value: &Value, schema: Option<&Schema>) -> String {
    match schema {
        Some(s) if Date::is(s) || Time::is(s) || Timestamp::is(s) => "class java.util.Date".to_string(),
        Some(s) if s.name() == Some(Decimal::LOGICAL_NAME) => "class java.math.BigDecimal".to_string(),
        _ => java_class(value),
    }
}

/// A number parsed as Java's `new BigDecimal(text)` accepts it, truncated towards zero to an `i64`.
fn parse_integral(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    parse_decimal(text).map(|d| d.trunc() as i64)
}

/// A number in `BigDecimal`'s syntax (sign, digits, optional fraction and exponent), as an `f64`.
fn parse_decimal(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = !(int.is_empty() && frac.is_empty()) && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    if digits_ok && exponent_ok {
        text.parse::<f64>().ok()
    } else {
        None
    }
}

impl<const KEY: bool> MaskField<KEY> {
    fn masked(&self, value: Value, schema: Option<&Schema>) -> Result<Value> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => Self::mask_with_null_value(value, schema),
            Some(replacement) => Self::mask_with_replacement(value, schema, replacement),
        }
    }

    fn mask_with_null_value(value: Value, schema: Option<&Schema>) -> Result<Value> {
        if let Some(s) = schema {
            if s.name() == Some(Decimal::LOGICAL_NAME) {
                return Ok(Decimal::from_unscaled(0));
            }
        }
        Ok(match value {
            Value::Boolean(_) => Value::Boolean(false),
            Value::Int8(_) => Value::Int8(0),
            Value::Int16(_) => Value::Int16(0),
            Value::Int32(_) => Value::Int32(0),
            Value::Int64(_) => Value::Int64(0),
            Value::Float32(_) => Value::Float32(0.0),
            Value::Float64(_) => Value::Float64(0.0),
            Value::String(_) => Value::from(""),
            Value::Array(_) => Value::array([]),
            Value::Map(_) => Value::map([]),
            other => {
                return Err(ConnectError::data(format!("Cannot mask value of type: {}", masked_class(&other, schema))))
            }
        })
    }

    fn mask_with_replacement(value: Value, schema: Option<&Schema>, replacement: &str) -> Result<Value> {
        let not_a_number =
            || ConnectError::data(format!("Unable to convert {replacement} (class java.lang.String) to number"));
        let unsupported = |value: &Value| {
            ConnectError::data(format!(
                "Cannot mask value of type {} with custom replacement.",
                masked_class(value, schema)
            ))
        };
        if let Some(s) = schema {
            if Date::is(s) || Time::is(s) || Timestamp::is(s) {
                return Err(unsupported(&value));
            }
            if s.name() == Some(Decimal::LOGICAL_NAME) {
                let scale = Decimal::scale(s)?;
                return Decimal::parse(replacement, scale).map_err(|_| not_a_number());
            }
        }
        let integral = || parse_integral(replacement).ok_or_else(not_a_number);
        let decimal = || parse_decimal(replacement).ok_or_else(not_a_number);
        Ok(match value {
            Value::Int8(_) => Value::Int8(integral()? as i8),
            Value::Int16(_) => Value::Int16(integral()? as i16),
            Value::Int32(_) => Value::Int32(integral()? as i32),
            Value::Int64(_) => Value::Int64(integral()?),
            Value::Float32(_) => Value::Float32(decimal()? as f32),
            Value::Float64(_) => Value::Float64(decimal()?),
            Value::String(_) => Value::from(replacement),
            other => return Err(unsupported(&other)),
        })
    }
}

impl<const KEY: bool> Transformation for MaskField<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(FIELDS, ConfigType::List)
                    .importance(Importance::High)
                    .documentation("Names of fields to mask."),
            )
            .define(ConfigKey::new(REPLACEMENT, ConfigType::String).optional().importance(Importance::Low).documentation(
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string \
                 values only).",
            ))
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let fields = parsed.list(FIELDS)?;
        require_non_empty_list(FIELDS, fields)?;
        let mut unique: Vec<String> = Vec::with_capacity(fields.len());
        for f in fields {
            if !unique.contains(f) {
                unique.push(f.clone());
            }
        }
        self.fields = unique;
        self.replacement = parsed.optional_string(REPLACEMENT)?.map(str::to_string);
        if self.replacement.as_deref() == Some("") {
            return Err(config_error(REPLACEMENT, "", "String must be non-empty"));
        }
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        let (schema, value) = target.take(&mut record);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for field in &self.fields {
                    let original = map_get(&map, field).cloned().unwrap_or_default();
                    let masked = self.masked(original, None)?;
                    map_put(&mut map, field, masked);
                }
                target.set(&mut record, None, map);
            }
            Some(schema) => {
                let value = require_struct(value, PURPOSE)?;
                let mut masked = Struct::new(value.schema().clone())?;
                for field in value.schema().fields() {
                    let original = struct_value(&value, field, self.replace_null_with_default);
                    let new = if self.fields.iter().any(|f| f == field.name()) {
                        self.masked(original, Some(field.schema()))?
                    } else {
                        original
                    };
                    masked.put(field.name(), new)?;
                }
                target.set(&mut record, Some(schema), Value::Struct(masked));
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};
    use connect_api::SchemaBuilder;

    type Val = MaskField<false>;

    fn schema() -> Schema {
        SchemaBuilder::structure()
            .field("magic", Schema::int32())
            .field("bool", Schema::boolean())
            .field("byte", Schema::int8())
            .field("short", Schema::int16())
            .field("int", Schema::int32())
            .field("long", Schema::int64())
            .field("float", Schema::float32())
            .field("double", Schema::float64())
            .field("string", Schema::string())
            .field("date", Date::schema())
            .field("decimal", Decimal::schema(2))
            .field("array", SchemaBuilder::array(Schema::int32()).build().unwrap())
            .field("map", SchemaBuilder::map(Schema::string(), Schema::string()).build().unwrap())
            .field("bytes", Schema::optional_bytes())
            .build()
            .unwrap()
    }

    fn value() -> Struct {
        let mut s = Struct::new(schema()).unwrap();
        s.put("magic", 42i32).unwrap();
        s.put("bool", true).unwrap();
        s.put("byte", 42i8).unwrap();
        s.put("short", 42i16).unwrap();
        s.put("int", 42i32).unwrap();
        s.put("long", 42i64).unwrap();
        s.put("float", 42f32).unwrap();
        s.put("double", 42f64).unwrap();
        s.put("string", "55.121.20.20").unwrap();
        s.put("date", Value::Int32(1000)).unwrap();
        s.put("decimal", Decimal::from_unscaled(4200)).unwrap();
        s.put("array", Value::array([Value::Int32(1)])).unwrap();
        s.put("map", Value::map([(Value::from("a"), Value::from("b"))])).unwrap();
        s.put("bytes", vec![1u8]).unwrap();
        s
    }

    const MASKABLE: &str = "bool,byte,short,int,long,float,double,string,date,decimal,array,map";

    #[test]
    fn with_schema_null_values() {
        let mut t: Val = configured(&[("fields", MASKABLE)]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema()), value().into()));
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("magic"), Some(&Value::Int32(42)));
        assert_eq!(s.get("bool"), Some(&Value::Boolean(false)));
        assert_eq!(s.get("byte"), Some(&Value::Int8(0)));
        assert_eq!(s.get("short"), Some(&Value::Int16(0)));
        assert_eq!(s.get("int"), Some(&Value::Int32(0)));
        assert_eq!(s.get("long"), Some(&Value::Int64(0)));
        assert_eq!(s.get("float"), Some(&Value::Float32(0.0)));
        assert_eq!(s.get("double"), Some(&Value::Float64(0.0)));
        assert_eq!(s.get("string"), Some(&Value::from("")));
        assert_eq!(s.get("date"), Some(&Value::Int32(0)));
        assert_eq!(s.get("decimal"), Some(&Decimal::from_unscaled(0)));
        assert_eq!(s.get("array"), Some(&Value::array([])));
        assert_eq!(s.get("map"), Some(&Value::map([])));
        assert_eq!(out.value_schema(), Some(&schema()));
    }

    #[test]
    fn with_schema_replacement() {
        let mut t: Val =
            configured(&[("fields", "byte,short,int,long,float,double,string,decimal"), ("replacement", "123")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema()), value().into()));
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("byte"), Some(&Value::Int8(123)));
        assert_eq!(s.get("short"), Some(&Value::Int16(123)));
        assert_eq!(s.get("int"), Some(&Value::Int32(123)));
        assert_eq!(s.get("long"), Some(&Value::Int64(123)));
        assert_eq!(s.get("float"), Some(&Value::Float32(123.0)));
        assert_eq!(s.get("double"), Some(&Value::Float64(123.0)));
        assert_eq!(s.get("string"), Some(&Value::from("123")));
        assert_eq!(s.get("decimal"), Some(&Decimal::from_unscaled(12300)));
    }

    #[test]
    fn unmaskable_values() {
        let record = || TransformRecord::new("t").with_value(Some(schema()), value().into());
        let mut t: Val = configured(&[("fields", "bytes")]);
        assert_eq!(data_err(&mut t, record()), "Cannot mask value of type: class [B");
        let mut t: Val = configured(&[("fields", "bool"), ("replacement", "x")]);
        assert_eq!(
            data_err(&mut t, record()),
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
        let mut t: Val = configured(&[("fields", "date"), ("replacement", "1")]);
        assert_eq!(
            data_err(&mut t, record()),
            "Cannot mask value of type class java.util.Date with custom replacement."
        );
        let mut t: Val = configured(&[("fields", "int"), ("replacement", "abc")]);
        assert_eq!(data_err(&mut t, record()), "Unable to convert abc (class java.lang.String) to number");
        let mut t: Val = configured(&[("fields", "array"), ("replacement", "1")]);
        assert_eq!(
            data_err(&mut t, record()),
            "Cannot mask value of type class java.util.ArrayList with custom replacement."
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(schema()), Value::from(1i32))),
            "Only Struct objects supported for [mask fields], found: java.lang.Integer"
        );
    }

    #[test]
    fn schemaless() {
        let map = Value::map([
            (Value::from("magic"), Value::from(42i32)),
            (Value::from("int"), Value::from(42i32)),
            (Value::from("string"), Value::from("x")),
            (Value::from("list"), Value::array([Value::from(1i32)])),
            (Value::from("nothing"), Value::Null),
        ]);
        let mut t: MaskField<true> = configured(&[("fields", "int,string,list,nothing,absent")]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, map.clone()));
        // A listed field that is absent becomes a null entry, as Java's HashMap.put(field, masked(null)).
        assert_eq!(out.key.to_string(), "{magic=42, int=0, string=, list=[], nothing=null, absent=null}");
        let mut t: MaskField<true> = configured(&[("fields", "int,string"), ("replacement", "-7.9")]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, map));
        assert_eq!(
            (out.key.map_get("int"), out.key.map_get("string")),
            (Some(&Value::Int32(-7)), Some(&Value::from("-7.9")))
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t")),
            "Only Map objects supported in absence of schema for [mask fields], found: null"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let field = SchemaBuilder::int32().optional().default_value(Value::Int32(5)).build().unwrap();
        let schema =
            SchemaBuilder::structure().field("a", field).field("b", Schema::optional_string()).build().unwrap();
        let record = TransformRecord::new("t").with_value(Some(schema.clone()), Struct::new(schema).unwrap().into());
        let mut t: Val = configured(&[("fields", "b")]);
        assert_eq!(apply(&mut t, record.clone()).value.as_struct().unwrap().get_at(0), Some(&Value::Int32(5)));
        let mut t: Val = configured(&[("fields", "b"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).value.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn configuration_errors() {
        assert_eq!(
            config_err::<Val>(&[]).message(),
            "Missing required configuration \"fields\" which has no default value."
        );
        assert_eq!(
            config_err::<Val>(&[("fields", "")]).message(),
            "Invalid value [] for configuration fields: Empty list"
        );
        assert_eq!(
            config_err::<Val>(&[("fields", "a"), ("replacement", "")]).message(),
            "Invalid value  for configuration replacement: String must be non-empty"
        );
    }

    #[test]
    fn numbers_in_big_decimal_syntax() {
        assert_eq!(parse_integral("1e3"), Some(1000));
        assert_eq!(parse_integral("-2.9"), Some(-2));
        assert_eq!(parse_integral("NaN"), None);
        assert_eq!(parse_integral("inf"), None);
        assert_eq!(parse_decimal("1.5E-1"), Some(0.15));
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("1e"), None);
    }
}
