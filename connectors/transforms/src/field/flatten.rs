//! `Flatten$Key` / `Flatten$Value`: flattens nested Structs (schema present) or Maps (schemaless) into one level,
//! joining the field names with `delimiter` (`.` by default). A flattened field is optional when any ancestor is,
//! and takes its default from the nearest ancestor default; arrays and maps of a schema are kept as they are. A
//! null key or value passes through. As Kafka's `Flatten`.

use connect_api::{
    Config, ConfigDef, ConfigKey, ConfigType, ConnectError, Importance, Result, Schema, SchemaBuilder, SchemaType,
    Struct, TransformRecord, Transformation, Value,
};

use super::common::{
    copy_schema_basics, copy_schema_basics_of, java_class, require_map_entries, require_struct, struct_value, target,
    SchemaCache,
};

const DELIMITER: &str = "delimiter";
const PURPOSE: &str = "flattening";

/// Kafka's `Flatten`: `Flatten<true>` is `$Key`, `Flatten<false>` is `$Value`.
#[derive(Default)]
pub struct Flatten<const KEY: bool> {
    delimiter: String,
    cache: SchemaCache,
}

impl<const KEY: bool> Flatten<KEY> {
    fn field_name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(&self, value: Value, prefix: &str, out: &mut Vec<(Value, Value)>) -> Result<()> {
        for entry in require_map_entries(value, PURPOSE)? {
            let Some(key) = entry.key.as_str() else {
                return Err(ConnectError::data(format!(
                    "Flatten transformation does not support map keys of {} (only strings)",
                    java_class(&entry.key)
                )));
            };
            let name = self.field_name(prefix, key);
            match entry.value {
                Value::Map(_) => self.flatten_map(entry.value, &name, out)?,
                Value::Struct(_) => {
                    return Err(ConnectError::data(format!(
                        "Flatten transformation does not support {} for record without schemas (for field {name}).",
                        java_class(&entry.value)
                    )))
                }
                other => out.push((Value::from(name), other)),
            }
        }
        Ok(())
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        builder: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder> {
        let mut builder = builder;
        for field in schema.fields() {
            let name = self.field_name(prefix, field.name());
            let field_optional = optional || field.schema().is_optional();
            let default = match (field.schema().default_value(), parent_default) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(parent)) => Some(struct_value(parent, field, true)).filter(|v| !v.is_null()),
                (None, None) => None,
            };
            if field.schema().schema_type() == SchemaType::Struct {
                let nested_default = match &default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                builder = self.build_schema(field.schema(), &name, builder, field_optional, nested_default)?;
            } else {
                let mut converted = copy_schema_basics_of(field.schema());
                if field_optional {
                    converted = converted.optional();
                }
                if let Some(d) = default {
                    converted = converted.default_value(d);
                }
                builder = builder.field(name, converted.build()?);
            }
        }
        Ok(builder)
    }

    fn flatten_struct(&self, value: &Struct, prefix: &str, out: &mut Struct) -> Result<()> {
        for field in value.schema().fields() {
            let name = self.field_name(prefix, field.name());
            let field_value = struct_value(value, field, true);
            if field.schema().schema_type() == SchemaType::Struct {
                if let Value::Struct(nested) = &field_value {
                    self.flatten_struct(nested, &name, out)?;
                }
            } else {
                out.put(&name, field_value)?;
            }
        }
        Ok(())
    }
}

