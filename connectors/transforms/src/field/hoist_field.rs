//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a Struct with one field (schema present) or a
//! Map with one entry (schemaless), as Kafka's `HoistField`.

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, Importance, Result, SchemaBuilder, Struct, TransformRecord,
    Transformation, Value,
};

use super::common::{target, SchemaCache};

const FIELD: &str = "field";

/// Kafka's `HoistField`: `HoistField<true>` is `$Key`, `HoistField<false>` is `$Value`.
#[derive(Default)]
pub struct HoistField<const KEY: bool> {
    field: String,
    cache: SchemaCache,
}

impl<const KEY: bool> Transformation for HoistField<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::new(FIELD, ConfigType::String)
                .importance(Importance::Medium)
                .documentation("Field name for the single field that will be created in the resulting Struct or Map."),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        self.field = self.config_def().parse(config)?.string(FIELD)?.to_string();
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, mut record: TransformRecord) -> Result<Option<TransformRecord>> {
        let target = target(KEY);
        let (schema, value) = target.take(&mut record);
        match schema {
            None => target.set(&mut record, None, Value::map([(Value::from(self.field.as_str()), value)])),
            Some(schema) => {
                let field = &self.field;
                let updated =
                    self.cache.get_or_build(&schema, |s| SchemaBuilder::structure().field(field, s.clone()).build())?;
                let mut hoisted = Struct::new(updated.clone())?;
                hoisted.put(field, value)?;
                target.set(&mut record, Some(updated), Value::Struct(hoisted));
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
    use connect_api::{Schema, SchemaType};

    #[test]
    fn schemaless() {
        let mut t: HoistField<true> = configured(&[("field", "magic")]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, Value::from(42i32)));
        assert_eq!(out.key, Value::map([(Value::from("magic"), Value::from(42i32))]));
        assert!(out.key_schema().is_none());
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, Value::Null));
        assert_eq!(out.key, Value::map([(Value::from("magic"), Value::Null)]));
    }

    #[test]
    fn with_schema() {
        let mut t: HoistField<false> = configured(&[("field", "magic")]);
        let record =
            TransformRecord::new("t").with_key(None, Value::from("k")).with_value(Some(Schema::int32()), 42i32.into());
        let out = apply(&mut t, record);
        let schema = out.value_schema().unwrap();
        assert_eq!(schema.schema_type(), SchemaType::Struct);
        assert!(!schema.is_optional());
        assert_eq!(schema.field("magic").unwrap().schema(), &Schema::int32());
        assert_eq!(out.value.as_struct().unwrap().get("magic"), Some(&Value::Int32(42)));
        assert_eq!(out.key, Value::from("k"));
        // The derived schema is cached: the same object comes back.
        let again = apply(&mut t, TransformRecord::new("t").with_value(Some(Schema::int32()), 1i32.into()));
        assert!(again.value_schema().unwrap().ptr_eq(schema));
    }

    #[test]
    fn null_in_required_schema_is_a_data_error() {
        let mut t: HoistField<false> = configured(&[("field", "magic")]);
        let msg = data_err(&mut t, TransformRecord::new("t").with_value(Some(Schema::int32()), Value::Null));
        assert!(msg.contains("magic"), "{msg}");
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(Schema::optional_int32()), Value::Null));
        assert_eq!(out.value.as_struct().unwrap().get("magic"), Some(&Value::Null));
    }

    #[test]
    fn field_is_required() {
        assert_eq!(
            config_err::<HoistField<true>>(&[]).message(),
            "Missing required configuration \"field\" which has no default value."
        );
    }
}
