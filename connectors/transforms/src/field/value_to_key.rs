//! `ValueToKey`: replaces the record key with a new key made of some fields of the value: a Struct with those
//! fields (and their schemas) when the value has a schema, a Map otherwise, as Kafka's `ValueToKey`.

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, SchemaBuilder, Struct, TransformRecord,
    Transformation, Value,
};

use super::common::{
    java_class_name, map_get, map_put, replace_null_with_default_key, require_non_empty_list, require_struct_ref,
    struct_value, SchemaCache, REPLACE_NULL_WITH_DEFAULT,
};

const FIELDS: &str = "fields";
const PURPOSE: &str = "copying fields from value to key";

/// Kafka's `org.apache.kafka.connect.transforms.ValueToKey`.
#[derive(Default)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl Transformation for ValueToKey {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .define(
                ConfigKey::new(FIELDS, ConfigType::List)
                    .importance(Importance::High)
                    .documentation("Field names on the record value to extract as the record key."),
            )
            .define(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        let parsed = self.config_def().parse(config)?;
        let fields = parsed.list(FIELDS)?;
        require_non_empty_list(FIELDS, fields)?;
        self.fields = fields.to_vec();
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let (key_schema, key) = match record.value_schema() {
            None => {
                let value = &record.value;
                if !matches!(value, Value::Map(_)) {
                    return Err(ConnectError::data(format!(
                        "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                        java_class_name(value)
                    )));
                }
                let mut key = Value::map([]);
                for field in &self.fields {
                    map_put(&mut key, field, map_get(value, field).cloned().unwrap_or_default());
                }
                (None, key)
            }
            Some(_) => {
                let value = require_struct_ref(&record.value, PURPOSE)?;
                let fields = &self.fields;
                let key_schema = self.cache.get_or_build(value.schema(), |schema| {
                    let mut builder = SchemaBuilder::structure();
                    for name in fields {
                        let field = schema
                            .field(name)
                            .ok_or_else(|| ConnectError::data(format!("Field does not exist: {name}")))?;
                        builder = builder.field(name.as_str(), field.schema().clone());
                    }
                    builder.build()
                })?;
                let mut key = Struct::new(key_schema.clone())?;
                for name in fields {
                    if let Some(field) = value.schema().field(name) {
                        key.put(name, struct_value(value, field, self.replace_null_with_default))?;
                    }
                }
                (Some(key_schema), Value::Struct(key))
            }
        };
        record.key_schema = key_schema.into();
        record.key = key;
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
    use connect_api::Schema;

    #[test]
    fn schemaless() {
        let mut t: ValueToKey = configured(&[("fields", "a,b")]);
        let value = Value::map([
            (Value::from("a"), Value::from(1i32)),
            (Value::from("b"), Value::from(2i32)),
            (Value::from("c"), Value::from(3i32)),
        ]);
        let out =
            apply(&mut t, TransformRecord::new("t").with_key(None, Value::from("old")).with_value(None, value.clone()));
        assert_eq!(out.key, Value::map([(Value::from("a"), Value::from(1i32)), (Value::from("b"), Value::from(2i32))]));
        assert!(out.key_schema().is_none());
        assert_eq!(out.value, value);
        // A missing field is a null entry, as Java's HashMap.put(field, null).
        let mut t: ValueToKey = configured(&[("fields", "z")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(None, value));
        assert_eq!(out.key, Value::map([(Value::from("z"), Value::Null)]));
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t")),
            "Only Map objects supported in absence of schema for [copying fields from value to key], found: null"
        );
    }

    #[test]
    fn with_schema() {
        let schema = SchemaBuilder::structure()
            .field("a", Schema::int32())
            .field("b", Schema::int32())
            .field("c", Schema::int32())
            .build()
            .unwrap();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", 1i32)
            .unwrap()
            .with("b", 2i32)
            .unwrap()
            .with("c", 3i32)
            .unwrap();
        let mut t: ValueToKey = configured(&[("fields", "a,b")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema.clone()), value.clone().into()));
        let key_schema =
            SchemaBuilder::structure().field("a", Schema::int32()).field("b", Schema::int32()).build().unwrap();
        assert_eq!(out.key_schema(), Some(&key_schema));
        let key = out.key.as_struct().unwrap();
        assert_eq!((key.get("a"), key.get("b")), (Some(&Value::Int32(1)), Some(&Value::Int32(2))));
        assert_eq!(out.value, Value::Struct(value.clone()));

        let mut t: ValueToKey = configured(&[("fields", "not_exist")]);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(schema.clone()), value.into())),
            "Field does not exist: not_exist"
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(schema), Value::from(1i8))),
            "Only Struct objects supported for [copying fields from value to key], found: java.lang.Byte"
        );
    }

    #[test]
    fn replace_null_with_default() {
        let field = SchemaBuilder::string().optional().default_value(Value::from("dflt")).build().unwrap();
        let schema = SchemaBuilder::structure().field("a", field).build().unwrap();
        let record = TransformRecord::new("t").with_value(Some(schema.clone()), Struct::new(schema).unwrap().into());
        let mut t: ValueToKey = configured(&[("fields", "a")]);
        assert_eq!(apply(&mut t, record.clone()).key.as_struct().unwrap().get_at(0), Some(&Value::from("dflt")));
        let mut t: ValueToKey = configured(&[("fields", "a"), ("replace.null.with.default", "false")]);
        assert_eq!(apply(&mut t, record).key.as_struct().unwrap().get_at(0), Some(&Value::Null));
    }

    #[test]
    fn configuration_errors() {
        assert_eq!(
            config_err::<ValueToKey>(&[]).message(),
            "Missing required configuration \"fields\" which has no default value."
        );
        assert_eq!(
            config_err::<ValueToKey>(&[("fields", "")]).message(),
            "Invalid value [] for configuration fields: Empty list"
        );
    }
}
