//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its fields, from a Struct
//! (the schema becomes the field's) or from a Map without schema. `field.syntax.version=V2` allows a dotted path
//! into nested structs and maps (KIP-821); `replace.null.with.default=false` extracts a null field as null instead
//! of its schema default (KIP-1040). A null key or value stays null.

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, TransformRecord, Transformation, Value,
};

use super::common::{replace_null_with_default_key, require_map, require_struct, target, REPLACE_NULL_WITH_DEFAULT};
use super::path::{FieldSyntaxVersion, SingleFieldPath, FIELD_SYNTAX_VERSION};

const FIELD: &str = "field";
const PURPOSE: &str = "field extraction";

/// Kafka's `ExtractField`: `ExtractField<true>` is `$Key`, `ExtractField<false>` is `$Value`.
#[derive(Default)]
pub struct ExtractField<const KEY: bool> {
    original_path: String,
    path: SingleFieldPath,
    replace_null_with_default: bool,
}

impl<const KEY: bool> Transformation for ExtractField<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(FIELD, ConfigType::String)
                    .importance(Importance::Medium)
                    .documentation("Field name to extract."),
            )
            .define(FieldSyntaxVersion::config_key())
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let version = FieldSyntaxVersion::parse(parsed.string(FIELD_SYNTAX_VERSION)?)?;
        self.original_path = parsed.string(FIELD)?.to_string();
        self.path = SingleFieldPath::parse(&self.original_path, version)?;
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        let (schema, value) = target.take(&mut record);
        match schema {
            None => {
                let extracted = match value {
                    Value::Null => Value::Null,
                    other => self.path.take_from_map(require_map(other, PURPOSE)?)?.unwrap_or_default(),
                };
                target.set(&mut record, None, extracted);
            }
            Some(schema) => {
                let value = match value {
                    Value::Null => None,
                    other => Some(require_struct(other, PURPOSE)?),
                };
                let field = self
                    .path
                    .field_from(&schema)
                    .ok_or_else(|| ConnectError::data(format!("Unknown field: {}", self.original_path)))?;
                let extracted = match value {
                    None => Value::Null,
                    Some(s) => self.path.value_from_struct(&s, self.replace_null_with_default)?.unwrap_or_default(),
                };
                target.set(&mut record, Some(field.schema().clone()), extracted);
            }
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};
    use connect_api::{Schema, SchemaBuilder, Struct};

    type Key = ExtractField<true>;
    type Val = ExtractField<false>;

    fn key_record(schema: Option<Schema>, key: Value) -> TransformRecord {
        TransformRecord::new("t").with_key(schema, key)
    }

    #[test]
    fn schemaless_map() {
        let mut t: Key = configured(&[("field", "magic")]);
        let out = apply(&mut t, key_record(None, Value::map([(Value::from("magic"), Value::from(42i32))])));
        assert_eq!(out.key, Value::Int32(42));
        assert!(out.key_schema().is_none());
        let out = apply(&mut t, key_record(None, Value::map([(Value::from("other"), Value::from(1i32))])));
        assert_eq!(out.key, Value::Null);
        // A null key passes through.
        assert_eq!(apply(&mut t, key_record(None, Value::Null)).key, Value::Null);
        assert_eq!(
            data_err(&mut t, key_record(None, Value::from("x"))),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
        );
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::structure().field("magic", Schema::int32()).build().unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("magic", 42i32).unwrap();
        let mut t: Key = configured(&[("field", "magic")]);
        let out = apply(&mut t, key_record(Some(schema.clone()), value.into()));
        assert_eq!(out.key_schema(), Some(&Schema::int32()));
        assert_eq!(out.key, Value::Int32(42));
        // A null struct gives a null value with the field's schema.
        let out = apply(&mut t, key_record(Some(schema.clone()), Value::Null));
        assert_eq!((out.key_schema(), &out.key), (Some(&Schema::int32()), &Value::Null));
        let mut t: Key = configured(&[("field", "nonexistent")]);
        let value = Struct::new(schema.clone()).unwrap().with("magic", 42i32).unwrap();
        assert_eq!(data_err(&mut t, key_record(Some(schema.clone()), value.into())), "Unknown field: nonexistent");
        assert_eq!(
            data_err(&mut t, key_record(Some(schema), Value::from(1i64))),
            "Only Struct objects supported for [field extraction], found: java.lang.Long"
        );
    }

    #[test]
    fn value_variant_leaves_the_key() {
        let mut t: Val = configured(&[("field", "a")]);
        let record = TransformRecord::new("t")
            .with_key(None, Value::from("k"))
            .with_value(None, Value::map([(Value::from("a"), Value::from(true))]));
        let out = apply(&mut t, record);
        assert_eq!((out.key, out.value), (Value::from("k"), Value::Boolean(true)));
    }

    #[test]
    fn nested_paths_with_v2() {
        let inner = SchemaBuilder::structure().field("b", Schema::string()).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", inner.clone()).build().unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", Struct::new(inner).unwrap().with("b", "deep").unwrap())
            .unwrap();
        let mut t: Val = configured(&[("field", "a.b"), ("field.syntax.version", "v2")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema.clone()), value.clone().into()));
        assert_eq!((out.value_schema(), &out.value), (Some(&Schema::string()), &Value::from("deep")));
        // V1 reads "a.b" as one field name.
        let mut t: Val = configured(&[("field", "a.b")]);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(schema), value.into())),
            "Unknown field: a.b"
        );
        let mut t: Val = configured(&[("field", "`x.y`.z"), ("field.syntax.version", "V2")]);
        let map = Value::map([(Value::from("x.y"), Value::map([(Value::from("z"), Value::from(3i8))]))]);
        assert_eq!(apply(&mut t, TransformRecord::new("t").with_value(None, map)).value, Value::Int8(3));
    }

    #[test]
    fn replace_null_with_default() {
        let field = SchemaBuilder::int32().optional().default_value(Value::Int32(7)).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", field).build().unwrap();
        let value = Struct::new(schema.clone()).unwrap();
        let mut t: Val = configured(&[("field", "a")]);
        let record = TransformRecord::new("t").with_value(Some(schema.clone()), value.clone().into());
        assert_eq!(apply(&mut t, record.clone()).value, Value::Int32(7));
        let mut t: Val = configured(&[("field", "a"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).value, Value::Null);
    }

    #[test]
    fn configuration_errors() {
        assert_eq!(
            config_err::<Key>(&[]).message(),
            "Missing required configuration \"field\" which has no default value."
        );
        assert_eq!(
            config_err::<Key>(&[("field", "a"), ("field.syntax.version", "V3")]).message(),
            "Invalid value V3 for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
        );
        assert_eq!(
            config_err::<Key>(&[("field", "a"), ("replace.null.with.default", "maybe")]).message(),
            "Invalid value maybe for configuration replace.null.with.default: Expected value to be either true or false"
        );
        assert!(config_err::<Key>(&[("field", "`a"), ("field.syntax.version", "V2")])
            .message()
            .starts_with("Incomplete backtick pair in path: [`a]"));
    }
}
