//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name and/or version of the key or value schema,
//! keeping everything else; a Struct value is copied onto the renamed schema (null fields keep their schema
//! default unless `replace.null.with.default=false`), as Kafka's `SetSchemaMetadata`.

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, Result, Schema, SchemaBuilder, SchemaType, Struct,
    TransformRecord, Transformation, Value,
};

use super::common::{
    config_message, copy_schema_basics, replace_null_with_default_key, require_schema, struct_value, target,
    REPLACE_NULL_WITH_DEFAULT,
};

const SCHEMA_NAME: &str = "schema.name";
const SCHEMA_VERSION: &str = "schema.version";

/// Kafka's `SetSchemaMetadata`: `SetSchemaMetadata<true>` is `$Key`, `SetSchemaMetadata<false>` is `$Value`.
#[derive(Default)]
pub struct SetSchemaMetadata<const KEY: bool> {
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

impl<const KEY: bool> SetSchemaMetadata<KEY> {
    /// The schema with the configured name and version (Java builds a `ConnectSchema` with the same type,
    /// optionality, default, doc, parameters, fields and key/value schemas).
    fn updated_schema(&self, schema: &Schema) -> Result<Schema> {
        let mut builder = match schema.schema_type() {
            SchemaType::Array => match schema.value_schema() {
                Some(element) => SchemaBuilder::array(element.clone()),
                None => SchemaBuilder::new(SchemaType::Array),
            },
            SchemaType::Map => match (schema.key_schema(), schema.value_schema()) {
                (Some(k), Some(v)) => SchemaBuilder::map(k.clone(), v.clone()),
                _ => SchemaBuilder::new(SchemaType::Map),
            },
            other => SchemaBuilder::new(other),
        };
        builder = copy_schema_basics(schema, builder);
        if let Some(name) = &self.name {
            builder = builder.name(name.as_str());
        }
        if let Some(version) = self.version {
            builder = builder.version(version);
        }
        if schema.is_optional() {
            builder = builder.optional();
        }
        for field in schema.fields() {
            builder = builder.field(field.name(), field.schema().clone());
        }
        match schema.default_value() {
            None => builder.build(),
            // A struct default keeps its original schema, which no longer equals the renamed one: Java does not
            // check defaults here, our builder does, so such a default is dropped rather than failing the record.
            Some(default) => builder.clone().default_value(default.clone()).build().or_else(|_| builder.build()),
        }
    }
}

impl<const KEY: bool> Transformation for SetSchemaMetadata<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(SCHEMA_NAME, ConfigType::String)
                    .optional()
                    .importance(Importance::High)
                    .documentation("Schema name to set."),
            )
            .define(
                ConfigKey::new(SCHEMA_VERSION, ConfigType::Int)
                    .optional()
                    .importance(Importance::High)
                    .documentation("Schema version to set."),
            )
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        self.name = parsed.optional_string(SCHEMA_NAME)?.map(str::to_string);
        self.version = match parsed.get(SCHEMA_VERSION)? {
            connect_api::config::ConfigValue::Int(v) => Some(*v),
            _ => None,
        };
        if self.name.is_none() && self.version.is_none() {
            return Err(config_message("Neither schema name nor version configured"));
        }
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        let (schema, value) = target.take(&mut record);
        let schema = require_schema(schema, "updating schema metadata")?;
        let updated = self.updated_schema(&schema)?;
        let value = match value {
            Value::Struct(original) => {
                let mut copy = Struct::new(updated.clone())?;
                for field in original.schema().fields() {
                    if updated.field(field.name()).is_some() {
                        copy.put(field.name(), struct_value(&original, field, self.replace_null_with_default))?;
                    }
                }
                Value::Struct(copy)
            }
            other => other,
        };
        target.set(&mut record, Some(updated), value);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::common::testing::{apply, config_err, configured, data_err};

    #[test]
    fn sets_name_and_version() {
        let mut t: SetSchemaMetadata<false> = configured(&[("schema.name", "foo"), ("schema.version", "42")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(Schema::optional_int32()), Value::Int32(1)));
        let schema = out.value_schema().unwrap();
        assert_eq!((schema.name(), schema.version()), (Some("foo"), Some(42)));
        assert!(schema.is_optional());
        assert_eq!(schema.schema_type(), SchemaType::Int32);
        assert_eq!(out.value, Value::Int32(1));
    }

    #[test]
    fn keeps_what_is_not_configured() {
        let source =
            SchemaBuilder::map(Schema::string(), Schema::int64()).name("old").version(1).doc("d").build().unwrap();
        let mut t: SetSchemaMetadata<true> = configured(&[("schema.version", "2")]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(Some(source), Value::map([])));
        let schema = out.key_schema().unwrap();
        assert_eq!((schema.name(), schema.version(), schema.doc()), (Some("old"), Some(2), Some("d")));
        assert_eq!((schema.key_schema(), schema.value_schema()), (Some(&Schema::string()), Some(&Schema::int64())));
        let mut t: SetSchemaMetadata<true> = configured(&[("schema.name", "new")]);
        let out = apply(
            &mut t,
            TransformRecord::new("t").with_key(Some(SchemaBuilder::int8().version(4).build().unwrap()), 1i8.into()),
        );
        assert_eq!((out.key_schema().unwrap().name(), out.key_schema().unwrap().version()), (Some("new"), Some(4)));
    }

    #[test]
    fn structs_move_to_the_new_schema() {
        let field = SchemaBuilder::int32().optional().default_value(Value::Int32(9)).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", field).field("b", Schema::string()).build().unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("b", "x").unwrap();
        let record = TransformRecord::new("t").with_value(Some(schema), value.into());
        let mut t: SetSchemaMetadata<false> = configured(&[("schema.name", "renamed")]);
        let out = apply(&mut t, record.clone());
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.schema().name(), Some("renamed"));
        assert!(s.schema().ptr_eq(out.value_schema().unwrap()));
        assert_eq!((s.get_at(0), s.get_at(1)), (Some(&Value::Int32(9)), Some(&Value::from("x"))));
        let mut t: SetSchemaMetadata<false> =
            configured(&[("schema.name", "renamed"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).value.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn schema_is_required() {
        let mut t: SetSchemaMetadata<false> = configured(&[("schema.name", "foo")]);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(None, Value::from(1i32))),
            "Schema required for [updating schema metadata]"
        );
    }

    #[test]
    fn configuration_errors() {
        assert_eq!(config_err::<SetSchemaMetadata<true>>(&[]).message(), "Neither schema name nor version configured");
        assert_eq!(
            config_err::<SetSchemaMetadata<true>>(&[("schema.version", "x")]).message(),
            "Invalid value x for configuration schema.version: Not a number of type INT"
        );
        assert_eq!(
            config_err::<SetSchemaMetadata<true>>(&[("schema.name", "a"), ("replace.null.with.default", "x")])
                .message(),
            "Invalid value x for configuration replace.null.with.default: Expected value to be either true or false"
        );
    }
}