impl<const KEY: bool> Transformation for Flatten<KEY> {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new().define(
            ConfigKey::new(DELIMITER, ConfigType::String)
                .default_value(".")
                .importance(Importance::Medium)
                .documentation(
                "Delimiter to insert between field names from the input record when generating field names for the \
                 output record",
            ),
        )
    }

    fn configure(&mut self, config: &Config) -> Result<()> {
        self.delimiter = self.config_def().parse(config)?.string(DELIMITER)?.to_string();
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
                let mut flat = Vec::new();
                self.flatten_map(value, "", &mut flat)?;
                // Later duplicates replace earlier ones, as puts into Java's LinkedHashMap.
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(flat.len());
                for (k, v) in flat {
                    match out.iter_mut().find(|(existing, _)| *existing == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                target.set(&mut record, None, Value::map(out));
            }
            Some(schema) => {
                let value = require_struct(value, PURPOSE)?;
                let mut cache = std::mem::take(&mut self.cache);
                let updated = cache.get_or_build(&schema, |s| {
                    let default = match s.default_value() {
                        Some(Value::Struct(d)) => Some(d),
                        _ => None,
                    };
                    let builder = copy_schema_basics(s, SchemaBuilder::structure());
                    self.build_schema(s, "", builder, s.is_optional(), default)?.build()
                });
                self.cache = cache;
                let updated = updated?;
                let mut flat = Struct::new(updated.clone())?;
                self.flatten_struct(&value, "", &mut flat)?;
                target.set(&mut record, Some(updated), Value::Struct(flat));
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
    use crate::field::common::testing::{apply, configured, data_err};

    type Val = Flatten<false>;

    #[test]
    fn nested_structs() {
        let support = SchemaBuilder::structure()
            .field("int8", Schema::int8())
            .field("string", Schema::string())
            .field("array", SchemaBuilder::array(Schema::int32()).build().unwrap())
            .build()
            .unwrap();
        let one = SchemaBuilder::structure().field("B", support.clone()).build().unwrap();
        let two = SchemaBuilder::structure()
            .name("top")
            .field("A", one.clone())
            .field("x", Schema::boolean())
            .build()
            .unwrap();
        let inner = Struct::new(support)
            .unwrap()
            .with("int8", 8i8)
            .unwrap()
            .with("string", "s")
            .unwrap()
            .with("array", Value::array([Value::Int32(1)]))
            .unwrap();
        let value = Struct::new(two.clone())
            .unwrap()
            .with("A", Struct::new(one).unwrap().with("B", inner).unwrap())
            .unwrap()
            .with("x", true)
            .unwrap();
        let mut t: Val = configured(&[]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(two), value.into()));
        let s = out.value_schema().unwrap();
        assert_eq!(s.name(), Some("top"));
        let names: Vec<_> = s.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["A.B.int8", "A.B.string", "A.B.array", "x"]);
        assert_eq!(out.value.to_string(), "Struct{A.B.int8=8,A.B.string=s,A.B.array=[1],x=true}");
    }

    #[test]
    fn optionality_comes_from_ancestors() {
        // (A struct default cannot be built in this data model: its struct would need the very schema that holds
        // it; field defaults are kept.)
        let a = SchemaBuilder::int32().default_value(Value::Int32(7)).build().unwrap();
        let inner = SchemaBuilder::structure().field("a", a).field("b", Schema::string()).optional().build().unwrap();
        let schema = SchemaBuilder::structure().field("in", inner).field("c", Schema::int8()).build().unwrap();
        let value = Struct::new(schema.clone()).unwrap().with("c", 1i8).unwrap();
        let mut t: Val = configured(&[("delimiter", "_")]);
        let out = apply(&mut t, TransformRecord::new("t").with_value(Some(schema), value.into()));
        let s = out.value_schema().unwrap();
        let a = s.field("in_a").unwrap().schema();
        assert!(a.is_optional());
        assert_eq!(a.default_value(), Some(&Value::Int32(7)));
        assert!(s.field("in_b").unwrap().schema().is_optional());
        assert!(!s.field("c").unwrap().schema().is_optional());
        // A null nested struct leaves its flattened fields null.
        let v = out.value.as_struct().unwrap();
        assert_eq!(
            (v.get_at(0), v.get_at(1), v.get_at(2)),
            (Some(&Value::Null), Some(&Value::Null), Some(&Value::Int8(1)))
        );
    }

    #[test]
    fn schemaless_maps() {
        let value = Value::map([
            (
                Value::from("A"),
                Value::map([
                    (Value::from("B"), Value::map([(Value::from("x"), Value::from(1i32))])),
                    (Value::from("n"), Value::Null),
                ]),
            ),
            (Value::from("bytes"), Value::from(vec![1u8])),
            (Value::from("list"), Value::array([Value::from(2i64)])),
        ]);
        let mut t: Flatten<true> = configured(&[("delimiter", "#")]);
        let out = apply(&mut t, TransformRecord::new("t").with_key(None, value));
        assert_eq!(out.key.to_string(), "{A#B#x=1, A#n=null, bytes=[1], list=[2]}");
        assert!(out.key_schema().is_none());
    }

    #[test]
    fn errors_and_tombstones() {
        let mut t: Val = configured(&[]);
        assert_eq!(apply(&mut t, TransformRecord::new("t")).value, Value::Null);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(None, Value::from("x"))),
            "Only Map objects supported in absence of schema for [flattening], found: java.lang.String"
        );
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(Some(Schema::string()), Value::from("x"))),
            "Only Struct objects supported for [flattening], found: java.lang.String"
        );
        let schema = SchemaBuilder::structure().field("a", Schema::int8()).build().unwrap();
        let nested = Value::map([(Value::from("s"), Struct::new(schema).unwrap().with("a", 1i8).unwrap().into())]);
        assert_eq!(
            data_err(&mut t, TransformRecord::new("t").with_value(None, nested)),
            "Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without \
             schemas (for field s)."
        );
        // Two paths flattening to one name are Kafka's duplicate-field error.
        let inner = SchemaBuilder::structure().field("b", Schema::int8()).build().unwrap();
        let clash = SchemaBuilder::structure().field("a", inner).field("a.b", Schema::int8()).build().unwrap();
        let msg = data_err(
            &mut t,
            TransformRecord::new("t").with_value(Some(clash.clone()), Struct::new(clash).unwrap().into()),
        );
        assert!(msg.contains("duplication a.b"), "{msg}");
    }

    #[test]
    fn delimiter_default() {
        let t: Val = configured(&[]);
        assert_eq!(t.delimiter, ".");
        let t: Val = configured(&[("delimiter", "__")]);
        assert_eq!(t.field_name("a", "b"), "a__b");
        assert_eq!(t.field_name("", "b"), "b");
    }
}
